/*
 * args.c: argument checks shared by the SQL-callable functions.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "datatype/timestamp.h"
#include "funcapi.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "args.h"
#include "sizing.h"

/* The SQL name of the function being called, for hints. */
static const char *
func_name(FunctionCallInfo fcinfo)
{
	char	   *name = fcinfo->flinfo ? get_func_name(fcinfo->flinfo->fn_oid) : NULL;

	return name ? name : "this function";
}

/* Raise 22004 when argument n is NULL. */
void
arg_not_null(FunctionCallInfo fcinfo, int n, const char *name)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name),
				 errhint("%s() has no default for %s: pass a value (\\df+ coder_scale.%s describes it).",
						 func_name(fcinfo), name, func_name(fcinfo))));
}

/* Integer argument n, at least min. */
int32
arg_int_min(FunctionCallInfo fcinfo, int n, const char *name, int32 min)
{
	int32		v;

	arg_not_null(fcinfo, n, name);
	v = PG_GETARG_INT32(n);
	if (v < min)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be at least %d, not %d", name, min, v),
				 errhint("Pass %s() a whole number of %d or more for %s.", func_name(fcinfo), min, name)));
	return v;
}

/* Finite float8 argument n, >= min (or > min when !inclusive). */
double
arg_float_min(FunctionCallInfo fcinfo, int n, const char *name, double min, bool inclusive)
{
	double		v;

	arg_not_null(fcinfo, n, name);
	v = PG_GETARG_FLOAT8(n);
	if (isnan(v) || isinf(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite number, not %g", name, v),
				 errhint("Pass %s() an ordinary number for %s.", func_name(fcinfo), name)));
	if (inclusive ? v < min : v <= min)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be %s %g, not %g", name,
						inclusive ? "at least" : "greater than", min, v),
				 errhint("Pass %s() a value of %s %g for %s.", func_name(fcinfo),
						 inclusive ? "at least" : "more than", min, name)));
	return v;
}

/* The user count: positive and at most SIZING_MAX_USERS. */
int32
arg_users(FunctionCallInfo fcinfo, int n)
{
	int32		users;

	arg_not_null(fcinfo, n, "users");
	users = PG_GETARG_INT32(n);
	if (users <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("users must be positive, not %d", users),
				 errhint("Give the number of active users the deployment must serve.")));
	if (users > SIZING_MAX_USERS)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("users must be at most %d, not %d", SIZING_MAX_USERS, users),
				 errhint("The model is meant for single Coder deployments; split larger ones.")));
	return users;
}

/* An interval argument in seconds: not negative (positive when asked), finite. */
double
arg_seconds(FunctionCallInfo fcinfo, int n, const char *name, bool positive)
{
	Interval   *iv;
	double		s;

	arg_not_null(fcinfo, n, name);
	iv = PG_GETARG_INTERVAL_P(n);
	if (iv->month != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not use months or years", name),
				 errhint("Give it in days, hours, minutes or seconds.")));
	s = iv->day * (double) SECS_PER_DAY + iv->time / (double) USECS_PER_SEC;
	if (s < 0 || (positive && s == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be %s, not %g seconds", name,
						positive ? "positive" : "at least zero", s),
				 errhint("Pass %s() an interval %s for %s, like '30 seconds'.", func_name(fcinfo),
						 positive ? "greater than zero" : "of zero or more", name)));
	return s;
}

/* Form the composite result of a function declared to return a row type. */
Datum
result_tuple(FunctionCallInfo fcinfo, Datum *values, bool *nulls, int natts)
{
	TupleDesc	desc;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning a record called in a context that cannot accept it")));
	desc = BlessTupleDesc(desc);
	if (desc->natts != natts)
		elog(ERROR, "result type has %d columns, expected %d", desc->natts, natts);
	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}
