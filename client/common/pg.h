/*
 * pg.h: the one way every coder-scale command talks to PostgreSQL.
 *
 *   pg_error e;
 *   PGconn *c = pg_connect_or_exit(conninfo, "report");  // exits 3, with the hint
 *   pg_require_extension(c, "report");                   // exits 4, with the fix
 *   PGresult *r = pg_query(c, "SELECT ...", 1, params, &e);
 *   if (r == NULL) { pg_report("report", "database", &e); ... }
 *
 * Every connection is made the same way: connect_timeout 5 s (unless
 * PGCONNECT_TIMEOUT or the conninfo says otherwise), application_name
 * "coder-scale COMMAND" (unless the conninfo names one), client_encoding
 * UTF8 (what the client writes).  CONNINFO NULL or "" means the libpq
 * environment (PGHOST, PGPORT, ...).
 *
 * Errors keep their SQLSTATE.  A failure that has none gets the standard
 * one of its kind: 08001 when no connection could be made, 08006 when the
 * connection was lost.  pg_transient() classifies them as pgbench does:
 * worth retrying on a new connection or a new transaction are class 08
 * (connection), 57P (the server shut down or restarted), 40001
 * (serialization) and 40P01 (deadlock), and class 53 (out of resources);
 * everything else, notably 22 (bad data), 23 (a constraint) and 42 (the
 * schema or privileges), is permanent: the same statement would fail again.
 *
 * Nothing here prints except the *_or_exit functions and pg_report.  A
 * PGconn is used by one thread at a time.
 */
#ifndef CODER_SCALE_PG_H
#define CODER_SCALE_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

typedef struct pg_error
{
	char		sqlstate[6];	/* never empty once an error is set */
	char		message[512];	/* "ERROR 23514: new row ... violates check constraint \"c\"" */
} pg_error;

/* Connect as COMMAND; NULL with *err set (08001) when no connection could be made. */
PGconn	   *pg_connect(const char *conninfo, const char *command, pg_error *err);

/* The same, or say why and how to get a connection, and exit 3. */
PGconn	   *pg_connect_or_exit(const char *conninfo, const char *command);

/*
 * Whether CREATE EXTENSION coder_scale was done in this database; when not,
 * *err says so as the server would (42704, undefined object), else it holds
 * why the question failed.
 */
bool		pg_has_extension(PGconn *conn, pg_error *err);

/* Exit 4, saying to CREATE EXTENSION coder_scale, unless it is there. */
void		pg_require_extension(PGconn *conn, const char *command);

/* Run SQL without parameters; false with *err on any error. */
bool		pg_exec(PGconn *conn, const char *sql, pg_error *err);

/*
 * Run SQL with text parameters (NULL = SQL NULL); the result (PQclear it)
 * when it succeeded, else NULL with *err.
 */
PGresult   *pg_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
					 pg_error *err);

/* Run SQL whose $1, if it has one, is the bigint ID; as pg_query. */
PGresult   *pg_query_id(PGconn *conn, const char *sql, long long id, pg_error *err);

/*
 * A COPY ... FROM STDIN in pieces: start it, send data, end it (ABORT_WHY
 * non-NULL: give up with that reason); *rows: rows the server took.
 */
bool		pg_copy_start(PGconn *conn, const char *copy_sql, pg_error *err);
bool		pg_copy_send(PGconn *conn, const char *data, size_t len, pg_error *err);
bool		pg_copy_end(PGconn *conn, const char *abort_why, int64_t *rows, pg_error *err);

/* Roll back whatever transaction is open (errors ignored: the caller is giving up). */
void		pg_rollback(PGconn *conn);

/* Whether retrying can help (see above). */
bool		pg_transient(const pg_error *err);

/* Whether the error is of SQLSTATE class CLASS2 ("23", "42", ...). */
bool		pg_class(const pg_error *err, const char *class2);

/* The exit code of a database error: 3 (EXIT_UNREACHABLE) when transient, else 4. */
int			pg_exit_code(const pg_error *err);

/* What to do about an error of this kind, as a clause: "check that the server runs ...". */
const char *pg_advice(const pg_error *err);

/* Print "coder-scale: COMMAND: WHAT: ERROR 23514: ...; <advice>", and after 08001 how to reach a database. */
void		pg_report(const char *command, const char *what, const pg_error *err);

#endif							/* CODER_SCALE_PG_H */
