#!/usr/bin/env python3
"""The stand-in's rate limits against coderd's (stdlib only).

usage: ratelimit_test.py SECTION URL TOKEN
SECTION: defaults (a stand-in with coderd's limits: API 512, login 60),
login (the same, on a stand-in of its own), small (--api-rate-limit 3), raised (--login-rate-limit 200), off
(--dangerous-disable-rate-limits) or api-off (--api-rate-limit 0).

Why the checks cannot race the clock: the window is a wall-clock minute and
the rate httprate's sliding formula, prev * (60s - elapsed) / 60s + cur, where
prev counts the minute before.  A fresh key has prev = 0, and the rate never
exceeds the requests counted so far, so the first LIMIT requests of a new
key always pass, whenever the minute turns.  Past them, a burst that crosses
a minute's end gets back at most prev * elapsed / 60s <= LIMIT more passes
in the 60 s that follow; so of 2 * LIMIT + 1 requests made within a minute at
least one is refused, however the minute falls.  The checks count requests,
never time.
"""
import http.client
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test  # noqa: E402
from api_test import Api, ok, valid, make_user, template_id, wait_for  # noqa: E402
import wsclient  # noqa: E402

NOT_OWNER = b'"X-Coder-Bypass-Ratelimit" provided but user is not owner\n'


def limited_msg(n):
    return f"You've been rate limited for sending more than {n} requests in 1m0s."


def member(api, name):
    """A new member and an Api with its session token."""
    st, u = make_user(api, name)
    assert st == 201, (st, u)
    tok = api_test.login(api, name)
    assert tok, name
    return u, Api(f"http://{api.host}:{api.port}", tok)


def burst(api, path, limit, token="default", headers=None, method="GET"):
    """Requests to PATH until the first 429, at most 2 * LIMIT + 1 (see the
    module's note).  Returns (statuses before it, the refusal or None)."""
    seen = []
    for _ in range(2 * limit + 1):
        st, hdrs, body = api.request(method, path, token=token, headers=headers)
        if st == 429:
            return seen, (st, hdrs, body)
        seen.append((st, hdrs))
    return seen, None


def check_refusal(refusal, limit, what):
    ok(refusal is not None, f"{what}: refused with 429 within 2 x {limit} + 1 requests")
    if refusal is None:
        return
    _, h, body = refusal
    js = json.loads(body)
    ok(js == {"message": limited_msg(limit)}, f"{what}: 429 body is coderd's message", repr(js))
    valid(js, "codersdk.Response", f"{what}: the 429 body")
    now = time.time()
    reset = int(h.get("x-ratelimit-reset", "0"))
    ok(h.get("x-ratelimit-limit") == str(limit) and int(h.get("x-ratelimit-remaining", "1")) <= 0,
       f"{what}: X-RateLimit-Limit {limit}, X-RateLimit-Remaining <= 0", repr(h))
    ok(h.get("retry-after") == "60", f"{what}: Retry-After: 60", repr(h.get("retry-after")))
    ok(reset % 60 == 0 and now - 1 <= reset <= now + 61, f"{what}: X-RateLimit-Reset is the end of this minute",
       f"{reset} vs now {now:.0f}")


# ---------------------------------------------------------------- defaults

def defaults(api):
    _, alice = member(api, "scaletest-rl000001")
    _, bob = member(api, "scaletest-rl000002")

    st, h, _ = alice.request("GET", "/api/v2/users/me")
    ok(st == 200 and h.get("x-ratelimit-limit") == "512" and h.get("x-ratelimit-remaining") == "511",
       "a member's first call: X-RateLimit-Limit 512, Remaining 511 (coderd's default --api-rate-limit)", repr(h))
    seen, refusal = burst(alice, "/api/v2/users/me", 512)
    passed = len(seen) + 1
    ok(passed >= 512 and all(s == 200 for s, _ in seen), f"the first 512 calls of a user to one path pass ({passed} did)")
    check_refusal(refusal, 512, "a member over 512 a minute on GET /users/me")
    st, js = alice.call("GET", "/api/v2/organizations")
    ok(st == 200, "the same member on another path still passes (the key is user and path)")
    st, js = bob.call("GET", "/api/v2/users/me")
    ok(st == 200, "another member on the same path still passes")

    # the bypass header: refused from a member, whatever true it says
    for v in ("true", "1", "t", "T", "TRUE", "True"):
        st, h, body = bob.request("GET", "/api/v2/users/me", headers={"X-Coder-Bypass-Ratelimit": v})
        ok(st == 428 and body == NOT_OWNER and h.get("content-type") == "text/plain; charset=utf-8"
           and "x-ratelimit-limit" not in h,
           f"X-Coder-Bypass-Ratelimit: {v} from a member: 428, text/plain, coderd's words, no X-RateLimit headers",
           f"{st} {body!r} {h}")
    for v in ("false", "0", "yes", "on"):
        st, h, _ = bob.request("GET", "/api/v2/users/me", headers={"X-Coder-Bypass-Ratelimit": v})
        ok(st == 200 and h.get("x-ratelimit-limit") == "512",
           f"X-Coder-Bypass-Ratelimit: {v} is not true to Go's ParseBool: counted as usual", f"{st} {h}")
    st, h, body = api.request("GET", "/api/v2/users/me", token="not-a-real-token",
                              headers={"X-Coder-Bypass-Ratelimit": "true"})
    ok(st == 401 and h.get("x-ratelimit-limit") == "512",
       "an invalid token with the header: keyed by IP, the header not looked at, then 401", f"{st} {h}")
    st, h, _ = api.request("GET", "/api/v2/users/me", token=None)
    ok(st == 401 and h.get("x-ratelimit-limit") == "512", "no token: counted by IP too, then 401", f"{st} {h}")

    # the owner with the header is not limited; without it the owner is limited like anyone
    codes = set()
    rem = set()
    for _ in range(600):
        st, h, _ = api.request("GET", "/api/v2/users/me", headers={"X-Coder-Bypass-Ratelimit": "true"})
        codes.add(st)
        rem.add(h.get("x-ratelimit-remaining"))
    ok(codes == {200} and rem == {"511"},
       "the owner with X-Coder-Bypass-Ratelimit: true passes 600 calls on one path (each a fresh key)", f"{codes} {rem}")
    seen, refusal = burst(api, "/api/v2/templates", 512)
    ok(len(seen) + 1 >= 512, "the owner without the header: the first 512 pass")
    check_refusal(refusal, 512, "the owner without the header over 512")

    st, js = api.call("GET", "/api/v2/deployment/config")
    ok(st == 200 and js["config"]["rate_limit"] == {"api": 512, "disable_all": False},
       "deployment config: rate_limit api 512, disable_all false", repr(js["config"].get("rate_limit")))


# ---------------------------------------------------------------- login

def login(api):
    """On a stand-in of its own: no login has counted from this IP before."""
    # login: 60 a minute per IP, coderd's loginRateLimit
    for i in range(130):
        st, _ = make_user(api, f"scaletest-lg{i:06d}")
        assert st == 201, st
    statuses = []
    refusal = None
    for i in range(121):
        st, h, body = api.request("POST", "/api/v2/users/login", token=None,
                                  body={"email": f"scaletest-lg{i:06d}@scaletest.local", "password": "Sc4le-test-pass!"})
        if st == 429:
            refusal = (st, h, body)
            break
        statuses.append((st, h.get("x-ratelimit-limit")))
    ok(len(statuses) >= 60 and all(s == (201, "60") for s in statuses[:60]),
       "the first 60 logins from one IP pass, with X-RateLimit-Limit 60 (the login limiter's)", repr(statuses[:3]))
    check_refusal(refusal, 60, "the 61st login in a minute")



# ---------------------------------------------------------------- small

def small(api):
    _, m = member(api, "scaletest-rl000003")
    seen, refusal = burst(m, "/api/v2/nosuch/route", 3)
    ok(all(s == 404 for s, _ in seen) and len(seen) >= 2,
       "requests to an unknown route are counted (404 until the limit)", repr([s for s, _ in seen]))
    check_refusal(refusal, 3, "an unknown route over --api-rate-limit 3")
    # websockets are counted: follow the logs of a finished build
    tid = template_id(api)
    st, w = m.call("POST", "/api/v2/users/me/workspaces", {"template_id": tid, "name": "rl-ws"})
    b = w["latest_build"]["id"]
    wait_for(lambda: m.call("GET", f"/api/v2/workspacebuilds/{b}")[1]["job"]["status"] == "succeeded")
    url = f"ws://{api.host}:{api.port}/api/v2/workspacebuilds/{b}/logs?follow"
    statuses = []
    refused = None
    for _ in range(7):
        s = wsclient.Stream(url, token=m.token)
        statuses.append(s.status.split(" ")[1])
        if not s.upgraded:
            refused = s
            break
        while s.recv(10)[0] != "close":
            pass
        s.close()
    ok(refused is not None and refused.status.split(" ")[1] == "429",
       "logs websocket upgrades are counted: refused with 429 before the upgrade", repr(statuses))
    if refused is not None:
        ok(json.loads(refused.body) == {"message": limited_msg(3)} and refused.headers.get("retry-after") == "60",
           "the refused upgrade has coderd's 429 body and Retry-After", repr(refused.body))
    # not limited: /metrics (outside /api/v2) and the stand-in's own test routes
    c = http.client.HTTPConnection(api.host, api.port, timeout=10)
    codes = []
    for _ in range(20):
        c.request("GET", "/metrics")
        r = c.getresponse()
        r.read()
        codes.append(r.status)
    ok(set(codes) == {200}, "GET /metrics is not under /api/v2: not limited (20 of 20 pass)")
    codes = [m.call("GET", "/api/v2/standin/hold")[0] for _ in range(20)]
    ok(set(codes) == {200}, "the stand-in's own /api/v2/standin/hold is not limited")


# ---------------------------------------------------------------- raised

def raised(api):
    for i in range(150):
        st, _ = make_user(api, f"scaletest-rs{i:06d}")
        assert st == 201, st
    codes = [api.call("POST", "/api/v2/users/login",
                      {"email": f"scaletest-rs{i:06d}@scaletest.local", "password": "Sc4le-test-pass!"},
                      token=None)[0] for i in range(150)]
    ok(set(codes) == {201}, "--login-rate-limit 200: 150 logins in a minute from one IP pass", repr(sorted(set(codes))))


# ---------------------------------------------------------------- off

def off(api):
    _, m = member(api, "scaletest-rl000004")
    codes = set()
    headers = set()
    for _ in range(600):
        st, h, _ = m.request("GET", "/api/v2/users/me")
        codes.add(st)
        headers.add("x-ratelimit-limit" in h)
    ok(codes == {200} and headers == {False},
       "--dangerous-disable-rate-limits: 600 calls of a member on one path pass, no X-RateLimit headers")
    st, _, _ = m.request("GET", "/api/v2/users/me", headers={"X-Coder-Bypass-Ratelimit": "true"})
    ok(st == 200, "limits off: the bypass header from a member is not refused (no key function runs)", str(st))
    for i in range(100):
        make_user(api, f"scaletest-of{i:06d}")
    codes = [api.call("POST", "/api/v2/users/login",
                      {"email": f"scaletest-of{i:06d}@scaletest.local", "password": "Sc4le-test-pass!"},
                      token=None)[0] for i in range(100)]
    ok(set(codes) == {201}, "limits off: 100 logins in a minute pass")
    st, js = api.call("GET", "/api/v2/deployment/config")
    ok(js["config"]["rate_limit"] == {"api": -1, "disable_all": True},
       "deployment config: rate_limit api -1, disable_all true (as cli/server.go sets them)", repr(js["config"]["rate_limit"]))
    valid(js, "codersdk.DeploymentConfig", "deployment config")


# ---------------------------------------------------------------- api-off

def api_off(api):
    _, m = member(api, "scaletest-rl000005")
    st, h, _ = m.request("GET", "/api/v2/users/me", headers={"X-Coder-Bypass-Ratelimit": "true"})
    ok(st == 200 and "x-ratelimit-limit" not in h,
       "--api-rate-limit 0: no API limit, the bypass header from a member passes", f"{st} {h}")
    st, h, _ = api.request("POST", "/api/v2/users/login", token=None,
                           body={"email": "scaletest-rl000005@scaletest.local", "password": "Sc4le-test-pass!"})
    ok(st == 201 and h.get("x-ratelimit-limit") == "60", "... while logins keep their own limit of 60", f"{st} {h}")


def main():
    section, url, token = sys.argv[1:4]
    api = Api(url, token)
    {"defaults": defaults, "login": login, "small": small, "raised": raised, "off": off, "api-off": api_off}[section](api)
    print(f"1..{api_test.N}")
    return 1 if api_test.FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
