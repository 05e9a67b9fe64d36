-- coder_scale 0.1.0 -> 0.2.0.  Every change made to sql/parts since 0.1.0, in
-- the same words; test/upgrade/run.sh checks that 0.1.0 + this script gives
-- the catalog a fresh 0.2.0 install gives, and that stored data survives.
\echo Use "ALTER EXTENSION coder_scale UPDATE TO '0.2.0'" to load this file. \quit

-- run_summary: elapsed is the test without its cleanup (Coder's elapsed); the
-- cleanup's elapsed is a new column, at the end (CREATE OR REPLACE VIEW can
-- only add columns there; sql/parts/60_reporting.sql has it there too).
CREATE OR REPLACE VIEW coder_scale.run_summary AS
SELECT r.id AS run_id,
       r.label,
       r.kind,
       r.status,
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
COMMENT ON COLUMN coder_scale.run_summary.avg_duration IS 'Mean duration over every result, passed or failed (as Coder''s Avg. duration)';
COMMENT ON COLUMN coder_scale.run_summary.summary IS
  'N succeeded, then each non-zero failure category as count and wording, in failure_category.sort_order';
COMMENT ON COLUMN coder_scale.run_summary.cleanup_elapsed IS
  'A driven run''s cleanup: from the end of its last result to the run''s end; NULL when nothing was cleaned up, and for an ingested file (Coder''s json has no cleanup time)';
