/*
 * runner.c: one scale-test run as a state machine, Coder's sequence:
 *   create user + log in (or GET /users/me with --use-host-login),
 *   create the workspace, poll its build every 500 ms, poll the workspace
 *   every 1 s until every agent is connected, run the command through the
 *   reconnecting-PTY websocket.  Its cleanup steps are runner_cleanup.c's.
 * Every step is a callback on the loop; a run never blocks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "cli.h"
#include "common/json.h"
#include "names.h"
#include "plan.h"
#include "progress.h"
#include "runner_int.h"

#define AGENT_POLL_MS	1000
#define MAX_LOGS		(1024 * 1024)
#define MAX_PTY_LINE	4096

runner_env run_env;


static void agents_poll(uv_timer_t *t);

void
runner_setup(const runner_env *e)
{
	run_env = *e;
}

/* ---------- small helpers ---------- */

/*
 * The run's logs, written the way Coder's createworkspaces runner writes
 * them (coder/coder scaletest/createworkspaces/run.go,
 * scaletest/workspacebuild/run.go, scaletest/reconnectingpty/run.go): plain
 * progress lines without a time ("Creating user:", "Build started!
 * Streaming logs below:", "Build succeeded!", "Agents connected!"), and
 * for every API call of the clients Coder gives a debug logger (the owner's
 * client, and the run user's once the workspacebuild runner has it; not the
 * login) an "sdk request" line when it is sent and an "sdk response" line
 * when the answer comes, in cdr.dev/slog's human format:
 *   2026-12-03 06:00:01.234 [debu]  sdk request  method=POST  url=U  body="{...}"
 *   2026-12-03 06:00:01.301 [debu]  sdk response  method=POST  url=U  status=201
 * (response bodies and the new user's password are left out).  The phases
 * of a run are the spans between the instants these lines carry, so
 * client/runlogs.c reads back from the logs exactly what the driver stored.
 */
static void
log_put(run *r, const char *s, size_t n)
{
	if (r->logs_len + n + 1 > r->logs_cap)
	{
		size_t		cap = r->logs_cap ? r->logs_cap * 2 : 1024;
		char	   *nl;

		while (cap < r->logs_len + n + 1)
			cap *= 2;
		if (cap > MAX_LOGS || !(nl = realloc(r->rec.logs, cap)))
			return;
		r->rec.logs = nl;
		r->logs_cap = cap;
	}
	memcpy(r->rec.logs + r->logs_len, s, n);
	r->logs_len += n;
	r->rec.logs[r->logs_len] = '\0';
}

/* Plain text into the logs, as given (Coder's fmt.Fprint* lines). */
void
run_print(run *r, const char *fmt,...)
{
	char	   *text;
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	log_put(r, text, (size_t) n);
	free(text);
}

/*
 * The run's clock in ms since the epoch: the wall time it started at plus
 * the monotonic time since, so a clock step never bends a phase.
 */
static int64_t
run_clock_ms(const run *r)
{
	int64_t		wall0 = (int64_t) r->rec.started_wall.tv_sec * 1000000000LL + r->rec.started_wall.tv_nsec;

	return (wall0 + (int64_t) (uv_hrtime() - r->t0_ns)) / 1000000;
}

/* slog's human time, "2006-01-02 15:04:05.000" (UTC here). */
static void
log_stamp(int64_t ms, char *buf, size_t size)
{
	time_t		sec = (time_t) (ms / 1000);
	struct tm	tm;

	gmtime_r(&sec, &tm);
	snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) (ms % 1000));
}

/* A field value as slog writes it: quoted Go-style. */
void
log_quoted(run *r, const char *s)
{
	log_put(r, "\"", 1);
	for (const unsigned char *p = (const unsigned char *) (s ? s : ""); *p; p++)
	{
		char		esc[8];

		if (*p == '"' || *p == '\\')
			snprintf(esc, sizeof(esc), "\\%c", *p);
		else if (*p == '\n')
			snprintf(esc, sizeof(esc), "\\n");
		else if (*p == '\t')
			snprintf(esc, sizeof(esc), "\\t");
		else if (*p < 0x20)
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
		else
			esc[0] = (char) *p, esc[1] = '\0';
		log_put(r, esc, strlen(esc));
	}
	log_put(r, "\"", 1);
}

/* One "sdk request"/"sdk response" line; returns its instant. */
static int64_t
log_sdk(run *r, bool response, const char *method, const char *url, long status, const char *body)
{
	char		head[256];
	int64_t		ms = run_clock_ms(r);

	log_stamp(ms, head, sizeof(head));
	run_print(r, "%s [debu]  sdk %s  method=%s  url=%s", head, response ? "response" : "request",
			  method, url);
	if (response)
		run_print(r, "  status=%ld", status);
	else
	{
		run_print(r, "  body=");
		log_quoted(r, body);
	}
	log_put(r, "\n", 1);
	r->last_ms = ms;
	return ms;
}

static void
copy_id(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* SRC, shown safely: at most 40 printable ASCII characters, the rest as '?'. */
static void
shown_id(const char *src, char *out, size_t size)
{
	size_t		n = 0;

	for (const unsigned char *p = (const unsigned char *) src; *p && n + 4 < size && n < 40; p++)
		out[n++] = (*p >= 0x20 && *p < 0x7f) ? (char) *p : '?';
	if (strlen(src) > n)
		out[n++] = '.', out[n++] = '.', out[n++] = '.';
	out[n] = '\0';
}

/*
 * Copy the id WHAT of an answer into DST if it is a UUID: an id goes into
 * request paths, so anything else (empty, "..", a path) is refused, with
 * the reason in r->bad_id.  A UUID needs no percent-encoding.
 */
bool
take_id(run *r, char *dst, size_t size, const char *src, const char *what)
{
	char		shown[64];

	dst[0] = '\0';
	if (!src || !*src)
	{
		snprintf(r->bad_id, sizeof(r->bad_id), "no %s id in the answer", what);
		return false;
	}
	if (!is_uuid(src))
	{
		shown_id(src, shown, sizeof(shown));
		snprintf(r->bad_id, sizeof(r->bad_id), "the answer's %s id \"%s\" is not a UUID", what, shown);
		return false;
	}
	copy_id(dst, size, src);
	return true;
}

/*
 * Start timer T to fire MS after this instant. The loop's clock counts
 * whole milliseconds behind uv_hrtime(), so one more millisecond makes sure
 * a run stopped by its deadline never measures less than the deadline.
 */
void
deadline_in(uv_timer_t *t, uv_timer_cb cb, int64_t ms)
{
	uv_update_time(run_env.loop);
	uv_timer_start(t, cb, (uint64_t) ms + 1, 0);
}

static int64_t
phase_us(run *r)
{
	return (int64_t) (uv_hrtime() - r->phase_ns) / 1000;
}

/* Enter phase P; the status line follows (progress.h: P_BUILD starts queued, runner_build.c sees it build). */
static void
enter(run *r, run_phase p)
{
	r->phase = p;
	r->phase_ns = uv_hrtime();
	progress_move(r->rec.idx, p == P_BUILD ? PS_QUEUED : p == P_AGENTS ? PS_AGENTS :
				  p == P_COMMAND ? PS_COMMAND : PS_CREATING);
}

static const char *
phase_prefix(run_phase p)
{
	switch (p)
	{
		case P_USER:
			return "create user: ";
		case P_LOGIN:
			return "login as new user: ";
		case P_WORKSPACE:
			return "create workspace: ";
		case P_BUILD:
			return "create workspace: wait for build: ";
		case P_AGENTS:
			return "create workspace: wait for agent: ";
		case P_COMMAND:
			return "run reconnecting pty: ";
		default:
			return "";
	}
}

/* ---------- end of a run ---------- */

void
stop_io(run *r)
{
	if (r->call)
		http_cancel(r->call);
	r->call = NULL;
	if (r->ws)
		ws_close(r->ws);
	r->ws = NULL;
	r->bw_done = NULL;
	if (r->timers_ready)
	{
		uv_timer_stop(&r->poll);
		uv_timer_stop(&r->deadline);
	}
}

static void set_phases(run *r);

static void
finish(run *r, const char *error, failure_category category)
{
	if (r->rec.done)
		return;
	stop_io(r);
	free(r->call_url);
	r->call_url = NULL;
	r->rec.done = true;
	r->rec.duration_us = (int64_t) (uv_hrtime() - r->t0_ns) / 1000;
	set_phases(r);
	if (error)
	{
		r->rec.error = strdup(error);
		r->rec.category = category;
	}
	free(r->pty_line);
	r->pty_line = NULL;
	r->phase = P_FINISHED;
	run_env.run_done(r);
}

/* Fail in the current step with PREFIX + TEXT. */
static void
fail(run *r, const char *text, failure_category category)
{
	char	   *msg;

	if (asprintf(&msg, "%s%s", phase_prefix(r->phase), text) < 0)
		msg = NULL;
	finish(r, msg ? msg : text, category);
	free(msg);
}

static void
fail_http(run *r, const http_result *res, failure_category category)
{
	char	   *e = http_error_text(res);

	fail(r, e, category);
	free(e);
}

bool
ok_status(const http_result *res)
{
	return !res->transport_error && res->status >= 200 && res->status <= 299;
}

/*
 * How a callback that creates something starts: the call is over; an
 * answer other than 2xx, or one without an "id", fails the run in CATEGORY;
 * else the id is copied into DST.
 */
static bool
answer_id(run *r, const http_result *res, failure_category category, const char *what, char *dst, size_t size)
{
	json_object *j;
	bool		ok;

	r->call = NULL;
	if (!ok_status(res))
	{
		fail_http(r, res, category);
		return false;
	}
	j = http_json(res);
	ok = take_id(r, dst, size, jstr(j, "id"), what);
	json_object_put(j);
	if (!ok)
		fail(r, r->bad_id, category);
	return ok;
}

static void
on_deadline(uv_timer_t *t)
{
	run		   *r = t->data;
	failure_category cat = CAT_JOB_TIMEOUT;

	if (r->phase == P_AGENTS)
		cat = CAT_AGENT_TIMEOUT;
	else if (r->phase == P_COMMAND)
		cat = CAT_COMMAND_TIMEOUT;
	fail(r, "context deadline exceeded", cat);
}

void
runner_stop(run *r, const char *reason, failure_category category)
{
	if (!r->rec.started || r->rec.done)
		return;
	if (category == CAT_NONE)
		category = r->phase == P_AGENTS ? CAT_AGENT_TIMEOUT :
			r->phase == P_COMMAND ? CAT_COMMAND_TIMEOUT : CAT_JOB_TIMEOUT;
	fail(r, reason, category);
}

/*
 * The run's start, in whole microseconds of wall time (as run_result keeps
 * it), so that its start + duration is its stored end exactly.
 */
static void
start_clock(run *r)
{
	clock_gettime(CLOCK_REALTIME, &r->rec.started_wall);
	r->rec.started_wall.tv_nsec -= r->rec.started_wall.tv_nsec % 1000;
	r->t0_ns = uv_hrtime();
}

int64_t
run_start_us(const run *r)
{
	return (int64_t) r->rec.started_wall.tv_sec * 1000000 + r->rec.started_wall.tv_nsec / 1000;
}

void
runner_fail_unstarted(run *r, const char *reason, failure_category category)
{
	start_clock(r);
	r->rec.started = true;
	r->phase = P_USER;
	fail(r, reason, category);
}

/* ---------- the steps ---------- */

static void step_workspace(run *r);

http_auth
owner_auth(void)
{
	return (http_auth) {run_env.owner_token, true};
}

http_auth
run_auth(const run *r)
{
	if (r->token)
		return (http_auth) {r->token, false};
	return owner_auth();
}

static void
start_call(run *r, const char *method, const char *path, const http_auth *who,
		   const char *body, http_done_fn done)
{
	r->call = http_start(run_env.http, method, path, who, body, done, r);
	if (!r->call)
	{
		http_result res = {.method = method, .url = path, .body = "",
		.transport_error = "cannot start an HTTP call (out of memory)"};

		done(r, &res);
	}
}

/* The answer of a logged call: its "sdk response" line, then the step's callback. */
static void
logged_done(void *arg, const http_result *res)
{
	run		   *r = arg;
	http_done_fn done = r->call_done;

	if (!res->transport_error)
		log_sdk(r, true, res->method, r->call_url, res->status, NULL);
	free(r->call_url);
	r->call_url = NULL;
	done(arg, res);
}

/*
 * A call Coder's runner makes through a client with its debug logger: an
 * "sdk request" line now (with LOG_BODY), an "sdk response" line when the
 * answer comes (none when no answer comes, as in Coder).
 */
static void
start_logged(run *r, const char *method, const char *path, const http_auth *who,
			 const char *body, const char *log_body, http_done_fn done)
{
	free(r->call_url);
	if (asprintf(&r->call_url, "%s%s", run_env.base_url ? run_env.base_url : "", path) < 0)
		r->call_url = NULL;
	r->req_ms = log_sdk(r, false, method, r->call_url ? r->call_url : path, 0, log_body ? log_body : "");
	r->call_done = done;
	start_call(r, method, path, who, body, logged_done);
}

void
run_call(run *r, bool logged, const char *method, const char *path, const char *body,
		 http_done_fn done)
{
	http_auth	who = run_auth(r);

	if (logged)
		start_logged(r, method, path, &who, body, body, done);
	else
		start_call(r, method, path, &who, body, done);
}

static int64_t
mark_span(const run *r, int from, int to)
{
	if (r->mark[from] == M_NONE || r->mark[to] == M_NONE || r->mark[to] < r->mark[from])
		return -1;
	return (r->mark[to] - r->mark[from]) * 1000;
}

/* The phases from the instants in the logs (client/runlogs.c reads the same). */
static void
set_phases(run *r)
{
	r->rec.t_us[T_CREATE_USER] = mark_span(r, M_USER_REQ, M_USER_RESP);
	r->rec.t_us[T_CREATE_WORKSPACE] = mark_span(r, M_WS_REQ, M_WS_RESP);
	r->rec.t_us[T_QUEUE_WAIT] = mark_span(r, M_QUEUE_FROM, M_BUILD_FROM);
	r->rec.t_us[T_BUILD] = mark_span(r, M_BUILD_FROM, M_BUILD_TO);
	r->rec.t_us[T_AGENTS] = mark_span(r, M_BUILD_TO, M_AGENTS_TO);
}

/* The lines Coder prints once the user is known, up to the workspace. */
static void
print_user(run *r, const char *username)
{
	snprintf(r->rec.username, sizeof(r->rec.username), "%s", username);
	run_print(r, "\tOrg ID:   %s\n\tUsername: %s\n\tEmail:    %s\n\tPassword: ****************\n",
			  run_env.cfg->org_id, username, r->email);
	run_print(r, "\nCreating workspace...\n");
}

static void
login_done(void *arg, const http_result *res)
{
	run		   *r = arg;
	json_object *j;
	const char *tok;

	r->call = NULL;
	if (!ok_status(res))
	{
		fail_http(r, res, CAT_CREATE_USER);
		return;
	}
	j = http_json(res);
	tok = jstr(j, "session_token");
	if (!tok)
	{
		json_object_put(j);
		fail(r, "no session_token in the answer", CAT_CREATE_USER);
		return;
	}
	r->token = strdup(tok);
	json_object_put(j);
	print_user(r, r->username);
	step_workspace(r);
}

static void
user_created(void *arg, const http_result *res)
{
	run		   *r = arg;
	json_object *body;

	if (!res->transport_error)
		r->mark[M_USER_RESP] = r->last_ms;
	if (!answer_id(r, res, CAT_CREATE_USER, "user", r->rec.user_id, sizeof(r->rec.user_id)))
		return;
	run_print(r, "\nLogging in as new user...\n");
	r->phase = P_LOGIN;
	body = json_object_new_object();
	json_object_object_add(body, "email", json_object_new_string(r->email));
	json_object_object_add(body, "password", json_object_new_string(r->password));
	/* Coder logs in with a new client: no logger (no log lines), no bypass header */
	start_call(r, "POST", "/api/v2/users/login", &(http_auth) {NULL, false},
			   json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN), login_done);
	json_object_put(body);
}

static void
me_done(void *arg, const http_result *res)
{
	run		   *r = arg;
	json_object *j;
	const char *username;

	if (!answer_id(r, res, CAT_CREATE_USER, "user", r->rec.user_id, sizeof(r->rec.user_id)))
		return;
	j = http_json(res);
	username = jstr(j, "username");
	print_user(r, username ? username : "");
	json_object_put(j);
	step_workspace(r);
}

/*
 * The user's JSON as codersdk's CreateUserRequestWithOrgs marshals it (name
 * and login_type empty: coderd makes it a password login), as sent and as
 * logged (the password masked).
 */
static char *
user_body(run *r, bool for_log)
{
	json_object *body = json_object_new_object(),
			   *orgs = json_object_new_array();
	char	   *s;

	json_object_array_add(orgs, json_object_new_string(run_env.cfg->org_id));
	json_object_object_add(body, "email", json_object_new_string(r->email));
	json_object_object_add(body, "username", json_object_new_string(r->username));
	json_object_object_add(body, "name", json_object_new_string(""));
	json_object_object_add(body, "password", json_object_new_string(for_log ? "****************" : r->password));
	json_object_object_add(body, "login_type", json_object_new_string(""));
	json_object_object_add(body, "organization_ids", orgs);
	s = strdup(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
	json_object_put(body);
	return s;
}

static void
step_user(run *r)
{
	char	   *body,
			   *logged;
	http_auth	who;

	enter(r, P_USER);
	if (run_env.cfg->use_host_login)
	{
		run_print(r, "Using existing user session token:\n");
		run_call(r, true, "GET", "/api/v2/users/me", NULL, me_done);
		return;
	}
	run_print(r, "Generating user password...\n");
	random_chars(r->password, 16);	/* cryptorand.String(16) */
	run_print(r, "Creating user:\n");
	body = user_body(r, false);
	logged = user_body(r, true);
	r->rec.user_attempted = true;
	who = owner_auth();
	start_logged(r, "POST", "/api/v2/users", &who, body, logged, user_created);
	r->mark[M_USER_REQ] = r->req_ms;	/* the instant its "sdk request" line shows */
	free(body);
	free(logged);
}


/*
 * The agents of a build or workspace's latest build: remembers the first
 * agent's id, prints "Agent NAME is STATUS" lines when PRINT; whether all
 * are connected.
 */
static bool
scan_agents(run *r, json_object *build, int *n_agents, bool print)
{
	json_object *res = jobj(build, "resources");
	bool		all = true;

	*n_agents = 0;
	for (size_t i = 0; res && i < json_object_array_length(res); i++)
	{
		json_object *agents = jobj(json_object_array_get_idx(res, i), "agents");

		for (size_t k = 0; agents && k < json_object_array_length(agents); k++)
		{
			json_object *a = json_object_array_get_idx(agents, k);
			const char *st = jstr(a, "status");
			const char *name = jstr(a, "name");

			if (!r->agent_id[0])
				copy_id(r->agent_id, sizeof(r->agent_id), jstr(a, "id"));
			(*n_agents)++;
			if (!st || strcmp(st, "connected") != 0)
				all = false;
			if (print)
			{
				run_print(r, "\tAgent ");
				log_quoted(r, name ? name : "");
				run_print(r, " is %s\n", st ? st : "");
			}
		}
	}
	return all;
}

static void step_agents(run *r);
static void step_command(run *r);
static void after_agents(run *r);

static void build_done(run *r, json_object *build, const char *error, failure_category category);

static void
wait_for_build(run *r)
{
	enter(r, P_BUILD);
	build_wait(r, true, build_done);
}

/* The answer to a retry's start build (Coder: "create workspace build: %w"). */
static void
restart_done(void *arg, const http_result *res)
{
	run		   *r = arg;
	char	   *msg;
	json_object *j;
	bool		ok;

	r->call = NULL;
	if (!res->transport_error)
		r->mark[M_QUEUE_FROM] = r->last_ms;
	if (!ok_status(res))
	{
		char	   *e = http_error_text(res);

		if (asprintf(&msg, "create workspace build: %s", e) < 0)
			msg = NULL;
		fail(r, msg ? msg : e, CAT_BUILD_FAILED);
		free(msg);
		free(e);
		return;
	}
	j = http_json(res);
	ok = take_id(r, r->build_id, sizeof(r->build_id), jstr(j, "id"), "build");
	json_object_put(j);
	if (!ok)
	{
		fail(r, r->bad_id, CAT_BUILD_FAILED);
		return;
	}
	wait_for_build(r);
}

/*
 * A build waited for: on to the agents, or Coder's retries (any error of
 * waitForBuild starts one: scaletest/workspacebuild/run.go
 * RunReturningWorkspace), or the run fails with the wait's error.
 */
static void
build_done(run *r, json_object *build, const char *error, failure_category category)
{
	json_object *body;
	char		path[128];
	int			n;

	if (!error)
	{
		scan_agents(r, build, &n, false);
		r->mark[M_BUILD_TO] = r->last_ms;
		step_agents(r);
		return;
	}
	if (r->retries_left <= 0)
	{
		fail(r, error, category);
		return;
	}
	r->retries_left--;
	run_print(r, "Retrying build %d/%d...\n", run_env.cfg->retry - r->retries_left, run_env.cfg->retry);
	r->phase = P_WORKSPACE;
	body = json_object_new_object();
	json_object_object_add(body, "transition", json_object_new_string("start"));
	json_object_object_add(body, "rich_parameter_values", plan_params_json(run_env.cfg));
	snprintf(path, sizeof(path), "/api/v2/workspaces/%s/builds", r->rec.ws_id);
	run_call(r, true, "POST", path, json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
			 restart_done);
	json_object_put(body);
}

static void
workspace_created(void *arg, const http_result *res)
{
	run		   *r = arg;
	json_object *j;
	bool		ok;

	r->call = NULL;
	if (!res->transport_error)
		r->mark[M_WS_RESP] = r->mark[M_QUEUE_FROM] = r->last_ms;
	if (!ok_status(res))
	{
		fail_http(r, res, CAT_CREATE_WORKSPACE);
		return;
	}
	j = http_json(res);
	ok = take_id(r, r->rec.ws_id, sizeof(r->rec.ws_id), jstr(j, "id"), "workspace") &&
		take_id(r, r->build_id, sizeof(r->build_id), jstr(jobj(j, "latest_build"), "id"), "build");
	json_object_put(j);
	if (!ok)
	{
		fail(r, r->bad_id, CAT_CREATE_WORKSPACE);
		return;
	}
	wait_for_build(r);
}

static void
step_workspace(run *r)
{
	json_object *body;
	char		path[160];

	enter(r, P_WORKSPACE);
	body = json_object_new_object();
	json_object_object_add(body, "template_id", json_object_new_string(run_env.cfg->template_id));
	json_object_object_add(body, "name", json_object_new_string(r->rec.name));
	json_object_object_add(body, "rich_parameter_values", plan_params_json(run_env.cfg));
	snprintf(path, sizeof(path), "/api/v2/users/%s/workspaces",
			 r->rec.user_id[0] ? r->rec.user_id : "me");
	r->rec.ws_attempted = true;
	run_call(r, true, "POST", path, json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
			 workspace_created);
	r->mark[M_WS_REQ] = r->req_ms;
	json_object_put(body);
}

static void
workspace_read(void *arg, const http_result *res)
{
	run		   *r = arg;
	json_object *j;
	int			n;
	bool		all;

	r->call = NULL;
	if (!ok_status(res))
	{
		fail_http(r, res, CAT_OTHER);
		return;
	}
	j = http_json(res);
	all = scan_agents(r, jobj(j, "latest_build"), &n, true);
	json_object_put(j);
	if (all)
	{
		run_print(r, "\nAgents connected!\n\n");
		r->mark[M_AGENTS_TO] = r->last_ms;
		after_agents(r);
		return;
	}
	run_print(r, "\n");
	uv_timer_start(&r->poll, agents_poll, AGENT_POLL_MS, 0);
}

static void
agents_poll(uv_timer_t *t)
{
	run		   *r = t->data;
	char		path[128];

	snprintf(path, sizeof(path), "/api/v2/workspaces/%s", r->rec.ws_id);
	run_call(r, true, "GET", path, NULL, workspace_read);
}

static void
step_agents(run *r)
{
	enter(r, P_AGENTS);
	if (run_env.cfg->no_wait_for_agents)
	{
		run_print(r, "Skipping agent connectivity check.\n");
		after_agents(r);
		return;
	}
	run_print(r, "\nWaiting for agents to connect...\n\n");
	agents_poll(&r->poll);
}

/*
 * The agents are up: Coder's createworkspaces runner reads the workspace
 * once more ("get full workspace info"), takes its first agent and runs the
 * command there.  --no-wait-for-agents ends the run at the build, command
 * or not (scaletest/createworkspaces/run.go Run).
 */
static void
workspace_info(void *arg, const http_result *res)
{
	run		   *r = arg;
	json_object *j;
	char		msg[2048];
	int			n;

	r->call = NULL;
	if (!ok_status(res))
	{
		char	   *e = http_error_text(res);

		snprintf(msg, sizeof(msg), "get workspace \"%s\": %s", r->rec.ws_id, e);
		free(e);
		finish(r, msg, CAT_OTHER);
		return;
	}
	j = http_json(res);
	scan_agents(r, jobj(j, "latest_build"), &n, false);
	json_object_put(j);
	if (n == 0)
	{
		snprintf(msg, sizeof(msg), "no agents found for workspace \"%s\"", r->rec.ws_id);
		finish(r, msg, CAT_AGENT_TIMEOUT);
		return;
	}
	if (run_env.cfg->run_command)
		step_command(r);
	else
		finish(r, NULL, CAT_NONE);
}

static void
after_agents(run *r)
{
	char		path[128];

	if (run_env.cfg->no_wait_for_agents)
	{
		finish(r, NULL, CAT_NONE);
		return;
	}
	snprintf(path, sizeof(path), "/api/v2/workspaces/%s", r->rec.ws_id);
	run_call(r, true, "GET", path, NULL, workspace_info);
}

/* ---------- the command through the web terminal ---------- */

static void
pty_line_done(run *r)
{
	const char *want = run_env.cfg->run_expect_output;

	while (r->pty_len > 0 && r->pty_line[r->pty_len - 1] == '\r')
		r->pty_len--;
	r->pty_line[r->pty_len] = '\0';
	if (want && strstr(r->pty_line, want))
		r->expect_found = true;
	if (run_env.cfg->run_log_output)
		run_print(r, "\t%s\n", r->pty_line);
	r->pty_len = 0;
}

static void
pty_data(void *arg, const char *data, size_t len)
{
	run		   *r = arg;

	if (!r->pty_line && !(r->pty_line = malloc(MAX_PTY_LINE + 1)))
		return;
	for (size_t i = 0; i < len; i++)
	{
		if (data[i] == '\n' || r->pty_len >= MAX_PTY_LINE)
			pty_line_done(r);
		if (data[i] != '\n')
			r->pty_line[r->pty_len++] = data[i];
	}
}

static void
command_result(run *r, const char *error)
{
	char		msg[1024];

	if (r->pty_line && r->pty_len > 0)
		pty_line_done(r);
	r->rec.t_us[T_COMMAND] = phase_us(r);
	if (error)
	{
		fail(r, error, CAT_COMMAND_FAILED);
		return;
	}
	if (r->pty_timed_out && !run_env.cfg->run_expect_timeout)
	{
		snprintf(msg, sizeof(msg), "command timed out after %.3gs", run_env.cfg->run_timeout_ms / 1000.0);
		fail(r, msg, CAT_COMMAND_TIMEOUT);
		return;
	}
	if (!r->pty_timed_out && run_env.cfg->run_expect_timeout)
	{
		fail(r, "expected command to time out, but it completed", CAT_COMMAND_FAILED);
		return;
	}
	if (run_env.cfg->run_expect_output && !r->expect_found)
	{
		snprintf(msg, sizeof(msg), "expected string \"%s\" not found in output", run_env.cfg->run_expect_output);
		fail(r, msg, CAT_COMMAND_FAILED);
		return;
	}
	finish(r, NULL, CAT_NONE);
}

static void
pty_end(void *arg, const char *error, bool opened)
{
	run		   *r = arg;

	(void) opened;
	r->ws = NULL;
	uv_timer_stop(&r->poll);
	command_result(r, error);
}

static void
pty_timeout(uv_timer_t *t)
{
	run		   *r = t->data;

	ws_close(r->ws);
	r->ws = NULL;
	r->pty_timed_out = true;
	command_result(r, NULL);
}

static void
step_command(run *r)
{
	char	   *cmd;
	char	   *path;
	char		uuid[40];

	enter(r, P_COMMAND);
	if (!r->agent_id[0])
	{
		fail(r, "the workspace has no agent", CAT_COMMAND_FAILED);
		return;
	}
	if (!is_uuid(r->agent_id))
	{
		char		shown[64];
		char		msg[160];

		shown_id(r->agent_id, shown, sizeof(shown));
		snprintf(msg, sizeof(msg), "the answer's agent id \"%s\" is not a UUID", shown);
		fail(r, msg, CAT_COMMAND_FAILED);
		return;
	}
	random_uuid(uuid);
	cmd = curl_easy_escape(NULL, run_env.cfg->run_command, 0);
	if (!cmd || asprintf(&path, "/api/v2/workspaceagents/%s/pty?reconnect=%s&width=80&height=24&command=%s",
						 r->agent_id, uuid, cmd) < 0)
	{
		curl_free(cmd);
		fail(r, "out of memory", CAT_OTHER);
		return;
	}
	curl_free(cmd);
	run_print(r, "Opening reconnecting PTY connection to agent via coderd...\n\tID:      %s\n"
			  "\tWidth:   80\n\tHeight:  24\n\tBackend: \n\tCommand: ", uuid);
	log_quoted(r, run_env.cfg->run_command);
	run_print(r, "\n\n");
	if (run_env.cfg->run_log_output)
		run_print(r, "Output:\n");
	{
		http_auth	who = run_auth(r);

		r->ws = ws_open(path, &who, pty_data, pty_end, r);
	}
	free(path);
	if (!r->ws)
	{
		fail(r, "out of memory", CAT_OTHER);
		return;
	}
	if (run_env.cfg->run_timeout_ms > 0)
		deadline_in(&r->poll, pty_timeout, run_env.cfg->run_timeout_ms);
}

/* ---------- start ---------- */

/* A run with no name yet: every timing unknown, every mark unreached. */
static run *
new_run(int i)
{
	run		   *r = calloc(1, sizeof(run));

	if (!r)
		cli_out_of_memory("a run");
	r->rec.idx = i;
	r->rec.category = CAT_NONE;
	snprintf(r->rec.full_id, sizeof(r->rec.full_id), "workspacebuild/%d", i);
	for (int k = 0; k < T_COUNT; k++)
		r->rec.t_us[k] = -1;
	for (int k = 0; k < M_COUNT; k++)
		r->mark[k] = M_NONE;
	return r;
}

/*
 * Run I of create-workspaces, named as Coder names it
 * (scaletest/loadtestutil/names.go): a random string for the user
 * (GenerateUserIdentifier: scaletest-<rand>-<i>, <rand>-<i>@scaletest.local)
 * and another for the workspace (GenerateWorkspaceName: scaletest-<rand>-<i>).
 */
run *
runner_new(int i)
{
	run		   *r = new_run(i);
	char		user_rand[9],
				ws_rand[9];

	random_chars(user_rand, 8);
	random_chars(ws_rand, 8);
	snprintf(r->username, sizeof(r->username), "scaletest-%s-%d", user_rand, i);
	snprintf(r->email, sizeof(r->email), "%s-%d@scaletest.local", user_rand, i);
	snprintf(r->rec.name, sizeof(r->rec.name), "scaletest-%s-%d", ws_rand, i);
	return r;
}

run *
runner_adopt(int i, const char *name, const char *ws_id, const char *user_id)
{
	run		   *r = new_run(i);

	r->adopted = true;
	snprintf(r->rec.name, sizeof(r->rec.name), "%s", name);
	snprintf(r->rec.ws_id, sizeof(r->rec.ws_id), "%s", ws_id ? ws_id : "");
	snprintf(r->rec.user_id, sizeof(r->rec.user_id), "%s", user_id ? user_id : "");
	r->rec.ws_attempted = ws_id != NULL;
	r->rec.user_attempted = user_id != NULL;
	return r;
}

const run_record *
runner_record(const run *r)
{
	return &r->rec;
}

const char *
runner_username(const run *r)
{
	return r->username;
}

void
init_timers(run *r)
{
	if (r->timers_ready)
		return;
	uv_timer_init(run_env.loop, &r->poll);
	uv_timer_init(run_env.loop, &r->deadline);
	r->poll.data = r;
	r->deadline.data = r;
	r->timers_ready = true;
}

void
runner_start(run *r)
{
	init_timers(r);
	r->rec.started = true;
	r->retries_left = run_env.cfg->retry;
	start_clock(r);
	if (run_env.cfg->job_timeout_ms > 0)
		deadline_in(&r->deadline, on_deadline, run_env.cfg->job_timeout_ms);
	step_user(r);
}

