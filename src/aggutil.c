/*
 * aggutil.c: what the aggregates' support functions share (aggutil.h).
 */
#include "postgres.h"

#include "fmgr.h"

#include "aggutil.h"

MemoryContext
agg_context(FunctionCallInfo fcinfo, const char *name)
{
	MemoryContext cxt;

	if (!AggCheckCallContext(fcinfo, &cxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s called in non-aggregate context", name),
				 errhint("Call the aggregate %s() instead of its support function.", name)));
	return cxt;
}
