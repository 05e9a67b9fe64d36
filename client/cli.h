/*
 * cli.h: what the subcommands of coder-scale share.
 */
#ifndef CODER_SCALE_CLI_H
#define CODER_SCALE_CLI_H

#include <stdbool.h>

/* from coder_scale.control's default_version, which client/Makefile passes in bare */
#ifndef CODER_SCALE_VERSION_NUMBER
#error "CODER_SCALE_VERSION_NUMBER must be defined (client/Makefile reads it from coder_scale.control)"
#endif
#define CLI_STRINGIFY_(x) #x
#define CLI_STRINGIFY(x) CLI_STRINGIFY_(x)
#define CODER_SCALE_VERSION CLI_STRINGIFY(CODER_SCALE_VERSION_NUMBER)

/* Exit codes, the same for every subcommand. */
enum
{
	EXIT_OK = 0,				/* everything passed */
	EXIT_TEST_FAILURES = 1,		/* the command worked; some runs failed */
	EXIT_USAGE = 2,				/* bad flags or bad input files */
	EXIT_UNREACHABLE = 3,		/* the database or the Coder API is unreachable */
	EXIT_INTERNAL = 4			/* the server refused or something unexpected */
};

/* A subcommand: name, one-line summary, entry point (argv[0] is its name). */
typedef struct cli_command
{
	const char *name;
	const char *summary;
	int			(*run) (int argc, char **argv);
} cli_command;

/* Print "coder-scale: <what>: <why>" to stderr. */
void		cli_error(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/*
 * Out of memory, from any thread: "coder-scale: out of memory (WHAT)", then
 * exit EXIT_INTERNAL.  What the writer has not stored is lost with the
 * process; the run row stays 'running' until report marks it abandoned.
 */
void		cli_out_of_memory(const char *what) __attribute__((noreturn));

/* The commands main.c dispatches to, each in its family's folder. */
int			cmd_ingest(int argc, char **argv);	/* ingest/ingest.c */
int			cmd_report(int argc, char **argv);	/* ingest/report.c */
int			cmd_scrape(int argc, char **argv);	/* scrape/scrape.c */
int			cmd_scaletest(int argc, char **argv);	/* scaletest/scaletest.c */
int			cmd_load_spill(int argc, char **argv);	/* scaletest/loadspill.c */

#endif							/* CODER_SCALE_CLI_H */
