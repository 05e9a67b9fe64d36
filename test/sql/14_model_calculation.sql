\set ECHO none
\i test/lib/setup.psql
SELECT plan(12);

SELECT volatility_is('coder_scale', 'size', ARRAY['integer', 'coder_scale.profile'], 'immutable', 'size() is IMMUTABLE');
SELECT volatility_is('coder_scale', 'recommend', ARRAY['integer', 'text'], 'stable', 'recommend() reads profiles: STABLE');
SELECT volatility_is('coder_scale', 'burst', ARRAY['integer', 'integer', 'integer', 'interval', 'interval'], 'immutable', 'burst() is IMMUTABLE');
SELECT volatility_is('coder_scale', 'record_recommendation', ARRAY['integer', 'text', 'text'], 'volatile',
                     'record_recommendation() writes: VOLATILE');
SELECT is((SELECT count(*)::int FROM coder_scale.model_calculation), 0, 'the pure functions wrote nothing');

SELECT coder_scale.derive_profile('mine', 'default', '{"target_utilization": 0.6}');
CREATE TEMP TABLE calc AS SELECT * FROM coder_scale.record_recommendation(1000, 'mine', 'before the change');
SELECT is((SELECT label FROM calc), 'before the change', 'the label is kept');
SELECT is((SELECT inputs FROM calc), '{"users": 1000, "profile": "mine"}'::jsonb, 'the inputs are kept');
SELECT is((SELECT (outputs->>'coderd_cpu')::float8 FROM calc), (coder_scale.recommend(1000, 'mine')).coderd_cpu,
          'the outputs are the recommendation');
SELECT is((SELECT (profile_snapshot->>'target_utilization')::float8 FROM calc), 0.6::float8, 'the profile is snapshotted');

UPDATE coder_scale.profile SET target_utilization = 0.5 WHERE name = 'mine';
SELECT is((SELECT (profile_snapshot->>'target_utilization')::float8 FROM coder_scale.model_calculation WHERE id = (SELECT id FROM calc)),
          0.6::float8, 'a later edit of the profile leaves the snapshot alone');
SELECT is((SELECT count(*)::int FROM coder_scale.model_calculation), 1, 'one calculation stored');
SELECT throws_ok($$SELECT coder_scale.record_recommendation(0)$$, '22023', NULL, 'bad input stores nothing and says why');

SELECT * FROM finish();
ROLLBACK;
