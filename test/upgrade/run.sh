#!/usr/bin/env bash
# The upgrade path: 0.1.0 with data, then ALTER EXTENSION ... UPDATE, must
# equal a fresh install of the current version given the same data, object
# for object (pg_dump --binary-upgrade dumps every member of the extension,
# with its grants), and keep every stored row, byte for byte; then a dump of
# it restores, the user's rows and changes of the seeded tables included.  Needs PGHOST
# etc. of a running cluster whose server has the extension installed
# (scripts/test.sh runs it as one suite).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/cs-upgrade.XXXXXX)
PGDUMP=${PGDUMP:-pg_dump}
fails=0
export PGOPTIONS='-c client_min_messages=warning'
UP=cs_upgrade_up FRESH=cs_upgrade_fresh RESTORED=cs_upgrade_restored
finish() {
  for d in $UP $FRESH $RESTORED; do psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1 || true; done
  rm -rf "$T"
}
trap finish EXIT
check() {  # check NAME COMMAND...: ok when COMMAND succeeds
  local name=$1; shift
  if "$@" >"$T/check.out" 2>&1; then echo "ok - $name"; else echo "not ok - $name"; head -n 40 "$T/check.out" | sed 's/^/#   /'; fails=$((fails + 1)); fi
}
sql() { local d=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -d "$d" "$@"; }
# schema_of DB: every object of the database as pg_dump would recreate it
# in an upgrade, less what names a particular cluster (OIDs, xids, tokens).
schema_of() {
  "$PGDUMP" --binary-upgrade --schema-only -d "$1" \
    | grep -v -E 'binary_upgrade_set|^\\(un)?restrict |relfrozenxid|relminmxid|^WHERE oid = |^-- Dumped' \
    | sed -E "s/'\{[0-9,]+\}'/'{OIDS}'/"
}
data_of() { local d=$1; shift; "$PGDUMP" --data-only -d "$d" "$@" | grep -v -E '^\\(un)?restrict |^-- Dumped'; }
# seeded_of DB [KEY]: every row of failure_category and component_metric, as
# jsonb, less the column KEY
seeded_of() {
  sql "$1" -c "SELECT to_jsonb(t) - '${2:-}' FROM coder_scale.failure_category t ORDER BY t.name" \
           -c "SELECT to_jsonb(t) - '${2:-}' FROM coder_scale.component_metric t ORDER BY to_jsonb(t)::text"
}
binary_of() { sql "$1" -c "COPY userdata.stored TO STDOUT (FORMAT binary)" | md5sum; }
config_of() { sql "$1" -c "SELECT extconfig::regclass[]::text, extcondition FROM pg_extension WHERE extname = 'coder_scale'"; }

for d in $UP $FRESH $RESTORED; do psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $d" -c "CREATE DATABASE $d" >/dev/null; done
current=$(sql postgres -c "SELECT default_version FROM pg_available_extensions WHERE name = 'coder_scale'")
sql $UP -c "CREATE EXTENSION coder_scale VERSION '0.1.0'" -f "$HERE/data.sql" >/dev/null
data_of $UP >"$T/before.data"
binary_of $UP >"$T/before.bin"
seeded_of $UP >"$T/before.seeded"
# every step of the path, in order (one script per released version)
path=$(sql $UP -c "SELECT replace(path, '--', ' ') FROM pg_extension_update_paths('coder_scale')
                   WHERE source = '0.1.0' AND target = '$current'")
check "a path from 0.1.0 to $current exists ($path)" test -n "$path"
for v in ${path#0.1.0 }; do
  check "ALTER EXTENSION coder_scale UPDATE TO '$v'" sql $UP -c "ALTER EXTENSION coder_scale UPDATE TO '$v'"
done
check "the updated install is at $current" test "$(sql $UP -c "SELECT extversion FROM pg_extension WHERE extname = 'coder_scale'")" = "$current"

sql $FRESH -c "CREATE EXTENSION coder_scale" -f "$HERE/data.sql" >/dev/null
schema_of $UP >"$T/up.schema"
schema_of $FRESH >"$T/fresh.schema"
check "0.1.0 + update has the catalog of a fresh $current, object for object" diff -u "$T/fresh.schema" "$T/up.schema"
check "the same tables are config-dumped (kept by pg_dump)" diff <(config_of $FRESH) <(config_of $UP)
data_of $UP >"$T/after.data"
# 0.1.0 did not dump the seeded tables; 0.2.0 dumps the user's rows of them
check "every row stored before the update is there after it (pg_dump --data-only)" diff "$T/before.data" \
  <(data_of $UP --exclude-table-data=coder_scale.failure_category --exclude-table-data=coder_scale.component_metric)
check "the seeded tables hold the same rows after the update" diff "$T/before.seeded" <(seeded_of $UP builtin)
check "... and the same builtin flags as a fresh $current given the same changes" diff <(seeded_of $FRESH) <(seeded_of $UP)
check "... the user's rows and changes of them are not builtin" test \
  "$(sql $UP -c "SELECT string_agg(name, ' ' ORDER BY name) FROM coder_scale.failure_category WHERE NOT builtin") $(sql $UP -c "SELECT string_agg(component, ' ' ORDER BY component) FROM coder_scale.component_metric WHERE NOT builtin")" \
  = "agent_timeout quota_exceeded coderd proxy"
check "stored sketch and counter_summary values are the same bytes (COPY binary)" diff "$T/before.bin" <(binary_of $UP)
check "the data reads the same through the API" \
  test "$(sql $UP -c "SELECT coder_scale.num_vals(sk) || ' ' || round(coder_scale.approx_percentile(0.5, sk)::numeric, 2) FROM userdata.stored WHERE id = 1")" = "6 19.89"

"$PGDUMP" -Fc -d $UP -f "$T/up.dump"
check "a dump of the updated database restores without errors" pg_restore --exit-on-error -d $RESTORED "$T/up.dump"
check "... and holds the same data" diff "$T/after.data" <(data_of $RESTORED)
check "... and the same seeded tables: the shipped rows, the user's changes of them and the user's rows" \
  diff <(seeded_of $UP) <(seeded_of $RESTORED)
check "... the changed wording among them" test \
  "$(sql $RESTORED -c "SELECT wording FROM coder_scale.failure_category WHERE name = 'agent_timeout'")" = "agents never connected"

if [ $fails -eq 0 ]; then echo "upgrade: all passed"; exit 0; fi
echo "upgrade: $fails failed"; exit 1
