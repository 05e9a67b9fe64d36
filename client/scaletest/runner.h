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
 *     run *r = runner_new(i);             workspacebuild/<i>: its user and workspace named as Coder names them
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

#include "config.h"
#include "record.h"
#include "net/http.h"

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
run		   *runner_new(int i);

/* A run that only cleans up what a listing found: a workspace or a user. */
run		   *runner_adopt(int i, const char *name, const char *ws_id, const char *user_id);

const run_record *runner_record(const run *r);

/* The user a run creates (its record's username is the one its logs show). */
const char *runner_username(const run *r);

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
