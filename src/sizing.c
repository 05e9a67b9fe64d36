/*
 * sizing.c: the sizing model.
 *
 * Every figure is a formula over the profile's parameters:
 *
 *   builds      = users x build_fraction
 *   workspaces  = users x running_fraction
 *   connections = workspaces x connections_per_workspace
 *   coderd load = sum of cost x driver (builds, users, connections, connection
 *                 starts, dashboard users, MB/s proxied for browsers and SSH)
 *
 * coderd is laid out as n identical replicas of one shape: with f replicas
 * allowed to fail, the n - f survivors carry the whole load, and each replica
 * must stay under the target utilization:
 *
 *   shape.cpu x target_utilization >= base_cpu + load / (n - f)
 *
 * (and the same for memory). The model takes the fewest replicas any shape
 * up to max_replica_cpu allows ("fewer, larger replicas are better"), then the
 * smallest shape that fits with that many. The database is one primary: its
 * requirement is rounded up to the smallest shape that holds it.
 */
#include "postgres.h"

#include <math.h>

#include "sizing.h"

/* Most replicas the model will lay out before calling the load unplaceable. */
#define MAX_REPLICAS 1000000

/* Relative slack for float noise: 50 x 0.06 must give 3 builds, not 4. */
#define SLACK 1e-9

/* Smallest whole count >= x, for counts of things (builds, users, hosts). */
int32
count_of(double x, const char *what)
{
	double		c = ceil(x - SLACK * fmax(1.0, fabs(x)));

	if (c < 0)
		c = 0;
	if (c > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s out of range: %.0f", what, c),
				 errhint("Use a smaller user count or a profile with smaller fractions.")));
	return (int32) c;
}

/* x rounded up to hundredths, for reporting raw requirements. */
double
round_up_cents(double x)
{
	return ceil(x * 100.0 - SLACK * fmax(1.0, fabs(x * 100.0))) / 100.0;
}

static bool
fits(double need, double have)
{
	return need <= have * (1.0 + SLACK);
}

/*
 * Replicas needed to carry load with per-replica capacity cap (both cores or
 * both GB); -1 when no number of replicas can.
 */
static double
survivors_needed(double load, double cap)
{
	if (cap < 0 || (cap <= 0 && load > 0))
		return -1;
	if (load <= 0)
		return 1;
	return fmax(1.0, ceil(load / cap - SLACK));
}

static void
layout_coderd(const SizingProfile *p, bool ha, Sizing *s)
{
	const ShapeList *shapes = &p->coderd_shapes;
	int			min_replicas = ha ? p->ha_min_replicas : 1;
	int			failures = ha ? p->ha_tolerated_failures : 0;
	int			best = -1;
	double		best_n = 0;

	for (int i = 0; i < shapes->n && shapes->cpu[i] <= p->max_replica_cpu * (1.0 + SLACK); i++)
	{
		double		u = p->target_utilization;
		double		by_cpu = survivors_needed(s->coderd_cpu_load,
											  shapes->cpu[i] * u - p->coderd_cpu_base_per_replica);
		double		by_mem = survivors_needed(s->coderd_memory_gb_load,
											  shapes->memory_gb[i] * u - p->coderd_memory_gb_base_per_replica);
		double		n;

		if (by_cpu < 0 || by_mem < 0)
			continue;
		n = fmax(min_replicas, fmax(by_cpu, by_mem) + failures);
		if (n <= MAX_REPLICAS && (best < 0 || n < best_n))
		{
			best = i;
			best_n = n;
		}
	}
	if (best < 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("profile \"%s\": no coderd layout of at most %d replicas carries %d users",
						p->name, MAX_REPLICAS, s->users),
				 errdetail("The per-replica base cost, the target utilization and the largest allowed shape (%g cores) leave too little room.",
						   p->max_replica_cpu),
				 errhint("Raise max_replica_cpu or target_utilization, or add larger coderd shapes to the profile.")));

	s->replicas = (int32) best_n;
	s->tolerated_failures = failures;
	s->cpu_per_replica = shapes->cpu[best];
	s->memory_gb_per_replica = shapes->memory_gb[best];
	s->cpu_per_replica_required = round_up_cents(
		(p->coderd_cpu_base_per_replica + s->coderd_cpu_load / (best_n - failures)) / p->target_utilization);
	s->memory_gb_per_replica_required = round_up_cents(
		(p->coderd_memory_gb_base_per_replica + s->coderd_memory_gb_load / (best_n - failures)) / p->target_utilization);
}

static void
layout_database(const SizingProfile *p, Sizing *s)
{
	const ShapeList *shapes = &p->database_shapes;
	double		cpu = (p->database_cpu_base + p->database_cpu_per_build * s->concurrent_builds +
					   p->database_cpu_per_user * s->users) / p->target_utilization;
	double		mem = (p->database_memory_gb_base + p->database_memory_gb_per_build * s->concurrent_builds +
					   p->database_memory_gb_per_user * s->users) / p->target_utilization;

	s->database_cpu_required = round_up_cents(cpu);
	s->database_memory_gb_required = round_up_cents(mem);
	for (int i = 0; i < shapes->n; i++)
	{
		if (fits(cpu, shapes->cpu[i]) && fits(mem, shapes->memory_gb[i]))
		{
			s->database_cpu = shapes->cpu[i];
			s->database_memory_gb = shapes->memory_gb[i];
			s->database_fits_shape = true;
			return;
		}
	}
	/*
	 * Larger than any listed shape: the requirement in whole units, never
	 * less than the largest shape in either dimension.
	 */
	s->database_cpu = fmax(count_of(cpu, "database cpu"), shapes->cpu[shapes->n - 1]);
	s->database_memory_gb = fmax(count_of(mem, "database memory"), shapes->memory_gb[shapes->n - 1]);
	s->database_fits_shape = false;
}

static void
size_provisioners(const SizingProfile *p, Sizing *s)
{
	s->provisioner_daemons = count_of(s->concurrent_builds * p->provisioner_daemons_per_build,
									  "provisioner daemons");
	s->provisioner_hosts = count_of((double) s->provisioner_daemons / p->max_daemons_per_host,
									"provisioner hosts");
	s->provisioner_cpu = s->provisioner_daemons * p->provisioner_cpu_per_daemon;
	s->provisioner_memory_gb = s->provisioner_daemons * p->provisioner_memory_gb_per_daemon;
}

/* Size a deployment of users active users with profile p. */
void
size_deployment(const SizingProfile *p, int32 users, Sizing *s)
{
	double		browser_mbps;

	memset(s, 0, sizeof(*s));
	s->users = users;
	s->concurrent_builds = count_of(users * p->build_fraction, "concurrent builds");
	s->running_workspaces = count_of(users * p->running_fraction, "running workspaces");
	s->concurrent_connections = count_of(s->running_workspaces * p->connections_per_workspace,
										 "concurrent connections");
	s->connection_starts = count_of(users * p->connection_start_fraction, "connection starts");
	s->dashboard_users = count_of(users * p->dashboard_fraction, "dashboard users");
	s->traffic_mbps = s->concurrent_connections * p->bytes_per_second_per_connection / 1e6;
	browser_mbps = s->traffic_mbps * p->browser_connection_fraction;

	s->coderd_cpu_load = p->coderd_cpu_per_build * s->concurrent_builds
		+ p->coderd_cpu_per_user * users
		+ p->coderd_cpu_per_connection * s->concurrent_connections
		+ p->coderd_cpu_per_connection_start * s->connection_starts
		+ p->coderd_cpu_per_dashboard_user * s->dashboard_users
		+ p->coderd_cpu_per_mbps_browser * browser_mbps
		+ p->coderd_cpu_per_mbps_ssh * (s->traffic_mbps - browser_mbps);
	s->coderd_memory_gb_load = p->coderd_memory_gb_per_build * s->concurrent_builds
		+ p->coderd_memory_gb_per_user * users
		+ p->coderd_memory_gb_per_connection * s->concurrent_connections;

	layout_coderd(p, users >= p->ha_from_users, s);
	size_provisioners(p, s);
	layout_database(p, s);
}
