/*
 * record.h: what one scale-test run measured, as plain data.  The runner
 * (runner.c) fills it in; the scheduler, the outputs and the results writer
 * (store.c) only read it, so the writer knows nothing of how a run works.
 */
#ifndef CODER_SCALE_RECORD_H
#define CODER_SCALE_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/categories.h"

/* What a run measured, and how far it got. */
typedef struct run_record
{
	int			idx;			/* i of workspacebuild/<i> */
	char		full_id[32];	/* workspacebuild/<i> */
	char		name[48];		/* the workspace's name, scaletest-<rand8>-<i> */
	char		username[128];	/* as the logs show it ("Username:"), "" before */
	char		user_id[64];	/* "" until Coder gave one */
	char		ws_id[64];
	bool		started;
	bool		done;
	bool		user_attempted; /* a user may exist on the server */
	bool		ws_attempted;	/* a workspace may exist on the server */
	struct timespec started_wall;
	int64_t		duration_us;
	int64_t		t_us[T_COUNT];	/* per phase (categories.h); -1 when unknown */
	char	   *logs;			/* Coder-style run log, NUL-terminated */
	char	   *error;			/* NULL: passed */
	failure_category category;	/* CAT_NONE: passed */
	/* cleanup */
	bool		cl_started;
	bool		cl_done;
	bool		cl_canceled;	/* stopped by a second signal: left behind, not failed */
	char	   *cl_error;		/* NULL: cleaned up (or nothing to clean) */
} run_record;

#endif							/* CODER_SCALE_RECORD_H */
