#!/usr/bin/env bash
# Ctrl-C / SIGTERM mid-run: nothing new starts, what was created is cleaned
# up, the run is marked aborted and every result is kept. A second Ctrl-C
# skips cleanup and lists what was left; scaletest cleanup removes it.
# The stand-in holds every build while the signals arrive (no run can end, so
# no other run can start), and lets go once the driver has said it stops.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup
si_start --build-time 0 --agent-delay 0

# wait_api WHAT PYTHON-EXPR: until the expression over the stand-in's
# workspace list w is true (at most 60 s; the state ends the wait)
workspaces_match() {
  api "workspaces" | python3 -c 'import json,sys; w=[x for x in json.load(sys.stdin)["workspaces"] if x["name"].startswith("scaletest-")]; sys.exit(0 if ('"$1"') else 1)'
}
wait_api() {
  wait_until workspaces_match "$2" && return 0
  echo "  # the stand-in never showed: $1" >&2
  return 1
}

for sig in ${SIGS:-INT TERM}; do
  hold builds=true
  st_bg -t docker -c 8 --concurrency 4 --cleanup-concurrency 0 --label "sig$sig" >"$T/out" 2>"$T/err"
  pid=$!
  wait_api "4 workspaces, each in its held build" 'len(w) >= 4'
  kill -$sig $pid
  wait_for_line "$T/err" "stopping the runs and cleaning up"
  hold builds=false
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
# (the second Ctrl-C comes while the first delete build is held)
hold builds=true
st_bg -t docker -c 3 --concurrency 0 --cleanup-concurrency 1 --label twice >"$T/out" 2>"$T/err"
pid=$!
wait_api "3 workspaces" 'len(w) >= 3'
kill -INT $pid
wait_for_line "$T/err" "stopping the runs and cleaning up"
wait_api "a delete build: cleanup under way" 'any(x["latest_build"]["transition"] == "delete" for x in w)'
kill -INT $pid
rc=0; wait $pid || rc=$?
check "twice: exit 1" 1 $rc
check "twice: aborted, results kept" "aborted|3" "$(q "SELECT r.status, s.total FROM coder_scale.run r JOIN coder_scale.run_summary s ON s.run_id = r.id WHERE r.label = 'twice'")"
listed=$(grep -c '^  workspace scaletest-' "$T/err" || true)
left=$(leftovers | cut -d' ' -f1)
check "twice: lists every workspace left" "$left" "$listed"
[ "$left" -gt 0 ] && echo "  ok - twice: something was left ($left)" || { echo "  not ok - twice: nothing left"; fails=$((fails+1)); }
grep -q "scaletest cleanup" "$T/err" && echo "  ok - twice: tells how to remove them" || { echo "  not ok - twice hint"; fails=$((fails+1)); }
hold builds=false
rc=0
"$CS" scaletest cleanup --token-file "$TOKEN_FILE" --cleanup-concurrency 0 >"$T/out" 2>"$T/err" || rc=$?
check "scaletest cleanup: exit 0" 0 $rc
check "scaletest cleanup: nothing left" "0 0" "$(leftovers)"
done_testing
