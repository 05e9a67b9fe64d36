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
#include "session.h"

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
	coder_session session;
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

/* Names and ids a listing kept. */
typedef struct found_list
{
	char	  **names;
	char	  **ids;
	int			n;
} found_list;

/* The listings' callback: the item's name (NAME_KEY) and id into the list ARG. */
static void
found_add(found_list *l, json_object *item, const char *name_key)
{
	const char *name = jstr(item, name_key);

	l->names = realloc(l->names, sizeof(char *) * (l->n + 1));
	l->ids = realloc(l->ids, sizeof(char *) * (l->n + 1));
	if (!l->names || !l->ids)
		cli_out_of_memory("the list of what to delete");
	l->names[l->n] = strdup(name ? name : "");
	l->ids[l->n] = strdup(jstr(item, "id"));
	l->n++;
}

static void
found_workspace(void *arg, json_object *item)
{
	found_add(arg, item, "name");
}

static void
found_user(void *arg, json_object *item)
{
	found_add(arg, item, "username");
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
	sweep.session = (coder_session) {.cmd = "scaletest cleanup", .http = sweep.http, .url = sweep.url,
	.token = sweep.token};
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
	if ((rc = session_require_admin(&sweep.session)) != EXIT_OK)
		return rc;
	if (sweep.template_arg && (rc = session_parse_template(&sweep.session, sweep.template_arg)) != EXIT_OK)
		return rc;
	info("Fetching scaletest workspaces...");
	rc = session_list_workspaces(&sweep.session, NULL, sweep.template_arg, found_workspace, &workspaces);
	if (rc != EXIT_OK)
		return rc;
	if ((rc = delete_all(&workspaces, "workspaces", "cleanup-workspace", true)) != EXIT_OK)
		return rc;
	info("Fetching scaletest users...");
	/* getScaletestUsers: codersdk.UsersRequest{Search: "scaletest-"} */
	if ((rc = session_list_users(&sweep.session, found_user, &users)) != EXIT_OK)
		return rc;
	return delete_all(&users, "users", "cleanup-users", false);
}
