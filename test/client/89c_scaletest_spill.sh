#!/usr/bin/env bash
# The spill file (results kept while the database is away) is private: a
# directory made with mkdtemp under $TMPDIR, mode 0700, the file in it 0600,
# created with O_EXCL|O_NOFOLLOW; a symlink planted at the old predictable
# name (/tmp/coder-scale-run<RUN>-<PID>.spill) is never followed; and the
# whole directory is gone once everything is written.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup
# hundreds of new users log in within a minute: more than coderd's 60 logins
# a minute per IP (Coder's own help says to lift rate limits for this test)
si_start --build-time 100ms --agent-delay 0 --daemons 50 --login-rate-limit 0
DATA=$(q "SHOW data_directory")
chmod 755 "$T"
install -o postgres -m 600 /dev/null "$T/pg.log"
pgctl() { runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$DATA" "$@" >/dev/null 9>&-; }
OPTS=$(sed -E 's/^[^ ]+ "-D" "[^"]*" ?//' "$DATA/postmaster.opts")
mkdir -m 1777 "$T/tmp"
export TMPDIR=$T/tmp
echo "the victim's own data" >"$T/victim"
restart_db() { [ -f "$DATA/postmaster.pid" ] || pgctl start -w -l "$T/pg.log" -o "$OPTS"; }
trap 'restart_db; finish_test' EXIT

CODER_SCALE_STORE_MEMORY=2000 st_bg -t docker -c 200 --concurrency 20 --cleanup-concurrency 20 --label spill \
  >"$T/out" 2>"$T/err"
pid=$!
run=
run_row() { run=$(q "SELECT id FROM coder_scale.run WHERE label = 'spill'"); [ -n "$run" ]; }
wait_until run_row || true
# and its writer connected (the driver says so as the runs begin): a database
# gone before that ends the test before it starts
wait_for_line "$T/err" '^Running load test' || true
# the name the driver used to open with fopen(..., "a"): plant a symlink there
ln -s "$T/victim" "$TMPDIR/coder-scale-run$run-$pid.spill"
pgctl stop -m fast -w
spill=
spill_or_gone() {
  spill=$(ls "$TMPDIR"/coder-scale-run"$run"-*/spill 2>/dev/null | head -n 1 || true)
  [ -n "$spill" ] || ! kill -0 $pid 2>/dev/null
}
wait_until spill_or_gone || true
check "a spill file while the database is away" yes "$([ -n "$spill" ] && echo yes || echo no)"
dir=$(dirname "$spill")
check "its directory: mkdtemp's random name under TMPDIR" yes \
  "$(echo "$dir" | grep -Eq "^$TMPDIR/coder-scale-run$run-[A-Za-z0-9]{6}$" && echo yes || echo no)"
check "its directory: mode 700, the driver's" "700 $(id -un)" "$(stat -c '%a %U' "$dir")"
check "the file: mode 600, a plain file" "600 regular file" "$(stat -c '%a %F' "$spill")"
pgctl start -w -l "$T/pg.log" -o "$OPTS"
rc=0; wait $pid || rc=$?
check "exit 0" 0 $rc
check "every result and cleanup written" "completed|200|200" "$(q "SELECT r.status, s.total,
  (SELECT count(*) FROM coder_scale.run_result WHERE run_id = r.id AND cleanup IS NOT NULL)
  FROM coder_scale.run r JOIN coder_scale.run_summary s ON s.run_id = r.id WHERE r.label = 'spill'")"
check "the planted symlink was not followed" "the victim's own data" "$(cat "$T/victim")"
check "the spill directory is gone" "" "$(ls -d "$TMPDIR"/coder-scale-run*-*/ 2>/dev/null || true)"
check "nothing left" "0 0" "$(leftovers)"
done_testing
