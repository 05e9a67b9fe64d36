#!/usr/bin/env bash
# README command 1 for real, in a throwaway state folder (CODER_SCALE_STATE_DIR)
# on its own ports, with 10 workspaces; then its reruns: start.sh while all
# runs (nothing restarted), other ports while it runs (refused, nothing
# touched), stop.sh (all gone), a port taken by another program (refused,
# naming it), start.sh (all back). Then the stand-in's session tokens: in no
# log, output or table (pg_dump), and every file holding one is 0600.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"   # paths in the messages are relative to the current folder
T=$(mktemp -d /tmp/cs-first-run.XXXXXX)
chmod 755 "$T"
export CODER_SCALE_STATE_DIR=$T/state CODER_SCALE_COUNT=10 CODER_SCALE_PGPORT=5497
mkdir -m 755 "$T/state"
source "$ROOT/scripts/lib.sh"
set +e
LISTENER=
finish() {
  [ -z "$LISTENER" ] || kill "$LISTENER" 2>/dev/null
  bash "$ROOT/scripts/stop.sh" >/dev/null 2>&1
  rm -rf "$T"
}
trap finish EXIT

fails=0 n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
check() { [ "$2" = "$3" ]; ok $? "$1: expected [$2], got [$3]"; }
has() { grep -qF -- "$2" "$3"; ok $? "$1: $(basename "$3") says \"$2\""; }
answers() { curl -fsS -o /dev/null "$1"; }
all_answer() {
  answers "http://127.0.0.1:$B/api/v2/buildinfo" && answers "http://127.0.0.1:$((B + 1))/metrics" \
    && answers "http://127.0.0.1:$((B + 2))/metrics" && answers "http://127.0.0.1:$((B + 3))/metrics"
}
none_listen() { local i; for i in 0 1 2 3; do ! port_listener $((B + i)) >/dev/null || return 1; done; }

B=$(free_base 23100)
export CODER_SCALE_PORT_BASE=$B
run() { local out=$1; shift; rc=0; "$@" >"$T/$out.out" 2>"$T/$out.err" || rc=$?; }

run first bash "$ROOT/scripts/first-run.sh"
check "first run exits 0" 0 $rc
[ $rc = 0 ] || { tail -n 20 "$T/first.err" >&2; exit 1; }
has "first run" "10 succeeded" "$T/first.err"   # the summary line is on stderr
has "first run" "Sizing recommendations" "$T/first.out"
has "first run names the stand-in" "stand-in          http://127.0.0.1:$B (API)" "$T/first.err"
has "first run says how to connect" "source $T/state/.pg/env && psql" "$T/first.err"
ok "$(all_answer; echo $?)" "the stand-in and both exporters answer on $B-$((B + 3))"
tok1=$(cat "$T/state/.run/standin.token")
pids1=$(echo $(cat "$T/state/.run/"*.pid))

run again bash "$ROOT/scripts/start.sh"
check "start.sh while all runs exits 0" 0 $rc
check "start.sh while all runs starts nothing" "" "$(grep '==> starting' "$T/again.err")"
check "start.sh while all runs: the same pids" "$pids1" "$(echo $(cat "$T/state/.run/"*.pid))"
has "start.sh" "postgres_exporter http://127.0.0.1:$((B + 3))/metrics" "$T/again.out"

run moved env CODER_SCALE_PORT_BASE=$((B + 100)) bash "$ROOT/scripts/start.sh"
check "start.sh on other ports while all runs exits 1" 1 $rc
has "other ports refused" "already run, on other ports than CODER_SCALE_PGPORT=5497 CODER_SCALE_PORT_BASE=$((B + 100))" "$T/moved.err"
has "other ports refused, saying what runs where" "node_exporter     http://127.0.0.1:$((B + 2))/metrics" "$T/moved.err"
has "other ports refused, saying how to stop" "bash scripts/stop.sh), then rerun scripts/start.sh" "$T/moved.err"
run movedpg env CODER_SCALE_PGPORT=5496 bash "$ROOT/scripts/first-run.sh"
check "first-run.sh on another PostgreSQL port while it runs exits 1" 1 $rc
has "other PostgreSQL port refused" "socket $T/state/.pg/sock/.s.PGSQL.5497" "$T/movedpg.err"
check "the refusals changed nothing" "$pids1" "$(echo $(cat "$T/state/.run/"*.pid))"
check ".pg/env still names the running cluster" "PGPORT=5497" "$(grep -o 'PGPORT=[0-9]*' "$T/state/.pg/env")"
ok "$(all_answer; echo $?)" "after the refusals all still answer"

run stop bash "$ROOT/scripts/stop.sh"
check "stop.sh exits 0" 0 $rc
has "stop.sh" "stopped: standin node_exporter postgres_exporter the private cluster" "$T/stop.err"
ok "$(none_listen; echo $?)" "after stop.sh nothing listens on $B-$((B + 3))"
ok "$(! cluster_pid "$T/state/.pg/data" >/dev/null; echo $?)" "after stop.sh the cluster is stopped"

# another program on node_exporter's port: a plain listener, seen by ss.
# Its sleep is only how long it holds the port (the test kills it long before);
# the loop after it waits for the line it prints once bound, not for time.
python3 -c 'import socket,sys,time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
print("listening", flush=True); time.sleep(300)' $((B + 2)) >"$T/listener" &
LISTENER=$!
while ! grep -q listening "$T/listener"; do kill -0 $LISTENER || break; sleep 0.05; done
run taken bash "$ROOT/scripts/start.sh"
check "start.sh with a port taken exits 1" 1 $rc
has "taken port named" "port $((B + 2)) (node_exporter, CODER_SCALE_PORT_BASE+2) is taken by python3 (pid $LISTENER)" "$T/taken.err"
has "taken port: how to pick another" "CODER_SCALE_PORT_BASE=$((B + 100)) CODER_SCALE_STATE_DIR=$T/state bash scripts/start.sh" "$T/taken.err"
ok "$(none_listen_but_2() { ! port_listener $B >/dev/null && ! port_listener $((B + 3)) >/dev/null; }; none_listen_but_2; echo $?)" "with a port taken nothing was started"
kill $LISTENER; wait $LISTENER 2>/dev/null; LISTENER=

run back bash "$ROOT/scripts/start.sh"
check "start.sh after stop.sh exits 0" 0 $rc
ok "$(all_answer; echo $?)" "after start.sh all answer again on the same ports"
check "after start.sh the results are there" 1 "$(. "$T/state/.pg/env" && psql -X -At -c 'SELECT count(*) FROM coder_scale.run')"
tok2=$(cat "$T/state/.run/standin.token")

# the tokens: the first run's and the restarted stand-in's, whole and their secret halves
(. "$T/state/.pg/env" && pg_dump --no-owner "$PGDATABASE") >"$T/dump.sql"
check "the dump holds the run" 1 "$(grep -c '^COPY coder_scale.run ' "$T/dump.sql")"
for tok in "$tok1" "$tok2"; do
  for s in "$tok" "${tok#*-}"; do
    check "files holding a token (${#s} characters)" "$([ "$tok" = "$tok2" ] && echo "$T/state/.run/standin.token")" \
      "$(grep -rlF -- "$s" "$T" | sort)"
  done
done
check "the token file's mode" 600 "$(stat -c %a "$T/state/.run/standin.token")"
check ".run's mode" 700 "$(stat -c %a "$T/state/.run")"
check "logs and pid files readable by others" "" "$(find "$T/state/.run" -type f -perm /077)"

echo "1..$n"
[ $fails = 0 ]
