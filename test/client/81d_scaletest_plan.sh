#!/usr/bin/env bash
# Before the test the driver plans the template as Coder's prepWorkspaceBuild
# does (coder/coder cli/create.go): a template version that cannot be planned
# stops the test before any user exists, with Coder's wording and exit 2;
# one that can is planned once, its logs followed over the websocket.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup

si_start --build-time 100ms --agent-delay 0 --fail-dry-run "terraform plan: injected failure"
rc=0
st -t docker -c 3 --label noplan >"$T/out" 2>"$T/err" || rc=$?
check "cannot be planned: exit 2" 2 $rc
check "cannot be planned: Coder's wording" 1 \
  "$(grep -c '^coder-scale: scaletest: prepare build: dry-run workspace: terraform plan: injected failure$' "$T/err")"
check "cannot be planned: what to do" 1 "$(grep -c 'fix the template or the --parameter values' "$T/err")"
check "cannot be planned: no user, no workspace" "0 0" "$(leftovers)"
check "cannot be planned: no run stored" 0 "$(q "SELECT count(*) FROM coder_scale.run")"
check "cannot be planned: stdout empty" "" "$(cat "$T/out")"

si_start --build-time 100ms --agent-delay 0
rc=0
st -t docker -c 2 --label plan >"$T/out" 2>"$T/err" || rc=$?
check "planned: exit 0" 0 $rc
check "planned: said on stderr" 1 "$(grep -c '^Planning workspace\.\.\.$' "$T/err")"
check "planned: the preview on stderr" 1 "$(grep -c '^Workspace Preview: [1-9][0-9]* resource(s), [1-9][0-9]* agent(s)$' "$T/err")"
check "planned: stdout holds only the results" "" "$(grep -E 'Planning|Preview' "$T/out")"
done_testing
