/*
 * cleanup.c: coder-scale scaletest cleanup: removes every workspace whose
 * name starts with "scaletest-" and every user of the email domain
 * scaletest.local, as Coder's `scaletest cleanup` does: workspaces first
 * (cancel an active build, delete build, wait), then the users, each at the
 * cleanup concurrency, on the same event loop as create-workspaces.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "common/json.h"
#include "cli.h"
#include "common/flags.h"
#include "net/ws.h"
#include "runner.h"
#include "scaletest.h"

#define PAGE 500

/* The sweep of scaletest cleanup: what the listings found and how far removing it got. */
static struct
{
	scaletest_config cfg;
	uv_loop_t  *loop;
	http_client *http;
	char	   *url;
	char	   *token;
	run		  **items;
	int			n;
	int			next;
	int			active;
	int			done;
	int			failed;
	int			removed_ws;
	int			removed_users;
	int			limit;			/* items of the current phase: [next, limit) */
} sweep;

/* Names found by a listing after the removals: what is left. */
typedef struct names
{
	char	  **v;
	int			n;
} names;

static names left_ws,
			left_users;

static void
usage(FILE *out)
{
	fprintf(out,
			"Usage: coder-scale scaletest cleanup [OPTIONS]\n\n"
			"Removes every workspace named scaletest-* and every user of the email domain\n"
			"scaletest.local (what create-workspaces leaves with --no-cleanup or after a crash).\n\n"
			"Options:\n"
			"      --cleanup-concurrency N   removals at a time, 0 all at once (default 1)\n"
			"      --cleanup-job-timeout D   deadline for one removal (default 5m)\n"
			"      --url URL                 Coder's URL (else CODER_URL, else the coder CLI's config)\n"
			"      --token-file PATH         session token file (else CODER_SESSION_TOKEN)\n"
			"      --insecure                do not verify TLS certificates\n\n"
			"It prints what it removed and, listed again from Coder, what is left by name.\n"
			"Exit codes: 0 nothing left, 1 something left (or the listing after failed), 2 bad flags,\n3 Coder unreachable.\n");
}

/* Adopt what a listing found (WS_ID or USER_ID) as the next item to remove. */
static void
add_item(const char *name, const char *ws_id, const char *user_id)
{
	sweep.items = realloc(sweep.items, sizeof(run *) * (sweep.n + 1));
	if (!sweep.items)
		cli_out_of_memory("the list of what to remove");
	sweep.items[sweep.n] = runner_adopt(sweep.n, name, ws_id, user_id);
	sweep.n++;
}

/* GET a listing page by page; ARRAY_KEY holds the items. -1 on error. */
static int
list_all(const char *what, const char *base, const char *array_key,
		 bool (*take) (json_object *item))
{
	int			found = 0;

	for (int offset = 0;; offset += PAGE)
	{
		http_sync	s;
		char		path[512];
		json_object *j, *arr;
		int			len;

		snprintf(path, sizeof(path), "%s&limit=%d&offset=%d", base, PAGE, offset);
		http_sync_call(sweep.http, "GET", path, &(http_auth) {sweep.token, true}, NULL, &s);
		if (s.status != 200)
		{
			cli_error("scaletest cleanup: list %s: %s", what, s.error ? s.error : "no answer");
			http_sync_free(&s);
			return -1;
		}
		j = json_tokener_parse(s.body);
		http_sync_free(&s);
		if (!j || !json_object_object_get_ex(j, array_key, &arr) ||
			!json_object_is_type(arr, json_type_array))
		{
			json_object_put(j);
			cli_error("scaletest cleanup: list %s: unexpected answer", what);
			return -1;
		}
		len = (int) json_object_array_length(arr);
		for (int i = 0; i < len; i++)
			if (take(json_object_array_get_idx(arr, i)))
				found++;
		json_object_put(j);
		if (len < PAGE)
			return found;
	}
}

/* A scaletest workspace (name scaletest-*): its name and id, else false. */
static bool
scaletest_workspace(json_object *w, const char **name, const char **id)
{
	*name = jstr(w, "name");
	*id = jstr(w, "id");
	return *name && *id && strncmp(*name, "scaletest-", 10) == 0;
}

/* A scaletest user (email @scaletest.local): its username (else email) and id, else false. */
static bool
scaletest_user(json_object *u, const char **name, const char **id)
{
	const char *email = jstr(u, "email");
	size_t		n = email ? strlen(email) : 0;

	*id = jstr(u, "id");
	*name = jstr(u, "username") ? jstr(u, "username") : email;
	return email && *id && n >= 16 && strcmp(email + n - 16, "@scaletest.local") == 0;
}

static void
add_name(names *l, const char *name)
{
	l->v = realloc(l->v, sizeof(char *) * (l->n + 1));
	l->v[l->n++] = strdup(name);
}

static bool
left_workspace(json_object *w)
{
	const char *name,
			   *id;

	if (!scaletest_workspace(w, &name, &id))
		return false;
	add_name(&left_ws, name);
	return true;
}

static bool
left_user(json_object *u)
{
	const char *name,
			   *id;

	if (!scaletest_user(u, &name, &id))
		return false;
	add_name(&left_users, name);
	return true;
}

static bool
take_workspace(json_object *w)
{
	const char *name,
			   *id;

	if (!scaletest_workspace(w, &name, &id))
		return false;
	add_item(name, id, NULL);
	return true;
}

static bool
take_user(json_object *u)
{
	const char *name,
			   *id;

	if (!scaletest_user(u, &name, &id))
		return false;
	add_item(name, NULL, id);
	return true;
}

static void
pump(void)
{
	while (sweep.next < sweep.limit && (sweep.cfg.cleanup_concurrency == 0 || sweep.active < sweep.cfg.cleanup_concurrency))
	{
		sweep.active++;
		runner_cleanup(sweep.items[sweep.next++]);
	}
}

static void
item_done(run *item)
{
	const run_record *r = runner_record(item);

	sweep.active--;
	sweep.done++;
	if (r->cl_error)
	{
		sweep.failed++;
		cli_error("scaletest cleanup: %s %s: %s", r->ws_attempted ? "workspace" : "user", r->name, r->cl_error);
	}
	else
	{
		printf("removed %s %s\n", r->ws_attempted ? "workspace" : "user", r->name);
		if (r->ws_attempted)
			sweep.removed_ws++;
		else
			sweep.removed_users++;
	}
	pump();
	if (sweep.active == 0)
		uv_stop(sweep.loop);

}

static void
unused_done(run *r)
{
	(void) r;
}

static int
parse(int argc, char **argv, const char **token_file)
{
	static const struct option opts[] = {
		{"cleanup-concurrency", required_argument, NULL, 'n'},
		{"cleanup-job-timeout", required_argument, NULL, 'j'},
		{"url", required_argument, NULL, 'u'},
		{"token-file", required_argument, NULL, 'f'},
		{"insecure", no_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	int			opt;

	sweep.cfg.cleanup_concurrency = 1;
	sweep.cfg.cleanup_job_timeout_ms = 5 * 60 * 1000;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
	{
		switch (opt)
		{
			case 'h':
				usage(stdout);
				return -1;
			case 'n':
				if (!flag_int32("--cleanup-concurrency", optarg, 0, &sweep.cfg.cleanup_concurrency))
					return EXIT_USAGE;
				break;
			case 'j':
				if (!flag_duration_ms("--cleanup-job-timeout", optarg, 0, &sweep.cfg.cleanup_job_timeout_ms))
					return EXIT_USAGE;
				break;
			case 'u':
				sweep.url = strdup(optarg);
				break;
			case 'f':
				*token_file = optarg;
				break;
			case 'k':
				sweep.cfg.insecure = true;
				break;
			default:
				return flag_error(argv[optind - 1], NULL, "unknown flag or missing value");
		}
	}
	if (optind < argc)
	{
		return flag_error(argv[optind], NULL, "unexpected argument");
	}
	return EXIT_OK;
}

static void
cleanup_phase(int from, int to)
{
	sweep.next = from;
	sweep.limit = to;
	pump();
	while (sweep.active > 0 || sweep.next < sweep.limit)
		uv_run(sweep.loop, UV_RUN_ONCE);
}

static const char *
plural(int n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void
print_left(const char *kind, const names *l)
{
	for (int i = 0; i < l->n; i++)
		printf("  %s %s\n", kind, l->v[i]);
}

/*
 * What was removed (counted from the answers), then what is left (listed
 * again from Coder, by name: the truth, whatever the answers said); exit 1
 * while anything is left.
 */
static int
summary(int nws, int nusers)
{
	int			lws,
				lusers;

	printf("Removed %d of %d workspace%s and %d of %d user%s.\n", sweep.removed_ws, nws, plural(nws, "", "s"),
		   sweep.removed_users, nusers, plural(nusers, "", "s"));
	lws = list_all("workspaces", "/api/v2/workspaces?q=name:scaletest-", "workspaces", left_workspace);
	lusers = list_all("users", "/api/v2/users?q=scaletest.local", "users", left_user);
	if (lws < 0 || lusers < 0)
	{
		cli_error("scaletest cleanup: cannot tell what is left; %d removal%s failed", sweep.failed, plural(sweep.failed, "", "s"));
		return EXIT_TEST_FAILURES;
	}
	if (lws == 0 && lusers == 0)
	{
		printf("Nothing is left.\n");
		return EXIT_OK;			/* a removal that reported an error but happened anyway */
	}
	printf("Left: %d workspace%s and %d user%s:\n", lws, plural(lws, "", "s"), lusers, plural(lusers, "", "s"));
	print_left("workspace", &left_ws);
	print_left("user", &left_users);
	cli_error("scaletest cleanup: %d workspace%s and %d user%s are left; run it again once the cause above is fixed",
			  lws, plural(lws, "", "s"), lusers, plural(lusers, "", "s"));
	return EXIT_TEST_FAILURES;
}

int
scaletest_cleanup(int argc, char **argv)
{
	const char *token_file = NULL;
	runner_env	env;
	char		me[64];
	int			rc,
				nws,
				nusers;

	if ((rc = parse(argc, argv, &token_file)) != EXIT_OK)
		return rc < 0 ? EXIT_OK : rc;
	if ((rc = scaletest_find_login(&sweep.url, &sweep.token, token_file)) != EXIT_OK)
		return rc;
	sweep.loop = uv_default_loop();
	sweep.http = http_client_new(sweep.loop, sweep.url, sweep.cfg.insecure);
	if (!sweep.http || !ws_init(sweep.loop, sweep.url, sweep.cfg.insecure))
	{
		cli_error("scaletest cleanup: cannot set up HTTP and websockets for %s", sweep.url);
		return EXIT_INTERNAL;
	}
	rc = scaletest_check_server(sweep.http, sweep.url, sweep.token, NULL, me, sizeof(me), NULL, 0);
	if (rc != EXIT_OK)
		return rc;
	nws = list_all("workspaces", "/api/v2/workspaces?q=name:scaletest-", "workspaces", take_workspace);
	if (nws < 0)
		return EXIT_INTERNAL;
	nusers = list_all("users", "/api/v2/users?q=scaletest.local", "users", take_user);
	if (nusers < 0)
		return EXIT_INTERNAL;
	fprintf(stderr, "Found %d scaletest workspace%s and %d scaletest user%s.\n",
			nws, nws == 1 ? "" : "s", nusers, nusers == 1 ? "" : "s");
	memset(&env, 0, sizeof(env));
	env.loop = sweep.loop;
	env.http = sweep.http;
	env.cfg = &sweep.cfg;
	env.owner_token = sweep.token;
	env.run_done = unused_done;
	env.cleanup_done = item_done;
	runner_setup(&env);
	cleanup_phase(0, nws);
	cleanup_phase(nws, sweep.n);
	return summary(nws, nusers);
}
