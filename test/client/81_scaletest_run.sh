#!/usr/bin/env bash
# scaletest create-workspaces end to end against the stand-in: every step of
# Coder's sequence, results in run_result as they happen, Coder's text and
# json outputs, the summary line, cleanup leaves nothing, and the json output
# ingests back identically through `coder-scale ingest`.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup
si_start --build-time 200ms --agent-delay 100ms

rc=0
st -t docker -c 12 --concurrency 0 --cleanup-concurrency 4 --run-command "sleep 0.2 && echo hello" \
  --run-expect-output hello --label e2e --tag suite=81 --output text --output "json:$T/r.json" \
  >"$T/out" 2>"$T/err" || rc=$?
check "exit 0" 0 $rc
run=$(q "SELECT id FROM coder_scale.run WHERE label = 'e2e'")
check "run completed" "completed|12|0|4|{\"suite\": \"81\"}" \
  "$(q "SELECT status, count, concurrency, cleanup_concurrency, tags FROM coder_scale.run WHERE id = $run")"
check "12 results, all pass" "12|12" "$(q "SELECT count(*), count(*) FILTER (WHERE outcome = 'pass') FROM coder_scale.run_result WHERE run_id = $run")"
# (the phases Coder's logs show are whole milliseconds of the log lines' times: 2 ms of slack)
check "every phase timed" "12" "$(q "SELECT count(*) FROM coder_scale.run_result WHERE run_id = $run
  AND create_user >= '0' AND create_workspace >= '0' AND queue_wait >= '0' AND build >= '0'
  AND agents_connect >= '0' AND command >= '0.2 s' AND cleanup > '0'
  AND duration + '2 ms' >= create_user + create_workspace + queue_wait + build + agents_connect + command")"
# Coder's polls see the 200 ms build within queue_wait + build (to the poll that saw it succeed)
check "queue wait and build cover the build" "t" "$(q "SELECT bool_and(queue_wait + build >= '0.2 s') FROM coder_scale.run_result WHERE run_id = $run")"
check "names as Coder makes them: one random string for the user, another for the workspace" "12" "$(q "SELECT count(*) FROM coder_scale.run_result WHERE run_id = $run AND workspace_name ~ '^scaletest-[a-zA-Z0-9]{8}-[0-9]+$' AND user_name ~ '^scaletest-[a-zA-Z0-9]{8}-[0-9]+$'
  AND split_part(workspace_name, '-', 2) <> split_part(user_name, '-', 2) AND full_id ~ '^workspacebuild/[0-9]+$'")"
check "text: Test results" "1" "$(grep -c '^Test results:' "$T/out")"
check "text: pass/fail/total" "$(printf '\tPass:  12\n\tFail:  0\n\tTotal: 12')" "$(grep -E '^	(Pass|Fail|Total):' "$T/out")"
check "text: durations" "2" "$(grep -cE '^	(Total duration|Avg. duration): +[0-9.]+(ms|s)$' "$T/out")"
# the summary line is on stderr: stdout is Coder's text alone, its last line Avg. duration
check "summary line" "12 succeeded" "$(grep -E '^[0-9]+ succeeded' "$T/err")"
check "summary = run_summary" "$(q "SELECT summary FROM coder_scale.run_summary WHERE run_id = $run")" "$(grep -E '^[0-9]+ succeeded' "$T/err")"
check "stdout ends with Coder's text" "1" "$(tail -n 1 "$T/out" | grep -cE '^	Avg. duration: ')"
check "nothing left on the server" "0 0" "$(leftovers)"

# json: Coder's harness format
python3 - "$T/r.json" >"$T/jcheck" <<'PY' || true
import json, sys, re
raw = open(sys.argv[1]).read()
assert raw.count("\n") == 1 and raw.endswith("\n"), "one line"
d = json.loads(raw)
assert list(d) == ["total_runs", "total_pass", "total_fail", "elapsed", "elapsed_ms", "runs"], list(d)
assert (d["total_runs"], d["total_pass"], d["total_fail"]) == (12, 12, 0)
assert list(d["runs"]) == sorted(d["runs"]), "keys sorted as text"
for k, r in d["runs"].items():
    assert list(r) == ["full_id", "test_name", "id", "logs", "started_at", "duration", "duration_ms", "error"], list(r)
    assert r["full_id"] == k == "workspacebuild/" + r["id"] and r["test_name"] == "workspacebuild"
    assert r["error"] == "<nil>" and "\\u003cnil\\u003e" in raw
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", r["started_at"])
    assert re.fullmatch(r"([0-9.]+(h|m|s|ms|µs|ns))+", r["duration"]), r["duration"]
print("ok")
PY
check "json format" "ok" "$(cat "$T/jcheck")"

# ingest the json back: same runs, same outcomes, timings (every phase Coder's logs show), names and texts
"$CS" ingest --db "dbname=$DB" --label back "$T/r.json" >/dev/null
back=$(q "SELECT id FROM coder_scale.run WHERE label = 'back'")
check "ingested identically" "" "$(q "
  (SELECT full_id, started_at, duration, create_user, create_workspace, queue_wait, build, agents_connect, user_name, workspace_name, outcome, failure_category, error, logs FROM coder_scale.run_result WHERE run_id = $run
   EXCEPT SELECT full_id, started_at, duration, create_user, create_workspace, queue_wait, build, agents_connect, user_name, workspace_name, outcome, failure_category, error, logs FROM coder_scale.run_result WHERE run_id = $back)
  UNION ALL
  (SELECT full_id, started_at, duration, create_user, create_workspace, queue_wait, build, agents_connect, user_name, workspace_name, outcome, failure_category, error, logs FROM coder_scale.run_result WHERE run_id = $back
   EXCEPT SELECT full_id, started_at, duration, create_user, create_workspace, queue_wait, build, agents_connect, user_name, workspace_name, outcome, failure_category, error, logs FROM coder_scale.run_result WHERE run_id = $run)")"

# --use-host-login and --no-wait-for-agents, --no-cleanup then scaletest cleanup
rc=0
st -t docker -c 3 --concurrency 0 --use-host-login --no-wait-for-agents --no-cleanup --label host >"$T/out" 2>"$T/err" || rc=$?
check "host login: exit 0" 0 $rc
check "host login: no users created" "3 0" "$(leftovers)"
rc=0
st -t docker -c 2 --concurrency 0 --no-cleanup --label keep >"$T/out" 2>"$T/err" || rc=$?
check "no-cleanup keeps users and workspaces" "5 2" "$(leftovers)"
rc=0
"$CS" scaletest cleanup --token-file "$TOKEN_FILE" --cleanup-concurrency 0 >"$T/out" 2>"$T/err" || rc=$?
check "cleanup: exit 0" 0 $rc
check "cleanup: reports (Coder's Found lines)" "5 2" \
  "$(sed -n 's/^ERROR: Found \([0-9]*\) scaletest workspaces$/\1/p' "$T/err") $(sed -n 's/^ERROR: Found \([0-9]*\) scaletest users$/\1/p' "$T/err")"
check "cleanup: nothing left" "0 0" "$(leftovers)"
done_testing
