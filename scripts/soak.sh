#!/usr/bin/env bash
# Not part of CI: how to show the suite does not flake. Runs each client test
# (test/client/*.sh) N times, 20 unless told, on the same setup as
# scripts/test.sh, and prints per test the passes out of N and the slowest
# run; the output of every failing run is kept in a folder named at the end.
#
#   scripts/soak.sh [N] [TEST...]     TEST: a file name or its start (85, 8, 91_scrape)
#
# The machine-wide lock is held only while the extension is installed (as
# first-run.sh does), not for the hour a soak may take.
source "$(dirname "$0")/lib.sh"

N=20
if [ $# -gt 0 ]; then N=$1; shift; fi
[[ $N =~ ^[1-9][0-9]*$ ]] || die "usage: scripts/soak.sh [N] [TEST...] (N: runs per test, a whole number above 0; got '$N')"
tests=()
if [ $# -eq 0 ]; then
  tests=("$ROOT"/test/client/*.sh)
else
  for pat in "$@"; do
    found=0
    for t in "$ROOT"/test/client/"$pat"*.sh; do
      [ -f "$t" ] || continue
      tests+=("$t"); found=1
    done
    [ $found = 1 ] || die "no client test matches '$pat' (test/client/$pat*.sh)"
  done
fi

test_setup
release_lock
LOGS=$(mktemp -d /tmp/cs-soak.XXXXXX)
say "soaking ${#tests[@]} client test(s), $N runs each; failing runs' output goes to $LOGS"

printf '%-28s %7s %12s\n' TEST PASSES SLOWEST
total=0 passed=0 t0=$(date +%s%N)
for t in "${tests[@]}"; do
  name=$(basename "$t" .sh)
  ok=0 slowest=0
  for i in $(seq "$N"); do
    s=$(date +%s%N)
    rc=0
    # a hung run counts as failed after 15 minutes instead of hanging the soak
    timeout -k 10 900 bash "$t" >"$LOGS/current.log" 2>&1 </dev/null || rc=$?
    ms=$(( ($(date +%s%N) - s) / 1000000 ))
    [ $ms -gt $slowest ] && slowest=$ms
    if [ $rc -eq 0 ]; then ok=$((ok + 1)); else mv "$LOGS/current.log" "$LOGS/$name.run$i.log"; fi
  done
  total=$((total + N)) passed=$((passed + ok))
  printf '%-28s %3d/%-3d %10.1f s\n' "$name" $ok "$N" "$(echo "$slowest / 1000" | bc -l)"
done
rm -f "$LOGS/current.log"
secs=$(( ($(date +%s%N) - t0) / 1000000000 ))
printf '%-28s %3d/%-3d %10s\n' total $passed $total "(${secs} s)"
if [ $passed -eq $total ]; then
  rmdir "$LOGS"
  say "every run passed"
else
  say "$((total - passed)) run(s) failed; their output: $LOGS"
  exit 1
fi
