\set ECHO none
\i test/lib/setup.psql
SET TimeZone = 'UTC';
SELECT plan(6);

-- Run A: 2 passes (10 s, 30 s; builds 10 s, 30 s), 30 s elapsed (the longest run; the run row says 60 s with its cleanup), coderd memory 100 then 200 bytes.
-- Run B: 2 passes (20 s, 40 s; builds 20 s, 40 s) and an agent timeout after 60 s, 60 s elapsed (120 s with its cleanup).
INSERT INTO coder_scale.run (kind, status, label, started_at, finished_at) VALUES
  ('create-workspaces', 'completed', 'A', '2026-06-01 10:00Z', '2026-06-01 10:01Z'),
  ('create-workspaces', 'completed', 'B', '2026-06-02 10:00Z', '2026-06-02 10:02Z');
INSERT INTO coder_scale.run_result (run_id, full_id, started_at, duration, build, outcome, failure_category)
SELECT r.id, v.full_id, r.started_at, v.d::interval, v.b::interval, v.o, v.c
FROM coder_scale.run r JOIN (VALUES
  ('A', 'workspacebuild/0', '10 s', '10 s', 'pass', NULL),
  ('A', 'workspacebuild/1', '30 s', '30 s', 'pass', NULL),
  ('B', 'workspacebuild/0', '20 s', '20 s', 'pass', NULL),
  ('B', 'workspacebuild/1', '40 s', '40 s', 'pass', NULL),
  ('B', 'workspacebuild/2', '60 s', NULL,   'fail', 'agent_timeout')
) v (label, full_id, d, b, o, c) ON v.label = r.label;
INSERT INTO coder_scale.metric_series (run_id, component, name)
SELECT id, 'coderd', 'process_resident_memory_bytes' FROM coder_scale.run WHERE label = 'A';
INSERT INTO coder_scale.metric_sample (series_id, time, value)
SELECT s.id, t, v FROM coder_scale.metric_series s,
  (VALUES ('2026-06-01 10:00:00Z'::timestamptz, 100::float8), ('2026-06-01 10:00:10Z', 200)) x (t, v);

-- Hand-computed:
--   p95 of builds: A 10 + 0.95 * 20 = 29 s, B 20 + 0.95 * 20 = 39 s -> +34.5 %
--   p95 of totals: A 29 s, B (20, 40, 60 s) 40 + 0.9 * 20 = 58 s -> +100 %
--   failed 0 -> 1: no percentage from zero; coderd only measured in A
SELECT results_eq(
  $$SELECT section, item, measure, run_a, run_b, change_pct
    FROM coder_scale.compare_runs((SELECT id FROM coder_scale.run WHERE label = 'A'),
                                  (SELECT id FROM coder_scale.run WHERE label = 'B'))$$,
  $$VALUES ('run', 'all', 'total', 2::float8, 3::float8, 50.0::numeric),
           ('run', 'all', 'succeeded', 2, 2, 0.0),
           ('run', 'all', 'failed', 0, 1, NULL),
           ('run', 'all', 'elapsed_s', 30, 60, 100.0),
           ('run', 'all', 'avg_duration_s', 20, 40, 100.0),
           ('phase', 'build', 'count', 2, 2, 0.0),
           ('phase', 'build', 'p50_s', 20, 30, 50.0),
           ('phase', 'build', 'p95_s', 29, 39, 34.5),
           ('phase', 'build', 'max_s', 30, 40, 33.3),
           ('phase', 'total', 'count', 2, 3, 50.0),
           ('phase', 'total', 'p50_s', 20, 40, 100.0),
           ('phase', 'total', 'p95_s', 29, 58, 100.0),
           ('phase', 'total', 'max_s', 30, 60, 100.0),
           ('component', 'coderd', 'peak_cpu_cores', NULL, NULL, NULL),
           ('component', 'coderd', 'avg_cpu_cores', NULL, NULL, NULL),
           ('component', 'coderd', 'peak_memory_bytes', 150, NULL, NULL),
           ('component', 'coderd', 'avg_memory_bytes', 150, NULL, NULL)$$,
  'compare_runs: totals, phases and components side by side with the change in percent');
SELECT is((SELECT change_pct FROM coder_scale.compare_runs((SELECT id FROM coder_scale.run WHERE label = 'B'),
                                                           (SELECT id FROM coder_scale.run WHERE label = 'A'))
           WHERE item = 'total' AND measure = 'p95_s'), -50.0, 'the other way round: 58 s -> 29 s is -50 %');
SELECT is((SELECT count(*)::int FROM coder_scale.compare_runs((SELECT id FROM coder_scale.run WHERE label = 'A'),
                                                              (SELECT id FROM coder_scale.run WHERE label = 'A'))
           WHERE change_pct <> 0), 0, 'a run compared with itself changes nothing');
SELECT throws_ok($$SELECT * FROM coder_scale.compare_runs((SELECT id FROM coder_scale.run WHERE label = 'A'), 999999)$$,
  'P0002', 'run 999999 does not exist', 'an unknown run b is an error');
SELECT throws_ok($$SELECT * FROM coder_scale.compare_runs(999998, (SELECT id FROM coder_scale.run WHERE label = 'A'))$$,
  'P0002', 'run 999998 does not exist', 'an unknown run a is an error');
SELECT throws_ok($$SELECT * FROM coder_scale.compare_runs(NULL, 1)$$, '22004', 'run id must not be NULL', 'a NULL run is an error');

SELECT * FROM finish();
ROLLBACK;
