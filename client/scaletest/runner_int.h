/*
 * runner_int.h: the inside of a run, shared by runner.c (create steps) and
 * runner_cleanup.c (the cleanup steps).  Nothing outside scaletest/runner*.c
 * includes it; the rest of the driver sees run_record (runner.h).
 */
#ifndef CODER_SCALE_RUNNER_INT_H
#define CODER_SCALE_RUNNER_INT_H

#include <json-c/json.h>

#include "runner.h"
#include "net/ws.h"

/*
 * Instants of a run that bound its phases, in ms on the run's clock (see
 * run_clock_ms); M_NONE when not reached.  They are the instants its log
 * lines carry, so the phases read back from the logs are the same.
 */
#define M_NONE INT64_MIN
enum
{
	M_USER_REQ,					/* POST /users sent */
	M_USER_RESP,				/* its answer */
	M_WS_REQ,					/* POST .../workspaces sent */
	M_WS_RESP,					/* its answer */
	M_QUEUE_FROM,				/* that answer, or a retry's POST .../builds answer */
	M_BUILD_FROM,				/* the poll that saw the job leave "pending" */
	M_BUILD_TO,					/* the poll that saw it succeed */
	M_AGENTS_TO,				/* the poll that saw every agent connected */
	M_COUNT
};


typedef enum
{
	P_USER,
	P_LOGIN,
	P_WORKSPACE,
	P_BUILD,
	P_AGENTS,
	P_COMMAND,
	P_FINISHED
} run_phase;

struct run
{
	run_record	rec;			/* first: what it measured */
	char		username[64];	/* the user it creates (rec.username: once the logs show it) */
	char		email[80];
	char		password[40];
	char		build_id[64];
	char		agent_id[64];
	char	   *token;			/* the run user's session token */
	run_phase	phase;
	uint64_t	t0_ns;
	uint64_t	phase_ns;
	int64_t		mark[M_COUNT];
	int64_t		last_ms;		/* the instant of the last timestamped log line */
	int64_t		req_ms;			/* the instant of the last "sdk request" line */
	char		bad_id[160];	/* why an id in an answer was refused */
	http_done_fn call_done;		/* the callback behind the logged call */
	char	   *call_url;
	http_call  *call;
	ws_conn    *ws;
	bool		timers_ready;
	uv_timer_t	poll;
	uv_timer_t	deadline;
	size_t		logs_len;
	size_t		logs_cap;
	int			retries_left;
	/* the command */
	char	   *pty_line;
	size_t		pty_len;
	bool		expect_found;
	bool		pty_timed_out;
	/* the build being waited for (runner_build.c) */
	void		(*bw_done) (struct run *r, json_object *build, const char *error,
							failure_category category);
	bool		bw_logged;
	char		bw_stage[64];	/* the stage of the last log line */
	/* cleanup */
	bool		adopted;		/* found by a listing (runner_adopt), not created here */
	int			cl_state;
	uint64_t	cl_t0_ns;
};


#define BUILD_POLL_MS	500			/* Coder polls a pending build this often */

/* The owner's environment, set by runner_setup(). */
extern runner_env run_env;

/* Shared steps of runner.c, used by the cleanup steps. */
void		stop_io(run *r);
void		deadline_in(uv_timer_t *t, uv_timer_cb cb, int64_t ms);
bool		take_id(run *r, char *dst, size_t size, const char *src, const char *what);
void		init_timers(run *r);
bool		ok_status(const http_result *res);

/* The next cleanup step of R (runner_cleanup.c). */
void		cleanup_step(run *r);

/* Text into the run's logs (runner.c); a value quoted as slog writes it. */
void		run_print(run *r, const char *fmt,...) __attribute__((format(printf, 2, 3)));
void		log_quoted(run *r, const char *s);

/*
 * Whose client R's calls go through: the run user's once logged in, else
 * (--use-host-login, or a cleanup of what a listing found) the owner's
 * runner client, with the bypass header.
 */
http_auth	run_auth(const run *r);
http_auth	owner_auth(void);

/*
 * A call through run_auth(R): LOGGED writes Coder's "sdk request" and "sdk
 * response" lines into the logs.  DONE always runs (with a transport error
 * when the call could not start).
 */
void		run_call(run *r, bool logged, const char *method, const char *path,
					 const char *body, http_done_fn done);

/*
 * Wait for build r->build_id as Coder's waitForBuild (runner_build.c); DONE
 * gets the finished build (succeeded), or Coder's error text and its
 * category.
 */
typedef void (*build_done_fn) (run *r, json_object *build, const char *error,
							   failure_category category);
void		build_wait(run *r, bool logged, build_done_fn done);

#endif							/* CODER_SCALE_RUNNER_INT_H */
