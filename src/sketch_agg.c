/*
 * sketch_agg.c: the aggregates that build sketches (sketch_agg, rollup) and
 * sketch_from_histogram, which turns Prometheus histogram buckets into one.
 *
 * The aggregate state is a Sketch in the aggregate memory context; combine,
 * serialize and deserialize make the aggregates parallel safe.  The
 * serialized state is the stored form of the sketch.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/lsyscache.h"

#include "aggutil.h"
#include "sketch.h"

PG_FUNCTION_INFO_V1(sketch_agg_trans);
PG_FUNCTION_INFO_V1(sketch_rollup_trans);
PG_FUNCTION_INFO_V1(sketch_agg_combine);
PG_FUNCTION_INFO_V1(sketch_agg_serialize);
PG_FUNCTION_INFO_V1(sketch_agg_deserialize);
PG_FUNCTION_INFO_V1(sketch_agg_final);
PG_FUNCTION_INFO_V1(sketch_from_histogram);

static void
check_same_alpha(const Sketch *a, double alpha)
{
	if (a->alpha != alpha)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot merge sketches of different accuracy"),
				 errdetail("One sketch has alpha %g, the other %g.", a->alpha, alpha),
				 errhint("Build every sketch of a group with the same alpha.")));
}

static void
check_value(double v)
{
	if (isnan(v) || isinf(v))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("sketch_agg values must be finite, got %g", v),
				 errhint("Filter out NaN and infinite values, e.g. WHERE value <> 'NaN'.")));
}

/* sketch_agg transition: add one value (NULL skipped); optional alpha arg */
Datum
sketch_agg_trans(PG_FUNCTION_ARGS)
{
	Sketch	   *sk = PG_ARGISNULL(0) ? NULL : (Sketch *) PG_GETARG_POINTER(0);
	double		alpha = SKETCH_DEFAULT_ALPHA;

	if (PG_NARGS() > 2)
	{
		if (PG_ARGISNULL(2))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("sketch_agg alpha must not be null"),
					 errhint("Omit alpha to use %g.", SKETCH_DEFAULT_ALPHA)));
		alpha = PG_GETARG_FLOAT8(2);
	}
	if (!PG_ARGISNULL(1))
	{
		double		v = PG_GETARG_FLOAT8(1);

		check_value(v);
		if (sk == NULL)
		{
			/* a non-NULL state only ever comes from the aggregate machinery */
			MemoryContext cxt = agg_context(fcinfo, "sketch_agg");

			sketch_check_alpha(alpha);
			sk = sketch_create(cxt, alpha);
		}
		else
			check_same_alpha(sk, alpha);
		sketch_add(sk, v);
	}
	if (sk == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(sk);
}

/* rollup transition: merge one stored sketch (NULL skipped) */
Datum
sketch_rollup_trans(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = agg_context(fcinfo, "rollup");
	Sketch	   *sk = PG_ARGISNULL(0) ? NULL : (Sketch *) PG_GETARG_POINTER(0);

	if (!PG_ARGISNULL(1))
	{
		Sketch	   *in = sketch_from_datum(PG_GETARG_DATUM(1));

		if (sk == NULL)
			sk = sketch_create(cxt, in->alpha);
		else
			check_same_alpha(sk, in->alpha);
		sketch_merge(sk, in);
	}
	if (sk == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(sk);
}

/* combine two partial states (either may be NULL) */
Datum
sketch_agg_combine(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = agg_context(fcinfo, "sketch_agg_combine");
	Sketch	   *a = PG_ARGISNULL(0) ? NULL : (Sketch *) PG_GETARG_POINTER(0);
	Sketch	   *b = PG_ARGISNULL(1) ? NULL : (Sketch *) PG_GETARG_POINTER(1);

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
		a = sketch_create(cxt, b->alpha);
	else
		check_same_alpha(a, b->alpha);
	sketch_merge(a, b);
	PG_RETURN_POINTER(a);
}

/* state -> bytea (the stored form of the sketch) */
Datum
sketch_agg_serialize(PG_FUNCTION_ARGS)
{
	Sketch	   *sk = (Sketch *) PG_GETARG_POINTER(0);

	agg_context(fcinfo, "sketch_agg_serialize");
	PG_RETURN_BYTEA_P(sketch_encode(sk));
}

/* bytea -> state, checked like received input */
Datum
sketch_agg_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);

	agg_context(fcinfo, "sketch_agg_deserialize");
	PG_RETURN_POINTER(sketch_decode(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b),
									SKETCH_FROM_BINARY, CurrentMemoryContext));
}

/* state -> sketch; NULL when the group had no values */
Datum
sketch_agg_final(PG_FUNCTION_ARGS)
{
	Sketch	   *sk = PG_ARGISNULL(0) ? NULL : (Sketch *) PG_GETARG_POINTER(0);

	agg_context(fcinfo, "sketch_agg_final");
	if (sk == NULL || sk->count == 0)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(sketch_encode(sk));
}

/* ---- Prometheus histograms ---- */

/* A one-dimensional float8 array without NULLs, as a C array. */
static double *
float8_array(ArrayType *a, const char *name, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	double	   *out;
	int			i;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", name)));
	deconstruct_array(a, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, n);
	out = palloc(sizeof(double) * Max(*n, 1));
	for (i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", name),
					 errdetail("Element %d is NULL.", i + 1)));
		out[i] = DatumGetFloat8(elems[i]);
	}
	return out;
}

static void
histogram_error(const char *msg, int i, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", msg),
			 errdetail("The problem is at bucket %d.", i + 1),
			 errhint("%s", hint)));
}

/* Check le and cumulative counts as scraped from a Prometheus histogram. */
static void
check_histogram(const double *le, const double *cum, int n)
{
	int			i;

	if (n < 1 || !(isinf(le[n - 1]) && le[n - 1] > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the last histogram bucket must be le = +Inf"),
				 errhint("Pass every _bucket series of the histogram, including le=\"+Inf\".")));
	for (i = 0; i < n; i++)
	{
		if (i < n - 1 && !isfinite(le[i]))
			histogram_error("histogram bucket bounds must be finite except the last (+Inf)", i,
							"Pass the le labels as numbers, in ascending order.");
		if (le[i] < 0)
			histogram_error("histogram bucket bounds must not be negative", i,
							"sketch_from_histogram reads latency histograms, whose bounds are >= 0.");
		if (i > 0 && !(le[i] > le[i - 1]))
			histogram_error("histogram bucket bounds must be strictly ascending", i,
							"Sort the buckets by le and pass each bound once.");
		if (!isfinite(cum[i]) || cum[i] < 0 || cum[i] != floor(cum[i]) || cum[i] > 9007199254740992.0)
			histogram_error("histogram bucket counts must be whole numbers between 0 and 2^53", i,
							"Pass the raw cumulative _bucket counts, not rates.");
		if (i > 0 && cum[i] < cum[i - 1])
			histogram_error("histogram bucket counts must not decrease", i,
							"Pass cumulative counts (each bucket counts every value <= le), "
							"all taken from the same scrape.");
	}
}

/*
 * Where the values of bucket (lo, hi] are placed: the harmonic middle
 * 2 lo hi / (lo + hi), the point whose worst relative error to any value in
 * the bucket is smallest, (hi - lo) / (hi + lo).  The first bucket (no lower
 * bound known) is placed at its upper bound; le = 0 at 0; the +Inf bucket at
 * the last finite bound (a lower bound of those values).
 */
static double
bucket_point(const double *le, int i, int n)
{
	if (i == n - 1)
		return i > 0 ? le[i - 1] : 0.0;
	if (i == 0 || le[i - 1] == 0.0)
		return le[i];
	return 2.0 * le[i - 1] * le[i] / (le[i - 1] + le[i]);
}

/* le[], cumulative counts[] (, alpha) -> sketch; NULL when the histogram is empty */
Datum
sketch_from_histogram(PG_FUNCTION_ARGS)
{
	ArrayType  *le_arr = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *cum_arr = PG_GETARG_ARRAYTYPE_P(1);
	double		alpha = PG_NARGS() > 2 ? PG_GETARG_FLOAT8(2) : SKETCH_DEFAULT_ALPHA;
	int			n;
	int			ncum;
	double	   *le;
	double	   *cum;
	Sketch	   *sk;
	int			i;

	sketch_check_alpha(alpha);
	le = float8_array(le_arr, "le", &n);
	cum = float8_array(cum_arr, "cumulative_counts", &ncum);
	if (n != ncum)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("le and cumulative_counts must have the same length"),
				 errdetail("le has %d elements, cumulative_counts has %d.", n, ncum)));
	check_histogram(le, cum, n);
	sk = sketch_create(CurrentMemoryContext, alpha);
	for (i = 0; i < n; i++)
	{
		double		c = cum[i] - (i > 0 ? cum[i - 1] : 0.0);

		if (c > 0)
			sketch_add_count(sk, bucket_point(le, i, n), (int64) c);
	}
	if (sk->count == 0)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(sketch_encode(sk));
}
