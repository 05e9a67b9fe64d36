\set ECHO none
\i test/lib/setup.psql
SET TimeZone = 'UTC';
SET IntervalStyle = 'postgres';  -- the intervals in error messages (pg_regress sets postgres_verbose)
SELECT plan(7);

-- Run L starts 10:00:00.  Builds (and durations) by finish time:
--   10:00:05 build 2 s, 10:00:08 build 4 s   -> bucket 10:00:00: p50 3, p95 2 + 0.95 * 2 = 3.9, max 4
--   10:00:12 build 6 s                       -> bucket 10:00:10: 6
--   one still running (no finish): left out
INSERT INTO coder_scale.run (kind, status, label, started_at) VALUES ('create-workspaces', 'running', 'L', '2026-07-01 10:00:00Z');
INSERT INTO coder_scale.run_result (run_id, full_id, started_at, finished_at, build, outcome)
SELECT r.id, v.f, '2026-07-01 10:00:00Z', v.t::timestamptz, v.b::interval, 'pass'
FROM coder_scale.run r JOIN (VALUES
  ('workspacebuild/0', '2026-07-01 10:00:05Z', '2 s'),
  ('workspacebuild/1', '2026-07-01 10:00:08Z', '4 s'),
  ('workspacebuild/2', '2026-07-01 10:00:12Z', '6 s'),
  ('workspacebuild/3', NULL, '1 s')
) v (f, t, b) ON r.label = 'L';

SELECT results_eq(
  $$SELECT time, phase, count, round(p50::numeric, 6), round(p95::numeric, 6), max
    FROM coder_scale.phase_latency_over_time((SELECT id FROM coder_scale.run WHERE label = 'L'))$$,
  $$VALUES ('2026-07-01 10:00:00Z'::timestamptz, 'build', 2::bigint, 3.0, 3.9, 4::float8),
           ('2026-07-01 10:00:10Z', 'build', 1, 6.0, 6.0, 6)$$,
  'build latency per 10-second bucket of finish time, computed by hand');
SELECT is((SELECT count(*)::int FROM coder_scale.phase_latency_over_time((SELECT id FROM coder_scale.run WHERE label = 'L'), '1 minute')),
  1, 'one bucket of a minute holds all three');
SELECT throws_ok($$SELECT * FROM coder_scale.phase_latency_over_time(999999)$$, 'P0002', 'run 999999 does not exist',
  'an unknown run is an error');
SELECT throws_ok($$SELECT * FROM coder_scale.phase_latency_over_time((SELECT id FROM coder_scale.run WHERE label = 'L'), NULL)$$,
  '22023', 'bucket must be a positive interval', 'a NULL bucket is an error');
-- the same bound as throughput's: the finish times span 7 s, so at least 7 microseconds
SELECT throws_ok(format('SELECT * FROM coder_scale.phase_latency_over_time(%s, ''1 microsecond'')', id), '54000',
                 format('bucket 00:00:00.000001 gives more than 1000000 buckets for run %s', id),
                 'a bucket that cuts the run into more than 1000000 buckets is an error')
FROM coder_scale.run WHERE label = 'L';
\i test/lib/hint_of.psql
SELECT is(pg_temp.hint_of(format('SELECT * FROM coder_scale.phase_latency_over_time(%s, ''1 microsecond'')', id)),
          'Use a bucket of at least 00:00:00.000007.', '... its hint gives the narrowest bucket allowed')
FROM coder_scale.run WHERE label = 'L';
SELECT lives_ok(format('SELECT * FROM coder_scale.phase_latency_over_time(%s, ''7 microseconds'')', id),
                '... and that bucket is accepted')
FROM coder_scale.run WHERE label = 'L';

SELECT * FROM finish();
ROLLBACK;
