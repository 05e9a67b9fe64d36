-- Data stored through the 0.1.0 API before the update: a user profile, a
-- driven run with results and samples, an ingested run, a stored calculation,
-- stored values of both types in a table of the user's, and changes to the
-- seeded tables (at the end).
SELECT coder_scale.derive_profile('upgraded', 'default', '{"coderd_cpu_per_build": 0.25}', 'kept across the update');
INSERT INTO coder_scale.run (kind, status, label, started_at, finished_at, count, tags) VALUES
  ('create-workspaces', 'completed', 'before-update', '2026-02-01 10:00Z', '2026-02-01 10:05Z', 3, '{"team": "a"}');
INSERT INTO coder_scale.run (kind, status, label, started_at, finished_at, source_sha256) VALUES
  ('ingest', 'completed', 'ingested', '2026-02-02 10:00Z', '2026-02-02 10:01Z', repeat('ab', 32));
INSERT INTO coder_scale.run_result (run_id, full_id, started_at, finished_at, duration, build, outcome, failure_category, error)
SELECT r.id, v.full_id, '2026-02-01 10:00Z', '2026-02-01 10:00Z'::timestamptz + v.d::interval, v.d::interval,
       v.d::interval / 2, v.outcome, v.cat, v.err
FROM coder_scale.run r CROSS JOIN (VALUES
  ('workspacebuild/0', '10 s', 'pass', NULL, NULL),
  ('workspacebuild/1', '20 s', 'fail', 'agent_timeout', 'wait for agent: context deadline exceeded'),
  ('workspacebuild/2', '30 s', 'pass', NULL, NULL)) v (full_id, d, outcome, cat, err);
INSERT INTO coder_scale.metric_series (run_id, component, target, name, labels)
SELECT id, 'coderd', 'http://127.0.0.1:3000/metrics', 'process_cpu_seconds_total', '{}' FROM coder_scale.run WHERE label = 'before-update';
INSERT INTO coder_scale.metric_sample (series_id, time, value)
SELECT s.id, '2026-02-01 10:00Z'::timestamptz + i * interval '1 s', i * 0.5
FROM coder_scale.metric_series s, generate_series(0, 299) i;
SELECT coder_scale.record_recommendation(1000, 'upgraded', 'before-update');
CREATE SCHEMA userdata;
CREATE TABLE userdata.stored (id int PRIMARY KEY, sk coder_scale.sketch, cs coder_scale.counter_summary);
INSERT INTO userdata.stored
SELECT 1, coder_scale.sketch_agg(extract(epoch FROM duration)), NULL FROM coder_scale.run_result;
INSERT INTO userdata.stored
SELECT 2, NULL, coder_scale.counter_agg(time, value) FROM coder_scale.metric_sample;
-- The seeded tables, as a user changes them: a wording and a mapping's
-- source changed, a category and a mapping added.
UPDATE coder_scale.failure_category SET wording = 'agents never connected' WHERE name = 'agent_timeout';
INSERT INTO coder_scale.failure_category (name, wording, sort_order) VALUES ('quota_exceeded', 'hit a quota', 110);
UPDATE coder_scale.component_metric SET source = 'coderd :2112/metrics'
WHERE component = 'coderd' AND metric = 'process_cpu_seconds_total';
INSERT INTO coder_scale.component_metric (component, metric, kind) VALUES ('proxy', 'process_cpu_seconds_total', 'cpu_seconds_counter');
