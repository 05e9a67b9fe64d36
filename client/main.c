/*
 * main.c: coder-scale, the client of the coder_scale extension.
 *
 * One main that dispatches to the commands of the table below; cli.h
 * declares them, each lives in the folder of its family.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_command commands[] = {
	{"ingest", "store result files of coder exp scaletest (--output json:FILE)", cmd_ingest},
	{"report", "print a run's results, phase latencies and failures", cmd_report},
	{"scrape", "scrape Prometheus endpoints for a while and store the samples", cmd_scrape},
	{"scaletest", "run Coder's scale test (create-workspaces, cleanup) and store the results", cmd_scaletest},
	{"load-spill", "store the spill file of a run whose database writer could not write everything", cmd_load_spill},
	{NULL, NULL, NULL}
};

void
cli_error(const char *fmt,...)
{
	va_list		ap;

	/* one line, whole: a writer's thread may say something at the same time */
	flockfile(stderr);
	fputs("coder-scale: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void
cli_out_of_memory(const char *what)
{
	cli_error("out of memory (%s)", what);
	exit(EXIT_INTERNAL);
}

static void
usage(FILE *out)
{
	fprintf(out,
			"coder-scale %s: scale-test Coder deployments and keep the results in PostgreSQL\n\n"
			"Usage: coder-scale COMMAND [OPTIONS]\n\n"
			"Commands:\n", CODER_SCALE_VERSION);
	for (const cli_command *c = commands; c->name; c++)
		fprintf(out, "  %-12s %s\n", c->name, c->summary);
	fprintf(out,
			"\nRun 'coder-scale COMMAND --help' for the options of a command.\n"
			"Database connection: --db CONNINFO, or the libpq environment (PGHOST, PGPORT, ...).\n"
			"Exit codes: 0 ok, 1 test failures, 2 usage or input error, 3 server unreachable, 4 other error.\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2)
	{
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)
	{
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0)
	{
		printf("coder-scale %s\n", CODER_SCALE_VERSION);
		return EXIT_OK;
	}
	for (const cli_command *c = commands; c->name; c++)
		if (strcmp(argv[1], c->name) == 0)
			return c->run(argc - 1, argv + 1);

	cli_error("unknown command \"%s\"", argv[1]);
	fprintf(stderr, "Run 'coder-scale --help' for the list of commands.\n");
	return EXIT_USAGE;
}
