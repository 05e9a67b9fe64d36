/*
 * pg.c: connections, SQL, COPY and classified errors (see pg.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pg.h"

#define CONNECT_TIMEOUT "5"		/* seconds, unless PGCONNECT_TIMEOUT or the conninfo say */
#define INT8OID 20				/* pg_type.h's, which a client cannot include */
#define COPY_PIECE (1 << 20)	/* bytes per PQputCopyData */
#define DETAIL_MAX 200			/* a longer DETAIL (a failing row with its logs) is left out */

/*
 * Copy libpq's text into OUT (SIZE bytes) once: its newlines, the tabs
 * that indent continuation lines and runs of spaces become single spaces,
 * and the trailing newline goes (every message printed adds its own).
 */
static void
trim_message(char *out, size_t size, const char *msg)
{
	size_t		n = 0;

	for (const char *p = msg; *p && n + 1 < size; p++)
	{
		if (*p == '\n' || *p == '\t' || *p == ' ')
		{
			if (n > 0 && out[n - 1] != ' ')
				out[n++] = ' ';
			continue;
		}
		out[n++] = *p;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

/* *err from a failed result (or, without one, from the connection's state). */
static void
set_error(pg_error *err, PGconn *conn, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *sev = res ? PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	char		text[sizeof(err->message) - 32];

	if (state && primary)
	{
		snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state);
		trim_message(text, sizeof(text), primary);
		if (detail && strlen(detail) <= DETAIL_MAX && strlen(text) + DETAIL_MAX + 4 < sizeof(text))
		{
			size_t		n = strlen(text);

			snprintf(text + n, sizeof(text) - n, " (");
			trim_message(text + n + 2, sizeof(text) - n - 2, detail);
			n = strlen(text);
			snprintf(text + n, sizeof(text) - n, ")");
		}
		snprintf(err->message, sizeof(err->message), "%s %s: %s", sev ? sev : "ERROR", state, text);
		return;
	}
	/* no SQLSTATE from the server: libpq's own words, and the standard code of the kind */
	snprintf(err->sqlstate, sizeof(err->sqlstate), "%s",
			 conn == NULL || PQstatus(conn) == CONNECTION_BAD ? "08006" : "XX000");
	trim_message(text, sizeof(text), conn ? PQerrorMessage(conn) : "out of memory");
	snprintf(err->message, sizeof(err->message), "%s: %s", err->sqlstate, text[0] ? text : "no answer");
}

/* NOTICEs (CREATE ... IF NOT EXISTS and the like) are dropped; WARNINGs and above printed. */
static void
notice_receiver(void *arg, const PGresult *res)
{
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	pg_error	e;

	if (sev == NULL || strcmp(sev, "NOTICE") == 0 || strcmp(sev, "INFO") == 0 ||
		strcmp(sev, "LOG") == 0 || strcmp(sev, "DEBUG") == 0)
		return;
	set_error(&e, NULL, res);
	cli_error("%s: database: %s", (const char *) arg, e.message);
}

PGconn *
pg_connect(const char *conninfo, const char *command, pg_error *err)
{
	char		appname[64];
	const char *keys[5];
	const char *vals[5];
	int			n = 0;
	PGconn	   *conn;

	snprintf(appname, sizeof(appname), "coder-scale %s", command);
	/* before dbname: the conninfo's own settings win; client_encoding after it: always UTF8 */
	if (getenv("PGCONNECT_TIMEOUT") == NULL)
		keys[n] = "connect_timeout", vals[n++] = CONNECT_TIMEOUT;
	keys[n] = "fallback_application_name", vals[n++] = appname;
	keys[n] = "dbname", vals[n++] = conninfo ? conninfo : "";
	keys[n] = "client_encoding", vals[n++] = "UTF8";
	keys[n] = NULL, vals[n] = NULL;
	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		char		text[sizeof(err->message) - 32];

		trim_message(text, sizeof(text), conn ? PQerrorMessage(conn) : "out of memory");
		snprintf(err->sqlstate, sizeof(err->sqlstate), "08001");
		snprintf(err->message, sizeof(err->message), "08001: %s", text);
		PQfinish(conn);
		return NULL;
	}
	/* COMMAND is a string that lives as long as the program (a command's name) */
	PQsetNoticeReceiver(conn, notice_receiver, (void *) command);
	return conn;
}

static void
connect_hint(void)
{
	fprintf(stderr, "To reach the database: in the checkout, run 'source .pg/env' (scripts/first-run.sh writes it),\n"
			"or give --db CONNINFO (e.g. --db 'host=/var/run/postgresql dbname=coder_scale'),\n"
			"or set PGHOST, PGPORT, PGUSER and PGDATABASE.\n");
}

PGconn *
pg_connect_or_exit(const char *conninfo, const char *command)
{
	pg_error	e;
	PGconn	   *conn = pg_connect(conninfo, command, &e);

	if (conn == NULL)
	{
		pg_report(command, "cannot connect to the database", &e);
		exit(EXIT_UNREACHABLE);
	}
	return conn;
}

bool
pg_has_extension(PGconn *conn, pg_error *err)
{
	PGresult   *res = pg_query(conn, "SELECT 1 FROM pg_extension WHERE extname = 'coder_scale'", 0, NULL, err);
	bool		has = res != NULL && PQntuples(res) == 1;

	if (res != NULL && !has)
	{
		snprintf(err->sqlstate, sizeof(err->sqlstate), "42704");
		snprintf(err->message, sizeof(err->message),
				 "ERROR 42704: extension \"coder_scale\" is not installed in database \"%s\"", PQdb(conn));
	}
	PQclear(res);
	return has;
}

void
pg_require_extension(PGconn *conn, const char *command)
{
	pg_error	e;

	if (pg_has_extension(conn, &e))
		return;
	pg_report(command, "database", &e);
	PQfinish(conn);
	exit(pg_transient(&e) ? EXIT_UNREACHABLE : EXIT_INTERNAL);
}

bool
pg_exec(PGconn *conn, const char *sql, pg_error *err)
{
	PGresult   *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	bool		ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

	if (!ok)
		set_error(err, conn, res);
	PQclear(res);
	return ok;
}

PGresult *
pg_query(PGconn *conn, const char *sql, int nparams, const char *const *params, pg_error *err)
{
	PGresult   *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	set_error(err, conn, res);
	PQclear(res);
	return NULL;
}

PGresult *
pg_query_id(PGconn *conn, const char *sql, long long id, pg_error *err)
{
	const Oid	types[1] = {INT8OID};
	char		text[24];
	const char *params[1] = {text};
	PGresult   *res;
	ExecStatusType st;

	snprintf(text, sizeof(text), "%lld", id);
	res = PQexecParams(conn, sql, 1, types, params, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	set_error(err, conn, res);
	PQclear(res);
	return NULL;
}

bool
pg_copy_start(PGconn *conn, const char *copy_sql, pg_error *err)
{
	PGresult   *res = PQexec(conn, copy_sql);
	bool		ok = PQresultStatus(res) == PGRES_COPY_IN;

	if (!ok)
		set_error(err, conn, res);
	PQclear(res);
	return ok;
}

bool
pg_copy_send(PGconn *conn, const char *data, size_t len, pg_error *err)
{
	for (size_t off = 0; off < len; off += COPY_PIECE)
	{
		size_t		n = len - off < COPY_PIECE ? len - off : COPY_PIECE;

		if (PQputCopyData(conn, data + off, (int) n) != 1)
		{
			set_error(err, conn, NULL);
			return false;
		}
	}
	return true;
}

bool
pg_copy_end(PGconn *conn, const char *abort_why, int64_t *rows, pg_error *err)
{
	PGresult   *res;
	bool		ok;

	if (PQputCopyEnd(conn, abort_why) != 1)
	{
		set_error(err, conn, NULL);
		return false;
	}
	res = PQgetResult(conn);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK && abort_why == NULL;
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		set_error(err, conn, res);
	else if (rows)
		*rows = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	while ((res = PQgetResult(conn)) != NULL)
		PQclear(res);
	return ok;
}

void
pg_rollback(PGconn *conn)
{
	if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexec(conn, "ROLLBACK"));
}

bool
pg_class(const pg_error *err, const char *class2)
{
	return strncmp(err->sqlstate, class2, 2) == 0;
}

bool
pg_transient(const pg_error *err)
{
	const char *s = err->sqlstate;

	return pg_class(err, "08") || pg_class(err, "53") || strncmp(s, "57P", 3) == 0 ||
		strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0;
}

int
pg_exit_code(const pg_error *err)
{
	return pg_transient(err) ? EXIT_UNREACHABLE : EXIT_INTERNAL;
}

const char *
pg_advice(const pg_error *err)
{
	if (strcmp(err->sqlstate, "42704") == 0 && strstr(err->message, "coder_scale"))
		return "run CREATE EXTENSION coder_scale in that database, or give --db for another";
	if (strcmp(err->sqlstate, "42501") == 0)
		return "grant the role the privileges it lacks on the coder_scale schema, or connect as another role";
	if (pg_class(err, "42"))
		return "the schema differs from what coder-scale " CODER_SCALE_VERSION
			" expects: run ALTER EXTENSION coder_scale UPDATE";
	if (pg_class(err, "22") || pg_class(err, "23"))
		return "the server refused a value: check the input and any constraint or trigger added to "
			"the coder_scale tables";
	if (pg_class(err, "08"))
		return "check that the server runs and that --db (or PGHOST, PGPORT) names it, then run the command again";
	if (strncmp(err->sqlstate, "57P", 3) == 0)
		return "the server shut down or restarted: run the command again once it is back";
	if (pg_class(err, "53"))
		return "the server is out of resources (disk, memory or connections): free some, then run the command again";
	if (pg_class(err, "40"))
		return "a concurrent transaction conflicted: run the command again";
	return "see the server's log for the cause";
}

void
pg_report(const char *command, const char *what, const pg_error *err)
{
	cli_error("%s: %s: %s; %s", command, what, err->message, pg_advice(err));
	if (strcmp(err->sqlstate, "08001") == 0)	/* no connection could be made */
		connect_hint();
}
