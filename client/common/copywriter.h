/*
 * copywriter.h: the one COPY writer of coder-scale: rows into the results
 * database from a thread of its own, so that whoever produces them (an
 * event loop, a file parser) never waits for the database.
 *
 * What a writer writes is described by kinds of rows (cw_kind): the scale
 * test's results, cleanups and end of run, the scraper's series and samples.
 * Each kind says how its rows get in: on every new connection its
 * prepare_sql (CREATE TEMP TABLE IF NOT EXISTS ...), then per batch a COPY
 * (text or binary) and an apply statement (INSERT ... SELECT ... ON
 * CONFLICT DO NOTHING), in one transaction with the batch's other kinds, in
 * the order of the kinds array.
 *
 * The batch writer (cw_start ... cw_finish):
 *
 *   pg_error e;
 *   copy_writer *w = cw_start(&opts, &e);      // connects now; NULL + e if it cannot
 *   buf row = {0};
 *   ... buf_copy_text(&row, ...); buf_copy_end_row(&row);
 *   cw_rows(w, KIND_RESULT, &row, 1);          // copied; never waits for the database
 *   buf_reset(&row);
 *   cw_flush(w);                               // optional: hand over the open batch now
 *   cw_stats st;
 *   cw_finish(w, 60, &st);                     // write the rest, stop, free; st.outcome
 *
 * Invariants:
 *   - A batch is one transaction: all its rows are stored, or none.  Rows of
 *     one kind are stored in the order they were given, and a batch's kinds
 *     in the kinds' order, so a row a later kind names (a result's cleanup,
 *     a sample's series) is stored first.
 *   - Every apply is idempotent (ON CONFLICT DO NOTHING, an UPDATE that
 *     skips what it did already), so a batch written twice, after a lost
 *     COMMIT answer or by load-spill, stores nothing twice.
 *   - Errors are classified by SQLSTATE (pg_transient, as pgbench does).  A
 *     transient one (connection lost, server restarting, serialization,
 *     out of resources) rolls the batch back, and the writer reconnects with
 *     backoff (100 ms doubling to 5 s) and writes it again; rows keep coming
 *     meanwhile.  A permanent one (a constraint, bad data, the schema,
 *     privileges) is never retried: the writer stops at once, prints it with
 *     its SQLSTATE, and from then on every row goes to the spill file.
 *   - At most memory_limit bytes of rows wait in memory; beyond that, and
 *     after a stop, rows go to a spill file in a private directory (mkdtemp
 *     under $TMPDIR, mode 0700; the file 0600, made with O_EXCL|O_NOFOLLOW).
 *     While the database is there the writer reads the file back in order
 *     and removes it once empty.  What is left at the end stays, and
 *     `coder-scale load-spill FILE` stores it (cw_spill_load).
 *   - The spill file describes itself: a first line
 *       coder-scale spill 1 run=RUN_ID command=COMMAND kinds=NAME,NAME,...
 *     then records "NAME NROWS NBYTES\n" each followed by NBYTES bytes of
 *     rows as the kind's COPY takes them (binary rows without header and
 *     trailer).  Rows of a kind marked keep (series that samples name) are
 *     copied to the start of every new spill file, so that it is complete
 *     on its own.
 *
 *     After a stop the file's rows need not be in order (what waited in
 *     memory is appended behind newer rows): load-spill stores it kind by
 *     kind, which is all the order that matters.
 *
 * Ownership and threads: cw_start copies opts' strings and takes
 * opts->conn; the kinds array and opts->arg must outlive the writer, which
 * cw_finish frees.  Rows given to cw_rows are copied (the caller keeps its
 * buf).  cw_rows, cw_flush and cw_finish are called by one producer thread;
 * the writer's thread owns the connection and calls the kinds' hooks
 * (on_rows, rewrite) with opts->arg.  The writer prints its own messages
 * ("coder-scale: COMMAND: WHAT: ...") when they happen.
 *
 * The stream writer (cw_stream_*) is the same module for one big
 * transaction: a single COPY on the caller's connection, inside the
 * caller's transaction, whose data a thread sends while the caller
 * produces more (ingest).  No batches, retries or spill file: any error is
 * the caller's, who rolls back.
 */
#ifndef CODER_SCALE_COPYWRITER_H
#define CODER_SCALE_COPYWRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "buf.h"
#include "pg.h"

#define CW_MAX_KINDS 8

typedef struct copy_writer copy_writer;

/* One kind of row and how it is stored; SQL gets the run id as $1 (bigint). */
typedef struct cw_kind
{
	const char *name;			/* in the spill file: "result", "sample", ... */
	const char *what;			/* in messages, plural: "results", "samples" */
	bool		binary;			/* rows are binary COPY tuples (buf_bin_*) */
	bool		keep;			/* later rows name these: copied into every new spill file */
	const char *prepare_sql;	/* on every new connection, or NULL */
	const char *copy_sql;		/* COPY ... FROM STDIN [(FORMAT binary)] */
	const char *apply_sql;		/* then, or NULL: its row count is what was stored */
	/* a unique violation (23505) in the COPY or the apply: back to before them, then */
	const char *dup_copy_sql;	/* ... COPY this way (NULL: the COPY stands) */
	const char *dup_apply_sql;	/* ... and apply this way (ON CONFLICT DO NOTHING); NULL: no retry */
	const char *read_sql;		/* last, a query whose rows go to on_rows, or NULL */
	void		(*on_rows) (const PGresult *res, void *arg);
	/* rows as they are sent (OUT), from the rows queued, which stay as they are */
	void		(*rewrite) (const buf *rows, buf *out, void *arg);
} cw_kind;

typedef struct cw_opts
{
	const char *conninfo;		/* NULL or "": the libpq environment */
	const char *command;		/* "scaletest": the application_name, the messages' prefix */
	const char *what;			/* "results database": in messages */
	long long	run_id;			/* $1 of the kinds' SQL; named in the spill file */
	bool		hold_run;		/* hold the run's lock on every connection (runrow_hold) */
	const cw_kind *kinds;		/* written in this order */
	int			nkinds;
	void	   *arg;			/* for the kinds' hooks */
	long		batch_rows;		/* a batch is handed over at this many rows, */
	int			flush_ms;		/* or this long after its first row (0: only at cw_flush) */
	size_t		memory_limit;	/* bytes waiting in memory before rows spill */
	PGconn	   *conn;			/* a connection to take over, or NULL: cw_start connects */
} cw_opts;

typedef enum cw_outcome
{
	CW_WRITTEN,					/* every row is stored */
	CW_UNREACHABLE,				/* the database stayed away: the rest is in the spill file */
	CW_REFUSED					/* a permanent error stopped the writer: the rest is in the spill file */
} cw_outcome;

typedef struct cw_kind_stats
{
	int64_t		rows;			/* rows written (committed) */
	int64_t		stored;			/* of them new: the apply's (or COPY's) row count */
	double		seconds;		/* time spent writing them */
} cw_kind_stats;

typedef struct cw_stats
{
	cw_outcome	outcome;
	pg_error	error;			/* the error that stopped the writer, or the last transient one */
	int64_t		batches;		/* transactions committed */
	double		seconds;		/* time spent writing */
	cw_kind_stats kind[CW_MAX_KINDS];
} cw_stats;

/* Start a writer (connects now, unless opts->conn); NULL with *err if it cannot. */
copy_writer *cw_start(const cw_opts *opts, pg_error *err);

/* Queue NROWS rows of KIND (complete rows, copied); never waits for the database. */
void		cw_rows(copy_writer *w, int kind, const buf *rows, long nrows);

/* Hand the rows given so far to the writer as a batch now. */
void		cw_flush(copy_writer *w);

/*
 * Write everything, waiting at most WAIT_S seconds for a database that is
 * away; stop the thread, free the writer.  Says on stderr what was not
 * written and how to load it.  Returns st->outcome.
 */
cw_outcome	cw_finish(copy_writer *w, int wait_s, cw_stats *st);

/*
 * The memory bound of writers, CODER_SCALE_STORE_MEMORY bytes if set, else
 * DEF; and how long cw_finish waits for a database that is away,
 * CODER_SCALE_STORE_WAIT seconds if set, else DEF.  (For tests: a tiny
 * bound spills at once, a short wait ends a run whose database stays down.)
 */
size_t		cw_memory_limit(size_t def);
int			cw_wait_seconds(int def);

/* A kind load-spill knows, with the argument for its hooks. */
typedef struct cw_known
{
	const cw_kind *kind;
	void	   *arg;
} cw_known;

/* What a spill file's first line says, its kinds looked up among the known ones. */
typedef struct cw_spill_header
{
	long long	run_id;
	char		command[32];	/* the command whose writer made it */
	int			nkinds;
	cw_known	kind[CW_MAX_KINDS];	/* in the file's order, which is the writer's */
} cw_spill_header;

/*
 * Read the first line of spill file PATH (never through a symlink); false
 * with *err when the file cannot be read (58030) or is no spill file, or
 * names a kind not in KNOWN (22P04).
 */
bool		cw_spill_header_read(const char *path, const cw_known *known, int nknown,
								 cw_spill_header *hdr, pg_error *err);

/*
 * Store the rows of spill file PATH on CONN: kind by kind in the header's
 * order, in transactions of at most 10000 rows, so that loading it again
 * (or after an interruption) stores nothing twice.  st->kind[i] counts the
 * header's i-th kind.  False with *err on the first error.
 */
bool		cw_spill_load(const char *path, const cw_spill_header *hdr, PGconn *conn, cw_stats *st,
						  pg_error *err);

/* The stream writer: COPY_SQL on CONN (in the caller's transaction). */
copy_writer *cw_stream_start(PGconn *conn, const char *copy_sql, pg_error *err);

/* Append complete rows; sent by the thread in pieces (waits only when 8 pieces are pending). */
void		cw_stream_rows(copy_writer *w, const buf *rows);

/* Whether sending failed already (the producer may stop early; cw_stream_end says why). */
bool		cw_stream_failed(copy_writer *w);

/* End the COPY (ABORT_WHY non-NULL: abort it); *rows: rows stored.  Frees the writer. */
bool		cw_stream_end(copy_writer *w, const char *abort_why, int64_t *rows, pg_error *err);

#endif							/* CODER_SCALE_COPYWRITER_H */
