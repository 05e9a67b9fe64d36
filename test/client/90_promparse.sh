#!/usr/bin/env bash
# The Prometheus text parser (client/scrape/promparse.c), through its test program
# built with -fsanitize=address,undefined: every edge case of the format,
# every kind of malformed line, real scrapes of node_exporter and
# postgres_exporter captured here, coderd's sample, and hostile input.
source "$(dirname "$0")/lib.inc"   # and listen.inc: exporters bind port 0, the port is read back
DATA=$HERE/data/prom
PT=$ROOT/client/scrape/tests/promparse_test
same() { diff -u "$1" "$2" >"$T/diff" && return 0; head -20 "$T/diff" | sed 's/^/# /'; return 1; }
counts() { grep '^# lines ' "$1"; }

make -s -C "$ROOT/client" scrape/tests/promparse_test >/dev/null || { echo "not ok - cannot build the parser test program"; exit 1; }

# ------------------------------------------------------------------ values
check "Go ParseFloat syntax: decimals, exponents, hex, NaN, +Inf, -Inf, range errors" "$PT" floats

# ------------------------------------------------------------- edge cases
"$PT" dump "$DATA/edge.prom" >"$T/edge.out"
check "every edge case of the format gives the hand-written samples" same "$DATA/edge.expected" "$T/edge.out"
for chunk in 1 2 7 100 4096; do
  "$PT" dump "$DATA/edge.prom" $chunk >"$T/edge.$chunk"
  check "... the same when the body arrives $chunk byte(s) at a time" same "$DATA/edge.expected" "$T/edge.$chunk"
done
sed 's/\r$//; s/$/\r/' "$DATA/edge.prom" >"$T/edge-crlf.prom"
"$PT" dump "$T/edge-crlf.prom" 3 >"$T/edge-crlf.out"
check "... the same with CRLF line ends" same "$DATA/edge.expected" "$T/edge-crlf.out"

# ---------------------------------------------------------- malformed lines
i=0
while IFS=$'\t' read -r reason body; do
  case "$reason" in '#'*' one malformed'*) continue ;; esac
  i=$((i + 1))
  printf '%b' "$body" >"$T/bad.$i"
  lines=$(printf '%b' "$body" | awk 'END { print NR }')
  "$PT" dump "$T/bad.$i" >"$T/bad.$i.out" 2>&1
  if [ "$(counts "$T/bad.$i.out")" = "# lines $lines samples 0 malformed 1" ] && grep -Fxq "# line $lines: $reason" "$T/bad.$i.out"; then
    ok "malformed: $reason ($(printf %q "$body" | cut -c1-40))"
  else
    not_ok "malformed: $reason ($(printf %q "$body" | cut -c1-40))" "$(cat "$T/bad.$i.out")"
  fi
done <"$DATA/malformed.tsv"

# good lines survive around bad ones; the first 5 reasons are kept with their line numbers
printf 'a 1\nb{x="1} 2\nc 3\n# TYPE d summary\nd 4\ne 5 6 7\nf 8\ng\nh{1="x"} 9\ni{y="2"} 10\nj 1e999\nk 11\n' >"$T/mixed.prom"
"$PT" dump "$T/mixed.prom" 5 >"$T/mixed.out"
cat >"$T/mixed.want" <<'EOF'
a{} 1 untyped
c{} 3 untyped
f{} 8 untyped
i{y="2"} 10 untyped
k{} 11 untyped
# lines 12 samples 5 malformed 6
# line 2: unterminated label value
# line 5: summary sample without a numeric quantile label
# line 6: unexpected text after the timestamp
# line 8: missing value
# line 9: invalid label name
EOF
check "bad lines are counted, good ones kept, the first 5 reasons kept with line numbers" same "$T/mixed.want" "$T/mixed.out"

# a 2 MiB line between two good ones, fed whole and in pieces
{ echo 'before 1'; printf 'long{a="'; head -c 2097152 /dev/zero | tr '\0' x; echo '"} 2'; echo 'after 3'; } >"$T/long.prom"
printf 'before{} 1 untyped\nafter{} 3 untyped\n# lines 3 samples 2 malformed 1\n# line 2: line longer than 1048576 bytes\n' >"$T/long.want"
"$PT" dump "$T/long.prom" >"$T/long.out"
check "a line over 1 MiB is malformed; the lines around it are kept" same "$T/long.want" "$T/long.out"
"$PT" dump "$T/long.prom" 65536 >"$T/long.out2"
check "... also when it arrives in 64 KiB pieces" same "$T/long.want" "$T/long.out2"

# ---------------------------------------------------------- coderd's sample
"$PT" dump "$DATA/coderd-metrics-sample.prom" 1000 >"$T/coderd.out"
# 791 lines, 134 of them # HELP / # TYPE, no blank line: 657 samples
check "coderd's sample: 791 lines, 657 samples, nothing malformed" test "$(counts "$T/coderd.out")" = "# lines 791 samples 657 malformed 0"
check "... a label list with a blank after the comma" grep -Fxq 'coderd_agents_up{template_name="gcp",username="admin",workspace_name="workspace-3"} 1 gauge' "$T/coderd.out"
check "... a histogram bucket" grep -Fxq 'coderd_api_websocket_durations_seconds_bucket{le="+Inf",path="/api/v2/workspaceagents/me/coordinate"} 4 histogram' "$T/coderd.out"
check "... a summary quantile" grep -Fxq 'go_gc_duration_seconds{quantile="0.25"} 7.4116e-05 summary' "$T/coderd.out"
check "... 7 summary, 542 histogram, 47 counter, 61 gauge samples" test \
  "$(grep -v '^#' "$T/coderd.out" | awk '{ print $NF }' | sort | uniq -c | awk '{ printf "%s=%s ", $2, $1 }')" = \
  "counter=47 gauge=61 histogram=542 summary=7 "

# --------------------------------------------------- real exporters, live
# name_counts FILE: how often each metric name appears on the sample lines of a body
name_counts() { grep -v -e '^#' -e '^[[:space:]]*$' "$1" | sed 's/[{ ].*//' | sort | uniq -c; }
dump_counts() { grep -v '^#' "$1" | sed 's/{.*//' | sort | uniq -c; }

prometheus-node-exporter --web.listen-address=127.0.0.1:0 --log.level=error >"$T/node.log" 2>&1 9>&- &
PIDS+=($!)
NODE_PORT=$(listen_port $!)
DATA_SOURCE_NAME="host=$PGHOST port=$PGPORT user=${PGUSER:-postgres} dbname=postgres sslmode=disable" \
  prometheus-postgres-exporter --web.listen-address=127.0.0.1:0 --log.level=error >"$T/pgexp.log" 2>&1 9>&- &
PIDS+=($!)
PG_PORT=$(listen_port $!)
for exp in node:$NODE_PORT postgres:$PG_PORT; do
  name=${exp%%:*} port=${exp#*:}
  if [ -n "$port" ] && curl -fsS -o "$T/$name.prom" "http://127.0.0.1:$port/metrics"; then
    "$PT" dump "$T/$name.prom" 1500 >"$T/$name.out"
    lines=$(awk 'END { print NR }' "$T/$name.prom")
    samples=$(grep -cv -e '^#' -e '^[[:space:]]*$' "$T/$name.prom")
    echo "# ${name}_exporter: $(du -k "$T/$name.prom" | cut -f1) KiB, $samples samples"
    check "${name}_exporter live scrape: $lines lines, $samples samples, nothing malformed" \
      test "$(counts "$T/$name.out")" = "# lines $lines samples $samples malformed 0"
    name_counts "$T/$name.prom" >"$T/$name.names"
    dump_counts "$T/$name.out" >"$T/$name.dnames"
    check "... every metric name as often as in the body" same "$T/$name.names" "$T/$name.dnames"
  else
    not_ok "${name}_exporter answers on 127.0.0.1:$port" "$(tail -3 "$T/$name.log" 2>/dev/null)"
  fi
done
check "node_exporter: node_cpu_seconds_total is a counter with cpu and mode labels" \
  grep -Eq '^node_cpu_seconds_total\{cpu="0",mode="idle"\} [0-9.e+]+ counter$' "$T/node.out"
check "node_exporter: node_memory_MemTotal_bytes is a gauge equal to /proc/meminfo's MemTotal" \
  grep -Fxq "node_memory_MemTotal_bytes{} $(( $(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) * 1024 )) gauge" "$T/node.out"
check "node_exporter: go_gc_duration_seconds is a summary with 5 quantiles" \
  test "$(grep -c '^go_gc_duration_seconds{quantile=.*summary$' "$T/node.out")" = 5
check "postgres_exporter: pg_up is 1" grep -Fxq 'pg_up{} 1 gauge' "$T/postgres.out"
check "postgres_exporter: pg_stat_activity_count per database and state" \
  grep -Eq '^pg_stat_activity_count\{datname="postgres",.*state="active".*\} [0-9]+ gauge$' "$T/postgres.out"

# ------------------------------------------------------------ hostile input
head -c 1048576 /dev/urandom >"$T/random.bin"
gzip -c "$DATA/coderd-metrics-sample.prom" >"$T/gzip.bin"
{ echo '<!DOCTYPE html>'; echo '<html><head><title>404</title></head>'; echo '<body>nope</body></html>'; } >"$T/page.html"
head -c 10485760 /dev/zero | tr '\0' 'j' | fold -w 100 >"$T/junk.txt"
for f in random.bin gzip.bin page.html junk.txt; do
  "$PT" dump "$T/$f" 4093 >"$T/$f.out" 2>"$T/$f.err"
  rc=$?
  check "hostile body $f: no crash, nothing accepted, malformed lines counted" \
    test "$rc" = 0 -a "$(grep -c '^# line ' "$T/$f.out")" -ge 1 -a "$(counts "$T/$f.out" | awk '{ print $5 }')" = 0
done
check "10 MB of junk in 100-byte lines: 104858 malformed lines, 5 reasons kept" \
  test "$(counts "$T/junk.txt.out")" = "# lines 104858 samples 0 malformed 104858"
seed=${PROMPARSE_SEED:-$(date +%s)}
echo "# fuzz seed $seed (PROMPARSE_SEED=$seed to repeat)"
check "20000 mutated, truncated and random bodies: no crash, no leak of bad pointers, counts add up" \
  "$PT" fuzz "$seed" 20000 "$DATA/edge.prom" "$DATA/coderd-metrics-sample.prom" "$T/node.prom" "$T/postgres.prom" "$T/mixed.prom"

echo "1..$n"
[ "$fails" -eq 0 ]
