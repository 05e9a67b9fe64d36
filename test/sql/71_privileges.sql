\set ECHO none
\i test/lib/setup.psql
SELECT plan(13);

-- What a role may do with the extension's objects: with USAGE on the schema
-- alone it reads nothing and changes nothing; with the reader grants of the
-- README ("Roles") it reads every table and view and still changes nothing,
-- whichever function it calls and whatever it attaches triggers to.
\i test/lib/calls.psql

-- some data to lose
INSERT INTO coder_scale.run (kind, status, label, started_at, finished_at)
  VALUES ('create-workspaces', 'completed', 'kept', '2026-01-05 10:00Z', '2026-01-05 10:05Z');
INSERT INTO coder_scale.run_result (run_id, full_id, started_at, duration, outcome)
  SELECT id, 'workspacebuild/0', '2026-01-05 10:00Z', '10 s', 'pass' FROM coder_scale.run;
INSERT INTO coder_scale.metric_series (run_id, component, name) SELECT id, 'coderd', 'up' FROM coder_scale.run;
INSERT INTO coder_scale.metric_sample SELECT id, '2026-01-05 10:00Z', 1 FROM coder_scale.metric_series;
SELECT count(*) FROM coder_scale.record_recommendation(100);

CREATE TEMP TABLE relations AS
SELECT c.oid::regclass AS rel, c.relkind FROM pg_class c
WHERE c.relnamespace = 'coder_scale'::regnamespace AND c.relkind IN ('r', 'p', 'v');
-- snapshot(): every row of every table of the schema, as one digest
CREATE FUNCTION pg_temp.snapshot() RETURNS text LANGUAGE plpgsql AS $f$
DECLARE r record; d text; acc text := '';
BEGIN
  FOR r IN SELECT rel FROM pg_temp.relations WHERE relkind = 'r' ORDER BY rel::text LOOP
    EXECUTE format('SELECT md5(coalesce(string_agg(t::text, E''\n'' ORDER BY t::text), '''')) FROM %s t', r.rel) INTO d;
    acc := acc || r.rel::text || '=' || d || ';';
  END LOOP;
  RETURN md5(acc) || ' ' || (SELECT count(*) FROM pg_class WHERE relnamespace = 'coder_scale'::regnamespace);
END $f$;
-- try(sql): the SQLSTATE it ends with ('00000' when it succeeds)
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
  EXECUTE sql;
  RETURN '00000';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $f$;
-- every write a role could try on every table and view
CREATE TEMP TABLE writes AS
SELECT rel, w.sql FROM relations r CROSS JOIN LATERAL (VALUES
  (format('INSERT INTO %s DEFAULT VALUES', r.rel)),
  (format('UPDATE %1$s SET %2$I = %2$I', r.rel,
          (SELECT attname FROM pg_attribute WHERE attrelid = r.rel AND attnum > 0 AND attidentity = ''
           ORDER BY attnum LIMIT 1))),
  (format('DELETE FROM %s', r.rel)),
  (format('TRUNCATE %s CASCADE', r.rel))) w(sql)
WHERE r.relkind <> 'v' OR w.sql NOT LIKE 'TRUNCATE%';
-- and the functions that write, with arguments that would change something
INSERT INTO writes VALUES
  (NULL, $$SELECT coder_scale.derive_profile('mine')$$),
  (NULL, $$SELECT coder_scale.record_recommendation(100)$$),
  (NULL, $$SELECT coder_scale.add_sample_partitions('2030-01-01', '2030-01-03')$$),
  (NULL, $$SELECT coder_scale.drop_sample_partitions('2027-01-01')$$);
-- every trigger function, attached to a table of the role's own
CREATE TEMP TABLE attaches AS
SELECT p.oid::regprocedure AS fn,
       format('CREATE TRIGGER t%s AFTER INSERT ON pg_temp.mine REFERENCING NEW TABLE AS new_samples FOR EACH STATEMENT EXECUTE FUNCTION %s()',
              row_number() OVER (), p.oid::regproc) AS sql
FROM pg_proc p WHERE p.pronamespace = 'coder_scale'::regnamespace AND p.prorettype = 'trigger'::regtype;
CREATE TEMP TABLE before AS SELECT pg_temp.snapshot() AS digest;

-- the two roles
CREATE ROLE coder_scale_test_usage;
GRANT USAGE ON SCHEMA coder_scale TO coder_scale_test_usage;
CREATE ROLE coder_scale_test_reader;
GRANT USAGE ON SCHEMA coder_scale TO coder_scale_test_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA coder_scale TO coder_scale_test_reader;
GRANT SELECT ON relations, writes, attaches, calls TO coder_scale_test_usage, coder_scale_test_reader;

-- as the role: reads, writes, attaches, calls
CREATE FUNCTION pg_temp.as_role(r name) RETURNS TABLE (what text, detail text, state text) LANGUAGE plpgsql AS $f$
DECLARE x record;
BEGIN
  EXECUTE format('SET LOCAL ROLE %I', r);
  CREATE TEMP TABLE IF NOT EXISTS mine (series_id bigint);
  FOR x IN SELECT rel FROM pg_temp.relations ORDER BY 1 LOOP
    what := 'read'; detail := x.rel::text; state := pg_temp.try(format('SELECT * FROM %s LIMIT 1', x.rel)); RETURN NEXT;
  END LOOP;
  FOR x IN SELECT * FROM pg_temp.writes ORDER BY 1, 2 LOOP
    what := 'write'; detail := x.sql; state := pg_temp.try(x.sql); RETURN NEXT;
  END LOOP;
  FOR x IN SELECT * FROM pg_temp.attaches ORDER BY 1 LOOP
    what := 'attach'; detail := x.fn::text; state := pg_temp.try(x.sql); RETURN NEXT;
  END LOOP;
  FOR x IN SELECT * FROM pg_temp.calls ORDER BY fn, null_at LOOP
    what := 'call'; detail := x.sql; state := pg_temp.try(x.sql); RETURN NEXT;
  END LOOP;
  RESET ROLE;
END $f$;

CREATE TEMP TABLE usage_only AS SELECT * FROM pg_temp.as_role('coder_scale_test_usage');
SELECT is((SELECT count(*)::int FROM usage_only WHERE what = 'read' AND state <> '42501'), 0,
          'USAGE only: no table or view can be read');
SELECT is((SELECT count(*)::int FROM usage_only WHERE what = 'write' AND state NOT IN ('42501', '55000')), 0,
          'USAGE only: every insert, update, delete, truncate and writing function is refused');
SELECT is((SELECT count(*)::int FROM usage_only WHERE what = 'attach' AND state <> '42501'), 0,
          'USAGE only: no trigger function of the extension can be attached to a table of its own');
SELECT cmp_ok((SELECT count(*)::int FROM usage_only WHERE what = 'attach'), '>=', 3, '... all of them tried');
SELECT is((SELECT digest FROM before), pg_temp.snapshot(), 'USAGE only: after every call of every function, nothing changed');
SELECT ok((SELECT count(*) FROM usage_only WHERE what = 'call' AND state = '00000'
           AND detail LIKE 'SELECT coder_scale.max_concurrent_builds(%') > 0,
          'USAGE only: a pure function of the model works');

CREATE TEMP TABLE reader AS SELECT * FROM pg_temp.as_role('coder_scale_test_reader');
SELECT is((SELECT count(*)::int FROM reader WHERE what = 'read' AND state <> '00000'), 0,
          'reader: every table and view can be read');
SELECT is((SELECT count(*)::int FROM reader WHERE what = 'write' AND state NOT IN ('42501', '55000')), 0,
          'reader: every insert, update, delete, truncate and writing function is refused');
SELECT is((SELECT count(*)::int FROM reader WHERE what = 'attach' AND state <> '42501'), 0,
          'reader: no trigger function can be attached');
SELECT is((SELECT digest FROM before), pg_temp.snapshot(), 'reader: after every call of every function, nothing changed');
SELECT ok((SELECT count(*) FROM reader WHERE what = 'call' AND state = '00000' AND detail LIKE 'SELECT coder_scale.recommend(%') > 0,
          'reader: recommend() works');
SELECT ok((SELECT count(*) FROM reader WHERE what = 'call' AND state = '00000' AND detail LIKE 'SELECT coder_scale.throughput(%') > 0,
          'reader: the reporting functions work');
SELECT is((SELECT count(*)::int FROM reader WHERE state LIKE 'XX%' OR state LIKE '58%')
          + (SELECT count(*)::int FROM usage_only WHERE state LIKE 'XX%' OR state LIKE '58%'), 0,
          'no attempt of either role ends in an internal error');

SELECT * FROM finish();
ROLLBACK;
