#!/usr/bin/env bash
# The status line of a long test: a plain line every 10 s when stderr is not
# a terminal, counting the runs by stage (here 1 building, 2 queued behind held builds:
# builds in flight and the longest queue wait); on a terminal (script(1)
# gives one) one line redrawn in place every second with \r, through every
# stage and the cleanup, cleared before other output and at the end;
# --quiet prints none in either form.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup

# progress_lines FILE: the plain status lines in FILE
progress_lines() { grep -cE '^coder-scale: scaletest: [0-9]+(m[0-9]+)?s: [0-9]+/[0-9]+ started: ' "$1" || true; }
at_least_lines() { [ "$(progress_lines "$1")" -ge "$2" ]; }
# draws FILE: how many times a terminal status line was drawn into FILE
draws() { grep -oa 'started: ' "$1" | wc -l; }
at_least_draws() { [ "$(draws "$1")" -ge "$2" ]; }
has_text() { grep -qaF -- "$2" "$1"; }
# job_running: some workspace's build job runs on the stand-in (held there)
job_running() {
  api "workspaces" | python3 -c 'import json,sys; sys.exit(0 if any(w["latest_build"]["job"]["status"] == "running" for w in json.load(sys.stdin)["workspaces"]) else 1)'
}

# --- not a terminal: two provisioners, the quiet run's build held on one; the other
# plans the next run's template (a dry run is never held), then holds its first build
si_start --build-time 0 --agent-delay 0 --daemons 2
hold builds=true
st_bg -t docker -c 1 --quiet --label quiet >"$T/q.out" 2>"$T/q.err"
QPID=$!
wait_until job_running || echo "  # the quiet run's build never ran" >&2
st_bg -t docker -c 3 --concurrency 0 --label plain >"$T/p.out" 2>"$T/p.err"
PPID_=$!
wait_until at_least_lines "$T/p.err" 2 || echo "  # no second status line in $T/p.err" >&2
check "two plain lines in 20 s" 2 "$(progress_lines "$T/p.err")"
line2=$(grep -E '^coder-scale: scaletest: [0-9]+s: ' "$T/p.err" | sed -n 2p)
check "the second, 20 s in: 1 building (held), 2 queued behind it since the start" 1 \
  "$(grep -cE '^coder-scale: scaletest: 2[0-9]s: 3/3 started: 0 creating, 2 queued, 1 building, 0 waiting for agents, 0 running the command, 0 done, 0 failed; 3 builds in flight, longest queue wait (19|2[0-9])\.[0-9]s$' <<<"$line2")"
check "--quiet, running longer: no line" 0 "$(progress_lines "$T/q.err")"
hold builds=false
rc=0; wait $PPID_ || rc=$?
check "plain run: exit 0" 0 $rc
rc=0; wait $QPID || rc=$?
check "quiet run: exit 0" 0 $rc
check "... and still its summary line" "1 succeeded" "$(grep -E '^[0-9]+ succeeded' "$T/q.err")"
check "stdout holds no status line" 0 "$(progress_lines "$T/p.out")"

# --- a terminal: one line drawn over, through the stages and the cleanup
si_start --build-time 0 --agent-delay 0
hold builds=true agents=true
script -qfec "stty cols 250 rows 40; exec $CS scaletest create-workspaces --token-file $TOKEN_FILE --db dbname=$DB -t docker -c 1 --quiet --label ttyquiet" \
  "$T/tq.log" </dev/null >/dev/null &
TQ=$!
script -qfec "stty cols 250 rows 40; exec $CS scaletest create-workspaces --token-file $TOKEN_FILE --db dbname=$DB -t docker -c 1 --label tty" \
  "$T/tt.log" </dev/null >/dev/null &
TT=$!
wait_until has_text "$T/tt.log" "1/1 started: 0 creating, 0 queued, 1 building," || echo "  # never building" >&2
wait_until at_least_draws "$T/tt.log" 3 || echo "  # fewer than 3 draws" >&2
check "building: drawn again and again" yes "$(at_least_draws "$T/tt.log" 3 && echo yes || echo no)"
check "... in place: \\r, the line, erase to its end" yes \
  "$(grep -qaP '\rcoder-scale: scaletest: [0-9]+s: 1/1 started: .* longest queue wait [0-9.]+s\e\[K' "$T/tt.log" && echo yes || echo no)"
check "... never a newline between draws" 1 "$(grep -ac 'started: ' "$T/tt.log")"
hold builds=false
wait_until has_text "$T/tt.log" ", 1 waiting for agents," || echo "  # never waiting for agents" >&2
check "waiting for agents" yes "$(has_text "$T/tt.log" ", 1 waiting for agents," && echo yes || echo no)"
hold builds=true agents=false
wait_until has_text "$T/tt.log" "; cleanup: 0 of 1 cleaned, 0 failed, 1 in flight" || echo "  # no cleanup line" >&2
check "the cleanup, its delete build held" yes \
  "$(grep -qaE '1 done, 0 failed; 0 builds in flight, longest queue wait [0-9.]+s; cleanup: 0 of 1 cleaned, 0 failed, 1 in flight' "$T/tt.log" && echo yes || echo no)"
check "--quiet on a terminal: none" 0 "$(draws "$T/tq.log")"
hold builds=false
rc=0; wait $TT || rc=$?
check "terminal run: exit 0" 0 $rc
rc=0; wait $TQ || rc=$?
check "quiet terminal run: exit 0" 0 $rc
# what the terminal shows at the end: every status line was drawn over or cleared
python3 - "$T/tt.log" >"$T/screen" <<'PY'
import re, sys
rows = []
for raw in open(sys.argv[1], 'rb').read().decode('utf-8', 'replace').split('\n'):
    row, cur, i = [], 0, 0
    while i < len(raw):
        if raw.startswith('\x1b[K', i):
            del row[cur:]; i += 3; continue
        c = raw[i]; i += 1
        if c == '\r':
            cur = 0; continue
        if cur < len(row): row[cur] = c
        else: row.append(c)
        cur += 1
    rows.append(''.join(row))
print('\n'.join(rows))
PY
check "on screen at the end: no status line left" 0 "$(grep -c 'started: ' "$T/screen" || true)"
check "... Coder's text on lines of its own" "1 1" "$(grep -cx 'Test results:' "$T/screen") $(grep -cx 'Cleaning up 1 run...' "$T/screen")"
check "... and the summary line" 1 "$(grep -cx '1 succeeded' "$T/screen")"
check "nothing left on the server" "0 0" "$(leftovers)"
done_testing
