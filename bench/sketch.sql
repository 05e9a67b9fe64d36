-- bench/sketch.sql: run by bench/sketch.sh on a private cluster (psql -v rows=N).
-- Percentiles of log-normal latencies: coder_scale sketch vs percentile_cont vs tdigest.
\set ON_ERROR_STOP true
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS coder_scale;
CREATE EXTENSION IF NOT EXISTS tdigest;
SET search_path = public, coder_scale;

\echo '==> generating' :rows 'log-normal latencies (median 50 ms, sigma 1), 1000 per minute'
SET seed = 0.25;
DROP TABLE IF EXISTS lat, lat_minute, bench_result;
CREATE UNLOGGED TABLE lat (ts timestamptz NOT NULL, v float8 NOT NULL);
INSERT INTO lat
  SELECT '2026-01-01 00:00:00+00'::timestamptz + ((i - 1) / 1000) * interval '1 minute'
                                               + ((i - 1) % 1000) * interval '60 ms',
         exp(ln(0.05) + sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))
  FROM generate_series(1, :rows) i;
VACUUM ANALYZE lat;

CREATE TABLE bench_result (step serial, label text, plan text, ms float8, qs float8[]);

-- Run q twice, keep the faster time and the answer (an array of quantiles).
CREATE FUNCTION pg_temp.timed(label text, plan text, q text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
  best float8 := 'Infinity';
  r float8[];
BEGIN
  FOR i IN 1 .. 2 LOOP
    t0 := clock_timestamp();
    EXECUTE q INTO r;
    best := least(best, 1000 * extract(epoch FROM clock_timestamp() - t0));
  END LOOP;
  INSERT INTO bench_result (label, plan, ms, qs) VALUES (label, plan, best, r);
END $$;

-- The same without an answer to keep (the floor: scanning the table at all).
CREATE FUNCTION pg_temp.timed_only(label text, plan text, q text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
  best float8 := 'Infinity';
BEGIN
  FOR i IN 1 .. 2 LOOP
    t0 := clock_timestamp();
    EXECUTE q;
    best := least(best, 1000 * extract(epoch FROM clock_timestamp() - t0));
  END LOOP;
  INSERT INTO bench_result (label, plan, ms) VALUES (label, plan, best);
END $$;

\set qs '''{0.5,0.95,0.99}''::float8[]'
\set q_exact 'SELECT percentile_cont(' :qs ') WITHIN GROUP (ORDER BY v) FROM lat'
\set q_tdigest 'SELECT tdigest_percentile(v, 100, ' :qs ') FROM lat'
\set q_sketch 'SELECT approx_percentiles(' :qs ', sketch_agg(v)) FROM lat'

\o /dev/null
\echo '==> serial'
SET max_parallel_workers_per_gather = 0;
SET work_mem = '4MB';
SELECT pg_temp.timed('percentile_cont (work_mem 4MB)', 'serial', :'q_exact');
SET work_mem = '1GB';
SELECT pg_temp.timed('percentile_cont (work_mem 1GB)', 'serial', :'q_exact');
RESET work_mem;
SELECT pg_temp.timed('tdigest_percentile (100)', 'serial', :'q_tdigest');
SELECT pg_temp.timed('approx_percentiles(sketch_agg)', 'serial', :'q_sketch');
SELECT pg_temp.timed_only('sum(v): the scan alone, for scale', 'serial', 'SELECT sum(v) FROM lat');

\echo '==> 2 parallel workers'
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SELECT pg_temp.timed('tdigest_percentile (100)', '2 workers', :'q_tdigest');
SELECT pg_temp.timed('approx_percentiles(sketch_agg)', '2 workers', :'q_sketch');
SELECT pg_temp.timed_only('sum(v): the scan alone, for scale', '2 workers', 'SELECT sum(v) FROM lat');

\echo '==> per-minute sketches and their rollup'
SET max_parallel_workers_per_gather = 0;
DO $$
DECLARE
  t0 timestamptz := clock_timestamp();
BEGIN
  CREATE TABLE lat_minute AS SELECT date_trunc('minute', ts) AS minute, sketch_agg(v) AS s FROM lat GROUP BY 1;
  INSERT INTO bench_result (label, plan, ms)
    VALUES ('build per-minute sketches (GROUP BY minute)', 'serial', 1000 * extract(epoch FROM clock_timestamp() - t0));
END $$;
ANALYZE lat_minute;
SELECT pg_temp.timed('approx_percentiles(rollup) of minute sketches', 'serial',
                     'SELECT approx_percentiles(' || :'qs' || ', rollup(s)) FROM lat_minute');

-- Grafana-style: p99 per hour. Answers are compared hour by hour.
CREATE FUNCTION pg_temp.hourly(label text, q text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
  best float8 := 'Infinity';
  r float8[];
BEGIN
  FOR i IN 1 .. 2 LOOP
    t0 := clock_timestamp();
    EXECUTE 'SELECT array_agg(p ORDER BY h) FROM (' || q || ') z(h, p)' INTO r;
    best := least(best, 1000 * extract(epoch FROM clock_timestamp() - t0));
  END LOOP;
  INSERT INTO bench_result (label, plan, ms, qs) VALUES (label, 'serial', best, r);
END $$;
SELECT pg_temp.hourly('p99 per hour: percentile_cont over rows',
  'SELECT date_trunc(''hour'', ts), percentile_cont(0.99) WITHIN GROUP (ORDER BY v) FROM lat GROUP BY 1');
SELECT pg_temp.hourly('p99 per hour: sketch_agg over rows',
  'SELECT date_trunc(''hour'', ts), approx_percentile(0.99, sketch_agg(v)) FROM lat GROUP BY 1');
SELECT pg_temp.hourly('p99 per hour: rollup of minute sketches',
  'SELECT date_trunc(''hour'', minute), approx_percentile(0.99, rollup(s)) FROM lat_minute GROUP BY 1');

\o
\echo ''
\echo '==> results (time: the faster of two runs; error: worst |estimate / exact - 1| over p50, p95, p99)'
WITH exact AS (
  SELECT qs FROM bench_result WHERE label LIKE 'percentile_cont%' ORDER BY ms LIMIT 1
), base AS (
  SELECT min(ms) AS ms FROM bench_result WHERE label LIKE 'percentile_cont%'
), hourly_exact AS (
  SELECT qs, ms FROM bench_result WHERE label = 'p99 per hour: percentile_cont over rows'
)
SELECT label AS "method", plan AS "plan", round(r.ms::numeric) AS "ms",
       CASE WHEN label LIKE 'p99 per hour%'
            THEN round((h.ms / r.ms)::numeric, 1)
            WHEN r.qs IS NOT NULL OR label LIKE 'sum(v)%' THEN round((base.ms / r.ms)::numeric, 1)
       END AS "x faster than percentile_cont",
       CASE WHEN r.qs IS NULL THEN NULL
            ELSE to_char(100 * (SELECT max(abs(a / e - 1))
                                FROM unnest(r.qs, CASE WHEN label LIKE 'p99 per hour%' THEN h.qs ELSE exact.qs END) u(a, e)),
                         'FM990.000') || ' %' END AS "worst rel. error",
       CASE WHEN label NOT LIKE 'p99 per hour%' AND r.qs IS NOT NULL
            THEN array_to_string(ARRAY(SELECT to_char(x, 'FM0.00000') FROM unnest(r.qs) x), ' / ') END AS "p50 / p95 / p99 (s)"
FROM bench_result r, exact, base, hourly_exact h
ORDER BY step;

\echo '==> stored size'
SELECT count(*) AS "minute sketches",
       round(avg(pg_column_size(s))) AS "avg bytes per sketch",
       max(pg_column_size(s)) AS "max bytes",
       (SELECT pg_column_size(sketch_agg(v)) FROM lat) AS "bytes, sketch of all rows",
       pg_size_pretty(pg_total_relation_size('lat_minute')) AS "minute sketches table",
       pg_size_pretty(pg_total_relation_size('lat')) AS "raw rows table"
FROM lat_minute;
\echo '==> one per-minute sketch, 1000 values:'
SELECT num_vals(s) AS "n", round(min_val(s)::numeric, 5) AS "min", round(max_val(s)::numeric, 5) AS "max",
       error_bound(s) AS "alpha",
       (SELECT count(*) FROM regexp_matches(s::text, '[0-9]+:[0-9]+', 'g')) AS "nonempty buckets"
FROM lat_minute ORDER BY minute LIMIT 1;
