"""Coder's swagger.json as a checker of recorded requests and responses (stdlib only).

Swagger(path) loads a Swagger 2.0 document.  match(method, path) finds the
operation a request is for (basePath stripped, {param} segments, the most
literal template winning); check_request(rec) and check_response(rec, op)
return the problems of one record of proxy.py (a list of strings, empty when
it conforms).  Schemas are followed through $ref, allOf, items and
additionalProperties; types, enums, required fields, unknown fields and the
formats uuid and date-time are checked.  A JSON null is accepted for a field
that is not required (Go's nil pointers, slices and NullTime marshal to null).

Where swagger.json and coderd disagree, coderd and Coder's own SDK win; each
such case is in ERRATA with the Coder code that shows it, and is counted, not
reported.
"""
import json
import re
import urllib.parse

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")
INTEGER = re.compile(r"^-?\d+$")

# Statuses coderd answers that swagger.json does not declare.  Key: (method,
# template, status); value: the Coder code that shows coderd answers it.
ERRATA = {
    ("post", "/users/{user}/workspaces", 201):
        "codersdk/organizations.go CreateUserWorkspace: fails unless the answer is 201 Created",
    ("post", "/organizations/{organization}/members/{user}/workspaces", 201):
        "codersdk/organizations.go CreateWorkspace: the same handler as CreateUserWorkspace, 201 Created",
    ("post", "/workspaces/{workspace}/builds", 201):
        "codersdk/workspaces.go CreateWorkspaceBuild: fails unless the answer is 201 Created",
}
# A GET whose operation declares a "follow" query parameter upgrades to a
# websocket when the request has it: codersdk/provisionerdaemons.go
# provisionerJobLogsAfter dials "<path>?follow" with websocket.Dial, and
# coderd's provisionerJobLogs streams over the websocket; swagger.json
# declares only the 200 JSON array.  The messages are the array's items.
FOLLOW_ERRATUM = ("codersdk/provisionerdaemons.go provisionerJobLogsAfter: ?follow is a websocket "
                  "(101) whose text messages are the 200 answer's items")
TOKEN_COOKIE = "coder_session_token"


def header(headers, name):
    """The last value of header NAME (case-insensitive) in [name, value] pairs, or None."""
    found = None
    for k, v in headers or []:
        if k.lower() == name:
            found = v
    return found


def request_token(rec):
    """The (redacted) session token a recorded request carried, or None."""
    tok = header(rec.get("request_headers"), "coder-session-token")
    if tok:
        return tok
    cookie = header(rec.get("request_headers"), "cookie") or ""
    for part in cookie.split(";"):
        name, eq, val = part.partition("=")
        if eq and name.strip() == TOKEN_COOKIE:
            return val.strip()
    vals = (rec.get("query") or {}).get(TOKEN_COOKIE)
    return vals[0] if vals else None


class Swagger:
    """A loaded swagger.json and the checks against it."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        self.base = doc.get("basePath", "").rstrip("/")
        self.defs = doc["definitions"]
        self.templates = []
        for tpl, item in doc["paths"].items():
            segs = tpl.strip("/").split("/")
            self.templates.append((tpl, segs, item))
        self.errata_used = {}

    def match(self, method, path):
        """(template, operation, path params) for METHOD PATH; operation None when
        the template lacks the method; (None, None, {}) when no template matches."""
        if not (path == self.base or path.startswith(self.base + "/")):
            return None, None, {}
        segs = [urllib.parse.unquote(s) for s in path[len(self.base):].strip("/").split("/")]
        best = None
        for tpl, tsegs, item in self.templates:
            if len(tsegs) != len(segs):
                continue
            params, literal = {}, 0
            for t, s in zip(tsegs, segs):
                if t.startswith("{") and t.endswith("}"):
                    params[t[1:-1]] = s
                elif t == s:
                    literal += 1
                else:
                    break
            else:
                has = method.lower() in item
                rank = (has, literal)
                if best is None or rank > best[0]:
                    best = (rank, tpl, item, params)
        if best is None:
            return None, None, {}
        _, tpl, item, params = best
        return tpl, item.get(method.lower()), params

    # --- schemas ---

    def resolve(self, schema):
        """SCHEMA with $ref and allOf merged in, until neither is left."""
        while True:
            if "$ref" in schema:
                target = self.defs[schema["$ref"].split("/")[-1]]
                rest = {k: v for k, v in schema.items() if k != "$ref"}
                schema = {**target, **rest}
            elif "allOf" in schema:
                merged = {k: v for k, v in schema.items() if k != "allOf"}
                for part in schema["allOf"]:
                    part = self.resolve(part)
                    for k, v in part.items():
                        if k == "properties":
                            merged["properties"] = {**v, **merged.get("properties", {})}
                        elif k == "required":
                            merged["required"] = sorted(set(v) | set(merged.get("required", [])))
                        else:
                            merged.setdefault(k, v)
                schema = merged
            else:
                return schema

    def check_value(self, v, schema, where, out):
        """Append to OUT each way V (parsed JSON) does not match SCHEMA."""
        s = self.resolve(schema)
        if v is None:
            return                  # null for a field that is not required; see check_object
        if "enum" in s and v not in s["enum"]:
            out.append(f"{where}: {v!r} is not one of {s['enum']}")
        t = s.get("type")
        if t is None and ("properties" in s or "additionalProperties" in s):
            t = "object"
        if t == "string":
            if not isinstance(v, str):
                out.append(f"{where}: expected a string, got {json_type(v)}")
            elif s.get("format") == "uuid" and not UUID.match(v):
                out.append(f"{where}: {v!r} is not a uuid")
            elif s.get("format") == "date-time" and not TIME.match(v):
                out.append(f"{where}: {v!r} is not an RFC 3339 time")
        elif t == "integer":
            if not isinstance(v, int) or isinstance(v, bool):
                out.append(f"{where}: expected an integer, got {json_type(v)}")
        elif t == "number":
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                out.append(f"{where}: expected a number, got {json_type(v)}")
        elif t == "boolean":
            if not isinstance(v, bool):
                out.append(f"{where}: expected a boolean, got {json_type(v)}")
        elif t == "array":
            if not isinstance(v, list):
                out.append(f"{where}: expected an array, got {json_type(v)}")
                return
            for i, x in enumerate(v):
                self.check_value(x, s.get("items", {}), f"{where}[{i}]", out)
        elif t == "object":
            if not isinstance(v, dict):
                out.append(f"{where}: expected an object, got {json_type(v)}")
                return
            self.check_object(v, s, where, out)

    def check_object(self, v, s, where, out):
        """The fields of object V against object schema S."""
        props = s.get("properties")
        extra = s.get("additionalProperties")
        required = set(s.get("required", []))
        for r in sorted(required):
            if r not in v:
                out.append(f"{where}: required field {r!r} is missing")
            elif v[r] is None:
                out.append(f"{where}.{r}: null, but the field is required")
        for k, x in v.items():
            if props is not None and k in props:
                self.check_value(x, props[k], f"{where}.{k}", out)
            elif isinstance(extra, dict):
                self.check_value(x, extra, f"{where}.{k}", out)
            elif extra is True:
                continue
            elif props is not None or extra is False:
                out.append(f"{where}: field {k!r} is not in the schema")

    # --- requests and responses ---

    def params(self, op):
        """The parameters of operation OP."""
        return op.get("parameters", [])

    def check_request(self, rec):
        """(template, operation, problems) of the request of record REC."""
        method, path = rec["method"], rec["path"]
        tpl, op, pparams = self.match(method, path)
        if tpl is None:
            return None, None, [f"no path of swagger.json matches {path} (basePath {self.base})"]
        if op is None:
            return tpl, None, [f"{tpl} has no {method} in swagger.json"]
        out = []
        query = rec.get("query") or {}
        headers = rec.get("request_headers") or []
        body_param = None
        for p in self.params(op):
            where, name = p.get("in"), p.get("name")
            if where == "path":
                self.check_param(pparams.get(name), p, f"path parameter {name}", out)
            elif where == "query":
                if name in query:
                    for val in query[name]:
                        self.check_param(val, p, f"query parameter {name}", out)
                elif p.get("required"):
                    out.append(f"required query parameter {name!r} is missing")
            elif where == "header":
                if header(headers, name.lower()) is None and p.get("required"):
                    out.append(f"required header {name!r} is missing")
            elif where == "body":
                body_param = p
        if op.get("security") and any("CoderSessionToken" in s for s in op["security"]) \
                and request_token(rec) is None:
            out.append("no session token (header Coder-Session-Token, cookie or query coder_session_token) "
                       "on an operation that requires CoderSessionToken")
        body = rec.get("request_body")
        has_body = (rec.get("request_body_bytes") or 0) > 0
        if rec.get("truncated"):
            return tpl, op, out         # a body over proxy.py's --body-limit: not checked
        if body_param is None:
            if has_body:
                out.append(f"a {rec.get('request_body_bytes')}-byte body, but the operation takes none")
        elif not has_body:
            if body_param.get("required"):
                out.append("the operation requires a JSON body; the request has none")
        elif isinstance(body, str):
            out.append(f"the body is not JSON: {body[:80]!r}")
        else:
            ctype = (header(headers, "content-type") or "").split(";")[0].strip().lower()
            if ctype != "application/json":
                out.append(f"a JSON body sent as Content-Type {ctype or '(none)'!r}")
            self.check_value(body, body_param.get("schema", {}), "request body", out)
        return tpl, op, out

    def check_param(self, val, p, what, out):
        """A path or query parameter value against its declared type and format."""
        if val is None:
            if p.get("required"):
                out.append(f"{what} is missing")
            return
        t, fmt = p.get("type"), p.get("format")
        if t == "integer" and not INTEGER.match(val):
            out.append(f"{what}: {val!r} is not an integer")
        elif t == "boolean" and val not in ("", "true", "false"):
            # "" is the bare ?follow Coder's SDK sends; coderd reads presence
            out.append(f"{what}: {val!r} is not a boolean")
        elif t == "string" and fmt == "uuid" and not UUID.match(val):
            out.append(f"{what}: {val!r} is not a uuid")
        if "enum" in p and val not in p["enum"]:
            out.append(f"{what}: {val!r} is not one of {p['enum']}")

    def check_response(self, rec, tpl, op):
        """The problems of the answer of record REC to operation OP of template TPL."""
        status = rec.get("status")
        if status is None:
            return [f"no answer recorded ({rec.get('error', 'the connection ended')})"]
        responses = op.get("responses", {})
        method = rec["method"].lower()
        out = []
        if status == 101:
            return self.check_websocket(rec, tpl, op)
        schema = None
        if str(status) in responses:
            schema = responses[str(status)].get("schema")
        elif (method, tpl, status) in ERRATA:
            key = (method, tpl, status)
            self.errata_used[key] = self.errata_used.get(key, 0) + 1
            declared = [c for c in responses if c.startswith("2")]
            schema = responses[declared[0]].get("schema") if declared else None
        elif 400 <= status <= 599:
            schema = {"$ref": "#/definitions/codersdk.Response"}
            body = rec.get("response_body")
            if not isinstance(body, dict) or not isinstance(body.get("message"), str):
                return [f"status {status} without a codersdk.Response body (a message): {str(body)[:120]}"]
        else:
            return [f"status {status} is not declared (declared: {', '.join(sorted(responses))})"]
        if schema is not None and not rec.get("truncated"):
            body = rec.get("response_body")
            if (rec.get("response_body_bytes") or 0) == 0:
                out.append(f"status {status}: an empty body where swagger.json declares one")
            elif isinstance(body, str):
                out.append(f"status {status}: the body is not JSON: {body[:80]!r}")
            else:
                ctype = (header(rec.get("response_headers"), "content-type") or "").split(";")[0].strip()
                if ctype.lower() != "application/json":
                    out.append(f"status {status}: a JSON body sent as Content-Type {ctype or '(none)'!r}")
                self.check_value(body, schema, "response body", out)
        return out

    def check_websocket(self, rec, tpl, op):
        """A 101 answer: declared, or a ?follow stream whose messages are the items."""
        responses = op.get("responses", {})
        if "101" in responses:
            return []
        follow = any(p.get("name") == "follow" and p.get("in") == "query" for p in self.params(op))
        if not (follow and "follow" in (rec.get("query") or {})):
            return [f"status 101 is not declared (declared: {', '.join(sorted(responses))})"]
        key = ("get", tpl, 101)
        self.errata_used[key] = self.errata_used.get(key, 0) + 1
        schema = (responses.get("200") or {}).get("schema") or {}
        item = schema.get("items") if schema.get("type") == "array" else None
        out = []
        ws = rec.get("ws") or {}
        for i, text in enumerate(ws.get("server_text") or []):
            try:
                msg = json.loads(text)
            except ValueError:
                out.append(f"websocket message {i}: not JSON: {text[:80]!r}")
                continue
            if item is not None:
                self.check_value(msg, item, f"websocket message {i}", out)
        if ws.get("server_binary"):
            out.append(f"{ws['server_binary']} binary websocket messages where the 200 answer is JSON")
        return out


def json_type(v):
    """The JSON name of V's type."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number" if isinstance(v, float) else "integer"
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"
