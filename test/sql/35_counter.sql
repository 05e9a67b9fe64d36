\set ECHO none
\i test/lib/setup.psql
SELECT plan(43);
SET search_path = coder_scale, public;

-- samples (seconds since 1970, value)
CREATE TEMP TABLE reset_once (s int, v float8);
INSERT INTO reset_once VALUES (0, 10), (15, 15), (30, 3), (45, 8.5);
CREATE TEMP TABLE c AS SELECT counter_agg(to_timestamp(s), v) AS c FROM reset_once;

SELECT is((SELECT increase(c) FROM c), 13.5::float8, '10 -> 15 -> reset to 3 -> 8.5 increases by 5 + 3 + 5.5');
SELECT is((SELECT num_resets(c) FROM c), 1::bigint, 'one decrease is one reset');
SELECT is((SELECT time_delta(c) FROM c), 45::float8, 'time_delta is last minus first sample time');
SELECT is((SELECT rate(c) FROM c), 0.3::float8, 'rate is 13.5 / 45 s');
SELECT is((SELECT c::text FROM c), 'v=1 samples=4 resets=1 increase=13.5 first=0:10 last=45:8.5',
          'text form: version, samples, resets, increase, first and last (Unix seconds:value)');

-- order does not matter
SELECT is((SELECT counter_agg(to_timestamp(s), v)::text FROM (SELECT * FROM reset_once ORDER BY v) z),
          (SELECT c::text FROM c), 'input sorted by value gives the same summary');
SELECT is((SELECT counter_agg(to_timestamp(s), v ORDER BY s DESC)::text FROM reset_once),
          (SELECT c::text FROM c), 'input in reverse time order gives the same summary');

-- several resets, equal values, duplicates, NaN, NULL
SELECT is((SELECT increase(counter_agg(to_timestamp(s), v)) FROM (VALUES (0, 5), (1, 2), (2, 1), (3, 7)) x(s, v)),
          9::float8, '5 -> 2 -> 1 -> 7: two resets, increase 2 + 1 + 6');
SELECT is((SELECT num_resets(counter_agg(to_timestamp(s), v)) FROM (VALUES (0, 5), (1, 2), (2, 1), (3, 7)) x(s, v)),
          2::bigint, 'two decreases are two resets');
SELECT is((SELECT num_resets(counter_agg(to_timestamp(s), v)) FROM (VALUES (0, 5), (1, 5), (2, 5)) x(s, v)),
          0::bigint, 'an unchanged value is not a reset');
SELECT is((SELECT counter_agg(to_timestamp(s), v)::text FROM (VALUES (0, 10), (15, 15), (15, 12), (30, 20)) x(s, v)),
          'v=1 samples=3 resets=0 increase=10 first=0:10 last=30:20',
          'of two samples at the same time the larger is kept (no false reset)');
SELECT is((SELECT counter_agg(to_timestamp(s), v)::text FROM (VALUES (0, 10::float8), (15, 'NaN'), (30, 20)) x(s, v)),
          'v=1 samples=2 resets=0 increase=10 first=0:10 last=30:20', 'NaN values are skipped');
SELECT is((SELECT counter_agg(to_timestamp(s), v)::text
           FROM (VALUES (0, 10), (15, NULL), (NULL, 1), (30, 20)) x(s, v)),
          'v=1 samples=2 resets=0 increase=10 first=0:10 last=30:20', 'NULL times and values are skipped');

-- single sample, empty groups
SELECT is((SELECT increase(counter_agg(to_timestamp(7), 42))), 0::float8, 'one sample: increase 0');
SELECT ok((SELECT rate(counter_agg(to_timestamp(7), 42)) IS NULL), 'one sample: rate NULL');
SELECT is((SELECT time_delta(counter_agg(to_timestamp(7), 42))), 0::float8, 'one sample: time_delta 0');
SELECT ok((SELECT counter_agg(to_timestamp(s), v) IS NULL FROM reset_once WHERE false), 'empty group: NULL');
SELECT ok((SELECT counter_agg(to_timestamp(s), v) IS NULL FROM (VALUES (0, 'NaN'::float8)) x(s, v)),
          'only NaN: NULL');

-- process_cpu_seconds_total -> CPU cores per minute
CREATE TEMP TABLE cpu AS
  SELECT to_timestamp(s) AS t, 100 + 2.0 * s AS v FROM generate_series(0, 105, 15) s    -- 2 cores busy
  UNION ALL SELECT to_timestamp(s), 310 + 0.5 * (s - 120) FROM generate_series(120, 225, 15) s; -- half a core
SELECT results_eq($$SELECT extract(epoch FROM date_bin('1 minute', t, to_timestamp(0)))::int, rate(counter_agg(t, v))
                    FROM cpu GROUP BY 1 ORDER BY 1$$,
                  $$VALUES (0, 2::float8), (60, 2::float8), (120, 0.5::float8), (180, 0.5::float8)$$,
                  'rate per minute bucket: 2, 2, 0.5, 0.5 cores');

-- parallel: same answers as serial
SET seed = 0.5;
CREATE TABLE ctr AS
  SELECT to_timestamp(s) AS t, (s % 7000) * 1.25 + floor(random() * 3) AS v FROM generate_series(1, 200000) s;
ANALYZE ctr;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE ctr_serial AS SELECT counter_agg(t, v)::text AS c FROM ctr;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
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
SELECT matches(pg_temp.plan_of('SELECT counter_agg(t, v) FROM ctr'), 'Workers Launched: [12].*Partial Aggregate',
               'counter_agg runs as a partial aggregate in parallel workers');
SELECT is((SELECT counter_agg(t, v)::text FROM ctr), (SELECT c FROM ctr_serial), 'parallel and serial summaries are identical');
SELECT ok((SELECT num_resets(c::counter_summary) BETWEEN 28 AND 200000 FROM ctr_serial), 'the parallel table has resets');
RESET max_parallel_workers_per_gather;

-- text and binary forms
SELECT is((SELECT c::text::counter_summary::text FROM c), (SELECT c::text FROM c), 'text form reads back');
SELECT is(('v=1 samples=2 resets=0 increase=0.5 first=-0.75:1 last=1.000001:1.5'::counter_summary)::text,
          'v=1 samples=2 resets=0 increase=0.5 first=-0.75:1 last=1.000001:1.5', 'fractional and negative times');
SELECT throws_ok($$SELECT 'v=1 samples=2 resets=2 increase=1 first=0:1 last=1:2'::counter_summary$$, '22P02',
                 'invalid coder_scale.counter_summary value: resets must be between 0 and samples - 1',
                 'more resets than gaps');
SELECT throws_ok($$SELECT 'v=1 samples=3 resets=0 increase=1 first=0:1 last=0.000001:2'::counter_summary$$, '22P02',
                 'invalid coder_scale.counter_summary value: the time span cannot hold that many distinct sample times',
                 'three distinct times in one microsecond');
SELECT throws_ok($$SELECT 'v=1 samples=2 resets=0 increase=7 first=0:1 last=1:2'::counter_summary$$, '22P02',
                 'invalid coder_scale.counter_summary value: without resets the increase must be last value - first value',
                 'increase inconsistent with the values');
SELECT throws_ok($$SELECT 'v=1 samples=2 resets=0 increase=NaN first=0:1 last=1:2'::counter_summary$$, '22P02',
                 NULL, 'NaN increase');

-- binary input through COPY (FORMAT binary): raw bytea fields go to counter_summary_recv
CREATE TEMP TABLE recv_target (c counter_summary);
CREATE FUNCTION pg_temp.try_recv(b bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  f text := '/tmp/coder_scale_counter_fuzz_' || pg_backend_pid() || '.bin';
BEGIN
  EXECUTE format('COPY (SELECT %L::bytea) TO %L (FORMAT binary)', b, f);
  EXECUTE format('COPY recv_target FROM %L (FORMAT binary)', f);
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;
SELECT is((SELECT pg_temp.try_recv(counter_summary_send(c)) FROM c), 'ok', 'counter_summary_recv reads what send wrote');
SELECT is((SELECT array_agg(DISTINCT r) FROM (
             SELECT pg_temp.try_recv(substr(b, 1, k)) r FROM (SELECT counter_summary_send(c) b FROM c) z,
                    generate_series(0, 56) k
             UNION ALL
             SELECT pg_temp.try_recv(set_byte(b, i, 255)) FROM (SELECT counter_summary_send(c) b FROM c) z,
                    generate_series(0, 56) i) y WHERE r <> 'ok'), '{22P03}',
          'truncated or corrupted binary summaries are rejected with 22P03');
-- values that must survive pg_dump: what recv and counter_agg give, in reads back
CREATE FUNCTION pg_temp.recv(b bytea) RETURNS counter_summary LANGUAGE plpgsql AS $$
DECLARE
  f text := '/tmp/coder_scale_counter_fuzz_' || pg_backend_pid() || '.bin';
  r counter_summary;
BEGIN
  EXECUTE format('COPY (SELECT %L::bytea) TO %L (FORMAT binary)', b, f);
  TRUNCATE recv_target;
  EXECUTE format('COPY recv_target FROM %L (FORMAT binary)', f);
  SELECT c INTO r FROM recv_target;
  RETURN r;
END $$;
SELECT throws_ok($$SELECT pg_temp.recv(overlay(counter_summary_send(counter_agg(to_timestamp(7), 42))
                                               placing '\x8000000000000000' from 50 for 8))$$, '22P03',
                 'invalid coder_scale.counter_summary value: values and increase must not be -0',
                 'recv refuses increase = -0 (its text form "-0" is not valid input)');
SELECT is((SELECT counter_agg(to_timestamp(7), '-0')::text), 'v=1 samples=1 resets=0 increase=0 first=7:0 last=7:0',
          'a -0 sample is read as 0');
SELECT is((SELECT counter_agg(to_timestamp(7), '-0')::text::counter_summary::text),
          'v=1 samples=1 resets=0 increase=0 first=7:0 last=7:0', 'and its summary reads back');
SELECT throws_ok($$SELECT counter_agg(to_timestamp(s), v)
                   FROM (VALUES (0, 1.7e308::float8), (1, 1), (2, 1.7e308), (3, 1), (4, 1.7e308)) x(s, v)$$, '22003',
                 'counter increase out of range', 'an increase beyond float8 is an error, not Infinity');
SELECT throws_ok($$SELECT rate('v=1 samples=2 resets=0 increase=1e308 first=0:0 last=0.000001:1e308')$$, '22003',
                 'counter rate out of range', 'a rate beyond float8 is an error, not Infinity');
SELECT is((SELECT increase(counter_agg(to_timestamp(s), v)) FROM (VALUES (0, 1e20::float8), (1, 1)) x(s, v)),
          1::float8, '1e20 then a reset to 1: increase 0 + 1, not lost to rounding');
SELECT is(('v=1 samples=1000000000000000000 resets=0 increase=0 first=-200000000000:0 last=9000000000000:0'
           ::counter_summary)::text,
          'v=1 samples=1000000000000000000 resets=0 increase=0 first=-200000000000:0 last=9000000000000:0',
          'a 19-digit sample count (which recv accepts) reads back from text');
SELECT is(time_delta('v=1 samples=2 resets=0 increase=0 first=-210000000000:0 last=9224000000000:0'),
          9434000000000::float8, 'time_delta over a span wider than int64 microseconds');
SELECT throws_ok($$SELECT 'v=1 samples=1 resets=0 increase=0 first=0:1 last=5:1'::counter_summary$$, '22P02',
                 'invalid coder_scale.counter_summary value: a single sample has one time',
                 'one sample at two times');
SELECT throws_ok($$SELECT 'v=1 samples=2 resets=0 increase=1 first=0:-0 last=1:1'::counter_summary$$, '22P02',
                 NULL, 'a negative zero in text is not valid input');
-- the program reads its input to the end first, so it never closes the pipe on the server
COPY (SELECT 1) TO PROGRAM 'cat >/dev/null; rm -f /tmp/coder_scale_counter_fuzz_*.bin';

-- errors
SELECT throws_ok($$SELECT counter_agg(now(), -1)$$, '22003',
                 'counter_agg values must be finite and not negative, got -1', 'negative values are rejected');
SELECT throws_ok($$SELECT counter_agg(now(), 'Infinity')$$, '22003',
                 'counter_agg values must be finite and not negative, got Infinity', 'infinite values are rejected');
SELECT throws_ok($$SELECT counter_agg('infinity', 1)$$, '22008',
                 'counter_agg sample times must be finite', 'infinite times are rejected');

SELECT * FROM finish();
ROLLBACK;
