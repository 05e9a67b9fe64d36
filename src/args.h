/*
 * args.h: reading and checking SQL arguments, shared by the SQL-callable
 * functions of the sizing and burst models. Each helper raises the error a
 * user can act on: 22004 for a NULL, 22023 for a value out of its domain,
 * 22003 for a value too large to compute with.
 */
#ifndef CODER_SCALE_ARGS_H
#define CODER_SCALE_ARGS_H

#include "postgres.h"
#include "fmgr.h"

extern void arg_not_null(FunctionCallInfo fcinfo, int n, const char *name);
extern int32 arg_int_min(FunctionCallInfo fcinfo, int n, const char *name, int32 min);
extern double arg_float_min(FunctionCallInfo fcinfo, int n, const char *name, double min, bool inclusive);
extern int32 arg_users(FunctionCallInfo fcinfo, int n);
extern double arg_seconds(FunctionCallInfo fcinfo, int n, const char *name, bool positive);
extern Datum result_tuple(FunctionCallInfo fcinfo, Datum *values, bool *nulls, int natts);

#endif							/* CODER_SCALE_ARGS_H */
