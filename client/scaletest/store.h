/*
 * store.h: the results of a create-workspaces test into coder_scale.run
 * and coder_scale.run_result, as they happen, through the one COPY writer
 * (common/copywriter.h).
 *
 *   long long run_id;
 *   if (!store_begin(conninfo, &info, &run_id, &err)) ...  // the run row, now
 *   store_result(rec);     // a run finished: its result row
 *   store_cleanup(rec);    // its cleanup finished: the figures (and failure)
 *   rc = store_end("completed", end_us, 60);   // the run's end; write all; exit code
 *
 * store_begin creates the run row before the test starts; from then on
 * the writer's thread owns the connection, and store_result, store_cleanup
 * and store_end only queue rows: the event loop never waits for the
 * database.  A result is stored at most once (ON CONFLICT DO NOTHING), a
 * cleanup's figures once (its UPDATE skips a row that has them), so a batch
 * written twice or a spill file loaded twice changes nothing.  What the
 * writer cannot store (the database stayed away, or refused a row) is in
 * its spill file with the run's end, for `coder-scale load-spill FILE`.
 *
 * One test per process: this is a module with one writer, not an object.
 */
#ifndef CODER_SCALE_STORE_H
#define CODER_SCALE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/copywriter.h"
#include "common/pg.h"
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
 * Connect, create the run row and start the writer; false with *err when
 * the database cannot be reached (class 08), lacks the extension (42704)
 * or refuses the row.
 */
bool		store_begin(const char *conninfo, const store_run_info *info, long long *run_id, pg_error *err);

/* Queue a finished run's result. */
void		store_result(const run_record *r);

/* Queue a run's cleanup figures (and its failure, if cleanup failed). */
void		store_cleanup(const run_record *r);

/*
 * Queue the run's final status and end (FINISHED_US, µs since the epoch:
 * when its runs and their cleanup ended; 0: now), write everything and stop
 * the writer, waiting at most WAIT_S seconds for a database that is away.
 * The exit code: EXIT_OK when everything is stored; EXIT_UNREACHABLE when
 * the database stayed away, EXIT_INTERNAL when it refused a row (the writer
 * said so, and where the rest is).
 */
int			store_end(const char *status, int64_t finished_us, int wait_s);

/*
 * The summary line ("998 succeeded, 2 failed to connect") from the
 * run_summary view, or NULL when it is not available.
 */
char	   *store_summary(const char *conninfo, long long run_id);

/* The wording of a failure category from coder_scale.failure_category (or NULL). */
const char *store_wording(const char *category);

/* The row kinds of results and cleanups (the writer adds runrow_end_kind), for load-spill. */
extern const cw_kind store_kinds[2];

#endif
