#!/usr/bin/env bash
# scaletest create-workspaces --scrape: three targets scraped on the run's own
# loop (the stand-in's /metrics, a real node_exporter, and a fixture server
# killed mid-run), samples stored with the run, up = 0 for the dead target,
# peak usage per component from the views; bad --scrape flags exit 2.
source "$(dirname "$0")/8_scaletest_lib.inc"

db_setup
# every server on port 0; the port each really bound is read back
si_start --metrics-listen 127.0.0.1:0 --build-time 300ms --agent-delay 100ms
MPORT=${METRICS_URL#http://127.0.0.1:}; MPORT=${MPORT%/metrics}
prometheus-node-exporter --web.listen-address=127.0.0.1:0 >"$T/node.log" 2>&1 9>&- &
NODE_PID=$!
mkdir -p "$T/www" && cp "$ROOT/test/client/data/prom/coderd-metrics-sample.prom" "$T/www/metrics"
(cd "$T/www" && exec python3 -m http.server 0 --bind 127.0.0.1) >"$T/fixture.log" 2>&1 9>&- &
FIX_PID=$!
trap 'kill $NODE_PID $FIX_PID 2>/dev/null || true; finish_test' EXIT
NPORT=$(listen_port $NODE_PID)
FPORT=$(listen_port $FIX_PID)

code() { local rc=0; "$@" >/dev/null 2>"$T/err" || rc=$?; echo $rc; }
yes_no() { if "$@"; then echo yes; else echo no; fi; }
matches() { [[ $1 =~ $2 ]]; }

echo "# bad flags exit 2 before anything is created"
check "NAME=URL required" 2 "$(code st -t docker --scrape coderd)"
check "duplicate NAME" 2 "$(code st -t docker --scrape a=http://x/m --scrape a=http://y/m)"
check "the message says so" yes "$(yes_no grep -q "NAME given twice" "$T/err")"
check "bad interval" 2 "$(code st -t docker --scrape a=http://x/m --scrape-interval 0s)"
check "--scrape needs the database" 2 "$(code st -t docker --scrape a=http://x/m --no-db)"
check "bad --scrape-match" 2 "$(code st -t docker --scrape a=http://x/m --scrape-match '(')"
check "bad --scrape-sample-limit" 2 "$(code st -t docker --scrape a=http://x/m --scrape-sample-limit 0)"
check "a URL that is not http(s)" 2 "$(code st -t docker --scrape a=ftp://x/m)"
check "nothing was created" "0 0" "$(leftovers)"

echo "# a run with three targets, one killed mid-run"
# builds are held until the driver has stored a good scrape of the fixture
# and it was killed: the run is still going when it dies, and goes on for 10
# rounds of 300 ms builds after. Every second: a scrape may take 800 ms on
# a loaded machine.
hold builds=true
st_bg -t docker -c 20 --concurrency 2 --cleanup-concurrency 0 --run-command "sleep 0.2 && echo hi" \
  --scrape "coderd=http://127.0.0.1:$MPORT/metrics" --scrape "runner=http://127.0.0.1:$NPORT/metrics" \
  --scrape "fixture=http://127.0.0.1:$FPORT/metrics" --scrape-interval 1s >"$T/out" 2>"$T/err"
ST=$!
fixture_up() { q "SELECT count(*) FROM coder_scale.metric_sample v JOIN coder_scale.metric_series s ON s.id = v.series_id
  WHERE s.component = 'fixture' AND s.name = 'up' AND v.value = 1"; }
fixture_scraped() { [ "$(fixture_up)" -gt 0 ]; }
wait_until fixture_scraped || true    # the checks below say what is missing
kill $FIX_PID
wait $FIX_PID 2>/dev/null || true
hold builds=false
rc=0; wait $ST || rc=$?; check "the scale test passes" 0 $rc
RUN=$(q "SELECT max(id) FROM coder_scale.run")
check "all 20 runs stored" 20 "$(q "SELECT count(*) FROM coder_scale.run_result WHERE run_id = $RUN AND outcome = 'pass'")"
check "three targets have series" "coderd fixture runner" \
  "$(q "SELECT string_agg(DISTINCT component, ' ' ORDER BY component) FROM coder_scale.metric_series WHERE run_id = $RUN")"
check "coderd's own metrics came from the stand-in" t \
  "$(q "SELECT count(*) > 0 FROM coder_scale.metric_series WHERE run_id = $RUN AND component = 'coderd' AND name = 'coderd_provisionerd_jobs_current'")"
up() {  # up COMPONENT: the up samples in time order, as 1s and 0s
  q "SELECT string_agg(v.value::int::text, '' ORDER BY v.time) FROM coder_scale.metric_sample v
     JOIN coder_scale.metric_series s ON s.id = v.series_id
     WHERE s.run_id = $RUN AND s.component = '$1' AND s.name = 'up'"
}
# (a first scrape may time out while the fixture server is still starting)
check "the killed target's up goes 1 -> 0 ($(up fixture))" yes "$(yes_no matches "$(up fixture)" '^0*1+0+$')"
check "the live targets stay up" yes "$(yes_no matches "$(up coderd)" '^1+$')"
check "the summary counts the failed scrapes" yes "$(yes_no grep -Eq "scrape fixture: [0-9]+ scrapes \([1-9][0-9]* failed\)" "$T/err")"
check "scraping goes on through cleanup and a tail" t \
  "$(q "SELECT max(v.time) > (SELECT max(finished_at) FROM coder_scale.run_result WHERE run_id = $RUN)
        FROM coder_scale.metric_sample v JOIN coder_scale.metric_series s ON s.id = v.series_id WHERE s.run_id = $RUN")"
check "peak CPU and memory of coderd and the runner host from the views" "coderd true true|runner true true" \
  "$(q "SELECT component || ' ' || (max(cpu_cores) > 0)::text || ' ' || (max(memory_bytes) > 0)::text
        FROM coder_scale.component_usage_over_time($RUN, '3 seconds') WHERE component IN ('coderd', 'runner')
        GROUP BY component ORDER BY component" | paste -sd'|')"
done_testing
