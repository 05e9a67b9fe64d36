\set ECHO none
\i test/lib/setup.psql
SELECT plan(31);

-- Error texts as Coder's scaletest runners build them (createworkspaces,
-- workspacebuild, reconnectingpty), one-line ("%v") and multi-line ("%+v").
CREATE TEMP TABLE cases (error text, logs text, want text, what text);
INSERT INTO cases VALUES
  ('<nil>', NULL, NULL, 'pass: "<nil>"'),
  ('', NULL, NULL, 'pass: empty error'),
  (NULL, 'Creating user:', NULL, 'pass: NULL error'),
  ('create user: POST http://coder.local/api/v2/users: unexpected status code 500: Internal error creating user.' || E'\n\tError: pq: deadlock detected',
   NULL, 'create_user', 'create_user: POST /users refused, detail on a second line'),
  ('login as new user: POST http://coder.local/api/v2/users/login: unexpected status code 401: Incorrect email or password.',
   NULL, 'create_user', 'create_user: login as the new user failed'),
  ('create workspace: create workspace: POST http://coder.local/api/v2/organizations/x/members/y/workspaces: unexpected status code 400: Workspace name "scaletest-abc" already exists.',
   NULL, 'create_workspace', 'create_workspace: POST workspaces refused'),
  ('create workspace: wait for build: fetch build: GET http://coder.local/api/v2/workspacebuilds/z: unexpected status code 502: bad gateway',
   NULL, 'create_workspace', 'create_workspace: the build could not be polled'),
  ('create workspace: wait for build: build failed with status "failed": terraform apply: exit status 1',
   NULL, 'build_failed', 'build_failed: one line'),
  (E'create workspace:\n    github.com/coder/coder/v2/scaletest/createworkspaces.(*Runner).Run\n        /home/runner/work/coder/coder/scaletest/createworkspaces/run.go:118\n  - wait for build:\n    github.com/coder/coder/v2/scaletest/workspacebuild.(*Runner).RunReturningWorkspace\n        /home/runner/work/coder/coder/scaletest/workspacebuild/run.go:97\n  - build failed with status "failed": Error: creating pod: pods "ws-1" is forbidden: exceeded quota\nline two of the provisioner error',
   NULL, 'build_failed', 'build_failed: multi-line %+v chain with stack frames and a two-line job error'),
  ('create workspace: wait for build: logs disconnected with unexpected job status "running" and error ""',
   NULL, 'build_failed', 'build_failed: logs disconnected mid-build'),
  ('create workspace: wait for build: build canceled', NULL, 'build_canceled', 'build_canceled: one line'),
  (E'create workspace:\n    github.com/coder/coder/v2/scaletest/createworkspaces.(*Runner).Run\n        /src/scaletest/createworkspaces/run.go:118\n  - wait for build:\n    github.com/coder/coder/v2/scaletest/workspacebuild.waitForBuild\n        /src/scaletest/workspacebuild/run.go:230\n  - build canceled',
   NULL, 'build_canceled', 'build_canceled: multi-line'),
  ('create workspace: wait for agent: context deadline exceeded', NULL, 'agent_timeout', 'agent_timeout: deadline while waiting for agents'),
  ('create workspace: wait for agent: fetch workspace: GET http://coder.local/api/v2/workspaces/w: unexpected status code 500',
   NULL, 'agent_timeout', 'agent_timeout: agent wait broke off'),
  ('no agents found for workspace "5b2c"', NULL, 'agent_timeout', 'agent_timeout: the template has no agent'),
  ('context deadline exceeded', E'Build succeeded!\n\nWaiting for agents to connect...\n\n\tAgent "main" is connecting\n',
   'agent_timeout', 'agent_timeout: bare deadline, logs stop while waiting for agents'),
  ('run workspace connections in parallel: run reconnecting pty: open reconnecting PTY: dial: websocket: bad handshake',
   NULL, 'command_failed', 'command_failed: web terminal would not open'),
  ('run workspace connections in parallel: run reconnecting pty: expected string "ready" not found in output',
   NULL, 'command_failed', 'command_failed: expected output missing'),
  ('run workspace connections in parallel: run reconnecting pty: expected timeout, but the command exited successfully',
   NULL, 'command_failed', 'command_failed: --run-expect-timeout but the command ended (not a timeout)'),
  ('run workspace connections in parallel: run agent connection: connect to url http://localhost:8080: connection refused',
   NULL, 'command_failed', 'command_failed: --connect-url probe failed'),
  ('run workspace connections in parallel: run reconnecting pty: copy context: context deadline exceeded',
   NULL, 'command_timeout', 'command_timeout: one line'),
  (E'run workspace connections in parallel:\n    github.com/coder/coder/v2/scaletest/createworkspaces.(*Runner).Run\n        /src/run.go:178\n  - run reconnecting pty:\n    github.com/coder/coder/v2/scaletest/createworkspaces.(*Runner).Run.func1\n        /src/run.go:151\n  - copy context:\n    github.com/coder/coder/v2/scaletest/reconnectingpty.(*Runner).Run\n        /src/scaletest/reconnectingpty/run.go:103\n  - context deadline exceeded',
   NULL, 'command_timeout', 'command_timeout: multi-line'),
  ('context deadline exceeded', E'Opening reconnecting PTY connection to agent via coderd...\n\tID:      1\n',
   'command_timeout', 'command_timeout: bare deadline, logs stop in the command'),
  ('create workspace: wait for build: fetch build: GET http://coder.local/api/v2/workspacebuilds/z: context deadline exceeded',
   NULL, 'job_timeout', 'job_timeout: deadline while the build was queued'),
  ('context deadline exceeded', E'Creating workspace...\nBuild is currently queued.....', 'job_timeout', 'job_timeout: bare deadline in the build'),
  ('cleanup workspace: wait for build: build failed with status "failed": destroy failed', NULL, 'cleanup_failed',
   'cleanup_failed: delete build failed (not a start build)'),
  ('delete user: DELETE http://coder.local/api/v2/users/u: unexpected status code 500', NULL, 'cleanup_failed', 'cleanup_failed: user deletion'),
  (E'cleanup workspace:\n    github.com/coder/coder/v2/scaletest/createworkspaces.(*Runner).Cleanup\n        /src/run.go:199\n  - delete workspace: POST http://coder.local/api/v2/workspaces/w/builds: unexpected status code 409',
   NULL, 'cleanup_failed', 'cleanup_failed: multi-line'),
  ('panic: runtime error: invalid memory address or nil pointer dereference', NULL, 'other', 'other: a panic'),
  ('something nobody expected: ✗ ошибка', NULL, 'other', 'other: unknown text with unicode');

SELECT is(coder_scale.classify_failure(error, logs), want, what) FROM cases;

SELECT is(coder_scale.normalize_error(E'create workspace:\n    github.com/coder/coder/v2/scaletest/createworkspaces.(*Runner).Run\n        /src/run.go:118\n  - wait for build:\n    github.com/coder/coder/v2/scaletest/workspacebuild.waitForBuild\n        /src/run.go:230\n  - build canceled'),
  'create workspace: wait for build: build canceled', 'normalize_error drops the frames and joins the chain on one line');

SELECT * FROM finish();
ROLLBACK;
