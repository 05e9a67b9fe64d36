/*
 * sketch.c: the quantile sketch itself (bucket mapping, insertion, merging,
 * quantiles) and its stored byte form.  See sketch.h for the layout.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "common/int.h"
#include "fmgr.h"
#include "utils/memutils.h"

#include "sketch.h"

int
sketch_errcode(SketchSource src)
{
	switch (src)
	{
		case SKETCH_FROM_TEXT:
			return ERRCODE_INVALID_TEXT_REPRESENTATION;
		case SKETCH_FROM_BINARY:
			return ERRCODE_INVALID_BINARY_REPRESENTATION;
		default:
			return ERRCODE_DATA_CORRUPTED;
	}
}

static void
sketch_bad(SketchSource src, const char *why)
{
	ereport(ERROR,
			(errcode(sketch_errcode(src)),
			 errmsg("invalid coder_scale.sketch value: %s", why),
			 errhint("Build sketches with coder_scale.sketch_agg() or read them back from "
					 "the text or binary output of a valid sketch.")));
}

/* Rejects an accuracy outside [SKETCH_MIN_ALPHA, SKETCH_MAX_ALPHA]. */
void
sketch_check_alpha(double alpha)
{
	if (isnan(alpha) || alpha < SKETCH_MIN_ALPHA || alpha > SKETCH_MAX_ALPHA)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sketch relative accuracy alpha must be between %g and %g",
						SKETCH_MIN_ALPHA, SKETCH_MAX_ALPHA),
				 errhint("Use %g (%g%% relative error) unless you need another accuracy.",
						 SKETCH_DEFAULT_ALPHA, SKETCH_DEFAULT_ALPHA * 100)));
}

Sketch *
sketch_create(MemoryContext cxt, double alpha)
{
	Sketch	   *sk = MemoryContextAllocZero(cxt, sizeof(Sketch));

	sk->cxt = cxt;
	sk->alpha = alpha;
	/* log(gamma) with gamma = (1 + alpha) / (1 - alpha), accurate for small alpha */
	sk->log_gamma = log1p(2.0 * alpha / (1.0 - alpha));
	sk->inv_log_gamma = 1.0 / sk->log_gamma;
	return sk;
}

/* The value a bucket reports: 2 gamma^k / (gamma + 1), as a magnitude. */
double
sketch_bucket_value(const Sketch *sk, int32 k)
{
	return exp((double) k * sk->log_gamma) * (2.0 / (1.0 + exp(sk->log_gamma)));
}

/* Make st->counts cover buckets [lo, hi]; counts outside stay zero. */
static void
store_reserve(Sketch *sk, SketchStore *st, int32 lo, int32 hi)
{
	int64		span = (int64) hi - lo + 1;
	int32		cap;
	int32		base;
	int64	   *counts;

	if (st->counts != NULL && lo >= st->base && (int64) hi < (int64) st->base + st->cap)
		return;
	/* sized by the span only: a window sliding up (folding) must not grow it */
	cap = 32;
	while (cap < span + span / 2)
		cap *= 2;
	base = lo - (int32) ((cap - span) / 2);
	counts = MemoryContextAllocZero(sk->cxt, sizeof(int64) * cap);
	if (st->counts != NULL)
	{
		/* copy the overlap of the old and new ranges; the old array is zero elsewhere */
		int64		from = Max(st->base, base);
		int64		to = Min((int64) st->base + st->cap, (int64) base + cap);

		if (from < to)
			memcpy(counts + (from - base), st->counts + (from - st->base),
				   sizeof(int64) * (to - from));
		pfree(st->counts);
	}
	st->counts = counts;
	st->base = base;
	st->cap = cap;
}

/* Fold every bucket below floor into bucket floor. */
static void
store_collapse(Sketch *sk, SketchStore *st, int32 floor)
{
	int64		folded = 0;
	int32		k;

	for (k = st->lo; k < floor && k <= st->hi; k++)
	{
		folded += st->counts[k - st->base];
		st->counts[k - st->base] = 0;
	}
	if (st->hi < floor)
		st->hi = floor;
	st->lo = floor;
	store_reserve(sk, st, st->lo, st->hi);
	st->counts[floor - st->base] += folded;
}

/* Add n values to bucket k, keeping at most SKETCH_MAX_BUCKETS buckets. */
static void
store_add(Sketch *sk, SketchStore *st, int32 k, int64 n)
{
	if (st->total == 0)
	{
		store_reserve(sk, st, k, k);
		st->lo = st->hi = k;
	}
	else if (k < st->lo || k > st->hi)
	{
		int32		hi = Max(st->hi, k);
		int32		floor = hi - SKETCH_MAX_BUCKETS + 1;

		if (st->lo < floor)
			store_collapse(sk, st, floor);
		if (k < floor)
			k = floor;
		st->lo = Min(st->lo, k);
		st->hi = hi;
		store_reserve(sk, st, st->lo, st->hi);
	}
	st->counts[k - st->base] += n;
	st->total += n;
}

static void
sketch_count_overflow(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("sketch value count out of range"),
			 errdetail("A sketch holds at most 9223372036854775807 values.")));
}

static double
sketch_sum_add(double sum, double v)
{
	double		r = sum + v;

	if (isinf(r))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value out of range: overflow"),
				 errdetail("The sum of the values in a sketch must stay a finite float8.")));
	return r;
}

/* Add a finite value n times (n >= 1). */
void
sketch_add_count(Sketch *sk, double value, int64 n)
{
	int64		count;

	if (pg_add_s64_overflow(sk->count, n, &count))
		sketch_count_overflow();
	if (value > 0)
		store_add(sk, &sk->pos, sketch_index(sk, value), n);
	else if (value < 0)
		store_add(sk, &sk->neg, sketch_index(sk, -value), n);
	else
		sk->zero_count += n;
	if (sk->count == 0 || value < sk->min)
		sk->min = value;
	if (sk->count == 0 || value > sk->max)
		sk->max = value;
	sk->sum = sketch_sum_add(sk->sum, value * (double) n);
	sk->count = count;
}

/* Add one finite value; the hot path of sketch_agg. */
void
sketch_add(Sketch *sk, double value)
{
	if (value > 0 && sk->pos.total > 0)
	{
		int32		k = sketch_index(sk, value);

		if (k >= sk->pos.lo && k <= sk->pos.hi)
		{
			sk->pos.counts[k - sk->pos.base]++;
			sk->pos.total++;
			sk->count++;
			if (value < sk->min)
				sk->min = value;
			if (value > sk->max)
				sk->max = value;
			sk->sum = sketch_sum_add(sk->sum, value);
			return;
		}
	}
	sketch_add_count(sk, value, 1);
}

static void
store_merge(Sketch *into, SketchStore *dst, const SketchStore *src)
{
	int32		k;

	if (src->total == 0)
		return;
	for (k = src->hi; k >= src->lo; k--)
	{
		int64		c = src->counts[k - src->base];

		if (c > 0)
			store_add(into, dst, k, c);
	}
}

/* Merge from into into; both must have the same alpha (the caller checks). */
void
sketch_merge(Sketch *into, const Sketch *from)
{
	int64		count;

	if (from->count == 0)
		return;
	if (pg_add_s64_overflow(into->count, from->count, &count))
		sketch_count_overflow();
	store_merge(into, &into->pos, &from->pos);
	store_merge(into, &into->neg, &from->neg);
	into->zero_count += from->zero_count;
	if (into->count == 0 || from->min < into->min)
		into->min = from->min;
	if (into->count == 0 || from->max > into->max)
		into->max = from->max;
	into->sum = sketch_sum_add(into->sum, from->sum);
	into->count = count;
}

static double
clamp(const Sketch *sk, double v)
{
	return Min(Max(v, sk->min), sk->max);
}

/* The value at quantile q (0 <= q <= 1) of a sketch holding values. */
double
sketch_quantile(const Sketch *sk, double q)
{
	double		rank;
	int64		seen = 0;
	int32		k;

	if (q <= 0.0)
		return sk->min;
	if (q >= 1.0)
		return sk->max;
	rank = q * (double) (sk->count - 1);
	if (sk->neg.total > 0)
		for (k = sk->neg.hi; k >= sk->neg.lo; k--)
		{
			seen += sk->neg.counts[k - sk->neg.base];
			if ((double) seen > rank)
				return clamp(sk, -sketch_bucket_value(sk, k));
		}
	seen += sk->zero_count;
	if ((double) seen > rank)
		return clamp(sk, 0.0);
	if (sk->pos.total > 0)
		for (k = sk->pos.lo; k <= sk->pos.hi; k++)
		{
			seen += sk->pos.counts[k - sk->pos.base];
			if ((double) seen > rank)
				return clamp(sk, sketch_bucket_value(sk, k));
		}
	return sk->max;
}

/* Fraction of values whose bucket reports a value <= value. */
double
sketch_rank(const Sketch *sk, double value)
{
	int64		below = 0;
	int32		k;

	if (value < sk->min)
		return 0.0;
	if (value >= sk->max)
		return 1.0;
	if (sk->neg.total > 0)
		for (k = sk->neg.hi; k >= sk->neg.lo; k--)
		{
			if (-sketch_bucket_value(sk, k) > value)
				return (double) below / (double) sk->count;
			below += sk->neg.counts[k - sk->neg.base];
		}
	if (value < 0.0)
		return (double) below / (double) sk->count;
	below += sk->zero_count;
	if (sk->pos.total > 0)
		for (k = sk->pos.lo; k <= sk->pos.hi; k++)
		{
			if (sketch_bucket_value(sk, k) > value)
				break;
			below += sk->pos.counts[k - sk->pos.base];
		}
	return (double) below / (double) sk->count;
}

/* ---- stored form ---- */

static uint8 *
put_varint(uint8 *p, uint64 v)
{
	while (v >= 0x80)
	{
		*p++ = (uint8) (v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8) v;
	return p;
}

static uint8 *
put_f64(uint8 *p, double d)
{
	uint64		bits;
	int			i;

	memcpy(&bits, &d, sizeof(bits));
	for (i = 0; i < 8; i++)
		*p++ = (uint8) (bits >> (8 * i));
	return p;
}

static uint8 *
put_store(uint8 *p, const SketchStore *st)
{
	int32		lo = st->lo;
	int32		hi = st->hi;
	int32		k;
	int64		first;

	if (st->total == 0)
	{
		p = put_varint(p, 0);
		return put_varint(p, 0);
	}
	while (st->counts[lo - st->base] == 0)
		lo++;
	while (st->counts[hi - st->base] == 0)
		hi--;
	first = lo;
	p = put_varint(p, ((uint64) first << 1) ^ (uint64) (first >> 63));
	p = put_varint(p, (uint64) (hi - lo + 1));
	for (k = lo; k <= hi; k++)
		p = put_varint(p, (uint64) st->counts[k - st->base]);
	return p;
}

/* The stored (and binary) form of a sketch holding at least one value. */
bytea *
sketch_encode(const Sketch *sk)
{
	int64		nbuckets = 0;
	Size		maxlen;
	bytea	   *out;
	uint8	   *start;
	uint8	   *p;

	if (sk->pos.total > 0)
		nbuckets += (int64) sk->pos.hi - sk->pos.lo + 1;
	if (sk->neg.total > 0)
		nbuckets += (int64) sk->neg.hi - sk->neg.lo + 1;
	maxlen = 2 + 8 + 10 + 10 + 24 + 2 * (10 + 10) + 10 * nbuckets;
	out = palloc(VARHDRSZ + maxlen);
	start = p = (uint8 *) VARDATA(out);
	*p++ = SKETCH_VERSION;
	*p++ = 0;
	p = put_f64(p, sk->alpha);
	p = put_varint(p, (uint64) sk->count);
	p = put_varint(p, (uint64) sk->zero_count);
	p = put_f64(p, sk->sum);
	p = put_f64(p, sk->min);
	p = put_f64(p, sk->max);
	p = put_store(p, &sk->pos);
	p = put_store(p, &sk->neg);
	SET_VARSIZE(out, VARHDRSZ + (p - start));
	return out;
}

typedef struct Reader
{
	const uint8 *p;
	const uint8 *end;
	SketchSource src;
} Reader;

static uint8
get_u8(Reader *r)
{
	if (r->p >= r->end)
		sketch_bad(r->src, "the data ends too early");
	return *r->p++;
}

static uint64
get_varint(Reader *r)
{
	uint64		v = 0;
	int			shift;

	for (shift = 0; shift < 64; shift += 7)
	{
		uint8		b = get_u8(r);

		if (shift == 63 && b > 1)
			sketch_bad(r->src, "an integer field does not fit 64 bits");
		v |= (uint64) (b & 0x7f) << shift;
		if ((b & 0x80) == 0)
		{
			/* one encoding per number: binary -> value -> binary is the identity */
			if (b == 0 && shift > 0)
				sketch_bad(r->src, "an integer field is not in its shortest form");
			return v;
		}
	}
	sketch_bad(r->src, "an integer field does not fit 64 bits");
	return 0;
}

static int64
get_count(Reader *r)
{
	uint64		v = get_varint(r);

	if (v > (uint64) PG_INT64_MAX)
		sketch_bad(r->src, "a count is out of range");
	return (int64) v;
}

static double
get_f64(Reader *r)
{
	uint64		bits = 0;
	double		d;
	int			i;

	for (i = 0; i < 8; i++)
		bits |= (uint64) get_u8(r) << (8 * i);
	memcpy(&d, &bits, sizeof(d));
	return d;
}

static void
get_store(Reader *r, Sketch *sk, SketchStore *st)
{
	uint64		zz = get_varint(r);
	int64		first = (int64) (zz >> 1) ^ -(int64) (zz & 1);
	uint64		n = get_varint(r);
	uint64		i;

	if (n == 0)
	{
		if (first != 0)
			sketch_bad(r->src, "an empty bucket list has a nonzero first index");
		return;
	}
	if (n > SKETCH_MAX_BUCKETS)
		sketch_bad(r->src, "too many buckets");
	if (n > (uint64) (r->end - r->p))
		sketch_bad(r->src, "the data ends too early");
	if (first < PG_INT32_MIN || first > (int64) PG_INT32_MAX - (int64) n)
		sketch_bad(r->src, "a bucket index is out of range");
	st->counts = MemoryContextAlloc(sk->cxt, sizeof(int64) * n);
	st->base = st->lo = (int32) first;
	st->hi = (int32) (first + (int64) n - 1);
	st->cap = (int32) n;
	for (i = 0; i < n; i++)
		st->counts[i] = get_count(r);
}

/* Read a stored or received sketch; every field checked. */
Sketch *
sketch_decode(const char *data, int len, SketchSource src, MemoryContext cxt)
{
	Reader		r;
	Sketch	   *sk;
	uint8		version;
	double		alpha;

	r.p = (const uint8 *) data;
	r.end = r.p + len;
	r.src = src;
	version = get_u8(&r);
	if (version != SKETCH_VERSION)
		ereport(ERROR,
				(errcode(sketch_errcode(src)),
				 errmsg("unsupported coder_scale.sketch version %d", (int) version),
				 errdetail("This build of coder_scale reads version %d.", SKETCH_VERSION),
				 errhint("Recreate the sketch with this version of coder_scale.")));
	if (get_u8(&r) != 0)
		sketch_bad(src, "unknown flags are set");
	alpha = get_f64(&r);
	if (isnan(alpha) || alpha < SKETCH_MIN_ALPHA || alpha > SKETCH_MAX_ALPHA)
		sketch_bad(src, "alpha is out of range");
	sk = sketch_create(cxt, alpha);
	sk->count = get_count(&r);
	sk->zero_count = get_count(&r);
	sk->sum = get_f64(&r);
	sk->min = get_f64(&r);
	sk->max = get_f64(&r);
	get_store(&r, sk, &sk->pos);
	get_store(&r, sk, &sk->neg);
	if (r.p != r.end)
		sketch_bad(src, "there are bytes after the last bucket");
	sketch_finish(sk, src);
	return sk;
}

/* Sum a store's counts into st->total; the counts must not overflow int64. */
static void
store_total(SketchStore *st, SketchSource src)
{
	int64		total = 0;
	int32		k;

	st->total = 0;
	if (st->counts == NULL)
		return;
	for (k = st->lo; k <= st->hi; k++)
	{
		int64		c = st->counts[k - st->base];

		if (c < 0 || pg_add_s64_overflow(total, c, &total))
			sketch_bad(src, "a bucket count is out of range");
	}
	st->total = total;
}

/* The bucket range of a store: inside the range of this alpha, first and last bucket nonempty. */
static void
store_validate(const Sketch *sk, const SketchStore *st, SketchSource src)
{
	int32		kmin = sketch_index(sk, DBL_TRUE_MIN) - 1;
	int32		kmax = sketch_index(sk, DBL_MAX) + 1;

	if (st->counts == NULL)
		return;
	if (st->lo < kmin || st->hi > kmax)
		sketch_bad(src, "a bucket index is out of range for this alpha");
	if ((int64) st->hi - st->lo + 1 > SKETCH_MAX_BUCKETS)
		sketch_bad(src, "too many buckets");
	if (st->counts[st->lo - st->base] <= 0 || st->counts[st->hi - st->base] <= 0)
		sketch_bad(src, "the first and last bucket must hold values");
}

/* Index of a magnitude, tolerating one bucket of libm difference between machines. */
static bool
near_bucket(const Sketch *sk, double magnitude, int32 k)
{
	int64		i = sketch_index(sk, magnitude);

	return i >= (int64) k - 1 && i <= (int64) k + 1;
}

/*
 * Whether sum can be the float8 sum of count values between min and max.
 * Summing n values in any order (sketch_add_count multiplies first) rounds
 * at most 2n times, so the computed mean is within about 2n * 2^-53 * M of
 * the exact one, M = max(|min|, |max|); allow four times that, plus
 * subnormal rounding.  Past 2^50 values the bound says nothing: only the
 * sign is checked.  Values of one sign always sum to that sign.
 */
static bool
sum_is_possible(const Sketch *sk)
{
	double		n = (double) sk->count;
	double		m = Max(fabs(sk->min), fabs(sk->max));
	double		k = (n + 4.0) * DBL_EPSILON;
	double		tol;
	double		mean;

	if ((sk->min >= 0 && sk->sum < 0) || (sk->max <= 0 && sk->sum > 0))
		return false;
	if (k >= 0.25)
		return true;
	tol = 4.0 * k * m + 4.0 * DBL_TRUE_MIN;
	mean = sk->sum / n;
	return mean >= sk->min - tol && mean <= sk->max + tol;
}

/* Check min, max and sum against the buckets and the count. */
static void
extremes_validate(const Sketch *sk, SketchSource src)
{
	if (!isfinite(sk->sum) || !isfinite(sk->min) || !isfinite(sk->max))
		sketch_bad(src, "sum, min and max must be finite");
	if (sk->min > sk->max)
		sketch_bad(src, "min is greater than max");
	/* the extremes must sit where the buckets are */
	if ((sk->neg.total > 0) != (sk->min < 0) ||
		(sk->pos.total > 0) != (sk->max > 0) ||
		(sk->zero_count > 0 && (sk->min > 0 || sk->max < 0)) ||
		(sk->zero_count == 0 && (sk->min == 0 || sk->max == 0)))
		sketch_bad(src, "min and max do not match the buckets");
	if (sk->pos.total > 0 && !near_bucket(sk, sk->max, sk->pos.hi))
		sketch_bad(src, "max is not in the highest bucket");
	if (sk->neg.total > 0 && !near_bucket(sk, -sk->min, sk->neg.hi))
		sketch_bad(src, "min is not in the lowest bucket");
	if (sk->min > 0 && sketch_index(sk, sk->min) > (int64) sk->pos.lo + 1)
		sketch_bad(src, "min is above the lowest bucket");
	if (sk->max < 0 && sketch_index(sk, -sk->max) > (int64) sk->neg.lo + 1)
		sketch_bad(src, "max is above the highest bucket");
	/* checked on input only (0.1.0 did not): a value stored by 0.1.0 stays readable */
	if (src == SKETCH_FROM_STORAGE)
		return;
	if (sk->count == 1 && sk->min != sk->max)
		sketch_bad(src, "a sketch of one value must have min equal to max");
	if (sk->min == sk->max &&
		((sk->pos.total > 0 && sk->pos.lo != sk->pos.hi) ||
		 (sk->neg.total > 0 && sk->neg.lo != sk->neg.hi)))
		sketch_bad(src, "min equals max but the values fill more than one bucket");
	if (!sum_is_possible(sk))
		sketch_bad(src, "sum is not between count * min and count * max");
}

/* Fill in the store totals of a decoded or parsed sketch, then validate it. */
void
sketch_finish(Sketch *sk, SketchSource src)
{
	store_total(&sk->pos, src);
	store_total(&sk->neg, src);
	sketch_validate(sk, src);
}

/* Check that the fields of a sketch (totals filled in) agree with each other. */
void
sketch_validate(const Sketch *sk, SketchSource src)
{
	int64		total;

	store_validate(sk, &sk->pos, src);
	store_validate(sk, &sk->neg, src);
	if (sk->count < 1)
		sketch_bad(src, "a sketch holds at least one value");
	if (sk->zero_count < 0 ||
		pg_add_s64_overflow(sk->pos.total, sk->neg.total, &total) ||
		pg_add_s64_overflow(total, sk->zero_count, &total) ||
		total != sk->count)
		sketch_bad(src, "the bucket counts do not add up to the value count");
	extremes_validate(sk, src);
}

/* Decode a sketch datum (detoasting it) into the current memory context. */
Sketch *
sketch_from_datum(Datum d)
{
	bytea	   *b = DatumGetByteaPP(d);

	return sketch_decode(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), SKETCH_FROM_STORAGE,
						 CurrentMemoryContext);
}
