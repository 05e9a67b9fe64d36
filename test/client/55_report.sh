#!/usr/bin/env bash
# coder-scale report against the throwaway cluster: Coder-style text, phase
# latencies and failures of a hand-computed file, errors and exit codes.
source "$(dirname "$0")/lib.inc"
GEN=$HERE/data/gen-results.pl
export PGDATABASE=$DB
has() { grep -Fxq -- "$2" "$1"; }
# the fields of the line of a table starting with $2 (tabs and runs of spaces collapse)
row() { awk -v k="$2" '$1 == k { $1 = $1; print; exit }' "$1"; }

db_setup

check "report on an empty database is an input error (exit 2)" run 2 "$T/none" "$CS" report
check "... saying there are no runs" grep -Fq "coder-scale: report: no runs stored yet" "$T/none.err"

# 12 runs; runs 1, 6, 11 fail (create user, create workspace, build); see gen-results.pl for the timings
perl "$GEN" 12 5 >"$T/small.json"
"$CS" ingest "$T/small.json" --label small >/dev/null
check "report of the latest run exits 0" run 0 "$T/r" "$CS" report
R=$T/r.out
check "it names the run" has "$R" "Run 1 \"small\" (ingest of $T/small.json)"
check "a FAIL block per failed run, in Coder's (text) order" \
  test "$(grep '^== FAIL: ' "$R" | tr '\n' '|')" = "== FAIL: workspacebuild/1|== FAIL: workspacebuild/11|== FAIL: workspacebuild/6|"
check "the error line of a block" has "$R" "	Error: create user: POST http://127.0.0.1:3000/api/v2/users: unexpected status code 500: Internal error creating user."
check "log lines are indented with two tabs" has "$R" "		Generating user password..."
check "Test results: header" has "$R" "Test results:"
check "Pass line" has "$R" "	Pass:  9"
check "Fail line" has "$R" "	Fail:  3"
check "Total line" has "$R" "	Total: 12"
# elapsed: the last run (11) ends 550 + 8990 ms after the start, + 250 ms = 9.79 s
check "Total duration is the file's elapsed" has "$R" "	Total duration: 9.79s"
# durations 5330 6960 8590 7220 6850 8380 7010 8570 8200 6830 7360 8990 ms: sum 90290 / 12
check "Avg. duration over all runs" has "$R" "	Avg. duration:  7.524167s"
# agents of the 9 passes: 1015 x3, 2015 x3, 3015 x3 ms
check "agents_connect latencies" test "$(row "$R" agents_connect)" = "agents_connect 9 1.015s 2.015s 3.015s 3.015s 3.015s 3.015s"
# builds of the 9 passes: 4000 4000 4200 4300 4400 4500 4700 4800 4900 ms
# p90 = 4800 + 0.2*100, p95 = 4800 + 0.6*100, p99 = 4800 + 0.92*100
check "build latencies" test "$(row "$R" build)" = "build 9 4s 4.4s 4.82s 4.86s 4.892s 4.9s"
check "failures by category" test "$(row "$R" failed | head -1)" = "failed to create user create_user 1"
check "the build failure is counted" grep -Eq $'^\tbuild failed +build_failed +1$' "$R"
check "the last line is the summary" test "$(tail -1 "$R")" = "9 succeeded, 1 failed to create user, 1 failed to create workspace, 1 build failed"

check "report --limit 1" run 0 "$T/lim" "$CS" report 1 --limit 1
check "... prints one FAIL block" test "$(grep -c '^== FAIL: ' "$T/lim.out")" = 1
check "... and says how many are left out" has "$T/lim.out" "(2 more failed runs not shown; raise --limit to see them)"

printf '{"total_runs":0,"total_pass":0,"total_fail":0,"elapsed":"0s","elapsed_ms":0,"runs":{}}\n' >"$T/empty-run.json"
"$CS" ingest "$T/empty-run.json" >/dev/null
check "the latest run is the default" run 0 "$T/latest" "$CS" report
check "... an empty run says No tests run" has "$T/latest.out" "	No tests run"
check "... and its summary" test "$(tail -1 "$T/latest.out")" = "0 succeeded"

check "an unknown run is an input error (exit 2)" run 2 "$T/unknown" "$CS" report 999
check "... with a clear message" grep -Fq "coder-scale: report: run 999 does not exist" "$T/unknown.err"
check "a run id must be a number (exit 2)" run 2 "$T/nan" "$CS" report abc
check "a bad --limit is a usage error (exit 2)" run 2 "$T/badlimit" "$CS" report --limit -3
check "report --help exits 0" run 0 "$T/help" "$CS" report --help
check "... and shows the usage" grep -q '^Usage: coder-scale report' "$T/help.out"
check "an unreachable database gives exit 3" run 3 "$T/unreach" "$CS" report --db "host=$T/nowhere port=1"
check "coder-scale --help lists ingest and report" run 0 "$T/top" "$CS" --help
check "... both" test "$(grep -cE '^  (ingest|report) ' "$T/top.out")" = 2

echo "1..$n"
[ "$fails" -eq 0 ]
