#!/usr/bin/env bash
# Benchmark of the latency sketch (one command: bash bench/sketch.sh).
#
# On BENCH_ROWS (default 10 million) log-normal latencies in a table, serial
# and with 2 parallel workers: p50/p95/p99 by approx_percentiles(sketch_agg)
# vs percentile_cont vs tdigest_percentile, with times, ratios to
# percentile_cont and the worst relative error against the exact answer;
# then 10,000 per-minute sketches rolled up vs recomputing from the rows, and
# the stored size per sketch.  Runs on its own private cluster, removed at the
# end.  Not part of scripts/test.sh (it takes a few minutes).
source "$(dirname "$0")/../scripts/lib.sh"

ROWS=${BENCH_ROWS:-10000000}
PORT=${BENCH_PGPORT:-5439}

install_packages
build_and_install

WORK=$(mktemp -d /tmp/cs-bench.XXXXXX)
chmod 755 "$WORK"
cleanup() {
  cluster_stop "$WORK/data" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
cluster_start "$WORK/data" "$WORK" "$PORT"

export PGHOST=$WORK PGPORT=$PORT PGUSER=postgres
say "machine: $(nproc) cores, $(psql -X -At -d postgres -c 'SELECT version()' | cut -d, -f1)"
psql -X -q -d postgres -c "CREATE DATABASE bench" >/dev/null
start=$(date +%s)
psql -X -q -d bench -v rows="$ROWS" -f "$ROOT/bench/sketch.sql"
say "benchmark took $(( $(date +%s) - start )) s"
