#!/usr/bin/env bash
# Against a stand-in that rate-limits as coderd does (coderd/httpmw/ratelimit.go:
# 512 requests a minute per user and path, the bypass header refused from a
# non-owner with 428): 200 workspaces at once succeed, because the bypass
# header goes only with the owner's calls, as Coder's tool sends it.  With
# coderd's login limit (60 a minute per IP, cli/server.go) the logins past it
# fail with coderd's 429, as they do for Coder's own tool: Coder's help says
# to lift rate limits for this test.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup

# 200 users log in within the minute: past coderd's login limit, which
# coderd's own tests raise too (the API limit stays at coderd's 512)
si_start --build-time 100ms --agent-delay 0 --daemons 50 --login-rate-limit 0
rc=0
st -t docker -c 200 --concurrency 0 --cleanup-concurrency 0 --label limited >"$T/out" 2>"$T/err" || rc=$?
check "200 workspaces under the API rate limit: exit 0" 0 $rc
run=$(q "SELECT id FROM coder_scale.run WHERE label = 'limited'")
check "200 succeeded, cleaned up" "200|200|200" "$(q "SELECT s.total, s.succeeded, (SELECT count(*) FROM coder_scale.run_result
  WHERE run_id = $run AND cleanup IS NOT NULL) FROM coder_scale.run_summary s WHERE s.run_id = $run")"
check "nothing left" "0 0" "$(leftovers)"

# coderd's login limit: 70 new users at once, 60 logins a minute allowed
si_start --build-time 100ms --agent-delay 0 --daemons 50
rc=0
st -t docker -c 70 --concurrency 0 --cleanup-concurrency 0 --label logins >"$T/out" 2>"$T/err" || rc=$?
check "70 logins at coderd's limit: exit 1" 1 $rc
run=$(q "SELECT id FROM coder_scale.run WHERE label = 'logins'")
check "some logins refused, every failure a refused login, in Coder's words" "t|0" "$(q "SELECT count(*) FILTER (WHERE outcome = 'fail') >= 1,
  count(*) FILTER (WHERE outcome = 'fail' AND error !~ '^login as new user: POST http://127\.0\.0\.1:[0-9]+/api/v2/users/login: unexpected status code 429: You''ve been rate limited for sending more than 60 requests in 1m0s\.$')
  FROM coder_scale.run_result WHERE run_id = $run")"
check "the refused logins count as create_user" "0" "$(q "SELECT count(*) FROM coder_scale.run_result WHERE run_id = $run
  AND outcome = 'fail' AND failure_category <> 'create_user'")"
check "their users are cleaned up too" "0 0" "$(leftovers)"
done_testing
