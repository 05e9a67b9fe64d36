#!/usr/bin/env bash
# Request throughput of coder-standin with wrk (Debian package `wrk`):
# small GET, a build (3 KB JSON), workspace creation (which queues a build),
# and the workspace list at N workspaces; then the stand-in's own CPU and RSS.
#   bash standin/tools/bench.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECS=${1:-5}
CONNS=${2:-100}
command -v wrk >/dev/null || { echo "bench.sh: needs wrk (apt-get install wrk)" >&2; exit 2; }
make -s -C "$ROOT/standin" >/dev/null
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
TOKEN=bench-$$-token
URL=http://127.0.0.1:$PORT
"$ROOT/standin/coder-standin" --listen 127.0.0.1:$PORT --token $TOKEN --build-time 0 --agent-delay 0 \
  --replicas 4 --daemons 25 >/dev/null &
PID=$!
LUA=$(mktemp /tmp/standin-bench.XXXXXX.lua)
trap 'kill $PID 2>/dev/null || true; rm -f "$LUA"' EXIT
for _ in $(seq 50); do curl -s -o /dev/null "$URL/api/v2/buildinfo" && break; sleep 0.05; done
H="Coder-Session-Token: $TOKEN"
TID=$(curl -s -H "$H" "$URL/api/v2/organizations/default/templates/docker" | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
B=$(curl -s -H "$H" -X POST "$URL/api/v2/users/me/workspaces" -d "{\"template_id\":\"$TID\",\"name\":\"bench\"}" \
  | python3 -c 'import json,sys;print(json.load(sys.stdin)["latest_build"]["id"])')
cat > "$LUA" <<LUA
local n = 0
local next_id = 0
function setup(thread) thread:set("tid", next_id); next_id = next_id + 1 end
function request()
  n = n + 1
  return wrk.format("POST", "/api/v2/users/me/workspaces",
    {["Content-Type"] = "application/json", ["Coder-Session-Token"] = "$TOKEN"},
    '{"template_id":"$TID","name":"scaletest-t' .. tid .. '-' .. n .. '"}')
end
LUA
run() {  # run LABEL wrk-args...
  local label=$1; shift
  wrk -t2 -c"$CONNS" -d"${SECS}s" "$@" | awk -v l="$label" '
    /Requests\/sec/ {rps=$2} /Latency/ {lat=$2} /Non-2xx/ {bad=$NF}
    END {printf "%-44s %10s req/s   mean latency %-8s non-2xx %s\n", l, rps, lat, bad+0}'
}
echo "coder-standin throughput: wrk -t2 -c$CONNS -d${SECS}s on $(nproc) cores (client and server share them)"
run "GET /api/v2/buildinfo" -H "$H" "$URL/api/v2/buildinfo"
run "GET /api/v2/workspacebuilds/{id}" -H "$H" "$URL/api/v2/workspacebuilds/$B"
run "POST /api/v2/users/me/workspaces (+ build)" -s "$LUA" "$URL"
N=$(curl -s -H "$H" "$URL/api/v2/workspaces?limit=1" | python3 -c 'import json,sys;print(json.load(sys.stdin)["count"])')
T=$(curl -s -o /dev/null -w '%{time_total}s, %{size_download} bytes' -H "$H" "$URL/api/v2/workspaces?q=name:scaletest-")
echo "GET /api/v2/workspaces?q=name:scaletest- with $N workspaces: $T"
curl -s "$URL/metrics" | grep -E '^process_(cpu_seconds_total|resident_memory_bytes)'
