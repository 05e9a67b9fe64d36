/*
 * runner_build.c: waiting for a build, as Coder's waitForBuild does
 * (coder/coder scaletest/workspacebuild/run.go): GET the build every 500 ms
 * while its job is pending, then follow its logs over the websocket
 * GET /workspacebuilds/{id}/logs?follow to its close (codersdk
 * WorkspaceBuildLogsAfter with after 0), then GET the build once more and
 * read its job's status.  The create steps wait this way for the start
 * build, the cleanup steps for the cancel and the delete build.
 *
 * Logged (the create steps), it writes what Coder's writes into the run's
 * logs: "Build is currently queued..." and a "." per pending poll, "Build
 * started! Streaming logs below:", the stage of each log line when it
 * changes and "\t<level>:\t<output>" per line, then the outcome.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "progress.h"
#include "runner_int.h"

static void bw_poll(uv_timer_t *t);

static void
bw_end(run *r, json_object *build, const char *error, failure_category category)
{
	build_done_fn done = r->bw_done;

	r->bw_done = NULL;
	done(r, build, error, category);
}

/* A call of the wait failed: Coder's "fetch build: <error>". */
static void
bw_fetch_failed(run *r, const http_result *res)
{
	char	   *e = http_error_text(res);
	char	   *msg;

	if (asprintf(&msg, "fetch build: %s", e) < 0)
		msg = NULL;
	bw_end(r, NULL, msg ? msg : e, CAT_OTHER);
	free(msg);
	free(e);
}

static void
bw_get(run *r, http_done_fn done)
{
	char		path[128];

	snprintf(path, sizeof(path), "/api/v2/workspacebuilds/%s", r->build_id);
	run_call(r, r->bw_logged, "GET", path, NULL, done);
}

/* The answer after the logs closed: the build's outcome, as Coder reads it. */
static void
bw_final(void *arg, const http_result *res)
{
	run		   *r = arg;
	json_object *j;
	json_object *job;
	const char *status;
	const char *jerr;
	char	   *msg = NULL;

	r->call = NULL;
	if (!ok_status(res))
	{
		bw_fetch_failed(r, res);
		return;
	}
	j = http_json(res);
	job = jobj(j, "job");
	status = jstr(job, "status") ? jstr(job, "status") : "";
	jerr = jstr(job, "error") ? jstr(job, "error") : "";
	if (r->bw_logged)
		run_print(r, "\n");
	if (strcmp(status, "succeeded") == 0)
	{
		if (r->bw_logged)
			run_print(r, "\nBuild succeeded!\n");
		bw_end(r, j, NULL, CAT_NONE);
		json_object_put(j);
		return;
	}
	if (strcmp(status, "failed") == 0)
	{
		if (r->bw_logged)
		{
			run_print(r, "\nBuild failed with error ");
			log_quoted(r, jerr);
			run_print(r, ".\nSee logs above for more details.\n");
		}
		if (asprintf(&msg, "build failed with status \"%s\": %s", status, jerr) < 0)
			msg = NULL;
		bw_end(r, NULL, msg ? msg : "out of memory", CAT_BUILD_FAILED);
	}
	else if (strcmp(status, "canceled") == 0)
	{
		if (r->bw_logged)
			run_print(r, "\nBuild canceled.\n");
		bw_end(r, NULL, "build canceled", CAT_BUILD_CANCELED);
	}
	else
	{
		if (r->bw_logged)
		{
			run_print(r, "\nLogs disconnected with unexpected job status ");
			log_quoted(r, status);
			run_print(r, " and error ");
			log_quoted(r, jerr);
			run_print(r, ".\n");
		}
		if (asprintf(&msg, "logs disconnected with unexpected job status \"%s\" and error \"%s\"",
					 status, jerr) < 0)
			msg = NULL;
		bw_end(r, NULL, msg ? msg : "out of memory", CAT_OTHER);
	}
	free(msg);
	json_object_put(j);
}

/*
 * One ProvisionerJobLog message into the logs, as waitForBuild prints it (a
 * piece of an overlong one is not JSON, and is left out).
 */
static void
bw_log_line(void *arg, const char *text, size_t len)
{
	run		   *r = arg;
	json_object *j = json_tokener_parse(text);
	const char *stage = jstr(j, "stage") ? jstr(j, "stage") : "";
	const char *level = jstr(j, "log_level");
	const char *output = jstr(j, "output") ? jstr(j, "output") : "";

	(void) len;
	if (!j)
		return;
	if (r->bw_logged)
	{
		if (strcmp(stage, r->bw_stage) != 0)
		{
			snprintf(r->bw_stage, sizeof(r->bw_stage), "%s", stage);
			run_print(r, "\n%s\n", stage);
		}
		run_print(r, "\t%s:\t%s\n", level && level[0] ? level : "unknown", output);
	}
	json_object_put(j);
}

/*
 * The logs socket ended.  One that never opened is Coder's "start streaming
 * build logs" error; after that, however it ended, Coder reads the build
 * (its log channel just closes).
 */
static void
bw_log_end(void *arg, const char *error, bool opened)
{
	run		   *r = arg;
	char	   *msg;

	r->ws = NULL;
	if (error && !opened)
	{
		if (asprintf(&msg, "start streaming build logs: %s", error) < 0)
			msg = NULL;
		bw_end(r, NULL, msg ? msg : error, CAT_OTHER);
		free(msg);
		return;
	}
	bw_get(r, bw_final);
}

static void
bw_follow_logs(run *r)
{
	char		path[160];
	http_auth	who = run_auth(r);

	r->bw_stage[0] = '\0';
	snprintf(path, sizeof(path), "/api/v2/workspacebuilds/%s/logs?follow", r->build_id);
	r->ws = ws_open(path, &who, bw_log_line, bw_log_end, r);
	if (!r->ws)
		bw_end(r, NULL, "start streaming build logs: out of memory", CAT_OTHER);
}

static void
bw_read(void *arg, const http_result *res)
{
	run		   *r = arg;
	json_object *j;
	const char *status;

	r->call = NULL;
	if (!ok_status(res))
	{
		bw_fetch_failed(r, res);
		return;
	}
	j = http_json(res);
	status = jstr(jobj(j, "job"), "status");
	if (status && strcmp(status, "pending") == 0)
	{
		json_object_put(j);
		if (r->bw_logged)
			run_print(r, ".");
		uv_timer_start(&r->poll, bw_poll, BUILD_POLL_MS, 0);
		return;
	}
	json_object_put(j);
	if (r->bw_logged)
	{
		run_print(r, "\nBuild started! Streaming logs below:\n");
		r->mark[M_BUILD_FROM] = r->last_ms;
		progress_move(r->rec.idx, PS_BUILDING);
	}
	bw_follow_logs(r);
}

static void
bw_poll(uv_timer_t *t)
{
	bw_get(t->data, bw_read);
}

void
build_wait(run *r, bool logged, build_done_fn done)
{
	r->bw_done = done;
	r->bw_logged = logged;
	if (logged)
		run_print(r, "Build is currently queued...");
	bw_get(r, bw_read);
}
