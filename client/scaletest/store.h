/*
 * store.h: results of a create-workspaces test into coder_scale.run and
 * coder_scale.run_result, as they happen.
 *
 * store_begin creates the run row (synchronously, before the test starts).
 * After that a writer thread owns the database connection: results and
 * cleanup figures are queued (never blocking the event loop), written with
 * batched COPY every 200 ms or 500 rows, kept in memory while the database
 * is away (spilled to a file beyond a bound) and written after reconnecting.
 */
#ifndef CODER_SCALE_STORE_H
#define CODER_SCALE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "record.h"

typedef struct store_run_info
{
	const char *label;
	const char *target_url;
	const char *coder_version;
	const char *template_name;
	const char *run_command;
	const char *parameters_json;
	const char *flags_json;
	const char *tags_json;
	const scaletest_config *cfg;
} store_run_info;

/*
 * Connect and create the run row; false with *err set (malloc'd) on failure,
 * and *missing_extension when the database lacks CREATE EXTENSION coder_scale.
 */
bool		store_begin(const char *conninfo, const store_run_info *info, long *run_id, char **err,
						bool *missing_extension);

/* Queue a finished run's result. */
void		store_result(const run_record *r);

/* Queue a run's cleanup figures (and its failure, if cleanup failed). */
void		store_cleanup(const run_record *r);

/*
 * Queue the run's final status and end (FINISHED_US, µs since the epoch:
 * when its runs and their cleanup ended; 0: now), write everything, and
 * stop the writer. Waits at most WAIT_S seconds for an absent database;
 * returns false when something could not be written (then *spill names the
 * file that holds it).
 */
bool		store_end(const char *status, int64_t finished_us, int wait_s, char **spill);

/* Counts for tests and messages. */
long		store_written(void);

/*
 * The summary line ("998 succeeded, 2 failed to connect") from the
 * run_summary view, or NULL when it is not available.
 */
char	   *store_summary(const char *conninfo, long run_id);

/* The wording of a failure category from coder_scale.failure_category (or NULL). */
const char *store_wording(const char *category);

#endif
