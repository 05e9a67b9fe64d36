#!/usr/bin/env bash
# Stop everything README command 1 started (the data stays in .pg/).
source "$(dirname "$0")/lib.sh"
cluster_stop "$ROOT/.pg/data"
say "stopped"
