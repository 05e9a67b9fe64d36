/*
 * counter.h: coder_scale.counter_summary, the increase and rate of a
 * Prometheus counter over a group of (time, value) samples, as PromQL's
 * increase()/rate() without extrapolation.
 *
 * counter_agg() (counter_agg.c) keeps every sample and sorts them by time
 * in its final function, so the answer does not depend on input order.
 * Rules, applied after sorting:
 *   - NULL time or value and NaN values (Prometheus staleness markers) are
 *     skipped; infinite or negative values and infinite times are errors;
 *     -0 is read as 0;
 *   - of samples with the same time, the largest value is kept;
 *   - any decrease is a reset: the counter restarted from 0, so the new
 *     value itself is the increase since the previous sample;
 *   - an increase (or rate) beyond the float8 range is an error (22003).
 *
 * The stored form is struct CounterSummary itself: 72 bytes, the 4-byte
 * varlena header included (STORAGE plain: never a short header; ALIGNMENT
 * double), in the byte order of the server.  Offsets from the start of the
 * datum, where int64 and double are 8-byte aligned (every 64-bit platform):
 *
 *    0  int32  varlena header (total length 72)
 *    4  u8     version (COUNTER_VERSION)
 *    5  7 x u8 zero
 *   12  4 bytes of alignment padding, zero
 *   16  int64  samples       number of distinct sample times, >= 1
 *   24  int64  resets        decreases, 0 .. samples - 1
 *   32  int64  first_time    TimestampTz (microseconds since 2000-01-01 UTC)
 *   40  int64  last_time     TimestampTz, >= first_time
 *   48  f64    first_value   finite, >= 0, not -0
 *   56  f64    last_value    finite, >= 0, not -0
 *   64  f64    increase      finite, >= 0, not -0; last - first without resets
 *
 * The binary send/recv form is the same fields without header and padding,
 * in network byte order: u8 version, int64 samples, resets, first_time,
 * last_time, f64 first_value, last_value, increase (COUNTER_WIRE_LEN bytes).
 * The text form is
 *   v=1 samples=2 resets=0 increase=5 first=1764424800:10 last=1764424860:15
 * with times in Unix seconds (up to 6 decimals).  Readers check every field
 * (counter_io.c).
 */
#ifndef CODER_SCALE_COUNTER_H
#define CODER_SCALE_COUNTER_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"

#define COUNTER_VERSION 1

/* send/recv form: the version byte, 4 int64 and 3 float8 fields */
#define COUNTER_WIRE_LEN	((int) (sizeof(uint8) + 4 * sizeof(int64) + 3 * sizeof(float8)))

typedef struct CounterSummary
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	uint8		version;		/* COUNTER_VERSION */
	uint8		pad[7];			/* zero */
	int64		samples;		/* distinct sample times */
	int64		resets;			/* decreases */
	TimestampTz first_time;
	TimestampTz last_time;
	double		first_value;
	double		last_value;
	double		increase;		/* sum over the segments between resets */
} CounterSummary;

#define PG_GETARG_SUMMARY(n) ((CounterSummary *) PG_DETOAST_DATUM(PG_GETARG_DATUM(n)))

#endif							/* CODER_SCALE_COUNTER_H */
