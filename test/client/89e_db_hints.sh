#!/usr/bin/env bash
# Every command that connects to the database says, when it cannot, how to
# get a connection: source .pg/env, --db CONNINFO, or the PG* variables.
source "$(dirname "$0")/8_scaletest_lib.inc"
si_start --build-time 0 --agent-delay 0
echo '{}' >"$T/f.json"
hint() {  # hint NAME ARGS...: exit 3 and both hints
  local name=$1 rc=0
  shift
  "$@" >"$T/out" 2>"$T/err" || rc=$?
  check "$name: exit 3" 3 $rc
  check "$name: says source .pg/env and --db" "yes yes" \
    "$(grep -qF "source .pg/env" "$T/err" && echo yes || echo no) $(grep -qF -- "--db CONNINFO" "$T/err" && echo yes || echo no)"
}
BAD="host=/nonexistent dbname=x"
hint "scaletest create-workspaces" "$CS" scaletest create-workspaces --token-file "$TOKEN_FILE" -t docker --db "$BAD"
hint "ingest" "$CS" ingest --db "$BAD" "$T/f.json"
hint "report" "$CS" report --db "$BAD"
hint "scrape" "$CS" scrape --db "$BAD" "coderd=$CODER_URL/api/v2/buildinfo" --for 1s
check "nothing created on the server" "0 0" "$(leftovers)"
done_testing
