#!/usr/bin/env bash
# bench/fuzz.sh [CASES] [SEED]: the long run of the type fuzzer (test/fuzz),
# 200,000 cases by default, on its own private PostgreSQL (a private copy of
# the server's installation with this checkout's extension in it), so it
# neither needs the build lock nor disturbs the system's installed extension.
# Prints the fuzzer's TAP lines, then cases, crashes (as the fuzzer saw them
# and as the server's log tells), round-trip failures and the time taken.
source "$(dirname "$0")/../scripts/lib.sh"

CASES=${1:-200000}
SEED=${2:-1}
PORT=55493

install_packages
make -C "$ROOT" -s >/dev/null

WORK=$(mktemp -d /tmp/cs-fuzz.XXXXXX)
chmod 755 "$WORK"
PRIV=$WORK/pg
cleanup() {
  if [ -f "$WORK/data/PG_VERSION" ]; then
    runuser -u postgres -- "$PRIV$PGBIN/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

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
runuser -u postgres -- "$PRIV$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/data/server.log" -w start \
  -o "-c listen_addresses='' -c unix_socket_directories='$WORK/sock' -p $PORT -c fsync=off" \
  >/dev/null 9>&-
export PGHOST=$WORK/sock PGPORT=$PORT PGUSER=postgres PG_DUMP=$PRIV$PGBIN/pg_dump

say "type fuzzer: $CASES cases, seed $SEED"
rc=0
t0=$(date +%s.%N)
bash "$ROOT/test/fuzz/run.sh" "$CASES" "$SEED" > "$WORK/fuzz.out" || rc=$?
t1=$(date +%s.%N)
cat "$WORK/fuzz.out"
server_crashes=$(grep -c 'terminated by signal' "$WORK/data/server.log" || true)
awk -v t="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" -v sc="$server_crashes" '
  /^# cases / { gsub(/,/, ""); cases = $3; rej = $5; acc = $7; rt = $11; rtf = $14; unexp = $17; cr = $19 }
  END {
    printf "cases:                %d (%d rejected, %d accepted)\n", cases, rej, acc
    printf "crashes:              %d seen by the fuzzer, %d in the server log\n", cr, sc
    printf "round-trip failures:  %d (%d values read back identically as text and as binary)\n", rtf, rt
    printf "unexpected errors:    %d\n", unexp
    printf "time:                 %.1f s (%.0f cases/s)\n", t, cases / t
  }' "$WORK/fuzz.out"
exit $rc
