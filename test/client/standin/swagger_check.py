#!/usr/bin/env python3
"""Validate JSON values against a definition of Coder's swagger.json (stdlib only).

As a module: check(value, "codersdk.Workspace") returns a list of problems
(empty = valid).  Checks: the value's type, every property is declared by the
definition (no invented fields), required properties are present, enums,
formats uuid and date-time, nested $ref / allOf / items / additionalProperties.
JSON null is accepted where the field is not required (Go pointers and
NullTime marshal to null).
"""
import json
import os
import re
import sys

SWAGGER = os.environ.get("CODER_SWAGGER", "/work/shared/coder-api/swagger.json")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")

with open(SWAGGER) as f:
    DEFS = json.load(f)["definitions"]


def resolve(schema):
    while True:
        if "$ref" in schema:
            schema = {**DEFS[schema["$ref"].split("/")[-1]], **{k: v for k, v in schema.items() if k != "$ref"}}
        elif "allOf" in schema and len(schema["allOf"]) == 1:
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            schema = {**schema["allOf"][0], **rest}
        else:
            return schema


def check_schema(v, schema, path, out):
    schema = resolve(schema)
    t = schema.get("type")
    if v is None:
        return
    if "enum" in schema and t == "string" and v not in schema["enum"]:
        out.append(f"{path}: {v!r} not in enum {schema['enum']}")
    if t == "string":
        if not isinstance(v, str):
            out.append(f"{path}: expected string, got {type(v).__name__}")
            return
        fmt = schema.get("format")
        if fmt == "uuid" and v != "" and not UUID.match(v):
            out.append(f"{path}: not a uuid: {v!r}")
        if fmt == "date-time" and not TIME.match(v):
            out.append(f"{path}: not an RFC 3339 time: {v!r}")
    elif t == "integer":
        if not isinstance(v, int) or isinstance(v, bool):
            out.append(f"{path}: expected integer, got {type(v).__name__}")
    elif t == "number":
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            out.append(f"{path}: expected number, got {type(v).__name__}")
    elif t == "boolean":
        if not isinstance(v, bool):
            out.append(f"{path}: expected boolean, got {type(v).__name__}")
    elif t == "array":
        if not isinstance(v, list):
            out.append(f"{path}: expected array, got {type(v).__name__}")
            return
        for i, x in enumerate(v):
            check_schema(x, schema.get("items", {}), f"{path}[{i}]", out)
    elif t == "object" or "properties" in schema:
        if not isinstance(v, dict):
            out.append(f"{path}: expected object, got {type(v).__name__}")
            return
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for r in schema.get("required", []):
            if r not in v:
                out.append(f"{path}: required field {r!r} missing")
        for k, x in v.items():
            if props is not None and k in props:
                check_schema(x, props[k], f"{path}.{k}", out)
            elif isinstance(extra, dict):
                check_schema(x, extra, f"{path}.{k}", out)
            elif props is not None or extra is False:
                out.append(f"{path}: field {k!r} is not in the definition")


def check(value, definition):
    out = []
    check_schema(value, {"$ref": "#/definitions/" + definition}, definition, out)
    return out


if __name__ == "__main__":
    # swagger_check.py DEFINITION [--array] < json
    data = json.load(sys.stdin)
    d = sys.argv[1]
    problems = []
    if len(sys.argv) > 2 and sys.argv[2] == "--array":
        for i, x in enumerate(data):
            problems += check(x, d)
    else:
        problems = check(data, d)
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)
