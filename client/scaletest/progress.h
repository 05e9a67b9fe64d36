/*
 * progress.h: the status line of a long test, on stderr while the runs and
 * their cleanup go on: once a second, overwritten in place, when stderr is a
 * terminal; a plain line every 10 s when it is not; none with --quiet.
 *
 *     coder-scale: scaletest: 25s: 20/20 started: 0 creating, 14 queued, 3 building,
 *       0 waiting for agents, 0 running the command, 3 done, 0 failed;
 *       17 builds in flight, longest queue wait 22.0s
 *
 * (one line; in the cleanup "; cleanup: 5 of 20 cleaned, 0 failed, 3 in
 * flight" follows).  The counts are kept as the runs move (progress_move,
 * O(1) each), so a line costs the same at 10 workspaces as at 10,000.  All
 * calls on the loop's thread; every call before progress_start (or after
 * progress_stop) does nothing, so the runner may call progress_move from
 * any command.
 */
#ifndef CODER_SCALE_PROGRESS_H
#define CODER_SCALE_PROGRESS_H

#include <stdbool.h>
#include <uv.h>

/* Where a run is; each run is in exactly one stage. */
typedef enum
{
	PS_PENDING,					/* not started */
	PS_CREATING,				/* creating its user (and logging in) and workspace */
	PS_QUEUED,					/* its build's job is pending */
	PS_BUILDING,				/* its build's job runs */
	PS_AGENTS,					/* waiting for its agents */
	PS_COMMAND,					/* running the command */
	PS_DONE,					/* passed */
	PS_FAILED,
	PS_COUNT
} progress_stage;

/* How one cleanup ended. */
typedef enum
{
	PC_CLEANED,
	PC_FAILED,
	PC_LEFT						/* canceled: left behind, neither cleaned nor failed */
} progress_cleanup;

/*
 * Start the line for NRUNS runs (all PS_PENDING) on LOOP; QUIET: no line at
 * all.  The line goes to stderr, its form chosen by isatty(2).
 */
void		progress_start(uv_loop_t *loop, int nruns, bool quiet);

/* Run IDX (0-based) is now in stage TO. */
void		progress_move(int idx, progress_stage to);

/* The cleanup phase began, with TOTAL runs to clean up. */
void		progress_cleanup_begin(int total);

/* A cleanup started; one ended, as HOW. */
void		progress_cleanup_started(void);
void		progress_cleanup_ended(progress_cleanup how);

/* Take a terminal's status line off the screen before other output; the next tick draws it again. */
void		progress_clear(void);

/* The test is over: clear the line, stop the timer, free the counts. */
void		progress_stop(void);

#endif							/* CODER_SCALE_PROGRESS_H */
