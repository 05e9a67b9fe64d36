/*
 * session.c: a site owner's session with Coder before a scale test (see
 * session.h), as coder/coder cli/exp_scaletest.go has it: requireAdmin,
 * parseTemplate, getScaletestWorkspaces, getScaletestUsers, and the
 * listing filters of scaletest/loadtestutil/names.go.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/json.h"
#include "names.h"
#include "session.h"

#define PAGE_LIMIT 100			/* getScaletestWorkspaces, getScaletestUsers */

/* The exit code for a call that failed with S. */
static int
call_exit(const http_sync *s)
{
	return s->unreachable ? EXIT_UNREACHABLE : EXIT_INTERNAL;
}

bool
session_get_json(coder_session *s, const char *path, const char *what, bool bypass, json_object **j, int *rc)
{
	http_sync	sc;

	http_sync_call(s->http, "GET", path, &(http_auth) {s->token, bypass}, NULL, &sc);
	*j = sc.status == 200 ? json_tokener_parse(sc.body) : NULL;
	if (!*j)
	{
		cli_error("%s: %s: %s", s->cmd, what, sc.error ? sc.error : "the answer is not JSON");
		*rc = sc.status == 401 || sc.status == 403 ? EXIT_USAGE : call_exit(&sc);
	}
	http_sync_free(&sc);
	return *j != NULL;
}

/* ---------- requireAdmin and parseTemplate ---------- */

/* Whether the user ME has the site role "owner". */
static bool
is_owner(json_object *me)
{
	json_object *roles = jobj(me, "roles");

	for (size_t i = 0; roles && json_object_is_type(roles, json_type_array) &&
		 i < json_object_array_length(roles); i++)
	{
		const char *name = jstr(json_object_array_get_idx(roles, i), "name");

		if (name && strcmp(name, "owner") == 0)
			return true;
	}
	return false;
}

/* requireAdmin's own GET /users/me goes through the CLI's client, without the bypass header. */
int
session_require_admin(coder_session *s)
{
	int			rc = EXIT_OK;

	if (!session_get_json(s, "/api/v2/users/me", "fetch current user", false, &s->me, &rc))
		return rc;
	if (!is_uuid(jstr(s->me, "id")))
	{
		cli_error("%s: fetch current user: the answer has no user id (is %s Coder?)", s->cmd, s->url);
		return EXIT_INTERNAL;
	}
	snprintf(s->me_id, sizeof(s->me_id), "%s", jstr(s->me, "id"));
	if (!is_owner(s->me))
	{
		cli_error("%s: Not logged in as a site owner. Scale testing is only available to site owners.", s->cmd);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* Whether the organization ORG lists a template named NAME (GET /organizations/{org}/templates); exit code in *rc. */
static bool
org_has_template(coder_session *s, const char *org, const char *name, int *rc)
{
	char		path[256],
				what[160];
	json_object *list;
	bool		hit = false;

	snprintf(path, sizeof(path), "/api/v2/organizations/%s/templates", org);
	snprintf(what, sizeof(what), "parse template: list templates in org \"%s\"", org);
	if (!session_get_json(s, path, what, true, &list, rc))
		return false;
	for (size_t i = 0; json_object_is_type(list, json_type_array) && i < json_object_array_length(list); i++)
	{
		const char *n = jstr(json_object_array_get_idx(list, i), "name");

		if (n && strcmp(n, name) == 0)
			hit = true;
	}
	json_object_put(list);
	return hit;
}

int
session_parse_template(coder_session *s, const char *t)
{
	json_object *orgs = jobj(s->me, "organization_ids");
	int			rc = EXIT_OK;

	if (is_uuid(t) && strcmp(t, "00000000-0000-0000-0000-000000000000") != 0)
	{
		http_sync	sc;
		char		path[128];

		snprintf(path, sizeof(path), "/api/v2/templates/%s", t);
		http_sync_call(s->http, "GET", path, &(http_auth) {s->token, true}, NULL, &sc);
		if (sc.status != 200)
		{
			cli_error("%s: parse template: get template by ID \"%s\": %s", s->cmd, t, sc.error ? sc.error : "no answer");
			rc = sc.status == 404 || sc.status == 400 ? EXIT_USAGE : call_exit(&sc);
		}
		http_sync_free(&sc);
		return rc;
	}
	for (size_t i = 0; orgs && json_object_is_type(orgs, json_type_array) && i < json_object_array_length(orgs); i++)
	{
		const char *org = json_object_get_string(json_object_array_get_idx(orgs, i));

		if (!is_uuid(org))
			continue;
		if (org_has_template(s, org, t, &rc))
			return EXIT_OK;
		if (rc != EXIT_OK)
			return rc;
	}
	cli_error("%s: parse template: could not find template \"%s\" in any organization", s->cmd, t);
	return EXIT_USAGE;
}
/* ---------- the listings ---------- */

/* Append S as Go's url.QueryEscape writes it (space as '+', unreserved bytes kept, %XX). */
static void
query_escape(char *out, size_t size, const char *s)
{
	size_t		n = strlen(out);

	for (const unsigned char *p = (const unsigned char *) s; *p && n + 4 < size; p++)
	{
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			*p == '-' || *p == '_' || *p == '.' || *p == '~')
			out[n++] = (char) *p;
		else if (*p == ' ')
			out[n++] = '+';
		else
			n += (size_t) snprintf(out + n, size - n, "%%%02X", *p);
	}
	out[n] = '\0';
}

/* Append KEY:"VALUE" as fmt's %q quotes it (strconv.Quote, for the ASCII a name holds). */
static void
quoted_term(char *out, size_t size, const char *key, const char *value)
{
	size_t		n = strlen(out);

	n += (size_t) snprintf(out + n, size - n, "%s%s:\"", n ? " " : "", key);
	for (const unsigned char *p = (const unsigned char *) value; *p && n + 6 < size; p++)
	{
		if (*p == '"' || *p == '\\')
			n += (size_t) snprintf(out + n, size - n, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			n += (size_t) snprintf(out + n, size - n, "\\x%02x", *p);
		else
			out[n++] = (char) *p;
	}
	snprintf(out + n, size - n, "\"");
}

/*
 * PATH?limit=100[&offset=N]&q=Q as codersdk builds it (url.Values.Encode:
 * keys sorted; Pagination sets offset only when above 0).
 */
static void
page_path(char *path, size_t size, const char *base, int page, const char *q)
{
	snprintf(path, size, "%s?limit=%d", base, PAGE_LIMIT);
	if (page > 0)
		snprintf(path + strlen(path), size - strlen(path), "&offset=%d", page * PAGE_LIMIT);
	snprintf(path + strlen(path), size - strlen(path), "&q=");
	query_escape(path, size, q);
}

/* Whether a listing keeps ITEM (loadtestutil's filters). */
typedef bool (*keep_fn) (coder_session *s, json_object *item);

/*
 * Pages of BASE (100 at a time, query Q) until an empty one, FOUND for
 * each item KEEP keeps (its "id" a UUID, NAME_KEY naming it in errors);
 * "fetch scaletest WHAT page N: why" and an exit code when a page fails.
 */
static int
list_pages(coder_session *s, const char *base, const char *q, const char *what, const char *name_key,
		   keep_fn keep, session_found_fn found, void *arg)
{
	for (int page = 0;; page++)
	{
		char		path[1024],
					msg[128];
		json_object *j,
				   *arr;
		int			rc = EXIT_OK;
		size_t		len;

		page_path(path, sizeof(path), base, page, q);
		snprintf(msg, sizeof(msg), "fetch scaletest %s page %d", what, page);
		if (!session_get_json(s, path, msg, true, &j, &rc))
			return rc;
		arr = jobj(j, what);
		if (!arr || !json_object_is_type(arr, json_type_array))
		{
			json_object_put(j);
			cli_error("%s: %s: the answer has no \"%s\" list", s->cmd, msg, what);
			return EXIT_INTERNAL;
		}
		len = json_object_array_length(arr);
		for (size_t i = 0; i < len; i++)
		{
			json_object *item = json_object_array_get_idx(arr, i);

			if (!keep(s, item))
				continue;
			if (!is_uuid(jstr(item, "id")))
			{
				const char *name = jstr(item, name_key);

				cli_error("%s: %s: the id of %s is not a UUID", s->cmd, msg, name ? name : "an item");
				json_object_put(j);
				return EXIT_INTERNAL;
			}
			found(arg, item);
		}
		json_object_put(j);
		if (len == 0)
			return EXIT_OK;
	}
}

static bool
has_prefix(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * loadtestutil.IsScaleTestWorkspace, and not skipped as another owner's
 * when the deployment disables owners' access to workspaces (getScaletestWorkspaces).
 */
static bool
keep_workspace(coder_session *s, json_object *w)
{
	const char *owner_id = jstr(w, "owner_id");

	if (!has_prefix(jstr(w, "name"), "scaletest-") && !has_prefix(jstr(w, "owner_name"), "scaletest-"))
		return false;
	return !s->no_owner_access || (owner_id && strcmp(owner_id, s->me_id) == 0);
}

/* loadtestutil.IsScaleTestUser: username scaletest-*, or an email @scaletest.local. */
static bool
keep_user(coder_session *s, json_object *u)
{
	const char *email = jstr(u, "email");
	size_t		n = email ? strlen(email) : 0;

	(void) s;
	return has_prefix(jstr(u, "username"), "scaletest-") ||
		(n >= 16 && strcmp(email + n - 16, "@scaletest.local") == 0);
}

/* getScaletestWorkspaces(ctx, client, owner, template): /users/me, /deployment/config, then the pages. */
int
session_list_workspaces(coder_session *s, const char *owner, const char *template_arg,
						session_found_fn found, void *arg)
{
	json_object *me,
			   *dc,
			   *v;
	char		q[512] = "";
	int			rc = EXIT_OK;

	if (!session_get_json(s, "/api/v2/users/me", "check logged-in user", true, &me, &rc))
		return rc;
	json_object_put(me);
	if (!session_get_json(s, "/api/v2/deployment/config", "fetch deployment config", true, &dc, &rc))
		return rc;
	v = jobj(jobj(dc, "config"), "disable_owner_workspace_exec");
	s->no_owner_access = v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
	json_object_put(dc);
	/* codersdk.WorkspaceFilter{Owner, Name: "scaletest-", Template}.asRequestOption, in its order */
	if (owner)
		quoted_term(q, sizeof(q), "owner", owner);
	quoted_term(q, sizeof(q), "name", "scaletest-");
	if (template_arg)
		quoted_term(q, sizeof(q), "template", template_arg);
	return list_pages(s, "/api/v2/workspaces", q, "workspaces", "name", keep_workspace, found, arg);
}

/* getScaletestUsers: pages of /users?q=scaletest-, kept by IsScaleTestUser. */
int
session_list_users(coder_session *s, session_found_fn found, void *arg)
{
	return list_pages(s, "/api/v2/users", "scaletest-", "users", "username", keep_user, found, arg);
}
