#!/usr/bin/env bash
# The results database goes away once the run row is made and stays away:
# the test runs to its end, results and cleanups wait in memory and then in
# the spill file, the driver gives up after its wait (CODER_SCALE_STORE_WAIT,
# 60 s unless set) with exit 3, naming the file; once the database is back,
# load-spill stores every result, cleanup and the run's end exactly once.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup
si_start --build-time 0 --agent-delay 0 --daemons 50
DATA=$(q "SHOW data_directory")
chmod 755 "$T"
install -o postgres -m 600 /dev/null "$T/pg.log"
# (fd 9 is the build lock of scripts/test.sh: the server must not keep it)
pgctl() { runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$DATA" "$@" >/dev/null 9>&-; }
OPTS=$(sed -E 's/^[^ ]+ "-D" "[^"]*" ?//' "$DATA/postmaster.opts")
restart_db() { [ -f "$DATA/postmaster.pid" ] || pgctl start -w -l "$T/pg.log" -o "$OPTS"; }
trap 'restart_db; finish_test' EXIT
export TMPDIR=$T

hold builds=true
CODER_SCALE_STORE_WAIT=1 st_bg -t docker -c 40 --concurrency 20 --cleanup-concurrency 20 --label down \
  --output "json:$T/r.json" >"$T/out" 2>"$T/err"
pid=$!
# the run row alone is too early: the writer connects after it, and a database
# gone by then ends the test before it starts; the driver says this line once
# its writer is connected and the runs begin (the builds are held)
in_test() { wait_for_line "$T/err" '^Running load test'; }
in_test || true
pgctl stop -m fast -w
hold builds=false
rc=0; wait $pid || rc=$?
check "exit 3: the database stayed away" 3 $rc
line=$(grep -m1 'still failing after 1 s' "$T/err" || true)
spill=$(sed -n 's/.*are in the spill file \([^:]*\): load them.*/\1/p' <<<"$line")
check "the end says what is in the spill file and how to load it" yes \
  "$(grep -Eq "^coder-scale: scaletest: results database: still failing after 1 s \(08001: .*\); 40 results, 40 cleanup figures, 1 run status not written are in the spill file $spill: load them with coder-scale load-spill $spill once the database is back$" <<<"$line" && echo yes || echo no)"
check "the outage was said when it began" yes "$(grep -q 'results database: .*; retrying with backoff' "$T/err" && echo yes || echo no)"
check "the spill file is there, mode 600" "600 regular file" "$(stat -c '%a %F' "$spill" 2>&1)"

restart_db
read -r total failed <<<"$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["total_runs"], r["total_fail"])' "$T/r.json")"
load() { local rc=0; "$CS" load-spill "$spill" --db "dbname=$DB" >"$T/load.out" 2>"$T/load.err" || rc=$?; echo $rc; }
summary() { q "SELECT r.status, s.total, s.failed, (SELECT count(*) FROM coder_scale.run_result WHERE run_id = r.id AND cleanup IS NOT NULL)
  FROM coder_scale.run r JOIN coder_scale.run_summary s ON s.run_id = r.id WHERE r.label = 'down'"; }
check "load-spill once it is back: exit 0" 0 "$(load)"
check "... every result and cleanup stored, the run completed" "completed|$total|$failed|40" "$(summary)"
check "... as the driver's own JSON has them" 40 "$total"
check "... and says so" "  results:          40 in the file, 40 stored now, 0 stored before
  cleanup figures:  40 in the file, 40 stored now, 0 stored before
  run status:       1 in the file, 1 stored now, 0 stored before" "$(grep '^  ' "$T/load.out")"
check "loading it again: exit 0" 0 "$(load)"
check "... stores nothing more" "  results:          40 in the file, 0 stored now, 40 stored before" "$(grep 'results:' "$T/load.out")"
check "... the same rows" "completed|$total|$failed|40" "$(summary)"
check "the run's end is the driver's, from before the database came back" t \
  "$(q "SELECT finished_at < pg_postmaster_start_time() FROM coder_scale.run WHERE label = 'down'")"

# no spill file can be made (TMPDIR missing): said, the rows stay in memory
# and are lost at the end, which says so
hold builds=true
TMPDIR=$T/missing CODER_SCALE_STORE_MEMORY=2000 CODER_SCALE_STORE_WAIT=1 st_bg -t docker -c 10 --concurrency 10 \
  --cleanup-concurrency 10 --label nowhere >"$T/out" 2>"$T/err"
pid=$!
in_test || true
pgctl stop -m fast -w
hold builds=false
rc=0; wait $pid || rc=$?
check "no spill file: exit 3" 3 $rc
check "... said once, with why" 1 "$(grep -c "results database: cannot make a spill file in $T/missing: No such file or directory; the rows stay in memory" "$T/err")"
check "... and at the end that they are lost" yes \
  "$(grep -q 'results database: still failing after 1 s (.*); the rows not written are lost (no spill file)$' "$T/err" && echo yes || echo no)"
restart_db
check "nothing left on the server" "0 0" "$(leftovers)"
done_testing
