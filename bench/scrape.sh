#!/usr/bin/env bash
# bench/scrape.sh [SERIES] [SCRAPES]: how fast `coder-scale scrape` stores a
# large scrape (default 100,000 series, 11 scrapes 2 s apart) against the
# physical limit here: a plain COPY of the very same samples from a text
# file into the same table (metric_sample, same partitions and primary key,
# the series already there).  coder-scale's figure is the time its database
# writer spent (registering the series with their jsonb labels + binary COPY
# of the samples), measured while the scrapes are fetched and parsed
# concurrently by the event loop on the same two cores; printed whole and
# without the one-time registration of the series.
# Runs on its own private PostgreSQL (a private copy of the server's
# installation with this checkout's extension), like bench/ingest.sh.
source "$(dirname "$0")/../scripts/lib.sh"

SERIES=${1:-100000}
SCRAPES=${2:-11}
INTERVAL=2
PORT=55492

install_packages
make -C "$ROOT" -s >/dev/null

WORK=$(mktemp -d /tmp/cs-bench-scrape.XXXXXX)
chmod 755 "$WORK"
PRIV=$WORK/pg
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  if [ -f "$WORK/data/PG_VERSION" ]; then
    runuser -u postgres -- "$PRIV$PGBIN/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

say "private copy of PostgreSQL 15 with this checkout's extension in $PRIV"
mkdir -p "$PRIV/usr/lib/postgresql" "$PRIV/usr/share/postgresql"
cp -a /usr/lib/postgresql/15 "$PRIV/usr/lib/postgresql/"
cp -a /usr/share/postgresql/15 "$PRIV/usr/share/postgresql/"
make -C "$ROOT" -s install DESTDIR="$PRIV" >/dev/null

mkdir -p "$WORK/data" "$WORK/sock"
chown postgres:postgres "$WORK/data" "$WORK/sock"
runuser -u postgres -- "$PRIV$PGBIN/initdb" -D "$WORK/data" -A trust -U postgres -E UTF8 \
  --locale=C.UTF-8 --no-sync >/dev/null
runuser -u postgres -- "$PRIV$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/data/server.log" -w start \
  -o "-c listen_addresses='' -c unix_socket_directories='$WORK/sock' -p $PORT -c fsync=off -c max_wal_size=4GB" \
  >/dev/null 9>&-
export PGHOST=$WORK/sock PGPORT=$PORT PGUSER=postgres
for db in scrape plain; do
  psql -X -q -d postgres -c "CREATE DATABASE $db"
  psql -X -q -d $db -c "CREATE EXTENSION coder_scale"
done

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
WPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$WORK/www" && exec python3 -m http.server "$WPORT" --bind 127.0.0.1) >"$WORK/www.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$WPORT/metrics" 2>/dev/null && break; sleep 0.1; done

FOR=$(( (SCRAPES - 1) * INTERVAL ))
say "coder-scale scrape: $SCRAPES scrapes of $SERIES series, every ${INTERVAL}s for ${FOR}s"
"$ROOT/client/coder-scale" scrape bench=http://127.0.0.1:$WPORT/metrics --for ${FOR}s --interval ${INTERVAL}s \
  --db "dbname=scrape" --label bench >"$WORK/scrape.out"
cat "$WORK/scrape.out" >&2
stored=$(sed -n 's/^stored \([0-9]*\) samples.*/\1/p' "$WORK/scrape.out")
wsec=$(sed -n 's/^stored .*database writing \([0-9.]*\) s.*/\1/p' "$WORK/scrape.out")
rsec=$(sed -n 's/^stored .*, \([0-9.]*\) s of it new series.*/\1/p' "$WORK/scrape.out")
scrape_s=$(psql -X -At -d scrape -c "SELECT round(avg(m.value)::numeric, 3) FROM coder_scale.metric_sample m
  JOIN coder_scale.metric_series s ON s.id = m.series_id WHERE s.name = 'scrape_duration_seconds'")

# The same samples as a text file, and the same series in the other database.
psql -X -q -d scrape -c "\\copy (SELECT series_id, time, value FROM coder_scale.metric_sample) TO '$WORK/samples.txt'"
psql -X -q -d scrape -c "\\copy (SELECT id, run_id, component, target, name, labels FROM coder_scale.metric_series) TO '$WORK/series.txt'"
# both databases are fresh: the scrape's run and this one are run 1
psql -X -q -d plain -c "INSERT INTO coder_scale.run (kind, status) VALUES ('scrape', 'running')"
psql -X -q -d plain -c "CREATE TEMP TABLE s (LIKE coder_scale.metric_series)" -c "\\copy s FROM '$WORK/series.txt'" \
  -c "INSERT INTO coder_scale.metric_series OVERRIDING SYSTEM VALUE SELECT * FROM s"
psql -X -q -d plain -c "CHECKPOINT"
rows=$(wc -l <"$WORK/samples.txt")

say "plain COPY of the same $rows samples from a text file"
t0=$(date +%s.%N)
psql -X -q -d plain -c "\\copy coder_scale.metric_sample (series_id, time, value) FROM '$WORK/samples.txt'"
t1=$(date +%s.%N)

awk -v n="$rows" -v s="$stored" -v w="$wsec" -v r="$rsec" -v c="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
    -v kb="$size" -v sc="$SCRAPES" -v ser="$SERIES" -v p="$scrape_s" 'BEGIN {
  printf "scrape:                      %d series, %.1f MB per scrape, %d scrapes, fetch + parse %.3f s per scrape\n", ser, kb / 1024, sc, p
  printf "coder-scale scrape:          %d samples, %6.2f s of database writing %9.0f samples/s\n", s, w, s / w
  printf "  of which new series:       %d series,  %6.2f s (once per series)\n", ser + 5, r
  printf "  of which samples:          %d samples, %6.2f s                     %9.0f samples/s\n", s, w - r, s / (w - r)
  printf "plain COPY from a text file: %d samples, %6.2f s                     %9.0f samples/s\n", n, c, n / c
  printf "coder-scale / plain COPY:    %6.2f (all of it), %.2f (samples of known series)\n", (s / w) / (n / c), (s / (w - r)) / (n / c)
}'
