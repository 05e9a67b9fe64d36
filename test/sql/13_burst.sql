\set ECHO none
\i test/lib/setup.psql
SELECT plan(17);

-- worked by hand: 60 builds on 2 x 30 slots all start at once
SELECT results_eq($$SELECT * FROM coder_scale.burst(60, 2, 30, '2 min')$$,
                  $$VALUES (60, 1, '0'::interval, '2 min'::interval, '0'::interval, '0'::interval)$$,
                  'a burst that fits the slots: one wave, no wait');
-- 180 builds, 60 slots, 100 s each: waves of 60 wait 0, 100, 200 s.
-- mean (0 + 100 + 200) / 3 = 100 s; the 171st build (p95) is in wave 3: 200 s.
SELECT results_eq($$SELECT * FROM coder_scale.burst(180, 2, 30, '100 s')$$,
                  $$VALUES (60, 3, '200 s'::interval, '300 s'::interval, '100 s'::interval, '200 s'::interval)$$,
                  'three full waves');
-- 100 builds, 30 slots, 60 s: waves of 30, 30, 30, 10 wait 0, 60, 120, 180 s.
-- mean (30 x 0 + 30 x 60 + 30 x 120 + 10 x 180) / 100 = 72 s; the 95th build waits 180 s.
SELECT results_eq($$SELECT * FROM coder_scale.burst(100, 1, 30, '1 min')$$,
                  $$VALUES (30, 4, '3 min'::interval, '4 min'::interval, '72 s'::interval, '3 min'::interval)$$,
                  'a last, partial wave');
-- 2 builds, 1 slot, 100 s +- 10 s: half wait 0, half wait N(100, 10):
-- 0.5 + 0.5 Phi((t - 100) / 10) = 0.95 gives t = 100 + 10 x 1.2816 = 112.816 s.
SELECT is(round(extract(epoch FROM p95_wait), 3), 112.816, 'spread: p95 from the normal mixture')
FROM coder_scale.burst(2, 1, 1, '100 s', '10 s');
SELECT is(mean_wait, '50 s'::interval, 'spread does not change the mean wait')
FROM coder_scale.burst(2, 1, 1, '100 s', '10 s');
SELECT ok((SELECT p95_wait FROM coder_scale.burst(180, 2, 30, '100 s', '30 s')) > '200 s',
          'spread makes the p95 wait longer than without');

-- the inverse: 180 builds of 100 s
-- no wait for the 171st build: at least 171 slots
SELECT results_eq($$SELECT * FROM coder_scale.daemons_for_wait(180, '0', '100 s')$$,
                  $$VALUES (171, 171, '0'::interval)$$, 'p95 wait 0: 171 daemons');
-- at most one wave of wait: floor(170 / slots) <= 1, slots >= 86, on 2 replicas 43 each
SELECT results_eq($$SELECT * FROM coder_scale.daemons_for_wait(180, '100 s', '100 s', replicas => 2)$$,
                  $$VALUES (86, 43, '100 s'::interval)$$, 'p95 wait of one build: 86 daemons, 43 per replica');
SELECT results_eq($$SELECT * FROM coder_scale.daemons_for_wait(180, '100 s', '100 s', replicas => 3)$$,
                  $$VALUES (87, 29, '100 s'::interval)$$, 'rounded up to whole daemons per replica');
SELECT ok(p95_wait <= '150 s' AND
          (SELECT b.p95_wait FROM coder_scale.burst(180, 1, d.daemons - 1, '100 s', '20 s') b) > '150 s',
          'with spread: the fewest daemons that meet the target')
FROM coder_scale.daemons_for_wait(180, '150 s', '100 s', '20 s') d;

-- bad arguments
SELECT throws_ok($$SELECT * FROM coder_scale.burst(0, 2, 30, '1 min')$$, '22023', 'builds must be at least 1, not 0', 'no builds');
SELECT throws_ok($$SELECT * FROM coder_scale.burst(10, 2, 30, '0')$$, '22023', 'build_time must be positive, not 0 seconds', 'zero build time');
SELECT throws_ok($$SELECT * FROM coder_scale.burst(10, 2, 30, '1 min', '-1 s')$$, '22023', NULL, 'negative spread');
SELECT throws_ok($$SELECT * FROM coder_scale.burst(10, 2, 30, '1 mon')$$, '22023', 'build_time must not use months or years', 'months');
SELECT throws_ok($$SELECT * FROM coder_scale.burst(2000000, 2, 30, '1 min')$$, '22003', NULL, 'absurd bursts');
SELECT throws_ok($$SELECT * FROM coder_scale.burst(10, NULL, 30, '1 min')$$, '22004', NULL, 'NULL replicas');
SELECT throws_ok($$SELECT * FROM coder_scale.daemons_for_wait(10, '-1 s', '1 min')$$, '22023', NULL, 'negative target');

SELECT * FROM finish();
ROLLBACK;
