#!/usr/bin/env python3
"""Check a record of proxy.py against Coder's swagger.json and Coder's runner.

usage: validate.py --swagger FILE --record FILE [--owner-token-file FILE]
                   [--table FILE --scenario NAME] [--var NAME=VALUE]... [--label TEXT]

Prints TAP-like lines without numbers ("ok - ..." / "not ok - ...", details
on "#   " lines; the test numbers them) and exits 1 when any is "not ok":

 - every request against swagger.json: a path template matches (basePath,
   {param} segments), the method exists, required path, query and header
   parameters are there with their types, the session token where the
   operation needs one, the JSON body's fields exist in the body schema with
   their types and enums, required fields present (swagger.py);
 - every answer: its status is declared for the operation (or is a 4xx/5xx
   answered with a codersdk.Response), and its body matches the declared
   schema; websockets (101) too;
 - with --owner-token-file and --table: which of Coder's clients made each
   request (the owner's setup client, the owner's runner client, a member's
   client, or the login client without a token), that the request carries
   that client's token, and that X-Coder-Bypass-Ratelimit: true is sent
   exactly by the owner's runner client;
 - with --table: the requests per endpoint per workspace (or per run) against
   the rows of scenario NAME (see read_table for the format).

It ends with the table of counts: requests per endpoint (method and path
template, websockets as WS) and client, per workspace and in all.
"""
import argparse
import hashlib
import json
import math
import os
import sys

sys.dont_write_bytecode = True     # no __pycache__ beside the sources
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from swagger import ERRATA, FOLLOW_ERRATUM, Swagger, header, request_token  # noqa: E402

CLIENTS = ("owner-setup", "owner", "member", "none")
BYPASS = "x-coder-bypass-ratelimit"
ACTIVE = ("pending", "running", "canceling")


def fingerprint(secret):
    """The form proxy.py records a token in."""
    return "<redacted sha256:%s>" % hashlib.sha256(secret.encode()).hexdigest()[:12]


class Checks:
    """The TAP-like output and whether anything failed."""

    def __init__(self, label):
        self.label = label
        self.failed = 0

    def report(self, good, name, details=()):
        """One check line and its details."""
        if good:
            print(f"ok - {self.label}{name}")
        else:
            self.failed += 1
            print(f"not ok - {self.label}{name}")
        for d in details:
            print(f"#   {d}")

    def note(self, text):
        """A comment line."""
        print(f"# {text}")


def read_record(path):
    """The records of FILE in the order the requests began."""
    recs = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if line:
                try:
                    recs.append(json.loads(line))
                except ValueError as e:
                    raise SystemExit(f"validate.py: {path}:{n}: not JSON: {e}")
    recs.sort(key=lambda r: (r.get("t_start", 0), r.get("seq", 0)))
    return recs


def read_table(path, scenario):
    """The rows of SCENARIO in table FILE.

    A row is one line of seven fields separated by "|":
      scenarios | METHOD (WS for a websocket) | path template | client | scope | expected | Coder source
    scenarios is a comma-separated list of the scenarios the row holds for;
    client is owner-setup, owner, member or none; scope is run (the whole
    record) or workspace (each workspace of the run); expected is N, LO..HI
    or an expression over the quantities of quantities() and --var (for
    example "build_gets + 1").  Blank lines and lines starting with # are
    skipped."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = [p.strip() for p in line.split("|")]
            if len(parts) != 7:
                raise SystemExit(f"validate.py: {path}:{n}: {len(parts)} fields, wanted 7")
            scens, method, tpl, client, scope, expected, source = parts
            if scenario not in [x.strip() for x in scens.split(",")]:
                continue
            if client not in CLIENTS or scope not in ("run", "workspace"):
                raise SystemExit(f"validate.py: {path}:{n}: client {client!r} or scope {scope!r} unknown")
            rows.append({"key": (method, tpl, client), "scope": scope, "expected": expected,
                         "source": source, "line": n})
    if not rows:
        raise SystemExit(f"validate.py: {path}: no rows for scenario {scenario!r}")
    return rows


def evaluate(expr, names):
    """(lo, hi) of EXPR ("A" or "A..B") with NAMES bound."""
    env = {"__builtins__": {}, "min": min, "max": max, "ceil": math.ceil}
    lo, dots, hi = expr.partition("..")
    try:
        a = int(eval(lo, env, names))  # noqa: S307 - the table is the test's own
        b = int(eval(hi, env, names)) if dots else a
    except NameError as e:
        raise SystemExit(f"validate.py: expected {expr!r}: {e}")
    return a, b


def agents_of(build):
    """The agents in a build answer's resources."""
    out = []
    for res in (build or {}).get("resources") or []:
        out += res.get("agents") or []
    return out


class Run:
    """A record read for who is who: users, tokens, workspaces, builds, agents."""

    def __init__(self, recs, swagger, owner_fp):
        self.recs = [r for r in recs if "method" in r]    # not the connections that broke first
        self.owner_fp = owner_fp
        self.user_email, self.user_name, self.token_user = {}, {}, {}
        self.ws_owner, self.ws_name = {}, {}
        self.build_ws, self.build_tr, self.agent_ws = {}, {}, {}
        self.created = {}           # workspace -> [(t, build id, transition)] made in this record
        self.scaletest_users = set()
        for r in self.recs:
            r["_tpl"], r["_op"], r["_params"] = swagger.match(r["method"], r["path"])
            r["_ws"] = bool(r.get("websocket"))
            self.learn(r)
        for r in self.recs:
            r["_unit"] = self.unit_of(r)

    def learn_user(self, u):
        """A user object of an answer."""
        if isinstance(u, dict) and u.get("id"):
            if u.get("email"):
                self.user_email[u["email"]] = u["id"]
            if u.get("username"):
                self.user_name[u["username"]] = u["id"]
                if u["username"].startswith("scaletest-"):
                    self.scaletest_users.add(u["id"])

    def learn_workspace(self, w):
        """A workspace object of an answer."""
        if not isinstance(w, dict) or not w.get("id"):
            return
        self.ws_owner[w["id"]] = w.get("owner_id")
        self.ws_name[w["id"]] = w.get("name")
        self.learn_build(w.get("latest_build"), w["id"])

    def learn_build(self, b, ws=None):
        """A workspace build object of an answer."""
        if not isinstance(b, dict) or not b.get("id"):
            return
        ws = ws or b.get("workspace_id")
        self.build_ws[b["id"]] = ws
        self.build_tr[b["id"]] = b.get("transition")
        for a in agents_of(b):
            if a.get("id"):
                self.agent_ws[a["id"]] = ws

    def learn(self, r):
        """What record R's answer says about who is who."""
        body, rq, tpl = r.get("response_body"), r.get("request_body"), r["_tpl"]
        m = r["method"]
        if not isinstance(body, dict) or not 200 <= (r.get("status") or 0) < 300:
            return
        if tpl == "/users/login" and isinstance(rq, dict):
            uid = self.user_email.get(rq.get("email"))
            if body.get("session_token") and uid:
                self.token_user[body["session_token"]] = uid
        elif "users" in body and isinstance(body["users"], list):
            for u in body["users"]:
                self.learn_user(u)
        elif "workspaces" in body and isinstance(body["workspaces"], list):
            for w in body["workspaces"]:
                self.learn_workspace(w)
        elif "latest_build" in body:
            self.learn_workspace(body)
            if m == "POST":
                self.made(r, body["id"], body["latest_build"])
        elif "transition" in body and "workspace_id" in body:
            self.learn_build(body)
            if m == "POST":
                self.made(r, body["workspace_id"], body)
        elif "username" in body:
            self.learn_user(body)

    def made(self, r, ws, build):
        """Build BUILD of workspace WS was made by request R."""
        if isinstance(build, dict) and build.get("id"):
            self.created.setdefault(ws, []).append((r["t_start"], build["id"], build.get("transition")))

    def user_unit(self, uid):
        """The workspace of user UID when it has exactly one, else the user itself."""
        owned = [w for w, o in self.ws_owner.items() if o == uid]
        if len(owned) == 1:
            return owned[0]
        return None if uid == self.owner_id() else f"user:{uid}"

    def owner_id(self):
        """The owner's user id (from GET /users/me with the owner's token)."""
        for r in self.recs:
            if r["_tpl"] == "/users/{user}" and r["path"].endswith("/me") and request_token(r) == self.owner_fp \
                    and isinstance(r.get("response_body"), dict):
                return r["response_body"].get("id")
        return None

    def unit_of(self, r):
        """The workspace (or user) record R is about, or None for the run as a whole."""
        p = r["_params"]
        if "workspace" in p:
            return p["workspace"]
        if "workspacebuild" in p:
            return self.build_ws.get(p["workspacebuild"])
        if "workspaceagent" in p:
            return self.agent_ws.get(p["workspaceagent"])
        body = r.get("response_body") if isinstance(r.get("response_body"), dict) else {}
        if r["_tpl"] == "/users/{user}/workspaces" and body.get("id"):
            return body["id"]
        if r["_tpl"] == "/users" and r["method"] == "POST" and body.get("id"):
            return self.user_unit(body["id"])
        if r["_tpl"] == "/users/login" and isinstance(r.get("request_body"), dict):
            uid = self.user_email.get(r["request_body"].get("email"))
            return self.user_unit(uid) if uid else None
        if "user" in p:
            u = p["user"]
            if u == "me":
                uid = self.token_user.get(request_token(r))
                return self.user_unit(uid) if uid else None
            uid = u if u in self.ws_owner.values() or u in self.user_email.values() else self.user_name.get(u)
            return self.user_unit(uid) if uid else None
        return None

    def units(self):
        """The workspaces (and users without one) the run is about, in order of appearance."""
        seen = []
        for r in self.recs:
            u = r["_unit"]
            if u and u not in seen and (u.startswith("user:") or
                                         (self.ws_name.get(u) or "").startswith("scaletest-")):
                seen.append(u)
        for uid in sorted(self.scaletest_users):
            u = self.user_unit(uid)
            if u and u not in seen:
                seen.append(u)
        return seen

    def unit_name(self, u):
        """A readable name of unit U."""
        if u.startswith("user:"):
            uid = u[5:]
            names = [n for n, i in self.user_name.items() if i == uid]
            return f"user {names[0] if names else uid}"
        return self.ws_name.get(u) or u


def key_of(r):
    """The (METHOD or WS, template) a record counts under; {user} is "me" when
    the request says me (GET /users/me is not GET /users/{user} of a user)."""
    tpl = r["_tpl"] or r["path"]
    if r["_params"].get("user") == "me":
        tpl = tpl.replace("{user}", "me")
    return ("WS" if r["_ws"] else r["method"], tpl)


def classify(run, rows):
    """Set r["_client"] on every record: the Coder client whose token it carries.

    The owner's token is the setup client (no bypass header: the client of
    cli/root.go InitClient) for the leading requests that rows give to
    owner-setup (each up to its row's largest count) or that no row names;
    the owner's runner client after that."""
    budget, named = {}, set()
    for row in rows:
        m, tpl, client = row["key"]
        named.add((m, tpl))
        if client == "owner-setup":
            budget[(m, tpl)] = budget.get((m, tpl), 0) + row["hi_max"]
    setup = True
    for r in run.recs:
        tok = request_token(r)
        k = key_of(r)
        if tok is None:
            r["_client"] = "none"
            continue
        if tok != run.owner_fp:
            r["_client"] = "member" if tok in run.token_user else "unknown"
            if tok in run.token_user:
                setup = False
            continue
        if setup:
            if k in budget and budget[k] > 0:
                budget[k] -= 1
                r["_client"] = "owner-setup"
                continue
            if k not in named:
                r["_client"] = "owner-setup"
                continue
            setup = False
        r["_client"] = "owner"


def check_swagger(checks, run, swagger):
    """Every request and every answer of the run against swagger.json."""
    rq_bad, rs_bad = [], []
    for r in run.recs:
        if "method" not in r:
            continue
        tpl, op, problems = swagger.check_request(r)
        where = f"seq {r.get('seq')} {r['method']} {r['path']}"
        rq_bad += [f"{where}: {p}" for p in problems]
        if op is not None:
            rs_bad += [f"{where} -> {r.get('status')}: {p}" for p in swagger.check_response(r, tpl, op)]
    n = sum(1 for r in run.recs if "method" in r)
    checks.report(not rq_bad, f"every request of {n} valid against swagger.json ({len(rq_bad)} violations)", rq_bad)
    checks.report(not rs_bad, f"every answer valid against swagger.json ({len(rs_bad)} violations)", rs_bad)
    cut = sum(1 for r in run.recs if r.get("truncated"))
    if cut:
        checks.note(f"{cut} exchanges had a body over proxy.py's --body-limit: their bodies were not checked")
    for (m, tpl, status), k in sorted(swagger.errata_used.items(), key=str):
        why = FOLLOW_ERRATUM if status == 101 else ERRATA[(m, tpl, status)]
        checks.note(f"accepted {k} x {status} for {m.upper()} {tpl}, not declared in swagger.json: {why}")


def check_clients(checks, run):
    """Tokens and the bypass header as Coder's clients send them."""
    sends = "send X-Coder-Bypass-Ratelimit: true"
    why = {"owner": "lack X-Coder-Bypass-Ratelimit: true, which Coder's runner client "
                    "(loadtestutil.DupClientCopyingHeaders(client, BypassHeader)) sends",
           "owner-setup": f"{sends}; the owner's client of cli/root.go InitClient has no such header",
           "member": f"{sends}; the member's client (codersdk.New with the login's token) has none",
           "none": f"{sends}; a client without a token (codersdk.New, as the login's in "
                   "scaletest/createusers/run.go) has none",
           "unknown": f"{sends} from a client Coder does not have"}
    bad_hdr, bad_tok = {}, []
    for r in run.recs:
        if "method" not in r:
            continue
        c = r["_client"]
        sent = (header(r.get("request_headers"), BYPASS) or "").lower() == "true"
        if (c == "owner") != sent:
            k = key_of(r) + (c,)
            bad_hdr.setdefault(k, []).append(str(r.get("seq")))
        where = f"seq {r.get('seq')} {r['method']} {r['path']} ({c} client)"
        if c == "unknown":
            bad_tok.append(f"{where}: a token that is neither the owner's nor one a login answered")
        elif c == "member" and r["_unit"] and not r["_unit"].startswith("user:"):
            uid = run.token_user.get(request_token(r))
            if run.ws_owner.get(r["_unit"]) not in (None, uid):
                bad_tok.append(f"{where}: another user's token for workspace {run.unit_name(r['_unit'])}")
    lines = []
    for (m, tpl, c), seqs in bad_hdr.items():
        lines.append(f"{m} {tpl} ({c} client): {len(seqs)} requests (seq {', '.join(seqs[:4])}"
                     f"{' ...' if len(seqs) > 4 else ''}) {why[c]}")
    n = sum(len(v) for v in bad_hdr.values())
    checks.report(not n, f"X-Coder-Bypass-Ratelimit: true exactly on the owner's runner client "
                  f"({n} requests otherwise)", lines)
    checks.report(not bad_tok, "each request carries the token of a client Coder has", bad_tok)


def statuses(run, build):
    """(t_end, job status) of every answer about BUILD, in order."""
    out = []
    for r in run.recs:
        if r["_tpl"] == "/workspacebuilds/{workspacebuild}" and r["method"] == "GET" \
                and r["_params"].get("workspacebuild") == build and isinstance(r.get("response_body"), dict):
            out.append((r.get("t_end", 0), ((r["response_body"].get("job") or {}).get("status"))))
    return out


def quantities(run, unit, variables):
    """The names an expected count of a workspace row may use.

      builds      builds this record made for the workspace (start, retries, delete)
      build_gets  what Coder's waitForBuild GETs for them: per build, the
                  answers that said pending before the first that did not,
                  that one, and one more after the logs websocket closed
                  (scaletest/workspacebuild/run.go waitForBuild)
      retries     the start builds Coder would add after failed ones:
                  min(leading failed start builds, --var retry)
      ok          1 when the start build Coder would end with succeeded
      agent_gets  what Coder's waitForAgents GETs: the answers after that
                  build succeeded whose agents were not all connected, and
                  the first where they were (0 unless ok)"""
    q = dict(variables)
    made = sorted(run.created.get(unit, []))
    starts = [b for _, b, tr in made if tr == "start"]
    q["builds"] = len(made)
    gets = 0
    final = {}
    for _, b, _ in made:
        st = statuses(run, b)
        pending = 0
        for _, s in st:
            if s != "pending":
                break
            pending += 1
        gets += pending + 2
        final[b] = next((s for _, s in reversed(st) if s not in ACTIVE), st[-1][1] if st else None)
    q["build_gets"] = gets
    failed = 0
    for b in starts:
        if final.get(b) != "failed":
            break
        failed += 1
    q["retries"] = min(failed, int(variables.get("retry", 0)))
    last = starts[q["retries"]] if len(starts) > q["retries"] else None
    q["ok"] = 1 if last and final.get(last) == "succeeded" else 0
    q["agent_gets"] = 0
    if q["ok"]:
        t_ok = min((t for t, s in statuses(run, last) if s == "succeeded"), default=0)
        n = 0
        for r in run.recs:
            if r["_unit"] == unit and r["_tpl"] == "/workspaces/{workspace}" and r["method"] == "GET" \
                    and r["t_start"] >= t_ok and isinstance(r.get("response_body"), dict):
                n += 1
                agents = agents_of(r["response_body"].get("latest_build"))
                if agents and all(a.get("status") == "connected" for a in agents):
                    break
        q["agent_gets"] = n
    return q


def run_quantities(run, variables):
    """The names an expected count of a run row may use.

      ws_pages    pages of GET /workspaces Coder's getScaletestWorkspaces
                  asks for: ceil(matches / 100) + 1 (up to an empty page)
      user_pages  the same for GET /users (getScaletestUsers)
      dry_run_s   seconds the template dry run took (its logs websocket, or
                  its job's created_at to completed_at): cli/cliui
                  provisionerjob.go ProvisionerJob GETs the job once before,
                  once a second while, and once after the logs"""
    q = dict(variables)

    def total(tpl, field):
        best = 0
        for r in run.recs:
            b = r.get("response_body")
            if r["_tpl"] == tpl and r["method"] == "GET" and isinstance(b, dict):
                best = max(best, b.get("count") or 0, len(b.get(field) or []))
        return best
    q["ws_pages"] = math.ceil(total("/workspaces", "workspaces") / 100) + 1
    q["user_pages"] = math.ceil(total("/users", "users") / 100) + 1
    secs = 0.0
    for r in run.recs:
        if r["_tpl"] == "/templateversions/{templateversion}/dry-run/{jobID}/logs" and r["_ws"]:
            secs = max(secs, (r.get("ws") or {}).get("t_close", 0) - r.get("t_open", 0))
    q["dry_run_s"] = math.ceil(secs)
    return q


def listed_latest(run, unit):
    """The latest build of workspace UNIT in the first listing (GET /workspaces) that has it."""
    for r in run.recs:
        body = r.get("response_body")
        if r["_tpl"] == "/workspaces" and r["method"] == "GET" and isinstance(body, dict):
            for w in body.get("workspaces") or []:
                if w.get("id") == unit and isinstance(w.get("latest_build"), dict):
                    return w["latest_build"].get("id")
    return None


def per_build(run, units, key):
    """Builds whose GETs (or logs websockets) of KEY differ from Coder's, grouped.

    Per workspace, Coder's builds in order: the latest build it had before
    this record (only when this record made none before a delete, as in
    scaletest cleanup) and those this record made.  waitForBuild GETs each
    made build once per pending answer, once when it is no longer pending,
    once after its logs close, and follows its logs once; CleanupRunner.Run
    GETs the build before the delete build once more."""
    ws_key = key[0] == "WS"
    groups = {}
    for u in units:
        made = [(b, tr) for _, b, tr in sorted(run.created.get(u, []))]
        seq = list(made)
        if made and made[0][1] == "delete":
            first = listed_latest(run, u)
            if first:
                seq.insert(0, (first, "latest"))
        for i, (b, tr) in enumerate(seq):
            is_made = (b, tr) in made
            if ws_key:
                want = 1 if is_made else 0
                why = "waitForBuild follows its logs once" if is_made else "no websocket for it"
            else:
                pending = 0
                for _, st in statuses(run, b):
                    if st != "pending":
                        break
                    pending += 1
                want = pending + 2 if is_made else 0
                why = f"waitForBuild: {pending} pending + 1 + 1 after the logs" if is_made else ""
                if i + 1 < len(seq) and seq[i + 1][1] == "delete":
                    want += 1
                    why += (", " if why else "") + "CleanupRunner.Run: 1 before the delete"
            got = sum(1 for r in run.recs if "method" in r and key_of(r) + (r["_client"],) == key
                      and r["_params"].get("workspacebuild") == b)
            if got != want:
                g = groups.setdefault((tr, got, want, why), [])
                g.append(run.unit_name(u))
    out = []
    for (tr, got, want, why), names in sorted(groups.items()):
        uniq = list(dict.fromkeys(names))
        out.append(f"{len(names)} {tr} builds ({', '.join(uniq[:3])}{' ...' if len(uniq) > 3 else ''}): "
                   f"{got} each, Coder {want} ({why})")
    return out


# The q of each paged listing of scaletestCleanup, as codersdk builds it:
# getScaletestWorkspaces passes WorkspaceFilter{Name: "scaletest-"}, which
# asRequestOption quotes (name:%q); getScaletestUsers passes Search
# "scaletest-".  Pages: Pagination.asRequestOption sets limit=100 and
# offset=100*page, leaving offset out on the first page.
PAGED = {"ws_pages": 'name:"scaletest-"', "user_pages": "scaletest-"}


def paging(run, key, q):
    """How the requests of KEY page otherwise than Coder's getScaletest* loops."""
    out = []
    reqs = [r for r in run.recs if "method" in r and key_of(r) + (r["_client"],) == key]
    for i, r in enumerate(reqs):
        query = r.get("query") or {}
        want = {"q": [q], "limit": ["100"]}
        if i:
            want["offset"] = [str(100 * i)]
        if query != want:
            out.append(f"seq {r.get('seq')}: query {query}, Coder's page {i} is {want}")
        body = r.get("response_body") if isinstance(r.get("response_body"), dict) else {}
        items = body.get("workspaces", body.get("users")) or []
        if (i == len(reqs) - 1) != (len(items) == 0):
            out.append(f"seq {r.get('seq')}: page {i} of {len(reqs)} has {len(items)} items; Coder stops at "
                       "the first empty page")
    return out


def check_counts(checks, run, rows, variables):
    """The requests per endpoint, client and workspace against the rows."""
    units = run.units()
    rq = dict(run_quantities(run, variables))
    uq = {u: quantities(run, u, variables) for u in units}
    counts = {}
    for r in run.recs:
        if "method" not in r:
            continue
        k = key_of(r) + (r["_client"],)
        counts.setdefault(k, {}).setdefault(r["_unit"], 0)
        counts[k][r["_unit"]] += 1
    checks.note(f"{len(units)} workspaces: {', '.join(run.unit_name(u) for u in units[:12])}"
                f"{' ...' if len(units) > 12 else ''}")
    keys_with_rows = set()
    for row in rows:
        k = row["key"]
        keys_with_rows.add(k)
        got = counts.get(k, {})
        name = f"{k[0]} {k[1]} ({k[2]}) per {row['scope']} = {row['expected']}  [{row['source']}]"
        if row["scope"] == "run":
            lo, hi = evaluate(row["expected"], rq)
            n = sum(got.values())
            details = [] if lo <= n <= hi else [f"expected {lo if lo == hi else f'{lo}..{hi}'}, got {n}"]
            for field, q in PAGED.items():
                if field in row["expected"]:
                    details += paging(run, k, q)
            checks.report(not details, name, details)
            continue
        bad = []
        for u in units:
            lo, hi = evaluate(row["expected"], {**rq, **uq[u]})
            n = got.get(u, 0)
            if not lo <= n <= hi:
                bad.append((u, lo, hi, n))
        loose = sum(n for u, n in got.items() if u is None or u not in units)
        details = []
        if bad:
            pairs = {}
            for u, lo, hi, n in bad:
                pairs.setdefault((lo, hi, n), []).append(run.unit_name(u))
            for (lo, hi, n), names in sorted(pairs.items()):
                want = lo if lo == hi else f"{lo}..{hi}"
                details.append(f"expected {want}, got {n} in {len(names)} of {len(units)} workspaces "
                               f"({', '.join(names[:3])}{' ...' if len(names) > 3 else ''})")
        if loose:
            details.append(f"{loose} more that belong to no workspace of the run")
        per = []
        if "build_gets" in row["expected"] or (k[0] == "WS" and "builds" in row["expected"]):
            per = per_build(run, units, k)
        details += per
        checks.report(not bad and not loose and not per and units != [], name,
                      details or ([] if units else ["no workspace in the record"]))
    extra = []
    for k in sorted(set(counts) - keys_with_rows, key=str):
        n = sum(counts[k].values())
        extra.append(f"{k[0]} {k[1]} ({k[2]}): {n} requests; Coder's runner makes none for these flags")
    checks.report(not extra, "no request Coder's runner does not make", extra)
    print_counts(checks, run, counts, units)


def print_counts(checks, run, counts, units):
    """The table of counts per endpoint and client: in all, per workspace, websockets."""
    checks.note("requests per endpoint and client: total | workspaces with any | per workspace min..max | "
                "outside workspaces")
    for k in sorted(counts, key=lambda k: (k[1], k[0], k[2])):
        per = [counts[k].get(u, 0) for u in units]
        total = sum(counts[k].values())
        anyw = sum(1 for n in per if n)
        rng = f"{min(per)}..{max(per)}" if per else "-"
        run_n = sum(n for u, n in counts[k].items() if u is None or u not in units)
        checks.note(f"  {k[0]:6} {k[1]:62} {k[2]:11} {total:5} | {anyw:4} | {rng:7} | {run_n}")
    ws = sum(n for k in counts if k[0] == "WS" for n in counts[k].values())
    checks.note(f"websockets: {ws} in all")


def parse_args(argv):
    """The command line."""
    p = argparse.ArgumentParser(prog="validate.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--swagger", required=True)
    p.add_argument("--record", required=True)
    p.add_argument("--owner-token-file")
    p.add_argument("--table")
    p.add_argument("--scenario")
    p.add_argument("--var", action="append", default=[], help="NAME=INTEGER for the expected counts")
    p.add_argument("--label", default="", help="prefix of every check line")
    a = p.parse_args(argv)
    if bool(a.table) != bool(a.scenario):
        p.error("--table and --scenario go together")
    if a.table and not a.owner_token_file:
        p.error("--table needs --owner-token-file (to tell the owner's requests)")
    a.vars = {}
    for v in a.var:
        name, eq, val = v.partition("=")
        if not eq or not val.lstrip("-").isdigit():
            p.error(f"--var {v!r}: NAME=INTEGER")
        a.vars[name] = int(val)
    return a


def main(argv):
    """Run the checks; exit status 1 when any failed."""
    a = parse_args(argv)
    swagger = Swagger(a.swagger)
    recs = read_record(a.record)
    checks = Checks(f"{a.label}: " if a.label else "")
    errors = [r for r in recs if "error" in r]
    n_ws = sum(1 for r in recs if r.get("websocket"))
    checks.report(recs and not errors, f"{len(recs)} exchanges recorded, {n_ws} of them websockets, "
                  f"{len(errors)} broken", [f"conn {r.get('conn')}: {r['error']}" for r in errors])
    owner_fp = None
    if a.owner_token_file:
        with open(a.owner_token_file, encoding="utf-8") as f:
            owner_fp = fingerprint(f.read().strip())
    run = Run(recs, swagger, owner_fp)
    check_swagger(checks, run, swagger)
    if a.table:
        rows = read_table(a.table, a.scenario)
        rq = run_quantities(run, a.vars)
        for row in rows:
            row["hi_max"] = evaluate(row["expected"], rq)[1] if row["scope"] == "run" else 0
        classify(run, rows)
        check_clients(checks, run)
        check_counts(checks, run, rows, a.vars)
    else:
        for r in run.recs:
            r["_client"] = "owner" if request_token(r) == owner_fp else ("none" if request_token(r) is None
                                                                          else "member")
        counts = {}
        for r in run.recs:
            if "method" in r:
                counts.setdefault(key_of(r) + (r["_client"],), {}).setdefault(r["_unit"], 0)
                counts[key_of(r) + (r["_client"],)][r["_unit"]] += 1
        print_counts(checks, run, counts, run.units())
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
