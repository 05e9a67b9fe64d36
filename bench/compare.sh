#!/usr/bin/env bash
# bench/compare.sh OTHER_CLIENT [RUNS]: bench/ingest.sh, bench/scrape.sh and
# bench/driver.sh for this checkout's client and another build of it, RUNS
# times each (default 3), the two taking turns, on the same setup (this
# checkout's extension, stand-in and private PostgreSQL); prints the min and
# median of every figure for both, and the ratio of the medians (this /
# other: below 1.00 is faster).  To hold a change against 0.1.0:
#   git worktree add /tmp/v010 e8d5a63 && make -C /tmp/v010/client
#   bash bench/compare.sh /tmp/v010/client/coder-scale
source "$(dirname "$0")/../scripts/lib.sh"

OTHER=${1:?usage: bench/compare.sh OTHER_CLIENT [RUNS]}
RUNS=${2:-3}
[ -x "$OTHER" ] || die "$OTHER: not an executable coder-scale"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS: a whole number above 0 (got '$RUNS')"
# the driver at counts both clients hold without --max-websockets (which a
# client before 0.2.0 does not know): 5,000 at once need 10,000 descriptors
DRIVER_COUNTS=${DRIVER_COUNTS:-1000 5000}
OUT=$(mktemp -d /tmp/cs-compare.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
make -C "$ROOT" -s >/dev/null

# figures FILE: "NAME VALUE" lines of one run of each benchmark's output
figures() {
  awk '
    /^coder-scale ingest:/ { print "ingest_s", $3 }
    /^coder-scale scrape:/ { print "scrape_db_writing_s", $5 }
    /^  of which samples:/ { print "scrape_samples_s", $6 }
    $1 ~ /^[0-9]+$/ && NF > 7 { print "driver_" $1 "_wall_s", $2; print "driver_" $1 "_cpu_ms_per_ws", $3
                                print "driver_" $1 "_rss_kb_per_ws", $4; print "standin_" $1 "_cpu_ms_per_ws", $6 }
  ' "$1"
}

for i in $(seq "$RUNS"); do
  for who in this other; do
    bin=$ROOT/client/coder-scale
    [ $who = other ] && bin=$OTHER
    for b in ingest scrape driver; do
      say "run $i of $RUNS, $who client: bench/$b.sh"
      args=()
      [ $b = driver ] && args=($DRIVER_COUNTS)
      CODER_SCALE_BIN=$bin bash "$ROOT/bench/$b.sh" "${args[@]}" >"$OUT/$b.out" 2>"$OUT/$b.err" \
        || { tail -n 20 "$OUT/$b.err" >&2; die "bench/$b.sh failed for $bin"; }
      figures "$OUT/$b.out" | while read -r name value; do echo "$value" >>"$OUT/$name.$who"; done
    done
  done
done

# min and median of a file of numbers
stats() { sort -g "$1" | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%s %s", v[1], m }'; }
printf '%-32s %10s %10s %10s %10s %8s\n' figure "this:min" median "other:min" median ratio
for f in "$OUT"/*.this; do
  name=$(basename "$f" .this)
  read -r tmin tmed <<<"$(stats "$f")"
  read -r omin omed <<<"$(stats "$OUT/$name.other")"
  awk -v n="$name" -v a="$tmin" -v b="$tmed" -v c="$omin" -v d="$omed" \
    'BEGIN { printf "%-32s %10.3f %10.3f %10.3f %10.3f %8.3f\n", n, a, b, c, d, (d > 0 ? b / d : 0) }'
done
echo "($RUNS runs each; this: $ROOT/client/coder-scale, other: $OTHER)"
