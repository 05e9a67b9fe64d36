#!/usr/bin/env bash
# "Total duration" means Coder's elapsed everywhere: the test without its
# cleanup, the same in the live text output, the json output, run_summary,
# `coder-scale report`, and for the json ingested back; the cleanup's time is
# told apart, by name (stderr, report, run_summary.cleanup_elapsed), and the
# json keeps Coder's keys only.  A --no-db run names no run, and stdout does
# not start with blank lines.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup
# delete builds take as long as start builds: 4 cleanups one at a time >= 0.8 s
si_start --build-time 200ms --agent-delay 0

rc=0
st -t docker -c 4 --concurrency 0 --cleanup-concurrency 1 --label dur --output text --output "json:$T/r.json" \
  >"$T/out" 2>"$T/err" || rc=$?
check "exit 0" 0 $rc
run=$(q "SELECT id FROM coder_scale.run WHERE label = 'dur'")
live=$(sed -n 's/^\tTotal duration: //p' "$T/out")
"$CS" report --db "dbname=$DB" "$run" >"$T/report" 2>"$T/report.err"
check "report: Total duration = the live one ($live)" "$live" "$(sed -n 's/^\tTotal duration: //p' "$T/report")"
check "json: elapsed = the live one" "$live" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["elapsed"])' "$T/r.json")"
check "json: Coder's keys, no cleanup field" "total_runs total_pass total_fail elapsed elapsed_ms runs" \
  "$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))))' "$T/r.json")"
check "run_summary.elapsed = json elapsed_ms" \
  "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["elapsed_ms"])' "$T/r.json")" \
  "$(q "SELECT floor(extract(epoch FROM elapsed) * 1000)::bigint FROM coder_scale.run_summary WHERE run_id = $run")"
check "elapsed leaves the cleanup out" "t|t" "$(q "SELECT elapsed + cleanup_elapsed <= r.finished_at - r.started_at,
  cleanup_elapsed >= '0.8 s' FROM coder_scale.run_summary s JOIN coder_scale.run r ON r.id = s.run_id WHERE s.run_id = $run")"
cleanup=$(sed -n 's/.*; cleanup duration \(.*\)$/\1/p' "$T/err")
check "stderr: cleanup by name" "cleanup: 4 cleaned up (peak 1), 0 failed, 0 left behind" \
  "$(grep -o 'cleanup: 4 cleaned up (peak 1), 0 failed, 0 left behind' "$T/err")"
check "report: Cleanup duration = stderr's ($cleanup)" "$cleanup" "$(sed -n 's/^\tCleanup duration: //p' "$T/report")"
check "report: Total duration is not the whole run" "t" "$(q "SELECT elapsed < r.finished_at - r.started_at
  FROM coder_scale.run_summary s JOIN coder_scale.run r ON r.id = s.run_id WHERE s.run_id = $run")"

# the json ingested back: the same elapsed, no cleanup time (Coder's json has none)
"$CS" ingest --db "dbname=$DB" --label back "$T/r.json" >/dev/null
back=$(q "SELECT id FROM coder_scale.run WHERE label = 'back'")
check "ingested: same elapsed, no cleanup_elapsed" "t|t" "$(q "SELECT a.elapsed = b.elapsed, b.cleanup_elapsed IS NULL
  FROM coder_scale.run_summary a, coder_scale.run_summary b WHERE a.run_id = $run AND b.run_id = $back")"
"$CS" report --db "dbname=$DB" "$back" >"$T/report2" 2>/dev/null
check "ingested: report's Total duration the same" "$live" "$(sed -n 's/^\tTotal duration: //p' "$T/report2")"
check "ingested: no Cleanup duration line" "0" "$(grep -c 'Cleanup duration' "$T/report2" || true)"

# --no-db: no run number; stdout starts with the results as Coder's PrintText
# writes them with no failure: "\n\nTest results:"
rc=0
"$CS" scaletest create-workspaces --token-file "$TOKEN_FILE" --no-db -t docker -c 2 --concurrency 0 \
  >"$T/out" 2>"$T/err" || rc=$?
check "no-db: exit 0" 0 $rc
check "no-db: no run number" "coder-scale: scaletest: 2 runs, peak 2 in flight; cleanup: 2 cleaned up" \
  "$(grep -o '^coder-scale: scaletest: .*cleaned up' "$T/err")"
check "no-db: stdout starts with two newlines and Test results:" "||Test results:" "$(head -n 3 "$T/out" | paste -sd '|')"
done_testing
