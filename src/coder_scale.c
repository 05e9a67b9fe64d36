/*
 * coder_scale.c: module entry point of the coder_scale extension.
 *
 * The SQL-callable functions live beside their concern:
 *   sizing.c, sizing_funcs.c   the sizing model and its SQL wrappers
 *   burst.c                    the build-queue model of the morning burst
 */
#include "postgres.h"
#include "fmgr.h"

PG_MODULE_MAGIC;
