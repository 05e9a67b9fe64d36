#!/usr/bin/env bash
# Regenerates docs/standin-api.md: starts the stand-in on a free loopback port,
# calls every endpoint it implements with curl (and the two websockets with
# test/client/standin/wsclient.py), and writes each real request and its
# real response (long arrays trimmed) as Markdown.
#   bash standin/tools/capture-api.sh > docs/standin-api.md
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=$ROOT/standin/coder-standin
WSC=$ROOT/test/client/standin/wsclient.py
TOKEN=doc-owner-token-0001
source "$ROOT/test/client/listen.inc"   # standin_launch: port 0, the URL read back
standin_launch /dev/null /dev/null "$BIN" --listen 127.0.0.1:0 --token $TOKEN --replicas 1 --daemons 1 \
  --build-time 1s --agent-delay 500ms --seed 7 || { echo "the stand-in did not start" >&2; exit 1; }
PID=$LAUNCH_PID
URL=$LAUNCH_URL
PORT=${URL##*:}
trap 'kill $PID 2>/dev/null || true' EXIT

# show TITLE METHOD PATH [BODY] [TOKEN|-] [HEADER]: print the request and the trimmed response
show() {
  local title=$1 method=$2 path=$3 body=${4:-} tok=${5:-$TOKEN} hdr=${6:-}
  local shown_tok='$CODER_SESSION_TOKEN' args=(-s -i -X "$method")
  [ "$tok" != "$TOKEN" ] && shown_tok='$USER_TOKEN'
  [ "$tok" != - ] && args+=(-H "Coder-Session-Token: $tok")
  [ -n "$hdr" ] && args+=(-H "$hdr")
  printf '\n### %s\n\n```\n$ curl -s -i -X %s "$CODER_URL%s"' "$title" "$method" "$path"
  [ "$tok" != - ] && printf " \\\\\n    -H \"Coder-Session-Token: %s\"" "$shown_tok"
  [ -n "$hdr" ] && printf " \\\\\n    -H '%s'" "$hdr"
  [ -n "$body" ] && printf " \\\\\n    -d '%s'" "$body"
  printf '\n'
  [ -n "$body" ] && args+=(-d "$body")
  curl "${args[@]}" "$URL$path" | python3 "$HERE/trim.py" 1
  printf '```\n'
}
jget() { curl -s -H "Coder-Session-Token: ${3:-$TOKEN}" "$URL$1" | python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d'+sys.argv[1]))" "$2"; }

cat <<'HDR'
# The stand-in's API, request by request

Every block below is a real request to `standin/coder-standin` and its real
response, captured by `bash standin/tools/capture-api.sh > docs/standin-api.md`
(arrays longer than one item are cut to the first item plus a `"... N more"`
marker; everything else is verbatim). The server ran with
`--replicas 1 --daemons 1 --build-time 1s --agent-delay 500ms` and coderd's default rate
limits; the websocket blocks print each text message's payload and a newline (so a log
line's own newline shows as a blank line after it).

What to rely on (all from `../shared/coder-api/swagger.json`, base path `/api/v2`):

- Auth: header `Coder-Session-Token: <token>`; the cookie `coder_session_token`
  and the query parameter `coder_session_token` are accepted too (websockets).
  Missing or unknown token: **401** with `{"message", "detail"}`.
- Errors are always `{"message": ..., "detail": ...}` (detail may be absent) and,
  for field problems, `"validations": [{"field", "detail"}]` (codersdk.Response).
  Unknown id: **404** `Resource not found or you do not have access to this resource`;
  malformed UUID in the path: **400** `Invalid UUID "..."`; body not JSON: **400**
  `Request body must be valid JSON.`; missing required field: **400** `Validation failed.`
- Status codes: `POST /users` 201, `POST /users/login` 201, **`POST /users/{user}/workspaces`
  201 and `POST /workspaces/{workspace}/builds` 201**: swagger.json says 200 for
  these two, but coderd answers 201 Created and Coder's Go SDK (codersdk) insists on
  201; a client should accept any 2xx. `DELETE /users/{user}` 200.
  A build while another is active: 409. Deleting a user who still has workspaces: 417.
- Job status: `pending` -> `running` -> `succeeded` | `failed`; cancel: `pending` ->
  `canceled` at once, `running` -> `canceling` -> `canceled` (within 100 ms).
  `queue_position` is 1-based among pending jobs (0 once picked up), `queue_size` is
  the number of pending jobs (0 once picked up). At most replicas x daemons jobs run.
- Times are RFC 3339 UTC with up to microseconds. `started_at`, `completed_at`,
  `canceled_at`, `error`, `worker_id`, `first_connected_at` are left out until they
  exist (coderd's `omitempty`); `deadline`, `max_deadline` and friends are `null`.
- Resources and agents appear in `latest_build.resources[].agents[]` when a start
  build succeeds; agent `status` is `connecting`, then `connected` after
  `--agent-delay` (or `timeout` after `--agent-timeout` with `--fail-agent`).
- The reconnecting PTY: `GET /workspaceagents/{agent}/pty?reconnect=UUID&width=80&height=24&command=CMD`
  as a websocket; the server sends raw terminal bytes as **binary** messages; the
  client sends JSON `{"data": "...", "height": H, "width": W}` (text or binary
  frames); the server closes with 1000 when the command exits. An agent that is
  not connected: 400 before the upgrade. `--fail-pty`: the upgrade succeeds and
  the server closes at once with 1011 `dial workspace agent: ...`, as coderd does
  when it cannot reach the agent. Each connection runs a fresh command (the
  reconnect id is accepted but nothing is replayed).
- Build logs (coderd/provisionerjobs.go): `GET /workspacebuilds/{id}/logs` is a JSON
  array of the lines after `?after` (an id; `?before` is not read, as in coderd). With
  `?follow` it is a websocket: the lines after `?after`, then each new one as the build
  writes it, each as one **text** message holding one `ProvisionerJobLog` JSON object
  (fields in Go's order) and a newline, as coderd's `wsjson` encoder writes it; when the
  job is over (succeeded, failed, canceled) the server closes with **1000 "done"**, at
  once if it already was. An upgrade without `?follow` gets the JSON array with 200, a
  plain GET with `?follow` a 400, as coderd. A build writes its lines over its duration
  (stages `Setting up`, `Planning infrastructure`, `Starting workspace` / `Stopping
  workspace` / `Destroying workspace`, `Cleaning Up`); a failed build ends with an
  `error` line saying `job.error`. Template dry runs' logs work the same way.
- Rate limits (coderd/httpmw/ratelimit.go): every `/api/v2` request counts, 512 a minute
  per user (per IP without a valid token) and path; over it **429**
  `{"message":"You've been rate limited for sending more than 512 requests in 1m0s."}`
  with `Retry-After: 60`; `POST /users/login` also 60 a minute per IP. Responses carry
  `X-RateLimit-Limit`, `-Remaining`, `-Reset`. `X-Coder-Bypass-Ratelimit: true` lifts the
  limit for the owner and is refused for anyone else with **428** in plain text.
- Search (`?q=`, coderd/searchquery): `owner:"X" name:"Z" template:"Y" status:S` for
  workspaces (name a substring, without case; a bare word is a name), a bare word for
  users (a substring of username or e-mail); a malformed or unknown term is a 400.
HDR

echo
echo '## General'
show 'GET /buildinfo (no auth needed)' GET /api/v2/buildinfo '' -
show 'GET /users/me' GET /api/v2/users/me
show 'GET /organizations' GET /api/v2/organizations
show 'GET /organizations/{organization} (id, name, or "default")' GET /api/v2/organizations/default

echo
echo '## Templates'
show 'GET /organizations/{organization}/templates/{templatename}' GET /api/v2/organizations/default/templates/docker
TID=$(jget /api/v2/organizations/default/templates/docker '["id"]')
TVID=$(jget /api/v2/organizations/default/templates/docker '["active_version_id"]')
show 'GET /templates' GET /api/v2/templates
show 'GET /templates/{template}' GET "/api/v2/templates/$TID"
show 'GET /templateversions/{templateversion}' GET "/api/v2/templateversions/$TVID"
show 'GET /templateversions/{templateversion}/rich-parameters' GET "/api/v2/templateversions/$TVID/rich-parameters"
show 'GET /templateversions/{templateversion}/external-auth' GET "/api/v2/templateversions/$TVID/external-auth"

echo
echo '## Template dry run'
show 'POST /templateversions/{templateversion}/dry-run (CreateTemplateVersionDryRunRequest -> ProvisionerJob, 201)' \
  POST "/api/v2/templateversions/$TVID/dry-run" '{"workspace_name":"scaletest"}'
DRY=$(curl -s -H "Coder-Session-Token: $TOKEN" "$URL/api/v2/templateversions/$TVID/dry-run" -d '{"workspace_name":"scaletest"}' \
  | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
echo
echo '### Websocket: GET /templateversions/{templateversion}/dry-run/{jobID}/logs?follow'
echo
echo '```'
echo '$ python3 test/client/standin/wsclient.py "ws://${CODER_URL#http://}/api/v2/templateversions/'"$TVID"'/dry-run/'"$DRY"'/logs?follow" --token "$CODER_SESSION_TOKEN"'
python3 "$WSC" "ws://127.0.0.1:$PORT/api/v2/templateversions/$TVID/dry-run/$DRY/logs?follow" --token "$TOKEN" 2>/tmp/wsc.$$
sed 's/^/(stderr) /' /tmp/wsc.$$
echo '```'
show 'GET /templateversions/{templateversion}/dry-run/{jobID}' GET "/api/v2/templateversions/$TVID/dry-run/$DRY"
show 'GET /templateversions/{templateversion}/dry-run/{jobID}/logs' GET "/api/v2/templateversions/$TVID/dry-run/$DRY/logs"
show 'GET /templateversions/{templateversion}/dry-run/{jobID}/resources' GET "/api/v2/templateversions/$TVID/dry-run/$DRY/resources"
show 'GET /templateversions/{templateversion}/dry-run/{jobID}/matched-provisioners' GET "/api/v2/templateversions/$TVID/dry-run/$DRY/matched-provisioners"
show 'PATCH /templateversions/{templateversion}/dry-run/{jobID}/cancel on a finished job (400)' PATCH "/api/v2/templateversions/$TVID/dry-run/$DRY/cancel"
show 'GET /templateversions/{templateversion}/dry-run/{jobID} with a malformed job id (400)' GET "/api/v2/templateversions/$TVID/dry-run/nope"

echo
echo '## Users'
show 'POST /users (CreateUserRequestWithOrgs -> User, 201)' POST /api/v2/users \
  '{"email":"k3x9q2ab-0@scaletest.local","username":"scaletest-k3x9q2ab-0","password":"Sc4le-test-pass!","login_type":"password"}'
UID1=$(jget '/api/v2/users?q=scaletest-k3x9q2ab-0' '["users"][0]["id"]')
show 'POST /users/login (LoginWithPasswordRequest -> LoginWithPasswordResponse, 201)' POST /api/v2/users/login \
  '{"email":"k3x9q2ab-0@scaletest.local","password":"Sc4le-test-pass!"}' -
UT=$(curl -s -X POST "$URL/api/v2/users/login" -d '{"email":"k3x9q2ab-0@scaletest.local","password":"Sc4le-test-pass!"}' \
  | python3 -c 'import json,sys;print(json.load(sys.stdin)["session_token"])')
show 'GET /users?q=... (cleanup search: bare words match username or email)' GET '/api/v2/users?q=scaletest.local&limit=50'
show 'GET /users/{user}' GET "/api/v2/users/$UID1"

echo
echo '## Workspaces and builds'
show 'POST /users/{user}/workspaces (CreateWorkspaceRequest -> Workspace, 201), as the new user' POST /api/v2/users/me/workspaces \
  "{\"template_id\":\"$TID\",\"name\":\"scaletest-k3x9q2ab-0\",\"rich_parameter_values\":[{\"name\":\"cpu\",\"value\":\"4\"}]}" "$UT"
WID=$(jget '/api/v2/workspaces?q=name:scaletest-k3x9q2ab-0' '["workspaces"][0]["id"]')
B1=$(jget "/api/v2/workspaces/$WID" '["latest_build"]["id"]')
show 'POST /organizations/{organization}/members/{user}/workspaces (deprecated twin; same answer) - a second build waits in the queue' \
  POST "/api/v2/organizations/default/members/me/workspaces" "{\"template_id\":\"$TID\",\"name\":\"scaletest-k3x9q2ab-1\"}" "$UT"
W2=$(jget '/api/v2/workspaces?q=name:scaletest-k3x9q2ab-1' '["workspaces"][0]["id"]')
B2=$(jget "/api/v2/workspaces/$W2" '["latest_build"]["id"]')
show 'GET /workspacebuilds/{workspacebuild} while pending (queue_position 1 of 1)' GET "/api/v2/workspacebuilds/$B2" '' "$UT"
sleep 1.7
show 'GET /workspacebuilds/{workspacebuild} once succeeded (agent connected)' GET "/api/v2/workspacebuilds/$B1" '' "$UT"
show 'GET /workspaces/{workspace}' GET "/api/v2/workspaces/$W2" '' "$UT"
show 'GET /workspaces?q=owner:"..." name:"scaletest-" (as codersdk.WorkspaceFilter encodes it; WorkspacesResponse)' \
  GET '/api/v2/workspaces?limit=100&offset=0&q=owner%3A%22scaletest-k3x9q2ab-0%22+name%3A%22scaletest-%22'
show 'GET /workspaces?q=... with a key coderd does not know (400)' GET '/api/v2/workspaces?q=flavor%3Avanilla'
show 'GET /users/{user}/workspace/{workspacename}' GET "/api/v2/users/scaletest-k3x9q2ab-0/workspace/scaletest-k3x9q2ab-0"
show 'GET /workspacebuilds/{workspacebuild}/logs' GET "/api/v2/workspacebuilds/$B1/logs" '' "$UT"
AG=$(jget "/api/v2/workspaces/$WID" '["latest_build"]["resources"][0]["agents"][0]["id"]')
show 'GET /workspaceagents/{workspaceagent}' GET "/api/v2/workspaceagents/$AG" '' "$UT"

echo
echo '### Websocket: GET /workspaceagents/{workspaceagent}/pty'
echo
echo '```'
echo '$ python3 test/client/standin/wsclient.py "ws://${CODER_URL#http://}/api/v2/workspaceagents/'"$AG"'/pty?reconnect=0f7c9b8e-3d2a-4c1b-9e8f-7a6b5c4d3e2f&width=80&height=24&command=echo%20hello" --token "$USER_TOKEN" | od -c'
python3 "$WSC" "ws://127.0.0.1:$PORT/api/v2/workspaceagents/$AG/pty?reconnect=0f7c9b8e-3d2a-4c1b-9e8f-7a6b5c4d3e2f&width=80&height=24&command=echo%20hello" --token "$UT" 2>/tmp/wsc.$$ | od -c
sed 's/^/(stderr) /' /tmp/wsc.$$
echo '```'
echo
echo '### Websocket: GET /workspacebuilds/{workspacebuild}/logs?follow'
echo
echo '```'
echo '$ python3 test/client/standin/wsclient.py "ws://${CODER_URL#http://}/api/v2/workspacebuilds/'"$B1"'/logs?follow" --token "$USER_TOKEN"'
python3 "$WSC" "ws://127.0.0.1:$PORT/api/v2/workspacebuilds/$B1/logs?follow" --token "$UT" 2>/tmp/wsc.$$
sed 's/^/(stderr) /' /tmp/wsc.$$
rm -f /tmp/wsc.$$
echo '```'

echo
echo '## Cleanup'
show 'POST /workspaces/{workspace}/builds {"transition":"delete"} (-> WorkspaceBuild, 201)' POST "/api/v2/workspaces/$WID/builds" '{"transition":"delete"}' "$UT"
DB=$(jget "/api/v2/workspaces/$WID" '["latest_build"]["id"]' "$UT")
show 'POST /workspaces/{workspace}/builds again while the delete is active (409)' POST "/api/v2/workspaces/$WID/builds" '{"transition":"delete"}' "$UT"
show 'PATCH /workspacebuilds/{workspacebuild}/cancel (running -> canceling)' PATCH "/api/v2/workspacebuilds/$DB/cancel" '' "$UT"
sleep 0.3
show 'PATCH /workspacebuilds/{workspacebuild}/cancel on a finished job (400)' PATCH "/api/v2/workspacebuilds/$DB/cancel" '' "$UT"
curl -s -o /dev/null -H "Coder-Session-Token: $UT" -X POST "$URL/api/v2/workspaces/$WID/builds" -d '{"transition":"delete"}'
show 'DELETE /users/{user} while the user still has workspaces (417)' DELETE "/api/v2/users/$UID1"
sleep 1.3
curl -s -o /dev/null -H "Coder-Session-Token: $UT" -X POST "$URL/api/v2/workspaces/$W2/builds" -d '{"transition":"delete"}'
show 'GET /workspaces/{workspace} after the delete build succeeded (404)' GET "/api/v2/workspaces/$WID" '' "$UT"
sleep 1.2
show 'DELETE /users/{user}' DELETE "/api/v2/users/$UID1"

echo
echo "## The stand-in's own: test holds (not Coder's API)"
cat <<'TXT'

For tests that must see a state a timer would otherwise end. While builds are held no job
finishes (a job whose build time is up stays `running`; cancels still go through); while agents
are held no agent connects (`--fail-agent` timeouts still happen). Letting go finishes or connects
at once what fell due meanwhile, the rest at their own time. Owner only (403 otherwise); a field
left out keeps its value; anything but `true` or `false` is a 400.
TXT
show 'PUT /standin/hold {"builds": true}' PUT /api/v2/standin/hold '{"builds":true}'
curl -s -o /dev/null -H "Coder-Session-Token: $TOKEN" -X POST "$URL/api/v2/users/me/workspaces" \
  -d "{\"template_id\":\"$TID\",\"name\":\"held-demo\"}"
sleep 1.2   # past its 1 s build time: held
show 'GET /standin/hold (one build past its time, held)' GET /api/v2/standin/hold
show 'PUT /standin/hold {"builds": false} (the held build finishes now)' PUT /api/v2/standin/hold '{"builds":false}'
show 'PUT /standin/hold with a non-boolean (400)' PUT /api/v2/standin/hold '{"agents":"yes"}'

echo
echo '## Deployment config'
show 'GET /deployment/config (DeploymentConfig; owner only)' GET /api/v2/deployment/config

echo
echo '## Rate limits'
cat <<'TXT'

The headers are shown here only (every `/api/v2` answer carries them). A member with the
owner's bypass header, then the same member without it:
TXT
curl -s -o /dev/null -H "Coder-Session-Token: $TOKEN" "$URL/api/v2/users" \
  -d '{"email":"r7t2m9qd@scaletest.local","username":"scaletest-r7t2m9qd","password":"Sc4le-test-pass!","login_type":"password"}'
UT=$(curl -s -X POST "$URL/api/v2/users/login" -d '{"email":"r7t2m9qd@scaletest.local","password":"Sc4le-test-pass!"}' \
  | python3 -c 'import json,sys;print(json.load(sys.stdin)["session_token"])')
export SHOW_RATE=1
show 'GET /users/me with X-Coder-Bypass-Ratelimit: true as a member (428, plain text)' GET /api/v2/users/me '' "$UT" \
  'X-Coder-Bypass-Ratelimit: true'
show 'GET /users/me as the same member (counted)' GET /api/v2/users/me '' "$UT"
show 'GET /users/me with X-Coder-Bypass-Ratelimit: true as the owner (not limited: a fresh key each time)' GET /api/v2/users/me '' \
  "$TOKEN" 'X-Coder-Bypass-Ratelimit: true'
standin_launch /dev/null /dev/null "$BIN" --listen 127.0.0.1:0 --token $TOKEN --api-rate-limit 2 \
  || { echo "the second stand-in did not start" >&2; exit 1; }
PID2=$LAUNCH_PID
trap 'kill $PID $PID2 2>/dev/null || true' EXIT
URL_MAIN=$URL
URL=$LAUNCH_URL
cat <<'TXT'

A second stand-in with `--api-rate-limit 2`: the third request to one path in a minute.
TXT
curl -s -o /dev/null -H "Coder-Session-Token: $TOKEN" "$URL/api/v2/users/me"
curl -s -o /dev/null -H "Coder-Session-Token: $TOKEN" "$URL/api/v2/users/me"
show 'GET /users/me over the limit (429)' GET /api/v2/users/me
URL=$URL_MAIN
unset SHOW_RATE

echo
echo '## Errors'
show 'No token (401)' GET /api/v2/users/me '' -
show 'Unknown token (401)' GET /api/v2/users/me '' not-a-valid-token
show 'Unknown id (404)' GET /api/v2/workspacebuilds/00000000-0000-4000-8000-000000000000
show 'Malformed UUID (400)' GET /api/v2/workspaces/nope
show 'Body that is not JSON (400)' POST /api/v2/users '{"email":'
show 'Missing required field (400)' POST /api/v2/users '{"email":"a@scaletest.local"}'
show 'Wrong type (400)' POST /api/v2/users '{"email":"a@scaletest.local","username":5}'
show 'Unknown rich parameter (400)' POST /api/v2/users/me/workspaces "{\"template_id\":\"$TID\",\"name\":\"x1\",\"rich_parameter_values\":[{\"name\":\"gpu\",\"value\":\"1\"}]}"
show 'Unknown route (404)' GET /api/v2/nothing-here

echo
echo '## Metrics'
echo
echo '```'
echo '$ curl -s "$CODER_URL/metrics" | grep -E "^(coderd_provisionerd|coderd_api_concurrent|coderd_workspace_builds_total|process_)" | head -20'
curl -s "$URL/metrics" | grep -E '^(coderd_provisionerd|coderd_api_concurrent|coderd_workspace_builds_total|process_)' | head -20
echo '```'
