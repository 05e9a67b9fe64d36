\set ECHO none
\i test/lib/setup.psql
SELECT plan(10);

-- A driver holds its run's lock (hold_run) on its own connection; a run still
-- 'running' without it has lost its driver.  (Here this session plays the driver.)
INSERT INTO coder_scale.run (kind, status, label, started_at) VALUES
  ('create-workspaces', 'running', 'driven', '2026-03-01 10:00Z'),
  ('create-workspaces', 'running', 'lost', '2026-03-01 10:00Z'),
  ('create-workspaces', 'completed', 'done', '2026-03-01 10:00Z');
UPDATE coder_scale.run SET finished_at = '2026-03-01 10:01Z' WHERE label = 'done';
INSERT INTO coder_scale.run_result (run_id, full_id, started_at, finished_at, duration, outcome)
SELECT id, 'workspacebuild/0', '2026-03-01 10:00Z', '2026-03-01 10:00:42Z', '42 s', 'pass' FROM coder_scale.run WHERE label = 'lost';
SELECT id AS driven FROM coder_scale.run WHERE label = 'driven' \gset

SELECT is(coder_scale.hold_run(:driven), true, 'a driver takes its run''s lock');
SELECT is(coder_scale.run_driver_alive(:driven), true, '... and the run''s driver is alive');
SELECT is((SELECT coder_scale.run_driver_alive(id) FROM coder_scale.run WHERE label = 'lost'), false,
          'a run whose lock nobody holds has no driver');
SELECT is(ARRAY(SELECT label || ' ' || status FROM coder_scale.run_summary ORDER BY label),
          ARRAY['done completed', 'driven running', 'lost abandoned'], 'run_summary shows the run without a driver as abandoned');
SELECT is(ARRAY(SELECT r.label FROM coder_scale.close_abandoned_runs() a JOIN coder_scale.run r ON r.id = a ORDER BY 1),
          ARRAY['lost'], 'close_abandoned_runs() marks only the running run without a driver');
SELECT is((SELECT status || ' ' || (finished_at = '2026-03-01 10:00:42Z') FROM coder_scale.run WHERE label = 'lost'),
          'abandoned true', '... abandoned, finished at its last result');
SELECT is((SELECT status FROM coder_scale.run WHERE label = 'driven'), 'running', 'the driven run keeps running');
SELECT NULL FROM pg_advisory_unlock(1668498290, :driven);
SELECT is(ARRAY(SELECT r.label FROM coder_scale.close_abandoned_runs() a JOIN coder_scale.run r ON r.id = a),
          ARRAY['driven'], 'once its driver is gone, it is abandoned too');
SELECT throws_ok($$SELECT coder_scale.hold_run(NULL)$$, '22023', 'run_id must be a run''s id, not NULL', 'hold_run needs a run');
SELECT throws_ok($$SELECT coder_scale.hold_run(3000000000)$$, '22023', NULL, 'hold_run refuses ids beyond its key');

SELECT * FROM finish();
ROLLBACK;
