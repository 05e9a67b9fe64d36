#!/usr/bin/env bash
# scaletest cleanup of 250 leftovers (a --no-cleanup run of 250 workspaces),
# as Coder's scaletestCleanup (coder/coder cli/exp_scaletest.go): the
# workspaces in pages of 100 until an empty page (3 pages and the empty one:
# 4 GETs), deleted as cleanup-workspace/<i>; then the users likewise (4 GETs,
# 250 DELETEs); Coder's lines on stdout and stderr and the harness results of
# each stage (PrintText) on stderr; exit 0.  A second cleanup finds nothing.
source "$(dirname "$0")/8_scaletest_lib.inc"
# logins are not rate limited (the create-workspaces help advises it); the cleanup is, with the owner's
# bypass header as Coder's cleanup sends it
si_start --build-time 0 --agent-delay 0 --login-rate-limit 0

# reqs METHOD PATH: requests the stand-in answered for the route PATH (coderd's
# metric coderd_api_requests_processed_total, all codes)
reqs() {
  curl -fsS "$CODER_URL/metrics" | awk -v m="method=\"$1\"" -v p="path=\"$2\"" '
    /^coderd_api_requests_processed_total\{/ && index($0, m) && index($0, p) { n += $NF }
    END { print n + 0 }'
}
# visible: the input with \r, \t and line ends shown (sed's l), to compare bytes
visible() { sed -n 'l 0'; }
# normalized FILE: FILE with the durations of the results as D
normalized() { sed -E 's/^(	Total duration: |	Avg\. duration:  ).*/\1D/' "$1"; }
# durations FILE: the result durations of FILE that are not Go durations
durations() {
  sed -nE 's/^	(Total duration: |Avg\. duration:  )//p' "$1" |
    grep -vE '^(0s|[0-9]+(\.[0-9]+)?(ns|µs|ms)|([0-9]+h)?([0-9]+m)?[0-9]+(\.[0-9]+)?s)$' || true
}

rc=0
"$CS" scaletest create-workspaces --token-file "$TOKEN_FILE" --no-db -t docker -c 250 --concurrency 0 \
  --no-cleanup >"$T/st.out" 2>"$T/st.err" || rc=$?
check "250 workspaces and 250 users left by --no-cleanup" "0 250 250" "$rc $(leftovers)"

ws_lists=$(reqs GET /api/v2/workspaces/) user_lists=$(reqs GET /api/v2/users/)
user_deletes=$(reqs DELETE /api/v2/users/{user}/)
rc=0
"$CS" scaletest cleanup --token-file "$TOKEN_FILE" --cleanup-concurrency 20 >"$T/out" 2>"$T/err" || rc=$?
check "cleanup: exit 0" 0 $rc
check "cleanup: the workspaces in 3 pages of 100 and the empty page" 4 $(($(reqs GET /api/v2/workspaces/) - ws_lists))
check "cleanup: the users in 3 pages of 100 and the empty page" 4 $(($(reqs GET /api/v2/users/) - user_lists))
check "cleanup: one DELETE per user" 250 $(($(reqs DELETE /api/v2/users/{user}/) - user_deletes))
check "cleanup: nothing left" "0 0" "$(leftovers)"
check "cleanup: stdout is Coder's (cliui.Infof lines end in \\r\\n)" \
  "$(printf 'Fetching scaletest workspaces...\r\nDeleting scaletest workspaces...\r\nDone deleting scaletest workspaces:\r\nFetching scaletest users...\r\nDeleting scaletest users...\r\nDone deleting scaletest users:\r\n' | visible)" \
  "$(visible <"$T/out")"
check "cleanup: stderr is Coder's: Found N (cliui.Errorf) and the results of each stage" \
  "$(printf 'ERROR: Found 250 scaletest workspaces\n\r\n\n\nTest results:\n\tPass:  250\n\tFail:  0\n\tTotal: 250\n\n\tTotal duration: D\n\tAvg. duration:  D\nERROR: Found 250 scaletest users\n\r\n\n\nTest results:\n\tPass:  250\n\tFail:  0\n\tTotal: 250\n\n\tTotal duration: D\n\tAvg. duration:  D\n' | visible)" \
  "$(normalized "$T/err" | visible)"
check "cleanup: the durations are Go durations" "" "$(durations "$T/err")"

rc=0
"$CS" scaletest cleanup --token-file "$TOKEN_FILE" >"$T/out" 2>"$T/err" || rc=$?
check "again: exit 0" 0 $rc
check "again: Fetching lines only" "$(printf 'Fetching scaletest workspaces...\r\nFetching scaletest users...\r\n' | visible)" "$(visible <"$T/out")"
check "again: finds 0 and 0" "$(printf 'ERROR: Found 0 scaletest workspaces\n\r\nERROR: Found 0 scaletest users\n\r\n' | visible)" "$(visible <"$T/err")"
done_testing
