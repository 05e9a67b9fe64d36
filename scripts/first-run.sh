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
# Environment (README, "The first run's ports and variables"):
#   CODER_SCALE_COUNT      workspaces in the scale test (default 300)
#   CODER_SCALE_PGPORT     the private cluster's port, unix socket only (5499)
#   CODER_SCALE_PORT_BASE  13100: stand-in API, +1 its /metrics, +2
#                          node_exporter, +3 postgres_exporter (127.0.0.1)
#   CODER_SCALE_STATE_DIR  where .pg/ and .run/ live (default: the checkout)
# Services already running on other ports than asked for: refuses (stop.sh
# first). A port taken by another program: refuses, naming it.
source "$(dirname "$0")/lib.sh"

COUNT=${CODER_SCALE_COUNT:-300}
[[ $COUNT =~ ^[0-9]+$ ]] && [ "$COUNT" -ge 1 ] || die "CODER_SCALE_COUNT=$COUNT: must be a number of workspaces, 1 or more (default 300)"
CLI=$ROOT/client/coder-scale

services_settings first-run.sh
install_packages
build_and_install
release_lock
services_start

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

services_report >&2
