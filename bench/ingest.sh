#!/usr/bin/env bash
# bench/ingest.sh [RUNS]: how fast `coder-scale ingest` stores a Coder result
# file, against the physical limit here: a plain COPY of the very same rows
# prepared as CSV.  Runs on its own private PostgreSQL (bench/lib.sh).
source "$(dirname "$0")/lib.sh"

RUNS=${1:-100000}
FAIL_EVERY=100

bench_pg "-c max_wal_size=4GB"
bench_db DB_INGEST ingest
bench_db DB_PLAIN plain

say "generating a result file of $RUNS runs (1 in $FAIL_EVERY fails)"
perl "$ROOT/test/client/data/gen-results.pl" "$RUNS" "$FAIL_EVERY" > "$WORK/results.json"
size=$(du -m "$WORK/results.json" | cut -f1)
sync                    # no writeback of the new file during the timings
psql -X -q -d "$DB_INGEST" -c "CHECKPOINT"

now() { date +%s.%N; }

say "coder-scale ingest"
t0=$(now)
"$CS" ingest "$WORK/results.json" --db "dbname=$DB_INGEST" --label bench >/dev/null
t1=$(now)

# The same rows, as CSV, for a plain COPY into an empty database.
cols="run_id, full_id, workspace_name, user_name, started_at, finished_at, duration, create_user,
      create_workspace, queue_wait, build, agents_connect, command, cleanup, outcome, failure_category, error, logs"
psql -X -q -d "$DB_INGEST" -c "\\copy (SELECT $cols FROM coder_scale.run_result) TO '$WORK/rows.csv' CSV"
# both databases are fresh: the ingested run and this one are run 1
psql -X -q -d "$DB_PLAIN" -c "INSERT INTO coder_scale.run (kind, status) VALUES ('scrape', 'running')"
psql -X -q -d "$DB_PLAIN" -c "CHECKPOINT"
sync

say "plain COPY of the same rows from CSV"
t2=$(now)
psql -X -q -d "$DB_PLAIN" -c "\\copy coder_scale.run_result ($cols) FROM '$WORK/rows.csv' CSV"
t3=$(now)

rows=$(psql -X -At -d "$DB_PLAIN" -c "SELECT count(*) FROM coder_scale.run_result")
awk -v n="$rows" -v mb="$size" -v ti="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
    -v tc="$(awk -v a="$t2" -v b="$t3" 'BEGIN { print b - a }')" 'BEGIN {
  printf "runs:                 %d (%d MB of JSON)\n", n, mb
  printf "coder-scale ingest:   %6.2f s  %8.0f runs/s\n", ti, n / ti
  printf "plain COPY from CSV:  %6.2f s  %8.0f runs/s\n", tc, n / tc
  printf "ingest / plain COPY:  %6.2f (ingest takes %.2fx the time of the bare COPY)\n", (n / ti) / (n / tc), ti / tc
}'
