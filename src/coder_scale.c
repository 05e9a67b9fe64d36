/*
 * coder_scale.c: module entry point of the coder_scale extension.
 *
 * The SQL-callable functions live beside their concern, each family with
 * its SQL in sql/parts:
 *   sizing.c, profile.c, sizing_funcs.c   the sizing model, reading a profile,
 *                                         and the model's SQL functions
 *   burst.c                               the build-queue model of the morning burst
 *   args.c                                argument checks they share
 *   sketch.c, sketch_io.c, sketch_agg.c,  coder_scale.sketch: the sketch, its text
 *   sketch_access.c                       and binary forms, aggregates, accessors
 *   counter_agg.c, counter_io.c,          coder_scale.counter_summary: the
 *   counter_access.c                      aggregate, its forms, accessors
 *   aggutil.c, textread.c                 what the aggregates and the type input
 *                                         functions share
 */
#include "postgres.h"
#include "fmgr.h"

PG_MODULE_MAGIC;
