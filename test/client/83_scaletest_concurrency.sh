#!/usr/bin/env bash
# --concurrency 0 / 1 / N and --cleanup-concurrency: the observed peak of runs
# in flight equals the limit, seen both by the driver's own counter and from
# the stored start and end times of the runs.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup
si_start --build-time 300ms --agent-delay 0 --daemons 20

# Most runs overlapping at one instant, from run_result.
peak_from_db() {
  q "SELECT max(n) FROM (SELECT (SELECT count(*) FROM coder_scale.run_result o
       WHERE o.run_id = r.run_id AND o.started_at <= r.started_at AND o.finished_at > r.started_at) AS n
     FROM coder_scale.run_result r WHERE r.run_id = (SELECT id FROM coder_scale.run WHERE label = '$1')) s"
}

for c in 1 3 0; do
  want=$c; [ $c -eq 0 ] && want=6
  rc=0
  st -t docker -c 6 --concurrency $c --cleanup-concurrency $c --label "c$c" >"$T/out" 2>"$T/err" || rc=$?
  check "concurrency $c: exit 0" 0 $rc
  check "concurrency $c: driver's peak" "peak $want in flight" "$(grep -o 'peak [0-9]* in flight' "$T/err")"
  check "concurrency $c: cleanup peak" "(peak $want)" "$(grep -o '(peak [0-9]*)' "$T/err")"
  check "concurrency $c: peak from stored times" "$want" "$(peak_from_db "c$c")"
done
check "nothing left" "0 0" "$(leftovers)"
done_testing
