#!/usr/bin/env python3
"""The requests of Coder's own scale test runner, made by a small client (stdlib only).

usage: coder_like.py create --url URL --token-file FILE [--count N] [--use-host-login]
                     [--run-command CMD] [--retry N] [--no-cleanup]
       coder_like.py cleanup --url URL --token-file FILE

Not a driver: a reference for test/client/94_api_fidelity.sh.  It makes,
in the same order, with the same clients (tokens and X-Coder-Bypass-Ratelimit
header) and the same poll intervals, the requests that coder/coder's
`coder exp scaletest create-workspaces` and `coder exp scaletest cleanup`
make, as read from their code (file and function named at each step), so
that the test can show its table of expected counts holds for Coder's own
behaviour: run through the logging proxy, this client must pass every row.
Runs go all at once (--concurrency 0), cleanups too.  Where Coder's command
would stop (the template dry run refused, as by a server without its routes)
it says so on stderr and goes on, so the runs can still be compared.  The pauses
below are Coder's poll intervals, which this client imitates; nothing waits
on them.  Exit 0 when every run passed, 1 otherwise.
"""
import argparse
import base64
import http.client
import json
import os
import secrets
import socket
import string
import struct
import sys
import threading
import time
import urllib.parse
import uuid

ALNUM = string.ascii_letters + string.digits


class Client:
    """A codersdk.Client: a session token (or none), and whether its transport
    adds X-Coder-Bypass-Ratelimit: true; its own connection."""

    def __init__(self, url, token, bypass):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.token, self.bypass = token, bypass
        self.conn = None

    def headers(self):
        """The headers this client sends on every request."""
        h = {}
        if self.token:
            h["Coder-Session-Token"] = self.token
        if self.bypass:
            h["X-Coder-Bypass-Ratelimit"] = "true"
        return h

    def call(self, method, path, body=None, query=None):
        """(status, parsed JSON) of METHOD /api/v2PATH."""
        target = "/api/v2" + path + ("?" + urllib.parse.urlencode(query) if query else "")
        h = self.headers()
        data = None
        if body is not None:
            data = json.dumps(body)
            h["Content-Type"] = "application/json"
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request(method, target, body=data, headers=h)
                r = self.conn.getresponse()
                text = r.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        try:
            return r.status, json.loads(text) if text else None
        except ValueError:
            return r.status, None

    def follow(self, path, query="follow"):
        """A websocket to its close, as codersdk dials one: the session token as the
        coder_session_token cookie, this client's transport headers; its text messages."""
        sock = socket.create_connection((self.host, self.port), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET /api/v2{path}?{query} HTTP/1.1", f"Host: {self.host}:{self.port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        if self.bypass:
            lines.append("X-Coder-Bypass-Ratelimit: true")
        if self.token:
            lines.append(f"Cookie: coder_session_token={self.token}")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            buf += chunk
        head, _, buf = buf.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0] + b" ":
            sock.close()
            return None
        texts = []
        while True:
            try:
                h, buf = read_exact(sock, 2, buf)
                op, n = h[0] & 0x0F, h[1] & 0x7F
                if n == 126:
                    x, buf = read_exact(sock, 2, buf)
                    n = struct.unpack("!H", x)[0]
                elif n == 127:
                    x, buf = read_exact(sock, 8, buf)
                    n = struct.unpack("!Q", x)[0]
                payload, buf = read_exact(sock, n, buf)
            except (EOFError, OSError):
                break
            if op == 8:
                mask = os.urandom(4)
                echo = payload[:2]
                masked = bytes(c ^ mask[i % 4] for i, c in enumerate(echo))
                sock.sendall(bytes([0x88, 0x80 | len(echo)]) + mask + masked)
                break
            if op == 1:
                texts.append(payload.decode("utf-8", "replace"))
        sock.close()
        return texts


def read_exact(sock, n, buf):
    """N bytes from BUF and then SOCK; (data, rest)."""
    while len(buf) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError
        buf += chunk
    return buf[:n], buf[n:]


def rand(n=8):
    """loadtestutil's random part of a name: N characters [a-zA-Z0-9]."""
    return "".join(secrets.choice(ALNUM) for _ in range(n))


def wait_for_build(c, build):
    """scaletest/workspacebuild/run.go waitForBuild: GET every 500 ms while pending,
    follow the logs to their close, GET once more; whether it succeeded."""
    while True:
        _, b = c.call("GET", f"/workspacebuilds/{build}")
        if (b or {}).get("job", {}).get("status") != "pending":
            break
        time.sleep(0.5)
    c.follow(f"/workspacebuilds/{build}/logs")     # WorkspaceBuildLogsAfter(ctx, id, 0): ?follow
    _, b = c.call("GET", f"/workspacebuilds/{build}")
    return (b or {}).get("job", {}).get("status") == "succeeded"


def wait_for_agents(c, ws):
    """scaletest/workspacebuild/run.go waitForAgents: GET the workspace every 1 s until
    every agent is connected."""
    while True:
        _, w = c.call("GET", f"/workspaces/{ws}")
        build = (w or {}).get("latest_build") or {}
        agents = [a for r in build.get("resources") or [] for a in r.get("agents") or []]
        if all(a.get("status") == "connected" for a in agents):
            return
        time.sleep(1)


def cleanup_workspace(c, ws):
    """scaletest/workspacebuild/run.go CleanupRunner.Run."""
    st, w = c.call("GET", f"/workspaces/{ws}")
    if st == 404:
        return True
    latest = (w or {}).get("latest_build", {}).get("id")
    st, b = c.call("GET", f"/workspacebuilds/{latest}")
    if st == 200 and b["job"]["status"] in ("pending", "running", "canceling"):
        c.call("PATCH", f"/workspacebuilds/{latest}/cancel")
        wait_for_build(c, latest)
    st, b = c.call("POST", f"/workspaces/{ws}/builds", {"transition": "delete"})
    if st != 201:
        return False
    return wait_for_build(c, b["id"])


class Run:
    """One run of scaletest/createworkspaces/run.go Runner (its Run, then its Cleanup)."""

    def __init__(self, a, i, org, template):
        self.a, self.i, self.org, self.template = a, i, org, template
        # cli/exp_scaletest.go: loadtestutil.DupClientCopyingHeaders(client, BypassHeader)
        self.runner = Client(a.url, a.token, True)
        self.user = self.client = self.ws = None
        self.ok = False

    def run(self):
        """createworkspaces Runner.Run."""
        a = self.a
        if a.use_host_login:
            _, self.user = self.runner.call("GET", "/users/me")
            self.client = self.runner
        else:
            # scaletest/createusers/run.go Runner.RunReturningUser
            r = rand()
            email, password = f"{r}-{self.i}@scaletest.local", rand(16)
            _, self.user = self.runner.call("POST", "/users", {
                "organization_ids": [self.org], "username": f"scaletest-{r}-{self.i}", "email": email,
                "password": password, "login_type": ""})
            st, login = Client(a.url, None, False).call("POST", "/users/login",
                                                        {"email": email, "password": password})
            if st != 201:
                return
            self.client = Client(a.url, login["session_token"], False)
        # scaletest/workspacebuild/run.go Runner.RunReturningWorkspace
        st, ws = self.client.call("POST", f"/users/{self.user['id']}/workspaces", {
            "template_id": self.template, "name": f"scaletest-{rand()}-{self.i}", "rich_parameter_values": []})
        if st != 201:
            return
        self.ws = ws["id"]
        good = wait_for_build(self.client, ws["latest_build"]["id"])
        for _ in range(a.retry):
            if good:
                break
            st, b = self.client.call("POST", f"/workspaces/{self.ws}/builds",
                                     {"transition": "start", "rich_parameter_values": []})
            if st != 201:
                return
            good = wait_for_build(self.client, b["id"])
        if not good:
            return
        wait_for_agents(self.client, self.ws)
        _, full = self.client.call("GET", f"/workspaces/{self.ws}")     # "get full workspace info"
        agents = [x for r in full["latest_build"]["resources"] for x in r["agents"]]
        if a.run_command and agents:
            # scaletest/reconnectingpty/run.go Runner.Run: workspacesdk AgentReconnectingPTY
            q = urllib.parse.urlencode({"reconnect": str(uuid.uuid4()), "width": 80, "height": 24,
                                        "command": a.run_command})
            self.client.follow(f"/workspaceagents/{agents[0]['id']}/pty", q)
        self.ok = True

    def cleanup(self):
        """createworkspaces Runner.Cleanup: the workspace with the run's client, the user with the runner's."""
        if self.ws:
            cleanup_workspace(self.client, self.ws)
        if self.user and not self.a.use_host_login:
            self.runner.call("DELETE", f"/users/{self.user['id']}")


def prep(a, setup, version):
    """cli/create.go prepWorkspaceBuild, with cli/cliui's ExternalAuth and ProvisionerJob."""
    setup.call("GET", f"/templateversions/{version}")
    setup.call("GET", f"/templateversions/{version}/rich-parameters")
    setup.call("GET", f"/templateversions/{version}/external-auth")
    st, job = setup.call("POST", f"/templateversions/{version}/dry-run",
                         {"workspace_name": "scaletest-N", "rich_parameter_values": []})
    if st != 201:
        print(f"coder_like.py: no dry run: POST /templateversions/{version}/dry-run answered {st} "
              f"{(job or {}).get('message', '')} (Coder's command stops here; this client goes on)", file=sys.stderr)
        return
    base = f"/templateversions/{version}/dry-run/{job['id']}"
    setup.call("GET", base + "/matched-provisioners")
    setup.call("GET", base)                                     # updateJob() before the logs
    logs = threading.Thread(target=Client(a.url, a.token, False).follow, args=(base + "/logs",))
    logs.start()
    while True:                                                 # its 1 s ticker while they stream
        logs.join(1)
        if not logs.is_alive():
            break
        setup.call("GET", base)
    setup.call("GET", base)                                     # once after they close
    setup.call("GET", base + "/resources")


def create(a):
    """cli/exp_scaletest.go scaletestCreateWorkspaces."""
    setup = Client(a.url, a.token, False)                       # cli/root.go InitClient: no bypass header
    _, me = setup.call("GET", "/users/me")                      # requireAdmin
    tpl = None
    for org in me["organization_ids"]:                          # parseTemplate by name
        _, tpls = setup.call("GET", f"/organizations/{org}/templates")
        tpl = next((t for t in tpls or [] if t["name"] == a.template), None)
        if tpl:
            break
    prep(a, setup, tpl["active_version_id"])
    runs = [Run(a, i, me["organization_ids"][0], tpl["id"]) for i in range(a.count)]
    both(runs, "run")
    if not a.no_cleanup:
        both(runs, "cleanup")
    return 0 if all(r.ok for r in runs) else 1


def both(runs, step):
    """STEP of every run at once (ConcurrentExecutionStrategy)."""
    threads = [threading.Thread(target=getattr(r, step)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def pages(c, path, query, field):
    """Pages of 100 until an empty one (getScaletestWorkspaces, getScaletestUsers)."""
    out, page = [], 0
    while True:
        q = dict(query, limit=100)
        if page:
            q["offset"] = 100 * page
        _, body = c.call("GET", path, query=q)
        items = (body or {}).get(field) or []
        page += 1
        if not items or page > 1000:
            return out
        out += items


def cleanup(a):
    """cli/exp_scaletest.go scaletestCleanup."""
    Client(a.url, a.token, False).call("GET", "/users/me")     # requireAdmin, before the header
    c = Client(a.url, a.token, True)                            # client.HTTPClient with BypassRatelimitHeader
    c.call("GET", "/users/me")                                  # getScaletestWorkspaces
    c.call("GET", "/deployment/config")
    wss = [w for w in pages(c, "/workspaces", {"q": 'name:"scaletest-"'}, "workspaces")
           if w["name"].startswith("scaletest-")]
    results = []
    threads = [threading.Thread(target=lambda w=w: results.append(cleanup_workspace(Client(
        a.url, a.token, True), w["id"]))) for w in wss]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    users = [u for u in pages(c, "/users", {"q": "scaletest-"}, "users") if u["username"].startswith("scaletest-")]
    threads = [threading.Thread(target=lambda u=u: Client(a.url, a.token, True).call(
        "DELETE", f"/users/{u['id']}")) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return 0 if all(results) else 1


def main():
    """Parse the command line, run the command."""
    p = argparse.ArgumentParser(prog="coder_like.py", description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=("create", "cleanup"))
    p.add_argument("--url", required=True)
    p.add_argument("--token-file", required=True)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--template", default="docker")
    p.add_argument("--use-host-login", action="store_true")
    p.add_argument("--run-command")
    p.add_argument("--retry", type=int, default=0)
    p.add_argument("--no-cleanup", action="store_true")
    a = p.parse_args()
    with open(a.token_file) as f:
        a.token = f.read().strip()
    sys.exit(create(a) if a.command == "create" else cleanup(a))


if __name__ == "__main__":
    main()
