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
  libjson-c-dev libcurl4-openssl-dev libwebsockets-dev libuv1-dev libcap-dev libssl-dev libyaml-dev
  prometheus-node-exporter prometheus-postgres-exporter
  python3 curl iproute2
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
    say "creating a private PostgreSQL cluster in $(shown "$data")"
    runuser -u postgres -- "$PGBIN/initdb" -D "$data" -A trust -U postgres -E UTF8 \
      --locale=C.UTF-8 --no-sync >/dev/null
  fi
  if ! runuser -u postgres -- "$PGBIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    say "starting the private PostgreSQL cluster in $(shown "$data") (socket $(shown "$sock"), port $port)"
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

# A socket directory path must stay under 107 bytes: keep it in the state
# folder when the path is short, else in /tmp under a name derived from it.
sock_dir_for() {
  local want=$1
  if [ ${#want} -le 80 ]; then echo "$want"; else echo "/tmp/coder_scale.$(printf %s "$STATE" | cksum | cut -d' ' -f1)"; fi
}

# ---- The first run's services: cluster, stand-in, two exporters ----------
# State: .pg/ (the cluster's data, env to source) and .run/ (pids, logs, the
# stand-in's token, the ports in use), both in the checkout unless
# CODER_SCALE_STATE_DIR names another folder (a test runs a whole first run in
# a throwaway one). Ports: CODER_SCALE_PGPORT (the cluster's; a unix socket
# only) and CODER_SCALE_PORT_BASE (4 TCP ports on 127.0.0.1, below Linux's
# ephemeral range so that no outgoing connection ever holds one).
STATE=${CODER_SCALE_STATE_DIR:-$ROOT}
PGSTATE=$STATE/.pg
RUN=$STATE/.run
DB=coder_scale
DEFAULT_PGPORT=5499
DEFAULT_PORT_BASE=13100
DAEMONS=(standin node_exporter postgres_exporter)

# shown PATH: PATH relative to the current folder when inside it
shown() { case $1 in "$PWD"/*) echo "${1#"$PWD"/}" ;; *) echo "$1" ;; esac; }

# run_cmd SCRIPT: how to run scripts/SCRIPT on this state folder
run_cmd() {
  if [ "$STATE" = "$ROOT" ]; then echo "bash scripts/$1"; else echo "CODER_SCALE_STATE_DIR=$STATE bash scripts/$1"; fi
}

# the program each daemon runs (to tell ours from a reused pid)
daemon_program() {
  case $1 in
    standin) echo coder-standin ;;
    node_exporter) echo prometheus-node-exporter ;;
    postgres_exporter) echo prometheus-postgres-exporter ;;
  esac
}

# daemon_pid NAME: the pid of our running NAME, or fail
daemon_pid() {
  local pidf=$RUN/$1.pid pid argv0
  [ -f "$pidf" ] || return 1
  pid=$(cat "$pidf")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  argv0=$(tr '\0' '\n' <"/proc/$pid/cmdline" | head -n 1)
  [ "$(basename "$argv0")" = "$(daemon_program "$1")" ] && echo "$pid"
}

# cluster_pid DATADIR: the postmaster's pid, or fail
cluster_pid() {
  local pid
  [ -f "$1/postmaster.pid" ] || return 1
  pid=$(head -n 1 "$1/postmaster.pid")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# services_where: one line per running service of this state folder
services_where() {
  local pid port base
  base=$(sed -n 's/^CODER_SCALE_PORT_BASE=//p' "$RUN/ports" 2>/dev/null || true)
  if pid=$(cluster_pid "$PGSTATE/data"); then
    port=$(sed -n 4p "$PGSTATE/data/postmaster.pid")
    echo "  PostgreSQL        socket $(shown "$(sed -n 5p "$PGSTATE/data/postmaster.pid")")/.s.PGSQL.$port, database $DB (pid $pid, data in $(shown "$PGSTATE/data"))"
  fi
  if [ -z "$base" ]; then
    for d in "${DAEMONS[@]}"; do
      if pid=$(daemon_pid "$d"); then echo "  $(printf %-17s "$d") ports unknown: started by an older scripts/first-run.sh (pid $pid)"; fi
    done
    return 0
  fi
  if pid=$(daemon_pid standin); then
    echo "  stand-in          http://127.0.0.1:$base (API), http://127.0.0.1:$((base + 1))/metrics; token in $(shown "$RUN/standin.token") (pid $pid)"
  fi
  if pid=$(daemon_pid node_exporter); then
    echo "  node_exporter     http://127.0.0.1:$((base + 2))/metrics (pid $pid)"
  fi
  if pid=$(daemon_pid postgres_exporter); then
    echo "  postgres_exporter http://127.0.0.1:$((base + 3))/metrics (pid $pid)"
  fi
}

# services_moved RECORDED_BASE: does a service run elsewhere than PGPORT, BASE?
services_moved() {
  local d
  if cluster_pid "$PGSTATE/data" >/dev/null && [ "$(sed -n 4p "$PGSTATE/data/postmaster.pid")" != "$PGPORT" ]; then
    return 0
  fi
  for d in "${DAEMONS[@]}"; do
    if daemon_pid "$d" >/dev/null && [ "$1" != "$BASE" ]; then return 0; fi
  done
  return 1
}

# services_settings SCRIPT: set PGPORT, BASE, SOCK and the four addresses. A
# variable that is set wins; one left unset keeps the value of the last start
# (.run/ports), else takes the default. Refuses when services run on other
# ports than asked for.
services_settings() {
  local script=$1 running rec_pg= rec_base= lo hi
  running=$(services_where)
  if [ -f "$RUN/ports" ]; then
    rec_pg=$(sed -n 's/^CODER_SCALE_PGPORT=//p' "$RUN/ports")
    rec_base=$(sed -n 's/^CODER_SCALE_PORT_BASE=//p' "$RUN/ports")
  fi
  PGPORT=${CODER_SCALE_PGPORT:-${rec_pg:-$DEFAULT_PGPORT}}
  BASE=${CODER_SCALE_PORT_BASE:-${rec_base:-$DEFAULT_PORT_BASE}}
  [[ $PGPORT =~ ^[0-9]+$ ]] && [ "$PGPORT" -ge 1 ] && [ "$PGPORT" -le 65535 ] \
    || die "CODER_SCALE_PGPORT=$PGPORT: must be a port number, 1 to 65535 (default $DEFAULT_PGPORT)"
  [[ $BASE =~ ^[0-9]+$ ]] && [ "$BASE" -ge 1024 ] && [ "$BASE" -le 65532 ] \
    || die "CODER_SCALE_PORT_BASE=$BASE: must be a port number, 1024 to 65532; it and the 3 above it are used (default $DEFAULT_PORT_BASE)"
  if services_moved "$rec_base"; then
    printf 'error: these services already run, on other ports than CODER_SCALE_PGPORT=%s CODER_SCALE_PORT_BASE=%s:\n%s\n' \
      "$PGPORT" "$BASE" "$running" >&2
    printf 'Stop them first (%s), then rerun scripts/%s%s.\n' "$(run_cmd stop.sh)" "$script" \
      "$([ -z "$rec_base" ] || echo "; or rerun it without those variables to keep them")" >&2
    exit 1
  fi
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
  if [ $((BASE + 3)) -ge "$lo" ] && [ "$BASE" -le "$hi" ]; then
    say "warning: CODER_SCALE_PORT_BASE=$BASE: ports $BASE-$((BASE + 3)) lie in Linux's ephemeral range $lo-$hi, where any outgoing connection may hold one; pick one below $lo"
  fi
  SOCK=$(sock_dir_for "$PGSTATE/sock")
  API=127.0.0.1:$BASE METRICS=127.0.0.1:$((BASE + 1))
  NODE=127.0.0.1:$((BASE + 2)) PGEXP=127.0.0.1:$((BASE + 3))
  SCRIPT=$script
}

# port_listener PORT: who listens on PORT (any local address), or fail
port_listener() {
  local out
  out=$(ss -Hltnp "sport = :$1" 2>/dev/null) || return 1
  [ -n "$out" ] || return 1
  printf '%s\n' "$out" | grep -o 'users:(("[^"]*",pid=[0-9]*' | head -n 1 \
    | sed 's/users:(("\([^"]*\)",pid=\([0-9]*\)/\1 (pid \2)/' | grep . || echo "a program ss cannot name"
}

# free_base FROM: the first base at or above FROM, in steps of 100, whose four
# ports are free (a suggestion for the error below)
free_base() {
  local b=$1 i taken
  while [ $((b + 3)) -lt 32768 ]; do
    taken=0
    for i in 0 1 2 3; do if port_listener $((b + i)) >/dev/null; then taken=1; fi; done
    [ $taken = 1 ] || { echo "$b"; return 0; }
    b=$((b + 100))
  done
  echo 20000
}

# ports_check: refuse when a port of a daemon that is not running yet is taken
ports_check() {
  local name off port who
  for name in standin:0 standin:1 node_exporter:2 postgres_exporter:3; do
    off=${name#*:} name=${name%:*} port=$((BASE + off))
    if daemon_pid "$name" >/dev/null; then continue; fi
    if who=$(port_listener "$port"); then
      local what=("the stand-in's API" "the stand-in's /metrics" node_exporter postgres_exporter)
      die "port $port (${what[$off]}, CODER_SCALE_PORT_BASE+$off) is taken by $who, not by this project's $name.
  The first run uses 4 ports from CODER_SCALE_PORT_BASE (now $BASE): the stand-in's API, its /metrics,
  node_exporter, postgres_exporter. Pick a base whose 4 ports are free, e.g.:
    CODER_SCALE_PORT_BASE=$(free_base $((BASE + 100))) $(run_cmd "$SCRIPT")"
    fi
  done
}

# daemon_start NAME READY_URL CMD...: start CMD once in the background (pid
# and log in $RUN/, both private), then wait until READY_URL answers. Already
# running: nothing.
daemon_start() {
  local name=$1 url=$2 i
  shift 2
  local pidf=$RUN/$name.pid
  if daemon_pid "$name" >/dev/null; then return 0; fi
  say "starting $name"
  (umask 077; exec setsid "$@" >"$RUN/$name.log" 2>&1 </dev/null 9>&-) &
  echo $! >"$pidf"
  chmod 600 "$pidf" "$RUN/$name.log" 2>/dev/null || true
  for i in $(seq 150); do
    curl -s -o /dev/null "$url" && return 0
    kill -0 "$(cat "$pidf")" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 5 "$RUN/$name.log" >&2
  if grep -q 'address already in use' "$RUN/$name.log"; then
    die "$name could not bind its port (log: $RUN/$name.log); pick other ports with CODER_SCALE_PORT_BASE=N $(run_cmd "$SCRIPT")"
  fi
  die "$name did not start; its log is $RUN/$name.log"
}

# daemon_stop NAME: stop our NAME and wait until it is gone
daemon_stop() {
  local pidf=$RUN/$1.pid pid i
  if pid=$(daemon_pid "$1"); then
    kill "$pid" 2>/dev/null || true
    # until the process is gone (its own state ends the wait; 5 s only bound a stuck one)
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    echo "$1"
  fi
  rm -f "$pidf"
}

# services_start: the cluster (database and extension included), the stand-in
# and both exporters, each once; needs services_settings first.
services_start() {
  mkdir -p "$RUN" "$PGSTATE"
  chmod 700 "$RUN"
  chmod 600 "$RUN"/*.log 2>/dev/null || true
  ports_check
  printf '# the ports scripts/%s started the services on; unset variables keep them\nCODER_SCALE_PGPORT=%s\nCODER_SCALE_PORT_BASE=%s\n' \
    "$SCRIPT" "$PGPORT" "$BASE" >"$RUN/ports"
  chmod 600 "$RUN/ports"

  cluster_start "$PGSTATE/data" "$SOCK" "$PGPORT"
  export PGHOST=$SOCK PGPORT PGUSER=postgres
  echo "export PGHOST=$SOCK PGPORT=$PGPORT PGUSER=postgres PGDATABASE=$DB" >"$PGSTATE/env"
  psql -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 \
    || psql -X -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
  psql -X -q -d "$DB" -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS coder_scale;
ALTER EXTENSION coder_scale UPDATE;
SQL

  # rate limits off, as Coder's create-workspaces help advises for a scale
  # test: the first run's 300 new users log in within a minute, and coderd
  # (so the stand-in) allows 60 logins a minute per IP
  daemon_start standin "http://$API/api/v2/buildinfo" \
    "$ROOT/standin/coder-standin" --listen "$API" --metrics-listen "$METRICS" \
    --token-file "$RUN/standin.token" --replicas 2 --daemons 30 \
    --build-time normal:2s,500ms --agent-delay 500ms --dangerous-disable-rate-limits
  daemon_start node_exporter "http://$NODE/metrics" \
    prometheus-node-exporter --web.listen-address="$NODE"
  DATA_SOURCE_NAME="host=$SOCK port=$PGPORT user=postgres dbname=postgres sslmode=disable" \
    daemon_start postgres_exporter "http://$PGEXP/metrics" \
    prometheus-postgres-exporter --web.listen-address="$PGEXP"
}

# services_report: what runs where, and how to connect
services_report() {
  echo "Running ($(run_cmd stop.sh) stops it all; logs and pids in $(shown "$RUN")/):"
  services_where
  echo "Connect:  source $(shown "$PGSTATE/env") && psql     (sets PGHOST, PGPORT, PGUSER, PGDATABASE=$DB)"
}
