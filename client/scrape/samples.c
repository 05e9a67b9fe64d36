/*
 * samples.c: series interning, scrape batches and the writer thread (see
 * samples.h).
 */
#include <endian.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "samples.h"

#define MAX_QUEUED		(4 * 1000 * 1000)	/* samples waiting for the writer */
#define MAX_DB_ERRORS	3		/* printed; later ones only counted */
#define PG_EPOCH_US		946684800000000LL	/* 2000-01-01 in Unix microseconds */
#define TIME_MIN_US		(-2208988800000000LL)	/* 1900-01-01 */
#define TIME_MAX_US		253402300799999999LL	/* 9999-12-31 23:59:59.999999 */

typedef struct rec
{
	int64_t		time_us;
	double		value;
	uint32_t	series;
} rec;

typedef struct recs
{
	rec		   *v;
	size_t		n;
	size_t		cap;
} recs;

typedef struct sbuf
{
	char	   *s;
	size_t		len;
	size_t		cap;
} sbuf;

typedef struct batch
{
	struct batch *next;
	sbuf		series_rows;	/* COPY text rows of the series new in it */
	size_t		nseries;
	recs		samples;
	double		queued_at;
} batch;

typedef struct series
{
	uint64_t	hash;
	size_t		key_off;
	uint32_t	key_len;
	uint32_t	mark;			/* the scrape that last added it */
	int64_t		last_time;		/* of its last kept sample */
} series;

typedef struct sink_target
{
	char	   *component;		/* COPY-escaped */
	char	   *url;			/* COPY-escaped */
	uint32_t	scrape;			/* mark of the current scrape */
	recs		pending;
	int64_t		kept;
} sink_target;

struct samples
{
	int64_t		run_id;
	sink_target *targets;
	int			ntargets;
	/* interning (event loop side) */
	series	   *series;
	size_t		nseries;
	size_t		series_cap;
	int32_t    *table;
	size_t		table_cap;
	sbuf		keys;
	sbuf		key;
	uint32_t	next_mark;
	batch	   *cur;
	double		cur_since;
	/* the queue */
	pthread_t	thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	batch	   *head;
	batch	   *tail;
	int64_t		queued_samples;
	bool		finishing;
	/* writer side */
	PGconn	   *conn;
	int64_t    *db_id;
	size_t		db_cap;
	size_t		known;			/* series the writer has heard of */
	size_t		registered;		/* ... and has ids for (a prefix) */
	sbuf		unregistered;	/* COPY rows of series known..registered */
	sbuf		bin;
	int			db_errors;
	samples_stats st;
};

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
oom(void)
{
	cli_error("scrape: out of memory");
	exit(EXIT_INTERNAL);
}

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (p == NULL)
		oom();
	return p;
}

static void
sb_reserve(sbuf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return;
	b->cap = b->cap ? b->cap : 4096;
	while (b->len + more > b->cap)
		b->cap *= 2;
	b->s = xrealloc(b->s, b->cap);
}

static void
sb_put(sbuf *b, const void *p, size_t n)
{
	sb_reserve(b, n);
	memcpy(b->s + b->len, p, n);
	b->len += n;
}

static void
sb_putc(sbuf *b, char c)
{
	sb_reserve(b, 1);
	b->s[b->len++] = c;
}

/* Text for a COPY text field: backslash, tab, newline, CR escaped. */
static void
sb_put_copy(sbuf *b, const char *s, size_t n)
{
	sb_reserve(b, 2 * n);
	for (size_t i = 0; i < n; i++)
	{
		char		c = s[i];

		if (c == '\\' || c == '\t' || c == '\n' || c == '\r')
		{
			b->s[b->len++] = '\\';
			c = c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
		}
		b->s[b->len++] = c;
	}
}

/* A JSON string, as it must appear inside a COPY text field (backslashes doubled). */
static void
sb_put_json_string(sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	sb_reserve(b, 12 * n + 2);
	b->s[b->len++] = '"';
	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == '"')
		{
			memcpy(b->s + b->len, "\\\\\"", 3);	/* JSON \", its backslash doubled for COPY */
			b->len += 3;
		}
		else if (c == '\\')
		{
			memcpy(b->s + b->len, "\\\\\\\\", 4);	/* JSON \\, doubled for COPY */
			b->len += 4;
		}
		else if (c < 0x20)
		{
			memcpy(b->s + b->len, "\\\\u00", 5);
			b->len += 5;
			b->s[b->len++] = hex[c >> 4];
			b->s[b->len++] = hex[c & 15];
		}
		else
			b->s[b->len++] = (char) c;
	}
	b->s[b->len++] = '"';
}

static void
recs_push(recs *r, rec x)
{
	if (r->n == r->cap)
	{
		r->cap = r->cap ? r->cap * 2 : 1024;
		r->v = xrealloc(r->v, r->cap * sizeof(rec));
	}
	r->v[r->n++] = x;
}

static batch *
batch_new(void)
{
	batch	   *b = calloc(1, sizeof(batch));

	if (b == NULL)
		oom();
	return b;
}

static void
batch_free(batch *b)
{
	free(b->series_rows.s);
	free(b->samples.v);
	free(b);
}

/* ---------------------------------------------------------------------------
 * Interning
 * ------------------------------------------------------------------------- */

static uint64_t
hash_bytes(const char *p, size_t n)
{
	uint64_t	h = 0x243F6A8885A308D3ULL ^ n;

	while (n >= 8)
	{
		uint64_t	w;

		memcpy(&w, p, 8);
		h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
		h ^= h >> 29;
		p += 8;
		n -= 8;
	}
	while (n-- > 0)
		h = (h ^ (unsigned char) *p++) * 0x100000001B3ULL;
	h ^= h >> 32;
	return h * 0xD6E8FEB86659FD93ULL;
}

static void
table_insert(samples *s, uint32_t id)
{
	size_t		mask = s->table_cap - 1;
	size_t		i = s->series[id].hash & mask;

	while (s->table[i] >= 0)
		i = (i + 1) & mask;
	s->table[i] = (int32_t) id;
}

static void
table_grow(samples *s)
{
	size_t		cap = s->table_cap ? s->table_cap * 2 : 4096;

	free(s->table);
	s->table = malloc(cap * sizeof(int32_t));
	if (s->table == NULL)
		oom();
	memset(s->table, 0xff, cap * sizeof(int32_t));
	s->table_cap = cap;
	for (size_t id = 0; id < s->nseries; id++)
		table_insert(s, (uint32_t) id);
}

/* The registration row of a new series: local id, component, target, name, labels as JSON. */
static void
series_row(samples *s, int t, uint32_t id, const char *name, size_t name_len,
		   const prom_label *labels, int nlabels)
{
	sbuf	   *b = &s->cur->series_rows;
	char		num[24];

	sb_put(b, num, (size_t) snprintf(num, sizeof(num), "%u\t", id));
	sb_put(b, s->targets[t].component, strlen(s->targets[t].component));
	sb_putc(b, '\t');
	sb_put(b, s->targets[t].url, strlen(s->targets[t].url));
	sb_putc(b, '\t');
	sb_put(b, name, name_len);
	sb_put(b, "\t{", 2);
	for (int k = 0; k < nlabels; k++)
	{
		if (k > 0)
			sb_putc(b, ',');
		sb_put_json_string(b, labels[k].name, labels[k].name_len);
		sb_putc(b, ':');
		sb_put_json_string(b, labels[k].value, labels[k].value_len);
	}
	sb_put(b, "}\n", 2);
	s->cur->nseries++;
}

/* The local id of (target, name, labels), made on first sight. */
static uint32_t
intern(samples *s, int t, const char *name, size_t name_len, const prom_label *labels, int nlabels)
{
	sbuf	   *k = &s->key;
	uint32_t	t32 = (uint32_t) t;
	uint64_t	h;
	size_t		mask,
				i;
	series	   *se;

	k->len = 0;
	sb_put(k, &t32, sizeof(t32));
	sb_put(k, name, name_len);
	sb_putc(k, '\0');
	for (int j = 0; j < nlabels; j++)
	{
		sb_put(k, labels[j].name, labels[j].name_len);
		sb_putc(k, '\0');
		sb_put(k, labels[j].value, labels[j].value_len);
		sb_putc(k, '\0');
	}
	h = hash_bytes(k->s, k->len);
	if (s->table_cap == 0)
		table_grow(s);
	mask = s->table_cap - 1;
	for (i = h & mask; s->table[i] >= 0; i = (i + 1) & mask)
	{
		se = &s->series[s->table[i]];
		if (se->hash == h && se->key_len == k->len && memcmp(s->keys.s + se->key_off, k->s, k->len) == 0)
			return (uint32_t) s->table[i];
	}
	if (s->nseries >= INT32_MAX - 1)
		oom();
	if (s->nseries == s->series_cap)
	{
		s->series_cap = s->series_cap ? s->series_cap * 2 : 4096;
		s->series = xrealloc(s->series, s->series_cap * sizeof(series));
	}
	se = &s->series[s->nseries];
	se->hash = h;
	se->key_off = s->keys.len;
	se->key_len = (uint32_t) k->len;
	se->mark = 0;
	se->last_time = INT64_MIN;
	sb_put(&s->keys, k->s, k->len);
	series_row(s, t, (uint32_t) s->nseries, name, name_len, labels, nlabels);
	s->nseries++;
	s->st.series++;
	if (s->nseries * 2 > s->table_cap)
		table_grow(s);
	else
		s->table[i] = (int32_t) (s->nseries - 1);
	return (uint32_t) (s->nseries - 1);
}

/* ---------------------------------------------------------------------------
 * Event loop side
 * ------------------------------------------------------------------------- */

static void *writer_main(void *arg);

samples *
samples_new(PGconn *conn, int64_t run_id)
{
	samples    *s = calloc(1, sizeof(samples));

	if (s == NULL)
		return NULL;
	s->conn = conn;
	PQclear(PQexec(conn, "SET client_min_messages = warning"));	/* IF NOT EXISTS notices */
	s->run_id = run_id;
	s->next_mark = 1;
	s->cur = batch_new();
	s->cur_since = INFINITY;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (pthread_create(&s->thread, NULL, writer_main, s) != 0)
	{
		cli_error("scrape: cannot start the database writer thread");
		free(s->cur);
		free(s);
		return NULL;
	}
	return s;
}

int
samples_add_target(samples *s, const char *component, const char *url)
{
	sink_target *t;
	sbuf		b = {0};

	s->targets = xrealloc(s->targets, (s->ntargets + 1) * sizeof(sink_target));
	t = &s->targets[s->ntargets];
	memset(t, 0, sizeof(*t));
	sb_put_copy(&b, component, strlen(component));
	sb_putc(&b, '\0');
	t->component = b.s;
	memset(&b, 0, sizeof(b));
	sb_put_copy(&b, url, strlen(url));
	sb_putc(&b, '\0');
	t->url = b.s;
	return s->ntargets++;
}

void
samples_begin(samples *s, int target, int64_t time_us)
{
	(void) time_us;
	s->targets[target].pending.n = 0;
	s->targets[target].scrape = s->next_mark++;
	if (s->next_mark == 0)
		s->next_mark = 1;
}

static bool
time_ok(int64_t t)
{
	return t >= TIME_MIN_US && t <= TIME_MAX_US;
}

bool
samples_add(samples *s, int target, const prom_sample *smp, int64_t time_us)
{
	sink_target *t = &s->targets[target];
	uint32_t	id;
	series	   *se;

	if (!time_ok(time_us))
		return false;
	id = intern(s, target, smp->name, smp->name_len, smp->labels, smp->nlabels);
	se = &s->series[id];
	if (se->mark == t->scrape || time_us <= se->last_time)
		return false;
	se->mark = t->scrape;
	recs_push(&t->pending, (rec) {time_us, smp->value, id});
	return true;
}

static void
to_batch(samples *s, rec r)
{
	if (s->cur->samples.n == 0)
		s->cur_since = mono_now();
	recs_push(&s->cur->samples, r);
}

void
samples_end(samples *s, int target, bool keep)
{
	sink_target *t = &s->targets[target];

	if (keep)
	{
		for (size_t i = 0; i < t->pending.n; i++)
		{
			rec			r = t->pending.v[i];
			series	   *se = &s->series[r.series];

			if (r.time_us > se->last_time)
				se->last_time = r.time_us;
			to_batch(s, r);
		}
		t->kept += (int64_t) t->pending.n;
		s->st.queued += (int64_t) t->pending.n;
	}
	t->pending.n = 0;
	t->scrape = 0;
}

void
samples_add_one(samples *s, int target, const char *name, double value, int64_t time_us)
{
	uint32_t	id = intern(s, target, name, strlen(name), NULL, 0);
	series	   *se = &s->series[id];

	if (!time_ok(time_us) || time_us <= se->last_time)
		return;
	se->last_time = time_us;
	to_batch(s, (rec) {time_us, value, id});
	s->st.queued++;
}

int64_t
samples_kept(const samples *s, int target)
{
	return s->targets[target].kept;
}

static void
queue_batch(samples *s)
{
	batch	   *b = s->cur;

	if (b->samples.n == 0 && b->nseries == 0)
		return;
	s->cur = batch_new();
	s->cur_since = INFINITY;
	b->queued_at = mono_now();
	pthread_mutex_lock(&s->mu);
	if (s->queued_samples + (int64_t) b->samples.n > MAX_QUEUED)
	{
		/* the database is far behind: drop these samples, keep the new series */
		s->st.dropped_behind += (int64_t) b->samples.n;
		b->samples.n = 0;
	}
	s->queued_samples += (int64_t) b->samples.n;
	if (s->tail)
		s->tail->next = b;
	else
		s->head = b;
	s->tail = b;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

double
samples_next_deadline(const samples *s)
{
	return s->cur_since + 1.0;
}

void
samples_poll(samples *s, double now)
{
	(void) now;
	if (s->cur->samples.n >= SAMPLES_BATCH || mono_now() >= s->cur_since + 1.0)
		queue_batch(s);
}

bool
samples_finish(samples *s, samples_stats *stats)
{
	bool		ok;

	queue_batch(s);
	pthread_mutex_lock(&s->mu);
	s->finishing = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	ok = s->st.lost == 0 && s->st.dropped_behind == 0;
	if (stats)
		*stats = s->st;
	PQfinish(s->conn);
	for (int t = 0; t < s->ntargets; t++)
	{
		free(s->targets[t].component);
		free(s->targets[t].url);
		free(s->targets[t].pending.v);
	}
	free(s->targets);
	free(s->series);
	free(s->table);
	free(s->keys.s);
	free(s->key.s);
	batch_free(s->cur);
	free(s->db_id);
	free(s->unregistered.s);
	free(s->bin.s);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cond);
	free(s);
	return ok;
}

/* ---------------------------------------------------------------------------
 * Writer thread
 * ------------------------------------------------------------------------- */

static void
db_failed(samples *s, const char *what, PGresult *res)
{
	if (s->db_errors++ < MAX_DB_ERRORS)
	{
		const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(s->conn);
		size_t		n = strlen(msg);

		while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
			n--;
		cli_error("scrape: storing samples: %s: %.*s", what, (int) n, msg);
	}
	if (PQstatus(s->conn) == CONNECTION_BAD)
		PQreset(s->conn);
}

/* Run SQL without rows; false after reporting. */
static bool
w_exec(samples *s, const char *sql)
{
	PGresult   *res = PQexec(s->conn, sql);
	bool		ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		db_failed(s, "database", res);
	PQclear(res);
	return ok;
}

/* COPY DATA in with COPY_SQL; the SQLSTATE of a failure in *state. */
static bool
w_copy(samples *s, const char *copy_sql, const char *data, size_t len, char state[6], int64_t *rows)
{
	PGresult   *res = PQexec(s->conn, copy_sql);
	bool		ok;

	state[0] = '\0';
	if (PQresultStatus(res) != PGRES_COPY_IN)
	{
		db_failed(s, "COPY", res);
		PQclear(res);
		return false;
	}
	PQclear(res);
	for (size_t off = 0; off < len; off += 1 << 20)
	{
		size_t		n = len - off < (1 << 20) ? len - off : (1 << 20);

		if (PQputCopyData(s->conn, data + off, (int) n) != 1)
			break;
	}
	PQputCopyEnd(s->conn, NULL);
	res = PQgetResult(s->conn);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (ok && rows)
		*rows = strtoll(PQcmdTuples(res), NULL, 10);
	if (!ok && PQresultErrorField(res, PG_DIAG_SQLSTATE))
		snprintf(state, 6, "%s", PQresultErrorField(res, PG_DIAG_SQLSTATE));
	if (!ok && strcmp(state, "23505") != 0)
		db_failed(s, "COPY", res);
	PQclear(res);
	while ((res = PQgetResult(s->conn)) != NULL)
		PQclear(res);
	return ok;
}

/*
 * INSERT the new series: plainly first (a fresh run: no unique check beyond
 * the index); if another process or an earlier session of the run stored
 * some already, again with ON CONFLICT DO NOTHING.
 */
static bool
insert_series(samples *s, const char *const *params)
{
	static const char insert[] =
		"INSERT INTO coder_scale.metric_series (run_id, component, target, name, labels) "
		"SELECT $1, component, target, name, labels FROM cs_new_series ORDER BY local";
	char		sql[sizeof(insert) + 32];
	PGresult   *res;
	bool		dup;

	if (!w_exec(s, "SAVEPOINT plain_insert"))
		return false;
	res = PQexecParams(s->conn, insert, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_COMMAND_OK)
	{
		PQclear(res);
		return true;
	}
	dup = PQresultErrorField(res, PG_DIAG_SQLSTATE) && strcmp(PQresultErrorField(res, PG_DIAG_SQLSTATE), "23505") == 0;
	if (!dup)
	{
		db_failed(s, "metric_series", res);
		PQclear(res);
		return false;
	}
	PQclear(res);
	if (!w_exec(s, "ROLLBACK TO SAVEPOINT plain_insert"))
		return false;
	snprintf(sql, sizeof(sql), "%s ON CONFLICT DO NOTHING", insert);
	res = PQexecParams(s->conn, sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		db_failed(s, "metric_series", res);
		PQclear(res);
		return false;
	}
	PQclear(res);
	return true;
}

/* Give every series heard of so far its metric_series id. */
static void
register_series(samples *s)
{
	char		run[24];
	const char *params[1] = {run};
	char		state[6];
	PGresult   *res;

	if (s->registered == s->known)
		return;
	snprintf(run, sizeof(run), "%lld", (long long) s->run_id);
	if (!w_exec(s, "BEGIN"))
		return;
	if (!w_exec(s, "CREATE TEMP TABLE IF NOT EXISTS cs_new_series "
				"(local bigint, component text, target text, name text, labels jsonb) ON COMMIT DELETE ROWS") ||
		!w_copy(s, "COPY cs_new_series FROM STDIN", s->unregistered.s, s->unregistered.len, state, NULL))
		goto fail;
	if (!insert_series(s, params))
		goto fail;
	res = PQexecParams(s->conn,
					   "SELECT n.local, m.id FROM cs_new_series n JOIN coder_scale.metric_series m "
					   "ON m.run_id = $1 AND m.component = n.component AND m.target = n.target "
					   "AND m.name = n.name AND m.labels = n.labels", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		db_failed(s, "metric_series", res);
		PQclear(res);
		goto fail;
	}
	for (int r = 0; r < PQntuples(res); r++)
	{
		long long	local = strtoll(PQgetvalue(res, r, 0), NULL, 10);

		if (local >= 0 && (size_t) local < s->known)
			s->db_id[local] = strtoll(PQgetvalue(res, r, 1), NULL, 10);
	}
	PQclear(res);
	if (!w_exec(s, "COMMIT"))
		return;
	s->registered = s->known;
	s->unregistered.len = 0;
	return;
fail:
	PQclear(PQexec(s->conn, "ROLLBACK"));
}

static void
put_be32(sbuf *b, uint32_t v)
{
	v = htobe32(v);
	memcpy(b->s + b->len, &v, 4);
	b->len += 4;
}

static void
put_be64(sbuf *b, uint64_t v)
{
	v = htobe64(v);
	memcpy(b->s + b->len, &v, 8);
	b->len += 8;
}

/* The samples with a known series as binary COPY data; how many. */
static int64_t
binary_rows(samples *s, const recs *r)
{
	static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
	sbuf	   *b = &s->bin;
	int64_t		rows = 0;

	b->len = 0;
	sb_reserve(b, sizeof(header) + r->n * 38 + 2);
	memcpy(b->s, header, sizeof(header));
	b->len = sizeof(header);
	for (size_t i = 0; i < r->n; i++)
	{
		int64_t		id = s->db_id[r->v[i].series];
		uint64_t	bits;

		if (id <= 0)
			continue;
		memcpy(&bits, &r->v[i].value, 8);
		b->s[b->len++] = 0;
		b->s[b->len++] = 3;
		put_be32(b, 8);
		put_be64(b, (uint64_t) id);
		put_be32(b, 8);
		put_be64(b, (uint64_t) (r->v[i].time_us - PG_EPOCH_US));
		put_be32(b, 8);
		put_be64(b, bits);
		rows++;
	}
	b->s[b->len++] = (char) 0xff;
	b->s[b->len++] = (char) 0xff;
	return rows;
}

/* Some (series, time) were stored before: insert the rest through a temporary table. */
static int64_t
store_skipping_duplicates(samples *s)
{
	char		state[6];
	PGresult   *res;
	int64_t		n = -1;

	if (!w_exec(s, "BEGIN"))
		return -1;
	if (!w_exec(s, "CREATE TEMP TABLE IF NOT EXISTS cs_sample "
				"(series_id bigint, time timestamptz, value float8) ON COMMIT DELETE ROWS") ||
		!w_copy(s, "COPY cs_sample FROM STDIN (FORMAT binary)", s->bin.s, s->bin.len, state, NULL))
		goto fail;
	res = PQexec(s->conn, "INSERT INTO coder_scale.metric_sample (series_id, time, value) "
				 "SELECT series_id, time, value FROM cs_sample ON CONFLICT DO NOTHING");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		db_failed(s, "metric_sample", res);
		PQclear(res);
		goto fail;
	}
	n = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if (w_exec(s, "COMMIT"))
		return n;
	return -1;
fail:
	PQclear(PQexec(s->conn, "ROLLBACK"));
	return -1;
}

static void
write_batch(samples *s, batch *b)
{
	double		t0 = mono_now();
	int64_t		rows,
				stored = 0;
	char		state[6];

	if (b->nseries > 0)
	{
		if (s->known + b->nseries > s->db_cap)
		{
			size_t		cap = s->db_cap ? s->db_cap : 4096;

			while (cap < s->known + b->nseries)
				cap *= 2;
			s->db_id = xrealloc(s->db_id, cap * sizeof(int64_t));
			s->db_cap = cap;
		}
		memset(s->db_id + s->known, 0, b->nseries * sizeof(int64_t));
		s->known += b->nseries;
		sb_put(&s->unregistered, b->series_rows.s, b->series_rows.len);
	}
	register_series(s);
	s->st.register_seconds += mono_now() - t0;
	if (t0 - b->queued_at > s->st.lag_max)
		s->st.lag_max = t0 - b->queued_at;
	if (b->samples.n > 0)
	{
		rows = binary_rows(s, &b->samples);
		s->st.lost += (int64_t) b->samples.n - rows;	/* their series has no id */
		if (rows > 0 &&
			w_copy(s, "COPY coder_scale.metric_sample (series_id, time, value) FROM STDIN (FORMAT binary)",
				   s->bin.s, s->bin.len, state, NULL))
			s->st.stored += rows;
		else if (rows > 0 && strcmp(state, "23505") == 0 && (stored = store_skipping_duplicates(s)) >= 0)
		{
			s->st.stored += stored;
			s->st.already_stored += rows - stored;
		}
		else
			s->st.lost += rows;
	}
	s->st.batches++;
	s->st.write_seconds += mono_now() - t0;
}

static void *
writer_main(void *arg)
{
	samples    *s = arg;

	for (;;)
	{
		batch	   *b;

		pthread_mutex_lock(&s->mu);
		while (s->head == NULL && !s->finishing)
			pthread_cond_wait(&s->cond, &s->mu);
		b = s->head;
		if (b == NULL)
		{
			pthread_mutex_unlock(&s->mu);
			break;
		}
		s->head = b->next;
		if (s->head == NULL)
			s->tail = NULL;
		pthread_mutex_unlock(&s->mu);
		write_batch(s, b);
		pthread_mutex_lock(&s->mu);
		s->queued_samples -= (int64_t) b->samples.n;
		pthread_mutex_unlock(&s->mu);
		batch_free(b);
	}
	return NULL;
}
