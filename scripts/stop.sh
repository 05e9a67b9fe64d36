#!/usr/bin/env bash
# Stop everything scripts/first-run.sh or scripts/start.sh started: the
# stand-in, both exporters and the private PostgreSQL cluster (the data stays
# in .pg/, the logs in .run/). Nothing running: nothing to do.
source "$(dirname "$0")/lib.sh"
stopped=()
for d in "${DAEMONS[@]}"; do
  s=$(daemon_stop "$d")
  [ -z "$s" ] || stopped+=("$s")
done
if cluster_pid "$PGSTATE/data" >/dev/null; then
  cluster_stop "$PGSTATE/data"
  stopped+=("the private cluster")
fi
if [ ${#stopped[@]} -eq 0 ]; then
  say "nothing was running"
else
  say "stopped: ${stopped[*]} (data kept in $(shown "$PGSTATE")/, logs in $(shown "$RUN")/)"
fi
