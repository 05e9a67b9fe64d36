#!/usr/bin/env python3
"""The stand-in's build logs against coderd's (stdlib only).

usage: logs_test.py SECTION URL TOKEN [METRICS_URL]
SECTION: follow (--daemons 1, a held build and a pending one), failed
(--fail-build 1), short (--build-log-lines 4), none (--build-log-lines 0),
none-failed (both).

What coderd does (coderd/provisionerjobs.go, provisionerJobLogs and
logFollower.follow): GET .../logs answers []ProvisionerJobLog after ?after;
with ?follow it is a websocket that sends the lines after ?after, then each
new one as it is written, one JSON object and a newline per text message
(wsjson.Encoder), and closes 1000 "done" when the job is complete, at once if
it already was.  Timings are only ever checked from below: a stand-in timer
never fires early.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test  # noqa: E402
from api_test import Api, ok, valid, hold, parse_time, template_id, wait_for  # noqa: E402
import swagger_check  # noqa: E402
import wsclient  # noqa: E402

GO_ORDER = ["id", "created_at", "log_source", "log_level", "stage", "output"]
START_STAGES = ["Setting up", "Planning infrastructure", "Starting workspace", "Cleaning Up"]


def follow(api, build_id, after=None, token=None):
    q = "follow" + (f"&after={after}" if after is not None else "")
    return wsclient.Stream(f"ws://{api.host}:{api.port}/api/v2/workspacebuilds/{build_id}/logs?{q}",
                           token=token or api.token)


def read_lines(s, count, timeout=30):
    """COUNT text messages from S (fewer when it closes or nothing comes in time)."""
    out = []
    while len(out) < count:
        m = s.recv(timeout)
        if m is None or m[0] != "text":
            break
        out.append(m[1])
    return out


def read_to_close(s, timeout=30):
    """Every text message up to the close, and the close (None when none came)."""
    out = []
    while True:
        m = s.recv(timeout)
        if m is None:
            return out, None
        if m[0] == "close":
            return out, m
        out.append(m[1])


def decode(msgs, what):
    """Messages as ProvisionerJobLog dicts; checks the message form once for WHAT."""
    form = all(m.endswith(b"\n") and m.count(b"\n") == 1 for m in msgs)
    order = all(list(json.loads(m).keys()) == GO_ORDER for m in msgs)
    ok(form and order, f"{what}: each text message is one JSON object and a newline, fields in Go's order",
       repr(msgs[:1]))
    logs = [json.loads(m) for m in msgs]
    problems = [p for lg in logs for p in swagger_check.check(lg, "codersdk.ProvisionerJobLog")]
    ok(not problems, f"{what}: every line matches codersdk.ProvisionerJobLog", "; ".join(problems[:3]))
    return logs


def gauge(metrics_url, name):
    import urllib.request
    text = urllib.request.urlopen(metrics_url, timeout=10).read().decode()
    m = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    return float(m.group(1)) if m else None, text


def new_workspace(api, name):
    st, w = api.call("POST", "/api/v2/users/me/workspaces", {"template_id": template_id(api), "name": name})
    assert st == 201, (st, w)
    return w


def finished(api, build_id):
    return wait_for(lambda: (lambda b: b if b["job"]["status"] not in ("pending", "running", "canceling") else None)(
        api.call("GET", f"/api/v2/workspacebuilds/{build_id}")[1]))


# ---------------------------------------------------------------- follow

def section_follow(api, metrics_url):
    hold(api, builds=True)
    a = new_workspace(api, "logs-a")["latest_build"]
    b = new_workspace(api, "logs-b")["latest_build"]
    ok(a["job"]["status"] == "running" and b["job"]["status"] == "pending", "--daemons 1: A runs, B waits")

    sb = follow(api, b["id"])
    ok(sb.upgraded, "?follow of a pending build: 101", sb.status)
    st, logs = api.call("GET", f"/api/v2/workspacebuilds/{b['id']}/logs")
    ok(st == 200 and logs == [], "GET logs of a pending build: []")
    ok(not sb.waiting(), "... and its socket has sent nothing")

    sa = follow(api, a["id"])
    during = read_lines(sa, 8)
    la = decode(during, "a running build's lines")
    ok([x["stage"] for x in la if x["log_source"] == "provisioner_daemon"] == START_STAGES[:3],
       "while it runs: Setting up, Planning infrastructure, Starting workspace", repr([x["stage"] for x in la]))
    ok(la and la[-1]["output"] == "docker_container.workspace[0]: Creating...", "... up to Creating...",
       repr(la[-1:]))
    spread = parse_time(la[-1]["created_at"]) - parse_time(la[0]["created_at"])
    ok(spread >= 0.55 * 0.4 - 0.01, f"the lines come over the build's time (first to Creating...: {spread:.3f}s of 0.4s)")
    ok(wait_for(lambda: api.call("GET", "/api/v2/standin/hold")[1]["held_builds"] == 1),
       "A's time is up and it is held")
    ok(not sa.waiting(), "held, A has written nothing more: no completion line on its socket")
    ws_now, _ = gauge(metrics_url, "coderd_api_concurrent_websockets")
    ok(ws_now == 2, "coderd_api_concurrent_websockets counts the two log followers", str(ws_now))

    hold(api, builds=False)
    rest, close = read_to_close(sa)
    lr = decode(rest, "A's last lines")
    ok(len(lr) == 3 and re.fullmatch(r"docker_container\.workspace\[0\]: Creation complete after \d+s", lr[0]["output"])
       and [x["output"] for x in lr[1:]] == ["Apply complete! Resources: 1 added, 0 changed, 0 destroyed.", ""]
       and lr[-1]["stage"] == "Cleaning Up",
       "let go, A ends: Creation complete, Apply complete, Cleaning Up", repr([x["output"] for x in lr]))
    ok(close == ("close", 1000, "done"), "then the socket closes 1000 \"done\", as coderd's follower", repr(close))
    all_a = la + lr
    ok([x["id"] for x in all_a] == sorted(x["id"] for x in all_a) and len(all_a) == 11,
       "11 lines, ids ascending")
    st, arr = api.call("GET", f"/api/v2/workspacebuilds/{a['id']}/logs")
    ok(arr == all_a, "GET logs (no follow) is the same list")

    bl, close = read_to_close(sb)
    lb = decode(bl, "B's lines")
    ok(len(lb) == 11 and [x["stage"] for x in lb if x["log_source"] == "provisioner_daemon"] == START_STAGES
       and close == ("close", 1000, "done"),
       "the pending build's socket got all its lines once it ran, then 1000 \"done\"", f"{len(lb)} {close}")
    ok(wait_for(lambda: gauge(metrics_url, "coderd_api_concurrent_websockets")[0] == 0),
       "closed, the websockets gauge is back to 0")
    _, text = gauge(metrics_url, "coderd_api_concurrent_websockets")
    m = re.search(r'^coderd_api_websocket_durations_seconds_count\{path="/api/v2/workspacebuilds/\{workspacebuild\}/logs"\} (\d+)',
                  text, re.M)
    ok(m and int(m.group(1)) >= 2, "coderd_api_websocket_durations_seconds counts the log websockets", m and m.group(0))

    # a finished build: everything at once, then the close
    s = follow(api, a["id"])
    msgs, close = read_to_close(s)
    ok([json.loads(x) for x in msgs] == all_a and close == ("close", 1000, "done"),
       "?follow of a finished build: every line, then 1000 \"done\" at once")
    cut = all_a[4]["id"]
    s = follow(api, a["id"], after=cut)
    msgs, close = read_to_close(s)
    ok([json.loads(x) for x in msgs] == [x for x in all_a if x["id"] > cut] and close[1] == 1000,
       f"?follow&after={cut}: only the lines after it")
    st, arr = api.call("GET", f"/api/v2/workspacebuilds/{a['id']}/logs?after={cut}")
    ok(arr == [x for x in all_a if x["id"] > cut], "GET logs?after=: only the lines after it")
    ok(api.call("GET", f"/api/v2/workspacebuilds/{a['id']}/logs?before={all_a[2]['id']}")[1] == all_a,
       "?before is not read (coderd's fetchAndWriteLogs takes after only)")
    st, js = api.call("GET", f"/api/v2/workspacebuilds/{a['id']}/logs?after=x1")
    ok(st == 400 and js == {"message": "Query param \"after\" must be an integer.",
                            "validations": [{"detail": "Must be an integer", "field": "after"}]},
       "?after that is not an integer: coderd's 400", repr(js))
    s = follow(api, a["id"], after="x1")
    ok(not s.upgraded and s.status.split(" ")[1] == "400", "... on the websocket too, before the upgrade", s.status)
    st, js = api.call("GET", f"/api/v2/workspacebuilds/{a['id']}/logs?follow")
    ok(st == 400 and js["message"] == "Failed to accept websocket.", "?follow without an upgrade: 400, as coderd", repr(js))
    s = wsclient.Stream(f"ws://{api.host}:{api.port}/api/v2/workspacebuilds/{a['id']}/logs", token=api.token)
    ok(not s.upgraded and s.status.split(" ")[1] == "200" and json.loads(s.body) == all_a,
       "an upgrade without ?follow: coderd answers the JSON array, not 101", s.status)

    # a delete build: the down script
    st, d = api.call("POST", f"/api/v2/workspaces/{a['workspace_id']}/builds", {"transition": "delete"})
    s = follow(api, d["id"])
    msgs, close = read_to_close(s)
    ld = decode(msgs, "a delete build's lines")
    ok([x["stage"] for x in ld if x["log_source"] == "provisioner_daemon"] ==
       ["Setting up", "Planning infrastructure", "Destroying workspace", "Cleaning Up"]
       and "Apply complete! Resources: 0 added, 0 changed, 1 destroyed." in [x["output"] for x in ld]
       and close[1] == 1000,
       "a delete build: Destroying workspace, 1 destroyed, then the close", repr([x["output"] for x in ld]))

    # a canceled pending build: the socket ends too
    hold(api, builds=True)
    c1 = new_workspace(api, "logs-c1")["latest_build"]
    c2 = new_workspace(api, "logs-c2")["latest_build"]
    s = follow(api, c2["id"])
    ok(s.upgraded and not s.waiting(), "?follow of another pending build")
    st, _ = api.call("PATCH", f"/api/v2/workspacebuilds/{c2['id']}/cancel")
    msgs, close = read_to_close(s)
    lc = [json.loads(x) for x in msgs]
    ok(st == 200 and [x["stage"] for x in lc] == ["Cleaning Up"] and close[1] == 1000,
       "canceled while pending: one Cleaning Up line, then the close", repr(lc))
    hold(api, builds=False)
    finished(api, c1["id"])


# ---------------------------------------------------------------- failed

def section_failed(api, _):
    w = new_workspace(api, "logs-f")
    s = follow(api, w["latest_build"]["id"])
    msgs, close = read_to_close(s)
    lf = decode(msgs, "a failed build's lines")
    b = finished(api, w["latest_build"]["id"])
    ok(b["job"]["status"] == "failed" and lf and lf[-1]["log_level"] == "error"
       and lf[-1]["output"] == b["job"]["error"] and lf[-1]["stage"] == "Starting workspace",
       "a failed build ends with an error line: job.error, in the apply stage", repr(lf[-1:]))
    ok(sum(x["log_level"] == "error" for x in lf) == 1 and len(lf) == 9 and close == ("close", 1000, "done"),
       "... after its 8 lines while running (no Apply complete, no Cleaning Up), then 1000 \"done\"",
       f"{len(lf)} {close}")


# ---------------------------------------------------------------- short, none

def section_short(api, _):
    w = new_workspace(api, "logs-s")
    s = follow(api, w["latest_build"]["id"])
    msgs, close = read_to_close(s)
    ls = [json.loads(x) for x in msgs]
    ok([(x["log_source"], x["stage"]) for x in ls] == [("provisioner_daemon", st) for st in START_STAGES]
       and close[1] == 1000,
       "--build-log-lines 4: the four stage lines only", repr(ls))


def section_none(api, _):
    w = new_workspace(api, "logs-n")
    s = follow(api, w["latest_build"]["id"])
    msgs, close = read_to_close(s)
    b = finished(api, w["latest_build"]["id"])
    ok(b["job"]["status"] == "succeeded" and msgs == [] and close[1] == 1000,
       "--build-log-lines 0: a build writes no line; its socket just closes when it ends", repr(msgs))


def section_none_failed(api, _):
    w = new_workspace(api, "logs-nf")
    s = follow(api, w["latest_build"]["id"])
    msgs, close = read_to_close(s)
    lines = [json.loads(x) for x in msgs]
    ok([x["log_level"] for x in lines] == ["error"] and close[1] == 1000,
       "--build-log-lines 0 --fail-build 1: only the error line, then the close", repr(lines))


def main():
    section, url, token = sys.argv[1:4]
    metrics = sys.argv[4] if len(sys.argv) > 4 else None
    api = Api(url, token)
    {"follow": section_follow, "failed": section_failed, "short": section_short,
     "none": section_none, "none-failed": section_none_failed}[section](api, metrics)
    print(f"1..{api_test.N}")
    return 1 if api_test.FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
