#!/usr/bin/env bash
# The results database goes away mid-run: the driver keeps going, buffers
# (in memory, and in a spill file beyond its bound), reconnects and writes
# everything: nothing lost, nothing twice. The stand-in holds the builds
# while the database goes down, so that results arrive while it is away.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup
# 600 new users log in within a minute, from one IP: more than coderd's 60
# logins and 512 API calls a minute per IP and path allow (Coder's own help
# says to lift rate limits for this test)
si_start --build-time 100ms --agent-delay 0 --daemons 50 --dangerous-disable-rate-limits
DATA=$(q "SHOW data_directory")
chmod 755 "$T"
install -o postgres -m 600 /dev/null "$T/pg.log"
# (fd 9 is the build lock of scripts/test.sh: the server must not keep it)
pgctl() { runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$DATA" "$@" >/dev/null 9>&-; }

# workspaces_past N: until the stand-in has a workspace of run N or later
# (scaletest-XXXXXXXX-N): the runs before it have ended (at most 60 s)
workspace_of_run() {
  api "workspaces?limit=1000" | python3 -c 'import json,sys; sys.exit(0 if any(int(w["name"].rsplit("-", 1)[1]) >= int(sys.argv[1]) for w in json.load(sys.stdin)["workspaces"] if w["name"].startswith("scaletest-")) else 1)' "$1"
}
workspaces_past() {
  wait_until workspace_of_run "$1" && return 0
  echo "  # no workspace of run $1 after 60 s" >&2
  return 1
}

# 1. pg_ctl restart while the run goes on: 30 runs in flight, held in their
# builds, while the server restarts; then results flow on a new connection
hold builds=true
st_bg -t docker -c 300 --concurrency 30 --cleanup-concurrency 30 --label restart >"$T/out" 2>"$T/err"
pid=$!
workspaces_past 29
pgctl restart -m fast -w -l "$T/pg.log"
hold builds=false
rc=0; wait $pid || rc=$?
check "restart: exit 0" 0 $rc
check "restart: the outage said when it began and when it ended" "yes yes" \
  "$(grep -q 'results database: .*; retrying with backoff' "$T/err" && echo yes || echo no) $(grep -q 'results database: writing again after ' "$T/err" && echo yes || echo no)"
check "restart: every result and cleanup written" "completed|300|300|300" "$(q "SELECT r.status, s.total, s.succeeded,
  (SELECT count(*) FROM coder_scale.run_result WHERE run_id = r.id AND cleanup IS NOT NULL)
  FROM coder_scale.run r JOIN coder_scale.run_summary s ON s.run_id = r.id WHERE r.label = 'restart'")"

# 2. down with a tiny memory bound while 60 runs end: rows go to the spill
# file, then in once the server is back
export TMPDIR=$T
hold builds=true
CODER_SCALE_STORE_MEMORY=2000 st_bg -t docker -c 300 --concurrency 30 --cleanup-concurrency 30 --label spill >"$T/out" 2>"$T/err"
pid=$!
workspaces_past 29
OPTS=$(sed -E 's/^[^ ]+ "-D" "[^"]*" ?//' "$DATA/postmaster.opts")
pgctl stop -m fast -w
hold builds=false
workspaces_past 89
spilled=no
wait_until compgen -G "$T/coder-scale-run*/spill" >/dev/null && spilled=yes
check "spill: rows went to a spill file while the server was down" yes "$spilled"
pgctl start -w -l "$T/pg.log" -o "$OPTS"
rc=0; wait $pid || rc=$?
check "spill: exit 0" 0 $rc
check "spill: every result and cleanup written" "completed|300|300|300" "$(q "SELECT r.status, s.total, s.succeeded,
  (SELECT count(*) FROM coder_scale.run_result WHERE run_id = r.id AND cleanup IS NOT NULL)
  FROM coder_scale.run r JOIN coder_scale.run_summary s ON s.run_id = r.id WHERE r.label = 'spill'")"
check "spill: the spill file and its directory are gone" "" "$(ls -d "$T"/coder-scale-run* 2>/dev/null || true)"
check "nothing left" "0 0" "$(leftovers)"
done_testing
