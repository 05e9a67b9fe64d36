#!/usr/bin/env python3
"""A stdlib-only load check of coder-standin: N concurrent workspace lifecycles
the way Coder's scale test runs them (create user, log in, create workspace,
poll the build while it is pending, follow its logs over the websocket to the
close and GET it once more (scaletest/workspacebuild/run.go), wait for the
agent, `echo hello` over the PTY websocket, delete the workspace the same way,
delete the user), each on its own connection, all at once.  The owner's calls
carry X-Coder-Bypass-Ratelimit: true, the members' none, as Coder's clients.

usage: load.py URL TOKEN N
Start the stand-in with --dangerous-disable-rate-limits (N logins from one IP
exceed coderd's 60 a minute; Coder's docs say to disable the limits for a
scale test).  Prints counts, wall time, and the stand-in's CPU seconds and RSS
from /metrics.
"""
import asyncio
import base64
import json
import os
import re
import struct
import sys
import time
import urllib.parse


class Conn:
    def __init__(self, host, port, token):
        self.host, self.port, self.token = host, port, token
        self.r = self.w = None

    async def open(self):
        self.r, self.w = await asyncio.open_connection(self.host, self.port)

    async def call(self, method, path, body=None, token=None):
        if self.w is None:
            await self.open()
        data = json.dumps(body).encode() if body is not None else b""
        bypass = "" if token else "X-Coder-Bypass-Ratelimit: true\r\n"
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{bypass}"
                f"Coder-Session-Token: {token or self.token}\r\nContent-Length: {len(data)}\r\n\r\n")
        self.w.write(head.encode() + data)
        status = int((await self.r.readline()).split()[1])
        length = 0
        while True:
            line = await self.r.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.decode().partition(":")
            if k.lower() == "content-length":
                length = int(v)
        payload = await self.r.readexactly(length) if length else b""
        return status, (json.loads(payload) if payload else None)

    async def pty(self, agent, token, command):
        q = urllib.parse.quote(command)
        return await self.websocket(f"/api/v2/workspaceagents/{agent}/pty?reconnect=00000000-0000-4000-8000-000000000001"
                                    f"&width=80&height=24&command={q}", token)

    async def websocket(self, path, token):
        """Every payload of the websocket at PATH up to its close; None when refused."""
        r, w = await asyncio.open_connection(self.host, self.port)
        key = base64.b64encode(os.urandom(16)).decode()
        w.write((f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                 f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                 f"Coder-Session-Token: {token}\r\n\r\n").encode())
        status = (await r.readline()).decode()
        while (await r.readline()) not in (b"\r\n", b""):
            pass
        out = b""
        if " 101 " not in status:
            w.close()
            if os.environ.get("LOAD_DEBUG"):
                print("refused:", path, status.strip(), file=sys.stderr)
            return None
        while True:
            h = await r.readexactly(2)
            n = h[1] & 0x7F
            if n == 126:
                n = struct.unpack("!H", await r.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", await r.readexactly(8))[0]
            p = await r.readexactly(n)
            if h[0] & 0x0F == 0x8:
                w.close()
                return out
            out += p


async def build(c, b, ut, stats):
    """Poll build B while pending, follow its logs to the close, GET it once more."""
    while b["job"]["status"] == "pending":
        await asyncio.sleep(0.5)
        st, b = await c.call("GET", f"/api/v2/workspacebuilds/{b['id']}", token=ut)
    logs = await c.websocket(f"/api/v2/workspacebuilds/{b['id']}/logs?follow", ut)
    if logs is None:
        stats["log_refused"] += 1
    else:
        stats["log_lines"] += logs.count(b"\n")
    st, b = await c.call("GET", f"/api/v2/workspacebuilds/{b['id']}", token=ut)
    return b


async def lifecycle(host, port, owner, tid, i, stats, sem):
    tag = f"{os.getpid() % 10000:04d}"
    name = f"scaletest-ld{tag}-{i}"
    c = Conn(host, port, owner)
    st, u = await c.call("POST", "/api/v2/users", {"email": f"ld{tag}-{i}@scaletest.local", "username": name,
                                                  "password": "Sc4le-test-pass!"})
    st, js = await c.call("POST", "/api/v2/users/login", {"email": f"ld{tag}-{i}@scaletest.local",
                                                           "password": "Sc4le-test-pass!"})
    ut = js["session_token"]
    st, w = await c.call("POST", "/api/v2/users/me/workspaces", {"template_id": tid, "name": name}, token=ut)
    b = await build(c, w["latest_build"], ut, stats)
    agent = None
    while True:
        st, ws = await c.call("GET", f"/api/v2/workspaces/{w['id']}", token=ut)
        ags = [a for r in ws["latest_build"]["resources"] for a in r["agents"]]
        if ags and all(a["status"] == "connected" for a in ags):
            agent = ags[0]["id"]
            break
        await asyncio.sleep(1)
    async with sem:
        out = await c.pty(agent, ut, "echo hello")
    stats["pty_ok" if out and b"hello" in out else "pty_bad"] += 1
    st, d = await c.call("POST", f"/api/v2/workspaces/{w['id']}/builds", {"transition": "delete"}, token=ut)
    await build(c, d, ut, stats)
    st, _ = await c.call("DELETE", f"/api/v2/users/{u['id']}")
    stats["done" if st == 200 else "bad"] += 1
    c.w.close()


async def main():
    url, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    u = urllib.parse.urlsplit(url)
    c = Conn(u.hostname, u.port, token)
    st, t = await c.call("GET", "/api/v2/organizations/default/templates/docker")
    stats = {"done": 0, "bad": 0, "pty_ok": 0, "pty_bad": 0, "log_lines": 0, "log_refused": 0}
    sem = asyncio.Semaphore(500)  # PTYs at once: each is a real shell
    t0 = time.time()
    res = await asyncio.gather(*(lifecycle(u.hostname, u.port, token, t["id"], i, stats, sem) for i in range(n)),
                               return_exceptions=True)
    errs = [r for r in res if isinstance(r, Exception)]
    import collections, traceback
    where = collections.Counter()
    for e in errs:
        tb = traceback.extract_tb(e.__traceback__)
        where[f"{type(e).__name__} at line {[f.lineno for f in tb if f.name == 'lifecycle'][-1:]}"] += 1
    if where:
        print("client errors by place:", dict(where))
    wall = time.time() - t0
    r, w = await asyncio.open_connection(u.hostname, u.port)
    w.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    text = (await r.read()).decode()
    cpu = re.search(r"^process_cpu_seconds_total (\S+)", text, re.M).group(1)
    rss = int(float(re.search(r"^process_resident_memory_bytes (\S+)", text, re.M).group(1)))
    print(f"{n} lifecycles at once: {stats['done']} done, {stats['pty_ok']} PTY hello, "
          f"{stats['log_lines']} log lines followed ({stats['log_refused']} follows refused), "
          f"{len(errs)} client errors {errs[:2]}; wall {wall:.1f}s; "
          f"stand-in CPU {float(cpu):.2f}s, RSS {rss / 1e6:.0f} MB")


asyncio.run(main())
