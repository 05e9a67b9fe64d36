#!/usr/bin/env bash
# The stand-in's failure injection, step by step and by rate, and its flags:
# --help, loopback only, rejected values.
source "$(dirname "$0")/standin/lib.sh"
check "--help exits 0 and says it is not a Coder" 0 "NOT a Coder" -- "$STANDIN_BIN" --help
check "a non-loopback --listen is refused" 2 "not a loopback address" -- "$STANDIN_BIN" --listen 0.0.0.0:3000
check "a non-loopback --metrics-listen is refused" 2 "not a loopback address" -- "$STANDIN_BIN" --metrics-listen 10.1.2.3:2112
check "a rate above 1 is refused" 2 "between 0 and 1" -- "$STANDIN_BIN" --fail-build 1.5
check "a bad distribution is refused" 2 "build-time" -- "$STANDIN_BIN" --build-time normal:2s
check "a bad --fail-http-status is refused" 2 "429 or a 5xx" -- "$STANDIN_BIN" --fail-http-status 404
check "zero daemons are refused" 2 "daemons" -- "$STANDIN_BIN" --daemons 0
check "an unknown flag is refused" 2 "Usage" -- "$STANDIN_BIN" --frobnicate
echo "1..$n"

standin_start F --build-time 0 --agent-delay 0 --agent-timeout 300ms --seed 42 \
  --fail-create-user 0.3 --fail-create-workspace 0.3 --fail-build 0.3 --fail-agent 0.3 \
  --fail-pty 0.5 --fail-delete 0.3
python3 "$STANDIN_HELPERS/api_test.py" faults "$F_URL" "$F_TOKEN" || status=1
standin_start H --fail-http 0.5 --fail-http-status 429 --seed 3
python3 "$STANDIN_HELPERS/api_test.py" http-faults "$H_URL" "$H_TOKEN" 429 || status=1
standin_start I --fail-http 0.5 --fail-http-status 503 --seed 4
python3 "$STANDIN_HELPERS/api_test.py" http-faults "$I_URL" "$I_TOKEN" 503 || status=1
exit $status
