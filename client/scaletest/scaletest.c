/*
 * scaletest.c: coder-scale scaletest create-workspaces (and the dispatch to
 * scaletest cleanup): Coder's flags and defaults, the checks before a test,
 * the scheduler of runs and cleanups at their concurrency on one event
 * loop, signals, and the text and json outputs in Coder's formats.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <curl/curl.h>
#include <math.h>
#include <regex.h>
#include <libpq-fe.h>

#include "common/timeutil.h"
#include "common/json.h"
#include "cli.h"
#include "common/pg.h"
#include "names.h"
#include "plan.h"
#include "results.h"
#include "net/ws.h"
#include "paramfile.h"
#include "progress.h"
#include "runner.h"
#include "scaletest.h"
#include "store.h"
#include "common/flags.h"
#include "common/goduration.h"
#include "scrape/samples.h"
#include "scrape/scraper.h"

#define MAX_OUTPUTS 16

typedef struct test_output
{
	bool		json;
	const char *path;			/* "-" or NULL: stdout */
	FILE	   *f;				/* opened before the test starts */
	bool		created;		/* by us: removed again if the test never starts */
} test_output;

/* The values of a repeatable flag (and its variable), each with where it came from. */
typedef struct spec_list
{
	char	  **v;
	const char **src;			/* "--output", "CODER_SCALETEST_OUTPUTS", ... */
	int			n;
} spec_list;

/* Everything about the test in progress. */
static struct
{
	scaletest_config cfg;
	test_output	outputs[MAX_OUTPUTS];
	int			noutputs;
	spec_list	output_specs;	/* --output and CODER_SCALETEST_OUTPUTS, as given */
	spec_list	param_specs;	/* --parameter and CODER_RICH_PARAMETER, as given */
	const char *param_file_src; /* where --rich-parameter-file came from */
	bool		quiet;
	const char *db;
	bool		no_db;
	const char *label;
	json_object *tags;
	json_object *flags;
	char	   *url;
	char	   *base_url;		/* url without a trailing slash */
	char	   *token;
	char	   *coder_version;
	long		run_id;

	uv_loop_t  *loop;
	http_client *http;
	run		  **runs;			/* one per workspace, for the whole process */
	int			next;
	int			active;
	int			peak;
	int			finished;
	bool		stopping;
	bool		aborted;
	bool		skip_cleanup;
	bool		in_cleanup;
	bool		all_done;
	bool		leftovers_listed;
	bool		output_failed;	/* an --output could not be written: never exit 0 */
	int			interrupts;
	uint64_t	t0_ns;
	int64_t		elapsed_ns;		/* the test without its cleanup (Coder's elapsed) */
	int64_t		last_end_us;	/* when the last run ended, µs since the epoch */
	int64_t		end_us;			/* when the runs and their cleanup were over */
	uv_timer_t	phase_timer;
	uv_signal_t sigint;
	uv_signal_t sigterm;
	int		   *cl_list;
	int			cl_total;
	int			cl_next;
	int			cl_active;
	int			cl_finished;
	int			cl_failed;
	int			cl_peak;
} test;

/* ---------- flags ---------- */

static void
usage(FILE *out)
{
	fprintf(out,
			"Usage: coder-scale scaletest create-workspaces --template NAME|UUID [OPTIONS]\n"
			"       coder-scale scaletest cleanup [--cleanup-concurrency N] [--url URL]\n\n"
			"Runs Coder's scale test (as `coder exp scaletest create-workspaces`): creates users and\n"
			"workspaces, waits for builds and agents, runs a command through the web terminal, cleans\n"
			"up, and writes every result into coder_scale.run_result as it happens.\n\n"
			"Options (Coder's defaults):\n"
			"  -c, --count N                 workspaces to create (default 1)\n"
			"  -t, --template NAME|UUID      template (required)\n"
			"      --parameter NAME=VALUE    rich parameter (repeatable); read as Coder reads it, as\n"
			"                                comma-separated values: a=1,b=2 is two, and a value with\n"
			"                                a comma or a quote is quoted: '\"tags=[\"\"a\"\",\"\"b\"\"]\"'\n"
			"      --rich-parameter-file PATH  YAML map of parameter name to value (a --parameter of\n"
			"                                the same name wins)\n"
			"      --concurrency N           runs at a time: 0 all at once, 1 one by one (default 1)\n"
			"      --cleanup-concurrency N   cleanups at a time (default 1)\n"
			"      --timeout D               deadline for all runs, 0 none (default 30m)\n"
			"      --job-timeout D           deadline for one run (default 5m)\n"
			"      --cleanup-timeout D       deadline for all cleanups (default 30m)\n"
			"      --cleanup-job-timeout D   deadline for one cleanup (default 5m)\n"
			"      --run-command CMD         command run through the web terminal (80x24)\n"
			"      --run-timeout D           time allowed for the command (default 5s)\n"
			"      --run-expect-output TEXT  pass only if an output line contains TEXT\n"
			"      --run-expect-timeout      pass only if the command times out\n"
			"      --run-log-output          copy the command's output into the run's logs\n"
			"      --retry N                 extra start builds after a failed build (default 0)\n"
			"      --no-cleanup              keep users and workspaces\n"
			"      --no-wait-for-agents      pass once the build succeeds (no --run-command, as Coder's)\n"
			"      --use-host-login          use your own session instead of a user per run\n"
			"      --max-failures N          the command still passes (exit 0) while at most N runs\n"
			"                                failed (default 0: any failed run fails it)\n"
			"      --output FORMAT[:PATH]    text or json, into PATH or (at most one) to stdout;\n"
			"                                repeatable, comma-separated as --parameter (default text)\n"
			"Each of these is also read from the variable Coder's tool reads it from: CODER_SCALETEST_\n"
			"and the flag's name in capitals, - as _ (CODER_SCALETEST_COUNT, ..._NO_WAIT_FOR_AGENTS);\n"
			"for --output CODER_SCALETEST_OUTPUTS, for --parameter CODER_RICH_PARAMETER, for\n"
			"--rich-parameter-file CODER_RICH_PARAMETER_FILE. A flag given wins over its variable;\n"
			"--parameter and --output add to theirs.\n"
			"  coder-scale's own:\n"
			"      --url URL                 Coder's URL (else CODER_URL, else the coder CLI's config)\n"
			"      --token-file PATH         file holding the session token (else CODER_SESSION_TOKEN,\n"
			"                                else the coder CLI's config)\n"
			"      --insecure                do not verify TLS certificates\n"
			"      --quiet                   no status line while the test runs (else on stderr: one\n"
			"                                redrawn every second on a terminal, else a line every 10s)\n"
			"      --label TEXT              label of the run in the database\n"
			"      --tag KEY=VALUE           tag of the run in the database (repeatable)\n"
			"      --db CONNINFO             results database (else the libpq environment)\n"
			"      --no-db                   store nothing (like Coder's own tool)\n"
			"      --scrape NAME=URL         scrape Prometheus metrics of component NAME (coderd, database,\n"
			"                                runner, ...) during the whole run and a short tail (repeatable)\n"
			"      --scrape-interval D       time between scrapes of a target (default 5s)\n"
			"      --scrape-match REGEX      keep only metric names matching REGEX\n"
			"      --scrape-sample-limit N   samples kept per scrape (default 200000)\n"
			"      --max-connections N       HTTP calls on the wire at once, one connection each; more\n"
			"                                wait for one, and the waits are reported (default 1024)\n"
			"      --max-websockets N        websockets open at once (build logs, terminals); more wait\n"
			"                                for one. Default: one per run in flight, and a test whose\n"
			"                                runs in flight need more descriptors than the open-files\n"
			"                                limit gives is refused before it creates anything\n"
			"Durations are Go durations: 300ms, 1.5s, 2m, 1h30m. Stdout holds the results as Coder's\n"
			"tool writes them and nothing else; the summary line (\"998 succeeded, 2 failed to connect\")\n"
			"and everything else go to stderr.\n"
			"Exit codes: 0 all passed (or at most --max-failures runs failed), 1 more runs failed, a\n"
			"cleanup failed or the test was interrupted, 2 bad flags or input, 3 Coder or the database\n"
			"unreachable, 4 a result not stored or not written. Coder's own tool exits 1 for all of them.\n");
}

enum
{
	O_PARAMETER = 256, O_CONCURRENCY, O_CLEANUP_CONCURRENCY, O_TIMEOUT, O_JOB_TIMEOUT,
	O_CLEANUP_TIMEOUT, O_CLEANUP_JOB_TIMEOUT, O_RUN_COMMAND, O_RUN_TIMEOUT,
	O_RUN_EXPECT_OUTPUT, O_RUN_EXPECT_TIMEOUT, O_RUN_LOG_OUTPUT, O_NO_CLEANUP,
	O_NO_WAIT, O_RETRY, O_HOST_LOGIN, O_OUTPUT, O_URL, O_TOKEN_FILE, O_INSECURE,
	O_LABEL, O_TAG, O_DB, O_NO_DB,
	O_SCRAPE, O_SCRAPE_INTERVAL, O_SCRAPE_MATCH, O_SCRAPE_LIMIT,
	O_PARAMETER_FILE, O_MAX_FAILURES, O_QUIET, O_MAX_CONNECTIONS, O_MAX_WEBSOCKETS
};

static const struct option long_opts[] = {
	{"count", required_argument, NULL, 'c'},
	{"template", required_argument, NULL, 't'},
	{"parameter", required_argument, NULL, O_PARAMETER},
	{"rich-parameter-file", required_argument, NULL, O_PARAMETER_FILE},
	{"concurrency", required_argument, NULL, O_CONCURRENCY},
	{"cleanup-concurrency", required_argument, NULL, O_CLEANUP_CONCURRENCY},
	{"timeout", required_argument, NULL, O_TIMEOUT},
	{"job-timeout", required_argument, NULL, O_JOB_TIMEOUT},
	{"cleanup-timeout", required_argument, NULL, O_CLEANUP_TIMEOUT},
	{"cleanup-job-timeout", required_argument, NULL, O_CLEANUP_JOB_TIMEOUT},
	{"run-command", required_argument, NULL, O_RUN_COMMAND},
	{"run-timeout", required_argument, NULL, O_RUN_TIMEOUT},
	{"run-expect-output", required_argument, NULL, O_RUN_EXPECT_OUTPUT},
	{"run-expect-timeout", optional_argument, NULL, O_RUN_EXPECT_TIMEOUT},
	{"run-log-output", optional_argument, NULL, O_RUN_LOG_OUTPUT},
	{"no-cleanup", optional_argument, NULL, O_NO_CLEANUP},
	{"no-wait-for-agents", optional_argument, NULL, O_NO_WAIT},
	{"retry", required_argument, NULL, O_RETRY},
	{"use-host-login", optional_argument, NULL, O_HOST_LOGIN},
	{"max-failures", required_argument, NULL, O_MAX_FAILURES},
	{"output", required_argument, NULL, O_OUTPUT},
	{"url", required_argument, NULL, O_URL},
	{"token-file", required_argument, NULL, O_TOKEN_FILE},
	{"insecure", optional_argument, NULL, O_INSECURE},
	{"quiet", optional_argument, NULL, O_QUIET},
	{"max-connections", required_argument, NULL, O_MAX_CONNECTIONS},
	{"max-websockets", required_argument, NULL, O_MAX_WEBSOCKETS},
	{"label", required_argument, NULL, O_LABEL},
	{"tag", required_argument, NULL, O_TAG},
	{"db", required_argument, NULL, O_DB},
	{"no-db", no_argument, NULL, O_NO_DB},
	{"scrape", required_argument, NULL, O_SCRAPE},
	{"scrape-interval", required_argument, NULL, O_SCRAPE_INTERVAL},
	{"scrape-match", required_argument, NULL, O_SCRAPE_MATCH},
	{"scrape-sample-limit", required_argument, NULL, O_SCRAPE_LIMIT},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0}
};

/*
 * The environment variable of each of Coder's flags, named as its serpent
 * option names it (coder/coder cli/exp_scaletest.go
 * scaletestCreateWorkspaces, concurrencyFlags/timeoutFlags.attach with
 * cleanup set or not, scaletestOutputFlags.attach; cli/parameter.go
 * workspaceParameterFlags.cliParameters).  CODER_SCALETEST_MAX_FAILURES
 * follows their pattern (PR 21315's option is not in the stored copy).
 * Our own flags (--db, --label, --tag, --scrape..., --quiet, --no-db,
 * --token-file) have none: the project has no such pattern.
 */
static const struct
{
	int			opt;
	const char *env;
}			flag_envs[] = {
	{'c', "CODER_SCALETEST_COUNT"},
	{'t', "CODER_SCALETEST_TEMPLATE"},
	{O_RETRY, "CODER_SCALETEST_RETRY"},
	{O_NO_CLEANUP, "CODER_SCALETEST_NO_CLEANUP"},
	{O_NO_WAIT, "CODER_SCALETEST_NO_WAIT_FOR_AGENTS"},
	{O_RUN_COMMAND, "CODER_SCALETEST_RUN_COMMAND"},
	{O_RUN_TIMEOUT, "CODER_SCALETEST_RUN_TIMEOUT"},
	{O_RUN_EXPECT_TIMEOUT, "CODER_SCALETEST_RUN_EXPECT_TIMEOUT"},
	{O_RUN_EXPECT_OUTPUT, "CODER_SCALETEST_RUN_EXPECT_OUTPUT"},
	{O_RUN_LOG_OUTPUT, "CODER_SCALETEST_RUN_LOG_OUTPUT"},
	{O_HOST_LOGIN, "CODER_SCALETEST_USE_HOST_LOGIN"},
	{O_PARAMETER, "CODER_RICH_PARAMETER"},
	{O_PARAMETER_FILE, "CODER_RICH_PARAMETER_FILE"},
	{O_TIMEOUT, "CODER_SCALETEST_TIMEOUT"},
	{O_JOB_TIMEOUT, "CODER_SCALETEST_JOB_TIMEOUT"},
	{O_CONCURRENCY, "CODER_SCALETEST_CONCURRENCY"},
	{O_CLEANUP_TIMEOUT, "CODER_SCALETEST_CLEANUP_TIMEOUT"},
	{O_CLEANUP_JOB_TIMEOUT, "CODER_SCALETEST_CLEANUP_JOB_TIMEOUT"},
	{O_CLEANUP_CONCURRENCY, "CODER_SCALETEST_CLEANUP_CONCURRENCY"},
	{O_OUTPUT, "CODER_SCALETEST_OUTPUTS"},
	{O_MAX_FAILURES, "CODER_SCALETEST_MAX_FAILURES"},
	{0, NULL}
};

/*
 * Add the values of ARG (from SRC) to L, split as serpent's StringArray
 * splits them (common/flags.h flag_csv); an empty ARG empties L, as there.
 */
static int
add_specs(spec_list *l, const char *src, const char *arg)
{
	int			before = l->n;

	if (!flag_csv(src, arg, &l->v, &l->n))
		return EXIT_USAGE;
	if (!(l->src = realloc(l->src, sizeof(char *) * (l->n + 1))))
		cli_out_of_memory("the flags");
	for (int i = l->n < before ? l->n : before; i < l->n; i++)
		l->src[i] = src;
	return EXIT_OK;
}

/* One output of the test; false when there are too many. */
static bool
push_output(bool json, const char *path)
{
	if (test.noutputs >= MAX_OUTPUTS)
		return false;
	test.outputs[test.noutputs].json = json;
	test.outputs[test.noutputs++].path = path;
	return true;
}

/*
 * The outputs as Coder's scaletestOutputFlags.parse makes them (coder/coder
 * cli/exp_scaletest.go): FORMAT[:PATH] each, FORMAT text or json; without
 * a path it is stdout, and at most one may be; text to stdout only when no
 * output is given at all; the stdout one is written first.
 */
static int
parse_outputs(void)
{
	spec_list  *l = &test.output_specs;
	int			to_stdout = -1;		/* 0 text, 1 json */

	for (int i = 0; i < l->n; i++)
	{
		const char *spec = l->v[i];
		const char *colon = strchr(spec, ':');
		int			flen = colon ? (int) (colon - spec) : (int) strlen(spec);
		bool		json = flen == 4 && strncmp(spec, "json", 4) == 0;

		if (!json && !(flen == 4 && strncmp(spec, "text", 4) == 0))
			return flag_error(l->src[i], NULL, "invalid output format \"%.*s\" in output flag %d", flen, spec, i);
		if (colon)
			continue;
		if (to_stdout >= 0)
			return flag_error(l->src[i], NULL, "multiple output flags specified for stdout");
		to_stdout = json;
	}
	if (to_stdout < 0 && l->n == 0)
		to_stdout = 0;
	if (to_stdout >= 0)
		push_output(to_stdout == 1, NULL);
	for (int i = 0; i < l->n; i++)
		if (strchr(l->v[i], ':') && !push_output(strncmp(l->v[i], "json", 4) == 0, strchr(l->v[i], ':') + 1))
			return flag_error(l->src[i], NULL, "at most %d outputs", MAX_OUTPUTS);
	return EXIT_OK;
}

/*
 * The rich parameters as Coder's prepWorkspaceBuild gathers them
 * (cli/create.go, cli/parameterresolver.go Resolve): the file's first, then
 * every --parameter (or CODER_RICH_PARAMETER) over them: the same name
 * replaces the value, a new one is appended.
 */
static int
resolve_params(void)
{
	scaletest_config *c = &test.cfg;
	spec_list  *l = &test.param_specs;
	char	   *why = NULL;

	if (c->rich_parameter_file && !paramfile_read(c->rich_parameter_file, &c->params, &c->nparams, &why))
	{
		flag_error(test.param_file_src, c->rich_parameter_file, "can't parse parameter map file: %s", why);
		free(why);
		return EXIT_USAGE;
	}
	for (int i = 0; i < l->n; i++)
	{
		const char *eq = strchr(l->v[i], '=');
		char	   *name;

		if (!eq || eq == l->v[i])
			return flag_error(l->src[i], NULL, "expected NAME=VALUE, for example --parameter cpu=2");
		name = strndup(l->v[i], (size_t) (eq - l->v[i]));
		params_set(&c->params, &c->nparams, name, eq + 1, false);
		free(name);
	}
	return EXIT_OK;
}

/* Record a flag in run.flags, as given. */
static void
note_flag(const char *name, const char *arg)
{
	json_object_object_add(test.flags, name, json_object_new_string(arg ? arg : "true"));
}

/* ---------- --scrape: Prometheus targets scraped on the run's own loop ---------- */

#define MAX_SCRAPE_TARGETS 64

static struct
{
	scrape_target targets[MAX_SCRAPE_TARGETS];
	int			n;
	double		interval;		/* seconds */
	regex_t		match;
	bool		have_match;
	int64_t		sample_limit;
	scraper    *sc;
	samples    *sink;
	uv_timer_t	timer;
} scraping = {.interval = 5};

static int
scrape_flag(int opt, const char *arg)
{
	int64_t		ns;

	switch (opt)
	{
		case O_SCRAPE:
			return scrape_target_parse(strdup(arg), scraping.targets, &scraping.n, MAX_SCRAPE_TARGETS) ? EXIT_OK : EXIT_USAGE;
		case O_SCRAPE_INTERVAL:
			if (!flag_duration("--scrape-interval", arg, SCRAPE_INTERVAL_MIN_NS, SCRAPE_INTERVAL_MAX_NS, &ns))
				return EXIT_USAGE;
			scraping.interval = ns / 1e9;
			return EXIT_OK;
		case O_SCRAPE_MATCH:
			if (!flag_regex("--scrape-match", arg, &scraping.match))
				return EXIT_USAGE;
			scraping.have_match = true;
			return EXIT_OK;
		case O_SCRAPE_LIMIT:
			return flag_int("--scrape-sample-limit", arg, 1, INT32_MAX, &scraping.sample_limit) ? EXIT_OK : EXIT_USAGE;
	}
	return flag_error("flags", NULL, "unknown flag");
}

/*
 * Flag OPT with value ARG (NULL: a bare flag) from SRC: "--count" for the
 * command line, the variable's name for the environment, so that a
 * message names where the bad value came from.
 */
static int
parse_one(int opt, const char *arg, const char *src, const char *tokfile_out[])
{
	scaletest_config *c = &test.cfg;

	switch (opt)
	{
		case 'c':
			return flag_int32(src, arg, 1, &c->count) ? EXIT_OK : EXIT_USAGE;
		case 't':
			c->template_arg = arg;
			return EXIT_OK;
		case O_PARAMETER:
			return add_specs(&test.param_specs, src, arg);
		case O_PARAMETER_FILE:
			c->rich_parameter_file = arg[0] ? arg : NULL;
			test.param_file_src = src;
			return EXIT_OK;
		case O_CONCURRENCY:
			return flag_int32(src, arg, 0, &c->concurrency) ? EXIT_OK : EXIT_USAGE;
		case O_CLEANUP_CONCURRENCY:
			return flag_int32(src, arg, 0, &c->cleanup_concurrency) ? EXIT_OK : EXIT_USAGE;
		case O_TIMEOUT:
			return flag_duration_ms(src, arg, 0, &c->timeout_ms) ? EXIT_OK : EXIT_USAGE;
		case O_JOB_TIMEOUT:
			return flag_duration_ms(src, arg, 0, &c->job_timeout_ms) ? EXIT_OK : EXIT_USAGE;
		case O_CLEANUP_TIMEOUT:
			return flag_duration_ms(src, arg, 0, &c->cleanup_timeout_ms) ? EXIT_OK : EXIT_USAGE;
		case O_CLEANUP_JOB_TIMEOUT:
			return flag_duration_ms(src, arg, 0, &c->cleanup_job_timeout_ms) ? EXIT_OK : EXIT_USAGE;
		case O_RUN_COMMAND:
			c->run_command = arg[0] ? arg : NULL;
			return EXIT_OK;
		case O_RUN_TIMEOUT:
			return flag_duration_ms(src, arg, 0, &c->run_timeout_ms) ? EXIT_OK : EXIT_USAGE;
		case O_RUN_EXPECT_OUTPUT:
			c->run_expect_output = arg[0] ? arg : NULL;
			return EXIT_OK;
		case O_RUN_EXPECT_TIMEOUT:
			return flag_bool(src, arg, &c->run_expect_timeout) ? EXIT_OK : EXIT_USAGE;
		case O_RUN_LOG_OUTPUT:
			return flag_bool(src, arg, &c->run_log_output) ? EXIT_OK : EXIT_USAGE;
		case O_NO_CLEANUP:
			return flag_bool(src, arg, &c->no_cleanup) ? EXIT_OK : EXIT_USAGE;
		case O_NO_WAIT:
			return flag_bool(src, arg, &c->no_wait_for_agents) ? EXIT_OK : EXIT_USAGE;
		case O_RETRY:
			return flag_int32(src, arg, 0, &c->retry) ? EXIT_OK : EXIT_USAGE;
		case O_HOST_LOGIN:
			return flag_bool(src, arg, &c->use_host_login) ? EXIT_OK : EXIT_USAGE;
		case O_MAX_FAILURES:
			return flag_int32(src, arg, 0, &c->max_failures) ? EXIT_OK : EXIT_USAGE;
		case O_OUTPUT:
			return add_specs(&test.output_specs, src, arg);
		case O_URL:
			test.url = strdup(arg);
			return EXIT_OK;
		case O_TOKEN_FILE:
			tokfile_out[0] = arg;
			return EXIT_OK;
		case O_INSECURE:
			return flag_bool(src, arg, &c->insecure) ? EXIT_OK : EXIT_USAGE;
		case O_QUIET:
			return flag_bool(src, arg, &test.quiet) ? EXIT_OK : EXIT_USAGE;
		case O_MAX_CONNECTIONS:
			return flag_int32(src, arg, 1, &c->max_connections) ? EXIT_OK : EXIT_USAGE;
		case O_MAX_WEBSOCKETS:
			return flag_int32(src, arg, 1, &c->max_websockets) ? EXIT_OK : EXIT_USAGE;
		case O_LABEL:
			test.label = arg;
			return EXIT_OK;
		case O_TAG:
			return flag_tag(src, arg, test.tags) ? EXIT_OK : EXIT_USAGE;
		case O_DB:
			test.db = arg;
			return EXIT_OK;
		case O_NO_DB:
			test.no_db = true;
			return EXIT_OK;
		case O_SCRAPE:
		case O_SCRAPE_INTERVAL:
		case O_SCRAPE_MATCH:
		case O_SCRAPE_LIMIT:
			return scrape_flag(opt, arg);
	}
	return flag_error("flags", NULL, "unknown flag");
}

/* The long name of option OPT with its dashes ("--count"), as the messages name it. */
static const char *
opt_flag(int opt)
{
	static char names[sizeof(long_opts) / sizeof(long_opts[0])][40];

	for (int k = 0; long_opts[k].name; k++)
		if (long_opts[k].val == opt)
		{
			snprintf(names[k], sizeof(names[k]), "--%s", long_opts[k].name);
			return names[k];
		}
	return "--?";
}

/* Note OPT's value in run.flags (not where the run goes, nor secrets' paths, nor --quiet), then apply it. */
static int
apply_flag(int opt, const char *arg, const char *src, const char **token_file)
{
	if (opt != O_TAG && opt != O_DB && opt != O_URL && opt != O_TOKEN_FILE && opt != O_LABEL && opt != O_QUIET)
		note_flag(opt_flag(opt) + 2, arg);
	return parse_one(opt, arg, src, token_file);
}

/*
 * The variables of Coder's flags (flag_envs), read before the command line
 * so that a flag given there wins (serpent parses the environment, then the
 * flags; a repeatable flag's values follow the variable's).  Coder's
 * CODER_SCALETEST_CONNECT_URL asks for WireGuard connections, which
 * coder-scale does not make: refused rather than ignored.
 */
static int
apply_env(const char **token_file)
{
	const char *v;
	int			rc;

	for (int k = 0; flag_envs[k].env; k++)
		if ((v = flag_env(flag_envs[k].env)) &&
			(rc = apply_flag(flag_envs[k].opt, v, flag_envs[k].env, token_file)) != EXIT_OK)
			return rc;
	if ((v = flag_env("CODER_SCALETEST_CONNECT_URL")))
		return flag_error("CODER_SCALETEST_CONNECT_URL", v,
						  "coder-scale makes no WireGuard connections (Coder's --connect-url); unset it");
	return EXIT_OK;
}

/* The checks once every flag and variable is read. */
static int
check_flags(void)
{
	scaletest_config *c = &test.cfg;
	int			rc;

	if (!c->template_arg)
		return flag_error("--template", NULL, "is required (a template name or UUID; or CODER_SCALETEST_TEMPLATE)");
	if (!c->template_arg[0])
		return flag_error("--template", NULL, "is empty: give a template name or UUID");
	if (c->count > 1000000)
		return flag_error("--count", NULL, "at most 1000000");
	if (c->run_expect_timeout && !c->run_command)
		return flag_error("--run-expect-timeout", NULL, "needs --run-command");
	if (c->run_expect_output && !c->run_command)
		return flag_error("--run-expect-output", NULL, "needs --run-command");
	if (scraping.n > 0 && test.no_db)
		return flag_error("--scrape", NULL, "needs the results database (it cannot go with --no-db)");
	if ((rc = parse_outputs()) != EXIT_OK)
		return rc;
	return resolve_params();
}

static int
parse_flags(int argc, char **argv, const char **token_file)
{
	int			opt;
	int			rc;
	int			n = 0;
	int		   *opts = malloc(sizeof(int) * (size_t) argc);
	char	  **args = malloc(sizeof(char *) * (size_t) argc);
	scaletest_config *c = &test.cfg;

	if (!opts || !args)
		cli_out_of_memory("the flags");
	c->count = 1;
	c->concurrency = 1;
	c->cleanup_concurrency = 1;
	c->max_connections = HTTP_DEFAULT_CONNECTIONS;
	c->timeout_ms = 30 * 60 * 1000;
	c->job_timeout_ms = 5 * 60 * 1000;
	c->cleanup_timeout_ms = 30 * 60 * 1000;
	c->cleanup_job_timeout_ms = 5 * 60 * 1000;
	c->run_timeout_ms = 5000;
	test.tags = json_object_new_object();
	test.flags = json_object_new_object();
	optind = 1;
	opterr = 0;
	/* the command line first as it is (--help and a wrong flag win), applied after the environment */
	while ((opt = getopt_long(argc, argv, ":c:t:h", long_opts, NULL)) != -1)
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
		opts[n] = opt;
		args[n++] = optarg;
	}
	if (optind < argc)
		return flag_error(argv[optind], NULL, "unexpected argument");
	if ((rc = apply_env(token_file)) != EXIT_OK)
		return rc;
	for (int k = 0; k < n; k++)
		if ((rc = apply_flag(opts[k], args[k], opt_flag(opts[k]), token_file)) != EXIT_OK)
			return rc;
	free(opts);
	free(args);
	return check_flags();
}

/* ---------- URL and token, as the coder CLI finds them ---------- */

static char *
read_trimmed(const char *path)
{
	FILE	   *f = fopen(path, "r");
	char		buf[4096];
	size_t		n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && isspace((unsigned char) buf[n - 1]))
		buf[--n] = '\0';
	return n ? strdup(buf) : NULL;
}

static char *
coder_config_file(const char *name)
{
	const char *dir = getenv("CODER_CONFIG_DIR");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char	   *path = NULL;
	char	   *v;

	if (dir && *dir)
	{
		if (asprintf(&path, "%s/%s", dir, name) < 0)
			return NULL;
	}
	else if (xdg && *xdg)
	{
		if (asprintf(&path, "%s/coderv2/%s", xdg, name) < 0)
			return NULL;
	}
	else if (home && *home)
	{
		if (asprintf(&path, "%s/.config/coderv2/%s", home, name) < 0)
			return NULL;
	}
	else
		return NULL;
	v = read_trimmed(path);
	free(path);
	return v;
}

/* Whether URL parses (libcurl's URL parser) and names a host. */
static bool
url_has_host(const char *url)
{
	CURLU	   *u = curl_url();
	char	   *host = NULL;
	bool		ok;

	ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && host[0];
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

/* Fill test.url and test.token; exit code on failure. */
int
scaletest_find_login(char **url, char **token, const char *token_file)
{
	const char *env;

	if (!*url && (env = getenv("CODER_URL")) && *env)
		*url = strdup(env);
	if (!*url)
		*url = coder_config_file("url");
	if (!*url)
		return flag_error("--url", NULL, "no Coder URL: give --url, set CODER_URL, or log in with the coder CLI");
	if (strncmp(*url, "http://", 7) != 0 && strncmp(*url, "https://", 8) != 0)
		return flag_error("--url", NULL, "must start with http:// or https://");
	if (!url_has_host(*url))
		return flag_error("--url", NULL, "names no host: give a URL such as https://coder.example.com");
	if (token_file)
	{
		*token = read_trimmed(token_file);
		if (!*token)
		{
			cli_error("scaletest: --token-file %s: cannot read a token from it", token_file);
			return EXIT_USAGE;
		}
	}
	else if ((env = getenv("CODER_SESSION_TOKEN")) && *env)
		*token = strdup(env);
	else
		*token = coder_config_file("session");
	if (!*token)
		return flag_error("token", NULL, "no session token: set CODER_SESSION_TOKEN, give --token-file, or log in with the coder CLI");
	return EXIT_OK;
}

/* ---------- checks before anything is created ---------- */

/* The start of an answer on one line, for a message: at most 80 printable characters. */
static void
excerpt(const char *body, char *out, size_t size)
{
	size_t		n = 0;
	bool		space = false;

	for (const unsigned char *p = (const unsigned char *) (body ? body : ""); *p && n + 4 < size; p++)
	{
		if (*p <= ' ' || *p >= 0x7f)
		{
			space = n > 0;
			continue;
		}
		if (space)
			out[n++] = ' ';
		space = false;
		out[n++] = (char) *p;
		if (n >= 80)
		{
			out[n++] = '.', out[n++] = '.', out[n++] = '.';
			break;
		}
	}
	out[n] = '\0';
}

/*
 * Coder answers GET /api/v2/buildinfo with 200 and a JSON object holding
 * "version" (codersdk/buildinfo.go, BuildInfoResponse); anything else is some other
 * server.
 */
static void
not_coder(const char *url, const http_sync *s)
{
	char		ex[96];

	excerpt(s->body, ex, sizeof(ex));
	cli_error("scaletest: %s does not look like a Coder deployment: GET /api/v2/buildinfo answered HTTP %ld%s%s%s",
			  url, s->status, ex[0] ? " \"" : " with an empty body", ex, ex[0] ? "\"" : "");
	fprintf(stderr, "Give the URL of coderd (the one you open in a browser, e.g. --url https://coder.example.com), not that of an exporter or proxy.\n");
}

/*
 * Copy the id WHAT of the answer to CALL into DST if it is a UUID, the only
 * form of id that goes into a request path (a UUID needs no
 * percent-encoding); else say so and return false.
 */
static bool
answer_uuid(const char *call, const char *what, const char *src, char *dst, size_t size)
{
	char		ex[96];

	dst[0] = '\0';
	if (is_uuid(src))
	{
		snprintf(dst, size, "%s", src);
		return true;
	}
	excerpt(src, ex, sizeof(ex));
	if (!src || !*src)
		cli_error("scaletest: %s: no %s id in the answer", call, what);
	else
		cli_error("scaletest: %s: the answer's %s id \"%s\" is not a UUID", call, what, ex);
	return false;
}

/* GET /buildinfo and /users/me: exit code on failure. */
int
scaletest_check_server(http_client *http, const char *url, const char *token,
					   char **version, char *me_id, size_t me_size, char *org_id, size_t org_size)
{
	http_sync	s;
	json_object *j, *orgs;
	bool		ok;

	http_sync_call(http, "GET", "/api/v2/buildinfo", &(http_auth) {NULL, false}, NULL, &s);
	if (s.unreachable)
	{
		cli_error("scaletest: cannot reach Coder at %s: %s", url, s.error ? s.error : "no answer");
		http_sync_free(&s);
		return EXIT_UNREACHABLE;
	}
	j = s.status == 200 ? json_tokener_parse(s.body) : NULL;
	if (!jstr(j, "version"))
	{
		not_coder(url, &s);
		json_object_put(j);
		http_sync_free(&s);
		return EXIT_UNREACHABLE;
	}
	if (version)
		*version = strdup(jstr(j, "version"));
	json_object_put(j);
	http_sync_free(&s);

	http_sync_call(http, "GET", "/api/v2/users/me", &(http_auth) {token, false}, NULL, &s);
	if (s.status == 401 || s.status == 403)
	{
		cli_error("scaletest: the session token was refused (HTTP %ld): log in again or give another token", s.status);
		http_sync_free(&s);
		return EXIT_USAGE;
	}
	if (s.status != 200)
	{
		cli_error("scaletest: GET /api/v2/users/me: %s", s.error ? s.error : "no answer");
		http_sync_free(&s);
		return s.unreachable ? EXIT_UNREACHABLE : EXIT_INTERNAL;
	}
	j = json_tokener_parse(s.body);
	ok = answer_uuid("GET /api/v2/users/me", "user", jstr(j, "id"), me_id, me_size);
	if (ok && org_id && json_object_object_get_ex(j, "organization_ids", &orgs) &&
		json_object_is_type(orgs, json_type_array) && json_object_array_length(orgs) > 0)
		ok = answer_uuid("GET /api/v2/users/me", "organization",
						 json_object_get_string(json_object_array_get_idx(orgs, 0)), org_id, org_size);
	json_object_put(j);
	http_sync_free(&s);
	return ok ? EXIT_OK : EXIT_INTERNAL;
}

/* GET PATH with the CLI's client: its JSON answer, or an exit code. */
static int
get_json(const char *path, const char *what, json_object **out)
{
	http_sync	s;

	*out = NULL;
	http_sync_call(test.http, "GET", path, &(http_auth) {test.token, false}, NULL, &s);
	if (s.status == 404 || s.status == 400)
	{
		cli_error("scaletest: --template %s: no such template: give a template name of your organization or its UUID",
				  test.cfg.template_arg);
		http_sync_free(&s);
		return EXIT_USAGE;
	}
	if (s.status != 200)
	{
		cli_error("scaletest: %s: %s", what, s.error ? s.error : "no answer");
		http_sync_free(&s);
		return s.unreachable ? EXIT_UNREACHABLE : EXIT_INTERNAL;
	}
	*out = json_tokener_parse(s.body);
	http_sync_free(&s);
	return EXIT_OK;
}

/*
 * The template as Coder's parseTemplate finds it: GET /templates/{id} for a
 * UUID, else the organization's list, searched by name.
 */
static int
fetch_template(json_object **tpl)
{
	const char *arg = test.cfg.template_arg;
	char		path[256];
	json_object *arr;
	int			rc;

	if (is_uuid(arg))
	{
		snprintf(path, sizeof(path), "/api/v2/templates/%s", arg);
		return get_json(path, "parse template: get template by ID", tpl);
	}
	if (!test.cfg.org_id[0])
	{
		cli_error("scaletest: your user belongs to no organization");
		return EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "/api/v2/organizations/%s/templates", test.cfg.org_id);
	if ((rc = get_json(path, "parse template: list templates", &arr)) != EXIT_OK)
		return rc;
	*tpl = NULL;
	for (size_t k = 0; json_object_is_type(arr, json_type_array) && k < json_object_array_length(arr); k++)
	{
		json_object *t = json_object_array_get_idx(arr, k);

		if (jstr(t, "name") && strcmp(jstr(t, "name"), arg) == 0)
		{
			*tpl = json_object_get(t);
			break;
		}
	}
	json_object_put(arr);
	if (!*tpl)
	{
		cli_error("scaletest: --template %s: no such template: give a template name of your organization or its UUID", arg);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* The template, then the build its workspaces get planned (plan.c). */
static int
find_template(void)
{
	scaletest_config  *c = &test.cfg;
	char		version[64] = "";
	json_object *j;
	bool		ok;
	int			rc;

	if ((rc = fetch_template(&j)) != EXIT_OK)
		return rc;
	ok = answer_uuid("find template", "template", jstr(j, "id"), c->template_id, sizeof(c->template_id));
	snprintf(c->template_name, sizeof(c->template_name), "%s", jstr(j, "name") ? jstr(j, "name") : c->template_arg);
	if (ok)
		ok = answer_uuid("find template", "active version", jstr(j, "active_version_id"), version, sizeof(version));
	json_object_put(j);
	if (!ok)
		return EXIT_INTERNAL;
	return plan_build(test.http, test.loop, test.token, c, version);
}

/* ---------- outputs ---------- */

/* Open PATH for writing without truncating it yet (that happens when the results are written). */
static FILE *
open_output(const char *path, bool *created)
{
	int			fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	FILE	   *f;

	*created = fd >= 0;
	if (fd < 0 && errno == EEXIST)
		fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (!(f = fdopen(fd, "w")))
		close(fd);
	return f;
}

/* The test never started: close the outputs, remove the files made for them. */
static void
discard_outputs(void)
{
	for (int k = 0; k < test.noutputs; k++)
	{
		test_output  *o = &test.outputs[k];

		if (o->f && o->f != stdout)
		{
			fclose(o->f);
			if (o->created)
				unlink(o->path);
		}
		o->f = NULL;
	}
}

/*
 * Open every --output file before anything is created on Coder, so a path
 * that cannot be written is a usage error (exit 2) and not a lost result.
 */
static int
open_outputs(void)
{
	for (int k = 0; k < test.noutputs; k++)
	{
		test_output  *o = &test.outputs[k];

		if (!o->path || strcmp(o->path, "-") == 0)
		{
			o->f = stdout;
			continue;
		}
		o->f = open_output(o->path, &o->created);
		if (!o->f)
		{
			cli_error("scaletest: --output %s%s: %s", o->json ? "json:" : "text:", o->path, strerror(errno));
			fprintf(stderr, "Nothing was started. Give a path in a directory you can write to.\n");
			return EXIT_USAGE;
		}
	}
	return EXIT_OK;
}

/* Write every output; false when one could not be written (said on stderr). */
static bool
write_outputs(void)
{
	results		res;
	bool		ok = true;

	results_init(&res, test.elapsed_ns);
	for (int i = 0; i < test.cfg.count; i++)
		if (runner_record(test.runs[i])->done)
			results_add_record(&res, runner_record(test.runs[i]));
	for (int k = 0; k < test.noutputs; k++)
	{
		test_output  *o = &test.outputs[k];
		bool		bad;

		if (!o->f)
			continue;
		if (o->f != stdout && ftruncate(fileno(o->f), 0) != 0)
		{
			cli_error("scaletest: --output %s: cannot write the results: %s", o->path, strerror(errno));
			ok = false;
		}
		if (o->json)
			results_write_json(o->f, &res);
		else
			results_print_text(o->f, &res);
		bad = fflush(o->f) != 0 || ferror(o->f);
		if (o->f != stdout && fclose(o->f) != 0)
			bad = true;
		o->f = NULL;
		if (bad)
		{
			cli_error("scaletest: --output %s: cannot write the results: %s", o->path ? o->path : "-",
					  strerror(errno));
			ok = false;
		}
	}
	results_free(&res);
	return ok;
}

/*
 * The summary line of Coder's tool, computed from the runs when the database
 * cannot give run_summary's: "998 succeeded, 2 failed to connect".  A run
 * that passed but whose cleanup failed counts as cleanup_failed, as there.
 */
static void
summary_line(FILE *f)
{
	int			counts[CAT_COUNT] = {0};
	int			pass = 0;
	char	   *line = test.no_db ? NULL : store_summary(test.db, test.run_id);

	if (line)
	{
		fprintf(f, "%s\n", line);
		free(line);
		return;
	}
	for (int i = 0; i < test.cfg.count; i++)
	{
		const run_record *r = runner_record(test.runs[i]);
		failure_category cat = r->category;

		if (!r->done)
			continue;
		if (cat == CAT_NONE && r->cl_error)
			cat = CAT_CLEANUP_FAILED;
		if (cat == CAT_NONE)
			pass++;
		else
			counts[cat]++;
	}
	fprintf(f, "%d succeeded", pass);
	for (int k = 0; k < CAT_COUNT; k++)
		if (counts[k])
		{
			const char *name = category_name((failure_category) k);
			const char *w = test.no_db ? NULL : store_wording(name);

			fprintf(f, ", %d %s", counts[k], w ? w : name);
		}
	fputc('\n', f);
}

/* ---------- the scheduler ---------- */

static void start_cleanup_phase(void);
static void finish_all(void);

static void
pump_runs(void)
{
	while (!test.stopping && test.next < test.cfg.count &&
		   (test.cfg.concurrency == 0 || test.active < test.cfg.concurrency))
	{
		run		   *r = test.runs[test.next++];

		test.active++;
		if (test.active > test.peak)
			test.peak = test.active;
		runner_start(r);
	}
}

/*
 * Coder's elapsed: the harness measures around its runs, so from the first
 * run's start to the last run's end (coder/coder scaletest/harness/run.go,
 * results.go). Taken from the stored starts and durations (whole µs), it is
 * what run_summary.elapsed gives for this run.
 */
static void
measure_elapsed(void)
{
	int64_t		first = INT64_MAX,
				last = INT64_MIN;

	for (int i = 0; i < test.cfg.count; i++)
	{
		const run_record *r = runner_record(test.runs[i]);

		if (!r->done)
			continue;
		if (run_start_us(test.runs[i]) < first)
			first = run_start_us(test.runs[i]);
		if (run_start_us(test.runs[i]) + r->duration_us > last)
			last = run_start_us(test.runs[i]) + r->duration_us;
	}
	test.last_end_us = last > INT64_MIN ? last : 0;
	test.elapsed_ns = last > INT64_MIN ? (last - first) * 1000 : 0;
}

static int64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
runs_over(void)
{
	uv_timer_stop(&test.phase_timer);
	measure_elapsed();
	progress_clear();
	if (!write_outputs())
		test.output_failed = true;
	start_cleanup_phase();
}

static void
check_runs_over(void)
{
	if (test.in_cleanup || test.all_done || test.active > 0)
		return;
	if (test.next >= test.cfg.count || test.stopping)
		runs_over();
}

static void
on_run_done(run *r)
{
	test.active--;
	test.finished++;
	progress_move(runner_record(r)->idx, runner_record(r)->error ? PS_FAILED : PS_DONE);
	if (!test.no_db)
		store_result(runner_record(r));
	pump_runs();
	check_runs_over();
}

static void
runs_timed_out(uv_timer_t *t)
{
	(void) t;
	test.stopping = true;
	for (int i = 0; i < test.cfg.count; i++)
		runner_stop(test.runs[i], "context deadline exceeded", CAT_NONE);
	for (int i = test.next; i < test.cfg.count; i++)
	{
		test.active++;
		runner_fail_unstarted(test.runs[i], "context deadline exceeded", CAT_JOB_TIMEOUT);
	}
	test.next = test.cfg.count;
	check_runs_over();
}

static void
pump_cleanups(void)
{
	while (!test.skip_cleanup && test.cl_next < test.cl_total &&
		   (test.cfg.cleanup_concurrency == 0 || test.cl_active < test.cfg.cleanup_concurrency))
	{
		run		   *r = test.runs[test.cl_list[test.cl_next++]];

		test.cl_active++;
		if (test.cl_active > test.cl_peak)
			test.cl_peak = test.cl_active;
		progress_cleanup_started();
		runner_cleanup(r);
	}
	if (test.cl_active == 0 && (test.cl_next >= test.cl_total || test.skip_cleanup))
		finish_all();
}

static void
on_cleanup_done(run *done)
{
	const run_record *r = runner_record(done);

	test.cl_active--;
	test.cl_finished++;
	progress_cleanup_ended(!r->cl_error ? PC_CLEANED : r->cl_canceled ? PC_LEFT : PC_FAILED);
	if (r->cl_error)
	{
		test.cl_failed++;
		if (!r->cl_canceled)		/* those are listed as left behind */
		{
			progress_clear();
			fprintf(stderr, "coder-scale: scaletest: cleanup of %s failed: %s\n", r->full_id, r->cl_error);
		}
	}
	if (!test.no_db)
		store_cleanup(r);
	pump_cleanups();
}

static void
cleanup_timed_out(uv_timer_t *t)
{
	(void) t;
	test.skip_cleanup = true;
	for (int i = 0; i < test.cfg.count; i++)
		runner_stop_cleanup(test.runs[i], "cleanup: context deadline exceeded");
	pump_cleanups();
}

static void
start_cleanup_phase(void)
{
	test.in_cleanup = true;
	test.cl_list = malloc(sizeof(int) * (test.cfg.count + 1));
	for (int i = 0; i < test.cfg.count; i++)
		if (runner_record(test.runs[i])->started && runner_needs_cleanup(test.runs[i]))
			test.cl_list[test.cl_total++] = i;
	if (test.cfg.no_cleanup || test.cl_total == 0)
	{
		finish_all();
		return;
	}
	progress_clear();
	progress_cleanup_begin(test.cl_total);
	fprintf(stderr, "\nCleaning up %d run%s...\n", test.cl_total, test.cl_total == 1 ? "" : "s");
	uv_update_time(test.loop);
	if (test.cfg.cleanup_timeout_ms > 0)
		uv_timer_start(&test.phase_timer, cleanup_timed_out, (uint64_t) test.cfg.cleanup_timeout_ms + 1, 0);
	pump_cleanups();
}

static void
finish_all(void)
{
	if (test.all_done)
		return;
	uv_timer_stop(&test.phase_timer);
	progress_stop();
	test.all_done = true;
	test.end_us = wall_us();
	uv_stop(test.loop);
}

static void
list_leftovers(void)
{
	int			n = 0;

	if (test.leftovers_listed)
		return;
	test.leftovers_listed = true;
	for (int k = 0; k < test.cl_total; k++)
	{
		const run_record *r = runner_record(test.runs[test.cl_list[k]]);

		if (r->cl_done && !r->cl_error)
			continue;
		if (n++ == 0)
			fprintf(stderr, "coder-scale: scaletest: cleanup skipped; left behind:\n");
		if (r->ws_attempted)
			fprintf(stderr, "  workspace %s%s%s%s\n", r->name, r->ws_id[0] ? " (" : "", r->ws_id,
					r->ws_id[0] ? ")" : "");
		if (r->user_attempted && !test.cfg.use_host_login)
			fprintf(stderr, "  user %s%s%s%s\n", runner_username(test.runs[test.cl_list[k]]), r->user_id[0] ? " (" : "", r->user_id,
					r->user_id[0] ? ")" : "");
	}
	if (n)
		fprintf(stderr, "Run 'coder-scale scaletest cleanup' to remove them.\n");
}

static void
on_signal(uv_signal_t *h, int signum)
{
	(void) h;
	test.interrupts++;
	test.aborted = true;
	progress_clear();
	if (!test.in_cleanup)
	{
		fprintf(stderr, "\ncoder-scale: scaletest: %s: stopping the runs and cleaning up (again to skip cleanup)\n",
				strsignal(signum));
		test.stopping = true;
		for (int i = 0; i < test.cfg.count; i++)
			runner_stop(test.runs[i], "context canceled", CAT_OTHER);
		check_runs_over();
		return;
	}
	fprintf(stderr, "\ncoder-scale: scaletest: %s: skipping cleanup\n", strsignal(signum));
	test.skip_cleanup = true;
	for (int i = 0; i < test.cfg.count; i++)
		runner_cancel_cleanup(test.runs[i]);
	list_leftovers();
	pump_cleanups();
}

/*
 * Before it, when any call or websocket waited for a descriptor: how many
 * and how long (the waits are in the phases' durations).
 */
static void
print_waits(void)
{
	const http_wait_stats *h = http_waits(test.http);
	const http_wait_stats *w = ws_waits();

	if (h->waited > 0)
		fprintf(stderr, "coder-scale: scaletest: %ld HTTP calls waited for one of %d connections "
				"(--max-connections), longest %.3fs, %.3fs on average\n", h->waited, test.cfg.max_connections,
				h->longest_ms / 1000.0, h->total_ms / 1000.0 / h->waited);
	if (w->waited > 0)
		fprintf(stderr, "coder-scale: scaletest: %ld websockets waited for one of %d (--max-websockets), "
				"longest %.3fs, %.3fs on average\n", w->waited, test.cfg.max_websockets,
				w->longest_ms / 1000.0, w->total_ms / 1000.0 / w->waited);
}

/*
 * The last line on stderr: what was run and what its cleanup really did:
 * cleaned up (removed), failed, and left behind (failed, stopped by a
 * second signal or the cleanup timeout, or never started), with the
 * cleanup's duration (run_summary.cleanup_elapsed for a stored run).
 */
static void
print_status(void)
{
	char		run_id[32] = "",
				d[64];
	int			cleaned = 0,
				failed = 0;

	for (int k = 0; k < test.cl_total; k++)
	{
		const run_record *r = runner_record(test.runs[test.cl_list[k]]);

		if (r->cl_done && !r->cl_error)
			cleaned++;
		else if (r->cl_done && !r->cl_canceled)
			failed++;
	}
	print_waits();
	if (!test.no_db)
		snprintf(run_id, sizeof(run_id), "run %ld: ", test.run_id);
	fprintf(stderr, "coder-scale: scaletest: %s%d runs, peak %d in flight; ", run_id, test.finished, test.peak);
	if (test.cfg.no_cleanup || test.cl_total == 0)
	{
		fprintf(stderr, "%s\n", test.cfg.no_cleanup ? "no cleanup (--no-cleanup)" : "nothing to clean up");
		return;
	}
	fprintf(stderr, "cleanup: %d cleaned up (peak %d), %d failed, %d left behind; cleanup duration %s\n",
			cleaned, test.cl_peak, failed, test.cl_total - cleaned,
			go_duration_format(test.cl_finished > 0 ? (test.end_us - test.last_end_us) * 1000 : 0, d, sizeof(d)));
}

/* ---------- main ---------- */

/* The open-files limit raised to its hard limit; the limit now. */
static long
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max)
	{
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1048576 ? 1048576 : (long) rl.rlim_cur;
}

/*
 * Descriptors the test holds at most: its HTTP connections, a websocket per
 * run or cleanup in flight (the build's logs, then the terminal), each with
 * the lanes they run on (net/), and FD_RESERVE for the rest (stdio, the
 * database, outputs, scrapes, libuv).  When the open-files limit cannot hold
 * that, refuse before anything is created, unless --max-websockets says how
 * many may be open (then the rest wait for one).
 */
#define FD_RESERVE	64

static long
fd_need(long conns, long ws)
{
	return FD_RESERVE + http_descriptors((int) conns) + ws_descriptors((int) ws);
}

/* The most of N (connections for at most N runs, N websockets) LIMIT holds. */
static long
max_fitting(long limit, long conns_cap, bool ws_only)
{
	long		lo = 0,
				hi = limit;

	while (lo < hi)
	{
		long		mid = (lo + hi + 1) / 2;
		long		need = ws_only ? fd_need(conns_cap, mid) :
			fd_need(mid < conns_cap ? mid : conns_cap, mid);

		if (need <= limit)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

static int
check_descriptors(long limit)
{
	scaletest_config *c = &test.cfg;
	long		flight = c->concurrency == 0 ? c->count : c->concurrency;
	long		cl = c->cleanup_concurrency == 0 ? c->count : c->cleanup_concurrency;
	long		cap = c->max_connections;
	long		conns,
				ws,
				need;

	if (flight > c->count)
		flight = c->count;
	if (cl > c->count)
		cl = c->count;
	if (cl > flight)
		flight = cl;
	conns = flight < cap ? flight : cap;
	ws = c->max_websockets > 0 && c->max_websockets < flight ? c->max_websockets : flight;
	need = fd_need(conns, ws);
	if (need <= limit)
	{
		ws_set_max(c->max_websockets);
		return EXIT_OK;
	}
	cli_error("scaletest: %ld runs in flight need %ld open files (%ld HTTP connections, %ld websockets, "
			  "%ld for the rest), but the open-files limit is %ld\n"
			  "Raise the hard limit for the driver (as root: ulimit -Hn %ld, LimitNOFILE=%ld in a systemd "
			  "unit, docker run --ulimit nofile=%ld); the machine allows up to /proc/sys/fs/nr_open. "
			  "Or lower --concurrency and --cleanup-concurrency to %ld, or let websockets wait for a "
			  "descriptor with --max-websockets %ld (each wait is reported)",
			  flight, need, conns, ws, need - conns - ws, limit, need, need, need,
			  max_fitting(limit, cap, false), max_fitting(limit, conns, true));
	return EXIT_USAGE;
}

static int
prepare(int argc, char **argv)
{
	const char *token_file = NULL;
	int			rc;

	rc = parse_flags(argc, argv, &token_file);
	if (rc != EXIT_OK)
		return rc;
	if ((rc = open_outputs()) != EXIT_OK)
		return rc;
	if ((rc = scaletest_find_login(&test.url, &test.token, token_file)) != EXIT_OK)
		return rc;
	if ((rc = check_descriptors(raise_fd_limit())) != EXIT_OK)
		return rc;
	test.base_url = strdup(test.url);
	for (size_t n = strlen(test.base_url); n > 0 && test.base_url[n - 1] == '/';)
		test.base_url[--n] = '\0';
	test.loop = uv_default_loop();
	test.http = http_client_new(test.loop, test.url, test.cfg.insecure, test.cfg.max_connections);
	if (!test.http || !ws_init(test.loop, test.url, test.cfg.insecure))
	{
		cli_error("scaletest: cannot set up HTTP and websockets for %s", test.url);
		return EXIT_INTERNAL;
	}
	rc = scaletest_check_server(test.http, test.url, test.token, &test.coder_version,
								test.cfg.me_id, sizeof(test.cfg.me_id), test.cfg.org_id, sizeof(test.cfg.org_id));
	if (rc != EXIT_OK)
		return rc;
	return find_template();
}

static char *
params_json(void)
{
	json_object *o = json_object_new_object();
	char	   *s;

	for (int i = 0; i < test.cfg.nparams; i++)
		json_object_object_add(o, test.cfg.params[i].name, json_object_new_string(test.cfg.params[i].value));
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

static int
begin_store(void)
{
	store_run_info info;
	char	   *params;
	long long	run_id;
	pg_error	e;
	bool		ok;

	if (test.no_db)
		return EXIT_OK;
	params = params_json();
	memset(&info, 0, sizeof(info));
	info.label = test.label;
	info.target_url = test.url;
	info.coder_version = test.coder_version;
	info.template_name = test.cfg.template_name;
	info.run_command = test.cfg.run_command;
	info.parameters_json = params;
	info.flags_json = json_object_to_json_string_ext(test.flags, JSON_C_TO_STRING_PLAIN);
	info.tags_json = json_object_to_json_string_ext(test.tags, JSON_C_TO_STRING_PLAIN);
	info.cfg = &test.cfg;
	ok = store_begin(test.db, &info, &run_id, &e);
	free(params);
	if (!ok)
	{
		pg_report("scaletest", "results database", &e);
		if (pg_class(&e, "08"))
			fprintf(stderr, "Or run with --no-db to store nothing.\n");
		return pg_exit_code(&e);
	}
	test.run_id = run_id;
	return EXIT_OK;
}

static void
start_loop_handles(void)
{
	runner_env	env;

	memset(&env, 0, sizeof(env));
	env.loop = test.loop;
	env.http = test.http;
	env.cfg = &test.cfg;
	env.owner_token = test.token;
	env.base_url = test.base_url;
	env.run_done = on_run_done;
	env.cleanup_done = on_cleanup_done;
	runner_setup(&env);
	uv_timer_init(test.loop, &test.phase_timer);
	uv_signal_init(test.loop, &test.sigint);
	uv_signal_init(test.loop, &test.sigterm);
	uv_signal_start(&test.sigint, on_signal, SIGINT);
	uv_signal_start(&test.sigterm, on_signal, SIGTERM);
}

/* The run's end into the writer, and everything written; the exit code (the writer said what failed). */
static int
finish_store(void)
{
	if (test.no_db)
		return EXIT_OK;
	return store_end(test.aborted ? "aborted" : "completed", test.end_us, cw_wait_seconds(60));
}

/* Runs when a scrape or a batch of samples is due, and again at the earlier next deadline (at least every 1 s). */
static void
scrape_timer(uv_timer_t *t)
{
	double		now = monotonic_seconds();
	double		next;

	scraper_tick(scraping.sc, now);
	samples_poll(scraping.sink, now);
	next = fmin(scraper_next_deadline(scraping.sc), samples_next_deadline(scraping.sink)) - monotonic_seconds();
	uv_timer_start(t, scrape_timer, isfinite(next) ? (uint64_t) fmax(1, fmin(1000, ceil(next * 1000))) : 1000, 0);
}

static bool
scrape_claims(void *arg, CURLMsg *msg)
{
	(void) arg;
	return scraper_handle_done(scraping.sc, msg);
}

/* Start scraping into the run (its own database connection and writer thread). */
static int
scrape_start(void)
{
	scraper_config cfg = {0};
	pg_error	e;

	if (scraping.n == 0)
		return EXIT_OK;
	if (!(scraping.sink = samples_new(test.db, "scaletest", test.run_id, &e)))
	{
		pg_report("scaletest", "--scrape: results database", &e);
		return pg_exit_code(&e);
	}
	cfg.interval = scraping.interval;
	cfg.match = scraping.have_match ? &scraping.match : NULL;
	cfg.sample_limit = scraping.sample_limit;
	cfg.log = stderr;
	scraping.sc = scraper_new(http_multi(test.http), scraping.targets, scraping.n, &cfg, scraping.sink);
	if (!scraping.sc)
	{
		cli_error("scaletest: --scrape: could not start the scraper: out of memory");
		return EXIT_INTERNAL;
	}
	http_set_foreign(test.http, scrape_claims, NULL);
	uv_timer_init(test.loop, &scraping.timer);
	scrape_timer(&scraping.timer);
	return EXIT_OK;
}

/*
 * After the runs and their cleanup: two more scrapes of every target (the
 * tail, skipped when interrupted), then wait for the last transfers and the
 * writer. Returns false when samples were lost.
 */
static bool
scrape_finish(void)
{
	samples_stats st;
	bool		ok;
	uint64_t	tail_end = uv_now(test.loop) + (uint64_t) (2 * scraping.interval * 1000);

	if (!scraping.sc)
		return true;
	while (!test.aborted && uv_now(test.loop) < tail_end)
		uv_run(test.loop, UV_RUN_ONCE);
	if (test.aborted)
		scraper_cancel(scraping.sc);
	scraper_stop(scraping.sc);
	while (scraper_in_flight(scraping.sc) > 0)
		uv_run(test.loop, UV_RUN_ONCE);
	uv_timer_stop(&scraping.timer);
	http_set_foreign(test.http, NULL, NULL);
	for (int i = 0; i < scraping.n; i++)
	{
		const scrape_stats *t = scraper_stats(scraping.sc, i);

		fprintf(stderr, "coder-scale: scaletest: scrape %s: %lld scrapes (%lld failed), %lld samples, %lld malformed lines%s%s\n",
				scraping.targets[i].name, (long long) t->scrapes, (long long) t->failed, (long long) t->samples,
				(long long) t->malformed, t->failed ? "; last error: " : "", t->failed ? t->last_error : "");
	}
	scraper_free(scraping.sc);
	scraping.sc = NULL;
	ok = samples_finish(scraping.sink, cw_wait_seconds(60), &st);
	if (!ok)
		cli_error("scaletest: --scrape: %lld samples were not stored (the writer said why above)",
				  (long long) st.not_stored);
	return ok;
}

static int
create_workspaces(int argc, char **argv)
{
	int			rc = prepare(argc, argv);
	int			failed = 0,
				cleanup_failed = 0;
	bool		scraped;

	if (rc != EXIT_OK)
	{
		discard_outputs();
		return rc < 0 ? EXIT_OK : rc;
	}
	test.runs = calloc(test.cfg.count, sizeof(run *));
	if (!test.runs)
	{
		cli_error("scaletest: out of memory for %d runs", test.cfg.count);
		return EXIT_INTERNAL;
	}
	for (int i = 0; i < test.cfg.count; i++)
		test.runs[i] = runner_new(i);
	if ((rc = begin_store()) != EXIT_OK)
	{
		discard_outputs();
		return rc;
	}
	start_loop_handles();
	if ((rc = scrape_start()) != EXIT_OK)
		return rc;
	fprintf(stderr, "Running load test (%d workspace%s, template %s)%s...\n", test.cfg.count,
			test.cfg.count == 1 ? "" : "s", test.cfg.template_name, test.no_db ? "" : ", results into coder_scale.run_result");
	uv_update_time(test.loop);
	test.t0_ns = uv_hrtime();
	progress_start(test.loop, test.cfg.count, test.quiet);
	if (test.cfg.timeout_ms > 0)
		uv_timer_start(&test.phase_timer, runs_timed_out, (uint64_t) test.cfg.timeout_ms + 1, 0);
	pump_runs();
	while (!test.all_done)
		uv_run(test.loop, UV_RUN_ONCE);
	uv_signal_stop(&test.sigint);
	uv_signal_stop(&test.sigterm);
	for (int i = 0; i < test.cfg.count; i++)
	{
		const run_record *r = runner_record(test.runs[i]);

		if (r->done && r->error)
			failed++;
		if (r->done && r->cl_error)
			cleanup_failed++;
	}
	scraped = scrape_finish();
	rc = finish_store();
	if (rc == EXIT_OK && !scraped)
		rc = EXIT_INTERNAL;
	summary_line(stderr);
	print_status();
	if (test.skip_cleanup && !test.cfg.no_cleanup)
		list_leftovers();
	if (rc != EXIT_OK)
		return rc;
	if (test.output_failed)
		return EXIT_INTERNAL;
	/* --max-failures (coder/coder PR 21315): that many failed runs still pass; a failed cleanup never does */
	return (failed > test.cfg.max_failures || cleanup_failed || test.aborted) ? EXIT_TEST_FAILURES : EXIT_OK;
}

int
cmd_scaletest(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
	{
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "create-workspaces") == 0)
	{
		flags_command("scaletest");
		return create_workspaces(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "cleanup") == 0)
	{
		flags_command("scaletest cleanup");
		return scaletest_cleanup(argc - 1, argv + 1);
	}
	cli_error("scaletest: unknown subcommand \"%s\" (create-workspaces or cleanup)", argv[1]);
	return EXIT_USAGE;
}
