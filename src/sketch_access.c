/*
 * sketch_access.c: what can be read from a stored sketch: quantiles, ranks,
 * count, sum, mean, min, max and the accuracy it was built with.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"

#include "sketch.h"

PG_FUNCTION_INFO_V1(sketch_approx_percentile);
PG_FUNCTION_INFO_V1(sketch_approx_percentiles);
PG_FUNCTION_INFO_V1(sketch_approx_percentile_rank);
PG_FUNCTION_INFO_V1(sketch_num_vals);
PG_FUNCTION_INFO_V1(sketch_sum);
PG_FUNCTION_INFO_V1(sketch_mean);
PG_FUNCTION_INFO_V1(sketch_min_val);
PG_FUNCTION_INFO_V1(sketch_max_val);
PG_FUNCTION_INFO_V1(sketch_error_bound);

static void
check_quantile(double q)
{
	if (isnan(q))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("percentile must not be NaN"),
				 errhint("Pass a fraction between 0 and 1, e.g. 0.99 for p99.")));
	if (q < 0.0 || q > 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("percentile value %g is not between 0 and 1", q),
				 errhint("Pass a fraction, e.g. 0.99 for p99, not 99.")));
}

/* q, sketch -> the value at quantile q */
Datum
sketch_approx_percentile(PG_FUNCTION_ARGS)
{
	double		q = PG_GETARG_FLOAT8(0);
	Sketch	   *sk;

	check_quantile(q);
	sk = sketch_from_datum(PG_GETARG_DATUM(1));
	PG_RETURN_FLOAT8(sketch_quantile(sk, q));
}

/* qs[], sketch -> the value at each quantile (NULL stays NULL) */
Datum
sketch_approx_percentiles(PG_FUNCTION_ARGS)
{
	ArrayType  *qs = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	Sketch	   *sk;
	int			dims[1];
	int			lbs[1] = {1};

	if (ARR_NDIM(qs) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("percentiles must be a one-dimensional array")));
	deconstruct_array(qs, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	for (i = 0; i < n; i++)
		if (!nulls[i])
			check_quantile(DatumGetFloat8(elems[i]));
	sk = sketch_from_datum(PG_GETARG_DATUM(1));
	for (i = 0; i < n; i++)
		if (!nulls[i])
			elems[i] = Float8GetDatum(sketch_quantile(sk, DatumGetFloat8(elems[i])));
	dims[0] = n;
	PG_RETURN_ARRAYTYPE_P(construct_md_array(elems, nulls, n > 0 ? 1 : 0, dims, lbs,
											 FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
											 TYPALIGN_DOUBLE));
}

/* value, sketch -> fraction of values at or below value */
Datum
sketch_approx_percentile_rank(PG_FUNCTION_ARGS)
{
	double		v = PG_GETARG_FLOAT8(0);
	Sketch	   *sk;

	if (isnan(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("value must not be NaN"),
				 errhint("Pass the value whose rank you want, e.g. 0.5 for 500 ms.")));
	sk = sketch_from_datum(PG_GETARG_DATUM(1));
	PG_RETURN_FLOAT8(sketch_rank(sk, v));
}

/* sketch -> number of values */
Datum
sketch_num_vals(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(sketch_from_datum(PG_GETARG_DATUM(0))->count);
}

/* sketch -> sum of the values */
Datum
sketch_sum(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(sketch_from_datum(PG_GETARG_DATUM(0))->sum);
}

/* sketch -> mean of the values, never outside [min, max] (the sum carries rounding) */
Datum
sketch_mean(PG_FUNCTION_ARGS)
{
	Sketch	   *sk = sketch_from_datum(PG_GETARG_DATUM(0));
	double		mean = sk->sum / (double) sk->count;

	PG_RETURN_FLOAT8(Min(Max(mean, sk->min), sk->max));
}

/* sketch -> smallest value (exact) */
Datum
sketch_min_val(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(sketch_from_datum(PG_GETARG_DATUM(0))->min);
}

/* sketch -> largest value (exact) */
Datum
sketch_max_val(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(sketch_from_datum(PG_GETARG_DATUM(0))->max);
}

/* sketch -> its relative accuracy alpha */
Datum
sketch_error_bound(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(sketch_from_datum(PG_GETARG_DATUM(0))->alpha);
}
