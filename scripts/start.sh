#!/usr/bin/env bash
# Bring back the services of README command 1 without another scale test:
# the private PostgreSQL cluster, the stand-in and both exporters, each once
# (already running: left alone), on the same ports and variables as
# scripts/first-run.sh; then print what runs where. scripts/stop.sh stops it.
# It installs and builds nothing: run scripts/first-run.sh once before.
source "$(dirname "$0")/lib.sh"

services_settings start.sh
[ -x "$ROOT/standin/coder-standin" ] && [ -f "$PGSTATE/data/PG_VERSION" ] \
  || die "nothing to start yet: run bash scripts/first-run.sh once (it installs, builds and creates the cluster)"
services_start
services_report
