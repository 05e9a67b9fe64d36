/*
 * profile.c: read a coder_scale.profile row into a SizingProfile, checking
 * every parameter.
 *
 * Rows stored in the table already passed its CHECK constraints, but a
 * profile can also be built on the fly (ROW(...)::coder_scale.profile), so
 * the model checks again here and says which parameter is wrong.
 */
#include "postgres.h"

#include <math.h>

#include "executor/executor.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "sizing.h"

typedef enum ProfileRule
{
	RULE_FRACTION,				/* [0, 1] */
	RULE_COST,					/* [0, infinity) */
	RULE_UTILIZATION,			/* (0, 1] */
	RULE_POSITIVE				/* (0, infinity) */
} ProfileRule;

typedef struct ProfileParam
{
	const char *name;
	size_t		offset;
	ProfileRule	kind;
} ProfileParam;

#define P(field, kind) {#field, offsetof(SizingProfile, field), kind}

static const ProfileParam float_params[] = {
	P(build_fraction, RULE_FRACTION),
	P(running_fraction, RULE_FRACTION),
	P(connections_per_workspace, RULE_COST),
	P(connection_start_fraction, RULE_FRACTION),
	P(bytes_per_second_per_connection, RULE_COST),
	P(browser_connection_fraction, RULE_FRACTION),
	P(dashboard_fraction, RULE_FRACTION),
	P(coderd_cpu_base_per_replica, RULE_COST),
	P(coderd_cpu_per_build, RULE_COST),
	P(coderd_cpu_per_user, RULE_COST),
	P(coderd_cpu_per_connection, RULE_COST),
	P(coderd_cpu_per_connection_start, RULE_COST),
	P(coderd_cpu_per_dashboard_user, RULE_COST),
	P(coderd_cpu_per_mbps_browser, RULE_COST),
	P(coderd_cpu_per_mbps_ssh, RULE_COST),
	P(coderd_memory_gb_base_per_replica, RULE_COST),
	P(coderd_memory_gb_per_build, RULE_COST),
	P(coderd_memory_gb_per_user, RULE_COST),
	P(coderd_memory_gb_per_connection, RULE_COST),
	P(database_cpu_base, RULE_COST),
	P(database_cpu_per_build, RULE_COST),
	P(database_cpu_per_user, RULE_COST),
	P(database_memory_gb_base, RULE_COST),
	P(database_memory_gb_per_build, RULE_COST),
	P(database_memory_gb_per_user, RULE_COST),
	P(provisioner_daemons_per_build, RULE_COST),
	P(provisioner_cpu_per_daemon, RULE_COST),
	P(provisioner_memory_gb_per_daemon, RULE_COST),
	P(target_utilization, RULE_UTILIZATION),
	P(max_replica_cpu, RULE_POSITIVE),
};

static const char *
kind_rule(ProfileRule kind)
{
	switch (kind)
	{
		case RULE_FRACTION:
			return "a fraction between 0 and 1";
		case RULE_COST:
			return "finite and not negative";
		case RULE_UTILIZATION:
			return "greater than 0 and at most 1";
		case RULE_POSITIVE:
			return "finite and greater than 0";
	}
	return "valid";
}

static bool
kind_accepts(ProfileRule kind, double x)
{
	if (isnan(x) || isinf(x))
		return false;
	switch (kind)
	{
		case RULE_FRACTION:
			return x >= 0 && x <= 1;
		case RULE_COST:
			return x >= 0;
		case RULE_UTILIZATION:
			return x > 0 && x <= 1;
		case RULE_POSITIVE:
			return x > 0;
	}
	return false;
}

static void
bad_parameter(const char *profile, const char *param, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("profile \"%s\": %s %s", profile, param, why),
			 errhint("Fix the profile with UPDATE coder_scale.profile, or derive a new one with coder_scale.derive_profile().")));
}

static Datum
attribute(HeapTupleHeader row, const char *profile, const char *name)
{
	bool		isnull;
	Datum		d = GetAttributeByName(row, name, &isnull);

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("profile \"%s\": %s must not be null", profile, name),
				 errhint("Every column of coder_scale.profile is needed by the model.")));
	return d;
}

static int32
int_param(HeapTupleHeader row, const char *profile, const char *name, int32 min)
{
	int32		v = DatumGetInt32(attribute(row, profile, name));

	if (v < min)
		bad_parameter(profile, name, psprintf("must be at least %d", min));
	return v;
}

static void
shape_param(HeapTupleHeader row, const char *profile, const char *cpu_name,
			const char *mem_name, ShapeList *out)
{
	const char *why;

	if (!shapes_check(DatumGetArrayTypeP(attribute(row, profile, cpu_name)),
					  DatumGetArrayTypeP(attribute(row, profile, mem_name)),
					  out, &why))
		bad_parameter(profile, psprintf("%s and %s", cpu_name, mem_name), why);
}

/*
 * Check two arrays of instance shapes and copy them out (out may be NULL).
 * On failure *why says what is wrong.
 */
bool
shapes_check(ArrayType *cpu, ArrayType *memory_gb, ShapeList *out, const char **why)
{
	Datum	   *cd,
			   *md;
	bool	   *cn,
			   *mn;
	int			nc,
				nm;

	if (ARR_NDIM(cpu) > 1 || ARR_NDIM(memory_gb) > 1)
	{
		*why = "must be one-dimensional arrays";
		return false;
	}
	deconstruct_array(cpu, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &cd, &cn, &nc);
	deconstruct_array(memory_gb, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &md, &mn, &nm);
	if (nc == 0 || nc != nm)
	{
		*why = "must list the same, non-zero number of shapes";
		return false;
	}
	if (nc > SIZING_MAX_SHAPES)
	{
		*why = psprintf("must list at most %d shapes", SIZING_MAX_SHAPES);
		return false;
	}
	for (int i = 0; i < nc; i++)
	{
		double		c,
					m;

		if (cn[i] || mn[i])
		{
			*why = "must not contain nulls";
			return false;
		}
		c = DatumGetFloat8(cd[i]);
		m = DatumGetFloat8(md[i]);
		if (!kind_accepts(RULE_POSITIVE, c) || !kind_accepts(RULE_POSITIVE, m))
		{
			*why = "must hold finite values greater than 0";
			return false;
		}
		if (i > 0 && (c <= DatumGetFloat8(cd[i - 1]) || m < DatumGetFloat8(md[i - 1])))
		{
			*why = "must be sorted: cpu strictly ascending, memory not decreasing";
			return false;
		}
		if (out)
		{
			out->cpu[i] = c;
			out->memory_gb[i] = m;
		}
	}
	if (out)
		out->n = nc;
	return true;
}

/* Read and check a coder_scale.profile composite value. */
void
profile_from_datum(Datum row_datum, SizingProfile *p)
{
	HeapTupleHeader row = DatumGetHeapTupleHeader(row_datum);
	bool		isnull;
	Datum		name = GetAttributeByName(row, "name", &isnull);

	memset(p, 0, sizeof(*p));
	strlcpy(p->name, isnull ? "(unnamed)" : TextDatumGetCString(name), sizeof(p->name));

	for (size_t i = 0; i < lengthof(float_params); i++)
	{
		const ProfileParam *s = &float_params[i];
		double		v = DatumGetFloat8(attribute(row, p->name, s->name));

		if (!kind_accepts(s->kind, v))
			bad_parameter(p->name, s->name, psprintf("must be %s, not %g", kind_rule(s->kind), v));
		*(double *) ((char *) p + s->offset) = v;
	}

	p->max_daemons_per_host = int_param(row, p->name, "max_daemons_per_host", 1);
	p->ha_from_users = int_param(row, p->name, "ha_from_users", 0);
	p->ha_min_replicas = int_param(row, p->name, "ha_min_replicas", 1);
	p->ha_tolerated_failures = int_param(row, p->name, "ha_tolerated_failures", 0);
	if (p->ha_tolerated_failures >= p->ha_min_replicas)
		bad_parameter(p->name, "ha_tolerated_failures", "must be smaller than ha_min_replicas");

	shape_param(row, p->name, "coderd_shape_cpu", "coderd_shape_memory_gb", &p->coderd_shapes);
	shape_param(row, p->name, "database_shape_cpu", "database_shape_memory_gb", &p->database_shapes);
	if (p->max_replica_cpu < p->coderd_shapes.cpu[0])
		bad_parameter(p->name, "max_replica_cpu", "must allow at least the smallest coderd shape");
}
