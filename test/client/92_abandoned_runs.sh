#!/usr/bin/env bash
# A driver killed with SIGKILL cannot close its run: the run's lock goes with
# its connection, run_summary says 'abandoned', and `coder-scale report`
# marks it so.  A live driver's run is never taken for abandoned.
source "$(dirname "$0")/8_scaletest_lib.inc"
pid=
trap '[ -n "$pid" ] && kill -KILL $pid 2>/dev/null; finish_test' EXIT
db_setup
si_start --build-time 1h --agent-delay 0

# until COND (an SQL boolean) holds; the bound only ends a hung test
db_true() { [ "$(q "SELECT $1" 2>&1)" = t ]; }
until_db() { wait_until db_true "$1"; }

st_bg -t docker -c 3 --concurrency 0 --label killed >"$T/out" 2>"$T/err"
pid=$!
until_db "EXISTS (SELECT 1 FROM coder_scale.run WHERE label = 'killed')
          AND coder_scale.run_driver_alive((SELECT id FROM coder_scale.run WHERE label = 'killed'))" \
  || { echo "  not ok - the driver never held its run"; cat "$T/err"; exit 1; }
run=$(q "SELECT id FROM coder_scale.run WHERE label = 'killed'")
check "a driven run is running while its driver lives" "running" "$(q "SELECT status FROM coder_scale.run_summary WHERE run_id = $run")"
check "close_abandoned_runs() leaves it alone" "0" "$(q "SELECT count(*) FROM coder_scale.close_abandoned_runs()")"
{ kill -KILL $pid; wait $pid; } 2>/dev/null || true
pid=
until_db "NOT coder_scale.run_driver_alive($run)" || { echo "  not ok - the lock outlived the driver"; fails=$((fails + 1)); }
check "run_summary: abandoned once the driver is gone" "abandoned" "$(q "SELECT status FROM coder_scale.run_summary WHERE run_id = $run")"
check "... while the row still says running" "running" "$(q "SELECT status FROM coder_scale.run WHERE id = $run")"
"$CS" report "$run" --db "dbname=$DB" >"$T/report" 2>&1 || true
grep -q "^Run $run \"killed\" (create-workspaces, abandoned)" "$T/report" \
  && echo "  ok - report says the run was abandoned" || { echo "  not ok - report: $(head -1 "$T/report")"; fails=$((fails + 1)); }
check "report marked it abandoned, with an end" "abandoned|t" "$(q "SELECT status, finished_at IS NOT NULL FROM coder_scale.run WHERE id = $run")"

# a scrape killed the same way
"$CS" scrape "coderd=$CODER_URL/metrics" --for 1h --interval 1s --label scrape-killed --db "dbname=$DB" >"$T/sout" 2>"$T/serr" &
pid=$!
until_db "coder_scale.run_driver_alive(coalesce((SELECT id FROM coder_scale.run WHERE label = 'scrape-killed'), 0))" \
  || { echo "  not ok - the scrape never held its run"; cat "$T/serr"; exit 1; }
srun=$(q "SELECT id FROM coder_scale.run WHERE label = 'scrape-killed'")
{ kill -KILL $pid; wait $pid; } 2>/dev/null || true
pid=
until_db "NOT coder_scale.run_driver_alive($srun)" || { echo "  not ok - the scrape's lock outlived it"; fails=$((fails + 1)); }
check "a killed scrape is abandoned too" "abandoned" "$(q "SELECT status FROM coder_scale.run_summary WHERE run_id = $srun")"
# a database whose extension is older than 0.2.0: the driver warns once and goes on
OLD=${DB}_old
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $OLD WITH (FORCE)" -c "CREATE DATABASE $OLD" >/dev/null
psql -X -q -d "$OLD" -c "CREATE EXTENSION coder_scale VERSION '0.1.0'" >/dev/null
rc=0
"$CS" scrape "coderd=$CODER_URL/metrics" --for 1s --interval 500ms --label old --db "dbname=$OLD" >"$T/oout" 2>"$T/oerr" || rc=$?
check "0.1.0 extension: the scrape still runs (exit 0)" 0 $rc
check "... and says once how to update" 1 "$(grep -c 'warning: run 1 is not marked as driven (ERROR 42883: function coder_scale.hold_run(bigint) does not exist); run ALTER EXTENSION coder_scale UPDATE' "$T/oerr" || true)"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $OLD WITH (FORCE)" >/dev/null
done_testing
