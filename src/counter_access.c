/*
 * counter_access.c: what can be read from a coder_scale.counter_summary:
 * the increase, the rate per second, the number of resets and the time
 * between the first and the last sample.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"

#include "counter.h"

PG_FUNCTION_INFO_V1(counter_increase);
PG_FUNCTION_INFO_V1(counter_rate);
PG_FUNCTION_INFO_V1(counter_num_resets);
PG_FUNCTION_INFO_V1(counter_time_delta);

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
