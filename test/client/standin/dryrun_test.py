#!/usr/bin/env python3
"""The stand-in's template dry runs and external auth against coderd's
(coderd/templateversions.go; stdlib only).

usage: dryrun_test.py SECTION URL TOKEN
SECTION: plan (--replicas 1 --daemons 1 --template extra) or failing
(--fail-dry-run MESSAGE, the message in DRYRUN_FAIL).

Coder's scale test plans the template before it starts (cli/exp_scaletest.go:
CreateTemplateVersionDryRun with workspace_name "scaletest", then
cliui.ProvisionerJob polls the job, follows its logs from 0, cancels it on
interrupt); these are the routes it and swagger.json have.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test  # noqa: E402
from api_test import Api, ok, valid, error_body, hold, make_user, login, wait_for  # noqa: E402
import wsclient  # noqa: E402
import logs_test  # noqa: E402


def version(api, name="docker"):
    return api.call("GET", f"/api/v2/organizations/default/templates/{name}")[1]["active_version_id"]


def dry_run(api, tv, body=None):
    return api.call("POST", f"/api/v2/templateversions/{tv}/dry-run",
                    {"workspace_name": "scaletest"} if body is None else body)


def job(api, tv, jid):
    return api.call("GET", f"/api/v2/templateversions/{tv}/dry-run/{jid}")


def done(api, tv, jid):
    return wait_for(lambda: (lambda j: j if j["status"] in ("succeeded", "failed", "canceled") else None)(
        job(api, tv, jid)[1]))


def follow(api, tv, jid, token=None):
    return wsclient.Stream(f"ws://{api.host}:{api.port}/api/v2/templateversions/{tv}/dry-run/{jid}/logs?follow",
                           token=token or api.token)


# ---------------------------------------------------------------- plan

def section_plan(api):
    tv = version(api)
    st, js = api.call("GET", f"/api/v2/templateversions/{tv}")
    ok(st == 200 and js["id"] == tv, "GET /templateversions/{id}")
    valid(js, "codersdk.TemplateVersion", "template version")
    st, js = api.call("GET", f"/api/v2/templateversions/{tv}/rich-parameters")
    ok(st == 200 and len(js) == 4, "GET /templateversions/{id}/rich-parameters")
    st, js = api.call("GET", f"/api/v2/templateversions/{tv}/external-auth")
    ok(st == 200 and js == [], "GET /templateversions/{id}/external-auth: [] (the template needs none)")
    st, js = api.call("GET", "/api/v2/templateversions/00000000-0000-4000-8000-000000000000/external-auth")
    ok(st == 404, "external auth of an unknown version: 404")

    make_user(api, "scaletest-dry00001")
    m = Api(f"http://{api.host}:{api.port}", login(api, "scaletest-dry00001"))
    me = m.call("GET", "/api/v2/users/me")[1]
    st, j = dry_run(m, tv)
    ok(st == 201, "POST /templateversions/{id}/dry-run as a member: 201 (swagger: 201 ProvisionerJob)")
    valid(j, "codersdk.ProvisionerJob", "the dry-run job")
    ok(j["type"] == "template_version_dry_run" and j["input"] == {"template_version_id": tv}
       and j["initiator_id"] == me["id"] and j["status"] in ("pending", "running"),
       "type template_version_dry_run, input its version, initiator the caller", repr(j))
    s = follow(m, tv, j["id"])
    msgs, close = logs_test.read_to_close(s)
    lines = logs_test.decode(msgs, "dry-run logs ?follow")
    ok([x["stage"] for x in lines if x["log_source"] == "provisioner_daemon"] ==
       ["Setting up", "Planning infrastructure", "Cleaning Up"]
       and "Plan: 1 to add, 0 to change, 0 to destroy." in [x["output"] for x in lines]
       and close == ("close", 1000, "done"),
       "the plan's lines: Setting up, Planning infrastructure (a plan), Cleaning Up; then 1000 \"done\"",
       repr([(x["stage"], x["output"]) for x in lines]))
    st, arr = m.call("GET", f"/api/v2/templateversions/{tv}/dry-run/{j['id']}/logs")
    ok(st == 200 and arr == lines, "GET dry-run logs without follow: the same lines")
    st, fin = job(m, tv, j["id"])
    ok(st == 200 and fin["status"] == "succeeded" and "completed_at" in fin and "started_at" in fin,
       "GET /templateversions/{id}/dry-run/{job}: succeeded")
    valid(fin, "codersdk.ProvisionerJob", "the finished dry-run job")
    st, res = m.call("GET", f"/api/v2/templateversions/{tv}/dry-run/{j['id']}/resources")
    ok(st == 200 and len(res) == 1 and len(res[0]["agents"]) == 1 and res[0]["job_id"] == j["id"],
       "GET .../resources: the template's container with its agent", repr(res)[:200])
    for r in res:
        valid(r, "codersdk.WorkspaceResource", "planned resource")
    st, mp = m.call("GET", f"/api/v2/templateversions/{tv}/dry-run/{j['id']}/matched-provisioners")
    ok(st == 200 and mp["count"] == 1 and mp["available"] == 1, "GET .../matched-provisioners: the one daemon")
    valid(mp, "codersdk.MatchedProvisioners", "matched provisioners")
    st, js = m.call("PATCH", f"/api/v2/templateversions/{tv}/dry-run/{j['id']}/cancel")
    ok(st == 400 and js["message"] == "Job has already completed.", "cancel a finished dry run: 400", repr(js))

    # errors, in coderd's words
    st, js = m.call("GET", f"/api/v2/templateversions/{tv}/dry-run/nope")
    ok(st == 400 and js == {"message": 'Job ID "nope" must be a valid UUID.', "detail": "invalid UUID length: 4"},
       "a malformed job id: 400", repr(js))
    st, js = m.call("GET", f"/api/v2/templateversions/{tv}/dry-run/{tv}")
    ok(st == 404 and js == {"message": f'Provisioner job "{tv}" not found.'}, "an unknown job: 404", repr(js))
    st, js = m.call("GET", f"/api/v2/templateversions/{version(m, 'extra')}/dry-run/{j['id']}")
    ok(st == 403, "the job under another template version: 403")
    error_body(js, st, "dry run of another version")
    make_user(api, "scaletest-dry00002")
    other = Api(f"http://{api.host}:{api.port}", login(api, "scaletest-dry00002"))
    st, js = job(other, tv, j["id"])
    ok(st == 403, "another member's dry run: 403")
    ok(job(api, tv, j["id"])[0] == 200, "the owner sees a member's dry run")
    s = follow(other, tv, j["id"])
    ok(not s.upgraded and s.status.split(" ")[1] == "403", "... and its logs websocket is refused to another member",
       s.status)
    st, js = m.call("POST", f"/api/v2/templateversions/{tv}/dry-run", raw="{")
    ok(st == 400 and js["message"] == "Request body must be valid JSON.", "a body that is not JSON: 400")
    st, js = dry_run(m, tv, {"workspace_name": 7})
    ok(st == 400, "workspace_name of the wrong type: 400")
    st, js = dry_run(m, tv, {"workspace_name": "x", "rich_parameter_values": [{"name": "cpu", "value": "99"}]})
    ok(st == 400 and js["message"] == "Unable to validate parameters", "a rich parameter out of range: 400", repr(js))
    st, js = dry_run(m, "00000000-0000-4000-8000-000000000000")
    ok(st == 404, "a dry run of an unknown version: 404")

    # through the provisioner queue: behind a held build, pending; cancel while pending
    hold(api, builds=True)
    st, w = api.call("POST", "/api/v2/users/me/workspaces",
                     {"template_id": api.call("GET", "/api/v2/organizations/default/templates/docker")[1]["id"],
                      "name": "dry-blocker"})
    st, p = dry_run(m, tv)
    ok(st == 201 and p["status"] == "pending", "a dry run behind a running build waits in the queue", p["status"])
    st, p = job(m, tv, p["id"])
    ok(p["queue_position"] == 1 and p["queue_size"] == 1, "queue_position 1 of 1", repr(p))
    ok(m.call("GET", f"/api/v2/templateversions/{tv}/dry-run/{p['id']}/logs")[1] == [], "no log line while pending")
    st, js = m.call("GET", f"/api/v2/templateversions/{tv}/dry-run/{p['id']}/resources")
    ok(st == 400 and js["message"] == "Job hasn't completed!", "resources before it completed: 400, as coderd")
    s = follow(m, tv, p["id"])
    st, js = m.call("PATCH", f"/api/v2/templateversions/{tv}/dry-run/{p['id']}/cancel")
    ok(st == 200 and js == {"message": "Job has been marked as canceled."}, "cancel the pending dry run: 200", repr(js))
    valid(js, "codersdk.Response", "cancel answer")
    st, c = job(m, tv, p["id"])
    ok(c["status"] == "canceled" and "completed_at" in c and "canceled_at" in c, "a pending dry run is canceled at once")
    msgs, close = logs_test.read_to_close(s)
    ok(close is not None and close[1] == 1000, "its follow socket closes")
    st, js = m.call("PATCH", f"/api/v2/templateversions/{tv}/dry-run/{p['id']}/cancel")
    ok(st == 400 and js["message"] == "Job has already completed.", "cancel it again: 400")
    st, q = dry_run(m, tv)
    hold(api, builds=False)
    fin = done(m, tv, q["id"])
    ok(fin and fin["status"] == "succeeded", "let go, the next dry run gets the daemon and succeeds")

    # cancel a running one: canceling, then canceled
    hold(api, builds=True)
    st, rj = dry_run(m, tv)
    ok(rj["status"] == "running", "with the daemon free the dry run runs at once")
    st, js = m.call("PATCH", f"/api/v2/templateversions/{tv}/dry-run/{rj['id']}/cancel")
    ok(st == 200, "cancel the running dry run: 200")
    st, js = m.call("PATCH", f"/api/v2/templateversions/{tv}/dry-run/{rj['id']}/cancel")
    ok(st == 400 and js["message"] in ("Job has already been marked as canceled.", "Job has already completed."),
       "cancel it again: 400 (marked as canceled, or completed once the provisioner stopped)", repr(js))
    fin = done(m, tv, rj["id"])
    ok(fin and fin["status"] == "canceled", "then it is canceled")
    hold(api, builds=False)

    text = api_test.http_get(api, "/metrics")
    ok('job_type="template_version_dry_run"' in text,
       "the queue-wait histogram has the dry runs (job_type template_version_dry_run)")


# ---------------------------------------------------------------- failing

def section_failing(api):
    tv = version(api)
    msg = os.environ["DRYRUN_FAIL"]
    st, j = dry_run(api, tv)
    ok(st == 201, "with --fail-dry-run the dry run is still accepted (201)")
    s = follow(api, tv, j["id"])
    msgs, close = logs_test.read_to_close(s)
    lines = [json.loads(x) for x in msgs]
    fin = done(api, tv, j["id"])
    ok(fin["status"] == "failed" and fin["error"] == msg, "--fail-dry-run: the job ends failed with job.error MESSAGE",
       repr(fin.get("error")))
    valid(fin, "codersdk.ProvisionerJob", "the failed dry-run job")
    ok(lines and lines[-1]["log_level"] == "error" and lines[-1]["output"] == msg
       and lines[-1]["stage"] == "Planning infrastructure" and close[1] == 1000,
       "its logs end with an error line saying MESSAGE, then 1000", repr(lines[-1:]))
    st, res = api.call("GET", f"/api/v2/templateversions/{tv}/dry-run/{j['id']}/resources")
    ok(st == 200 and res == [], "a failed plan has no resources: []")
    st, w = api.call("POST", "/api/v2/users/me/workspaces",
                     {"template_id": api.call("GET", "/api/v2/organizations/default/templates/docker")[1]["id"],
                      "name": "dry-builds-still"})
    b = wait_for(lambda: (lambda x: x if x["job"]["status"] not in ("pending", "running") else None)(
        api.call("GET", f"/api/v2/workspacebuilds/{w['latest_build']['id']}")[1]))
    ok(b and b["job"]["status"] == "succeeded", "--fail-dry-run fails dry runs only: builds still succeed")


def main():
    section, url, token = sys.argv[1:4]
    api = Api(url, token)
    {"plan": section_plan, "failing": section_failing}[section](api)
    print(f"1..{api_test.N}")
    return 1 if api_test.FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
