/*
 * burst.c: the morning burst, a build-queue model.
 *
 * N builds arrive at once; replicas x daemons slots take them in FIFO order.
 * Slot j runs builds j, j + slots, j + 2 slots, ... back to back, so build i
 * waits for k = floor(i / slots) earlier builds on its slot. With build times
 * of mean mu and standard deviation sigma, that wait has mean k mu and (for
 * independent builds, by the central limit theorem) is about normal with
 * standard deviation sqrt(k) sigma. The p95 wait is the 95th percentile of
 * the mixture of these N waits; with sigma = 0 it is exact.
 */
#include "postgres.h"

#include <math.h>

#include "datatype/timestamp.h"
#include "utils/timestamp.h"

#include "args.h"

PG_FUNCTION_INFO_V1(coder_scale_burst);
PG_FUNCTION_INFO_V1(coder_scale_daemons_for_wait);

/* Largest burst the model takes: a p95 costs O(builds / slots) per step. */
#define BURST_MAX_BUILDS 1000000
#define P95 0.95

typedef struct Queue
{
	int64		builds;
	int64		slots;
	double		mu;				/* mean build time, seconds */
	double		sigma;			/* its standard deviation, seconds */
} Queue;

static int64
waves_of(const Queue *q)
{
	return (q->builds + q->slots - 1) / q->slots;
}

/* Mean wait: mu times the mean of floor(i / slots) over i < builds. */
static double
mean_wait(const Queue *q)
{
	int64		full = q->builds / q->slots;
	int64		rest = q->builds % q->slots;
	double		sum_k = (double) q->slots * full * (full - 1) / 2.0 + (double) rest * full;

	return q->mu * sum_k / q->builds;
}

/* Share of builds that have waited at most t seconds. */
static double
share_started_by(const Queue *q, double t)
{
	int64		waves = waves_of(q);
	double		started = 0;

	for (int64 k = 0; k < waves; k++)
	{
		int64		n = (k < waves - 1) ? q->slots : q->builds - q->slots * (waves - 1);
		double		p;

		if (k == 0 || q->sigma == 0)
			p = (t >= k * q->mu) ? 1.0 : 0.0;
		else
			p = 0.5 * erfc(-(t - k * q->mu) / (sqrt((double) k) * q->sigma * M_SQRT2));
		started += n * p;
	}
	return started / q->builds;
}

/* The 95th percentile of the wait in the queue, seconds. */
static double
p95_wait(const Queue *q)
{
	double		lo = 0,
				hi;
	int64		waves = waves_of(q);

	if (q->sigma == 0)
	{
		int64		pos = (int64) ceil(P95 * q->builds - 1e-9) - 1;

		return (pos / q->slots) * q->mu;
	}
	if (share_started_by(q, 0) >= P95)
		return 0;
	hi = (waves - 1) * q->mu + 10 * sqrt((double) waves) * q->sigma;
	for (int i = 0; i < 100 && hi - lo > 1e-7; i++)
	{
		double		mid = (lo + hi) / 2;

		if (share_started_by(q, mid) >= P95)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

static Datum
interval_from_seconds(double s)
{
	Interval   *iv = palloc0(sizeof(Interval));

	if (s > 1e12)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("queue time out of range"),
				 errhint("Use shorter build times or fewer builds.")));
	iv->time = (TimeOffset) llround(s * USECS_PER_SEC);
	return IntervalPGetDatum(iv);
}

static void
read_queue(FunctionCallInfo fcinfo, int builds_arg, int time_arg, int stddev_arg, Queue *q)
{
	q->builds = arg_int_min(fcinfo, builds_arg, "builds", 1);
	if (q->builds > BURST_MAX_BUILDS)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("builds must be at most %d, not %lld", BURST_MAX_BUILDS, (long long) q->builds)));
	q->mu = arg_seconds(fcinfo, time_arg, "build_time", true);
	q->sigma = arg_seconds(fcinfo, stddev_arg, "build_time_stddev", false);
}

/*
 * burst(builds, replicas, daemons_per_replica, build_time, build_time_stddev)
 * returns (slots, waves, last_start, last_finish, mean_wait, p95_wait).
 */
Datum
coder_scale_burst(PG_FUNCTION_ARGS)
{
	Queue		q;
	int32		replicas = arg_int_min(fcinfo, 1, "replicas", 1);
	int32		daemons = arg_int_min(fcinfo, 2, "daemons_per_replica", 1);
	Datum		v[6];
	bool		nulls[6] = {0};
	int64		waves;

	read_queue(fcinfo, 0, 3, 4, &q);
	q.slots = (int64) replicas * daemons;
	if (q.slots > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%d replicas x %d daemons is out of range", replicas, daemons)));
	waves = waves_of(&q);

	v[0] = Int32GetDatum((int32) q.slots);
	v[1] = Int32GetDatum((int32) waves);
	v[2] = interval_from_seconds((waves - 1) * q.mu);
	v[3] = interval_from_seconds(waves * q.mu);
	v[4] = interval_from_seconds(mean_wait(&q));
	v[5] = interval_from_seconds(p95_wait(&q));
	PG_RETURN_DATUM(result_tuple(fcinfo, v, nulls, 6));
}

/*
 * daemons_for_wait(builds, p95_wait, build_time, build_time_stddev, replicas)
 * returns (daemons, daemons_per_replica, p95_wait): the fewest daemons per
 * replica that keep the p95 wait in the queue at or under the target.
 */
Datum
coder_scale_daemons_for_wait(PG_FUNCTION_ARGS)
{
	Queue		q;
	double		target = arg_seconds(fcinfo, 1, "p95_wait", false);
	int32		replicas = arg_int_min(fcinfo, 4, "replicas", 1);
	int64		lo = 1,
				hi,
				per_replica;
	Datum		v[3];
	bool		nulls[3] = {0};

	read_queue(fcinfo, 0, 2, 3, &q);
	/* The p95 wait falls as slots grow, and is 0 with a slot per build. */
	hi = q.builds;
	while (lo < hi)
	{
		q.slots = (lo + hi) / 2;
		if (p95_wait(&q) <= target + 1e-6)
			hi = q.slots;
		else
			lo = q.slots + 1;
	}
	per_replica = (lo + replicas - 1) / replicas;
	q.slots = per_replica * replicas;

	v[0] = Int32GetDatum((int32) q.slots);
	v[1] = Int32GetDatum((int32) per_replica);
	v[2] = interval_from_seconds(p95_wait(&q));
	PG_RETURN_DATUM(result_tuple(fcinfo, v, nulls, 3));
}
