#!/usr/bin/env bash
# README command 1: install, build, start the project's private PostgreSQL
# cluster (data in .pg/, never the system's "15 main"), create the extension
# and print the sizing table. Safe to run again.
source "$(dirname "$0")/lib.sh"

DATA=$ROOT/.pg/data
SOCK=$(sock_dir_for "$ROOT/.pg/sock")
PORT=${CODER_SCALE_PGPORT:-5499}
DB=coder_scale

install_packages
build_and_install
release_lock
cluster_start "$DATA" "$SOCK" "$PORT"

export PGHOST=$SOCK PGPORT=$PORT PGUSER=postgres
cat > "$ROOT/.pg/env" <<ENV
export PGHOST=$SOCK PGPORT=$PORT PGUSER=postgres PGDATABASE=$DB
ENV

psql -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 \
  || psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
psql -X -q -d "$DB" -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS coder_scale;
ALTER EXTENSION coder_scale UPDATE;
SQL

say "sizing recommendations (profile 'default'):"
psql -X -d "$DB" -P footer=off -c "SELECT * FROM coder_scale.recommendations()"

cat >&2 <<MSG
==> the private cluster keeps running. Connect with:
      source .pg/env && psql
    Stop it with:  bash scripts/stop.sh
MSG
