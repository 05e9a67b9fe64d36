#!/usr/bin/env bash
# The results database goes away mid-run: the driver keeps going, buffers
# (in memory, and in a spill file beyond its bound), reconnects and writes
# everything: nothing lost, nothing twice.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup
si_start --build-time 100ms --agent-delay 0 --daemons 50
DATA=$(q "SHOW data_directory")
chmod 755 "$T"
install -o postgres -m 600 /dev/null "$T/pg.log"
# (fd 9 is the build lock of scripts/test.sh: the server must not keep it)
pgctl() { runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$DATA" "$@" >/dev/null 9>&-; }

# 1. pg_ctl restart while the run goes on
st_bg -t docker -c 300 --concurrency 30 --cleanup-concurrency 30 --label restart >"$T/out" 2>"$T/err"
pid=$!
sleep 1
pgctl restart -m fast -w -l "$T/pg.log"
rc=0; wait $pid || rc=$?
check "restart: exit 0" 0 $rc
check "restart: every result and cleanup written" "completed|300|300|300" "$(q "SELECT r.status, s.total, s.succeeded,
  (SELECT count(*) FROM coder_scale.run_result WHERE run_id = r.id AND cleanup IS NOT NULL)
  FROM coder_scale.run r JOIN coder_scale.run_summary s ON s.run_id = r.id WHERE r.label = 'restart'")"

# 2. down for 3 s with a tiny memory bound: rows go to the spill file, then in
export TMPDIR=$T
CODER_SCALE_STORE_MEMORY=2000 st_bg -t docker -c 300 --concurrency 30 --cleanup-concurrency 30 --label spill >"$T/out" 2>"$T/err"
pid=$!
sleep 0.7
OPTS=$(sed -E 's/^[^ ]+ "-D" "[^"]*" ?//' "$DATA/postmaster.opts")
pgctl stop -m fast -w
sleep 3
pgctl start -w -l "$T/pg.log" -o "$OPTS"
rc=0; wait $pid || rc=$?
check "spill: exit 0" 0 $rc
check "spill: every result and cleanup written" "completed|300|300|300" "$(q "SELECT r.status, s.total, s.succeeded,
  (SELECT count(*) FROM coder_scale.run_result WHERE run_id = r.id AND cleanup IS NOT NULL)
  FROM coder_scale.run r JOIN coder_scale.run_summary s ON s.run_id = r.id WHERE r.label = 'spill'")"
check "spill: the spill file is gone" "" "$(ls "$T"/coder-scale-run*.spill 2>/dev/null || true)"
check "nothing left" "0 0" "$(leftovers)"
done_testing
