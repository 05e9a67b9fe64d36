\set ECHO none
\i test/lib/setup.psql
SELECT plan(33);

-- Coder's validated architectures, January 2026 (reference/coder-sizing.md):
-- users, concurrent builds, coderd vCPU / GB per replica x replicas, provisioners, database vCPU / GB.
SELECT results_eq(
  $$SELECT users, concurrent_builds, cpu_per_replica, memory_gb_per_replica, replicas,
           provisioner_daemons, database_cpu, database_memory_gb
    FROM unnest(ARRAY[1000, 2000, 3000]) u, coder_scale.recommend(u) ORDER BY users$$,
  $$VALUES (1000,  60, 2::float8,  8::float8, 3,  60,  8::float8,  30::float8),
           (2000, 120, 4::float8, 12::float8, 3, 120, 16::float8,  60::float8),
           (3000, 180, 4::float8, 12::float8, 4, 180, 32::float8, 120::float8)$$,
  'default reproduces Coder''s published 1,000 / 2,000 / 3,000 user architectures');
SELECT results_eq(
  $$SELECT running_workspaces FROM unnest(ARRAY[1000, 2000, 3000]) u, coder_scale.recommend(u) ORDER BY users$$,
  $$VALUES (600), (1200), (1800)$$,
  'default keeps Coder''s 1 : 0.6 : 0.06 scenario ratio');
SELECT results_eq(
  $$SELECT provisioner_hosts, provisioner_cpu, provisioner_memory_gb
    FROM unnest(ARRAY[1000, 3000]) u, coder_scale.recommend(u) ORDER BY users$$,
  $$VALUES (2, 60::float8, 60::float8), (6, 180::float8, 180::float8)$$,
  'one 1 vCPU / 1 GB daemon per build, at most 30 per host');
SELECT is((coder_scale.recommend(3000)).tolerated_failures, 1, 'from 1,000 users on, one replica may fail');
SELECT is((coder_scale.recommend(999)).replicas, 1, 'below 1,000 users one replica is enough');

-- the raw requirements stay visible beside the shapes
SELECT is((coder_scale.recommend(1000)).database_cpu_required, 6.29::float8,
          'database requirement at 1,000 users: (0.5 + 60 x 0.04 + 1000 x 0.0015) / 0.7 = 6.29 vCPU');
SELECT is((coder_scale.recommend(3000)).database_cpu_required, 17.43::float8,
          'database requirement at 3,000 users: 12.2 / 0.7 = 17.43 vCPU, rounded up to the 32 vCPU shape');
SELECT ok((r).cpu_per_replica_required <= (r).cpu_per_replica AND (r).cpu_per_replica_required > 2,
          'at 3,000 users each of 4 replicas needs more than 2 vCPU, at most 4')
FROM (SELECT coder_scale.recommend(3000) AS r) s;
SELECT is((coder_scale.recommend(1000)).traffic_mbps, 6.15::float8,
          '600 connections x 10 KiB/s = 6.15 MB/s');

-- totals are totals across replicas, as the seed table says
SELECT is((r).coderd_cpu, (r).replicas * (r).cpu_per_replica, 'coderd_cpu is replicas x cpu per replica')
FROM (SELECT coder_scale.recommend(3000) AS r) s;
SELECT is((r).coderd_memory_gb, 48::float8, 'coderd memory at 3,000 users: 4 x 12 GB')
FROM (SELECT coder_scale.recommend(3000) AS r) s;

-- small and large deployments: sensible and non-decreasing
SELECT results_eq(
  $$SELECT active_users, coderd_cpu, coderd_memory_gb, database_cpu FROM coder_scale.recommendations()$$,
  $$VALUES (50, 1::float8, 4::float8, 2::float8), (100, 1, 4, 2), (500, 2, 8, 4), (1000, 6, 24, 8), (3000, 16, 48, 32)$$,
  'recommendations() fills the seed''s five rows');
SELECT is((SELECT coderd_layout FROM coder_scale.recommendations(ARRAY[2000])), '3 x 4 vCPU / 12 GB',
          'recommendations() shows the coderd layout');
SELECT throws_ok($$SELECT * FROM coder_scale.recommendations('{{1,2},{3,4}}')$$, '2202E',
                 'users must be a one-dimensional array, not 2 dimensions', 'recommendations() refuses a 2-D array');
SELECT results_eq($$SELECT active_users FROM coder_scale.recommendations(ARRAY[3000, 50, 1000])$$,
                  $$VALUES (3000), (50), (1000)$$, 'recommendations() keeps the order it was given');

CREATE TEMP TABLE sweep AS
SELECT r.*
FROM coder_scale.profile p, generate_series(1, 100000) u, coder_scale.size(u, p) r
WHERE p.builtin;
SELECT is((SELECT count(*)::int FROM sweep), 200000, 'both builtin profiles sized for 1..100,000 users');
SELECT is((SELECT count(*)::int FROM (
  SELECT users,
         concurrent_builds - lag(concurrent_builds) OVER w AS d_builds,
         concurrent_connections - lag(concurrent_connections) OVER w AS d_conn,
         coderd_cpu - lag(coderd_cpu) OVER w AS d_cpu,
         coderd_memory_gb - lag(coderd_memory_gb) OVER w AS d_mem,
         provisioner_daemons - lag(provisioner_daemons) OVER w AS d_prov,
         database_cpu - lag(database_cpu) OVER w AS d_dbcpu,
         database_memory_gb - lag(database_memory_gb) OVER w AS d_dbmem
  FROM sweep WINDOW w AS (PARTITION BY profile ORDER BY users)) d
  WHERE d_builds < 0 OR d_conn < 0 OR d_cpu < 0 OR d_mem < 0 OR d_prov < 0 OR d_dbcpu < 0 OR d_dbmem < 0), 0,
  'no total ever decreases as users grow, 1..100,000 users, both profiles');
SELECT is((SELECT count(*)::int FROM sweep
           WHERE cpu_per_replica_required > cpu_per_replica + 1e-9
              OR memory_gb_per_replica_required > memory_gb_per_replica + 1e-9
              OR (database_fits_shape AND (database_cpu_required > database_cpu OR database_memory_gb_required > database_memory_gb))),
          0, 'every chosen shape holds its raw requirement');
SELECT is((SELECT max(replicas) FROM sweep WHERE profile = 'default'), 79,
          '100,000 users need 79 replicas of 4 vCPU under default');

-- the older rules of thumb
SELECT results_eq(
  $$SELECT users, coderd_cpu, coderd_memory_gb, provisioner_cpu, database_cpu, database_memory_gb
    FROM unnest(ARRAY[100, 250, 1000, 1500, 2000, 3000]) u, coder_scale.recommend(u, 'rules-of-thumb-2024') ORDER BY users$$,
  $$VALUES (100,  1::float8,  2::float8,  3::float8, 2::float8,  8::float8),
           (250,  1,  2,  7.5, 2,  8),
           (1000, 4,  8, 30, 2,  8),
           (1500, 6, 12, 45, 4, 16),
           (2000, 8, 16, 60, 4, 16),
           (3000, 12, 24, 90, 6, 24)$$,
  'rules-of-thumb-2024: 1 vCPU / 2 GB per 250 users, 1 vCPU per 2 builds, 2 vCPU + 2 per further 1,000 users');

-- a profile built on the fly is checked too
SELECT throws_ok($$SELECT coder_scale.size(100, jsonb_populate_record(p, '{"build_fraction": 1.5}')) FROM coder_scale.get_profile('default') p$$,
                 '22023', 'profile "default": build_fraction must be a fraction between 0 and 1, not 1.5',
                 'size() checks a profile built on the fly');
SELECT throws_ok($$SELECT coder_scale.size(100, jsonb_populate_record(p, '{"coderd_cpu_per_build": "NaN"}')) FROM coder_scale.get_profile('default') p$$,
                 '22023', NULL, 'size() rejects NaN parameters');
SELECT throws_ok($$SELECT coder_scale.size(100, jsonb_populate_record(p, '{"ha_tolerated_failures": 3}')) FROM coder_scale.get_profile('default') p$$,
                 '22023', 'profile "default": ha_tolerated_failures must be smaller than ha_min_replicas',
                 'size() rejects failures >= replicas');
SELECT throws_ok($$SELECT coder_scale.size(100, jsonb_populate_record(p, '{"database_shape_cpu": [4, 2]}')) FROM coder_scale.get_profile('default') p$$,
                 '22023', NULL, 'size() rejects malformed shapes');
SELECT throws_ok($$SELECT coder_scale.size(100, jsonb_populate_record(p, '{"target_utilization": null}')) FROM coder_scale.get_profile('default') p$$,
                 '22004', NULL, 'size() rejects a NULL parameter');

-- bad arguments
SELECT throws_ok($$SELECT coder_scale.recommend(0)$$, '22023', 'users must be positive, not 0', 'zero users');
SELECT throws_ok($$SELECT coder_scale.recommend(-5)$$, '22023', 'users must be positive, not -5', 'negative users');
SELECT throws_ok($$SELECT coder_scale.recommend(NULL)$$, '22004', 'users must not be null', 'NULL users');
SELECT throws_ok($$SELECT coder_scale.recommend(20000000)$$, '22003', 'users must be at most 10000000, not 20000000',
                 'absurd user counts');
SELECT throws_ok($$SELECT coder_scale.recommend(100, 'nope')$$, '22023', 'unknown profile "nope"', 'unknown profile');
SELECT throws_ok($$SELECT * FROM coder_scale.recommendations(ARRAY[100, NULL])$$, '22004', 'users must not be null',
                 'a NULL in the user list');
SELECT throws_ok($$SELECT * FROM coder_scale.recommendations('{}')$$, '22004', NULL, 'an empty user list');
SELECT throws_ok($$SELECT coder_scale.size(3000, jsonb_populate_record(p, '{"max_replica_cpu": 1, "coderd_cpu_base_per_replica": 0.8}')) FROM coder_scale.get_profile('default') p$$,
                 '22003', NULL, 'a load no layout can carry is an error, not a nonsense number');

SELECT * FROM finish();
ROLLBACK;
