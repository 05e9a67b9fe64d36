\set ECHO none
\i test/lib/setup.psql
SELECT plan(75);

-- The contract with the load driver: these tables and columns, these types.
SELECT has_table('coder_scale', t, 'table coder_scale.' || t || ' exists')
FROM unnest(ARRAY['failure_category', 'run', 'run_result', 'metric_series', 'metric_sample', 'component_metric']) t;
SELECT columns_are('coder_scale', 'failure_category', ARRAY['name', 'wording', 'sort_order', 'description', 'builtin'],
  'failure_category has the contract columns (plus description and builtin)');
SELECT columns_are('coder_scale', 'run', ARRAY['id', 'label', 'kind', 'status', 'target_url', 'coder_version',
  'template', 'count', 'concurrency', 'cleanup_concurrency', 'timeout', 'job_timeout', 'cleanup_timeout',
  'cleanup_job_timeout', 'run_command', 'parameters', 'flags', 'started_at', 'finished_at', 'host',
  'driver_version', 'tags', 'source_file', 'source_sha256'], 'run has exactly the contract columns');
SELECT columns_are('coder_scale', 'run_result', ARRAY['run_id', 'full_id', 'workspace_name', 'user_name',
  'started_at', 'finished_at', 'duration', 'create_user', 'create_workspace', 'queue_wait', 'build',
  'agents_connect', 'command', 'cleanup', 'outcome', 'failure_category', 'error', 'logs'],
  'run_result has exactly the contract columns');
SELECT col_type_is('coder_scale', 'run_result', 'queue_wait', 'interval', 'phase durations are intervals');
SELECT col_type_is('coder_scale', 'metric_sample', 'value', 'double precision', 'sample values are float8');
SELECT col_is_pk('coder_scale', 'run_result', ARRAY['run_id', 'full_id'], 'run_result key is (run_id, full_id)');
SELECT col_is_pk('coder_scale', 'metric_sample_default', ARRAY['series_id', 'time'], 'sample key is (series_id, time)');
SELECT is((SELECT relkind::text FROM pg_class WHERE oid = 'coder_scale.metric_sample'::regclass), 'p',
  'metric_sample is partitioned');

SELECT is((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'coder_scale' AND obj_description(c.oid, 'pg_class') IS NULL
             AND c.relname IN ('failure_category', 'run', 'run_result', 'metric_series', 'metric_sample',
                               'metric_sample_default', 'component_metric', 'component_series', 'run_summary',
                               'result_phase', 'phase_latency', 'component_usage')),
          NULL, 'every table and view of the results schema has a comment');

-- Seeds.
SELECT results_eq(
  'SELECT name, wording FROM coder_scale.failure_category ORDER BY sort_order',
  $$VALUES ('create_user', 'failed to create user'), ('create_workspace', 'failed to create workspace'),
           ('build_failed', 'build failed'), ('build_canceled', 'build canceled'),
           ('agent_timeout', 'failed to connect'), ('command_failed', 'command failed'),
           ('command_timeout', 'command timed out'), ('job_timeout', 'timed out'),
           ('cleanup_failed', 'cleanup failed'), ('other', 'failed for another reason')$$,
  'the ten failure categories, in phase order, with their wording');
SELECT ok((SELECT count(*) FROM coder_scale.component_metric WHERE component = 'coderd' AND metric = 'process_cpu_seconds_total'
           AND kind = 'cpu_seconds_counter') = 1, 'coderd CPU comes from process_cpu_seconds_total by default');
SELECT ok((SELECT label_exclude = '{"mode": "idle"}' FROM coder_scale.component_metric
           WHERE component = 'runner' AND metric = 'node_cpu_seconds_total'), 'node CPU excludes mode="idle"');

-- The seeded tables: pg_dump keeps the user's rows; the shipped ones come with the extension.
SELECT results_eq(
  $$SELECT c::regclass::text, e.extcondition[i] COLLATE "default"
    FROM pg_extension e CROSS JOIN LATERAL unnest(e.extconfig) WITH ORDINALITY AS u (c, i)
    WHERE e.extname = 'coder_scale' AND c IN ('coder_scale.failure_category'::regclass, 'coder_scale.component_metric'::regclass)
    ORDER BY 1$$,
  $$VALUES ('coder_scale.component_metric', 'WHERE NOT builtin'), ('coder_scale.failure_category', 'WHERE NOT builtin')$$,
  'pg_dump keeps the rows of failure_category and component_metric that are not builtin');
SELECT is((SELECT count(*)::int FROM coder_scale.failure_category WHERE NOT builtin)
          + (SELECT count(*)::int FROM coder_scale.component_metric WHERE NOT builtin), 0,
          'every seeded row is builtin');
UPDATE coder_scale.failure_category SET wording = wording WHERE name = 'other';
SELECT ok((SELECT builtin FROM coder_scale.failure_category WHERE name = 'other'),
  'an UPDATE that changes nothing leaves a shipped row builtin');
UPDATE coder_scale.failure_category SET wording = 'agents never connected' WHERE name = 'agent_timeout';
SELECT is((SELECT builtin FROM coder_scale.failure_category WHERE name = 'agent_timeout'), false,
  'changing a shipped category makes it the user''s');
UPDATE coder_scale.failure_category SET builtin = true WHERE name = 'agent_timeout';
SELECT is((SELECT builtin FROM coder_scale.failure_category WHERE name = 'agent_timeout'), false,
  '... and it stays the user''s (builtin cannot be set back by an UPDATE)');
SELECT lives_ok($$INSERT INTO coder_scale.failure_category (name, wording, sort_order) VALUES ('build_canceled', 'build was canceled', 40)$$,
  'inserting a category with the name of a shipped one is no error ...');
SELECT results_eq($$SELECT wording, description, builtin FROM coder_scale.failure_category WHERE name = 'build_canceled'$$,
  $$VALUES ('build was canceled', '', false)$$, '... it takes the shipped row''s place, as the user''s');
SELECT throws_ok($$INSERT INTO coder_scale.failure_category (name, wording, sort_order) VALUES ('agent_timeout', 'no agent', 55)$$,
  '23505', NULL, 'a category with the name of a user''s row is refused');
INSERT INTO coder_scale.failure_category (name, wording, sort_order) VALUES ('quota_exceeded', 'hit a quota', 110);
SELECT results_eq($$SELECT name FROM coder_scale.failure_category WHERE NOT builtin ORDER BY sort_order$$,
  $$VALUES ('build_canceled'), ('agent_timeout'), ('quota_exceeded')$$, 'a new category is the user''s too');
UPDATE coder_scale.component_metric SET source = 'coderd :2112/metrics'
WHERE component = 'coderd' AND metric = 'process_cpu_seconds_total';
SELECT is((SELECT builtin FROM coder_scale.component_metric WHERE component = 'coderd' AND metric = 'process_cpu_seconds_total'),
  false, 'changing a shipped component_metric row makes it the user''s');
INSERT INTO coder_scale.component_metric (component, metric, label_match, label_exclude, kind, scale)
VALUES ('coderd', 'container_cpu_usage_seconds_total', '{"container": "coder"}', '{}', 'cpu_seconds_counter', 0.5);
SELECT results_eq($$SELECT scale, source, builtin FROM coder_scale.component_metric
                    WHERE component = 'coderd' AND metric = 'container_cpu_usage_seconds_total'$$,
  $$VALUES (0.5::float8, '', false)$$, 'a component_metric row inserted with a shipped row''s key takes its place');
INSERT INTO coder_scale.component_metric (component, metric, label_match, kind)
VALUES ('coderd', 'container_cpu_usage_seconds_total', '{"container": "coderd"}', 'cpu_seconds_counter');
SELECT is((SELECT count(*)::int FROM coder_scale.component_metric WHERE NOT builtin), 3,
  'a row with a new key is added, as the user''s');
CREATE TABLE public.elsewhere (id bigint, builtin boolean);
CREATE TRIGGER t BEFORE INSERT ON public.elsewhere FOR EACH ROW EXECUTE FUNCTION coder_scale.component_metric_user_row();
SELECT throws_ok($$INSERT INTO public.elsewhere VALUES (1, true)$$, '42501',
  'trigger "t" may only be attached to coder_scale.component_metric',
  'attached elsewhere (by a superuser), component_metric_user_row() refuses to run');
DROP TABLE public.elsewhere;

-- Runs.
INSERT INTO coder_scale.run (kind, status, label, started_at, finished_at, count, concurrency)
VALUES ('create-workspaces', 'completed', 'r1', '2026-01-05 10:00Z', '2026-01-05 10:05Z', 3, 2);
SELECT throws_ok($$INSERT INTO coder_scale.run (kind, status) VALUES ('load', 'running')$$, '23514', NULL, 'unknown kind is refused');
SELECT throws_ok($$INSERT INTO coder_scale.run (kind, status) VALUES ('ingest', 'done')$$, '23514', NULL, 'unknown status is refused');
SELECT throws_ok($$INSERT INTO coder_scale.run (kind, status) VALUES (NULL, 'running')$$, '23502', NULL, 'kind is required');
SELECT throws_ok($$INSERT INTO coder_scale.run (kind, status, started_at, finished_at)
                   VALUES ('scrape', 'completed', '2026-01-05 10:00Z', '2026-01-05 09:00Z')$$,
  '23514', 'new row for relation "run" violates check constraint "run_finished_after_start"', 'finished before started is refused');
SELECT throws_ok($$INSERT INTO coder_scale.run (kind, status, finished_at) VALUES ('scrape', 'running', now())$$,
  '23514', 'new row for relation "run" violates check constraint "run_running_not_finished"', 'a running run has no finish time');
SELECT throws_ok($$INSERT INTO coder_scale.run (kind, status, finished_at) VALUES ('ingest', 'completed', now())$$,
  '23514', 'new row for relation "run" violates check constraint "run_ingest_has_source"', 'an ingested run needs its file hash');
SELECT throws_ok($$INSERT INTO coder_scale.run (kind, status, count) VALUES ('scrape', 'running', 0)$$, '23514', NULL, 'count must be positive');
SELECT throws_ok($$INSERT INTO coder_scale.run (kind, status, tags) VALUES ('scrape', 'running', '[1]')$$, '23514', NULL, 'tags must be an object');
SELECT throws_ok($$INSERT INTO coder_scale.run (kind, status, finished_at, source_sha256) VALUES ('ingest', 'completed', now(), 'xyz')$$,
  '23514', NULL, 'a sha256 is 64 hex digits');
INSERT INTO coder_scale.run (kind, status, finished_at, source_sha256) VALUES ('ingest', 'completed', now(), repeat('ab', 32));
SELECT throws_ok($$INSERT INTO coder_scale.run (kind, status, finished_at, source_sha256) VALUES ('ingest', 'completed', now(), repeat('ab', 32))$$,
  '23505', NULL, 'the same file hash twice is refused');

-- Results.
INSERT INTO coder_scale.run_result (run_id, full_id, started_at, finished_at, duration, outcome, failure_category, error)
SELECT id, 'workspacebuild/0', '2026-01-05 10:00Z', '2026-01-05 10:01Z', '1 minute', 'pass', NULL, NULL FROM coder_scale.run WHERE label = 'r1';
INSERT INTO coder_scale.run_result (run_id, full_id, started_at, outcome, failure_category, error)
SELECT id, 'workspacebuild/1', '2026-01-05 10:00Z', 'fail', 'agent_timeout', 'wait for agent: x' FROM coder_scale.run WHERE label = 'r1';
SELECT throws_ok($$INSERT INTO coder_scale.run_result (run_id, full_id, started_at, outcome) VALUES (999999, 'workspacebuild/0', now(), 'pass')$$,
  '23503', NULL, 'a result needs an existing run');
SELECT throws_ok($$INSERT INTO coder_scale.run_result (run_id, full_id, started_at, outcome)
                   SELECT id, 'workspacebuild/0', now(), 'pass' FROM coder_scale.run WHERE label = 'r1'$$,
  '23505', NULL, 'a full id appears once per run');
SELECT throws_ok($$INSERT INTO coder_scale.run_result (run_id, full_id, started_at, outcome)
                   SELECT id, 'workspacebuild/2', now(), 'skipped' FROM coder_scale.run WHERE label = 'r1'$$,
  '23514', NULL, 'outcome is pass or fail');
SELECT throws_ok($$INSERT INTO coder_scale.run_result (run_id, full_id, started_at, outcome)
                   SELECT id, 'workspacebuild/2', now(), 'fail' FROM coder_scale.run WHERE label = 'r1'$$,
  '23514', 'new row for relation "run_result" violates check constraint "run_result_category_iff_fail"', 'a failure needs a category');
SELECT throws_ok($$INSERT INTO coder_scale.run_result (run_id, full_id, started_at, outcome, failure_category)
                   SELECT id, 'workspacebuild/2', now(), 'pass', 'other' FROM coder_scale.run WHERE label = 'r1'$$,
  '23514', 'new row for relation "run_result" violates check constraint "run_result_category_iff_fail"', 'a pass has no category');
SELECT throws_ok($$INSERT INTO coder_scale.run_result (run_id, full_id, started_at, outcome, failure_category)
                   SELECT id, 'workspacebuild/2', now(), 'fail', 'gremlins' FROM coder_scale.run WHERE label = 'r1'$$,
  '23503', NULL, 'the category must exist');
SELECT throws_ok($$INSERT INTO coder_scale.run_result (run_id, full_id, started_at, outcome, failure_category, error)
                   SELECT id, 'workspacebuild/2', now(), 'fail', 'other', '<nil>' FROM coder_scale.run WHERE label = 'r1'$$,
  '23514', 'new row for relation "run_result" violates check constraint "run_result_no_nil_error"', '"<nil>" is never stored as an error');
SELECT throws_ok($$INSERT INTO coder_scale.run_result (run_id, full_id, started_at, outcome, build)
                   SELECT id, 'workspacebuild/2', now(), 'pass', '-1 second' FROM coder_scale.run WHERE label = 'r1'$$,
  '23514', NULL, 'a phase cannot take negative time');
SELECT throws_ok($$INSERT INTO coder_scale.run_result (run_id, full_id, started_at, outcome)
                   SELECT id, 'workspacebuild', now(), 'pass' FROM coder_scale.run WHERE label = 'r1'$$,
  '23514', NULL, 'a full id is test_name/id');

-- Series and samples; the run's insert created the day partitions of its first two days.
SELECT is((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'coder_scale.metric_sample'::regclass),
          ARRAY['metric_sample_default', 'metric_sample_p20260105', 'metric_sample_p20260106'],
          'inserting a run creates the sample partitions of its first two days');
INSERT INTO coder_scale.metric_series (run_id, component, name, labels)
SELECT id, 'coderd', 'process_cpu_seconds_total', '{}' FROM coder_scale.run WHERE label = 'r1';
SELECT throws_ok($$INSERT INTO coder_scale.metric_series (run_id, component, name, labels)
                   SELECT id, 'coderd', 'process_cpu_seconds_total', '{}' FROM coder_scale.run WHERE label = 'r1'$$,
  '23505', NULL, 'a series is stored once per run, component, target, name and labels');
SELECT throws_ok($$INSERT INTO coder_scale.metric_series (component, name, labels) VALUES ('coderd', 'up', '{"a": 1}')$$,
  '23514', NULL, 'label values are strings');
SELECT throws_ok($$INSERT INTO coder_scale.metric_series (component, name) VALUES ('coderd', 'bad-name')$$,
  '23514', NULL, 'metric names follow Prometheus');
INSERT INTO coder_scale.metric_sample (series_id, time, value)
SELECT s.id, t, 1 FROM coder_scale.metric_series s,
  (VALUES ('2026-01-05 10:00Z'::timestamptz), ('2026-01-06 23:59Z'), ('2026-01-09 12:00Z')) v (t);
SELECT is((SELECT count(*)::int FROM coder_scale.metric_sample_default), 1, 'a sample outside the day partitions goes to DEFAULT');
SELECT is(coder_scale.add_sample_partitions('2026-01-08 00:00Z', '2026-01-09 23:00Z'), 2, 'add_sample_partitions creates the missing days');
SELECT is((SELECT count(*)::int FROM coder_scale.metric_sample_p20260109), 1, '... and moves the DEFAULT rows of those days in');
SELECT throws_ok($$SELECT coder_scale.add_sample_partitions('2026-01-09', '2026-01-08')$$, '22023',
  'to_time must not be before from_time', 'add_sample_partitions refuses a reversed range');
SELECT throws_ok($$SELECT coder_scale.add_sample_partitions(NULL, '2026-01-08')$$, '22004',
  'from_time and to_time must not be null', 'add_sample_partitions refuses NULL');
SELECT throws_ok($$SELECT coder_scale.add_sample_partitions('2026-01-08', 'infinity')$$, '22023', NULL,
  'add_sample_partitions refuses an infinite time');
SELECT is(coder_scale.drop_sample_partitions('2026-01-07 00:00Z'), 2, 'drop_sample_partitions drops whole old days');
SELECT is((SELECT count(*)::int FROM coder_scale.metric_sample), 1, '... and their samples with them');
SELECT throws_ok($$INSERT INTO coder_scale.metric_sample VALUES (999999, now(), 1)$$, '23503',
  'insert or update on table "metric_sample" violates its series reference', 'a sample needs its series');
SELECT throws_ok('COPY coder_scale.metric_sample FROM PROGRAM ''echo "999999,2026-01-05 10:00:00+00,1"'' (FORMAT csv)',
  '23503', NULL, '... also when written by COPY');
SELECT throws_ok($$UPDATE coder_scale.metric_sample SET series_id = 999999$$, '23503', NULL, '... and when updated');
-- deleting one series deletes its samples, not others'
INSERT INTO coder_scale.metric_series (run_id, component, name)
SELECT id, 'runner', 'node_load1' FROM coder_scale.run WHERE label = 'r1';
INSERT INTO coder_scale.metric_sample (series_id, time, value)
SELECT id, '2026-01-09 12:00Z', 0.5 FROM coder_scale.metric_series WHERE name = 'node_load1';
DELETE FROM coder_scale.metric_series WHERE name = 'node_load1';
SELECT is((SELECT count(*)::int FROM coder_scale.metric_sample), 1, 'deleting a series deletes its samples, not the others''');

-- A role that may only write runs still gets the partitions of a new day.
CREATE ROLE coder_scale_test_writer;
GRANT USAGE ON SCHEMA coder_scale TO coder_scale_test_writer;
GRANT INSERT, SELECT ON coder_scale.run TO coder_scale_test_writer;
SET LOCAL ROLE coder_scale_test_writer;
INSERT INTO coder_scale.run (kind, status, started_at) VALUES ('scrape', 'running', '2026-01-20 08:00Z');
RESET ROLE;
SELECT ok(to_regclass('coder_scale.metric_sample_p20260121') IS NOT NULL,
  'a role without DDL rights inserting a run still gets the day partitions');
GRANT INSERT ON coder_scale.metric_sample TO coder_scale_test_writer;
SELECT min(id) AS sid FROM coder_scale.metric_series \gset
SET LOCAL ROLE coder_scale_test_writer;
SELECT lives_ok('INSERT INTO coder_scale.metric_sample (series_id, time, value) VALUES (' || :sid || ', ''2026-01-09 13:00Z'', 2)',
  'a role that may only insert samples passes the series check (it runs as the owner, like a foreign key)');
RESET ROLE;
DELETE FROM coder_scale.metric_sample WHERE time = '2026-01-09 13:00Z';

-- Every partition has the key (a dump restores them: test/upgrade/run.sh).
SELECT is((SELECT count(*)::int FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'coder_scale.metric_sample'::regclass
             AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p'
                             AND k.conkey = ARRAY[1, 2]::int2[])), 0,
          'every partition of metric_sample has the primary key (series_id, time)');

-- The owner's trigger functions: nobody else may attach them, and they run on their own table only.
CREATE ROLE coder_scale_test_nobody;
GRANT USAGE ON SCHEMA coder_scale TO coder_scale_test_nobody;
SET LOCAL ROLE coder_scale_test_nobody;
CREATE TEMP TABLE mine (id bigint);
SELECT throws_ok($$CREATE TRIGGER t AFTER TRUNCATE ON mine FOR EACH STATEMENT EXECUTE FUNCTION coder_scale.series_samples_delete()$$,
  '42501', NULL, 'a role with USAGE cannot attach series_samples_delete() to a table of its own');
SELECT throws_ok($$CREATE TRIGGER t AFTER INSERT ON mine FOR EACH ROW EXECUTE FUNCTION coder_scale.run_sample_partitions()$$,
  '42501', NULL, '... nor run_sample_partitions()');
SELECT throws_ok($$CREATE TRIGGER t AFTER INSERT ON mine REFERENCING NEW TABLE AS new_samples FOR EACH STATEMENT
                   EXECUTE FUNCTION coder_scale.sample_series_check()$$, '42501', NULL, '... nor sample_series_check()');
RESET ROLE;
CREATE TABLE public.elsewhere (id bigint);
CREATE TRIGGER t AFTER TRUNCATE ON public.elsewhere FOR EACH STATEMENT EXECUTE FUNCTION coder_scale.series_samples_delete();
SELECT throws_ok($$TRUNCATE public.elsewhere$$, '42501',
  'trigger "t" may only be attached to coder_scale.metric_series',
  'attached elsewhere (by a superuser), series_samples_delete() refuses to run');
DROP TABLE public.elsewhere;

-- Deleting a run deletes everything of it.
DELETE FROM coder_scale.run WHERE label = 'r1';
SELECT is((SELECT count(*)::int FROM coder_scale.run_result) + (SELECT count(*)::int FROM coder_scale.metric_series)
          + (SELECT count(*)::int FROM coder_scale.metric_sample), 0, 'deleting a run deletes its results, series and samples');

-- TRUNCATE reaches the samples too.
INSERT INTO coder_scale.run (kind, status, label, started_at) VALUES ('scrape', 'running', 'r2', '2026-01-05 10:00Z');
INSERT INTO coder_scale.metric_series (run_id, component, name) SELECT id, 'coderd', 'up' FROM coder_scale.run WHERE label = 'r2';
INSERT INTO coder_scale.metric_sample SELECT id, '2026-01-05 10:00Z', 1 FROM coder_scale.metric_series WHERE name = 'up';
TRUNCATE coder_scale.run CASCADE;
SELECT is((SELECT count(*)::int FROM coder_scale.metric_sample), 0, 'TRUNCATE run CASCADE empties metric_sample too');

SELECT * FROM finish();
ROLLBACK;
