-- Results schema: scale-test runs, their per-workspace results, and the
-- Prometheus samples scraped while they ran.  The table and column names
-- of failure_category, run, run_result, metric_series and metric_sample
-- are a contract with the client, which writes them (ingest, scaletest,
-- scrape), and test/sql/50_results_schema.sql holds them: add, never rename.

-- ---------------------------------------------------------------------------
-- Failure categories: what a user counts failed runs by.
-- ---------------------------------------------------------------------------
CREATE TABLE coder_scale.failure_category (
  name        text PRIMARY KEY CHECK (name ~ '^[a-z_]+$'),
  wording     text NOT NULL UNIQUE CHECK (wording <> ''),
  sort_order  int  NOT NULL UNIQUE,
  description text NOT NULL DEFAULT '',
  builtin     boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE coder_scale.failure_category IS
  'Why a scale-test run failed, as a user counts it; classify_failure() maps Coder''s error text to a name';
COMMENT ON COLUMN coder_scale.failure_category.name IS 'Stable key stored in run_result.failure_category';
COMMENT ON COLUMN coder_scale.failure_category.wording IS
  'Words after the count in run_summary.summary, e.g. ''failed to connect'' in ''2 failed to connect''';
COMMENT ON COLUMN coder_scale.failure_category.sort_order IS 'Order of the categories in summaries (phase order)';
COMMENT ON COLUMN coder_scale.failure_category.description IS 'Which of Coder''s errors fall here';
COMMENT ON COLUMN coder_scale.failure_category.builtin IS
  'True for a row as the extension ships it; a row a user changes or adds is false, and pg_dump keeps it';

INSERT INTO coder_scale.failure_category (name, wording, sort_order, description) VALUES
  ('create_user',      'failed to create user',      10, 'create user: / login as new user: (POST /users, POST /users/login)'),
  ('create_workspace', 'failed to create workspace', 20, 'create workspace: POST /users/{user}/workspaces or a retry build refused'),
  ('build_failed',     'build failed',               30, 'wait for build: build failed with status "failed", or logs disconnected with an unexpected job status'),
  ('build_canceled',   'build canceled',             40, 'wait for build: build canceled'),
  ('agent_timeout',    'failed to connect',          50, 'wait for agent: the agents did not connect (in time)'),
  ('command_failed',   'command failed',             60, 'run reconnecting pty / agent connection failed, or the expected output was missing'),
  ('command_timeout',  'command timed out',          70, 'run reconnecting pty: context deadline exceeded (--run-timeout)'),
  ('job_timeout',      'timed out',                  80, 'context deadline exceeded elsewhere in the run (--job-timeout or --timeout)'),
  ('cleanup_failed',   'cleanup failed',             90, 'cleanup workspace: / delete user: / delete workspace:'),
  ('other',            'failed for another reason', 100, 'anything else (panics, unknown errors)');
UPDATE coder_scale.failure_category SET builtin = true;

-- ---------------------------------------------------------------------------
-- Runs
-- ---------------------------------------------------------------------------
CREATE TABLE coder_scale.run (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  label               text,
  kind                text NOT NULL CHECK (kind IN ('create-workspaces', 'ingest', 'scrape')),
  status              text NOT NULL CHECK (status IN ('running', 'completed', 'aborted', 'failed', 'abandoned')),
  target_url          text,
  coder_version       text,
  template            text,
  count               int CHECK (count > 0),
  concurrency         int CHECK (concurrency >= 0),
  cleanup_concurrency int CHECK (cleanup_concurrency >= 0),
  timeout             interval CHECK (timeout >= '0'),
  job_timeout         interval CHECK (job_timeout >= '0'),
  cleanup_timeout     interval CHECK (cleanup_timeout >= '0'),
  cleanup_job_timeout interval CHECK (cleanup_job_timeout >= '0'),
  run_command         text,
  parameters          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(parameters) = 'object'),
  flags               jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(flags) = 'object'),
  started_at          timestamptz NOT NULL DEFAULT now(),
  finished_at         timestamptz,
  host                text,
  driver_version      text,
  tags                jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(tags) = 'object'),
  source_file         text,
  source_sha256       text UNIQUE CHECK (source_sha256 ~ '^[0-9a-f]{64}$'),
  CONSTRAINT run_finished_after_start CHECK (finished_at >= started_at),
  CONSTRAINT run_running_not_finished CHECK (status <> 'running' OR finished_at IS NULL),
  CONSTRAINT run_ingest_has_source CHECK (kind <> 'ingest' OR source_sha256 IS NOT NULL)
);
CREATE INDEX run_started_at_idx ON coder_scale.run (started_at);
COMMENT ON TABLE coder_scale.run IS
  'One scale-test run (driven by coder-scale, ingested from Coder''s JSON, or a scrape-only session)';
COMMENT ON COLUMN coder_scale.run.kind IS 'create-workspaces (driven), ingest (a Coder result file) or scrape';
COMMENT ON COLUMN coder_scale.run.status IS
  'running, completed, aborted, failed, or abandoned (its driver went away without closing it: see run_driver_alive()); finished_at is NULL while running';
COMMENT ON COLUMN coder_scale.run.count IS '--count: number of workspaces';
COMMENT ON COLUMN coder_scale.run.concurrency IS '--concurrency (0 = all at once)';
COMMENT ON COLUMN coder_scale.run.parameters IS '--parameter name=value pairs as a JSON object';
COMMENT ON COLUMN coder_scale.run.flags IS 'Every other flag as given, as a JSON object';
COMMENT ON COLUMN coder_scale.run.tags IS 'Free-form --tag k=v pairs as a JSON object';
COMMENT ON COLUMN coder_scale.run.source_file IS 'ingest: the file name as given';
COMMENT ON COLUMN coder_scale.run.source_sha256 IS 'ingest: SHA-256 of the file, hex; a second ingest of the same file is refused';

-- ---------------------------------------------------------------------------
-- Per-workspace results
-- ---------------------------------------------------------------------------
CREATE TABLE coder_scale.run_result (
  run_id            bigint NOT NULL REFERENCES coder_scale.run ON DELETE CASCADE,
  full_id           text   NOT NULL CHECK (full_id ~ '^[^/]+/.+$'),
  workspace_name    text,
  user_name         text,
  started_at        timestamptz NOT NULL,
  finished_at       timestamptz,
  duration          interval CHECK (duration >= '0'),
  create_user       interval CHECK (create_user >= '0'),
  create_workspace  interval CHECK (create_workspace >= '0'),
  queue_wait        interval CHECK (queue_wait >= '0'),
  build             interval CHECK (build >= '0'),
  agents_connect    interval CHECK (agents_connect >= '0'),
  command           interval CHECK (command >= '0'),
  cleanup           interval CHECK (cleanup >= '0'),
  outcome           text NOT NULL CHECK (outcome IN ('pass', 'fail')),
  failure_category  text REFERENCES coder_scale.failure_category ON UPDATE CASCADE,
  error             text,
  logs              text,
  PRIMARY KEY (run_id, full_id),
  CONSTRAINT run_result_finished_after_start CHECK (finished_at >= started_at),
  CONSTRAINT run_result_category_iff_fail CHECK ((outcome = 'fail') = (failure_category IS NOT NULL)),
  CONSTRAINT run_result_error_only_on_fail CHECK (outcome = 'fail' OR error IS NULL),
  CONSTRAINT run_result_no_nil_error CHECK (error IS DISTINCT FROM '<nil>')
);
-- Logs are most of a result's bytes: compress them with lz4 where the server
-- was built with it (several times faster than pglz on ingest).
DO $$
BEGIN
  IF 'lz4' = ANY ((SELECT enumvals FROM pg_catalog.pg_settings WHERE name = 'default_toast_compression')::text[]) THEN
    ALTER TABLE coder_scale.run_result ALTER COLUMN logs SET COMPRESSION lz4, ALTER COLUMN error SET COMPRESSION lz4;
  END IF;
END
$$;
COMMENT ON TABLE coder_scale.run_result IS
  'One workspace run of a scale test (Coder''s workspacebuild/N), with its timing per phase and outcome';
COMMENT ON COLUMN coder_scale.run_result.full_id IS 'Coder''s id of the run, e.g. workspacebuild/17';
COMMENT ON COLUMN coder_scale.run_result.duration IS 'The whole run, as Coder measures it';
COMMENT ON COLUMN coder_scale.run_result.create_user IS 'Phase: POST /users (NULL when unknown)';
COMMENT ON COLUMN coder_scale.run_result.create_workspace IS 'Phase: POST /users/{user}/workspaces (NULL when unknown)';
COMMENT ON COLUMN coder_scale.run_result.queue_wait IS 'Phase: build job pending in the provisioner queue (NULL when unknown)';
COMMENT ON COLUMN coder_scale.run_result.build IS 'Phase: build job running until it succeeded (NULL when unknown)';
COMMENT ON COLUMN coder_scale.run_result.agents_connect IS 'Phase: build done until every agent is connected (NULL when unknown)';
COMMENT ON COLUMN coder_scale.run_result.command IS 'Phase: --run-command through the web terminal (NULL when unknown)';
COMMENT ON COLUMN coder_scale.run_result.cleanup IS 'Phase: deleting the workspace and the user (NULL when unknown)';
COMMENT ON COLUMN coder_scale.run_result.outcome IS 'pass or fail';
COMMENT ON COLUMN coder_scale.run_result.failure_category IS 'NULL for a pass; see failure_category and classify_failure()';
COMMENT ON COLUMN coder_scale.run_result.error IS 'Coder''s error text of a failed run (the "<nil>" of a pass is never stored)';
COMMENT ON COLUMN coder_scale.run_result.logs IS 'The run''s log text as Coder recorded it';

-- ---------------------------------------------------------------------------
-- Runs whose driver went away
-- ---------------------------------------------------------------------------
-- A driver holds a session advisory lock on its run while it runs
-- (hold_run()), so a run still 'running' whose lock nobody holds has lost
-- its driver: killed, or its host gone.  close_abandoned_runs() marks those.
-- The key is two int4: a constant for coder_scale, then the run id.
CREATE FUNCTION coder_scale.hold_run(run_id bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF run_id IS NULL OR run_id < 1 OR run_id > 2147483647 THEN
    RAISE EXCEPTION 'run_id must be a run''s id, not %', coalesce(run_id::text, 'NULL')
      USING ERRCODE = '22023', HINT = 'Pass the id of the run this session drives.';
  END IF;
  RETURN pg_try_advisory_lock(1668498290, run_id::int);
END
$$;
COMMENT ON FUNCTION coder_scale.hold_run(bigint) IS
  'Called by a driver on its own connection: hold the run''s advisory lock for as long as the session lasts (false if another session holds it)';

CREATE FUNCTION coder_scale.run_driver_alive(run_id bigint)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN EXISTS (SELECT 1 FROM pg_locks l
               WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 1668498290
                 AND l.objid = run_id AND l.objsubid = 2
                 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()));
COMMENT ON FUNCTION coder_scale.run_driver_alive(bigint) IS
  'True while some session holds the run''s lock (hold_run()): its driver is still connected';

CREATE FUNCTION coder_scale.close_abandoned_runs()
RETURNS SETOF bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  UPDATE coder_scale.run r
  SET status = 'abandoned',
      finished_at = greatest(r.started_at, (SELECT max(rr.finished_at) FROM coder_scale.run_result rr WHERE rr.run_id = r.id))
  WHERE r.status = 'running' AND NOT coder_scale.run_driver_alive(r.id)
  RETURNING r.id;
END;
COMMENT ON FUNCTION coder_scale.close_abandoned_runs() IS
  'Mark every run still ''running'' whose driver holds no lock on it as ''abandoned'' (finished at its last result); returns their ids';

-- ---------------------------------------------------------------------------
-- Prometheus series and samples
-- ---------------------------------------------------------------------------
CREATE TABLE coder_scale.metric_series (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id     bigint REFERENCES coder_scale.run ON DELETE CASCADE,
  component  text NOT NULL CHECK (component <> ''),
  target     text,
  name       text NOT NULL CHECK (name ~ '^[a-zA-Z_:][a-zA-Z0-9_:]*$'),
  labels     jsonb NOT NULL DEFAULT '{}'
             CHECK (jsonb_typeof(labels) = 'object'
                    AND NOT jsonb_path_exists(labels, '$.* ? (@.type() != "string")')),
  CONSTRAINT metric_series_unique UNIQUE NULLS NOT DISTINCT (run_id, component, target, name, labels)
);
CREATE INDEX metric_series_name_idx ON coder_scale.metric_series (run_id, name);
COMMENT ON TABLE coder_scale.metric_series IS
  'A Prometheus series: metric name plus labels, the run it belongs to and where it was scraped';
COMMENT ON COLUMN coder_scale.metric_series.component IS
  'Name of the scrape target as configured (coderd, provisionerd, database, runner, ...); component_metric maps it';
COMMENT ON COLUMN coder_scale.metric_series.target IS 'Scrape address, e.g. http://127.0.0.1:2112/metrics';
COMMENT ON COLUMN coder_scale.metric_series.labels IS 'Label pairs as a JSON object of strings';

-- Samples are by far the biggest table: a few hundred series scraped every few
-- seconds is millions of rows per run.  Design:
--   * RANGE partitions by time, one per UTC day (metric_sample_pYYYYMMDD),
--     plus a DEFAULT partition that catches anything outside them.  Old runs
--     are old in time, so dropping a day is a cheap DROP TABLE instead of
--     millions of DELETEs (drop_sample_partitions()).  Partitioning by run
--     would need a run_id column the scraper's COPY (series_id, time, value)
--     does not carry, and a partition per run costs catalog bloat for tiny runs.
--   * The primary key (series_id, time) is the Grafana access path: one
--     series, a time range, an index range scan in each pruned partition.
--     Each partition has its own (the day decides the partition, so that is
--     the same uniqueness), not one on the parent: a partition's index
--     attached to an index of the extension cannot be restored by pg_dump
--     ("multiple primary keys"), since the day partitions are the user's.
--   * No per-row foreign key: a row-level FK check costs more than the insert
--     itself (2.88 million samples: 44 s with it, 18 s without, 19 s with the
--     statement-level check below).  Instead, one set-based check per INSERT,
--     COPY or UPDATE statement (sample_series_check) refuses samples of
--     unknown series with 23503 as an FK would, and deleting series (or their
--     run) deletes their samples (series_samples_delete), by the same index.
-- A run's insert creates the partitions of its first two days (trigger below);
-- add_sample_partitions() creates others and moves rows out of DEFAULT.
CREATE TABLE coder_scale.metric_sample (
  series_id bigint NOT NULL,
  time      timestamptz NOT NULL,
  value     float8 NOT NULL
) PARTITION BY RANGE (time);
CREATE TABLE coder_scale.metric_sample_default PARTITION OF coder_scale.metric_sample DEFAULT;
ALTER TABLE coder_scale.metric_sample_default ADD PRIMARY KEY (series_id, time);
COMMENT ON TABLE coder_scale.metric_sample IS
  'One scraped value of a series; partitioned by day (see add_sample_partitions, drop_sample_partitions)';
COMMENT ON TABLE coder_scale.metric_sample_default IS
  'Samples outside every day partition; add_sample_partitions() moves them into their day';
COMMENT ON COLUMN coder_scale.metric_sample.time IS 'Scrape time (or the sample''s own timestamp)';
COMMENT ON COLUMN coder_scale.metric_sample.value IS 'The sample value (counters are cumulative)';

-- The trigger functions below run as the extension's owner (SECURITY
-- DEFINER, as a foreign key's actions do), so none is executable by PUBLIC
-- (CREATE TRIGGER needs EXECUTE) and each refuses to run on any table but
-- the one it was written for.
CREATE FUNCTION coder_scale.require_trigger_table(relid oid, expected regclass, trigger_name text)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF relid IS DISTINCT FROM expected THEN
    RAISE EXCEPTION 'trigger "%" may only be attached to %', trigger_name, expected
      USING ERRCODE = '42501',
            DETAIL = format('It fired on %s.', coalesce(relid::regclass::text, 'no table')),
            HINT = 'This trigger function belongs to the coder_scale extension; do not use it elsewhere.';
  END IF;
END
$$;
COMMENT ON FUNCTION coder_scale.require_trigger_table(oid, regclass, text) IS
  'Internal: raise 42501 unless a trigger fired on the table its function was written for';
REVOKE ALL ON FUNCTION coder_scale.require_trigger_table(oid, regclass, text) FROM PUBLIC;

-- The foreign key of metric_sample.series_id, checked per statement (as the
-- owner, like a foreign key: a writer needs no rights on metric_series).
CREATE FUNCTION coder_scale.sample_series_check()
RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  missing bigint;
BEGIN
  PERFORM coder_scale.require_trigger_table(TG_RELID, 'coder_scale.metric_sample', TG_NAME);
  SELECT n.series_id INTO missing FROM new_samples n
  WHERE NOT EXISTS (SELECT 1 FROM coder_scale.metric_series s WHERE s.id = n.series_id)
  LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'insert or update on table "metric_sample" violates its series reference'
      USING ERRCODE = '23503', DETAIL = format('Series %s is not present in table "metric_series".', missing),
            HINT = 'Insert the series into coder_scale.metric_series first.';
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION coder_scale.sample_series_check() IS
  'Trigger on metric_sample: refuse (23503) samples whose series does not exist, once per statement';
REVOKE ALL ON FUNCTION coder_scale.sample_series_check() FROM PUBLIC;
CREATE TRIGGER sample_series_check_insert AFTER INSERT ON coder_scale.metric_sample
  REFERENCING NEW TABLE AS new_samples FOR EACH STATEMENT EXECUTE FUNCTION coder_scale.sample_series_check();
CREATE TRIGGER sample_series_check_update AFTER UPDATE ON coder_scale.metric_sample
  REFERENCING NEW TABLE AS new_samples FOR EACH STATEMENT EXECUTE FUNCTION coder_scale.sample_series_check();

-- ON DELETE CASCADE of that reference, per statement (as the owner, too).
CREATE FUNCTION coder_scale.series_samples_delete()
RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM coder_scale.require_trigger_table(TG_RELID, 'coder_scale.metric_series', TG_NAME);
  IF TG_OP = 'TRUNCATE' THEN
    TRUNCATE coder_scale.metric_sample;
  ELSE
    DELETE FROM coder_scale.metric_sample m USING old_series o WHERE m.series_id = o.id;
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION coder_scale.series_samples_delete() IS
  'Trigger on metric_series: deleting (or truncating) series deletes their samples';
REVOKE ALL ON FUNCTION coder_scale.series_samples_delete() FROM PUBLIC;
CREATE TRIGGER series_samples_delete AFTER DELETE ON coder_scale.metric_series
  REFERENCING OLD TABLE AS old_series FOR EACH STATEMENT EXECUTE FUNCTION coder_scale.series_samples_delete();
CREATE TRIGGER series_samples_truncate AFTER TRUNCATE ON coder_scale.metric_series
  FOR EACH STATEMENT EXECUTE FUNCTION coder_scale.series_samples_delete();

CREATE FUNCTION coder_scale.add_sample_partitions(from_time timestamptz, to_time timestamptz)
RETURNS int
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  day     date;
  name    text;
  created int := 0;
BEGIN
  IF from_time IS NULL OR to_time IS NULL THEN
    RAISE EXCEPTION 'from_time and to_time must not be null'
      USING ERRCODE = '22004', HINT = 'Pass the first and last time the samples cover.';
  END IF;
  IF NOT isfinite(from_time) OR NOT isfinite(to_time) THEN
    RAISE EXCEPTION 'from_time and to_time must be finite, not % and %', from_time, to_time
      USING ERRCODE = '22023', HINT = 'Pass the first and last time the samples cover.';
  END IF;
  IF to_time < from_time THEN
    RAISE EXCEPTION 'to_time must not be before from_time'
      USING ERRCODE = '22023', DETAIL = format('from_time is %s, to_time %s.', from_time, to_time),
            HINT = 'Pass the first and last time the samples cover, in that order.';
  END IF;
  IF to_time - from_time > interval '3660 days' THEN
    RAISE EXCEPTION 'refusing to create more than 3660 day partitions'
      USING ERRCODE = '22023', HINT = 'Give a shorter time range.';
  END IF;
  FOR day IN SELECT d::date FROM generate_series((from_time AT TIME ZONE 'UTC')::date,
                                                 (to_time AT TIME ZONE 'UTC')::date, interval '1 day') d LOOP
    name := 'metric_sample_p' || to_char(day, 'YYYYMMDD');
    CONTINUE WHEN to_regclass('coder_scale.' || name) IS NOT NULL;
    -- Build the day apart, move its rows out of DEFAULT, then attach it.
    EXECUTE format('CREATE TABLE coder_scale.%I (LIKE coder_scale.metric_sample INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
    EXECUTE format('ALTER TABLE coder_scale.%I ADD PRIMARY KEY (series_id, time)', name);
    EXECUTE format('WITH moved AS (DELETE FROM coder_scale.metric_sample_default
                                   WHERE time >= %L AND time < %L RETURNING *)
                    INSERT INTO coder_scale.%I SELECT * FROM moved',
                   (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'), name);
    EXECUTE format('ALTER TABLE coder_scale.metric_sample ATTACH PARTITION coder_scale.%I
                    FOR VALUES FROM (%L) TO (%L)',
                   name, (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
    EXECUTE format('COMMENT ON TABLE coder_scale.%I IS %L', name,
                   'Samples of ' || day || ' (UTC); drop with coder_scale.drop_sample_partitions()');
    created := created + 1;
  END LOOP;
  RETURN created;
END
$$;
COMMENT ON FUNCTION coder_scale.add_sample_partitions(timestamptz, timestamptz) IS
  'Create the missing day partitions of metric_sample covering [from_time, to_time] (UTC days), moving rows out of DEFAULT; returns how many were created';

CREATE FUNCTION coder_scale.drop_sample_partitions(older_than timestamptz)
RETURNS int
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  part    record;
  dropped int := 0;
BEGIN
  IF older_than IS NULL THEN
    RAISE EXCEPTION 'older_than must not be NULL'
      USING ERRCODE = '22004', HINT = 'Pass the time before which whole days of samples are dropped.';
  END IF;
  FOR part IN
    SELECT c.relname
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'coder_scale.metric_sample'::regclass
      AND c.relname ~ '^metric_sample_p[0-9]{8}$'
      AND (to_date(substr(c.relname, 16), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC' <= older_than
    ORDER BY c.relname
  LOOP
    EXECUTE format('DROP TABLE coder_scale.%I', part.relname);
    dropped := dropped + 1;
  END LOOP;
  RETURN dropped;
END
$$;
COMMENT ON FUNCTION coder_scale.drop_sample_partitions(timestamptz) IS
  'Drop every day partition of metric_sample that ends at or before older_than (cheap deletion of old samples); returns how many';

-- SECURITY DEFINER: a role that may only insert runs (the load driver's)
-- still gets the day partitions, which need the owner of metric_sample.
CREATE FUNCTION coder_scale.run_sample_partitions()
RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM coder_scale.require_trigger_table(TG_RELID, 'coder_scale.run', TG_NAME);
  PERFORM coder_scale.add_sample_partitions(NEW.started_at, NEW.started_at + interval '1 day');
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION coder_scale.run_sample_partitions() IS
  'Trigger on run: create the metric_sample partitions of the run''s first two days (as the extension owner)';
REVOKE ALL ON FUNCTION coder_scale.run_sample_partitions() FROM PUBLIC;
CREATE TRIGGER run_sample_partitions AFTER INSERT ON coder_scale.run
  FOR EACH ROW WHEN (NEW.kind <> 'ingest') EXECUTE FUNCTION coder_scale.run_sample_partitions();

-- ---------------------------------------------------------------------------
-- Which series measure which component's CPU and memory: data, not code.
-- ---------------------------------------------------------------------------
CREATE TABLE coder_scale.component_metric (
  component     text NOT NULL CHECK (component <> ''),
  metric        text NOT NULL CHECK (metric ~ '^[a-zA-Z_:][a-zA-Z0-9_:]*$'),
  label_match   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(label_match) = 'object'),
  label_exclude jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(label_exclude) = 'object'),
  kind          text NOT NULL CHECK (kind IN ('cpu_seconds_counter', 'memory_bytes_gauge', 'connections_gauge')),
  scale         float8 NOT NULL DEFAULT 1 CHECK (scale <> 0 AND scale = scale),
  source        text NOT NULL DEFAULT '',
  builtin       boolean NOT NULL DEFAULT false,
  PRIMARY KEY (component, metric, label_match, label_exclude)
);
COMMENT ON TABLE coder_scale.component_metric IS
  'Maps series (metric_series.component + metric name + labels) to a component''s CPU, memory or connections; component_usage reads it';
COMMENT ON COLUMN coder_scale.component_metric.component IS 'The metric_series.component (scrape target name) this row applies to';
COMMENT ON COLUMN coder_scale.component_metric.label_match IS 'A series matches only if its labels contain these pairs (labels @> label_match)';
COMMENT ON COLUMN coder_scale.component_metric.label_exclude IS 'A series is skipped if it has any of these pairs';
COMMENT ON COLUMN coder_scale.component_metric.kind IS
  'cpu_seconds_counter (rate = cores), memory_bytes_gauge (bytes) or connections_gauge (count); matching series are summed';
COMMENT ON COLUMN coder_scale.component_metric.scale IS
  'Factor applied before summing: -1 subtracts (MemTotal - MemAvailable), 0.001 turns milliseconds into seconds';
COMMENT ON COLUMN coder_scale.component_metric.source IS 'The exporter this row expects';
COMMENT ON COLUMN coder_scale.component_metric.builtin IS
  'True for a row as the extension ships it; a row a user changes or adds is false, and pg_dump keeps it';

-- Defaults.  The Debian prometheus-postgres-exporter (0.11) exposes
-- process_cpu_seconds_total and process_resident_memory_bytes too, but they
-- measure the exporter, not PostgreSQL; so the database's CPU and memory come
-- from node_exporter on the database host (component 'database'), and the
-- exporter gives the connection count (pg_stat_activity_count, by state).
INSERT INTO coder_scale.component_metric (component, metric, label_match, label_exclude, kind, scale, source) VALUES
  ('coderd',       'process_cpu_seconds_total',          '{}', '{}', 'cpu_seconds_counter', 1, 'coderd /metrics'),
  ('coderd',       'process_resident_memory_bytes',      '{}', '{}', 'memory_bytes_gauge',  1, 'coderd /metrics'),
  ('coderd',       'container_cpu_usage_seconds_total',  '{"container": "coder"}', '{}', 'cpu_seconds_counter', 1, 'cAdvisor'),
  ('coderd',       'container_memory_working_set_bytes', '{"container": "coder"}', '{}', 'memory_bytes_gauge',  1, 'cAdvisor'),
  ('provisionerd', 'process_cpu_seconds_total',          '{}', '{}', 'cpu_seconds_counter', 1, 'provisionerd /metrics'),
  ('provisionerd', 'process_resident_memory_bytes',      '{}', '{}', 'memory_bytes_gauge',  1, 'provisionerd /metrics'),
  ('provisionerd', 'container_cpu_usage_seconds_total',  '{"container": "provisionerd"}', '{}', 'cpu_seconds_counter', 1, 'cAdvisor'),
  ('provisionerd', 'container_memory_working_set_bytes', '{"container": "provisionerd"}', '{}', 'memory_bytes_gauge',  1, 'cAdvisor'),
  ('database',     'node_cpu_seconds_total',             '{}', '{"mode": "idle"}', 'cpu_seconds_counter', 1, 'node_exporter on the database host'),
  ('database',     'node_memory_MemTotal_bytes',         '{}', '{}', 'memory_bytes_gauge',  1, 'node_exporter on the database host'),
  ('database',     'node_memory_MemAvailable_bytes',     '{}', '{}', 'memory_bytes_gauge', -1, 'node_exporter on the database host'),
  ('database',     'pg_stat_activity_count',             '{}', '{}', 'connections_gauge',   1, 'postgres_exporter'),
  ('runner',       'node_cpu_seconds_total',             '{}', '{"mode": "idle"}', 'cpu_seconds_counter', 1, 'node_exporter on the runner host'),
  ('runner',       'node_memory_MemTotal_bytes',         '{}', '{}', 'memory_bytes_gauge',  1, 'node_exporter on the runner host'),
  ('runner',       'node_memory_MemAvailable_bytes',     '{}', '{}', 'memory_bytes_gauge', -1, 'node_exporter on the runner host');
UPDATE coder_scale.component_metric SET builtin = true;

-- Which series of a run count for which component (the join every usage query starts from).
CREATE VIEW coder_scale.component_series AS
SELECT s.run_id, s.id AS series_id, s.component, s.target, s.name, s.labels, m.kind, m.scale
FROM coder_scale.metric_series s
JOIN coder_scale.component_metric m
  ON m.component = s.component
 AND m.metric = s.name
 AND s.labels @> m.label_match
 AND NOT EXISTS (SELECT 1 FROM jsonb_each(m.label_exclude) e
                 WHERE s.labels -> e.key = e.value);
COMMENT ON VIEW coder_scale.component_series IS
  'Each series that component_metric maps to a component, with its kind and scale';

-- ---------------------------------------------------------------------------
-- The seeded tables users edit: failure_category and component_metric.
-- ---------------------------------------------------------------------------
-- A row as the extension ships it has builtin = true, and pg_dump leaves it
-- out: CREATE EXTENSION seeds it again.  Changing a row (an UPDATE that
-- changes anything) makes it the user's: builtin = false, kept by pg_dump.
-- A row inserted with the key of a shipped row takes that row's place (the
-- shipped row is updated to it, the INSERT itself stores nothing): that is
-- how a restore puts a changed row back over the one CREATE EXTENSION has
-- just seeded.  Deleting a shipped row, or changing its key, is not kept by
-- a dump: a restore seeds that row again.
CREATE FUNCTION coder_scale.failure_category_user_row()
RETURNS trigger
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM coder_scale.require_trigger_table(TG_RELID, 'coder_scale.failure_category', TG_NAME);
  IF TG_OP = 'UPDATE' THEN
    IF NEW IS DISTINCT FROM OLD THEN
      NEW.builtin := false;
    END IF;
    RETURN NEW;
  END IF;
  UPDATE coder_scale.failure_category f
  SET wording = NEW.wording, sort_order = NEW.sort_order, description = NEW.description
  WHERE f.name = NEW.name AND f.builtin;
  IF FOUND THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION coder_scale.failure_category_user_row() IS
  'Trigger on failure_category: a changed row becomes the user''s (builtin = false); a row inserted with a shipped row''s name replaces it';
REVOKE ALL ON FUNCTION coder_scale.failure_category_user_row() FROM PUBLIC;
CREATE TRIGGER failure_category_user_row BEFORE INSERT OR UPDATE ON coder_scale.failure_category
  FOR EACH ROW EXECUTE FUNCTION coder_scale.failure_category_user_row();

CREATE FUNCTION coder_scale.component_metric_user_row()
RETURNS trigger
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM coder_scale.require_trigger_table(TG_RELID, 'coder_scale.component_metric', TG_NAME);
  IF TG_OP = 'UPDATE' THEN
    IF NEW IS DISTINCT FROM OLD THEN
      NEW.builtin := false;
    END IF;
    RETURN NEW;
  END IF;
  UPDATE coder_scale.component_metric m
  SET kind = NEW.kind, scale = NEW.scale, source = NEW.source
  WHERE m.component = NEW.component AND m.metric = NEW.metric
    AND m.label_match = NEW.label_match AND m.label_exclude = NEW.label_exclude AND m.builtin;
  IF FOUND THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION coder_scale.component_metric_user_row() IS
  'Trigger on component_metric: a changed row becomes the user''s (builtin = false); a row inserted with a shipped row''s key replaces it';
REVOKE ALL ON FUNCTION coder_scale.component_metric_user_row() FROM PUBLIC;
CREATE TRIGGER component_metric_user_row BEFORE INSERT OR UPDATE ON coder_scale.component_metric
  FOR EACH ROW EXECUTE FUNCTION coder_scale.component_metric_user_row();

-- What pg_dump keeps: every row the driver, ingest and scrape write, and the
-- user's rows of the seeded tables.
SELECT pg_catalog.pg_extension_config_dump('coder_scale.run', '');
SELECT pg_catalog.pg_extension_config_dump('coder_scale.run_result', '');
SELECT pg_catalog.pg_extension_config_dump('coder_scale.metric_series', '');
SELECT pg_catalog.pg_extension_config_dump('coder_scale.metric_sample_default', '');
SELECT pg_catalog.pg_extension_config_dump('coder_scale.run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('coder_scale.metric_series_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('coder_scale.failure_category', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('coder_scale.component_metric', 'WHERE NOT builtin');
