\set ECHO none
\i test/lib/setup.psql
SELECT plan(27);

-- the seed's worked examples
SELECT is(coder_scale.max_concurrent_builds(2, 30), 60, '2 replicas x 30 daemons = 60 concurrent builds');
SELECT is(coder_scale.max_concurrent_builds(replicas => 3, daemons_per_replica => 0), 0, 'no daemons, no builds');
SELECT results_eq($$SELECT * FROM coder_scale.replica_size(6, 24, 3, 1)$$,
                  $$VALUES (3::float8, 12::float8)$$,
                  '3 replicas surviving one failure: each carries the total divided by 2');
SELECT results_eq($$SELECT * FROM coder_scale.replica_size(total_cpu => 8, total_memory_gb => 16, replicas => 4)$$,
                  $$VALUES (8 / 3.0::float8, 16 / 3.0::float8)$$, 'one failure is the default');
SELECT results_eq($$SELECT * FROM coder_scale.replica_size(8, 16, 4, 0)$$, $$VALUES (2::float8, 4::float8)$$,
                  'with no failure tolerated the total is shared by all');
SELECT results_eq($$SELECT * FROM coder_scale.workspace_totals(100, 8, 16)$$, $$VALUES (800::float8, 1600::float8)$$,
                  '100 users with 8-core, 16 GB workspaces need 800 cores and 1,600 GB');
SELECT results_eq($$SELECT * FROM coder_scale.workspace_totals(100, 8, 16, overprovisioning => 4)$$,
                  $$VALUES (200::float8, 400::float8)$$, 'over-provisioning 4:1 divides the totals by 4');

-- daemons per replica under the target utilization:
-- default: (4 x 0.7 - 0.25) / (1.0 + 0.02) = 2.5
SELECT is(coder_scale.max_daemons_per_replica(4), 2, 'a 4-core replica runs 2 built-in daemons under default');
-- rules-of-thumb-2024: (8 x 1.0 - 0) / 0.5 = 16
SELECT is(coder_scale.max_daemons_per_replica(8, 'rules-of-thumb-2024'), 16,
          'an 8-core replica runs 16 daemons of 0.5 cores at 100%');
SELECT is(coder_scale.max_daemons_per_replica(0.25), 0, 'a replica whose base cost fills it runs none');
SELECT is(coder_scale.max_daemons_per_replica(16, coder_scale.get_profile('default')), 10,
          'the profile may be given as a row: (16 x 0.7 - 0.25) / 1.02 = 10.7');

-- bad arguments
SELECT throws_ok($$SELECT coder_scale.max_concurrent_builds(0, 30)$$, '22023', 'replicas must be at least 1, not 0',
                 'zero replicas');
SELECT throws_ok($$SELECT coder_scale.max_concurrent_builds(2, -1)$$, '22023', NULL, 'negative daemons');
SELECT throws_ok($$SELECT coder_scale.max_concurrent_builds(100000, 100000)$$, '22003',
                 '100000 replicas x 100000 daemons is out of range', 'overflow');
SELECT throws_ok($$SELECT coder_scale.max_concurrent_builds(NULL, 3)$$, '22004', 'replicas must not be null', 'NULL replicas');
SELECT throws_ok($$SELECT * FROM coder_scale.replica_size(6, 24, 3, 3)$$, '22023',
                 'tolerated_failures (3) must be smaller than replicas (3)', 'failures >= replicas');
SELECT throws_ok($$SELECT * FROM coder_scale.replica_size('NaN', 24, 3, 1)$$, '22023',
                 'total_cpu must be a finite number, not NaN', 'NaN total');
SELECT throws_ok($$SELECT * FROM coder_scale.replica_size(-1, 24, 3, 1)$$, '22023', NULL, 'negative total');
SELECT throws_ok($$SELECT * FROM coder_scale.workspace_totals(100, 8, 16, 0.5)$$, '22023',
                 'overprovisioning must be at least 1, not 0.5', 'over-provisioning below 1');
SELECT throws_ok($$SELECT * FROM coder_scale.workspace_totals(100, 'Infinity', 16)$$, '22023', NULL, 'infinite size');
SELECT throws_ok($$SELECT * FROM coder_scale.workspace_totals(0, 8, 16)$$, '22023', NULL, 'zero users');
SELECT throws_ok($$SELECT * FROM coder_scale.workspace_totals(10000000, 1e300, 16)$$, '22003', NULL, 'overflow of the totals');
SELECT throws_ok($$SELECT coder_scale.max_daemons_per_replica(0)$$, '22023', NULL, 'a replica of 0 cores');
SELECT throws_ok($$SELECT coder_scale.max_daemons_per_replica(1e300)$$, '22003', NULL,
                 'a replica too large to count its daemons is an error, not a saturated int');
\i test/lib/hint_of.psql
SELECT is((SELECT array_agg(q ORDER BY q) FROM unnest(ARRAY[
             $$SELECT coder_scale.max_concurrent_builds(0, 1)$$,
             $$SELECT coder_scale.max_concurrent_builds(NULL, 1)$$,
             $$SELECT coder_scale.replica_size(-1, 1, 2)$$,
             $$SELECT coder_scale.replica_size('nan', 1, 2)$$,
             $$SELECT coder_scale.replica_size(1, 1, 2, 2)$$,
             $$SELECT coder_scale.workspace_totals(10, 1, 1, 0.5)$$,
             $$SELECT coder_scale.max_daemons_per_replica(0)$$,
             $$SELECT coder_scale.max_daemons_per_replica(1e300)$$,
             $$SELECT coder_scale.daemons_for_wait(100, '-1 s', '1 min', '1 min')$$]) q
           WHERE coalesce(pg_temp.hint_of(q), '') = ''), NULL,
          'every error of the side rules has a hint');
SELECT is(pg_temp.hint_of($$SELECT coder_scale.max_concurrent_builds(0, 1)$$),
          'Pass max_concurrent_builds() a whole number of 1 or more for replicas.',
          'the hint names the function and the argument');
SELECT throws_ok($$SELECT coder_scale.max_daemons_per_replica(4, 'nope')$$, '22023', 'unknown profile "nope"', 'unknown profile');

SELECT * FROM finish();
ROLLBACK;
