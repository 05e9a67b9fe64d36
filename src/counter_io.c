/*
 * counter_io.c: text and binary input/output of coder_scale.counter_summary
 * (the forms are in counter.h).  Both readers check every field, so a value
 * read back is one counter_agg() could have built.
 */
#include "postgres.h"

#include <math.h>

#include "common/int.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/timestamp.h"

#include "counter.h"
#include "textread.h"

PG_FUNCTION_INFO_V1(counter_summary_in);
PG_FUNCTION_INFO_V1(counter_summary_out);
PG_FUNCTION_INFO_V1(counter_summary_recv);
PG_FUNCTION_INFO_V1(counter_summary_send);

/* Microseconds between the Unix and the PostgreSQL epoch. */
#define UNIX_EPOCH_US ((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

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

/* Unsigned decimal digits, at most max. */
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

/* d, or 0 for -0: 0.1.0 could store -0 (from a -0 sample or recv); it is written as 0 */
static double
no_negative_zero(double d)
{
	return d == 0.0 ? 0.0 : d;
}

/* Append a value in its shortest exact text form. */
static void
append_value(StringInfo buf, double d)
{
	text_append_double(buf, no_negative_zero(d));
}

/* Append a time as Unix seconds, with only the decimals it needs. */
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
