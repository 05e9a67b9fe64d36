#!/usr/bin/env python3
"""End-to-end checks of coder-standin over HTTP and websockets (stdlib only).

usage: api_test.py SECTION URL TOKEN [METRICS_URL]
SECTION is basics, queue, faults or http-faults.  Prints TAP lines; exits 1
when any check fails.
"""
import http.client
import json
import os
import re
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swagger_check  # noqa: E402
import wsclient  # noqa: E402

N = 0
FAILED = 0


def ok(cond, name, extra=""):
    global N, FAILED
    N += 1
    if cond:
        print(f"ok {N} - {name}")
    else:
        FAILED += 1
        print(f"not ok {N} - {name}" + (f"\n#   {extra}" if extra else ""))
    return cond


def valid(value, definition, name):
    problems = swagger_check.check(value, definition)
    return ok(not problems, f"{name} matches {definition}", "; ".join(problems[:5]))


class Api:
    def __init__(self, url, token):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.token = token
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)

    def request(self, method, path, body=None, token="default", raw=None, headers=None):
        """One request: (status, headers with lower-case names, body bytes)."""
        hdrs = dict(headers or {})
        tok = self.token if token == "default" else token
        if tok:
            hdrs["Coder-Session-Token"] = tok
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=data, headers=hdrs)
                r = self.conn.getresponse()
                text = r.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
                if attempt:
                    raise
        return r.status, {k.lower(): v for k, v in r.getheaders()}, text

    def call(self, method, path, body=None, token="default", raw=None, headers=None):
        status, _, text = self.request(method, path, body, token, raw, headers)
        try:
            js = json.loads(text) if text else None
        except ValueError:
            js = text.decode(errors="replace")
        return status, js

    def ws(self, path, **kw):
        return wsclient.session(f"ws://{self.host}:{self.port}{path}", **kw)


def error_body(js, status, name, want_validation=None):
    good = isinstance(js, dict) and isinstance(js.get("message"), str) and js["message"] != ""
    problems = swagger_check.check(js, "codersdk.Response") if isinstance(js, dict) else ["not an object"]
    ok(good and not problems, f"{name}: {status} with a codersdk.Response body", f"{js!r} {problems}")
    if want_validation:
        fields = [v.get("field") for v in (js or {}).get("validations", [])] if isinstance(js, dict) else []
        ok(want_validation in fields, f"{name}: validations name field {want_validation!r}", repr(js))


def wait_for(fn, timeout=60.0, every=0.02):
    """fn() until it is true, at most timeout seconds: a bound only a hung
    stand-in reaches (the wait ends as soon as the state is there)."""
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(every)
    return None


def hold(api, **what):
    """The stand-in's test holds: builds=True keeps every job running, agents=True
    keeps every agent connecting; False lets what was due go at once."""
    st, js = api.call("PUT", "/api/v2/standin/hold", what)
    assert st == 200, (st, js)
    return js


def parse_time(s):
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z$", s)
    import calendar
    sec = calendar.timegm(tuple(int(x) for x in m.groups()[:6]))
    frac = float("0." + m.group(7)) if m.group(7) else 0.0
    return sec + frac


def template_id(api):
    return api.call("GET", "/api/v2/organizations/default/templates/docker")[1]["id"]


def make_user(api, name):
    st, u = api.call("POST", "/api/v2/users", {
        "email": f"{name}@scaletest.local", "username": name,
        "password": "Sc4le-test-pass!", "login_type": "password", "organization_ids": []})
    return st, u


def login(api, name):
    st, js = api.call("POST", "/api/v2/users/login",
                      {"email": f"{name}@scaletest.local", "password": "Sc4le-test-pass!"}, token=None)
    return js["session_token"] if st == 201 else None


# ---------------------------------------------------------------- basics

def basics(api, metrics_url):
    st, js = api.call("GET", "/api/v2/buildinfo", token=None)
    ok(st == 200, "GET /buildinfo without a token is 200")
    valid(js, "codersdk.BuildInfoResponse", "buildinfo")

    st, js = api.call("GET", "/api/v2/users/me", token=None)
    ok(st == 401, "no token: 401")
    error_body(js, st, "no token")
    st, js = api.call("GET", "/api/v2/users/me", token="nope-nope-nope")
    ok(st == 401, "unknown token: 401")
    error_body(js, st, "unknown token")

    st, me = api.call("GET", "/api/v2/users/me")
    ok(st == 200 and me["username"] == "admin", "GET /users/me as the owner")
    valid(me, "codersdk.User", "users/me")
    st, orgs = api.call("GET", "/api/v2/organizations")
    ok(st == 200 and len(orgs) == 1, "GET /organizations lists one organization")
    for o in orgs:
        valid(o, "codersdk.Organization", "organization")
    org = orgs[0]
    for key in (org["id"], org["name"], "default"):
        st, js = api.call("GET", f"/api/v2/organizations/{key}")
        ok(st == 200 and js["id"] == org["id"], f"GET /organizations/{key}")
    st, tpl = api.call("GET", "/api/v2/organizations/default/templates/docker")
    ok(st == 200 and tpl["name"] == "docker", "template docker by name")
    valid(tpl, "codersdk.Template", "template")
    st, js = api.call("GET", "/api/v2/organizations/default/templates/nosuch")
    ok(st == 404, "unknown template name: 404")
    error_body(js, st, "unknown template")
    st, tpls = api.call("GET", "/api/v2/templates")
    ok(st == 200 and sorted(t["name"] for t in tpls) == ["docker", "extra"], "GET /templates has docker and --template extra")
    st, js = api.call("GET", f"/api/v2/templates/{tpl['id']}")
    ok(st == 200 and js["id"] == tpl["id"], "GET /templates/{id}")
    st, tv = api.call("GET", f"/api/v2/templateversions/{tpl['active_version_id']}")
    ok(st == 200 and tv["template_id"] == tpl["id"], "GET /templateversions/{id}")
    valid(tv, "codersdk.TemplateVersion", "template version")
    st, params = api.call("GET", f"/api/v2/templateversions/{tpl['active_version_id']}/rich-parameters")
    ok(st == 200 and isinstance(params, list) and len(params) >= 1, "rich parameters list")
    for p in params:
        valid(p, "codersdk.TemplateVersionParameter", f"parameter {p.get('name')}")

    # users
    st, u = make_user(api, "scaletest-basic01-0")
    ok(st == 201, "POST /users: 201")
    valid(u, "codersdk.User", "created user")
    st, js = make_user(api, "scaletest-basic01-0")
    ok(st == 409, "same user again: 409")
    error_body(js, st, "duplicate user")
    st, js = api.call("POST", "/api/v2/users", {"email": "x@scaletest.local"})
    ok(st == 400, "user without username: 400")
    error_body(js, st, "missing username", "username")
    st, js = api.call("POST", "/api/v2/users", raw='{"email":')
    ok(st == 400 and "JSON" in js.get("message", ""), "user with broken JSON: 400 Request body must be valid JSON.")
    error_body(js, st, "broken JSON")
    st, js = api.call("POST", "/api/v2/users", {"email": "y@scaletest.local", "username": 7})
    ok(st == 400, "username of the wrong type: 400")
    st, js = api.call("POST", "/api/v2/users/login", {"email": "scaletest-basic01-0@scaletest.local", "password": "wrong"}, token=None)
    ok(st == 401, "wrong password: 401")
    error_body(js, st, "wrong password")
    st, js = api.call("POST", "/api/v2/users/login",
                      {"email": "scaletest-basic01-0@scaletest.local", "password": "Sc4le-test-pass!"}, token=None)
    ok(st == 201, "POST /users/login: 201")
    valid(js, "codersdk.LoginWithPasswordResponse", "login")
    ut = js["session_token"]
    user = Api(f"http://{api.host}:{api.port}", ut)
    st, js = user.call("GET", "/api/v2/users/me")
    ok(st == 200 and js["id"] == u["id"], "the new session token is the new user")
    st, js = user.call("POST", "/api/v2/users", {"email": "z@scaletest.local", "username": "z1", "password": "x"})
    ok(st == 403, "a member cannot create users: 403")
    error_body(js, st, "member creates user")
    st, js = api.call("GET", "/api/v2/users?q=scaletest.local&limit=10")
    ok(st == 200 and js["count"] == 1 and js["users"][0]["id"] == u["id"], "GET /users?q= finds the scaletest user only")
    valid(js, "codersdk.GetUsersResponse", "user list")

    # the stand-in's test holds: owner only, booleans only
    st, js = user.call("PUT", "/api/v2/standin/hold", {"agents": True})
    ok(st == 403, "PUT /standin/hold as a member: 403")
    st, js = api.call("PUT", "/api/v2/standin/hold", {"agents": "yes"})
    ok(st == 400, "PUT /standin/hold with a non-boolean: 400")
    error_body(js, st, "hold not boolean", "agents")
    js = hold(api, agents=True)
    ok(js == {"builds": False, "agents": True, "held_builds": 0, "held_agents": 0}, "PUT /standin/hold answers the holds", repr(js))

    # workspaces
    tid = tpl["id"]
    body = {"template_id": tid, "name": "scaletest-basic01-0",
            "rich_parameter_values": [{"name": "cpu", "value": "4"}, {"name": "region", "value": "us"}]}
    st, w = user.call("POST", "/api/v2/users/me/workspaces", body)
    ok(st == 201, "POST /users/me/workspaces: 201 (as coderd; swagger says 200)")
    valid(w, "codersdk.Workspace", "created workspace")
    ok(w["latest_build"]["transition"] == "start" and w["owner_id"] == u["id"], "the workspace has a start build and the right owner")
    st, js = user.call("POST", "/api/v2/users/me/workspaces", body)
    ok(st == 409, "same workspace name again: 409")
    error_body(js, st, "duplicate workspace", "name")
    st, js = user.call("POST", "/api/v2/users/me/workspaces", {"template_id": tid, "name": "x2",
                       "rich_parameter_values": [{"name": "cpu", "value": "99"}]})
    ok(st == 400, "parameter out of range: 400")
    error_body(js, st, "bad parameter", "cpu")
    st, js = user.call("POST", "/api/v2/users/me/workspaces", {"name": "x3"})
    ok(st == 400, "workspace without a template: 400")
    error_body(js, st, "no template", "template_id")
    st, js = user.call("POST", "/api/v2/users/me/workspaces", {"template_id": tid, "name": "-bad name"})
    ok(st == 400, "invalid workspace name: 400")
    st, w2 = user.call("POST", f"/api/v2/organizations/{org['id']}/members/me/workspaces",
                       {"template_version_id": tpl["active_version_id"], "name": "scaletest-basic01-1"})
    ok(st == 201, "POST /organizations/{org}/members/me/workspaces with template_version_id: 201")

    b = w["latest_build"]
    seen = set()

    def build_done():
        st, js = user.call("GET", f"/api/v2/workspacebuilds/{b['id']}")
        seen.add(js["job"]["status"])
        return js if js["job"]["status"] not in ("pending", "running") else None
    done = wait_for(build_done)
    ok(done and done["job"]["status"] == "succeeded" and done["status"] == "running", "the build succeeds; workspace status running")
    valid(done, "codersdk.WorkspaceBuild", "finished build")
    j = done["job"]
    ok(parse_time(j["created_at"]) <= parse_time(j["started_at"]) <= parse_time(j["completed_at"]),
       "job created_at <= started_at <= completed_at")
    ok(0.2 - 1e-6 <= parse_time(j["completed_at"]) - parse_time(j["started_at"]) <= 30,
       "the build ran for at least --build-time (200ms)", f"{j}")

    # agents are held: the agent stays connecting until let go
    st, js = user.call("GET", f"/api/v2/workspaces/{w['id']}")
    ags = [a for r in js["latest_build"]["resources"] for a in r["agents"]]
    ok(len(ags) == 1 and ags[0]["status"] == "connecting", "the agent is connecting first",
       repr([a["status"] for a in ags]))
    ok(wait_for(lambda: api.call("GET", "/api/v2/standin/hold")[1]["held_agents"] == 2),
       "GET /standin/hold counts the agents held past --agent-delay")
    hold(api, agents=False)
    agent_states = []

    def agent_up():
        st, js = user.call("GET", f"/api/v2/workspaces/{w['id']}")
        ags = [a for r in js["latest_build"]["resources"] for a in r["agents"]]
        if ags:
            agent_states.append(ags[0]["status"])
        return js if ags and all(a["status"] == "connected" for a in ags) else None
    ws_up = wait_for(agent_up)
    ok(ws_up is not None, "the agent connects")
    ok(agent_states and agent_states[0] == "connected", "let go, the held agent is connected at once", repr(agent_states[:3]))
    valid(ws_up, "codersdk.Workspace", "workspace with agent")
    agent = ws_up["latest_build"]["resources"][0]["agents"][0]
    st, js = user.call("GET", f"/api/v2/workspaceagents/{agent['id']}")
    ok(st == 200 and js["status"] == "connected", "GET /workspaceagents/{id}")
    valid(js, "codersdk.WorkspaceAgent", "agent")

    st, js = api.call("GET", "/api/v2/workspaces?q=name:scaletest-&limit=100")
    ok(st == 200 and js["count"] == 2 and len(js["workspaces"]) == 2, "GET /workspaces?q=name:scaletest- finds both")
    valid(js, "codersdk.WorkspacesResponse", "workspace list")
    st, js = api.call("GET", "/api/v2/workspaces?q=name:scaletest-&limit=1&offset=1")
    ok(st == 200 and js["count"] == 2 and len(js["workspaces"]) == 1, "limit and offset page the list; count is the total")
    st, js = api.call("GET", "/api/v2/workspaces?limit=10")
    ok(st == 200 and js["count"] == 2 and len(js["workspaces"]) == 2, "GET /workspaces?limit=10 (no q) lists all")
    st, js = api.call("GET", "/api/v2/users?offset=0&limit=10")
    ok(st == 200 and js["count"] == 2 and len(js["users"]) == 2, "GET /users?offset=0&limit=10 (no q) lists all")
    st, js = api.call("GET", "/api/v2/users/scaletest-basic01-0/workspace/scaletest-basic01-0")
    ok(st == 200 and js["id"] == w["id"], "GET /users/{user}/workspace/{name}")

    st, logs = user.call("GET", f"/api/v2/workspacebuilds/{b['id']}/logs")
    ok(st == 200 and isinstance(logs, list) and len(logs) >= 2, "GET build logs: a JSON list")
    for lg in logs:
        valid(lg, "codersdk.ProvisionerJobLog", "log line")
    status, _, data, code, _ = user.ws(f"/api/v2/workspacebuilds/{b['id']}/logs?follow", token=ut)
    lines = [json.loads(x) for x in data.decode().splitlines() if x]
    ok(" 101 " in status and code == 1000 and [x["id"] for x in lines] == [x["id"] for x in logs],
       "logs ?follow websocket: every log as a text message, then close 1000", f"{status} {code} {len(lines)}")

    # terminal
    pty = f"/api/v2/workspaceagents/{agent['id']}/pty?reconnect=4a7ee9b4-1b16-4a7d-9f1e-5bd0e2c3f3b1&width=80&height=24"
    status, _, data, code, _ = user.ws(pty + "&command=echo%20hello", token=ut)
    ok(" 101 " in status, "PTY websocket upgrade: 101")
    ok(data == b"hello\r\n" and code == 1000, "PTY runs `echo hello` in a shell: output hello, close 1000", f"{data!r} {code}")
    status, _, data, code, _ = user.ws(pty + "&command=stty%20size%3B%20read%20x%3B%20echo%20got%3A%24x", cookie=ut,
                                       sends=[json.dumps({"data": "typed\r", "height": 30, "width": 100}).encode()])
    ok(b"got:typed" in data and code == 1000, "PTY input via {\"data\"} and the cookie token", repr(data))
    t0 = time.time()
    status, _, data, code, _ = user.ws(pty + "&command=sleep%200.5%20%26%26%20echo%20late", token=ut)
    ok(data.endswith(b"late\r\n") and time.time() - t0 >= 0.45, "PTY streams until the command exits", repr(data))
    status, _, data, code, _ = user.ws(pty + "&command=seq%201%20100000", token=ut, timeout=20)
    lines = data.replace(b"\r", b"").split(b"\n")
    ok(code == 1000 and len(lines) == 100001 and lines[-2] == b"100000", "PTY streams 100,000 lines completely",
       f"{code} {len(lines)}")
    marker = f"sleep 12{os.getpid() % 1000:03d}"
    status, _, data, code, _ = user.ws(pty + "&command=" + urllib.parse.quote(marker), token=ut, timeout=0.5)
    ok(code == -1, "a command longer than the client waits: the client gives up")

    def leftover():
        for pid in os.listdir("/proc"):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if f.read().replace(b"\0", b" ").strip().endswith(marker.encode()):
                        return True
            except OSError:
                pass
        return False
    ok(wait_for(lambda: not leftover(), 30), "the stand-in ends the command when the client hangs up")
    status, body, data, code, _ = user.ws(pty + "&command=true", token="nope-nope-nope")
    ok(" 401 " in status and "message" in body, "PTY with a bad token: 401 before the upgrade", status)
    status, body, _, _, _ = user.ws("/api/v2/workspaceagents/00000000-0000-4000-8000-000000000000/pty", token=ut)
    ok(" 404 " in status, "PTY for an unknown agent: 404", status)

    # stop, then the agent is gone and the terminal refused
    st, sb = user.call("POST", f"/api/v2/workspaces/{w['id']}/builds", {"transition": "stop"})
    ok(st == 201 and sb["transition"] == "stop", "POST builds stop: 201")
    valid(sb, "codersdk.WorkspaceBuild", "stop build")
    st, js = user.call("POST", f"/api/v2/workspaces/{w['id']}/builds", {"transition": "start"})
    ok(st == 409, "a build while one is active: 409")
    error_body(js, st, "active build")
    status, body, _, _, _ = user.ws(pty + "&command=true", token=ut)
    ok(" 400 " in status and "connected" in body, "PTY to a stopped agent: 400 before the upgrade", status + body)
    wait_for(lambda: user.call("GET", f"/api/v2/workspacebuilds/{sb['id']}")[1]["job"]["status"] == "succeeded")
    st, js = user.call("GET", f"/api/v2/workspaces/{w['id']}")
    ok(js["latest_build"]["status"] == "stopped" and js["latest_build"]["resources"] == [], "stopped: status stopped, no resources")
    st, js = user.call("POST", f"/api/v2/workspaces/{w['id']}/builds", {"transition": "reboot"})
    ok(st == 400, "unknown transition: 400")
    error_body(js, st, "bad transition", "transition")

    # cleanup
    st, js = api.call("DELETE", f"/api/v2/users/{u['id']}")
    ok(st == 417, "deleting a user with workspaces: 417")
    error_body(js, st, "user with workspaces")
    for ws in (w, w2):
        wait_for(lambda: user.call("GET", f"/api/v2/workspaces/{ws['id']}")[1]["latest_build"]["job"]["status"] not in ("pending", "running"))
        st, db = user.call("POST", f"/api/v2/workspaces/{ws['id']}/builds", {"transition": "delete"})
        ok(st == 201 and db["transition"] == "delete", "POST builds delete: 201")
        wait_for(lambda: user.call("GET", f"/api/v2/workspacebuilds/{db['id']}")[1]["job"]["status"] == "succeeded")
        st, js = user.call("GET", f"/api/v2/workspacebuilds/{db['id']}")
        ok(js["status"] == "deleted", "the delete build ends with status deleted")
        st, js = user.call("GET", f"/api/v2/workspaces/{ws['id']}")
        ok(st == 404, "a deleted workspace: 404")
        st, js = user.call("GET", f"/api/v2/workspaces/{ws['id']}?include_deleted=true")
        ok(st == 200, "a deleted workspace with include_deleted=true: 200")
    st, js = api.call("GET", "/api/v2/workspaces?q=name:scaletest-")
    ok(st == 200 and js["count"] == 0, "no scaletest workspaces left")
    st, js = api.call("DELETE", f"/api/v2/users/{u['id']}")
    ok(st == 200, "DELETE /users/{id}: 200")
    st, js = api.call("GET", f"/api/v2/users/{u['id']}")
    ok(st == 404, "a deleted user: 404")
    st, js = user.call("GET", "/api/v2/users/me")
    ok(st == 401, "a deleted user's token: 401")
    st, js = api.call("GET", "/api/v2/users?q=scaletest.local")
    ok(js["count"] == 0, "no scaletest users left")

    # odds and ends
    st, js = api.call("GET", "/api/v2/workspacebuilds/00000000-0000-4000-8000-000000000000")
    ok(st == 404, "unknown build: 404")
    error_body(js, st, "unknown build")
    st, js = api.call("GET", "/api/v2/workspaces/not-a-uuid")
    ok(st == 400, "malformed uuid: 400")
    error_body(js, st, "malformed uuid")
    st, js = api.call("PUT", "/api/v2/buildinfo")
    ok(st == 405, "wrong method: 405")
    st, js = api.call("GET", "/api/v2/nothing/here")
    ok(st == 404, "unknown route: 404")
    error_body(js, st, "unknown route")
    st, js = api.call("PATCH", "/api/v2/workspacebuilds/00000000-0000-4000-8000-000000000000/cancel")
    ok(st == 404, "cancel an unknown build: 404")

    metrics_checks(api, metrics_url)


def parse_prom(text):
    """Parse Prometheus text; returns {name: [(labels dict, value)]} or raises."""
    series = {}
    types = {}
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([-+0-9.eE]+|\+Inf|NaN)$')
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, t = line.split(" ", 3)
            types[name] = t
            continue
        if line.startswith("#") or not line:
            continue
        m = line_re.match(line)
        if not m:
            raise ValueError(f"bad line: {line!r}")
        labels = {}
        if m.group(3):
            pos = 0
            s = m.group(3)
            while pos < len(s):
                lm = label_re.match(s, pos)
                if not lm:
                    raise ValueError(f"bad labels: {line!r}")
                labels[lm.group(1)] = lm.group(2)
                pos = lm.end()
        series.setdefault(m.group(1), []).append((labels, float(m.group(4))))
    return series, types


def metrics_checks(api, metrics_url):
    c = http.client.HTTPConnection(api.host, api.port, timeout=10)
    c.request("GET", "/metrics")
    r = c.getresponse()
    text = r.read().decode()
    ok(r.status == 200 and r.getheader("content-type", "").startswith("text/plain"), "GET /metrics on the API port: 200 text/plain")
    try:
        series, types = parse_prom(text)
        ok(True, "/metrics parses as Prometheus text format")
    except ValueError as e:
        ok(False, "/metrics parses as Prometheus text format", str(e))
        return
    for name in ("coderd_provisionerd_jobs_current", "coderd_provisionerd_num_daemons", "coderd_api_requests_processed_total",
                 "coderd_api_concurrent_requests", "coderd_api_concurrent_websockets", "coderd_workspace_builds_total",
                 "process_cpu_seconds_total", "process_resident_memory_bytes",
                 "coderd_api_request_latencies_seconds_bucket", "coderd_provisioner_job_queue_wait_seconds_bucket"):
        ok(name in series, f"metric {name} is present")
    wsd = {l["path"]: v for l, v in series.get("coderd_api_websocket_durations_seconds_count", [])}
    ok(wsd.get("/api/v2/workspaceagents/{workspaceagent}/pty", 0) >= 3 and wsd.get("/api/v2/workspacebuilds/{workspacebuild}/logs", 0) >= 1,
       "websocket durations count the PTY and log websockets", repr(wsd))
    ok(series["coderd_provisionerd_num_daemons"][0][1] == 2, "num_daemons = replicas x daemons = 2")
    ok(series["process_resident_memory_bytes"][0][1] > 1e6, "resident memory is real (> 1 MB)")
    ok(series["process_cpu_seconds_total"][0][1] > 0, "cpu seconds is real (> 0)")
    req = {(l["method"], l["path"], l["code"]): v for l, v in series["coderd_api_requests_processed_total"]}
    ok(req.get(("POST", "/api/v2/users/", "409")) == 1, "requests_processed_total counts the one 409 on POST /api/v2/users/")
    ok(req.get(("GET", "/api/v2/buildinfo", "200"), 0) >= 1, "requests_processed_total counts buildinfo")
    builds = series["coderd_workspace_builds_total"]
    ok(sum(v for l, v in builds if l.get("action") == "DELETE" and l.get("status") == "success") == 2,
       "workspace_builds_total counts the two deletes")
    # histogram sanity: cumulative buckets, +Inf == _count
    good = True
    for labels, v in series["coderd_api_request_latencies_seconds_count"]:
        key = (labels["method"], labels["path"])
        buckets = [(float("inf") if l["le"] == "+Inf" else float(l["le"]), bv)
                   for l, bv in series["coderd_api_request_latencies_seconds_bucket"]
                   if (l["method"], l["path"]) == key]
        buckets.sort()
        counts = [bv for _, bv in buckets]
        good &= counts == sorted(counts) and counts[-1] == v and buckets[0][0] == 0.001 and buckets[-2][0] == 30
    ok(good, "latency histograms: buckets 0.001..30 cumulative, +Inf equals _count")
    if metrics_url:
        u = urllib.parse.urlsplit(metrics_url)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        c.request("GET", "/metrics")
        r = c.getresponse()
        body = r.read().decode()
        ok(r.status == 200 and "coderd_provisionerd_jobs_current" in body, "--metrics-listen serves /metrics")
        c.request("GET", "/api/v2/buildinfo")
        r = c.getresponse()
        r.read()
        ok(r.status == 404, "--metrics-listen serves nothing else")


# ---------------------------------------------------------------- queue

def queue(api, _):
    tid = template_id(api)
    hold(api, builds=True)  # no job ends while the test looks at the queue
    ws = []
    for i in range(7):
        st, w = api.call("POST", "/api/v2/users/me/workspaces", {"template_id": tid, "name": f"scaletest-queue-{i}"})
        ws.append(w)
    builds = [api.call("GET", f"/api/v2/workspacebuilds/{w['latest_build']['id']}")[1] for w in ws]
    status = [b["job"]["status"] for b in builds]
    ok(status == ["running"] * 4 + ["pending"] * 3, "2 replicas x 2 daemons: 4 running, 3 pending", repr(status))
    ok([b["job"]["queue_position"] for b in builds] == [0, 0, 0, 0, 1, 2, 3], "queue positions 0,0,0,0,1,2,3",
       repr([b["job"]["queue_position"] for b in builds]))
    ok([b["job"]["queue_size"] for b in builds] == [0, 0, 0, 0, 3, 3, 3], "queue size 3 for pending jobs")
    ok(all(b["status"] == "pending" for b in builds[4:]) and all(b["status"] == "starting" for b in builds[:4]),
       "build status pending / starting")
    # cancel the middle pending job: it is canceled at once, the last one moves up
    st, js = api.call("PATCH", f"/api/v2/workspacebuilds/{builds[5]['id']}/cancel?expect_status=running")
    ok(st == 412, "cancel with the wrong expect_status: 412")
    st, js = api.call("PATCH", f"/api/v2/workspacebuilds/{builds[5]['id']}/cancel?expect_status=pending")
    ok(st == 200, "cancel a pending build: 200")
    valid(js, "codersdk.Response", "cancel answer")
    b5 = api.call("GET", f"/api/v2/workspacebuilds/{builds[5]['id']}")[1]
    ok(b5["job"]["status"] == "canceled" and b5["status"] == "canceled" and "completed_at" in b5["job"],
       "a canceled pending job is canceled at once")
    b6 = api.call("GET", f"/api/v2/workspacebuilds/{builds[6]['id']}")[1]
    ok(b6["job"]["queue_position"] == 2 and b6["job"]["queue_size"] == 2, "the job behind it moves up: 2 of 2",
       repr(b6["job"]))
    # cancel a running job: canceling, then canceled, and its slot goes to the head of the queue
    st, js = api.call("PATCH", f"/api/v2/workspacebuilds/{builds[0]['id']}/cancel")
    ok(st == 200, "cancel a running build: 200")
    b0 = api.call("GET", f"/api/v2/workspacebuilds/{builds[0]['id']}")[1]
    ok(b0["job"]["status"] in ("canceling", "canceled"), "a running job goes to canceling", b0["job"]["status"])
    st, js = api.call("PATCH", f"/api/v2/workspacebuilds/{builds[0]['id']}/cancel")
    ok(st == 400, "cancel it again: 400")
    got = wait_for(lambda: api.call("GET", f"/api/v2/workspacebuilds/{builds[4]['id']}")[1]["job"]["status"] == "running")
    ok(got, "the freed slot goes to the first pending job")
    b0 = api.call("GET", f"/api/v2/workspacebuilds/{builds[0]['id']}")[1]
    ok(b0["job"]["status"] == "canceled", "then canceled")
    b6 = api.call("GET", f"/api/v2/workspacebuilds/{builds[6]['id']}")[1]
    ok(b6["job"]["queue_position"] == 1, "and the last pending job is next: position 1")
    # let go: all finish; the observed parallelism never exceeds 4 and started in FIFO order
    t_release = time.time()
    hold(api, builds=False)
    final = []
    for b in builds:
        wait_for(lambda: api.call("GET", f"/api/v2/workspacebuilds/{b['id']}")[1]["job"]["status"]
                 in ("succeeded", "failed", "canceled"))
        final.append(api.call("GET", f"/api/v2/workspacebuilds/{b['id']}")[1])
    ran = [b for b in final if "started_at" in b["job"]]
    ok([b["job"]["status"] for b in final].count("succeeded") == 5, "five builds succeed")
    starts = [parse_time(b["job"]["started_at"]) for b in ran]
    ok(starts == sorted(starts), "jobs start in FIFO order")
    events = sorted([(parse_time(b["job"]["started_at"]), 1) for b in ran] +
                    [(parse_time(b["job"]["completed_at"]), -1) for b in ran])
    peak = cur = 0
    for _, d in events:
        cur += d
        peak = max(peak, cur)
    ok(peak == 4, "peak concurrent jobs = replicas x daemons = 4", str(peak))
    waits = [parse_time(b["job"]["started_at"]) - parse_time(b["job"]["created_at"]) for b in ran]
    ok(all(w > 0 for w in waits[4:]) and starts[-1] >= t_release - 1e-3,
       "queued jobs waited for a free slot (the last one until the release)", repr(waits))
    text = http_get(api, "/metrics")
    m = re.search(r'^coderd_provisioner_job_queue_wait_seconds_count\{[^}]*transition="start"\} (\d+)', text, re.M)
    ok(m and int(m.group(1)) == 6, "queue wait histogram counts the 6 jobs that were picked up", m and m.group(0))
    # delete through the queue too
    hold(api, builds=True)
    dels = []
    for w in ws:
        st, d = api.call("POST", f"/api/v2/workspaces/{w['id']}/builds", {"transition": "delete"})
        dels.append(d)
    ok(all(d["transition"] == "delete" for d in dels), "deletes are accepted for every workspace")
    ok([d["job"]["status"] for d in dels].count("pending") == 3, "deletes queue too: 3 of 7 pending")
    hold(api, builds=False)
    wait_for(lambda: api.call("GET", "/api/v2/workspaces?q=name:scaletest-queue")[1]["count"] == 0)
    ok(api.call("GET", "/api/v2/workspaces?q=name:scaletest-queue")[1]["count"] == 0, "all deleted")


def http_get(api, path):
    c = http.client.HTTPConnection(api.host, api.port, timeout=10)
    c.request("GET", path)
    return c.getresponse().read().decode()


# ---------------------------------------------------------------- faults

def between(n, total, rate, name):
    # within 4.5 standard deviations of the binomial mean: a fair check that
    # practically never fails by chance (and the seed is fixed anyway)
    mean = total * rate
    sd = (total * rate * (1 - rate)) ** 0.5
    ok(abs(n - mean) <= 4.5 * sd + 1, f"{name}: {n} of {total} at rate {rate}", f"expected about {mean:.0f}")


def faults(api, _):
    tid = template_id(api)
    n_users = 200
    fails = 0
    for i in range(n_users):
        st, js = make_user(api, f"scaletest-fault-{i}")
        if st == 500:
            fails += 1
            if fails == 1:
                error_body(js, st, "injected user failure")
        elif st != 201:
            ok(False, f"unexpected status {st}")
    between(fails, n_users, 0.3, "--fail-create-user 0.3")
    n = 300
    created = []
    fails = 0
    for i in range(n):
        st, w = api.call("POST", "/api/v2/users/me/workspaces", {"template_id": tid, "name": f"scaletest-fault-{i}"})
        if st == 500:
            fails += 1
        elif st == 201:
            created.append(w)
    between(fails, n, 0.3, "--fail-create-workspace 0.3")
    finals = []
    for w in created:
        wait_for(lambda: api.call("GET", f"/api/v2/workspacebuilds/{w['latest_build']['id']}")[1]["job"]["status"]
                 not in ("pending", "running"))
        finals.append(api.call("GET", f"/api/v2/workspaces/{w['id']}")[1])
    failed = [f for f in finals if f["latest_build"]["job"]["status"] == "failed"]
    between(len(failed), len(finals), 0.3, "--fail-build 0.3")
    ok(all("injected" in f["latest_build"]["job"].get("error", "") and f["latest_build"]["status"] == "failed" for f in failed),
       "failed builds carry job.error and status failed")
    good = [f for f in finals if f["latest_build"]["job"]["status"] == "succeeded"]
    def settled(f):  # the agent connected or timed out (--agent-timeout 300ms)
        js = api.call("GET", f"/api/v2/workspaces/{f['id']}")[1]
        a = js["latest_build"]["resources"][0]["agents"][0]
        return (js, a) if a["status"] != "connecting" else None
    states = [wait_for(lambda: settled(f)) for f in good]
    ok(all(states), "every agent settles")
    states = [x for x in states if x]
    timeouts = [a for _, a in states if a["status"] == "timeout"]
    between(len(timeouts), len(states), 0.3, "--fail-agent 0.3 (status timeout)")
    ok(all(a["status"] in ("connected", "timeout") for _, a in states), "other agents are connected")
    connected = [a for _, a in states if a["status"] == "connected"][:60]
    refused = 0
    for a in connected:
        status, _, data, code, reason = api.ws(f"/api/v2/workspaceagents/{a['id']}/pty?command=echo%20hello",
                                               token=api.token)
        if code == 1011:
            refused += 1
            if refused == 1:
                ok(" 101 " in status and "dial workspace agent" in reason and data == b"",
                   "--fail-pty: upgrade, then close 1011 with coderd's reason", reason)
        elif not (data == b"hello\r\n" and code == 1000):
            ok(False, "a terminal that is not refused works", f"{data!r} {code}")
    between(refused, len(connected), 0.5, "--fail-pty 0.5")
    dels = []
    for f in finals:
        st, d = api.call("POST", f"/api/v2/workspaces/{f['id']}/builds", {"transition": "delete"})
        dels.append(d)
    dfinal = []
    for d in dels:
        wait_for(lambda: api.call("GET", f"/api/v2/workspacebuilds/{d['id']}")[1]["job"]["status"]
                 not in ("pending", "running"))
        dfinal.append(api.call("GET", f"/api/v2/workspacebuilds/{d['id']}")[1])
    dfailed = [d for d in dfinal if d["job"]["status"] == "failed"]
    between(len(dfailed), len(dfinal), 0.3, "--fail-delete 0.3")
    left = api.call("GET", "/api/v2/workspaces?q=name:scaletest-fault")[1]["count"]
    ok(left == len(dfailed), "workspaces whose delete failed are still there", f"{left} vs {len(dfailed)}")


def http_faults(api, status_wanted):
    n = 300
    hits = 0
    bodies_ok = True
    for _ in range(n):
        st, js = api.call("GET", "/api/v2/users/me")
        if st == int(status_wanted):
            hits += 1
            bodies_ok &= isinstance(js, dict) and "message" in js
        elif st != 200:
            ok(False, f"unexpected status {st}")
    between(hits, n, 0.5, f"--fail-http 0.5 --fail-http-status {status_wanted}")
    ok(bodies_ok, "injected errors carry a codersdk.Response body")


def main():
    section, url, token = sys.argv[1:4]
    extra = sys.argv[4] if len(sys.argv) > 4 else None
    api = Api(url, token)
    {"basics": basics, "queue": queue, "faults": faults, "http-faults": http_faults}[section](api, extra)
    print(f"1..{N}")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
