/*
 * cleanup.c: coder-scale scaletest cleanup, as Coder's (coder/coder
 * cli/exp_scaletest.go scaletestCleanup): check that the token is a site
 * owner's (requireAdmin), check --template (parseTemplate), list the
 * scaletest workspaces (getScaletestWorkspaces: /users/me, the deployment
 * config, pages of 100 until an empty one, IsScaleTestWorkspace of
 * scaletest/loadtestutil/names.go) and delete each as run
 * cleanup-workspace/<i> at the cleanup concurrency and timeouts, print the
 * harness results; then the same for the users (getScaletestUsers,
 * IsScaleTestUser, cleanup-users/<i>).  A failed delete stops it there:
 * "failed to delete scaletest workspaces" (or users), exit 1.  One
 * workspace's steps are the runner's (runner_cleanup.c); the results are
 * written by results.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "common/json.h"
#include "cli.h"
#include "common/flags.h"
#include "names.h"
#include "net/ws.h"
#include "results.h"
#include "runner.h"
#include "scaletest.h"

#define PAGE_LIMIT 100			/* getScaletestWorkspaces, getScaletestUsers */

/* One delete: a run of the harness. */
typedef struct item
{
	run		   *r;
	char		id[24];			/* <i> of cleanup-workspace/<i> */
	struct timespec started;
	uint64_t	t0_ns;
	int64_t		duration_ns;
	char	   *error;			/* NULL: deleted (or nothing to delete) */
	bool		begun;
	bool		done;
} item;

/* One stage (the workspaces, then the users): a harness of its own. */
typedef struct stage
{
	const char *test_name;		/* cleanup-workspace, cleanup-users */
	item	   *items;
	int			n;
	int			next;
	int			active;
	int			done;
	bool		timed_out;
} stage;

static struct
{
	scaletest_config cfg;
	const char *template_arg;
	char	   *url;
	char	   *base_url;		/* without a trailing slash, for the runs' logs */
	char	   *token;
	uv_loop_t  *loop;
	http_client *http;
	char		me_id[64];
	json_object *me;			/* GET /users/me */
	bool		no_owner_access;	/* the deployment's disable_owner_workspace_exec */
	stage	   *current;
	uv_timer_t	timer;			/* --cleanup-timeout of the current stage */
} sweep;

static void
usage(FILE *out)
{
	fprintf(out,
			"Usage: coder-scale scaletest cleanup [OPTIONS]\n\n"
			"Cleanup scaletest workspaces, then cleanup scaletest users (as `coder exp scaletest\n"
			"cleanup`): deletes every workspace named scaletest-* (or owned by a scaletest-* user),\n"
			"then every user named scaletest-* or of the email domain scaletest.local. The strategy\n"
			"flags apply to each stage of the cleanup process.\n\n"
			"Options (Coder's defaults and environment variables):\n"
			"      --template NAME|UUID      only delete workspaces created from this template\n"
			"                                ($CODER_SCALETEST_CLEANUP_TEMPLATE)\n"
			"      --cleanup-concurrency N   cleanup jobs at a time, 0 unlimited (default 1)\n"
			"                                ($CODER_SCALETEST_CLEANUP_CONCURRENCY)\n"
			"      --cleanup-timeout D       timeout for each stage, 0 unlimited (default 30m)\n"
			"                                ($CODER_SCALETEST_CLEANUP_TIMEOUT)\n"
			"      --cleanup-job-timeout D   timeout per cleanup job (default 5m)\n"
			"                                ($CODER_SCALETEST_CLEANUP_JOB_TIMEOUT)\n"
			"      --url URL                 Coder's URL (else CODER_URL, else the coder CLI's config)\n"
			"      --token-file PATH         session token file (else CODER_SESSION_TOKEN)\n"
			"      --insecure                do not verify TLS certificates\n\n"
			"It prints Coder's progress lines and, for each stage, the harness results (stderr).\n"
			"Exit codes: 0 all deleted, 1 a delete failed (the users are left when a workspace\n"
			"failed), 2 bad flags, a token that is not a site owner's or an unknown template,\n"
			"3 Coder unreachable, 4 other errors. Coder's tool exits 1 for all of these.\n");
}

/* ---------- flags ---------- */

enum
{
	O_CONCURRENCY = 256, O_TIMEOUT, O_JOB_TIMEOUT, O_TEMPLATE, O_URL, O_TOKEN_FILE, O_INSECURE
};

/* The flags' environment variables (Coder's concurrencyFlags and timeoutFlags with cleanup set). */
static int
parse_env(void)
{
	const char *v;

	if ((v = getenv("CODER_SCALETEST_CLEANUP_CONCURRENCY")) && *v &&
		!flag_int32("CODER_SCALETEST_CLEANUP_CONCURRENCY", v, 0, &sweep.cfg.cleanup_concurrency))
		return EXIT_USAGE;
	if ((v = getenv("CODER_SCALETEST_CLEANUP_TIMEOUT")) && *v &&
		!flag_duration_ms("CODER_SCALETEST_CLEANUP_TIMEOUT", v, 0, &sweep.cfg.cleanup_timeout_ms))
		return EXIT_USAGE;
	if ((v = getenv("CODER_SCALETEST_CLEANUP_JOB_TIMEOUT")) && *v &&
		!flag_duration_ms("CODER_SCALETEST_CLEANUP_JOB_TIMEOUT", v, 0, &sweep.cfg.cleanup_job_timeout_ms))
		return EXIT_USAGE;
	if ((v = getenv("CODER_SCALETEST_CLEANUP_TEMPLATE")) && *v)
		sweep.template_arg = v;
	return EXIT_OK;
}

/* One flag; exit code. */
static int
parse_one(int opt, const char *arg, const char **token_file)
{
	switch (opt)
	{
		case O_CONCURRENCY:
			return flag_int32("--cleanup-concurrency", arg, 0, &sweep.cfg.cleanup_concurrency) ? EXIT_OK : EXIT_USAGE;
		case O_TIMEOUT:
			return flag_duration_ms("--cleanup-timeout", arg, 0, &sweep.cfg.cleanup_timeout_ms) ? EXIT_OK : EXIT_USAGE;
		case O_JOB_TIMEOUT:
			return flag_duration_ms("--cleanup-job-timeout", arg, 0, &sweep.cfg.cleanup_job_timeout_ms) ? EXIT_OK : EXIT_USAGE;
		case O_TEMPLATE:
			sweep.template_arg = arg[0] ? arg : NULL;
			return EXIT_OK;
		case O_URL:
			sweep.url = strdup(arg);
			return EXIT_OK;
		case O_TOKEN_FILE:
			*token_file = arg;
			return EXIT_OK;
		case O_INSECURE:
			return flag_bool("--insecure", arg, &sweep.cfg.insecure) ? EXIT_OK : EXIT_USAGE;
	}
	return flag_error("flags", NULL, "unknown flag");
}

/* Defaults, then the environment, then the flags (flags win, as serpent has it); -1 after --help. */
static int
parse(int argc, char **argv, const char **token_file)
{
	static const struct option opts[] = {
		{"cleanup-concurrency", required_argument, NULL, O_CONCURRENCY},
		{"cleanup-timeout", required_argument, NULL, O_TIMEOUT},
		{"cleanup-job-timeout", required_argument, NULL, O_JOB_TIMEOUT},
		{"template", required_argument, NULL, O_TEMPLATE},
		{"url", required_argument, NULL, O_URL},
		{"token-file", required_argument, NULL, O_TOKEN_FILE},
		{"insecure", optional_argument, NULL, O_INSECURE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	int			opt,
				rc;

	sweep.cfg.cleanup_concurrency = 1;
	sweep.cfg.cleanup_timeout_ms = 30 * 60 * 1000;
	sweep.cfg.cleanup_job_timeout_ms = 5 * 60 * 1000;
	if ((rc = parse_env()) != EXIT_OK)
		return rc;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
	{
		if (opt == 'h')
		{
			usage(stdout);
			return -1;
		}
		if (opt == '?')
			return flag_error(argv[optind - 1], NULL, "unknown flag");
		if (opt == ':')
			return flag_error(argv[optind - 1], NULL, "needs a value");
		if ((rc = parse_one(opt, optarg, token_file)) != EXIT_OK)
			return rc;
	}
	if (optind < argc)
		return flag_error(argv[optind], NULL, "unexpected argument");
	return EXIT_OK;
}

/* ---------- Coder's messages ---------- */

/* cliui.Infof to stdout: the line and "\r\n" (coder/coder cli/cliui/log.go cliMessage.String). */
static void
info(const char *line)
{
	printf("%s\r\n", line);
	fflush(stdout);
}

/* cliui.Errorf(inv.Stderr, "Found %d scaletest WHAT\n", n): Coder's prefix, its newline, then "\r\n". */
static void
found(int n, const char *what)
{
	fflush(stdout);
	fprintf(stderr, "ERROR: Found %d scaletest %s\n\r\n", n, what);
}

/* The exit code for a call that failed with S. */
static int
call_exit(const http_sync *s)
{
	return s->unreachable ? EXIT_UNREACHABLE : EXIT_INTERNAL;
}

/*
 * GET PATH with the owner's token into *J; false (said as "WHAT: why") when
 * it failed.  After requireAdmin, Coder's cleanup sends every call with
 * X-Coder-Bypass-Ratelimit: true (it swaps in a client.HTTPClient whose
 * HeaderTransport adds codersdk.BypassRatelimitHeader); requireAdmin's own
 * GET /users/me goes through the CLI's client, without it: BYPASS.
 */
static bool
get_json(const char *path, const char *what, bool bypass, json_object **j, int *rc)
{
	http_sync	s;

	http_sync_call(sweep.http, "GET", path, &(http_auth) {sweep.token, bypass}, NULL, &s);
	*j = s.status == 200 ? json_tokener_parse(s.body) : NULL;
	if (!*j)
	{
		cli_error("scaletest cleanup: %s: %s", what, s.error ? s.error : "the answer is not JSON");
		*rc = s.status == 401 || s.status == 403 ? EXIT_USAGE : call_exit(&s);
	}
	http_sync_free(&s);
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

/* cli/exp_scaletest.go requireAdmin: GET /users/me, the owner role; exit code. */
static int
require_admin(void)
{
	int			rc = EXIT_OK;

	if (!get_json("/api/v2/users/me", "fetch current user", false, &sweep.me, &rc))
		return rc;
	if (!is_uuid(jstr(sweep.me, "id")))
	{
		cli_error("scaletest cleanup: fetch current user: the answer has no user id (is %s Coder?)", sweep.url);
		return EXIT_INTERNAL;
	}
	snprintf(sweep.me_id, sizeof(sweep.me_id), "%s", jstr(sweep.me, "id"));
	if (!is_owner(sweep.me))
	{
		cli_error("scaletest cleanup: Not logged in as a site owner. Scale testing is only available to site owners.");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* Whether the organization ORG lists a template named NAME (GET /organizations/{org}/templates); exit code in *rc. */
static bool
org_has_template(const char *org, const char *name, int *rc)
{
	char		path[256],
				what[160];
	json_object *list;
	bool		hit = false;

	snprintf(path, sizeof(path), "/api/v2/organizations/%s/templates", org);
	snprintf(what, sizeof(what), "parse template: list templates in org \"%s\"", org);
	if (!get_json(path, what, true, &list, rc))
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

/* cli/exp_scaletest.go parseTemplate: by ID, else by name in each of the user's organizations; exit code. */
static int
parse_template(void)
{
	const char *t = sweep.template_arg;
	json_object *orgs = jobj(sweep.me, "organization_ids");
	int			rc = EXIT_OK;

	if (is_uuid(t) && strcmp(t, "00000000-0000-0000-0000-000000000000") != 0)
	{
		http_sync	s;
		char		path[128];

		snprintf(path, sizeof(path), "/api/v2/templates/%s", t);
		http_sync_call(sweep.http, "GET", path, &(http_auth) {sweep.token, true}, NULL, &s);
		if (s.status != 200)
		{
			cli_error("scaletest cleanup: parse template: get template by ID \"%s\": %s", t, s.error ? s.error : "no answer");
			rc = s.status == 404 || s.status == 400 ? EXIT_USAGE : call_exit(&s);
		}
		http_sync_free(&s);
		return rc;
	}
	for (size_t i = 0; orgs && json_object_is_type(orgs, json_type_array) && i < json_object_array_length(orgs); i++)
	{
		const char *org = json_object_get_string(json_object_array_get_idx(orgs, i));

		if (!is_uuid(org))
			continue;
		if (org_has_template(org, t, &rc))
			return EXIT_OK;
		if (rc != EXIT_OK)
			return rc;
	}
	cli_error("scaletest cleanup: parse template: could not find template \"%s\" in any organization", t);
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

/* A listing's item to keep, or not (its name and id into the list). */
typedef bool (*keep_fn) (json_object *item, const char **name, const char **id);

/* Names and ids a listing kept. */
typedef struct found_list
{
	char	  **names;
	char	  **ids;
	int			n;
} found_list;

static void
found_add(found_list *l, const char *name, const char *id)
{
	l->names = realloc(l->names, sizeof(char *) * (l->n + 1));
	l->ids = realloc(l->ids, sizeof(char *) * (l->n + 1));
	if (!l->names || !l->ids)
		cli_out_of_memory("the list of what to delete");
	l->names[l->n] = strdup(name);
	l->ids[l->n] = strdup(id);
	l->n++;
}

/*
 * Pages of BASE (100 at a time, query Q) until an empty one, keeping what
 * KEEP keeps; "fetch scaletest WHAT page N: why" and an exit code when a
 * page fails.
 */
static int
list_pages(const char *base, const char *q, const char *what, const char *key, keep_fn keep, found_list *out)
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
		if (!get_json(path, msg, true, &j, &rc))
			return rc;
		arr = jobj(j, key);
		if (!arr || !json_object_is_type(arr, json_type_array))
		{
			json_object_put(j);
			cli_error("scaletest cleanup: %s: the answer has no \"%s\" list", msg, key);
			return EXIT_INTERNAL;
		}
		len = json_object_array_length(arr);
		for (size_t i = 0; i < len; i++)
		{
			const char *name,
					   *id;

			if (!keep(json_object_array_get_idx(arr, i), &name, &id))
				continue;
			if (!is_uuid(id))
			{
				json_object_put(j);
				cli_error("scaletest cleanup: %s: the id of %s is not a UUID", msg, name ? name : "an item");
				return EXIT_INTERNAL;
			}
			found_add(out, name ? name : "", id);
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
keep_workspace(json_object *w, const char **name, const char **id)
{
	*name = jstr(w, "name");
	*id = jstr(w, "id");
	if (!has_prefix(*name, "scaletest-") && !has_prefix(jstr(w, "owner_name"), "scaletest-"))
		return false;
	return !sweep.no_owner_access || (jstr(w, "owner_id") && strcmp(jstr(w, "owner_id"), sweep.me_id) == 0);
}

/* loadtestutil.IsScaleTestUser: username scaletest-*, or an email @scaletest.local. */
static bool
keep_user(json_object *u, const char **name, const char **id)
{
	const char *email = jstr(u, "email");
	size_t		n = email ? strlen(email) : 0;

	*name = jstr(u, "username");
	*id = jstr(u, "id");
	return has_prefix(*name, "scaletest-") || (n >= 16 && strcmp(email + n - 16, "@scaletest.local") == 0);
}

/* getScaletestWorkspaces(ctx, client, "", template): /users/me, /deployment/config, then the pages. */
static int
list_workspaces(found_list *out)
{
	json_object *me,
			   *dc,
			   *v;
	char		q[512] = "";
	int			rc = EXIT_OK;

	if (!get_json("/api/v2/users/me", "check logged-in user", true, &me, &rc))
		return rc;
	json_object_put(me);
	if (!get_json("/api/v2/deployment/config", "fetch deployment config", true, &dc, &rc))
		return rc;
	v = jobj(jobj(dc, "config"), "disable_owner_workspace_exec");
	sweep.no_owner_access = v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
	json_object_put(dc);
	/* codersdk.WorkspaceFilter{Name: "scaletest-", Template: template}.asRequestOption */
	quoted_term(q, sizeof(q), "name", "scaletest-");
	if (sweep.template_arg)
		quoted_term(q, sizeof(q), "template", sweep.template_arg);
	return list_pages("/api/v2/workspaces", q, "workspaces", "workspaces", keep_workspace, out);
}

/* ---------- a stage: its runs at the cleanup concurrency ---------- */

static void
item_finish(stage *st, item *it, const char *error)
{
	it->done = true;
	it->duration_ns = it->begun ? (int64_t) (uv_hrtime() - it->t0_ns) : 0;
	it->error = error ? strdup(error) : NULL;
	if (++st->done == st->n)
		uv_stop(sweep.loop);	/* uv_run returns now, not at the next timer */
}

/* Start what the concurrency allows; after the stage's timeout, fail what never started. */
static void
pump(stage *st)
{
	while (st->next < st->n && (st->timed_out || sweep.cfg.cleanup_concurrency == 0 ||
								st->active < sweep.cfg.cleanup_concurrency))
	{
		item	   *it = &st->items[st->next++];

		clock_gettime(CLOCK_REALTIME, &it->started);
		if (st->timed_out)
		{
			item_finish(st, it, "context deadline exceeded");
			continue;
		}
		it->begun = true;
		it->t0_ns = uv_hrtime();
		st->active++;
		runner_cleanup(it->r);
	}
}

/* The runner's cleanup_done: the run I of the current stage ended. */
static void
run_done(run *r)
{
	stage	   *st = sweep.current;
	item	   *it = &st->items[runner_record(r)->idx];

	st->active--;
	item_finish(st, it, runner_record(r)->cl_error);
	pump(st);
}

static void
unused_run_done(run *r)
{
	(void) r;
}

/* --cleanup-timeout: the stage's context ends; runs in flight fail, the rest fail at once. */
static void
stage_timed_out(uv_timer_t *t)
{
	stage	   *st = sweep.current;

	(void) t;
	st->timed_out = true;
	for (int i = 0; i < st->next; i++)
		if (st->items[i].begun && !st->items[i].done)
			runner_stop_cleanup(st->items[i].r, "context deadline exceeded");
	pump(st);
}

/* Run every item of ST as harness.Run does; the results into RES (elapsed: the whole stage). */
static void
stage_run(stage *st, results *res)
{
	uint64_t	t0;

	sweep.current = st;
	uv_update_time(sweep.loop);
	t0 = uv_hrtime();
	if (sweep.cfg.cleanup_timeout_ms > 0)
		uv_timer_start(&sweep.timer, stage_timed_out, (uint64_t) sweep.cfg.cleanup_timeout_ms, 0);
	pump(st);
	while (st->done < st->n)
		uv_run(sweep.loop, UV_RUN_ONCE);
	uv_timer_stop(&sweep.timer);
	results_init(res, (int64_t) (uv_hrtime() - t0));
	for (int i = 0; i < st->n; i++)
	{
		item	   *it = &st->items[i];

		results_add(res, st->test_name, it->id, runner_record(it->r)->logs, it->error, &it->started, it->duration_ns);
	}
}

/*
 * One stage of scaletestCleanup: "Found N scaletest WHAT", and when there
 * are some, "Deleting...", the runs, "Done deleting...:" and the results
 * (stderr); exit 1 with Coder's "failed to delete scaletest WHAT" when a
 * run failed.  AS_WORKSPACES: the ids are workspaces', else users'.
 */
static int
delete_all(const found_list *l, const char *what, const char *test_name, bool as_workspaces)
{
	stage		st = {.test_name = test_name, .n = l->n};
	results		res;
	char		line[128];
	int			failed;

	found(l->n, what);
	if (l->n == 0)
		return EXIT_OK;
	snprintf(line, sizeof(line), "Deleting scaletest %s...", what);
	info(line);
	st.items = calloc(l->n, sizeof(item));
	if (!st.items)
		cli_out_of_memory("the list of what to delete");
	for (int i = 0; i < l->n; i++)
	{
		snprintf(st.items[i].id, sizeof(st.items[i].id), "%d", i);
		st.items[i].r = runner_adopt(i, l->names[i], as_workspaces ? l->ids[i] : NULL,
									 as_workspaces ? NULL : l->ids[i]);
	}
	stage_run(&st, &res);
	snprintf(line, sizeof(line), "Done deleting scaletest %s:", what);
	info(line);
	results_print_text(stderr, &res);
	failed = res.total_fail;
	results_free(&res);
	if (failed > 0)
	{
		cli_error("scaletest cleanup: failed to delete scaletest %s", what);
		return EXIT_TEST_FAILURES;
	}
	return EXIT_OK;
}

/* ---------- the command ---------- */

/* URL and token, the HTTP client and websockets, the runner's environment; exit code. */
static int
connect_sweep(const char *token_file)
{
	runner_env	env;
	int			rc;

	if ((rc = scaletest_find_login(&sweep.url, &sweep.token, token_file)) != EXIT_OK)
		return rc;
	sweep.base_url = strdup(sweep.url);
	for (size_t n = strlen(sweep.base_url); n > 0 && sweep.base_url[n - 1] == '/';)
		sweep.base_url[--n] = '\0';
	sweep.loop = uv_default_loop();
	sweep.http = http_client_new(sweep.loop, sweep.url, sweep.cfg.insecure, 0);
	if (!sweep.http || !ws_init(sweep.loop, sweep.url, sweep.cfg.insecure))
	{
		cli_error("scaletest cleanup: cannot set up HTTP and websockets for %s", sweep.url);
		return EXIT_INTERNAL;
	}
	uv_timer_init(sweep.loop, &sweep.timer);
	memset(&env, 0, sizeof(env));
	env.loop = sweep.loop;
	env.http = sweep.http;
	env.cfg = &sweep.cfg;
	env.owner_token = sweep.token;
	env.base_url = sweep.base_url;
	env.run_done = unused_run_done;
	env.cleanup_done = run_done;
	runner_setup(&env);
	return EXIT_OK;
}

int
scaletest_cleanup(int argc, char **argv)
{
	const char *token_file = NULL;
	found_list	workspaces = {0},
				users = {0};
	int			rc;

	if ((rc = parse(argc, argv, &token_file)) != EXIT_OK)
		return rc < 0 ? EXIT_OK : rc;
	if ((rc = connect_sweep(token_file)) != EXIT_OK)
		return rc;
	if ((rc = require_admin()) != EXIT_OK)
		return rc;
	if (sweep.template_arg && (rc = parse_template()) != EXIT_OK)
		return rc;
	info("Fetching scaletest workspaces...");
	if ((rc = list_workspaces(&workspaces)) != EXIT_OK)
		return rc;
	if ((rc = delete_all(&workspaces, "workspaces", "cleanup-workspace", true)) != EXIT_OK)
		return rc;
	info("Fetching scaletest users...");
	/* getScaletestUsers: codersdk.UsersRequest{Search: "scaletest-"} */
	if ((rc = list_pages("/api/v2/users", "scaletest-", "users", "users", keep_user, &users)) != EXIT_OK)
		return rc;
	return delete_all(&users, "users", "cleanup-users", false);
}
