/*
 * scrape.c: coder-scale scrape NAME=URL... --for DURATION: scrape
 * Prometheus endpoints on schedule and store every sample with a run
 * (a new run of kind 'scrape', or --run ID of an existing one).
 *
 * The loop is the one scraper.h describes, on a libcurl multi handle of
 * its own; samples go to the database through samples.h's writer thread.
 */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/timeutil.h"
#include "cli.h"
#include "common/pg.h"
#include "common/runrow.h"
#include "common/flags.h"
#include "samples.h"
#include "scraper.h"

#define MAX_TARGETS 64

typedef struct scrape_opts
{
	scrape_target targets[MAX_TARGETS];
	int			ntargets;
	char	   *specs[MAX_TARGETS];	/* NAME=URL as given */
	const char *for_text;
	const char *interval_text;
	double		for_s;
	double		interval_s;
	const char *run_text;
	int64_t		run_id;
	const char *label;
	const char *conninfo;
	const char *match_text;
	regex_t		match;
	int64_t		sample_limit;
} scrape_opts;

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	interrupted = sig;
}

static void
usage(FILE *out)
{
	fprintf(out,
			"Usage: coder-scale scrape NAME=URL... --for DURATION [--interval 5s] [--run ID]\n"
			"                          [--label L] [--db CONNINFO] [--scrape-match REGEX]\n"
			"                          [--scrape-sample-limit N]\n\n"
			"Scrape Prometheus endpoints (text format) on schedule and store every sample in\n"
			"coder_scale.metric_series / metric_sample: a baseline, or the metrics of a scale\n"
			"test driven by Coder's own tool (then `ingest` its result file).\n\n"
			"  NAME=URL               a target: NAME is the component (coderd, provisionerd,\n"
			"                         database, runner, ...; see coder_scale.component_metric),\n"
			"                         URL an http(s) URL, e.g. coderd=http://coderd:2112/metrics\n"
			"  --for DURATION         how long to scrape (Go duration: 90s, 5m, 1h30m)\n"
			"  --interval DURATION    time between scrapes of a target (default 5s, or --for\n"
			"                         when shorter); each scrape times out at 80%% of it\n"
			"                         (at most 10s); targets are scraped at the start, then\n"
			"                         every interval up to and including the end of --for\n"
			"  --run ID               store the samples with this existing run; without it a\n"
			"                         run of kind 'scrape' is created (completed at the end,\n"
			"                         aborted on Ctrl-C / SIGTERM; what was scraped is kept)\n"
			"  --label L              label of the new run\n"
			"  --scrape-match REGEX   keep only metrics whose name matches (POSIX extended)\n"
			"  --scrape-sample-limit N  keep at most N samples per scrape (default %d)\n"
			"  --db CONNINFO          libpq connection string (default: PGHOST, ... environment)\n"
			"  -h, --help             this help\n\n"
			"Per scrape and target it also stores up (1 or 0), scrape_duration_seconds,\n"
			"scrape_samples_scraped, scrape_samples_post_metric_relabeling and\n"
			"scrape_malformed_lines, like Prometheus.  A target that is down or slow is\n"
			"recorded as up = 0 and never delays the others.\n"
			"Exit codes: 0 done (targets may have been down: see the summary), 2 bad flags,\n"
			"3 database unreachable, 4 database error or samples that could not be stored.\n",
			SCRAPE_DEFAULT_SAMPLE_LIMIT);
}

/* ---------------------------------------------------------------------------
 * Flags
 * ------------------------------------------------------------------------- */

static int
add_target(scrape_opts *o, char *spec)
{
	if (!scrape_target_parse(spec, o->targets, &o->ntargets, MAX_TARGETS))
		return EXIT_USAGE;
	o->specs[o->ntargets - 1] = spec;
	return EXIT_OK;
}

/* A Go duration flag in [MIN_NS, MAX_NS], in seconds. */
static bool
parse_seconds(const char *flag, const char *text, int64_t min_ns, int64_t max_ns, double *out)
{
	int64_t		ns;

	if (!flag_duration(flag, text, min_ns, max_ns, &ns))
		return false;
	*out = ns / 1e9;
	return true;
}

static int
parse_flags(int argc, char **argv, scrape_opts *o)
{
	static const struct option longopts[] = {
		{"for", required_argument, NULL, 'f'},
		{"interval", required_argument, NULL, 'i'},
		{"run", required_argument, NULL, 'r'},
		{"label", required_argument, NULL, 'l'},
		{"db", required_argument, NULL, 'd'},
		{"scrape-match", required_argument, NULL, 'm'},
		{"scrape-sample-limit", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	int			c,
				rc;

	o->sample_limit = SCRAPE_DEFAULT_SAMPLE_LIMIT;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'f': o->for_text = optarg; break;
			case 'i': o->interval_text = optarg; break;
			case 'r': o->run_text = optarg; break;
			case 'l': o->label = optarg; break;
			case 'd': o->conninfo = optarg; break;
			case 'm': o->match_text = optarg; break;
			case 's':
				if (!flag_int("--scrape-sample-limit", optarg, 1, INT32_MAX, &o->sample_limit))
					return EXIT_USAGE;
				break;
			case 'h':
				usage(stdout);
				return -1;			/* done: --help */
			default:
				fprintf(stderr, "Run 'coder-scale scrape --help' for the options.\n");
				return EXIT_USAGE;
		}
	}
	for (int i = optind; i < argc; i++)
		if ((rc = add_target(o, argv[i])) != EXIT_OK)
			return rc;
	if (o->ntargets == 0)
	{
		cli_error("scrape: no target given (NAME=URL, e.g. coderd=http://127.0.0.1:2112/metrics)");
		return EXIT_USAGE;
	}
	if (o->for_text == NULL)
	{
		cli_error("scrape: --for DURATION is required (e.g. --for 10m)");
		return EXIT_USAGE;
	}
	if (!parse_seconds("--for", o->for_text, 1, 0, &o->for_s))
		return EXIT_USAGE;
	if (o->interval_text == NULL)	/* the default, or --for when shorter */
		o->interval_text = o->for_s < 5 ? o->for_text : "5s";
	if (!parse_seconds("--interval", o->interval_text, SCRAPE_INTERVAL_MIN_NS, SCRAPE_INTERVAL_MAX_NS, &o->interval_s))
		return EXIT_USAGE;
	if (o->interval_s > o->for_s)
	{
		return flag_error("--interval", o->interval_text, "longer than --for %s", o->for_text);
	}
	if (o->run_text && !flag_int("--run", o->run_text, 1, INT64_MAX, &o->run_id))
		return EXIT_USAGE;
	if (o->match_text && !flag_regex("--scrape-match", o->match_text, &o->match))
		return EXIT_USAGE;
	return EXIT_OK;
}

/* ---------------------------------------------------------------------------
 * The run
 * ------------------------------------------------------------------------- */

static char *
flags_json(const scrape_opts *o)
{
	json_object *f = json_object_new_object();
	json_object *t = json_object_new_object();
	char	   *s;

	for (int i = 0; i < o->ntargets; i++)
		json_object_object_add(t, o->targets[i].name, json_object_new_string(o->targets[i].url));
	json_object_object_add(f, "scrape", t);
	json_object_object_add(f, "for", json_object_new_string(o->for_text));
	json_object_object_add(f, "interval", json_object_new_string(o->interval_text));
	if (o->match_text)
		json_object_object_add(f, "scrape_match", json_object_new_string(o->match_text));
	json_object_object_add(f, "scrape_sample_limit", json_object_new_int64(o->sample_limit));
	s = strdup(json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN));
	json_object_put(f);
	return s;
}

/* The run to store into: --run (must exist) or a new 'scrape' run; exit code on failure. */
static int
open_run(PGconn *conn, scrape_opts *o, bool *created)
{
	pg_error	e;

	*created = false;
	if (o->run_text)
	{
		const char *p[1] = {o->run_text};
		PGresult   *res = pg_query(conn, "SELECT 1 FROM coder_scale.run WHERE id = $1", 1, p, &e);
		bool		found = res && PQntuples(res) == 1;

		PQclear(res);
		if (res == NULL)
		{
			pg_report("scrape", "database", &e);
			return pg_exit_code(&e);
		}
		if (!found)
		{
			cli_error("--run %s: no such run", o->run_text);
			fprintf(stderr, "List the runs with: SELECT id, label, started_at FROM coder_scale.run ORDER BY id;\n");
			return EXIT_USAGE;
		}
		return EXIT_OK;
	}
	{
		char	   *flags = flags_json(o);
		runrow_info info = {.kind = "scrape", .status = "running", .label = o->label, .flags_json = flags, .host = true};
		long long	id;
		bool		ok = runrow_insert(conn, &info, &id, &e);

		free(flags);
		if (!ok)
		{
			pg_report("scrape", "database", &e);
			return pg_exit_code(&e);
		}
		o->run_id = id;
		*created = true;
		runrow_hold(conn, id, "scrape");
		return EXIT_OK;
	}
}

/* ---------------------------------------------------------------------------
 * The loop
 * ------------------------------------------------------------------------- */

static void
run_loop(CURLM *multi, scraper *sc, samples *sink, double end)
{
	bool		stopping = false;

	while (!interrupted)
	{
		double		now = monotonic_seconds();
		double		deadline;
		int			running,
					left,
					wait_ms;
		CURLMsg    *msg;

		scraper_tick(sc, now);
		samples_poll(sink, now);
		if (!stopping && now >= end)
		{
			scraper_stop(sc);
			stopping = true;
		}
		if (stopping && scraper_in_flight(sc) == 0)
			break;
		deadline = fmin(scraper_next_deadline(sc), samples_next_deadline(sink));
		if (!stopping)
			deadline = fmin(deadline, end);
		wait_ms = (int) fmax(0, fmin(200, ceil((deadline - now) * 1000)));
		curl_multi_poll(multi, NULL, 0, wait_ms, NULL);
		curl_multi_perform(multi, &running);
		while ((msg = curl_multi_info_read(multi, &left)) != NULL)
			scraper_handle_done(sc, msg);
	}
}

static void
print_summary(const scrape_opts *o, scraper *sc, const samples_stats *st, const char *status)
{
	printf("scrape run %lld: %d target(s) every %s for %s, %s\n", (long long) o->run_id, o->ntargets,
		   o->interval_text, o->for_text, status);
	printf("%-12s %8s %7s %9s %10s  %s\n", "NAME", "SCRAPES", "FAILED", "SAMPLES", "MALFORMED", "URL");
	for (int i = 0; i < o->ntargets; i++)
	{
		const scrape_stats *s = scraper_stats(sc, i);

		printf("%-12s %8lld %7lld %9lld %10lld  %s\n", o->targets[i].name, (long long) s->scrapes,
			   (long long) s->failed, (long long) s->samples, (long long) s->malformed, o->targets[i].url);
		if (s->failed > 0)
			printf("  %s: last error: %s\n", o->targets[i].name, s->last_error);
		if (s->over_limit > 0)
			printf("  %s: %lld samples over --scrape-sample-limit %lld not stored\n", o->targets[i].name,
				   (long long) s->over_limit, (long long) o->sample_limit);
		if (s->filtered > 0)
			printf("  %s: %lld samples not matching --scrape-match\n", o->targets[i].name, (long long) s->filtered);
		if (s->cut > 0)
			printf("  %s: %lld bodies cut at %ld bytes\n", o->targets[i].name, (long long) s->cut,
				   SCRAPE_DEFAULT_MAX_BODY);
		if (s->skipped > 0)
			printf("  %s: %lld scrapes skipped (the previous one still ran)\n", o->targets[i].name,
				   (long long) s->skipped);
		if (s->duplicates > 0)
			printf("  %s: %lld samples ignored (series twice in a scrape, old or impossible timestamp)\n",
				   o->targets[i].name, (long long) s->duplicates);
	}
	printf("stored %lld samples of %lld series (database writing %.2f s, %.2f s of it new series; %lld batches",
		   (long long) st->stored, (long long) st->series, st->write_seconds, st->register_seconds,
		   (long long) st->batches);
	if (st->already_stored > 0)
		printf(", %lld already stored", (long long) st->already_stored);
	printf(")\n");
	if (st->not_stored > 0)
		printf("NOT stored: %lld samples (the database writer's message above says where they are)\n",
			   (long long) st->not_stored);
}

int
cmd_scrape(int argc, char **argv)
{
	scrape_opts o;
	PGconn	   *conn;
	bool		created;
	int			rc;
	samples    *sink;
	scraper    *sc;
	CURLM	   *multi;
	samples_stats st;
	scraper_config cfg;
	const char *status;
	struct sigaction sa;
	bool		all_stored;
	pg_error	e;

	memset(&o, 0, sizeof(o));
	flags_command("scrape");
	if ((rc = parse_flags(argc, argv, &o)) != EXIT_OK)
		return rc < 0 ? EXIT_OK : rc;
	conn = pg_connect_or_exit(o.conninfo, "scrape");
	pg_require_extension(conn, "scrape");
	if ((rc = open_run(conn, &o, &created)) != EXIT_OK)
	{
		PQfinish(conn);
		return rc;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (multi = curl_multi_init()) == NULL)
	{
		cli_error("scrape: cannot initialise libcurl");
		return EXIT_INTERNAL;
	}
	sink = samples_new(o.conninfo, "scrape", o.run_id, &e);
	if (sink == NULL)
	{
		pg_report("scrape", "storing samples", &e);
		return pg_exit_code(&e);
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.interval = o.interval_s;
	cfg.match = o.match_text ? &o.match : NULL;
	cfg.sample_limit = o.sample_limit;
	cfg.log = stderr;
	sc = scraper_new(multi, o.targets, o.ntargets, &cfg, sink);
	if (sc == NULL)
		return EXIT_INTERNAL;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	run_loop(multi, sc, sink, monotonic_seconds() + o.for_s + 0.05);
	status = interrupted ? "aborted" : "completed";
	if (interrupted)
		fprintf(stderr, "coder-scale: scrape: interrupted; storing what was scraped\n");

	scraper_cancel(sc);
	all_stored = samples_finish(sink, cw_wait_seconds(60), &st);
	if (created && !runrow_close(conn, o.run_id, status, &e))
		pg_report("scrape", "database", &e);
	print_summary(&o, sc, &st, status);
	scraper_free(sc);
	curl_multi_cleanup(multi);
	curl_global_cleanup();
	PQfinish(conn);
	if (o.match_text)
		regfree(&o.match);
	if (all_stored)
		return EXIT_OK;
	return st.outcome == CW_UNREACHABLE ? EXIT_UNREACHABLE : EXIT_INTERNAL;
}
