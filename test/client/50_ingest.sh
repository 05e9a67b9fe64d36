#!/usr/bin/env bash
# coder-scale ingest against the throwaway cluster (PGHOST/PGPORT/PGUSER set
# by scripts/test.sh): valid files, every kind of bad file, duplicates.
source "$(dirname "$0")/lib.inc"
GEN=$HERE/data/gen-results.pl
export PGDATABASE=$DB
runs() { sql "SELECT count(*) FROM coder_scale.run"; }
db_setup

# ---------------------------------------------------------------- valid files
perl "$GEN" 12 5 >"$T/small.json"
check "a small file is ingested (exit 0)" run 0 "$T/small" "$CS" ingest "$T/small.json" --label small --tag env=ci --tag coder=v2.9.0
# failures of runs 1, 6, 11: categories 0, 1, 2 of the generator's cycle
check "ingest prints the run id and the summary" \
  grep -Fxq "$T/small.json: ingested as run 1: 9 succeeded, 1 failed to create user, 1 failed to create workspace, 1 build failed" "$T/small.out"
check "label and tags are stored" test "$(sql "SELECT label || ' ' || tags::text FROM coder_scale.run WHERE id = 1")" = 'small {"env": "ci", "coder": "v2.9.0"}'
# run 7 of the generator: create_user 80 ms, create_workspace 160, queue 1530, build 4700, agents 2015;
# duration 5+80+70+160+1530+4700+2015+10 = 8570 ms (+123 ns); starts 350 ms (+7 ns) after 10:00 UTC
check "phases of a run are recovered from its logs" test \
  "$(sql "SELECT concat_ws(' ', create_user, create_workspace, queue_wait, build, agents_connect, duration, started_at AT TIME ZONE 'UTC', finished_at AT TIME ZONE 'UTC', user_name, workspace_name)
          FROM coder_scale.run_result WHERE run_id = 1 AND full_id = 'workspacebuild/7'")" = \
  "00:00:00.08 00:00:00.16 00:00:01.53 00:00:04.7 00:00:02.015 00:00:08.57 2026-11-29 10:00:00.35 2026-11-29 10:00:08.92 scaletest-q7x2kd9a-7 scaletest-q7x2kd9a-7"
check "a run that failed in the build has no build or agent phase" test \
  "$(sql "SELECT concat_ws(' ', outcome, failure_category, create_user, create_workspace, build IS NULL, agents_connect IS NULL)
          FROM coder_scale.run_result WHERE run_id = 1 AND full_id = 'workspacebuild/11'")" = "fail build_failed 00:00:00.12 00:00:00.14 t t"
check "the multi-line error is stored as Coder wrote it" test \
  "$(sql "SELECT error FROM coder_scale.run_result WHERE run_id = 1 AND full_id = 'workspacebuild/11'" | head -3 | tail -1)" = \
  "        /home/runner/work/coder/coder/scaletest/createworkspaces/run.go:118"
check "a pass stores no error (never \"<nil>\")" test "$(sql "SELECT count(*) FROM coder_scale.run_result WHERE outcome = 'pass' AND error IS NOT NULL")" = 0
# the run spans its first start (10:00:00) + elapsed: last end is run 11 at 550 + 8990 ms, plus 250 ms
check "the run's start and finish come from the file" test \
  "$(sql "SELECT concat_ws(' ', started_at AT TIME ZONE 'UTC', finished_at - started_at, count, kind, status) FROM coder_scale.run WHERE id = 1")" = \
  "2026-11-29 10:00:00 00:00:09.79 12 ingest completed"

check "the same file again is not stored twice (exit 0)" run 0 "$T/dup" "$CS" ingest "$T/small.json"
check "... and says which run holds it" grep -Fxq "$T/small.json: already ingested as run 1" "$T/dup.out"
cp "$T/small.json" "$T/copy-of-small.json"
check "a copy under another name is recognised by its content" run 0 "$T/dup2" "$CS" ingest "$T/copy-of-small.json"
check "... as run 1" grep -Fxq "$T/copy-of-small.json: already ingested as run 1" "$T/dup2.out"
check "still one run" test "$(runs)" = 1

# 10,000 runs, one in ten failing, the failures cycling through all ten categories
perl "$GEN" 10000 10 >"$T/big.json"
start=$(date +%s%N)
check "10,000 runs are ingested" run 0 "$T/big" "$CS" ingest "$T/big.json"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "# 10,000 runs ($(du -m "$T/big.json" | cut -f1) MB) ingested in $ms ms"
check "... in under 10 s" test "$ms" -lt 10000
check "... with 100 failures of every category, in sort order and wording" grep -Fxq \
  "$T/big.json: ingested as run 2: 9000 succeeded, 100 failed to create user, 100 failed to create workspace, 100 build failed, 100 build canceled, 100 failed to connect, 100 command failed, 100 command timed out, 100 timed out, 100 cleanup failed, 100 failed for another reason" \
  "$T/big.out"
check "every category counts 100 in run_summary" test \
  "$(sql "SELECT concat_ws(',', create_user, create_workspace, build_failed, build_canceled, agent_timeout, command_failed, command_timeout, job_timeout, cleanup_failed, other) FROM coder_scale.run_summary WHERE run_id = 2")" = \
  "100,100,100,100,100,100,100,100,100,100"
check "unicode in errors survives" test \
  "$(sql "SELECT error FROM coder_scale.run_result WHERE run_id = 2 AND full_id = 'workspacebuild/91'")" = \
  "panic: runtime error: index out of range [3] with length 3 — résumé"
check "unicode in logs survives" test \
  "$(sql "SELECT count(*) FROM coder_scale.run_result WHERE run_id = 2 AND logs LIKE '%Creation complete after 3s [id=c0ffee] ✔%'")" = 9800
check "tab and newline in errors survive" test \
  "$(sql "SELECT error FROM coder_scale.run_result WHERE run_id = 2 AND full_id = 'workspacebuild/1'" | tail -1)" = \
  "	Error: pq: deadlock detected"

# Coder releases of 2023 logged the API client's fields as JSON: {"method": "POST", "url": "..."}
perl "$GEN" 2 0 | perl -pe 's/(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \[debu\]  sdk (request|response)  method=(\w+)  url=(\S+?)  /$1 [DEBUG]\\t<.\/codersdk\/client.go:229>\\t(*Client).Request\\tsdk $2\\t{\\"method\\": \\"$3\\", \\"url\\": \\"$4\\"}  /g' >"$T/old-slog.json"
check "logs in 2023's slog format are read" run 0 "$T/old" "$CS" ingest "$T/old-slog.json"
check "... phases of run 0 from them (80, 120, 30, 4000, 1015 ms)" test \
  "$(sql "SELECT concat_ws(' ', create_user, create_workspace, queue_wait, build, agents_connect) FROM coder_scale.run_result
          WHERE full_id = 'workspacebuild/0' AND run_id = (SELECT max(id) FROM coder_scale.run)")" = \
  "00:00:00.08 00:00:00.12 00:00:00.03 00:00:04 00:00:01.015"
check "... and the old lines really are JSON-style" grep -Fq '[DEBUG]\t<./codersdk/client.go:229>\t(*Client).Request\tsdk request\t{\"method\": \"POST\", \"url\": \"http://127.0.0.1:3000/api/v2/users\"}' "$T/old-slog.json"
sql "DELETE FROM coder_scale.run WHERE id = (SELECT max(id) FROM coder_scale.run)" >/dev/null

# ---------------------------------------------------------------- bad files
perl "$GEN" 3 2 >"$T/three.json"        # runs 0, 2 pass; run 1 fails (create_user)
mk() { perl -pe "$2" "$T/three.json" >"$T/$1.json"; }
before=$(runs)
bad() {   # bad NAME WHAT-THE-MESSAGE-SAYS [AND-ALSO]
  local name=$1 says=$2 also=${3:-}
  if run 2 "$T/$name" "$CS" ingest "$T/$name.json" && grep -Fq "coder-scale: $T/$name.json: $says" "$T/$name.err" &&
     grep -Fq -- "$also" "$T/$name.err"; then
    ok "bad file refused (exit 2): $name"
  else
    not_ok "bad file refused (exit 2): $name" "wanted: coder-scale: $T/$name.json: $says${also:+ ... $also}" "got: $(head -c 300 "$T/$name.err")"
  fi
}
mk malformed 's/"total_pass":2,/"total_pass":2,,/'
bad malformed "malformed JSON at line 1, column"
head -c 2000 "$T/three.json" >"$T/truncated.json"
bad truncated "malformed JSON: the file ends in the middle of the document (truncated?)"
: >"$T/empty.json"
bad empty "malformed JSON: the file ends in the middle of the document (truncated?)"
mk trailing 's/\}\}$/}} {}/'
bad trailing "malformed JSON: unexpected data after the document at line 1, column"
mk toplevel_array 's/^/[/; s/$/]/'
bad toplevel_array "expected a JSON object at the top level, found an array"
mk wrong_type_total 's/"total_runs":3/"total_runs":"3"/'
bad wrong_type_total 'top level.total_runs: expected an integer, found a string'
mk wrong_type_fraction 's/"duration_ms":5330/"duration_ms":5330.5/'
bad wrong_type_fraction 'runs["workspacebuild/0"].duration_ms: expected an integer, found a fraction'
mk wrong_type_null 's/"error":"\\u003cnil\\u003e"/"error":null/'
bad wrong_type_null 'runs["workspacebuild/0"].error: expected a string, found null'
mk negative 's/"elapsed_ms":\d+/"elapsed_ms":-1/'
bad negative 'top level.elapsed_ms: integer out of range (-1)'
mk missing_field 's/"logs":"(?:[^"\\]|\\.)*",//'
bad missing_field 'runs["workspacebuild/0"]: missing field "logs"'
mk missing_runs 's/,"runs":.*$/}/'
bad missing_runs 'top level: missing field "runs"'
mk extra_field 's/^\{/{"extra":true,/'
bad extra_field 'top level: unexpected field "extra"'
mk extra_run_field 's/"test_name":/"retries":0,"test_name":/'
bad extra_run_field 'runs["workspacebuild/0"]: unexpected field "retries"'
mk total_runs 's/"total_runs":3/"total_runs":4/'
bad total_runs 'total_runs is 4 but the file holds 3 runs'
mk total_pass 's/"total_pass":2,"total_fail":1/"total_pass":3,"total_fail":0/'
bad total_pass 'total_pass is 3 but 2 runs passed (error "<nil>")'
mk total_fail 's/"total_fail":1/"total_fail":0/'
bad total_fail 'total_fail is 0 but 1 runs failed'
mk bad_duration 's/"duration":"5.330000123s"/"duration":"5.33x"/'
bad bad_duration 'runs["workspacebuild/0"].duration: "5.33x" is not a Go duration (unknown unit'
mk unitless_duration 's/"duration":"5.330000123s"/"duration":"5330"/'
bad unitless_duration 'runs["workspacebuild/0"].duration: "5330" is not a Go duration (missing unit'
mk duration_ms 's/"duration_ms":5330/"duration_ms":5331/'
bad duration_ms 'runs["workspacebuild/0"]: duration_ms 5331 disagrees with duration (5330 ms)'
mk elapsed_ms 's/"elapsed_ms":(\d+)/"elapsed_ms":1/'
bad elapsed_ms 'elapsed_ms 1 disagrees with elapsed'
mk bad_time 's/"started_at":"2026-11-29T10:00:00.000000007Z"/"started_at":"2026-02-30T10:00:00Z"/'
bad bad_time 'runs["workspacebuild/0"].started_at: "2026-02-30T10:00:00Z" is not an RFC 3339 time'
mk dup_key 's/"workspacebuild\/2":\{"full_id":"workspacebuild\/2","test_name":"workspacebuild","id":"2"/"workspacebuild\/0":{"full_id":"workspacebuild\/0","test_name":"workspacebuild","id":"0"/'
bad dup_key 'runs: the run id "workspacebuild/0" appears twice'
mk key_mismatch 's/"full_id":"workspacebuild\/0"/"full_id":"workspacebuild\/9"/'
bad key_mismatch 'runs["workspacebuild/0"].full_id: "workspacebuild/9" differs from its key'
mk nul 's/"Generating user/"\\u0000Generating user/'
bad nul 'runs["workspacebuild/0"].logs: contains a NUL character'
mk bad_utf8 's/Generating user/Generating \xff\xfe user/'
bad bad_utf8 'runs["workspacebuild/0"].logs: invalid UTF-8 in the value at line 1, column 197'
# json-c 0.16 (JSON_TOKENER_VALIDATE_UTF8 too) lets these through; PostgreSQL would refuse them in COPY
for u in 'surrogate:\xed\xa0\x80' 'overlong:\xc0\xaf' 'above_10ffff:\xf4\x90\x80\x80' 'cut_short:\xe2\x82 '; do
  mk "utf8_${u%%:*}" "s/Generating user/Generating ${u#*:}user/"
  bad "utf8_${u%%:*}" 'runs["workspacebuild/0"].logs: invalid UTF-8 in the value at line 1, column 197'
done
mk utf8_error 's/(Internal error creating user)/$1 \xff/'
bad utf8_error 'runs["workspacebuild/1"].error: invalid UTF-8 in the value at line 1, column'
mk raw_tab 's/Generating user/Generating\tuser/'
bad raw_tab 'runs["workspacebuild/0"].logs: an unescaped control character in the value at line 1, column 196'
# json-c keeps the last of two equal fields: a failed run followed by "error":"<nil>" would be a pass
mk dup_error 's/(deadlock detected")/$1,"error":"\\u003cnil\\u003e"/; s/"total_pass":2,"total_fail":1/"total_pass":3,"total_fail":0/'
check "... the file with a repeated \"error\" really is a pass to json-c" grep -Fq 'deadlock detected","error":"\u003cnil\u003e"}' "$T/dup_error.json"
bad dup_error 'runs["workspacebuild/1"]: duplicate field "error"'
mk dup_logs 's/"logs":/"logs":"short","logs":/'
bad dup_logs 'runs["workspacebuild/0"]: duplicate field "logs"'
mk dup_top 's/^\{/{"total_runs":3,/'
bad dup_top 'top level: duplicate field "total_runs"'
mk array_logs 's/"logs":/"logs":["x"],"x":/'
bad array_logs 'runs["workspacebuild/0"].logs: expected a string, found an array'
mk object_duration_ms 's/"duration_ms":5330/"duration_ms":{"a":1}/'
bad object_duration_ms 'runs["workspacebuild/0"].duration_ms: expected an integer, found an object'
# Every field has a size limit (README, "coder-scale ingest"); a value one byte over it is refused unread
x257=$(printf 'x%.0s' $(seq 257)) x65=$(printf 'x%.0s' $(seq 65)) d65=$(printf '1%.0s' $(seq 65))
mk long_run_id "s/\"workspacebuild\\/0\":\\{/\"$x257\":{/"
bad long_run_id 'runs: a run id at line 1, column ' 'is longer than the limit of 256 bytes'
mk long_full_id "s/\"full_id\":\"workspacebuild\\/0\"/\"full_id\":\"$x257\"/"
bad long_full_id 'runs["workspacebuild/0"].full_id: the value at line 1, column ' 'is longer than the limit of 256 bytes'
mk long_test_name "s/\"test_name\":\"workspacebuild\"/\"test_name\":\"$x257\"/"
bad long_test_name 'runs["workspacebuild/0"].test_name: the value at line 1, column ' 'is longer than the limit of 256 bytes'
mk long_id "s/\"id\":\"0\"/\"id\":\"$x257\"/"
bad long_id 'runs["workspacebuild/0"].id: the value at line 1, column ' 'is longer than the limit of 256 bytes'
mk long_started_at "s/\"started_at\":\"2026-11-29T10:00:00.000000007Z\"/\"started_at\":\"$x65\"/"
bad long_started_at 'runs["workspacebuild/0"].started_at: the value at line 1, column ' 'is longer than the limit of 64 bytes'
mk long_duration "s/\"duration\":\"5.330000123s\"/\"duration\":\"$x65\"/"
bad long_duration 'runs["workspacebuild/0"].duration: the value at line 1, column ' 'is longer than the limit of 64 bytes'
mk long_duration_ms "s/\"duration_ms\":5330/\"duration_ms\":$d65/"
bad long_duration_ms 'runs["workspacebuild/0"].duration_ms: the value at line 1, column ' 'is longer than the limit of 64 bytes'
mk long_total_runs "s/\"total_runs\":3/\"total_runs\":$d65/"
bad long_total_runs 'top level.total_runs: the value at line 1, column 15 is longer than the limit of 64 bytes'
mk long_elapsed "s/\"elapsed\":\"[^\"]*\"/\"elapsed\":\"$x65\"/"
bad long_elapsed 'top level.elapsed: the value at line 1, column ' 'is longer than the limit of 64 bytes'
mk long_field_name "s/^\\{/{\"$x257\":1,/"
bad long_field_name 'top level: a field name at line 1, column 2 is longer than the limit of 256 bytes'
# the long text fields: their value at the limit, counted in bytes as stored (an escaped é is 2, an
# escaped surrogate pair 4), and one byte over it
sized() {   # sized NAME FIELD RUN BYTES: FIELD of run RUN becomes "é😀" + x... of BYTES bytes decoded
  perl -e 'my ($f, $r, $n) = @ARGV; local $/; $_ = <STDIN>;
           s/("workspacebuild\/$r":\{.*?"$f":")(?:[^"\\]|\\.)*"/$1 . "\\u00e9\\ud83d\\ude00" . ("x" x ($n - 6)) . "\""/e or die;
           print' "$2" "$3" "$4" <"$T/three.json" >"$T/$1.json"
}
sized logs_over logs 0 $((16 * 1024 * 1024 + 1))
bad logs_over 'runs["workspacebuild/0"].logs: the value at line 1, column ' 'is longer than the limit of 16 MiB'
sized error_over error 1 $((1024 * 1024 + 1))
bad error_over 'runs["workspacebuild/1"].error: the value at line 1, column ' 'is longer than the limit of 1 MiB'
mkdir "$T/dir.json"
bad dir "not a regular file"
# Go durations other than Go's own String() form parse too, and strictly: run 0 lasts 5330 ms + 123 ns
for d in "0h0m5.330000123s" "5330000.123us" "5330000.123µs" "5330000.123μs" "5330000123ns" "1.5s3830.000123ms" "+5.330000123s"; do
  perl -pe "s/\"duration\":\"5.330000123s\"/\"duration\":\"$d\"/" "$T/three.json" >"$T/dur.json"
  if run 0 "$T/dur" "$CS" ingest "$T/dur.json" && \
     [ "$(sql "SELECT duration FROM coder_scale.run_result WHERE full_id = 'workspacebuild/0' AND run_id = (SELECT max(id) FROM coder_scale.run)")" = "00:00:05.33" ]; then
    ok "Go duration \"$d\" is 5.330000123 s"
  else
    not_ok "Go duration \"$d\" is 5.330000123 s"
  fi
  sql "DELETE FROM coder_scale.run WHERE id = (SELECT max(id) FROM coder_scale.run)" >/dev/null
done
for d in "1..5s" ".s" "5s3" "-5.33s" "1e3s" "5 s" "99999999999h" "5S"; do
  perl -pe "s/\"duration\":\"5.330000123s\"/\"duration\":\"$d\"/" "$T/three.json" >"$T/baddur.json"
  if run 2 "$T/baddur" "$CS" ingest "$T/baddur.json" && grep -Fq "duration: \"$d\" is " "$T/baddur.err"; then
    ok "bad Go duration \"$d\" is refused"
  else
    not_ok "bad Go duration \"$d\" is refused" "$(head -c 300 "$T/baddur.err")"
  fi
done
# Damaged files: 60 cuts and byte changes at fixed pseudo-random places.  Each is refused (exit 2) or,
# when the change left valid data (inside a log text), stored; never a crash, never half a file.
size=$(stat -c %s "$T/three.json")
crashes=0 half=0
for k in $(seq 1 60); do
  perl -e 'srand($ARGV[0]); local $/; my $d = <STDIN>; my $at = int(rand(length $d));
           if ($ARGV[0] % 2) { $d = substr($d, 0, $at) } else { substr($d, $at, 1) = chr(int(rand(256))) }
           print $d' "$k" <"$T/three.json" >"$T/damaged.json"
  "$CS" ingest "$T/damaged.json" >"$T/damaged.out" 2>"$T/damaged.err"
  rc=$?
  case $rc in
    0) n_stored=$(sql "SELECT count(*) FROM coder_scale.run_result WHERE run_id = (SELECT max(id) FROM coder_scale.run)")
       [ "$n_stored" = 3 ] || half=$((half + 1))
       sql "DELETE FROM coder_scale.run WHERE id = (SELECT max(id) FROM coder_scale.run)" >/dev/null ;;
    2) ;;
    *) crashes=$((crashes + 1)); echo "# damaged file $k: exit $rc: $(head -c 200 "$T/damaged.err")" ;;
  esac
done
check "60 damaged files ($size bytes each): refused or whole, exit 0 or 2 only" test "$crashes $half" = "0 0"
check "nothing of a bad file is stored" test "$(runs)" = "$before"

# A huge value costs no memory: refused after reading 16 MiB of it, and the file is not held
# (before: 425 MB for a 100 MB log, 4.2 GB and a broken COPY for a 1 GB one)
perl -e 'local $/; $_ = <STDIN>; s/"logs":"/"logs":"${\("x" x (100 * 1024 * 1024))}/; print' <"$T/three.json" >"$T/huge.json"
maxrss() { python3 -c 'import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)' "$@"; }
read -r rc mb < <(maxrss "$CS" ingest "$T/huge.json")
echo "# a 100 MB log: exit $rc, $mb MB of memory at most"
check "a 100 MB log is refused (exit 2) in under 64 MB of memory" test "$rc" = 2 -a "$mb" -lt 64
check "... and nothing is stored" test "$(runs)" = "$before"
rm -f "$T/huge.json"
# a value at its limit is stored whole
at_limit() {   # at_limit NAME FIELD RUN BYTES
  sized "$1" "$2" "$3" "$4"
  if run 0 "$T/$1" "$CS" ingest "$T/$1.json" &&
     [ "$(sql "SELECT octet_length($2) FROM coder_scale.run_result WHERE full_id = 'workspacebuild/$3' AND run_id = (SELECT max(id) FROM coder_scale.run)")" = "$4" ]; then
    ok "$2 of $4 bytes (the limit) is stored whole"
  else
    not_ok "$2 of $4 bytes (the limit) is stored whole" "$(head -c 300 "$T/$1.err")"
  fi
  sql "DELETE FROM coder_scale.run WHERE id = (SELECT max(id) FROM coder_scale.run)" >/dev/null
  rm -f "$T/$1.json"
}
at_limit logs_at logs 0 $((16 * 1024 * 1024))
at_limit error_at error 1 $((1024 * 1024))
name256="0$(printf 'x%.0s' $(seq 240))"   # workspacebuild/ + 241 = 256 bytes
mk name_at "s/workspacebuild\\/0\"/workspacebuild\\/$name256\"/g; s/\"id\":\"0\"/\"id\":\"$name256\"/"
if run 0 "$T/name_at" "$CS" ingest "$T/name_at.json" &&
   [ "$(sql "SELECT max(octet_length(full_id)) FROM coder_scale.run_result WHERE run_id = (SELECT max(id) FROM coder_scale.run)")" = 256 ]; then
  ok "a full_id of 256 bytes (the limit) is stored"
else
  not_ok "a full_id of 256 bytes (the limit) is stored" "$(head -c 300 "$T/name_at.err")"
fi
sql "DELETE FROM coder_scale.run WHERE id = (SELECT max(id) FROM coder_scale.run)" >/dev/null
# a user name too long for the phase reader is left unknown, never cut inside a UTF-8 character
mk long_user "s/Username: scaletest-q7x2kd9a-0/Username: $(printf 'é%.0s' $(seq 100))/"
if run 0 "$T/long_user" "$CS" ingest "$T/long_user.json" &&
   [ "$(sql "SELECT coalesce(user_name, 'unknown') FROM coder_scale.run_result WHERE full_id = 'workspacebuild/0' AND run_id = (SELECT max(id) FROM coder_scale.run)")" = unknown ]; then
  ok "a 200-byte user name in the logs is stored as unknown"
else
  not_ok "a 200-byte user name in the logs is stored as unknown" "$(head -c 300 "$T/long_user.err")"
fi
sql "DELETE FROM coder_scale.run WHERE id = (SELECT max(id) FROM coder_scale.run)" >/dev/null

# one good and one bad file: the good one is stored, the exit code says a file was bad
perl "$GEN" 4 0 >"$T/four.json"
check "a bad file among good ones gives exit 2" run 2 "$T/mixed" "$CS" ingest "$T/four.json" "$T/total_runs.json"
check "... and the good one is stored" grep -Fq "$T/four.json: ingested as run" "$T/mixed.out"

# a row the database refuses (a constraint added to run_result, 23514): said
# with its SQLSTATE and what to do, nothing of the file stored, exit 2
perl "$GEN" 3 0 >"$T/refused.json"
sql "ALTER TABLE coder_scale.run_result ADD CONSTRAINT short_logs CHECK (length(logs) < 10) NOT VALID"
before=$(runs)
check "a row the database refuses gives exit 2" run 2 "$T/refused" "$CS" ingest "$T/refused.json"
check "... said with its SQLSTATE and the cause to fix" grep -Fq \
  "coder-scale: ingest: $T/refused.json: ERROR 23514: new row for relation \"run_result\" violates check constraint \"short_logs\"; the server refused a value: check the input and any constraint or trigger added to the coder_scale tables" \
  "$T/refused.err"
check "... and nothing of the file is stored" test "$(runs)" = "$before"
sql "ALTER TABLE coder_scale.run_result DROP CONSTRAINT short_logs"

# ---------------------------------------------------------------- flags, database
check "ingest --help exits 0" run 0 "$T/help" "$CS" ingest --help
check "... and shows the usage" grep -q '^Usage: coder-scale ingest FILE' "$T/help.out"
check "no FILE is a usage error (exit 2)" run 2 "$T/nofile" "$CS" ingest
check "a bad --tag is a usage error (exit 2)" run 2 "$T/badtag" "$CS" ingest --tag novalue "$T/four.json"
check "an unknown flag is a usage error (exit 2)" run 2 "$T/badflag" "$CS" ingest --frobnicate "$T/four.json"
check "an unreachable database gives exit 3" run 3 "$T/unreach" "$CS" ingest --db "host=$T/nowhere port=1" "$T/four.json"
check "... with a clear message" grep -Fq "coder-scale: ingest: cannot connect to the database: 08001:" "$T/unreach.err"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS ${DB}_noext" -c "CREATE DATABASE ${DB}_noext" >/dev/null 2>&1
check "a database without the extension gives exit 4" run 4 "$T/noext" "$CS" ingest --db "dbname=${DB}_noext" "$T/four.json"
check "... and says how to fix it" grep -Fq "CREATE EXTENSION coder_scale" "$T/noext.err"
psql -X -q -d postgres -c "DROP DATABASE ${DB}_noext" >/dev/null

echo "1..$n"
[ "$fails" -eq 0 ]
