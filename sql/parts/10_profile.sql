-- Sizing profiles: every assumption and cost coefficient of the sizing model,
-- one named row each. The model (sizing.c) is formulas over these columns.

CREATE FUNCTION coder_scale.shapes_valid(cpu float8[], memory_gb float8[])
RETURNS boolean
AS 'MODULE_PATHNAME', 'coder_scale_shapes_valid'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
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

  -- workload: how many users build, run workspaces and connect, and what they send
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
