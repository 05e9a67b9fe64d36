#!/usr/bin/env python3
"""Checks of proxy.py and validate.py themselves (stdlib only).

usage: selftest.py proxy|validator SWAGGER

proxy: raw bytes through proxy.py to a scripted upstream on port 0: kept-alive
requests with Content-Length and chunked bodies (extensions, trailers), 100
Continue, an answer read until close, a websocket (frames both ways, a
fragmented text message), an upstream that refuses; every byte must arrive
unchanged both ways, and the record must hold the exchanges with tokens,
passwords and session tokens redacted.  Bad arguments exit 2.

validator: records made up to break one rule each (an unknown path, a
missing method, a bad uuid, no token, wrong body types, unknown and missing
fields, enums, an undeclared status, an error without codersdk.Response, a
websocket on a route without one, bad log messages, the bypass header on
the wrong client, a count off by one) must each give exactly the violation
meant, and a valid record none.

Prints "ok - ..." / "not ok - ..." lines without numbers (the test numbers
them); exits 1 when any check failed.
"""
import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True     # no __pycache__ beside the sources
sys.path.insert(0, HERE)
FAILED = 0


def ok(cond, name, detail=""):
    """One check line."""
    global FAILED
    if cond:
        print(f"ok - {name}")
    else:
        FAILED += 1
        print(f"not ok - {name}")
        for line in str(detail).splitlines():
            print(f"#   {line}")
    return cond


def fp(token):
    """A token as proxy.py records it."""
    return "<redacted sha256:%s>" % hashlib.sha256(token.encode()).hexdigest()[:12]


# --- proxy -------------------------------------------------------------------

def read_until(sock, marker, buf=b""):
    """Bytes from SOCK up to and including MARKER; (head, rest)."""
    while marker not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError(f"closed before {marker!r}: {buf!r}")
        buf += chunk
    i = buf.index(marker) + len(marker)
    return buf[:i], buf[i:]


def read_n(sock, n, buf=b""):
    """Exactly N bytes (with BUF first); (data, rest)."""
    while len(buf) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError(f"closed with {n - len(buf)} bytes missing")
        buf += chunk
    return buf[:n], buf[n:]


def read_all(sock):
    """Everything until the peer closes."""
    out = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return out
        out += chunk


def ws_frame(opcode, payload, fin=True, mask=None):
    """One websocket frame."""
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    m = 0x80 if mask else 0
    head = struct.pack("!BB", b0, m | n) if n < 126 else struct.pack("!BBH", b0, m | 126, n)
    if mask:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        return head + mask + payload
    return head + payload


# What the client sends and the upstream answers, connection by connection.
TOKEN = "s3cret-owner-token"
MEMBER = "member-token-123"
REQ1 = (b"GET /api/v2/users/me?q=a%20b&follow HTTP/1.1\r\nHost: x\r\nCoder-Session-Token: " + TOKEN.encode()
        + b"\r\nX-Coder-Bypass-Ratelimit: true\r\n\r\n")
RES1 = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"id": "abc"}'
BODY2 = b'{"email":"a@b","password":"hunter2"}'
REQ2 = (b"POST /api/v2/users/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(BODY2)).encode() + b"\r\n\r\n" + BODY2)
CHUNK2 = b'sion_token": "' + MEMBER.encode() + b'"}'
RES2 = (b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        b"Set-Cookie: coder_session_token=" + MEMBER.encode() + b"; Path=/\r\n\r\n"
        b"5;ext=1\r\n{\"ses\r\n" + b"%x\r\n" % len(CHUNK2) + CHUNK2 + b"\r\n0\r\nX-Trailer: t\r\n\r\n")
REQ3 = (b"POST /api/v2/users HTTP/1.1\r\nHost: x\r\nCookie: a=1; coder_session_token=" + TOKEN.encode()
        + b"\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
        b"4\r\n{\"a\"\r\n4\r\n: 1}\r\n0\r\n\r\n")
RES3 = b"HTTP/1.1 204 No Content\r\n\r\n"
HEAD4 = (b"POST /api/v2/users HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n"
         b"Content-Type: application/json\r\n\r\n")
RES4 = b"HTTP/1.1 100 Continue\r\n\r\n"
RES4B = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close, no length"
WSREQ = (b"GET /api/v2/workspacebuilds/x/logs?follow HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
         b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
WSRES = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
WS_SERVER = (ws_frame(1, b'{"n": 1}') + ws_frame(1, b'{"n"', fin=False) + ws_frame(0, b": 2}")
             + ws_frame(9, b"") + ws_frame(2, b"\x00\x01") + ws_frame(8, struct.pack("!H", 1000) + b"bye"))
WS_CLIENT = ws_frame(1, b"hello", mask=b"\x01\x02\x03\x04") + ws_frame(8, struct.pack("!H", 1000), mask=b"abcd")


class Upstream(threading.Thread):
    """A scripted server: each connection gets the next script; it keeps the bytes it read."""

    def __init__(self, scripts):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.scripts = list(scripts)
        self.got = []
        self.errors = []

    def run(self):
        for script in self.scripts:
            conn, _ = self.sock.accept()
            try:
                self.got.append(script(conn))
            except (OSError, EOFError) as e:
                self.errors.append(repr(e))
                self.got.append(None)
            finally:
                conn.close()


def up_keepalive(conn):
    """Two requests on one connection, then the chunked one."""
    a, rest = read_until(conn, b"\r\n\r\n")
    conn.sendall(RES1)
    b, rest = read_until(conn, b"\r\n\r\n", rest)
    body, rest = read_n(conn, len(BODY2), rest)
    conn.sendall(RES2)
    c, rest = read_until(conn, b"0\r\n\r\n", rest)
    conn.sendall(RES3)
    return a + b + body + c + rest


def up_continue(conn):
    """100 Continue, then the body, then an answer read until close."""
    head, rest = read_until(conn, b"\r\n\r\n")
    conn.sendall(RES4)
    body, rest = read_n(conn, 2, rest)
    conn.sendall(RES4B)
    return head + body + rest


def up_ws(conn):
    """A websocket: 101, the server's frames; then what the client sends, to its close."""
    head, rest = read_until(conn, b"\r\n\r\n")
    conn.sendall(WSRES + WS_SERVER)
    frames, _ = read_n(conn, len(WS_CLIENT), rest)
    return head + frames


def start_proxy(upstream_url, record, extra=()):
    """proxy.py on port 0; (process, port)."""
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "proxy.py"), "--upstream", upstream_url,
                          "--port-file", "-", "--record", record, *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    return p, int(line) if line.strip().isdigit() else None


def stop_proxy(p):
    """SIGTERM, then its exit status and stderr."""
    p.terminate()
    _, err = p.communicate(timeout=30)
    return p.returncode, err


def proxy_checks(tmp):
    """The proxy end to end against the scripted upstream."""
    up = Upstream([up_keepalive, up_continue, up_ws])
    up.start()
    record = os.path.join(tmp, "rec.jsonl")
    p, port = start_proxy(f"http://127.0.0.1:{up.port}", record, ["--ws-text", "1"])
    if not ok(port, "proxy.py --port-file - prints the port it bound"):
        return
    c = socket.create_connection(("127.0.0.1", port), timeout=20)
    c.sendall(REQ1)
    r1, rest = read_n(c, len(RES1))
    c.sendall(REQ2)
    r2, rest = read_n(c, len(RES2), rest)
    c.sendall(REQ3)
    r3, rest = read_n(c, len(RES3), rest)
    ok((r1, r2, r3) == (RES1, RES2, RES3), "three answers on one kept-alive connection, byte for byte "
       "(Content-Length, chunked with an extension and a trailer, 204)", repr((r1, r2, r3)))
    c.close()
    c = socket.create_connection(("127.0.0.1", port), timeout=20)
    c.sendall(HEAD4)
    interim, rest = read_n(c, len(RES4))
    c.sendall(b"{}")
    final = rest + read_all(c)
    ok(interim == RES4 and final == RES4B, "100 Continue reaches the client before it sends the body; "
       "an answer without a length is read until close", repr((interim, final)))
    c.close()
    c = socket.create_connection(("127.0.0.1", port), timeout=20)
    c.sendall(WSREQ)
    got, rest = read_n(c, len(WSRES) + len(WS_SERVER))
    c.sendall(WS_CLIENT)
    c.shutdown(socket.SHUT_WR)
    tail = rest + read_all(c)
    ok(got == WSRES + WS_SERVER and tail == b"", "websocket: the 101 and the server's frames arrive unchanged",
       repr(got))
    c.close()
    up.join(20)
    sent = [REQ1 + REQ2 + REQ3, HEAD4 + b"{}", WSREQ + WS_CLIENT]
    ok(up.got == sent, "the upstream got every byte the client sent, unchanged and in order",
       f"{up.got!r}\n{up.errors}")
    rc, err = stop_proxy(p)
    ok(rc == 0 and err == "", "SIGTERM: exit 0, nothing on stderr", f"{rc} {err}")
    recs = [json.loads(line) for line in open(record)]
    recs.sort(key=lambda r: r["seq"])
    ok(len(recs) == 5, "five exchanges recorded", json.dumps(recs)[:500])
    if len(recs) != 5:
        return
    r = recs[0]
    ok(r["method"] == "GET" and r["path"] == "/api/v2/users/me" and r["query"] == {"q": ["a b"], "follow": [""]}
       and r["status"] == 200 and r["response_body"] == {"id": "abc"}, "the GET: path, parsed query, status, "
       "JSON body", json.dumps(r))
    hdrs = dict((k.lower(), v) for k, v in r["request_headers"])
    ok(hdrs["coder-session-token"] == fp(TOKEN) and TOKEN not in json.dumps(recs),
       "the Coder-Session-Token is recorded as its fingerprint, never in the clear", hdrs)
    r = recs[1]
    ok(r["request_body"] == {"email": "a@b", "password": "<redacted>"}
       and r["response_body"] == {"session_token": fp(MEMBER)}
       and dict(r["response_headers"])["Set-Cookie"] == f"coder_session_token={fp(MEMBER)}; Path=/"
       and MEMBER not in json.dumps(recs) and "hunter2" not in json.dumps(recs),
       "the login: password redacted, session token (body and Set-Cookie) recorded as its fingerprint; "
       "a chunked answer recorded whole", json.dumps(r))
    r = recs[2]
    ok(r["request_body"] == {"a": 1} and dict(r["request_headers"])["Cookie"] == f"a=1; coder_session_token={fp(TOKEN)}"
       and r["status"] == 204, "a chunked request body recorded whole; the token cookie redacted", json.dumps(r))
    r = recs[3]
    ok(r["status"] == 200 and r["response_body"] == "until close, no length" and r["request_body"] == {},
       "after 100 Continue the final status and the body read until close", json.dumps(r))
    w = recs[4].get("ws") or {}
    ok(recs[4]["websocket"] and recs[4]["status"] == 101 and w.get("server_messages") == 3
       and w.get("server_text") == ['{"n": 1}'] and w.get("server_binary") == 1
       and w.get("server_close_code") == 1000 and w.get("server_close_reason") == "bye"
       and w.get("client_messages") == 1 and w.get("client_close_code") == 1000 and w.get("pings") == 1,
       "the websocket: messages counted (a fragmented one once), the first --ws-text 1 text kept, close codes",
       json.dumps(recs[4]))
    # an upstream that refuses: the client's connection is closed, the record says why
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_port = dead.getsockname()[1]
    dead.close()                # nothing listens there now
    record2 = os.path.join(tmp, "rec2.jsonl")
    p, port = start_proxy(f"http://127.0.0.1:{dead_port}", record2)
    c = socket.create_connection(("127.0.0.1", port), timeout=20)
    c.sendall(REQ1)
    ok(read_all(c) == b"", "an upstream that refuses: the client's connection is closed, nothing sent")
    c.close()
    stop_proxy(p)
    recs = [json.loads(line) for line in open(record2)]
    ok(len(recs) == 1 and recs[0]["error"].startswith("upstream: "), "... and the record says upstream: WHY",
       json.dumps(recs))
    for args, want in ((["--upstream", "https://x:1/api"], "proxy: --upstream: 'https://x:1/api' is not "
                        "http://HOST:PORT"),
                       (["--upstream", "http://127.0.0.1:1", "--listen", "nowhere"],
                        "proxy: --listen: 'nowhere' is not HOST:PORT"),
                       (["--upstream", "http://127.0.0.1:1", "--record", os.path.join(tmp, "no/such/file")],
                        "proxy: --record")):
        cmd = [sys.executable, os.path.join(HERE, "proxy.py"), "--port-file", os.path.join(tmp, "port"),
               "--record", record2] + args
        q = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        code = 1 if "--record" in args else 2
        ok(q.returncode == code and q.stderr.startswith(want), f"bad {args[-2]}: exit {code}, says {want!r}",
           f"{q.returncode} {q.stderr}")


# --- validator ---------------------------------------------------------------

U1 = "11111111-1111-4111-8111-111111111111"
ORG = "22222222-2222-4222-8222-222222222222"
B1 = "33333333-3333-4333-8333-333333333333"
W1 = "44444444-4444-4444-8444-444444444444"
NOW = "2026-01-02T03:04:05.123456Z"


def rec(method, path, status=200, query=None, token=TOKEN, body=None, answer=None, headers=(), ws=None,
        bypass=False):
    """A record as proxy.py writes it."""
    h = [["Host", "x"]]
    if token:
        h.append(["Coder-Session-Token", fp(token)])
    if bypass:
        h.append(["X-Coder-Bypass-Ratelimit", "true"])
    if body is not None:
        h.append(["Content-Type", "application/json"])
    h += [list(x) for x in headers]
    r = {"seq": 0, "conn": 1, "t_start": 0, "t_end": 0, "method": method, "path": "/api/v2" + path,
         "query": query or {}, "request_headers": h, "status": status,
         "response_headers": [["Content-Type", "application/json"]] if answer is not None else [],
         "request_body": body, "request_body_bytes": len(json.dumps(body)) if body is not None else 0,
         "response_body": answer, "response_body_bytes": len(json.dumps(answer)) if answer is not None else 0,
         "websocket": status == 101}
    if ws is not None:
        r["ws"] = ws
    return r


USER = {"id": U1, "username": "admin", "email": "a@b.c", "created_at": NOW, "organization_ids": [ORG],
        "roles": [{"name": "owner", "display_name": "Owner", "organization_id": ""}], "status": "active",
        "login_type": "password", "avatar_url": "", "name": "", "last_seen_at": NOW, "updated_at": NOW,
        "theme_preference": ""}
LOG = {"id": 1, "created_at": NOW, "log_level": "info", "log_source": "provisioner", "stage": "x", "output": "y"}
CASES = [
    # (what breaks, record, the violation expected; None: valid)
    ("a valid GET /users/me", rec("GET", "/users/me", answer=USER), None),
    ("an unknown path", rec("GET", "/nope"), "no path of swagger.json matches /api/v2/nope"),
    ("a path outside basePath", rec("GET", "/../metrics"), "no path of swagger.json matches"),
    ("a method the path lacks", rec("PUT", "/users/login"), "/users/login has no PUT in swagger.json"),
    ("a path parameter that is not a uuid", rec("GET", "/workspaces/12", 404, answer={"message": "x"}),
     "path parameter workspace: '12' is not a uuid"),
    ("no token where the operation needs one", rec("GET", "/users/me", token=None, answer=USER),
     "no session token"),
    ("a body field of the wrong type", rec("POST", "/users/login", 201, token=None,
                                           body={"email": 5, "password": "p"}, answer={"session_token": "t"}),
     "request body.email: expected a string, got integer"),
    ("a body field swagger does not have", rec("POST", "/users/login", 201, token=None,
                                                body={"email": "e", "password": "p", "otp": 1},
                                                answer={"session_token": "t"}),
     "request body: field 'otp' is not in the schema"),
    ("a required body field missing", rec("POST", "/users/login", 201, token=None, body={"email": "e"},
                                          answer={"session_token": "t"}),
     "request body: required field 'password' is missing"),
    ("an enum value swagger does not list", rec("POST", f"/workspaces/{W1}/builds", 400,
                                                body={"transition": "explode"}, answer={"message": "x"}),
     "request body.transition: 'explode' is not one of ['start', 'stop', 'delete']"),
    ("a body where the operation takes none", rec("GET", "/users/me", body={"x": 1}, answer=USER),
     "body, but the operation takes none"),
    ("a query parameter that is not an integer", rec("GET", "/workspaces", query={"limit": ["ten"]},
                                                     answer={"workspaces": [], "count": 0}),
     "query parameter limit: 'ten' is not an integer"),
    ("a status the operation does not declare", rec("GET", "/users/me", 202, answer=USER),
     "status 202 is not declared (declared: 200)"),
    ("an error status without a codersdk.Response", rec("GET", "/users/me", 500, answer={"error": "x"}),
     "status 500 without a codersdk.Response body"),
    ("a valid error answer", rec("GET", "/users/me", 404, answer={"message": "Not found.", "detail": "x"}), None),
    ("an answer field of the wrong type", rec("GET", "/users/me", answer={**USER, "roles": "owner"}),
     "response body.roles: expected an array, got string"),
    ("an answer missing a required field", rec("GET", "/users/me", answer={k: v for k, v in USER.items()
                                                                         if k != "email"}),
     "response body: required field 'email' is missing"),
    ("a required answer field that is null", rec("GET", "/users/me", answer={**USER, "username": None}),
     "response body.username: null, but the field is required"),
    ("a nested enum, through $ref and allOf", rec("GET", "/users/me", answer={
        **USER, "status": "asleep"}), "response body.status: 'asleep' is not one of ['active', 'suspended']"),
    ("a time that is not RFC 3339", rec("GET", "/users/me", answer={**USER, "created_at": "yesterday"}),
     "response body.created_at: 'yesterday' is not an RFC 3339 time"),
    ("201 where swagger says 200 (coderd's real status: accepted)", rec(
        "POST", f"/workspaces/{W1}/builds", 201, body={"transition": "delete"}, answer=None),
     "status 201: an empty body where swagger.json declares one"),
    ("the logs websocket (?follow) with valid messages", rec(
        "GET", f"/workspacebuilds/{B1}/logs", 101, query={"follow": [""]},
        ws={"server_text": [json.dumps(LOG)], "server_binary": 0}), None),
    ("a log message of the wrong shape", rec(
        "GET", f"/workspacebuilds/{B1}/logs", 101, query={"follow": [""]},
        ws={"server_text": [json.dumps({**LOG, "log_level": "loud"})], "server_binary": 0}),
     "websocket message 0.log_level: 'loud' is not one of"),
    ("a websocket without ?follow on a route that has none", rec(
        "GET", f"/workspacebuilds/{B1}/logs", 101, ws={"server_text": [], "server_binary": 0}),
     "status 101 is not declared (declared: 200)"),
    ("the terminal websocket (declared 101)", rec(
        "GET", f"/workspaceagents/{B1}/pty", 101, query={"reconnect": [B1], "width": ["80"]},
        ws={"server_text": [], "server_binary": 3}), None),
]


def validator_checks(swagger_path):
    """Each made-up record against the checker: exactly the violation meant."""
    import swagger as sw
    s = sw.Swagger(swagger_path)
    for name, r, want in CASES:
        tpl, op, problems = s.check_request(r)
        if op is not None:
            problems = problems + s.check_response(r, tpl, op)
        if want is None:
            ok(problems == [], f"validator: {name}: no violation", problems)
        else:
            ok(len(problems) == 1 and want in problems[0], f"validator: {name}: {want!r}", problems)
    ok(("post", "/workspaces/{workspace}/builds", 201) in s.errata_used, "validator: the 201 erratum is counted")
    client_checks(swagger_path)


def client_checks(swagger_path):
    """The client rules and a count row, through validate.py on a made-up run."""
    with tempfile.TemporaryDirectory(prefix="selftest.") as tmp:
        client_run(swagger_path, tmp)


def client_run(swagger_path, tmp):
    """client_checks in folder TMP."""
    tok = os.path.join(tmp, "token")
    with open(tok, "w") as f:
        f.write(TOKEN + "\n")
    member = {**USER, "id": "55555555-5555-4555-8555-555555555555", "username": "scaletest-abc-0",
              "email": "abc-0@scaletest.local", "roles": []}
    ws = {"id": W1, "name": "scaletest-xyz-0", "owner_id": member["id"], "latest_build": {"id": B1}}
    run = [rec("GET", "/users/me", answer=USER),                               # setup: no bypass, right
           rec("POST", "/users", 201, body={"email": member["email"], "username": member["username"]},
               answer=member, bypass=True),                                    # owner runner: right
           rec("POST", "/users/login", 201, token=None, body={"email": member["email"], "password": "p"},
               answer={"session_token": fp(MEMBER)}, bypass=True),             # wrong: the login client
           rec("POST", f"/users/{member['id']}/workspaces", 201, token=MEMBER, answer=ws),
           rec("DELETE", f"/users/{member['id']}", token=TOKEN)]               # wrong: no bypass
    for i, r in enumerate(run):
        r["seq"], r["t_start"] = i + 1, float(i)
    record = os.path.join(tmp, "rec.jsonl")
    with open(record, "w") as f:
        for r in run:
            f.write(json.dumps(r) + "\n")
    table = os.path.join(tmp, "table")
    with open(table, "w") as f:
        f.write("t | GET | /users/me | owner-setup | run | 1 | requireAdmin\n"
                "t | POST | /users | owner | workspace | 1 | createusers\n"
                "t | POST | /users/login | none | workspace | 1 | createusers\n"
                "t | POST | /users/{user}/workspaces | member | workspace | 2 | made up: one too many\n"
                "t | DELETE | /users/{user} | owner | workspace | 1 | createusers Cleanup\n")
    q = subprocess.run([sys.executable, os.path.join(HERE, "validate.py"), "--swagger", swagger_path,
                        "--record", record, "--owner-token-file", tok, "--table", table, "--scenario", "t"],
                       capture_output=True, text=True, timeout=60)
    out = q.stdout
    ok(q.returncode == 1, "validate.py: exit 1 when a check fails", out + q.stderr)
    ok("not ok - X-Coder-Bypass-Ratelimit: true exactly on the owner's runner client (2 requests otherwise)" in out
       and "POST /users/login (none client): 1 requests (seq 3) send X-Coder-Bypass-Ratelimit" in out
       and "DELETE /users/{user} (owner client): 1 requests (seq 5) lack X-Coder-Bypass-Ratelimit" in out,
       "validate.py: the bypass header on the login client and its absence on the owner's runner are both found",
       out)
    ok("not ok - POST /users/{user}/workspaces (member) per workspace = 2" in out
       and "expected 2, got 1 in 1 of 1 workspaces (scaletest-xyz-0)" in out
       and "ok - POST /users (owner) per workspace = 1" in out and "ok - GET /users/me (owner-setup) per run = 1"
       in out, "validate.py: a count row off by one says which row, expected and got", out)
    ok("ok - each request carries the token of a client Coder has" in out,
       "validate.py: the member's token is told from the owner's", out)
    # a record with a connection that broke: reported, not a crash
    broken = os.path.join(tmp, "broken.jsonl")
    with open(broken, "w") as f:
        f.write(json.dumps({"conn": 5, "t_start": 1.0, "error": "EOFError: upstream closed before answering"}) + "\n")
        f.write(json.dumps(run[0]) + "\n")
    q = subprocess.run([sys.executable, os.path.join(HERE, "validate.py"), "--swagger", swagger_path,
                        "--record", broken], capture_output=True, text=True, timeout=60)
    ok(q.returncode == 1 and "not ok - 2 exchanges recorded, 0 of them websockets, 1 broken" in q.stdout
       and "#   conn 5: EOFError: upstream closed before answering" in q.stdout and q.stderr == "",
       "validate.py: a connection that broke is reported as broken", q.stdout + q.stderr)
    # its usage errors: exit 2 with a message; a bad table: exit 1 naming the line
    base = [sys.executable, os.path.join(HERE, "validate.py"), "--swagger", swagger_path, "--record", record]
    bad_table = os.path.join(tmp, "bad")
    with open(bad_table, "w") as f:
        f.write("t | GET | /users/me | owner-setup | run | 1\n")
    for args, code, want in (
            (["--table", table], 2, "--table and --scenario go together"),
            (["--table", table, "--scenario", "t"], 2, "--table needs --owner-token-file"),
            (["--owner-token-file", tok, "--table", table, "--scenario", "t", "--var", "count"], 2,
             "--var 'count': NAME=INTEGER"),
            (["--owner-token-file", tok, "--table", table, "--scenario", "nosuch"], 1,
             f"validate.py: {table}: no rows for scenario 'nosuch'"),
            (["--owner-token-file", tok, "--table", bad_table, "--scenario", "t"], 1,
             f"validate.py: {bad_table}:1: 6 fields, wanted 7")):
        q = subprocess.run(base + args, capture_output=True, text=True, timeout=60)
        ok(q.returncode == code and want in q.stderr,
           f"validate.py: exit {code}, {want.replace(tmp + '/', '')!r}", f"{q.returncode} {q.stderr}")


def main():
    """Run the section named on the command line."""
    if len(sys.argv) != 3 or sys.argv[1] not in ("proxy", "validator"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(2)
    if sys.argv[1] == "proxy":
        with tempfile.TemporaryDirectory(prefix="selftest.") as tmp:
            proxy_checks(tmp)
    else:
        validator_checks(sys.argv[2])
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
