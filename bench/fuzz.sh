#!/usr/bin/env bash
# bench/fuzz.sh [CASES] [SEED]: the long run of the type fuzzer (test/fuzz),
# 200,000 cases by default, on its own private PostgreSQL (a private copy of
# the server's installation with this checkout's extension in it), so it
# neither needs the build lock nor disturbs the system's installed extension.
# Prints the fuzzer's TAP lines, then cases, crashes (as the fuzzer saw them
# and as the server's log tells), round-trip failures and the time taken.
source "$(dirname "$0")/lib.sh"

CASES=${1:-200000}
SEED=${2:-1}

bench_pg
export PG_DUMP=$PRIV$PGBIN/pg_dump

say "type fuzzer: $CASES cases, seed $SEED"
rc=0
t0=$(date +%s.%N)
bash "$ROOT/test/fuzz/run.sh" "$CASES" "$SEED" > "$WORK/fuzz.out" || rc=$?
t1=$(date +%s.%N)
cat "$WORK/fuzz.out"
server_crashes=$(grep -c 'terminated by signal' "$WORK/data/server.log" || true)
awk -v t="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" -v sc="$server_crashes" '
  /^# cases / { gsub(/,/, ""); cases = $3; rej = $5; acc = $7; rt = $11; rtf = $14; unexp = $17; cr = $19 }
  END {
    printf "cases:                %d (%d rejected, %d accepted)\n", cases, rej, acc
    printf "crashes:              %d seen by the fuzzer, %d in the server log\n", cr, sc
    printf "round-trip failures:  %d (%d values read back identically as text and as binary)\n", rtf, rt
    printf "unexpected errors:    %d\n", unexp
    printf "time:                 %.1f s (%.0f cases/s)\n", t, cases / t
  }' "$WORK/fuzz.out"
exit $rc
