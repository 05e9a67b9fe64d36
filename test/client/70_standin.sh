#!/usr/bin/env bash
# The local coderd stand-in: every endpoint against swagger.json, auth and error
# bodies, a workspace's whole life (build, agent, PTY `echo hello`, logs,
# stop, delete, user delete) and /metrics.
source "$(dirname "$0")/standin/lib.sh"
mport=$(free_port)
standin_start A --replicas 1 --daemons 2 --build-time 200ms --agent-delay 150ms \
  --template extra --metrics-listen "127.0.0.1:$mport" --seed 1
python3 "$STANDIN_HELPERS/api_test.py" basics "$A_URL" "$A_TOKEN" "http://127.0.0.1:$mport"
