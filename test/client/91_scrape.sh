#!/usr/bin/env bash
# coder-scale scrape end to end against the throwaway cluster: real
# node_exporter and postgres_exporter plus small python3 servers (coderd's
# sample, hostile bodies, a target that never answers, one killed mid-run);
# the up series, component_usage, flags, --run, SIGTERM and every bad input.
source "$(dirname "$0")/lib.inc"   # and listen.inc: every server binds port 0, the port is read back
DATA=$HERE/data/prom
export PGDATABASE=$DB
# served LOG PATH: how many GETs of PATH a python3 http.server has logged
served() { grep -c "\"GET $2 HTTP/1.1\"" "$1" 2>/dev/null || true; }
# wait_served LOG PATH N: until it has logged N (at most 60 s)
served_at_least() { [ "$(served "$1" "$2")" -ge "$3" ]; }
wait_served() {
  wait_until served_at_least "$1" "$2" "$3" && return 0
  echo "# $1: fewer than $3 GETs of $2 after 60 s"; return 1
}
# the values of series NAME of component C in run R, in time order
values() { sql "SELECT string_agg(m.value::text, ',' ORDER BY m.time) FROM coder_scale.metric_series s
                JOIN coder_scale.metric_sample m ON m.series_id = s.id
                WHERE s.run_id = $1 AND s.component = '$2' AND s.name = '$3' AND s.labels = '{}'"; }
runs() { sql "SELECT count(*) FROM coder_scale.run"; }
run_id_of() { sed -n 's/^scrape run \([0-9]*\):.*/\1/p' "$1"; }
samples_of() { sql "SELECT count(*) FROM coder_scale.metric_sample m JOIN coder_scale.metric_series s ON s.id = m.series_id WHERE s.run_id = $1"; }

db_setup

# ------------------------------------------------------------------ servers
WWW=$T/www
mkdir -p "$WWW"
cp "$DATA/coderd-metrics-sample.prom" "$WWW/coderd"
cp "$DATA/edge.prom" "$WWW/edge"
gzip -c "$DATA/coderd-metrics-sample.prom" >"$WWW/gzip.gz"
head -c 10485760 /dev/zero | tr '\0' 'j' | fold -w 100 >"$WWW/junk"
echo '{"metrics": []}' >"$WWW/json"
# 70 MB: one sample, then comment lines: cut at 64 MB, the sample kept
python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    f.write("big_first 1\n")
    line = "# " + "c" * 97 + "\n"
    f.write(line * (70 * 1024 * 1024 // 100))' "$WWW/big"

(cd "$WWW" && exec python3 -m http.server 0 --bind 127.0.0.1) >"$T/www.log" 2>&1 &
PIDS+=($!)
WPORT=$(listen_port $!)
W=http://127.0.0.1:$WPORT
# coderd's sample on its own server, to be killed mid-run
mkdir -p "$T/c" && cp "$DATA/coderd-metrics-sample.prom" "$T/c/metrics"
(cd "$T/c" && exec python3 -m http.server 0 --bind 127.0.0.1) >"$T/c.log" 2>&1 &
CODERD_PID=$!
PIDS+=($CODERD_PID)
CPORT=$(listen_port $CODERD_PID)
# accepts connections, never answers
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(64)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)' >"$T/silent.log" 2>&1 &
PIDS+=($!)
SPORT=$(listen_port $!)
prometheus-node-exporter --web.listen-address=127.0.0.1:0 --log.level=error >"$T/node.log" 2>&1 &
PIDS+=($!)
NPORT=$(listen_port $!)
DATA_SOURCE_NAME="host=$PGHOST port=$PGPORT user=${PGUSER:-postgres} dbname=postgres sslmode=disable" \
  prometheus-postgres-exporter --web.listen-address=127.0.0.1:0 --log.level=error >"$T/pgexp.log" 2>&1 &
PIDS+=($!)
PPORT=$(listen_port $!)
for p in "$WPORT" "$CPORT" "$SPORT" "$NPORT" "$PPORT"; do [ -n "$p" ] || echo "# a server did not start: see $T/*.log"; done
NODE=http://127.0.0.1:$NPORT/metrics
PGX=http://127.0.0.1:$PPORT/metrics
CODERD=http://127.0.0.1:$CPORT/metrics

# ------------------------------------------------- end to end, target killed
# 4 targets every second for 4 s: 5 scrapes each; coderd dies once it has
# served its third scrape (so two are complete; the 4th and 5th fail)
(wait_served "$T/c.log" /metrics 3; kill "$CODERD_PID") &
killer=$!
start=$(date +%s%N)
check "scrape of node_exporter (as database and runner), postgres_exporter and coderd (exit 0)" \
  run 0 "$T/e2e" "$CS" scrape database=$NODE runner=$NODE postgres=$PGX coderd=$CODERD --for 4s --interval 1s --label e2e
ms=$(( ($(date +%s%N) - start) / 1000000 ))
wait $killer
sed 's/^/# /' "$T/e2e.out"
check "... took about 4 s ($ms ms)" test "$ms" -ge 3900 -a "$ms" -lt 14000
check "... one run of kind scrape, completed, with its label and flags" test \
  "$(sql "SELECT concat_ws(' ', kind, status, label, finished_at > started_at, flags->>'interval', flags->'scrape'->>'coderd') FROM coder_scale.run WHERE id = 1")" = \
  "scrape completed e2e t 1s $CODERD"
for c in database runner postgres; do
  check "$c: 5 scrapes, up 1 each time" test "$(values 1 $c up)" = "1,1,1,1,1"
done
up=$(values 1 coderd up)
check "coderd killed mid-run: up goes 1 -> 0 in the up series ($up)" bash -c "[[ '$up' =~ ^1(,1)+(,0)+$ ]]"
ups=$(grep -o 1 <<<"${up//,/}" | wc -l)
check "... 657 samples stored per coderd scrape that was up" test \
  "$(sql "SELECT count(*) FROM coder_scale.metric_sample m JOIN coder_scale.metric_series s ON s.id = m.series_id
          WHERE s.run_id = 1 AND s.component = 'coderd' AND s.name NOT IN ('up') AND s.name NOT LIKE 'scrape\_%'")" = $((657 * ups))
check "... and scrape_samples_scraped says 657 then 0" test "$(values 1 coderd scrape_samples_scraped)" = \
  "$(for i in $(seq 5); do [ $i -le $ups ] && printf '657,' || printf '0,'; done | sed 's/,$//')"
check "... the summary reports the failed scrapes and why" grep -Eq "^coderd +5 +$((5 - ups)) +$((657 * ups)) +0  $CODERD$" "$T/e2e.out"
check "... and the target going down on stderr" grep -Fq "scrape coderd ($CODERD): down: " "$T/e2e.err"
check "summary: samples stored = what the database holds" test \
  "$(sed -n 's/^stored \([0-9]*\) samples.*/\1/p' "$T/e2e.out")" = "$(samples_of 1)"
check "node_cpu_seconds_total stored per cpu and mode, as jsonb labels" test \
  "$(sql "SELECT count(DISTINCT labels->>'cpu') FROM coder_scale.metric_series WHERE run_id = 1 AND component = 'database' AND name = 'node_cpu_seconds_total'")" = "$(nproc)"
check "postgres_exporter's pg_up stored as 1" test "$(values 1 postgres pg_up)" = "1,1,1,1,1"
# component usage from these samples: CPU between 0 and the cores here, memory below MemTotal
memtotal=$(( $(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) * 1024 ))
for c in database runner; do
  check "component_usage: $c CPU cores in (0, $(nproc)] and memory in (0, MemTotal)" test \
    "$(sql "SELECT peak_cpu_cores > 0 AND peak_cpu_cores <= $(nproc) + 0.2 AND peak_memory_bytes > 0 AND peak_memory_bytes < $memtotal
            FROM coder_scale.component_usage WHERE run_id = 1 AND component = '$c'")" = t
done
check "component_usage: coderd memory = process_resident_memory_bytes of the sample (3.06302976e+08)" test \
  "$(sql "SELECT peak_memory_bytes FROM coder_scale.component_usage WHERE run_id = 1 AND component = 'coderd'")" = 306302976
check "component_usage: coderd CPU 0 (the sample's counter never moves)" test \
  "$(sql "SELECT peak_cpu_cores FROM coder_scale.component_usage WHERE run_id = 1 AND component = 'coderd'")" = 0

# ------------------------------------------------------------ hostile bodies
check "hostile targets do not stop the scrape (exit 0)" run 0 "$T/hostile" "$CS" scrape \
  good=$W/coderd html=$W/ gzip=$W/gzip.gz junk=$W/junk json=$W/json missing=$W/nothing-here \
  silent=http://127.0.0.1:$SPORT/metrics refused=http://127.0.0.1:1/metrics big=$W/big --for 2s --interval 2s
sed 's/^/# /' "$T/hostile.out"
check "... the good target is scraped twice and stored whole" grep -Eq "^good +2 +0 +1314 +0  " "$T/hostile.out"
check "... the silent one times out at 80% of the interval, recorded as up 0" \
  grep -Eq "^  silent: last error: Operation timed out after (1[6-9][0-9]{2}|[2-9][0-9]{3}) milliseconds" "$T/hostile.out"
check "... an HTML page is refused by its Content-Type" grep -Fq "html: last error: Content-Type text/html; charset=utf-8 is not the Prometheus text format" "$T/hostile.out"
check "... gzip data is refused" grep -Fq "gzip: last error: the body is gzip data, not the Prometheus text format" "$T/hostile.out"
check "... JSON is refused" grep -Fq "json: last error: the body is JSON, not the Prometheus text format" "$T/hostile.out"
check "... 10 MB of junk: no valid sample, every line counted malformed" \
  grep -Eq "^junk +2 +2 +0 +209716  " "$T/hostile.out"
check "... a 404 is an HTTP error" grep -Fq "missing: last error: HTTP status 404" "$T/hostile.out"
check "... a refused connection says so" grep -Fq "refused: last error: Failed to connect to 127.0.0.1 port 1" "$T/hostile.out"
check "... a 70 MB body is cut at 64 MB, what came before is kept" grep -Fq "big: 2 bodies cut at 67108864 bytes" "$T/hostile.out"
check "... up is 0 for every refused target, 1 for good and big" test \
  "$(sql "SELECT string_agg(s.component || '=' || m.value, ' ' ORDER BY s.component, m.time) FROM coder_scale.metric_series s
          JOIN coder_scale.metric_sample m ON m.series_id = s.id WHERE s.run_id = 2 AND s.name = 'up'")" = \
  "big=1 big=1 good=1 good=1 gzip=0 gzip=0 html=0 html=0 json=0 json=0 junk=0 junk=0 missing=0 missing=0 refused=0 refused=0 silent=0 silent=0"
check "... nothing of the refused targets but the scrape_* and up series" test \
  "$(sql "SELECT count(*) FROM coder_scale.metric_series WHERE run_id = 2 AND component IN ('html','gzip','junk','json','missing','silent','refused') AND name <> 'up' AND name NOT LIKE 'scrape\_%'")" = 0

# ------------------------------------------- labels, timestamps, filters, limit
check "edge cases of the format stored, scraped twice (exit 0)" run 0 "$T/edge" "$CS" scrape edge=$W/edge --for 1s --interval 1s
check "... the 4 samples with their own timestamp are stored once" grep -Fq "edge: 4 samples ignored" "$T/edge.out"
check "... escaped label values come back unescaped from jsonb" test \
  "$(sql "SELECT (labels->>'path') || '|' || (labels->>'error') FROM coder_scale.metric_series WHERE run_id = 3 AND name = 'msdos_file_access_time_seconds'")" = \
  "$(printf 'C:\\DIR\\FILE.TXT|Cannot find file:\n"FILE.TXT"')"
check "... a sample's own timestamp is kept (1395066363000 ms)" test \
  "$(sql "SELECT DISTINCT extract(epoch FROM m.time)::bigint FROM coder_scale.metric_sample m JOIN coder_scale.metric_series s ON s.id = m.series_id WHERE s.run_id = 3 AND s.name = 'http_requests_total'")" = 1395066363
check "... NaN, -Inf and +Inf stored as such" test \
  "$(sql "SELECT string_agg(v, ',' ORDER BY room) FROM (SELECT DISTINCT s.labels->>'room' AS room, m.value::text AS v
          FROM coder_scale.metric_sample m JOIN coder_scale.metric_series s ON s.id = m.series_id WHERE s.run_id = 3 AND s.name = 'temp') x")" = \
  "NaN,-Infinity,-0.0015,0.25"
check "... the empty label value is dropped, 33 series + 5 scrape series" test \
  "$(sql "SELECT count(*) FILTER (WHERE name = 'empty_label' AND labels = '{\"b\": \"kept\"}') || ' ' || count(*) FROM coder_scale.metric_series WHERE run_id = 3")" = "1 38"
check "the same timestamped samples again into the same run: already stored, not an error (exit 0)" \
  run 0 "$T/edge2" "$CS" scrape edge=$W/edge --for 1s --interval 1s --run 3
check "... the 4 timestamped samples stored before are skipped by the database" grep -Eq "^stored [0-9]+ samples .*, 4 already stored\)$" "$T/edge2.out"
check "... and still once each in metric_sample" test \
  "$(sql "SELECT count(*) FROM coder_scale.metric_sample m JOIN coder_scale.metric_series s ON s.id = m.series_id WHERE s.run_id = 3 AND s.name = 'http_requests_total'")" = 2
check "... the run keeps its status" test "$(sql "SELECT status FROM coder_scale.run WHERE id = 3")" = completed

check "--scrape-match keeps only matching metric names (exit 0)" \
  run 0 "$T/match" "$CS" scrape coderd=$W/coderd --for 1s --interval 1s --scrape-match '^go_(goroutines|threads)$'
R=$(run_id_of "$T/match.out")
check "... 2 series + 5 scrape series" test \
  "$(sql "SELECT string_agg(name, ',' ORDER BY name) FROM coder_scale.metric_series WHERE run_id = $R AND name NOT LIKE 'scrape\_%' AND name <> 'up'")" = "go_goroutines,go_threads"
check "... the summary counts the others" grep -Fq "coderd: 1310 samples not matching --scrape-match" "$T/match.out"
check "--scrape-sample-limit 100 keeps the first 100 per scrape (exit 0)" \
  run 0 "$T/limit" "$CS" scrape coderd=$W/coderd --for 1s --interval 1s --scrape-sample-limit 100
check "... and reports the rest" grep -Fq "coderd: 1114 samples over --scrape-sample-limit 100 not stored" "$T/limit.out"
check "... with a warning" grep -Fq "more than 100 samples in one scrape" "$T/limit.err"
check "... scrape_samples_post_metric_relabeling is 100, scrape_samples_scraped 657" test \
  "$(values $(run_id_of "$T/limit.out") coderd scrape_samples_post_metric_relabeling)/$(values $(run_id_of "$T/limit.out") coderd scrape_samples_scraped)" = "100,100/657,657"

# ------------------------------------------------------------------- SIGTERM
n0=$(served "$T/www.log" /coderd)
"$CS" scrape coderd=$W/coderd --for 60s --interval 1s --label term >"$T/term.out" 2>"$T/term.err" &
pid=$!
# once the 3rd scrape was served (two are complete; the 4th is a second away)
wait_served "$T/www.log" /coderd $((n0 + 3))
start=$(date +%s%N)
kill -TERM $pid
wait $pid
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "SIGTERM: exits 0 at once, not after --for 60s ($ms ms)" test "$rc" = 0 -a "$ms" -lt 10000
term_up=$(values "$(run_id_of "$T/term.out")" coderd up)
check "... the run is aborted and finished" test \
  "$(sql "SELECT status || ' ' || (finished_at IS NOT NULL)::text FROM coder_scale.run WHERE label = 'term'")" = "aborted true"
k=$(( $(served "$T/www.log" /coderd) - n0 ))
check "... and keeps the scrapes made: up 1 for each of the $k served, the last may be cut ($term_up)" \
  bash -c "[[ '$term_up' =~ ^1,1(,1)*(,0)?$ ]] && [ $(( ${#term_up} / 2 + 1 )) -eq $k ]"

# ---------------------------------------------------------------- bad input
check "without --interval, a --for shorter than 5s is the interval (exit 0)" run 0 "$T/short" "$CS" scrape a=$W/coderd --for 1s
check "... 2 scrapes" grep -Eq "^a +2 +0 +1314 +0 " "$T/short.out"

before=$(runs)
bad() { local what=$1; shift; check "bad input refused (exit 2): $what" run 2 "$T/bad" "$CS" scrape "$@"; }
bad "no target" --for 5s
bad "no =" coderd --for 5s
bad "empty NAME" =http://127.0.0.1:1/ --for 5s
bad "blank in NAME" "co derd=http://127.0.0.1:1/" --for 5s
bad "ftp URL" coderd=ftp://127.0.0.1/metrics --for 5s
bad "URL without a host" coderd=http:///metrics --for 5s
bad "not a URL" coderd=metrics --for 5s
bad "duplicate NAME" a=$W/coderd a=$W/edge --for 5s
check "... and says why" grep -Fq "NAME given twice" "$T/bad.err"
bad "no --for" a=$W/coderd
bad "--for abc" a=$W/coderd --for abc
bad "--interval 0s" a=$W/coderd --for 5s --interval 0s
bad "--interval -1s" a=$W/coderd --for 5s --interval -1s
bad "--interval longer than --for" a=$W/coderd --for 5s --interval 10s
check "... and says why" grep -Fq -- '--interval "10s": longer than --for 5s' "$T/bad.err"
bad "bad --scrape-match" a=$W/coderd --for 5s --scrape-match '('
bad "--scrape-sample-limit 0" a=$W/coderd --for 5s --scrape-sample-limit 0
bad "--run abc" a=$W/coderd --for 5s --run abc
bad "unknown flag" a=$W/coderd --for 5s --bogus
bad "unknown --run" a=$W/coderd --for 5s --run 999
check "... and says why" grep -Fq -- "--run 999: no such run" "$T/bad.err"
check "no run was created by bad input" test "$(runs)" = "$before"
check "database unreachable: exit 3" run 3 "$T/unreach" "$CS" scrape a=$W/coderd --for 1s --interval 1s --db "host=$T/nowhere port=1"
check "--help: exit 0 with the usage" run 0 "$T/help" "$CS" scrape --help
check "... naming every flag" bash -c "grep -q -- --for '$T/help.out' && grep -q -- --scrape-match '$T/help.out' && grep -q -- --scrape-sample-limit '$T/help.out' && grep -q -- --run '$T/help.out'"
check "coder-scale --help lists scrape" bash -c "'$CS' --help | grep -q '^  scrape '"

# ------------------------------------------- a row the database refuses
# a constraint the series "up" breaks (23514): the writer stops at once and
# says so with the SQLSTATE and the spill file, exit 4; once the constraint
# is dropped, load-spill stores every sample the scrape kept, exactly once
sql "ALTER TABLE coder_scale.metric_series ADD CONSTRAINT no_up CHECK (name <> 'up') NOT VALID"
check "a refused row: exit 4" run 4 "$T/refused" env TMPDIR="$T" "$CS" scrape a=$W/coderd --for 1s --interval 1s --label refused
check "... said at once with its SQLSTATE, the spill file and what to do" grep -Eq \
  "^coder-scale: scrape: storing samples: ERROR 23514: new row for relation \"metric_series\" violates check constraint \"no_up\" .*; the writer stopped, rows go to the spill file $T/coder-scale-run[0-9]+-[A-Za-z0-9]{6}/spill; load it with coder-scale load-spill " \
  "$T/refused.err"
spill=$(sed -n 's/.*rows go to the spill file \([^;]*\);.*/\1/p' "$T/refused.err" | head -n 1)
rid=$(run_id_of "$T/refused.out")
kept=$(sed -n 's/^NOT stored: \([0-9]*\) samples.*/\1/p' "$T/refused.out")
check "... nothing stored, all $kept kept samples in the spill file" test "$(samples_of "$rid")" = 0 -a "${kept:-0}" -gt 0
sql "ALTER TABLE coder_scale.metric_series DROP CONSTRAINT no_up"
check "load-spill stores them (exit 0)" run 0 "$T/load" "$CS" load-spill "$spill"
check "... every sample the scrape kept" test "$(samples_of "$rid")" = "$kept"
check "... and says so" grep -Eq "^  samples: +$kept in the file, $kept stored now, 0 stored before$" "$T/load.out"
check "loading it again (exit 0)" run 0 "$T/load2" "$CS" load-spill "$spill"
check "... stores nothing twice" grep -Eq "^  samples: +$kept in the file, 0 stored now, $kept stored before$" "$T/load2.out"
check "... the same samples" test "$(samples_of "$rid")" = "$kept"

echo "1..$n"
[ "$fails" -eq 0 ]
