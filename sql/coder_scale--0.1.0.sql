-- coder_scale version 0.1.0, as released: never edit (changes go into an upgrade script).
\echo Use "CREATE EXTENSION coder_scale" to load this file. \quit

-- ==== sql/parts/00_schema.sql ====
-- The schema itself is created by CREATE EXTENSION (coder_scale.control names it).
COMMENT ON SCHEMA coder_scale IS
  'coder_scale: sizing model, scale-test results and fast aggregates for Coder deployments';

-- ==== sql/parts/10_profile.sql ====
-- Sizing profiles: every assumption and cost coefficient of the sizing model,
-- one named row each. The model (sizing.c) is formulas over these columns.

CREATE FUNCTION coder_scale.shapes_valid(cpu float8[], memory_gb float8[])
RETURNS boolean
AS 'MODULE_PATHNAME', 'coder_scale_shapes_valid'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION coder_scale.shapes_valid(float8[], float8[]) IS
  'True when two arrays describe instance shapes: same non-zero length, no NULLs, finite positive values, cpu strictly ascending, memory non-decreasing';

CREATE FUNCTION coder_scale.is_fraction(x float8)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN x >= 0 AND x <= 1;
COMMENT ON FUNCTION coder_scale.is_fraction(float8) IS
  'True when x lies in [0, 1] (NaN is not a fraction)';

CREATE FUNCTION coder_scale.is_cost(x float8)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN x >= 0 AND x < 'infinity'::float8;
COMMENT ON FUNCTION coder_scale.is_cost(float8) IS
  'True when x is finite and not negative (NaN is not a cost)';

CREATE TABLE coder_scale.profile (
  name                                text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_.-]*$'),
  description                         text NOT NULL DEFAULT '',

  -- workload: the seed's "Our model"
  build_fraction                      float8 NOT NULL CHECK (coder_scale.is_fraction(build_fraction)),
  running_fraction                    float8 NOT NULL CHECK (coder_scale.is_fraction(running_fraction)),
  connections_per_workspace           float8 NOT NULL CHECK (coder_scale.is_cost(connections_per_workspace)),
  connection_start_fraction           float8 NOT NULL CHECK (coder_scale.is_fraction(connection_start_fraction)),
  bytes_per_second_per_connection     float8 NOT NULL CHECK (coder_scale.is_cost(bytes_per_second_per_connection)),
  browser_connection_fraction         float8 NOT NULL CHECK (coder_scale.is_fraction(browser_connection_fraction)),
  dashboard_fraction                  float8 NOT NULL CHECK (coder_scale.is_fraction(dashboard_fraction)),

  -- coderd costs (CPU in cores, memory in GB)
  coderd_cpu_base_per_replica         float8 NOT NULL CHECK (coder_scale.is_cost(coderd_cpu_base_per_replica)),
  coderd_cpu_per_build                float8 NOT NULL CHECK (coder_scale.is_cost(coderd_cpu_per_build)),
  coderd_cpu_per_user                 float8 NOT NULL CHECK (coder_scale.is_cost(coderd_cpu_per_user)),
  coderd_cpu_per_connection           float8 NOT NULL CHECK (coder_scale.is_cost(coderd_cpu_per_connection)),
  coderd_cpu_per_connection_start     float8 NOT NULL CHECK (coder_scale.is_cost(coderd_cpu_per_connection_start)),
  coderd_cpu_per_dashboard_user       float8 NOT NULL CHECK (coder_scale.is_cost(coderd_cpu_per_dashboard_user)),
  coderd_cpu_per_mbps_browser         float8 NOT NULL CHECK (coder_scale.is_cost(coderd_cpu_per_mbps_browser)),
  coderd_cpu_per_mbps_ssh             float8 NOT NULL CHECK (coder_scale.is_cost(coderd_cpu_per_mbps_ssh)),
  coderd_memory_gb_base_per_replica   float8 NOT NULL CHECK (coder_scale.is_cost(coderd_memory_gb_base_per_replica)),
  coderd_memory_gb_per_build          float8 NOT NULL CHECK (coder_scale.is_cost(coderd_memory_gb_per_build)),
  coderd_memory_gb_per_user           float8 NOT NULL CHECK (coder_scale.is_cost(coderd_memory_gb_per_user)),
  coderd_memory_gb_per_connection     float8 NOT NULL CHECK (coder_scale.is_cost(coderd_memory_gb_per_connection)),

  -- database costs
  database_cpu_base                   float8 NOT NULL CHECK (coder_scale.is_cost(database_cpu_base)),
  database_cpu_per_build              float8 NOT NULL CHECK (coder_scale.is_cost(database_cpu_per_build)),
  database_cpu_per_user               float8 NOT NULL CHECK (coder_scale.is_cost(database_cpu_per_user)),
  database_memory_gb_base             float8 NOT NULL CHECK (coder_scale.is_cost(database_memory_gb_base)),
  database_memory_gb_per_build        float8 NOT NULL CHECK (coder_scale.is_cost(database_memory_gb_per_build)),
  database_memory_gb_per_user         float8 NOT NULL CHECK (coder_scale.is_cost(database_memory_gb_per_user)),

  -- provisioners
  provisioner_daemons_per_build       float8 NOT NULL CHECK (coder_scale.is_cost(provisioner_daemons_per_build)),
  provisioner_cpu_per_daemon          float8 NOT NULL CHECK (coder_scale.is_cost(provisioner_cpu_per_daemon)),
  provisioner_memory_gb_per_daemon    float8 NOT NULL CHECK (coder_scale.is_cost(provisioner_memory_gb_per_daemon)),
  max_daemons_per_host                int    NOT NULL CHECK (max_daemons_per_host > 0),

  -- headroom and high availability
  target_utilization                  float8 NOT NULL CHECK (target_utilization > 0 AND target_utilization <= 1),
  ha_from_users                       int    NOT NULL CHECK (ha_from_users >= 0),
  ha_min_replicas                     int    NOT NULL CHECK (ha_min_replicas >= 1),
  ha_tolerated_failures               int    NOT NULL CHECK (ha_tolerated_failures >= 0),
  max_replica_cpu                     float8 NOT NULL CHECK (max_replica_cpu > 0 AND max_replica_cpu < 'infinity'),

  -- instance shapes results are rounded up to
  coderd_shape_cpu                    float8[] NOT NULL,
  coderd_shape_memory_gb              float8[] NOT NULL,
  database_shape_cpu                  float8[] NOT NULL,
  database_shape_memory_gb            float8[] NOT NULL,

  builtin                             boolean NOT NULL DEFAULT false,

  CONSTRAINT profile_ha_failures_below_replicas CHECK (ha_tolerated_failures < ha_min_replicas),
  CONSTRAINT profile_coderd_shapes CHECK (coder_scale.shapes_valid(coderd_shape_cpu, coderd_shape_memory_gb)),
  CONSTRAINT profile_database_shapes CHECK (coder_scale.shapes_valid(database_shape_cpu, database_shape_memory_gb)),
  CONSTRAINT profile_replica_cap_fits_a_shape CHECK (max_replica_cpu >= coderd_shape_cpu[1])
);

COMMENT ON TABLE coder_scale.profile IS
  'Named sizing profiles: every assumption and cost coefficient of the sizing model. Add your own with INSERT or coder_scale.derive_profile()';
COMMENT ON COLUMN coder_scale.profile.build_fraction IS 'Fraction of daily active users starting a workspace at the same time (concurrent builds = users x this)';
COMMENT ON COLUMN coder_scale.profile.running_fraction IS 'Fraction of users with a running workspace';
COMMENT ON COLUMN coder_scale.profile.connections_per_workspace IS 'Concurrent connections (SSH, IDE, terminal) per running workspace';
COMMENT ON COLUMN coder_scale.profile.connection_start_fraction IS 'Fraction of users opening a connection at the same moment';
COMMENT ON COLUMN coder_scale.profile.bytes_per_second_per_connection IS 'Traffic per connection, bytes per second';
COMMENT ON COLUMN coder_scale.profile.browser_connection_fraction IS 'Fraction of connections proxied through coderd (web terminal, browser IDEs); the rest are direct SSH';
COMMENT ON COLUMN coder_scale.profile.dashboard_fraction IS 'Fraction of users with the dashboard open';
COMMENT ON COLUMN coder_scale.profile.coderd_cpu_base_per_replica IS 'coderd cores used by an idle replica';
COMMENT ON COLUMN coder_scale.profile.coderd_cpu_per_build IS 'coderd cores per concurrent build (job coordination, logs, state; provisioners are counted apart)';
COMMENT ON COLUMN coder_scale.profile.coderd_cpu_per_user IS 'coderd cores per active user (API traffic not covered by the other terms)';
COMMENT ON COLUMN coder_scale.profile.coderd_cpu_per_connection IS 'coderd cores per open workspace connection (coordination)';
COMMENT ON COLUMN coder_scale.profile.coderd_cpu_per_connection_start IS 'coderd cores per connection being set up at the same moment';
COMMENT ON COLUMN coder_scale.profile.coderd_cpu_per_dashboard_user IS 'coderd cores per user with the dashboard open';
COMMENT ON COLUMN coder_scale.profile.coderd_cpu_per_mbps_browser IS 'coderd cores per MB/s proxied for browser connections';
COMMENT ON COLUMN coder_scale.profile.coderd_cpu_per_mbps_ssh IS 'coderd cores per MB/s of direct SSH traffic (relayed when peer-to-peer fails)';
COMMENT ON COLUMN coder_scale.profile.target_utilization IS 'Highest CPU and memory utilization allowed at peak (headroom: builds must not push coderd to 100%)';
COMMENT ON COLUMN coder_scale.profile.ha_from_users IS 'From this many users on, coderd runs highly available (ha_min_replicas, ha_tolerated_failures); below it, one replica';
COMMENT ON COLUMN coder_scale.profile.ha_min_replicas IS 'Fewest coderd replicas in a highly available deployment';
COMMENT ON COLUMN coder_scale.profile.ha_tolerated_failures IS 'Replicas that may fail while the others carry the whole load';
COMMENT ON COLUMN coder_scale.profile.max_replica_cpu IS 'Largest sensible coderd replica, in cores: beyond it, add replicas';
COMMENT ON COLUMN coder_scale.profile.coderd_shape_cpu IS 'coderd replica shapes: cores, ascending (memory in coderd_shape_memory_gb at the same index)';
COMMENT ON COLUMN coder_scale.profile.database_shape_cpu IS 'Database instance shapes: vCPU, ascending (memory in database_shape_memory_gb at the same index)';
COMMENT ON COLUMN coder_scale.profile.builtin IS 'True for the profiles the extension ships; they are replaced on upgrade';
COMMENT ON COLUMN coder_scale.profile.coderd_memory_gb_base_per_replica IS 'coderd memory (GB) used by an idle replica';
COMMENT ON COLUMN coder_scale.profile.coderd_memory_gb_per_build IS 'coderd memory (GB) per concurrent build';
COMMENT ON COLUMN coder_scale.profile.coderd_memory_gb_per_user IS 'coderd memory (GB) per active user';
COMMENT ON COLUMN coder_scale.profile.coderd_memory_gb_per_connection IS 'coderd memory (GB) per open workspace connection';
COMMENT ON COLUMN coder_scale.profile.database_cpu_base IS 'Database cores used with no load';
COMMENT ON COLUMN coder_scale.profile.database_cpu_per_build IS 'Database cores per concurrent build (builds cause most database load)';
COMMENT ON COLUMN coder_scale.profile.database_cpu_per_user IS 'Database cores per active user';
COMMENT ON COLUMN coder_scale.profile.database_memory_gb_base IS 'Database memory (GB) with no load';
COMMENT ON COLUMN coder_scale.profile.database_memory_gb_per_build IS 'Database memory (GB) per concurrent build';
COMMENT ON COLUMN coder_scale.profile.database_memory_gb_per_user IS 'Database memory (GB) per active user';
COMMENT ON COLUMN coder_scale.profile.provisioner_daemons_per_build IS 'Provisioner daemons per concurrent build (1: every build has its own)';
COMMENT ON COLUMN coder_scale.profile.provisioner_cpu_per_daemon IS 'Cores of a busy provisioner daemon (Terraform)';
COMMENT ON COLUMN coder_scale.profile.provisioner_memory_gb_per_daemon IS 'Memory (GB) of a busy provisioner daemon';
COMMENT ON COLUMN coder_scale.profile.max_daemons_per_host IS 'Most provisioner daemons on one host or VM';
COMMENT ON COLUMN coder_scale.profile.coderd_shape_memory_gb IS 'coderd replica shapes: memory in GB, at the same index as coderd_shape_cpu';
COMMENT ON COLUMN coder_scale.profile.database_shape_memory_gb IS 'Database instance shapes: memory in GB, at the same index as database_shape_cpu';
COMMENT ON COLUMN coder_scale.profile.name IS 'Profile name, used by recommend(profile => ...)';
COMMENT ON COLUMN coder_scale.profile.description IS 'Where the numbers come from';

-- ==== sql/parts/15_builtin_profiles.sql ====
-- The profiles the extension ships. User rows (builtin = false) are kept by
-- pg_dump; builtin ones come back with the extension.

SELECT pg_catalog.pg_extension_config_dump('coder_scale.profile', 'WHERE NOT builtin');

-- 'default': calibrated so that, after rounding to shapes, it gives what
-- Coder published in January 2026 (validated architectures) for 1,000, 2,000
-- and 3,000 users. Ratio users : running workspaces : builds = 1 : 0.6 : 0.06,
-- one 1 vCPU / 1 GB provisioner daemon per concurrent build, at most 30 per
-- VM, 3 coderd replicas from 1,000 users on surviving one failure, replicas
-- of at most 4 vCPU, database shapes of 3.75 GB per vCPU.
INSERT INTO coder_scale.profile VALUES (
  'default',
  'Coder validated architectures, January 2026 (1,000 / 2,000 / 3,000 users)',
  -- workload
  0.06, 0.6, 1.0, 0.1, 10240, 0.2, 0.5,
  -- coderd cpu: base per replica, per build, per user, per connection,
  -- per connection start, per dashboard user, per MB/s browser, per MB/s ssh
  0.25, 0.02, 0, 0.0005, 0.001, 0.0004, 0.1, 0.01,
  -- coderd memory: base per replica, per build, per user, per connection
  1.0, 0.01, 0.002, 0.002,
  -- database: cpu base, per build, per user; memory base, per build, per user
  0.5, 0.04, 0.0015, 2.0, 0.1, 0.01,
  -- provisioners: daemons per build, cpu and memory per daemon, daemons per host
  1.0, 1.0, 1.0, 30,
  -- headroom and HA
  0.7, 1000, 3, 1, 4,
  -- shapes
  '{1,2,4,8,16}', '{4,8,12,24,48}',
  '{2,4,8,16,32,64,128}', '{7.5,15,30,60,120,240,480}',
  true);

-- 'rules-of-thumb-2024': the older rules of docs/admin/infrastructure/
-- scale-testing.md. coderd: 1 vCPU and 2 GB per 250 users, at least 1 vCPU /
-- 2 GB per replica, whole-vCPU replicas up to 8; provisioners: 1 vCPU and
-- 1 GB per 2 concurrent builds; database: 2 vCPU / 8 GB, plus 2 vCPU for
-- every further 1,000 users. The rules carry their own headroom.
INSERT INTO coder_scale.profile VALUES (
  'rules-of-thumb-2024',
  'Coder scale-testing rules of thumb, 2024-2025',
  0.06, 0.3, 1.0, 0.1, 40960, 0.2, 0.5,
  0, 0, 0.004, 0, 0, 0, 0, 0,
  0, 0, 0.008, 0,
  0, 0, 0.002, 8, 0, 0,
  1.0, 0.5, 0.5, 30,
  1.0, 0, 1, 0, 8,
  '{1,2,3,4,5,6,7,8}', '{2,4,6,8,10,12,14,16}',
  ARRAY(SELECT g FROM generate_series(2, 128, 2) g)::float8[],
  ARRAY(SELECT 4 * g FROM generate_series(2, 128, 2) g)::float8[],
  true);

-- ==== sql/parts/20_sizing.sql ====
-- The sizing model: recommend(), recommendations(), and the seed's side rules.

CREATE TYPE coder_scale.recommendation AS (
  profile                          text,
  users                            int,
  concurrent_builds                int,
  concurrent_connections           int,
  running_workspaces               int,
  coderd_cpu                       float8,   -- total across replicas
  coderd_memory_gb                 float8,   -- total across replicas
  database_cpu                     float8,   -- the shape chosen
  database_memory_gb               float8,
  replicas                         int,
  tolerated_failures               int,
  cpu_per_replica                  float8,   -- the shape chosen
  memory_gb_per_replica            float8,
  cpu_per_replica_required         float8,   -- raw requirement with n - f replicas up
  memory_gb_per_replica_required   float8,
  provisioner_daemons              int,
  provisioner_hosts                int,
  provisioner_cpu                  float8,
  provisioner_memory_gb            float8,
  database_cpu_required            float8,   -- raw requirement
  database_memory_gb_required      float8,
  database_fits_shape              boolean,  -- false: larger than any shape listed
  traffic_mbps                     float8    -- workspace traffic, MB/s
);
COMMENT ON TYPE coder_scale.recommendation IS
  'One row of the sizing table: the seed''s columns (coderd figures are totals across replicas) and the layout behind them';

CREATE FUNCTION coder_scale.size(users int, profile coder_scale.profile)
RETURNS coder_scale.recommendation
AS 'MODULE_PATHNAME', 'coder_scale_size'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION coder_scale.size(int, coder_scale.profile) IS
  'The sizing model itself: a recommendation for users active users under the given profile row (which may be built on the fly)';

CREATE FUNCTION coder_scale.get_profile(name text)
RETURNS coder_scale.profile
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
  p coder_scale.profile;
BEGIN
  IF name IS NULL THEN
    RAISE EXCEPTION 'profile must not be null'
      USING ERRCODE = 'null_value_not_allowed', HINT = 'Give a profile name, such as ''default''.';
  END IF;
  SELECT * INTO p FROM coder_scale.profile WHERE profile.name = get_profile.name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown profile "%"', name
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Known profiles: ' || coalesce((SELECT string_agg(quote_literal(q.name), ', ' ORDER BY q.name)
                                                  FROM coder_scale.profile q), 'none') || '.';
  END IF;
  RETURN p;
END
$$;
COMMENT ON FUNCTION coder_scale.get_profile(text) IS
  'The profile of that name; an unknown name is an error whose hint lists the known ones';

CREATE FUNCTION coder_scale.recommend(users int, profile text DEFAULT 'default')
RETURNS coder_scale.recommendation
LANGUAGE sql STABLE PARALLEL SAFE
RETURN coder_scale.size(users, coder_scale.get_profile(profile));
COMMENT ON FUNCTION coder_scale.recommend(int, text) IS
  'Sizing recommendation for a number of active users under a stored profile: builds, connections, coderd, provisioners and database, raw and rounded to shapes';

CREATE FUNCTION coder_scale.recommendations(
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
COMMENT ON FUNCTION coder_scale.recommendations(int[], text) IS
  'The seed''s sizing table filled in: one row per user count (default 50, 100, 500, 1000, 3000), coderd totals across replicas';

CREATE FUNCTION coder_scale.derive_profile(
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
BEGIN
  IF name IS NULL OR changes IS NULL THEN
    RAISE EXCEPTION 'name and changes must not be null'
      USING ERRCODE = 'null_value_not_allowed', HINT = 'Give a new profile name and a jsonb object of changes (''{}'' for none).';
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
  p := jsonb_populate_record(coder_scale.get_profile(base), changes);
  p.name := derive_profile.name;
  p.builtin := false;
  p.description := coalesce(derive_profile.description, format('derived from %s', base));
  INSERT INTO coder_scale.profile SELECT p.*;
  RETURN p;
END
$$;
COMMENT ON FUNCTION coder_scale.derive_profile(text, text, jsonb, text) IS
  'Store a new profile: a copy of base with the columns in changes replaced; returns it';

-- The seed's side rules.

CREATE FUNCTION coder_scale.max_concurrent_builds(replicas int, daemons_per_replica int)
RETURNS int
AS 'MODULE_PATHNAME', 'coder_scale_max_concurrent_builds'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION coder_scale.max_concurrent_builds(int, int) IS
  'Most builds that run at once: coderd replicas x provisioner daemons per replica';

CREATE FUNCTION coder_scale.replica_size(
  total_cpu float8, total_memory_gb float8, replicas int, tolerated_failures int DEFAULT 1,
  OUT cpu_per_replica float8, OUT memory_gb_per_replica float8)
AS 'MODULE_PATHNAME', 'coder_scale_replica_size'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION coder_scale.replica_size(float8, float8, int, int) IS
  'Size of each replica when replicas - tolerated_failures of them must carry the total';

CREATE FUNCTION coder_scale.workspace_totals(
  users int, cpu_per_workspace float8, memory_gb_per_workspace float8, overprovisioning float8 DEFAULT 1,
  OUT cpu float8, OUT memory_gb float8)
AS 'MODULE_PATHNAME', 'coder_scale_workspace_totals'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION coder_scale.workspace_totals(int, float8, float8, float8) IS
  'Infrastructure for the workspaces themselves: users x size per workspace, divided by the over-provisioning ratio';

CREATE FUNCTION coder_scale.max_daemons_per_replica(replica_cpu float8, profile coder_scale.profile)
RETURNS int
AS 'MODULE_PATHNAME', 'coder_scale_max_daemons_per_replica'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION coder_scale.max_daemons_per_replica(float8, coder_scale.profile) IS
  'Most built-in provisioner daemons a coderd replica of replica_cpu cores runs, all busy, under the profile''s target utilization';

CREATE FUNCTION coder_scale.max_daemons_per_replica(replica_cpu float8, profile text DEFAULT 'default')
RETURNS int
LANGUAGE sql STABLE PARALLEL SAFE
RETURN coder_scale.max_daemons_per_replica(replica_cpu, coder_scale.get_profile(profile));
COMMENT ON FUNCTION coder_scale.max_daemons_per_replica(float8, text) IS
  'Most built-in provisioner daemons a coderd replica of replica_cpu cores runs, all busy, under a stored profile''s target utilization';

-- ==== sql/parts/25_burst.sql ====
-- The morning burst: a build-queue model (burst.c).

CREATE FUNCTION coder_scale.burst(
  builds int, replicas int, daemons_per_replica int,
  build_time interval, build_time_stddev interval DEFAULT '0',
  OUT slots int, OUT waves int, OUT last_start interval, OUT last_finish interval,
  OUT mean_wait interval, OUT p95_wait interval)
AS 'MODULE_PATHNAME', 'coder_scale_burst'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION coder_scale.burst(int, int, int, interval, interval) IS
  'builds started at once on replicas x daemons slots (FIFO): waves, when the last build starts and finishes (means), mean and p95 wait in the queue';

CREATE FUNCTION coder_scale.daemons_for_wait(
  builds int, p95_wait interval, build_time interval,
  build_time_stddev interval DEFAULT '0', replicas int DEFAULT 1,
  OUT daemons int, OUT daemons_per_replica int, OUT p95_wait interval)
AS 'MODULE_PATHNAME', 'coder_scale_daemons_for_wait'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION coder_scale.daemons_for_wait(int, interval, interval, interval, int) IS
  'Fewest provisioner daemons (total, and per replica) that keep the p95 queue wait of a burst of builds at or under the target';

-- ==== sql/parts/28_model_calculation.sql ====
-- Model calculations kept beside the runs that justify them.

CREATE TABLE coder_scale.model_calculation (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  created_at        timestamptz NOT NULL DEFAULT now(),
  label             text,
  function          text NOT NULL CHECK (function IN ('recommend')),
  inputs            jsonb NOT NULL CHECK (jsonb_typeof(inputs) = 'object'),
  profile_name      text NOT NULL,
  profile_snapshot  jsonb NOT NULL CHECK (jsonb_typeof(profile_snapshot) = 'object'),
  outputs           jsonb NOT NULL CHECK (jsonb_typeof(outputs) = 'object')
);
COMMENT ON TABLE coder_scale.model_calculation IS
  'Recorded model calculations: inputs, a snapshot of the profile used (later edits do not change it), outputs and time';
SELECT pg_catalog.pg_extension_config_dump('coder_scale.model_calculation', '');
SELECT pg_catalog.pg_extension_config_dump('coder_scale.model_calculation_id_seq', '');

CREATE FUNCTION coder_scale.record_recommendation(users int, profile text DEFAULT 'default', label text DEFAULT NULL)
RETURNS coder_scale.model_calculation
LANGUAGE sql VOLATILE
BEGIN ATOMIC
  INSERT INTO coder_scale.model_calculation (label, function, inputs, profile_name, profile_snapshot, outputs)
  SELECT record_recommendation.label, 'recommend',
         jsonb_build_object('users', record_recommendation.users, 'profile', record_recommendation.profile),
         p.name, to_jsonb(p), to_jsonb(coder_scale.size(record_recommendation.users, p))
  FROM coder_scale.get_profile(record_recommendation.profile) AS p
  RETURNING *;
END;
COMMENT ON FUNCTION coder_scale.record_recommendation(int, text, text) IS
  'Compute a recommendation and keep it in coder_scale.model_calculation with a snapshot of the profile; returns the stored row';

-- ==== sql/parts/30_sketch.sql ====
-- The latency sketch: a relative-error quantile sketch (DDSketch family).
-- C in src/sketch*.c; layout and bucket rules in src/sketch.h.

CREATE TYPE coder_scale.sketch;

CREATE FUNCTION coder_scale.sketch_in(cstring) RETURNS coder_scale.sketch
  AS 'MODULE_PATHNAME', 'sketch_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.sketch_out(coder_scale.sketch) RETURNS cstring
  AS 'MODULE_PATHNAME', 'sketch_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.sketch_recv(internal) RETURNS coder_scale.sketch
  AS 'MODULE_PATHNAME', 'sketch_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.sketch_send(coder_scale.sketch) RETURNS bytea
  AS 'MODULE_PATHNAME', 'sketch_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE coder_scale.sketch (
  INPUT = coder_scale.sketch_in,
  OUTPUT = coder_scale.sketch_out,
  RECEIVE = coder_scale.sketch_recv,
  SEND = coder_scale.sketch_send,
  INTERNALLENGTH = VARIABLE,
  STORAGE = extended
);

COMMENT ON TYPE coder_scale.sketch IS
  'Mergeable quantile sketch: every quantile within relative error alpha (default 1%) of a true value; '
  'at most 4096 buckets per sign (1 microsecond to 1 day at 1% needs 1260)';
COMMENT ON FUNCTION coder_scale.sketch_in(cstring) IS 'Text input of coder_scale.sketch, fully validated';
COMMENT ON FUNCTION coder_scale.sketch_out(coder_scale.sketch) IS 'Text output of coder_scale.sketch';
COMMENT ON FUNCTION coder_scale.sketch_recv(internal) IS 'Binary input of coder_scale.sketch, fully validated';
COMMENT ON FUNCTION coder_scale.sketch_send(coder_scale.sketch) IS
  'Binary output of coder_scale.sketch (its stored bytes, version byte first)';

CREATE FUNCTION coder_scale.sketch_from_bytes(bytes bytea) RETURNS coder_scale.sketch
  AS 'MODULE_PATHNAME', 'sketch_from_bytes' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION coder_scale.sketch_from_bytes(bytea) IS
  'The sketch whose binary form (sketch_send) is bytes; checked as binary input is';

-- Aggregate support: internal state, parallel safe.
CREATE FUNCTION coder_scale.sketch_agg_trans(internal, float8) RETURNS internal
  AS 'MODULE_PATHNAME', 'sketch_agg_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION coder_scale.sketch_agg_trans(internal, float8, float8) RETURNS internal
  AS 'MODULE_PATHNAME', 'sketch_agg_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION coder_scale.sketch_rollup_trans(internal, coder_scale.sketch) RETURNS internal
  AS 'MODULE_PATHNAME', 'sketch_rollup_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION coder_scale.sketch_agg_combine(internal, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'sketch_agg_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION coder_scale.sketch_agg_serialize(internal) RETURNS bytea
  AS 'MODULE_PATHNAME', 'sketch_agg_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.sketch_agg_deserialize(bytea, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'sketch_agg_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.sketch_agg_final(internal) RETURNS coder_scale.sketch
  AS 'MODULE_PATHNAME', 'sketch_agg_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION coder_scale.sketch_agg_trans(internal, float8) IS 'sketch_agg transition: add a value';
COMMENT ON FUNCTION coder_scale.sketch_agg_trans(internal, float8, float8) IS
  'sketch_agg transition: add a value, with the accuracy alpha';
COMMENT ON FUNCTION coder_scale.sketch_rollup_trans(internal, coder_scale.sketch) IS
  'rollup transition: merge a stored sketch';
COMMENT ON FUNCTION coder_scale.sketch_agg_combine(internal, internal) IS
  'sketch_agg and rollup: merge two partial states';
COMMENT ON FUNCTION coder_scale.sketch_agg_serialize(internal) IS
  'sketch_agg and rollup: partial state to bytes';
COMMENT ON FUNCTION coder_scale.sketch_agg_deserialize(bytea, internal) IS
  'sketch_agg and rollup: bytes to partial state';
COMMENT ON FUNCTION coder_scale.sketch_agg_final(internal) IS
  'sketch_agg and rollup: state to sketch, NULL for an empty group';

CREATE AGGREGATE coder_scale.sketch_agg(value float8) (
  SFUNC = coder_scale.sketch_agg_trans, STYPE = internal,
  FINALFUNC = coder_scale.sketch_agg_final,
  COMBINEFUNC = coder_scale.sketch_agg_combine,
  SERIALFUNC = coder_scale.sketch_agg_serialize,
  DESERIALFUNC = coder_scale.sketch_agg_deserialize,
  PARALLEL = SAFE
);
CREATE AGGREGATE coder_scale.sketch_agg(value float8, alpha float8) (
  SFUNC = coder_scale.sketch_agg_trans, STYPE = internal,
  FINALFUNC = coder_scale.sketch_agg_final,
  COMBINEFUNC = coder_scale.sketch_agg_combine,
  SERIALFUNC = coder_scale.sketch_agg_serialize,
  DESERIALFUNC = coder_scale.sketch_agg_deserialize,
  PARALLEL = SAFE
);
CREATE AGGREGATE coder_scale.rollup(coder_scale.sketch) (
  SFUNC = coder_scale.sketch_rollup_trans, STYPE = internal,
  FINALFUNC = coder_scale.sketch_agg_final,
  COMBINEFUNC = coder_scale.sketch_agg_combine,
  SERIALFUNC = coder_scale.sketch_agg_serialize,
  DESERIALFUNC = coder_scale.sketch_agg_deserialize,
  PARALLEL = SAFE
);

COMMENT ON AGGREGATE coder_scale.sketch_agg(float8) IS
  'Sketch of the values (NULL skipped; NaN and infinity rejected), alpha 0.01; NULL for no values';
COMMENT ON AGGREGATE coder_scale.sketch_agg(float8, float8) IS
  'Sketch of the values with relative accuracy alpha (0.0001 to 0.5, same for every row)';
COMMENT ON AGGREGATE coder_scale.rollup(coder_scale.sketch) IS
  'Merge stored sketches (same alpha): exactly the sketch of all their values';

-- Accessors.
CREATE FUNCTION coder_scale.approx_percentile(q float8, s coder_scale.sketch) RETURNS float8
  AS 'MODULE_PATHNAME', 'sketch_approx_percentile' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.approx_percentiles(qs float8[], s coder_scale.sketch) RETURNS float8[]
  AS 'MODULE_PATHNAME', 'sketch_approx_percentiles' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.approx_percentile_rank(value float8, s coder_scale.sketch) RETURNS float8
  AS 'MODULE_PATHNAME', 'sketch_approx_percentile_rank' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.num_vals(s coder_scale.sketch) RETURNS bigint
  AS 'MODULE_PATHNAME', 'sketch_num_vals' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.sketch_sum(s coder_scale.sketch) RETURNS float8
  AS 'MODULE_PATHNAME', 'sketch_sum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.mean(s coder_scale.sketch) RETURNS float8
  AS 'MODULE_PATHNAME', 'sketch_mean' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.min_val(s coder_scale.sketch) RETURNS float8
  AS 'MODULE_PATHNAME', 'sketch_min_val' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.max_val(s coder_scale.sketch) RETURNS float8
  AS 'MODULE_PATHNAME', 'sketch_max_val' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.error_bound(s coder_scale.sketch) RETURNS float8
  AS 'MODULE_PATHNAME', 'sketch_error_bound' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION coder_scale.approx_percentile(float8, coder_scale.sketch) IS
  'Value at quantile q (0..1) within relative error alpha; exact min at 0 and max at 1';
COMMENT ON FUNCTION coder_scale.approx_percentiles(float8[], coder_scale.sketch) IS
  'approx_percentile for each quantile of the array (NULL elements stay NULL)';
COMMENT ON FUNCTION coder_scale.approx_percentile_rank(float8, coder_scale.sketch) IS
  'Fraction of the values whose bucket reports a value <= value (0 below min, 1 at or above max)';
COMMENT ON FUNCTION coder_scale.num_vals(coder_scale.sketch) IS 'Number of values in the sketch';
COMMENT ON FUNCTION coder_scale.sketch_sum(coder_scale.sketch) IS 'Sum of the values in the sketch';
COMMENT ON FUNCTION coder_scale.mean(coder_scale.sketch) IS 'Mean of the values in the sketch';
COMMENT ON FUNCTION coder_scale.min_val(coder_scale.sketch) IS 'Smallest value in the sketch (exact)';
COMMENT ON FUNCTION coder_scale.max_val(coder_scale.sketch) IS 'Largest value in the sketch (exact)';
COMMENT ON FUNCTION coder_scale.error_bound(coder_scale.sketch) IS
  'Relative accuracy alpha the sketch was built with';

-- Prometheus histograms.
CREATE FUNCTION coder_scale.sketch_from_histogram(le float8[], cumulative_counts float8[],
                                                  alpha float8 DEFAULT 0.01)
  RETURNS coder_scale.sketch
  AS 'MODULE_PATHNAME', 'sketch_from_histogram' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION coder_scale.sketch_from_histogram(float8[], float8[], float8) IS
  'Sketch from cumulative Prometheus _bucket{le} counts ending with le=+Inf; each bucket''s values '
  'placed at 2*lo*hi/(lo+hi) (first bucket at its bound, +Inf bucket at the last finite bound)';

-- ==== sql/parts/35_counter.sql ====
-- Prometheus counter rates: counter_agg(time, value) and its accessors.
-- C in src/counter_agg.c (rules for resets, duplicates and NaN there).

CREATE TYPE coder_scale.counter_summary;

CREATE FUNCTION coder_scale.counter_summary_in(cstring) RETURNS coder_scale.counter_summary
  AS 'MODULE_PATHNAME', 'counter_summary_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.counter_summary_out(coder_scale.counter_summary) RETURNS cstring
  AS 'MODULE_PATHNAME', 'counter_summary_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.counter_summary_recv(internal) RETURNS coder_scale.counter_summary
  AS 'MODULE_PATHNAME', 'counter_summary_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.counter_summary_send(coder_scale.counter_summary) RETURNS bytea
  AS 'MODULE_PATHNAME', 'counter_summary_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE coder_scale.counter_summary (
  INPUT = coder_scale.counter_summary_in,
  OUTPUT = coder_scale.counter_summary_out,
  RECEIVE = coder_scale.counter_summary_recv,
  SEND = coder_scale.counter_summary_send,
  INTERNALLENGTH = VARIABLE,
  ALIGNMENT = double,
  STORAGE = plain
);

COMMENT ON TYPE coder_scale.counter_summary IS
  'First and last sample, sample and reset counts and increase of a Prometheus counter over a group';
COMMENT ON FUNCTION coder_scale.counter_summary_in(cstring) IS
  'Text input of coder_scale.counter_summary, fully validated';
COMMENT ON FUNCTION coder_scale.counter_summary_out(coder_scale.counter_summary) IS
  'Text output of coder_scale.counter_summary (times in Unix seconds)';
COMMENT ON FUNCTION coder_scale.counter_summary_recv(internal) IS
  'Binary input of coder_scale.counter_summary, fully validated';
COMMENT ON FUNCTION coder_scale.counter_summary_send(coder_scale.counter_summary) IS
  'Binary output of coder_scale.counter_summary (version byte first)';

CREATE FUNCTION coder_scale.counter_agg_trans(internal, timestamptz, float8) RETURNS internal
  AS 'MODULE_PATHNAME', 'counter_agg_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION coder_scale.counter_agg_combine(internal, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'counter_agg_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION coder_scale.counter_agg_serialize(internal) RETURNS bytea
  AS 'MODULE_PATHNAME', 'counter_agg_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.counter_agg_deserialize(bytea, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'counter_agg_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.counter_agg_final(internal) RETURNS coder_scale.counter_summary
  AS 'MODULE_PATHNAME', 'counter_agg_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION coder_scale.counter_agg_trans(internal, timestamptz, float8) IS
  'counter_agg transition: keep a sample';
COMMENT ON FUNCTION coder_scale.counter_agg_combine(internal, internal) IS
  'counter_agg: merge two partial states';
COMMENT ON FUNCTION coder_scale.counter_agg_serialize(internal) IS 'counter_agg: partial state to bytes';
COMMENT ON FUNCTION coder_scale.counter_agg_deserialize(bytea, internal) IS
  'counter_agg: bytes to partial state';
COMMENT ON FUNCTION coder_scale.counter_agg_final(internal) IS
  'counter_agg: sort the samples by time and summarize them; NULL for an empty group';

CREATE AGGREGATE coder_scale.counter_agg(ts timestamptz, value float8) (
  SFUNC = coder_scale.counter_agg_trans, STYPE = internal,
  FINALFUNC = coder_scale.counter_agg_final,
  COMBINEFUNC = coder_scale.counter_agg_combine,
  SERIALFUNC = coder_scale.counter_agg_serialize,
  DESERIALFUNC = coder_scale.counter_agg_deserialize,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE coder_scale.counter_agg(timestamptz, float8) IS
  'Summary of a Prometheus counter''s samples in any order: a decrease is a reset; NULL and NaN '
  'skipped; of equal times the largest value kept; 16 bytes of memory per sample';

CREATE FUNCTION coder_scale.increase(cs coder_scale.counter_summary) RETURNS float8
  AS 'MODULE_PATHNAME', 'counter_increase' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.rate(cs coder_scale.counter_summary) RETURNS float8
  AS 'MODULE_PATHNAME', 'counter_rate' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.num_resets(cs coder_scale.counter_summary) RETURNS bigint
  AS 'MODULE_PATHNAME', 'counter_num_resets' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.time_delta(cs coder_scale.counter_summary) RETURNS float8
  AS 'MODULE_PATHNAME', 'counter_time_delta' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION coder_scale.increase(coder_scale.counter_summary) IS
  'Increase of the counter from first to last sample, counting from 0 after each reset (no extrapolation)';
COMMENT ON FUNCTION coder_scale.rate(coder_scale.counter_summary) IS
  'increase / time_delta, per second; NULL for a single sample';
COMMENT ON FUNCTION coder_scale.num_resets(coder_scale.counter_summary) IS
  'Number of decreases (counter resets) between the samples';
COMMENT ON FUNCTION coder_scale.time_delta(coder_scale.counter_summary) IS
  'Seconds between the first and the last sample';

-- ==== sql/parts/50_results.sql ====
-- Results schema: scale-test runs, their per-workspace results, and the
-- Prometheus samples scraped while they ran.  The table and column names
-- of failure_category, run, run_result, metric_series and metric_sample
-- are a contract with the load driver (SCHEMA-CONTRACT.md): add, never rename.

-- ---------------------------------------------------------------------------
-- Failure categories: what a user counts failed runs by.
-- ---------------------------------------------------------------------------
CREATE TABLE coder_scale.failure_category (
  name        text PRIMARY KEY CHECK (name ~ '^[a-z_]+$'),
  wording     text NOT NULL UNIQUE CHECK (wording <> ''),
  sort_order  int  NOT NULL UNIQUE,
  description text NOT NULL DEFAULT ''
);
COMMENT ON TABLE coder_scale.failure_category IS
  'Why a scale-test run failed, as a user counts it; classify_failure() maps Coder''s error text to a name';
COMMENT ON COLUMN coder_scale.failure_category.name IS 'Stable key stored in run_result.failure_category';
COMMENT ON COLUMN coder_scale.failure_category.wording IS
  'Words after the count in run_summary.summary, e.g. ''failed to connect'' in ''2 failed to connect''';
COMMENT ON COLUMN coder_scale.failure_category.sort_order IS 'Order of the categories in summaries (phase order)';
COMMENT ON COLUMN coder_scale.failure_category.description IS 'Which of Coder''s errors fall here';

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

-- ---------------------------------------------------------------------------
-- Runs
-- ---------------------------------------------------------------------------
CREATE TABLE coder_scale.run (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  label               text,
  kind                text NOT NULL CHECK (kind IN ('create-workspaces', 'ingest', 'scrape')),
  status              text NOT NULL CHECK (status IN ('running', 'completed', 'aborted', 'failed')),
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
COMMENT ON COLUMN coder_scale.run.status IS 'running, completed, aborted or failed; finished_at is NULL while running';
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
  value     float8 NOT NULL,
  PRIMARY KEY (series_id, time)
) PARTITION BY RANGE (time);
CREATE TABLE coder_scale.metric_sample_default PARTITION OF coder_scale.metric_sample DEFAULT;
COMMENT ON TABLE coder_scale.metric_sample IS
  'One scraped value of a series; partitioned by day (see add_sample_partitions, drop_sample_partitions)';
COMMENT ON TABLE coder_scale.metric_sample_default IS
  'Samples outside every day partition; add_sample_partitions() moves them into their day';
COMMENT ON COLUMN coder_scale.metric_sample.time IS 'Scrape time (or the sample''s own timestamp)';
COMMENT ON COLUMN coder_scale.metric_sample.value IS 'The sample value (counters are cumulative)';

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
  IF from_time IS NULL OR to_time IS NULL OR to_time < from_time THEN
    RAISE EXCEPTION 'from_time and to_time must be given, with to_time >= from_time'
      USING ERRCODE = '22023', HINT = 'Pass the first and last time the samples cover.';
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
  PERFORM coder_scale.add_sample_partitions(NEW.started_at, NEW.started_at + interval '1 day');
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION coder_scale.run_sample_partitions() IS
  'Trigger on run: create the metric_sample partitions of the run''s first two days (as the extension owner)';
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

-- The driver and ingest write these; let pg_dump keep the seeded rows users change.
SELECT pg_catalog.pg_extension_config_dump('coder_scale.run', '');
SELECT pg_catalog.pg_extension_config_dump('coder_scale.run_result', '');
SELECT pg_catalog.pg_extension_config_dump('coder_scale.metric_series', '');
SELECT pg_catalog.pg_extension_config_dump('coder_scale.metric_sample_default', '');
SELECT pg_catalog.pg_extension_config_dump('coder_scale.run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('coder_scale.metric_series_id_seq', '');

-- ==== sql/parts/55_classify.sql ====
-- Failure classification: Coder's error text (and logs) -> failure_category.name.
-- The one place that knows Coder's error strings (scaletest/createworkspaces,
-- scaletest/workspacebuild, scaletest/reconnectingpty in coder/coder).

-- Coder writes an error with fmt "%+v": xerrors chains then come out on
-- several lines, each wrap followed by its stack frame and the next wrap
-- prefixed with "  - ":
--     create workspace:
--         github.com/coder/coder/v2/scaletest/createworkspaces.(*Runner).Run
--             /src/scaletest/createworkspaces/run.go:118
--       - wait for build:
--         ...
--       - build failed with status "failed": exit status 1
-- normalize_error() drops the frame lines and joins the rest into the
-- one-line form "create workspace: wait for build: build failed ...", lowercased.
CREATE FUNCTION coder_scale.normalize_error(error text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN btrim(regexp_replace(regexp_replace(regexp_replace(lower(error),
         -- frame lines: an indented function name, or an indented file.go:line
         '\n[ \t]+([^ \t\n]+\.go:[0-9]+|[^ \t\n]*\([^ \t\n]*\)[^ \t\n]*|[a-z0-9_.\-]+/[^ \t\n]*\.[a-z0-9_]+)[ \t]*(?=\n|$)', '', 'g'),
         '\n[ \t]*(- )?', ' ', 'g'),
         ':[ \t]+', ': ', 'g'));
COMMENT ON FUNCTION coder_scale.normalize_error(text) IS
  'Coder''s error text on one line, lowercased, stack frames of "%+v" output removed (input of classify_failure)';

CREATE FUNCTION coder_scale.classify_failure(error text, logs text DEFAULT NULL)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (
  WITH e AS (SELECT coder_scale.normalize_error(error) AS n)
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
COMMENT ON FUNCTION coder_scale.classify_failure(text, text) IS
  'The failure_category name of a run from Coder''s error text (one-line or "%+v" multi-line); the logs place a bare "context deadline exceeded"; NULL for a pass ("<nil>", empty or NULL)';

-- ==== sql/parts/60_reporting.sql ====
-- Reporting: one query per question, shaped for psql and for Grafana's
-- PostgreSQL data source (time series have a "time" column, numeric values
-- and string labels).

-- Raise P0002 unless the run exists (every reporting function checks its run ids here).
CREATE FUNCTION coder_scale.require_run(run_id bigint)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
  IF run_id IS NULL THEN
    RAISE EXCEPTION 'run id must not be NULL'
      USING ERRCODE = '22004', HINT = 'Pass the id of a run: SELECT id, label, started_at FROM coder_scale.run ORDER BY id.';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM coder_scale.run r WHERE r.id = require_run.run_id) THEN
    RAISE EXCEPTION 'run % does not exist', run_id
      USING ERRCODE = 'P0002', HINT = 'List the runs with: SELECT id, label, started_at FROM coder_scale.run ORDER BY id.';
  END IF;
END
$$;
COMMENT ON FUNCTION coder_scale.require_run(bigint) IS
  'Raise an error (P0002, or 22004 for NULL) unless the run exists; used by the reporting functions';

-- Raise 22023 unless the interval can be a time bucket.
CREATE FUNCTION coder_scale.require_bucket(bucket interval)
RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
  IF bucket IS NULL OR bucket <= interval '0' THEN
    RAISE EXCEPTION 'bucket must be a positive interval'
      USING ERRCODE = '22023', DETAIL = format('The bucket given was %s.', coalesce(bucket::text, 'NULL')),
            HINT = 'Use for example ''10 seconds'' or ''1 minute''.';
  END IF;
  IF extract(month FROM bucket) <> 0 OR extract(year FROM bucket) <> 0 THEN
    RAISE EXCEPTION 'bucket must not contain months or years'
      USING ERRCODE = '22023', HINT = 'Use days instead, for example ''30 days''.';
  END IF;
END
$$;
COMMENT ON FUNCTION coder_scale.require_bucket(interval) IS
  'Raise an error (22023) unless the interval is a positive bucket width without months or years';

-- ---------------------------------------------------------------------------
-- run_summary
-- ---------------------------------------------------------------------------
CREATE VIEW coder_scale.run_summary AS
SELECT r.id AS run_id,
       r.label,
       r.kind,
       r.status,
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
       coalesce(r.finished_at, c.last_finished) - r.started_at AS elapsed,
       c.avg_duration,
       c.succeeded || ' succeeded' || coalesce(', ' || f.failures, '') AS summary
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
         max(rr.finished_at) AS last_finished,
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
  'Per run: total, succeeded, failed, failures per category, elapsed, average duration and a one-line summary like ''998 succeeded, 2 failed to connect''';
COMMENT ON COLUMN coder_scale.run_summary.elapsed IS 'finished_at - started_at of the run (while running: up to the last finished result)';
COMMENT ON COLUMN coder_scale.run_summary.avg_duration IS 'Mean duration over every result, passed or failed (as Coder''s Avg. duration)';
COMMENT ON COLUMN coder_scale.run_summary.summary IS
  'N succeeded, then each non-zero failure category as count and wording, in failure_category.sort_order';

-- ---------------------------------------------------------------------------
-- phase_latency
-- ---------------------------------------------------------------------------
CREATE VIEW coder_scale.phase_latency AS
SELECT rr.run_id,
       p.phase,
       p.phase_order,
       count(*) AS count,
       min(p.took) AS min,
       percentile_cont(0.50) WITHIN GROUP (ORDER BY p.took) AS p50,
       percentile_cont(0.90) WITHIN GROUP (ORDER BY p.took) AS p90,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY p.took) AS p95,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY p.took) AS p99,
       max(p.took) AS max
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
WHERE p.took IS NOT NULL
GROUP BY rr.run_id, p.phase_order, p.phase;
COMMENT ON VIEW coder_scale.phase_latency IS
  'Per run and phase (create_user .. cleanup, then total = Coder''s duration): count, min, exact p50/p90/p95/p99 (percentile_cont) and max over the results where the phase is known';
COMMENT ON COLUMN coder_scale.phase_latency.phase_order IS 'Order of the phase within a run (sort by it)';

-- ---------------------------------------------------------------------------
-- throughput
-- ---------------------------------------------------------------------------
CREATE FUNCTION coder_scale.throughput(run_id bigint, bucket interval DEFAULT '10 seconds')
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
  IF extract(epoch FROM t_last - t_first) / extract(epoch FROM throughput.bucket) > 1000000 THEN
    RAISE EXCEPTION 'bucket % gives more than 1000000 buckets for run %', throughput.bucket, throughput.run_id
      USING ERRCODE = '54000', HINT = 'Use a wider bucket.';
  END IF;
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
COMMENT ON FUNCTION coder_scale.throughput(bigint, interval) IS
  'Workspace runs started, finished (passed or failed) and failed per time bucket of a run, buckets aligned on the run''s start, empty buckets included (Grafana time series)';

-- Latency per phase over time (Grafana: one series per phase).
CREATE FUNCTION coder_scale.phase_latency_over_time(run_id bigint, bucket interval DEFAULT '10 seconds')
RETURNS TABLE ("time" timestamptz, phase text, count bigint, p50 float8, p95 float8, max float8)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
#variable_conflict use_column
DECLARE
  origin timestamptz;
BEGIN
  PERFORM coder_scale.require_run(phase_latency_over_time.run_id);
  PERFORM coder_scale.require_bucket(phase_latency_over_time.bucket);
  SELECT r.started_at INTO origin FROM coder_scale.run r WHERE r.id = phase_latency_over_time.run_id;
  RETURN QUERY
  SELECT date_bin(phase_latency_over_time.bucket, rr.finished_at, origin), p.phase, count(*),
         percentile_cont(0.50) WITHIN GROUP (ORDER BY extract(epoch FROM p.took)::float8),
         percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM p.took)::float8),
         max(extract(epoch FROM p.took)::float8)
  FROM coder_scale.run_result rr
  CROSS JOIN LATERAL (VALUES
    (1, 'create_user', rr.create_user), (2, 'create_workspace', rr.create_workspace),
    (3, 'queue_wait', rr.queue_wait), (4, 'build', rr.build), (5, 'agents_connect', rr.agents_connect),
    (6, 'command', rr.command), (7, 'cleanup', rr.cleanup), (8, 'total', rr.duration)
  ) AS p (phase_order, phase, took)
  WHERE rr.run_id = phase_latency_over_time.run_id AND rr.finished_at IS NOT NULL AND p.took IS NOT NULL
  GROUP BY 1, p.phase_order, p.phase
  ORDER BY 1, p.phase_order;
END
$$;
COMMENT ON FUNCTION coder_scale.phase_latency_over_time(bigint, interval) IS
  'Per time bucket (by when each workspace run finished) and phase: count, exact p50 and p95 and max in seconds (Grafana time series, one per phase)';

-- ---------------------------------------------------------------------------
-- Component usage from samples
-- ---------------------------------------------------------------------------
-- CPU, per counter series and bucket: coder_scale.rate(coder_scale.counter_agg())
-- = the increase from the bucket's first to its last sample, counting from 0
-- after a reset (a decrease), over the seconds between them (a bucket needs
-- two samples of a series).  A component's cores = the sum over its series.
-- Memory and connections: per series the mean in the bucket, times scale,
-- summed.  NaN samples are skipped.
CREATE FUNCTION coder_scale.component_usage_over_time(run_id bigint, bucket interval DEFAULT '30 seconds')
RETURNS TABLE ("time" timestamptz, component text, cpu_cores float8, memory_bytes float8, connections float8)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
#variable_conflict use_column
DECLARE
  origin timestamptz;
BEGIN
  PERFORM coder_scale.require_run(component_usage_over_time.run_id);
  PERFORM coder_scale.require_bucket(component_usage_over_time.bucket);
  SELECT r.started_at INTO origin FROM coder_scale.run r WHERE r.id = component_usage_over_time.run_id;
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
           sum(g.v) FILTER (WHERE g.kind = 'connections_gauge') AS conns
    FROM gauge_series g
    GROUP BY 1, 2
  )
  SELECT coalesce(cpu.t, gauge.t), coalesce(cpu.component, gauge.component), cpu.cores, gauge.memory, gauge.conns
  FROM cpu FULL JOIN gauge ON gauge.component = cpu.component AND gauge.t = cpu.t
  ORDER BY 1, 2;
END
$$;
COMMENT ON FUNCTION coder_scale.component_usage_over_time(bigint, interval) IS
  'CPU cores (counter rate within each bucket, resets handled), memory bytes and connections per component and time bucket of a run, from the series component_metric maps (Grafana time series)';

CREATE VIEW coder_scale.component_usage AS
SELECT r.id AS run_id,
       u.component,
       max(u.cpu_cores) AS peak_cpu_cores,
       avg(u.cpu_cores) AS avg_cpu_cores,
       max(u.memory_bytes) AS peak_memory_bytes,
       avg(u.memory_bytes) AS avg_memory_bytes,
       max(u.connections) AS peak_connections
FROM coder_scale.run r
CROSS JOIN LATERAL coder_scale.component_usage_over_time(r.id, '30 seconds') u
GROUP BY r.id, u.component;
COMMENT ON VIEW coder_scale.component_usage IS
  'Per run and component: peak and average CPU cores, memory bytes and peak connections over 30-second buckets of component_usage_over_time()';

-- ---------------------------------------------------------------------------
-- compare_runs
-- ---------------------------------------------------------------------------
CREATE FUNCTION coder_scale.compare_runs(a bigint, b bigint)
RETURNS TABLE (section text, item text, measure text, run_a float8, run_b float8, change_pct numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
#variable_conflict use_column
BEGIN
  PERFORM coder_scale.require_run(compare_runs.a);
  PERFORM coder_scale.require_run(compare_runs.b);
  RETURN QUERY
  WITH m AS (
    -- (run, section order, section, item order, item, measure order, measure, value)
    SELECT s.run_id, 1 AS so, 'run' AS section, 0 AS io, 'all' AS item, v.mo, v.measure, v.value
    FROM coder_scale.run_summary s
    CROSS JOIN LATERAL (VALUES
      (1, 'total', s.total::float8),
      (2, 'succeeded', s.succeeded::float8),
      (3, 'failed', s.failed::float8),
      (4, 'elapsed_s', extract(epoch FROM s.elapsed)::float8),
      (5, 'avg_duration_s', extract(epoch FROM s.avg_duration)::float8)) v (mo, measure, value)
    WHERE s.run_id IN (compare_runs.a, compare_runs.b)
    UNION ALL
    SELECT l.run_id, 2, 'phase', l.phase_order, l.phase, v.mo, v.measure, v.value
    FROM coder_scale.phase_latency l
    CROSS JOIN LATERAL (VALUES
      (1, 'count', l.count::float8),
      (2, 'p50_s', extract(epoch FROM l.p50)::float8),
      (3, 'p95_s', extract(epoch FROM l.p95)::float8),
      (4, 'max_s', extract(epoch FROM l.max)::float8)) v (mo, measure, value)
    WHERE l.run_id IN (compare_runs.a, compare_runs.b)
    UNION ALL
    SELECT u.run_id, 3, 'component', 0, u.component, v.mo, v.measure, v.value
    FROM coder_scale.component_usage u
    CROSS JOIN LATERAL (VALUES
      (1, 'peak_cpu_cores', u.peak_cpu_cores),
      (2, 'avg_cpu_cores', u.avg_cpu_cores),
      (3, 'peak_memory_bytes', u.peak_memory_bytes),
      (4, 'avg_memory_bytes', u.avg_memory_bytes)) v (mo, measure, value)
    WHERE u.run_id IN (compare_runs.a, compare_runs.b)
  ), ma AS (SELECT * FROM m WHERE m.run_id = compare_runs.a),
     mb AS (SELECT * FROM m WHERE m.run_id = compare_runs.b)
  SELECT coalesce(ma.section, mb.section), coalesce(ma.item, mb.item), coalesce(ma.measure, mb.measure),
         ma.value, mb.value,
         CASE WHEN ma.value <> 0 THEN round(((mb.value - ma.value) / abs(ma.value) * 100)::numeric, 1) END
  FROM ma FULL JOIN mb ON mb.section = ma.section AND mb.item = ma.item AND mb.measure = ma.measure
  ORDER BY coalesce(ma.so, mb.so), coalesce(ma.io, mb.io), coalesce(ma.item, mb.item), coalesce(ma.mo, mb.mo);
END
$$;
COMMENT ON FUNCTION coder_scale.compare_runs(bigint, bigint) IS
  'Two runs side by side: totals, per-phase latency (seconds) and per-component usage, with the change from a to b in percent (NULL when a is 0 or missing)';
