#!/usr/bin/env bash
# The result files in Coder's format, byte for byte (client/scaletest/results.c).
# 1. test/client/c/results_text.c feeds the writers the case of Coder's
#    scaletest/harness/results_test.go and edge cases (no runs, logs with and
#    without a last newline, a multi-line error, durations from 0 to hours,
#    Go's JSON escaping, byte order of the ids, time zones) and compares with
#    the bytes Coder's code writes, as that file derives them case by case.
# 2. A real run with failures writes --output text:PATH and json:PATH; the text
#    must be what Coder's PrintText makes of the JSON's results (its rules
#    re-done below in Python from coder/coder scaletest/harness/results.go).
source "$(dirname "$0")/8_scaletest_lib.inc"

rc=0
cc -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -DCODER_SCALE_VERSION_NUMBER=0 -I"$ROOT/client" \
  -o "$T/results_text" "$ROOT/test/client/c/results_text.c" \
  "$ROOT/client/scaletest/results.c" "$ROOT/client/common/goduration.c" || rc=$?
check "the writers' unit test builds" 0 $rc
rc=0
"$T/results_text" >"$T/unit" || rc=$?
cat "$T/unit"
check "the writers' unit test: every case as Coder writes it" "0 14" "$rc $(grep -c '^  ok - ' "$T/unit")"

si_start --build-time 0 --agent-delay 0 --fail-build 0.5
rc=0
"$CS" scaletest create-workspaces --token-file "$TOKEN_FILE" --no-db -t docker -c 8 --concurrency 0 \
  --output "text:$T/res.txt" --output "json:$T/res.json" >"$T/out" 2>"$T/err" || rc=$?
check "a run with failures exits 1" 1 $rc
python3 - "$T/res.json" "$T/res.txt" >"$T/render.out" <<'EOF'
import json, re, sys
from decimal import Decimal

UNITS = {"ns": 1, "\u00b5s": 1000, "us": 1000, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}

def parse(d):  # a Go duration string into nanoseconds
    if d == "0s":
        return 0
    return sum(int(Decimal(n) * UNITS[u]) for n, u in re.findall(r"([0-9.]+)(ns|\u00b5s|us|ms|s|m|h)", d))

def frac(v, prec):  # Go's fmtFrac and fmtInt: whole part, then the fraction without trailing zeros
    w, f = divmod(v, 10**prec)
    return str(w) + ("." + str(f).zfill(prec).rstrip("0") if f else "")

def fmt(ns):  # Go's Duration.String()
    if ns == 0:
        return "0s"
    if ns < 1000:
        return "%dns" % ns
    if ns < 10**6:
        return frac(ns, 3) + "\u00b5s"
    if ns < 10**9:
        return frac(ns, 6) + "ms"
    secs, f = divmod(ns, 10**9)
    s = frac(secs % 60 * 10**9 + f, 9) + "s"
    mins = secs // 60
    if mins:
        s = "%dm" % (mins % 60) + s
        if mins // 60:
            s = "%dh" % (mins // 60) + s
    return s

res = json.load(open(sys.argv[1]))
out, total = "", 0
for key in sorted(res["runs"]):  # PrintText: sort.Strings of the map's keys
    run = res["runs"][key]
    total += parse(run["duration"])
    if run["error"] == "<nil>":
        continue
    out += "\n== FAIL: %s\n\n\tError: %s\n\n\tLog:\n" % (run["full_id"], run["error"])
    out += "".join("\t\t" + line + "\n" for line in run["logs"].split("\n")[:-1])  # ReadBytes: the last piece dropped
out += "\n\nTest results:\n"
if res["total_runs"] == 0:
    out += "\tNo tests run\n"
else:
    out += "\tPass:  %d\n\tFail:  %d\n\tTotal: %d\n\n" % (res["total_pass"], res["total_fail"], res["total_runs"])
    out += "\tTotal duration: %s\n\tAvg. duration:  %s\n" % (fmt(parse(res["elapsed"])), fmt(total // res["total_runs"]))
text = open(sys.argv[2], encoding="utf-8").read()
print("same" if text == out else "differs")
print(res["total_pass"], res["total_fail"], res["total_runs"])
EOF
check "the text file is what PrintText makes of the JSON file" same "$(sed -n 1p "$T/render.out")"
read -r pass fail total < <(sed -n 2p "$T/render.out")
check "both passes and failures in the run ($pass passed, $fail failed)" "yes 8" \
  "$([ "$pass" -gt 0 ] && [ "$fail" -gt 0 ] && echo yes || echo no) $total"
check "the JSON file is one line" 1 "$(wc -l <"$T/res.json")"
done_testing
