/*
 * results.h: a test's results in Coder's harness formats, byte for byte
 * (coder/coder scaletest/harness/results.go: Results, RunResult,
 * PrintText, and the JSON that cli/exp_scaletest.go writes with
 * json.NewEncoder(w).Encode).
 *
 *     results res;
 *     results_init(&res, elapsed_ns);
 *     results_add(&res, "cleanup-workspace", "0", logs, error, &started, ns);
 *     results_print_text(stderr, &res);      or results_write_json(f, &res)
 *     results_free(&res);
 *
 * The strings a run points to (logs, error, test name) are borrowed: they
 * must outlive the writes.  Nothing here talks to Coder or the database.
 */
#ifndef CODER_SCALE_RESULTS_H
#define CODER_SCALE_RESULTS_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "record.h"

/* One run (harness.RunResult). */
typedef struct result_run
{
	char		full_id[96];	/* TEST_NAME/ID, the key the writers sort by */
	const char *test_name;
	char		id[24];
	const char *logs;			/* NULL: none */
	const char *error;			/* NULL: passed */
	struct timespec started_at; /* wall clock */
	int64_t		duration_ns;
} result_run;

/* A whole test (harness.Results); the totals need not count only the runs listed. */
typedef struct results
{
	int			total_runs;
	int			total_pass;
	int			total_fail;
	int64_t		elapsed_ns;
	result_run *runs;
	int			nruns;
	int			cap;
} results;

/* No runs yet, an elapsed time of ELAPSED_NS. */
void		results_init(results *res, int64_t elapsed_ns);

/* Add a run and count it in the totals (ERROR NULL: a pass). */
void		results_add(results *res, const char *test_name, const char *id, const char *logs,
						const char *error, const struct timespec *started_at, int64_t duration_ns);

/* Add a finished create-workspaces run: workspacebuild/<i>. */
void		results_add_record(results *res, const run_record *r);

void		results_free(results *res);

/* Results.PrintText: the failures with their logs, then the totals. */
void		results_print_text(FILE *f, const results *res);

/* The results as json.NewEncoder(f).Encode(res) writes them: one line. */
void		results_write_json(FILE *f, const results *res);

#endif							/* CODER_SCALE_RESULTS_H */
