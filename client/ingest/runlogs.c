/*
 * runlogs.c: phase timings from a Coder scale-test run's logs.
 *
 * The createworkspaces runner gives its API client a debug logger that
 * writes into the run's logs, one line per request and response:
 *   2024-02-28 10:00:01.234 [debu]  sdk request  method=POST  url=https://c/api/v2/users  body="{...}"
 *   2024-02-28 10:00:01.301 [debu]  sdk response  method=POST  url=https://c/api/v2/users  status=201 ...
 * (2023 releases: the fields as JSON, {"method": "POST", "url": "..."})
 * and plain progress lines without a time ("Build started! Streaming logs
 * below:", "Build succeeded!", "Agents connected!").  A plain line happens
 * right after the last timestamped line before it, so:
 *   create_user      = POST .../users          request -> response
 *   create_workspace = POST .../workspaces     request -> response
 *   queue_wait       = that response (or a retry's POST .../builds response) -> last time before "Build started!"
 *   build            = last time before "Build started!" -> last time before "Build succeeded!"
 *   agents_connect   = last time before "Build succeeded!" -> last time before "Agents connected!"
 * Logs without those lines (older Coder releases) leave the phases unknown.
 */
#include <stdbool.h>
#include <string.h>

#include "runlogs.h"

#define NONE INT64_MIN

typedef struct line
{
	const char *p;
	size_t		n;
} line;

static bool
has(line l, const char *needle)
{
	return memmem(l.p, l.n, needle, strlen(needle)) != NULL;
}

static bool
starts(line l, const char *prefix)
{
	size_t		n = strlen(prefix);

	return l.n >= n && memcmp(l.p, prefix, n) == 0;
}

static int
num(const char *p, int digits)
{
	int			v = 0;

	for (int i = 0; i < digits; i++)
	{
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t		era,
				yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * "YYYY-MM-DD HH:MM:SS.mmm " at the start of the line -> ms, or NONE.  The
 * queue poll writes "Build is currently queued..." and a "." per poll
 * without a newline, so a timestamp may follow them on the same line.
 */
static int64_t
line_time(line l)
{
	const char *p;
	int			y, mo, d, h, mi, s, ms;

	if (starts(l, "Build is currently queued"))
		l.p += 25, l.n -= 25;
	while (l.n > 0 && l.p[0] == '.')
		l.p++, l.n--;
	p = l.p;

	if (l.n < 24 || p[4] != '-' || p[7] != '-' || p[10] != ' ' || p[13] != ':' ||
		p[16] != ':' || p[19] != '.' || p[23] != ' ')
		return NONE;
	y = num(p, 4), mo = num(p + 5, 2), d = num(p + 8, 2);
	h = num(p + 11, 2), mi = num(p + 14, 2), s = num(p + 17, 2), ms = num(p + 20, 3);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
		s < 0 || s > 60 || ms < 0)
		return NONE;
	return ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + (int64_t) s * 1000 + ms;
}

/*
 * Does the url field's path (query dropped) end with suffix?  slog writes
 * fields as url=... (current releases) or as JSON, "url": "..." (2023).
 */
static bool
url_ends(line l, const char *suffix)
{
	const char *u = memmem(l.p, l.n, "url=", 4);
	const char *end = l.p + l.n;
	const char *e;
	size_t		n = strlen(suffix);

	if (u)
		u += 4;
	else if ((u = memmem(l.p, l.n, "\"url\": \"", 8)) != NULL)
		u += 8;
	else
		return false;
	for (e = u; e < end && *e != ' ' && *e != '?' && *e != '"'; e++)
		;
	return (size_t) (e - u) >= n && memcmp(e - n, suffix, n) == 0 && memmem(u, (size_t) (e - u), "/api/v2/", 8);
}

/*
 * Copy the value after key up to a quote (skipping a backslash before it);
 * a value too long for out is left unknown (""), never cut (a cut could
 * split a UTF-8 character).
 */
static void
copy_until_quote(const char *p, const char *end, char *out, size_t size)
{
	size_t		n = 0;

	while (p < end && *p != '"' && *p != '\\' && n + 1 < size)
		out[n++] = *p++;
	if (p < end && *p != '"' && *p != '\\')
		n = 0;
	out[n] = '\0';
}

static int64_t
span(int64_t from, int64_t to)
{
	return (from == NONE || to == NONE || to < from) ? -1 : to - from;
}

void
runlog_phases(const char *logs, size_t len, run_phases *out)
{
	const char *p = logs,
			   *end = logs + len;
	int64_t		last = NONE,
				user_req = NONE, user_resp = NONE,
				ws_req = NONE, ws_resp = NONE,
				queue_from = NONE, build_from = NONE,
				build_to = NONE, agents_to = NONE;
	bool		retrying = false;

	memset(out, 0, sizeof(*out));
	while (p < end)
	{
		const char *nl = memchr(p, '\n', (size_t) (end - p));
		line		l = {p, (size_t) ((nl ? nl : end) - p)};
		int64_t		t = line_time(l);

		p = nl ? nl + 1 : end;
		if (t != NONE)
		{
			bool		post = has(l, "method=POST") || has(l, "\"method\": \"POST\"");
			bool		req = has(l, "sdk request"),
						resp = has(l, "sdk response");

			last = t;
			if (post && req && url_ends(l, "/users") && user_req == NONE)
				user_req = t;
			else if (post && resp && url_ends(l, "/users") && user_req != NONE && user_resp == NONE)
				user_resp = t;
			else if (post && req && url_ends(l, "/workspaces") && ws_req == NONE)
			{
				const char *k = memmem(l.p, l.n, "\\\"name\\\":\\\"", 11);

				ws_req = t;
				if (k)
					copy_until_quote(k + 11, l.p + l.n, out->workspace_name, sizeof(out->workspace_name));
			}
			else if (post && resp && url_ends(l, "/workspaces") && ws_req != NONE && ws_resp == NONE)
				ws_resp = queue_from = t;
			else if (post && resp && retrying && url_ends(l, "/builds"))
			{
				queue_from = t;
				retrying = false;
			}
			continue;
		}
		if (starts(l, "\tUsername: ") && out->user_name[0] == '\0')
			copy_until_quote(l.p + 11, l.p + l.n, out->user_name, sizeof(out->user_name));
		else if (starts(l, "Retrying build "))
			retrying = true;
		else if (starts(l, "Build started! Streaming logs below:") && queue_from != NONE)
			build_from = last;
		else if (starts(l, "Build succeeded!") && build_from != NONE)
			build_to = last;
		else if (starts(l, "Agents connected!") && build_to != NONE)
			agents_to = last;
	}
	for (int p = 0; p < T_COUNT; p++)
		out->ms[p] = -1;
	out->ms[T_CREATE_USER] = span(user_req, user_resp);
	out->ms[T_CREATE_WORKSPACE] = span(ws_req, ws_resp);
	out->ms[T_QUEUE_WAIT] = span(queue_from, build_from);
	out->ms[T_BUILD] = span(build_from, build_to);
	out->ms[T_AGENTS] = span(build_to, agents_to);
}
