/*
 * runrow.c: insert, hold, end and summary of coder_scale.run (see
 * runrow.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "runrow.h"
#include "timeutil.h"

#define RUN_COLUMNS 22

/* Append column NAME with VALUE (skipped when NULL) to the insert being built. */
static void
column(buf *names, buf *places, const char **vals, int *n, const char *name, const char *value)
{
	if (value == NULL)
		return;
	vals[*n] = value;
	(*n)++;
	buf_printf(names, "%s%s", *n > 1 ? ", " : "", name);
	buf_printf(places, "%s$%d", *n > 1 ? ", " : "", *n);
}

bool
runrow_insert(PGconn *conn, const runrow_info *in, long long *run_id, pg_error *err)
{
	const char *vals[RUN_COLUMNS];
	char		host[256] = "";
	buf			names = {0},
				places = {0},
				sql = {0};
	int			n = 0;
	PGresult   *res;

	if (in->host && gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "unknown");
	column(&names, &places, vals, &n, "kind", in->kind);
	column(&names, &places, vals, &n, "status", in->status);
	column(&names, &places, vals, &n, "label", in->label);
	column(&names, &places, vals, &n, "tags", in->tags_json);
	column(&names, &places, vals, &n, "flags", in->flags_json);
	column(&names, &places, vals, &n, "host", in->host ? host : NULL);
	column(&names, &places, vals, &n, "driver_version", RUNROW_DRIVER_VERSION);
	column(&names, &places, vals, &n, "target_url", in->target_url);
	column(&names, &places, vals, &n, "coder_version", in->coder_version);
	column(&names, &places, vals, &n, "template", in->template_name);
	column(&names, &places, vals, &n, "count", in->count);
	column(&names, &places, vals, &n, "concurrency", in->concurrency);
	column(&names, &places, vals, &n, "cleanup_concurrency", in->cleanup_concurrency);
	column(&names, &places, vals, &n, "timeout", in->timeout);
	column(&names, &places, vals, &n, "job_timeout", in->job_timeout);
	column(&names, &places, vals, &n, "cleanup_timeout", in->cleanup_timeout);
	column(&names, &places, vals, &n, "cleanup_job_timeout", in->cleanup_job_timeout);
	column(&names, &places, vals, &n, "run_command", in->run_command);
	column(&names, &places, vals, &n, "parameters", in->parameters_json);
	column(&names, &places, vals, &n, "source_file", in->source_file);
	column(&names, &places, vals, &n, "source_sha256", in->source_sha256);
	buf_printf(&sql, "INSERT INTO coder_scale.run (%s) VALUES (%s) RETURNING id", names.data, places.data);
	res = pg_query(conn, sql.data, n, vals, err);
	buf_free(&names);
	buf_free(&places);
	buf_free(&sql);
	if (res == NULL)
		return false;
	*run_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return true;
}

void
runrow_hold(PGconn *conn, long long run_id, const char *command)
{
	static bool warned;
	pg_error	e;
	PGresult   *res;

	if (run_id <= 0)
		return;
	res = pg_query_id(conn, "SELECT coder_scale.hold_run($1)", run_id, &e);
	if (res == NULL && !warned)
	{
		warned = true;
		cli_error("%s: warning: run %lld is not marked as driven (%s); "
				  "run ALTER EXTENSION coder_scale UPDATE if the extension is older than 0.2.0",
				  command, run_id, e.message);
	}
	PQclear(res);
}

bool
runrow_close(PGconn *conn, long long run_id, const char *status, pg_error *err)
{
	char		id[24];
	const char *params[2] = {id, status};
	PGresult   *res;

	snprintf(id, sizeof(id), "%lld", run_id);
	res = pg_query(conn, "UPDATE coder_scale.run SET status = $2, finished_at = greatest(now(), started_at) "
				   "WHERE id = $1", 2, params, err);
	PQclear(res);
	return res != NULL;
}

char *
runrow_summary(PGconn *conn, long long run_id)
{
	pg_error	e;
	PGresult   *res = pg_query_id(conn, "SELECT summary FROM coder_scale.run_summary WHERE run_id = $1", run_id, &e);
	char	   *line = NULL;

	if (res && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		line = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return line;
}

/* The end is applied once: a second time (load-spill run twice) changes nothing. */
const cw_kind runrow_end_kind = {
	.name = "run_end",
	.what = "run status",
	.prepare_sql = "CREATE TEMP TABLE IF NOT EXISTS cs_run_end (status text, finished_at timestamptz) "
	"ON COMMIT DELETE ROWS",
	.copy_sql = "COPY cs_run_end (status, finished_at) FROM STDIN",
	.apply_sql = "UPDATE coder_scale.run r SET status = e.status, finished_at = greatest(e.finished_at, r.started_at) "
	"FROM cs_run_end e WHERE r.id = $1 "
	"AND (r.status, r.finished_at) IS DISTINCT FROM (e.status, greatest(e.finished_at, r.started_at))"
};

void
runrow_end_row(buf *row, const char *status, int64_t finished_us)
{
	struct timeval now;
	char		ts[64];

	if (finished_us <= 0)
	{
		gettimeofday(&now, NULL);
		finished_us = (int64_t) now.tv_sec * 1000000 + now.tv_usec;
	}
	format_pg_utc(finished_us / 1000000, (int32_t) (finished_us % 1000000) * 1000, 0, ts, sizeof(ts));
	buf_copy_text(row, status);
	buf_copy_text(row, ts);
	buf_copy_end_row(row);
}
