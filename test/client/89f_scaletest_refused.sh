#!/usr/bin/env bash
# A permanent error stops the results writer at once and is never retried:
# a CHECK constraint the failed runs break (23514) is printed with its
# SQLSTATE, the spill file and what to do while the test still runs (the
# other runs are held in their builds); every row then goes to the spill
# file and the exit code is 4.  Once the constraint is dropped, load-spill
# stores every result, cleanup and the run's end exactly once: loading it
# again stores nothing and changes nothing.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup
si_start --build-time 0 --agent-delay 0 --fail-create-user 0.5
export TMPDIR=$T
q "ALTER TABLE coder_scale.run_result ADD CONSTRAINT only_passes CHECK (outcome = 'pass')"

hold builds=true
st_bg -t docker -c 10 --concurrency 10 --cleanup-concurrency 10 --label refused --output "json:$T/r.json" \
  >"$T/out" 2>"$T/err"
pid=$!
said=no
wait_for_line "$T/err" 'results database: ERROR 23514: new row for relation "run_result" violates check constraint "only_passes"' && said=yes
check "the refusal is said while the test runs" "yes yes" "$said $(kill -0 $pid 2>/dev/null && echo yes || echo no)"
hold builds=false
rc=0; wait $pid || rc=$?
check "exit 4: the database refused a row" 4 $rc
check "said once, never retried" 1 "$(grep -c 'ERROR 23514' "$T/err")"
line=$(grep -m1 'ERROR 23514' "$T/err")
spill=$(sed -n 's/.*rows go to the spill file \([^;]*\);.*/\1/p' <<<"$line")
check "... with the spill file and what to do" \
  "coder-scale: scaletest: results database: ERROR 23514: new row for relation \"run_result\" violates check constraint \"only_passes\"; the writer stopped, rows go to the spill file $spill; load it with coder-scale load-spill $spill after fixing the cause" \
  "$line"
check "... which is in a private directory" yes \
  "$(echo "$spill" | grep -Eq "^$T/coder-scale-run[0-9]+-[A-Za-z0-9]{6}/spill$" && [ -f "$spill" ] && echo yes || echo no)"
cleanups=$(sed -n 's/.*results database: 10 results, \([0-9]*\) cleanup figures, 1 run status not written (the writer stopped at 23514); they are in .*/\1/p' "$T/err")
check "the end names what is in it" yes "$([ -n "$cleanups" ] && echo yes || echo no)"
check "nothing stored meanwhile" 0 "$(q "SELECT count(*) FROM coder_scale.run_result")"

# what the driver's own JSON says, to hold the loaded rows against
read -r total failed <<<"$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["total_runs"], r["total_fail"])' "$T/r.json")"
load() { local rc=0; "$CS" load-spill "$spill" --db "dbname=$DB" >"$T/load.out" 2>"$T/load.err" || rc=$?; echo $rc; }
snapshot() { q "SELECT md5(string_agg(rr::text, ',' ORDER BY full_id)) FROM coder_scale.run_result rr"; }
check "load-spill while the constraint is there: exit 4" 4 "$(load)"
check "... saying so with the SQLSTATE" yes "$(grep -q 'load-spill: .*ERROR 23514' "$T/load.err" && echo yes || echo no)"
q "ALTER TABLE coder_scale.run_result DROP CONSTRAINT only_passes"
check "load-spill after the cause is fixed: exit 0" 0 "$(load)"
check "... every result and cleanup stored, the run completed" "completed|$total|$failed|$cleanups" \
  "$(q "SELECT r.status, s.total, s.failed, (SELECT count(*) FROM coder_scale.run_result WHERE run_id = r.id AND cleanup IS NOT NULL)
       FROM coder_scale.run r JOIN coder_scale.run_summary s ON s.run_id = r.id WHERE r.label = 'refused'")"
check "... and says what it stored" "  results:          10 in the file, 10 stored now, 0 stored before" "$(grep 'results:' "$T/load.out")"
before=$(snapshot)
check "loading it again: exit 0" 0 "$(load)"
check "... stores nothing" "  results:          10 in the file, 0 stored now, 10 stored before" "$(grep 'results:' "$T/load.out")"
check "... and changes nothing" "$before" "$(snapshot)"

# load-spill's own mistakes: each says what is wrong, exit 2, nothing stored
loadx() { local rc=0; "$CS" load-spill "$@" >"$T/x.out" 2>"$T/x.err" || rc=$?; echo "$rc $(head -n 1 "$T/x.err")"; }
check "no FILE" "2 coder-scale: load-spill: FILE: missing: give the spill file a writer named (.../coder-scale-run.../spill)" "$(loadx)"
echo "not a spill file" >"$T/other"
check "not a spill file" "2 coder-scale: load-spill: 22P04: $T/other: not a spill file of coder-scale 1 (its first line is not \"coder-scale spill 1 run=... command=... kinds=...\")" \
  "$(loadx "$T/other" --db "dbname=$DB")"
check "no such file" "2 coder-scale: load-spill: 58030: $T/nothing: No such file or directory" "$(loadx "$T/nothing" --db "dbname=$DB")"
ln -s "$spill" "$T/link"
check "a symlink is not followed" "2 coder-scale: load-spill: 58030: $T/link: Too many levels of symbolic links" "$(loadx "$T/link" --db "dbname=$DB")"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS ${DB}_other" -c "CREATE DATABASE ${DB}_other" >/dev/null 2>&1
psql -X -q -d "${DB}_other" -c "CREATE EXTENSION coder_scale" >/dev/null
check "the run is not in that database" \
  "2 coder-scale: load-spill: $spill: run $(q "SELECT id FROM coder_scale.run WHERE label = 'refused'") is not in database \"${DB}_other\"; give --db the database its scaletest wrote to" \
  "$(loadx "$spill" --db "dbname=${DB}_other")"
psql -X -q -d postgres -c "DROP DATABASE ${DB}_other" >/dev/null
# a file whose writer was killed in the middle of a record: what comes before it loads
head -c -5 "$spill" >"$T/cut" && chmod 600 "$T/cut"
check "a record cut short: exit 0, and said" "0 coder-scale: load-spill: $T/cut: the file ends in a record cut short (its writer was killed while writing it); the rows before it are stored" \
  "$(loadx "$T/cut" --db "dbname=$DB")"
check "... still the same rows" "$before" "$(snapshot)"
check "load-spill --help: exit 0" 0 "$(loadx --help | cut -d' ' -f1)"
check "nothing left on the server" "0 0" "$(leftovers)"
done_testing
