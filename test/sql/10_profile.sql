\set ECHO none
\i test/lib/setup.psql
SELECT plan(37);

-- the table and its builtins
SELECT has_table('coder_scale', 'profile', 'table coder_scale.profile exists');
SELECT results_eq($$SELECT name FROM coder_scale.profile WHERE builtin ORDER BY name$$,
                  $$VALUES ('default'), ('rules-of-thumb-2024')$$,
                  'two builtin profiles ship with the extension');
SELECT is((SELECT count(*)::int FROM pg_attribute a
           WHERE a.attrelid = 'coder_scale.profile'::regclass AND a.attnum > 0 AND NOT a.attisdropped
             AND col_description(a.attrelid, a.attnum) IS NULL
            ), 0,
          'every column of coder_scale.profile has a comment');
SELECT is(coder_scale.get_profile('default') IS NOT NULL, true, 'get_profile finds default');

-- CHECK constraints reject impossible values (23514)
CREATE TEMP TABLE good AS SELECT * FROM coder_scale.profile WHERE name = 'default';
UPDATE good SET name = 'mine', builtin = false;
INSERT INTO coder_scale.profile SELECT * FROM good;
SELECT ok(EXISTS (SELECT 1 FROM coder_scale.profile WHERE name = 'mine'), 'a user adds a profile with plain INSERT');

SELECT throws_ok($$UPDATE coder_scale.profile SET build_fraction = 1.5 WHERE name = 'mine'$$,
                 '23514', NULL, 'a fraction above 1 is rejected');
SELECT throws_ok($$UPDATE coder_scale.profile SET dashboard_fraction = -0.1 WHERE name = 'mine'$$,
                 '23514', NULL, 'a negative fraction is rejected');
SELECT throws_ok($$UPDATE coder_scale.profile SET running_fraction = 'NaN' WHERE name = 'mine'$$,
                 '23514', NULL, 'a NaN fraction is rejected');
SELECT throws_ok($$UPDATE coder_scale.profile SET coderd_cpu_per_build = 'Infinity' WHERE name = 'mine'$$,
                 '23514', NULL, 'an infinite cost is rejected');
SELECT throws_ok($$UPDATE coder_scale.profile SET database_cpu_per_user = -1 WHERE name = 'mine'$$,
                 '23514', NULL, 'a negative cost is rejected');
SELECT throws_ok($$UPDATE coder_scale.profile SET target_utilization = 0 WHERE name = 'mine'$$,
                 '23514', NULL, 'a target utilization of 0 is rejected');
SELECT throws_ok($$UPDATE coder_scale.profile SET ha_tolerated_failures = 3 WHERE name = 'mine'$$,
                 '23514', NULL, 'tolerated failures must stay below the minimum replicas');
SELECT throws_ok($$UPDATE coder_scale.profile SET coderd_shape_cpu = '{2,1,4,8,16}' WHERE name = 'mine'$$,
                 '23514', NULL, 'unsorted shapes are rejected');
SELECT throws_ok($$UPDATE coder_scale.profile SET database_shape_cpu = '{2,4}' WHERE name = 'mine'$$,
                 '23514', NULL, 'shape arrays of different lengths are rejected');
SELECT throws_ok($$UPDATE coder_scale.profile SET coderd_shape_memory_gb = '{4,8,NULL,24,48}' WHERE name = 'mine'$$,
                 '23514', NULL, 'a NULL shape is rejected');
SELECT throws_ok($$UPDATE coder_scale.profile SET max_replica_cpu = 0.5 WHERE name = 'mine'$$,
                 '23514', NULL, 'a replica cap below the smallest shape is rejected');
SELECT throws_ok($$UPDATE coder_scale.profile SET name = 'Has Spaces' WHERE name = 'mine'$$,
                 '23514', NULL, 'profile names are plain identifiers');

-- get_profile errors
SELECT throws_ok($$SELECT coder_scale.get_profile('nope')$$, '22023', 'unknown profile "nope"',
                 'an unknown profile is an error');
SELECT throws_like($$SELECT coder_scale.get_profile(NULL)$$, '%must not be null%',
                   'a NULL profile name is an error');
DO $$
BEGIN
  PERFORM coder_scale.get_profile('nope');
EXCEPTION WHEN invalid_parameter_value THEN
  DECLARE h text;
  BEGIN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    CREATE TEMP TABLE hint_seen AS SELECT h AS hint;
  END;
END $$;
SELECT is((SELECT hint FROM hint_seen), 'Known profiles: ''default'', ''mine'', ''rules-of-thumb-2024''.',
          'the hint lists the known profiles');

-- derive_profile
SELECT is((coder_scale.derive_profile('cautious', 'default', '{"target_utilization": 0.5}')).target_utilization,
          0.5::float8, 'derive_profile changes the named column');
SELECT is((SELECT build_fraction FROM coder_scale.profile WHERE name = 'cautious'), 0.06::float8,
          'derive_profile keeps the other columns of the base');
SELECT is((SELECT builtin FROM coder_scale.profile WHERE name = 'cautious'), false,
          'a derived profile is not builtin');
SELECT is((SELECT description FROM coder_scale.profile WHERE name = 'cautious'), 'derived from default',
          'a derived profile says where it comes from');
SELECT throws_ok($$SELECT coder_scale.derive_profile('x', 'default', '{"no_such_column": 1}')$$, '22023',
                 'changes name columns that cannot be changed this way: no_such_column',
                 'derive_profile rejects unknown columns');
SELECT throws_ok($$SELECT coder_scale.derive_profile('x', 'default', '{"builtin": true}')$$, '22023', NULL,
                 'derive_profile does not make builtins');
SELECT throws_ok($$SELECT coder_scale.derive_profile('x', 'default', '[1]')$$, '22023', NULL,
                 'derive_profile wants a jsonb object');
SELECT throws_ok($$SELECT coder_scale.derive_profile('x', 'nope')$$, '22023', 'unknown profile "nope"',
                 'derive_profile from an unknown base is an error');
SELECT throws_ok($$SELECT coder_scale.derive_profile('cautious')$$, '42710', 'profile "cautious" already exists',
                 'derive_profile does not overwrite an existing profile, and names it');
SELECT throws_ok($$SELECT coder_scale.derive_profile('x', 'default', '{"build_fraction": 2}')$$, '22023',
                 'profile "x": build_fraction must be a fraction between 0 and 1, not 2',
                 'derive_profile names the parameter out of range and its range');
SELECT throws_ok($$SELECT coder_scale.derive_profile('x', 'default', '{"ha_tolerated_failures": 5}')$$, '22023',
                 'profile "x": ha_tolerated_failures must be smaller than ha_min_replicas',
                 '... and a rule between two parameters');
SELECT throws_ok($$SELECT coder_scale.derive_profile('x', 'default', '{"target_utilization": null}')$$, '22004',
                 'changes set target_utilization to null', 'derive_profile refuses a NULL parameter by name');
SELECT throws_ok($$SELECT coder_scale.derive_profile('x', 'default', '{"max_daemons_per_host": "many"}')$$, '22023', NULL,
                 'derive_profile refuses a value of the wrong type');
SELECT throws_ok($$SELECT coder_scale.derive_profile('Bad Name')$$, '22023', 'invalid profile name "Bad Name"',
                 'derive_profile refuses a name the profile table would');
-- every error of derive_profile carries a hint
\i test/lib/hint_of.psql
SELECT is((SELECT count(*)::int FROM unnest(ARRAY[
             $$SELECT coder_scale.derive_profile('cautious')$$,
             $$SELECT coder_scale.derive_profile('x', 'default', '{"build_fraction": 2}')$$,
             $$SELECT coder_scale.derive_profile('x', 'default', '{"target_utilization": null}')$$,
             $$SELECT coder_scale.derive_profile('x', 'default', '{"max_daemons_per_host": "many"}')$$,
             $$SELECT coder_scale.derive_profile('Bad Name')$$]) q
           WHERE coalesce(pg_temp.hint_of(q), '') = ''), 0, 'every error of derive_profile has a hint');
SELECT is(pg_temp.hint_of($$SELECT coder_scale.derive_profile('cautious')$$),
          'Choose another name, or remove the old one first: DELETE FROM coder_scale.profile WHERE name = ''cautious''.',
          'the hint for a taken name says what to do');
SELECT throws_ok($$SELECT coder_scale.derive_profile(NULL)$$, '22004', NULL,
                 'derive_profile needs a name');

SELECT * FROM finish();
ROLLBACK;
