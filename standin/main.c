/*
 * coder-standin: a local stand-in for coderd, for tests, benchmarks and the
 * first run on a new machine.  It is NOT a Coder: it serves the part of
 * Coder's REST API that `coder-scale scaletest` uses (per swagger.json), with
 * a provisioner queue of replicas x daemons, build times from a distribution,
 * agents that connect after a delay, a web terminal that runs commands in a
 * real shell, failure injection per step, and Prometheus /metrics.
 *
 * One thread, one libwebsockets event loop, loopback only.
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
			"                                PUT /api/v2/standin/hold, see standin/API.md)\n"
			"  --fail-create-user RATE       POST /users answers 500 with this probability (0..1)\n"
			"  --fail-create-workspace RATE  POST .../workspaces answers 500\n"
			"  --fail-build RATE             a start or stop build ends \"failed\"\n"
			"  --fail-agent RATE             the agent never connects\n"
			"  --fail-pty RATE               the terminal websocket is closed at once (code 1011)\n"
			"  --fail-http RATE              any API call answers --fail-http-status instead\n"
			"  --fail-http-status CODE       500 (default), 502, 503, 504 or 429\n"
			"  --fail-delete RATE            a delete build ends \"failed\"\n"
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

static void
die_usage(const char *what, const char *why)
{
	fprintf(stderr, "coder-standin: %s: %s\n", what, why);
	exit(2);
}

static double
parse_rate(const char *flag, const char *s)
{
	char	   *end;
	double		v = strtod(s, &end);

	if (!*s || *end || v < 0 || v > 1)
		die_usage(flag, "must be a rate between 0 and 1, like 0.05");
	return v;
}

static int
parse_count(const char *flag, const char *s)
{
	char	   *end;
	long		v = strtol(s, &end, 10);

	if (!*s || *end || v < 1 || v > 10000)
		die_usage(flag, "must be an integer from 1 to 10000");
	return (int) v;
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

static void
on_signal(int sig)
{
	(void) sig;
	stop_requested = 1;
	if (ctx)
		lws_cancel_service(ctx);
}

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
		exit(2);
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
	vi.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	vi.retry_and_idle_policy = &no_idle_policy;
	vh = lws_create_vhost(ctx, &vi);
	if (!vh)
	{
		fprintf(stderr, "coder-standin: cannot listen on %s:%d (in use?)\n", iface, port);
		exit(3);
	}
	return vh;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"metrics-listen", required_argument, NULL, 'M'},
		{"replicas", required_argument, NULL, 'r'},
		{"daemons", required_argument, NULL, 'd'},
		{"build-time", required_argument, NULL, 'b'},
		{"agent-delay", required_argument, NULL, 'a'},
		{"agent-timeout", required_argument, NULL, 'A'},
		{"fail-create-user", required_argument, NULL, 1},
		{"fail-create-workspace", required_argument, NULL, 2},
		{"fail-build", required_argument, NULL, 3},
		{"fail-agent", required_argument, NULL, 4},
		{"fail-pty", required_argument, NULL, 5},
		{"fail-http", required_argument, NULL, 6},
		{"fail-http-status", required_argument, NULL, 7},
		{"fail-delete", required_argument, NULL, 8},
		{"seed", required_argument, NULL, 's'},
		{"token", required_argument, NULL, 't'},
		{"token-file", required_argument, NULL, 'T'},
		{"template", required_argument, NULL, 'p'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	struct config cfg = {.replicas = 1, .daemons = 3, .fail_http_status = 500};
	char		iface[64] = "127.0.0.1",
				miface[64] = "";
	int			port = 3000,
				mport = -1,	/* -1: no metrics port */
				verbose = 0,
				c,
				seed_given = 0;
	const char *token = NULL,
			   *token_file = NULL;
	const char *extra_templates[32];
	int			n_extra = 0;
	char		tokbuf[40],
				url[128];
	struct lws_context_creation_info info;

	parse_dist("1s", &cfg.build_time);
	cfg.agent_delay = 500000;
	cfg.agent_timeout = 120000000;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
	{
		switch (c)
		{
			case 'l':
				parse_listen("--listen", optarg, iface, &port);
				break;
			case 'M':
				parse_listen("--metrics-listen", optarg, miface, &mport);
				break;
			case 'r':
				cfg.replicas = parse_count("--replicas", optarg);
				break;
			case 'd':
				cfg.daemons = parse_count("--daemons", optarg);
				break;
			case 'b':
				if (parse_dist(optarg, &cfg.build_time) != 0)
					die_usage("--build-time", "expected a duration (2s, 500ms, 0) or normal:MEAN,SD, uniform:MIN,MAX, exp:MEAN");
				break;
			case 'a':
				if ((cfg.agent_delay = parse_duration(optarg)) < 0)
					die_usage("--agent-delay", "expected a duration like 500ms or 2s");
				break;
			case 'A':
				if ((cfg.agent_timeout = parse_duration(optarg)) < 0)
					die_usage("--agent-timeout", "expected a duration like 2m");
				break;
			case 1:
				cfg.fail_create_user = parse_rate("--fail-create-user", optarg);
				break;
			case 2:
				cfg.fail_create_workspace = parse_rate("--fail-create-workspace", optarg);
				break;
			case 3:
				cfg.fail_build = parse_rate("--fail-build", optarg);
				break;
			case 4:
				cfg.fail_agent = parse_rate("--fail-agent", optarg);
				break;
			case 5:
				cfg.fail_pty = parse_rate("--fail-pty", optarg);
				break;
			case 6:
				cfg.fail_http = parse_rate("--fail-http", optarg);
				break;
			case 7:
				cfg.fail_http_status = atoi(optarg);
				if (cfg.fail_http_status != 429 && (cfg.fail_http_status < 500 || cfg.fail_http_status > 599))
					die_usage("--fail-http-status", "must be 429 or a 5xx code");
				break;
			case 8:
				cfg.fail_delete = parse_rate("--fail-delete", optarg);
				break;
			case 's':
				{
					char	   *end;

					cfg.seed = strtoull(optarg, &end, 10);
					if (!*optarg || *end)
						die_usage("--seed", "must be a non-negative integer");
					seed_given = 1;
					break;
				}
			case 't':
				token = optarg;
				if (strlen(token) < 8 || strlen(token) > 100 || strpbrk(token, " ;,\"\\"))
					die_usage("--token", "must be 8 to 100 characters without spaces, quotes, commas or semicolons");
				break;
			case 'T':
				token_file = optarg;
				break;
			case 'p':
				if (n_extra == 32)
					die_usage("--template", "at most 32 extra templates");
				if (!*optarg || strlen(optarg) > 64 || strchr(optarg, '/'))
					die_usage("--template", "a name of 1 to 64 characters without '/'");
				extra_templates[n_extra++] = optarg;
				break;
			case 'v':
				verbose = 1;
				break;
			case 'h':
				usage(stdout);
				return 0;
			default:
				usage(stderr);
				return 2;
		}
	}
	if (optind < argc)
		die_usage(argv[optind], "unexpected argument (see --help)");
	if (mport > 0 && mport == port)
		die_usage("--metrics-listen", "must differ from --listen");
	if (!seed_given)
		cfg.seed = (uint64_t) wall_us();
	if (!token)
	{
		token_new(tokbuf);
		token = tokbuf;
	}

	raise_fd_limit();
	/* what every terminal's shell inherits */
	setenv("TERM", "xterm-256color", 1);
	setenv("CODER", "true", 1);
	unsetenv("CODER_SESSION_TOKEN");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN);	/* terminal shells are reaped by the kernel */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	state_init(&cfg, token);
	deployment.on_build_change = http_build_changed;
	deployment.on_job_wait = metrics_job_wait;
	deployment.on_job_done = metrics_job_done;
	template_add("docker");
	for (int i = 0; i < n_extra; i++)
		if (!hmap_get(&deployment.templates_by_name, extra_templates[i]))
			template_add(extra_templates[i]);

	lws_set_log_level(verbose ? (LLL_ERR | LLL_WARN) : LLL_ERR, NULL);
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DISABLE_IPV6;
	info.max_http_header_data = 8192;
	ctx = lws_create_context(&info);
	if (!ctx)
	{
		fprintf(stderr, "coder-standin: cannot create the libwebsockets context\n");
		return 4;
	}
	main_vhost = make_vhost("api", iface, port);
	port = lws_get_vhost_listen_port(main_vhost);	/* the one bound, for port 0 */
	if (mport >= 0)
	{
		metrics_vhost = make_vhost("metrics", miface, mport);
		mport = lws_get_vhost_listen_port(metrics_vhost);
	}

	snprintf(url, sizeof(url), "http://%s:%d", iface, port);
	listen_url = url;
	if (token_file)
		write_token_file(token_file, token);
	printf("coder-standin: a local stand-in for coderd (not a Coder), listening on %s\n", url);
	if (mport >= 0)
		printf("coder-standin: metrics on http://%s:%d/metrics\n", miface, mport);
	printf("coder-standin: provisioners %d x %d, seed %llu\n", cfg.replicas, cfg.daemons,
		   (unsigned long long) cfg.seed);
	printf("CODER_URL=%s\n", url);
	if (token_file)
		printf("coder-standin: the session token is in %s (mode 0600)\n", token_file);
	else
		printf("CODER_SESSION_TOKEN=%s\n", token);
	fflush(stdout);

	while (!stop_requested)
		if (lws_service(ctx, 0) < 0)
			break;
	lws_context_destroy(ctx);
	return 0;
}
