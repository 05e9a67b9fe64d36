/*
 * runner.h: one scale-test run (one user, one workspace) as a state machine
 * on the driver's event loop, and what scaletest.c, cleanup.c and store.c
 * share about runs.
 */
#ifndef CODER_SCALE_RUNNER_H
#define CODER_SCALE_RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "common/categories.h"
#include "net/http.h"
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

typedef struct st_param
{
	char	   *name;
	char	   *value;
} st_param;

/* The flags of create-workspaces, and what the checks before a test found. */
typedef struct st_config
{
	int			count;
	const char *template_arg;
	st_param   *params;
	int			nparams;
	int			concurrency;
	int			cleanup_concurrency;
	int64_t		timeout_ms;		/* 0 = none, everywhere */
	int64_t		job_timeout_ms;
	int64_t		cleanup_timeout_ms;
	int64_t		cleanup_job_timeout_ms;
	const char *run_command;
	int64_t		run_timeout_ms;
	const char *run_expect_output;
	bool		run_expect_timeout;
	bool		run_log_output;
	bool		no_cleanup;
	bool		no_wait_for_agents;
	bool		use_host_login;
	int			retry;
	bool		insecure;

	/* found before the test starts */
	char		org_id[64];
	char		template_id[64];
	char		template_name[256];
	char		me_id[64];
	char		rand8[9];
} st_config;

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

typedef struct run
{
	int			idx;
	char		full_id[32];	/* workspacebuild/<i> */
	char		name[48];		/* scaletest-<rand8>-<i>: user and workspace */
	char		email[80];
	char		username[128];	/* as the logs show it ("Username:"), "" before */
	char		password[40];
	char		user_id[64];
	char		ws_id[64];
	char		build_id[64];
	char		agent_id[64];
	char	   *token;			/* the run user's session token */
	run_phase	phase;
	bool		started;
	bool		done;
	bool		user_attempted;
	bool		ws_attempted;
	uint64_t	t0_ns;
	uint64_t	phase_ns;
	struct timespec started_wall;
	int64_t		t_us[T_COUNT];
	int64_t		mark[M_COUNT];
	int64_t		last_ms;		/* the instant of the last timestamped log line */
	bool		build_started;	/* the current build's job has left "pending" */
	char		bad_id[160];	/* why an id in an answer was refused */
	http_done_fn call_done;		/* the callback behind the logged call */
	char	   *call_url;
	int64_t		duration_us;
	http_call  *call;
	ws_conn    *ws;
	bool		timers_ready;
	uv_timer_t	poll;
	uv_timer_t	deadline;
	char	   *logs;
	size_t		logs_len;
	size_t		logs_cap;
	char	   *error;			/* NULL: passed */
	const char *category;		/* failure_category name, NULL: passed */
	int			retries_left;
	/* the command */
	char	   *pty_line;
	size_t		pty_len;
	bool		expect_found;
	bool		pty_timed_out;
	/* cleanup */
	int			cl_state;
	bool		cl_started;
	bool		cl_done;
	bool		cl_canceled;	/* stopped by a second signal: left behind, not failed */
	char	   *cl_error;
	uint64_t	cl_t0_ns;
} run;

/* What the runner needs from its owner. */
typedef struct runner_env
{
	uv_loop_t  *loop;
	http_client *http;
	const st_config *cfg;
	const char *owner_token;
	const char *base_url;		/* Coder's URL without a trailing slash, for the logs */
	void		(*run_done) (run *r);
	void		(*cleanup_done) (run *r);
} runner_env;

void		runner_setup(const runner_env *env);

/* Set up run I (names, ids) without starting it. */
void		runner_init(run *r, int i, const char *rand8);

void		runner_start(run *r);

/* Stop a run in flight now: it fails with "<step>: REASON". */
void		runner_stop(run *r, const char *reason, const char *category);

/* Fail a run that never started (the whole phase timed out). */
void		runner_fail_unstarted(run *r, const char *reason, const char *category);

/* The run's start in microseconds since the epoch (its end: + duration_us). */
int64_t		run_start_us(const run *r);

/* Whether the run left anything on the server to clean up. */
bool		runner_needs_cleanup(const run *r);
void		runner_cleanup(run *r);
void		runner_stop_cleanup(run *r, const char *reason);

/* Helpers shared with the output code. */
/* Plain text into a run's logs, as given (newlines included). */
void		run_print(run *r, const char *fmt,...) __attribute__((format(printf, 2, 3)));
char	   *go_duration(int64_t ns, char *buf, size_t size);
char	   *rfc3339(const struct timespec *ts, char *buf, size_t size);
bool		parse_rfc3339(const char *s, int64_t *ns_out);

/* Whether S is a UUID (8-4-4-4-12 hex digits): the only id that goes into a request path. */
bool		is_uuid(const char *s);
void		random_chars(char *out, int n);

#endif
