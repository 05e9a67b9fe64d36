\set ECHO none
\i test/lib/setup.psql
SELECT plan(3);

SELECT has_schema('coder_scale', 'the extension creates schema coder_scale');
SELECT is((SELECT extrelocatable FROM pg_extension WHERE extname = 'coder_scale'), false,
          'the extension is not relocatable');
SELECT is((SELECT count(*)::int FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'coder_scale' AND obj_description(p.oid, 'pg_proc') IS NULL), 0,
          'every function and aggregate in coder_scale has a comment');

SELECT * FROM finish();
ROLLBACK;
