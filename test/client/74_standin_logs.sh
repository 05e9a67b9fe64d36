#!/usr/bin/env bash
# The stand-in's build logs, as coderd's: lines written over a build's time
# in Terraform's stages, GET .../logs as []ProvisionerJobLog, ?follow as a
# websocket (one JSON object and a newline per text message, new lines as
# they come, 1000 "done" when the job ends or at once when it had), ?after,
# coderd's 400s, the websockets gauge, a failed build's error line, and
# --build-log-lines.  Builds are held (PUT /api/v2/standin/hold) where the
# test looks between lines: nothing waits on time.
source "$(dirname "$0")/standin/lib.sh"
check "--build-log-lines above 11 is refused" 2 "build-log-lines: must be an integer from 0 to 11" -- "$STANDIN_BIN" --build-log-lines 12
check "--build-log-lines must be a number" 2 "build-log-lines: must be an integer from 0 to 11" -- "$STANDIN_BIN" --build-log-lines some
echo "1..$n"

run() {  # run SECTION PREFIX FLAGS...
  local section=$1 prefix=$2; shift 2
  standin_start "$prefix" --agent-delay 0 "$@"
  local url=${prefix}_URL token=${prefix}_TOKEN
  python3 "$STANDIN_HELPERS/logs_test.py" "$section" "${!url}" "${!token}" "${!url}/metrics" || status=1
}
run follow F --replicas 1 --daemons 1 --build-time 400ms
run failed X --build-time 100ms --fail-build 1
run short S --build-time 100ms --build-log-lines 4
run none N --build-time 100ms --build-log-lines 0
run none-failed M --build-time 100ms --build-log-lines 0 --fail-build 1
exit $status
