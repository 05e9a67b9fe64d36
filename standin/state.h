/*
 * state.h: the stand-in's in-memory deployment: users and their session
 * tokens, one organization, templates, workspaces, builds and template dry
 * runs with provisioner jobs in one FIFO queue of replicas x daemons slots,
 * their log lines, and agents.
 *
 * It is the one global `deployment`, used from the event loop's thread only.
 * Nothing is ever freed: a deleted user or workspace is marked deleted and
 * leaves the name maps and the live lists, but its id still finds it (coderd
 * deletes softly), and builds and agents stay for their workspace's history.
 * Strings are the deployment's own copies.  A pending timer carries its
 * object's generation (gen); bumping gen makes it a no-op when it fires.
 */
#ifndef STANDIN_STATE_H
#define STANDIN_STATE_H

#include "util.h"

#include <stdbool.h>
#include <stdint.h>

struct conn;

struct config
{
	int			replicas;
	int			daemons;
	dist		build_time;
	int64_t		agent_delay;
	int64_t		agent_timeout;	/* connecting -> timeout */
	double		fail_create_user;
	double		fail_create_workspace;
	double		fail_build;
	double		fail_agent;
	double		fail_pty;
	double		fail_http;
	int			fail_http_status;
	double		fail_delete;
	const char *fail_dry_run;	/* every dry run ends failed with this error; NULL: none */
	int			build_log_lines;	/* log lines per job, by rank (state.c's scripts) */
	int			api_rate_limit; /* per user (or IP) and path, a minute; <= 0: off */
	int			login_rate_limit;	/* POST /users/login per IP, a minute; <= 0: off */
	bool		rate_limits_disabled;	/* --dangerous-disable-rate-limits */
	uint64_t	seed;
};

struct user
{
	char		id[37];
	char	   *username;
	char	   *email;
	char	   *name;
	char	   *password;
	int64_t		created;
	int64_t		updated;
	int64_t		last_seen;
	bool		is_owner;
	bool		deleted;
	int			live_workspaces;
	struct user *prev,
			   *next;			/* list of live users, creation order */
};

struct param
{
	const char *name;
	const char *display_name;
	const char *description;
	const char *type;			/* string, number, bool */
	const char *form_type;
	const char *default_value;
	const char *options;		/* comma separated, or NULL */
	bool		mutable_;
	bool		required;
	bool		has_range;
	int			vmin;
	int			vmax;
};

struct template
{
	char		id[37];
	char		version_id[37];
	char		job_id[37];
	char		file_id[37];
	char	   *name;
	char	   *version_name;
	int64_t		created;
	struct template *next;
};

enum jstatus
{
	JOB_PENDING, JOB_RUNNING, JOB_SUCCEEDED, JOB_CANCELING, JOB_CANCELED, JOB_FAILED
};

enum transition
{
	TR_START, TR_STOP, TR_DELETE
};

enum agent_status
{
	AG_CONNECTING, AG_CONNECTED, AG_DISCONNECTED, AG_TIMEOUT
};

struct agent
{
	char		id[37];
	char		resource_id[37];
	enum agent_status status;
	int64_t		created;
	int64_t		first_connected;
	bool		will_fail;
	bool		pty_fail;		/* decided once per agent */
	uint32_t	gen;
	struct build *build;
};

/* codersdk.ProvisionerJobLog; the strings are static or the deployment's own */
struct logline
{
	int64_t		id;
	int64_t		at;
	const char *source;			/* provisioner_daemon or provisioner */
	const char *level;
	const char *stage;
	const char *output;
};

enum job_kind
{
	JK_BUILD, JK_DRY_RUN
};

struct logstep;

/*
 * A provisioner job: a workspace build (ws set), or a template version dry
 * run (kind JK_DRY_RUN, ws NULL, found by job_id; tr is TR_START).
 */
struct build
{
	enum job_kind kind;
	char		id[37];
	char		job_id[37];
	char		worker_id[37];
	char		worker_name[32];
	struct workspace *ws;		/* NULL for a dry run */
	struct template *tpl;		/* the template whose version it builds or plans */
	struct user *initiator;
	int			number;
	enum transition tr;
	enum jstatus status;
	int64_t		created;
	int64_t		updated;
	int64_t		started;		/* 0 = not yet */
	int64_t		completed;
	int64_t		canceled;
	int64_t		duration;		/* drawn build time */
	int64_t		enqueued_mono;
	int64_t		started_mono;
	bool		will_fail;
	char	   *error;
	uint64_t	qseq;			/* position in the FIFO, 0 = not queued */
	uint32_t	gen;			/* invalidates stale timers */
	struct build *qprev,
			   *qnext;
	struct agent *agent;		/* set when a start build or a dry run succeeded */
	struct logline *logs;
	int			nlogs;
	int			caplogs;
	const struct logstep *script;	/* the log lines it writes while it runs */
	int			script_len;
	int			script_next;	/* the next line of script due */
	struct conn *followers;		/* ?follow websockets */
	char	   *params;			/* JSON text of rich_parameter_values */
};

struct workspace
{
	char		id[37];
	char	   *name;
	struct user *owner;
	struct template *tpl;
	int64_t		created;
	int64_t		updated;
	bool		deleted;
	int			nbuilds;
	struct build *latest;
	struct agent *agent;		/* the connected (or connecting) agent */
	struct workspace *prev,
			   *next;			/* list of live workspaces */
};

struct deployment
{
	struct config cfg;
	rng			ids;			/* ids: from /dev/urandom */
	rng			chance;			/* failures and build times: --seed */
	char		org_id[37];
	int64_t		started;
	struct user *owner;
	hmap		users_by_id,
				users_by_name,
				users_by_email,
				tokens;
	struct user *users_head,
			   *users_tail;
	struct template *templates;
	hmap		templates_by_id,
				templates_by_name,
				versions_by_id;
	hmap		workspaces_by_id,
				workspaces_by_owner_name,
				builds_by_id,
				agents_by_id,
				dryruns_by_id;	/* by job id */
	struct workspace *ws_head,
			   *ws_tail;
	/* provisioner queue */
	struct build *q_head,
			   *q_tail;
	long		q_len;
	uint64_t	q_seq;
	fenwick		q_pos;
	int			running;
	int64_t		log_seq;
	theap		timers;
	/* test holds (PUT /api/v2/standin/hold): what is due waits here */
	bool		hold_builds,
				hold_agents;
	struct build **held_builds;
	struct agent **held_agents;
	int			n_held_builds,
				n_held_agents;
	/* set by the server: called when a build gets new logs or finishes */
	void		(*on_build_change) (struct build *b);
	void		(*on_job_wait) (struct build *b, double seconds);
	void		(*on_job_done) (struct build *b);
};

extern struct deployment deployment;
extern const struct param docker_params[];
extern const int n_docker_params;

void		state_init(const struct config *cfg, const char *owner_token);
struct template *template_add(const char *name);
struct user *user_add(const char *username, const char *email, const char *name,
					  const char *password, bool is_owner);
void		user_delete(struct user *u);
struct user *user_lookup(const char *key, struct user *me);	/* id, name or "me" */
const char *session_new(struct user *u);	/* returns the token */
struct workspace *workspace_add(struct user *owner, struct template *t,
								const char *name, const char *params_json);
struct build *build_start(struct workspace *w, enum transition tr, struct user *by);
struct build *dryrun_start(struct template *t, struct user *by);
int			build_cancel(struct build *b);	/* 0 ok, -1 already done */
long		build_queue_position(const struct build *b);
bool		job_active(enum jstatus s);
const char *job_status_name(enum jstatus s);
const char *build_status_name(const struct build *b);
const char *transition_name(enum transition t);
const char *agent_status_name(enum agent_status s);
void		timers_run(int64_t now);
void		hold_set(bool builds, bool agents);

#endif
