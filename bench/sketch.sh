#!/usr/bin/env bash
# Benchmark of the latency sketch (one command: bash bench/sketch.sh).
#
# On BENCH_ROWS (default 10 million) log-normal latencies in a table, serial
# and with 2 parallel workers: p50/p95/p99 by approx_percentiles(sketch_agg)
# vs percentile_cont vs tdigest_percentile, with times, ratios to
# percentile_cont and the worst relative error against the exact answer;
# then 10,000 per-minute sketches rolled up vs recomputing from the rows, and
# the stored size per sketch.  Runs on its own private cluster, removed at the
# end (bench/lib.sh; BENCH_PGHOST for a given server).  Not part of scripts/test.sh (it takes a few minutes).
source "$(dirname "$0")/lib.sh"

ROWS=${BENCH_ROWS:-10000000}

bench_pg
say "machine: $(nproc) cores, $(psql -X -At -d postgres -c 'SELECT version()' | cut -d, -f1)"
bench_db DB bench
start=$(date +%s)
psql -X -q -d "$DB" -v rows="$ROWS" -f "$ROOT/bench/sketch.sql"
say "benchmark took $(( $(date +%s) - start )) s"
