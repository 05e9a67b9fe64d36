-- Reporting: one query per question, shaped for psql and for Grafana's
-- PostgreSQL data source (time series have a "time" column, numeric values
-- and string labels).

-- Raise P0002 unless the run exists (every reporting function checks its run ids here).
CREATE FUNCTION coder_scale.require_run(run_id bigint)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
  IF run_id IS NULL THEN
    RAISE EXCEPTION 'run id must not be NULL'
      USING ERRCODE = '22004', HINT = 'Pass the id of a run: SELECT id, label, started_at FROM coder_scale.run ORDER BY id.';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM coder_scale.run r WHERE r.id = require_run.run_id) THEN
    RAISE EXCEPTION 'run % does not exist', run_id
      USING ERRCODE = 'P0002', HINT = 'List the runs with: SELECT id, label, started_at FROM coder_scale.run ORDER BY id.';
  END IF;
END
$$;
COMMENT ON FUNCTION coder_scale.require_run(bigint) IS
  'Raise an error (P0002, or 22004 for NULL) unless the run exists; used by the reporting functions';

-- Raise 22023 unless the interval can be a time bucket.
CREATE FUNCTION coder_scale.require_bucket(bucket interval)
RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
  IF bucket IS NULL OR bucket <= interval '0' THEN
    RAISE EXCEPTION 'bucket must be a positive interval'
      USING ERRCODE = '22023', DETAIL = format('The bucket given was %s.', coalesce(bucket::text, 'NULL')),
            HINT = 'Use for example ''10 seconds'' or ''1 minute''.';
  END IF;
  IF extract(month FROM bucket) <> 0 OR extract(year FROM bucket) <> 0 THEN
    RAISE EXCEPTION 'bucket must not contain months or years'
      USING ERRCODE = '22023', HINT = 'Use days instead, for example ''30 days''.';
  END IF;
END
$$;
COMMENT ON FUNCTION coder_scale.require_bucket(interval) IS
  'Raise an error (22023) unless the interval is a positive bucket width without months or years';

-- Raise 54000 when bucket cuts the span of a run's data, t_first to t_last,
-- into more than 1000000 buckets: the bound of every reporting function
-- that takes a bucket.
CREATE FUNCTION coder_scale.require_bucket_count(run_id bigint, bucket interval, t_first timestamptz, t_last timestamptz)
RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
  IF extract(epoch FROM t_last - t_first) / extract(epoch FROM bucket) > 1000000 THEN
    RAISE EXCEPTION 'bucket % gives more than 1000000 buckets for run %', bucket, run_id
      USING ERRCODE = '54000', DETAIL = format('The run''s data spans %s.', t_last - t_first),
            HINT = format('Use a bucket of at least %s.',
                          make_interval(secs => (ceil(extract(epoch FROM t_last - t_first)) / 1000000)::float8));
  END IF;
END
$$;
COMMENT ON FUNCTION coder_scale.require_bucket_count(bigint, interval, timestamptz, timestamptz) IS
  'Raise an error (54000) when bucket cuts t_first .. t_last into more than 1000000 buckets; used by the reporting functions';

-- ---------------------------------------------------------------------------
-- run_summary
-- ---------------------------------------------------------------------------
CREATE VIEW coder_scale.run_summary AS
SELECT r.id AS run_id,
       r.label,
       r.kind,
       CASE WHEN r.status = 'running' AND NOT coder_scale.run_driver_alive(r.id) THEN 'abandoned'
            ELSE r.status END AS status,
       r.started_at,
       r.finished_at,
       c.total,
       c.succeeded,
       c.failed,
       c.create_user,
       c.create_workspace,
       c.build_failed,
       c.build_canceled,
       c.agent_timeout,
       c.command_failed,
       c.command_timeout,
       c.job_timeout,
       c.cleanup_failed,
       c.other,
       CASE WHEN r.kind = 'ingest' THEN r.finished_at - r.started_at
            ELSE c.last_finished - c.first_started END AS elapsed,
       c.avg_duration,
       c.succeeded || ' succeeded' || coalesce(', ' || f.failures, '') AS summary,
       CASE WHEN r.kind <> 'ingest' AND c.cleaned > 0 THEN r.finished_at - c.last_finished END AS cleanup_elapsed
FROM coder_scale.run r
CROSS JOIN LATERAL (
  SELECT count(*) AS total,
         count(*) FILTER (WHERE rr.outcome = 'pass') AS succeeded,
         count(*) FILTER (WHERE rr.outcome = 'fail') AS failed,
         count(*) FILTER (WHERE rr.failure_category = 'create_user') AS create_user,
         count(*) FILTER (WHERE rr.failure_category = 'create_workspace') AS create_workspace,
         count(*) FILTER (WHERE rr.failure_category = 'build_failed') AS build_failed,
         count(*) FILTER (WHERE rr.failure_category = 'build_canceled') AS build_canceled,
         count(*) FILTER (WHERE rr.failure_category = 'agent_timeout') AS agent_timeout,
         count(*) FILTER (WHERE rr.failure_category = 'command_failed') AS command_failed,
         count(*) FILTER (WHERE rr.failure_category = 'command_timeout') AS command_timeout,
         count(*) FILTER (WHERE rr.failure_category = 'job_timeout') AS job_timeout,
         count(*) FILTER (WHERE rr.failure_category = 'cleanup_failed') AS cleanup_failed,
         count(*) FILTER (WHERE rr.failure_category = 'other') AS other,
         count(rr.cleanup) AS cleaned,
         min(rr.started_at) AS first_started,
         max(coalesce(rr.finished_at, rr.started_at + rr.duration)) AS last_finished,
         avg(rr.duration) AS avg_duration
  FROM coder_scale.run_result rr
  WHERE rr.run_id = r.id
) c
LEFT JOIN LATERAL (
  SELECT string_agg(n.failed || ' ' || fc.wording, ', ' ORDER BY fc.sort_order) AS failures
  FROM (SELECT rr.failure_category, count(*) AS failed
        FROM coder_scale.run_result rr
        WHERE rr.run_id = r.id AND rr.outcome = 'fail'
        GROUP BY rr.failure_category) n
  JOIN coder_scale.failure_category fc ON fc.name = n.failure_category
) f ON true;
COMMENT ON VIEW coder_scale.run_summary IS
  'Per run: total, succeeded, failed, failures per category, elapsed (the test, as Coder''s), average duration, a one-line summary like ''998 succeeded, 2 failed to connect'', and the cleanup''s elapsed';
COMMENT ON COLUMN coder_scale.run_summary.elapsed IS
  'The test without its cleanup, as Coder''s elapsed ("Total duration"): an ingested file''s elapsed; for a driven run, from its first result''s start to its last result''s end (as the driver prints it)';
COMMENT ON COLUMN coder_scale.run_summary.status IS
  'The run''s status, ''abandoned'' for a run still ''running'' whose driver holds no lock on it (see close_abandoned_runs())';
COMMENT ON COLUMN coder_scale.run_summary.avg_duration IS 'Mean duration over every result, passed or failed (as Coder''s Avg. duration)';
COMMENT ON COLUMN coder_scale.run_summary.summary IS
  'N succeeded, then each non-zero failure category as count and wording, in failure_category.sort_order';
COMMENT ON COLUMN coder_scale.run_summary.cleanup_elapsed IS
  'A driven run''s cleanup: from the end of its last result to the run''s end; NULL when nothing was cleaned up, and for an ingested file (Coder''s json has no cleanup time)';

-- ---------------------------------------------------------------------------
-- result_phase: the phases, named once
-- ---------------------------------------------------------------------------
-- The phases of a workspace run are the interval columns of run_result, in
-- table order, named as the columns (client/common/categories.h names the
-- same), then total: Coder's duration of the whole run.
CREATE VIEW coder_scale.result_phase AS
SELECT rr.run_id, rr.full_id, rr.finished_at, p.phase_order, p.phase, p.took
FROM coder_scale.run_result rr
CROSS JOIN LATERAL (VALUES
  (1, 'create_user',      rr.create_user),
  (2, 'create_workspace', rr.create_workspace),
  (3, 'queue_wait',       rr.queue_wait),
  (4, 'build',            rr.build),
  (5, 'agents_connect',   rr.agents_connect),
  (6, 'command',          rr.command),
  (7, 'cleanup',          rr.cleanup),
  (8, 'total',            rr.duration)
) AS p (phase_order, phase, took)
WHERE p.took IS NOT NULL;
COMMENT ON VIEW coder_scale.result_phase IS
  'One row per workspace run and phase whose time is known: create_user .. cleanup (the interval columns of run_result, in order), then total (Coder''s duration)';
COMMENT ON COLUMN coder_scale.result_phase.phase_order IS 'Order of the phase within a run (sort by it)';
COMMENT ON COLUMN coder_scale.result_phase.took IS 'How long the phase took';

-- ---------------------------------------------------------------------------
-- phase_latency
-- ---------------------------------------------------------------------------
CREATE VIEW coder_scale.phase_latency AS
SELECT p.run_id,
       p.phase,
       p.phase_order,
       count(*) AS count,
       min(p.took) AS min,
       percentile_cont(0.50) WITHIN GROUP (ORDER BY p.took) AS p50,
       percentile_cont(0.90) WITHIN GROUP (ORDER BY p.took) AS p90,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY p.took) AS p95,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY p.took) AS p99,
       max(p.took) AS max
FROM coder_scale.result_phase p
GROUP BY p.run_id, p.phase_order, p.phase;
COMMENT ON VIEW coder_scale.phase_latency IS
  'Per run and phase (create_user .. cleanup, then total = Coder''s duration): count, min, exact p50/p90/p95/p99 (percentile_cont) and max over the results where the phase is known';
COMMENT ON COLUMN coder_scale.phase_latency.phase_order IS 'Order of the phase within a run (sort by it)';

-- ---------------------------------------------------------------------------
-- throughput
-- ---------------------------------------------------------------------------
CREATE FUNCTION coder_scale.throughput(run_id bigint, bucket interval DEFAULT '10 seconds')
RETURNS TABLE ("time" timestamptz, started bigint, finished bigint, failed bigint)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
#variable_conflict use_column
DECLARE
  origin timestamptz;
  t_first timestamptz;
  t_last  timestamptz;
BEGIN
  PERFORM coder_scale.require_run(throughput.run_id);
  PERFORM coder_scale.require_bucket(throughput.bucket);
  SELECT r.started_at INTO origin FROM coder_scale.run r WHERE r.id = throughput.run_id;
  SELECT least(min(rr.started_at), min(rr.finished_at)), greatest(max(rr.started_at), max(rr.finished_at))
    INTO t_first, t_last
    FROM coder_scale.run_result rr WHERE rr.run_id = throughput.run_id;
  IF t_first IS NULL THEN
    RETURN;
  END IF;
  PERFORM coder_scale.require_bucket_count(throughput.run_id, throughput.bucket, t_first, t_last);
  RETURN QUERY
  WITH ev AS (
    SELECT date_bin(throughput.bucket, rr.started_at, origin) AS t, 1 AS s, 0 AS f, 0 AS x
    FROM coder_scale.run_result rr WHERE rr.run_id = throughput.run_id
    UNION ALL
    SELECT date_bin(throughput.bucket, rr.finished_at, origin), 0, 1, (rr.outcome = 'fail')::int
    FROM coder_scale.run_result rr WHERE rr.run_id = throughput.run_id AND rr.finished_at IS NOT NULL
  ), grid AS (
    SELECT g AS t
    FROM generate_series(date_bin(throughput.bucket, t_first, origin), date_bin(throughput.bucket, t_last, origin),
                         throughput.bucket) g
  )
  SELECT grid.t, coalesce(sum(ev.s), 0)::bigint, coalesce(sum(ev.f), 0)::bigint, coalesce(sum(ev.x), 0)::bigint
  FROM grid LEFT JOIN ev ON ev.t = grid.t
  GROUP BY grid.t
  ORDER BY grid.t;
END
$$;
COMMENT ON FUNCTION coder_scale.throughput(bigint, interval) IS
  'Workspace runs started, finished (passed or failed) and failed per time bucket of a run, buckets aligned on the run''s start, empty buckets included (Grafana time series)';

-- Latency per phase over time (Grafana: one series per phase).
CREATE FUNCTION coder_scale.phase_latency_over_time(run_id bigint, bucket interval DEFAULT '10 seconds')
RETURNS TABLE ("time" timestamptz, phase text, count bigint, p50 float8, p95 float8, max float8)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
#variable_conflict use_column
DECLARE
  origin timestamptz;
  t_first timestamptz;
  t_last  timestamptz;
BEGIN
  PERFORM coder_scale.require_run(phase_latency_over_time.run_id);
  PERFORM coder_scale.require_bucket(phase_latency_over_time.bucket);
  SELECT r.started_at INTO origin FROM coder_scale.run r WHERE r.id = phase_latency_over_time.run_id;
  SELECT min(rr.finished_at), max(rr.finished_at) INTO t_first, t_last
    FROM coder_scale.run_result rr WHERE rr.run_id = phase_latency_over_time.run_id;
  PERFORM coder_scale.require_bucket_count(phase_latency_over_time.run_id, phase_latency_over_time.bucket, t_first, t_last);
  RETURN QUERY
  SELECT date_bin(phase_latency_over_time.bucket, p.finished_at, origin), p.phase, count(*),
         percentile_cont(0.50) WITHIN GROUP (ORDER BY extract(epoch FROM p.took)::float8),
         percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM p.took)::float8),
         max(extract(epoch FROM p.took)::float8)
  FROM coder_scale.result_phase p
  WHERE p.run_id = phase_latency_over_time.run_id AND p.finished_at IS NOT NULL
  GROUP BY 1, p.phase_order, p.phase
  ORDER BY 1, p.phase_order;
END
$$;
COMMENT ON FUNCTION coder_scale.phase_latency_over_time(bigint, interval) IS
  'Per time bucket (by when each workspace run finished) and phase: count, exact p50 and p95 and max in seconds (Grafana time series, one per phase)';

-- ---------------------------------------------------------------------------
-- Component usage from samples
-- ---------------------------------------------------------------------------
-- CPU, per counter series and bucket: coder_scale.rate(coder_scale.counter_agg())
-- = the increase from the bucket's first to its last sample, counting from 0
-- after a reset (a decrease), over the seconds between them (a bucket needs
-- two samples of a series).  A component's cores = the sum over its series.
-- Memory and connections: per series the mean in the bucket, times scale,
-- summed (connections rounded to 6 decimals).  NaN samples are skipped.
CREATE FUNCTION coder_scale.component_usage_over_time(run_id bigint, bucket interval DEFAULT '30 seconds')
RETURNS TABLE ("time" timestamptz, component text, cpu_cores float8, memory_bytes float8, connections float8)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
#variable_conflict use_column
DECLARE
  origin timestamptz;
  t_first timestamptz;
  t_last  timestamptz;
BEGIN
  PERFORM coder_scale.require_run(component_usage_over_time.run_id);
  PERFORM coder_scale.require_bucket(component_usage_over_time.bucket);
  SELECT r.started_at INTO origin FROM coder_scale.run r WHERE r.id = component_usage_over_time.run_id;
  -- the first and last sample of each series: two index probes per series
  SELECT min(s.t_min), max(s.t_max) INTO t_first, t_last
    FROM coder_scale.component_series cs
    CROSS JOIN LATERAL (SELECT min(ms.time) AS t_min, max(ms.time) AS t_max
                        FROM coder_scale.metric_sample ms WHERE ms.series_id = cs.series_id) s
    WHERE cs.run_id = component_usage_over_time.run_id;
  PERFORM coder_scale.require_bucket_count(component_usage_over_time.run_id, component_usage_over_time.bucket, t_first, t_last);
  RETURN QUERY
  WITH cs AS (
    SELECT * FROM coder_scale.component_series c WHERE c.run_id = component_usage_over_time.run_id
  ), cpu AS (
    SELECT c.component, c.t, sum(c.cores) AS cores
    FROM (SELECT cs.component, cs.series_id, date_bin(component_usage_over_time.bucket, ms.time, origin) AS t,
                 coder_scale.rate(coder_scale.counter_agg(ms.time, ms.value)) * min(cs.scale) AS cores
          FROM cs JOIN coder_scale.metric_sample ms ON ms.series_id = cs.series_id
          WHERE cs.kind = 'cpu_seconds_counter'
          GROUP BY cs.component, cs.series_id, 3) c
    WHERE c.cores IS NOT NULL
    GROUP BY 1, 2
  ), gauge_series AS (
    SELECT cs.component, cs.kind, cs.series_id, date_bin(component_usage_over_time.bucket, ms.time, origin) AS t,
           avg(ms.value) * cs.scale AS v
    FROM cs JOIN coder_scale.metric_sample ms ON ms.series_id = cs.series_id
    WHERE cs.kind IN ('memory_bytes_gauge', 'connections_gauge') AND ms.value <> 'NaN'
    GROUP BY cs.component, cs.kind, cs.series_id, cs.scale, 4
  ), gauge AS (
    SELECT g.component, g.t,
           sum(g.v) FILTER (WHERE g.kind = 'memory_bytes_gauge') AS memory,
           -- a count: rounded, so sums of means carry no floating-point noise
           round(sum(g.v) FILTER (WHERE g.kind = 'connections_gauge')::numeric, 6)::float8 AS conns
    FROM gauge_series g
    GROUP BY 1, 2
  )
  SELECT coalesce(cpu.t, gauge.t), coalesce(cpu.component, gauge.component), cpu.cores, gauge.memory, gauge.conns
  FROM cpu FULL JOIN gauge ON gauge.component = cpu.component AND gauge.t = cpu.t
  ORDER BY 1, 2;
END
$$;
COMMENT ON FUNCTION coder_scale.component_usage_over_time(bigint, interval) IS
  'CPU cores (counter rate within each bucket, resets handled), memory bytes and connections per component and time bucket of a run, from the series component_metric maps (Grafana time series)';

CREATE VIEW coder_scale.component_usage AS
SELECT r.id AS run_id,
       u.component,
       max(u.cpu_cores) AS peak_cpu_cores,
       avg(u.cpu_cores) AS avg_cpu_cores,
       max(u.memory_bytes) AS peak_memory_bytes,
       avg(u.memory_bytes) AS avg_memory_bytes,
       max(u.connections) AS peak_connections
FROM coder_scale.run r
CROSS JOIN LATERAL coder_scale.component_usage_over_time(r.id, '30 seconds') u
GROUP BY r.id, u.component;
COMMENT ON VIEW coder_scale.component_usage IS
  'Per run and component: peak and average CPU cores, memory bytes and peak connections over 30-second buckets of component_usage_over_time()';

-- ---------------------------------------------------------------------------
-- compare_runs
-- ---------------------------------------------------------------------------
CREATE FUNCTION coder_scale.compare_runs(a bigint, b bigint)
RETURNS TABLE (section text, item text, measure text, run_a float8, run_b float8, change_pct numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
#variable_conflict use_column
BEGIN
  PERFORM coder_scale.require_run(compare_runs.a);
  PERFORM coder_scale.require_run(compare_runs.b);
  RETURN QUERY
  WITH m AS (
    -- (run, section order, section, item order, item, measure order, measure, value)
    SELECT s.run_id, 1 AS so, 'run' AS section, 0 AS io, 'all' AS item, v.mo, v.measure, v.value
    FROM coder_scale.run_summary s
    CROSS JOIN LATERAL (VALUES
      (1, 'total', s.total::float8),
      (2, 'succeeded', s.succeeded::float8),
      (3, 'failed', s.failed::float8),
      (4, 'elapsed_s', extract(epoch FROM s.elapsed)::float8),
      (5, 'avg_duration_s', extract(epoch FROM s.avg_duration)::float8)) v (mo, measure, value)
    WHERE s.run_id IN (compare_runs.a, compare_runs.b)
    UNION ALL
    SELECT l.run_id, 2, 'phase', l.phase_order, l.phase, v.mo, v.measure, v.value
    FROM coder_scale.phase_latency l
    CROSS JOIN LATERAL (VALUES
      (1, 'count', l.count::float8),
      (2, 'p50_s', extract(epoch FROM l.p50)::float8),
      (3, 'p95_s', extract(epoch FROM l.p95)::float8),
      (4, 'max_s', extract(epoch FROM l.max)::float8)) v (mo, measure, value)
    WHERE l.run_id IN (compare_runs.a, compare_runs.b)
    UNION ALL
    SELECT u.run_id, 3, 'component', 0, u.component, v.mo, v.measure, v.value
    FROM coder_scale.component_usage u
    CROSS JOIN LATERAL (VALUES
      (1, 'peak_cpu_cores', u.peak_cpu_cores),
      (2, 'avg_cpu_cores', u.avg_cpu_cores),
      (3, 'peak_memory_bytes', u.peak_memory_bytes),
      (4, 'avg_memory_bytes', u.avg_memory_bytes)) v (mo, measure, value)
    WHERE u.run_id IN (compare_runs.a, compare_runs.b)
  ), ma AS (SELECT * FROM m WHERE m.run_id = compare_runs.a),
     mb AS (SELECT * FROM m WHERE m.run_id = compare_runs.b)
  SELECT coalesce(ma.section, mb.section), coalesce(ma.item, mb.item), coalesce(ma.measure, mb.measure),
         ma.value, mb.value,
         CASE WHEN ma.value <> 0 THEN round(((mb.value - ma.value) / abs(ma.value) * 100)::numeric, 1) END
  FROM ma FULL JOIN mb ON mb.section = ma.section AND mb.item = ma.item AND mb.measure = ma.measure
  ORDER BY coalesce(ma.so, mb.so), coalesce(ma.io, mb.io), coalesce(ma.item, mb.item), coalesce(ma.mo, mb.mo);
END
$$;
COMMENT ON FUNCTION coder_scale.compare_runs(bigint, bigint) IS
  'Two runs side by side: totals, per-phase latency (seconds) and per-component usage, with the change from a to b in percent (NULL when a is 0 or missing)';
