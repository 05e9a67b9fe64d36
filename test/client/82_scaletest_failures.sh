#!/usr/bin/env bash
# Every failure category produced on purpose through the stand-in's --fail-*
# flags, timeouts and a build canceled from outside, each counted right in
# run_summary and in the summary line, and agreeing with classify_failure().
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup

# expect_category CAT LABEL N: run LABEL has N runs failed as CAT, and says so
expect_category() {
  local cat=$1 label=$2 n=$3 run
  run=$(q "SELECT id FROM coder_scale.run WHERE label = '$label'")
  check "$label: $n counted as $cat" "0|$n|$n" "$(q "SELECT succeeded, failed, $cat FROM coder_scale.run_summary WHERE run_id = $run")"
  check "$label: summary line" "0 succeeded, $n $(q "SELECT wording FROM coder_scale.failure_category WHERE name = '$cat'")" "$(grep -E '^[0-9]+ succeeded' "$T/err")"
  check "$label: agrees with classify_failure" "$n" "$(q "SELECT count(*) FROM coder_scale.run_result WHERE run_id = $run
     AND coder_scale.classify_failure(error, logs) = failure_category")"
}

# category CAT LABEL STAND-IN-FLAGS... -- DRIVER-FLAGS...: 3 runs that all fail as CAT
category() {
  local cat=$1 label=$2 si=() rc=0
  shift 2
  while [ "$1" != "--" ]; do si+=("$1"); shift; done; shift
  si_start --build-time 0 --agent-delay 0 "${si[@]}"
  st -t docker -c 3 --concurrency 0 --cleanup-concurrency 0 --label "$label" "$@" >"$T/out" 2>"$T/err" || rc=$?
  check "$label: exit 1" 1 $rc
  expect_category "$cat" "$label" 3
}

category create_user create_user --fail-create-user 1 --
category create_workspace create_workspace --fail-create-workspace 1 --
category build_failed build_failed --fail-build 1 --
# (the agent never connects: every run ends at --job-timeout waiting for it;
# 3 s leaves the steps before it time enough on a loaded machine)
category agent_timeout agent_timeout --fail-agent 1 -- --job-timeout 3s
category command_failed pty_refused --fail-pty 1 -- --run-command "echo hi"
category command_failed output_missing -- --run-command "echo hi" --run-expect-output nothere
category command_failed no_timeout -- --run-command "echo hi" --run-expect-timeout
category command_timeout command_timeout -- --run-command "sleep 5" --run-timeout 300ms
category job_timeout job_timeout --build-time 5s -- --job-timeout 700ms
check "nothing left after those" "0 0" "$(leftovers)"
category cleanup_failed cleanup_failed --fail-delete 1 -- --cleanup-job-timeout 5s
check "cleanup_failed: text output counted the runs as passed first" "$(printf '\tPass:  3')" "$(grep -P '^\tPass:' "$T/out")"

# build_canceled: cancel the build from outside while it runs (held: it
# cannot end first)
si_start --build-time 0 --agent-delay 0
hold builds=true
st -t docker -c 1 --label build_canceled >"$T/out" 2>"$T/err" &
pid=$!
bid=
for _ in $(seq 1200); do
  bid=$(api workspaces | python3 -c 'import json,sys; w=json.load(sys.stdin)["workspaces"]; print(w[0]["latest_build"]["id"] if w else "")')
  [ -n "$bid" ] && break
  sleep 0.05
done
curl -fsS -X PATCH -H "Coder-Session-Token: $(cat "$TOKEN_FILE")" "$CODER_URL/api/v2/workspacebuilds/$bid/cancel" >/dev/null
hold builds=false
rc=0; wait $pid || rc=$?
check "build_canceled: exit 1" 1 $rc
expect_category build_canceled build_canceled 1
check "nothing left" "0 0" "$(leftovers)"
done_testing
