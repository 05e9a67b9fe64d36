/*
 * report.c: coder-scale report [RUN]: a run's results in the terminal, in
 * the form of Coder's own text output (== FAIL blocks, Test results), then
 * phase latencies, failures per category and the one-line summary.
 * Everything comes from the reporting views (run_summary, phase_latency).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/pg.h"
#include "common/goduration.h"

static void
usage(FILE *out)
{
	fprintf(out,
			"Usage: coder-scale report [RUN] [--limit N] [--db CONNINFO]\n\n"
			"Print a run's results: a block per failed run (== FAIL, Error, Log) and the\n"
			"Test results totals as Coder prints them, then latency per phase, failures per\n"
			"category and the summary line.  RUN is a run id; default: the latest run.\n\n"
			"Options:\n"
			"  --limit N        print at most N failure blocks (default: all)\n"
			"  --db CONNINFO    libpq connection string (default: PGHOST, PGPORT, ... environment)\n"
			"  -h, --help       this help\n\n"
			"Exit codes: 0 printed, 2 bad flags or no such run, 3 database unreachable, 4 database error.\n");
}

/* A query of the report; NULL after saying why (with its SQLSTATE). */
static PGresult *
query(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	pg_error	e;
	PGresult   *r = pg_query(conn, sql, nparams, params, &e);

	if (r == NULL)
		pg_report("report", "database", &e);
	return r;
}

/* A duration in microseconds (text) as Go prints it, rounded to round_us. */
static const char *
go_us(const char *us_text, long long round_us, char *buf, size_t size)
{
	long long	us;

	if (us_text == NULL || *us_text == '\0')
		return "-";
	us = atoll(us_text);
	if (round_us > 1)
		us = (us + round_us / 2) / round_us * round_us;
	return go_duration_format((int64_t) us * 1000, buf, size);
}

/* Print text with every line prefixed by indent (Coder indents logs with two tabs). */
static void
print_indented(const char *text, const char *indent)
{
	const char *p = text;

	while (*p)
	{
		const char *nl = strchr(p, '\n');
		size_t		n = nl ? (size_t) (nl - p) : strlen(p);

		printf("%s%.*s\n", indent, (int) n, p);
		p += n + (nl ? 1 : 0);
	}
}

static bool
print_failures(PGconn *conn, const char *run, const char *limit)
{
	const char *params[2] = {run, limit};
	PGresult   *r = query(conn,
							 "SELECT full_id, error, coalesce(logs, '') FROM coder_scale.run_result "
							 "WHERE run_id = $1::bigint AND outcome = 'fail' "
							 "ORDER BY full_id COLLATE \"C\" LIMIT $2::bigint",
							 2, params);

	if (r == NULL)
		return false;
	for (int i = 0; i < PQntuples(r); i++)
	{
		printf("\n== FAIL: %s\n\n", PQgetvalue(r, i, 0));
		printf("\tError: %s\n\n", PQgetvalue(r, i, 1));
		printf("\tLog:\n");
		print_indented(PQgetvalue(r, i, 2), "\t\t");
	}
	PQclear(r);
	return true;
}

static bool
print_totals(PGresult *s)
{
	char		d1[64],
				d2[64];

	printf("\n\nTest results:\n");
	if (strcmp(PQgetvalue(s, 0, 1), "0") == 0)
	{
		printf("\tNo tests run\n");
		return true;
	}
	printf("\tPass:  %s\n", PQgetvalue(s, 0, 2));
	printf("\tFail:  %s\n", PQgetvalue(s, 0, 3));
	printf("\tTotal: %s\n", PQgetvalue(s, 0, 1));
	printf("\n");
	printf("\tTotal duration: %s\n", go_us(PQgetvalue(s, 0, 4), 1, d1, sizeof(d1)));
	printf("\tAvg. duration:  %s\n", go_us(PQgetvalue(s, 0, 5), 1, d2, sizeof(d2)));
	/* Coder's Total duration leaves the cleanup out: say how long it took, apart */
	if (!PQgetisnull(s, 0, 9))
		printf("\tCleanup duration: %s\n", go_us(PQgetvalue(s, 0, 9), 1, d1, sizeof(d1)));
	return true;
}

static bool
print_phases(PGconn *conn, const char *run)
{
	const char *params[1] = {run};
	PGresult   *r = query(conn,
							 "SELECT phase, count, "
							 "  (extract(epoch FROM min) * 1e6)::bigint, (extract(epoch FROM p50) * 1e6)::bigint, "
							 "  (extract(epoch FROM p90) * 1e6)::bigint, (extract(epoch FROM p95) * 1e6)::bigint, "
							 "  (extract(epoch FROM p99) * 1e6)::bigint, (extract(epoch FROM max) * 1e6)::bigint "
							 "FROM coder_scale.phase_latency WHERE run_id = $1::bigint ORDER BY phase_order",
							 1, params);
	char		b[6][64];

	if (r == NULL)
		return false;
	printf("\nPhase latency:\n");
	printf("\t%-17s %7s %10s %10s %10s %10s %10s %10s\n", "phase", "count", "min", "p50", "p90", "p95", "p99", "max");
	for (int i = 0; i < PQntuples(r); i++)
	{
		for (int k = 0; k < 6; k++)
			go_us(PQgetvalue(r, i, k + 2), 1000, b[k], sizeof(b[k]));
		printf("\t%-17s %7s %10s %10s %10s %10s %10s %10s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
			   b[0], b[1], b[2], b[3], b[4], b[5]);
	}
	if (PQntuples(r) == 0)
		printf("\t(no timings)\n");
	PQclear(r);
	return true;
}

static bool
print_categories(PGconn *conn, const char *run)
{
	const char *params[1] = {run};
	PGresult   *r = query(conn,
							 "SELECT fc.wording, fc.name, count(*) FROM coder_scale.run_result rr "
							 "JOIN coder_scale.failure_category fc ON fc.name = rr.failure_category "
							 "WHERE rr.run_id = $1::bigint GROUP BY fc.wording, fc.name, fc.sort_order "
							 "ORDER BY fc.sort_order",
							 1, params);

	if (r == NULL)
		return false;
	if (PQntuples(r) > 0)
	{
		printf("\nFailures by category:\n");
		for (int i = 0; i < PQntuples(r); i++)
			printf("\t%-28s %-18s %7s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
	}
	PQclear(r);
	return true;
}

/* The run to report on: the one given (checked), or the latest.  NULL: message printed. */
static char *
pick_run(PGconn *conn, const char *given, int *rc)
{
	PGresult   *r;
	char	   *id = NULL;
	const char *params[1] = {given};

	if (given)
	{
		char	   *end;

		errno = 0;
		if (strtoll(given, &end, 10) <= 0 || *end != '\0' || errno != 0)
		{
			cli_error("report: \"%s\" is not a run id (a positive integer)", given);
			*rc = EXIT_USAGE;
			return NULL;
		}
		r = query(conn, "SELECT id FROM coder_scale.run WHERE id = $1::bigint", 1, params);
	}
	else
		r = query(conn, "SELECT id FROM coder_scale.run ORDER BY id DESC LIMIT 1", 0, NULL);
	if (r == NULL)
	{
		*rc = EXIT_INTERNAL;
		return NULL;
	}
	if (PQntuples(r) == 1)
		id = strdup(PQgetvalue(r, 0, 0));
	else if (given)
	{
		cli_error("report: run %s does not exist", given);
		fprintf(stderr, "List the runs with: psql -c 'SELECT id, label, started_at FROM coder_scale.run_summary'\n");
		*rc = EXIT_USAGE;
	}
	else
	{
		cli_error("report: no runs stored yet");
		fprintf(stderr, "Store one with: coder-scale ingest results.json\n");
		*rc = EXIT_USAGE;
	}
	PQclear(r);
	return id;
}

static int
report(PGconn *conn, const char *run, const char *limit)
{
	const char *params[1] = {run};
	PGresult   *s = query(conn,
							 "SELECT coalesce(s.label, ''), total, succeeded, failed, "
							 "  (extract(epoch FROM elapsed) * 1e6)::bigint, (extract(epoch FROM avg_duration) * 1e6)::bigint, "
							 "  summary, s.kind, coalesce(r.source_file, ''), "
							 "  (extract(epoch FROM cleanup_elapsed) * 1e6)::bigint, s.status "
							 "FROM coder_scale.run_summary s JOIN coder_scale.run r ON r.id = s.run_id "
							 "WHERE s.run_id = $1::bigint",
							 1, params);

	if (s == NULL || PQntuples(s) != 1)
	{
		PQclear(s);
		return EXIT_INTERNAL;
	}
	printf("Run %s", run);
	if (*PQgetvalue(s, 0, 0))
		printf(" \"%s\"", PQgetvalue(s, 0, 0));
	printf(" (%s%s%s%s%s)\n", PQgetvalue(s, 0, 7), *PQgetvalue(s, 0, 8) ? " of " : "", PQgetvalue(s, 0, 8),
		   strcmp(PQgetvalue(s, 0, 10), "completed") != 0 ? ", " : "",
		   strcmp(PQgetvalue(s, 0, 10), "completed") != 0 ? PQgetvalue(s, 0, 10) : "");
	if (!print_failures(conn, run, limit))
	{
		PQclear(s);
		return EXIT_INTERNAL;
	}
	if (limit && atoll(PQgetvalue(s, 0, 3)) > atoll(limit))
		printf("\n(%lld more failed runs not shown; raise --limit to see them)\n",
			   atoll(PQgetvalue(s, 0, 3)) - atoll(limit));
	if (!print_totals(s) || !print_phases(conn, run) ||
		!print_categories(conn, run))
	{
		PQclear(s);
		return EXIT_INTERNAL;
	}
	printf("\n%s\n", PQgetvalue(s, 0, 6));
	PQclear(s);
	return EXIT_OK;
}

int
cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"limit", required_argument, NULL, 'n'},
		{"db", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *conninfo = NULL,
			   *limit = NULL;
	PGconn	   *conn;
	char	   *run;
	int			c,
				rc = EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'n':
				{
					char	   *end;

					errno = 0;
					if (strtoll(optarg, &end, 10) < 0 || *end != '\0' || *optarg == '\0' || errno != 0)
					{
						cli_error("report: --limit \"%s\": expected a count (0 or more)", optarg);
						return EXIT_USAGE;
					}
					limit = optarg;
				}
				break;
			case 'd':
				conninfo = optarg;
				break;
			case 'h':
				usage(stdout);
				return EXIT_OK;
			default:
				usage(stderr);
				return EXIT_USAGE;
		}
	}
	if (argc - optind > 1)
	{
		cli_error("report: give at most one RUN");
		usage(stderr);
		return EXIT_USAGE;
	}
	conn = pg_connect_or_exit(conninfo, "report");
	pg_require_extension(conn, "report");
	/* runs whose driver is gone are marked abandoned (a reader without UPDATE sees it in run_summary) */
	PQclear(PQexec(conn, "SELECT count(*) FROM coder_scale.close_abandoned_runs()"));
	run = pick_run(conn, optind < argc ? argv[optind] : NULL, &rc);
	if (run)
	{
		rc = report(conn, run, limit);
		free(run);
	}
	PQfinish(conn);
	return rc;
}
