/*
 * copywriter.c: the batch writer, its spill file, load-spill's reader and
 * the stream writer (see copywriter.h).
 *
 * Locking: w->mu guards the queue (head..tail), the byte count, the spill
 * file's writing side (spill, spilling, spill_rows, keep) and the flags
 * finishing, stopped and done.  The writer thread holds it only to take or
 * give back a batch and to append to the spill file; it never holds it
 * while it talks to the database.  The open batch (the tail while
 * tail_open) receives the producer's rows; every other batch in the queue
 * is only read, by the writer.
 *
 * Order: while rows spill, none go to memory, so batches still in memory
 * are older than anything in the spill file: the writer writes memory
 * first, then reads the file back from spill_read_off, and removes it once
 * read to its end with nothing appended.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "copywriter.h"
#include "runrow.h"
#include "timeutil.h"

#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	5000
#define LOAD_BATCH_ROWS	10000	/* rows per transaction of load-spill */
#define STREAM_PIECE	(256 * 1024)	/* the stream writer hands over pieces this large */
#define STREAM_SLOTS	8		/* pieces waiting for the stream's thread at most */

static const char binary_header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
static const char binary_trailer[2] = "\377\377";

/* Rows of one kind in a batch. */
typedef struct part
{
	buf			rows;
	long		nrows;
} part;

typedef struct batch
{
	struct batch *next;
	part		parts[CW_MAX_KINDS];
	long		nrows;
	size_t		bytes;
	double		first_at;		/* when its first row came (monotonic s) */
	long		spill_next;		/* read back from the spill file: the offset after it; else -1 */
} batch;

struct copy_writer
{
	cw_opts		o;				/* the strings below are copies */
	char	   *conninfo;
	char		command[32];
	char		what[64];
	pthread_t	thread;
	bool		thread_started;
	pthread_mutex_t mu;
	pthread_cond_t wake;		/* the writer: rows, a closed batch, finishing */
	pthread_cond_t room;		/* the stream's producer: a free slot */

	/* the queue (under mu) */
	batch	   *head;
	batch	   *tail;
	bool		tail_open;		/* the tail still takes rows */
	size_t		bytes;			/* of the batches in memory */
	bool		finishing;
	double		give_up_at;
	bool		stopped;		/* a permanent error, or given up: every row spills */
	bool		done;			/* everything written */

	/* the spill file (its writing side under mu) */
	FILE	   *spill;
	bool		spilling;		/* rows go to the spill file, not to memory */
	char		spill_dir[448];
	char		spill_path[512];
	int64_t		spill_rows[CW_MAX_KINDS];	/* rows in it not written yet */
	buf			keep[CW_MAX_KINDS]; /* every row of the keep kinds */
	bool		spill_failed_said;
	/* its reading side (writer thread only) */
	FILE	   *spill_in;
	long		spill_read_off;

	/* the writer thread's */
	PGconn	   *conn;
	buf			scratch;
	double		outage_since;	/* > 0 while the database fails transiently */
	cw_stats	st;

	/* the stream writer */
	buf			piece;			/* being filled by the producer */
	buf			slot[STREAM_SLOTS];
	int			slot_head;
	int			slot_count;
	bool		send_failed;
	pg_error	send_error;
};

/* Wait on COND until monotonic time AT (mu held). */
static void
wait_until(pthread_cond_t *cond, pthread_mutex_t *mu, double at)
{
	struct timespec ts;

	ts.tv_sec = (time_t) at;
	ts.tv_nsec = (long) ((at - (double) ts.tv_sec) * 1e9);
	pthread_cond_timedwait(cond, mu, &ts);
}

static void
init_sync(copy_writer *w)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &ca);
	pthread_cond_init(&w->room, &ca);
	pthread_condattr_destroy(&ca);
}

static void
batch_free(batch *b)
{
	for (int k = 0; k < CW_MAX_KINDS; k++)
		buf_free(&b->parts[k].rows);
	free(b);
}

static batch *
batch_new(void)
{
	batch	   *b = calloc(1, sizeof(batch));

	if (b == NULL)
		cli_out_of_memory("a batch of rows");
	b->spill_next = -1;
	return b;
}

/* "12 results, 12 cleanup figures": the rows of non-keep kinds in COUNTS. */
static void
describe_rows(const copy_writer *w, const int64_t *counts, char *out, size_t size)
{
	size_t		n = 0;

	out[0] = '\0';
	for (int k = 0; k < w->o.nkinds; k++)
		if (!w->o.kinds[k].keep && counts[k] > 0 && n < size)
			n += (size_t) snprintf(out + n, size - n, "%s%lld %s", n ? ", " : "",
								   (long long) counts[k], w->o.kinds[k].what);
	if (n == 0)
		snprintf(out, size, "no rows");
}

/* ---------------------------------------------------------------------------
 * Writing rows, shared by the writer and load-spill
 * ------------------------------------------------------------------------- */

/* COPY ROWS with SQL (binary rows get their header and trailer); *n: rows taken. */
static bool
copy_rows(PGconn *conn, const cw_kind *k, const char *sql, const buf *rows, int64_t *n, pg_error *err)
{
	pg_error	ignored;
	bool		ok;

	if (!pg_copy_start(conn, sql, err))
		return false;
	ok = (!k->binary || pg_copy_send(conn, binary_header, sizeof(binary_header), err)) &&
		pg_copy_send(conn, rows->data, rows->len, err) &&
		(!k->binary || pg_copy_send(conn, binary_trailer, sizeof(binary_trailer), err));
	if (!ok)
	{
		pg_copy_end(conn, "coder-scale could not send the rows", NULL, &ignored);
		return false;
	}
	return pg_copy_end(conn, NULL, n, err);
}

/* Run an apply statement; *n: the rows it stored. */
static bool
apply(PGconn *conn, const char *sql, long long run_id, int64_t *n, pg_error *err)
{
	PGresult   *res = pg_query_id(conn, sql, run_id, err);

	if (res == NULL)
		return false;
	*n = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return true;
}

/*
 * Store ROWS of kind K inside the open transaction: COPY, apply, and on a
 * unique violation the kind's way around it, then its read-back query.
 */
static bool
write_part(PGconn *conn, long long run_id, const cw_kind *k, void *arg, const buf *queued, buf *scratch,
		   int64_t *stored, pg_error *err)
{
	const buf  *rows = queued;
	bool		dup = k->dup_apply_sql != NULL;
	bool		ok;
	PGresult   *res;

	*stored = 0;
	if (k->rewrite)
	{
		buf_reset(scratch);
		k->rewrite(queued, scratch, arg);
		rows = scratch;
	}
	/* the savepoint goes before what the retry redoes */
	if (dup && k->dup_copy_sql && !pg_exec(conn, "SAVEPOINT cw_part", err))
		return false;
	ok = copy_rows(conn, k, k->copy_sql, rows, stored, err);
	if (ok && dup && !k->dup_copy_sql)
		ok = pg_exec(conn, "SAVEPOINT cw_part", err);
	if (ok && k->apply_sql)
		ok = apply(conn, k->apply_sql, run_id, stored, err);
	if (!ok && dup && strcmp(err->sqlstate, "23505") == 0)
		ok = pg_exec(conn, "ROLLBACK TO SAVEPOINT cw_part", err) &&
			(!k->dup_copy_sql || copy_rows(conn, k, k->dup_copy_sql, rows, stored, err)) &&
			apply(conn, k->dup_apply_sql, run_id, stored, err);
	if (ok && k->read_sql)
	{
		res = pg_query_id(conn, k->read_sql, run_id, err);
		ok = res != NULL;
		if (ok)
			k->on_rows(res, arg);
		PQclear(res);
	}
	return ok;
}

/* Every part of B in one transaction; on success the per-kind counts go to ST. */
static bool
write_transaction(PGconn *conn, long long run_id, const cw_kind *kinds, int nkinds, void *arg,
				  const batch *b, buf *scratch, cw_stats *st, pg_error *err)
{
	int64_t		stored[CW_MAX_KINDS] = {0};
	double		secs[CW_MAX_KINDS] = {0};

	if (!pg_exec(conn, "BEGIN", err))
		return false;
	for (int k = 0; k < nkinds; k++)
	{
		double		t0 = monotonic_seconds();

		if (b->parts[k].nrows == 0)
			continue;
		if (!write_part(conn, run_id, &kinds[k], arg, &b->parts[k].rows, scratch, &stored[k], err))
		{
			pg_rollback(conn);
			return false;
		}
		secs[k] = monotonic_seconds() - t0;
	}
	if (!pg_exec(conn, "COMMIT", err))
	{
		pg_rollback(conn);
		return false;
	}
	for (int k = 0; k < nkinds; k++)
	{
		st->kind[k].rows += b->parts[k].nrows;
		st->kind[k].stored += stored[k];
		st->kind[k].seconds += secs[k];
	}
	st->batches++;
	return true;
}

/* ---------------------------------------------------------------------------
 * The spill file
 * ------------------------------------------------------------------------- */

/* Append one record (mu held, the file open). */
static void
spill_record(copy_writer *w, int kind, const char *data, size_t len, long nrows)
{
	fprintf(w->spill, "%s %ld %zu\n", w->o.kinds[kind].name, nrows, len);
	fwrite(data, 1, len, w->spill);
	fflush(w->spill);
}

/*
 * Make the spill file (mu held): a private directory from mkdtemp under
 * $TMPDIR (default /tmp), mode 0700, and in it "spill", created with
 * O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, so that no other user can read it,
 * predict its name or point it elsewhere.  Then its first line and every
 * row of the keep kinds so far.  False (said once) when it cannot be made.
 */
static bool
spill_open(copy_writer *w)
{
	const char *tmp = getenv("TMPDIR");
	int			fd = -1;
	int			saved;

	snprintf(w->spill_dir, sizeof(w->spill_dir), "%.400s/coder-scale-run%lld-XXXXXX",
			 tmp && *tmp ? tmp : "/tmp", w->o.run_id);
	if (mkdtemp(w->spill_dir) != NULL)
	{
		snprintf(w->spill_path, sizeof(w->spill_path), "%s/spill", w->spill_dir);
		fd = open(w->spill_path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0 || (w->spill = fdopen(fd, "a")) == NULL)
	{
		saved = errno;
		if (fd >= 0)
			close(fd);
		if (!w->spill_failed_said)
			cli_error("%s: %s: cannot make a spill file in %s: %s; the rows stay in memory",
					  w->command, w->what, tmp && *tmp ? tmp : "/tmp", strerror(saved));
		w->spill_failed_said = true;
		w->spill_path[0] = '\0';
		return false;
	}
	fprintf(w->spill, "coder-scale spill 1 run=%lld command=%s kinds=", w->o.run_id, w->command);
	for (int k = 0; k < w->o.nkinds; k++)
		fprintf(w->spill, "%s%s", k ? "," : "", w->o.kinds[k].name);
	fputc('\n', w->spill);
	fflush(w->spill);
	w->spill_read_off = ftell(w->spill);
	for (int k = 0; k < w->o.nkinds; k++)
		if (w->keep[k].len > 0)
			spill_record(w, k, w->keep[k].data, w->keep[k].len, 0);
	memset(w->spill_rows, 0, sizeof(w->spill_rows));
	return true;
}

/* Rows into the spill file (mu held); false when there is none and none can be made. */
static bool
spill_rows(copy_writer *w, int kind, const buf *rows, long nrows)
{
	if (w->spill == NULL && !spill_open(w))
		return false;
	spill_record(w, kind, rows->data, rows->len, nrows);
	w->spill_rows[kind] += nrows;
	return true;
}

/* Every batch in memory into the spill file (mu held), after a stop. */
static void
spill_memory(copy_writer *w)
{
	while (w->head)
	{
		batch	   *b = w->head;

		for (int k = 0; k < w->o.nkinds; k++)
			if (b->parts[k].nrows > 0 && !spill_rows(w, k, &b->parts[k].rows, b->parts[k].nrows))
				return;			/* no spill file: they stay in memory (and are lost at the end) */
		w->head = b->next;
		w->bytes -= b->bytes;
		batch_free(b);
	}
	w->tail = NULL;
	w->tail_open = false;
}

/* Remove the spill file and its directory (mu held). */
static void
spill_remove(copy_writer *w)
{
	if (w->spill_in)
		fclose(w->spill_in);
	w->spill_in = NULL;
	if (w->spill)
		fclose(w->spill);
	w->spill = NULL;
	unlink(w->spill_path);
	rmdir(w->spill_dir);
	w->spill_path[0] = '\0';
	w->spilling = false;
}

/*
 * Read one record header at the current position: kind index in KINDS,
 * rows and bytes.  0: a record; 1: the end of the file; -1: something that
 * is no record (or a record cut short: *cut).
 */
static int
read_record_head(FILE *f, const cw_known *kinds, int nkinds, int *kind, long *nrows, size_t *len)
{
	char		line[128];
	char		name[32];
	size_t		n;

	if (fgets(line, sizeof(line), f) == NULL)
		return 1;
	n = strlen(line);
	if (n == 0 || line[n - 1] != '\n' || sscanf(line, "%31s %ld %zu", name, nrows, len) != 3 || *nrows < 0)
		return -1;
	for (int k = 0; k < nkinds; k++)
		if (strcmp(kinds[k].kind->name, name) == 0)
		{
			*kind = k;
			return 0;
		}
	return -1;
}

/* The records' data: LEN bytes appended to B; false when the file ends first. */
static bool
read_record_data(FILE *f, buf *b, size_t len)
{
	buf_reserve(b, len);
	if (fread(b->data + b->len, 1, len, f) != len)
		return false;
	b->len += len;
	b->data[b->len] = '\0';
	return true;
}

/*
 * The next batch from the spill file: records from spill_read_off up to
 * batch_rows rows; NULL at its end, or when it cannot be read.  Called with
 * mu held, so every record in the file is whole (rows are appended under
 * it); reading back is rare and a batch is small.
 */
static batch *
spill_read_batch(copy_writer *w)
{
	cw_known	kinds[CW_MAX_KINDS];
	batch	   *b = NULL;

	for (int k = 0; k < w->o.nkinds; k++)
		kinds[k].kind = &w->o.kinds[k];
	if (w->spill_in == NULL)
	{
		int			fd = open(w->spill_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

		if (fd < 0 || (w->spill_in = fdopen(fd, "r")) == NULL)
		{
			if (fd >= 0)
				close(fd);
			return NULL;
		}
	}
	clearerr(w->spill_in);
	if (fseek(w->spill_in, w->spill_read_off, SEEK_SET) != 0)
		return NULL;
	while (b == NULL || b->nrows < w->o.batch_rows)
	{
		int			kind;
		long		nrows;
		size_t		len;

		if (read_record_head(w->spill_in, kinds, w->o.nkinds, &kind, &nrows, &len) != 0)
			break;
		if (b == NULL)
			b = batch_new();
		if (!read_record_data(w->spill_in, &b->parts[kind].rows, len))
			break;
		b->parts[kind].nrows += nrows;
		b->nrows += nrows;
		b->spill_next = ftell(w->spill_in);
	}
	if (b && b->spill_next < 0)
	{
		batch_free(b);
		return NULL;
	}
	return b;
}

/* ---------------------------------------------------------------------------
 * The producer's side
 * ------------------------------------------------------------------------- */

size_t
cw_memory_limit(size_t def)
{
	const char *s = getenv("CODER_SCALE_STORE_MEMORY");
	long long	v = s ? atoll(s) : 0;

	return v > 0 ? (size_t) v : def;
}

int
cw_wait_seconds(int def)
{
	const char *s = getenv("CODER_SCALE_STORE_WAIT");
	long		v = s ? atol(s) : -1;

	return v >= 0 && v <= 3600 ? (int) v : def;
}

/* Close the open batch (mu held): the writer may take it now. */
static void
close_open(copy_writer *w)
{
	if (w->tail_open)
	{
		w->tail_open = false;
		pthread_cond_signal(&w->wake);
	}
}

void
cw_rows(copy_writer *w, int kind, const buf *rows, long nrows)
{
	batch	   *b;

	if (rows->len == 0)
		return;
	pthread_mutex_lock(&w->mu);
	if (w->o.kinds[kind].keep)
		buf_put(&w->keep[kind], rows->data, rows->len);
	if (w->stopped || w->spilling || w->bytes + rows->len > w->o.memory_limit)
	{
		close_open(w);
		if (spill_rows(w, kind, rows, nrows))
		{
			w->spilling = true;
			pthread_cond_signal(&w->wake);
			pthread_mutex_unlock(&w->mu);
			return;
		}
	}
	if (!w->tail_open)
	{
		b = batch_new();
		b->first_at = monotonic_seconds();
		if (w->tail)
			w->tail->next = b;
		else
			w->head = b;
		w->tail = b;
		w->tail_open = true;
		if (w->o.flush_ms > 0)
			pthread_cond_signal(&w->wake);	/* the writer times the flush from now */
	}
	b = w->tail;
	buf_put(&b->parts[kind].rows, rows->data, rows->len);
	b->parts[kind].nrows += nrows;
	b->nrows += nrows;
	b->bytes += rows->len;
	w->bytes += rows->len;
	if (b->nrows >= w->o.batch_rows)
		close_open(w);
	pthread_mutex_unlock(&w->mu);
}

void
cw_flush(copy_writer *w)
{
	pthread_mutex_lock(&w->mu);
	close_open(w);
	pthread_mutex_unlock(&w->mu);
}

/* ---------------------------------------------------------------------------
 * The writer thread
 * ------------------------------------------------------------------------- */

/* Make the connection ready for the kinds: their prepare_sql, the run held; dropped if that fails. */
static bool
prepare_conn(copy_writer *w, pg_error *err)
{
	for (int k = 0; k < w->o.nkinds; k++)
		if (w->o.kinds[k].prepare_sql && !pg_exec(w->conn, w->o.kinds[k].prepare_sql, err))
		{
			PQfinish(w->conn);
			w->conn = NULL;
			return false;
		}
	if (w->o.hold_run)
		runrow_hold(w->conn, w->o.run_id, w->command);
	return true;
}

/* A connection ready for the kinds: the one there, or a new one prepared. */
static bool
ensure_conn(copy_writer *w, pg_error *err)
{
	if (w->conn && PQstatus(w->conn) == CONNECTION_OK)
		return true;
	PQfinish(w->conn);
	w->conn = pg_connect(w->conninfo, w->command, err);
	return w->conn != NULL && prepare_conn(w, err);
}

/* The spill file cannot be read back (mu held): stop; what it holds stays there. */
static void
spill_unreadable(copy_writer *w)
{
	w->stopped = true;
	w->st.outcome = CW_REFUSED;
	snprintf(w->st.error.sqlstate, sizeof(w->st.error.sqlstate), "58030");
	snprintf(w->st.error.message, sizeof(w->st.error.message), "58030: cannot read %.400s back: %s",
			 w->spill_path, errno ? strerror(errno) : "a record is damaged");
	cli_error("%s: %s: %s; the writer stopped", w->command, w->what, w->st.error.message);
}

/*
 * The next batch to write (mu held, it waits): the oldest in memory once it
 * is closed or due, else the spill file's next one.  NULL when there is
 * nothing more: finishing with everything written, or stopped.
 */
static batch *
next_batch(copy_writer *w)
{
	for (;;)
	{
		batch	   *b = w->head;
		double		due;

		if (w->stopped)
			return NULL;
		due = b && w->tail_open && b == w->tail && w->o.flush_ms > 0 ? b->first_at + w->o.flush_ms / 1000.0 : 0;
		if (b && w->tail_open && b == w->tail && (w->finishing || (due > 0 && monotonic_seconds() >= due)))
			close_open(w);
		if (b && !(w->tail_open && b == w->tail))
		{
			w->head = b->next;
			if (w->head == NULL)
				w->tail = NULL;
			b->next = NULL;
			return b;
		}
		if (b == NULL && w->spilling)
		{
			if ((b = spill_read_batch(w)) != NULL)
				return b;
			if (ftell(w->spill) == w->spill_read_off)
			{
				spill_remove(w);	/* all of it written, nothing appended since */
				continue;
			}
			spill_unreadable(w);
			return NULL;
		}
		if (b == NULL && w->finishing)
		{
			w->done = true;
			return NULL;
		}
		if (due > 0)
			wait_until(&w->wake, &w->mu, due);
		else
			pthread_cond_wait(&w->wake, &w->mu);
	}
}

/* A batch written: count it, drop it, and advance the spill file past it. */
static void
batch_done(copy_writer *w, batch *b)
{
	pthread_mutex_lock(&w->mu);
	if (b->spill_next >= 0)
	{
		w->spill_read_off = b->spill_next;
		for (int k = 0; k < w->o.nkinds; k++)
			w->spill_rows[k] -= b->parts[k].nrows;
	}
	else
		w->bytes -= b->bytes;
	pthread_mutex_unlock(&w->mu);
	batch_free(b);
}

/* A batch not written: back to the head of the queue (a spill file's is read again). */
static void
batch_back(copy_writer *w, batch *b)
{
	if (b->spill_next >= 0)
	{
		batch_free(b);
		return;
	}
	pthread_mutex_lock(&w->mu);
	b->next = w->head;
	w->head = b;
	if (w->tail == NULL)
		w->tail = b;
	pthread_mutex_unlock(&w->mu);
}

/* The first transient error of an outage is said; later ones only counted. */
static void
outage(copy_writer *w, const pg_error *err)
{
	w->st.error = *err;
	if (w->outage_since > 0)
		return;
	w->outage_since = monotonic_seconds();
	cli_error("%s: %s: %s; retrying with backoff, the rows wait in memory (then in a spill file)",
			  w->command, w->what, err->message);
}

/* Sleep MS unless finishing runs out of time; false then. */
static bool
backoff_sleep(copy_writer *w, long ms)
{
	double		until = monotonic_seconds() + ms / 1000.0;
	bool		go_on;

	pthread_mutex_lock(&w->mu);
	while (monotonic_seconds() < until && !(w->finishing && monotonic_seconds() >= w->give_up_at))
		wait_until(&w->wake, &w->mu, w->finishing && w->give_up_at < until ? w->give_up_at : until);
	go_on = !(w->finishing && monotonic_seconds() >= w->give_up_at);
	pthread_mutex_unlock(&w->mu);
	return go_on;
}

/* Stop for good (a permanent error, or given up): everything in memory goes to the spill file. */
static void
stop(copy_writer *w, batch *failed)
{
	pthread_mutex_lock(&w->mu);
	if (failed)
	{
		failed->next = w->head;
		w->head = failed;
		if (w->tail == NULL)
			w->tail = failed;
	}
	w->stopped = true;
	spill_memory(w);
	pthread_mutex_unlock(&w->mu);
}

/* A permanent error: said now, with what happens to the rows and how to load them. */
static void
refused(copy_writer *w, batch *b, const pg_error *err)
{
	w->st.error = *err;
	w->st.outcome = CW_REFUSED;
	if (b->spill_next >= 0)
	{
		batch_free(b);
		b = NULL;
	}
	stop(w, b);
	if (w->spill_path[0])
		cli_error("%s: %s: %s; the writer stopped, rows go to the spill file %s; "
				  "load it with coder-scale load-spill %s after fixing the cause",
				  w->command, w->what, err->message, w->spill_path, w->spill_path);
	else
		cli_error("%s: %s: %s; the writer stopped, and without a spill file the rows not written are lost",
				  w->command, w->what, err->message);
}

static void *
writer_main(void *arg)
{
	copy_writer *w = arg;
	long		backoff = BACKOFF_MIN_MS;
	batch	   *b;
	pg_error	err;

	for (;;)
	{
		double		t0;

		pthread_mutex_lock(&w->mu);
		b = next_batch(w);
		pthread_mutex_unlock(&w->mu);
		if (b == NULL)
			break;
		t0 = monotonic_seconds();
		if (ensure_conn(w, &err) &&
			write_transaction(w->conn, w->o.run_id, w->o.kinds, w->o.nkinds, w->o.arg, b, &w->scratch,
							  &w->st, &err))
		{
			w->st.seconds += monotonic_seconds() - t0;
			if (w->outage_since > 0)
				cli_error("%s: %s: writing again after %.1f s", w->command, w->what,
						  monotonic_seconds() - w->outage_since);
			w->outage_since = 0;
			backoff = BACKOFF_MIN_MS;
			batch_done(w, b);
			continue;
		}
		if (!pg_transient(&err))
		{
			refused(w, b, &err);
			break;
		}
		outage(w, &err);
		if (w->conn && PQstatus(w->conn) != CONNECTION_OK)
		{
			PQfinish(w->conn);
			w->conn = NULL;
		}
		batch_back(w, b);
		if (!backoff_sleep(w, backoff))
		{
			w->st.outcome = CW_UNREACHABLE;
			stop(w, NULL);
			break;
		}
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	PQfinish(w->conn);
	w->conn = NULL;
	return NULL;
}

copy_writer *
cw_start(const cw_opts *opts, pg_error *err)
{
	copy_writer *w = calloc(1, sizeof(copy_writer));

	if (w == NULL || opts->nkinds > CW_MAX_KINDS)
	{
		snprintf(err->sqlstate, sizeof(err->sqlstate), "53200");
		snprintf(err->message, sizeof(err->message), "53200: out of memory for the writer");
		free(w);
		return NULL;
	}
	w->o = *opts;
	w->conninfo = opts->conninfo ? strdup(opts->conninfo) : NULL;
	snprintf(w->command, sizeof(w->command), "%s", opts->command);
	snprintf(w->what, sizeof(w->what), "%s", opts->what);
	w->conn = opts->conn;
	w->o.conn = NULL;
	init_sync(w);
	if (w->conn ? prepare_conn(w, err) : ensure_conn(w, err))
	{
		w->thread_started = pthread_create(&w->thread, NULL, writer_main, w) == 0;
		if (w->thread_started)
			return w;
		snprintf(err->sqlstate, sizeof(err->sqlstate), "58000");
		snprintf(err->message, sizeof(err->message), "58000: cannot start the writer's thread");
	}
	PQfinish(w->conn);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->room);
	free(w->conninfo);
	free(w);
	return NULL;
}

cw_outcome
cw_finish(copy_writer *w, int wait_s, cw_stats *st)
{
	char		rows[256];

	pthread_mutex_lock(&w->mu);
	w->finishing = true;
	w->give_up_at = monotonic_seconds() + wait_s;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);

	describe_rows(w, w->spill_rows, rows, sizeof(rows));
	if (w->st.outcome == CW_UNREACHABLE && w->spill_path[0])
		cli_error("%s: %s: still failing after %d s (%s); %s not written are in the spill file %s: "
				  "load them with coder-scale load-spill %s once the database is back",
				  w->command, w->what, wait_s, w->st.error.message, rows, w->spill_path, w->spill_path);
	else if (w->st.outcome == CW_REFUSED && w->spill_path[0])
		cli_error("%s: %s: %s not written (the writer stopped at %s); they are in %s: "
				  "coder-scale load-spill %s stores them once the cause is fixed",
				  w->command, w->what, rows, w->st.error.sqlstate, w->spill_path, w->spill_path);
	else if (w->st.outcome == CW_UNREACHABLE)
		cli_error("%s: %s: still failing after %d s (%s); the rows not written are lost (no spill file)",
				  w->command, w->what, wait_s, w->st.error.message);
	if (w->spill)
		fclose(w->spill);
	if (w->spill_in)
		fclose(w->spill_in);
	*st = w->st;
	while (w->head)
	{
		batch	   *b = w->head;

		w->head = b->next;
		batch_free(b);
	}
	for (int k = 0; k < CW_MAX_KINDS; k++)
		buf_free(&w->keep[k]);
	buf_free(&w->scratch);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->room);
	free(w->conninfo);
	free(w);
	return st->outcome;
}

/* ---------------------------------------------------------------------------
 * load-spill
 * ------------------------------------------------------------------------- */

static bool
file_error(pg_error *err, const char *state, const char *path, const char *why)
{
	snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state);
	snprintf(err->message, sizeof(err->message), "%s: %.300s: %s", state, path, why);
	return false;
}

/* Open PATH for reading, never through a symlink, and read its first line into LINE. */
static FILE *
spill_open_read(const char *path, char *line, size_t size, pg_error *err)
{
	int			fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	FILE	   *f = fd >= 0 ? fdopen(fd, "r") : NULL;

	if (f == NULL)
	{
		file_error(err, "58030", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (fgets(line, (int) size, f) == NULL || strchr(line, '\n') == NULL)
	{
		fclose(f);
		file_error(err, "22P04", path, "not a spill file of coder-scale (no first line \"coder-scale spill 1 ...\")");
		return NULL;
	}
	return f;
}

bool
cw_spill_header_read(const char *path, const cw_known *known, int nknown, cw_spill_header *hdr, pg_error *err)
{
	char		line[512];
	char		kinds[256];
	char	   *tok,
			   *save;
	FILE	   *f = spill_open_read(path, line, sizeof(line), err);

	if (f == NULL)
		return false;
	fclose(f);
	memset(hdr, 0, sizeof(*hdr));
	if (sscanf(line, "coder-scale spill 1 run=%lld command=%31s kinds=%255s", &hdr->run_id, hdr->command, kinds) != 3)
		return file_error(err, "22P04", path, "not a spill file of coder-scale 1 (its first line is not "
						  "\"coder-scale spill 1 run=... command=... kinds=...\")");
	for (tok = strtok_r(kinds, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
	{
		int			i;

		for (i = 0; i < nknown && strcmp(known[i].kind->name, tok) != 0; i++)
			;
		if (i == nknown || hdr->nkinds == CW_MAX_KINDS)
			return file_error(err, "22P04", path,
							  "it holds rows of a kind this coder-scale does not know (a newer one made it?)");
		hdr->kind[hdr->nkinds++] = known[i];
	}
	return true;
}

/* Write the batch B of load-spill's kind K and empty it. */
static bool
load_batch(PGconn *conn, const cw_spill_header *hdr, int k, batch *b, buf *scratch, cw_stats *st, pg_error *err)
{
	cw_kind		one = *hdr->kind[k].kind;
	cw_stats	one_st;
	batch		only;
	bool		ok;

	memset(&one_st, 0, sizeof(one_st));
	memset(&only, 0, sizeof(only));
	only.parts[0] = b->parts[k];
	ok = write_transaction(conn, hdr->run_id, &one, 1, hdr->kind[k].arg, &only, scratch, &one_st, err);
	st->kind[k].rows += one_st.kind[0].rows;
	st->kind[k].stored += one_st.kind[0].stored;
	st->batches += one_st.batches;
	buf_reset(&b->parts[k].rows);
	b->parts[k].nrows = 0;
	return ok;
}

/* One pass over the file for kind K; *cut: it ends in a record cut short. */
static bool
load_kind(FILE *f, long start, const cw_spill_header *hdr, int k, PGconn *conn, buf *scratch, cw_stats *st,
		  pg_error *err, bool *cut)
{
	batch	   *b = batch_new();
	bool		ok = true;
	int			r;

	fseek(f, start, SEEK_SET);
	for (;;)
	{
		int			kind;
		long		nrows;
		size_t		len;

		if ((r = read_record_head(f, hdr->kind, hdr->nkinds, &kind, &nrows, &len)) != 0)
			break;
		if (kind != k)
		{
			if (fseek(f, (long) len, SEEK_CUR) != 0)
				break;
			continue;
		}
		if (!read_record_data(f, &b->parts[k].rows, len))
		{
			r = -1;
			break;
		}
		b->parts[k].nrows += nrows;
		if (b->parts[k].nrows >= LOAD_BATCH_ROWS && !(ok = load_batch(conn, hdr, k, b, scratch, st, err)))
			break;
	}
	if (ok && b->parts[k].nrows > 0)
		ok = load_batch(conn, hdr, k, b, scratch, st, err);
	*cut = *cut || r < 0;
	batch_free(b);
	return ok;
}

bool
cw_spill_load(const char *path, const cw_spill_header *hdr, PGconn *conn, cw_stats *st, pg_error *err)
{
	char		line[512];
	FILE	   *f = spill_open_read(path, line, sizeof(line), err);
	long		start;
	buf			scratch = {0};
	bool		ok = true;
	bool		cut = false;

	memset(st, 0, sizeof(*st));
	if (f == NULL)
		return false;
	for (int k = 0; k < hdr->nkinds; k++)
		if (hdr->kind[k].kind->prepare_sql && !pg_exec(conn, hdr->kind[k].kind->prepare_sql, err))
		{
			fclose(f);
			return false;
		}
	start = ftell(f);
	for (int k = 0; k < hdr->nkinds && ok; k++)
	{
		double		t0 = monotonic_seconds();

		ok = load_kind(f, start, hdr, k, conn, &scratch, st, err, &cut);
		st->kind[k].seconds = monotonic_seconds() - t0;
	}
	if (ok && cut)
		cli_error("load-spill: %s: the file ends in a record cut short (its writer was killed while writing it); "
				  "the rows before it are stored", path);
	fclose(f);
	buf_free(&scratch);
	return ok;
}

/* ---------------------------------------------------------------------------
 * The stream writer
 * ------------------------------------------------------------------------- */

static void *
stream_main(void *arg)
{
	copy_writer *w = arg;

	for (;;)
	{
		buf			piece;
		bool		failed;
		pg_error	err;

		pthread_mutex_lock(&w->mu);
		while (w->slot_count == 0 && !w->finishing)
			pthread_cond_wait(&w->wake, &w->mu);
		if (w->slot_count == 0)
		{
			pthread_mutex_unlock(&w->mu);
			return NULL;
		}
		piece = w->slot[w->slot_head];
		w->slot_head = (w->slot_head + 1) % STREAM_SLOTS;
		w->slot_count--;
		failed = w->send_failed || w->stopped;
		pthread_cond_signal(&w->room);
		pthread_mutex_unlock(&w->mu);
		if (!failed && !pg_copy_send(w->conn, piece.data, piece.len, &err))
		{
			pthread_mutex_lock(&w->mu);
			w->send_failed = true;
			w->send_error = err;
			pthread_cond_signal(&w->room);
			pthread_mutex_unlock(&w->mu);
		}
		buf_free(&piece);
	}
}

copy_writer *
cw_stream_start(PGconn *conn, const char *copy_sql, pg_error *err)
{
	copy_writer *w;

	if (!pg_copy_start(conn, copy_sql, err))
		return NULL;
	w = calloc(1, sizeof(copy_writer));
	if (w == NULL)
	{
		pg_copy_end(conn, "out of memory", NULL, err);
		return NULL;
	}
	w->conn = conn;
	init_sync(w);
	/* without a thread the pieces are sent from the caller's */
	w->thread_started = pthread_create(&w->thread, NULL, stream_main, w) == 0;
	return w;
}

/* Hand the filled piece to the thread (waits while every slot is taken). */
static void
stream_hand_over(copy_writer *w)
{
	if (w->piece.len == 0)
		return;
	if (!w->thread_started)
	{
		if (!w->send_failed && !pg_copy_send(w->conn, w->piece.data, w->piece.len, &w->send_error))
			w->send_failed = true;
		buf_reset(&w->piece);
		return;
	}
	pthread_mutex_lock(&w->mu);
	while (w->slot_count == STREAM_SLOTS && !w->send_failed)
		pthread_cond_wait(&w->room, &w->mu);
	if (!w->send_failed)
	{
		w->slot[(w->slot_head + w->slot_count) % STREAM_SLOTS] = w->piece;
		w->slot_count++;
		memset(&w->piece, 0, sizeof(w->piece));
		pthread_cond_signal(&w->wake);
	}
	else
		buf_reset(&w->piece);
	pthread_mutex_unlock(&w->mu);
}

void
cw_stream_rows(copy_writer *w, const buf *rows)
{
	if (w->piece.cap == 0)
		buf_reserve(&w->piece, STREAM_PIECE + 64 * 1024);
	buf_put(&w->piece, rows->data, rows->len);
	if (w->piece.len >= STREAM_PIECE)
		stream_hand_over(w);
}

bool
cw_stream_failed(copy_writer *w)
{
	bool		failed;

	pthread_mutex_lock(&w->mu);
	failed = w->send_failed;
	pthread_mutex_unlock(&w->mu);
	return failed;
}

bool
cw_stream_end(copy_writer *w, const char *abort_why, int64_t *rows, pg_error *err)
{
	bool		ok;
	pg_error	end_err;

	if (abort_why == NULL)
		stream_hand_over(w);
	if (w->thread_started)
	{
		pthread_mutex_lock(&w->mu);
		w->finishing = true;
		w->stopped = abort_why != NULL;	/* pieces still waiting are not sent */
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	if (w->send_failed)
		*err = w->send_error;
	ok = pg_copy_end(w->conn, abort_why ? abort_why : w->send_failed ? "coder-scale could not send the rows" : NULL,
					 rows, &end_err) && !w->send_failed;
	if (!ok && !w->send_failed)
		*err = end_err;
	buf_free(&w->piece);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->room);
	free(w);
	return ok;
}
