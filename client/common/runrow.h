/*
 * runrow.h: the row of coder_scale.run that every command makes: its
 * insert, the lock its driver holds while it runs, its end, and its summary
 * line.  driver_version is spelled one way for every command:
 * "coder-scale X.Y.Z", the client's version from coder_scale.control.
 *
 *   long long id;
 *   runrow_info info = {.kind = "scrape", .status = "running", .host = true};
 *   if (!runrow_insert(conn, &info, &id, &e)) ...
 *   runrow_hold(conn, id, "scrape");          // while this connection lasts
 *   ... the run ...
 *   runrow_close(conn, id, "completed", &e);  // or a run_end row through a writer
 *   char *line = runrow_summary(conn, id);    // "998 succeeded, 2 failed to connect"
 */
#ifndef CODER_SCALE_RUNROW_H
#define CODER_SCALE_RUNROW_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "copywriter.h"
#include "pg.h"

#define RUNROW_DRIVER_VERSION "coder-scale " CODER_SCALE_VERSION

/* The columns a command sets; NULL leaves a column to its default (text as the column takes it). */
typedef struct runrow_info
{
	const char *kind;			/* 'create-workspaces', 'ingest' or 'scrape' */
	const char *status;			/* 'running' until closed, or 'completed' for a run stored whole */
	const char *label;
	const char *tags_json;
	const char *flags_json;
	bool		host;			/* record this machine as the run's host: it drives the run */
	/* create-workspaces: what was tested, and how */
	const char *target_url;
	const char *coder_version;
	const char *template_name;
	const char *count;
	const char *concurrency;
	const char *cleanup_concurrency;
	const char *timeout;		/* intervals, e.g. "300000 milliseconds" */
	const char *job_timeout;
	const char *cleanup_timeout;
	const char *cleanup_job_timeout;
	const char *run_command;
	const char *parameters_json;
	/* ingest: the file it came from */
	const char *source_file;
	const char *source_sha256;
} runrow_info;

/* Insert the run row; its id in *run_id; false with *err. */
bool		runrow_insert(PGconn *conn, const runrow_info *info, long long *run_id, pg_error *err);

/*
 * Hold the run's lock on this connection for as long as it lasts
 * (coder_scale.hold_run()), so that readers tell a live run from one whose
 * driver was killed.  Never fails the caller: when the server cannot (an
 * extension older than 0.2.0) it warns once on stderr as COMMAND.
 */
void		runrow_hold(PGconn *conn, long long run_id, const char *command);

/* Set the run's final STATUS, finished now; false with *err. */
bool		runrow_close(PGconn *conn, long long run_id, const char *status, pg_error *err);

/* The run's summary line from coder_scale.run_summary (malloc'd), or NULL. */
char	   *runrow_summary(PGconn *conn, long long run_id);

/*
 * The run's end as a row of a writer (kind "run_end"), for a run whose rows
 * a copy_writer stores: its final status and end (FINISHED_US, µs since
 * the epoch; 0: now), applied after the rows before it, and kept in the
 * spill file with them when the database is away.
 */
extern const cw_kind runrow_end_kind;
void		runrow_end_row(buf *row, const char *status, int64_t finished_us);

#endif							/* CODER_SCALE_RUNROW_H */
