/*
 * sizing.h: the sizing model of coder_scale.
 *
 * A profile (one row of coder_scale.profile) holds every assumption and cost
 * coefficient; size_deployment() turns a user count into a layout: coderd
 * replicas and their shape, provisioner daemons, and a database shape.
 */
#ifndef CODER_SCALE_SIZING_H
#define CODER_SCALE_SIZING_H

#include "postgres.h"
#include "fmgr.h"
#include "utils/array.h"

/* Largest user count the model accepts: beyond it figures stop meaning anything. */
#define SIZING_MAX_USERS 10000000
/* Largest number of instance shapes a profile may list. */
#define SIZING_MAX_SHAPES 256

typedef struct ShapeList
{
	int			n;
	double		cpu[SIZING_MAX_SHAPES];
	double		memory_gb[SIZING_MAX_SHAPES];
} ShapeList;

typedef struct SizingProfile
{
	char		name[NAMEDATALEN];

	/* workload */
	double		build_fraction;
	double		running_fraction;
	double		connections_per_workspace;
	double		connection_start_fraction;
	double		bytes_per_second_per_connection;
	double		browser_connection_fraction;
	double		dashboard_fraction;

	/* coderd */
	double		coderd_cpu_base_per_replica;
	double		coderd_cpu_per_build;
	double		coderd_cpu_per_user;
	double		coderd_cpu_per_connection;
	double		coderd_cpu_per_connection_start;
	double		coderd_cpu_per_dashboard_user;
	double		coderd_cpu_per_mbps_browser;
	double		coderd_cpu_per_mbps_ssh;
	double		coderd_memory_gb_base_per_replica;
	double		coderd_memory_gb_per_build;
	double		coderd_memory_gb_per_user;
	double		coderd_memory_gb_per_connection;

	/* database */
	double		database_cpu_base;
	double		database_cpu_per_build;
	double		database_cpu_per_user;
	double		database_memory_gb_base;
	double		database_memory_gb_per_build;
	double		database_memory_gb_per_user;

	/* provisioners */
	double		provisioner_daemons_per_build;
	double		provisioner_cpu_per_daemon;
	double		provisioner_memory_gb_per_daemon;
	int32		max_daemons_per_host;

	/* headroom and HA */
	double		target_utilization;
	int32		ha_from_users;
	int32		ha_min_replicas;
	int32		ha_tolerated_failures;
	double		max_replica_cpu;

	ShapeList	coderd_shapes;
	ShapeList	database_shapes;
} SizingProfile;

typedef struct Sizing
{
	int32		users;
	int32		concurrent_builds;
	int32		running_workspaces;
	int32		concurrent_connections;
	int32		connection_starts;
	int32		dashboard_users;
	double		traffic_mbps;

	/* coderd: load excludes the per-replica base */
	double		coderd_cpu_load;
	double		coderd_memory_gb_load;
	int32		replicas;
	int32		tolerated_failures;
	double		cpu_per_replica;
	double		memory_gb_per_replica;
	double		cpu_per_replica_required;
	double		memory_gb_per_replica_required;

	int32		provisioner_daemons;
	int32		provisioner_hosts;
	double		provisioner_cpu;
	double		provisioner_memory_gb;

	double		database_cpu_required;
	double		database_memory_gb_required;
	double		database_cpu;
	double		database_memory_gb;
	bool		database_fits_shape;
} Sizing;

/* profile.c */
extern void profile_from_datum(Datum row, SizingProfile *p);
extern bool shapes_check(ArrayType *cpu, ArrayType *memory_gb, ShapeList *out, const char **why);

/* sizing.c */
extern void size_deployment(const SizingProfile *p, int32 users, Sizing *out);
extern int32 count_of(double x, const char *what);
extern double round_up_cents(double x);

#endif							/* CODER_SCALE_SIZING_H */
