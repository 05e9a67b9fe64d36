#!/usr/bin/env bash
# Coder answers 503 / 429 at random: idempotent GETs are retried with
# backoff and succeed; other calls fail with the category of their step.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup
for code in 503 429; do
  si_start --build-time 100ms --agent-delay 0 --fail-http 0.2 --fail-http-status $code
  rc=0
  st -t docker -c 20 --concurrency 0 --cleanup-concurrency 0 --label "r$code" >"$T/out" 2>"$T/err" || rc=$?
  run=$(q "SELECT id FROM coder_scale.run WHERE label = 'r$code'")
  check "$code: no GET failed (retried)" "0" "$(q "SELECT count(*) FROM coder_scale.run_result WHERE run_id = $run AND error ~ '^[a-z :]*GET '")"
  check "$code: failures name the refused call and its status" "0" "$(q "SELECT count(*) FROM coder_scale.run_result WHERE run_id = $run
    AND outcome = 'fail' AND error !~ '(POST|DELETE|PATCH) http://127.0.0.1:[0-9]+/api/v2/[^:]*: unexpected status code $code'")"
  check "$code: categories by step" "0" "$(q "SELECT count(*) FROM coder_scale.run_result WHERE run_id = $run
    AND failure_category NOT IN ('create_user', 'create_workspace', 'cleanup_failed')")"
  echo "  # $code: $(tail -n 1 "$T/out")"
done
done_testing
