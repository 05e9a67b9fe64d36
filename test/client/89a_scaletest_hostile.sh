#!/usr/bin/env bash
# Servers that are not Coder: a URL that answers but is not Coder (a plain
# HTTP server on loopback) is named as such with what it answered; a hostile
# API that answers ids that are not UUIDs ("", "../../../users/me?x=", a path)
# never gets them back in a request path: the run fails with a clear error.
# And a result that cannot be written (--output on /dev/full) never exits 0.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup
PY_PID=
TOKEN_FILE=$T/token
echo not-a-real-token >"$TOKEN_FILE"
yes_no() { if "$@"; then echo yes; else echo no; fi; }

py_stop() { if [ -n "$PY_PID" ]; then kill "$PY_PID" 2>/dev/null || true; wait "$PY_PID" 2>/dev/null || true; fi; PY_PID=; }
trap 'py_stop; finish_test' EXIT

port_written_or_gone() { [ -s "$T/port" ] || ! kill -0 $PY_PID 2>/dev/null; }
# py_start SCRIPT ARGS...: a python3 server on 127.0.0.1:0; sets URL once it wrote its port
py_start() {
  py_stop
  rm -f "$T/port"
  python3 "$@" >"$T/py.out" 2>"$T/py.err" &
  PY_PID=$!
  wait_until port_written_or_gone || true
  [ -s "$T/port" ] || { cat "$T/py.err" >&2; echo "the python server did not start" >&2; exit 1; }
  URL=http://127.0.0.1:$(cat "$T/port")
}

# 1. a real HTTP server that is not Coder (python3's http.server)
cat >"$T/plain.py" <<'PY'
import http.server, sys, functools
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
mkdir -p "$T/www"
py_start "$T/plain.py" "$T/port" "$T/www"
rc=0
"$CS" scaletest create-workspaces --url "$URL" --token-file "$TOKEN_FILE" --no-db -t docker >"$T/out" 2>"$T/err" || rc=$?
check "not Coder: exit 3" 3 $rc
check "not Coder: says so, with what it answered" yes "$(yes_no grep -Fq "$URL does not look like a Coder deployment: GET /api/v2/buildinfo answered HTTP 404 \"" "$T/err")"
check "not Coder: with an excerpt of the answer" yes "$(yes_no grep -Eq 'answered HTTP 404 ".*(Error|404|File not found).*"' "$T/err")"
check "not Coder: not the organization message" no "$(yes_no grep -q 'belongs to no organization' "$T/err")"

# 2. a hostile API: plausible answers, except for the ids
cat >"$T/hostile.py" <<'PY'
import http.server, json, sys, uuid
mode, log = sys.argv[2], open(sys.argv[3], "a", buffering=1)
U = lambda: str(uuid.uuid4())
ORG, ME, TPL, VER, JOB = U(), U(), U(), U(), U()
class H(http.server.BaseHTTPRequestHandler):
    def send(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *a): pass
    def handle_one(self, method):
        n = int(self.headers.get("Content-Length") or 0)
        if n: self.rfile.read(n)
        log.write(method + " " + self.path + "\n")
        p = self.path
        if p == "/api/v2/buildinfo": return self.send(200, {"version": "v2.99.0-hostile"})
        if p == "/api/v2/users/me": return self.send(200, {"id": ME, "username": "owner", "organization_ids": [ORG]})
        if p.startswith("/api/v2/organizations/"):
            return self.send(200, [{"id": TPL, "name": "docker", "active_version_id": VER}])
        # the template's plan (a dry run that succeeds; its logs socket is refused)
        if p.startswith("/api/v2/templateversions/"):
            if method == "POST": return self.send(201, {"id": JOB, "status": "pending"})
            if p.endswith(("/rich-parameters", "/external-auth", "/resources")): return self.send(200, [])
            if p.endswith("/matched-provisioners"): return self.send(200, {"count": 1, "available": 1})
            return self.send(200, {"id": JOB, "status": "succeeded"})
        if method == "POST" and p == "/api/v2/users":
            return self.send(201, {"id": "../../../users/me?x=" if mode == "user" else U()})
        if p == "/api/v2/users/login": return self.send(201, {"session_token": "s3ss10n"})
        if method == "POST" and p.endswith("/workspaces"):
            return self.send(201, {"id": "", "latest_build": {"id": "../builds"}})
        if method == "GET" and p.startswith("/api/v2/users/scaletest-"):
            return self.send(200, {"id": "/x/../y"})
        return self.send(404, {"message": "no"})
    def do_GET(self): self.handle_one("GET")
    def do_POST(self): self.handle_one("POST")
    def do_DELETE(self): self.handle_one("DELETE")
    def do_PATCH(self): self.handle_one("PATCH")
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
for mode in user workspace; do
  : >"$T/req.$mode"
  py_start "$T/hostile.py" "$T/port" "$mode" "$T/req.$mode"
  rc=0
  "$CS" scaletest create-workspaces --url "$URL" --token-file "$TOKEN_FILE" --no-db -t docker -c 2 --concurrency 0 \
    --output "json:$T/$mode.json" >"$T/out" 2>"$T/err.$mode" || rc=$?
  check "$mode id: exit 1 (the runs failed)" 1 $rc
  check "$mode id: no request path with a non-UUID id" "" "$(grep -E '\.\.|//|\?x=|/builds/|workspaces//|/workspaces/builds' "$T/req.$mode" || true)"
  check "$mode id: the requests it did make" yes "$(yes_no grep -q '^POST /api/v2/users$' "$T/req.$mode")"
  py_stop
done
check "user id: the error says why" "create user: the answer's user id \"../../../users/me?x=\" is not a UUID" \
  "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["runs"]["workspacebuild/0"]["error"])' "$T/user.json")"
check "user id: cleanup refuses the looked-up id too" yes \
  "$(yes_no grep -Fq "cleanup: find user: the answer's user id \"/x/../y\" is not a UUID" "$T/err.user")"
check "workspace id: the error says why" "create workspace: no workspace id in the answer" \
  "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["runs"]["workspacebuild/0"]["error"])' "$T/workspace.json")"

# 3. a result that cannot be written is never exit 0
si_start --build-time 0 --agent-delay 0
rc=0
st -t docker -c 1 --output json:/dev/full --label full >"$T/out" 2>"$T/err" || rc=$?
check "/dev/full: exit 4, not 0" 4 $rc
check "/dev/full: says so" yes "$(yes_no grep -Fq -- "--output /dev/full: cannot write the results: No space left on device" "$T/err")"
check "/dev/full: nothing left on the server" "0 0" "$(leftovers)"
done_testing
