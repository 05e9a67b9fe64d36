/*
 * store.c: the buffered COPY writer of create-workspaces.
 *
 * The event loop formats each finished run as one COPY text row and queues
 * it (store_result, store_cleanup): that never blocks on the database. One
 * writer thread owns the connection and writes the queue every 200 ms or
 * every 500 rows in one transaction:
 *   COPY into temporary tables, INSERT ... ON CONFLICT DO NOTHING into
 *   run_result (a batch sent twice after a lost answer is harmless), then
 *   UPDATE run_result with the cleanup figures.
 * When the database goes away the rows stay queued (up to a memory bound,
 * beyond it in a spill file, in order), the writer reconnects with backoff
 * and writes them all. Order matters only between a run's result and its
 * cleanup, and the queue and spill file are both FIFO: the spill file is
 * always written before anything queued after it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "cli.h"
#include "common/db.h"
#include "common/timeutil.h"
#include "store.h"

#define BATCH_ROWS		500
#define FLUSH_MS		200
#define DEFAULT_MEMORY	(32L * 1024 * 1024)

typedef struct item
{
	struct item *next;
	char		kind;			/* 'R' result, 'C' cleanup */
	size_t		len;
	char		line[];			/* COPY text row with its newline */
} item;

static struct
{
	pthread_t	thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool		running;
	item	   *head;
	item	   *tail;
	long		queued;			/* items in the queue */
	long		bytes;			/* their size */
	long		memory_limit;
	FILE	   *spill;			/* appended while spilling */
	char	   *spill_path;		/* SPILL_DIR/spill, once made */
	char	   *spill_dir;
	long		spilled;		/* rows in the spill file */
	long		mem_before_spill;	/* queued items older than the spill file */
	bool		finishing;
	char		final_status[16];
	int64_t		finished_us;	/* the run's end, µs since the epoch; 0: when written */
	time_t		give_up_at;
	bool		ok;				/* everything written */
	long		written;
	/* writer side */
	PGconn	   *conn;
	char	   *conninfo;
	long		run_id;
	char	   *wording_names[16];
	char	   *wording_text[16];
	int			nwording;
} W;

/* ---------- COPY text formatting ---------- */

typedef struct sbuf
{
	char	   *s;
	size_t		len;
	size_t		cap;
} sbuf;

static void
sb_put(sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap)
	{
		size_t		cap = b->cap ? b->cap * 2 : 256;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->s = realloc(b->s, cap);
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
sb_text(sbuf *b, const char *s)
{
	if (!s)
	{
		sb_put(b, "\\N", 2);
		return;
	}
	for (const char *p = s; *p; p++)
	{
		switch (*p)
		{
			case '\\':
				sb_put(b, "\\\\", 2);
				break;
			case '\t':
				sb_put(b, "\\t", 2);
				break;
			case '\n':
				sb_put(b, "\\n", 2);
				break;
			case '\r':
				sb_put(b, "\\r", 2);
				break;
			default:
				sb_put(b, p, 1);
		}
	}
}

static void
sb_sep(sbuf *b)
{
	sb_put(b, "\t", 1);
}

/* An interval of US microseconds, or NULL when negative (unknown). */
static void
sb_interval(sbuf *b, int64_t us)
{
	char		v[40];

	if (us < 0)
	{
		sb_put(b, "\\N", 2);
		return;
	}
	snprintf(v, sizeof(v), "%lld.%06lld", (long long) (us / 1000000), (long long) (us % 1000000));
	sb_put(b, v, strlen(v));
}

/* ---------- the queue ---------- */

/*
 * The spill file holds result rows (user names, URLs, logs): it lives in a
 * private directory made with mkdtemp under $TMPDIR (default /tmp), mode
 * 0700, and is created there with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, so
 * no other user can read it, predict its name or point it elsewhere.
 */
static FILE *
open_spill(void)
{
	const char *tmp = getenv("TMPDIR");
	char	   *dir;
	int			fd;
	FILE	   *f;

	if (!W.spill_dir)
	{
		if (asprintf(&dir, "%s/coder-scale-run%ld-XXXXXX", tmp && *tmp ? tmp : "/tmp", W.run_id) < 0)
			return NULL;
		if (!mkdtemp(dir))
		{
			free(dir);
			return NULL;
		}
		W.spill_dir = dir;
		free(W.spill_path);
		if (asprintf(&W.spill_path, "%s/spill", dir) < 0)
			W.spill_path = NULL;
	}
	if (!W.spill_path)
		return NULL;
	fd = open(W.spill_path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	if (!(f = fdopen(fd, "a")))
		close(fd);
	return f;
}

/* Read the spill file (never through a symlink). */
static FILE *
read_spill_file(void)
{
	int			fd = open(W.spill_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	FILE	   *f;

	if (fd < 0)
		return NULL;
	if (!(f = fdopen(fd, "r")))
		close(fd);
	return f;
}

/* Remove the spill file and its directory. */
static void
remove_spill(void)
{
	if (W.spill_path)
		unlink(W.spill_path);
	if (W.spill_dir)
		rmdir(W.spill_dir);
	free(W.spill_dir);
	W.spill_dir = NULL;
}

static void
spill_item_locked(item *it)
{
	if (!W.spill && !(W.spill = open_spill()))
		return;					/* nowhere to put it: keep it in memory */
	fputc(it->kind, W.spill);
	fwrite(it->line, 1, it->len, W.spill);
	fflush(W.spill);
	W.spilled++;
}

static void
enqueue(char kind, sbuf *b)
{
	item	   *it = malloc(sizeof(item) + b->len + 1);

	if (!it)
		return;
	it->next = NULL;
	it->kind = kind;
	it->len = b->len;
	memcpy(it->line, b->s, b->len + 1);
	free(b->s);
	pthread_mutex_lock(&W.mu);
	if (W.spilled > 0 || W.bytes + (long) it->len > W.memory_limit)
	{
		if (W.spilled == 0)
			W.mem_before_spill = W.queued;	/* they must be written first */
		spill_item_locked(it);
		if (W.spill)
		{
			free(it);
			pthread_cond_signal(&W.cond);
			pthread_mutex_unlock(&W.mu);
			return;
		}
	}
	if (W.tail)
		W.tail->next = it;
	else
		W.head = it;
	W.tail = it;
	W.queued++;
	W.bytes += (long) it->len;
	if (W.queued >= BATCH_ROWS)
		pthread_cond_signal(&W.cond);
	pthread_mutex_unlock(&W.mu);
}

void
store_result(const run_record *r)
{
	sbuf		b = {0};
	char		ts[64];
	char		id[32];
	struct timespec fin;
	int64_t		end_ns;

	snprintf(id, sizeof(id), "%ld", W.run_id);
	sb_put(&b, id, strlen(id));
	sb_sep(&b);
	sb_text(&b, r->full_id);
	sb_sep(&b);
	/* the names the logs show (client/runlogs.c reads them back the same) */
	sb_text(&b, r->ws_attempted ? r->name : NULL);
	sb_sep(&b);
	sb_text(&b, r->username[0] ? r->username : NULL);
	sb_sep(&b);
	sb_text(&b, rfc3339(&r->started_wall, ts, sizeof(ts)));
	sb_sep(&b);
	end_ns = (int64_t) r->started_wall.tv_nsec + r->duration_us * 1000;
	fin.tv_sec = r->started_wall.tv_sec + (time_t) (end_ns / 1000000000);
	fin.tv_nsec = (long) (end_ns % 1000000000);
	sb_text(&b, rfc3339(&fin, ts, sizeof(ts)));
	for (int k = -1; k < T_CLEANUP; k++)
	{
		sb_sep(&b);
		sb_interval(&b, k < 0 ? r->duration_us : r->t_us[k]);
	}
	sb_sep(&b);
	sb_text(&b, r->error ? "fail" : "pass");
	sb_sep(&b);
	sb_text(&b, r->error ? category_name(r->category) : NULL);
	sb_sep(&b);
	sb_text(&b, r->error);
	sb_sep(&b);
	sb_text(&b, r->logs ? r->logs : "");
	sb_put(&b, "\n", 1);
	enqueue('R', &b);
}

void
store_cleanup(const run_record *r)
{
	sbuf		b = {0};

	sb_text(&b, r->full_id);
	sb_sep(&b);
	sb_interval(&b, r->t_us[T_CLEANUP]);
	sb_sep(&b);
	sb_text(&b, r->cl_error);
	sb_put(&b, "\n", 1);
	enqueue('C', &b);
}

/* ---------- the database side ---------- */

static PGconn *
connect_db(const char *conninfo)
{
	const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
	const char *vals[] = {conninfo, "5", "coder-scale scaletest", NULL};
	PGconn	   *c;

	if (!conninfo || !*conninfo)
	{
		keys[0] = "connect_timeout";
		vals[0] = "5";
		keys[1] = "application_name";
		vals[1] = "coder-scale scaletest";
		keys[2] = NULL;
	}
	c = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(c) != CONNECTION_OK)
		return c;
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	return c;
}

static bool
exec_ok(PGconn *c, const char *sql)
{
	PGresult   *res = PQexec(c, sql);
	bool		ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

	PQclear(res);
	return ok;
}

static bool
prepare_conn(PGconn *c)
{
	db_hold_run(c, W.run_id, "scaletest");
	return exec_ok(c,
				   "CREATE TEMP TABLE IF NOT EXISTS cs_results ("
				   " run_id bigint, full_id text, workspace_name text, user_name text,"
				   " started_at timestamptz, finished_at timestamptz, duration interval,"
				   " create_user interval, create_workspace interval, queue_wait interval,"
				   " build interval, agents_connect interval, command interval,"
				   " outcome text, failure_category text, error text, logs text)") &&
		exec_ok(c,
				"CREATE TEMP TABLE IF NOT EXISTS cs_cleanups (full_id text, cleanup interval, error text)");
}

static bool
copy_rows(PGconn *c, const char *sql, item *from, long n, char kind)
{
	PGresult   *res = PQexec(c, sql);
	bool		ok = PQresultStatus(res) == PGRES_COPY_IN;

	PQclear(res);
	if (!ok)
		return false;
	for (item *it = from; n > 0; it = it->next, n--)
		if (it->kind == kind && PQputCopyData(c, it->line, (int) it->len) != 1)
			return false;
	if (PQputCopyEnd(c, NULL) != 1)
		return false;
	res = PQgetResult(c);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	while ((res = PQgetResult(c)))
		PQclear(res);
	return ok;
}

/* Write N items from FROM on in one transaction. */
static bool
write_items(item *from, long n)
{
	char		sql[1024];
	PGconn	   *c = W.conn;

	if (!exec_ok(c, "BEGIN") ||
		!copy_rows(c, "COPY cs_results FROM STDIN", from, n, 'R') ||
		!copy_rows(c, "COPY cs_cleanups FROM STDIN", from, n, 'C') ||
		!exec_ok(c,
				 "INSERT INTO coder_scale.run_result (run_id, full_id, workspace_name, user_name,"
				 " started_at, finished_at, duration, create_user, create_workspace, queue_wait,"
				 " build, agents_connect, command, outcome, failure_category, error, logs)"
				 " SELECT run_id, full_id, workspace_name, user_name, started_at, finished_at,"
				 " duration, create_user, create_workspace, queue_wait, build, agents_connect,"
				 " command, outcome, failure_category, error, logs FROM cs_results"
				 " ON CONFLICT (run_id, full_id) DO NOTHING"))
	{
		exec_ok(c, "ROLLBACK");
		return false;
	}
	snprintf(sql, sizeof(sql),
			 "UPDATE coder_scale.run_result rr SET cleanup = cl.cleanup,"
			 " outcome = CASE WHEN cl.error IS NULL THEN rr.outcome ELSE 'fail' END,"
			 " failure_category = CASE WHEN cl.error IS NOT NULL AND rr.outcome = 'pass'"
			 "   THEN 'cleanup_failed' ELSE rr.failure_category END,"
			 " error = CASE WHEN cl.error IS NOT NULL AND rr.outcome = 'pass'"
			 "   THEN cl.error ELSE rr.error END,"
			 " logs = CASE WHEN cl.error IS NULL THEN rr.logs"
			 "   ELSE coalesce(rr.logs, '') || 'cleanup failed: ' || cl.error || E'\\n' END"
			 " FROM cs_cleanups cl WHERE rr.run_id = %ld AND rr.full_id = cl.full_id",
			 W.run_id);
	if (!exec_ok(c, sql) || !exec_ok(c, "TRUNCATE cs_results, cs_cleanups") || !exec_ok(c, "COMMIT"))
	{
		exec_ok(c, "ROLLBACK");
		return false;
	}
	return true;
}

static void
drop_conn(void)
{
	if (W.conn)
		PQfinish(W.conn);
	W.conn = NULL;
}

static bool
ensure_conn(void)
{
	if (W.conn && PQstatus(W.conn) == CONNECTION_OK)
		return true;
	drop_conn();
	W.conn = connect_db(W.conninfo);
	if (PQstatus(W.conn) != CONNECTION_OK || !prepare_conn(W.conn))
	{
		drop_conn();
		return false;
	}
	return true;
}

static void
free_items(item *from, long n)
{
	while (n-- > 0)
	{
		item	   *n = from->next;

		free(from);
		from = n;
	}
}

/* Read up to BATCH_ROWS complete rows of the spill file from *OFF. */
static item *
read_spill(FILE *f, long *count, long *off)
{
	item	   *head = NULL,
			   *tail = NULL;
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		n;

	*count = 0;
	if (fseek(f, *off, SEEK_SET) != 0)
		return NULL;
	while (*count < BATCH_ROWS && (n = getline(&line, &cap, f)) > 1 && line[n - 1] == '\n')
	{
		item	   *it = malloc(sizeof(item) + n);

		if (!it)
			break;
		it->next = NULL;
		it->kind = line[0];
		it->len = (size_t) n - 1;
		memcpy(it->line, line + 1, (size_t) n);
		if (tail)
			tail->next = it;
		else
			head = it;
		tail = it;
		(*count)++;
		*off += n;
	}
	free(line);
	return head;
}

/*
 * Write the spill file, which holds everything queued before the rows now
 * in memory. SPILL_OFF/SPILL_DONE remember how far it was written.
 */
static long spill_off;
static long spill_done;

static bool
drain_spill(void)
{
	FILE	   *f;
	long		n;
	long		off;
	item	   *batch;

	pthread_mutex_lock(&W.mu);
	if (W.spilled == 0)
	{
		pthread_mutex_unlock(&W.mu);
		return true;
	}
	pthread_mutex_unlock(&W.mu);
	f = read_spill_file();
	if (!f)
		return false;
	for (;;)
	{
		off = spill_off;
		batch = read_spill(f, &n, &off);
		if (!batch)
			break;
		if (!write_items(batch, n))
		{
			free_items(batch, n);
			fclose(f);
			return false;
		}
		free_items(batch, n);
		spill_off = off;
		spill_done += n;
		W.written += n;
	}
	fclose(f);
	pthread_mutex_lock(&W.mu);
	if (spill_done >= W.spilled)
	{
		/* all of it written and nothing appended meanwhile: start afresh */
		if (W.spill)
			fclose(W.spill);
		W.spill = NULL;
		remove_spill();
		W.spilled = 0;
		spill_off = 0;
		spill_done = 0;
	}
	pthread_mutex_unlock(&W.mu);
	return true;
}

/*
 * The first N (at most BATCH_ROWS) queued items, left in the queue until
 * written: the producer may append behind them meanwhile, so a batch is
 * always a count from the head, never a head..end range.
 */
static item *
take_batch(long *n_out)
{
	item	   *it = W.head;
	long		n = 0;

	while (it && n < BATCH_ROWS)
	{
		it = it->next;
		n++;
	}
	*n_out = n;
	return W.head;
}

/* Drop the N written items off the head of the queue. */
static void
release_batch(long n)
{
	item	   *from,
			   *it;
	long		bytes = 0;

	pthread_mutex_lock(&W.mu);
	from = it = W.head;
	for (long k = 0; k < n; k++)
	{
		bytes += (long) it->len;
		it = it->next;
	}
	W.head = it;
	if (!it)
		W.tail = NULL;
	W.queued -= n;
	W.mem_before_spill -= n < W.mem_before_spill ? n : W.mem_before_spill;
	W.bytes -= bytes;
	pthread_mutex_unlock(&W.mu);
	free_items(from, n);
	W.written += n;
}

static void
wait_ms(long ms, bool backoff)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L)
	{
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&W.mu);
	if (backoff || (!W.finishing && W.queued < BATCH_ROWS))
		pthread_cond_timedwait(&W.cond, &W.mu, &ts);
	pthread_mutex_unlock(&W.mu);
}

static bool
write_final_status(void)
{
	char		sql[256];

	char		fin[96] = "now()";

	if (W.finished_us > 0)
		snprintf(fin, sizeof(fin), "'epoch'::timestamptz + %lld * interval '1 microsecond'",
				 (long long) W.finished_us);
	snprintf(sql, sizeof(sql),
			 "UPDATE coder_scale.run SET status = '%s', finished_at = greatest(%s, started_at) WHERE id = %ld",
			 W.final_status, fin, W.run_id);
	return exec_ok(W.conn, sql);
}

/* One pass: write what is queued. False when the database failed. */
static bool
write_pending(void)
{
	item	   *from;
	long		n;
	long		older;

	/* queued items older than the spill file go first, then the file */
	pthread_mutex_lock(&W.mu);
	older = W.mem_before_spill;
	pthread_mutex_unlock(&W.mu);
	if (older == 0 && !drain_spill())
		return false;
	/* only the writer removes items: the first N stay as they are */
	pthread_mutex_lock(&W.mu);
	from = take_batch(&n);
	pthread_mutex_unlock(&W.mu);
	if (older > 0 && n > older)
		n = older;
	if (n == 0)
		return true;
	if (!write_items(from, n))
		return false;
	release_batch(n);
	return true;
}

static bool
all_written(void)
{
	bool		empty;

	pthread_mutex_lock(&W.mu);
	empty = W.queued == 0 && W.spilled == 0;
	pthread_mutex_unlock(&W.mu);
	return empty;
}

static void *
writer_main(void *arg)
{
	long		backoff = 100;

	(void) arg;
	for (;;)
	{
		bool		finishing;
		bool		ok;

		pthread_mutex_lock(&W.mu);
		finishing = W.finishing;
		pthread_mutex_unlock(&W.mu);
		ok = ensure_conn() && write_pending();
		if (ok && all_written())
		{
			if (finishing && (ok = write_final_status()))
			{
				W.ok = true;
				break;
			}
			if (ok)
			{
				backoff = 100;
				wait_ms(FLUSH_MS, false);
				continue;
			}
		}
		else if (ok)
		{
			backoff = 100;
			continue;			/* more than one batch waiting */
		}
		drop_conn();
		if (finishing && time(NULL) >= W.give_up_at)
			break;
		wait_ms(backoff, true);
		backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
	}
	drop_conn();
	return NULL;
}

/* ---------- begin and end ---------- */

static void
load_wordings(PGconn *c)
{
	PGresult   *res = PQexec(c, "SELECT name, wording FROM coder_scale.failure_category ORDER BY sort_order");

	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		for (int i = 0; i < PQntuples(res) && W.nwording < 16; i++, W.nwording++)
		{
			W.wording_names[W.nwording] = strdup(PQgetvalue(res, i, 0));
			W.wording_text[W.nwording] = strdup(PQgetvalue(res, i, 1));
		}
	PQclear(res);
}

const char *
store_wording(const char *category)
{
	for (int i = 0; i < W.nwording; i++)
		if (strcmp(W.wording_names[i], category) == 0)
			return W.wording_text[i];
	return NULL;
}

static char *
ms_interval(int64_t ms, char *buf, size_t size)
{
	snprintf(buf, size, "%lld milliseconds", (long long) ms);
	return buf;
}

static bool
insert_run(PGconn *c, const store_run_info *in, char **err)
{
	const scaletest_config *cfg = in->cfg;
	char		count[16], conc[16], cconc[16], t1[40], t2[40], t3[40], t4[40], host[256];
	const char *vals[18];
	PGresult   *res;

	snprintf(count, sizeof(count), "%d", cfg->count);
	snprintf(conc, sizeof(conc), "%d", cfg->concurrency);
	snprintf(cconc, sizeof(cconc), "%d", cfg->cleanup_concurrency);
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	vals[0] = in->label;
	vals[1] = in->target_url;
	vals[2] = in->coder_version;
	vals[3] = in->template_name;
	vals[4] = count;
	vals[5] = conc;
	vals[6] = cconc;
	vals[7] = ms_interval(cfg->timeout_ms, t1, sizeof(t1));
	vals[8] = ms_interval(cfg->job_timeout_ms, t2, sizeof(t2));
	vals[9] = ms_interval(cfg->cleanup_timeout_ms, t3, sizeof(t3));
	vals[10] = ms_interval(cfg->cleanup_job_timeout_ms, t4, sizeof(t4));
	vals[11] = in->run_command;
	vals[12] = in->parameters_json;
	vals[13] = in->flags_json;
	vals[14] = host;
	vals[15] = CODER_SCALE_VERSION;
	vals[16] = in->tags_json;
	res = PQexecParams(c,
					   "INSERT INTO coder_scale.run (label, kind, status, target_url, coder_version, template,"
					   " count, concurrency, cleanup_concurrency, timeout, job_timeout, cleanup_timeout,"
					   " cleanup_job_timeout, run_command, parameters, flags, host, driver_version, tags)"
					   " VALUES ($1, 'create-workspaces', 'running', $2, $3, $4, $5, $6, $7, $8, $9, $10,"
					   " $11, $12, $13, $14, $15, $16, $17) RETURNING id",
					   17, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		if (asprintf(err, "cannot create the run row: %s", PQerrorMessage(c)) < 0)
			*err = NULL;
		PQclear(res);
		return false;
	}
	W.run_id = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	return true;
}

static bool
has_extension(PGconn *c)
{
	PGresult   *res = PQexec(c, "SELECT 1 FROM pg_extension WHERE extname = 'coder_scale'");
	bool		ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;

	PQclear(res);
	return ok;
}

bool
store_begin(const char *conninfo, const store_run_info *info, long *run_id, char **err,
			bool *missing_extension)
{
	PGconn	   *c = connect_db(conninfo);
	const char *mem = getenv("CODER_SCALE_STORE_MEMORY");

	*err = NULL;
	*missing_extension = false;
	if (PQstatus(c) != CONNECTION_OK)
	{
		char	   *m = PQerrorMessage(c);
		size_t		n = strlen(m);

		while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
			m[--n] = '\0';
		if (asprintf(err, "cannot connect: %s", m) < 0)
			*err = NULL;
		PQfinish(c);
		return false;
	}
	if (!has_extension(c))
	{
		*err = strdup("the coder_scale extension is not installed in this database: run CREATE EXTENSION coder_scale there, or give --db");
		*missing_extension = true;
		PQfinish(c);
		return false;
	}
	if (!insert_run(c, info, err))
	{
		PQfinish(c);
		return false;
	}
	load_wordings(c);
	if (!prepare_conn(c))
	{
		*err = strdup("cannot create the temporary tables of the writer");
		PQfinish(c);
		return false;
	}
	*run_id = W.run_id;
	W.conn = c;
	W.conninfo = conninfo ? strdup(conninfo) : NULL;
	W.memory_limit = mem ? atol(mem) : DEFAULT_MEMORY;
	if (W.memory_limit <= 0)
		W.memory_limit = DEFAULT_MEMORY;
	pthread_mutex_init(&W.mu, NULL);
	pthread_cond_init(&W.cond, NULL);
	W.running = pthread_create(&W.thread, NULL, writer_main, NULL) == 0;
	if (!W.running)
	{
		*err = strdup("cannot start the writer thread");
		return false;
	}
	return true;
}

/* Put what is still in memory into the spill file, so nothing is lost. */
static void
spill_rest(void)
{
	pthread_mutex_lock(&W.mu);
	for (item *it = W.head; it; it = it->next)
		spill_item_locked(it);
	if (W.spill)
		fclose(W.spill);
	W.spill = NULL;
	pthread_mutex_unlock(&W.mu);
}

bool
store_end(const char *status, int64_t finished_us, int wait_s, char **spill)
{
	*spill = NULL;
	if (!W.running)
		return false;
	pthread_mutex_lock(&W.mu);
	snprintf(W.final_status, sizeof(W.final_status), "%s", status);
	W.finished_us = finished_us;
	W.finishing = true;
	W.give_up_at = time(NULL) + wait_s;
	pthread_cond_signal(&W.cond);
	pthread_mutex_unlock(&W.mu);
	pthread_join(W.thread, NULL);
	W.running = false;
	if (W.ok)
		return true;
	spill_rest();
	*spill = W.spill_path ? strdup(W.spill_path) : NULL;
	return false;
}

long
store_written(void)
{
	return W.written;
}

char *
store_summary(const char *conninfo, long run_id)
{
	PGconn	   *c = connect_db(conninfo);
	PGresult   *res;
	char		id[32];
	const char *vals[1] = {id};
	char	   *out = NULL;

	if (PQstatus(c) != CONNECTION_OK)
	{
		PQfinish(c);
		return NULL;
	}
	snprintf(id, sizeof(id), "%ld", run_id);
	res = PQexecParams(c, "SELECT summary FROM coder_scale.run_summary WHERE run_id = $1",
					   1, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		out = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(c);
	return out;
}
