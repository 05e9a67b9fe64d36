#!/usr/bin/env bash
# The round trip of every phase: `scaletest create-workspaces --output
# json:PATH` then `coder-scale ingest PATH` gives, for every run, pass or
# fail, the same create_user, create_workspace, queue_wait, build and
# agents_connect to the millisecond (and the same user and workspace names),
# read back from the logs the driver wrote the way Coder's runner writes them.
# (command and cleanup are not in Coder's logs or json, so ingest leaves them
# NULL.)
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup

# roundtrip LABEL: ingest LABEL's json back; print the runs whose phases differ
roundtrip() {
  local label=$1 run back
  "$CS" ingest --db "dbname=$DB" --label "$label-back" "$T/$label.json" >/dev/null
  run=$(q "SELECT id FROM coder_scale.run WHERE label = '$label'")
  back=$(q "SELECT id FROM coder_scale.run WHERE label = '$label-back'")
  q "SELECT coalesce(a.full_id, b.full_id) || ': ' || concat_ws(' ', a.create_user, a.create_workspace, a.queue_wait,
            a.build, a.agents_connect, a.user_name, a.workspace_name) || ' <> '
            || concat_ws(' ', b.create_user, b.create_workspace, b.queue_wait, b.build, b.agents_connect, b.user_name,
            b.workspace_name)
     FROM (SELECT * FROM coder_scale.run_result WHERE run_id = $run) a
     FULL JOIN (SELECT * FROM coder_scale.run_result WHERE run_id = $back) b USING (full_id)
     WHERE (a.create_user, a.create_workspace, a.queue_wait, a.build, a.agents_connect, a.user_name, a.workspace_name)
           IS DISTINCT FROM
           (b.create_user, b.create_workspace, b.queue_wait, b.build, b.agents_connect, b.user_name, b.workspace_name)
     ORDER BY 1"
}

# Mixed: one daemon (a queue), failed users, workspaces, builds (one retry) and
# agents, and runs that time out in the queue.
si_start --daemons 1 --build-time 300ms --agent-delay 600ms --fail-create-user 0.1 --fail-create-workspace 0.1 \
  --fail-build 0.3 --fail-agent 0.1
rc=0
st -t docker -c 16 --concurrency 0 --cleanup-concurrency 0 --retry 1 --job-timeout 4s --label mixed \
  --output "json:$T/mixed.json" >"$T/out" 2>"$T/err" || rc=$?
check "mixed: exit 1 (some runs failed)" 1 $rc
run=$(q "SELECT id FROM coder_scale.run WHERE label = 'mixed'")
# what the test covers, so that it can fail
check "mixed: passes with every phase" "t" "$(q "SELECT count(*) >= 1 FROM coder_scale.run_result WHERE run_id = $run
  AND outcome = 'pass' AND num_nulls(create_user, create_workspace, queue_wait, build, agents_connect) = 0")"
check "mixed: failures in 2 or more categories" "t" "$(q "SELECT count(DISTINCT failure_category) >= 2 FROM coder_scale.run_result
  WHERE run_id = $run AND outcome = 'fail'")"
check "mixed: failures with some phases known" "t" "$(q "SELECT count(*) >= 1 FROM coder_scale.run_result WHERE run_id = $run
  AND outcome = 'fail' AND create_workspace IS NOT NULL")"
check "mixed: queue waits longer than a poll" "t" "$(q "SELECT max(queue_wait) >= '0.5 s' FROM coder_scale.run_result WHERE run_id = $run")"
check "mixed: every phase of every run read back" "" "$(roundtrip mixed)"

# Builds that fail, some passing on the retry, some not (one run at a time:
# the stand-in's --seed then fails the same builds every time).
si_start --seed 1 --build-time 0 --agent-delay 0 --fail-build 0.5
rc=0
st -t docker -c 8 --retry 1 --cleanup-concurrency 0 --label retry --output "json:$T/retry.json" >"$T/out" 2>"$T/err" || rc=$?
check "retry: exit 1" 1 $rc
run=$(q "SELECT id FROM coder_scale.run WHERE label = 'retry'")
check "retry: passed on the retry, and failed it" "t|t" "$(q "SELECT bool_or(outcome = 'pass' AND logs LIKE '%Retrying build 1/1...%'),
  bool_or(failure_category = 'build_failed' AND logs LIKE '%Retrying build 1/1...%') FROM coder_scale.run_result WHERE run_id = $run")"
check "retry: every phase of every run read back" "" "$(roundtrip retry)"

# The host login (no user created: create_user unknown in both) and no agent wait.
si_start --build-time 200ms --agent-delay 0
rc=0
st -t docker -c 3 --concurrency 0 --use-host-login --no-wait-for-agents --label host --output "json:$T/host.json" \
  >"$T/out" 2>"$T/err" || rc=$?
check "host: exit 0" 0 $rc
run=$(q "SELECT id FROM coder_scale.run WHERE label = 'host'")
check "host: no create_user, no agents_connect" "3" "$(q "SELECT count(*) FROM coder_scale.run_result WHERE run_id = $run
  AND create_user IS NULL AND agents_connect IS NULL AND build IS NOT NULL")"
check "host: every phase of every run read back" "" "$(roundtrip host)"
done_testing
