/*
 * runner.h: one scale-test run (one user, one workspace) as a state machine
 * on the driver's event loop.
 *
 * A run is opaque.  What it measured is its run_record: plain data that the
 * scheduler, the outputs and the results writer read and only the runner
 * writes.  Runs live until the process ends (the scheduler keeps every one
 * for the outputs written at the end).  All calls happen on the loop's
 * thread.
 *
 *     runner_setup(&env);                 once, before any run
 *     run *r = runner_new(i, rand8);      workspacebuild/<i>, named scaletest-<rand8>-<i>
 *     runner_start(r);                    env.run_done(r) once, when it has ended
 *     if (runner_needs_cleanup(r))
 *         runner_cleanup(r);              env.cleanup_done(r) once, when that has ended
 *     const run_record *rec = runner_record(r);
 */
#ifndef CODER_SCALE_RUNNER_H
#define CODER_SCALE_RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "common/categories.h"
#include "net/http.h"

typedef struct template_param
{
	char	   *name;
	char	   *value;
} template_param;

/* The flags of create-workspaces, and what the checks before a test found. */
typedef struct scaletest_config
{
	int			count;
	const char *template_arg;
	template_param   *params;
	int			nparams;
	int			concurrency;
	int			cleanup_concurrency;
	int64_t		timeout_ms;		/* 0 = none, everywhere */
	int64_t		job_timeout_ms;
	int64_t		cleanup_timeout_ms;
	int64_t		cleanup_job_timeout_ms;
	const char *run_command;
	int64_t		run_timeout_ms;
	const char *run_expect_output;
	bool		run_expect_timeout;
	bool		run_log_output;
	bool		no_cleanup;
	bool		no_wait_for_agents;
	bool		use_host_login;
	int			retry;
	bool		insecure;

	/* found before the test starts */
	char		org_id[64];
	char		template_id[64];
	char		template_name[256];
	char		me_id[64];
	char		rand8[9];
} scaletest_config;

/* What a run measured, and how far it got. */
typedef struct run_record
{
	int			idx;			/* i of workspacebuild/<i> */
	char		full_id[32];	/* workspacebuild/<i> */
	char		name[48];		/* scaletest-<rand8>-<i>: user and workspace */
	char		username[128];	/* as the logs show it ("Username:"), "" before */
	char		user_id[64];	/* "" until Coder gave one */
	char		ws_id[64];
	bool		started;
	bool		done;
	bool		user_attempted; /* a user may exist on the server */
	bool		ws_attempted;	/* a workspace may exist on the server */
	struct timespec started_wall;
	int64_t		duration_us;
	int64_t		t_us[T_COUNT];	/* per phase (categories.h); -1 when unknown */
	char	   *logs;			/* Coder-style run log, NUL-terminated */
	char	   *error;			/* NULL: passed */
	failure_category category;	/* CAT_NONE: passed */
	/* cleanup */
	bool		cl_started;
	bool		cl_done;
	bool		cl_canceled;	/* stopped by a second signal: left behind, not failed */
	char	   *cl_error;		/* NULL: cleaned up (or nothing to clean) */
} run_record;

typedef struct run run;

/* What the runner needs from its owner. */
typedef struct runner_env
{
	uv_loop_t  *loop;
	http_client *http;
	const scaletest_config *cfg;
	const char *owner_token;
	const char *base_url;		/* Coder's URL without a trailing slash, for the logs */
	void		(*run_done) (run *r);
	void		(*cleanup_done) (run *r);
} runner_env;

void		runner_setup(const runner_env *env);

/* A run I of create-workspaces (names, ids), not started. */
run		   *runner_new(int i, const char *rand8);

/* A run that only cleans up what a listing found: a workspace or a user. */
run		   *runner_adopt(int i, const char *name, const char *ws_id, const char *user_id);

const run_record *runner_record(const run *r);

void		runner_start(run *r);

/* Stop a run in flight now: it fails with "<step>: REASON".  CAT_NONE: the category its phase implies. */
void		runner_stop(run *r, const char *reason, failure_category category);

/* Fail a run that never started (the whole phase timed out). */
void		runner_fail_unstarted(run *r, const char *reason, failure_category category);

/* The run's start in microseconds since the epoch (its end: + duration_us). */
int64_t		run_start_us(const run *r);

/* Whether the run left anything on the server to clean up. */
bool		runner_needs_cleanup(const run *r);
void		runner_cleanup(run *r);

/* End a cleanup in flight as failed with REASON. */
void		runner_stop_cleanup(run *r, const char *reason);

/* End a cleanup in flight as canceled (a second signal): left behind, not failed. */
void		runner_cancel_cleanup(run *r);

#endif							/* CODER_SCALE_RUNNER_H */
