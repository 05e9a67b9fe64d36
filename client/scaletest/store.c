/*
 * store.c: the rows of create-workspaces' results (see store.h): a result
 * row per run, a cleanup row per cleanup, the run's end, and the SQL that
 * stores each kind; the writing itself is copywriter.c's.
 *
 * A batch (500 rows or 200 ms) is one transaction: results COPYed into a
 * temporary table and INSERTed with ON CONFLICT DO NOTHING, then cleanups
 * COPYed and applied with an UPDATE, then the run's end.  A run's result is
 * always queued before its cleanup, and kinds are written in that order,
 * so the UPDATE finds its row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/buf.h"
#include "common/runrow.h"
#include "common/timeutil.h"
#include "store.h"

#define BATCH_ROWS		500
#define FLUSH_MS		200
#define MEMORY_DEFAULT	((size_t) 32 * 1024 * 1024)
#define MAX_WORDINGS	CAT_COUNT

enum
{
	K_RESULT,
	K_CLEANUP,
	K_RUN_END
};

/* The phase columns of run_result (common/categories.h), in table order. */
#define PHASE_DECL(e, name) ", " name " interval"
#define PHASE_COLUMN(e, name) ", " name
#define RESULT_COLUMNS "full_id, workspace_name, user_name, started_at, finished_at, duration" \
	RUN_PHASES(PHASE_COLUMN) ", outcome, failure_category, error, logs"

/*
 * A cleanup is applied once: the UPDATE skips a row that has its figure
 * and, for a failed cleanup, its line in the logs already.
 */
const cw_kind store_kinds[2] = {
	[K_RESULT] = {
		.name = "result",
		.what = "results",
		.prepare_sql = "CREATE TEMP TABLE IF NOT EXISTS cs_results (full_id text, workspace_name text,"
		" user_name text, started_at timestamptz, finished_at timestamptz, duration interval"
		RUN_PHASES(PHASE_DECL) ", outcome text, failure_category text, error text, logs text)"
		" ON COMMIT DELETE ROWS",
		.copy_sql = "COPY cs_results (" RESULT_COLUMNS ") FROM STDIN",
		.apply_sql = "INSERT INTO coder_scale.run_result (run_id, " RESULT_COLUMNS ")"
		" SELECT $1, " RESULT_COLUMNS " FROM cs_results ON CONFLICT (run_id, full_id) DO NOTHING"
	},
	[K_CLEANUP] = {
		.name = "cleanup",
		.what = "cleanup figures",
		.prepare_sql = "CREATE TEMP TABLE IF NOT EXISTS cs_cleanups (full_id text, cleanup interval, error text)"
		" ON COMMIT DELETE ROWS",
		.copy_sql = "COPY cs_cleanups (full_id, cleanup, error) FROM STDIN",
		.apply_sql = "UPDATE coder_scale.run_result rr SET cleanup = cl.cleanup,"
		" outcome = CASE WHEN cl.error IS NULL THEN rr.outcome ELSE 'fail' END,"
		" failure_category = CASE WHEN cl.error IS NOT NULL AND rr.outcome = 'pass'"
		"   THEN 'cleanup_failed' ELSE rr.failure_category END,"
		" error = CASE WHEN cl.error IS NOT NULL AND rr.outcome = 'pass' THEN cl.error ELSE rr.error END,"
		" logs = CASE WHEN cl.error IS NULL THEN rr.logs"
		"   ELSE coalesce(rr.logs, '') || 'cleanup failed: ' || cl.error || E'\\n' END"
		" FROM cs_cleanups cl WHERE rr.run_id = $1 AND rr.full_id = cl.full_id"
		" AND NOT (rr.cleanup IS NOT DISTINCT FROM cl.cleanup AND (cl.error IS NULL"
		"   OR strpos(coalesce(rr.logs, ''), 'cleanup failed: ' || cl.error || E'\\n') > 0))"
	}
};

/* The test's writer and what store_begin read; one per process. */
static struct
{
	copy_writer *writer;
	cw_kind		kinds[3];
	buf			row;			/* the row being formatted (kept: no allocation per row) */
	char	   *wording_name[MAX_WORDINGS];
	char	   *wording_text[MAX_WORDINGS];
	int			nwording;
} results;

/* An interval of US microseconds, or NULL when negative (unknown). */
static void
copy_interval(buf *b, int64_t us)
{
	char		v[40];

	if (us < 0)
	{
		buf_copy_null(b);
		return;
	}
	snprintf(v, sizeof(v), "%lld.%06lld", (long long) (us / 1000000), (long long) (us % 1000000));
	buf_copy_text(b, v);
}

void
store_result(const run_record *r)
{
	buf		   *b = &results.row;
	char		ts[64];
	struct timespec fin;
	int64_t		end_ns = (int64_t) r->started_wall.tv_nsec + r->duration_us * 1000;

	buf_reset(b);
	buf_copy_text(b, r->full_id);
	/* the names the logs show (ingest/runlogs.c reads them back the same) */
	buf_copy_text(b, r->ws_attempted ? r->name : NULL);
	buf_copy_text(b, r->username[0] ? r->username : NULL);
	buf_copy_text(b, rfc3339(&r->started_wall, ts, sizeof(ts)));
	fin.tv_sec = r->started_wall.tv_sec + (time_t) (end_ns / 1000000000);
	fin.tv_nsec = (long) (end_ns % 1000000000);
	buf_copy_text(b, rfc3339(&fin, ts, sizeof(ts)));
	copy_interval(b, r->duration_us);
	for (int k = 0; k < T_COUNT; k++)
		copy_interval(b, r->t_us[k]);
	buf_copy_text(b, r->error ? "fail" : "pass");
	buf_copy_text(b, r->error ? category_name(r->category) : NULL);
	buf_copy_text(b, r->error);
	buf_copy_text(b, r->logs ? r->logs : "");
	buf_copy_end_row(b);
	cw_rows(results.writer, K_RESULT, b, 1);
}

void
store_cleanup(const run_record *r)
{
	buf		   *b = &results.row;

	buf_reset(b);
	buf_copy_text(b, r->full_id);
	copy_interval(b, r->t_us[T_CLEANUP]);
	buf_copy_text(b, r->cl_error);
	buf_copy_end_row(b);
	cw_rows(results.writer, K_CLEANUP, b, 1);
}

static void
load_wordings(PGconn *c)
{
	pg_error	e;
	PGresult   *res = pg_query(c, "SELECT name, wording FROM coder_scale.failure_category ORDER BY sort_order",
							   0, NULL, &e);

	for (int i = 0; res && i < PQntuples(res) && results.nwording < MAX_WORDINGS; i++, results.nwording++)
	{
		results.wording_name[results.nwording] = strdup(PQgetvalue(res, i, 0));
		results.wording_text[results.nwording] = strdup(PQgetvalue(res, i, 1));
	}
	PQclear(res);
}

const char *
store_wording(const char *category)
{
	for (int i = 0; i < results.nwording; i++)
		if (strcmp(results.wording_name[i], category) == 0)
			return results.wording_text[i];
	return NULL;
}

static char *
ms_interval(int64_t ms, char *buf, size_t size)
{
	snprintf(buf, size, "%lld milliseconds", (long long) ms);
	return buf;
}

/* The run row of the test. */
static bool
insert_run(PGconn *c, const store_run_info *in, long long *run_id, pg_error *err)
{
	const scaletest_config *cfg = in->cfg;
	char		count[16],
				conc[16],
				cconc[16],
				t1[40],
				t2[40],
				t3[40],
				t4[40];
	runrow_info row = {
		.kind = "create-workspaces", .status = "running", .label = in->label, .host = true,
		.tags_json = in->tags_json, .flags_json = in->flags_json,
		.target_url = in->target_url, .coder_version = in->coder_version, .template_name = in->template_name,
		.count = count, .concurrency = conc, .cleanup_concurrency = cconc,
		.timeout = ms_interval(cfg->timeout_ms, t1, sizeof(t1)),
		.job_timeout = ms_interval(cfg->job_timeout_ms, t2, sizeof(t2)),
		.cleanup_timeout = ms_interval(cfg->cleanup_timeout_ms, t3, sizeof(t3)),
		.cleanup_job_timeout = ms_interval(cfg->cleanup_job_timeout_ms, t4, sizeof(t4)),
		.run_command = in->run_command, .parameters_json = in->parameters_json
	};

	snprintf(count, sizeof(count), "%d", cfg->count);
	snprintf(conc, sizeof(conc), "%d", cfg->concurrency);
	snprintf(cconc, sizeof(cconc), "%d", cfg->cleanup_concurrency);
	return runrow_insert(c, &row, run_id, err);
}

bool
store_begin(const char *conninfo, const store_run_info *info, long long *run_id, pg_error *err)
{
	PGconn	   *c = pg_connect(conninfo, "scaletest", err);
	cw_opts		o = {
		.conninfo = conninfo, .command = "scaletest", .what = "results database", .hold_run = true,
		.kinds = results.kinds, .nkinds = 3, .batch_rows = BATCH_ROWS, .flush_ms = FLUSH_MS,
		.memory_limit = cw_memory_limit(MEMORY_DEFAULT)
	};

	if (c == NULL)
		return false;
	if (!pg_has_extension(c, err) || !insert_run(c, info, run_id, err))
	{
		PQfinish(c);
		return false;
	}
	load_wordings(c);
	results.kinds[K_RESULT] = store_kinds[K_RESULT];
	results.kinds[K_CLEANUP] = store_kinds[K_CLEANUP];
	results.kinds[K_RUN_END] = runrow_end_kind;
	o.run_id = *run_id;
	o.conn = c;
	results.writer = cw_start(&o, err);
	return results.writer != NULL;
}

int
store_end(const char *status, int64_t finished_us, int wait_s)
{
	cw_stats	st;

	buf_reset(&results.row);
	runrow_end_row(&results.row, status, finished_us);
	cw_rows(results.writer, K_RUN_END, &results.row, 1);
	buf_free(&results.row);
	switch (cw_finish(results.writer, wait_s, &st))
	{
		case CW_WRITTEN:
			return EXIT_OK;
		case CW_UNREACHABLE:
			return EXIT_UNREACHABLE;
		case CW_REFUSED:
			break;
	}
	return EXIT_INTERNAL;
}

char *
store_summary(const char *conninfo, long long run_id)
{
	pg_error	e;
	PGconn	   *c = pg_connect(conninfo, "scaletest", &e);
	char	   *line;

	if (c == NULL)
		return NULL;
	line = runrow_summary(c, run_id);
	PQfinish(c);
	return line;
}
