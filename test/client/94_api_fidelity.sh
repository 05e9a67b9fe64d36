#!/usr/bin/env bash
# API fidelity: the driver talks to coderd as Coder's own runner does.  A
# logging proxy (proxy/proxy.py) sits between `scaletest create-workspaces`
# (and `scaletest cleanup`) and the stand-in and records every exchange; the
# validator (proxy/validate.py) then checks each request and each answer
# against Coder's swagger.json (data/coder-swagger.json), which of Coder's
# clients made each request (its token, and X-Coder-Bypass-Ratelimit: true
# exactly from the owner's runner client), and the requests per endpoint per
# workspace against TABLE below: what Coder's runner makes for the same
# flags, read from Coder's code, file and function beside each row.
# Four runs: plain (with --run-command), --use-host-login, --retry 1 with
# injected build failures, --no-cleanup followed by `scaletest cleanup`; each
# is made again by proxy/coder_like.py, which makes the requests of Coder's
# runner itself, and must pass the same rows (the table asks no more than
# Coder does).  proxy/selftest.py checks the proxy and the validator first.
source "$(dirname "$0")/lib.inc"   # and listen.inc: the stand-in and the proxy bind port 0, read back
PROXY=$HERE/proxy/proxy.py
VALIDATE=$HERE/proxy/validate.py
SWAGGER=$HERE/data/coder-swagger.json

# The requests of Coder's runner, per scenario.  Columns: scenarios | METHOD
# (WS: a websocket) | path template (swagger.json, basePath /api/v2) | client
# | scope | expected | Coder file: function (coder/coder).  Clients, from
# cli/exp_scaletest.go and scaletest/: owner-setup is the owner's client of
# cli/root.go InitClient, which sends no bypass header; owner is the runner
# client loadtestutil.DupClientCopyingHeaders(client, BypassHeader) (and
# scaletestCleanup's client once it gets the BypassRatelimitHeader
# transport), which sends X-Coder-Bypass-Ratelimit: true; member is a new
# user's client (codersdk.New with the login's token), none the login's
# client without a token.  Scope: run (the whole run) or workspace (each
# workspace).  Expected: N, LO..HI, or an expression over what the run
# shows (validate.py quantities and run_quantities):
#   builds      builds made for the workspace (start, retries, delete)
#   build_gets  what waitForBuild GETs for them: per build the answers that
#               said pending (one each 500 ms), the first that did not, and
#               one after the logs websocket closed.  The stand-in starts a
#               build at once (40 daemons, no queue) and runs it 1 s, so
#               this is 2 per build; a driver that polls to the end makes 3
#   ok          1 when the start build Coder ends with succeeded
#   agent_gets  what waitForAgents GETs (every 1 s): the answers whose
#               agents were not all connected and the first where they
#               were; --agent-delay 0 makes it 1
#   retries     start builds after failed ones, at most --retry
#   dry_run_s   the seconds the template dry run took: cli/cliui
#               provisionerjob.go ProvisionerJob GETs its job on a 1 s
#               ticker while the logs stream, so 0 to that many in between
#   ws_pages, user_pages   pages of 100 until an empty one: ceil(n / 100) + 1
#   count, retry           --count and --retry of the run (--var)
#   dry_run     1; 0 only for the reference client (proxy/coder_like.py)
#               when the stand-in refused the dry run (Coder would stop
#               there; the reference goes on, to compare the runs)
TABLE=$T/table
cat >"$TABLE" <<'EOF'
# before the test (cli/exp_scaletest.go scaletestCreateWorkspaces, in order)
plain,hostlogin,retry,nocleanup | GET  | /buildinfo | none | run | 0..1 | cli/root.go createHTTPClient: wrapTransportWithVersionMismatchCheck, once, only when the server's version header differs from the CLI's (a client without token)
plain,hostlogin,retry,nocleanup | GET  | /users/me | owner-setup | run | 1 | cli/exp_scaletest.go requireAdmin: client.User(ctx, codersdk.Me)
plain,hostlogin,retry,nocleanup | GET  | /organizations/{organization}/templates | owner-setup | run | 1 | cli/exp_scaletest.go parseTemplate: a name is looked up by listing each organization's templates (TemplatesByOrganization; the stand-in has one organization)
plain,hostlogin,retry,nocleanup | GET  | /templateversions/{templateversion} | owner-setup | run | 1 | cli/create.go prepWorkspaceBuild: client.TemplateVersion
plain,hostlogin,retry,nocleanup | GET  | /templateversions/{templateversion}/rich-parameters | owner-setup | run | 1 | cli/create.go prepWorkspaceBuild: TemplateVersionRichParameters
plain,hostlogin,retry,nocleanup | GET  | /templateversions/{templateversion}/external-auth | owner-setup | run | 1 | cli/create.go prepWorkspaceBuild -> cli/cliui/externalauth.go ExternalAuth: one fetch when none is required
plain,hostlogin,retry,nocleanup | POST | /templateversions/{templateversion}/dry-run | owner-setup | run | 1 | cli/create.go prepWorkspaceBuild: CreateTemplateVersionDryRun
plain,hostlogin,retry,nocleanup | GET  | /templateversions/{templateversion}/dry-run/{jobID}/matched-provisioners | owner-setup | run | dry_run | cli/create.go prepWorkspaceBuild: TemplateVersionDryRunMatchedProvisioners
plain,hostlogin,retry,nocleanup | GET  | /templateversions/{templateversion}/dry-run/{jobID} | owner-setup | run | 2*dry_run..(2+dry_run_s)*dry_run | cli/cliui/provisionerjob.go ProvisionerJob: Fetch before the logs, on its 1 s ticker while they stream, once after they close
plain,hostlogin,retry,nocleanup | WS   | /templateversions/{templateversion}/dry-run/{jobID}/logs | owner-setup | run | dry_run | cli/cliui/provisionerjob.go ProvisionerJob: Logs = codersdk TemplateVersionDryRunLogsAfter (?follow)
plain,hostlogin,retry,nocleanup | GET  | /templateversions/{templateversion}/dry-run/{jobID}/resources | owner-setup | run | dry_run | cli/create.go prepWorkspaceBuild: TemplateVersionDryRunResources
# a user per run (scaletest/createworkspaces/run.go Runner.Run)
plain,retry,nocleanup | POST   | /users | owner | workspace | 1 | scaletest/createusers/run.go Runner.RunReturningUser: CreateUserWithOrgs on the runner client
plain,retry,nocleanup | POST   | /users/login | none | workspace | 1 | scaletest/createusers/run.go Runner.RunReturningUser: LoginWithPassword on codersdk.New(r.client.URL)
hostlogin             | GET    | /users/me | owner | run | count | scaletest/createworkspaces/run.go Runner.Run: "Using existing user session token", client.User(ctx, "me") per run
# the workspace (scaletest/workspacebuild/run.go), with the member's client (the owner's under --use-host-login)
plain,retry,nocleanup | POST   | /users/{user}/workspaces | member | workspace | 1 | scaletest/workspacebuild/run.go Runner.RunReturningWorkspace: CreateWorkspace = codersdk/organizations.go CreateUserWorkspace
hostlogin             | POST   | /users/{user}/workspaces | owner  | workspace | 1 | scaletest/workspacebuild/run.go Runner.RunReturningWorkspace: CreateWorkspace = codersdk/organizations.go CreateUserWorkspace
plain,retry           | GET    | /workspacebuilds/{workspacebuild} | member | workspace | build_gets + 1 | scaletest/workspacebuild/run.go waitForBuild (every build) and CleanupRunner.Run (the latest build, once)
nocleanup             | GET    | /workspacebuilds/{workspacebuild} | member | workspace | build_gets | scaletest/workspacebuild/run.go waitForBuild
hostlogin             | GET    | /workspacebuilds/{workspacebuild} | owner  | workspace | build_gets + 1 | scaletest/workspacebuild/run.go waitForBuild and CleanupRunner.Run
plain,retry,nocleanup | WS     | /workspacebuilds/{workspacebuild}/logs | member | workspace | builds | scaletest/workspacebuild/run.go waitForBuild: WorkspaceBuildLogsAfter (?follow) to its close, once per build
hostlogin             | WS     | /workspacebuilds/{workspacebuild}/logs | owner  | workspace | builds | scaletest/workspacebuild/run.go waitForBuild: WorkspaceBuildLogsAfter
plain,retry           | GET    | /workspaces/{workspace} | member | workspace | agent_gets + ok + 1 | scaletest/workspacebuild/run.go waitForAgents; scaletest/createworkspaces/run.go Runner.Run ("get full workspace info"); CleanupRunner.Run
nocleanup             | GET    | /workspaces/{workspace} | member | workspace | agent_gets + ok | scaletest/workspacebuild/run.go waitForAgents; scaletest/createworkspaces/run.go Runner.Run ("get full workspace info")
hostlogin             | GET    | /workspaces/{workspace} | owner  | workspace | agent_gets + ok + 1 | waitForAgents; createworkspaces Runner.Run; CleanupRunner.Run
plain                 | WS     | /workspaceagents/{workspaceagent}/pty | member | workspace | ok | scaletest/reconnectingpty/run.go Runner.Run: workspacesdk AgentReconnectingPTY (--run-command)
hostlogin             | WS     | /workspaceagents/{workspaceagent}/pty | owner  | workspace | ok | scaletest/reconnectingpty/run.go Runner.Run: workspacesdk AgentReconnectingPTY
plain,retry           | POST   | /workspaces/{workspace}/builds | member | workspace | retries + 1 | scaletest/workspacebuild/run.go Runner.RunReturningWorkspace (a start build per retry) and CleanupRunner.Run (the delete build)
nocleanup             | POST   | /workspaces/{workspace}/builds | member | workspace | retries | scaletest/workspacebuild/run.go Runner.RunReturningWorkspace (a start build per retry)
hostlogin             | POST   | /workspaces/{workspace}/builds | owner  | workspace | retries + 1 | Runner.RunReturningWorkspace and CleanupRunner.Run
plain,retry           | DELETE | /users/{user} | owner | workspace | 1 | scaletest/createusers/run.go Runner.Cleanup: DeleteUser on the runner client
# scaletest cleanup (cli/exp_scaletest.go scaletestCleanup)
cleanup | GET    | /buildinfo | none | run | 0..1 | cli/root.go createHTTPClient: wrapTransportWithVersionMismatchCheck, as above
cleanup | GET    | /users/me | owner-setup | run | 1 | cli/exp_scaletest.go scaletestCleanup: requireAdmin, before client.HTTPClient gets the BypassRatelimitHeader
cleanup | GET    | /users/me | owner | run | 1 | cli/exp_scaletest.go getScaletestWorkspaces: client.User(ctx, codersdk.Me)
cleanup | GET    | /deployment/config | owner | run | 1 | cli/exp_scaletest.go getScaletestWorkspaces: client.DeploymentConfig
cleanup | GET    | /workspaces | owner | run | ws_pages | cli/exp_scaletest.go getScaletestWorkspaces: name:"scaletest-", pages of 100 until an empty one
cleanup | GET    | /workspaces/{workspace} | owner | workspace | 1 | scaletest/workspacebuild/run.go CleanupRunner.Run: client.Workspace
cleanup | GET    | /workspacebuilds/{workspacebuild} | owner | workspace | build_gets + 1 | scaletest/workspacebuild/run.go CleanupRunner.Run (the latest build) and waitForBuild (the delete build)
cleanup | POST   | /workspaces/{workspace}/builds | owner | workspace | 1 | scaletest/workspacebuild/run.go CleanupRunner.Run: the delete build
cleanup | WS     | /workspacebuilds/{workspacebuild}/logs | owner | workspace | builds | scaletest/workspacebuild/run.go waitForBuild: WorkspaceBuildLogsAfter
cleanup | GET    | /users | owner | run | user_pages | cli/exp_scaletest.go getScaletestUsers: q=scaletest-, pages of 100 until an empty one
cleanup | DELETE | /users/{user} | owner | workspace | 1 | cli/exp_scaletest.go userCleanupRunner.Run: DeleteUser
EOF

# tap FILE: the validator's lines as this test's numbered checks
tap() {
  local line
  while IFS= read -r line; do
    case $line in
      "ok - "*) ok "${line#ok - }" ;;
      "not ok - "*) n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - ${line#not ok - }" ;;
      *) echo "$line" ;;
    esac
  done <"$1"
}

# si_up NAME FLAGS...: a stand-in of its own; sets SI_URL and SI_TOKEN (a file)
si_up() {
  local name=$1; shift
  if ! standin_launch "$T/$name.si.out" "$T/$name.si.err" "$STANDIN" --listen 127.0.0.1:0 \
      --token-file "$T/$name.token" --seed 42 "$@"; then
    sed 's/^/# /' "$T/$name.si.err"; echo "Bail out! the stand-in $name did not start"; exit 1
  fi
  PIDS+=("$LAUNCH_PID")
  SI_URL=$LAUNCH_URL SI_TOKEN=$T/$name.token SI_PID=$LAUNCH_PID SI_NAME=$name
}

# si_alive WHAT: the stand-in is still up after WHAT (else the counts would mislead)
si_alive() {
  kill -0 "$SI_PID" 2>/dev/null && return 0
  local rc=0; wait "$SI_PID" || rc=$?
  not_ok "$1: the stand-in $SI_NAME is still up" "it exited ($rc) during the run; $(tail -n 2 "$T/$SI_NAME.si.err")"
}

# px_up NAME: the proxy in front of SI_URL, recording to $T/NAME.jsonl; sets PX_URL and PX_PID
px_up() {
  python3 "$PROXY" --upstream "$SI_URL" --port-file "$T/$1.port" --record "$T/$1.jsonl" 2>"$T/$1.px.err" &
  PX_PID=$!
  PIDS+=("$PX_PID")
  if ! wait_until test -s "$T/$1.port"; then
    sed 's/^/# /' "$T/$1.px.err"; echo "Bail out! the proxy for $1 did not start"; exit 1
  fi
  PX_URL=http://127.0.0.1:$(cat "$T/$1.port")
}

# px_down: stop the proxy; it records what is still open, then exits
px_down() { kill -TERM "$PX_PID"; wait "$PX_PID"; }

# validate RECORD SCENARIO LABEL VARS...: record RECORD against swagger.json and the rows of SCENARIO
validate() {
  local rec=$1 scen=$2 label=$3; shift 3
  python3 "$VALIDATE" --swagger "$SWAGGER" --record "$T/$rec.jsonl" --owner-token-file "$SI_TOKEN" \
    --table "$TABLE" --scenario "$scen" --label "$label" "$@" >"$T/$rec.check" 2>&1
  local rc=$?
  tap "$T/$rec.check"
  [ $rc -le 1 ] || not_ok "$label: the validator ran (exit $rc)" "$(tail -n 3 "$T/$rec.check")"
}

# drive NAME WANT ARGS...: create-workspaces through a new proxy, exit WANT (a list), then validate
drive() {
  local name=$1 want=$2 rc=0; shift 2
  px_up "$name"
  "$CS" scaletest create-workspaces --url "$PX_URL" --token-file "$SI_TOKEN" --no-db -t docker "$@" \
    >"$T/$name.out" 2>"$T/$name.err" || rc=$?
  px_down
  si_alive "$name"
  case " $want " in
    *" $rc "*) ok "$name: create-workspaces $* exits $rc" ;;
    *) not_ok "$name: create-workspaces $* exits $want" "exit $rc" "$(tail -n 3 "$T/$name.err")" ;;
  esac
  validate "$name" "$name" "$name" --var dry_run=1 --var count="$(count_of "$@")" --var retry="$(retry_of "$@")"
}

# reference NAME WANT ARGS...: the same with proxy/coder_like.py, which makes
# Coder's requests: every row must hold for it too (the table is Coder's)
reference() {
  local name=$1 want=$2 rc=0 dry=1; shift 2
  px_up "ref-$name"
  python3 "$HERE/proxy/coder_like.py" create --url "$PX_URL" --token-file "$SI_TOKEN" "$@" \
    >"$T/ref-$name.out" 2>"$T/ref-$name.err" || rc=$?
  px_down
  si_alive "reference $name"
  case " $want " in
    *" $rc "*) ok "reference $name: coder_like.py create $* exits $rc" ;;
    *) not_ok "reference $name: coder_like.py create $* exits $want" "exit $rc" "$(tail -n 3 "$T/ref-$name.err")" ;;
  esac
  if grep -q '^coder_like.py: no dry run' "$T/ref-$name.err"; then
    dry=0; echo "# reference $name: $(grep '^coder_like.py: no dry run' "$T/ref-$name.err")"
  fi
  validate "ref-$name" "$name" "reference $name" --var dry_run=$dry --var count="$(count_of "$@")" \
    --var retry="$(retry_of "$@")"
}

# count_of ARGS..., retry_of ARGS...: the --count (-c) and --retry of a command line
count_of() { local v=1; while [ $# -gt 0 ]; do case $1 in -c|--count) v=$2; shift ;; esac; shift; done; echo "$v"; }
retry_of() { local v=0; while [ $# -gt 0 ]; do case $1 in --retry) v=$2; shift ;; esac; shift; done; echo "$v"; }

# cleanup_run NAME CMD...: scaletest cleanup (or the reference's) through a new proxy, then validate
cleanup_run() {
  local name=$1 rc=0; shift
  px_up "$name"
  "$@" "$PX_URL" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
  px_down
  si_alive "$name"
  check "$name: cleanup exits 0 (exit $rc)" test $rc -eq 0
  validate "$name" cleanup "$name"
}

# the proxy and the validator themselves
python3 "$HERE/proxy/selftest.py" proxy "$SWAGGER" >"$T/selftest.proxy" 2>&1 || true
tap "$T/selftest.proxy"
python3 "$HERE/proxy/selftest.py" validator "$SWAGGER" >"$T/selftest.validator" 2>&1 || true
tap "$T/selftest.validator"
check "data/coder-swagger.json is Coder's swagger.json, unchanged (sha256 of ../shared/coder-api/README.md)" \
  bash -c "sha256sum '$SWAGGER' | grep -q '^f21e79df4bfcb906518a4d1329ab8b2ee138f28453ceccc3e51bd7c8cdddfeb3 '"

# Builds start at once (40 daemons: no queue) and take 1 s; agents connect at once
si_up a --build-time 1s --agent-delay 0 --daemons 40
drive plain 0 -c 10 --concurrency 0 --cleanup-concurrency 0 --run-command "echo fidelity" --run-expect-output fidelity
reference plain 0 --count 4 --run-command "echo fidelity"
drive hostlogin 0 -c 5 --concurrency 0 --cleanup-concurrency 0 --use-host-login --run-command "echo fidelity"
reference hostlogin 0 --count 3 --use-host-login --run-command "echo fidelity"
drive nocleanup 0 -c 10 --concurrency 0 --no-cleanup
cleanup_run cleanup "$CS" scaletest cleanup --token-file "$SI_TOKEN" --cleanup-concurrency 0 --url
reference nocleanup 0 --count 4 --no-cleanup
cleanup_run ref-cleanup python3 "$HERE/proxy/coder_like.py" cleanup --token-file "$SI_TOKEN" --url
# codersdk quotes the name (WorkspaceFilter.asRequestOption, name:%q); coderd's
# searchquery (splitQueryParameterByDelimiter) strips the quotes again
check "ref-cleanup: GET /workspaces?q=name:\"scaletest-\" lists the 4 workspaces left, as coderd's searchquery would" \
  python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("method") == "GET" and r.get("path") == "/api/v2/workspaces":
        sys.exit(0 if len((r.get("response_body") or {}).get("workspaces") or []) == 4 else 1)
sys.exit(1)' "$T/ref-cleanup.jsonl"

# --retry 1 with half the builds failing: some runs retry, some fail twice (exit 1)
si_up b --build-time 1s --agent-delay 0 --daemons 40 --fail-build 0.5
drive retry "0 1" -c 10 --concurrency 0 --cleanup-concurrency 0 --retry 1
check "retry: some start builds were retried (the run tests --retry)" python3 -c '
import json, sys
n = sum(1 for l in open(sys.argv[1]) for r in [json.loads(l)]
        if r.get("method") == "POST" and r.get("path", "").endswith("/builds")
        and isinstance(r.get("request_body"), dict) and r["request_body"].get("transition") == "start")
sys.exit(0 if n else 1)' "$T/retry.jsonl"
reference retry "0 1" --count 6 --retry 1

echo "1..$n"
[ "$fails" -eq 0 ]
