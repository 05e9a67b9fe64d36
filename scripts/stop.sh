#!/usr/bin/env bash
# Stop everything README command 1 started: the stand-in, both exporters and
# the private PostgreSQL cluster (the data stays in .pg/).
source "$(dirname "$0")/lib.sh"
RUN=$ROOT/.run
for d in standin node_exporter postgres_exporter; do daemon_stop "$d"; done
cluster_stop "$ROOT/.pg/data"
say "stopped the stand-in, the exporters and the private cluster (data kept in .pg/)"
