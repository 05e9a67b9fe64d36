-- Failure classification: Coder's error text (and logs) -> failure_category.name.
-- The one place that knows Coder's error strings (scaletest/createworkspaces,
-- scaletest/workspacebuild, scaletest/reconnectingpty in coder/coder).

-- Coder writes an error with fmt "%+v": xerrors chains then come out on
-- several lines, each wrap followed by its stack frame and the next wrap
-- prefixed with "  - ":
--     create workspace:
--         github.com/coder/coder/v2/scaletest/createworkspaces.(*Runner).Run
--             /src/scaletest/createworkspaces/run.go:118
--       - wait for build:
--         ...
--       - build failed with status "failed": exit status 1
-- normalize_error() drops the frame lines and joins the rest into the
-- one-line form "create workspace: wait for build: build failed ...", lowercased.
CREATE FUNCTION coder_scale.normalize_error(error text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN btrim(regexp_replace(regexp_replace(regexp_replace(lower(error),
         -- frame lines: an indented function name, or an indented file.go:line
         '\n[ \t]+([^ \t\n]+\.go:[0-9]+|[^ \t\n]*\([^ \t\n]*\)[^ \t\n]*|[a-z0-9_.\-]+/[^ \t\n]*\.[a-z0-9_]+)[ \t]*(?=\n|$)', '', 'g'),
         '\n[ \t]*(- )?', ' ', 'g'),
         ':[ \t]+', ': ', 'g'));
COMMENT ON FUNCTION coder_scale.normalize_error(text) IS
  'Coder''s error text on one line, lowercased, stack frames of "%+v" output removed (input of classify_failure)';

CREATE FUNCTION coder_scale.classify_failure(error text, logs text DEFAULT NULL)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (
  -- the first 64 kB say which step failed; the rest (long logs pasted into
  -- an error) would only cost time in the regular expressions
  WITH e AS (SELECT coder_scale.normalize_error(left(error, 65536)) AS n)
  SELECT CASE
    -- a pass: Coder writes "<nil>"
    WHEN n IS NULL OR n IN ('', '<nil>') THEN NULL
    -- cleanup (createworkspaces.Cleanup, workspacebuild.CleanupRunner)
    WHEN n ~ '(^|: )(cleanup|cleanup workspace|delete user|delete workspace|cancel workspace build):' THEN 'cleanup_failed'
    -- step 1: the user (createworkspaces.Run)
    WHEN n ~ '(^|: )(create user|login as new user|generate random password for user|get user):' THEN 'create_user'
    -- step 5: the command through the web terminal (reconnectingpty), the connect probe (agentconn)
    WHEN n ~ '(run reconnecting pty|run agent connection|open reconnecting pty|copy context|read from reconnecting pty):'
         OR n ~ 'expected (timeout, but|string .* not found in output)' THEN
      CASE WHEN n ~ 'context deadline exceeded|i/o timeout|timed out' AND n !~ 'expected timeout, but'
           THEN 'command_timeout' ELSE 'command_failed' END
    -- step 3: the build
    WHEN n ~ 'build canceled' THEN 'build_canceled'
    WHEN n ~ 'build failed with status|logs disconnected with unexpected job status' THEN 'build_failed'
    -- step 4: the agents
    WHEN n ~ '(^|: )wait for agents?:|no agents found for workspace' THEN 'agent_timeout'
    -- a bare deadline: the logs tell which step it stopped in
    WHEN n = 'context deadline exceeded' AND strpos(logs, 'Waiting for agents to connect') > 0
         AND strpos(logs, 'Agents connected!') = 0 THEN 'agent_timeout'
    WHEN n = 'context deadline exceeded' AND strpos(logs, 'Opening reconnecting PTY') > 0 THEN 'command_timeout'
    -- a deadline anywhere else: the per-run --job-timeout (or the whole --timeout)
    WHEN n ~ 'context deadline exceeded' THEN 'job_timeout'
    -- step 2: creating the workspace, or anything else inside the workspacebuild step
    WHEN n ~ '(^|: )(create workspace|create workspace build|generate random name for workspace|get workspace( id| "[^"]*")?):' THEN 'create_workspace'
    ELSE 'other'
  END
  FROM e
);
COMMENT ON FUNCTION coder_scale.classify_failure(text, text) IS
  'The failure_category name of a run from Coder''s error text (one-line or "%+v" multi-line); the logs place a bare "context deadline exceeded"; NULL for a pass ("<nil>", empty or NULL)';
