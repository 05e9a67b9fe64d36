/*
 * http.c: the REST API of the stand-in (paths, methods, status codes and
 * bodies as coderd's swagger.json has them), coderd's rate limits in front
 * of it (ratelimit.c counts), the websockets it serves (build and dry-run
 * logs with ?follow, and the reconnecting PTY), and the plumbing that writes
 * responses without blocking.
 *
 * Invariants:
 * - Every HTTP request gets exactly one answer, written whole from the
 *   callback that completed the request (respond_raw drops a second one;
 *   http_done answers 500 for a handler that gave none).
 * - Handlers answer their errors themselves.  A check (need_*, *_arg,
 *   *_read, *_valid) answers the error and then returns false or NULL, and
 *   its caller only returns.  The fail* helpers return false, so that a
 *   check can end with "return fail(...)".
 * - A route is its index in routes[].  Which websocket a path upgrades to is
 *   the route's own ws field, so a route added anywhere in the table changes
 *   nothing else.
 * - A request body or a websocket message is buffered in its struct conn,
 *   which owns it; the json-c objects made from it are put before the
 *   callback returns.
 */
#include "server.h"

#include <ctype.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *listen_url = "";

#define MAX_BODY (1 << 20)

/* coderd's wording for these answers */
#define MSG_NOT_FOUND "Resource not found or you do not have access to this resource"
#define MSG_SIGNED_OUT "You are signed out or your session has expired. Please sign in again to continue."
#define MSG_BAD_JSON "Request body must be valid JSON."

/* One request being handled: its connection, the caller, the path's {args}. */
struct req
{
	struct conn *c;
	struct lws *wsi;
	struct user *me;			/* NULL until authenticated */
	char		segs[512];		/* the path's segments; arg[] points into it */
	const char *arg[3];
	json_object *body;			/* the parsed body, or NULL; put by handle() */
};

typedef void (*handler) (struct req *r);

/*
 * What a websocket upgrade of a route opens.  With establish false it only
 * decides: 0 to accept, or reject_upgrade's result.  With establish true the
 * websocket is open and gets wired to what it serves.
 */
typedef int (*ws_opener) (struct req *r, struct conn *c, int route, bool establish);

struct route
{
	enum method m;
	const char *pat;			/* below /api/v2 */
	const char *label;			/* coderd's route pattern, for metrics */
	handler		fn;
	bool		auth;			/* needs a session token */
	ws_opener	ws;				/* NULL: no websocket on this path */
};

static void h_buildinfo(struct req *r);
static void h_login(struct req *r);
static void h_users_list(struct req *r);
static void h_user_create(struct req *r);
static void h_user_get(struct req *r);
static void h_user_delete(struct req *r);
static void h_ws_create_user(struct req *r);
static void h_ws_create_org(struct req *r);
static void h_ws_by_name(struct req *r);
static void h_orgs(struct req *r);
static void h_org(struct req *r);
static void h_org_templates(struct req *r);
static void h_org_template(struct req *r);
static void h_templates(struct req *r);
static void h_template(struct req *r);
static void h_tv(struct req *r);
static void h_tv_params(struct req *r);
static void h_tv_external_auth(struct req *r);
static void h_dryrun_create(struct req *r);
static void h_dryrun_get(struct req *r);
static void h_dryrun_logs(struct req *r);
static void h_dryrun_resources(struct req *r);
static void h_dryrun_matched(struct req *r);
static void h_dryrun_cancel(struct req *r);
static void h_deployment_config(struct req *r);
static void h_ws_list(struct req *r);
static void h_ws_get(struct req *r);
static void h_ws_build(struct req *r);
static void h_build_get(struct req *r);
static void h_build_cancel(struct req *r);
static void h_build_logs(struct req *r);
static void h_agent_get(struct req *r);
static void h_pty_plain(struct req *r);
static void h_hold_get(struct req *r);
static void h_hold_put(struct req *r);
static int	ws_logs_open(struct req *r, struct conn *c, int route, bool establish);
static bool rich_params_read(struct req *r, const char *T, json_object **out);
static void logs_respond(struct req *r, const struct build *b);
static int	ws_dryrun_logs_open(struct req *r, struct conn *c, int route, bool establish);
static int	ws_pty_open(struct req *r, struct conn *c, int route, bool establish);

static const struct route routes[] = {
	{M_GET, "/buildinfo", "/api/v2/buildinfo", h_buildinfo, false, NULL},
	{M_POST, "/users/login", "/api/v2/users/login", h_login, false, NULL},
	{M_GET, "/users", "/api/v2/users/", h_users_list, true, NULL},
	{M_POST, "/users", "/api/v2/users/", h_user_create, true, NULL},
	{M_GET, "/users/{user}", "/api/v2/users/{user}/", h_user_get, true, NULL},
	{M_DELETE, "/users/{user}", "/api/v2/users/{user}/", h_user_delete, true, NULL},
	{M_POST, "/users/{user}/workspaces", "/api/v2/users/{user}/workspaces", h_ws_create_user, true, NULL},
	{M_GET, "/users/{user}/workspace/{workspacename}", "/api/v2/users/{user}/workspace/{workspacename}/", h_ws_by_name, true, NULL},
	{M_GET, "/organizations", "/api/v2/organizations/", h_orgs, true, NULL},
	{M_GET, "/organizations/{organization}", "/api/v2/organizations/{organization}/", h_org, true, NULL},
	{M_GET, "/organizations/{organization}/templates", "/api/v2/organizations/{organization}/templates/", h_org_templates, true, NULL},
	{M_GET, "/organizations/{organization}/templates/{templatename}", "/api/v2/organizations/{organization}/templates/{templatename}", h_org_template, true, NULL},
	{M_POST, "/organizations/{organization}/members/{user}/workspaces", "/api/v2/organizations/{organization}/members/{user}/workspaces", h_ws_create_org, true, NULL},
	{M_GET, "/templates", "/api/v2/templates/", h_templates, true, NULL},
	{M_GET, "/templates/{template}", "/api/v2/templates/{template}/", h_template, true, NULL},
	{M_GET, "/templateversions/{templateversion}", "/api/v2/templateversions/{templateversion}/", h_tv, true, NULL},
	{M_GET, "/templateversions/{templateversion}/rich-parameters", "/api/v2/templateversions/{templateversion}/rich-parameters", h_tv_params, true, NULL},
	{M_GET, "/templateversions/{templateversion}/external-auth", "/api/v2/templateversions/{templateversion}/external-auth", h_tv_external_auth, true, NULL},
	{M_POST, "/templateversions/{templateversion}/dry-run", "/api/v2/templateversions/{templateversion}/dry-run/", h_dryrun_create, true, NULL},
	{M_GET, "/templateversions/{templateversion}/dry-run/{jobID}", "/api/v2/templateversions/{templateversion}/dry-run/{jobID}", h_dryrun_get, true, NULL},
	{M_GET, "/templateversions/{templateversion}/dry-run/{jobID}/logs", "/api/v2/templateversions/{templateversion}/dry-run/{jobID}/logs", h_dryrun_logs, true, ws_dryrun_logs_open},
	{M_GET, "/templateversions/{templateversion}/dry-run/{jobID}/resources", "/api/v2/templateversions/{templateversion}/dry-run/{jobID}/resources", h_dryrun_resources, true, NULL},
	{M_GET, "/templateversions/{templateversion}/dry-run/{jobID}/matched-provisioners", "/api/v2/templateversions/{templateversion}/dry-run/{jobID}/matched-provisioners", h_dryrun_matched, true, NULL},
	{M_PATCH, "/templateversions/{templateversion}/dry-run/{jobID}/cancel", "/api/v2/templateversions/{templateversion}/dry-run/{jobID}/cancel", h_dryrun_cancel, true, NULL},
	{M_GET, "/deployment/config", "/api/v2/deployment/config", h_deployment_config, true, NULL},
	{M_GET, "/workspaces", "/api/v2/workspaces/", h_ws_list, true, NULL},
	{M_GET, "/workspaces/{workspace}", "/api/v2/workspaces/{workspace}/", h_ws_get, true, NULL},
	{M_POST, "/workspaces/{workspace}/builds", "/api/v2/workspaces/{workspace}/builds", h_ws_build, true, NULL},
	{M_GET, "/workspacebuilds/{workspacebuild}", "/api/v2/workspacebuilds/{workspacebuild}/", h_build_get, true, NULL},
	{M_PATCH, "/workspacebuilds/{workspacebuild}/cancel", "/api/v2/workspacebuilds/{workspacebuild}/cancel", h_build_cancel, true, NULL},
	{M_GET, "/workspacebuilds/{workspacebuild}/logs", "/api/v2/workspacebuilds/{workspacebuild}/logs", h_build_logs, true, ws_logs_open},
	{M_GET, "/workspaceagents/{workspaceagent}", "/api/v2/workspaceagents/{workspaceagent}/", h_agent_get, true, NULL},
	{M_GET, "/workspaceagents/{workspaceagent}/pty", "/api/v2/workspaceagents/{workspaceagent}/pty", h_pty_plain, true, ws_pty_open},
	/* the stand-in's own, for tests (not Coder's API) */
	{M_GET, "/standin/hold", "/api/v2/standin/hold", h_hold_get, true, NULL},
	{M_PUT, "/standin/hold", "/api/v2/standin/hold", h_hold_put, true, NULL},
};
#define NROUTES ((int) (sizeof(routes) / sizeof(routes[0])))
/* route numbers beyond the table, for metrics labels */
#define ROUTE_METRICS NROUTES
#define ROUTE_NONE (NROUTES + 1)

/* What match_route returns when no route matches. */
enum
{
	NO_SUCH_PATH = -1,
	NO_SUCH_METHOD = -2			/* the path exists with other methods */
};

/* coderd's route pattern of ROUTE for metrics labels; "" for none. */
const char *
route_label(int route)
{
	if (route >= 0 && route < NROUTES)
		return routes[route].label;
	if (route == ROUTE_METRICS)
		return "/metrics";
	return "";
}

/* The HTTP method's name, for metrics labels. */
const char *
method_name(enum method m)
{
	static const char *n[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "OTHER"};

	return n[m];
}

/* ---------------- request helpers ---------------- */

/* The method of the request, from the header lws filled in for it. */
static enum method
detect_method(struct lws *wsi)
{
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI))
		return M_GET;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
		return M_POST;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI))
		return M_PUT;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_PATCH_URI))
		return M_PATCH;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI))
		return M_DELETE;
	return M_OTHER;
}

/*
 * Split PATH below "/api/v2/" (trailing slashes dropped) into r->segs and
 * point SEG at its segments; returns their count, at most 8.
 */
static int
split_path(struct req *r, const char *path, char *seg[8])
{
	int			n = 0;
	size_t		len;

	snprintf(r->segs, sizeof(r->segs), "%s", path + 8);
	len = strlen(r->segs);
	while (len > 0 && r->segs[len - 1] == '/')
		r->segs[--len] = '\0';
	for (char *p = r->segs; *p && n < 8;)
	{
		seg[n++] = p;
		p = strchr(p, '/');
		if (!p)
			break;
		*p++ = '\0';
	}
	return n;
}

/*
 * Does the pattern PAT ("/users/{user}") match the N segments SEG?  Its
 * {args} go to r->arg, in order.
 */
static bool
pattern_matches(struct req *r, const char *pat, char *seg[], int n)
{
	int			k = 0,
				na = 0;

	for (pat++; *pat; k++)
	{
		const char *end = strchr(pat, '/');
		size_t		plen = end ? (size_t) (end - pat) : strlen(pat);

		if (k >= n)
			return false;
		if (pat[0] == '{')
		{
			if (na < 3)
				r->arg[na++] = seg[k];
		}
		else if (strlen(seg[k]) != plen || strncmp(seg[k], pat, plen) != 0)
			return false;
		pat += plen + (end ? 1 : 0);
	}
	return k == n;
}

/*
 * Match PATH and method M against the table.  Fills r->arg; returns the
 * route's index, NO_SUCH_PATH or NO_SUCH_METHOD.
 */
static int
match_route(struct req *r, const char *path, enum method m)
{
	char	   *seg[8];
	int			n;
	bool		path_seen = false;

	if (strncmp(path, "/api/v2/", 8) != 0)
		return NO_SUCH_PATH;
	n = split_path(r, path, seg);
	for (int i = 0; i < NROUTES; i++)
	{
		if (!pattern_matches(r, routes[i].pat, seg, n))
			continue;
		if (routes[i].m == m)
			return i;
		path_seen = true;
	}
	return path_seen ? NO_SUCH_METHOD : NO_SUCH_PATH;
}

/* The query argument NAME: true and its value in OUT when present ("follow" alone gives ""). */
static bool
qarg(struct lws *wsi, const char *name, char *out, int len)
{
	size_t		nl = strlen(name);
	char		frag[4096];

	for (int i = 0;; i++)
	{
		int			n = lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i);

		if (n < 0)
			return false;
		if (strncmp(frag, name, nl) == 0 && (frag[nl] == '=' || frag[nl] == '\0'))
		{
			snprintf(out, (size_t) len, "%s", frag[nl] == '=' ? frag + nl + 1 : "");
			return true;
		}
	}
}

/* A boolean query argument: true for "name", "name=true" or "name=1". */
static bool
qbool(struct lws *wsi, const char *name)
{
	char		buf[64];

	if (!qarg(wsi, name, buf, sizeof(buf)))
		return false;
	return buf[0] == '\0' || strcasecmp(buf, "true") == 0 || strcmp(buf, "1") == 0;
}

/* The coder_session_token cookie, when the request has one. */
static bool
cookie_token(struct lws *wsi, char *out, int len)
{
	char		buf[4096];
	const char *name = "coder_session_token=";
	char	   *p = buf;

	if (lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_COOKIE) <= 0)
		return false;
	while ((p = strstr(p, name)) != NULL)
	{
		if (p == buf || p[-1] == ' ' || p[-1] == ';')
		{
			size_t		n = strcspn(p + 20, "; ");

			if (n == 0 || n >= (size_t) len)
				return false;
			memcpy(out, p + 20, n);
			out[n] = '\0';
			return true;
		}
		p += 20;
	}
	return false;
}

/* The session token: header, then cookie, then query parameter. */
static bool
find_token(struct lws *wsi, char *out, int len)
{
	if (lws_hdr_custom_copy(wsi, out, len, "coder-session-token:", 20) > 0)
		return true;
	if (cookie_token(wsi, out, len))
		return true;
	if (qarg(wsi, "coder_session_token", out, len) && out[0])
		return true;
	return false;
}

/*
 * The caller's session: sets *me and returns NULL, or returns what is wrong
 * with it (the detail of coderd's 401).
 */
static const char *
session_user(struct lws *wsi, struct user **me)
{
	char		tok[128];

	if (!find_token(wsi, tok, sizeof(tok)))
		return "Cookie \"coder_session_token\" or header \"Coder-Session-Token\" must be provided.";
	*me = hmap_get(&deployment.tokens, tok);
	if (!*me || (*me)->deleted)
		return "API key is invalid.";
	return NULL;
}

/* ---------------- responses ---------------- */

/* Add NAME: VALUE to a response's headers; true on failure (lws's convention). */
static bool
add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p, unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *) name, (const unsigned char *) value,
									   (int) strlen(value), p, end) != 0;
}

/*
 * The headers httprate's limiter sets (limiter.go, Handler): X-RateLimit-Limit,
 * -Remaining and -Reset whenever a limiter counted the request, and
 * Retry-After: 60 (the window's seconds) when it refused it.  True on failure.
 */
static bool
add_rate_headers(struct lws *wsi, const struct rl_result *rl, unsigned char **p, unsigned char *end)
{
	char		v[3][32];

	if (!rl || rl->limit <= 0)
		return false;
	snprintf(v[0], sizeof(v[0]), "%d", rl->limit);
	snprintf(v[1], sizeof(v[1]), "%ld", rl->remaining);
	snprintf(v[2], sizeof(v[2]), "%lld", (long long) rl->reset);
	return add_header(wsi, "x-ratelimit-limit:", v[0], p, end) ||
		add_header(wsi, "x-ratelimit-remaining:", v[1], p, end) ||
		add_header(wsi, "x-ratelimit-reset:", v[2], p, end) ||
		(rl->outcome == RL_LIMITED && add_header(wsi, "retry-after:", "60", p, end));
}

/*
 * Write the whole response at once, from the callback that read the request:
 * libwebsockets buffers what the socket does not take.  Finishing the
 * transaction in the same callback keeps lws's per-thread list of header
 * tables short, which is what keeps thousands of connections cheap.
 */
static void
respond_raw(struct conn *c, int status, const char *ctype, const char *body, size_t len)
{
	unsigned char hb[LWS_PRE + 1024],
			   *start = hb + LWS_PRE,
			   *p = start,
			   *end = hb + sizeof(hb) - 1;
	struct lws *wsi = c->wsi;

	if (c->responded)
		return;
	c->responded = true;
	c->status = status;
	if (lws_add_http_common_headers(wsi, (unsigned) status, ctype, len, &p, end) ||
		(c->cookie[0] && add_header(wsi, "set-cookie:", c->cookie, &p, end)) ||
		add_rate_headers(wsi, &c->rl, &p, end) ||
		lws_finalize_http_header(wsi, &p, end) ||
		lws_write(wsi, start, (size_t) (p - start), LWS_WRITE_HTTP_HEADERS) < 0)
	{
		c->write_failed = true;
		return;
	}
	if (len)
	{
		unsigned char *buf = xmalloc(LWS_PRE + len);

		memcpy(buf + LWS_PRE, body, len);
		if (lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) < 0)
			c->write_failed = true;
		free(buf);
	}
}

/* Answer STATUS with the JSON O, which this puts. */
static void
respond(struct conn *c, int status, json_object *o)
{
	size_t		len;
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	respond_raw(c, status, "application/json", s, len);
	json_object_put(o);
}

/*
 * A paged list, {"count": N, "<key>": [...]}, serialized item by item so a
 * long list never exists as one big tree of json-c objects.
 */
struct listbuf
{
	char	   *p;
	size_t		len,
				cap;
	long		n;
};

/* Append ITEM's JSON text to the list, and put ITEM. */
static void
list_add(struct listbuf *b, json_object *item)
{
	size_t		len;
	const char *s = json_object_to_json_string_length(item, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	if (b->len + len + 64 > b->cap)
	{
		b->cap = (b->len + len + 64) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	if (b->n++)
		b->p[b->len++] = ',';
	memcpy(b->p + b->len, s, len);
	b->len += len;
	json_object_put(item);
}

/* Answer 200 with the list under KEY and its total COUNT; frees the list. */
static void
list_respond(struct conn *c, const char *key, long count, struct listbuf *b)
{
	char		head[96];
	int			hl = snprintf(head, sizeof(head), "{\"count\":%ld,\"%s\":[", count, key);
	char	   *out = xmalloc((size_t) hl + b->len + 3);

	memcpy(out, head, (size_t) hl);
	if (b->len)
		memcpy(out + hl, b->p, b->len);
	memcpy(out + hl + b->len, "]}", 2);
	respond_raw(c, 200, "application/json", out, (size_t) hl + b->len + 2);
	free(out);
	free(b->p);
	/* give a big list's memory back to the system */
	if (b->len > (1 << 20))
		malloc_trim(0);
}

/* coderd's error body: {"message", "detail"?, "validations"?}. */
static json_object *
err_body(const char *msg, const char *detail, json_object *validations)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "message", json_object_new_string(msg));
	if (detail)
		json_object_object_add(o, "detail", json_object_new_string(detail));
	if (validations)
		json_object_object_add(o, "validations", validations);
	return o;
}

/* Answer STATUS with an error body.  Returns false, for "return fail(...)" in a check. */
static bool
fail(struct req *r, int status, const char *msg, const char *detail)
{
	respond(r->c, status, err_body(msg, detail, NULL));
	return false;
}

/* 404, as coderd words it for a missing or hidden object; false. */
static bool
not_found(struct req *r)
{
	return fail(r, 404, MSG_NOT_FOUND, NULL);
}

/* 403 for a caller who is not the owner; false. */
static bool
forbidden(struct req *r)
{
	return fail(r, 403, "Forbidden.", "You don't have permission to view this content. If you believe this is a mistake, please contact your administrator or try signing in with different credentials.");
}

/* An error body with one validation entry for FIELD; false. */
static bool
fail_validation(struct req *r, int status, const char *msg, const char *field, const char *detail)
{
	json_object *a = json_object_new_array();
	json_object *v = json_object_new_object();

	json_object_object_add(v, "detail", json_object_new_string(detail));
	json_object_object_add(v, "field", json_object_new_string(field));
	json_object_array_add(a, v);
	respond(r->c, status, err_body(msg, NULL, a));
	return false;
}

/* 400 for FIELD as Go's validator words a failed TAG on VALUE; false. */
static bool
fail_tag(struct req *r, const char *field, const char *tag, const char *value)
{
	char		detail[200];

	snprintf(detail, sizeof(detail), "Validation failed for tag \"%s\" with value: \"%s\"", tag, value);
	return fail_validation(r, 400, "Validation failed.", field, detail);
}

/* ---------------- checks ---------------- */

/* P, or NULL after a 404 when P is NULL: the lookup of a path argument. */
static void *
found(struct req *r, void *p)
{
	if (!p)
		not_found(r);
	return p;
}

/* Is the caller the owner?  Else a 403. */
static bool
need_owner(struct req *r)
{
	return r->me->is_owner || forbidden(r);
}

/* A path parameter that swagger types as a UUID: 400 when malformed. */
static bool
need_uuid(struct req *r, const char *s)
{
	char		msg[600];

	if (uuid_valid(s))
		return true;
	snprintf(msg, sizeof(msg), "Invalid UUID \"%.500s\".", s);
	return fail(r, 400, msg, "invalid UUID format");
}

/* The body must be a JSON object. */
static bool
need_body(struct req *r)
{
	if (r->body && json_object_is_type(r->body, json_type_object))
		return true;
	return fail(r, 400, MSG_BAD_JSON, r->c->blen ? "the body is not a JSON object" : "EOF");
}

/*
 * The string field KEY of the body (of Go type TYPE): 0 when absent or null
 * (out NULL), 1 for a string, -1 for another type (a 400 was sent, as
 * coderd's JSON decoder would).
 */
static int
body_str(struct req *r, const char *type, const char *key, const char **out)
{
	json_object *v;
	char		detail[300];

	*out = NULL;
	if (!json_object_object_get_ex(r->body, key, &v) || v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_string))
	{
		*out = json_object_get_string(v);
		return 1;
	}
	snprintf(detail, sizeof(detail), "json: cannot unmarshal %s into Go struct field %s.%s of type string",
			 json_type_to_name(json_object_get_type(v)), type, key);
	fail(r, 400, MSG_BAD_JSON, detail);
	return -1;
}

/* An absent or empty string field, which coderd's "required" refuses. */
static bool
blank(const char *s)
{
	return !s || !*s;
}

/* The limit and offset of a list request, and the matching items counted so far. */
struct page
{
	long		limit;			/* 0: no limit */
	long		offset;
	long		count;
};

/* Read ?limit= and ?offset=. */
static void
page_read(struct req *r, struct page *p)
{
	char		buf[64];

	p->limit = p->offset = p->count = 0;
	if (qarg(r->wsi, "limit", buf, sizeof(buf)))
		p->limit = atol(buf);
	if (qarg(r->wsi, "offset", buf, sizeof(buf)))
		p->offset = atol(buf);
}

/* Count one matching item; true when it falls on the page asked for. */
static bool
page_take(struct page *p)
{
	long		i = p->count++;

	return i >= p->offset && (p->limit <= 0 || i < p->offset + p->limit);
}

/* The terms of a list request's ?q=: key:value pairs (at most 16). */
struct terms
{
	char		q[512];
	const char *key[16];
	const char *value[16];
	int			n;
};

/* S as Go's %q writes it, into OUT. */
static void
go_quote(const char *s, char *out, size_t n)
{
	size_t		j = 0;

	if (n < 3)
		return;
	out[j++] = '"';
	for (; *s && j + 3 < n; s++)
	{
		if (*s == '"' || *s == '\\')
			out[j++] = '\\';
		out[j++] = *s;
	}
	out[j++] = '"';
	out[j] = '\0';
}

/*
 * Split S in place at the delimiter D outside double quotes, dropping empty
 * fields (Go's strings.FieldsFunc); with TRIM, double quotes at either end
 * of a field go (strings.Trim).  At most MAX fields; returns their count, or
 * MAX + 1 when there are more.
 */
static int
split_quoted(char *s, char d, bool trim, char **out, int max)
{
	int			n = 0;
	bool		quoted = false;
	char	   *start = NULL;

	for (char *p = s;; p++)
	{
		bool		end = *p == '\0';

		if (*p == '"')
			quoted = !quoted;
		if (end || (!quoted && *p == d))
		{
			if (start)
			{
				*p = '\0';
				if (n == max)
					return max + 1;
				if (trim)
				{
					while (*start == '"')
						start++;
					for (char *e = p; e > start && e[-1] == '"';)
						*--e = '\0';
				}
				out[n++] = start;
				start = NULL;
			}
			if (end)
				return n;
		}
		else if (!start)
			start = p;
	}
}

/* A 400 for a malformed ?q=: MSG, and one validation of FIELD with DETAIL; false. */
static bool
fail_query(struct req *r, const char *msg, const char *field, const char *fmt, const char *what)
{
	char		quoted[600],
				detail[700];

	go_quote(what, quoted, sizeof(quoted));
	snprintf(detail, sizeof(detail), fmt, quoted);
	return fail_validation(r, 400, msg, field, detail);
}

/*
 * Read ?q= into TS as coderd/searchquery/search.go (searchTerms) does: lower
 * case, elements split at spaces outside quotes, each "key:value" split at
 * its ':' with quotes trimmed; a bare element gets key BARE.  A malformed
 * element is a 400 with coderd's words and MSG (then false).
 */
static bool
terms_read(struct req *r, struct terms *ts, const char *bare, const char *msg)
{
	char	   *el[17],
			   *kv[3];
	int			n;
	char		orig[512];

	ts->q[0] = '\0';
	ts->n = 0;
	qarg(r->wsi, "q", ts->q, sizeof(ts->q));
	for (char *p = ts->q; *p; p++)
		*p = (char) tolower((unsigned char) *p);
	n = split_quoted(ts->q, ' ', false, el, 16);
	for (int i = 0; i < n && i < 16; i++)
	{
		size_t		len = strlen(el[i]);
		int			k;

		snprintf(orig, sizeof(orig), "%s", el[i]);
		if (el[i][0] == ':' || el[i][len - 1] == ':')
			return fail_query(r, msg, "q", "Query element %s cannot start or end with ':'", orig);
		k = split_quoted(el[i], ':', true, kv, 2);
		if (k > 2)
			return fail_query(r, msg, "q", "Query element %s can only contain 1 ':'", orig);
		ts->key[ts->n] = k == 1 ? bare : kv[0];
		ts->value[ts->n++] = k == 1 ? kv[0] : kv[1];
	}
	return true;
}

/* Every key of TS is one of KEYS (NULL-terminated); else a 400 as coderd's ErrorExcessParams. */
static bool
terms_known(struct req *r, const struct terms *ts, const char *const *keys, const char *msg)
{
	for (int i = 0; i < ts->n; i++)
	{
		bool		known = false;

		for (int k = 0; keys[k] && !known; k++)
			known = strcmp(ts->key[i], keys[k]) == 0;
		if (!known)
			return fail_query(r, msg, ts->key[i], "%s is not a valid query param", ts->key[i]);
	}
	return true;
}

/* ---------------- handlers: general, users ---------------- */

/* GET /buildinfo */
static void
h_buildinfo(struct req *r)
{
	respond(r->c, 200, j_buildinfo());
}

/* Check a login body; sets *user when the password matches. */
static bool
login_valid(struct req *r, struct user **user)
{
	const char *T = "LoginWithPasswordRequest";
	const char *email,
			   *password;

	if (!need_body(r) || body_str(r, T, "email", &email) < 0 ||
		body_str(r, T, "password", &password) < 0)
		return false;
	if (blank(email))
		return fail_tag(r, "email", "required", "");
	if (blank(password))
		return fail_tag(r, "password", "required", "");
	*user = hmap_get(&deployment.users_by_email, email);
	if (!*user || !(*user)->password || strcmp((*user)->password, password) != 0)
		return fail(r, 401, "Incorrect email or password.", NULL);
	return true;
}

/* POST /users/login: a new session token, in the body and as a cookie. */
static void
h_login(struct req *r)
{
	struct user *u = NULL;
	json_object *o;

	if (!login_valid(r, &u))
		return;
	o = json_object_new_object();
	json_object_object_add(o, "session_token", json_object_new_string(session_new(u)));
	snprintf(r->c->cookie, sizeof(r->c->cookie), "coder_session_token=%s; Path=/; HttpOnly",
			 json_object_get_string(json_object_object_get(o, "session_token")));
	u->last_seen = wall_us();
	respond(r->c, 201, o);
}

/* The user a path argument names (id, name or "me"); NULL after a 404. */
static struct user *
user_arg(struct req *r, const char *key)
{
	return found(r, user_lookup(key, r->me));
}

/* GET /users/{user} */
static void
h_user_get(struct req *r)
{
	struct user *u = user_arg(r, r->arg[0]);

	if (u)
		respond(r->c, 200, j_user(u));
}

#define MSG_USER_QUERY "Invalid user search query."

/*
 * Does U match the GET /users terms?  coderd's GetUsers: search is a
 * substring of the username or the e-mail (ILIKE), status one of the user's
 * (every stand-in user is active).
 */
static bool
user_matches(const struct user *u, const struct terms *ts)
{
	for (int i = 0; i < ts->n; i++)
	{
		const char *k = ts->key[i],
				   *v = ts->value[i];
		bool		ok = true;

		if (strcmp(k, "search") == 0)
			ok = contains_ci(u->username, v) || contains_ci(u->email, v);
		else if (strcmp(k, "status") == 0)
			ok = strcmp(v, "active") == 0;
		if (!ok)
			return false;
	}
	return true;
}

/* GET /users: q, limit, offset, and after_id (the list starts after that user). */
static void
h_users_list(struct req *r)
{
	static const char *const keys[] = {"search", "status", NULL};
	struct terms ts;
	struct page pg;
	struct listbuf lb = {0};
	char		after[64];
	bool		started = !qarg(r->wsi, "after_id", after, sizeof(after)) || !after[0];

	if (!terms_read(r, &ts, "search", MSG_USER_QUERY) || !terms_known(r, &ts, keys, MSG_USER_QUERY))
		return;
	page_read(r, &pg);
	for (struct user *u = deployment.users_head; u; u = u->next)
	{
		if (!started)
			started = strcmp(u->id, after) == 0;
		else if (user_matches(u, &ts) && page_take(&pg))
			list_add(&lb, j_user(u));
	}
	list_respond(r->c, "users", pg.count, &lb);
}

/* A username as coderd's validator takes it: 1-32 alphanumerics and single inner dashes. */
static bool
valid_username(const char *s)
{
	size_t		n = strlen(s);

	if (n == 0 || n > 32 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char) s[i]) || (s[i] == '-' && s[i + 1] != '-')))
			return false;
	return true;
}

/* Roughly an e-mail address: something@something.tld, no spaces. */
static bool
valid_email(const char *s)
{
	const char *at = strchr(s, '@');

	return at && at != s && strchr(at + 1, '.') && !strchr(s, ' ') && at[1] != '.';
}

/* The fields of a POST /users body (codersdk.CreateUserRequestWithOrgs). */
struct new_user
{
	const char *email;
	const char *username;
	const char *name;
	const char *password;
	const char *login_type;
};

/* Read a POST /users body into NU. */
static bool
new_user_read(struct req *r, struct new_user *nu)
{
	const char *T = "CreateUserRequestWithOrgs";
	const char *status;

	return need_body(r) && body_str(r, T, "email", &nu->email) >= 0 &&
		body_str(r, T, "username", &nu->username) >= 0 && body_str(r, T, "name", &nu->name) >= 0 &&
		body_str(r, T, "password", &nu->password) >= 0 &&
		body_str(r, T, "login_type", &nu->login_type) >= 0 &&
		body_str(r, T, "user_status", &status) >= 0;
}

/* organization_ids, when given, may only name the one organization. */
static bool
orgs_valid(struct req *r)
{
	json_object *orgs;

	if (!json_object_object_get_ex(r->body, "organization_ids", &orgs) || !orgs)
		return true;
	if (!json_object_is_type(orgs, json_type_array))
		return fail(r, 400, MSG_BAD_JSON, "json: cannot unmarshal into Go struct field CreateUserRequestWithOrgs.organization_ids of type []uuid.UUID");
	for (size_t i = 0; i < json_object_array_length(orgs); i++)
	{
		const char *id = json_object_get_string(json_object_array_get_idx(orgs, i));

		if (!id || strcmp(id, deployment.org_id) != 0)
			return fail(r, 400, "Organization does not exist with the provided id.", id ? id : "");
	}
	return true;
}

/* Check NU in coderd's order: fields, login type, organizations, uniqueness. */
static bool
new_user_valid(struct req *r, const struct new_user *nu)
{
	bool		password_login = blank(nu->login_type) || strcmp(nu->login_type, "password") == 0;

	if (blank(nu->username))
		return fail_tag(r, "username", "required", "");
	if (blank(nu->email))
		return fail_tag(r, "email", "required", "");
	if (!valid_username(nu->username))
		return fail_tag(r, "username", "username", "");
	if (!valid_email(nu->email))
		return fail_tag(r, "email", "email", "");
	if (!password_login && strcmp(nu->login_type, "none") != 0)
		return fail_validation(r, 400, "Validation failed.", "login_type", "The stand-in supports the login types \"password\" and \"none\".");
	if (password_login && blank(nu->password))
		return fail(r, 400, "Password is required for login type \"password\".", NULL);
	if (!orgs_valid(r))
		return false;
	if (hmap_get(&deployment.users_by_name, nu->username) || hmap_get(&deployment.users_by_email, nu->email))
		return fail(r, 409, "User already exists.", NULL);
	if (rng_hit(&deployment.chance, deployment.cfg.fail_create_user))
		return fail(r, 500, "Internal error creating user.", "injected failure (--fail-create-user)");
	return true;
}

/* POST /users (owner only) */
static void
h_user_create(struct req *r)
{
	struct new_user nu;
	struct user *u;

	if (!need_owner(r) || !new_user_read(r, &nu) || !new_user_valid(r, &nu))
		return;
	u = user_add(nu.username, nu.email, nu.name,
				 (nu.login_type && strcmp(nu.login_type, "none") == 0) ? NULL : nu.password, false);
	respond(r->c, 201, j_user(u));
}

/* May the caller delete U?  Not the owner, and not while U has workspaces. */
static bool
user_deletable(struct req *r, const struct user *u)
{
	if (u == r->me || u->is_owner)
		return fail(r, 403, "You cannot delete yourself!", NULL);
	if (u->live_workspaces > 0)
		return fail(r, 417, "You cannot remove a user with workspaces!", "Delete their workspaces first.");
	return true;
}

/* DELETE /users/{user} (owner only) */
static void
h_user_delete(struct req *r)
{
	struct user *u = need_owner(r) ? user_arg(r, r->arg[0]) : NULL;

	if (!u || !user_deletable(r, u))
		return;
	user_delete(u);
	respond(r->c, 200, err_body("User has been deleted!", NULL, NULL));
}

/* ---------------- organizations, templates ---------------- */

/* The one organization, by id, "coder" or "default"; else a 404. */
static bool
org_ok(struct req *r, const char *arg)
{
	if (strcmp(arg, deployment.org_id) == 0 || strcmp(arg, "coder") == 0 || strcmp(arg, "default") == 0)
		return true;
	return not_found(r);
}

/* GET /organizations */
static void
h_orgs(struct req *r)
{
	json_object *a = json_object_new_array();

	json_object_array_add(a, j_org());
	respond(r->c, 200, a);
}

/* GET /organizations/{organization} */
static void
h_org(struct req *r)
{
	if (org_ok(r, r->arg[0]))
		respond(r->c, 200, j_org());
}

/* GET /templates */
static void
h_templates(struct req *r)
{
	json_object *a = json_object_new_array();

	for (struct template *t = deployment.templates; t; t = t->next)
		json_object_array_add(a, j_template(t));
	respond(r->c, 200, a);
}

/* GET /organizations/{organization}/templates */
static void
h_org_templates(struct req *r)
{
	if (org_ok(r, r->arg[0]))
		h_templates(r);
}

/* GET /organizations/{organization}/templates/{templatename} */
static void
h_org_template(struct req *r)
{
	struct template *t;

	if (!org_ok(r, r->arg[0]))
		return;
	t = found(r, hmap_get(&deployment.templates_by_name, r->arg[1]));
	if (t)
		respond(r->c, 200, j_template(t));
}

/* GET /templates/{template} */
static void
h_template(struct req *r)
{
	struct template *t;

	if (!need_uuid(r, r->arg[0]))
		return;
	t = found(r, hmap_get(&deployment.templates_by_id, r->arg[0]));
	if (t)
		respond(r->c, 200, j_template(t));
}

/* The template whose version the path names; NULL after the error. */
static struct template *
version_arg(struct req *r)
{
	if (!need_uuid(r, r->arg[0]))
		return NULL;
	return found(r, hmap_get(&deployment.versions_by_id, r->arg[0]));
}

/* GET /templateversions/{templateversion} */
static void
h_tv(struct req *r)
{
	struct template *t = version_arg(r);

	if (t)
		respond(r->c, 200, j_template_version(t));
}

/* GET /templateversions/{templateversion}/rich-parameters: every template has the same ones. */
static void
h_tv_params(struct req *r)
{
	json_object *a;

	if (!version_arg(r))
		return;
	a = json_object_new_array();
	for (int i = 0; i < n_docker_params; i++)
		json_object_array_add(a, j_param(&docker_params[i]));
	respond(r->c, 200, a);
}

/* GET /templateversions/{templateversion}/external-auth: the stand-in's templates need none. */
static void
h_tv_external_auth(struct req *r)
{
	if (version_arg(r))
		respond(r->c, 200, json_object_new_array());
}

/* What Go's uuid.Parse says of a malformed id S. */
static const char *
uuid_problem(const char *s, char *buf, size_t n)
{
	size_t		len = strlen(s);

	if (len != 36 && len != 32 && len != 38 && len != 45)
		snprintf(buf, n, "invalid UUID length: %zu", len);
	else
		snprintf(buf, n, "invalid UUID format");
	return buf;
}

/*
 * The dry run the path names (version arg[0], job arg[1]), as coderd's
 * fetchTemplateVersionDryRunJob finds it: 400 for a malformed job id, 404
 * for an unknown one, 403 when it plans another version or, for a caller
 * who is not the owner, was started by someone else.  NULL after the error.
 */
static struct build *
dryrun_arg(struct req *r)
{
	struct template *t = version_arg(r);
	struct build *b;
	char		msg[200],
				why[64];

	if (!t)
		return NULL;
	if (!uuid_valid(r->arg[1]))
	{
		char		q[150];

		go_quote(r->arg[1], q, sizeof(q));
		snprintf(msg, sizeof(msg), "Job ID %s must be a valid UUID.", q);
		fail(r, 400, msg, uuid_problem(r->arg[1], why, sizeof(why)));
		return NULL;
	}
	b = hmap_get(&deployment.dryruns_by_id, r->arg[1]);
	if (!b)
	{
		snprintf(msg, sizeof(msg), "Provisioner job \"%s\" not found.", r->arg[1]);
		fail(r, 404, msg, NULL);
		return NULL;
	}
	if (b->tpl != t || (!r->me->is_owner && b->initiator != r->me))
	{
		forbidden(r);
		return NULL;
	}
	return b;
}

/*
 * POST /templateversions/{templateversion}/dry-run
 * (CreateTemplateVersionDryRunRequest -> 201 ProvisionerJob): a plan job,
 * queued like a build (state.c, dryrun_start).
 */
static void
h_dryrun_create(struct req *r)
{
	const char *T = "CreateTemplateVersionDryRunRequest";
	struct template *t = version_arg(r);
	const char *name;
	json_object *params;

	if (!t || !need_body(r) || body_str(r, T, "workspace_name", &name) < 0 ||
		!rich_params_read(r, T, &params))
		return;
	respond(r->c, 201, j_job(dryrun_start(t, r->me)));
}

/* GET /templateversions/{templateversion}/dry-run/{jobID} */
static void
h_dryrun_get(struct req *r)
{
	struct build *b = dryrun_arg(r);

	if (b)
		respond(r->c, 200, j_job(b));
}

/* GET /templateversions/{templateversion}/dry-run/{jobID}/logs */
static void
h_dryrun_logs(struct req *r)
{
	struct build *b = dryrun_arg(r);

	if (b)
		logs_respond(r, b);
}

/* GET .../dry-run/{jobID}/resources: what the plan would make, once it is done (coderd: 400 before). */
static void
h_dryrun_resources(struct req *r)
{
	struct build *b = dryrun_arg(r);

	if (!b)
		return;
	if (!b->completed)
		fail(r, 400, "Job hasn't completed!", NULL);
	else
		respond(r->c, 200, j_resources(b));
}

/* GET .../dry-run/{jobID}/matched-provisioners */
static void
h_dryrun_matched(struct req *r)
{
	if (dryrun_arg(r))
		respond(r->c, 200, j_matched_provisioners());
}

/* PATCH .../dry-run/{jobID}/cancel, in the words of coderd's patchTemplateVersionDryRunCancel */
static void
h_dryrun_cancel(struct req *r)
{
	struct build *b = dryrun_arg(r);

	if (!b)
		return;
	if (b->completed)
		fail(r, 400, "Job has already completed.", NULL);
	else if (b->canceled)
		fail(r, 400, "Job has already been marked as canceled.", NULL);
	else
	{
		build_cancel(b);
		respond(r->c, 200, err_body("Job has been marked as canceled.", NULL, NULL));
	}
}

/* GET /deployment/config (coderd: owners only, else 403) */
static void
h_deployment_config(struct req *r)
{
	if (need_owner(r))
		respond(r->c, 200, j_deployment_config());
}

/* ---------------- workspaces ---------------- */

/* The owner sees every workspace, anyone else their own. */
static bool
can_see(struct req *r, const struct workspace *w)
{
	return r->me->is_owner || w->owner == r->me;
}

/* A workspace name as coderd takes it: like a username, not "new" or "create". */
static bool
valid_ws_name(const char *s)
{
	size_t		n = strlen(s);

	if (n == 0 || n > 32 || !isalnum((unsigned char) s[0]) || s[n - 1] == '-' ||
		strcmp(s, "new") == 0 || strcmp(s, "create") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char) s[i]) || (s[i] == '-' && s[i + 1] != '-')))
			return false;
	return true;
}

/* Check one rich parameter value against the template; NULL when fine, else the problem in BUF. */
static const char *
param_problem(const char *name, const char *value, char *buf, size_t n)
{
	for (int i = 0; i < n_docker_params; i++)
	{
		const struct param *p = &docker_params[i];

		if (strcmp(p->name, name) != 0)
			continue;
		if (strcmp(p->type, "number") == 0)
		{
			char	   *end;
			long		v = strtol(value, &end, 10);

			if (!*value || *end)
				snprintf(buf, n, "parameter value \"%s\" must be a number", value);
			else if (p->has_range && (v < p->vmin || v > p->vmax))
				snprintf(buf, n, "value %ld is not in the range %d to %d", v, p->vmin, p->vmax);
			else
				return NULL;
			return buf;
		}
		if (p->options)
		{
			char		opts[256];
			char	   *save = NULL;

			snprintf(opts, sizeof(opts), "%s", p->options);
			for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save))
				if (strcmp(o, value) == 0)
					return NULL;
			snprintf(buf, n, "parameter value \"%s\" must be one of the options %s", value, p->options);
			return buf;
		}
		return NULL;
	}
	snprintf(buf, n, "parameter \"%s\" is not present in the template", name);
	return buf;
}

/* What a workspace-create body asks for, once checked. */
struct new_workspace
{
	const char *name;
	struct template *tpl;
	json_object *params;		/* rich_parameter_values (in r->body), or NULL */
};

/* The template named by exactly one of template_id and template_version_id. */
static bool
new_workspace_template(struct req *r, const char *tid, const char *tvid, struct template **t)
{
	char		msg[400];

	if (!blank(tid) && !blank(tvid))
		return fail(r, 400, "Validation failed.", "Only one of template_id or template_version_id may be given.");
	if (blank(tid) && blank(tvid))
		return fail_tag(r, "template_id", "required_without", "00000000-0000-0000-0000-000000000000");
	if (!blank(tid))
		*t = hmap_get(&deployment.templates_by_id, tid);
	else
		*t = hmap_get(&deployment.versions_by_id, tvid);
	if (*t)
		return true;
	snprintf(msg, sizeof(msg), "Template with ID %s not found.", !blank(tid) ? tid : tvid);
	return fail_validation(r, 400, msg, !blank(tid) ? "template_id" : "template_version_id", "template not found");
}

/* rich_parameter_values of a body of Go type T, when given: name and value strings the template accepts. */
static bool
rich_params_read(struct req *r, const char *T, json_object **out)
{
	json_object *params;
	char		buf[400];

	*out = NULL;
	if (!json_object_object_get_ex(r->body, "rich_parameter_values", &params) || !params)
		return true;
	if (!json_object_is_type(params, json_type_array))
	{
		char		detail[200];

		snprintf(detail, sizeof(detail), "json: cannot unmarshal into Go struct field %s.rich_parameter_values of type []codersdk.WorkspaceBuildParameter", T);
		return fail(r, 400, MSG_BAD_JSON, detail);
	}
	for (size_t i = 0; i < json_object_array_length(params); i++)
	{
		json_object *p = json_object_array_get_idx(params, i),
				   *pn,
				   *pv;
		const char *problem;

		if (!json_object_is_type(p, json_type_object) ||
			!json_object_object_get_ex(p, "name", &pn) || !json_object_is_type(pn, json_type_string) ||
			!json_object_object_get_ex(p, "value", &pv) || !json_object_is_type(pv, json_type_string))
			return fail(r, 400, MSG_BAD_JSON, "rich_parameter_values: each entry needs string fields \"name\" and \"value\"");
		problem = param_problem(json_object_get_string(pn), json_object_get_string(pv), buf, sizeof(buf));
		if (problem)
			return fail_validation(r, 400, "Unable to validate parameters", json_object_get_string(pn), problem);
	}
	*out = params;
	return true;
}

/* Read and check a workspace-create body for OWNER into NW, in coderd's order. */
static bool
new_workspace_valid(struct req *r, const struct user *owner, struct new_workspace *nw)
{
	const char *T = "CreateWorkspaceRequest";
	const char *tid,
			   *tvid;
	char		key[300],
				msg[400];

	if (!need_body(r) || body_str(r, T, "name", &nw->name) < 0 ||
		body_str(r, T, "template_id", &tid) < 0 || body_str(r, T, "template_version_id", &tvid) < 0 ||
		!new_workspace_template(r, tid, tvid, &nw->tpl))
		return false;
	if (blank(nw->name))
		return fail_tag(r, "name", "required", "");
	if (!valid_ws_name(nw->name))
		return fail_tag(r, "name", "workspace_name", "");
	if (!rich_params_read(r, T, &nw->params))
		return false;
	snprintf(key, sizeof(key), "%s/%s", owner->id, nw->name);
	if (hmap_get(&deployment.workspaces_by_owner_name, key))
	{
		snprintf(msg, sizeof(msg), "Workspace \"%s\" already exists.", nw->name);
		return fail_validation(r, 409, msg, "name", "This value is already in use and should be unique.");
	}
	if (rng_hit(&deployment.chance, deployment.cfg.fail_create_workspace))
		return fail(r, 500, "Internal error creating workspace.", "injected failure (--fail-create-workspace)");
	return true;
}

/* Create a workspace for the user USERARG names: the caller's own, or anyone's for the owner. */
static void
create_workspace(struct req *r, const char *userarg)
{
	struct user *owner = user_arg(r, userarg);
	struct new_workspace nw;
	struct workspace *w;

	if (!owner || (owner != r->me && !need_owner(r)) || !new_workspace_valid(r, owner, &nw))
		return;
	w = workspace_add(owner, nw.tpl, nw.name,
					  nw.params ? json_object_to_json_string_ext(nw.params, JSON_C_TO_STRING_PLAIN) : "[]");
	respond(r->c, 201, j_workspace(w));
}

/* POST /users/{user}/workspaces */
static void
h_ws_create_user(struct req *r)
{
	create_workspace(r, r->arg[0]);
}

/* POST /organizations/{organization}/members/{user}/workspaces */
static void
h_ws_create_org(struct req *r)
{
	if (org_ok(r, r->arg[0]))
		create_workspace(r, r->arg[1]);
}

/* The workspace the path names, if the caller may see it; NULL after the error. */
static struct workspace *
workspace_arg(struct req *r, bool allow_deleted)
{
	struct workspace *w;

	if (!need_uuid(r, r->arg[0]))
		return NULL;
	w = hmap_get(&deployment.workspaces_by_id, r->arg[0]);
	if (w && ((w->deleted && !allow_deleted) || !can_see(r, w)))
		w = NULL;
	return found(r, w);
}

/* GET /workspaces/{workspace}, deleted ones too with ?include_deleted */
static void
h_ws_get(struct req *r)
{
	struct workspace *w = workspace_arg(r, qbool(r->wsi, "include_deleted"));

	if (w)
		respond(r->c, 200, j_workspace(w));
}

/* GET /users/{user}/workspace/{workspacename} */
static void
h_ws_by_name(struct req *r)
{
	struct user *u = user_arg(r, r->arg[0]);
	struct workspace *w;
	char		key[300];

	if (!u)
		return;
	snprintf(key, sizeof(key), "%s/%s", u->id, r->arg[1]);
	w = hmap_get(&deployment.workspaces_by_owner_name, key);
	if (w && !can_see(r, w))
		w = NULL;
	if (found(r, w))
		respond(r->c, 200, j_workspace(w));
}

#define MSG_WS_QUERY "Invalid workspace search query."

/*
 * Does W match the GET /workspaces terms?  As coderd's GetWorkspaces: name
 * is a substring (ILIKE '%name%'), owner a username ("me": the caller) and
 * template a template name, both whole and without case, status the latest
 * build's workspace status.
 */
static bool
workspace_matches(struct req *r, const struct workspace *w, const struct terms *ts)
{
	if (!can_see(r, w))
		return false;
	for (int i = 0; i < ts->n; i++)
	{
		const char *k = ts->key[i],
				   *v = ts->value[i];
		bool		ok = true;

		if (strcmp(k, "name") == 0)
			ok = contains_ci(w->name, v);
		else if (strcmp(k, "owner") == 0)
			ok = strcmp(v, "me") == 0 ? w->owner == r->me : strcasecmp(w->owner->username, v) == 0;
		else if (strcmp(k, "template") == 0)
			ok = strcasecmp(w->tpl->name, v) == 0;
		else if (strcmp(k, "status") == 0)
			ok = strcmp(build_status_name(w->latest), v) == 0;
		if (!ok)
			return false;
	}
	return true;
}

/*
 * A bare word of a workspace query is a name, or OWNER/NAME (coderd's
 * searchquery.Workspaces): split it into TS's terms.  False after a 400.
 */
static bool
workspace_bare_terms(struct req *r, struct terms *ts)
{
	int			n = ts->n;

	for (int i = 0; i < n; i++)
	{
		char	   *slash;

		if (strcmp(ts->key[i], "") != 0)
			continue;
		ts->key[i] = "name";
		slash = strchr(ts->value[i], '/');
		if (!slash)
			continue;
		if (strchr(slash + 1, '/'))
			return fail_query(r, MSG_WS_QUERY, "q", "Query element %s can only contain 1 '/'", ts->value[i]);
		if (ts->n == 16)
			continue;
		*slash = '\0';
		ts->key[ts->n] = "owner";
		ts->value[ts->n++] = ts->value[i];
		ts->value[i] = slash + 1;
	}
	return true;
}

/* GET /workspaces: q, limit, offset */
static void
h_ws_list(struct req *r)
{
	static const char *const keys[] = {"name", "owner", "template", "status", NULL};
	struct terms ts;
	struct page pg;
	struct listbuf lb = {0};

	if (!terms_read(r, &ts, "", MSG_WS_QUERY) || !workspace_bare_terms(r, &ts) ||
		!terms_known(r, &ts, keys, MSG_WS_QUERY))
		return;
	page_read(r, &pg);
	for (struct workspace *w = deployment.ws_head; w; w = w->next)
		if (workspace_matches(r, w, &ts) && page_take(&pg))
			list_add(&lb, j_workspace(w));
	list_respond(r->c, "workspaces", pg.count, &lb);
}

/* The transition a build body asks for: start, stop or delete. */
static bool
transition_read(struct req *r, enum transition *t)
{
	const char *tr;

	if (!need_body(r) || body_str(r, "CreateWorkspaceBuildRequest", "transition", &tr) < 0)
		return false;
	if (blank(tr))
		return fail_tag(r, "transition", "required", "");
	if (strcmp(tr, "start") == 0)
		*t = TR_START;
	else if (strcmp(tr, "stop") == 0)
		*t = TR_STOP;
	else if (strcmp(tr, "delete") == 0)
		*t = TR_DELETE;
	else
		return fail_tag(r, "transition", "oneof", "start stop delete");
	return true;
}

/* POST /workspaces/{workspace}/builds: queue a build, unless one is active. */
static void
h_ws_build(struct req *r)
{
	struct workspace *w = workspace_arg(r, false);
	enum transition t = TR_START;

	if (!w || !transition_read(r, &t))
		return;
	if (job_active(w->latest->status))
		fail(r, 409, "A workspace build is already active.", NULL);
	else
		respond(r->c, 201, j_build(build_start(w, t, r->me)));
}

/* ---------------- the stand-in's own: test holds ---------------- */

/* {"builds", "agents", "held_builds", "held_agents"} */
static json_object *
j_hold(void)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "builds", json_object_new_boolean(deployment.hold_builds));
	json_object_object_add(o, "agents", json_object_new_boolean(deployment.hold_agents));
	json_object_object_add(o, "held_builds", json_object_new_int(deployment.n_held_builds));
	json_object_object_add(o, "held_agents", json_object_new_int(deployment.n_held_agents));
	return o;
}

/* GET /standin/hold */
static void
h_hold_get(struct req *r)
{
	respond(r->c, 200, j_hold());
}

/* {"builds": BOOL, "agents": BOOL} into HOLD; an absent field keeps its value. */
static bool
hold_read(struct req *r, bool hold[2])
{
	static const char *keys[2] = {"builds", "agents"};
	json_object *x;

	if (!need_body(r))
		return false;
	for (int i = 0; i < 2; i++)
	{
		if (!json_object_object_get_ex(r->body, keys[i], &x))
			continue;
		if (!json_object_is_type(x, json_type_boolean))
			return fail_validation(r, 400, "Validation failed.", keys[i], "must be true or false");
		hold[i] = json_object_get_boolean(x);
	}
	return true;
}

/* PUT /standin/hold (owner only) */
static void
h_hold_put(struct req *r)
{
	bool		hold[2] = {deployment.hold_builds, deployment.hold_agents};

	if (!need_owner(r) || !hold_read(r, hold))
		return;
	hold_set(hold[0], hold[1]);
	respond(r->c, 200, j_hold());
}

/* ---------------- builds ---------------- */

/* The build the path names, if the caller may see it; NULL after the error. */
static struct build *
build_arg(struct req *r)
{
	struct build *b;

	if (!need_uuid(r, r->arg[0]))
		return NULL;
	b = hmap_get(&deployment.builds_by_id, r->arg[0]);
	if (b && !can_see(r, b->ws))
		b = NULL;
	return found(r, b);
}

/* GET /workspacebuilds/{workspacebuild} */
static void
h_build_get(struct req *r)
{
	struct build *b = build_arg(r);

	if (b)
		respond(r->c, 200, j_build(b));
}

/* May B be canceled, in the state ?expect_status names if given? */
static bool
cancel_valid(struct req *r, const struct build *b)
{
	char		expect[32],
				msg[160];

	if (qarg(r->wsi, "expect_status", expect, sizeof(expect)) && expect[0])
	{
		if (strcmp(expect, "running") != 0 && strcmp(expect, "pending") != 0)
			return fail(r, 400, "Invalid expect_status. Only 'running' or 'pending' are allowed.", NULL);
		if (strcmp(expect, job_status_name(b->status)) != 0)
		{
			snprintf(msg, sizeof(msg), "Job is not in the expected state. Expected: %s, Got: %s",
					 expect, job_status_name(b->status));
			return fail(r, 412, msg, NULL);
		}
	}
	if (b->status == JOB_CANCELING)
		return fail(r, 400, "Job has already been marked as canceled!", NULL);
	return true;
}

/* PATCH /workspacebuilds/{workspacebuild}/cancel */
static void
h_build_cancel(struct req *r)
{
	struct build *b = build_arg(r);

	if (!b || !cancel_valid(r, b))
		return;
	if (build_cancel(b) != 0)
		fail(r, 400, "Job has already completed!", NULL);
	else
		respond(r->c, 200, err_body("Job has been marked as canceled...", NULL, NULL));
}

/*
 * ?after, a log id: 0 when absent; false after coderd's 400 when it is not
 * an integer (coderd/provisionerjobs.go, provisionerJobLogs).
 */
static bool
after_arg(struct lws *wsi, int64_t *after, json_object **err)
{
	char		buf[64],
			   *end;

	*after = 0;
	*err = NULL;
	if (!qarg(wsi, "after", buf, sizeof(buf)) || !buf[0])
		return true;
	*after = strtoll(buf, &end, 10);
	if (!*end)
		return true;
	*err = json_object_new_array();
	json_object_array_add(*err, json_object_new_object());
	json_object_object_add(json_object_array_get_idx(*err, 0), "detail", json_object_new_string("Must be an integer"));
	json_object_object_add(json_object_array_get_idx(*err, 0), "field", json_object_new_string("after"));
	*err = err_body("Query param \"after\" must be an integer.", NULL, *err);
	return false;
}

/* B's log lines after id AFTER as a JSON array, appended to SB. */
static void
logs_text(strbuf *sb, const struct build *b, int64_t after)
{
	bool		first = true;

	sb_add(sb, "[", 1);
	for (int i = 0; i < b->nlogs; i++)
	{
		if (b->logs[i].id <= after)
			continue;
		if (!first)
			sb_add(sb, ",", 1);
		log_text(sb, &b->logs[i]);
		first = false;
	}
	sb_add(sb, "]", 1);
}

/*
 * GET .../logs of a build or a dry run without an upgrade: the lines after
 * ?after as []ProvisionerJobLog (coderd reads no ?before: fetchAndWriteLogs
 * takes after only).  ?follow asks for a websocket, which a plain GET cannot
 * be: 400, as coderd's websocket.Accept fails.
 */
static void
logs_respond(struct req *r, const struct build *b)
{
	int64_t		after;
	json_object *err;
	strbuf		sb = {0};
	char		buf[8];

	if (!after_arg(r->wsi, &after, &err))
	{
		respond(r->c, 400, err);
		return;
	}
	if (qarg(r->wsi, "follow", buf, sizeof(buf)))
	{
		fail(r, 400, "Failed to accept websocket.", "websocket protocol violation: Connection header \"\" does not contain Upgrade");
		return;
	}
	logs_text(&sb, b, after);
	respond_raw(r->c, 200, "application/json", sb.p, sb.len);
	free(sb.p);
}

/* GET /workspacebuilds/{workspacebuild}/logs */
static void
h_build_logs(struct req *r)
{
	struct build *b = build_arg(r);

	if (b)
		logs_respond(r, b);
}

/* The agent the path names, if the caller may see it; NULL after the error. */
static struct agent *
agent_arg(struct req *r)
{
	struct agent *a;

	if (!need_uuid(r, r->arg[0]))
		return NULL;
	a = hmap_get(&deployment.agents_by_id, r->arg[0]);
	if (a && !can_see(r, a->build->ws))
		a = NULL;
	return found(r, a);
}

/* GET /workspaceagents/{workspaceagent} */
static void
h_agent_get(struct req *r)
{
	struct agent *a = agent_arg(r);

	if (a)
		respond(r->c, 200, j_agent(a));
}

/* GET /workspaceagents/{workspaceagent}/pty without an upgrade: a 400. */
static void
h_pty_plain(struct req *r)
{
	if (agent_arg(r))
		fail(r, 400, "Failed to accept websocket.", "The PTY endpoint needs a websocket upgrade.");
}

/* ---------------- dispatch ---------------- */

/* Answer with the Prometheus text of metrics.c. */
static void
metrics_respond(struct conn *c)
{
	size_t		len;
	char	   *s = metrics_render(&len);

	respond_raw(c, 200, "text/plain; version=0.0.4; charset=utf-8", s, len);
	free(s);
}

/*
 * /metrics: the metrics port serves it and nothing else, the API port serves
 * it (GET) besides the API.  True when this answered the request.
 */
static bool
serve_metrics(struct conn *c)
{
	bool		is_metrics = strcmp(c->path, "/metrics") == 0;

	if (lws_get_vhost(c->wsi) == metrics_vhost)
	{
		c->route = is_metrics ? ROUTE_METRICS : ROUTE_NONE;
		if (is_metrics)
			metrics_respond(c);
		else
			respond(c, 404, err_body("Route not found.", "This port serves /metrics only.", NULL));
		return true;
	}
	if (!is_metrics || c->method != M_GET)
		return false;
	c->route = ROUTE_METRICS;
	metrics_respond(c);
	return true;
}

/* The session token must name a live user: sets r->me, else a 401. */
static bool
authenticate(struct req *r)
{
	const char *problem = session_user(r->wsi, &r->me);

	if (problem)
		return fail(r, 401, MSG_SIGNED_OUT, problem);
	return true;
}

/*
 * --fail-http: answer this request with the injected status instead.  True
 * when it did.  The template's plan before a test (templateversions) is
 * spared: the failures are for the calls of the runs.
 */
static bool
inject_http_failure(struct req *r, int route)
{
	if (strncmp(routes[route].pat, "/templateversions/", 18) == 0)
		return false;
	if (!rng_hit(&deployment.chance, deployment.cfg.fail_http))
		return false;
	if (deployment.cfg.fail_http_status == 429)
		fail(r, 429, "You've been rate limited for sending more than 512 requests in 1m0s.", "injected failure (--fail-http)");
	else
		fail(r, deployment.cfg.fail_http_status, "An internal server error occurred.", "injected failure (--fail-http)");
	return true;
}

/* Is PATH under coderd's /api/v2 router, and not one of the stand-in's own test routes? */
static bool
limited_path(const char *path)
{
	if (strncmp(path, "/api/v2", 7) != 0 || (path[7] != '/' && path[7] != '\0'))
		return false;
	return strncmp(path, "/api/v2/standin/", 16) != 0 && strcmp(path, "/api/v2/standin") != 0;
}

/*
 * Count a request to PATH (LOGIN: it is POST /users/login) against coderd's
 * limiters (ratelimit.c) into OUT: the API limiter for every /api/v2 path,
 * whatever the answer will be, then the login limiter.  The caller is the
 * user of a valid session token, if any: coderd's PrecheckAPIKey middleware
 * (coderd.go) puts it in the request before the limiter, and a bad token is
 * keyed by IP here and answered 401 later.  The bypass header is read only
 * with a valid token, as coderd's key function does.
 */
static void
rate_check(struct lws *wsi, const char *path, bool login, struct rl_result *out)
{
	struct user *u = NULL;
	char		buf[64],
				ip[64] = "";
	bool		bypass = false;

	memset(out, 0, sizeof(*out));
	if (lws_get_vhost(wsi) != main_vhost || !limited_path(path))
		return;
	if (session_user(wsi, &u) != NULL)
		u = NULL;
	if (u && lws_hdr_custom_copy(wsi, buf, sizeof(buf), "x-coder-bypass-ratelimit:", 25) > 0)
		bypass = go_parse_bool_true(buf);
	if (!u)
		lws_get_peer_simple(wsi, ip, sizeof(ip));
	ratelimit_check(RL_API, u, bypass, ip, path, out);
	if (login && out->outcome == RL_PASS)
	{
		struct rl_result l;

		/* the inner limiter's headers are the ones that stay (w.Header().Set) */
		ratelimit_check(RL_LOGIN, u, bypass, ip, path, &l);
		if (l.outcome != RL_PASS || l.limit > 0)
			*out = l;
	}
}

/*
 * The answer to a request a limiter refused, into BODY: 428 in plain text
 * for the bypass header from a non-owner (httprate answers a key function's
 * error with Go's http.Error), else 429 with coderd's message (ratelimit.go's
 * limit handler; "1m0s" is Go's %v of the one-minute window).
 */
static int
rate_refusal(const struct rl_result *rl, char *body, size_t n, const char **ctype)
{
	if (rl->outcome == RL_NOT_OWNER)
	{
		*ctype = "text/plain; charset=utf-8";
		snprintf(body, n, "\"X-Coder-Bypass-Ratelimit\" provided but user is not owner\n");
		return 428;
	}
	*ctype = "application/json";
	snprintf(body, n, "{\"message\":\"You've been rate limited for sending more than %d requests in 1m0s.\"}",
			 rl->limit);
	return 429;
}

/* Answer C's request if a limiter refused it (c->rl); true when it did. */
static bool
rate_refused(struct conn *c)
{
	char		body[200];
	const char *ctype;
	int			status;

	if (c->rl.outcome == RL_PASS)
		return false;
	status = rate_refusal(&c->rl, body, sizeof(body), &ctype);
	respond_raw(c, status, ctype, body, strlen(body));
	return true;
}

/* Parse the body, if there is one, into r->body. */
static bool
parse_body(struct req *r)
{
	struct conn *c = r->c;
	enum json_tokener_error jerr;

	if (!c->blen)
		return true;
	c->body[c->blen] = '\0';
	r->body = json_tokener_parse_verbose(c->body, &jerr);
	if (!r->body && jerr != json_tokener_success)
		return fail(r, 400, MSG_BAD_JSON, json_tokener_error_desc(jerr));
	return true;
}

/* ROUTE's answer: 404 or 405 for none, else its handler once an injected failure, the session and the body let it. */
static void
dispatch_route(struct req *r, int route)
{
	if (route == NO_SUCH_PATH)
		respond(r->c, 404, err_body("Route not found.", NULL, NULL));
	else if (route == NO_SUCH_METHOD)
		respond(r->c, 405, err_body("Method not allowed.", NULL, NULL));
	else if (!inject_http_failure(r, route) && (!routes[route].auth || authenticate(r)) && parse_body(r))
		routes[route].fn(r);
}

/*
 * Answer one whole request: /metrics, else the route's handler once the
 * rate limits, the route, an injected failure, the session and the body have
 * let it through.
 */
static void
handle(struct conn *c)
{
	struct req	r = {.c = c, .wsi = c->wsi};
	int			route;

	if (serve_metrics(c))
		return;
	route = match_route(&r, c->path, c->method);
	c->route = route >= 0 ? route : ROUTE_NONE;
	rate_check(c->wsi, c->path, route >= 0 && routes[route].fn == h_login, &c->rl);
	if (!rate_refused(c))
		dispatch_route(&r, route);
	if (r.body)
		json_object_put(r.body);
}

/* ---------------- websockets ---------------- */

/* Queue a message on C's websocket (a copy of DATA); sent when writable. */
void
ws_send(struct conn *c, const void *data, size_t len, bool binary)
{
	struct outbuf *o = xmalloc(sizeof(*o) + LWS_PRE + len);

	o->next = NULL;
	o->len = len;
	o->binary = binary;
	memcpy(o->data + LWS_PRE, data, len);
	if (c->oq_tail)
		c->oq_tail->next = o;
	else
		c->oq_head = o;
	c->oq_tail = o;
	c->oq_bytes += len;
	lws_callback_on_writable(c->wsi);
}

/* Close C's websocket with CODE and REASON once its queue is sent. */
void
ws_close_after(struct conn *c, int code, const char *reason)
{
	c->closing = true;
	c->close_code = code;
	snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason);
	lws_callback_on_writable(c->wsi);
}

/* Put C on build B's list of ?follow websockets. */
static void
follow_link(struct conn *c, struct build *b)
{
	c->follow = b;
	c->fprev = NULL;
	c->fnext = b->followers;
	if (b->followers)
		b->followers->fprev = c;
	b->followers = c;
}

/* Take C off its build's list of ?follow websockets. */
static void
follow_unlink(struct conn *c)
{
	struct build *b = c->follow;

	if (c->fprev)
		c->fprev->fnext = c->fnext;
	else if (b->followers == c)
		b->followers = c->fnext;
	if (c->fnext)
		c->fnext->fprev = c->fprev;
	c->fnext = c->fprev = NULL;
	c->follow = NULL;
}

/*
 * Send the log lines C has not had yet, each as one text message: the JSON
 * of a ProvisionerJobLog and a newline, as coderd's wsjson.Encoder writes it
 * (json.Encoder.Encode).  Once the job is over, close with 1000 "done", as
 * coderd's logFollower does (coderd/provisionerjobs.go, follow: it returns on
 * the end-of-logs notice, or at once for a job already complete, and its
 * deferred Close says StatusNormalClosure, "done").
 */
static void
follow_push(struct conn *c)
{
	struct build *b = c->follow;
	strbuf		sb = {0};

	for (int i = 0; i < b->nlogs; i++)
	{
		if (b->logs[i].id <= c->last_log)
			continue;
		sb.len = 0;
		log_text(&sb, &b->logs[i]);
		sb_add(&sb, "\n", 1);
		ws_send(c, sb.p, sb.len, false);
		c->last_log = b->logs[i].id;
	}
	free(sb.p);
	if (!job_active(b->status))
	{
		follow_unlink(c);
		ws_close_after(c, LWS_CLOSE_STATUS_NORMAL, "done");
	}
}

/* state.c's on_build_change: push the news to B's followers. */
void
http_build_changed(struct build *b)
{
	struct conn *c = b->followers;

	while (c)
	{
		struct conn *next = c->fnext;

		follow_push(c);
		c = next;
	}
}

/* Answer an upgrade request with STATUS and BODY instead of switching protocols. */
static int
reject_raw(struct lws *wsi, int status, const char *ctype, const char *body, size_t len,
		   const struct rl_result *rl)
{
	unsigned char hdr[LWS_PRE + 1024],
			   *start = hdr + LWS_PRE,
			   *p = start,
			   *end = hdr + sizeof(hdr) - 1;
	unsigned char *buf;
	int			n;

	if (lws_add_http_common_headers(wsi, (unsigned) status, ctype, len, &p, end) ||
		add_rate_headers(wsi, rl, &p, end) ||
		lws_finalize_http_header(wsi, &p, end))
		return -1;
	buf = xmalloc(LWS_PRE + (size_t) (p - start) + len);
	memcpy(buf + LWS_PRE, start, (size_t) (p - start));
	memcpy(buf + LWS_PRE + (p - start), body, len);
	n = lws_write(wsi, buf + LWS_PRE, (size_t) (p - start) + len, LWS_WRITE_HTTP_HEADERS);
	free(buf);
	return n < 0 ? -1 : 1;
}

/* Reject an upgrade with a JSON body (which this puts), as coderd does before accepting. */
static int
reject_upgrade(struct lws *wsi, int status, json_object *o)
{
	size_t		len;
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	int			rc = reject_raw(wsi, status, "application/json", s, len, NULL);

	json_object_put(o);
	return rc;
}

/*
 * Look at a websocket request: route, session and the object's UUID, then
 * what the route opens (see ws_opener).  Returns 0 to accept or go on, else
 * reject_upgrade's result.
 */
static int
ws_request(struct lws *wsi, struct conn *c, bool establish)
{
	struct req	r = {.wsi = wsi};
	char		path[512];
	const char *problem;
	int			route;

	if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) <= 0)
		return reject_upgrade(wsi, 400, err_body("Bad websocket request.", NULL, NULL));
	route = match_route(&r, path, M_GET);
	if (route < 0 || !routes[route].ws)
		return reject_upgrade(wsi, 404, err_body("Route not found.", NULL, NULL));
	problem = session_user(wsi, &r.me);
	if (problem)
		return reject_upgrade(wsi, 401, err_body(MSG_SIGNED_OUT, problem, NULL));
	if (!uuid_valid(r.arg[0]))
		return reject_upgrade(wsi, 400, err_body("Invalid UUID.", r.arg[0], NULL));
	return routes[route].ws(&r, c, route, establish);
}

/*
 * A logs websocket of job B: the lines after ?after, then each new one, then
 * 1000 "done" (follow_push).  Without ?follow coderd does not upgrade: it
 * answers 200 with the JSON array, and so does this; a bad ?after is its 400.
 */
static int
logs_ws_open(struct req *r, struct conn *c, int route, bool establish, struct build *b)
{
	int64_t		after;
	json_object *err;
	char		buf[8];

	if (!after_arg(r->wsi, &after, &err))
		return reject_upgrade(r->wsi, 400, err);
	if (!qarg(r->wsi, "follow", buf, sizeof(buf)))
	{
		strbuf		sb = {0};
		int			rc;

		logs_text(&sb, b, after);
		rc = reject_raw(r->wsi, 200, "application/json", sb.p, sb.len, NULL);
		free(sb.p);
		return rc;
	}
	if (!establish)
		return 0;
	c->kind = C_WS_LOGS;
	c->ws_route = route;
	c->last_log = after;
	follow_link(c, b);
	follow_push(c);
	return 0;
}

/* GET /workspacebuilds/{workspacebuild}/logs?follow as a websocket */
static int
ws_logs_open(struct req *r, struct conn *c, int route, bool establish)
{
	struct build *b = hmap_get(&deployment.builds_by_id, r->arg[0]);

	if (!b || !can_see(r, b->ws))
		return reject_upgrade(r->wsi, 404, err_body(MSG_NOT_FOUND, NULL, NULL));
	return logs_ws_open(r, c, route, establish, b);
}

/* GET .../dry-run/{jobID}/logs?follow as a websocket; refusals as dryrun_arg words them */
static int
ws_dryrun_logs_open(struct req *r, struct conn *c, int route, bool establish)
{
	struct template *t = hmap_get(&deployment.versions_by_id, r->arg[0]);
	struct build *b = uuid_valid(r->arg[1]) ? hmap_get(&deployment.dryruns_by_id, r->arg[1]) : NULL;
	char		msg[200];

	if (!t)
		return reject_upgrade(r->wsi, 404, err_body(MSG_NOT_FOUND, NULL, NULL));
	if (!uuid_valid(r->arg[1]))
		return reject_upgrade(r->wsi, 400, err_body("Job ID must be a valid UUID.", r->arg[1], NULL));
	if (!b)
	{
		snprintf(msg, sizeof(msg), "Provisioner job \"%s\" not found.", r->arg[1]);
		return reject_upgrade(r->wsi, 404, err_body(msg, NULL, NULL));
	}
	if (b->tpl != t || (!r->me->is_owner && b->initiator != r->me))
		return reject_upgrade(r->wsi, 403, err_body("Forbidden.", NULL, NULL));
	return logs_ws_open(r, c, route, establish, b);
}

/* Run ?command on a new terminal of ?width x ?height (80 x 24 unless given). */
static void
terminal_start(struct lws *wsi, struct conn *c)
{
	char		cmd[4096] = "",
				buf[32];
	int			width = 80,
				height = 24;

	qarg(wsi, "command", cmd, sizeof(cmd));
	if (qarg(wsi, "width", buf, sizeof(buf)) && atoi(buf) > 0)
		width = atoi(buf);
	if (qarg(wsi, "height", buf, sizeof(buf)) && atoi(buf) > 0)
		height = atoi(buf);
	if (pty_open(c, cmd, width, height) != 0)
		ws_close_after(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "start pty: cannot start the command");
}

/* The web terminal of a connected agent (pty.c); --fail-pty closes it at once. */
static int
ws_pty_open(struct req *r, struct conn *c, int route, bool establish)
{
	struct agent *a = hmap_get(&deployment.agents_by_id, r->arg[0]);
	char		msg[200];

	if (!a || !can_see(r, a->build->ws))
		return reject_upgrade(r->wsi, 404, err_body(MSG_NOT_FOUND, NULL, NULL));
	if (a->status != AG_CONNECTED)
	{
		snprintf(msg, sizeof(msg), "Agent state is \"%s\", it must be in the \"connected\" state.",
				 agent_status_name(a->status));
		return reject_upgrade(r->wsi, 400, err_body(msg, NULL, NULL));
	}
	if (!establish)
		return 0;
	c->kind = C_WS_PTY;
	c->ws_route = route;
	if (a->pty_fail)
		ws_close_after(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
					   "dial workspace agent: injected failure (--fail-pty)");
	else
		terminal_start(r->wsi, c);
	return 0;
}

/*
 * The websocket can take data: send queued messages while the socket takes
 * them (a build's burst of log lines costs one wake-up of the loop, not one
 * each), then close when asked to and all is sent.
 */
static int
ws_writeable(struct lws *wsi, struct conn *c)
{
	while (c->oq_head)
	{
		struct outbuf *o = c->oq_head;
		int			n = lws_write(wsi, o->data + LWS_PRE, o->len, o->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);

		c->oq_head = o->next;
		if (!c->oq_head)
			c->oq_tail = NULL;
		c->oq_bytes -= o->len;
		free(o);
		if (n < 0)
			return -1;
		if (c->pty)
			pty_ws_drained(c);
		if (lws_send_pipe_choked(wsi))
		{
			if (c->oq_head || c->closing)
				lws_callback_on_writable(wsi);
			return 0;
		}
	}
	if (c->closing)
	{
		lws_close_reason(wsi, (enum lws_close_status) c->close_code,
						 (unsigned char *) c->close_reason, strlen(c->close_reason));
		return -1;
	}
	return 0;
}

/* The websocket closed: unfollow, end its terminal, free its queue, count it. */
static void
ws_closed(struct conn *c)
{
	if (c->follow)
		follow_unlink(c);
	if (c->pty)
		pty_ws_closed(c);
	while (c->oq_head)
	{
		struct outbuf *o = c->oq_head;

		c->oq_head = o->next;
		free(o);
	}
	c->oq_tail = NULL;
	free(c->body);
	c->body = NULL;
	metrics_websocket(-1);
	if (c->ws_t0 && c->ws_route != ROUTE_NONE)
		metrics_websocket_closed(c->ws_route, (mono_us() - c->ws_t0) / 1e6);
	c->ws_t0 = 0;
}

/* Append LEN bytes to C's body buffer, keeping room for a terminating NUL. */
static void
body_append(struct conn *c, const void *in, size_t len)
{
	if (c->blen + len + 1 > c->bcap)
	{
		c->bcap = (c->blen + len + 1) * 2;
		c->body = xrealloc(c->body, c->bcap);
	}
	memcpy(c->body + c->blen, in, len);
	c->blen += len;
}

/* A piece of a terminal's client message: a whole message goes to the terminal. */
static void
ws_receive(struct lws *wsi, struct conn *c, const char *in, size_t len)
{
	if (c->kind != C_WS_PTY)
		return;
	if (c->blen + len > 64 * 1024)
	{
		ws_close_after(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
		return;
	}
	body_append(c, in, len);
	if (!lws_is_final_fragment(wsi))
		return;
	if (c->pty)
		pty_input(c, c->body, c->blen);
	c->blen = 0;
}

/*
 * An upgrade request counts against the rate limits like any request (coderd
 * limits its websocket routes too): 0 when it passes, else the refusal sent.
 * The 101 of an upgrade that passes carries no X-RateLimit-* headers.
 */
static int
ws_rate_check(struct lws *wsi)
{
	char		path[512],
				body[200];
	const char *ctype;
	struct rl_result rl;
	int			status;

	if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) <= 0)
		return 0;
	rate_check(wsi, path, false, &rl);
	if (rl.outcome == RL_PASS)
		return 0;
	status = rate_refusal(&rl, body, sizeof(body), &ctype);
	return reject_raw(wsi, status, ctype, body, strlen(body), &rl);
}

/* An upgrade request: to a websocket only, and only one that the limits and ws_request accept. */
static int
ws_confirm(struct lws *wsi, struct conn *c, const char *protocol)
{
	int			rc;

	if (!protocol || strcmp(protocol, "websocket") != 0)
		return -1;
	rc = ws_rate_check(wsi);
	if (rc == 0)
		rc = ws_request(wsi, c, false);
	if (c && c->in_flight)
	{
		metrics_inflight(-1);
		c->in_flight = false;
	}
	return rc;
}

/* A websocket is open: count it and wire it to what it serves. */
static int
ws_established(struct lws *wsi, struct conn *c)
{
	memset(c, 0, sizeof(*c));
	c->wsi = wsi;
	c->ws_t0 = mono_us();
	c->ws_route = ROUTE_NONE;
	metrics_websocket(1);
	return ws_request(wsi, c, true) < 0 ? -1 : 0;
}

/* ---------------- HTTP plumbing ---------------- */

/* After the response is written: metrics, and ready for the next request. */
static int
http_done(struct lws *wsi, struct conn *c)
{
	if (!c->responded)			/* a handler without an answer is a bug: say so */
		respond(c, 500, err_body("Internal error: the stand-in produced no response.", c->path, NULL));
	metrics_request(c->route, c->method, c->status, (mono_us() - c->t0) / 1e6);
	if (c->in_flight)
	{
		metrics_inflight(-1);
		c->in_flight = false;
	}
	free(c->body);
	c->body = NULL;
	c->blen = c->bcap = 0;
	c->cookie[0] = '\0';
	c->responded = false;
	if (c->write_failed || lws_http_transaction_completed(wsi))
		return -1;
	/*
	 * Idle keep-alive connections need no timer: lws keeps its timers in one
	 * sorted list, so thousands of idle timers make every insert a long walk.
	 */
	lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
	return 0;
}

/* Answer 413 and finish: the caller hangs up, for the body is still coming. */
static int
refuse_large_body(struct lws *wsi, struct conn *c)
{
	c->body_wait = false;
	respond(c, 413, err_body("Request body too large.", "The stand-in accepts at most 1 MiB.", NULL));
	http_done(wsi, c);
	return -1;
}

/* The headers of a request are in: answer now, or wait for its body. */
static int
http_begin(struct lws *wsi, struct conn *c, const char *in)
{
	char		cl[32];

	memset(c, 0, sizeof(*c));
	c->kind = C_HTTP;
	c->wsi = wsi;
	c->t0 = mono_us();
	c->method = detect_method(wsi);
	c->route = ROUTE_NONE;
	snprintf(c->path, sizeof(c->path), "%s", in ? in : "/");
	c->in_flight = true;
	metrics_inflight(1);
	if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 && atol(cl) > 0)
	{
		if (atol(cl) > MAX_BODY)
			return refuse_large_body(wsi, c);
		c->body_wait = true;
		return 0;
	}
	handle(c);
	return http_done(wsi, c);
}

/* A piece of a request's body. */
static int
http_body(struct lws *wsi, struct conn *c, const void *in, size_t len)
{
	if (!c->body_wait)
	{
		/*
		 * A POST, PUT or PATCH without Content-Length has no body (RFC 9112
		 * 6.3; Go's server reads it so) and was answered, but lws waits for
		 * a body after it: these bytes are the client's next request.  Hang
		 * up so that the client sends it again at once on a new connection
		 * (curl does, for a reused connection that dies without an answer)
		 * instead of waiting for lws to time out, 5 s later.
		 */
		return -1;
	}
	if (c->blen + len > MAX_BODY)
		return refuse_large_body(wsi, c);
	body_append(c, in, len);
	return 0;
}

/* The whole body is in: answer. */
static int
http_body_done(struct lws *wsi, struct conn *c)
{
	if (!c->body_wait)
		return 0;
	c->body_wait = false;
	handle(c);
	return http_done(wsi, c);
}

/* An HTTP connection closed: release what an unanswered request held. */
static void
http_closed(struct conn *c)
{
	if (!c || c->kind != C_HTTP)
		return;
	if (c->in_flight)
		metrics_inflight(-1);
	c->in_flight = false;
	free(c->body);
	c->body = NULL;
}

/*
 * The one libwebsockets callback of the "http" protocol: HTTP requests,
 * websockets, and the terminals' raw file descriptors (pty.c).  Every event
 * may have made a timer due sooner, so the loop's wake-up is re-armed.
 */
int
http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			  void *in, size_t len)
{
	struct conn *c = user;
	int			rc = 0;

	switch (reason)
	{
		case LWS_CALLBACK_HTTP:
			rc = http_begin(wsi, c, in);
			break;
		case LWS_CALLBACK_HTTP_BODY:
			rc = http_body(wsi, c, in, len);
			break;
		case LWS_CALLBACK_HTTP_BODY_COMPLETION:
			rc = http_body_done(wsi, c);
			break;
		case LWS_CALLBACK_CLOSED_HTTP:
			http_closed(c);
			break;
		case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
			rc = ws_confirm(wsi, c, in);
			break;
		case LWS_CALLBACK_ESTABLISHED:
			rc = ws_established(wsi, c);
			break;
		case LWS_CALLBACK_RECEIVE:
			ws_receive(wsi, c, in, len);
			break;
		case LWS_CALLBACK_SERVER_WRITEABLE:
			rc = ws_writeable(wsi, c);
			break;
		case LWS_CALLBACK_CLOSED:
			ws_closed(c);
			break;
		case LWS_CALLBACK_RAW_ADOPT_FILE:
		case LWS_CALLBACK_RAW_RX_FILE:
		case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		case LWS_CALLBACK_RAW_CLOSE_FILE:
			rc = pty_fd_callback(wsi, reason);
			break;
		default:
			break;
	}
	timers_kick();
	return rc;
}
