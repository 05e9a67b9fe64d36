\set ECHO none
\i test/lib/setup.psql
SELECT plan(18);

-- Run A: 3 passed, 1 agent timeout, 1 build failure; durations 10..50 s.
-- Run B: 2 passed and cleaned up.  Run C: nothing yet.  Run D: still running.
-- Run E: an ingested file (its elapsed is finished_at - started_at).
INSERT INTO coder_scale.run (kind, status, label, started_at, finished_at) VALUES
  ('create-workspaces', 'completed', 'A', '2026-02-01 10:00Z', '2026-02-01 10:05Z'),
  ('create-workspaces', 'completed', 'B', '2026-02-01 11:00Z', '2026-02-01 11:00:30Z'),
  ('create-workspaces', 'completed', 'C', '2026-02-01 12:00Z', '2026-02-01 12:00Z'),
  ('create-workspaces', 'running',   'D', '2026-02-01 13:00Z', NULL);
INSERT INTO coder_scale.run (kind, status, label, started_at, finished_at, source_sha256) VALUES
  ('ingest', 'completed', 'E', '2026-02-01 14:00:00.000001Z', '2026-02-01 14:00:15.123457Z', repeat('e', 64));
INSERT INTO coder_scale.run_result (run_id, full_id, started_at, finished_at, duration, outcome, failure_category, error)
SELECT r.id, v.full_id, v.s::timestamptz, v.s::timestamptz + v.d::interval, v.d::interval, v.outcome, v.cat, v.err
FROM coder_scale.run r JOIN (VALUES
  ('A', 'workspacebuild/0', '2026-02-01 10:00Z', '10 s', 'pass', NULL, NULL),
  ('A', 'workspacebuild/1', '2026-02-01 10:00Z', '20 s', 'fail', 'agent_timeout', 'wait for agent: context deadline exceeded'),
  ('A', 'workspacebuild/2', '2026-02-01 10:00Z', '30 s', 'pass', NULL, NULL),
  ('A', 'workspacebuild/3', '2026-02-01 10:00Z', '40 s', 'fail', 'build_failed', 'build failed with status "failed": x'),
  ('A', 'workspacebuild/4', '2026-02-01 10:00Z', '50 s', 'pass', NULL, NULL),
  ('B', 'workspacebuild/0', '2026-02-01 11:00Z', '1 s',  'pass', NULL, NULL),
  ('B', 'workspacebuild/1', '2026-02-01 11:00Z', '2 s',  'pass', NULL, NULL),
  ('D', 'workspacebuild/0', '2026-02-01 13:00Z', '90 s', 'fail', 'agent_timeout', 'x'),
  ('D', 'workspacebuild/1', '2026-02-01 13:00Z', '30 s', 'fail', 'agent_timeout', 'x'),
  ('E', 'workspacebuild/0', '2026-02-01 14:00:00.000001Z', '15 s', 'pass', NULL, NULL)
) v (label, full_id, s, d, outcome, cat, err) ON v.label = r.label;
UPDATE coder_scale.run_result SET cleanup = '3 s'
  WHERE run_id = (SELECT id FROM coder_scale.run WHERE label = 'B');

SELECT results_eq(
  $$SELECT label, total, succeeded, failed, build_failed, agent_timeout, create_user, other
    FROM coder_scale.run_summary ORDER BY label$$,
  $$VALUES ('A', 5::bigint, 3::bigint, 2::bigint, 1::bigint, 1::bigint, 0::bigint, 0::bigint),
           ('B', 2, 2, 0, 0, 0, 0, 0),
           ('C', 0, 0, 0, 0, 0, 0, 0),
           ('D', 2, 0, 2, 0, 2, 0, 0),
           ('E', 1, 1, 0, 0, 0, 0, 0)$$,
  'run_summary counts totals and failures per category');
SELECT is((SELECT summary FROM coder_scale.run_summary WHERE label = 'A'), '3 succeeded, 1 build failed, 1 failed to connect',
  'summary lists categories in sort order, in their wording');
SELECT is((SELECT summary FROM coder_scale.run_summary WHERE label = 'B'), '2 succeeded', 'summary of a run without failures');
SELECT is((SELECT summary FROM coder_scale.run_summary WHERE label = 'C'), '0 succeeded', 'summary of a run without results');
SELECT is((SELECT summary FROM coder_scale.run_summary WHERE label = 'D'), '0 succeeded, 2 failed to connect', 'summary when all failed');
SELECT is((SELECT avg_duration FROM coder_scale.run_summary WHERE label = 'A'), interval '30 seconds', 'average duration (10+20+30+40+50)/5');
SELECT is((SELECT avg_duration FROM coder_scale.run_summary WHERE label = 'B'), interval '1.5 seconds', 'average duration (1+2)/2');
SELECT is((SELECT avg_duration FROM coder_scale.run_summary WHERE label = 'C'), NULL, 'no average without results');
SELECT is((SELECT elapsed FROM coder_scale.run_summary WHERE label = 'A'), interval '50 seconds',
  'elapsed is the test, first result''s start to last result''s end (Coder''s elapsed), not the run''s 5 minutes');
SELECT is((SELECT elapsed FROM coder_scale.run_summary WHERE label = 'D'), interval '90 seconds',
  'elapsed of a running run reaches its last finished result');
SELECT is((SELECT elapsed FROM coder_scale.run_summary WHERE label = 'E'), interval '15.123456 seconds',
  'elapsed of an ingested file is its own elapsed (finished_at - started_at)');
SELECT is((SELECT elapsed FROM coder_scale.run_summary WHERE label = 'C'), NULL, 'no elapsed without results');
SELECT results_eq(
  $$SELECT label, cleanup_elapsed FROM coder_scale.run_summary ORDER BY label$$,
  $$VALUES ('A', NULL::interval), ('B', interval '28 seconds'), ('C', NULL), ('D', NULL), ('E', NULL)$$,
  'cleanup_elapsed: from the last result''s end to the run''s end, only when something was cleaned up, never for a file');
SELECT is((SELECT elapsed + cleanup_elapsed FROM coder_scale.run_summary WHERE label = 'B'),
  (SELECT finished_at - started_at FROM coder_scale.run WHERE label = 'B'),
  'elapsed + cleanup_elapsed is the whole run when its results start with it');
SELECT is((SELECT attname::text FROM pg_attribute WHERE attrelid = 'coder_scale.run_summary'::regclass
           AND attnum > 0 ORDER BY attnum DESC LIMIT 1), 'cleanup_elapsed',
  'cleanup_elapsed is the last column (the upgrade adds it there)');

-- The count columns are the failure categories (a view's columns are fixed; the table names them).
SELECT is((SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
           WHERE a.attrelid = 'coder_scale.run_summary'::regclass
             AND a.attnum > (SELECT attnum FROM pg_attribute WHERE attrelid = 'coder_scale.run_summary'::regclass AND attname = 'failed')
             AND a.attnum < (SELECT attnum FROM pg_attribute WHERE attrelid = 'coder_scale.run_summary'::regclass AND attname = 'elapsed')),
          (SELECT array_agg(name::text ORDER BY sort_order) FROM coder_scale.failure_category),
          'run_summary has a count column per failure category, in sort_order, between failed and elapsed');

-- Wording and order are data: change them and the summary follows.
UPDATE coder_scale.failure_category SET wording = 'never connected', sort_order = 1 WHERE name = 'agent_timeout';
SELECT is((SELECT summary FROM coder_scale.run_summary WHERE label = 'A'), '3 succeeded, 1 never connected, 1 build failed',
  'summary follows failure_category wording and sort_order');
SELECT is((SELECT count(*)::int FROM coder_scale.run_summary), 5, 'one row per run');

SELECT * FROM finish();
ROLLBACK;
