/*
 * runner.c: one scale-test run as a state machine, Coder's sequence:
 *   create user + log in (or GET /users/me with --use-host-login),
 *   create the workspace, poll its build every 500 ms, poll the workspace
 *   every 1 s until every agent is connected, run the command through the
 *   reconnecting-PTY websocket, and later clean up: cancel an active build,
 *   delete the workspace (a delete build) and wait, delete the user.
 * Every step is a callback on the loop; a run never blocks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <curl/curl.h>

#include "runner.h"

#define BUILD_POLL_MS	500
#define AGENT_POLL_MS	1000
#define MAX_LOGS		(1024 * 1024)
#define MAX_PTY_LINE	4096

static runner_env env;

/* Cleanup states. */
enum
{
	CL_FIND_USER,
	CL_GET_WS,
	CL_CANCEL,
	CL_WAIT_CANCEL,
	CL_DELETE,
	CL_WAIT_DELETE,
	CL_USER,
	CL_DONE
};

static void build_poll(uv_timer_t *t);
static void agents_poll(uv_timer_t *t);
static void cl_step(run *r);

void
runner_setup(const runner_env *e)
{
	env = *e;
}

/* ---------- small helpers ---------- */

void
random_chars(char *out, int n)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char raw[64];

	if (n > (int) sizeof(raw))
		n = sizeof(raw);
	if (getrandom(raw, n, 0) != n)
		for (int i = 0; i < n; i++)
			raw[i] = (unsigned char) rand();
	for (int i = 0; i < n; i++)
		out[i] = alphabet[raw[i] % 36];
	out[n] = '\0';
}

static void
random_uuid(char *out)
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		for (int i = 0; i < 16; i++)
			b[i] = (unsigned char) rand();
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	sprintf(out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
			b[12], b[13], b[14], b[15]);
}

/* Go's time.Duration.String(). */
char *
go_duration(int64_t ns, char *buf, size_t size)
{
	char		frac[16];
	const char *sign = ns < 0 ? "-" : "";
	uint64_t	u = ns < 0 ? (uint64_t) (-ns) : (uint64_t) ns;

	if (u == 0)
		snprintf(buf, size, "0s");
	else if (u < 1000)
		snprintf(buf, size, "%s%lluns", sign, (unsigned long long) u);
	else if (u < 1000000000ULL)
	{
		uint64_t	unit = u < 1000000 ? 1000 : 1000000;
		int			digits = u < 1000000 ? 3 : 6;
		uint64_t	rem = u % unit;
		int			n;

		snprintf(frac, sizeof(frac), ".%0*llu", digits, (unsigned long long) rem);
		n = (int) strlen(frac);
		while (n > 1 && frac[n - 1] == '0')
			frac[--n] = '\0';
		if (n == 1)
			frac[0] = '\0';
		snprintf(buf, size, "%s%llu%s%s", sign, (unsigned long long) (u / unit), frac,
				 u < 1000000 ? "µs" : "ms");
	}
	else
	{
		uint64_t	secs = u / 1000000000ULL;
		uint64_t	rem = u % 1000000000ULL;
		char		hm[48] = "";
		int			n;

		snprintf(frac, sizeof(frac), ".%09llu", (unsigned long long) rem);
		n = (int) strlen(frac);
		while (n > 1 && frac[n - 1] == '0')
			frac[--n] = '\0';
		if (n == 1)
			frac[0] = '\0';
		if (secs >= 3600)
			snprintf(hm, sizeof(hm), "%lluh%llum", (unsigned long long) (secs / 3600),
					 (unsigned long long) (secs % 3600 / 60));
		else if (secs >= 60)
			snprintf(hm, sizeof(hm), "%llum", (unsigned long long) (secs / 60));
		snprintf(buf, size, "%s%s%llu%ss", sign, hm, (unsigned long long) (secs % 60), frac);
	}
	return buf;
}

/* RFC 3339 in UTC with nanoseconds, trailing zeros trimmed (Go's RFC3339Nano). */
char *
rfc3339(const struct timespec *ts, char *buf, size_t size)
{
	struct tm	tm;
	char		frac[16];
	int			n;

	gmtime_r(&ts->tv_sec, &tm);
	snprintf(frac, sizeof(frac), ".%09ld", ts->tv_nsec);
	n = (int) strlen(frac);
	while (n > 1 && frac[n - 1] == '0')
		frac[--n] = '\0';
	if (n == 1)
		frac[0] = '\0';
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	return buf;
}

/* Parse an RFC 3339 time ("2024-02-28T10:00:00.123Z", "+02:00") into ns since the epoch. */
bool
parse_rfc3339(const char *s, int64_t *ns_out)
{
	struct tm	tm;
	int			y, mo, d, h, mi, sec, consumed = 0;
	int64_t		frac_ns = 0;
	int64_t		off = 0;
	const char *p;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &consumed) != 6)
		return false;
	p = s + consumed;
	if (*p == '.')
	{
		int64_t		scale = 100000000;

		for (p++; *p >= '0' && *p <= '9'; p++)
		{
			frac_ns += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p == '+' || *p == '-')
	{
		int			oh, om;

		if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
			return false;
		off = (int64_t) (oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
	}
	else if (*p != 'Z' && *p != 'z')
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*ns_out = ((int64_t) timegm(&tm) - off) * 1000000000LL + frac_ns;
	return true;
}

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
		if (cap > MAX_LOGS || !(nl = realloc(r->logs, cap)))
			return;
		r->logs = nl;
		r->logs_cap = cap;
	}
	memcpy(r->logs + r->logs_len, s, n);
	r->logs_len += n;
	r->logs[r->logs_len] = '\0';
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
	int64_t		wall0 = (int64_t) r->started_wall.tv_sec * 1000000000LL + r->started_wall.tv_nsec;

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
static void
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

static const char *
jstr(json_object *o, const char *key)
{
	json_object *v;

	if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

static json_object *
jobj(json_object *o, const char *key)
{
	json_object *v;

	if (o && json_object_object_get_ex(o, key, &v))
		return v;
	return NULL;
}

static void
copy_id(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

bool
is_uuid(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++)
	{
		bool		dash = i == 8 || i == 13 || i == 18 || i == 23;
		char		c = s[i];

		if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
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
static bool
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
static void
deadline_in(uv_timer_t *t, uv_timer_cb cb, int64_t ms)
{
	uv_update_time(env.loop);
	uv_timer_start(t, cb, (uint64_t) ms + 1, 0);
}

static int64_t
phase_us(run *r)
{
	return (int64_t) (uv_hrtime() - r->phase_ns) / 1000;
}

static void
enter(run *r, run_phase p)
{
	r->phase = p;
	r->phase_ns = uv_hrtime();
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

static void
stop_io(run *r)
{
	if (r->call)
		http_cancel(r->call);
	r->call = NULL;
	if (r->ws)
		ws_close(r->ws);
	r->ws = NULL;
	if (r->timers_ready)
	{
		uv_timer_stop(&r->poll);
		uv_timer_stop(&r->deadline);
	}
}

static void set_phases(run *r);

static void
finish(run *r, const char *error, const char *category)
{
	if (r->done)
		return;
	stop_io(r);
	free(r->call_url);
	r->call_url = NULL;
	r->done = true;
	r->duration_us = (int64_t) (uv_hrtime() - r->t0_ns) / 1000;
	set_phases(r);
	if (error)
	{
		r->error = strdup(error);
		r->category = category;
	}
	free(r->pty_line);
	r->pty_line = NULL;
	r->phase = P_FINISHED;
	env.run_done(r);
}

/* Fail in the current step with PREFIX + TEXT. */
static void
fail(run *r, const char *text, const char *category)
{
	char	   *msg;

	if (asprintf(&msg, "%s%s", phase_prefix(r->phase), text) < 0)
		msg = NULL;
	finish(r, msg ? msg : text, category);
	free(msg);
}

static void
fail_http(run *r, const http_result *res, const char *category)
{
	char	   *e = http_error_text(res);

	fail(r, e, category);
	free(e);
}

static bool
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
answer_id(run *r, const http_result *res, const char *category, const char *what, char *dst, size_t size)
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
	const char *cat = "job_timeout";

	if (r->phase == P_AGENTS)
		cat = "agent_timeout";
	else if (r->phase == P_COMMAND)
		cat = "command_timeout";
	fail(r, "context deadline exceeded", cat);
}

void
runner_stop(run *r, const char *reason, const char *category)
{
	if (!r->started || r->done)
		return;
	if (!category)
		category = r->phase == P_AGENTS ? "agent_timeout" :
			r->phase == P_COMMAND ? "command_timeout" : "job_timeout";
	fail(r, reason, category);
}

/*
 * The run's start, in whole microseconds of wall time (as run_result keeps
 * it), so that its start + duration is its stored end exactly.
 */
static void
start_clock(run *r)
{
	clock_gettime(CLOCK_REALTIME, &r->started_wall);
	r->started_wall.tv_nsec -= r->started_wall.tv_nsec % 1000;
	r->t0_ns = uv_hrtime();
}

int64_t
run_start_us(const run *r)
{
	return (int64_t) r->started_wall.tv_sec * 1000000 + r->started_wall.tv_nsec / 1000;
}

void
runner_fail_unstarted(run *r, const char *reason, const char *category)
{
	start_clock(r);
	r->started = true;
	r->phase = P_USER;
	fail(r, reason, category);
}

/* ---------- the steps ---------- */

static void step_workspace(run *r);

static void
start_call(run *r, const char *method, const char *path, const char *token,
		   const char *body, http_done_fn done)
{
	r->call = http_start(env.http, method, path, token, body, done, r);
	if (!r->call)
		fail(r, "cannot start an HTTP call (out of memory)", "other");
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
start_logged(run *r, const char *method, const char *path, const char *token,
			 const char *body, const char *log_body, http_done_fn done)
{
	free(r->call_url);
	if (asprintf(&r->call_url, "%s%s", env.base_url ? env.base_url : "", path) < 0)
		r->call_url = NULL;
	log_sdk(r, false, method, r->call_url ? r->call_url : path, 0, log_body ? log_body : "");
	r->call_done = done;
	start_call(r, method, path, token, body, logged_done);
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
	r->t_us[T_CREATE_USER] = mark_span(r, M_USER_REQ, M_USER_RESP);
	r->t_us[T_CREATE_WORKSPACE] = mark_span(r, M_WS_REQ, M_WS_RESP);
	r->t_us[T_QUEUE_WAIT] = mark_span(r, M_QUEUE_FROM, M_BUILD_FROM);
	r->t_us[T_BUILD] = mark_span(r, M_BUILD_FROM, M_BUILD_TO);
	r->t_us[T_AGENTS] = mark_span(r, M_BUILD_TO, M_AGENTS_TO);
}

/* The lines Coder prints once the user is known, up to the workspace. */
static void
print_user(run *r, const char *username)
{
	snprintf(r->username, sizeof(r->username), "%s", username);
	run_print(r, "\tOrg ID:   %s\n\tUsername: %s\n\tEmail:    %s\n\tPassword: ****************\n",
			  env.cfg->org_id, username, r->email);
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
		fail_http(r, res, "create_user");
		return;
	}
	j = http_json(res);
	tok = jstr(j, "session_token");
	if (!tok)
	{
		json_object_put(j);
		fail(r, "no session_token in the answer", "create_user");
		return;
	}
	r->token = strdup(tok);
	json_object_put(j);
	print_user(r, r->name);
	step_workspace(r);
}

static void
user_created(void *arg, const http_result *res)
{
	run		   *r = arg;
	json_object *body;

	if (!res->transport_error)
		r->mark[M_USER_RESP] = r->last_ms;
	if (!answer_id(r, res, "create_user", "user", r->user_id, sizeof(r->user_id)))
		return;
	run_print(r, "\nLogging in as new user...\n");
	r->phase = P_LOGIN;
	body = json_object_new_object();
	json_object_object_add(body, "email", json_object_new_string(r->email));
	json_object_object_add(body, "password", json_object_new_string(r->password));
	/* Coder logs in with a new client without its logger: no log lines */
	start_call(r, "POST", "/api/v2/users/login", NULL,
			   json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN), login_done);
	json_object_put(body);
}

static void
me_done(void *arg, const http_result *res)
{
	run		   *r = arg;
	json_object *j;
	const char *username;

	if (!answer_id(r, res, "create_user", "user", r->user_id, sizeof(r->user_id)))
		return;
	j = http_json(res);
	username = jstr(j, "username");
	print_user(r, username ? username : "");
	json_object_put(j);
	step_workspace(r);
}

/* The user's JSON: as sent, and as logged (the password masked). */
static char *
user_body(run *r, bool for_log)
{
	json_object *body = json_object_new_object(),
			   *orgs = json_object_new_array();
	char	   *s;

	json_object_array_add(orgs, json_object_new_string(env.cfg->org_id));
	json_object_object_add(body, "email", json_object_new_string(r->email));
	json_object_object_add(body, "username", json_object_new_string(r->name));
	json_object_object_add(body, "password", json_object_new_string(for_log ? "****************" : r->password));
	json_object_object_add(body, "login_type", json_object_new_string("password"));
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

	enter(r, P_USER);
	if (env.cfg->use_host_login)
	{
		run_print(r, "Using existing user session token:\n");
		start_logged(r, "GET", "/api/v2/users/me", env.owner_token, NULL, NULL, me_done);
		return;
	}
	run_print(r, "Generating user password...\n");
	random_chars(r->password, 24);
	run_print(r, "Creating user:\n");
	body = user_body(r, false);
	logged = user_body(r, true);
	r->user_attempted = true;
	r->mark[M_USER_REQ] = run_clock_ms(r);
	start_logged(r, "POST", "/api/v2/users", env.owner_token, body, logged, user_created);
	free(body);
	free(logged);
}

static const char *
run_token(run *r)
{
	return r->token ? r->token : env.owner_token;
}

/* Read the job of a build: status and error. */
static const char *
read_job(json_object *build, const char **err)
{
	json_object *job = jobj(build, "job");
	const char *status = jstr(job, "status");

	*err = jstr(job, "error");
	return status ? status : "";
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
static void wait_for_build(run *r);

static void
restart_done(void *arg, const http_result *res)
{
	run		   *r = arg;

	if (!res->transport_error)
		r->mark[M_QUEUE_FROM] = r->last_ms;
	if (!answer_id(r, res, "build_failed", "build", r->build_id, sizeof(r->build_id)))
		return;
	wait_for_build(r);
}

static void
build_failed(run *r, const char *status, const char *jerr)
{
	char		msg[2048];
	char		path[128];

	if (strcmp(status, "canceled") == 0)
	{
		run_print(r, "\nBuild canceled.\n");
		fail(r, "build canceled", "build_canceled");
		return;
	}
	run_print(r, "\nBuild failed with error ");
	log_quoted(r, jerr ? jerr : "");
	run_print(r, ".\nSee logs above for more details.\n");
	if (strcmp(status, "failed") == 0 && r->retries_left > 0)
	{
		r->retries_left--;
		run_print(r, "Retrying build %d/%d...\n", env.cfg->retry - r->retries_left, env.cfg->retry);
		snprintf(path, sizeof(path), "/api/v2/workspaces/%s/builds", r->ws_id);
		start_logged(r, "POST", path, run_token(r), "{\"transition\":\"start\"}",
					 "{\"transition\":\"start\"}", restart_done);
		return;
	}
	snprintf(msg, sizeof(msg), "build failed with status \"%s\": %s", status, jerr ? jerr : "");
	fail(r, msg, "build_failed");
}

static void
build_read(void *arg, const http_result *res)
{
	run		   *r = arg;
	json_object *j;
	const char *status;
	const char *jerr;
	int			n;

	r->call = NULL;
	if (!ok_status(res))
	{
		fail_http(r, res, "other");
		return;
	}
	j = http_json(res);
	status = read_job(j, &jerr);
	if (!r->build_started)
	{
		/* Coder's waitForBuild: a "." per pending poll, then "Build started!" */
		if (strcmp(status, "pending") == 0)
		{
			json_object_put(j);
			run_print(r, ".");
			uv_timer_start(&r->poll, build_poll, BUILD_POLL_MS, 0);
			return;
		}
		run_print(r, "\nBuild started! Streaming logs below:\n");
		r->mark[M_BUILD_FROM] = r->last_ms;
		r->build_started = true;
	}
	if (strcmp(status, "succeeded") == 0)
	{
		scan_agents(r, j, &n, false);
		json_object_put(j);
		run_print(r, "\n\nBuild succeeded!\n");
		r->mark[M_BUILD_TO] = r->last_ms;
		step_agents(r);
		return;
	}
	if (strcmp(status, "failed") == 0 || strcmp(status, "canceled") == 0)
	{
		run_print(r, "\n");
		build_failed(r, status, jerr);
		json_object_put(j);
		return;
	}
	json_object_put(j);
	uv_timer_start(&r->poll, build_poll, BUILD_POLL_MS, 0);
}

static void
build_poll(uv_timer_t *t)
{
	run		   *r = t->data;
	char		path[128];

	snprintf(path, sizeof(path), "/api/v2/workspacebuilds/%s", r->build_id);
	start_logged(r, "GET", path, run_token(r), NULL, NULL, build_read);
}

static void
wait_for_build(run *r)
{
	r->phase = P_BUILD;
	r->build_started = false;
	run_print(r, "Build is currently queued...");
	build_poll(&r->poll);
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
		fail_http(r, res, "create_workspace");
		return;
	}
	j = http_json(res);
	ok = take_id(r, r->ws_id, sizeof(r->ws_id), jstr(j, "id"), "workspace") &&
		take_id(r, r->build_id, sizeof(r->build_id), jstr(jobj(j, "latest_build"), "id"), "build");
	json_object_put(j);
	if (!ok)
	{
		fail(r, r->bad_id, "create_workspace");
		return;
	}
	wait_for_build(r);
}

static void
step_workspace(run *r)
{
	json_object *body, *params;
	char		path[160];
	const char *text;

	enter(r, P_WORKSPACE);
	body = json_object_new_object();
	params = json_object_new_array();
	for (int i = 0; i < env.cfg->nparams; i++)
	{
		json_object *p = json_object_new_object();

		json_object_object_add(p, "name", json_object_new_string(env.cfg->params[i].name));
		json_object_object_add(p, "value", json_object_new_string(env.cfg->params[i].value));
		json_object_array_add(params, p);
	}
	json_object_object_add(body, "template_id", json_object_new_string(env.cfg->template_id));
	json_object_object_add(body, "name", json_object_new_string(r->name));
	json_object_object_add(body, "rich_parameter_values", params);
	snprintf(path, sizeof(path), "/api/v2/users/%s/workspaces",
			 r->user_id[0] ? r->user_id : "me");
	r->ws_attempted = true;
	text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	r->mark[M_WS_REQ] = run_clock_ms(r);
	start_logged(r, "POST", path, run_token(r), text, text, workspace_created);
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
		fail_http(r, res, "other");
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

	snprintf(path, sizeof(path), "/api/v2/workspaces/%s", r->ws_id);
	start_logged(r, "GET", path, run_token(r), NULL, NULL, workspace_read);
}

static void
step_agents(run *r)
{
	enter(r, P_AGENTS);
	if (env.cfg->no_wait_for_agents)
	{
		run_print(r, "Skipping agent connectivity check.\n");
		after_agents(r);
		return;
	}
	run_print(r, "\nWaiting for agents to connect...\n\n");
	agents_poll(&r->poll);
}

static void
after_agents(run *r)
{
	if (env.cfg->run_command)
		step_command(r);
	else
		finish(r, NULL, NULL);
}

/* ---------- the command through the web terminal ---------- */

static void
pty_line_done(run *r)
{
	const char *want = env.cfg->run_expect_output;

	while (r->pty_len > 0 && r->pty_line[r->pty_len - 1] == '\r')
		r->pty_len--;
	r->pty_line[r->pty_len] = '\0';
	if (want && strstr(r->pty_line, want))
		r->expect_found = true;
	if (env.cfg->run_log_output)
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
	r->t_us[T_COMMAND] = phase_us(r);
	if (error)
	{
		fail(r, error, "command_failed");
		return;
	}
	if (r->pty_timed_out && !env.cfg->run_expect_timeout)
	{
		snprintf(msg, sizeof(msg), "command timed out after %.3gs", env.cfg->run_timeout_ms / 1000.0);
		fail(r, msg, "command_timeout");
		return;
	}
	if (!r->pty_timed_out && env.cfg->run_expect_timeout)
	{
		fail(r, "expected command to time out, but it completed", "command_failed");
		return;
	}
	if (env.cfg->run_expect_output && !r->expect_found)
	{
		snprintf(msg, sizeof(msg), "expected string \"%s\" not found in output", env.cfg->run_expect_output);
		fail(r, msg, "command_failed");
		return;
	}
	finish(r, NULL, NULL);
}

static void
pty_end(void *arg, const char *error)
{
	run		   *r = arg;

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
		fail(r, "the workspace has no agent", "command_failed");
		return;
	}
	if (!is_uuid(r->agent_id))
	{
		char		shown[64];
		char		msg[160];

		shown_id(r->agent_id, shown, sizeof(shown));
		snprintf(msg, sizeof(msg), "the answer's agent id \"%s\" is not a UUID", shown);
		fail(r, msg, "command_failed");
		return;
	}
	random_uuid(uuid);
	cmd = curl_easy_escape(NULL, env.cfg->run_command, 0);
	if (!cmd || asprintf(&path, "/api/v2/workspaceagents/%s/pty?reconnect=%s&width=80&height=24&command=%s",
						 r->agent_id, uuid, cmd) < 0)
	{
		curl_free(cmd);
		fail(r, "out of memory", "other");
		return;
	}
	curl_free(cmd);
	run_print(r, "Opening reconnecting PTY connection to agent via coderd...\n\tID:      %s\n"
			  "\tWidth:   80\n\tHeight:  24\n\tBackend: \n\tCommand: ", uuid);
	log_quoted(r, env.cfg->run_command);
	run_print(r, "\n\n");
	if (env.cfg->run_log_output)
		run_print(r, "Output:\n");
	r->ws = ws_open(path, run_token(r), pty_data, pty_end, r);
	free(path);
	if (!r->ws)
	{
		fail(r, "out of memory", "other");
		return;
	}
	if (env.cfg->run_timeout_ms > 0)
		deadline_in(&r->poll, pty_timeout, env.cfg->run_timeout_ms);
}

/* ---------- start ---------- */

void
runner_init(run *r, int i, const char *rand8)
{
	memset(r, 0, sizeof(*r));
	r->idx = i;
	snprintf(r->full_id, sizeof(r->full_id), "workspacebuild/%d", i);
	snprintf(r->name, sizeof(r->name), "scaletest-%s-%d", rand8, i);
	snprintf(r->email, sizeof(r->email), "%s-%d@scaletest.local", rand8, i);
	for (int k = 0; k < T_COUNT; k++)
		r->t_us[k] = -1;
	for (int k = 0; k < M_COUNT; k++)
		r->mark[k] = M_NONE;
}

static void
init_timers(run *r)
{
	if (r->timers_ready)
		return;
	uv_timer_init(env.loop, &r->poll);
	uv_timer_init(env.loop, &r->deadline);
	r->poll.data = r;
	r->deadline.data = r;
	r->timers_ready = true;
}

void
runner_start(run *r)
{
	init_timers(r);
	r->started = true;
	r->retries_left = env.cfg->retry;
	start_clock(r);
	if (env.cfg->job_timeout_ms > 0)
		deadline_in(&r->deadline, on_deadline, env.cfg->job_timeout_ms);
	step_user(r);
}

/* ---------- cleanup ---------- */

bool
runner_needs_cleanup(const run *r)
{
	if (r->cl_done)
		return false;
	return r->ws_attempted || (r->user_attempted && !env.cfg->use_host_login);
}

static void
cl_finish(run *r, const char *error)
{
	if (r->cl_done)
		return;
	stop_io(r);
	r->cl_done = true;
	r->t_us[T_CLEANUP] = (int64_t) (uv_hrtime() - r->cl_t0_ns) / 1000;
	if (error)
		r->cl_error = strdup(error);
	env.cleanup_done(r);
}

static void
cl_fail_http(run *r, const char *what, const http_result *res)
{
	char	   *e = http_error_text(res);
	char	   *msg;

	if (asprintf(&msg, "%s: %s", what, e) < 0)
		msg = NULL;
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
runner_stop_cleanup(run *r, const char *reason)
{
	if (r->cl_started && !r->cl_done)
		cl_finish(r, reason);
}

static void
cl_call(run *r, const char *method, const char *path, const char *body, http_done_fn done)
{
	r->call = http_start(env.http, method, path, env.owner_token, body, done, r);
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
		cl_fail_http(r, "find user", res);
		return;
	}
	else
	{
		bool		ok;

		j = http_json(res);
		ok = take_id(r, r->user_id, sizeof(r->user_id), jstr(j, "id"), "user");
		json_object_put(j);
		if (!ok)
		{
			cl_bad_id(r, "find user");
			return;
		}
		r->cl_state = CL_GET_WS;
	}
	cl_step(r);
}

static void
cl_ws_read(void *arg, const http_result *res)
{
	run		   *r = arg;
	json_object *j, *build;
	const char *status, *transition;

	r->call = NULL;
	if (res->status == 404 || res->status == 410)
	{
		r->cl_state = CL_USER;
		cl_step(r);
		return;
	}
	if (!ok_status(res))
	{
		cl_fail_http(r, "get workspace", res);
		return;
	}
	j = http_json(res);
	build = jobj(j, "latest_build");
	if (!take_id(r, r->ws_id, sizeof(r->ws_id), jstr(j, "id"), "workspace") ||
		!take_id(r, r->build_id, sizeof(r->build_id), jstr(build, "id"), "build"))
	{
		json_object_put(j);
		cl_bad_id(r, "get workspace");
		return;
	}
	status = jstr(jobj(build, "job"), "status");
	transition = jstr(build, "transition");
	if (status && job_active(status))
		r->cl_state = strcmp(status, "canceling") == 0 ? CL_WAIT_CANCEL : CL_CANCEL;
	else if (transition && strcmp(transition, "delete") == 0 && status &&
			 strcmp(status, "succeeded") == 0)
		r->cl_state = CL_USER;
	else
		r->cl_state = CL_DELETE;
	json_object_put(j);
	cl_step(r);
}

static void
cl_poll_cb(uv_timer_t *t)
{
	cl_step(t->data);
}

static void
cl_build_read(void *arg, const http_result *res)
{
	run		   *r = arg;
	json_object *j;
	const char *status;
	char		msg[2048];

	r->call = NULL;
	if (!ok_status(res))
	{
		cl_fail_http(r, "wait for build", res);
		return;
	}
	j = http_json(res);
	status = jstr(jobj(j, "job"), "status");
	if (!status || job_active(status))
	{
		json_object_put(j);
		uv_timer_start(&r->poll, cl_poll_cb, BUILD_POLL_MS, 0);
		return;
	}
	if (r->cl_state == CL_WAIT_CANCEL)
		r->cl_state = CL_DELETE;
	else if (strcmp(status, "succeeded") == 0)
		r->cl_state = CL_USER;
	else
	{
		snprintf(msg, sizeof(msg), "delete workspace: build failed with status \"%s\": %s",
				 status, jstr(jobj(j, "job"), "error") ? jstr(jobj(j, "job"), "error") : "");
		json_object_put(j);
		cl_finish(r, msg);
		return;
	}
	json_object_put(j);
	cl_step(r);
}

static void
cl_canceled(void *arg, const http_result *res)
{
	run		   *r = arg;

	r->call = NULL;
	/* 4xx here usually means the job finished meanwhile: read it again */
	if (res->transport_error || res->status >= 500)
	{
		cl_fail_http(r, "cancel build", res);
		return;
	}
	r->cl_state = CL_WAIT_CANCEL;
	cl_step(r);
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
		cl_step(r);
		return;
	}
	if (!ok_status(res))
	{
		cl_fail_http(r, "delete workspace", res);
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
	cl_step(r);
}

static void
cl_user_deleted(void *arg, const http_result *res)
{
	run		   *r = arg;

	r->call = NULL;
	if (!ok_status(res) && res->status != 404)
	{
		cl_fail_http(r, "delete user", res);
		return;
	}
	r->cl_state = CL_DONE;
	cl_step(r);
}

static void
cl_step(run *r)
{
	char		path[256];

	switch (r->cl_state)
	{
		case CL_FIND_USER:
			if (r->user_attempted && !r->user_id[0] && !env.cfg->use_host_login)
			{
				snprintf(path, sizeof(path), "/api/v2/users/%s", r->name);
				cl_call(r, "GET", path, NULL, cl_user_found);
				return;
			}
			r->cl_state = CL_GET_WS;
			/* FALLTHROUGH */
		case CL_GET_WS:
			if (r->ws_id[0])
				snprintf(path, sizeof(path), "/api/v2/workspaces/%s", r->ws_id);
			else if (r->ws_attempted && (r->user_id[0] || env.cfg->use_host_login))
				snprintf(path, sizeof(path), "/api/v2/users/%s/workspace/%s",
						 r->user_id[0] && !env.cfg->use_host_login ? r->user_id : "me", r->name);
			else
			{
				r->cl_state = CL_USER;
				cl_step(r);
				return;
			}
			cl_call(r, "GET", path, NULL, cl_ws_read);
			return;
		case CL_CANCEL:
			snprintf(path, sizeof(path), "/api/v2/workspacebuilds/%s/cancel", r->build_id);
			cl_call(r, "PATCH", path, NULL, cl_canceled);
			return;
		case CL_WAIT_CANCEL:
		case CL_WAIT_DELETE:
			snprintf(path, sizeof(path), "/api/v2/workspacebuilds/%s", r->build_id);
			cl_call(r, "GET", path, NULL, cl_build_read);
			return;
		case CL_DELETE:
			snprintf(path, sizeof(path), "/api/v2/workspaces/%s/builds", r->ws_id);
			cl_call(r, "POST", path, "{\"transition\":\"delete\"}", cl_deleting);
			return;
		case CL_USER:
			if (r->user_id[0] && !env.cfg->use_host_login)
			{
				snprintf(path, sizeof(path), "/api/v2/users/%s", r->user_id);
				r->cl_state = CL_DONE;
				cl_call(r, "DELETE", path, NULL, cl_user_deleted);
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
	r->cl_started = true;
	r->cl_t0_ns = uv_hrtime();
	r->cl_state = CL_FIND_USER;
	if (env.cfg->cleanup_job_timeout_ms > 0)
		deadline_in(&r->deadline, cl_deadline, env.cfg->cleanup_job_timeout_ms);
	cl_step(r);
}
