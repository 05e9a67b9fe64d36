-- coder_scale 0.1.0 -> 0.2.0.  Every change made to sql/parts since 0.1.0, in
-- the same words; test/upgrade/run.sh checks that 0.1.0 + this script gives
-- the catalog a fresh 0.2.0 install gives, and that stored data survives.
\echo Use "ALTER EXTENSION coder_scale UPDATE TO '0.2.0'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- No role can crash the server or use the owner's trigger functions.
-- ---------------------------------------------------------------------------
ALTER FUNCTION coder_scale.shapes_valid(float8[], float8[]) STRICT;

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

CREATE OR REPLACE FUNCTION coder_scale.sample_series_check()
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
REVOKE ALL ON FUNCTION coder_scale.sample_series_check() FROM PUBLIC;

CREATE OR REPLACE FUNCTION coder_scale.series_samples_delete()
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
REVOKE ALL ON FUNCTION coder_scale.series_samples_delete() FROM PUBLIC;

CREATE OR REPLACE FUNCTION coder_scale.run_sample_partitions()
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
REVOKE ALL ON FUNCTION coder_scale.run_sample_partitions() FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- A primary key per partition of metric_sample instead of one on the parent:
-- a dump of the day partitions then restores.  Rebuilds each partition's key.
-- ---------------------------------------------------------------------------
ALTER TABLE coder_scale.metric_sample DROP CONSTRAINT metric_sample_pkey;
ALTER TABLE coder_scale.metric_sample_default ADD PRIMARY KEY (series_id, time);
DO $$
DECLARE
  part text;
BEGIN
  FOR part IN
    SELECT c.relname FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'coder_scale.metric_sample'::regclass AND c.relname <> 'metric_sample_default'
    ORDER BY c.relname
  LOOP
    EXECUTE format('ALTER TABLE coder_scale.%I ADD PRIMARY KEY (series_id, time)', part);
  END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION coder_scale.add_sample_partitions(from_time timestamptz, to_time timestamptz)
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
-- ---------------------------------------------------------------------------
-- Errors that name what is wrong.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION coder_scale.derive_profile(
  name text,
  base text DEFAULT 'default',
  changes jsonb DEFAULT '{}',
  description text DEFAULT NULL)
RETURNS coder_scale.profile
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  unknown text;
  p coder_scale.profile;
  msg text;
BEGIN
  IF name IS NULL OR changes IS NULL THEN
    RAISE EXCEPTION 'name and changes must not be null'
      USING ERRCODE = 'null_value_not_allowed', HINT = 'Give a new profile name and a jsonb object of changes (''{}'' for none).';
  END IF;
  IF name !~ '^[a-z0-9][a-z0-9_.-]*$' THEN
    RAISE EXCEPTION 'invalid profile name "%"', name
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use lower-case letters, digits, "_", "." and "-", starting with a letter or digit.';
  END IF;
  IF EXISTS (SELECT 1 FROM coder_scale.profile x WHERE x.name = derive_profile.name) THEN
    RAISE EXCEPTION 'profile "%" already exists', name
      USING ERRCODE = 'duplicate_object',
            HINT = format('Choose another name, or remove the old one first: DELETE FROM coder_scale.profile WHERE name = %L.', name);
  END IF;
  IF jsonb_typeof(changes) <> 'object' THEN
    RAISE EXCEPTION 'changes must be a jsonb object, not %', jsonb_typeof(changes)
      USING ERRCODE = 'invalid_parameter_value', HINT = 'For example ''{"target_utilization": 0.6}''.';
  END IF;
  SELECT string_agg(k, ', ' ORDER BY k) INTO unknown
  FROM jsonb_object_keys(changes) AS k
  WHERE k IN ('name', 'builtin', 'description')
     OR k NOT IN (SELECT attname FROM pg_attribute
                  WHERE attrelid = 'coder_scale.profile'::regclass AND attnum > 0 AND NOT attisdropped);
  IF unknown IS NOT NULL THEN
    RAISE EXCEPTION 'changes name columns that cannot be changed this way: %', unknown
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use the columns of coder_scale.profile other than name, builtin and description.';
  END IF;
  SELECT string_agg(k, ', ' ORDER BY k) INTO unknown
  FROM jsonb_each(changes) AS c(k, v) WHERE jsonb_typeof(v) = 'null';
  IF unknown IS NOT NULL THEN
    RAISE EXCEPTION 'changes set % to null', unknown
      USING ERRCODE = 'null_value_not_allowed', HINT = 'Every parameter of a profile needs a value; leave a column out of changes to keep the base''s.';
  END IF;
  p := coder_scale.get_profile(base);
  BEGIN
    p := jsonb_populate_record(p, changes);
  EXCEPTION WHEN data_exception THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
    RAISE EXCEPTION 'changes for profile "%" do not fit the profile''s column types: %', name, msg
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Give numbers for the cost and fraction columns, integers for the counts, arrays of numbers for the shapes.';
  END;
  p.name := derive_profile.name;
  p.builtin := false;
  p.description := coalesce(derive_profile.description, format('derived from %s', base));
  -- the model's own checks name the parameter and its range (profile.c)
  BEGIN
    PERFORM coder_scale.size(1, p);
  EXCEPTION WHEN invalid_parameter_value THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
    RAISE EXCEPTION '%', msg
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Give that parameter a value in its range in changes.';
  END;
  INSERT INTO coder_scale.profile SELECT p.*;
  RETURN p;
END
$$;
CREATE OR REPLACE FUNCTION coder_scale.recommendations(
  users int[] DEFAULT '{50,100,500,1000,3000}',
  profile text DEFAULT 'default')
RETURNS TABLE (
  active_users           int,
  concurrent_builds      int,
  concurrent_connections int,
  coderd_cpu             float8,
  coderd_memory_gb       float8,
  coderd_layout          text,
  provisioners           int,
  database_cpu           float8,
  database_memory_gb     float8)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
  IF recommendations.users IS NULL OR cardinality(recommendations.users) = 0 THEN
    RAISE EXCEPTION 'users must be a non-empty array of user counts'
      USING ERRCODE = 'null_value_not_allowed', HINT = 'For example ARRAY[100, 1000].';
  END IF;
  IF array_ndims(recommendations.users) <> 1 THEN
    RAISE EXCEPTION 'users must be a one-dimensional array, not % dimensions', array_ndims(recommendations.users)
      USING ERRCODE = 'array_subscript_error', HINT = 'For example ARRAY[100, 1000].';
  END IF;
  RETURN QUERY
    SELECT r.users, r.concurrent_builds, r.concurrent_connections,
           r.coderd_cpu, r.coderd_memory_gb,
           format('%s x %s vCPU / %s GB', r.replicas, r.cpu_per_replica, r.memory_gb_per_replica),
           r.provisioner_daemons, r.database_cpu, r.database_memory_gb
    FROM unnest(recommendations.users) WITH ORDINALITY AS u(n, i)
    CROSS JOIN LATERAL coder_scale.recommend(u.n, recommendations.profile) AS r
    ORDER BY u.i;
END
$$;
-- classify_failure reads the first 64 kB of an error
CREATE OR REPLACE FUNCTION coder_scale.classify_failure(error text, logs text DEFAULT NULL)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (
  -- the first 64 kB say which step failed; the rest (long logs pasted into
  -- an error) would only cost time in the regular expressions
  WITH e AS (SELECT coder_scale.normalize_error(left(error, 65536)) AS n)
  SELECT CASE
    -- a pass: Coder writes "<nil>"
    WHEN n IS NULL OR n IN ('', '<nil>') THEN NULL
    -- cleanup (createworkspaces.Cleanup, workspacebuild.CleanupRunner)
    WHEN n ~ '(^|: )(cleanup|cleanup workspace|delete user|delete workspace|cancel workspace build):' THEN 'cleanup_failed'
    -- step 1: the user (createworkspaces.Run)
    WHEN n ~ '(^|: )(create user|login as new user|generate random password for user|get user):' THEN 'create_user'
    -- step 5: the command through the web terminal (reconnectingpty), the connect probe (agentconn)
    WHEN n ~ '(run reconnecting pty|run agent connection|open reconnecting pty|copy context|read from reconnecting pty):'
         OR n ~ 'expected (timeout, but|string .* not found in output)' THEN
      CASE WHEN n ~ 'context deadline exceeded|i/o timeout|timed out' AND n !~ 'expected timeout, but'
           THEN 'command_timeout' ELSE 'command_failed' END
    -- step 3: the build
    WHEN n ~ 'build canceled' THEN 'build_canceled'
    WHEN n ~ 'build failed with status|logs disconnected with unexpected job status' THEN 'build_failed'
    -- step 4: the agents
    WHEN n ~ '(^|: )wait for agents?:|no agents found for workspace' THEN 'agent_timeout'
    -- a bare deadline: the logs tell which step it stopped in
    WHEN n = 'context deadline exceeded' AND strpos(logs, 'Waiting for agents to connect') > 0
         AND strpos(logs, 'Agents connected!') = 0 THEN 'agent_timeout'
    WHEN n = 'context deadline exceeded' AND strpos(logs, 'Opening reconnecting PTY') > 0 THEN 'command_timeout'
    -- a deadline anywhere else: the per-run --job-timeout (or the whole --timeout)
    WHEN n ~ 'context deadline exceeded' THEN 'job_timeout'
    -- step 2: creating the workspace, or anything else inside the workspacebuild step
    WHEN n ~ '(^|: )(create workspace|create workspace build|generate random name for workspace|get workspace( id| "[^"]*")?):' THEN 'create_workspace'
    ELSE 'other'
  END
  FROM e
);

-- connections without floating-point noise; the bucket-count bound
-- (require_bucket_count, defined further down)
CREATE OR REPLACE FUNCTION coder_scale.component_usage_over_time(run_id bigint, bucket interval DEFAULT '30 seconds')
RETURNS TABLE ("time" timestamptz, component text, cpu_cores float8, memory_bytes float8, connections float8)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
#variable_conflict use_column
DECLARE
  origin timestamptz;
  t_first timestamptz;
  t_last  timestamptz;
BEGIN
  PERFORM coder_scale.require_run(component_usage_over_time.run_id);
  PERFORM coder_scale.require_bucket(component_usage_over_time.bucket);
  SELECT r.started_at INTO origin FROM coder_scale.run r WHERE r.id = component_usage_over_time.run_id;
  -- the first and last sample of each series: two index probes per series
  SELECT min(s.t_min), max(s.t_max) INTO t_first, t_last
    FROM coder_scale.component_series cs
    CROSS JOIN LATERAL (SELECT min(ms.time) AS t_min, max(ms.time) AS t_max
                        FROM coder_scale.metric_sample ms WHERE ms.series_id = cs.series_id) s
    WHERE cs.run_id = component_usage_over_time.run_id;
  PERFORM coder_scale.require_bucket_count(component_usage_over_time.run_id, component_usage_over_time.bucket, t_first, t_last);
  RETURN QUERY
  WITH cs AS (
    SELECT * FROM coder_scale.component_series c WHERE c.run_id = component_usage_over_time.run_id
  ), cpu AS (
    SELECT c.component, c.t, sum(c.cores) AS cores
    FROM (SELECT cs.component, cs.series_id, date_bin(component_usage_over_time.bucket, ms.time, origin) AS t,
                 coder_scale.rate(coder_scale.counter_agg(ms.time, ms.value)) * min(cs.scale) AS cores
          FROM cs JOIN coder_scale.metric_sample ms ON ms.series_id = cs.series_id
          WHERE cs.kind = 'cpu_seconds_counter'
          GROUP BY cs.component, cs.series_id, 3) c
    WHERE c.cores IS NOT NULL
    GROUP BY 1, 2
  ), gauge_series AS (
    SELECT cs.component, cs.kind, cs.series_id, date_bin(component_usage_over_time.bucket, ms.time, origin) AS t,
           avg(ms.value) * cs.scale AS v
    FROM cs JOIN coder_scale.metric_sample ms ON ms.series_id = cs.series_id
    WHERE cs.kind IN ('memory_bytes_gauge', 'connections_gauge') AND ms.value <> 'NaN'
    GROUP BY cs.component, cs.kind, cs.series_id, cs.scale, 4
  ), gauge AS (
    SELECT g.component, g.t,
           sum(g.v) FILTER (WHERE g.kind = 'memory_bytes_gauge') AS memory,
           -- a count: rounded, so sums of means carry no floating-point noise
           round(sum(g.v) FILTER (WHERE g.kind = 'connections_gauge')::numeric, 6)::float8 AS conns
    FROM gauge_series g
    GROUP BY 1, 2
  )
  SELECT coalesce(cpu.t, gauge.t), coalesce(cpu.component, gauge.component), cpu.cores, gauge.memory, gauge.conns
  FROM cpu FULL JOIN gauge ON gauge.component = cpu.component AND gauge.t = cpu.t
  ORDER BY 1, 2;
END
$$;
-- ---------------------------------------------------------------------------
-- Runs whose driver went away: status 'abandoned'.
-- ---------------------------------------------------------------------------
ALTER TABLE coder_scale.run DROP CONSTRAINT run_status_check,
  ADD CONSTRAINT run_status_check CHECK (status IN ('running', 'completed', 'aborted', 'failed', 'abandoned'));
COMMENT ON COLUMN coder_scale.run.status IS
  'running, completed, aborted, failed, or abandoned (its driver went away without closing it: see run_driver_alive()); finished_at is NULL while running';

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


-- run_summary: elapsed is the test without its cleanup (Coder's elapsed); the
-- cleanup's elapsed is a new column, at the end (CREATE OR REPLACE VIEW can
-- only add columns there; sql/parts/60_reporting.sql has it there too).
CREATE OR REPLACE VIEW coder_scale.run_summary AS
SELECT r.id AS run_id,
       r.label,
       r.kind,
       CASE WHEN r.status = 'running' AND NOT coder_scale.run_driver_alive(r.id) THEN 'abandoned'
            ELSE r.status END AS status,
       r.started_at,
       r.finished_at,
       c.total,
       c.succeeded,
       c.failed,
       c.create_user,
       c.create_workspace,
       c.build_failed,
       c.build_canceled,
       c.agent_timeout,
       c.command_failed,
       c.command_timeout,
       c.job_timeout,
       c.cleanup_failed,
       c.other,
       CASE WHEN r.kind = 'ingest' THEN r.finished_at - r.started_at
            ELSE c.last_finished - c.first_started END AS elapsed,
       c.avg_duration,
       c.succeeded || ' succeeded' || coalesce(', ' || f.failures, '') AS summary,
       CASE WHEN r.kind <> 'ingest' AND c.cleaned > 0 THEN r.finished_at - c.last_finished END AS cleanup_elapsed
FROM coder_scale.run r
CROSS JOIN LATERAL (
  SELECT count(*) AS total,
         count(*) FILTER (WHERE rr.outcome = 'pass') AS succeeded,
         count(*) FILTER (WHERE rr.outcome = 'fail') AS failed,
         count(*) FILTER (WHERE rr.failure_category = 'create_user') AS create_user,
         count(*) FILTER (WHERE rr.failure_category = 'create_workspace') AS create_workspace,
         count(*) FILTER (WHERE rr.failure_category = 'build_failed') AS build_failed,
         count(*) FILTER (WHERE rr.failure_category = 'build_canceled') AS build_canceled,
         count(*) FILTER (WHERE rr.failure_category = 'agent_timeout') AS agent_timeout,
         count(*) FILTER (WHERE rr.failure_category = 'command_failed') AS command_failed,
         count(*) FILTER (WHERE rr.failure_category = 'command_timeout') AS command_timeout,
         count(*) FILTER (WHERE rr.failure_category = 'job_timeout') AS job_timeout,
         count(*) FILTER (WHERE rr.failure_category = 'cleanup_failed') AS cleanup_failed,
         count(*) FILTER (WHERE rr.failure_category = 'other') AS other,
         count(rr.cleanup) AS cleaned,
         min(rr.started_at) AS first_started,
         max(coalesce(rr.finished_at, rr.started_at + rr.duration)) AS last_finished,
         avg(rr.duration) AS avg_duration
  FROM coder_scale.run_result rr
  WHERE rr.run_id = r.id
) c
LEFT JOIN LATERAL (
  SELECT string_agg(n.failed || ' ' || fc.wording, ', ' ORDER BY fc.sort_order) AS failures
  FROM (SELECT rr.failure_category, count(*) AS failed
        FROM coder_scale.run_result rr
        WHERE rr.run_id = r.id AND rr.outcome = 'fail'
        GROUP BY rr.failure_category) n
  JOIN coder_scale.failure_category fc ON fc.name = n.failure_category
) f ON true;
COMMENT ON VIEW coder_scale.run_summary IS
  'Per run: total, succeeded, failed, failures per category, elapsed (the test, as Coder''s), average duration, a one-line summary like ''998 succeeded, 2 failed to connect'', and the cleanup''s elapsed';
COMMENT ON COLUMN coder_scale.run_summary.elapsed IS
  'The test without its cleanup, as Coder''s elapsed ("Total duration"): an ingested file''s elapsed; for a driven run, from its first result''s start to its last result''s end (as the driver prints it)';
COMMENT ON COLUMN coder_scale.run_summary.status IS
  'The run''s status, ''abandoned'' for a run still ''running'' whose driver holds no lock on it (see close_abandoned_runs())';
COMMENT ON COLUMN coder_scale.run_summary.avg_duration IS 'Mean duration over every result, passed or failed (as Coder''s Avg. duration)';
COMMENT ON COLUMN coder_scale.run_summary.summary IS
  'N succeeded, then each non-zero failure category as count and wording, in failure_category.sort_order';
COMMENT ON COLUMN coder_scale.run_summary.cleanup_elapsed IS
  'A driven run''s cleanup: from the end of its last result to the run''s end; NULL when nothing was cleaned up, and for an ingested file (Coder''s json has no cleanup time)';

-- ---------------------------------------------------------------------------
-- pg_dump keeps the user's rows of failure_category and component_metric.
-- ---------------------------------------------------------------------------
-- builtin: true for the rows 0.1.0 seeded that are still as it seeded them;
-- a row the user changed or added is the user's.
-- (Added without a default, then filled: a fresh install's table stores no
-- default for rows older than the column either.)
ALTER TABLE coder_scale.failure_category ADD COLUMN builtin boolean;
COMMENT ON COLUMN coder_scale.failure_category.builtin IS
  'True for a row as the extension ships it; a row a user changes or adds is false, and pg_dump keeps it';
UPDATE coder_scale.failure_category f SET builtin = EXISTS (SELECT FROM (VALUES
  ('create_user',      'failed to create user',      10, 'create user: / login as new user: (POST /users, POST /users/login)'),
  ('create_workspace', 'failed to create workspace', 20, 'create workspace: POST /users/{user}/workspaces or a retry build refused'),
  ('build_failed',     'build failed',               30, 'wait for build: build failed with status "failed", or logs disconnected with an unexpected job status'),
  ('build_canceled',   'build canceled',             40, 'wait for build: build canceled'),
  ('agent_timeout',    'failed to connect',          50, 'wait for agent: the agents did not connect (in time)'),
  ('command_failed',   'command failed',             60, 'run reconnecting pty / agent connection failed, or the expected output was missing'),
  ('command_timeout',  'command timed out',          70, 'run reconnecting pty: context deadline exceeded (--run-timeout)'),
  ('job_timeout',      'timed out',                  80, 'context deadline exceeded elsewhere in the run (--job-timeout or --timeout)'),
  ('cleanup_failed',   'cleanup failed',             90, 'cleanup workspace: / delete user: / delete workspace:'),
  ('other',            'failed for another reason', 100, 'anything else (panics, unknown errors)')
) AS shipped (name, wording, sort_order, description)
WHERE (f.name, f.wording, f.sort_order, f.description)
    = (shipped.name, shipped.wording, shipped.sort_order, shipped.description));
ALTER TABLE coder_scale.failure_category ALTER COLUMN builtin SET DEFAULT false, ALTER COLUMN builtin SET NOT NULL;

ALTER TABLE coder_scale.component_metric ADD COLUMN builtin boolean;
COMMENT ON COLUMN coder_scale.component_metric.builtin IS
  'True for a row as the extension ships it; a row a user changes or adds is false, and pg_dump keeps it';
UPDATE coder_scale.component_metric m SET builtin = EXISTS (SELECT FROM (VALUES
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
  ('runner',       'node_memory_MemAvailable_bytes',     '{}', '{}', 'memory_bytes_gauge', -1, 'node_exporter on the runner host')
) AS shipped (component, metric, label_match, label_exclude, kind, scale, source)
WHERE (m.component, m.metric, m.label_match, m.label_exclude, m.kind, m.scale, m.source)
    = (shipped.component, shipped.metric, shipped.label_match::jsonb, shipped.label_exclude::jsonb,
       shipped.kind, shipped.scale, shipped.source));
ALTER TABLE coder_scale.component_metric ALTER COLUMN builtin SET DEFAULT false, ALTER COLUMN builtin SET NOT NULL;

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

SELECT pg_catalog.pg_extension_config_dump('coder_scale.failure_category', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('coder_scale.component_metric', 'WHERE NOT builtin');

-- ---------------------------------------------------------------------------
-- The phases named once, in the view result_phase.
-- ---------------------------------------------------------------------------
-- The phases of a workspace run are the interval columns of run_result, in
-- table order, named as the columns (client/common/categories.h names the
-- same), then total: Coder's duration of the whole run.
CREATE VIEW coder_scale.result_phase AS
SELECT rr.run_id, rr.full_id, rr.finished_at, p.phase_order, p.phase, p.took
FROM coder_scale.run_result rr
CROSS JOIN LATERAL (VALUES
  (1, 'create_user',      rr.create_user),
  (2, 'create_workspace', rr.create_workspace),
  (3, 'queue_wait',       rr.queue_wait),
  (4, 'build',            rr.build),
  (5, 'agents_connect',   rr.agents_connect),
  (6, 'command',          rr.command),
  (7, 'cleanup',          rr.cleanup),
  (8, 'total',            rr.duration)
) AS p (phase_order, phase, took)
WHERE p.took IS NOT NULL;
COMMENT ON VIEW coder_scale.result_phase IS
  'One row per workspace run and phase whose time is known: create_user .. cleanup (the interval columns of run_result, in order), then total (Coder''s duration)';
COMMENT ON COLUMN coder_scale.result_phase.phase_order IS 'Order of the phase within a run (sort by it)';
COMMENT ON COLUMN coder_scale.result_phase.took IS 'How long the phase took';

-- phase_latency and phase_latency_over_time read the phases from it.
CREATE OR REPLACE VIEW coder_scale.phase_latency AS
SELECT p.run_id,
       p.phase,
       p.phase_order,
       count(*) AS count,
       min(p.took) AS min,
       percentile_cont(0.50) WITHIN GROUP (ORDER BY p.took) AS p50,
       percentile_cont(0.90) WITHIN GROUP (ORDER BY p.took) AS p90,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY p.took) AS p95,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY p.took) AS p99,
       max(p.took) AS max
FROM coder_scale.result_phase p
GROUP BY p.run_id, p.phase_order, p.phase;

CREATE OR REPLACE FUNCTION coder_scale.phase_latency_over_time(run_id bigint, bucket interval DEFAULT '10 seconds')
RETURNS TABLE ("time" timestamptz, phase text, count bigint, p50 float8, p95 float8, max float8)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
#variable_conflict use_column
DECLARE
  origin timestamptz;
  t_first timestamptz;
  t_last  timestamptz;
BEGIN
  PERFORM coder_scale.require_run(phase_latency_over_time.run_id);
  PERFORM coder_scale.require_bucket(phase_latency_over_time.bucket);
  SELECT r.started_at INTO origin FROM coder_scale.run r WHERE r.id = phase_latency_over_time.run_id;
  SELECT min(rr.finished_at), max(rr.finished_at) INTO t_first, t_last
    FROM coder_scale.run_result rr WHERE rr.run_id = phase_latency_over_time.run_id;
  PERFORM coder_scale.require_bucket_count(phase_latency_over_time.run_id, phase_latency_over_time.bucket, t_first, t_last);
  RETURN QUERY
  SELECT date_bin(phase_latency_over_time.bucket, p.finished_at, origin), p.phase, count(*),
         percentile_cont(0.50) WITHIN GROUP (ORDER BY extract(epoch FROM p.took)::float8),
         percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM p.took)::float8),
         max(extract(epoch FROM p.took)::float8)
  FROM coder_scale.result_phase p
  WHERE p.run_id = phase_latency_over_time.run_id AND p.finished_at IS NOT NULL
  GROUP BY 1, p.phase_order, p.phase
  ORDER BY 1, p.phase_order;
END
$$;

-- ---------------------------------------------------------------------------
-- Every reporting function that takes a bucket bounds the bucket count.
-- ---------------------------------------------------------------------------
-- Raise 54000 when bucket cuts the span of a run's data, t_first to t_last,
-- into more than 1000000 buckets: the bound of every reporting function
-- that takes a bucket.
CREATE FUNCTION coder_scale.require_bucket_count(run_id bigint, bucket interval, t_first timestamptz, t_last timestamptz)
RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
  IF extract(epoch FROM t_last - t_first) / extract(epoch FROM bucket) > 1000000 THEN
    RAISE EXCEPTION 'bucket % gives more than 1000000 buckets for run %', bucket, run_id
      USING ERRCODE = '54000', DETAIL = format('The run''s data spans %s.', t_last - t_first),
            HINT = format('Use a bucket of at least %s.',
                          make_interval(secs => (ceil(extract(epoch FROM t_last - t_first)) / 1000000)::float8));
  END IF;
END
$$;
COMMENT ON FUNCTION coder_scale.require_bucket_count(bigint, interval, timestamptz, timestamptz) IS
  'Raise an error (54000) when bucket cuts t_first .. t_last into more than 1000000 buckets; used by the reporting functions';

CREATE OR REPLACE FUNCTION coder_scale.throughput(run_id bigint, bucket interval DEFAULT '10 seconds')
RETURNS TABLE ("time" timestamptz, started bigint, finished bigint, failed bigint)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
#variable_conflict use_column
DECLARE
  origin timestamptz;
  t_first timestamptz;
  t_last  timestamptz;
BEGIN
  PERFORM coder_scale.require_run(throughput.run_id);
  PERFORM coder_scale.require_bucket(throughput.bucket);
  SELECT r.started_at INTO origin FROM coder_scale.run r WHERE r.id = throughput.run_id;
  SELECT least(min(rr.started_at), min(rr.finished_at)), greatest(max(rr.started_at), max(rr.finished_at))
    INTO t_first, t_last
    FROM coder_scale.run_result rr WHERE rr.run_id = throughput.run_id;
  IF t_first IS NULL THEN
    RETURN;
  END IF;
  PERFORM coder_scale.require_bucket_count(throughput.run_id, throughput.bucket, t_first, t_last);
  RETURN QUERY
  WITH ev AS (
    SELECT date_bin(throughput.bucket, rr.started_at, origin) AS t, 1 AS s, 0 AS f, 0 AS x
    FROM coder_scale.run_result rr WHERE rr.run_id = throughput.run_id
    UNION ALL
    SELECT date_bin(throughput.bucket, rr.finished_at, origin), 0, 1, (rr.outcome = 'fail')::int
    FROM coder_scale.run_result rr WHERE rr.run_id = throughput.run_id AND rr.finished_at IS NOT NULL
  ), grid AS (
    SELECT g AS t
    FROM generate_series(date_bin(throughput.bucket, t_first, origin), date_bin(throughput.bucket, t_last, origin),
                         throughput.bucket) g
  )
  SELECT grid.t, coalesce(sum(ev.s), 0)::bigint, coalesce(sum(ev.f), 0)::bigint, coalesce(sum(ev.x), 0)::bigint
  FROM grid LEFT JOIN ev ON ev.t = grid.t
  GROUP BY grid.t
  ORDER BY grid.t;
END
$$;

-- ---------------------------------------------------------------------------
-- Comments that say what the sizing table is.
-- ---------------------------------------------------------------------------
COMMENT ON TYPE coder_scale.recommendation IS
  'One row of the sizing table: users, builds, connections and the size of coderd, provisioners and database (coderd figures are totals across replicas), and the layout behind them';
COMMENT ON FUNCTION coder_scale.recommendations(int[], text) IS
  'The sizing table: one row per user count (default 50, 100, 500, 1000, 3000), coderd totals across replicas';
