/*
 * counter_agg.c: the aggregate counter_agg(time, value), which builds a
 * coder_scale.counter_summary (counter.h has its rules and stored form).
 *
 * The state keeps every sample (16 bytes each) in the aggregate memory
 * context; the final function sorts a copy by time, so the answer does not
 * depend on input order and the aggregate is parallel safe.  The serialized
 * state (bytea) is the version byte, the sample count (int64), then each
 * sample as int64 time and float8 value, in network byte order.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "aggutil.h"
#include "counter.h"

/* serialized state: version byte and sample count, then (time, value) pairs */
#define COUNTER_STATE_HEADER_LEN	((int) (sizeof(uint8) + sizeof(int64)))
#define COUNTER_STATE_SAMPLE_LEN	((int) (sizeof(int64) + sizeof(float8)))

typedef struct CounterSample
{
	TimestampTz ts;				/* finite */
	double		v;				/* finite, >= 0, never -0 */
} CounterSample;

/* The aggregate state: the samples so far, in input order. */
typedef struct CounterState
{
	MemoryContext cxt;			/* where s lives (the aggregate's context) */
	int64		n;				/* samples in s */
	int64		cap;			/* room in s */
	CounterSample *s;
} CounterState;

PG_FUNCTION_INFO_V1(counter_agg_trans);
PG_FUNCTION_INFO_V1(counter_agg_combine);
PG_FUNCTION_INFO_V1(counter_agg_serialize);
PG_FUNCTION_INFO_V1(counter_agg_deserialize);
PG_FUNCTION_INFO_V1(counter_agg_final);

/* An empty state in cxt. */
static CounterState *
state_create(MemoryContext cxt)
{
	CounterState *st = MemoryContextAllocZero(cxt, sizeof(CounterState));

	st->cxt = cxt;
	return st;
}

/* Room for extra more samples (doubling, so adding is amortized O(1)). */
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

/* Refuse a sample no counter can have: an infinite time, or a value infinite or < 0. */
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

/* Raise 22P03 for a serialized state that counter_agg_serialize cannot have written. */
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

/* qsort order of samples: by time, then by value. */
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
