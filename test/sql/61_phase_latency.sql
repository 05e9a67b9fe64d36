\set ECHO none
\i test/lib/setup.psql
SELECT plan(9);

-- Run P: four results.  build 10, 20, 30, 40 s (one unknown build on a fifth,
-- failed result); create_user 1 s each; duration 15, 25, 35, 45, 5 s.
INSERT INTO coder_scale.run (kind, status, label, started_at, finished_at)
VALUES ('create-workspaces', 'completed', 'P', '2026-03-01 10:00Z', '2026-03-01 10:01Z'),
       ('create-workspaces', 'completed', 'Q', '2026-03-01 11:00Z', '2026-03-01 11:01Z');
INSERT INTO coder_scale.run_result (run_id, full_id, started_at, duration, create_user, build, outcome, failure_category)
SELECT r.id, v.full_id, '2026-03-01 10:00Z', v.d::interval, v.cu::interval, v.b::interval, v.o, v.c
FROM coder_scale.run r JOIN (VALUES
  ('P', 'workspacebuild/0', '15 s', '1 s', '10 s', 'pass', NULL),
  ('P', 'workspacebuild/1', '25 s', '1 s', '20 s', 'pass', NULL),
  ('P', 'workspacebuild/2', '35 s', '1 s', '30 s', 'pass', NULL),
  ('P', 'workspacebuild/3', '45 s', '1 s', '40 s', 'pass', NULL),
  ('P', 'workspacebuild/4', '5 s',  '1 s', NULL,   'fail', 'build_failed'),
  ('Q', 'workspacebuild/0', '7 s',  NULL,  '7 s',  'pass', NULL)
) v (label, full_id, d, cu, b, o, c) ON v.label = r.label;

-- percentile_cont over n = 4 values: position q * (n - 1) between the sorted values
--   p50: 1.5  -> 20 + 0.5 * 10 = 25 s     p90: 2.7  -> 30 + 0.7 * 10 = 37 s
--   p95: 2.85 -> 38.5 s                   p99: 2.97 -> 39.7 s
SELECT results_eq(
  $$SELECT l.count, l.min, l.p50, l.p90, l.p95, l.p99, l.max FROM coder_scale.phase_latency l
    JOIN coder_scale.run r ON r.id = l.run_id WHERE r.label = 'P' AND phase = 'build'$$,
  $$VALUES (4::bigint, interval '10 s', interval '25 s', interval '37 s', interval '38.5 s', interval '39.7 s', interval '40 s')$$,
  'build latency of run P: count, min, p50, p90, p95, p99, max computed by hand');
-- total over 5, 15, 25, 35, 45 s: p50 = 25; p90 at 3.6 -> 35 + 0.6 * 10 = 41 s
SELECT results_eq(
  $$SELECT l.count, l.min, l.p50, l.p90, l.max FROM coder_scale.phase_latency l
    JOIN coder_scale.run r ON r.id = l.run_id WHERE r.label = 'P' AND phase = 'total'$$,
  $$VALUES (5::bigint, interval '5 s', interval '25 s', interval '41 s', interval '45 s')$$,
  'total (Coder''s duration) covers failed runs too');
SELECT results_eq(
  $$SELECT phase FROM coder_scale.phase_latency l JOIN coder_scale.run r ON r.id = l.run_id
    WHERE r.label = 'P' ORDER BY phase_order$$,
  $$VALUES ('create_user'), ('build'), ('total')$$,
  'only phases with known timings appear, in phase order');
SELECT is((SELECT p99 FROM coder_scale.phase_latency l JOIN coder_scale.run r ON r.id = l.run_id
           WHERE r.label = 'P' AND phase = 'create_user'), interval '1 s', 'identical values: every percentile is that value');
SELECT results_eq(
  $$SELECT l.count, l.min, l.p50, l.max FROM coder_scale.phase_latency l JOIN coder_scale.run r ON r.id = l.run_id
    WHERE r.label = 'Q' AND phase = 'build'$$,
  $$VALUES (1::bigint, interval '7 s', interval '7 s', interval '7 s')$$,
  'runs do not mix: run Q has its own single build');
SELECT is((SELECT count(*)::int FROM coder_scale.phase_latency), 5, 'one row per run and known phase (3 for P, 2 for Q)');
SELECT has_column('coder_scale', 'phase_latency', 'p95', 'phase_latency has p95');

-- The phases, named once in result_phase: run R has a different time in each.
INSERT INTO coder_scale.run (kind, status, label) VALUES ('create-workspaces', 'running', 'R');
INSERT INTO coder_scale.run_result (run_id, full_id, started_at, duration, create_user, create_workspace, queue_wait,
                                    build, agents_connect, command, cleanup, outcome)
SELECT id, 'workspacebuild/0', '2026-03-01 12:00Z', '100 s', '1 s', '2 s', '3 s', '4 s', '5 s', '6 s', '7 s', 'pass'
FROM coder_scale.run WHERE label = 'R';
SELECT is((SELECT array_agg(p.phase ORDER BY p.phase_order) FROM coder_scale.result_phase p
           JOIN coder_scale.run r ON r.id = p.run_id WHERE r.label = 'R'),
          (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
           WHERE a.attrelid = 'coder_scale.run_result'::regclass AND a.attnum > 0 AND NOT a.attisdropped
             AND a.atttypid = 'interval'::regtype AND a.attname <> 'duration') || 'total'::text,
          'the phases are the interval columns of run_result, in table order, then total');
SELECT is((SELECT array_agg(extract(epoch FROM p.took)::int ORDER BY p.phase_order) FROM coder_scale.result_phase p
           JOIN coder_scale.run r ON r.id = p.run_id WHERE r.label = 'R'),
          ARRAY[1, 2, 3, 4, 5, 6, 7, 100], '... each with the time of its column (total: duration)');

SELECT * FROM finish();
ROLLBACK;
