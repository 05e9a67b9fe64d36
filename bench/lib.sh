# Shared by the benchmarks in this folder: the private PostgreSQL they
# measure on, and the client they measure.  Source it; do not run it.
#
#   bench_pg [SERVER_OPTION...]
#       A private copy of the server's PostgreSQL 15 installation with this
#       checkout's extension in it (so a benchmark neither needs the build
#       lock nor disturbs the system's installed extension), a new cluster
#       in $WORK/data on a unix socket in $WORK/sock only (port
#       $BENCH_PGPORT, default 5490: it only names the socket), started with
#       fsync off and the options given ("-c max_wal_size=4GB").  Exports
#       PGHOST, PGPORT and PGUSER; $WORK is the benchmark's scratch folder.
#       Everything is stopped and removed when the script exits.
#       With BENCH_PGHOST set, no cluster is started: the benchmark runs on
#       that server (host or socket folder; port BENCH_PGPORT, default 5432;
#       user BENCH_PGUSER, default postgres), which must offer this
#       checkout's coder_scale (make install there); the options are not
#       applied to it, only printed.
#   bench_db VAR NAME
#       A new database with coder_scale in it, for NAME; its name in VAR:
#       NAME on the private cluster, cs_bench_<pid>_NAME on a given server
#       (dropped at exit).
#   bench_at_exit 'SHELL WORDS'
#       Also run this at exit, before the server stops (evaluated then).
#   CS  The client measured: $CODER_SCALE_BIN when set (another build's, to
#       measure two side by side: bench/compare.sh), else this checkout's.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

CS=${CODER_SCALE_BIN:-$ROOT/client/coder-scale}
BENCH_AT_EXIT=()
BENCH_DBS=()

bench_at_exit() { BENCH_AT_EXIT+=("$1"); }

bench_cleanup() {
  local c
  for c in "${BENCH_AT_EXIT[@]}"; do eval "$c" || true; done
  for c in "${BENCH_DBS[@]}"; do psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $c" || true; done
  if [ -f "$WORK/data/PG_VERSION" ]; then
    runuser -u postgres -- "$PRIV$PGBIN/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}

bench_pg() {
  local port=${BENCH_PGPORT:-5490} opts o
  install_packages
  make -C "$ROOT" -s >/dev/null
  WORK=$(mktemp -d /tmp/cs-bench.XXXXXX)
  chmod 755 "$WORK"
  trap bench_cleanup EXIT
  if [ -n "${BENCH_PGHOST:-}" ]; then
    export PGHOST=$BENCH_PGHOST PGPORT=${BENCH_PGPORT:-5432} PGUSER=${BENCH_PGUSER:-postgres}
    PRIV=
    say "on the given server $PGHOST:$PGPORT as $PGUSER${1:+ (not applied there: $*)}"
    psql -X -At -d postgres -c "SELECT 1" >/dev/null || die "cannot connect to the given server $PGHOST:$PGPORT as $PGUSER"
    psql -X -At -d postgres -c "SELECT 1 FROM pg_available_extensions WHERE name = 'coder_scale'" | grep -q 1 \
      || die "$PGHOST:$PGPORT offers no coder_scale extension: make install it there first"
    return 0
  fi
  PRIV=$WORK/pg
  say "private copy of PostgreSQL 15 with this checkout's extension in $PRIV"
  mkdir -p "$PRIV/usr/lib/postgresql" "$PRIV/usr/share/postgresql"
  # without the system's coder_scale files: another checkout may be installing them right now
  tar -C /usr/lib/postgresql --exclude='coder_scale*' -cf - 15 | tar -C "$PRIV/usr/lib/postgresql" -xf -
  tar -C /usr/share/postgresql --exclude='coder_scale*' -cf - 15 | tar -C "$PRIV/usr/share/postgresql" -xf -
  make -C "$ROOT" -s install DESTDIR="$PRIV" >/dev/null
  mkdir -p "$WORK/data" "$WORK/sock"
  chown postgres:postgres "$WORK/data" "$WORK/sock"
  runuser -u postgres -- "$PRIV$PGBIN/initdb" -D "$WORK/data" -A trust -U postgres -E UTF8 \
    --locale=C.UTF-8 --no-sync >/dev/null
  opts="-c listen_addresses='' -c unix_socket_directories='$WORK/sock' -p $port -c fsync=off"
  for o in "$@"; do opts+=" $o"; done
  runuser -u postgres -- "$PRIV$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/data/server.log" -w start \
    -o "$opts" >/dev/null 9>&-
  export PGHOST=$WORK/sock PGPORT=$port PGUSER=postgres
}

bench_db() {
  local name=$2
  if [ -n "${BENCH_PGHOST:-}" ]; then
    name=cs_bench_$$_$2
    BENCH_DBS+=("$name")
  fi
  psql -X -q -d postgres -c "CREATE DATABASE $name"
  psql -X -q -d "$name" -c "CREATE EXTENSION coder_scale"
  printf -v "$1" '%s' "$name"
}
