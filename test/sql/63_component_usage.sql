\set ECHO none
\i test/lib/setup.psql
SET TimeZone = 'UTC';
SET IntervalStyle = 'postgres';  -- the intervals in error messages (pg_regress sets postgres_verbose)
SELECT plan(16);

INSERT INTO coder_scale.run (kind, status, label, started_at) VALUES
  ('create-workspaces', 'running', 'U', '2026-05-01 10:00:00Z'),
  ('create-workspaces', 'running', 'V', '2026-05-01 10:00:00Z');

-- (series, component, target, name, labels) then samples at 10:00:SS
CREATE TEMP TABLE s (k int, run text, component text, target text, name text, labels jsonb);
INSERT INTO s VALUES
  (1, 'U', 'coderd', 'a', 'process_cpu_seconds_total', '{}'),
  (2, 'U', 'coderd', 'b', 'process_cpu_seconds_total', '{}'),
  (3, 'U', 'coderd', 'a', 'process_resident_memory_bytes', '{}'),
  (4, 'U', 'runner', 'n', 'node_cpu_seconds_total', '{"cpu": "0", "mode": "user"}'),
  (5, 'U', 'runner', 'n', 'node_cpu_seconds_total', '{"cpu": "0", "mode": "idle"}'),
  (6, 'U', 'runner', 'n', 'node_cpu_seconds_total', '{"cpu": "0", "mode": "system"}'),
  (7, 'U', 'runner', 'n', 'node_memory_MemTotal_bytes', '{}'),
  (8, 'U', 'runner', 'n', 'node_memory_MemAvailable_bytes', '{}'),
  (9, 'U', 'database', 'p', 'pg_stat_activity_count', '{"state": "active"}'),
  (10, 'U', 'database', 'p', 'pg_stat_activity_count', '{"state": "idle"}'),
  (11, 'U', 'coderd', 'a', 'go_goroutines', '{}'),
  (12, 'V', 'coderd', 'a', 'process_cpu_seconds_total', '{}');
CREATE TEMP TABLE v (k int, sec int, value float8);
INSERT INTO v VALUES
  -- coderd replica a: +5, +10, then a restart (counter reset to 2), +4
  (1, 0, 100), (1, 10, 105), (1, 20, 115), (1, 30, 2), (1, 40, 6),
  -- coderd replica b: +10 over 20 s
  (2, 5, 0), (2, 25, 10),
  (3, 0, 100), (3, 10, 200), (3, 20, 300), (3, 30, 400), (3, 40, 500),
  -- NaN samples (a broken exporter) are skipped
  (1, 45, 'NaN'), (3, 45, 'NaN'),
  (4, 0, 10), (4, 20, 20), (5, 0, 0), (5, 20, 100), (6, 0, 0), (6, 20, 4),
  (7, 0, 1000), (7, 20, 1000), (8, 0, 600), (8, 20, 400),
  (9, 0, 3), (10, 0, 5), (11, 0, 50),
  (12, 0, 0), (12, 10, 100);
CREATE TEMP TABLE ids AS
WITH ins AS (
  INSERT INTO coder_scale.metric_series (run_id, component, target, name, labels)
  SELECT r.id, s.component, s.target, s.name, s.labels FROM s JOIN coder_scale.run r ON r.label = s.run
  RETURNING id, run_id, component, target, name, labels)
SELECT s.k, ins.id FROM ins JOIN coder_scale.run r ON r.id = ins.run_id
JOIN s ON s.run = r.label AND s.component = ins.component AND s.target = ins.target AND s.name = ins.name AND s.labels = ins.labels;
INSERT INTO coder_scale.metric_sample (series_id, time, value)
SELECT ids.id, '2026-05-01 10:00:00Z'::timestamptz + v.sec * interval '1 second', v.value FROM v JOIN ids USING (k);

-- CPU per series and bucket: increase from the bucket's first to last sample (from 0 after a reset) / seconds.
-- 30-second buckets (the view):
--   coderd [00,30): a: 100 -> 105 -> 115 = 15 / 20 s = 0.75, b: 0 -> 10 = 10 / 20 s = 0.5 -> 1.25 cores
--   coderd [30,60): a: 2 -> 6 = 4 / 10 s = 0.4 cores
--   memory mean(100, 200, 300) = 200, mean(400, 500) = 450
--   runner [00,30): user 10 / 20 s + system 4 / 20 s = 0.7 (idle excluded); memory 1000 - mean(600, 400) = 500
--   database: connections 3 + 5 = 8, no CPU or memory series
SELECT results_eq(
  $$SELECT component, round(peak_cpu_cores::numeric, 6), round(avg_cpu_cores::numeric, 6),
           peak_memory_bytes, avg_memory_bytes, peak_connections
    FROM coder_scale.component_usage u JOIN coder_scale.run r ON r.id = u.run_id
    WHERE r.label = 'U' ORDER BY component$$,
  $$VALUES ('coderd', 1.25, 0.825, 450::float8, 325::float8, NULL::float8),
           ('database', NULL, NULL, NULL, NULL, 8),
           ('runner', 0.7, 0.7, 500, 500, NULL)$$,
  'component_usage: peak and average cores, memory and connections, computed by hand');

-- 20-second buckets:
--   coderd [00,20): a: 100 -> 105 = 5 / 10 s = 0.5 (b has one sample);
--          [20,40): a: 115 -> 2 is a reset: 2 / 10 s = 0.2 (b has one sample); [40,60): one sample, no rate
--   memory: mean(100, 200) = 150, mean(300, 400) = 350, 500
SELECT results_eq(
  $$SELECT time, round(cpu_cores::numeric, 6), memory_bytes
    FROM coder_scale.component_usage_over_time((SELECT id FROM coder_scale.run WHERE label = 'U'), '20 seconds')
    WHERE component = 'coderd'$$,
  $$VALUES ('2026-05-01 10:00:00Z'::timestamptz, 0.5, 150::float8),
           ('2026-05-01 10:00:20Z', 0.2, 350),
           ('2026-05-01 10:00:40Z', NULL, 500)$$,
  'component_usage_over_time for coderd in 20-second buckets: a counter reset counts from 0');
--   runner: one sample per bucket, so memory only: 1000 - 600 = 400, 1000 - 400 = 600
SELECT results_eq(
  $$SELECT time, round(cpu_cores::numeric, 6), memory_bytes
    FROM coder_scale.component_usage_over_time((SELECT id FROM coder_scale.run WHERE label = 'U'), '20 seconds')
    WHERE component = 'runner'$$,
  $$VALUES ('2026-05-01 10:00:00Z'::timestamptz, NULL::numeric, 400::float8),
           ('2026-05-01 10:00:20Z', NULL, 600)$$,
  'component_usage_over_time for the runner: MemTotal - MemAvailable');
SELECT is((SELECT round(peak_cpu_cores::numeric, 6) FROM coder_scale.component_usage u JOIN coder_scale.run r ON r.id = u.run_id
           WHERE r.label = 'V'), 10.0, 'another run''s series stay in that run (100 s of CPU in 10 s)');
SELECT has_column('coder_scale', 'component_usage', 'peak_cpu_cores', 'component_usage has peak_cpu_cores');
SELECT is((SELECT array_agg(DISTINCT component ORDER BY component) FROM coder_scale.component_series WHERE name = 'go_goroutines'),
  NULL, 'unmapped series are not counted');

-- The mapping is data: count runner idle time too, and coderd's goroutines as "connections".
UPDATE coder_scale.component_metric SET label_exclude = '{}' WHERE component = 'runner' AND metric = 'node_cpu_seconds_total';
INSERT INTO coder_scale.component_metric (component, metric, kind) VALUES ('coderd', 'go_goroutines', 'connections_gauge');
SELECT is((SELECT round(peak_cpu_cores::numeric, 6) FROM coder_scale.component_usage u JOIN coder_scale.run r ON r.id = u.run_id
           WHERE r.label = 'U' AND component = 'runner'), 5.7, 'changing component_metric changes the answer: (10 + 100 + 4) / 20 s');
SELECT is((SELECT peak_connections FROM coder_scale.component_usage u JOIN coder_scale.run r ON r.id = u.run_id
           WHERE r.label = 'U' AND component = 'coderd'), 50::float8, 'a new mapping row adds a series');

SELECT throws_ok($$SELECT * FROM coder_scale.component_usage_over_time(999999)$$, 'P0002', 'run 999999 does not exist',
  'an unknown run is an error');
SELECT throws_ok($$SELECT * FROM coder_scale.component_usage_over_time((SELECT id FROM coder_scale.run WHERE label = 'U'), '-1 s')$$,
  '22023', NULL, 'a negative bucket is an error');
-- the same bound as throughput's: run U's samples span 45 s, so at least 45 microseconds
SELECT throws_ok(format('SELECT * FROM coder_scale.component_usage_over_time(%s, ''1 microsecond'')', id), '54000',
                 format('bucket 00:00:00.000001 gives more than 1000000 buckets for run %s', id),
                 'a bucket that cuts the run into more than 1000000 buckets is an error')
FROM coder_scale.run WHERE label = 'U';
\i test/lib/hint_of.psql
SELECT is(pg_temp.hint_of(format('SELECT * FROM coder_scale.component_usage_over_time(%s, ''1 microsecond'')', id)),
          'Use a bucket of at least 00:00:00.000045.', '... its hint gives the narrowest bucket allowed')
FROM coder_scale.run WHERE label = 'U';
SELECT lives_ok(format('SELECT * FROM coder_scale.component_usage_over_time(%s, ''45 microseconds'')', id),
                '... and that bucket is accepted')
FROM coder_scale.run WHERE label = 'U';
SELECT throws_ok($$INSERT INTO coder_scale.component_metric (component, metric, kind) VALUES ('coderd', 'x', 'temperature')$$,
  '23514', NULL, 'component_metric kinds are cpu_seconds_counter, memory_bytes_gauge, connections_gauge');
SELECT throws_ok($$INSERT INTO coder_scale.component_metric (component, metric, kind, scale) VALUES ('coderd', 'y', 'memory_bytes_gauge', 0)$$,
  '23514', NULL, 'a zero scale is refused');

-- Connections are counts: a mean of 1.15 + 1.45 reads 2.6, not 2.5999999999999996.
INSERT INTO coder_scale.run (kind, status, label, started_at) VALUES ('create-workspaces', 'running', 'W', '2026-05-01 10:00:00Z');
INSERT INTO coder_scale.metric_series (run_id, component, target, name, labels)
SELECT r.id, 'database', 'p', 'pg_stat_activity_count', l FROM coder_scale.run r,
  (VALUES ('{"state": "active"}'::jsonb), ('{"state": "idle"}')) x(l) WHERE r.label = 'W';
INSERT INTO coder_scale.metric_sample (series_id, time, value)
SELECT s.id, '2026-05-01 10:00:00Z'::timestamptz + x.sec * interval '1 second',
       CASE WHEN s.labels ->> 'state' = 'active' THEN x.a ELSE x.i END
FROM coder_scale.metric_series s JOIN coder_scale.run r ON r.id = s.run_id AND r.label = 'W',
  (VALUES (0, 1.1::float8, 1.7::float8), (10, 1.2, 1.2)) x(sec, a, i);
SELECT is((SELECT peak_connections::text FROM coder_scale.component_usage u JOIN coder_scale.run r ON r.id = u.run_id
           WHERE r.label = 'W'), '2.6', 'connections carry no floating-point noise');

SELECT * FROM finish();
ROLLBACK;
