#!/usr/bin/env bash
# A second Ctrl-C skips the cleanup: the status line then counts what really
# happened (cleaned up, failed, left behind), and what it says is left behind
# is what is left on the server and what it lists.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup
# every build (and delete build) held: no cleanup can end between the two signals
si_start --build-time 100ms --agent-delay 0 --daemons 50
hold builds=true
st_bg -t docker -c 6 --concurrency 0 --cleanup-concurrency 2 --label twice >"$T/out" 2>"$T/err"
pid=$!
n=0
six_workspaces() { n=$(api workspaces | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["workspaces"]))'); [ "$n" = 6 ]; }
wait_until six_workspaces || true
check "6 workspaces building" 6 "$n"
kill -INT $pid
wait_for_line "$T/err" '^Cleaning up' || true
kill -INT $pid
rc=0; wait $pid || rc=$?
check "exit 1" 1 $rc
line=$(grep -o 'cleanup: [0-9]* cleaned up (peak [0-9]*), [0-9]* failed, [0-9]* left behind' "$T/err" || true)
read -r cleaned failed left < <(echo "$line" | sed -E 's/cleanup: ([0-9]+) cleaned up \(peak [0-9]+\), ([0-9]+) failed, ([0-9]+) left behind/\1 \2 \3/')
check "the status line" yes "$([ -n "$line" ] && echo yes || echo no)"
check "cleaned + left behind = 6, none failed" "6 0" "$((cleaned + left)) $failed"
check "left behind: none cleaned in between (builds held)" 6 "$left"
check "left behind = the users left on the server" "$left" "$(leftovers | cut -d' ' -f2)"
check "left behind = the workspaces listed" "$left" "$(grep -c '^  workspace scaletest-' "$T/err" || true)"
hold builds=false
"$CS" scaletest cleanup --token-file "$TOKEN_FILE" --cleanup-concurrency 0 >/dev/null 2>&1 || true
done_testing
