\set ECHO none
\i test/lib/setup.psql
SELECT plan(62);
SET search_path = coder_scale, public;

-- 5000 log-normal latencies (median 50 ms), reproducible.
SET seed = 0.42;
CREATE TEMP TABLE lat AS
  SELECT i, exp(ln(0.05) + sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) AS v
  FROM generate_series(1, 5000) i;
CREATE TEMP TABLE lat_sorted AS
  SELECT row_number() OVER (ORDER BY v) - 1 AS r, v FROM lat;
CREATE TEMP TABLE s AS SELECT sketch_agg(v) AS s, sketch_agg(v, 0.05) AS s5 FROM lat;

-- plain facts
SELECT is((SELECT num_vals(s) FROM s), 5000::bigint, 'num_vals counts every value');
SELECT is((SELECT min_val(s) FROM s), (SELECT min(v) FROM lat), 'min_val is the exact minimum');
SELECT is((SELECT max_val(s) FROM s), (SELECT max(v) FROM lat), 'max_val is the exact maximum');
SELECT ok((SELECT abs(sketch_sum(s) - (SELECT sum(v) FROM lat)) < 1e-9 FROM s), 'sketch_sum is the sum');
SELECT ok((SELECT abs(mean(s) - (SELECT avg(v) FROM lat)) < 1e-12 FROM s), 'mean is the mean');
SELECT is((SELECT error_bound(s) FROM s), 0.01::float8, 'default alpha is 0.01');
SELECT is((SELECT error_bound(s5) FROM s), 0.05::float8, 'alpha is settable per aggregate');
SELECT is((SELECT approx_percentile(0, s) FROM s), (SELECT min(v) FROM lat), 'q = 0 gives the exact min');
SELECT is((SELECT approx_percentile(1, s) FROM s), (SELECT max(v) FROM lat), 'q = 1 gives the exact max');

-- the guarantee: within alpha of the value of rank floor(q * (n - 1))
SELECT is((SELECT count(*)::int FROM s, generate_series(1, 999) k, lat_sorted
           WHERE r = floor(k / 1000.0 * 4999)
             AND abs(approx_percentile(k / 1000.0, s) - v) > 0.01 * v * (1 + 1e-12)), 0,
          'every quantile 0.001..0.999 is within 1% of the true value');
SELECT is((SELECT count(*)::int FROM s, generate_series(1, 99) k, lat_sorted
           WHERE r = floor(k / 100.0 * 4999)
             AND abs(approx_percentile(k / 100.0, s5) - v) > 0.05 * v * (1 + 1e-12)), 0,
          'with alpha 0.05 every percentile is within 5%');
SELECT ok((SELECT bool_and(abs(a - e) <= 0.01 * e * (1 + 1e-12))
           FROM s, unnest(approx_percentiles('{0.5,0.95,0.99}', s),
                          (SELECT percentile_disc('{0.5,0.95,0.99}'::float8[]) WITHIN GROUP (ORDER BY v) FROM lat)) AS u(a, e)),
          'p50, p95, p99 within 1% of percentile_disc');

-- monotone and clamped
SELECT ok((SELECT bool_and(a >= prev) FROM (
             SELECT a, lag(a, 1, '-Infinity') OVER (ORDER BY k) AS prev
             FROM s, unnest(approx_percentiles(ARRAY(SELECT g / 2000.0 FROM generate_series(0, 2000) g), s))
                     WITH ORDINALITY AS u(a, k)) z),
          'approx_percentiles is monotone in q');
SELECT ok((SELECT bool_and(a BETWEEN min_val(s) AND max_val(s))
           FROM s, unnest(approx_percentiles(ARRAY(SELECT g / 2000.0 FROM generate_series(0, 2000) g), s)) a),
          'every quantile lies between min and max');
SELECT is((SELECT approx_percentiles('{0.5,NULL,1}', s) FROM s),
          ARRAY[(SELECT approx_percentile(0.5, s) FROM s), NULL, (SELECT max(v) FROM lat)],
          'approx_percentiles equals approx_percentile element by element, NULL stays NULL');
SELECT is((SELECT approx_percentiles('{}', s) FROM s), '{}'::float8[], 'an empty array gives an empty array');

-- NULLs and empty groups
SELECT is((SELECT num_vals(sketch_agg(x)) FROM unnest('{1,NULL,3}'::float8[]) x), 2::bigint,
          'NULL values are skipped');
SELECT ok((SELECT sketch_agg(x) IS NULL FROM unnest('{}'::float8[]) x), 'an empty group gives NULL');
SELECT ok((SELECT sketch_agg(x) IS NULL FROM unnest('{NULL,NULL}'::float8[]) x), 'only NULLs give NULL');
SELECT ok((SELECT approx_percentile(0.5, sketch_agg(x)) IS NULL FROM unnest('{}'::float8[]) x),
          'a percentile of an empty group is NULL');

-- zero and negative values
SELECT is((SELECT approx_percentiles('{0,0.5,1}', sketch_agg(x)) FROM unnest('{-2,0,1,3.5}'::float8[]) x),
          '{-2,0,3.5}'::float8[], 'zero is counted exactly; min and max exact for negatives');
SELECT is((SELECT approx_percentile(0.6, sketch_agg(x)) FROM unnest('{-2,-1,0,0,5}'::float8[]) x), 0::float8,
          'rank 2.4 of {-2,-1,0,0,5} is exactly 0');
SELECT ok((SELECT abs(approx_percentile(0.25, sketch_agg(x)) + 1) <= 0.01 FROM unnest('{-2,-1,0,0,5}'::float8[]) x),
          'negative values within 1%');

-- percentile rank
SELECT ok((SELECT approx_percentile_rank(50, sketch_agg(x)) BETWEEN 0.49 AND 0.50
           FROM generate_series(1, 100) x), 'rank of 50 in 1..100 is 0.49 or 0.50');
SELECT is((SELECT approx_percentile_rank(0.5, sketch_agg(x)) FROM generate_series(1, 100) x), 0::float8,
          'rank below min is 0');
SELECT is((SELECT approx_percentile_rank(100, sketch_agg(x)) FROM generate_series(1, 100) x), 1::float8,
          'rank at max is 1');
SELECT is((SELECT approx_percentile_rank(-1.5, sketch_agg(x)) FROM unnest('{-2,-1,0,0,5}'::float8[]) x), 0.2::float8,
          'rank of -1.5 in {-2,-1,0,0,5} is 1/5');
SELECT is((SELECT approx_percentile_rank(0, sketch_agg(x)) FROM unnest('{-2,-1,0,0,5}'::float8[]) x), 0.8::float8,
          'rank of 0 in {-2,-1,0,0,5} is 4/5');

-- merging is exact: rollup of parts has the buckets of the whole
SELECT is((SELECT regexp_replace(rollup(p)::text, ' sum=[^ ]*', '') FROM (
             SELECT sketch_agg(v) p FROM lat GROUP BY i % 7) z),
          (SELECT regexp_replace(s::text, ' sum=[^ ]*', '') FROM s),
          'rollup of 7 partial sketches equals the sketch of all values (sum aside)');
SELECT ok((SELECT rollup(p) IS NULL FROM (SELECT NULL::sketch p) z), 'rollup of NULL is NULL');

-- bounded size: 1 microsecond to 1 day at 1% fits, a wider range folds its lowest buckets
SELECT ok((SELECT abs(approx_percentile(0.25, s) / 1e-6 - 1) <= 0.01 AND abs(approx_percentile(0.75, s) / 86400 - 1) <= 0.01
           FROM (SELECT sketch_agg(x) s FROM (SELECT 1e-6 x FROM generate_series(1, 10)
                                              UNION ALL SELECT 86400 FROM generate_series(1, 10)) y) z),
          '1 microsecond and 1 day in one sketch, both within 1%');
SELECT ok((SELECT abs(approx_percentile(0.4, sketch_agg(x)) / 2e-6 - 1) <= 0.01
           FROM (SELECT 1e-6 * (1 + (g % 2)) x FROM generate_series(1, 10) g
                 UNION ALL SELECT 86400 FROM generate_series(1, 10)) z),
          'a 2 microsecond value beside 1 day is still within 1%');
CREATE TEMP TABLE wide AS SELECT ('1e' || k)::float8 AS x FROM generate_series(-300, 300) k;
SELECT ok((SELECT approx_percentile(0.1, sketch_agg(x)) > 1e-200 FROM wide),
          'beyond 4096 buckets the lowest values are folded upwards');
SELECT ok((SELECT bool_and(abs(approx_percentile(q, s) / ('1e' || floor(q * 600) - 300)::float8 - 1) <= 0.01)
           FROM (SELECT sketch_agg(x) s FROM wide) z, unnest('{0.95,0.99,0.999}'::float8[]) q),
          'the high quantiles of a folded sketch keep 1%');
SELECT is((SELECT regexp_replace(rollup(p)::text, ' sum=[^ ]*', '') FROM (
             SELECT sketch_agg(x) p FROM wide GROUP BY round(log(x))::int % 5) z),
          (SELECT regexp_replace(sketch_agg(x)::text, ' sum=[^ ]*', '') FROM wide),
          'merging folded sketches is exact too');

-- text and binary forms round-trip
SELECT is((SELECT s::text::sketch::text FROM s), (SELECT s::text FROM s), 'text output reads back');
SELECT is((SELECT sketch_send(sketch_from_bytes(sketch_send(s))) FROM s), (SELECT sketch_send(s) FROM s),
          'binary output reads back');
SELECT is((SELECT get_byte(sketch_send(s), 0) FROM s), 1, 'the first stored byte is the version');
SELECT is(('v=1 alpha=0.01 count=4 zeros=1 sum=2.5 min=-2 max=3.5 pos=0:1,63:1 neg=35:1'::sketch)::text,
          (SELECT sketch_agg(x)::text FROM unnest('{-2,0,1,3.5}'::float8[]) x),
          'a typed-in sketch equals the aggregated one');

-- sketch_from_histogram: coderd's GET /api/v2/appearance/ (2 requests, both in (0.001, 0.005])
SELECT ok((SELECT abs(approx_percentile(0.5, h) / (2 * 0.001 * 0.005 / 0.006) - 1) < 1e-12
                  AND num_vals(h) = 2 FROM (
             SELECT sketch_from_histogram('{0.001,0.005,0.01,0.025,0.05,0.1,0.5,1,5,10,30,Infinity}',
                                          '{0,2,2,2,2,2,2,2,2,2,2,2}') h) z),
          'histogram values are placed at 2ab/(a+b) of their bucket (min and max exact)');
SELECT is((SELECT approx_percentiles('{0,1}', sketch_from_histogram('{0.1,1,Infinity}', '{1,1,3}'))),
          '{0.1,1}'::float8[], 'first bucket at its bound, +Inf bucket at the last finite bound');
SELECT ok((SELECT sketch_from_histogram('{1,Infinity}', '{0,0}') IS NULL), 'an empty histogram gives NULL');

-- errors
SELECT throws_ok($$SELECT approx_percentile(1.5, s) FROM s$$, '22003',
                 'percentile value 1.5 is not between 0 and 1', 'q above 1 is rejected');
SELECT throws_ok($$SELECT approx_percentiles('{0.5,-0.1}', s) FROM s$$, '22003',
                 'percentile value -0.1 is not between 0 and 1', 'q below 0 in an array is rejected');
SELECT throws_ok($$SELECT approx_percentile('NaN', s) FROM s$$, '22023',
                 'percentile must not be NaN', 'q NaN is rejected');
SELECT throws_ok($$SELECT sketch_agg(x) FROM unnest('{1,NaN}'::float8[]) x$$, '22003',
                 'sketch_agg values must be finite, got NaN', 'NaN values are rejected');
SELECT throws_ok($$SELECT sketch_agg(x, 0) FROM generate_series(1, 3) x$$, '22023',
                 'sketch relative accuracy alpha must be between 0.0001 and 0.5', 'alpha 0 is rejected');
SELECT throws_ok($$SELECT rollup(p) FROM (SELECT sketch_agg(x, 0.01) p FROM generate_series(1, 3) x
                   UNION ALL SELECT sketch_agg(x, 0.02) FROM generate_series(1, 3) x) z$$, '22023',
                 'cannot merge sketches of different accuracy', 'rollup refuses mixed alphas');
SELECT throws_ok($$SELECT sketch_from_histogram('{1,2}', '{0,1}')$$, '22023',
                 'the last histogram bucket must be le = +Inf', 'histogram without +Inf');
SELECT throws_ok($$SELECT sketch_from_histogram('{2,1,Infinity}', '{0,1,1}')$$, '22023',
                 'histogram bucket bounds must be strictly ascending', 'histogram bounds out of order');
SELECT throws_ok($$SELECT sketch_from_histogram('{1,2,Infinity}', '{3,1,4}')$$, '22023',
                 'histogram bucket counts must not decrease', 'histogram counts not cumulative');
SELECT throws_ok($$SELECT sketch_from_histogram('{1,2,Infinity}', '{0,1}')$$, '2202E',
                 'le and cumulative_counts must have the same length', 'histogram lengths differ');

SELECT throws_ok($$SELECT sketch_agg(x) FROM unnest('{1,-Infinity}'::float8[]) x$$, '22003',
                 'sketch_agg values must be finite, got -Infinity', 'infinite values are rejected');
SELECT throws_ok($$SELECT sketch_agg(x, NULL) FROM generate_series(1, 3) x$$, '22004',
                 'sketch_agg alpha must not be null', 'a NULL alpha is rejected');
SELECT throws_ok($$SELECT sketch_agg(x, 0.01 + (x > 1)::int * 0.01) FROM generate_series(1, 3) x$$, '22023',
                 'cannot merge sketches of different accuracy', 'alpha must not change within a group');
SELECT throws_ok($$SELECT approx_percentile_rank('NaN', s) FROM s$$, '22023',
                 'value must not be NaN', 'rank of NaN is rejected');
SELECT throws_ok($$SELECT approx_percentiles('{{0.5},{0.9}}', s) FROM s$$, '2202E',
                 'percentiles must be a one-dimensional array', 'a 2-D percentile array is rejected');
SELECT throws_ok($$SELECT sketch_from_histogram('{-1,2,Infinity}', '{0,1,1}')$$, '22023',
                 'histogram bucket bounds must not be negative', 'histogram with a negative bound');
SELECT throws_ok($$SELECT sketch_from_histogram('{1,2,Infinity}', '{0,1.5,2}')$$, '22023',
                 'histogram bucket counts must be whole numbers between 0 and 2^53', 'histogram with a fractional count');
SELECT throws_ok($$SELECT sketch_from_histogram('{1,NaN,Infinity}', '{0,1,2}')$$, '22023',
                 'histogram bucket bounds must be finite except the last (+Inf)', 'histogram with a NaN bound');
SELECT throws_ok($$SELECT sketch_from_histogram('{1,NULL,Infinity}', '{0,1,2}')$$, '22004',
                 'le must not contain NULL', 'histogram with a NULL bound');
SELECT throws_ok($$SELECT sketch_from_histogram('{1,Infinity}', '{0,1}', alpha => 0.9)$$, '22023',
                 'sketch relative accuracy alpha must be between 0.0001 and 0.5', 'histogram with a bad alpha');

SELECT * FROM finish();
ROLLBACK;
