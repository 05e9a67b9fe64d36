#!/usr/bin/env bash
# The stand-in's rate limits, as coderd's (coderd/httpmw/ratelimit.go on
# go-chi/httprate): 512 a minute per user (or IP) and path by default, the
# 429 body and X-RateLimit-* / Retry-After headers, the bypass header (owner:
# not limited; member: 428 in plain text), login's 60 a minute per IP,
# websockets and unknown routes counted, --api-rate-limit,
# --login-rate-limit, --dangerous-disable-rate-limits, and their bad values.
# The checks count requests, never time (ratelimit_test.py says why a
# minute's end falling mid-test cannot change them).
source "$(dirname "$0")/standin/lib.sh"
check "--api-rate-limit must be an integer" 2 "api-rate-limit: must be an integer" -- "$STANDIN_BIN" --api-rate-limit lots
check "--login-rate-limit must be an integer" 2 "login-rate-limit: must be an integer" -- "$STANDIN_BIN" --login-rate-limit 1.5
check "--help says coderd has no --login-rate-limit" 0 "coderd fixes it at 60 and has no such flag" -- "$STANDIN_BIN" --help
check "--help has --dangerous-disable-rate-limits" 0 "dangerous-disable-rate-limits  no rate limit at all" -- "$STANDIN_BIN" --help
echo "1..$n"

run() {  # run SECTION PREFIX FLAGS...: a stand-in of its own, one section
  local section=$1 prefix=$2; shift 2
  standin_start "$prefix" --build-time 0 --agent-delay 0 "$@"
  local url=${prefix}_URL token=${prefix}_TOKEN
  python3 "$STANDIN_HELPERS/ratelimit_test.py" "$section" "${!url}" "${!token}" || status=1
}
run defaults D
grep -Fxq "coder-standin: rate limits: API 512 a minute per user and path, login 60 a minute per IP" \
  "$STANDIN_TMP/D.out" && echo "ok - the start-up lines say the limits" \
  || { echo "not ok - the start-up lines say the limits"; status=1; }
run login L
run small S --api-rate-limit 3
run raised R --login-rate-limit 200
run off O --dangerous-disable-rate-limits
grep -Fxq "coder-standin: rate limits off (--dangerous-disable-rate-limits)" "$STANDIN_TMP/O.out" \
  && echo "ok - ... and say when they are off" || { echo "not ok - ... and say when they are off"; status=1; }
run api-off A --api-rate-limit 0
exit $status
