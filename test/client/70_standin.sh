#!/usr/bin/env bash
# The local coderd stand-in: every endpoint against swagger.json, auth and error
# bodies, a workspace's whole life (build, agent, PTY `echo hello`, logs,
# stop, delete, user delete), /metrics, the test holds, and --listen /
# --metrics-listen on port 0 (the port really bound is printed and answers),
# and a body-less PATCH that must not stall the next request.
source "$(dirname "$0")/standin/lib.sh"
standin_start A --replicas 1 --daemons 2 --build-time 200ms --agent-delay 150ms \
  --template extra --metrics-listen 127.0.0.1:0 --seed 1
status=0
n=0
check() {  # check NAME COMMAND...
  local name=$1; shift
  n=$((n + 1))
  if "$@"; then echo "ok $n - $name"; else echo "not ok $n - $name"; status=1; fi
}
port=${A_URL##*:}
mport=${A_METRICS_URL#http://127.0.0.1:}; mport=${mport%/metrics}
check "--listen 127.0.0.1:0: CODER_URL names the port bound ($port)" test "$port" -gt 0
check "... and that port answers as the stand-in" \
  bash -c "curl -fsS '$A_URL/api/v2/buildinfo' | grep -Fq '\"dashboard_url\":\"$A_URL\"'"
check "... the start-up line says the same address" grep -Fxq \
  "coder-standin: a local stand-in for coderd (not a Coder), listening on $A_URL" "$STANDIN_TMP/A.out"
check "--metrics-listen 127.0.0.1:0: its own port ($mport), printed, serves /metrics" \
  bash -c "[ '$mport' -gt 0 ] && [ '$mport' != '$port' ] && curl -fsS '$A_METRICS_URL' | grep -q '^coderd_provisionerd_jobs_current'"
# curl reuses the connection for the GET: before the fix lws took it for the
# PATCH's body and the GET waited 5 s (lws's timeout); 4 s is far above the
# few ms it takes now, on any machine
t0=$(date +%s%N)
codes=$(curl -s -o /dev/null -w '%{http_code} ' -X PATCH -H "Coder-Session-Token: $A_TOKEN" \
  "$A_URL/api/v2/workspacebuilds/00000000-0000-4000-8000-000000000000/cancel" \
  --next -s -o /dev/null -w '%{http_code}' "$A_URL/api/v2/buildinfo")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "a PATCH without a body, then a GET on the same connection: both answered at once ($codes, $ms ms)" \
  test "$codes" = "404 200" -a "$ms" -lt 4000
echo "1..$n"
python3 "$STANDIN_HELPERS/api_test.py" basics "$A_URL" "$A_TOKEN" "$A_METRICS_URL" || status=1
exit $status
