\set ECHO none
\i test/lib/setup.psql
SELECT plan(10);
SET search_path = coder_scale, public;

-- Forced parallel plans give the answers of serial ones.  (A temporary table
-- is never scanned in parallel, hence a plain one, dropped by the ROLLBACK.)
SET seed = 0.3;
CREATE TABLE par_lat AS
  SELECT i, exp(ln(0.05) + sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) AS v
  FROM generate_series(1, 300000) i;
ANALYZE par_lat;
CREATE TABLE par_stored AS SELECT i % 1000 AS m, sketch_agg(v) AS s FROM par_lat GROUP BY 1;
ANALYZE par_stored;

CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  r text;
  out text := '';
BEGIN
  FOR r IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
    out := out || r || E'\n';
  END LOOP;
  RETURN out;
END $$;

SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial AS
  SELECT approx_percentiles(ARRAY(SELECT g / 1000.0 FROM generate_series(0, 1000) g), s) AS qs,
         num_vals(s) AS n, sketch_sum(s) AS total, s::text AS t
  FROM (SELECT sketch_agg(v) s FROM par_lat) z;
CREATE TEMP TABLE serial_groups AS
  SELECT i % 5 AS g, approx_percentiles('{0,0.5,0.9,0.99,1}', sketch_agg(v, 0.02)) AS qs
  FROM par_lat GROUP BY 1;
CREATE TEMP TABLE serial_rollup AS SELECT rollup(s)::text AS t FROM par_stored;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;

SELECT matches(pg_temp.plan_of('SELECT sketch_agg(v) FROM par_lat'), 'Workers Launched: [12].*Partial Aggregate',
               'sketch_agg runs as a partial aggregate in parallel workers');
SELECT matches(pg_temp.plan_of('SELECT rollup(s) FROM par_stored'), 'Workers Launched: [12]',
               'rollup runs with parallel workers');
SELECT matches(pg_temp.plan_of('SELECT i % 5, sketch_agg(v, 0.02) FROM par_lat GROUP BY 1'),
               'Workers Launched: [12]', 'grouped sketch_agg runs with parallel workers');

SELECT is((SELECT approx_percentiles(ARRAY(SELECT g / 1000.0 FROM generate_series(0, 1000) g), sketch_agg(v)) FROM par_lat),
          (SELECT qs FROM serial), 'parallel and serial give the same 1001 quantiles');
SELECT is((SELECT num_vals(sketch_agg(v)) FROM par_lat), (SELECT n FROM serial), 'and the same count');
SELECT ok((SELECT abs(sketch_sum(sketch_agg(v)) / (SELECT total FROM serial) - 1) < 1e-12 FROM par_lat),
          'and the same sum up to float rounding');
SELECT is((SELECT regexp_replace(sketch_agg(v)::text, ' sum=[^ ]*', '') FROM par_lat),
          (SELECT regexp_replace(t, ' sum=[^ ]*', '') FROM serial), 'and the same buckets');
SELECT results_eq($$SELECT i % 5, approx_percentiles('{0,0.5,0.9,0.99,1}', sketch_agg(v, 0.02)) FROM par_lat GROUP BY 1 ORDER BY 1$$,
                  $$SELECT g, qs FROM serial_groups ORDER BY 1$$, 'grouped: the same quantiles per group');
SELECT is((SELECT regexp_replace(rollup(s)::text, ' sum=[^ ]*', '') FROM par_stored),
          (SELECT regexp_replace(t, ' sum=[^ ]*', '') FROM serial_rollup), 'parallel rollup equals serial rollup');
SELECT is((SELECT regexp_replace(rollup(s)::text, ' sum=[^ ]*', '') FROM par_stored),
          (SELECT regexp_replace(t, ' sum=[^ ]*', '') FROM serial), 'rollup of 1000 stored sketches equals the sketch of all rows');

SELECT * FROM finish();
ROLLBACK;
