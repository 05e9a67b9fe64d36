/*
 * counter_agg.c: increase and rate of a Prometheus counter over a group of
 * (time, value) samples, as PromQL's increase()/rate() without extrapolation.
 *
 * The aggregate keeps every sample (16 bytes each) and sorts them by time in
 * the final function, so the answer does not depend on input order and the
 * aggregate is parallel safe.  Rules, applied after sorting:
 *   - NULL time or value and NaN values (Prometheus staleness markers) are
 *     skipped; infinite or negative values and infinite times are errors;
 *     -0 is read as 0;
 *   - of samples with the same time, the largest value is kept;
 *   - any decrease is a reset: the counter restarted from 0, so the new
 *     value itself is the increase since the previous sample;
 *   - an increase (or rate) beyond the float8 range is an error (22003).
 *
 * The result, coder_scale.counter_summary, stores the first and last sample,
 * the number of samples and resets, and the increase.  Stored form (varlena,
 * native byte order; send/recv use network order):
 *   u8 version, 7 bytes zero, int64 samples, int64 resets,
 *   int64 first_time, int64 last_time (TimestampTz), f64 first_value,
 *   f64 last_value, f64 increase
 */
#include "postgres.h"

#include <math.h>

#include "common/int.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "aggutil.h"
#include "textread.h"

#define COUNTER_VERSION 1

/* serialized aggregate state: version byte and sample count, then (time, value) pairs */
#define COUNTER_STATE_HEADER_LEN	(1 + 8)
#define COUNTER_STATE_SAMPLE_LEN	(8 + 8)

/* send/recv form: version byte, 4 int64 and 3 float8 fields */
#define COUNTER_WIRE_LEN			(1 + 4 * 8 + 3 * 8)

typedef struct CounterSample
{
	TimestampTz ts;
	double		v;
} CounterSample;

typedef struct CounterState
{
	MemoryContext cxt;
	int64		n;
	int64		cap;
	CounterSample *s;
} CounterState;

typedef struct CounterSummary
{
	int32		vl_len_;
	uint8		version;
	uint8		pad[7];
	int64		samples;
	int64		resets;
	TimestampTz first_time;
	TimestampTz last_time;
	double		first_value;
	double		last_value;
	double		increase;
} CounterSummary;

PG_FUNCTION_INFO_V1(counter_agg_trans);
PG_FUNCTION_INFO_V1(counter_agg_combine);
PG_FUNCTION_INFO_V1(counter_agg_serialize);
PG_FUNCTION_INFO_V1(counter_agg_deserialize);
PG_FUNCTION_INFO_V1(counter_agg_final);
PG_FUNCTION_INFO_V1(counter_summary_in);
PG_FUNCTION_INFO_V1(counter_summary_out);
PG_FUNCTION_INFO_V1(counter_summary_recv);
PG_FUNCTION_INFO_V1(counter_summary_send);
PG_FUNCTION_INFO_V1(counter_increase);
PG_FUNCTION_INFO_V1(counter_rate);
PG_FUNCTION_INFO_V1(counter_num_resets);
PG_FUNCTION_INFO_V1(counter_time_delta);

#define PG_GETARG_SUMMARY(n) ((CounterSummary *) PG_DETOAST_DATUM(PG_GETARG_DATUM(n)))

/* Microseconds between the Unix and the PostgreSQL epoch. */
#define UNIX_EPOCH_US ((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

static CounterState *
state_create(MemoryContext cxt)
{
	CounterState *st = MemoryContextAllocZero(cxt, sizeof(CounterState));

	st->cxt = cxt;
	return st;
}

static void
state_reserve(CounterState *st, int64 extra)
{
	int64		want = st->n + extra;
	int64		cap = Max(st->cap, 64);

	if (want <= st->cap)
		return;
	while (cap < want)
		cap *= 2;
	if (st->s == NULL)
		st->s = MemoryContextAllocHuge(st->cxt, sizeof(CounterSample) * cap);
	else
		st->s = repalloc_huge(st->s, sizeof(CounterSample) * cap);
	st->cap = cap;
}

static void
check_sample(TimestampTz ts, double v)
{
	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("counter_agg sample times must be finite"),
				 errhint("Filter out rows whose time is infinity or -infinity.")));
	if (isinf(v) || v < 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("counter_agg values must be finite and not negative, got %g", v),
				 errhint("counter_agg reads Prometheus counters, which start at 0 and only grow "
						 "until they reset.")));
}

/* counter_agg transition: add one (time, value) sample */
Datum
counter_agg_trans(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = agg_context(fcinfo, "counter_agg");
	CounterState *st = PG_ARGISNULL(0) ? NULL : (CounterState *) PG_GETARG_POINTER(0);

	if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2) && !isnan(PG_GETARG_FLOAT8(2)))
	{
		TimestampTz ts = PG_GETARG_TIMESTAMPTZ(1);
		double		v = PG_GETARG_FLOAT8(2);

		check_sample(ts, v);
		if (v == 0.0)
			v = 0.0;			/* -0 as 0: "-0" has no text form */
		if (st == NULL)
			st = state_create(cxt);
		state_reserve(st, 1);
		st->s[st->n].ts = ts;
		st->s[st->n].v = v;
		st->n++;
	}
	if (st == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(st);
}

/* combine two partial states (either may be NULL) */
Datum
counter_agg_combine(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = agg_context(fcinfo, "counter_agg_combine");
	CounterState *a = PG_ARGISNULL(0) ? NULL : (CounterState *) PG_GETARG_POINTER(0);
	CounterState *b = PG_ARGISNULL(1) ? NULL : (CounterState *) PG_GETARG_POINTER(1);

	if (b == NULL || b->n == 0)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
		a = state_create(cxt);
	state_reserve(a, b->n);
	memcpy(a->s + a->n, b->s, sizeof(CounterSample) * b->n);
	a->n += b->n;
	PG_RETURN_POINTER(a);
}

/* state -> bytea: version byte, sample count, then (time, value) pairs */
Datum
counter_agg_serialize(PG_FUNCTION_ARGS)
{
	CounterState *st = (CounterState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	int64		i;

	agg_context(fcinfo, "counter_agg_serialize");
	pq_begintypsend(&buf);
	pq_sendbyte(&buf, COUNTER_VERSION);
	pq_sendint64(&buf, st->n);
	for (i = 0; i < st->n; i++)
	{
		pq_sendint64(&buf, st->s[i].ts);
		pq_sendfloat8(&buf, st->s[i].v);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

static void
bad_state(const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid counter_agg state: %s", why)));
}

/* bytea -> state, every field checked */
Datum
counter_agg_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	CounterState *st;
	int64		n;
	int64		i;

	agg_context(fcinfo, "counter_agg_deserialize");
	buf.data = VARDATA_ANY(b);
	buf.len = VARSIZE_ANY_EXHDR(b);
	buf.maxlen = buf.len;
	buf.cursor = 0;
	if (buf.len < COUNTER_STATE_HEADER_LEN || pq_getmsgbyte(&buf) != COUNTER_VERSION)
		bad_state("unknown version");
	n = pq_getmsgint64(&buf);
	if (n < 0 || n > (buf.len - COUNTER_STATE_HEADER_LEN) / COUNTER_STATE_SAMPLE_LEN ||
		(buf.len - COUNTER_STATE_HEADER_LEN) != n * COUNTER_STATE_SAMPLE_LEN)
		bad_state("the length does not match the sample count");
	st = state_create(CurrentMemoryContext);
	state_reserve(st, n);
	for (i = 0; i < n; i++)
	{
		st->s[i].ts = pq_getmsgint64(&buf);
		st->s[i].v = pq_getmsgfloat8(&buf);
		if (TIMESTAMP_NOT_FINITE(st->s[i].ts) || !IS_VALID_TIMESTAMP(st->s[i].ts) ||
			!isfinite(st->s[i].v) || signbit(st->s[i].v))
			bad_state("a sample is out of range");
	}
	st->n = n;
	PG_RETURN_POINTER(st);
}

static int
sample_cmp(const void *a, const void *b)
{
	const CounterSample *x = a;
	const CounterSample *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return 0;
}

/* a + b for the increase; beyond float8 an error, not infinity */
static double
increase_add(double a, double b)
{
	double		r = a + b;

	if (isinf(r))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("counter increase out of range"),
				 errdetail("The increase over the group is beyond the float8 range."),
				 errhint("Check the samples: Prometheus counters near 1.8e308 cannot be summed.")));
	return r;
}

/*
 * Summarize samples sorted by (time, value), one per time: the largest value.
 * The increase is the sum of the segments between resets, each >= 0 (the
 * first from first_value, the others from 0): no cancellation, no rounding
 * below last_value.
 */
static CounterSummary *
summarize(CounterSample *s, int64 n)
{
	CounterSummary *cs = palloc0(sizeof(CounterSummary));
	double		increase = 0;
	double		start = 0;		/* value the current segment started from */
	double		prev = 0;
	int64		i;

	SET_VARSIZE(cs, sizeof(CounterSummary));
	cs->version = COUNTER_VERSION;
	for (i = 0; i < n; i++)
	{
		if (i + 1 < n && s[i + 1].ts == s[i].ts)
			continue;			/* a larger value at the same time follows */
		if (cs->samples == 0)
		{
			cs->first_time = s[i].ts;
			cs->first_value = start = s[i].v;
		}
		else if (s[i].v < prev)
		{
			cs->resets++;
			increase = increase_add(increase, prev - start);
			start = 0;
		}
		prev = s[i].v;
		cs->last_time = s[i].ts;
		cs->samples++;
	}
	cs->last_value = prev;
	cs->increase = increase_add(increase, prev - start);
	return cs;
}

/* state -> counter_summary; NULL when the group had no samples */
Datum
counter_agg_final(PG_FUNCTION_ARGS)
{
	CounterState *st = PG_ARGISNULL(0) ? NULL : (CounterState *) PG_GETARG_POINTER(0);
	CounterSample *copy;

	agg_context(fcinfo, "counter_agg_final");
	if (st == NULL || st->n == 0)
		PG_RETURN_NULL();
	/* sort a copy: the state may be finalized again (window aggregates) */
	copy = palloc_extended(sizeof(CounterSample) * st->n, MCXT_ALLOC_HUGE);
	memcpy(copy, st->s, sizeof(CounterSample) * st->n);
	qsort(copy, st->n, sizeof(CounterSample), sample_cmp);
	PG_RETURN_POINTER(summarize(copy, st->n));
}

/* ---- the counter_summary type ---- */

/* Check that the fields agree; code is the SQLSTATE for the input path. */
static void
summary_validate(const CounterSummary *cs, int code)
{
	const char *why = NULL;

	if (cs->samples < 1)
		why = "a summary holds at least one sample";
	else if (cs->resets < 0 || cs->resets > cs->samples - 1)
		why = "resets must be between 0 and samples - 1";
	else if (TIMESTAMP_NOT_FINITE(cs->first_time) || TIMESTAMP_NOT_FINITE(cs->last_time) ||
			 !IS_VALID_TIMESTAMP(cs->first_time) || !IS_VALID_TIMESTAMP(cs->last_time))
		why = "times must be finite timestamps";
	else if (cs->first_time > cs->last_time ||
			 (uint64) (cs->samples - 1) > (uint64) (cs->last_time - cs->first_time))
		why = "the time span cannot hold that many distinct sample times";
	else if (cs->samples == 1 && cs->first_time != cs->last_time)
		why = "a single sample has one time";
	else if (!isfinite(cs->first_value) || !isfinite(cs->last_value) || !isfinite(cs->increase) ||
			 cs->first_value < 0 || cs->last_value < 0 || cs->increase < 0)
		why = "values and increase must be finite and not negative";
	else if (signbit(cs->first_value) || signbit(cs->last_value) || signbit(cs->increase))
		why = "values and increase must not be -0";
	else if (cs->resets == 0 && cs->increase != cs->last_value - cs->first_value)
		why = "without resets the increase must be last value - first value";
	else if (cs->samples == 1 && cs->first_value != cs->last_value)
		why = "a single sample has one value";
	if (why)
		ereport(ERROR,
				(errcode(code),
				 errmsg("invalid coder_scale.counter_summary value: %s", why),
				 errhint("Build counter summaries with coder_scale.counter_agg().")));
}

/* digits, at most max */
static int64
read_uint(TextReader *t, int64 max)
{
	int64		v = 0;

	if (*t->p < '0' || *t->p > '9')
		text_syntax_error(t, "a number");
	while (*t->p >= '0' && *t->p <= '9')
	{
		int64		d = *t->p - '0';

		if (v > (max - d) / 10)
			text_syntax_error(t, psprintf("a number up to " INT64_FORMAT, max));
		v = v * 10 + d;
		t->p++;
	}
	return v;
}

/* Unix seconds with up to 6 decimals, as a TimestampTz (PostgreSQL epoch). */
static TimestampTz
read_time(TextReader *t)
{
	bool		neg = (*t->p == '-');
	int64		sec;
	int64		frac = 0;
	int64		scale = 100000;
	int64		us;

	if (neg)
		t->p++;
	sec = read_uint(t, INT64CONST(9999999999999));	/* past the timestamp range */
	if (*t->p == '.')
	{
		t->p++;
		if (*t->p < '0' || *t->p > '9')
			text_syntax_error(t, "decimals");
		while (*t->p >= '0' && *t->p <= '9')
		{
			if (scale == 0)
				text_syntax_error(t, "at most 6 decimals");
			frac += (*t->p++ - '0') * scale;
			scale /= 10;
		}
	}
	if (neg)
	{
		sec = -sec;
		frac = -frac;
	}
	/* (sec - epoch shift) * 1e6 + frac; unix microseconds would overflow int64 */
	if (pg_mul_s64_overflow(sec - UNIX_EPOCH_US / USECS_PER_SEC, USECS_PER_SEC, &us) ||
		pg_add_s64_overflow(us, frac, &us))
		text_syntax_error(t, "a time within the timestamp range");
	return us;
}

/* text -> counter_summary */
Datum
counter_summary_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	TextReader	t = {str, str, "coder_scale.counter_summary", "v=1 samples=2 resets=0 increase=5 first=1764424800:10 last=1764424860:15"};
	CounterSummary *cs = palloc0(sizeof(CounterSummary));

	SET_VARSIZE(cs, sizeof(CounterSummary));
	text_expect(&t, "v=");
	if (read_uint(&t, 999) != COUNTER_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("unsupported coder_scale.counter_summary version"),
				 errdetail("This build of coder_scale reads version %d.", COUNTER_VERSION)));
	cs->version = COUNTER_VERSION;
	text_expect(&t, " samples=");
	cs->samples = read_uint(&t, PG_INT64_MAX);
	text_expect(&t, " resets=");
	cs->resets = read_uint(&t, PG_INT64_MAX);
	text_expect(&t, " increase=");
	cs->increase = text_read_double(&t, false, ' ');
	text_expect(&t, " first=");
	cs->first_time = read_time(&t);
	text_expect(&t, ":");
	cs->first_value = text_read_double(&t, false, ' ');
	text_expect(&t, " last=");
	cs->last_time = read_time(&t);
	text_expect(&t, ":");
	cs->last_value = text_read_double(&t, false, '\0');
	summary_validate(cs, ERRCODE_INVALID_TEXT_REPRESENTATION);
	PG_RETURN_POINTER(cs);
}

/* 0.1.0 could store -0 (from a -0 sample or recv); it is written as 0 */
static double
no_negative_zero(double d)
{
	return d == 0.0 ? 0.0 : d;
}

static void
append_value(StringInfo buf, double d)
{
	text_append_double(buf, no_negative_zero(d));
}

static void
append_time(StringInfo buf, TimestampTz ts)
{
	int64		sec = ts / USECS_PER_SEC;
	int64		frac = ts % USECS_PER_SEC;

	/* floor division, then shift to the Unix epoch (a whole number of seconds) */
	if (frac < 0)
	{
		sec -= 1;
		frac += USECS_PER_SEC;
	}
	sec += UNIX_EPOCH_US / USECS_PER_SEC;
	if (frac == 0)
	{
		appendStringInfo(buf, INT64_FORMAT, sec);
		return;
	}
	if (sec < 0)				/* sec + frac/1e6 = -((-sec - 1) + (1e6 - frac)/1e6) */
		appendStringInfo(buf, "-" INT64_FORMAT ".%06d", -(sec + 1), (int) (USECS_PER_SEC - frac));
	else
		appendStringInfo(buf, INT64_FORMAT ".%06d", sec, (int) frac);
	while (buf->data[buf->len - 1] == '0')
		buf->data[--buf->len] = '\0';
}

/* counter_summary -> text */
Datum
counter_summary_out(PG_FUNCTION_ARGS)
{
	CounterSummary *cs = PG_GETARG_SUMMARY(0);
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "v=%d samples=" INT64_FORMAT " resets=" INT64_FORMAT " increase=",
					 COUNTER_VERSION, cs->samples, cs->resets);
	append_value(&buf, cs->increase);
	appendStringInfoString(&buf, " first=");
	append_time(&buf, cs->first_time);
	appendStringInfoChar(&buf, ':');
	append_value(&buf, cs->first_value);
	appendStringInfoString(&buf, " last=");
	append_time(&buf, cs->last_time);
	appendStringInfoChar(&buf, ':');
	append_value(&buf, cs->last_value);
	PG_RETURN_CSTRING(buf.data);
}

/* binary -> counter_summary, every field checked */
Datum
counter_summary_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	CounterSummary *cs = palloc0(sizeof(CounterSummary));

	SET_VARSIZE(cs, sizeof(CounterSummary));
	if (buf->len - buf->cursor != COUNTER_WIRE_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid coder_scale.counter_summary value: wrong length %d",
						buf->len - buf->cursor)));
	cs->version = pq_getmsgbyte(buf);
	if (cs->version != COUNTER_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported coder_scale.counter_summary version %d", cs->version)));
	cs->samples = pq_getmsgint64(buf);
	cs->resets = pq_getmsgint64(buf);
	cs->first_time = pq_getmsgint64(buf);
	cs->last_time = pq_getmsgint64(buf);
	cs->first_value = pq_getmsgfloat8(buf);
	cs->last_value = pq_getmsgfloat8(buf);
	cs->increase = pq_getmsgfloat8(buf);
	summary_validate(cs, ERRCODE_INVALID_BINARY_REPRESENTATION);
	PG_RETURN_POINTER(cs);
}

/* counter_summary -> binary */
Datum
counter_summary_send(PG_FUNCTION_ARGS)
{
	CounterSummary *cs = PG_GETARG_SUMMARY(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, cs->version);
	pq_sendint64(&buf, cs->samples);
	pq_sendint64(&buf, cs->resets);
	pq_sendint64(&buf, cs->first_time);
	pq_sendint64(&buf, cs->last_time);
	pq_sendfloat8(&buf, no_negative_zero(cs->first_value));
	pq_sendfloat8(&buf, no_negative_zero(cs->last_value));
	pq_sendfloat8(&buf, no_negative_zero(cs->increase));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* summary -> increase over the group, resets counted from 0 */
Datum
counter_increase(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8((PG_GETARG_SUMMARY(0))->increase);
}

/* Seconds from first to last sample (last >= first; the span may exceed int64). */
static double
span_seconds(const CounterSummary *cs)
{
	return (double) ((uint64) cs->last_time - (uint64) cs->first_time) / USECS_PER_SEC;
}

/* summary -> increase per second between first and last sample; NULL for one sample */
Datum
counter_rate(PG_FUNCTION_ARGS)
{
	CounterSummary *cs = PG_GETARG_SUMMARY(0);
	double		rate;

	if (cs->last_time == cs->first_time)
		PG_RETURN_NULL();
	rate = cs->increase / span_seconds(cs);
	if (isinf(rate))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("counter rate out of range"),
				 errdetail("An increase of %g over %g seconds is beyond the float8 range per second.",
						   cs->increase, span_seconds(cs)),
				 errhint("Use increase() and time_delta() for such a summary.")));
	PG_RETURN_FLOAT8(rate);
}

/* summary -> number of resets (decreases) */
Datum
counter_num_resets(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64((PG_GETARG_SUMMARY(0))->resets);
}

/* summary -> seconds between first and last sample */
Datum
counter_time_delta(PG_FUNCTION_ARGS)
{
	CounterSummary *cs = PG_GETARG_SUMMARY(0);

	PG_RETURN_FLOAT8(span_seconds(cs));
}
