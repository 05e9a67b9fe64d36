#!/usr/bin/env bash
# Timeouts honored exactly: --job-timeout per run, --timeout for the whole
# phase (runs not yet started fail too), --run-timeout with
# --run-expect-timeout, and --cleanup-job-timeout.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup

# a run that cannot finish (its build takes 30 s) stops at --job-timeout
si_start --build-time 30s --agent-delay 0
rc=0; s0=$(date +%s%N)
st -t docker -c 2 --concurrency 0 --job-timeout 800ms --no-cleanup --label jt >"$T/out" 2>"$T/err" || rc=$?
check "job timeout: exit 1" 1 $rc
check "job timeout: duration 800 ms and a little (loaded machines; the build takes 30 s)" "2" "$(q "SELECT count(*) FROM coder_scale.run_result rr JOIN coder_scale.run r ON r.id = rr.run_id
  WHERE r.label = 'jt' AND rr.duration BETWEEN '800 ms' AND '5800 ms' AND rr.error LIKE '%context deadline exceeded'")"

# --timeout: the whole phase; with --concurrency 1 the second run never starts
rc=0
st -t docker -c 2 --concurrency 1 --timeout 600ms --no-cleanup --label pt >"$T/out" 2>"$T/err" || rc=$?
check "phase timeout: exit 1" 1 $rc
check "phase timeout: both runs failed as timed out" "2|2" "$(q "SELECT s.failed, s.job_timeout FROM coder_scale.run_summary s JOIN coder_scale.run r ON r.id = s.run_id WHERE r.label = 'pt'")"
check "phase timeout: the first stopped at 600 ms (it started up to 1 ms after the phase)" "1" "$(q "SELECT count(*) FROM coder_scale.run_result rr JOIN coder_scale.run r ON r.id = rr.run_id
  WHERE r.label = 'pt' AND rr.full_id = 'workspacebuild/0' AND rr.duration BETWEEN '599 ms' AND '5600 ms'")"

# --run-expect-timeout: the command must still be running at --run-timeout
si_start --build-time 0 --agent-delay 0
rc=0
st -t docker -c 2 --concurrency 0 --run-command "sleep 3" --run-timeout 400ms --run-expect-timeout --label et >"$T/out" 2>"$T/err" || rc=$?
check "expected timeout passes" 0 $rc
check "expected timeout: command took 400 ms (and less than its 3 s)" "2" "$(q "SELECT count(*) FROM coder_scale.run_result rr JOIN coder_scale.run r ON r.id = rr.run_id
  WHERE r.label = 'et' AND rr.outcome = 'pass' AND rr.command BETWEEN '400 ms' AND '2900 ms'")"

# --cleanup-job-timeout: cleanup cancels the 30 s build, then its delete build
# (30 s too) is given up on
si_start --build-time 30s --agent-delay 0
rc=0
st -t docker -c 1 --job-timeout 300ms --cleanup-job-timeout 500ms --label cjt >"$T/out" 2>"$T/err" || rc=$?
check "cleanup timeout: exit 1" 1 $rc
check "cleanup timeout: the run keeps its own failure" "job_timeout|create workspace: wait for build: context deadline exceeded" "$(q "SELECT failure_category, error FROM coder_scale.run_result rr JOIN coder_scale.run r ON r.id = rr.run_id WHERE r.label = 'cjt'")"
check "cleanup timeout: took 500 ms (the delete build takes 30 s)" "t" "$(q "SELECT cleanup BETWEEN '500 ms' AND '5500 ms' FROM coder_scale.run_result rr JOIN coder_scale.run r ON r.id = rr.run_id WHERE r.label = 'cjt'")"
done_testing
