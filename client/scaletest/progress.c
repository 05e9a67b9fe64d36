/*
 * progress.c: the status line of a long test (progress.h).
 *
 * Coder's tool prints nothing between "Running load test..." and the
 * results (cli/exp_scaletest.go has a "TODO: live progress output"), so the
 * line is ours.  Its counts are kept as the runs move: a count per stage,
 * each run's stage in a byte, and the queued runs in a list in the order
 * they joined the queue (its head is the one waiting longest), so neither a
 * move nor a line ever walks the runs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "cli.h"
#include "progress.h"

#define TTY_EVERY_MS	1000
#define PLAIN_EVERY_MS	10000

static struct
{
	bool		on;
	bool		tty;			/* stderr is a terminal: one line, drawn over */
	bool		shown;			/* a terminal line is on the screen */
	uv_loop_t  *loop;
	uv_timer_t	timer;
	bool		timer_ready;
	uint64_t	t0_ms;
	int			n;
	unsigned char *stage;		/* each run's progress_stage */
	int			count[PS_COUNT];
	/* the queued runs, oldest first: a list through qnext/qprev (-1 ends it) */
	int		   *qnext;
	int		   *qprev;
	uint64_t   *qsince;			/* when each joined the queue (loop ms) */
	int			qhead;
	int			qtail;
	uint64_t	longest_wait_ms;	/* of the waits that ended */
	bool		cleanup;
	int			cl_total;
	int			cl_active;
	int			cl_cleaned;
	int			cl_failed;
} pg = {.qhead = -1, .qtail = -1};

/* Run IDX joins the end of the queue. */
static void
queue_join(int idx, uint64_t now)
{
	pg.qsince[idx] = now;
	pg.qnext[idx] = -1;
	pg.qprev[idx] = pg.qtail;
	if (pg.qtail >= 0)
		pg.qnext[pg.qtail] = idx;
	else
		pg.qhead = idx;
	pg.qtail = idx;
}

/* Run IDX leaves the queue: its wait counts for the longest. */
static void
queue_leave(int idx, uint64_t now)
{
	int			prev = pg.qprev[idx],
				next = pg.qnext[idx];

	if (prev >= 0)
		pg.qnext[prev] = next;
	else
		pg.qhead = next;
	if (next >= 0)
		pg.qprev[next] = prev;
	else
		pg.qtail = prev;
	if (now - pg.qsince[idx] > pg.longest_wait_ms)
		pg.longest_wait_ms = now - pg.qsince[idx];
}

/* The line, without a newline, into OUT. */
static void
compose(char *out, size_t size)
{
	uint64_t	now = uv_now(pg.loop);
	uint64_t	wait = pg.longest_wait_ms;
	unsigned	secs = (unsigned) ((now - pg.t0_ms) / 1000);
	char		elapsed[32];
	int			len;

	if (pg.qhead >= 0 && now - pg.qsince[pg.qhead] > wait)
		wait = now - pg.qsince[pg.qhead];
	if (secs >= 60)
		snprintf(elapsed, sizeof(elapsed), "%um%02us", secs / 60, secs % 60);
	else
		snprintf(elapsed, sizeof(elapsed), "%us", secs);
	len = snprintf(out, size, "coder-scale: scaletest: %s: %d/%d started: %d creating, %d queued, %d building, "
				   "%d waiting for agents, %d running the command, %d done, %d failed; "
				   "%d builds in flight, longest queue wait %.1fs",
				   elapsed, pg.n - pg.count[PS_PENDING], pg.n, pg.count[PS_CREATING], pg.count[PS_QUEUED],
				   pg.count[PS_BUILDING], pg.count[PS_AGENTS], pg.count[PS_COMMAND], pg.count[PS_DONE],
				   pg.count[PS_FAILED], pg.count[PS_QUEUED] + pg.count[PS_BUILDING], wait / 1000.0);
	if (pg.cleanup && len > 0 && (size_t) len < size)
		snprintf(out + len, size - (size_t) len, "; cleanup: %d of %d cleaned, %d failed, %d in flight",
				 pg.cl_cleaned, pg.cl_total, pg.cl_failed, pg.cl_active);
}

/* The terminal's width in columns (80 when it does not say). */
static int
tty_width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/*
 * Draw the line: on a terminal over the last one ("\r", the line cut to the
 * width so it never wraps, then erase to the end of the line); else as a
 * line of its own.
 */
static void
draw(uv_timer_t *t)
{
	char		line[512];

	(void) t;
	compose(line, sizeof(line));
	flockfile(stderr);
	if (pg.tty)
	{
		int			width = tty_width() - 1;

		if ((int) strlen(line) > width)
			line[width > 0 ? width : 0] = '\0';
		fprintf(stderr, "\r%s\033[K", line);
		pg.shown = true;
	}
	else
		fprintf(stderr, "%s\n", line);
	funlockfile(stderr);
}

void
progress_start(uv_loop_t *loop, int nruns, bool quiet)
{
	if (quiet || nruns <= 0)
		return;
	pg.stage = calloc((size_t) nruns, 1);
	pg.qnext = malloc(sizeof(int) * (size_t) nruns);
	pg.qprev = malloc(sizeof(int) * (size_t) nruns);
	pg.qsince = malloc(sizeof(uint64_t) * (size_t) nruns);
	if (!pg.stage || !pg.qnext || !pg.qprev || !pg.qsince)
		cli_out_of_memory("the status line");
	pg.n = nruns;
	pg.count[PS_PENDING] = nruns;
	pg.loop = loop;
	pg.tty = isatty(STDERR_FILENO);
	uv_update_time(loop);
	pg.t0_ms = uv_now(loop);
	if (!pg.timer_ready)
		uv_timer_init(loop, &pg.timer);
	pg.timer_ready = true;
	uv_unref((uv_handle_t *) &pg.timer);	/* it never keeps the loop alive */
	uv_timer_start(&pg.timer, draw, pg.tty ? TTY_EVERY_MS : PLAIN_EVERY_MS, pg.tty ? TTY_EVERY_MS : PLAIN_EVERY_MS);
	pg.on = true;
}

void
progress_move(int idx, progress_stage to)
{
	progress_stage from;
	uint64_t	now;

	if (!pg.on || idx < 0 || idx >= pg.n || (from = (progress_stage) pg.stage[idx]) == to)
		return;
	pg.count[from]--;
	pg.count[to]++;
	pg.stage[idx] = (unsigned char) to;
	if (from != PS_QUEUED && to != PS_QUEUED)
		return;
	now = uv_now(pg.loop);
	if (from == PS_QUEUED)
		queue_leave(idx, now);
	if (to == PS_QUEUED)
		queue_join(idx, now);
}

void
progress_cleanup_begin(int total)
{
	pg.cleanup = true;
	pg.cl_total = total;
}

void
progress_cleanup_started(void)
{
	pg.cl_active++;
}

void
progress_cleanup_ended(progress_cleanup how)
{
	pg.cl_active--;
	if (how == PC_CLEANED)
		pg.cl_cleaned++;
	else if (how == PC_FAILED)
		pg.cl_failed++;
}

void
progress_clear(void)
{
	if (!pg.shown)
		return;
	fputs("\r\033[K", stderr);
	pg.shown = false;
}

void
progress_stop(void)
{
	if (!pg.on)
		return;
	progress_clear();
	uv_timer_stop(&pg.timer);
	free(pg.stage);
	free(pg.qnext);
	free(pg.qprev);
	free(pg.qsince);
	pg.stage = NULL;
	pg.qnext = pg.qprev = NULL;
	pg.qsince = NULL;
	pg.on = false;
}
