-- The sizing model: recommend(), recommendations(), and the model's side rules.

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
  'One row of the sizing table: users, builds, connections and the size of coderd, provisioners and database (coderd figures are totals across replicas), and the layout behind them';

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
COMMENT ON FUNCTION coder_scale.recommendations(int[], text) IS
  'The sizing table: one row per user count (default 50, 100, 500, 1000, 3000), coderd totals across replicas';

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
COMMENT ON FUNCTION coder_scale.derive_profile(text, text, jsonb, text) IS
  'Store a new profile: a copy of base with the columns in changes replaced; returns it';

-- The model's side rules, each callable on its own.

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
