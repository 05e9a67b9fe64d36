#!/usr/bin/env bash
# Descriptors: a test whose runs in flight need more open files than the
# limit gives is refused before it creates anything, saying how many it
# needs and how to get them; with --max-connections and --max-websockets the
# calls and websockets beyond them wait for one (and say so), and every run
# still passes and is stored.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup

# 300 new users log in within the minute: past coderd's login limit (see 81e)
si_start --build-time 0 --agent-delay 0 --daemons 20 --login-rate-limit 0 --metrics-listen 127.0.0.1:0
metric() {  # metric NAME{LABELS}: its value on the stand-in, 0 when absent
  curl -fsS "$METRICS_URL" | awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }'
}
metric_at_least() { [ "$(metric "$1")" -ge "$2" ]; }  # for wait_until: read again each time

# 300 at once need 678 (300 connections and 300 websockets, their lanes, 64 more); the limit is 400
rc=0
(ulimit -n 400 && exec "$CS" scaletest create-workspaces --token-file "$TOKEN_FILE" \
  --db "dbname=$DB" -t docker -c 300 --concurrency 0 --label refused) >"$T/out" 2>"$T/err" || rc=$?
check "too few descriptors: exit 2" 2 $rc
check "the refusal says what is needed and what the limit is" 1 "$(grep -c '^coder-scale: scaletest: 300 runs in flight need 678 open files (300 HTTP connections, 300 websockets, 78 for the rest), but the open-files limit is 400$' "$T/err")"
check "and how to get them" 1 "$(grep -c '^Raise the hard limit for the driver (as root: ulimit -Hn 678, .*Or lower --concurrency and --cleanup-concurrency to 164, or let websockets wait for a descriptor with --max-websockets 24 (each wait is reported)$' "$T/err")"
check "nothing created on Coder" "0 0" "$(leftovers)"
check "no user was asked for" 0 "$(metric 'coderd_api_requests_processed_total{code="201",method="POST",path="/api/v2/users"}')"
check "no run stored" 0 "$(q "SELECT count(*) FROM coder_scale.run WHERE label = 'refused'")"

# --max-connections lowers the need: 30 connections (and their lane's 2), 300 websockets (and 4), 64: 400
rc=0
(ulimit -n 400 && exec "$CS" scaletest create-workspaces --token-file "$TOKEN_FILE" \
  --db "dbname=$DB" -t docker -c 300 --concurrency 0 --cleanup-concurrency 0 --max-connections 30 --quiet \
  --label fits) >"$T/out" 2>"$T/err" || rc=$?
check "300 at once in 400 descriptors with 30 connections: exit 0" 0 $rc
check "all 300 passed and were cleaned up" "300|300" "$(q "SELECT count(*) FILTER (WHERE rr.outcome = 'pass'),
  count(*) FILTER (WHERE rr.cleanup IS NOT NULL) FROM coder_scale.run_result rr JOIN coder_scale.run r ON r.id = rr.run_id WHERE r.label = 'fits'")"
check "the calls that waited for a connection are reported" 1 "$(grep -Ec '^coder-scale: scaletest: [1-9][0-9]* HTTP calls waited for one of 30 connections \(--max-connections\), longest [0-9.]+s, [0-9.]+s on average$' "$T/err")"
check "nothing left" "0 0" "$(leftovers)"

# 20 builds held running follow their logs over at most 5 websockets; the
# other 15 wait for one (each runner polls its build once: it is running)
hold builds=true
polls0=$(metric 'coderd_api_requests_processed_total{code="200",method="GET",path="/api/v2/workspacebuilds/{workspacebuild}/"}')
st_bg -t docker -c 20 --concurrency 0 --cleanup-concurrency 0 --max-websockets 5 --quiet --label waits >"$T/out" 2>"$T/err"
pid=$!
wait_until metric_at_least 'coderd_provisionerd_jobs_current{provisioner="terraform"}' 20
wait_until metric_at_least 'coderd_api_requests_processed_total{code="200",method="GET",path="/api/v2/workspacebuilds/{workspacebuild}/"}' $((polls0 + 20))
wait_until metric_at_least coderd_api_concurrent_websockets 5
check "20 builds running, 5 websockets open" "20 5" "$(metric 'coderd_provisionerd_jobs_current{provisioner="terraform"}') $(metric coderd_api_concurrent_websockets)"
hold builds=false
rc=0; wait $pid || rc=$?
check "the held run: exit 0" 0 $rc
check "all 20 passed" 20 "$(q "SELECT count(*) FROM coder_scale.run_result rr JOIN coder_scale.run r ON r.id = rr.run_id WHERE r.label = 'waits' AND rr.outcome = 'pass'")"
waited=$(sed -n 's/^coder-scale: scaletest: \([0-9]*\) websockets waited for one of 5 (--max-websockets), longest [0-9.]*s, [0-9.]*s on average$/\1/p' "$T/err")
check "at least the 15 beyond the 5 waited, and say so" 1 "$([ "${waited:-0}" -ge 15 ] && echo 1 || echo 0)"
check "nothing left" "0 0" "$(leftovers)"
done_testing
