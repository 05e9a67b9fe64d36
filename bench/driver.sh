#!/usr/bin/env bash
# bench/driver.sh [COUNTS...]: what one scale-test run costs the driver, and
# how that cost scales with the workspaces in flight.
# `coder-scale scaletest create-workspaces --concurrency 0` (all at once)
# against the local stand-in with instant builds and agents (default 1,000,
# 5,000, 10,000, 20,000 and 50,000 workspaces), results stored in a private
# PostgreSQL (bench/lib.sh).  Rate limits off, as Coder's create-workspaces
# help advises (a real coderd allows 60 logins a minute per IP).  Each
# build's logs are followed over a websocket, as Coder's runner does.
# Prints a table, one row per count: wall time, CPU ms per workspace
# lifecycle (create user, log in, create workspace, build, agents, cleanup),
# peak RSS per workspace in flight, for the driver and for the stand-in, so
# it is clear which side is the limit.  SVG=PATH also draws it
# (bench/curve_svg.py).
source "$(dirname "$0")/lib.sh"
source "$ROOT/test/client/listen.inc"

COUNTS=("$@")
[ ${#COUNTS[@]} -gt 0 ] || COUNTS=(1000 5000 10000 20000 50000)
SI_PID=

bench_pg
bench_at_exit '[ -z "$SI_PID" ] || { kill "$SI_PID" 2>/dev/null; wait "$SI_PID" 2>/dev/null; }'
bench_db DB bench

# CPU seconds (user + system) and peak RSS (MB) of a running process.
proc_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }
proc_hwm() { awk '/^VmHWM/ { print $2 / 1024 }' "/proc/$1/status"; }

# In flight at once: all of them (--concurrency 0).  HTTP calls share at most
# 1,024 connections (the driver's default); a workspace holds one websocket
# at a time (its build's logs).  Above what the hard open-files limit holds
# (20,000 here: 18,900 in flight), websockets wait for a descriptor
# (--max-websockets, leaving the stand-in, which holds the other end of
# each, room for its own); the waits are printed.
FD_HARD=$(ulimit -Hn)
[ "$FD_HARD" = unlimited ] && FD_HARD=1048576
WS_MAX=$((FD_HARD - 1024 - 256))

TABLE=$WORK/table
printf '%-10s %8s %8s %12s %10s %12s %10s  %s\n' in_flight wall_s cpu_ms/ws rss_KB/ws peak_MB si_cpu_ms/ws si_peak_MB result | tee "$TABLE"
for n in "${COUNTS[@]}"; do
  extra=()
  [ "$n" -le "$WS_MAX" ] || extra=(--max-websockets "$WS_MAX")
  # port 0: the stand-in binds a free port and says which (test/client/listen.inc)
  standin_launch "$WORK/standin.out" "$WORK/standin.err" "$ROOT/standin/coder-standin" --listen 127.0.0.1:0 \
    --token-file "$WORK/token" --build-time 0 --agent-delay 0 --replicas 10 --daemons 10000 \
    --dangerous-disable-rate-limits \
    || { cat "$WORK/standin.err" >&2; die "the stand-in did not start"; }
  SI_PID=$LAUNCH_PID
  si_cpu0=$(proc_cpu $SI_PID)
  /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" \
    "$CS" scaletest create-workspaces --url "$LAUNCH_URL" --quiet \
    --token-file "$WORK/token" --db "dbname=$DB" -t docker --count "$n" --concurrency 0 \
    --cleanup-concurrency 0 "${extra[@]}" --label "bench-$n" --output "json:$WORK/r.json" >"$WORK/out" 2>"$WORK/err" || true
  si_cpu=$(awk -v a="$si_cpu0" -v b="$(proc_cpu $SI_PID)" 'BEGIN { print b - a }')
  si_mb=$(proc_hwm $SI_PID)
  kill $SI_PID; wait $SI_PID 2>/dev/null || true; SI_PID=
  # a driver killed by a signal: /usr/bin/time says so on a line of its own first
  grep -q "^Command terminated" "$WORK/time" && echo "the driver died: $(head -n 1 "$WORK/time")" >&2
  grep "waited for one of" "$WORK/err" >&2 || true
  grep -q "open files" "$WORK/err" && cat "$WORK/err" >&2
  read -r wall usr sys rss_kb < <(grep -v "^Command" "$WORK/time" | tail -n 1)
  result=$(psql -X -At -d "$DB" -c "SELECT s.summary FROM coder_scale.run_summary s JOIN coder_scale.run r ON r.id = s.run_id WHERE r.label = 'bench-$n'")
  stored=$(psql -X -At -d "$DB" -c "SELECT count(*) FROM coder_scale.run_result rr JOIN coder_scale.run r ON r.id = rr.run_id WHERE r.label = 'bench-$n' AND rr.cleanup IS NOT NULL")
  waits=$(sed -n 's/.*: \([0-9]*\) websockets waited.*/\1/p' "$WORK/err")
  awk -v n="$n" -v wall="$wall" -v cpu="$(awk -v u="$usr" -v s="$sys" 'BEGIN { print u + s }')" -v kb="$rss_kb" \
      -v sicpu="$si_cpu" -v simb="$si_mb" -v res="$result" -v st="$stored" -v w="${waits:-0}" 'BEGIN {
    printf "%-10d %8.2f %8.3f %12.1f %10d %12.3f %10d  %s (%d stored with cleanup; %d websockets waited)\n",
      n, wall, cpu / n * 1000, kb / n, kb / 1024, sicpu / n * 1000, simb, res, st, w
  }' | tee -a "$TABLE"
done
# The curve, as an SVG: SVG=docs/driver-scaling.svg bash bench/driver.sh
[ -z "${SVG:-}" ] || python3 "$ROOT/bench/curve_svg.py" "$TABLE" "$SVG"
