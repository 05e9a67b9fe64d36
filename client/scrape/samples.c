/*
 * samples.c: series interning, the rows of series and samples, and the
 * two row kinds the copy writer stores them with (see samples.h).
 *
 * Rows: a series is a COPY text row "LOCAL\tCOMPONENT\tTARGET\tNAME\tLABELS"
 * (LABELS a jsonb object); a sample is a binary COPY tuple (series bigint,
 * time timestamptz, value float8) whose series is the LOCAL id until the
 * writer's rewrite hook puts the stored id in (series_ids, filled by the
 * series kind's read-back query).
 */
#include <endian.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/timeutil.h"
#include "samples.h"

#define PG_EPOCH_US		946684800000000LL	/* 2000-01-01 in Unix microseconds */
#define TIME_MIN_US		(-2208988800000000LL)	/* 1900-01-01 */
#define TIME_MAX_US		253402300799999999LL	/* 9999-12-31 23:59:59.999999 */
#define SAMPLE_ROW		38		/* bytes of a sample's tuple: 2 + 3 x (4 + 8) */
#define SAMPLE_SERIES_AT 6		/* where its series id starts */
#define MEMORY_DEFAULT	((size_t) 256 * 1024 * 1024)
#define FLUSH_S			1.0

enum
{
	K_SERIES,
	K_SAMPLE
};

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
} sink_target;

/* Local series id -> metric_series id; the writer's thread alone uses it. */
typedef struct series_ids
{
	int64_t    *id;				/* 0: not stored (yet) */
	size_t		cap;
	int64_t		unknown;		/* samples dropped: their series had no id */
} series_ids;

struct samples
{
	copy_writer *writer;
	series_ids *ids;
	sink_target *targets;
	int			ntargets;
	/* interning */
	series	   *series;
	size_t		nseries;
	size_t		series_cap;
	int32_t    *table;
	size_t		table_cap;
	buf			keys;
	buf			key;
	uint32_t	next_mark;
	/* rows being formatted, and the batch handed over next */
	buf			row;
	buf			bin;
	double		batch_since;	/* first row since the last hand-over (monotonic s); +Inf: none */
	samples_stats st;
};

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (p == NULL)
		cli_out_of_memory("the series");
	return p;
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

/* ---------------------------------------------------------------------------
 * The row kinds (the writer's thread, or load-spill)
 * ------------------------------------------------------------------------- */

/* The series kind's read-back: (local, stored id) pairs into the map. */
static void
series_ids_read(const PGresult *res, void *arg)
{
	series_ids *ids = arg;

	for (int r = 0; r < PQntuples(res); r++)
	{
		long long	local = strtoll(PQgetvalue(res, r, 0), NULL, 10);

		if (local < 0 || local >= INT32_MAX)
			continue;
		if ((size_t) local >= ids->cap)
		{
			size_t		cap = ids->cap ? ids->cap : 4096;

			while (cap <= (size_t) local)
				cap *= 2;
			ids->id = xrealloc(ids->id, cap * sizeof(int64_t));
			memset(ids->id + ids->cap, 0, (cap - ids->cap) * sizeof(int64_t));
			ids->cap = cap;
		}
		ids->id[local] = strtoll(PQgetvalue(res, r, 1), NULL, 10);
	}
}

/* The sample kind's rewrite: local series ids replaced by stored ones. */
static void
samples_rewrite(const buf *rows, buf *out, void *arg)
{
	series_ids *ids = arg;

	buf_reserve(out, rows->len);
	for (size_t off = 0; off + SAMPLE_ROW <= rows->len; off += SAMPLE_ROW)
	{
		uint64_t	local;
		int64_t		id;
		uint64_t	be;

		memcpy(&local, rows->data + off + SAMPLE_SERIES_AT, 8);
		local = be64toh(local);
		id = local < ids->cap ? ids->id[local] : 0;
		if (id <= 0)
		{
			ids->unknown++;
			continue;
		}
		be = htobe64((uint64_t) id);
		memcpy(out->data + out->len, rows->data + off, SAMPLE_ROW);
		memcpy(out->data + out->len + SAMPLE_SERIES_AT, &be, 8);
		out->len += SAMPLE_ROW;
	}
}

/*
 * New series go in plainly first (a fresh run: no conflict check beyond
 * the unique index); if some are there already (another process of the
 * run, a batch written twice), again with ON CONFLICT DO NOTHING.  Either
 * way every series of the batch is read back with its id.  Samples are
 * COPYed straight into metric_sample; a (series, time) there already makes
 * them go through a temporary table with ON CONFLICT DO NOTHING.
 */
const cw_kind samples_kinds[2] = {
	[K_SERIES] = {
		.name = "series",
		.what = "series",
		.keep = true,
		.prepare_sql = "CREATE TEMP TABLE IF NOT EXISTS cs_new_series "
		"(local bigint, component text, target text, name text, labels jsonb) ON COMMIT DELETE ROWS",
		.copy_sql = "COPY cs_new_series (local, component, target, name, labels) FROM STDIN",
		.apply_sql = "INSERT INTO coder_scale.metric_series (run_id, component, target, name, labels) "
		"SELECT $1, component, target, name, labels FROM cs_new_series ORDER BY local",
		.dup_apply_sql = "INSERT INTO coder_scale.metric_series (run_id, component, target, name, labels) "
		"SELECT $1, component, target, name, labels FROM cs_new_series ORDER BY local ON CONFLICT DO NOTHING",
		.read_sql = "SELECT n.local, m.id FROM cs_new_series n JOIN coder_scale.metric_series m "
		"ON m.run_id = $1 AND m.component = n.component AND m.target = n.target "
		"AND m.name = n.name AND m.labels = n.labels",
		.on_rows = series_ids_read
	},
	[K_SAMPLE] = {
		.name = "sample",
		.what = "samples",
		.binary = true,
		.prepare_sql = "CREATE TEMP TABLE IF NOT EXISTS cs_sample "
		"(series_id bigint, time timestamptz, value float8) ON COMMIT DELETE ROWS",
		.copy_sql = "COPY coder_scale.metric_sample (series_id, time, value) FROM STDIN (FORMAT binary)",
		.dup_copy_sql = "COPY cs_sample (series_id, time, value) FROM STDIN (FORMAT binary)",
		.dup_apply_sql = "INSERT INTO coder_scale.metric_sample (series_id, time, value) "
		"SELECT series_id, time, value FROM cs_sample ON CONFLICT DO NOTHING",
		.rewrite = samples_rewrite
	}
};

void *
samples_ids_new(void)
{
	series_ids *ids = calloc(1, sizeof(series_ids));

	if (ids == NULL)
		cli_out_of_memory("the series ids");
	return ids;
}

void
samples_ids_free(void *arg)
{
	series_ids *ids = arg;

	if (ids)
		free(ids->id);
	free(ids);
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
	s->table = xrealloc(NULL, cap * sizeof(int32_t));
	memset(s->table, 0xff, cap * sizeof(int32_t));
	s->table_cap = cap;
	for (size_t id = 0; id < s->nseries; id++)
		table_insert(s, (uint32_t) id);
}

/* Rows handed to the writer: the batch's clock starts with its first row. */
static void
handed_over(samples *s, const buf *rows, int kind, long nrows)
{
	cw_rows(s->writer, kind, rows, nrows);
	if (isinf(s->batch_since))
		s->batch_since = monotonic_seconds();
}

/* The row of a new series: local id, component, target, name, labels as JSON. */
static void
series_row(samples *s, int t, uint32_t id, const char *name, size_t name_len,
		   const prom_label *labels, int nlabels)
{
	buf		   *b = &s->row;

	buf_reset(b);
	buf_printf(b, "%u\t%s\t%s\t", id, s->targets[t].component, s->targets[t].url);
	buf_put(b, name, name_len);
	buf_put(b, "\t{", 2);
	for (int k = 0; k < nlabels; k++)
	{
		if (k > 0)
			buf_putc(b, ',');
		buf_copy_json_string(b, labels[k].name, labels[k].name_len);
		buf_putc(b, ':');
		buf_copy_json_string(b, labels[k].value, labels[k].value_len);
	}
	buf_put(b, "}\n", 2);
	handed_over(s, b, K_SERIES, 1);
}

/* The local id of (target, name, labels), made on first sight. */
static uint32_t
intern(samples *s, int t, const char *name, size_t name_len, const prom_label *labels, int nlabels)
{
	buf		   *k = &s->key;
	uint32_t	t32 = (uint32_t) t;
	uint64_t	h;
	size_t		mask,
				i;
	series	   *se;

	buf_reset(k);
	buf_put(k, &t32, sizeof(t32));
	buf_put(k, name, name_len);
	buf_putc(k, '\0');
	for (int j = 0; j < nlabels; j++)
	{
		buf_put(k, labels[j].name, labels[j].name_len);
		buf_putc(k, '\0');
		buf_put(k, labels[j].value, labels[j].value_len);
		buf_putc(k, '\0');
	}
	h = hash_bytes(k->data, k->len);
	if (s->table_cap == 0)
		table_grow(s);
	mask = s->table_cap - 1;
	for (i = h & mask; s->table[i] >= 0; i = (i + 1) & mask)
	{
		se = &s->series[s->table[i]];
		if (se->hash == h && se->key_len == k->len && memcmp(s->keys.data + se->key_off, k->data, k->len) == 0)
			return (uint32_t) s->table[i];
	}
	if (s->nseries >= INT32_MAX - 1)
		cli_out_of_memory("2^31 series");
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
	buf_put(&s->keys, k->data, k->len);
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

samples *
samples_new(const char *conninfo, const char *command, int64_t run_id, pg_error *err)
{
	samples    *s = calloc(1, sizeof(samples));
	cw_opts		o = {
		.conninfo = conninfo, .command = command, .what = "storing samples", .run_id = run_id,
		.kinds = samples_kinds, .nkinds = 2, .batch_rows = SAMPLES_BATCH,
		.memory_limit = cw_memory_limit(MEMORY_DEFAULT)
	};

	if (s == NULL)
		cli_out_of_memory("the samples writer");
	s->ids = samples_ids_new();
	o.arg = s->ids;
	s->writer = cw_start(&o, err);
	if (s->writer == NULL)
	{
		samples_ids_free(s->ids);
		free(s);
		return NULL;
	}
	s->next_mark = 1;
	s->batch_since = INFINITY;
	return s;
}

/* TEXT escaped for a COPY text field, as a string of its own. */
static char *
escaped(const char *text)
{
	buf			b = {0};

	buf_copy_escaped(&b, text, strlen(text));
	return b.data;
}

int
samples_add_target(samples *s, const char *component, const char *url)
{
	sink_target *t;

	s->targets = xrealloc(s->targets, (s->ntargets + 1) * sizeof(sink_target));
	t = &s->targets[s->ntargets];
	memset(t, 0, sizeof(*t));
	t->component = escaped(component);
	t->url = escaped(url);
	return s->ntargets++;
}

void
samples_begin(samples *s, int target)
{
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

/* A sample's binary tuple, its series still the local id. */
static void
sample_row(buf *b, const rec *r)
{
	buf_bin_row(b, 3);
	buf_bin_int8(b, r->series);
	buf_bin_int8(b, r->time_us - PG_EPOCH_US);
	buf_bin_float8(b, r->value);
}

void
samples_end(samples *s, int target, bool keep)
{
	sink_target *t = &s->targets[target];

	if (keep && t->pending.n > 0)
	{
		buf_reset(&s->bin);
		buf_reserve(&s->bin, t->pending.n * SAMPLE_ROW);
		for (size_t i = 0; i < t->pending.n; i++)
		{
			const rec  *r = &t->pending.v[i];
			series	   *se = &s->series[r->series];

			if (r->time_us > se->last_time)
				se->last_time = r->time_us;
			sample_row(&s->bin, r);
		}
		handed_over(s, &s->bin, K_SAMPLE, (long) t->pending.n);
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
	buf_reset(&s->bin);
	sample_row(&s->bin, &(rec) {time_us, value, id});
	handed_over(s, &s->bin, K_SAMPLE, 1);
	s->st.queued++;
}

double
samples_next_deadline(const samples *s)
{
	return s->batch_since + FLUSH_S;
}

void
samples_poll(samples *s, double now)
{
	if (now >= s->batch_since + FLUSH_S)
	{
		cw_flush(s->writer);
		s->batch_since = INFINITY;
	}
}

bool
samples_finish(samples *s, int wait_s, samples_stats *stats)
{
	cw_stats	st;
	bool		all;

	cw_finish(s->writer, wait_s, &st);
	s->st.outcome = st.outcome;
	s->st.stored = st.kind[K_SAMPLE].stored;
	s->st.already_stored = st.kind[K_SAMPLE].rows - st.kind[K_SAMPLE].stored - s->ids->unknown;
	s->st.not_stored = s->st.queued - s->st.stored - s->st.already_stored;
	s->st.batches = st.batches;
	s->st.write_seconds = st.seconds;
	s->st.register_seconds = st.kind[K_SERIES].seconds;
	all = st.outcome == CW_WRITTEN && s->st.not_stored == 0;
	if (stats)
		*stats = s->st;
	for (int t = 0; t < s->ntargets; t++)
	{
		free(s->targets[t].component);
		free(s->targets[t].url);
		free(s->targets[t].pending.v);
	}
	free(s->targets);
	free(s->series);
	free(s->table);
	buf_free(&s->keys);
	buf_free(&s->key);
	buf_free(&s->row);
	buf_free(&s->bin);
	samples_ids_free(s->ids);
	free(s);
	return all;
}
