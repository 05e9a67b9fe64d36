#!/usr/bin/env bash
# scaletest create-workspaces: bad flags exit 2 (unreachable Coder: 3) with a
# clear message, before anything is created; --help; the token never shows.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup
si_start --build-time 0 --agent-delay 0

expect_exit() {  # expect_exit NAME CODE MESSAGE-PART ARGS...
  local name=$1 code=$2 msg=$3 rc=0
  shift 3
  "$@" >"$T/out" 2>"$T/err" || rc=$?
  check "$name: exit $code" "$code" "$rc"
  if grep -qF -- "$msg" "$T/err"; then echo "  ok - $name: says '$msg'"; else
    echo "  not ok - $name: stderr lacks '$msg':"; sed 's/^/    /' "$T/err"; fails=$((fails + 1)); fi
}

expect_exit "count 0" 2 "--count \"0\": must be a whole number, 1 or more" st -t docker --count 0
expect_exit "count junk" 2 "--count \"3x\": must be a whole number, 1 or more" st -t docker --count 3x
expect_exit "no template" 2 "--template: is required" st --count 1
expect_exit "unknown template" 2 "no such template" st -t nosuchtemplate
expect_exit "unknown template uuid" 2 "no such template" st -t 00000000-0000-0000-0000-000000000000
expect_exit "malformed parameter" 2 "--parameter: expected NAME=VALUE" st -t docker --parameter novalue
expect_exit "unknown parameter" 2 "--parameter nosuch: template docker has no parameter" st -t docker --parameter nosuch=1
expect_exit "bad duration" 2 "--job-timeout \"5minutes\": not a Go duration" st -t docker --job-timeout 5minutes
expect_exit "bad run-timeout" 2 "--run-timeout \"-1s\": must not be negative" st -t docker --run-command true --run-timeout -1s
expect_exit "bad concurrency" 2 "--concurrency \"-1\": must be a whole number, 0 or more" st -t docker --concurrency -1
expect_exit "bad cleanup concurrency" 2 "coder-scale: scaletest cleanup: --cleanup-concurrency \"x\": must be a whole number, 0 or more" "$CS" scaletest cleanup --cleanup-concurrency x
# The same mistake reads the same in every command (common/flags.c).
for pair in "--scrape-match|(|scrape-match" "--scrape-interval|50ms|interval" "--scrape-sample-limit|0|scrape-sample-limit"; do
  IFS='|' read -r sflag val pflag <<<"$pair"
  "$CS" scaletest create-workspaces -t docker --scrape a=http://127.0.0.1:1/ "$sflag" "$val" >/dev/null 2>"$T/w1" || true
  "$CS" scrape a=http://127.0.0.1:1/ --for 5s "--$pflag" "$val" >/dev/null 2>"$T/w2" || true
  why1=$(head -n1 "$T/w1" | sed 's/^coder-scale: scaletest: [^ ]* //'); why2=$(head -n1 "$T/w2" | sed 's/^coder-scale: scrape: [^ ]* //')
  check "$sflag $val: scaletest and scrape say the same ($why1)" "$why2" "$why1"
  check "... and say it on their first line" 1 "$(grep -c '^coder-scale: scaletest: --' "$T/w1")"
done
expect_exit "bad output" 2 "--output: invalid output format \"xml\" in output flag 0" st -t docker --output xml
expect_exit "unknown flag" 2 "--bogus: unknown flag" st -t docker --bogus
expect_exit "expect-timeout without command" 2 "needs --run-command" st -t docker --run-expect-timeout
expect_exit "no token" 2 "no session token" env -u CODER_SESSION_TOKEN HOME=$T "$CS" scaletest create-workspaces -t docker --no-db
expect_exit "no url" 2 "no Coder URL" env -u CODER_URL HOME=$T "$CS" scaletest create-workspaces -t docker --no-db --token-file "$TOKEN_FILE"
expect_exit "unreachable url" 3 "cannot reach Coder at http://127.0.0.1:1" st -t docker --url http://127.0.0.1:1
expect_exit "unreachable database" 3 "results database" "$CS" scaletest create-workspaces --token-file "$TOKEN_FILE" -t docker --db "host=/nonexistent dbname=x"
expect_exit "database without the extension" 4 "CREATE EXTENSION coder_scale" "$CS" scaletest create-workspaces --token-file "$TOKEN_FILE" -t docker --db "dbname=postgres"
expect_exit "empty template" 2 "--template: is empty" st -t ''
expect_exit "url without a host" 2 "--url: names no host" st -t docker --url http://
expect_exit "output in a missing directory" 2 "--output json:$T/nonexistent/f.json: No such file or directory" \
  st -t docker --output "json:$T/nonexistent/f.json"
check "output in a missing directory: nothing made" "" "$(ls "$T/nonexistent" 2>&1 | grep -v 'No such file' || true)"
expect_exit "output is a directory" 2 "--output text:$T: Is a directory" st -t docker --output "text:$T"
expect_exit "unreachable database: how to get one" 3 "source .pg/env" "$CS" scaletest create-workspaces --token-file "$TOKEN_FILE" -t docker --db "host=/nonexistent dbname=x"
grep -qF -- "--db CONNINFO" "$T/err" && echo "  ok - unreachable database: names --db" || { echo "  not ok - --db hint"; fails=$((fails+1)); }
expect_exit "refused token" 2 "session token was refused" env CODER_SESSION_TOKEN=wrong "$CS" scaletest create-workspaces -t docker --no-db

# nothing was created by any of them
check "no run rows" "0" "$(q 'SELECT count(*) FROM coder_scale.run')"
check "nothing on the server" "0 0" "$(leftovers)"

# --help on the command and its subcommands
rc=0; "$CS" scaletest --help >"$T/h" || rc=$?
check "scaletest --help exits 0" 0 $rc
grep -q -- "--cleanup-concurrency" "$T/h" && echo "  ok - help lists flags" || { echo "  not ok - help"; fails=$((fails+1)); }
rc=0; "$CS" scaletest cleanup --help >/dev/null || rc=$?
check "cleanup --help exits 0" 0 $rc

# the token never appears in output, logs or the database (a failing run logs the most)
tok=$(cat "$TOKEN_FILE")
CODER_SESSION_TOKEN=$tok "$CS" scaletest create-workspaces --db "dbname=$DB" -t docker -c 2 \
  --run-command "echo \$CODER_SESSION_TOKEN; exit 3" --run-expect-output nevermatches \
  --output text --output "json:$T/r.json" >"$T/out" 2>"$T/err" || true
check "failing run recorded" "2" "$(q 'SELECT count(*) FROM coder_scale.run_result WHERE outcome = '\''fail'\''')"
leak=0
grep -qF -- "$tok" "$T/out" "$T/err" "$T/r.json" && leak=1
[ "$(q "SELECT count(*) FROM coder_scale.run r JOIN coder_scale.run_result rr ON rr.run_id = r.id
        WHERE r::text LIKE '%$tok%' OR rr::text LIKE '%$tok%'")" = 0 ] || leak=1
check "token never shown or stored" 0 $leak
done_testing
