/*
 * http.c: the REST API of the stand-in (paths, methods, status codes and
 * bodies as coderd's swagger.json has them), the two websockets it serves
 * (build logs with ?follow, and the reconnecting PTY), and the plumbing that
 * writes responses without blocking.
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

struct req
{
	struct conn *c;
	struct lws *wsi;
	struct user *me;
	char		segs[512];
	const char *arg[3];
	json_object *body;
};

typedef void (*handler) (struct req *r);

struct route
{
	enum method m;
	const char *pat;			/* below /api/v2 */
	const char *label;			/* coderd's route pattern, for metrics */
	handler		fn;
	int			auth;
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

static const struct route routes[] = {
	{M_GET, "/buildinfo", "/api/v2/buildinfo", h_buildinfo, 0},
	{M_POST, "/users/login", "/api/v2/users/login", h_login, 0},
	{M_GET, "/users", "/api/v2/users/", h_users_list, 1},
	{M_POST, "/users", "/api/v2/users/", h_user_create, 1},
	{M_GET, "/users/{user}", "/api/v2/users/{user}/", h_user_get, 1},
	{M_DELETE, "/users/{user}", "/api/v2/users/{user}/", h_user_delete, 1},
	{M_POST, "/users/{user}/workspaces", "/api/v2/users/{user}/workspaces", h_ws_create_user, 1},
	{M_GET, "/users/{user}/workspace/{workspacename}", "/api/v2/users/{user}/workspace/{workspacename}/", h_ws_by_name, 1},
	{M_GET, "/organizations", "/api/v2/organizations/", h_orgs, 1},
	{M_GET, "/organizations/{organization}", "/api/v2/organizations/{organization}/", h_org, 1},
	{M_GET, "/organizations/{organization}/templates", "/api/v2/organizations/{organization}/templates/", h_org_templates, 1},
	{M_GET, "/organizations/{organization}/templates/{templatename}", "/api/v2/organizations/{organization}/templates/{templatename}", h_org_template, 1},
	{M_POST, "/organizations/{organization}/members/{user}/workspaces", "/api/v2/organizations/{organization}/members/{user}/workspaces", h_ws_create_org, 1},
	{M_GET, "/templates", "/api/v2/templates/", h_templates, 1},
	{M_GET, "/templates/{template}", "/api/v2/templates/{template}/", h_template, 1},
	{M_GET, "/templateversions/{templateversion}", "/api/v2/templateversions/{templateversion}/", h_tv, 1},
	{M_GET, "/templateversions/{templateversion}/rich-parameters", "/api/v2/templateversions/{templateversion}/rich-parameters", h_tv_params, 1},
	{M_GET, "/workspaces", "/api/v2/workspaces/", h_ws_list, 1},
	{M_GET, "/workspaces/{workspace}", "/api/v2/workspaces/{workspace}/", h_ws_get, 1},
	{M_POST, "/workspaces/{workspace}/builds", "/api/v2/workspaces/{workspace}/builds", h_ws_build, 1},
	{M_GET, "/workspacebuilds/{workspacebuild}", "/api/v2/workspacebuilds/{workspacebuild}/", h_build_get, 1},
	{M_PATCH, "/workspacebuilds/{workspacebuild}/cancel", "/api/v2/workspacebuilds/{workspacebuild}/cancel", h_build_cancel, 1},
	{M_GET, "/workspacebuilds/{workspacebuild}/logs", "/api/v2/workspacebuilds/{workspacebuild}/logs", h_build_logs, 1},
	{M_GET, "/workspaceagents/{workspaceagent}", "/api/v2/workspaceagents/{workspaceagent}/", h_agent_get, 1},
	{M_GET, "/workspaceagents/{workspaceagent}/pty", "/api/v2/workspaceagents/{workspaceagent}/pty", h_pty_plain, 1},
	/* the stand-in's own, for tests (not Coder's API) */
	{M_GET, "/standin/hold", "/api/v2/standin/hold", h_hold_get, 1},
	{M_PUT, "/standin/hold", "/api/v2/standin/hold", h_hold_put, 1},
};
#define NROUTES ((int) (sizeof(routes) / sizeof(routes[0])))
#define ROUTE_LOGS 22
#define ROUTE_PTY 24
#define ROUTE_METRICS NROUTES
#define ROUTE_NONE (NROUTES + 1)

const char *
route_label(int route)
{
	if (route >= 0 && route < NROUTES)
		return routes[route].label;
	if (route == ROUTE_METRICS)
		return "/metrics";
	return "";
}

const char *
method_name(enum method m)
{
	static const char *n[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "OTHER"};

	return n[m];
}

/* ---------------- request helpers ---------------- */

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
 * Match path against the table.  Fills r->arg; returns the route index, or
 * -1 for an unknown path, or -2 when the path exists with another method.
 */
static int
match_route(struct req *r, const char *path, enum method m)
{
	char	   *seg[8];
	int			n = 0;
	int			path_seen = 0;
	size_t		len;

	if (strncmp(path, "/api/v2/", 8) != 0)
		return -1;
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
	for (int i = 0; i < NROUTES; i++)
	{
		const char *pat = routes[i].pat + 1;
		int			k = 0,
					na = 0,
					ok = 1;

		while (*pat && ok)
		{
			const char *end = strchr(pat, '/');
			size_t		plen = end ? (size_t) (end - pat) : strlen(pat);

			if (k >= n)
				ok = 0;
			else if (pat[0] == '{')
			{
				if (na < 3)
					r->arg[na++] = seg[k];
			}
			else if (strlen(seg[k]) != plen || strncmp(seg[k], pat, plen) != 0)
				ok = 0;
			k++;
			pat += plen + (end ? 1 : 0);
		}
		if (!ok || k != n)
			continue;
		if (routes[i].m == m)
			return i;
		path_seen = 1;
	}
	return path_seen ? -2 : -1;
}

/* Query argument: 1 and its value in out when present ("follow" alone gives ""). */
static int
qarg(struct lws *wsi, const char *name, char *out, int len)
{
	size_t		nl = strlen(name);
	char		frag[4096];

	for (int i = 0;; i++)
	{
		int			n = lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i);

		if (n < 0)
			return 0;
		if (strncmp(frag, name, nl) == 0 && (frag[nl] == '=' || frag[nl] == '\0'))
		{
			snprintf(out, (size_t) len, "%s", frag[nl] == '=' ? frag + nl + 1 : "");
			return 1;
		}
	}
}

static int
qbool(struct lws *wsi, const char *name)
{
	char		buf[64];

	if (!qarg(wsi, name, buf, sizeof(buf)))
		return 0;
	return buf[0] == '\0' || strcasecmp(buf, "true") == 0 || strcmp(buf, "1") == 0;
}

/* The session token: header, then cookie, then query parameter. */
static int
cookie_token(struct lws *wsi, char *out, int len)
{
	char		buf[4096];
	const char *name = "coder_session_token=";
	char	   *p = buf;

	if (lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_COOKIE) <= 0)
		return 0;
	while ((p = strstr(p, name)) != NULL)
	{
		if (p == buf || p[-1] == ' ' || p[-1] == ';')
		{
			size_t		n = strcspn(p + 20, "; ");

			if (n == 0 || n >= (size_t) len)
				return 0;
			memcpy(out, p + 20, n);
			out[n] = '\0';
			return 1;
		}
		p += 20;
	}
	return 0;
}

static int
find_token(struct lws *wsi, char *out, int len)
{
	if (lws_hdr_custom_copy(wsi, out, len, "coder-session-token:", 20) > 0)
		return 1;
	if (cookie_token(wsi, out, len))
		return 1;
	if (qarg(wsi, "coder_session_token", out, len) && out[0])
		return 1;
	return 0;
}

/* ---------------- responses ---------------- */

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
	c->responded = 1;
	c->status = status;
	if (lws_add_http_common_headers(wsi, (unsigned) status, ctype, len, &p, end) ||
		(c->cookie[0] &&
		 lws_add_http_header_by_name(wsi, (const unsigned char *) "set-cookie:",
									 (const unsigned char *) c->cookie, (int) strlen(c->cookie), &p, end)) ||
		lws_finalize_http_header(wsi, &p, end) ||
		lws_write(wsi, start, (size_t) (p - start), LWS_WRITE_HTTP_HEADERS) < 0)
	{
		c->write_failed = 1;
		return;
	}
	if (len)
	{
		unsigned char *buf = xmalloc(LWS_PRE + len);

		memcpy(buf + LWS_PRE, body, len);
		if (lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) < 0)
			c->write_failed = 1;
		free(buf);
	}
}

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

static void
fail(struct req *r, int status, const char *msg, const char *detail)
{
	respond(r->c, status, err_body(msg, detail, NULL));
}

static void
not_found(struct req *r)
{
	fail(r, 404, "Resource not found or you do not have access to this resource", NULL);
}

static void
forbidden(struct req *r)
{
	fail(r, 403, "Forbidden.", "You don't have permission to view this content. If you believe this is a mistake, please contact your administrator or try signing in with different credentials.");
}

static json_object *
validation(const char *field, const char *detail)
{
	json_object *a = json_object_new_array();
	json_object *v = json_object_new_object();

	json_object_object_add(v, "detail", json_object_new_string(detail));
	json_object_object_add(v, "field", json_object_new_string(field));
	json_object_array_add(a, v);
	return a;
}

static void
fail_validation(struct req *r, int status, const char *msg, const char *field, const char *detail)
{
	respond(r->c, status, err_body(msg, NULL, validation(field, detail)));
}

/* A path parameter that swagger types as a UUID: 400 when malformed. */
static int
need_uuid(struct req *r, const char *s)
{
	char		msg[600];

	if (uuid_valid(s))
		return 1;
	snprintf(msg, sizeof(msg), "Invalid UUID \"%.500s\".", s);
	fail(r, 400, msg, "invalid UUID format");
	return 0;
}

/*
 * Body fields.  body_str: 0 = absent or null (out NULL), 1 = a string,
 * -1 = wrong type (a 400 was sent, as coderd's JSON decoder would).
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
	fail(r, 400, "Request body must be valid JSON.", detail);
	return -1;
}

static int
need_body(struct req *r)
{
	if (r->body && json_object_is_type(r->body, json_type_object))
		return 1;
	fail(r, 400, "Request body must be valid JSON.",
		 r->c->blen ? "the body is not a JSON object" : "EOF");
	return 0;
}

/* ---------------- handlers: general, users ---------------- */

static void
h_buildinfo(struct req *r)
{
	respond(r->c, 200, j_buildinfo());
}

static void
h_login(struct req *r)
{
	const char *email,
			   *password;
	struct user *u;
	json_object *o;

	if (!need_body(r) || body_str(r, "LoginWithPasswordRequest", "email", &email) < 0 ||
		body_str(r, "LoginWithPasswordRequest", "password", &password) < 0)
		return;
	if (!email || !*email)
		return fail_validation(r, 400, "Validation failed.", "email", "Validation failed for tag \"required\" with value: \"\"");
	if (!password || !*password)
		return fail_validation(r, 400, "Validation failed.", "password", "Validation failed for tag \"required\" with value: \"\"");
	u = hmap_get(&deployment.users_by_email, email);
	if (!u || !u->password || strcmp(u->password, password) != 0)
		return fail(r, 401, "Incorrect email or password.", NULL);
	o = json_object_new_object();
	json_object_object_add(o, "session_token", json_object_new_string(session_new(u)));
	snprintf(r->c->cookie, sizeof(r->c->cookie), "coder_session_token=%s; Path=/; HttpOnly",
			 json_object_get_string(json_object_object_get(o, "session_token")));
	u->last_seen = wall_us();
	respond(r->c, 201, o);
}

static void
h_user_get(struct req *r)
{
	struct user *u = user_lookup(r->arg[0], r->me);

	if (!u)
		return not_found(r);
	respond(r->c, 200, j_user(u));
}

/* GET /users: q (bare words match username or email; status:, username:, email:), limit, offset. */
static void
h_users_list(struct req *r)
{
	char		q[512] = "",
				buf[64];
	char	   *terms[16];
	int			nt = 0;
	long		limit = 0,
				offset = 0,
				count = 0;
	struct listbuf lb = {0};
	int			started = 1;

	qarg(r->wsi, "q", q, sizeof(q));
	if (qarg(r->wsi, "limit", buf, sizeof(buf)))
		limit = atol(buf);
	if (qarg(r->wsi, "offset", buf, sizeof(buf)))
		offset = atol(buf);
	if (qarg(r->wsi, "after_id", buf, sizeof(buf)) && buf[0])
		started = 0;
	for (char *save = NULL, *t = strtok_r(q, " ", &save); t && nt < 16; t = strtok_r(NULL, " ", &save))
		terms[nt++] = t;
	for (struct user *u = deployment.users_head; u; u = u->next)
	{
		int			ok = 1;

		if (!started)
		{
			started = strcmp(u->id, buf) == 0;
			continue;
		}
		for (int i = 0; i < nt && ok; i++)
		{
			char	   *t = terms[i];

			if (strncmp(t, "status:", 7) == 0)
				ok = strcmp(t + 7, "active") == 0;
			else if (strncmp(t, "username:", 9) == 0)
				ok = contains_ci(u->username, t + 9);
			else if (strncmp(t, "email:", 6) == 0)
				ok = contains_ci(u->email, t + 6);
			else if (!strchr(t, ':'))
				ok = contains_ci(u->username, t) || contains_ci(u->email, t);
		}
		if (!ok)
			continue;
		if (count >= offset && (limit <= 0 || count < offset + limit))
			list_add(&lb, j_user(u));
		count++;
	}
	list_respond(r->c, "users", count, &lb);
}

static int
valid_username(const char *s)
{
	size_t		n = strlen(s);

	if (n == 0 || n > 32 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char) s[i]) || (s[i] == '-' && s[i + 1] != '-')))
			return 0;
	return 1;
}

static int
valid_email(const char *s)
{
	const char *at = strchr(s, '@');

	return at && at != s && strchr(at + 1, '.') && !strchr(s, ' ') && at[1] != '.';
}

static void
h_user_create(struct req *r)
{
	const char *email,
			   *username,
			   *name,
			   *password,
			   *login_type,
			   *status;
	const char *T = "CreateUserRequestWithOrgs";
	json_object *orgs;
	struct user *u;

	if (!r->me->is_owner)
		return forbidden(r);
	if (!need_body(r) || body_str(r, T, "email", &email) < 0 ||
		body_str(r, T, "username", &username) < 0 || body_str(r, T, "name", &name) < 0 ||
		body_str(r, T, "password", &password) < 0 || body_str(r, T, "login_type", &login_type) < 0 ||
		body_str(r, T, "user_status", &status) < 0)
		return;
	if (!username || !*username)
		return fail_validation(r, 400, "Validation failed.", "username", "Validation failed for tag \"required\" with value: \"\"");
	if (!email || !*email)
		return fail_validation(r, 400, "Validation failed.", "email", "Validation failed for tag \"required\" with value: \"\"");
	if (!valid_username(username))
		return fail_validation(r, 400, "Validation failed.", "username", "Validation failed for tag \"username\" with value: \"\"");
	if (!valid_email(email))
		return fail_validation(r, 400, "Validation failed.", "email", "Validation failed for tag \"email\" with value: \"\"");
	if (login_type && *login_type && strcmp(login_type, "password") != 0 && strcmp(login_type, "none") != 0)
		return fail_validation(r, 400, "Validation failed.", "login_type", "The stand-in supports the login types \"password\" and \"none\".");
	if ((!login_type || !*login_type || strcmp(login_type, "password") == 0) && (!password || !*password))
		return fail(r, 400, "Password is required for login type \"password\".", NULL);
	if (json_object_object_get_ex(r->body, "organization_ids", &orgs) && orgs)
	{
		if (!json_object_is_type(orgs, json_type_array))
			return fail(r, 400, "Request body must be valid JSON.", "json: cannot unmarshal into Go struct field CreateUserRequestWithOrgs.organization_ids of type []uuid.UUID");
		for (size_t i = 0; i < json_object_array_length(orgs); i++)
		{
			const char *id = json_object_get_string(json_object_array_get_idx(orgs, i));

			if (!id || strcmp(id, deployment.org_id) != 0)
				return fail(r, 400, "Organization does not exist with the provided id.", id ? id : "");
		}
	}
	if (hmap_get(&deployment.users_by_name, username) || hmap_get(&deployment.users_by_email, email))
		return fail(r, 409, "User already exists.", NULL);
	if (rng_hit(&deployment.chance, deployment.cfg.fail_create_user))
		return fail(r, 500, "Internal error creating user.", "injected failure (--fail-create-user)");
	u = user_add(username, email, name, (login_type && strcmp(login_type, "none") == 0) ? NULL : password, 0);
	respond(r->c, 201, j_user(u));
}

static void
h_user_delete(struct req *r)
{
	struct user *u;

	if (!r->me->is_owner)
		return forbidden(r);
	u = user_lookup(r->arg[0], r->me);
	if (!u)
		return not_found(r);
	if (u == r->me || u->is_owner)
		return fail(r, 403, "You cannot delete yourself!", NULL);
	if (u->live_workspaces > 0)
		return fail(r, 417, "You cannot remove a user with workspaces!", "Delete their workspaces first.");
	user_delete(u);
	respond(r->c, 200, err_body("User has been deleted!", NULL, NULL));
}

/* ---------------- organizations, templates ---------------- */

static int
org_ok(struct req *r, const char *arg)
{
	if (strcmp(arg, deployment.org_id) == 0 || strcmp(arg, "coder") == 0 || strcmp(arg, "default") == 0)
		return 1;
	not_found(r);
	return 0;
}

static void
h_orgs(struct req *r)
{
	json_object *a = json_object_new_array();

	json_object_array_add(a, j_org());
	respond(r->c, 200, a);
}

static void
h_org(struct req *r)
{
	if (org_ok(r, r->arg[0]))
		respond(r->c, 200, j_org());
}

static void
h_templates(struct req *r)
{
	json_object *a = json_object_new_array();

	for (struct template *t = deployment.templates; t; t = t->next)
		json_object_array_add(a, j_template(t));
	respond(r->c, 200, a);
}

static void
h_org_templates(struct req *r)
{
	if (org_ok(r, r->arg[0]))
		h_templates(r);
}

static void
h_org_template(struct req *r)
{
	struct template *t;

	if (!org_ok(r, r->arg[0]))
		return;
	t = hmap_get(&deployment.templates_by_name, r->arg[1]);
	if (!t)
		return not_found(r);
	respond(r->c, 200, j_template(t));
}

static void
h_template(struct req *r)
{
	struct template *t;

	if (!need_uuid(r, r->arg[0]))
		return;
	t = hmap_get(&deployment.templates_by_id, r->arg[0]);
	if (!t)
		return not_found(r);
	respond(r->c, 200, j_template(t));
}

static struct template *
version_arg(struct req *r)
{
	struct template *t;

	if (!need_uuid(r, r->arg[0]))
		return NULL;
	t = hmap_get(&deployment.versions_by_id, r->arg[0]);
	if (!t)
		not_found(r);
	return t;
}

static void
h_tv(struct req *r)
{
	struct template *t = version_arg(r);

	if (t)
		respond(r->c, 200, j_template_version(t));
}

static void
h_tv_params(struct req *r)
{
	struct template *t = version_arg(r);
	json_object *a;

	if (!t)
		return;
	a = json_object_new_array();
	for (int i = 0; i < n_docker_params; i++)
		json_object_array_add(a, j_param(&docker_params[i]));
	respond(r->c, 200, a);
}

/* ---------------- workspaces ---------------- */

static int
can_see(struct req *r, const struct workspace *w)
{
	return r->me->is_owner || w->owner == r->me;
}

static int
valid_ws_name(const char *s)
{
	size_t		n = strlen(s);

	if (n == 0 || n > 32 || !isalnum((unsigned char) s[0]) || s[n - 1] == '-' ||
		strcmp(s, "new") == 0 || strcmp(s, "create") == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char) s[i]) || (s[i] == '-' && s[i + 1] != '-')))
			return 0;
	return 1;
}

/* Check one rich parameter value against the template; NULL when fine. */
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

static void
create_workspace(struct req *r, const char *userarg)
{
	const char *T = "CreateWorkspaceRequest";
	const char *name,
			   *tid,
			   *tvid;
	struct user *owner = user_lookup(userarg, r->me);
	struct template *t = NULL;
	json_object *params = NULL;
	char		key[300],
				buf[400];
	struct workspace *w;

	if (!owner)
		return not_found(r);
	if (!r->me->is_owner && owner != r->me)
		return forbidden(r);
	if (!need_body(r) || body_str(r, T, "name", &name) < 0 ||
		body_str(r, T, "template_id", &tid) < 0 || body_str(r, T, "template_version_id", &tvid) < 0)
		return;
	if (tid && *tid && tvid && *tvid)
		return fail(r, 400, "Validation failed.", "Only one of template_id or template_version_id may be given.");
	if ((!tid || !*tid) && (!tvid || !*tvid))
		return fail_validation(r, 400, "Validation failed.", "template_id", "Validation failed for tag \"required_without\" with value: \"00000000-0000-0000-0000-000000000000\"");
	if (tid && *tid)
		t = hmap_get(&deployment.templates_by_id, tid);
	else
		t = hmap_get(&deployment.versions_by_id, tvid);
	if (!t)
	{
		snprintf(buf, sizeof(buf), "Template with ID %s not found.", tid && *tid ? tid : tvid);
		return fail_validation(r, 400, buf, tid && *tid ? "template_id" : "template_version_id", "template not found");
	}
	if (!name || !*name)
		return fail_validation(r, 400, "Validation failed.", "name", "Validation failed for tag \"required\" with value: \"\"");
	if (!valid_ws_name(name))
		return fail_validation(r, 400, "Validation failed.", "name", "Validation failed for tag \"workspace_name\" with value: \"\"");
	if (json_object_object_get_ex(r->body, "rich_parameter_values", &params) && params)
	{
		if (!json_object_is_type(params, json_type_array))
			return fail(r, 400, "Request body must be valid JSON.", "json: cannot unmarshal into Go struct field CreateWorkspaceRequest.rich_parameter_values of type []codersdk.WorkspaceBuildParameter");
		for (size_t i = 0; i < json_object_array_length(params); i++)
		{
			json_object *p = json_object_array_get_idx(params, i),
					   *pn,
					   *pv;
			const char *problem;

			if (!json_object_is_type(p, json_type_object) ||
				!json_object_object_get_ex(p, "name", &pn) || !json_object_is_type(pn, json_type_string) ||
				!json_object_object_get_ex(p, "value", &pv) || !json_object_is_type(pv, json_type_string))
				return fail(r, 400, "Request body must be valid JSON.", "rich_parameter_values: each entry needs string fields \"name\" and \"value\"");
			problem = param_problem(json_object_get_string(pn), json_object_get_string(pv), buf, sizeof(buf));
			if (problem)
				return fail_validation(r, 400, "Unable to validate parameters", json_object_get_string(pn), problem);
		}
	}
	snprintf(key, sizeof(key), "%s/%s", owner->id, name);
	if (hmap_get(&deployment.workspaces_by_owner_name, key))
	{
		snprintf(buf, sizeof(buf), "Workspace \"%s\" already exists.", name);
		return fail_validation(r, 409, buf, "name", "This value is already in use and should be unique.");
	}
	if (rng_hit(&deployment.chance, deployment.cfg.fail_create_workspace))
		return fail(r, 500, "Internal error creating workspace.", "injected failure (--fail-create-workspace)");
	w = workspace_add(owner, t, name, params ? json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN) : "[]");
	respond(r->c, 201, j_workspace(w));
}

static void
h_ws_create_user(struct req *r)
{
	create_workspace(r, r->arg[0]);
}

static void
h_ws_create_org(struct req *r)
{
	if (org_ok(r, r->arg[0]))
		create_workspace(r, r->arg[1]);
}

static struct workspace *
workspace_arg(struct req *r, int allow_deleted)
{
	struct workspace *w;

	if (!need_uuid(r, r->arg[0]))
		return NULL;
	w = hmap_get(&deployment.workspaces_by_id, r->arg[0]);
	if (!w || (w->deleted && !allow_deleted) || !can_see(r, w))
	{
		not_found(r);
		return NULL;
	}
	return w;
}

static void
h_ws_get(struct req *r)
{
	struct workspace *w = workspace_arg(r, qbool(r->wsi, "include_deleted"));

	if (w)
		respond(r->c, 200, j_workspace(w));
}

static void
h_ws_by_name(struct req *r)
{
	struct user *u = user_lookup(r->arg[0], r->me);
	struct workspace *w;
	char		key[300];

	if (!u)
		return not_found(r);
	snprintf(key, sizeof(key), "%s/%s", u->id, r->arg[1]);
	w = hmap_get(&deployment.workspaces_by_owner_name, key);
	if (!w || !can_see(r, w))
		return not_found(r);
	respond(r->c, 200, j_workspace(w));
}

/* GET /workspaces: q terms name:, owner:, template:, status:; a bare word is a name. */
static void
h_ws_list(struct req *r)
{
	char		q[512] = "",
				buf[64];
	char	   *terms[16];
	int			nt = 0;
	long		limit = 0,
				offset = 0,
				count = 0;
	struct listbuf lb = {0};

	qarg(r->wsi, "q", q, sizeof(q));
	if (qarg(r->wsi, "limit", buf, sizeof(buf)))
		limit = atol(buf);
	if (qarg(r->wsi, "offset", buf, sizeof(buf)))
		offset = atol(buf);
	for (char *save = NULL, *t = strtok_r(q, " ", &save); t && nt < 16; t = strtok_r(NULL, " ", &save))
		terms[nt++] = t;
	for (struct workspace *w = deployment.ws_head; w; w = w->next)
	{
		int			ok = can_see(r, w);

		for (int i = 0; i < nt && ok; i++)
		{
			char	   *t = terms[i];

			if (strncmp(t, "name:", 5) == 0)
				ok = contains_ci(w->name, t + 5);
			else if (strncmp(t, "owner:", 6) == 0)
				ok = strcmp(t + 6, "me") == 0 ? w->owner == r->me : strcasecmp(w->owner->username, t + 6) == 0;
			else if (strncmp(t, "template:", 9) == 0)
				ok = strcasecmp(w->tpl->name, t + 9) == 0;
			else if (strncmp(t, "status:", 7) == 0)
				ok = strcmp(build_status_name(w->latest), t + 7) == 0;
			else if (!strchr(t, ':'))
				ok = contains_ci(w->name, t);
		}
		if (!ok)
			continue;
		if (count >= offset && (limit <= 0 || count < offset + limit))
			list_add(&lb, j_workspace(w));
		count++;
	}
	list_respond(r->c, "workspaces", count, &lb);
}

static void
h_ws_build(struct req *r)
{
	struct workspace *w = workspace_arg(r, 0);
	const char *tr;
	enum transition t;

	if (!w || !need_body(r) || body_str(r, "CreateWorkspaceBuildRequest", "transition", &tr) < 0)
		return;
	if (!tr || !*tr)
		return fail_validation(r, 400, "Validation failed.", "transition", "Validation failed for tag \"required\" with value: \"\"");
	if (strcmp(tr, "start") == 0)
		t = TR_START;
	else if (strcmp(tr, "stop") == 0)
		t = TR_STOP;
	else if (strcmp(tr, "delete") == 0)
		t = TR_DELETE;
	else
		return fail_validation(r, 400, "Validation failed.", "transition", "Validation failed for tag \"oneof\" with value: \"start stop delete\"");
	if (job_active(w->latest->status))
		return fail(r, 409, "A workspace build is already active.", NULL);
	respond(r->c, 201, j_build(build_start(w, t, r->me)));
}

/* ---------------- the stand-in's own: test holds ---------------- */

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

static void
h_hold_get(struct req *r)
{
	respond(r->c, 200, j_hold());
}

/* {"builds": BOOL, "agents": BOOL}: an absent field keeps its value. */
static void
h_hold_put(struct req *r)
{
	int			v[2] = {deployment.hold_builds, deployment.hold_agents};
	const char *keys[2] = {"builds", "agents"};
	json_object *x;

	if (!r->me->is_owner)
		return forbidden(r);
	if (!need_body(r))
		return;
	for (int i = 0; i < 2; i++)
	{
		if (!json_object_object_get_ex(r->body, keys[i], &x))
			continue;
		if (!json_object_is_type(x, json_type_boolean))
			return fail_validation(r, 400, "Validation failed.", keys[i], "must be true or false");
		v[i] = json_object_get_boolean(x);
	}
	hold_set(v[0], v[1]);
	respond(r->c, 200, j_hold());
}

/* ---------------- builds ---------------- */

static struct build *
build_arg(struct req *r)
{
	struct build *b;

	if (!need_uuid(r, r->arg[0]))
		return NULL;
	b = hmap_get(&deployment.builds_by_id, r->arg[0]);
	if (!b || !can_see(r, b->ws))
	{
		not_found(r);
		return NULL;
	}
	return b;
}

static void
h_build_get(struct req *r)
{
	struct build *b = build_arg(r);

	if (b)
		respond(r->c, 200, j_build(b));
}

static void
h_build_cancel(struct req *r)
{
	struct build *b = build_arg(r);
	char		expect[32];

	if (!b)
		return;
	if (qarg(r->wsi, "expect_status", expect, sizeof(expect)) && expect[0])
	{
		if (strcmp(expect, "running") != 0 && strcmp(expect, "pending") != 0)
			return fail(r, 400, "Invalid expect_status. Only 'running' or 'pending' are allowed.", NULL);
		if (strcmp(expect, job_status_name(b->status)) != 0)
		{
			char		msg[160];

			snprintf(msg, sizeof(msg), "Job is not in the expected state. Expected: %s, Got: %s",
					 expect, job_status_name(b->status));
			return fail(r, 412, msg, NULL);
		}
	}
	if (b->status == JOB_CANCELING)
		return fail(r, 400, "Job has already been marked as canceled!", NULL);
	if (build_cancel(b) != 0)
		return fail(r, 400, "Job has already completed!", NULL);
	respond(r->c, 200, err_body("Job has been marked as canceled...", NULL, NULL));
}

static void
h_build_logs(struct req *r)
{
	struct build *b = build_arg(r);
	char		buf[32];
	long		after = 0,
				before = 0;
	json_object *a;

	if (!b)
		return;
	if (qarg(r->wsi, "after", buf, sizeof(buf)))
		after = atol(buf);
	if (qarg(r->wsi, "before", buf, sizeof(buf)))
		before = atol(buf);
	a = json_object_new_array();
	for (int i = 0; i < b->nlogs; i++)
		if (b->logs[i].id > after && (before <= 0 || b->logs[i].id < before))
			json_object_array_add(a, j_log(&b->logs[i]));
	respond(r->c, 200, a);
}

static struct agent *
agent_arg(struct req *r)
{
	struct agent *a;

	if (!need_uuid(r, r->arg[0]))
		return NULL;
	a = hmap_get(&deployment.agents_by_id, r->arg[0]);
	if (!a || !can_see(r, a->build->ws))
	{
		not_found(r);
		return NULL;
	}
	return a;
}

static void
h_agent_get(struct req *r)
{
	struct agent *a = agent_arg(r);

	if (a)
		respond(r->c, 200, j_agent(a));
}

static void
h_pty_plain(struct req *r)
{
	if (agent_arg(r))
		fail(r, 400, "Failed to accept websocket.", "The PTY endpoint needs a websocket upgrade.");
}

/* ---------------- dispatch ---------------- */

static void
metrics_respond(struct conn *c)
{
	size_t		len;
	char	   *s = metrics_render(&len);

	respond_raw(c, 200, "text/plain; version=0.0.4; charset=utf-8", s, len);
	free(s);
}

static int
authenticate(struct req *r)
{
	char		tok[128];

	if (!find_token(r->wsi, tok, sizeof(tok)))
	{
		fail(r, 401, "You are signed out or your session has expired. Please sign in again to continue.",
			 "Cookie \"coder_session_token\" or header \"Coder-Session-Token\" must be provided.");
		return 0;
	}
	r->me = hmap_get(&deployment.tokens, tok);
	if (!r->me || r->me->deleted)
	{
		fail(r, 401, "You are signed out or your session has expired. Please sign in again to continue.",
			 "API key is invalid.");
		return 0;
	}
	return 1;
}

static int
inject_http_failure(struct req *r)
{
	if (!rng_hit(&deployment.chance, deployment.cfg.fail_http))
		return 0;
	if (deployment.cfg.fail_http_status == 429)
		fail(r, 429, "You've been rate limited for sending more than 512 requests in 1m0s.", "injected failure (--fail-http)");
	else
		fail(r, deployment.cfg.fail_http_status, "An internal server error occurred.", "injected failure (--fail-http)");
	return 1;
}

static void
handle(struct conn *c)
{
	struct req	r = {.c = c, .wsi = c->wsi};
	int			route;

	if (lws_get_vhost(c->wsi) == metrics_vhost)
	{
		c->route = strcmp(c->path, "/metrics") == 0 ? ROUTE_METRICS : ROUTE_NONE;
		if (c->route == ROUTE_METRICS)
			metrics_respond(c);
		else
			respond(c, 404, err_body("Route not found.", "This port serves /metrics only.", NULL));
		return;
	}
	if (strcmp(c->path, "/metrics") == 0 && c->method == M_GET)
	{
		c->route = ROUTE_METRICS;
		return metrics_respond(c);
	}
	route = match_route(&r, c->path, c->method);
	c->route = route >= 0 ? route : ROUTE_NONE;
	if (route == -1)
		return respond(c, 404, err_body("Route not found.", NULL, NULL));
	if (route == -2)
		return respond(c, 405, err_body("Method not allowed.", NULL, NULL));
	if (inject_http_failure(&r))
		return;
	if (routes[route].auth && !authenticate(&r))
		return;
	if (c->blen)
	{
		enum json_tokener_error jerr;

		c->body[c->blen] = '\0';
		r.body = json_tokener_parse_verbose(c->body, &jerr);
		if (!r.body && jerr != json_tokener_success)
			return respond(c, 400, err_body("Request body must be valid JSON.", json_tokener_error_desc(jerr), NULL));
	}
	routes[route].fn(&r);
	if (r.body)
		json_object_put(r.body);
}

/* ---------------- websockets ---------------- */

void
ws_send(struct conn *c, const void *data, size_t len, int binary)
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

void
ws_close_after(struct conn *c, int code, const char *reason)
{
	c->closing = 1;
	c->close_code = code;
	snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason);
	lws_callback_on_writable(c->wsi);
}

static void
follow_push(struct conn *c)
{
	struct build *b = c->follow;

	for (int i = 0; i < b->nlogs; i++)
	{
		json_object *o;
		size_t		len;
		const char *s;

		if (b->logs[i].id <= c->last_log)
			continue;
		o = j_log(&b->logs[i]);
		s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
		ws_send(c, s, len, 0);
		json_object_put(o);
		c->last_log = b->logs[i].id;
	}
	if (!job_active(b->status))
	{
		/* done: unlink and close normally once everything is sent */
		if (c->fprev)
			c->fprev->fnext = c->fnext;
		else if (b->followers == c)
			b->followers = c->fnext;
		if (c->fnext)
			c->fnext->fprev = c->fprev;
		c->fnext = c->fprev = NULL;
		c->follow = NULL;
		ws_close_after(c, LWS_CLOSE_STATUS_NORMAL, "");
	}
}

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

/* Reject an upgrade with a JSON body, as coderd does before accepting. */
static int
reject_upgrade(struct lws *wsi, int status, json_object *o)
{
	unsigned char buf[LWS_PRE + 2048],
			   *start = buf + LWS_PRE,
			   *p = start,
			   *end = buf + sizeof(buf) - 1;
	size_t		len;
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);

	if (len > 1024)
		len = 1024;
	if (lws_add_http_common_headers(wsi, (unsigned) status, "application/json", len, &p, end) ||
		lws_finalize_http_header(wsi, &p, end))
	{
		json_object_put(o);
		return -1;
	}
	memcpy(p, s, len);
	p += len;
	json_object_put(o);
	if (lws_write(wsi, start, (size_t) (p - start), LWS_WRITE_HTTP_HEADERS) < 0)
		return -1;
	return 1;
}

/*
 * Look at a websocket request: auth, route, object.  With establish = 0 it
 * only decides (returns 0 to accept, else the reject_upgrade result); with
 * establish = 1 the connection is open and gets wired up.
 */
static int
ws_request(struct lws *wsi, struct conn *c, int establish)
{
	struct req	r = {.wsi = wsi};
	char		path[512];
	int			route;
	char		tok[128];

	if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) <= 0)
		return reject_upgrade(wsi, 400, err_body("Bad websocket request.", NULL, NULL));
	route = match_route(&r, path, M_GET);
	if (route != ROUTE_LOGS && route != ROUTE_PTY)
		return reject_upgrade(wsi, 404, err_body("Route not found.", NULL, NULL));
	if (!find_token(wsi, tok, sizeof(tok)))
		return reject_upgrade(wsi, 401, err_body("You are signed out or your session has expired. Please sign in again to continue.",
												 "Cookie \"coder_session_token\" or header \"Coder-Session-Token\" must be provided.", NULL));
	r.me = hmap_get(&deployment.tokens, tok);
	if (!r.me || r.me->deleted)
		return reject_upgrade(wsi, 401, err_body("You are signed out or your session has expired. Please sign in again to continue.",
												 "API key is invalid.", NULL));
	if (!uuid_valid(r.arg[0]))
		return reject_upgrade(wsi, 400, err_body("Invalid UUID.", r.arg[0], NULL));
	if (route == ROUTE_LOGS)
	{
		struct build *b = hmap_get(&deployment.builds_by_id, r.arg[0]);
		char		buf[32];

		if (!b || !(r.me->is_owner || b->ws->owner == r.me))
			return reject_upgrade(wsi, 404, err_body("Resource not found or you do not have access to this resource", NULL, NULL));
		if (!establish)
			return 0;
		c->kind = C_WS_LOGS;
		c->ws_route = route;
		c->follow = b;
		c->last_log = qarg(wsi, "after", buf, sizeof(buf)) ? atol(buf) : 0;
		c->fnext = b->followers;
		if (b->followers)
			b->followers->fprev = c;
		b->followers = c;
		follow_push(c);
		return 0;
	}
	else
	{
		struct agent *a = hmap_get(&deployment.agents_by_id, r.arg[0]);
		char		cmd[4096] = "",
					buf[32];
		int			width = 80,
					height = 24;

		if (!a || !(r.me->is_owner || a->build->ws->owner == r.me))
			return reject_upgrade(wsi, 404, err_body("Resource not found or you do not have access to this resource", NULL, NULL));
		if (a->status != AG_CONNECTED)
		{
			char		msg[200];

			snprintf(msg, sizeof(msg), "Agent state is \"%s\", it must be in the \"connected\" state.",
					 agent_status_name(a->status));
			return reject_upgrade(wsi, 400, err_body(msg, NULL, NULL));
		}
		if (!establish)
			return 0;
		c->kind = C_WS_PTY;
		c->ws_route = route;
		qarg(wsi, "command", cmd, sizeof(cmd));
		if (qarg(wsi, "width", buf, sizeof(buf)) && atoi(buf) > 0)
			width = atoi(buf);
		if (qarg(wsi, "height", buf, sizeof(buf)) && atoi(buf) > 0)
			height = atoi(buf);
		if (a->pty_fail)
			ws_close_after(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
						   "dial workspace agent: injected failure (--fail-pty)");
		else if (pty_open(c, cmd, width, height) != 0)
			ws_close_after(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "start pty: cannot start the command");
		return 0;
	}
}

static int
ws_writeable(struct lws *wsi, struct conn *c)
{
	struct outbuf *o = c->oq_head;

	if (o)
	{
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
		if (c->oq_head || c->closing)
			lws_callback_on_writable(wsi);
		return 0;
	}
	if (c->closing)
	{
		lws_close_reason(wsi, (enum lws_close_status) c->close_code,
						 (unsigned char *) c->close_reason, strlen(c->close_reason));
		return -1;
	}
	return 0;
}

static void
ws_closed(struct conn *c)
{
	if (c->follow)
	{
		struct build *b = c->follow;

		if (c->fprev)
			c->fprev->fnext = c->fnext;
		else if (b->followers == c)
			b->followers = c->fnext;
		if (c->fnext)
			c->fnext->fprev = c->fprev;
		c->follow = NULL;
	}
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
	if (c->ws_t0 && c->ws_route)
		metrics_websocket_closed(c->ws_route, (mono_us() - c->ws_t0) / 1e6);
	c->ws_t0 = 0;
}

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
	if (c->blen + len + 1 > c->bcap)
	{
		c->bcap = (c->blen + len + 1) * 2;
		c->body = xrealloc(c->body, c->bcap);
	}
	memcpy(c->body + c->blen, in, len);
	c->blen += len;
	if (!lws_is_final_fragment(wsi))
		return;
	if (c->pty)
		pty_input(c, c->body, c->blen);
	c->blen = 0;
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
		c->in_flight = 0;
	}
	free(c->body);
	c->body = NULL;
	c->blen = c->bcap = 0;
	c->cookie[0] = '\0';
	c->responded = 0;
	if (c->write_failed || lws_http_transaction_completed(wsi))
		return -1;
	/*
	 * Idle keep-alive connections need no timer: lws keeps its timers in one
	 * sorted list, so thousands of idle timers make every insert a long walk.
	 */
	lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
	return 0;
}

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
	c->in_flight = 1;
	metrics_inflight(1);
	if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 && atol(cl) > 0)
	{
		if (atol(cl) > MAX_BODY)
		{
			respond(c, 413, err_body("Request body too large.", "The stand-in accepts at most 1 MiB.", NULL));
			http_done(wsi, c);
			return -1;			/* the body is still coming: hang up */
		}
		c->body_wait = 1;
		return 0;
	}
	handle(c);
	return http_done(wsi, c);
}

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
			if (!c->body_wait)
			{
				/*
				 * A POST, PUT or PATCH without Content-Length has no body
				 * (RFC 9112 6.3; Go's server reads it so) and was answered,
				 * but lws waits for a body after it: these bytes are the
				 * client's next request.  Hang up so that the client sends
				 * it again at once on a new connection (curl does, for a
				 * reused connection that dies without an answer) instead
				 * of waiting for lws to time out, 5 s later.
				 */
				rc = -1;
				break;
			}
			if (c->blen + len > MAX_BODY)
			{
				c->body_wait = 0;
				respond(c, 413, err_body("Request body too large.", "The stand-in accepts at most 1 MiB.", NULL));
				http_done(wsi, c);
				rc = -1;
				break;
			}
			if (c->blen + len + 1 > c->bcap)
			{
				c->bcap = (c->blen + len + 1) * 2;
				c->body = xrealloc(c->body, c->bcap);
			}
			memcpy(c->body + c->blen, in, len);
			c->blen += len;
			break;
		case LWS_CALLBACK_HTTP_BODY_COMPLETION:
			if (c->body_wait)
			{
				c->body_wait = 0;
				handle(c);
				rc = http_done(wsi, c);
			}
			break;
		case LWS_CALLBACK_CLOSED_HTTP:
			if (c && c->kind == C_HTTP)
			{
				if (c->in_flight)
					metrics_inflight(-1);
				c->in_flight = 0;
				free(c->body);
				c->body = NULL;
			}
			break;
		case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
			if (!in || strcmp(in, "websocket") != 0)
				return -1;
			rc = ws_request(wsi, c, 0);
			if (c && c->in_flight)
			{
				metrics_inflight(-1);
				c->in_flight = 0;
			}
			break;
		case LWS_CALLBACK_ESTABLISHED:
			memset(c, 0, sizeof(*c));
			c->wsi = wsi;
			c->ws_t0 = mono_us();
			metrics_websocket(1);
			rc = ws_request(wsi, c, 1) < 0 ? -1 : 0;
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
			rc = pty_fd_callback(wsi, reason, c, in, len);
			break;
		default:
			break;
	}
	timers_kick();
	return rc;
}
