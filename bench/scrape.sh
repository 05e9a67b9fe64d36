#!/usr/bin/env bash
# bench/scrape.sh [SERIES] [SCRAPES]: how fast `coder-scale scrape` stores a
# large scrape (default 100,000 series, 11 scrapes 2 s apart) against the
# physical limit here: a plain COPY of the very same rows from text files
# into the same tables (the series into metric_series, then the samples into
# metric_sample: same constraints, indexes and partitions, the same ids).
# coder-scale's figure is the time its database writer spent (registering
# the series with their jsonb labels + binary COPY of the samples), measured
# while the scrapes are fetched and parsed concurrently by the event loop on
# the same two cores; printed whole and without the one-time registration of
# the series.  (Before 0.2.0's issue 17 the baseline was the samples alone,
# the series put in untimed; that ratio is printed too.)
# Runs on its own private PostgreSQL (bench/lib.sh).
source "$(dirname "$0")/lib.sh"
source "$ROOT/test/client/listen.inc"

SERIES=${1:-100000}
SCRAPES=${2:-11}
INTERVAL=2
SERVER_PID=

bench_pg "-c max_wal_size=4GB"
bench_at_exit '[ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null'
bench_db DB_SCRAPE scrape
bench_db DB_PLAIN plain

say "generating a scrape of $SERIES series (1,000 series per metric, 3 labels each)"
mkdir -p "$WORK/www"
python3 - "$SERIES" "$WORK/www/metrics" <<'EOF'
import random, sys
n, path = int(sys.argv[1]), sys.argv[2]
random.seed(7)
with open(path, "w") as f:
    for fam in range((n + 999) // 1000):
        name = "bench_metric_%04d_%s" % (fam, "total" if fam % 2 else "bytes")
        f.write("# HELP %s Generated for bench/scrape.sh.\n# TYPE %s %s\n" % (name, name, "counter" if fam % 2 else "gauge"))
        for i in range(min(1000, n - fam * 1000)):
            f.write('%s{instance="host-%d:9100",shard="%d",path="/api/v2/items/%d"} %.6g\n'
                    % (name, i % 50, i % 7, i, random.uniform(0, 1e9)))
EOF
size=$(du -k "$WORK/www/metrics" | cut -f1)
# port 0: the port it bound is read back once it listens (test/client/listen.inc)
(cd "$WORK/www" && exec python3 -m http.server 0 --bind 127.0.0.1) >"$WORK/www.log" 2>&1 &
SERVER_PID=$!
WPORT=$(listen_port $SERVER_PID)

FOR=$(( (SCRAPES - 1) * INTERVAL ))
say "coder-scale scrape: $SCRAPES scrapes of $SERIES series, every ${INTERVAL}s for ${FOR}s"
"$CS" scrape bench=http://127.0.0.1:$WPORT/metrics --for ${FOR}s --interval ${INTERVAL}s \
  --db "dbname=$DB_SCRAPE" --label bench >"$WORK/scrape.out"
cat "$WORK/scrape.out" >&2
stored=$(sed -n 's/^stored \([0-9]*\) samples.*/\1/p' "$WORK/scrape.out")
wsec=$(sed -n 's/^stored .*database writing \([0-9.]*\) s.*/\1/p' "$WORK/scrape.out")
rsec=$(sed -n 's/^stored .*, \([0-9.]*\) s of it new series.*/\1/p' "$WORK/scrape.out")
scrape_s=$(psql -X -At -d "$DB_SCRAPE" -c "SELECT round(avg(m.value)::numeric, 3) FROM coder_scale.metric_sample m
  JOIN coder_scale.metric_series s ON s.id = m.series_id WHERE s.name = 'scrape_duration_seconds'")

# The same rows as text files: the series in id order (a fresh table gives
# them the same ids, checked below) and the samples.
psql -X -q -d "$DB_SCRAPE" -c "\\copy (SELECT series_id, time, value FROM coder_scale.metric_sample) TO '$WORK/samples.txt'"
psql -X -q -d "$DB_SCRAPE" -c "\\copy (SELECT run_id, component, target, name, labels FROM coder_scale.metric_series ORDER BY id) TO '$WORK/series.txt'"
# both databases are fresh: the scrape's run and this one are run 1
psql -X -q -d "$DB_PLAIN" -c "INSERT INTO coder_scale.run (kind, status) VALUES ('scrape', 'running')"
psql -X -q -d "$DB_PLAIN" -c "CHECKPOINT"
rows=$(wc -l <"$WORK/samples.txt")
nser=$(wc -l <"$WORK/series.txt")

say "plain COPY of the same $nser series and $rows samples from text files"
t0=$(date +%s.%N)
psql -X -q -d "$DB_PLAIN" -c "\\copy coder_scale.metric_series (run_id, component, target, name, labels) FROM '$WORK/series.txt'"
t1=$(date +%s.%N)
psql -X -q -d "$DB_PLAIN" -c "\\copy coder_scale.metric_sample (series_id, time, value) FROM '$WORK/samples.txt'"
t2=$(date +%s.%N)
same="SELECT md5(string_agg(id || ' ' || name || ' ' || labels::text, ',' ORDER BY id)) FROM coder_scale.metric_series"
[ "$(psql -X -At -d "$DB_SCRAPE" -c "$same")" = "$(psql -X -At -d "$DB_PLAIN" -c "$same")" ] \
  || die "the plain COPY gave the series other ids than the scrape's: the comparison would not be of the same rows"

awk -v n="$rows" -v s="$stored" -v w="$wsec" -v r="$rsec" -v ns="$nser" \
    -v cs="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" -v c="$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')" \
    -v kb="$size" -v sc="$SCRAPES" -v ser="$SERIES" -v p="$scrape_s" 'BEGIN {
  printf "scrape:                      %d series, %.1f MB per scrape, %d scrapes, fetch + parse %.3f s per scrape\n", ser, kb / 1024, sc, p
  printf "coder-scale scrape:          %d samples, %6.2f s of database writing %9.0f samples/s\n", s, w, s / w
  printf "  of which new series:       %d series,  %6.2f s (once per series)\n", ser + 5, r
  printf "  of which samples:          %d samples, %6.2f s                     %9.0f samples/s\n", s, w - r, s / (w - r)
  printf "plain COPY from text files:  %d series,  %6.2f s\n", ns, cs
  printf "                             %d samples, %6.2f s                     %9.0f samples/s\n", n, c, n / c
  printf "coder-scale / plain COPY:    %6.2f (all of it: series and samples), %.2f (samples of known series)\n", (cs + c) / w, c / (w - r)
  printf "                             %6.2f (all of it against the samples alone, as 0.1.0 and 0.2.0 before this printed it)\n", c / w
}'
