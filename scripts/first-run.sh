#!/usr/bin/env bash
# README command 1: the whole first run on a new machine, idempotent.
#   install packages, build and install; start the project's private
#   PostgreSQL cluster (data in .pg/, never the system's "15 main"), the local
#   coderd stand-in and two real exporters (node_exporter for this host,
#   postgres_exporter for the results database), all on loopback; run a scale
#   test against the stand-in while scraping all three; print Coder-style test
#   results, phase latencies, peak CPU and memory per component, and the
#   sizing table. Everything keeps running: scripts/stop.sh stops it.
#
# Environment: CODER_SCALE_COUNT (default 300 workspaces),
# CODER_SCALE_PGPORT (5499), CODER_SCALE_PORT_BASE (53100: stand-in API,
# +1 its /metrics, +2 node_exporter, +3 postgres_exporter).
source "$(dirname "$0")/lib.sh"

DATA=$ROOT/.pg/data
SOCK=$(sock_dir_for "$ROOT/.pg/sock")
PORT=${CODER_SCALE_PGPORT:-5499}
DB=coder_scale
COUNT=${CODER_SCALE_COUNT:-300}
BASE=${CODER_SCALE_PORT_BASE:-53100}
API=127.0.0.1:$BASE METRICS=127.0.0.1:$((BASE + 1))
NODE=127.0.0.1:$((BASE + 2)) PGEXP=127.0.0.1:$((BASE + 3))
RUN=$ROOT/.run
CLI=$ROOT/client/coder-scale

install_packages
build_and_install
release_lock
mkdir -p "$RUN"

cluster_start "$DATA" "$SOCK" "$PORT"
export PGHOST=$SOCK PGPORT=$PORT PGUSER=postgres
cat > "$ROOT/.pg/env" <<ENV
export PGHOST=$SOCK PGPORT=$PORT PGUSER=postgres PGDATABASE=$DB
ENV
psql -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 \
  || psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
psql -X -q -d "$DB" -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS coder_scale;
ALTER EXTENSION coder_scale UPDATE;
SQL

daemon_start standin "http://$API/api/v2/buildinfo" \
  "$ROOT/standin/coder-standin" --listen "$API" --metrics-listen "$METRICS" \
  --token-file "$RUN/standin.token" --replicas 2 --daemons 30 \
  --build-time normal:2s,500ms --agent-delay 500ms
daemon_start node_exporter "http://$NODE/metrics" \
  prometheus-node-exporter --web.listen-address="$NODE"
DATA_SOURCE_NAME="host=$SOCK port=$PORT user=postgres dbname=postgres sslmode=disable" \
  daemon_start postgres_exporter "http://$PGEXP/metrics" \
  prometheus-postgres-exporter --web.listen-address="$PGEXP"

say "scale test: $COUNT workspaces against the stand-in (http://$API), scraping coderd, runner and database"
set +e
"$CLI" scaletest create-workspaces --url "http://$API" --token-file "$RUN/standin.token" \
  --count "$COUNT" --concurrency 0 --cleanup-concurrency 0 --template docker \
  --run-command "sleep 2 && echo hello" --run-expect-output hello --label first-run \
  --scrape "coderd=http://$METRICS/metrics" --scrape "runner=http://$NODE/metrics" \
  --scrape "database=http://$PGEXP/metrics" --scrape-interval 1s --db "dbname=$DB"
status=$?
set -e
[ $status -le 1 ] || die "the scale test could not run (exit $status); logs in $RUN/"

psql -X -q -d "$DB" -P footer=off <<'SQL'
\set run '(SELECT max(id) FROM coder_scale.run WHERE label = ''first-run'')'
\echo
\echo Phase latencies of this run (seconds):
SELECT phase, count,
       round(extract(epoch FROM min)::numeric, 3) AS min, round(extract(epoch FROM p50)::numeric, 3) AS p50,
       round(extract(epoch FROM p95)::numeric, 3) AS p95, round(extract(epoch FROM p99)::numeric, 3) AS p99,
       round(extract(epoch FROM max)::numeric, 3) AS max
FROM coder_scale.phase_latency WHERE run_id = :run ORDER BY phase_order;
\echo Peak and average CPU and memory per component (5-second buckets):
SELECT component,
       round(max(cpu_cores)::numeric, 2) AS peak_cpu_cores, round(avg(cpu_cores)::numeric, 2) AS avg_cpu_cores,
       round(max(memory_bytes)::numeric / 2^20) AS peak_memory_mb, round(avg(memory_bytes)::numeric / 2^20) AS avg_memory_mb,
       max(connections) AS peak_connections
FROM coder_scale.component_usage_over_time(:run, '5 seconds')
GROUP BY component ORDER BY component;
\echo Sizing recommendations (profile default):
SELECT * FROM coder_scale.recommendations();
SQL

cat >&2 <<MSG
==> everything keeps running (PostgreSQL, the stand-in, both exporters). Query the results with:
      source .pg/env && psql -c 'SELECT * FROM coder_scale.run_summary'
    Stop it all with:  bash scripts/stop.sh
MSG
