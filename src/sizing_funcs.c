/*
 * sizing_funcs.c: SQL-callable functions of the sizing model and of its side
 * rules (concurrent builds, replica size, workspace totals, daemons per
 * replica).  The pure model is in sizing.c; profile.c reads the profile.
 */
#include "postgres.h"

#include <math.h>

#include "funcapi.h"
#include "utils/builtins.h"

#include "args.h"
#include "sizing.h"

PG_FUNCTION_INFO_V1(coder_scale_shapes_valid);
PG_FUNCTION_INFO_V1(coder_scale_size);
PG_FUNCTION_INFO_V1(coder_scale_max_concurrent_builds);
PG_FUNCTION_INFO_V1(coder_scale_replica_size);
PG_FUNCTION_INFO_V1(coder_scale_workspace_totals);
PG_FUNCTION_INFO_V1(coder_scale_max_daemons_per_replica);

/* The columns of type coder_scale.recommendation (sql/parts/20_sizing.sql), in order. */
typedef enum RecommendationColumn
{
	REC_PROFILE,
	REC_USERS,
	REC_CONCURRENT_BUILDS,
	REC_CONCURRENT_CONNECTIONS,
	REC_RUNNING_WORKSPACES,
	REC_CODERD_CPU,
	REC_CODERD_MEMORY_GB,
	REC_DATABASE_CPU,
	REC_DATABASE_MEMORY_GB,
	REC_REPLICAS,
	REC_TOLERATED_FAILURES,
	REC_CPU_PER_REPLICA,
	REC_MEMORY_GB_PER_REPLICA,
	REC_CPU_PER_REPLICA_REQUIRED,
	REC_MEMORY_GB_PER_REPLICA_REQUIRED,
	REC_PROVISIONER_DAEMONS,
	REC_PROVISIONER_HOSTS,
	REC_PROVISIONER_CPU,
	REC_PROVISIONER_MEMORY_GB,
	REC_DATABASE_CPU_REQUIRED,
	REC_DATABASE_MEMORY_GB_REQUIRED,
	REC_DATABASE_FITS_SHAPE,
	REC_TRAFFIC_MBPS,
	REC_NCOLUMNS				/* result_tuple checks the type has this many */
} RecommendationColumn;

/* Largest workspace total (cores or GB) workspace_totals() returns. */
#define WORKSPACE_TOTAL_MAX 1e15

/* Raise 22003 when a workspace total is beyond WORKSPACE_TOTAL_MAX. */
static void
check_total(double x, const char *what)
{
	if (isinf(x) || x > WORKSPACE_TOTAL_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s out of range", what),
				 errhint("The users and the size per workspace multiply to more than %g; check their units.",
						 WORKSPACE_TOTAL_MAX)));
}

/* shapes_valid(cpu float8[], memory_gb float8[]) returns bool: do they describe shapes? */
Datum
coder_scale_shapes_valid(PG_FUNCTION_ARGS)
{
	const char *why;

	/* STRICT in SQL; checked here too, so a changed declaration cannot crash */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	PG_RETURN_BOOL(shapes_check(PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_ARRAYTYPE_P(1), NULL, &why));
}

/* size(users int, profile coder_scale.profile) returns coder_scale.recommendation. */
Datum
coder_scale_size(PG_FUNCTION_ARGS)
{
	int32		users = arg_users(fcinfo, 0);
	SizingProfile p;
	Sizing		s;
	Datum		v[REC_NCOLUMNS];
	bool		nulls[REC_NCOLUMNS] = {0};

	arg_not_null(fcinfo, 1, "profile");
	profile_from_datum(PG_GETARG_DATUM(1), &p);
	size_deployment(&p, users, &s);

	v[REC_PROFILE] = CStringGetTextDatum(p.name);
	v[REC_USERS] = Int32GetDatum(s.users);
	v[REC_CONCURRENT_BUILDS] = Int32GetDatum(s.concurrent_builds);
	v[REC_CONCURRENT_CONNECTIONS] = Int32GetDatum(s.concurrent_connections);
	v[REC_RUNNING_WORKSPACES] = Int32GetDatum(s.running_workspaces);
	v[REC_CODERD_CPU] = Float8GetDatum(s.replicas * s.cpu_per_replica);
	v[REC_CODERD_MEMORY_GB] = Float8GetDatum(s.replicas * s.memory_gb_per_replica);
	v[REC_DATABASE_CPU] = Float8GetDatum(s.database_cpu);
	v[REC_DATABASE_MEMORY_GB] = Float8GetDatum(s.database_memory_gb);
	v[REC_REPLICAS] = Int32GetDatum(s.replicas);
	v[REC_TOLERATED_FAILURES] = Int32GetDatum(s.tolerated_failures);
	v[REC_CPU_PER_REPLICA] = Float8GetDatum(s.cpu_per_replica);
	v[REC_MEMORY_GB_PER_REPLICA] = Float8GetDatum(s.memory_gb_per_replica);
	v[REC_CPU_PER_REPLICA_REQUIRED] = Float8GetDatum(s.cpu_per_replica_required);
	v[REC_MEMORY_GB_PER_REPLICA_REQUIRED] = Float8GetDatum(s.memory_gb_per_replica_required);
	v[REC_PROVISIONER_DAEMONS] = Int32GetDatum(s.provisioner_daemons);
	v[REC_PROVISIONER_HOSTS] = Int32GetDatum(s.provisioner_hosts);
	v[REC_PROVISIONER_CPU] = Float8GetDatum(s.provisioner_cpu);
	v[REC_PROVISIONER_MEMORY_GB] = Float8GetDatum(s.provisioner_memory_gb);
	v[REC_DATABASE_CPU_REQUIRED] = Float8GetDatum(s.database_cpu_required);
	v[REC_DATABASE_MEMORY_GB_REQUIRED] = Float8GetDatum(s.database_memory_gb_required);
	v[REC_DATABASE_FITS_SHAPE] = BoolGetDatum(s.database_fits_shape);
	v[REC_TRAFFIC_MBPS] = Float8GetDatum(round_up_cents(s.traffic_mbps));
	PG_RETURN_DATUM(result_tuple(fcinfo, v, nulls, REC_NCOLUMNS));
}

/* max_concurrent_builds(replicas int, daemons_per_replica int) returns int. */
Datum
coder_scale_max_concurrent_builds(PG_FUNCTION_ARGS)
{
	int32		replicas = arg_int_min(fcinfo, 0, "replicas", 1);
	int32		daemons = arg_int_min(fcinfo, 1, "daemons_per_replica", 0);
	int64		builds = (int64) replicas * daemons;

	if (builds > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%d replicas x %d daemons is out of range", replicas, daemons),
				 errhint("The product must be at most %d.", PG_INT32_MAX)));
	PG_RETURN_INT32((int32) builds);
}

/*
 * replica_size(total_cpu, total_memory_gb, replicas, tolerated_failures)
 * returns (cpu_per_replica, memory_gb_per_replica): what each replica needs
 * so that the survivors of tolerated_failures failures carry the total.
 */
Datum
coder_scale_replica_size(PG_FUNCTION_ARGS)
{
	double		cpu = arg_float_min(fcinfo, 0, "total_cpu", 0, true);
	double		mem = arg_float_min(fcinfo, 1, "total_memory_gb", 0, true);
	int32		replicas = arg_int_min(fcinfo, 2, "replicas", 1);
	int32		failures = arg_int_min(fcinfo, 3, "tolerated_failures", 0);
	Datum		v[2];
	bool		nulls[2] = {0};

	if (failures >= replicas)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tolerated_failures (%d) must be smaller than replicas (%d)", failures, replicas),
				 errhint("At least one replica must survive to carry the load.")));
	v[0] = Float8GetDatum(cpu / (replicas - failures));
	v[1] = Float8GetDatum(mem / (replicas - failures));
	PG_RETURN_DATUM(result_tuple(fcinfo, v, nulls, 2));
}

/*
 * workspace_totals(users, cpu_per_workspace, memory_gb_per_workspace,
 * overprovisioning) returns (cpu, memory_gb): the infrastructure workspaces
 * need, when overprovisioning workspaces share one allocation.
 */
Datum
coder_scale_workspace_totals(PG_FUNCTION_ARGS)
{
	int32		users = arg_users(fcinfo, 0);
	double		cpu = arg_float_min(fcinfo, 1, "cpu_per_workspace", 0, true);
	double		mem = arg_float_min(fcinfo, 2, "memory_gb_per_workspace", 0, true);
	double		ratio = arg_float_min(fcinfo, 3, "overprovisioning", 1, true);
	Datum		v[2];
	bool		nulls[2] = {0};

	v[0] = Float8GetDatum(users * cpu / ratio);
	v[1] = Float8GetDatum(users * mem / ratio);
	check_total(DatumGetFloat8(v[0]), "workspace cpu");
	check_total(DatumGetFloat8(v[1]), "workspace memory");
	PG_RETURN_DATUM(result_tuple(fcinfo, v, nulls, 2));
}

/*
 * max_daemons_per_replica(replica_cpu, profile) returns int: the most
 * built-in provisioner daemons a coderd replica of replica_cpu cores can run,
 * all busy, without passing the profile's target utilization.
 */
Datum
coder_scale_max_daemons_per_replica(PG_FUNCTION_ARGS)
{
	double		cpu = arg_float_min(fcinfo, 0, "replica_cpu", 0, false);
	SizingProfile p;
	double		per_daemon,
				room;

	arg_not_null(fcinfo, 1, "profile");
	profile_from_datum(PG_GETARG_DATUM(1), &p);
	per_daemon = p.provisioner_cpu_per_daemon +
		(p.provisioner_daemons_per_build > 0 ? p.coderd_cpu_per_build / p.provisioner_daemons_per_build : 0);
	room = cpu * p.target_utilization - p.coderd_cpu_base_per_replica;
	if (room <= 0)
		PG_RETURN_INT32(0);
	if (per_daemon <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("profile \"%s\" gives provisioner daemons no CPU cost, so there is no limit", p.name),
				 errhint("Set provisioner_cpu_per_daemon or coderd_cpu_per_build in the profile.")));
	if (room / per_daemon >= PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("a replica of %g cores fits more than %d provisioner daemons", cpu, PG_INT32_MAX),
				 errhint("Give replica_cpu in cores, like 4 or 16.")));
	PG_RETURN_INT32((int32) floor(room / per_daemon + 1e-9));
}
