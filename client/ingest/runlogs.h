/*
 * runlogs.h: what a Coder scale-test run's log text tells about its phases.
 */
#ifndef CODER_SCALE_RUNLOGS_H
#define CODER_SCALE_RUNLOGS_H

#include <stddef.h>
#include <stdint.h>

#include "common/categories.h"

/* Phase durations in milliseconds, -1 when the logs do not show them; the names they give. */
typedef struct run_phases
{
	int64_t		ms[T_COUNT];	/* per phase of categories.h; command and cleanup always -1 */
	char		user_name[128];		/* "" when unknown */
	char		workspace_name[128];
} run_phases;

/*
 * Recover phase timings from the logs Coder's createworkspaces runner
 * writes: the timestamped "sdk request"/"sdk response" lines of its API
 * client and the plain progress lines ("Build started!", "Build
 * succeeded!", "Agents connected!") between them.
 */
void		runlog_phases(const char *logs, size_t len, run_phases *out);

#endif
