/*
 * loadspill.c: coder-scale load-spill FILE...: store what a run's writer
 * could not (its spill file: results, cleanup figures and the run's end of
 * a scale test, series and samples of a scrape), exactly once.
 *
 * The file names its run and its kinds of rows (common/copywriter.h); each
 * kind is stored with the very SQL its writer uses, whose applies are
 * idempotent, so loading a file twice, or again after an interruption,
 * stores nothing twice.  The file is left where it is.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/copywriter.h"
#include "common/flags.h"
#include "common/pg.h"
#include "common/runrow.h"
#include "scrape/samples.h"
#include "store.h"

#define NKNOWN 5

static void
usage(FILE *out)
{
	fprintf(out,
			"Usage: coder-scale load-spill FILE... [--db CONNINFO]\n\n"
			"Store what a run's database writer could not: the spill file it named when the\n"
			"database stayed away or refused a row (scaletest create-workspaces: results,\n"
			"cleanup figures and the run's end; scrape and --scrape: series and samples).\n"
			"Rows stored already are skipped, so loading a file twice stores nothing twice.\n\n"
			"Options:\n"
			"  --db CONNINFO    the database the run was written to (default: PGHOST, ... environment)\n"
			"  -h, --help       this help\n\n"
			"Exit codes: 0 stored, 2 bad flags, not a spill file or its run is not in the\n"
			"database, 3 database unreachable, 4 the database refused a row (fix the cause\n"
			"it names, then load again).\n");
}

/* The run the file belongs to, as it is stored now: "\"label\", create-workspaces, completed". */
static bool
describe_run(PGconn *conn, long long run_id, char *out, size_t size, pg_error *err)
{
	PGresult   *res = pg_query_id(conn, "SELECT coalesce(label, ''), kind, status FROM coder_scale.run WHERE id = $1",
								  run_id, err);
	bool		found;

	if (res == NULL)
		return false;
	found = PQntuples(res) == 1;
	if (found)
		snprintf(out, size, "%s%s%s%s, %s", *PQgetvalue(res, 0, 0) ? "\"" : "", PQgetvalue(res, 0, 0),
				 *PQgetvalue(res, 0, 0) ? "\", " : "", PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	else
		out[0] = '\0';
	PQclear(res);
	return true;
}

/* What was stored, kind by kind. */
static void
print_counts(const cw_spill_header *hdr, const cw_stats *st)
{
	for (int k = 0; k < hdr->nkinds; k++)
	{
		const cw_kind_stats *ks = &st->kind[k];
		char		label[40];

		snprintf(label, sizeof(label), "%s:", hdr->kind[k].kind->what);
		printf("  %-17s %lld in the file, %lld stored now, %lld stored before\n", label,
			   (long long) ks->rows, (long long) ks->stored, (long long) (ks->rows - ks->stored));
	}
}

/* Load one spill file; the exit code.  Its series' local ids are its own. */
static int
load_file(const char *path, const char *conninfo)
{
	void	   *ids = samples_ids_new();
	const cw_known known[NKNOWN] = {
		{&store_kinds[0], NULL}, {&store_kinds[1], NULL}, {&runrow_end_kind, NULL},
		{&samples_kinds[0], ids}, {&samples_kinds[1], ids}
	};
	cw_spill_header hdr;
	cw_stats	st;
	pg_error	e;
	PGconn	   *conn;
	char		run[400];
	int			rc = EXIT_OK;

	if (!cw_spill_header_read(path, known, NKNOWN, &hdr, &e))
	{
		cli_error("load-spill: %s", e.message);
		samples_ids_free(ids);
		return EXIT_USAGE;
	}
	conn = pg_connect_or_exit(conninfo, "load-spill");
	pg_require_extension(conn, "load-spill");
	if (!describe_run(conn, hdr.run_id, run, sizeof(run), &e))
	{
		pg_report("load-spill", path, &e);
		rc = pg_exit_code(&e);
	}
	else if (run[0] == '\0')
	{
		cli_error("load-spill: %s: run %lld is not in database \"%s\"; give --db the database its %s wrote to",
				  path, hdr.run_id, PQdb(conn), hdr.command);
		rc = EXIT_USAGE;
	}
	else if (!cw_spill_load(path, &hdr, conn, &st, &e))
	{
		pg_report("load-spill", path, &e);
		fprintf(stderr, "What was stored before the error stays; load the file again once the cause is fixed.\n");
		rc = pg_exit_code(&e);
	}
	else
	{
		describe_run(conn, hdr.run_id, run, sizeof(run), &e);
		printf("%s: run %lld (%s)\n", path, hdr.run_id, run);
		print_counts(&hdr, &st);
	}
	PQfinish(conn);
	samples_ids_free(ids);
	return rc;
}

int
cmd_load_spill(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *conninfo = NULL;
	int			opt,
				rc = EXIT_OK;

	flags_command("load-spill");
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
	{
		switch (opt)
		{
			case 'd':
				conninfo = optarg;
				break;
			case 'h':
				usage(stdout);
				return EXIT_OK;
			default:
				return flag_error(argv[optind - 1], NULL, "unknown flag or missing value");
		}
	}
	if (optind >= argc)
		return flag_error("FILE", NULL, "missing: give the spill file a writer named (.../coder-scale-run.../spill)");
	for (int i = optind; i < argc; i++)
	{
		int			frc = load_file(argv[i], conninfo);

		if (frc > rc)
			rc = frc;
	}
	return rc;
}
