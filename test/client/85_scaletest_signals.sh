#!/usr/bin/env bash
# Ctrl-C / SIGTERM mid-run: nothing new starts, what was created is cleaned
# up, the run is marked aborted and every result is kept. A second Ctrl-C
# skips cleanup and lists what was left; scaletest cleanup removes it.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup
si_start --build-time 1s --agent-delay 0

# wait_workspaces N: until N scaletest workspaces exist on the stand-in
wait_workspaces() {
  for _ in $(seq 100); do [ "$(leftovers | cut -d' ' -f1)" -ge "$1" ] && return 0; sleep 0.05; done
  return 1
}

for sig in ${SIGS:-INT TERM}; do
  st_bg -t docker -c 8 --concurrency 4 --cleanup-concurrency 0 --label "sig$sig" >"$T/out" 2>"$T/err"
  pid=$!
  wait_workspaces 4
  kill -$sig $pid
  rc=0; wait $pid || rc=$?
  run=$(q "SELECT id FROM coder_scale.run WHERE label = 'sig$sig'")
  check "SIG$sig: exit 1" 1 $rc
  check "SIG$sig: run aborted and finished" "aborted|t" "$(q "SELECT status, finished_at IS NOT NULL FROM coder_scale.run WHERE id = $run")"
  check "SIG$sig: the 4 started runs kept, none more" "4|4" "$(q "SELECT total, other FROM coder_scale.run_summary WHERE run_id = $run")"
  check "SIG$sig: canceled" "4" "$(q "SELECT count(*) FROM coder_scale.run_result WHERE run_id = $run AND error LIKE '%context canceled' AND cleanup IS NOT NULL")"
  check "SIG$sig: cleaned up" "0 0" "$(leftovers)"
  grep -q "stopping the runs and cleaning up" "$T/err" && echo "  ok - SIG$sig: says so" || { echo "  not ok - SIG$sig message"; fails=$((fails+1)); }
done

# twice: cleanup skipped, leftovers listed, scaletest cleanup removes them
st_bg -t docker -c 3 --concurrency 0 --cleanup-concurrency 1 --label twice >"$T/out" 2>"$T/err"
pid=$!
wait_workspaces 3
kill -INT $pid
sleep 0.3
kill -INT $pid
rc=0; wait $pid || rc=$?
check "twice: exit 1" 1 $rc
check "twice: aborted, results kept" "aborted|3" "$(q "SELECT r.status, s.total FROM coder_scale.run r JOIN coder_scale.run_summary s ON s.run_id = r.id WHERE r.label = 'twice'")"
listed=$(grep -c '^  workspace scaletest-' "$T/err" || true)
left=$(leftovers | cut -d' ' -f1)
check "twice: lists every workspace left" "$left" "$listed"
[ "$left" -gt 0 ] && echo "  ok - twice: something was left ($left)" || { echo "  not ok - twice: nothing left"; fails=$((fails+1)); }
grep -q "scaletest cleanup" "$T/err" && echo "  ok - twice: tells how to remove them" || { echo "  not ok - twice hint"; fails=$((fails+1)); }
rc=0
"$CS" scaletest cleanup --token-file "$TOKEN_FILE" --cleanup-concurrency 0 >"$T/out" 2>"$T/err" || rc=$?
check "scaletest cleanup: exit 0" 0 $rc
check "scaletest cleanup: nothing left" "0 0" "$(leftovers)"
done_testing
