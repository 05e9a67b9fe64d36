#!/usr/bin/env python3
"""Read an HTTP response (curl -i) on stdin; print the status line, the
content-type, and the JSON body pretty-printed with long arrays cut to their
first items (a trimmed copy for docs/standin-api.md; the real body is complete).
With SHOW_RATE=1 in the environment the X-RateLimit-* and Retry-After headers
are printed too."""
import json
import os
import sys

MAX_ITEMS = int(sys.argv[1]) if len(sys.argv) > 1 else 1


def trim(v):
    if isinstance(v, list):
        out = [trim(x) for x in v[:MAX_ITEMS]]
        if len(v) > MAX_ITEMS:
            out.append(f"... {len(v) - MAX_ITEMS} more")
        return out
    if isinstance(v, dict):
        return {k: trim(x) for k, x in v.items()}
    return v


raw = sys.stdin.buffer.read().decode(errors="replace")
head, _, body = raw.replace("\r\n", "\n").partition("\n\n")
lines = head.split("\n")
print(lines[0].strip())
for h in lines[1:]:
    rate = os.environ.get("SHOW_RATE") and h.lower().startswith(("x-ratelimit", "retry-after"))
    if rate or h.lower().startswith(("content-type", "set-cookie")):
        print(h.strip())
print()
try:
    print(json.dumps(trim(json.loads(body)), indent=2, ensure_ascii=False))
except ValueError:
    print(body.strip())
