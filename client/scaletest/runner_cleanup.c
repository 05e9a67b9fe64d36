/*
 * runner_cleanup.c: the cleanup steps of a run, Coder's order (coder/coder
 * scaletest/workspacebuild/run.go CleanupRunner.Run, then the user in
 * scaletest/createworkspaces/run.go Cleanup): read the workspace and its
 * latest build, cancel the build if it is active and wait for it, delete
 * the workspace (a delete build) and wait for it (waits as runner_build.c),
 * delete the user.  The workspace steps go through the run user's client
 * (the workspacebuild runner's), the user's deletion through the owner's
 * (run_auth, owner_auth); every step is a callback on the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "runner_int.h"

/* Cleanup states. */
enum
{
	CL_FIND_USER,
	CL_GET_WS,
	CL_GET_BUILD,
	CL_CANCEL,
	CL_WAIT_CANCEL,
	CL_DELETE,
	CL_WAIT_DELETE,
	CL_USER,
	CL_DONE
};

/* ---------- cleanup ---------- */

bool
runner_needs_cleanup(const run *r)
{
	if (r->rec.cl_done)
		return false;
	return r->rec.ws_attempted || (r->rec.user_attempted && !run_env.cfg->use_host_login);
}

static void
cl_finish(run *r, const char *error)
{
	if (r->rec.cl_done)
		return;
	stop_io(r);
	r->rec.cl_done = true;
	r->rec.t_us[T_CLEANUP] = (int64_t) (uv_hrtime() - r->cl_t0_ns) / 1000;
	if (error)
		r->rec.cl_error = strdup(error);
	run_env.cleanup_done(r);
}

/*
 * A workspace step failed with TEXT: a run of create-workspaces says so as
 * createworkspaces.Cleanup wraps it ("cleanup workspace: %w"); a cleanup of
 * what a listing found gives CleanupRunner's error as it is.
 */
static void
cl_fail_workspace(run *r, const char *text)
{
	char	   *msg = NULL;

	if (!r->adopted && asprintf(&msg, "cleanup workspace: %s", text) < 0)
		msg = NULL;
	cl_finish(r, msg ? msg : text);
	free(msg);
}

/*
 * A call failed: "WHAT: <Coder's error text>" (no WHAT: the text alone), a
 * workspace step's as cl_fail_workspace words it.
 */
static void
cl_fail_http(run *r, const char *what, const http_result *res, bool workspace_step)
{
	char	   *e = http_error_text(res);
	char	   *msg = NULL;

	if (what && asprintf(&msg, "%s: %s", what, e) < 0)
		msg = NULL;
	if (workspace_step)
		cl_fail_workspace(r, msg ? msg : e);
	else
		cl_finish(r, msg ? msg : e);
	free(msg);
	free(e);
}

static void
cl_bad_id(run *r, const char *what)
{
	char		msg[256];

	snprintf(msg, sizeof(msg), "cleanup: %s: %s", what, r->bad_id);
	cl_finish(r, msg);
}

static void
cl_deadline(uv_timer_t *t)
{
	cl_finish(t->data, "cleanup: context deadline exceeded");
}

void
runner_cancel_cleanup(run *r)
{
	if (r->rec.cl_started && !r->rec.cl_done)
	{
		r->rec.cl_canceled = true;
		cl_finish(r, "cleanup: context canceled");
	}
}

void
runner_stop_cleanup(run *r, const char *reason)
{
	if (r->rec.cl_started && !r->rec.cl_done)
		cl_finish(r, reason);
}

/* A workspace step's call, through the run's client. */
static void
cl_call(run *r, const char *method, const char *path, const char *body, http_done_fn done)
{
	run_call(r, false, method, path, body, done);
}

/* A user step's call, through the owner's runner client. */
static void
cl_owner_call(run *r, const char *method, const char *path, http_done_fn done)
{
	http_auth	who = owner_auth();

	r->call = http_start(run_env.http, method, path, &who, NULL, done, r);
	if (!r->call)
		cl_finish(r, "cleanup: cannot start an HTTP call");
}

static bool
job_active(const char *status)
{
	return strcmp(status, "pending") == 0 || strcmp(status, "running") == 0 ||
		strcmp(status, "canceling") == 0;
}

static void
cl_user_found(void *arg, const http_result *res)
{
	run		   *r = arg;
	json_object *j;

	r->call = NULL;
	if (res->status == 404)
		r->cl_state = CL_GET_WS;
	else if (!ok_status(res))
	{
		cl_fail_http(r, "find user", res, false);
		return;
	}
	else
	{
		bool		ok;

		j = http_json(res);
		ok = take_id(r, r->rec.user_id, sizeof(r->rec.user_id), jstr(j, "id"), "user");
		json_object_put(j);
		if (!ok)
		{
			cl_bad_id(r, "find user");
			return;
		}
		r->cl_state = CL_GET_WS;
	}
	cleanup_step(r);
}

static void
cl_ws_read(void *arg, const http_result *res)
{
	run		   *r = arg;
	json_object *j;
	bool		ok;

	r->call = NULL;
	if (res->status == 404 || res->status == 410)
	{
		r->cl_state = CL_USER;
		cleanup_step(r);
		return;
	}
	if (!ok_status(res))
	{
		cl_fail_http(r, NULL, res, true);	/* CleanupRunner returns it unwrapped */
		return;
	}
	j = http_json(res);
	ok = take_id(r, r->rec.ws_id, sizeof(r->rec.ws_id), jstr(j, "id"), "workspace") &&
		take_id(r, r->build_id, sizeof(r->build_id), jstr(jobj(j, "latest_build"), "id"), "build");
	json_object_put(j);
	if (!ok)
	{
		cl_bad_id(r, "get workspace");
		return;
	}
	r->cl_state = CL_GET_BUILD;
	cleanup_step(r);
}

/*
 * The latest build: an active one is canceled first; one that cannot be
 * read is deleted anyway (Coder: "unable to lookup latest workspace build,
 * attempting to delete anyway"); a workspace already deleted is done.
 */
static void
cl_build_got(void *arg, const http_result *res)
{
	run		   *r = arg;
	json_object *j;
	const char *status,
			   *transition;

	r->call = NULL;
	r->cl_state = CL_DELETE;
	if (ok_status(res))
	{
		j = http_json(res);
		status = jstr(jobj(j, "job"), "status");
		transition = jstr(j, "transition");
		if (status && job_active(status))
			r->cl_state = CL_CANCEL;
		else if (transition && strcmp(transition, "delete") == 0 && status &&
				 strcmp(status, "succeeded") == 0)
			r->cl_state = CL_USER;
		json_object_put(j);
	}
	cleanup_step(r);
}

/* The canceled build ended, however it ended (Coder ignores the error): delete next. */
static void
cl_cancel_waited(run *r, json_object *build, const char *error, failure_category category)
{
	(void) build;
	(void) error;
	(void) category;
	r->cl_state = CL_DELETE;
	cleanup_step(r);
}

/* The delete build ended: the user next, or Coder's "wait for build: %w". */
static void
cl_delete_waited(run *r, json_object *build, const char *error, failure_category category)
{
	char	   *msg;

	(void) build;
	(void) category;
	if (!error)
	{
		r->cl_state = CL_USER;
		cleanup_step(r);
		return;
	}
	if (asprintf(&msg, "wait for build: %s", error) < 0)
		msg = NULL;
	cl_fail_workspace(r, msg ? msg : error);
	free(msg);
}

static void
cl_canceled(void *arg, const http_result *res)
{
	run		   *r = arg;

	/* Coder only warns when the cancel fails ("failed to cancel workspace build") and waits */
	(void) res;
	r->call = NULL;
	r->cl_state = CL_WAIT_CANCEL;
	cleanup_step(r);
}

static void
cl_deleting(void *arg, const http_result *res)
{
	run		   *r = arg;
	json_object *j;

	r->call = NULL;
	if (res->status == 404 || res->status == 410)
	{
		r->cl_state = CL_USER;
		cleanup_step(r);
		return;
	}
	if (!ok_status(res))
	{
		cl_fail_http(r, "delete workspace", res, true);
		return;
	}
	j = http_json(res);
	if (!take_id(r, r->build_id, sizeof(r->build_id), jstr(j, "id"), "build"))
	{
		json_object_put(j);
		cl_bad_id(r, "delete workspace");
		return;
	}
	json_object_put(j);
	r->cl_state = CL_WAIT_DELETE;
	cleanup_step(r);
}

static void
cl_user_deleted(void *arg, const http_result *res)
{
	run		   *r = arg;

	r->call = NULL;
	if (!ok_status(res) && res->status != 404)
	{
		cl_fail_http(r, "delete user", res, false);
		return;
	}
	r->cl_state = CL_DONE;
	cleanup_step(r);
}

void
cleanup_step(run *r)
{
	char		path[256];

	switch (r->cl_state)
	{
		case CL_FIND_USER:
			if (r->rec.user_attempted && !r->rec.user_id[0] && !run_env.cfg->use_host_login)
			{
				snprintf(path, sizeof(path), "/api/v2/users/%s", r->username);
				cl_owner_call(r, "GET", path, cl_user_found);
				return;
			}
			r->cl_state = CL_GET_WS;
			/* FALLTHROUGH */
		case CL_GET_WS:
			if (r->rec.ws_id[0])
				snprintf(path, sizeof(path), "/api/v2/workspaces/%s", r->rec.ws_id);
			else if (r->rec.ws_attempted && (r->rec.user_id[0] || run_env.cfg->use_host_login))
				snprintf(path, sizeof(path), "/api/v2/users/%s/workspace/%s",
						 r->rec.user_id[0] && !run_env.cfg->use_host_login ? r->rec.user_id : "me", r->rec.name);
			else
			{
				r->cl_state = CL_USER;
				cleanup_step(r);
				return;
			}
			cl_call(r, "GET", path, NULL, cl_ws_read);
			return;
		case CL_GET_BUILD:
			snprintf(path, sizeof(path), "/api/v2/workspacebuilds/%s", r->build_id);
			cl_call(r, "GET", path, NULL, cl_build_got);
			return;
		case CL_CANCEL:
			snprintf(path, sizeof(path), "/api/v2/workspacebuilds/%s/cancel", r->build_id);
			cl_call(r, "PATCH", path, NULL, cl_canceled);
			return;
		case CL_WAIT_CANCEL:
			build_wait(r, false, cl_cancel_waited);
			return;
		case CL_WAIT_DELETE:
			build_wait(r, false, cl_delete_waited);
			return;
		case CL_DELETE:
			snprintf(path, sizeof(path), "/api/v2/workspaces/%s/builds", r->rec.ws_id);
			cl_call(r, "POST", path, "{\"transition\":\"delete\"}", cl_deleting);
			return;
		case CL_USER:
			if (r->rec.user_id[0] && !run_env.cfg->use_host_login)
			{
				snprintf(path, sizeof(path), "/api/v2/users/%s", r->rec.user_id);
				r->cl_state = CL_DONE;
				cl_owner_call(r, "DELETE", path, cl_user_deleted);
				return;
			}
			r->cl_state = CL_DONE;
			/* FALLTHROUGH */
		case CL_DONE:
			cl_finish(r, NULL);
			return;
	}
}

void
runner_cleanup(run *r)
{
	init_timers(r);
	r->rec.cl_started = true;
	r->cl_t0_ns = uv_hrtime();
	r->cl_state = CL_FIND_USER;
	if (run_env.cfg->cleanup_job_timeout_ms > 0)
		deadline_in(&r->deadline, cl_deadline, run_env.cfg->cleanup_job_timeout_ms);
	cleanup_step(r);
}
