#!/usr/bin/env bash
# bench/driver.sh [COUNTS...]: what one scale-test run costs the driver.
# `coder-scale scaletest create-workspaces --concurrency 0` (as many as descriptors allow) against the local
# stand-in with instant builds and agents (default 1,000 and 10,000
# workspaces), results stored in a private PostgreSQL (bench/lib.sh).
# Rate limits off, as Coder's create-workspaces help advises (a real coderd
# allows 60 logins a minute per IP).  Each build's logs are followed over a
# websocket, as Coder's runner does.
# Prints wall time, CPU seconds per 1,000 workspace lifecycles (create user,
# log in, create workspace, build, agents, cleanup) and peak RSS, for the
# driver and for the stand-in, so it is clear which side is the limit.
source "$(dirname "$0")/lib.sh"
source "$ROOT/test/client/listen.inc"

COUNTS=("$@")
[ ${#COUNTS[@]} -gt 0 ] || COUNTS=(1000 10000)
SI_PID=

bench_pg 55493
bench_at_exit '[ -z "$SI_PID" ] || { kill "$SI_PID" 2>/dev/null; wait "$SI_PID" 2>/dev/null; }'
psql -X -q -d postgres -c "CREATE DATABASE bench"
psql -X -q -d bench -c "CREATE EXTENSION coder_scale"

# CPU seconds (user + system) and peak RSS (MB) of a running process.
proc_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }
proc_hwm() { awk '/^VmHWM/ { print $2 / 1024 }' "/proc/$1/status"; }

# In flight at once: all of them, as far as descriptors allow.  A workspace
# being built holds two sockets on each side (its HTTP connection and its
# build's logs websocket), so at most a quarter of the hard open-files limit
# (20,000 here: 5,000 in flight) runs at once.
FD_HARD=$(ulimit -Hn)
[ "$FD_HARD" = unlimited ] && FD_HARD=1048576

printf '%-10s %-9s %8s %14s %8s  %s\n' workspaces side wall_s "cpu_s/1000ws" peak_MB result
for n in "${COUNTS[@]}"; do
  conc=$((FD_HARD / 4)); [ "$conc" -lt "$n" ] || conc=0
  # port 0: the stand-in binds a free port and says which (test/client/listen.inc)
  standin_launch "$WORK/standin.out" "$WORK/standin.err" "$ROOT/standin/coder-standin" --listen 127.0.0.1:0 \
    --token-file "$WORK/token" --build-time 0 --agent-delay 0 --replicas 10 --daemons 10000 \
    --dangerous-disable-rate-limits \
    || { cat "$WORK/standin.err" >&2; die "the stand-in did not start"; }
  SI_PID=$LAUNCH_PID
  si_cpu0=$(proc_cpu $SI_PID)
  /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" \
    "$CS" scaletest create-workspaces --url "$LAUNCH_URL" \
    --token-file "$WORK/token" --db dbname=bench -t docker --count "$n" --concurrency "$conc" \
    --cleanup-concurrency "$conc" --label "bench-$n" --output "json:$WORK/r.json" >"$WORK/out" 2>"$WORK/err" || true
  si_cpu=$(awk -v a="$si_cpu0" -v b="$(proc_cpu $SI_PID)" 'BEGIN { print b - a }')
  si_mb=$(proc_hwm $SI_PID)
  kill $SI_PID; wait $SI_PID 2>/dev/null || true; SI_PID=
  # a driver killed by a signal: /usr/bin/time says so on a line of its own first
  grep -q "^Command terminated" "$WORK/time" && echo "the driver died: $(head -n 1 "$WORK/time")" >&2
  read -r wall usr sys rss_kb < <(grep -v "^Command" "$WORK/time" | tail -n 1)
  result=$(psql -X -At -d bench -c "SELECT s.summary FROM coder_scale.run_summary s JOIN coder_scale.run r ON r.id = s.run_id WHERE r.label = 'bench-$n'")
  stored=$(psql -X -At -d bench -c "SELECT count(*) FROM coder_scale.run_result rr JOIN coder_scale.run r ON r.id = rr.run_id WHERE r.label = 'bench-$n' AND rr.cleanup IS NOT NULL")
  awk -v n="$n" -v conc="$conc" -v wall="$wall" -v cpu="$(awk -v u="$usr" -v s="$sys" 'BEGIN { print u + s }')" -v mb="$((rss_kb / 1024))" \
      -v sicpu="$si_cpu" -v simb="$si_mb" -v res="$result" -v st="$stored" 'BEGIN {
    printf "%-10d %-9s %8.2f %14.2f %8d  %s (%d stored with cleanup; %s in flight)\n", n, "driver", wall, cpu / n * 1000, mb, res, st, conc ? conc : "all" 
    printf "%-10d %-9s %8s %14.2f %8d\n", n, "stand-in", "", sicpu / n * 1000, simb
  }'
done
