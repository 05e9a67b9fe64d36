\set ECHO none
\i test/lib/setup.psql
SELECT plan(34);
SET search_path = coder_scale, public;

-- Crafted and random input to the binary and text input of coder_scale.sketch:
-- each must give a sketch that works, or an error with the input's SQLSTATE;
-- a crash would end this test.

-- What a decoded value must survive: every accessor, a merge, both round trips.
CREATE FUNCTION pg_temp.exercise(s sketch) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  a float8[];
BEGIN
  a := approx_percentiles('{0,0.001,0.25,0.5,0.75,0.999,1}', s);
  IF a[1] <> min_val(s) OR a[7] <> max_val(s) THEN RAISE EXCEPTION 'min/max broken'; END IF;
  FOR i IN 2 .. 7 LOOP
    IF a[i] < a[i - 1] THEN RAISE EXCEPTION 'not monotone: %', a; END IF;
  END LOOP;
  PERFORM approx_percentile_rank(0, s), approx_percentile_rank(a[4], s), mean(s), sketch_sum(s),
          num_vals(s), error_bound(s);
  IF (SELECT num_vals(rollup(x)) FROM (VALUES (s), (s)) v(x)) <> 2 * num_vals(s) THEN
    RAISE EXCEPTION 'merge lost values';
  END IF;
  IF sketch_send(sketch_from_bytes(sketch_send(s))) <> sketch_send(s) THEN RAISE EXCEPTION 'binary round trip'; END IF;
  IF (s::text::sketch)::text <> s::text THEN RAISE EXCEPTION 'text round trip'; END IF;
END $$;

-- 'ok' when the bytes decode (and the result survives exercise), else the SQLSTATE.
CREATE FUNCTION pg_temp.try_bytes(b bytea) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_temp.exercise(sketch_from_bytes(b));
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;

CREATE FUNCTION pg_temp.try_text(t text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_temp.exercise(t::sketch);
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;

-- The same bytes through the real receive function: binary COPY of a bytea
-- field is the raw bytes, which COPY ... FROM (FORMAT binary) hands to sketch_recv.
CREATE TEMP TABLE recv_target (s sketch);
CREATE FUNCTION pg_temp.try_recv(b bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  f text := '/tmp/coder_scale_sketch_fuzz_' || pg_backend_pid() || '.bin';
BEGIN
  EXECUTE format('COPY (SELECT %L::bytea) TO %L (FORMAT binary)', b, f);
  BEGIN
    EXECUTE format('COPY recv_target FROM %L (FORMAT binary)', f);
    PERFORM pg_temp.exercise(s) FROM recv_target;
    TRUNCATE recv_target;
    RETURN 'ok';
  EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
  END;
END $$;

SET seed = 0.7;
CREATE TEMP TABLE base (name text, s sketch);
INSERT INTO base
  SELECT 'lognormal', sketch_agg(exp(ln(0.05) + sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())))
    FROM generate_series(1, 2000)
  UNION ALL SELECT 'signed', sketch_agg(x) FROM unnest('{-2,0,1,3.5}'::float8[]) x
  UNION ALL SELECT 'single', sketch_agg(7)
  UNION ALL SELECT 'folded', sketch_agg(('1e' || k)::float8, 0.0001) FROM generate_series(-300, 300) k
  UNION ALL SELECT 'coarse', sketch_agg(x, 0.5) FROM generate_series(-50, 50) x;
CREATE TEMP TABLE enc AS SELECT name, sketch_send(s) AS b, s::text AS t FROM base;

SELECT is((SELECT count(*)::int FROM enc WHERE pg_temp.try_bytes(b) = 'ok' AND pg_temp.try_text(t) = 'ok'), 5,
          'the five base sketches decode from bytes and from text');

-- binary: truncation, byte mutation, extension, random strings
CREATE TEMP TABLE bin_cases AS
  SELECT 'truncated' AS kind, substr(b, 1, k) AS b FROM enc, generate_series(0, length(b) - 1) k
  UNION ALL
  SELECT 'mutated', set_byte(b, i, v) FROM enc, generate_series(0, length(b) - 1) i,
         unnest(ARRAY[0, 1, 2, 127, 128, 255, (random() * 255)::int]) v
  UNION ALL
  SELECT 'extended', b || '\x00'::bytea FROM enc
  UNION ALL
  SELECT 'random', decode(string_agg(lpad(to_hex((random() * 255)::int), 2, '0'), ''), 'hex')
    FROM generate_series(1, 3000) n, LATERAL generate_series(0, n % 97) j GROUP BY n
  UNION ALL
  SELECT 'random tail', substr(b, 1, 10) || decode(string_agg(lpad(to_hex((random() * 255)::int), 2, '0'), ''), 'hex')
    FROM enc, generate_series(1, 600) n, LATERAL generate_series(0, n % 60) j GROUP BY name, b, n
  UNION ALL
  SELECT 'random varints', substr(b, 1, 10)
         || decode(string_agg(lpad(to_hex(CASE WHEN random() < 0.5 THEN 0 ELSE (random() * 3)::int END), 2, '0'), ''), 'hex')
    FROM enc, generate_series(1, 600) n, LATERAL generate_series(0, 3 + n % 40) j GROUP BY name, b, n;
CREATE TEMP TABLE bin_results AS SELECT kind, pg_temp.try_bytes(b) AS r FROM bin_cases;

SELECT cmp_ok((SELECT count(*)::int FROM bin_cases), '>', 20000, 'more than 20000 crafted byte strings');
SELECT is((SELECT array_agg(DISTINCT r) FROM bin_results WHERE kind = 'truncated'), '{22P03}',
          'every truncation of a valid sketch is rejected with 22P03');
SELECT is((SELECT array_agg(DISTINCT r) FROM bin_results WHERE kind = 'extended'), '{22P03}',
          'a trailing byte is rejected with 22P03');
SELECT is((SELECT array_agg(DISTINCT r ORDER BY r) FROM bin_results WHERE kind = 'mutated'), '{22P03,ok}',
          'a mutated byte gives a working sketch or 22P03');
SELECT is((SELECT array_agg(DISTINCT r ORDER BY r) FROM bin_results WHERE kind LIKE 'random%' AND r <> 'ok'),
          '{22P03}', 'random byte strings give a working sketch or 22P03');
SELECT cmp_ok((SELECT count(*)::int FROM bin_results WHERE r = 'ok'), '>', 0,
              'some crafted byte strings are valid sketches, and pass every accessor');

-- the receive function proper, through COPY (FORMAT binary)
SELECT is((SELECT array_agg(pg_temp.try_recv(b) ORDER BY name) FROM enc), '{ok,ok,ok,ok,ok}',
          'sketch_recv accepts the five base sketches');
SELECT is((SELECT array_agg(DISTINCT pg_temp.try_recv(b)) FROM (
             SELECT b FROM bin_cases WHERE kind IN ('truncated', 'extended') ORDER BY random() LIMIT 40) z),
          '{22P03}', 'sketch_recv rejects 40 truncated or extended values with 22P03');
SELECT is((SELECT count(*)::int FROM (
             SELECT pg_temp.try_recv(b) AS r, pg_temp.try_bytes(b) AS e FROM bin_cases
             WHERE kind = 'mutated' ORDER BY random() LIMIT 60) z WHERE r <> e), 0,
          'sketch_recv and sketch_from_bytes agree on 60 mutated values');
-- the program reads its input to the end first, so it never closes the pipe on the server
COPY (SELECT 1) TO PROGRAM 'cat >/dev/null; rm -f /tmp/coder_scale_sketch_fuzz_*.bin';

-- binary: hand-made faults, one per check
CREATE TEMP TABLE one AS SELECT b FROM enc WHERE name = 'signed';
SELECT throws_ok($$SELECT sketch_from_bytes('')$$, '22P03',
                 'invalid coder_scale.sketch value: the data ends too early', 'empty input');
SELECT throws_ok($$SELECT sketch_from_bytes(set_byte(b, 0, 2)) FROM one$$, '22P03',
                 'unsupported coder_scale.sketch version 2', 'unknown version');
SELECT throws_ok($$SELECT sketch_from_bytes(set_byte(b, 1, 1)) FROM one$$, '22P03',
                 'invalid coder_scale.sketch value: unknown flags are set', 'unknown flags');
SELECT throws_ok($$SELECT sketch_from_bytes(overlay(b placing '\x000000000000f87f' from 3)) FROM one$$, '22P03',
                 'invalid coder_scale.sketch value: alpha is out of range', 'alpha NaN');
SELECT throws_ok($$SELECT sketch_from_bytes(overlay(b placing '\xffffffffffffffffff01' from 11 for 1)) FROM one$$,
                 '22P03', 'invalid coder_scale.sketch value: a count is out of range', 'count above 2^63');
SELECT throws_ok($$SELECT sketch_from_bytes(overlay(b placing '\x05' from 11 for 1)) FROM one$$, '22P03',
                 'invalid coder_scale.sketch value: the bucket counts do not add up to the value count',
                 'count disagrees with the buckets');
SELECT throws_ok($$SELECT sketch_from_bytes(substr(b, 1, 36) || '\x00818080808001') FROM one$$, '22P03',
                 'invalid coder_scale.sketch value: too many buckets', 'a 2^40 bucket count is refused before allocation');

-- binary: one encoding per value, and a sum that agrees with count, min and max
CREATE TEMP TABLE v42 AS SELECT sketch_send(sketch_agg(42::float8)) AS b;
SELECT throws_ok($$SELECT sketch_from_bytes(overlay(b placing '\x8100' from 11 for 1)) FROM v42$$, '22P03',
                 'invalid coder_scale.sketch value: an integer field is not in its shortest form',
                 'an overlong varint (count 1 as 0x81 0x00) is refused: send would not give the same bytes');
SELECT throws_ok($$SELECT sketch_from_bytes(overlay(b placing float8send(-1e308) from 13 for 8)) FROM v42$$, '22P03',
                 'invalid coder_scale.sketch value: sum is not between count * min and count * max',
                 'binary: one value of 42 with sum -1e308');

-- text: truncation, mutation, random strings, extreme fields
CREATE TEMP TABLE txt_cases AS
  SELECT 'truncated' AS kind, left(t, k) AS t FROM enc, generate_series(0, length(t) - 1) k WHERE name <> 'lognormal'
  UNION ALL
  SELECT 'mutated', overlay(t placing c from i for 1) FROM enc, generate_series(1, length(t)) i,
         unnest('{0,9,-,",",:," ",x,.,e,1}'::text[]) c WHERE name IN ('signed', 'single', 'coarse')
  UNION ALL
  SELECT 'random', string_agg(substr('v=1 alpha.0:,-e9count', 1 + (random() * 20)::int, 1), '')
    FROM generate_series(1, 2000) n, LATERAL generate_series(0, n % 80) j GROUP BY n
  UNION ALL
  SELECT 'extreme', 'v=1 alpha=0.01 count=1 zeros=1 sum=0 min=0 max=0 pos= neg=' || x
    FROM unnest(ARRAY['1:1', '-2147483648:1', '2147483647:1', '0:9223372036854775807',
                      '0:99999999999999999999', '0:1,0:1', '5:1,2:1', '0:0', ':1', '0:1,',
                      '0:1,4096:1', (SELECT string_agg(k || ':1', ',') FROM generate_series(0, 4096) k)]) x
  UNION ALL
  SELECT 'extreme', x FROM unnest(ARRAY[
    'v=1 alpha=NaN count=1 zeros=1 sum=0 min=0 max=0 pos= neg=',
    'v=1 alpha=inf count=1 zeros=1 sum=0 min=0 max=0 pos= neg=',
    'v=1 alpha=0.01 count=1 zeros=1 sum=1e999 min=0 max=0 pos= neg=',
    'v=1 alpha=0.01 count=1 zeros=1 sum=0 min=nan max=0 pos= neg=',
    'v=1 alpha=0.01 count=0 zeros=0 sum=0 min=0 max=0 pos= neg=',
    'v=1 alpha=0.01 count=1 zeros=1 sum=0 min=1 max=0 pos= neg=',
    'v=1 alpha=0.01 count=1 zeros=0 sum=5 min=5 max=5 pos=999:1 neg=',
    'v=1 alpha=0.01 count=1 zeros=0 sum=5 min=5 max=5 pos=81:1 neg= ',
    ' v=1 alpha=0.01 count=1 zeros=1 sum=0 min=0 max=0 pos= neg=',
    'v=2 alpha=0.01 count=1 zeros=1 sum=0 min=0 max=0 pos= neg=',
    'v=1 alpha=0.01 count=18446744073709551617 zeros=1 sum=0 min=0 max=0 pos= neg=',
    '']) x;
CREATE TEMP TABLE txt_results AS SELECT kind, t, pg_temp.try_text(t) AS r FROM txt_cases;

SELECT cmp_ok((SELECT count(*)::int FROM txt_cases), '>', 4000, 'more than 4000 crafted strings');
SELECT is((SELECT array_agg(DISTINCT r) FROM txt_results WHERE kind = 'truncated'), '{22P02}',
          'every truncation of a valid text form is rejected with 22P02');
SELECT is((SELECT array_agg(DISTINCT r ORDER BY r) FROM txt_results WHERE kind = 'mutated'), '{22P02,ok}',
          'a mutated character gives a working sketch or 22P02');
SELECT is((SELECT array_agg(DISTINCT r) FROM txt_results WHERE kind = 'random'), '{22P02}',
          'random strings are rejected with 22P02');
SELECT is((SELECT array_agg(DISTINCT r) FROM txt_results WHERE kind = 'extreme'), '{22P02}',
          'out-of-range fields, NaN, infinity, duplicate and unordered buckets are rejected with 22P02');
SELECT throws_ok($$SELECT 'v=1 alpha=0.01 count=1 zeros=0 sum=5 min=5 max=5 pos=999:1 neg='::sketch$$, '22P02',
                 'invalid coder_scale.sketch value: max is not in the highest bucket', 'max outside its bucket');
SELECT throws_ok($$SELECT 'v=1 alpha=0.01 count=1 zeros=1 sum=0 min=0 max=0 pos= neg=1:1'::sketch$$, '22P02',
                 'invalid coder_scale.sketch value: the bucket counts do not add up to the value count',
                 'bucket counts above the value count');
SELECT throws_ok($$SELECT 'v=1 alpha=0.01 count=1 zeros=0 sum=1e308 min=42 max=42 pos=187:1 neg='::sketch$$, '22P02',
                 'invalid coder_scale.sketch value: sum is not between count * min and count * max',
                 'one value of 42 with sum 1e308');
SELECT throws_ok($$SELECT 'v=1 alpha=0.01 count=3 zeros=0 sum=-1e308 min=1 max=3 pos=0:1,35:1,55:1 neg='::sketch$$,
                 '22P02', 'invalid coder_scale.sketch value: sum is not between count * min and count * max',
                 'only positive values with sum -1e308');
SELECT throws_ok($$SELECT 'v=1 alpha=0.01 count=2 zeros=1 sum=-1e-300 min=0 max=3 pos=55:1 neg='::sketch$$,
                 '22P02', 'invalid coder_scale.sketch value: sum is not between count * min and count * max',
                 'values >= 0 with a (tiny) negative sum');
SELECT throws_ok($$SELECT 'v=1 alpha=0.01 count=1 zeros=0 sum=42 min=41.9 max=42 pos=187:1 neg='::sketch$$, '22P02',
                 'invalid coder_scale.sketch value: a sketch of one value must have min equal to max',
                 'one value with min below max');
SELECT throws_ok($$SELECT 'v=1 alpha=0.01 count=2 zeros=0 sum=84 min=42 max=42 pos=187:1,188:1 neg='::sketch$$, '22P02',
                 'invalid coder_scale.sketch value: min equals max but the values fill more than one bucket',
                 'equal min and max over two buckets');
SELECT is((SELECT num_vals(rollup(s)) FROM (VALUES
             ('v=1 alpha=0.01 count=2 zeros=0 sum=1.7976931348623157e308 min=8.988465674311579e307 max=8.988465674311579e307 pos=35454:2 neg='::sketch),
             ('v=1 alpha=0.01 count=1 zeros=0 sum=42 min=42 max=42 pos=187:1 neg=')) v(s)), 3::bigint,
          'a sum at the float8 limit is valid and merges with a small one');
SELECT is(mean('v=1 alpha=0.01 count=2 zeros=0 sum=84.00000000000003 min=42 max=42 pos=187:2 neg='), 42::float8,
          'a sum with rounding in it (84 + 2 ulp for two values of 42) is valid, and mean stays at most max');
SELECT throws_ok($$SELECT 'hello'::sketch$$, '22P02',
                 'invalid input syntax for type coder_scale.sketch: "hello"', 'garbage text');

SELECT * FROM finish();
ROLLBACK;
