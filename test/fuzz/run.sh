#!/usr/bin/env bash
# test/fuzz/run.sh [CASES] [SEED]: the type fuzzer (typefuzz.c) against the
# server named by PGHOST/PGPORT/PGUSER, in a database of its own, then a
# pg_dump of every value it obtained restored into a second database: every
# row must come back, byte for byte.  TAP output; exit 1 on any crash,
# round-trip failure, unexpected error or lost row.
set -euo pipefail

CASES=${1:-3000}
SEED=${2:-1}
HERE=$(cd "$(dirname "$0")" && pwd)
PG_DUMP=${PG_DUMP:-pg_dump}
A=coder_scale_fuzz_a
B=coder_scale_fuzz_b

make -s -C "$HERE" >/dev/null
sql() { PGOPTIONS='-c client_min_messages=warning' psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
for db in $A $B; do
  sql -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  sql -d $db -c "CREATE EXTENSION coder_scale"
done
trap 'for db in $A $B; do sql -d postgres -c "DROP DATABASE IF EXISTS $db" || true; done' EXIT

rc=0
"$HERE/typefuzz" --cases "$CASES" --seed "$SEED" --keep "dbname=$A" || rc=$?

# every kept value, in send form, in a stable order: count and digest
digest() {
  sql -d "$1" -c "SELECT (SELECT count(*) || ' ' || md5(coalesce(string_agg(b, ',' ORDER BY b), ''))
                            FROM (SELECT encode(coder_scale.sketch_send(v), 'hex') b FROM fuzz_sketch) s),
                         (SELECT count(*) || ' ' || md5(coalesce(string_agg(b, ',' ORDER BY b), ''))
                            FROM (SELECT encode(coder_scale.counter_summary_send(v), 'hex') b FROM fuzz_counter) c)"
}
restored=0
"$PG_DUMP" -t fuzz_sketch -t fuzz_counter "$A" | sql -d "$B" >/dev/null || restored=$?
before=$(digest $A)
after=$(digest $B 2>/dev/null || echo "none")
counts=$(echo "$before" | awk -F'|' '{ split($1, s, " "); split($2, c, " "); print s[1] " sketches and " c[1] " counter summaries" }')
if [ $restored -eq 0 ] && [ "$before" = "$after" ]; then
  echo "ok - pg_dump | psql restores all $counts, byte for byte"
else
  echo "not ok - pg_dump | psql: $counts before, '$after' after (restore exit $restored)"
  rc=1
fi
exit $rc
