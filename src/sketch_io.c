/*
 * sketch_io.c: text and binary input/output of coder_scale.sketch.
 *
 * Text form, one line, fields in this order:
 *   v=1 alpha=0.01 count=4 zeros=1 sum=2.5 min=-2 max=3.5 pos=0:1,63:1 neg=35:1
 * pos= and neg= list index:count for every nonempty bucket (indexes
 * ascending); an empty store is written as nothing ("neg=").
 * Binary form: the stored bytes (see sketch.h).
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"

#include "sketch.h"
#include "textread.h"

PG_FUNCTION_INFO_V1(sketch_in);
PG_FUNCTION_INFO_V1(sketch_out);
PG_FUNCTION_INFO_V1(sketch_recv);
PG_FUNCTION_INFO_V1(sketch_send);
PG_FUNCTION_INFO_V1(sketch_from_bytes);

static bool
at_field_end(const char *p)
{
	return *p == ' ' || *p == '\0';
}

static int64
read_int(TextReader *t, bool allow_negative)
{
	bool		neg = false;
	uint64		v = 0;

	if (allow_negative && *t->p == '-')
	{
		neg = true;
		t->p++;
	}
	if (*t->p < '0' || *t->p > '9')
		text_syntax_error(t, "an integer");
	while (*t->p >= '0' && *t->p <= '9')
	{
		uint64		d = (uint64) (*t->p - '0');

		if (v > ((uint64) PG_INT64_MAX - d) / 10)
			text_syntax_error(t, "an integer below 2^63");
		v = v * 10 + d;
		t->p++;
	}
	return neg ? -(int64) v : (int64) v;
}

/*
 * "k:c,k:c,..." (bucket index:count, indexes ascending, counts >= 1) or
 * nothing; spanning at most SKETCH_MAX_BUCKETS buckets.
 */
static void
read_store(TextReader *t, Sketch *sk, SketchStore *st)
{
	int64		idx[SKETCH_MAX_BUCKETS];
	int64		cnt[SKETCH_MAX_BUCKETS];
	int			n = 0;
	int			i;

	if (at_field_end(t->p))
		return;
	for (;;)
	{
		if (n == SKETCH_MAX_BUCKETS)
			text_syntax_error(t, psprintf("at most %d buckets", SKETCH_MAX_BUCKETS));
		idx[n] = read_int(t, true);
		if (idx[n] < PG_INT32_MIN || idx[n] > PG_INT32_MAX)
			text_syntax_error(t, "a bucket index within the int4 range");
		if (n > 0 && idx[n] <= idx[n - 1])
			text_syntax_error(t, "bucket indexes in ascending order");
		if (idx[n] - idx[0] >= SKETCH_MAX_BUCKETS)
			text_syntax_error(t, psprintf("buckets spanning at most %d indexes", SKETCH_MAX_BUCKETS));
		text_expect(t, ":");
		cnt[n] = read_int(t, false);
		if (cnt[n] == 0)
			text_syntax_error(t, "a count of at least 1");
		n++;
		if (*t->p != ',')
			break;
		t->p++;
	}
	st->base = st->lo = (int32) idx[0];
	st->hi = (int32) idx[n - 1];
	st->cap = st->hi - st->lo + 1;
	st->counts = MemoryContextAllocZero(sk->cxt, sizeof(int64) * st->cap);
	for (i = 0; i < n; i++)
		st->counts[idx[i] - st->base] = cnt[i];
}

/* text -> sketch */
Datum
sketch_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	TextReader	t = {str, str, "coder_scale.sketch", "v=1 alpha=0.01 count=1 zeros=1 sum=0 min=0 max=0 pos= neg="};
	Sketch	   *sk;
	int64		version;
	double		alpha;

	text_expect(&t, "v=");
	version = read_int(&t, false);
	if (version != SKETCH_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("unsupported coder_scale.sketch version " INT64_FORMAT, version),
				 errdetail("This build of coder_scale reads version %d.", SKETCH_VERSION)));
	text_expect(&t, " alpha=");
	alpha = text_read_double(&t, true, ' ');
	if (isnan(alpha) || alpha < SKETCH_MIN_ALPHA || alpha > SKETCH_MAX_ALPHA)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid coder_scale.sketch value: alpha is out of range"),
				 errhint("alpha must be between %g and %g.", SKETCH_MIN_ALPHA, SKETCH_MAX_ALPHA)));
	sk = sketch_create(CurrentMemoryContext, alpha);
	text_expect(&t, " count=");
	sk->count = read_int(&t, false);
	text_expect(&t, " zeros=");
	sk->zero_count = read_int(&t, false);
	text_expect(&t, " sum=");
	sk->sum = text_read_double(&t, true, ' ');
	text_expect(&t, " min=");
	sk->min = text_read_double(&t, true, ' ');
	text_expect(&t, " max=");
	sk->max = text_read_double(&t, true, ' ');
	text_expect(&t, " pos=");
	read_store(&t, sk, &sk->pos);
	text_expect(&t, " neg=");
	read_store(&t, sk, &sk->neg);
	if (*t.p != '\0')
		text_syntax_error(&t, "the end of the value");
	sketch_finish(sk, SKETCH_FROM_TEXT);
	PG_RETURN_BYTEA_P(sketch_encode(sk));
}

static void
append_store(StringInfo buf, const SketchStore *st)
{
	int32		k;

	if (st->total == 0)
		return;
	for (k = st->lo; k <= st->hi; k++)
		if (st->counts[k - st->base] > 0)
			appendStringInfo(buf, k == st->lo ? "%d:" INT64_FORMAT : ",%d:" INT64_FORMAT,
							 k, st->counts[k - st->base]);
}

/* sketch -> text */
Datum
sketch_out(PG_FUNCTION_ARGS)
{
	Sketch	   *sk = sketch_from_datum(PG_GETARG_DATUM(0));
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "v=%d alpha=", SKETCH_VERSION);
	text_append_double(&buf, sk->alpha);
	appendStringInfo(&buf, " count=" INT64_FORMAT " zeros=" INT64_FORMAT " sum=",
					 sk->count, sk->zero_count);
	text_append_double(&buf, sk->sum);
	appendStringInfoString(&buf, " min=");
	text_append_double(&buf, sk->min);
	appendStringInfoString(&buf, " max=");
	text_append_double(&buf, sk->max);
	appendStringInfoString(&buf, " pos=");
	append_store(&buf, &sk->pos);
	appendStringInfoString(&buf, " neg=");
	append_store(&buf, &sk->neg);
	PG_RETURN_CSTRING(buf.data);
}

/* binary -> sketch: the stored bytes, fully checked, re-encoded canonically */
Datum
sketch_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	Sketch	   *sk;

	sk = sketch_decode(buf->data + buf->cursor, buf->len - buf->cursor,
					   SKETCH_FROM_BINARY, CurrentMemoryContext);
	buf->cursor = buf->len;
	PG_RETURN_BYTEA_P(sketch_encode(sk));
}

/* sketch -> binary: the stored bytes */
Datum
sketch_send(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* bytea (as from sketch_send) -> sketch, checked as sketch_recv checks */
Datum
sketch_from_bytes(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	Sketch	   *sk;

	sk = sketch_decode(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), SKETCH_FROM_BINARY,
					   CurrentMemoryContext);
	PG_RETURN_BYTEA_P(sketch_encode(sk));
}
