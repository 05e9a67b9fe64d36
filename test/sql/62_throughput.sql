\set ECHO none
\i test/lib/setup.psql
SET TimeZone = 'UTC';
SET IntervalStyle = 'postgres';  -- the intervals in error messages (pg_regress sets postgres_verbose)
SELECT plan(10);

-- Run T starts at 10:00:00.  Results (start -> finish):
--   0: 10:00:01 -> 10:00:15 pass      2: 10:00:12 -> 10:00:14 pass
--   1: 10:00:02 -> 10:00:25 fail      3: 10:00:31 -> (still running)
-- 10 s buckets from 10:00:00:
--   10:00:00  started 2 (0, 1)   finished 0                 failed 0
--   10:00:10  started 1 (2)      finished 2 (0 at :15, 2 at :14)  failed 0
--   10:00:20  started 0          finished 1 (1 at :25)      failed 1
--   10:00:30  started 1 (3)      finished 0                 failed 0
INSERT INTO coder_scale.run (kind, status, label, started_at) VALUES ('create-workspaces', 'running', 'T', '2026-04-01 10:00:00Z');
INSERT INTO coder_scale.run (kind, status, label, started_at) VALUES ('create-workspaces', 'running', 'empty', '2026-04-01 11:00:00Z');
INSERT INTO coder_scale.run_result (run_id, full_id, started_at, finished_at, outcome, failure_category)
SELECT r.id, v.full_id, v.s::timestamptz, v.f::timestamptz, v.o, v.c
FROM coder_scale.run r JOIN (VALUES
  ('workspacebuild/0', '2026-04-01 10:00:01Z', '2026-04-01 10:00:15Z', 'pass', NULL),
  ('workspacebuild/1', '2026-04-01 10:00:02Z', '2026-04-01 10:00:25Z', 'fail', 'agent_timeout'),
  ('workspacebuild/2', '2026-04-01 10:00:12Z', '2026-04-01 10:00:14Z', 'pass', NULL),
  ('workspacebuild/3', '2026-04-01 10:00:31Z', NULL, 'pass', NULL)
) v (full_id, s, f, o, c) ON r.label = 'T';

SELECT results_eq(
  $$SELECT * FROM coder_scale.throughput((SELECT id FROM coder_scale.run WHERE label = 'T'))$$,
  $$VALUES ('2026-04-01 10:00:00Z'::timestamptz, 2::bigint, 0::bigint, 0::bigint),
           ('2026-04-01 10:00:10Z', 1, 2, 0),
           ('2026-04-01 10:00:20Z', 0, 1, 1),
           ('2026-04-01 10:00:30Z', 1, 0, 0)$$,
  'throughput in 10-second buckets (the default), computed by hand');
SELECT results_eq(
  $$SELECT * FROM coder_scale.throughput((SELECT id FROM coder_scale.run WHERE label = 'T'), '30 seconds')$$,
  $$VALUES ('2026-04-01 10:00:00Z'::timestamptz, 3::bigint, 3::bigint, 1::bigint),
           ('2026-04-01 10:00:30Z', 1, 0, 0)$$,
  'throughput in 30-second buckets');
SELECT is((SELECT count(*)::int FROM coder_scale.throughput((SELECT id FROM coder_scale.run WHERE label = 'T'), '1 second')), 31,
  'empty buckets are included (10:00:01 .. 10:00:31 in 1-second buckets)');
SELECT is((SELECT count(*)::int FROM coder_scale.throughput((SELECT id FROM coder_scale.run WHERE label = 'empty'))), 0,
  'a run without results has no buckets');
SELECT throws_ok($$SELECT * FROM coder_scale.throughput(999999)$$, 'P0002', 'run 999999 does not exist',
  'an unknown run is an error');
SELECT throws_ok($$SELECT * FROM coder_scale.throughput(NULL)$$, '22004', 'run id must not be NULL', 'a NULL run is an error');
SELECT throws_ok($$SELECT * FROM coder_scale.throughput((SELECT id FROM coder_scale.run WHERE label = 'T'), '0 seconds')$$,
  '22023', 'bucket must be a positive interval', 'a zero bucket is an error');
SELECT throws_ok($$SELECT * FROM coder_scale.throughput((SELECT id FROM coder_scale.run WHERE label = 'T'), '1 month')$$,
  '22023', 'bucket must not contain months or years', 'a bucket in months is an error');
SELECT throws_ok($$SELECT * FROM coder_scale.throughput((SELECT id FROM coder_scale.run WHERE label = 'T'), '1 microsecond')$$,
  '54000', NULL, 'too many buckets is an error');
\i test/lib/hint_of.psql
SELECT is(pg_temp.hint_of($$SELECT * FROM coder_scale.throughput((SELECT id FROM coder_scale.run WHERE label = 'T'), '1 microsecond')$$),
  'Use a bucket of at least 00:00:00.00003.', '... its hint gives the narrowest bucket allowed (the results span 30 s)');

SELECT * FROM finish();
ROLLBACK;
