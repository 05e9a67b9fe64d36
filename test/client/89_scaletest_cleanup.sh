#!/usr/bin/env bash
# scaletest cleanup as Coder's scaletestCleanup (coder/coder cli/exp_scaletest.go)
# when deletes fail, with --template, its timeouts, environment variables, rate limits and
# errors: the workspace stage first, and when a delete failed Coder's text
# (the harness results, "failed to delete scaletest workspaces") and exit 1
# with the users left alone; the users stage after it.  The 250 leftovers of a
# long run are 89h's.
source "$(dirname "$0")/8_scaletest_lib.inc"

# visible: the input with \r, \t and line ends shown (sed's l), to compare bytes
visible() { sed -n 'l 0'; }
# normalized FILE: FILE with the results' durations as D, an injected failed
# delete's error as E and the runs' log lines (the runner's) left out
normalized() {
  sed -E -e 's/^(	Total duration: |	Avg\. duration:  ).*/\1D/' \
    -e 's/^	Error: .*terraform destroy: injected failure \(--fail-delete\)$/	Error: E/' -e '/^		/d' "$1"
}
ns() { "$CS" scaletest create-workspaces --token-file "$TOKEN_FILE" --no-db --concurrency 0 --no-cleanup "$@"; }
cl() { "$CS" scaletest cleanup --token-file "$TOKEN_FILE" "$@"; }
# template_ws NAME: the workspaces of template NAME on the stand-in
template_ws() {
  api workspaces | python3 -c 'import json,sys; print(sum(1 for w in json.load(sys.stdin)["workspaces"] if w["template_name"] == sys.argv[1]))' "$1"
}
# results N FILE: "PASS FAIL TOTAL" of the Nth results block of FILE
results() {
  awk -v n="$1" '/^Test results:/ { k++ } k == n && /^	(Pass|Fail|Total):/ { printf "%s%s", s, $2; s = " " } END { print "" }' "$2"
}
# clean_up: cleanup until it exits 0 (a delete fails half the time), at most 20 rounds
clean_up() {
  local i
  for i in $(seq 20); do cl >"$T/cu.out" 2>"$T/cu.err" && return 0; done
  return 1
}

# 1. Every delete fails: Coder's text and exit; the users stay (Coder stops after the workspace stage).
si_start --build-time 0 --agent-delay 0 --fail-delete 1
ns -t docker -c 2 >"$T/st.out" 2>"$T/st.err"
rc=0
cl --cleanup-concurrency 0 >"$T/out" 2>"$T/err" || rc=$?
check "failed deletes: exit 1" 1 $rc
check "failed deletes: stdout is Coder's" \
  "$(printf 'Fetching scaletest workspaces...\r\nDeleting scaletest workspaces...\r\nDone deleting scaletest workspaces:\r\n' | visible)" \
  "$(visible <"$T/out")"
check "failed deletes: stderr is Coder's (Found, the FAIL blocks, the results) and its error" \
  "$(printf 'ERROR: Found 2 scaletest workspaces\n\r\n\n== FAIL: cleanup-workspace/0\n\n\tError: E\n\n\tLog:\n\n== FAIL: cleanup-workspace/1\n\n\tError: E\n\n\tLog:\n\n\nTest results:\n\tPass:  0\n\tFail:  2\n\tTotal: 2\n\n\tTotal duration: D\n\tAvg. duration:  D\ncoder-scale: scaletest cleanup: failed to delete scaletest workspaces\n' | visible)" \
  "$(normalized "$T/err" | visible)"
check "failed deletes: the error says the delete build failed" 2 \
  "$(grep -c '^	Error: .*build failed with status "failed": terraform destroy: injected failure (--fail-delete)$' "$T/err")"
check "failed deletes: workspaces and users still there" "2 2" "$(leftovers)"

# 2. --template: only that template's workspaces; the users stage then fails on
#    the users that still have workspaces of the other template.
si_start --template k8s --build-time 0 --agent-delay 0 --fail-delete 0.5
ns -t docker -c 4 >"$T/st.out" 2>"$T/st.err"
ns -t k8s -c 2 >"$T/st.out" 2>"$T/st.err"
check "6 workspaces (4 docker, 2 k8s) and 6 users" "6 6 2" "$(leftovers) $(template_ws k8s)"
round=0 stage2=no
while [ $round -lt 20 ]; do
  round=$((round + 1))
  before=$(template_ws k8s)
  rc=0
  cl --template k8s --cleanup-concurrency 0 >"$T/out" 2>"$T/err" || rc=$?
  after=$(template_ws k8s)
  r="--template k8s, round $round"
  check "$r: found the k8s workspaces" "ERROR: Found $before scaletest workspaces" "$(head -1 "$T/err")"
  check "$r: the results count what went" "$((before - after)) $after $before" "$(results 1 "$T/err")"
  check "$r: the docker workspaces stay" 4 "$(template_ws docker)"
  check "$r: exit 1" 1 $rc
  if [ "$after" -gt 0 ]; then
    check "$r: a failed delete stops it" "coder-scale: scaletest cleanup: failed to delete scaletest workspaces" "$(tail -1 "$T/err")"
    check "$r: no users stage" "0 6" "$(grep -c 'scaletest users' "$T/out") $(leftovers | cut -d' ' -f2)"
    continue
  fi
  stage2=yes
  check "$r: then the users stage" "Fetching scaletest users...|Deleting scaletest users...|Done deleting scaletest users:" \
    "$(tail -3 "$T/out" | tr -d '\r' | paste -sd '|')"
  check "$r: it found the 6 users" 1 "$(grep -c '^ERROR: Found 6 scaletest users$' "$T/err")"
  check "$r: the 4 with docker workspaces cannot go (417)" "2 4 6" "$(results 2 "$T/err")"
  check "$r: ... as coderd says" 4 "$(grep -c '^	Error: .*You cannot remove a user with workspaces!' "$T/err")"
  check "$r: ... and exit 1 with Coder's error" "coder-scale: scaletest cleanup: failed to delete scaletest users" "$(tail -1 "$T/err")"
  check "$r: 4 workspaces and 4 users left" "4 4" "$(leftovers)"
  break
done
check "--template: the users stage came" yes $stage2

# 3. Without --template (concurrency from CODER_SCALETEST_CLEANUP_CONCURRENCY): until nothing is left.
rc=0
CODER_SCALETEST_CLEANUP_CONCURRENCY=0 clean_up || rc=$?
check "cleanup: exit 0 in the end" 0 $rc
check "cleanup: nothing left" "0 0" "$(leftovers)"
check "cleanup: the last stage was the users'" "Done deleting scaletest users:" "$(tail -1 "$T/cu.out" | tr -d '\r')"

# 4. The timeouts, with builds held so that no delete ends.
ns -t docker -c 2 >"$T/st.out" 2>"$T/st.err"
hold builds=true
for how in flag env both; do
  rc=0
  case $how in
    flag) cl --cleanup-concurrency 0 --cleanup-job-timeout 300ms >"$T/out" 2>"$T/err" || rc=$? ;;
    env) CODER_SCALETEST_CLEANUP_JOB_TIMEOUT=300ms cl --cleanup-concurrency 0 >"$T/out" 2>"$T/err" || rc=$? ;;
    # the flag wins over the variable (a 1h job timeout would meet the 5s stage timeout instead)
    both) CODER_SCALETEST_CLEANUP_JOB_TIMEOUT=1h cl --cleanup-concurrency 0 --cleanup-job-timeout 300ms \
      --cleanup-timeout 5s >"$T/out" 2>"$T/err" || rc=$? ;;
  esac
  check "--cleanup-job-timeout ($how): exit 1" 1 $rc
  check "--cleanup-job-timeout ($how): each run ends at its deadline" "2 0 2 2" \
    "$(grep -c '^	Error: cleanup: context deadline exceeded$' "$T/err") $(results 1 "$T/err")"
done
rc=0
cl --cleanup-concurrency 1 --cleanup-job-timeout 0 --cleanup-timeout 500ms >"$T/out" 2>"$T/err" || rc=$?
check "--cleanup-timeout: exit 1" 1 $rc
check "--cleanup-timeout: the run in flight and the one not started fail" "2 0 2 2" \
  "$(grep -c '^	Error: context deadline exceeded$' "$T/err") $(results 1 "$T/err")"
rc=0
CODER_SCALETEST_CLEANUP_TIMEOUT=500ms cl --cleanup-concurrency 1 --cleanup-job-timeout 0 >"$T/out" 2>"$T/err" || rc=$?
check "CODER_SCALETEST_CLEANUP_TIMEOUT: the same" "1 2" "$rc $(grep -c '^	Error: context deadline exceeded$' "$T/err")"
hold builds=false
rc=0
clean_up || rc=$?
check "after the holds: cleaned up" "0 0 0" "$rc $(leftovers)"

# 5. Flags, environment and errors; nothing is fetched before they pass.
expect() {  # expect NAME EXIT FIRST-LINE-OF-STDERR cmd...
  local name=$1 want=$2 line=$3; shift 3
  local rc=0
  "$@" >"$T/out" 2>"$T/err" || rc=$?
  check "$name: exit $want" "$want" $rc
  check "$name: says so" "$line" "$(head -1 "$T/err")"
  check "$name: stdout empty" "" "$(cat "$T/out")"
}
expect "unknown template" 2 'coder-scale: scaletest cleanup: parse template: could not find template "nosuch" in any organization' \
  cl --template nosuch
expect "CODER_SCALETEST_CLEANUP_TEMPLATE" 2 'coder-scale: scaletest cleanup: parse template: could not find template "nosuch" in any organization' \
  env CODER_SCALETEST_CLEANUP_TEMPLATE=nosuch "$CS" scaletest cleanup --token-file "$TOKEN_FILE"
expect "a template id that is none" 2 \
  "coder-scale: scaletest cleanup: parse template: get template by ID \"11111111-2222-4333-8444-555555555555\": GET $CODER_URL/api/v2/templates/11111111-2222-4333-8444-555555555555: unexpected status code 404: Resource not found or you do not have access to this resource" \
  cl --template 11111111-2222-4333-8444-555555555555
rc=0
cl --template docker >"$T/out" 2>"$T/err" || rc=$?
check "a known template: exit 0, nothing to do" "0 2" "$rc $(grep -c '^ERROR: Found 0 scaletest' "$T/err")"
expect "bad CODER_SCALETEST_CLEANUP_CONCURRENCY" 2 \
  'coder-scale: scaletest cleanup: CODER_SCALETEST_CLEANUP_CONCURRENCY "x": must be a whole number, 0 or more' \
  env CODER_SCALETEST_CLEANUP_CONCURRENCY=x "$CS" scaletest cleanup --token-file "$TOKEN_FILE"
why='not a Go duration (expected a number); use e.g. 300ms, 5s, 2m, 1h30m'
expect "bad --cleanup-timeout" 2 "coder-scale: scaletest cleanup: --cleanup-timeout \"bogus\": $why" cl --cleanup-timeout bogus
expect "bad --cleanup-job-timeout" 2 "coder-scale: scaletest cleanup: --cleanup-job-timeout \"bogus\": $why" \
  cl --cleanup-job-timeout bogus
expect "bad CODER_SCALETEST_CLEANUP_TIMEOUT" 2 "coder-scale: scaletest cleanup: CODER_SCALETEST_CLEANUP_TIMEOUT \"bogus\": $why" \
  env CODER_SCALETEST_CLEANUP_TIMEOUT=bogus "$CS" scaletest cleanup --token-file "$TOKEN_FILE"
expect "bad CODER_SCALETEST_CLEANUP_JOB_TIMEOUT" 2 \
  "coder-scale: scaletest cleanup: CODER_SCALETEST_CLEANUP_JOB_TIMEOUT \"bogus\": $why" \
  env CODER_SCALETEST_CLEANUP_JOB_TIMEOUT=bogus "$CS" scaletest cleanup --token-file "$TOKEN_FILE"
expect "an argument" 2 'coder-scale: scaletest cleanup: extra: unexpected argument' cl extra

# a member's token: requireAdmin refuses it
org=$(api users/me | python3 -c 'import json,sys; print(json.load(sys.stdin)["organization_ids"][0])')
curl -fsS -X POST -H "Coder-Session-Token: $(cat "$TOKEN_FILE")" -H 'Content-Type: application/json' \
  -d "{\"email\":\"member@example.com\",\"username\":\"member\",\"password\":\"MemberPassw0rd!\",\"login_type\":\"password\",\"organization_ids\":[\"$org\"]}" \
  "$CODER_URL/api/v2/users" >/dev/null
curl -fsS -X POST -H 'Content-Type: application/json' -d '{"email":"member@example.com","password":"MemberPassw0rd!"}' \
  "$CODER_URL/api/v2/users/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["session_token"])' >"$T/member"
expect "a member's token" 2 \
  'coder-scale: scaletest cleanup: Not logged in as a site owner. Scale testing is only available to site owners.' \
  "$CS" scaletest cleanup --token-file "$T/member"
echo bogus >"$T/bogus"
expect "a refused token" 2 \
  "coder-scale: scaletest cleanup: fetch current user: GET $CODER_URL/api/v2/users/me: unexpected status code 401: $(curl -s -H 'Coder-Session-Token: bogus' "$CODER_URL/api/v2/users/me" | python3 -c 'import json,sys; print(json.load(sys.stdin)["message"])')" \
  "$CS" scaletest cleanup --token-file "$T/bogus"
rc=0
"$CS" scaletest cleanup --token-file "$TOKEN_FILE" --url http://127.0.0.1:1 >"$T/out" 2>"$T/err" || rc=$?
check "unreachable: exit 3" 3 $rc
check "unreachable: says so" 1 "$(grep -c '^coder-scale: scaletest cleanup: fetch current user: GET http://127.0.0.1:1/api/v2/users/me: ' "$T/err")"
rc=0
cl --help >"$T/out" 2>"$T/err" || rc=$?
check "--help: exit 0" 0 $rc
check "--help: Coder's four flags and their variables" 8 \
  "$(grep -cE -- '--(template|cleanup-concurrency|cleanup-timeout|cleanup-job-timeout) |\(\$CODER_SCALETEST_CLEANUP_(TEMPLATE|CONCURRENCY|TIMEOUT|JOB_TIMEOUT)\)' "$T/out")"

# 6. coderd's rate limits: past requireAdmin every call carries the owner's bypass header, so a
#    limit of 3 a minute per endpoint refuses none of the cleanup's (5 GETs of /workspaces/{id} ...)
si_start --build-time 0 --agent-delay 0 --api-rate-limit 3
ns -t docker -c 5 --use-host-login --no-wait-for-agents >"$T/st.out" 2>"$T/st.err"
refused() { curl -fsS "$CODER_URL/metrics" | awk '/^coderd_api_requests_processed_total\{code="429"/ { n += $NF } END { print n + 0 }'; }
before=$(refused)
rc=0
cl --cleanup-concurrency 0 >"$T/out" 2>"$T/err" || rc=$?
check "rate limited: the cleanup passes, none refused" "0 5 0 5 0" "$rc $(results 1 "$T/err") $(($(refused) - before))"

# any other failed call: Coder's wording, exit 4
si_start --fail-http 1
expect "a server error" 4 "coder-scale: scaletest cleanup: fetch current user: GET $CODER_URL/api/v2/users/me: unexpected status code 500: $(curl -s -H "Coder-Session-Token: $(cat "$TOKEN_FILE")" "$CODER_URL/api/v2/users/me" | python3 -c 'import json,sys; print(json.load(sys.stdin)["message"])')" \
  cl
done_testing
