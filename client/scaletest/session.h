/*
 * session.h: a site owner's session with Coder, as Coder's scale-test
 * commands open it before a test (coder/coder cli/exp_scaletest.go):
 * requireAdmin, parseTemplate, and the listings of scaletest workspaces
 * and users, page by page (getScaletestWorkspaces, getScaletestUsers).
 * Used by scaletest cleanup and workspace-traffic.  Synchronous: it runs
 * the loop until each call ends, before a test starts.
 *
 *     coder_session s = {.cmd = "scaletest cleanup", .http = http, .url = url, .token = token};
 *     if ((rc = session_require_admin(&s)) != EXIT_OK) ...
 *     rc = session_list_workspaces(&s, NULL, template, found, arg);
 */
#ifndef CODER_SCALE_SESSION_H
#define CODER_SCALE_SESSION_H

#include <stdbool.h>
#include <json-c/json.h>

#include "net/http.h"

typedef struct coder_session
{
	const char *cmd;			/* "scaletest cleanup": the errors' prefix */
	http_client *http;
	const char *url;
	const char *token;
	json_object *me;			/* GET /users/me (session_require_admin) */
	char		me_id[64];
	bool		no_owner_access;	/* the deployment's disable_owner_workspace_exec */
} coder_session;

/*
 * GET PATH with the owner's token into *J; false (said as "CMD: WHAT: why",
 * the exit code in *RC) when it failed.  BYPASS: with
 * X-Coder-Bypass-Ratelimit, as Coder's commands send every call after
 * requireAdmin.
 */
bool		session_get_json(coder_session *s, const char *path, const char *what, bool bypass,
							 json_object **j, int *rc);

/* requireAdmin: GET /users/me, the owner role; exit code (2: not an owner). */
int			session_require_admin(coder_session *s);

/* parseTemplate: by ID, else by name in each of the owner's organizations; exit code (2: unknown). */
int			session_parse_template(coder_session *s, const char *template_arg);

/* A listing's item (valid during the call only). */
typedef void (*session_found_fn) (void *arg, json_object *item);

/*
 * getScaletestWorkspaces(ctx, client, OWNER, TEMPLATE): /users/me, the
 * deployment config, then the pages of workspaces named scaletest-* (or
 * owned by a scaletest-* user), without another owner's when the
 * deployment disables owners' access; FOUND for each, in the API's order.
 * OWNER and TEMPLATE may be NULL.  Exit code.
 */
int			session_list_workspaces(coder_session *s, const char *owner, const char *template_arg,
									session_found_fn found, void *arg);

/* getScaletestUsers: the users named scaletest-* or @scaletest.local; exit code. */
int			session_list_users(coder_session *s, session_found_fn found, void *arg);

#endif							/* CODER_SCALE_SESSION_H */
