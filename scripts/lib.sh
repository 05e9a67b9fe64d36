# Shared by the scripts in this folder: Debian packages, build, and private
# PostgreSQL clusters. Source it; do not run it.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGBIN=/usr/lib/postgresql/15/bin

# Every Debian package the project needs to build, test and run.
DEB_PACKAGES=(
  make gcc libc6-dev pkg-config ca-certificates
  postgresql-15 postgresql-client-15 postgresql-server-dev-15 libpq-dev
  postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
  postgresql-15-tdigest
  libjson-c-dev libcurl4-openssl-dev libwebsockets-dev libssl-dev
  prometheus-node-exporter prometheus-postgres-exporter
  python3 curl
)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Install what is missing (one apt-get call; nothing when all is there).
install_packages() {
  local missing=() p
  for p in "${DEB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    as_root apt-get update -q >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
}

# One build-install-test at a time on a machine: the extension is installed
# into the system's PostgreSQL, which every checkout on the machine shares.
take_lock() {
  if [ -z "${CODER_SCALE_LOCKED:-}" ]; then
    exec 9>/tmp/coder_scale.lock
    flock 9
    export CODER_SCALE_LOCKED=1
  fi
}

# Let go of the lock early (first-run.sh holds it only while installing).
# Daemons must never inherit fd 9: one that outlives the script would hold
# the lock for as long as it runs.
release_lock() {
  exec 9>&-
  unset CODER_SCALE_LOCKED
}

build_and_install() {
  take_lock
  say "building and installing the extension and the client"
  make -C "$ROOT" -s >/dev/null
  as_root make -C "$ROOT" -s install >/dev/null
}

# test_setup: what scripts/test.sh and scripts/soak.sh need first: the
# packages, the build installed, and a throwaway private cluster in a new
# folder $WORK (stopped and removed when the script exits); exports PGHOST,
# PGPORT and PGUSER for it.
test_setup() {
  install_packages
  build_and_install
  WORK=$(mktemp -d /tmp/cs-test.XXXXXX)
  chmod 755 "$WORK"
  trap 'cluster_stop "$WORK/data" || true; rm -rf "$WORK"' EXIT
  cluster_start "$WORK/data" "$WORK" 5432
  export PGHOST=$WORK PGPORT=5432 PGUSER=postgres
}

# cluster_init DATADIR SOCKDIR PORT: create (if absent) and start a private
# cluster owned by postgres, listening only on a unix socket in SOCKDIR.
cluster_start() {
  local data=$1 sock=$2 port=$3
  mkdir -p "$data" "$sock"
  chown postgres:postgres "$data" "$sock"
  chmod 700 "$data"
  runuser -u postgres -- test -x "$data" \
    || die "the postgres user cannot reach $data: put the project where others may enter its folders"
  if [ ! -f "$data/PG_VERSION" ]; then
    say "creating a private PostgreSQL cluster in $data"
    runuser -u postgres -- "$PGBIN/initdb" -D "$data" -A trust -U postgres -E UTF8 \
      --locale=C.UTF-8 --no-sync >/dev/null
  fi
  if ! runuser -u postgres -- "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    say "starting it (socket $sock, port $port)"
    # 9>&-: the server must not inherit the build lock (take_lock), or it holds it while it runs
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start \
      -o "-c listen_addresses='' -c unix_socket_directories='$sock' -p $port -c fsync=off" >/dev/null 9>&- \
      || { tail -n 20 "$data/server.log" >&2; die "the private cluster did not start"; }
  fi
}

cluster_stop() {
  local data=$1
  if [ -f "$data/PG_VERSION" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  fi
}

# A socket directory path must stay under 107 bytes: keep it in the project
# when the path is short, else in /tmp under a name derived from the project.
sock_dir_for() {
  local want=$1
  if [ ${#want} -le 80 ]; then echo "$want"; else echo "/tmp/coder_scale.$(printf %s "$ROOT" | cksum | cut -d' ' -f1)"; fi
}

# daemon_start NAME READY_URL CMD...: start CMD once in the background (pid
# and log in $RUN/), then wait until READY_URL answers. Already running: nothing.
daemon_start() {
  local name=$1 url=$2 i
  shift 2
  local pidf=$RUN/$name.pid
  if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then return 0; fi
  say "starting $name"
  setsid "$@" >"$RUN/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$pidf"
  for i in $(seq 150); do
    curl -s -o /dev/null "$url" && return 0
    kill -0 "$(cat "$pidf")" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 5 "$RUN/$name.log" >&2
  die "$name did not start; its log is $RUN/$name.log"
}

daemon_stop() {
  local pidf=$RUN/$1.pid
  if [ -f "$pidf" ]; then
    kill "$(cat "$pidf")" 2>/dev/null || true
    rm -f "$pidf"
  fi
}
