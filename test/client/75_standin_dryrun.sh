#!/usr/bin/env bash
# The stand-in's template dry run and external auth, as coderd's
# (coderd/templateversions.go): POST .../dry-run -> 201 ProvisionerJob
# through the provisioner queue, GET the job, its logs (array and ?follow
# websocket), resources, matched provisioners, cancel pending and running,
# coderd's 400/403/404s, --fail-dry-run MESSAGE (the job fails with that
# error), and every answer against swagger.json.
source "$(dirname "$0")/standin/lib.sh"
check "--fail-dry-run needs a message" 2 "fail-dry-run: must be a message of 1 to 400 characters" -- "$STANDIN_BIN" --fail-dry-run ""
check "--help has --fail-dry-run" 0 "fail-dry-run MESSAGE" -- "$STANDIN_BIN" --help
echo "1..$n"

standin_start P --replicas 1 --daemons 1 --build-time 400ms --agent-delay 0 --template extra
python3 "$STANDIN_HELPERS/dryrun_test.py" plan "$P_URL" "$P_TOKEN" || status=1
export DRYRUN_FAIL='Error: resource "docker_image" "main": image not found'
standin_start F --build-time 100ms --agent-delay 0 --fail-dry-run "$DRYRUN_FAIL"
python3 "$STANDIN_HELPERS/dryrun_test.py" failing "$F_URL" "$F_TOKEN" || status=1
exit $status
