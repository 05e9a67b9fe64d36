/*
 * coder-standin: a local stand-in for coderd, for tests, benchmarks and the
 * first run on a new machine.  It is NOT a Coder: it serves the part of
 * Coder's REST API that `coder-scale scaletest` uses (per swagger.json), with
 * a provisioner queue of replicas x daemons, build times from a distribution,
 * agents that connect after a delay, a web terminal that runs commands in a
 * real shell, failure injection per step, and Prometheus /metrics.
 *
 * One thread, one libwebsockets event loop, loopback only.  main() parses
 * the flags (exiting with the codes of util.h on a bad one), builds the
 * deployment (state.c) and the listeners, prints the start-up lines that
 * tests and scripts read, and serves until SIGINT or SIGTERM.  Delayed events
 * live in the deployment's timer heap; timers_kick keeps one lws timer armed
 * for the earliest of them.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

struct lws_vhost *main_vhost;
struct lws_vhost *metrics_vhost;
static struct lws_context *ctx;
static lws_sorted_usec_list_t timer_sul;
static int64_t timer_at = -1;	/* mono_us the sul is set for, -1 = none */
static volatile sig_atomic_t stop_requested;

/* --help: the flags and what the stand-in prints on start. */
static void
usage(FILE *f)
{
	fprintf(f,
			"Usage: coder-standin [OPTIONS]\n"
			"\n"
			"A local stand-in for coderd (NOT a Coder): serves the part of Coder's REST API\n"
			"that `coder-scale scaletest` uses, on loopback only, for tests and benchmarks.\n"
			"\n"
			"Options:\n"
			"  --listen 127.0.0.1:PORT       API address (default 127.0.0.1:3000; loopback only;\n"
			"                                port 0: a free port, printed in CODER_URL=...)\n"
			"  --metrics-listen 127.0.0.1:PORT  Prometheus /metrics on its own port (also on the API port;\n"
			"                                port 0: a free port, printed on the \"metrics on\" line)\n"
			"  --replicas R                  coderd replicas (default 1)\n"
			"  --daemons D                   provisioner daemons per replica (default 3);\n"
			"                                at most R x D builds run at once, the rest wait in FIFO order\n"
			"  --build-time DIST             build duration: 2s | 0 | normal:MEAN,SD | uniform:MIN,MAX | exp:MEAN\n"
			"                                (Go durations: 500ms, 1.5s, 2m; default 1s)\n"
			"  --agent-delay DUR             agent connects this long after its build succeeds (default 500ms)\n"
			"  --agent-timeout DUR           an agent that never connects shows \"timeout\" after this (default 2m)\n"
			"                                (tests may hold builds and agents at run time:\n"
			"                                PUT /api/v2/standin/hold, see docs/standin-api.md)\n"
			"  --fail-create-user RATE       POST /users answers 500 with this probability (0..1)\n"
			"  --fail-create-workspace RATE  POST .../workspaces answers 500\n"
			"  --fail-build RATE             a start or stop build ends \"failed\"\n"
			"  --fail-agent RATE             the agent never connects\n"
			"  --fail-pty RATE               the terminal websocket is closed at once (code 1011)\n"
			"  --fail-http RATE              any API call of the runs answers --fail-http-status instead\n"
			"                                (not the template's plan before a test)\n"
			"  --fail-http-status CODE       500 (default), 502, 503, 504 or 429\n"
			"  --fail-delete RATE            a delete build ends \"failed\"\n"
			"  --fail-dry-run MESSAGE        every template dry run ends \"failed\" with job.error MESSAGE\n"
			"  --build-log-lines N           log lines a build or dry run writes, 0..11 (default 11: all);\n"
			"                                fewer keep the stage lines first, an error line is always written\n"
			"  --api-rate-limit N            requests a minute per user (per IP without a valid token) and\n"
			"                                path, as coderd's flag (default 512; 0 or less: no limit)\n"
			"  --login-rate-limit N          POST /users/login a minute per IP (default 60; 0 or less: no limit).\n"
			"                                Stand-in only: coderd fixes it at 60 and has no such flag, only\n"
			"                                --dangerous-disable-rate-limits (its own tests raise it in code)\n"
			"  --dangerous-disable-rate-limits  no rate limit at all, as coderd's flag\n"
			"  --seed N                      seed for failures and build times (default: from the clock)\n"
			"  --token TOKEN                 the owner's session token (default: a random one)\n"
			"  --token-file PATH             write the owner's session token to PATH (mode 0600)\n"
			"  --template NAME               add a template besides \"docker\" (repeatable)\n"
			"  --verbose                     libwebsockets warnings on stderr\n"
			"  --help                        this text\n"
			"\n"
			"On start it prints CODER_URL=... and CODER_SESSION_TOKEN=... on stdout; with --token-file,\n"
			"the file's path instead of the token.\n");
}

/* A bad command line: say which flag and why, and exit. */
static void
die_usage(const char *what, const char *why)
{
	fprintf(stderr, "coder-standin: %s: %s\n", what, why);
	exit(EXIT_USAGE);
}

/* A failure rate, 0..1. */
static double
parse_rate(const char *flag, const char *s)
{
	char	   *end;
	double		v = strtod(s, &end);

	if (!*s || *end || v < 0 || v > 1)
		die_usage(flag, "must be a rate between 0 and 1, like 0.05");
	return v;
}

/* A count of replicas or daemons, 1..10000. */
static int
parse_count(const char *flag, const char *s)
{
	char	   *end;
	long		v = strtol(s, &end, 10);

	if (!*s || *end || v < 1 || v > 10000)
		die_usage(flag, "must be an integer from 1 to 10000");
	return (int) v;
}

/* An integer from LO to HI; WHY says what was expected. */
static int
parse_int(const char *flag, const char *s, long lo, long hi, const char *why)
{
	char	   *end;
	long		v = strtol(s, &end, 10);

	if (!*s || *end || v < lo || v > hi)
		die_usage(flag, why);
	return (int) v;
}

/* --fail-dry-run: the job error, 1 to 400 characters. */
static const char *
parse_message(const char *flag, const char *s)
{
	if (!*s || strlen(s) > 400)
		die_usage(flag, "must be a message of 1 to 400 characters");
	return s;
}

/* A Go duration in microseconds; WHY says what was expected. */
static int64_t
parse_duration_flag(const char *flag, const char *s, const char *why)
{
	int64_t		v = parse_duration(s);

	if (v < 0)
		die_usage(flag, why);
	return v;
}

/* "127.0.0.1:3000" -> iface and port; anything but loopback is refused. */
static void
parse_listen(const char *flag, const char *s, char iface[64], int *port)
{
	const char *colon = strrchr(s, ':');
	char		host[64];
	struct in_addr a;
	char	   *end;
	long		p;

	if (!colon || colon == s || (size_t) (colon - s) >= sizeof(host))
		die_usage(flag, "expected 127.0.0.1:PORT");
	memcpy(host, s, (size_t) (colon - s));
	host[colon - s] = '\0';
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127)
	{
		char		why[160];

		snprintf(why, sizeof(why), "%s is not a loopback address; the stand-in listens on 127.0.0.0/8 only", host);
		die_usage(flag, why);
	}
	p = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || p < 0 || p > 65535)
		die_usage(flag, "the port must be 0..65535 (0: a free port)");
	strcpy(iface, host);
	*port = (int) p;
}

/* --seed: a non-negative integer. */
static uint64_t
parse_seed(const char *flag, const char *s)
{
	char	   *end;
	uint64_t	v = strtoull(s, &end, 10);

	if (!*s || *end)
		die_usage(flag, "must be a non-negative integer");
	return v;
}

/* --token: a value that fits a header, a cookie and a URL unquoted. */
static const char *
parse_token(const char *flag, const char *s)
{
	if (strlen(s) < 8 || strlen(s) > 100 || strpbrk(s, " ;,\"\\"))
		die_usage(flag, "must be 8 to 100 characters without spaces, quotes, commas or semicolons");
	return s;
}

/* --fail-http-status: 429 or a 5xx code (read by atoi: trailing characters are ignored). */
static int
parse_http_status(const char *flag, const char *s)
{
	int			v = atoi(s);

	if (v != 429 && (v < 500 || v > 599))
		die_usage(flag, "must be 429 or a 5xx code");
	return v;
}

/* getopt_long's values for the long options (only --help has a short form, -h). */
enum option_id
{
	OPT_LISTEN = 256,
	OPT_METRICS_LISTEN,
	OPT_REPLICAS,
	OPT_DAEMONS,
	OPT_BUILD_TIME,
	OPT_AGENT_DELAY,
	OPT_AGENT_TIMEOUT,
	OPT_FAIL_CREATE_USER,
	OPT_FAIL_CREATE_WORKSPACE,
	OPT_FAIL_BUILD,
	OPT_FAIL_AGENT,
	OPT_FAIL_PTY,
	OPT_FAIL_HTTP,
	OPT_FAIL_HTTP_STATUS,
	OPT_FAIL_DELETE,
	OPT_FAIL_DRY_RUN,
	OPT_BUILD_LOG_LINES,
	OPT_API_RATE_LIMIT,
	OPT_LOGIN_RATE_LIMIT,
	OPT_DISABLE_RATE_LIMITS,
	OPT_SEED,
	OPT_TOKEN,
	OPT_TOKEN_FILE,
	OPT_TEMPLATE,
	OPT_VERBOSE
};

static const struct option options[] = {
	{"listen", required_argument, NULL, OPT_LISTEN},
	{"metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN},
	{"replicas", required_argument, NULL, OPT_REPLICAS},
	{"daemons", required_argument, NULL, OPT_DAEMONS},
	{"build-time", required_argument, NULL, OPT_BUILD_TIME},
	{"agent-delay", required_argument, NULL, OPT_AGENT_DELAY},
	{"agent-timeout", required_argument, NULL, OPT_AGENT_TIMEOUT},
	{"fail-create-user", required_argument, NULL, OPT_FAIL_CREATE_USER},
	{"fail-create-workspace", required_argument, NULL, OPT_FAIL_CREATE_WORKSPACE},
	{"fail-build", required_argument, NULL, OPT_FAIL_BUILD},
	{"fail-agent", required_argument, NULL, OPT_FAIL_AGENT},
	{"fail-pty", required_argument, NULL, OPT_FAIL_PTY},
	{"fail-http", required_argument, NULL, OPT_FAIL_HTTP},
	{"fail-http-status", required_argument, NULL, OPT_FAIL_HTTP_STATUS},
	{"fail-delete", required_argument, NULL, OPT_FAIL_DELETE},
	{"fail-dry-run", required_argument, NULL, OPT_FAIL_DRY_RUN},
	{"build-log-lines", required_argument, NULL, OPT_BUILD_LOG_LINES},
	{"api-rate-limit", required_argument, NULL, OPT_API_RATE_LIMIT},
	{"login-rate-limit", required_argument, NULL, OPT_LOGIN_RATE_LIMIT},
	{"dangerous-disable-rate-limits", no_argument, NULL, OPT_DISABLE_RATE_LIMITS},
	{"seed", required_argument, NULL, OPT_SEED},
	{"token", required_argument, NULL, OPT_TOKEN},
	{"token-file", required_argument, NULL, OPT_TOKEN_FILE},
	{"template", required_argument, NULL, OPT_TEMPLATE},
	{"verbose", no_argument, NULL, OPT_VERBOSE},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0}
};

#define MAX_EXTRA_TEMPLATES 32

/* What the command line asks for; cfg is what state.c gets. */
struct flags
{
	struct config cfg;
	char		iface[64];
	int			port;
	char		metrics_iface[64];
	int			metrics_port;	/* -1: no metrics port */
	bool		verbose;
	bool		seed_given;
	const char *token;			/* NULL: a random one in token_buf */
	char		token_buf[40];
	const char *token_file;
	const char *extra_templates[MAX_EXTRA_TEMPLATES];
	int			n_extra;
};

/* A --fail-* flag into CFG; false when OPT is none of them. */
static bool
parse_fault_flag(struct config *cfg, int opt, const char *flag, const char *arg)
{
	switch (opt)
	{
		case OPT_FAIL_CREATE_USER:
			cfg->fail_create_user = parse_rate(flag, arg);
			return true;
		case OPT_FAIL_CREATE_WORKSPACE:
			cfg->fail_create_workspace = parse_rate(flag, arg);
			return true;
		case OPT_FAIL_BUILD:
			cfg->fail_build = parse_rate(flag, arg);
			return true;
		case OPT_FAIL_AGENT:
			cfg->fail_agent = parse_rate(flag, arg);
			return true;
		case OPT_FAIL_PTY:
			cfg->fail_pty = parse_rate(flag, arg);
			return true;
		case OPT_FAIL_HTTP:
			cfg->fail_http = parse_rate(flag, arg);
			return true;
		case OPT_FAIL_HTTP_STATUS:
			cfg->fail_http_status = parse_http_status(flag, arg);
			return true;
		case OPT_FAIL_DELETE:
			cfg->fail_delete = parse_rate(flag, arg);
			return true;
		case OPT_FAIL_DRY_RUN:
			cfg->fail_dry_run = parse_message(flag, arg);
			return true;
		default:
			return false;
	}
}

/* --template NAME: one more template besides "docker". */
static void
add_template_flag(struct flags *f, const char *flag, const char *name)
{
	if (f->n_extra == MAX_EXTRA_TEMPLATES)
		die_usage(flag, "at most 32 extra templates");
	if (!*name || strlen(name) > 64 || strchr(name, '/'))
		die_usage(flag, "a name of 1 to 64 characters without '/'");
	f->extra_templates[f->n_extra++] = name;
}

/* Any other flag of options[] into F. */
static void
parse_setup_flag(struct flags *f, int opt, const char *flag, const char *arg)
{
	switch (opt)
	{
		case OPT_LISTEN:
			parse_listen(flag, arg, f->iface, &f->port);
			break;
		case OPT_METRICS_LISTEN:
			parse_listen(flag, arg, f->metrics_iface, &f->metrics_port);
			break;
		case OPT_REPLICAS:
			f->cfg.replicas = parse_count(flag, arg);
			break;
		case OPT_DAEMONS:
			f->cfg.daemons = parse_count(flag, arg);
			break;
		case OPT_BUILD_TIME:
			if (parse_dist(arg, &f->cfg.build_time) != 0)
				die_usage(flag, "expected a duration (2s, 500ms, 0) or normal:MEAN,SD, uniform:MIN,MAX, exp:MEAN");
			break;
		case OPT_AGENT_DELAY:
			f->cfg.agent_delay = parse_duration_flag(flag, arg, "expected a duration like 500ms or 2s");
			break;
		case OPT_AGENT_TIMEOUT:
			f->cfg.agent_timeout = parse_duration_flag(flag, arg, "expected a duration like 2m");
			break;
		case OPT_BUILD_LOG_LINES:
			f->cfg.build_log_lines = parse_int(flag, arg, 0, 11, "must be an integer from 0 to 11");
			break;
		case OPT_API_RATE_LIMIT:
			f->cfg.api_rate_limit = parse_int(flag, arg, -1000000000, 1000000000, "must be an integer (0 or less: no limit)");
			break;
		case OPT_LOGIN_RATE_LIMIT:
			f->cfg.login_rate_limit = parse_int(flag, arg, -1000000000, 1000000000, "must be an integer (0 or less: no limit)");
			break;
		case OPT_DISABLE_RATE_LIMITS:
			f->cfg.rate_limits_disabled = true;
			break;
		case OPT_SEED:
			f->cfg.seed = parse_seed(flag, arg);
			f->seed_given = true;
			break;
		case OPT_TOKEN:
			f->token = parse_token(flag, arg);
			break;
		case OPT_TOKEN_FILE:
			f->token_file = arg;
			break;
		case OPT_TEMPLATE:
			add_template_flag(f, flag, arg);
			break;
		case OPT_VERBOSE:
			f->verbose = true;
			break;
	}
}

/*
 * The defaults, then each flag in turn, then what no flag gave (seed, token).
 * Exits on --help (EXIT_OK) and on a bad command line (EXIT_USAGE).
 */
static void
parse_flags(int argc, char **argv, struct flags *f)
{
	int			opt,
				index;

	memset(f, 0, sizeof(*f));
	f->cfg.replicas = 1;
	f->cfg.daemons = 3;
	f->cfg.fail_http_status = 500;
	f->cfg.build_log_lines = 11;
	f->cfg.api_rate_limit = 512;	/* coderd's --api-rate-limit default */
	f->cfg.login_rate_limit = 60;	/* coderd's cli/server.go: loginRateLimit := 60 */
	parse_dist("1s", &f->cfg.build_time);
	f->cfg.agent_delay = 500000;
	f->cfg.agent_timeout = 120000000;
	strcpy(f->iface, "127.0.0.1");
	f->port = 3000;
	f->metrics_port = -1;
	while ((opt = getopt_long(argc, argv, "h", options, &index)) != -1)
	{
		char		flag[64];

		if (opt == 'h')
		{
			usage(stdout);
			exit(EXIT_OK);
		}
		if (opt == '?')
		{
			usage(stderr);
			exit(EXIT_USAGE);
		}
		snprintf(flag, sizeof(flag), "--%s", options[index].name);
		if (!parse_fault_flag(&f->cfg, opt, flag, optarg))
			parse_setup_flag(f, opt, flag, optarg);
	}
	if (optind < argc)
		die_usage(argv[optind], "unexpected argument (see --help)");
	if (f->cfg.rate_limits_disabled)
	{
		/* as cli/server.go does for --dangerous-disable-rate-limits */
		f->cfg.api_rate_limit = -1;
		f->cfg.login_rate_limit = -1;
	}
	if (f->metrics_port > 0 && f->metrics_port == f->port)
		die_usage("--metrics-listen", "must differ from --listen");
	if (!f->seed_given)
		f->cfg.seed = (uint64_t) wall_us();
	if (!f->token)
	{
		token_new(f->token_buf);
		f->token = f->token_buf;
	}
}

/* The lws timer is due: run the stand-in's due timers, and re-arm for the next. */
static void
timer_fire(lws_sorted_usec_list_t *sul)
{
	(void) sul;
	timer_at = -1;
	timers_run(mono_us());
	timers_kick();
}

/* Make the loop wake up for the earliest timer. */
void
timers_kick(void)
{
	int64_t		next = theap_next(&deployment.timers);
	int64_t		now;

	if (next < 0 || (timer_at >= 0 && timer_at <= next))
		return;
	now = mono_us();
	timer_at = next;
	lws_sul_schedule(ctx, 0, &timer_sul, timer_fire, next > now ? next - now : 0);
}

/* SIGINT, SIGTERM: end the loop (lws_service returns at once). */
static void
on_signal(int sig)
{
	(void) sig;
	stop_requested = 1;
	if (ctx)
		lws_cancel_service(ctx);
}

/* As many descriptors as the hard limit allows: each connection and terminal takes some. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
	{
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The process around the server: descriptors, the terminals' environment, signals. */
static void
setup_process(void)
{
	raise_fd_limit();
	/* what every terminal's shell inherits */
	setenv("TERM", "xterm-256color", 1);
	setenv("CODER", "true", 1);
	unsetenv("CODER_SESSION_TOKEN");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN);	/* terminal shells are reaped by the kernel */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
}

/* The deployment: the owner with F's token, the "docker" template and the extra ones. */
static void
make_deployment(const struct flags *f)
{
	state_init(&f->cfg, f->token);
	deployment.on_build_change = http_build_changed;
	deployment.on_job_wait = metrics_job_wait;
	deployment.on_job_done = metrics_job_done;
	template_add("docker");
	for (int i = 0; i < f->n_extra; i++)
		if (!hmap_get(&deployment.templates_by_name, f->extra_templates[i]))
			template_add(f->extra_templates[i]);
}

/* Write the session token to PATH, mode 0600. */
static void
write_token_file(const char *path, const char *token)
{
	int			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	size_t		n = strlen(token);

	/* fchmod: O_CREAT's mode does not apply to a file that already exists */
	if (fd < 0 || fchmod(fd, 0600) != 0 ||
		write(fd, token, n) != (ssize_t) n || write(fd, "\n", 1) != 1)
	{
		fprintf(stderr, "coder-standin: --token-file %s: %s\n", path, strerror(errno));
		exit(EXIT_USAGE);
	}
	close(fd);
}

static const struct lws_protocols protocols[] = {
	{"http", http_callback, sizeof(struct conn), 4096, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0}
};

/*
 * No idle-validity timers: an idle keep-alive connection stays open (as with
 * coderd's Go server) however long a client leaves it, and lws need not re-arm
 * a per-connection timer on every packet.
 */
static const lws_retry_bo_t no_idle_policy = {.secs_since_valid_ping = 0, .secs_since_valid_hangup = 0};

/* A listening vhost on IFACE:PORT, or exit when it cannot be bound. */
static struct lws_vhost *
make_vhost(const char *name, const char *iface, int port)
{
	struct lws_context_creation_info vi;
	struct lws_vhost *vh;

	memset(&vi, 0, sizeof(vi));
	vi.vhost_name = name;
	vi.port = port;
	vi.iface = iface;
	vi.protocols = protocols;
	vi.keepalive_timeout = 3600;	/* idle keep-alive connections stay, as with coderd */
	vi.timeout_secs = 30;
	/*
	 * A connection may wait for its request to be read as long as the loop
	 * needs under load: lws's default (10 s holding a header table) closed
	 * thousands of them at 10,000 workspaces at once, where coderd would wait.
	 */
	vi.timeout_secs_ah_idle = 600;
	vi.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	vi.retry_and_idle_policy = &no_idle_policy;
	vh = lws_create_vhost(ctx, &vi);
	if (!vh)
	{
		fprintf(stderr, "coder-standin: cannot listen on %s:%d (in use?)\n", iface, port);
		exit(EXIT_CANNOT_LISTEN);
	}
	return vh;
}

/*
 * The libwebsockets context and its vhosts: the API, and /metrics on its own
 * port when asked.  F's ports become the ones bound (for port 0).
 */
static void
make_server(struct flags *f)
{
	struct lws_context_creation_info info;

	lws_set_log_level(f->verbose ? (LLL_ERR | LLL_WARN) : LLL_ERR, NULL);
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DISABLE_IPV6;
	info.max_http_header_data = 8192;
	ctx = lws_create_context(&info);
	if (!ctx)
	{
		fprintf(stderr, "coder-standin: cannot create the libwebsockets context\n");
		exit(EXIT_INTERNAL);
	}
	main_vhost = make_vhost("api", f->iface, f->port);
	f->port = lws_get_vhost_listen_port(main_vhost);
	if (f->metrics_port >= 0)
	{
		metrics_vhost = make_vhost("metrics", f->metrics_iface, f->metrics_port);
		f->metrics_port = lws_get_vhost_listen_port(metrics_vhost);
	}
}

/* The rate-limit line of the start-up lines. */
static void
announce_limits(const struct config *c)
{
	char		api[64],
				login[64];

	if (c->rate_limits_disabled)
	{
		printf("coder-standin: rate limits off (--dangerous-disable-rate-limits)\n");
		return;
	}
	snprintf(api, sizeof(api), "%d a minute per user and path", c->api_rate_limit);
	snprintf(login, sizeof(login), "%d a minute per IP", c->login_rate_limit);
	if (c->api_rate_limit <= 0)
		strcpy(api, "off");
	if (c->login_rate_limit <= 0)
		strcpy(login, "off");
	printf("coder-standin: rate limits: API %s, login %s\n", api, login);
}

/*
 * The start-up lines, which tests and scripts read: CODER_URL= comes after
 * the "metrics on" line and says the listeners are bound.
 */
static void
announce(const struct flags *f, const char *url)
{
	if (f->token_file)
		write_token_file(f->token_file, f->token);
	printf("coder-standin: a local stand-in for coderd (not a Coder), listening on %s\n", url);
	if (f->metrics_port >= 0)
		printf("coder-standin: metrics on http://%s:%d/metrics\n", f->metrics_iface, f->metrics_port);
	printf("coder-standin: provisioners %d x %d, seed %llu\n", f->cfg.replicas, f->cfg.daemons,
		   (unsigned long long) f->cfg.seed);
	announce_limits(&f->cfg);
	printf("CODER_URL=%s\n", url);
	if (f->token_file)
		printf("coder-standin: the session token is in %s (mode 0600)\n", f->token_file);
	else
		printf("CODER_SESSION_TOKEN=%s\n", f->token);
	fflush(stdout);
}

/* Serve until SIGINT or SIGTERM. */
static void
run_loop(void)
{
	bool		failed = false;

	while (!stop_requested)
		if (lws_service(ctx, 0) < 0)
		{
			failed = true;
			break;
		}
	lws_context_destroy(ctx);
	if (failed)
	{
		/* seen twice under heavy load in tests: say so rather than exit 0 */
		fprintf(stderr, "coder-standin: the event loop stopped: lws_service failed\n");
		exit(EXIT_INTERNAL);
	}
}

/* Parse the flags, build the deployment and the listeners, announce them, serve. */
int
main(int argc, char **argv)
{
	struct flags f;
	char		url[128];

	parse_flags(argc, argv, &f);
	setup_process();
	make_deployment(&f);
	make_server(&f);
	snprintf(url, sizeof(url), "http://%s:%d", f.iface, f.port);
	listen_url = url;
	announce(&f, url);
	run_loop();
	return EXIT_OK;
}
