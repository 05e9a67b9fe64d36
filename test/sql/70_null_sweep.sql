\set ECHO none
\i test/lib/setup.psql
SELECT plan(6);

-- Every C function of the extension, with NULL in each argument position in
-- turn (and in none), whatever its STRICT setting: none may crash the server
-- (a crash ends this script before finish()), and none fails as an internal
-- error would.  SQL functions are called too.  Then the same as a role with nothing but USAGE on the schema.
\i test/lib/calls.psql

SELECT ok((SELECT count(*) FROM samples s RIGHT JOIN (SELECT DISTINCT unnest(proargtypes::oid[])::regtype t FROM pg_proc
                                                      WHERE pronamespace = 'coder_scale'::regnamespace AND prokind = 'f') a
           ON s.type = a.t WHERE s.type IS NULL) = 0, 'every argument type has a sample value');
SELECT is((SELECT count(DISTINCT fn)::int FROM calls WHERE language = 'c'),
          (SELECT count(*)::int FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
           WHERE p.pronamespace = 'coder_scale'::regnamespace AND l.lanname = 'c'),
          'the sweep calls every C function of the extension');

CREATE TEMP TABLE owner_run AS SELECT r.*, c.language FROM pg_temp.run_calls() r JOIN calls c USING (fn, null_at);
SELECT is((SELECT count(*)::int FROM owner_run), (SELECT count(*)::int FROM calls),
          'as the owner: every call returned (no crash)');
SELECT is((SELECT array_agg(DISTINCT fn::text || ' ' || null_at || ': ' || state) FROM owner_run
           WHERE state LIKE 'XX%' OR state LIKE '58%'), NULL,
          'as the owner: no call fails with an internal or system error');

CREATE ROLE coder_scale_test_usage_only;
GRANT USAGE ON SCHEMA coder_scale TO coder_scale_test_usage_only;
GRANT SELECT ON calls TO coder_scale_test_usage_only;
SET LOCAL ROLE coder_scale_test_usage_only;
CREATE TEMP TABLE usage_run AS SELECT * FROM pg_temp.run_calls();
RESET ROLE;
SELECT is((SELECT count(*)::int FROM usage_run), (SELECT count(*)::int FROM calls),
          'as a role with only USAGE: every call returned (no crash)');
SELECT is((SELECT array_agg(DISTINCT fn::text || ' ' || null_at || ': ' || state) FROM usage_run
           WHERE state LIKE 'XX%' OR state LIKE '58%'), NULL,
          'as a role with only USAGE: no call fails with an internal or system error');

SELECT * FROM finish();
ROLLBACK;
