/*
 * db.c: connection, transactions and COPY for coder-scale (see db.h).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"

#define COPY_FLUSH_AT (256 * 1024)
#define COPY_BUF_SIZE (COPY_FLUSH_AT + 64 * 1024)
#define SENDER_SLOTS 8

/* The thread that sends full COPY buffers, and the queue it takes them from. */
struct db_sender
{
	PGconn	   *conn;
	pthread_t	thread;
	pthread_mutex_t mu;
	pthread_cond_t changed;
	char	   *slot[SENDER_SLOTS];
	size_t		slot_len[SENDER_SLOTS];
	int			head;
	int			count;
	bool		closing;		/* no more buffers will come */
	bool		failed;			/* PQputCopyData failed (the message is in the connection) */
};

static void *
sender_main(void *arg)
{
	struct db_sender *s = arg;

	for (;;)
	{
		char	   *buf;
		size_t		len;
		bool		failed;

		pthread_mutex_lock(&s->mu);
		while (s->count == 0 && !s->closing)
			pthread_cond_wait(&s->changed, &s->mu);
		if (s->count == 0)
		{
			pthread_mutex_unlock(&s->mu);
			return NULL;
		}
		buf = s->slot[s->head];
		len = s->slot_len[s->head];
		s->head = (s->head + 1) % SENDER_SLOTS;
		s->count--;
		failed = s->failed;
		pthread_cond_broadcast(&s->changed);
		pthread_mutex_unlock(&s->mu);
		if (!failed && PQputCopyData(s->conn, buf, (int) len) != 1)
		{
			pthread_mutex_lock(&s->mu);
			s->failed = true;
			pthread_cond_broadcast(&s->changed);
			pthread_mutex_unlock(&s->mu);
		}
		free(buf);
	}
}

/* Hand a full buffer to the sender (waits while its queue is full); false if sending failed. */
static bool
sender_push(struct db_sender *s, char *buf, size_t len)
{
	bool		ok;

	pthread_mutex_lock(&s->mu);
	while (s->count == SENDER_SLOTS && !s->failed)
		pthread_cond_wait(&s->changed, &s->mu);
	ok = !s->failed;
	if (ok)
	{
		s->slot[(s->head + s->count) % SENDER_SLOTS] = buf;
		s->slot_len[(s->head + s->count) % SENDER_SLOTS] = len;
		s->count++;
		pthread_cond_broadcast(&s->changed);
	}
	pthread_mutex_unlock(&s->mu);
	if (!ok)
		free(buf);
	return ok;
}

/* Let the sender send what it has, stop it; false if any send failed. */
static bool
sender_stop(struct db_copy *c)
{
	struct db_sender *s = c->sender;
	bool		ok;

	if (s == NULL)
		return true;
	pthread_mutex_lock(&s->mu);
	s->closing = true;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	ok = !s->failed;
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->changed);
	free(s);
	c->sender = NULL;
	return ok;
}

static void
print_error(const char *what, const char *msg)
{
	size_t		n = strlen(msg);

	/* libpq messages end with a newline; cli_error adds its own */
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	cli_error("%s: %.*s", what, (int) n, msg);
}

void
db_connect_hint(void)
{
	fprintf(stderr, "To reach the database: in the checkout, run 'source .pg/env' (scripts/first-run.sh writes it),\n"
			"or give --db CONNINFO (e.g. --db 'host=/var/run/postgresql dbname=coder_scale'),\n"
			"or set PGHOST, PGPORT, PGUSER and PGDATABASE.\n");
}

PGconn *
db_connect(const char *conninfo)
{
	PGconn	   *conn = PQconnectdb(conninfo ? conninfo : "");

	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		print_error("cannot connect to the database",
					conn ? PQerrorMessage(conn) : "out of memory");
		db_connect_hint();
		PQfinish(conn);
		exit(EXIT_UNREACHABLE);
	}
	PQsetClientEncoding(conn, "UTF8");
	if (!db_exec(conn, "SET application_name = 'coder-scale'"))
	{
		PQfinish(conn);
		exit(EXIT_INTERNAL);
	}
	return conn;
}

void
db_require_extension(PGconn *conn)
{
	PGresult   *res = db_query(conn, "SELECT 1 FROM pg_extension WHERE extname = 'coder_scale'", 0, NULL, NULL);

	if (res == NULL || PQntuples(res) != 1)
	{
		if (res)
			cli_error("database \"%s\": extension coder_scale is not installed", PQdb(conn));
		fprintf(stderr, "Run CREATE EXTENSION coder_scale; in that database first.\n");
		PQclear(res);
		PQfinish(conn);
		exit(EXIT_INTERNAL);
	}
	PQclear(res);
}

bool
db_exec(PGconn *conn, const char *sql)
{
	PGresult   *res = PQexec(conn, sql);
	bool		ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
		print_error("database", PQerrorMessage(conn));
	PQclear(res);
	return ok;
}

PGresult *
db_query(PGconn *conn, const char *sql, int nparams, const char *const *params, char sqlstate[6])
{
	PGresult   *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);

	if (sqlstate)
		sqlstate[0] = '\0';
	if (PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK)
		return res;
	if (sqlstate && PQresultErrorField(res, PG_DIAG_SQLSTATE))
		snprintf(sqlstate, 6, "%s", PQresultErrorField(res, PG_DIAG_SQLSTATE));
	print_error("database", PQerrorMessage(conn));
	PQclear(res);
	return NULL;
}

bool
db_begin(PGconn *conn)
{
	return db_exec(conn, "BEGIN");
}

bool
db_commit(PGconn *conn)
{
	return db_exec(conn, "COMMIT");
}

void
db_rollback(PGconn *conn)
{
	PGresult   *res = PQexec(conn, "ROLLBACK");

	PQclear(res);
}

bool
db_copy_begin(db_copy *c, PGconn *conn, const char *copy_sql)
{
	PGresult   *res;

	memset(c, 0, sizeof(*c));
	c->conn = conn;
	res = PQexec(conn, copy_sql);
	if (PQresultStatus(res) != PGRES_COPY_IN)
	{
		print_error("database", PQerrorMessage(conn));
		PQclear(res);
		c->failed = true;
		return false;
	}
	PQclear(res);
	c->cap = COPY_BUF_SIZE;
	c->buf = malloc(c->cap);
	c->sender = calloc(1, sizeof(struct db_sender));
	if (c->buf == NULL || c->sender == NULL)
	{
		cli_error("COPY: out of memory");
		free(c->sender);
		c->sender = NULL;
		c->failed = true;
		PQputCopyEnd(conn, "out of memory");
		return false;
	}
	c->sender->conn = conn;
	pthread_mutex_init(&c->sender->mu, NULL);
	pthread_cond_init(&c->sender->changed, NULL);
	if (pthread_create(&c->sender->thread, NULL, sender_main, c->sender) != 0)
	{
		/* no thread: send from this one */
		pthread_mutex_destroy(&c->sender->mu);
		pthread_cond_destroy(&c->sender->changed);
		free(c->sender);
		c->sender = NULL;
	}
	return true;
}

static void
reserve(db_copy *c, size_t more)
{
	char	   *grown;

	if (c->failed || c->len + more <= c->cap)
		return;
	while (c->len + more > c->cap)
		c->cap *= 2;
	grown = realloc(c->buf, c->cap);
	if (grown == NULL)
	{
		cli_error("COPY: out of memory");
		c->failed = true;
		return;
	}
	c->buf = grown;
}

static void
separator(db_copy *c)
{
	reserve(c, 1);
	if (!c->failed && c->field++ > 0)
		c->buf[c->len++] = '\t';
}

void
db_copy_textn(db_copy *c, const char *s, size_t n)
{
	separator(c);
	reserve(c, 2 * n);
	if (c->failed)
		return;
	for (size_t i = 0; i < n; i++)
	{
		char		ch = s[i];
		char		esc = 0;

		switch (ch)
		{
			case '\\': esc = '\\'; break;
			case '\n': esc = 'n'; break;
			case '\r': esc = 'r'; break;
			case '\t': esc = 't'; break;
			case '\b': esc = 'b'; break;
			case '\f': esc = 'f'; break;
			case '\v': esc = 'v'; break;
		}
		if (esc)
		{
			c->buf[c->len++] = '\\';
			c->buf[c->len++] = esc;
		}
		else
			c->buf[c->len++] = ch;
	}
}

void
db_copy_text(db_copy *c, const char *s)
{
	if (s == NULL)
		db_copy_null(c);
	else
		db_copy_textn(c, s, strlen(s));
}

void
db_copy_int(db_copy *c, int64_t v)
{
	char		num[24];

	snprintf(num, sizeof(num), "%" PRId64, v);
	db_copy_textn(c, num, strlen(num));
}

void
db_copy_null(db_copy *c)
{
	separator(c);
	reserve(c, 2);
	if (c->failed)
		return;
	c->buf[c->len++] = '\\';
	c->buf[c->len++] = 'N';
}

static bool
flush(db_copy *c)
{
	if (c->len == 0 || c->failed)
		return !c->failed;
	if (c->sender == NULL)
	{
		if (PQputCopyData(c->conn, c->buf, (int) c->len) != 1)
			c->failed = true;
		c->len = 0;
		return !c->failed;
	}
	if (!sender_push(c->sender, c->buf, c->len))
		c->failed = true;
	c->len = 0;
	c->cap = COPY_BUF_SIZE;
	c->buf = malloc(c->cap);
	if (c->buf == NULL)
	{
		cli_error("COPY: out of memory");
		c->failed = true;
	}
	return !c->failed;
}

bool
db_copy_end_row(db_copy *c)
{
	reserve(c, 1);
	if (c->failed)
		return false;
	c->buf[c->len++] = '\n';
	c->field = 0;
	return c->len < COPY_FLUSH_AT || flush(c);
}

bool
db_copy_end(db_copy *c)
{
	PGresult   *res;
	bool		ok;

	if (!c->failed)
		flush(c);
	if (!sender_stop(c))
		c->failed = true;
	if (c->failed)
		print_error("COPY", PQerrorMessage(c->conn));
	if (PQputCopyEnd(c->conn, c->failed ? "coder-scale gave up" : NULL) != 1)
		print_error("COPY", PQerrorMessage(c->conn));
	res = PQgetResult(c->conn);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK && !c->failed;
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", st ? st : "");
		if (!c->failed)
			print_error("COPY", PQerrorMessage(c->conn));
	}
	PQclear(res);
	while ((res = PQgetResult(c->conn)) != NULL)
		PQclear(res);
	free(c->buf);
	c->buf = NULL;
	return ok;
}

void
db_copy_abort(db_copy *c, const char *why)
{
	PGresult   *res;

	if (c->buf == NULL && c->sender == NULL)
		return;
	c->failed = true;
	sender_stop(c);
	PQputCopyEnd(c->conn, why);
	while ((res = PQgetResult(c->conn)) != NULL)
		PQclear(res);
	free(c->buf);
	c->buf = NULL;
}

void
db_hold_run(PGconn *conn, long long run_id, const char *command)
{
	static bool warned;
	char		id[24];
	const char *p[1] = {id};
	PGresult   *res;
	const char *why;

	if (run_id <= 0)
		return;
	snprintf(id, sizeof(id), "%lld", run_id);
	res = PQexecParams(conn, "SELECT coder_scale.hold_run($1)", 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK && !warned)
	{
		warned = true;
		why = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		fprintf(stderr, "coder-scale: %s: warning: run %s is not marked as driven (%s); "
				"run ALTER EXTENSION coder_scale UPDATE if the extension is older than 0.2.0\n",
				command, id, why ? why : "no answer");
	}
	PQclear(res);
}
