/*
 * db.h: what every coder-scale command needs from libpq.
 *
 *   PGconn *conn = db_connect(conninfo);     // exits 3 when unreachable
 *   db_begin(conn);
 *   db_copy c;
 *   db_copy_begin(&c, conn, "COPY t (a, b) FROM STDIN");
 *   db_copy_text(&c, "x\ty"); db_copy_int(&c, 42); db_copy_end_row(&c);
 *   if (!db_copy_end(&c)) ... db_rollback(conn);
 *   db_commit(conn);
 *
 * Errors are printed as "coder-scale: <what>: <why>"; functions returning
 * bool say false after printing.
 */
#ifndef CODER_SCALE_DB_H
#define CODER_SCALE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

/*
 * Connect with CONNINFO (NULL or "" = the libpq environment: PGHOST, ...).
 * On failure print why and exit(EXIT_UNREACHABLE).  Sets
 * client_encoding UTF8 and application_name coder-scale.
 */
PGconn	   *db_connect(const char *conninfo);

/* Say on stderr how to get a database connection (source .pg/env, --db, PG*). */
void		db_connect_hint(void);

/* Exit 4 with a hint unless CREATE EXTENSION coder_scale was done in this database. */
void		db_require_extension(PGconn *conn);

/*
 * Hold run RUN_ID's lock on this connection for as long as it lasts
 * (coder_scale.hold_run()), so that readers tell a live run from one whose
 * driver was killed.  Never fails the caller: when the server cannot (an
 * extension older than 0.2.0), it warns once on stderr as COMMAND.
 */
void		db_hold_run(PGconn *conn, long long run_id, const char *command);

/* Run a command without result rows; false (message printed) on error. */
bool		db_exec(PGconn *conn, const char *sql);

/*
 * Run a query with text parameters (NULL = SQL NULL); the result when it
 * succeeded (PQclear it), NULL after printing the error.  *sqlstate (if not
 * NULL) receives the error's SQLSTATE or "".
 */
PGresult   *db_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
					 char sqlstate[6]);

bool		db_begin(PGconn *conn);
bool		db_commit(PGconn *conn);
void		db_rollback(PGconn *conn);

/*
 * A COPY ... FROM STDIN in text format, buffered; full buffers are sent by a
 * thread of their own, so the caller keeps producing rows while the server
 * reads.  Do not use the connection otherwise until db_copy_end/abort.
 */
struct db_sender;
typedef struct db_copy
{
	PGconn	   *conn;
	struct db_sender *sender;
	char	   *buf;
	size_t		len;
	size_t		cap;
	int			field;			/* fields written in the current row */
	bool		failed;
	char		sqlstate[6];	/* of the error, when db_copy_end failed */
} db_copy;

bool		db_copy_begin(db_copy *c, PGconn *conn, const char *copy_sql);
/* One field; s == NULL writes SQL NULL.  Tabs, newlines, backslashes are escaped. */
void		db_copy_text(db_copy *c, const char *s);
void		db_copy_textn(db_copy *c, const char *s, size_t n);
void		db_copy_int(db_copy *c, int64_t v);
void		db_copy_null(db_copy *c);
/* End the row; flushes to the server when the buffer is large. */
bool		db_copy_end_row(db_copy *c);
/* Finish the COPY and read its result; false (message printed) on any error. */
bool		db_copy_end(db_copy *c);
/* Give up: end the COPY with an error (the caller then rolls back). */
void		db_copy_abort(db_copy *c, const char *why);

#endif
