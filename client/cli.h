/*
 * cli.h: what the subcommands of coder-scale share.
 */
#ifndef CODER_SCALE_CLI_H
#define CODER_SCALE_CLI_H

#include <stdbool.h>

/* from coder_scale.control's default_version, passed in by client/Makefile */
#ifndef CODER_SCALE_VERSION
#error "CODER_SCALE_VERSION must be defined (client/Makefile reads it from coder_scale.control)"
#endif

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

#endif
