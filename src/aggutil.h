/*
 * aggutil.h: what the aggregates' support functions share.
 */
#ifndef CODER_SCALE_AGGUTIL_H
#define CODER_SCALE_AGGUTIL_H

#include "postgres.h"
#include "fmgr.h"

/*
 * The aggregate's memory context, or an error when called outside an
 * aggregate.  A user can reach this from SQL (sketch_agg_trans(NULL, 1)),
 * so it is a user error with a SQLSTATE (0A000), not an internal one.
 */
extern MemoryContext agg_context(FunctionCallInfo fcinfo, const char *name);

#endif							/* CODER_SCALE_AGGUTIL_H */
