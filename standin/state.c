/*
 * state.c: the stand-in's deployment model and its provisioner queue.
 *
 * Jobs (workspace builds and template dry runs) wait in one FIFO; at most
 * replicas x daemons run at a time.  A job's
 * queue position is its rank among pending jobs, read from a Fenwick tree over
 * enqueue sequence numbers, so it costs O(log n) however long the queue is.
 * Every delayed event (a job finishing, an agent connecting) is a timer in a
 * binary heap; stale timers are recognised by a generation number.
 *
 * A running job writes log lines as a Terraform build does, spread over its
 * duration: each job follows a script (below), one timer a job at a time.
 */
#include "state.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct deployment deployment;

/* The rich parameters of every template the stand-in serves. */
const struct param docker_params[] = {
	{"cpu", "CPU cores", "Number of CPU cores for the workspace container.",
		"number", "input", "2", NULL, true, false, true, 1, 16},
	{"memory", "Memory (GB)", "Memory limit of the workspace container in GB.",
		"number", "input", "4", NULL, true, false, true, 1, 64},
	{"region", "Region", "Where the workspace runs.",
		"string", "radio", "eu", "eu,us,ap", false, false, false, 0, 0},
	{"dotfiles_uri", "Dotfiles URI", "Optional dotfiles repository to install.",
		"string", "input", "", NULL, true, false, false, 0, 0},
};
const int	n_docker_params = sizeof(docker_params) / sizeof(docker_params[0]);

static void dispatch(void);

/* A new deployment for CFG: the organization and the owner, whose token is OWNER_TOKEN. */
void
state_init(const struct config *cfg, const char *owner_token)
{
	char		seedbuf[40];
	uint64_t	idseed = 0;

	memset(&deployment, 0, sizeof(deployment));
	deployment.cfg = *cfg;
	token_new(seedbuf);
	for (const char *p = seedbuf; *p; p++)
		idseed = idseed * 131 + (unsigned char) *p;
	rng_seed(&deployment.ids, idseed ^ (uint64_t) wall_us());
	rng_seed(&deployment.chance, cfg->seed);
	deployment.started = wall_us();
	uuid_new(&deployment.ids, deployment.org_id);
	deployment.owner = user_add("admin", "admin@coder.com", "Stand-in Owner", NULL, true);
	hmap_put(&deployment.tokens, owner_token, deployment.owner);
}

/* A new template NAME with one version (a random Docker-style name). */
struct template *
template_add(const char *name)
{
	struct template *t = xcalloc(1, sizeof(*t));
	static const char *adjectives[] = {"gallant", "eager", "quirky", "serene"};
	static const char *names[] = {"wright", "hopper", "turing", "lovelace"};
	char		vname[64];
	int			k = (int) (rng_next(&deployment.ids) % 4);

	uuid_new(&deployment.ids, t->id);
	uuid_new(&deployment.ids, t->version_id);
	uuid_new(&deployment.ids, t->job_id);
	uuid_new(&deployment.ids, t->file_id);
	t->name = xstrdup(name);
	snprintf(vname, sizeof(vname), "%s_%s0", adjectives[k], names[(k + 1) % 4]);
	t->version_name = xstrdup(vname);
	t->created = wall_us();
	/* keep creation order in the list */
	if (!deployment.templates)
		deployment.templates = t;
	else
	{
		struct template *x = deployment.templates;

		while (x->next)
			x = x->next;
		x->next = t;
	}
	hmap_put(&deployment.templates_by_id, t->id, t);
	hmap_put(&deployment.templates_by_name, t->name, t);
	hmap_put(&deployment.versions_by_id, t->version_id, t);
	return t;
}

/* A new user, at the end of the list; PASSWORD NULL for login type "none". */
struct user *
user_add(const char *username, const char *email, const char *name,
		 const char *password, bool is_owner)
{
	struct user *u = xcalloc(1, sizeof(*u));

	uuid_new(&deployment.ids, u->id);
	u->username = xstrdup(username);
	u->email = xstrdup(email);
	u->name = xstrdup(name ? name : "");
	u->password = password ? xstrdup(password) : NULL;
	u->created = u->updated = u->last_seen = wall_us();
	u->is_owner = is_owner;
	hmap_put(&deployment.users_by_id, u->id, u);
	hmap_put(&deployment.users_by_name, u->username, u);
	hmap_put(&deployment.users_by_email, u->email, u);
	u->prev = deployment.users_tail;
	if (deployment.users_tail)
		deployment.users_tail->next = u;
	else
		deployment.users_head = u;
	deployment.users_tail = u;
	return u;
}

/* Soft delete, as coderd does: the id stays known, name and email are freed. */
void
user_delete(struct user *u)
{
	u->deleted = true;
	hmap_del(&deployment.users_by_name, u->username);
	hmap_del(&deployment.users_by_email, u->email);
	if (u->prev)
		u->prev->next = u->next;
	else
		deployment.users_head = u->next;
	if (u->next)
		u->next->prev = u->prev;
	else
		deployment.users_tail = u->prev;
	u->prev = u->next = NULL;
}

/* The live user KEY names: "me" (ME), an id or a username; NULL when none. */
struct user *
user_lookup(const char *key, struct user *me)
{
	struct user *u;

	if (strcmp(key, "me") == 0)
		return me;
	u = hmap_get(&deployment.users_by_id, key);
	if (u && !u->deleted)
		return u;
	return hmap_get(&deployment.users_by_name, key);
}

/* A new session token for U (a static buffer, valid until the next call). */
const char *
session_new(struct user *u)
{
	static char tok[40];

	token_new(tok);
	hmap_put(&deployment.tokens, tok, u);
	return tok;
}

/* ---------------- jobs ---------------- */

/* Pending, running or canceling: a workspace with such a build takes no new one. */
bool
job_active(enum jstatus s)
{
	return s == JOB_PENDING || s == JOB_RUNNING || s == JOB_CANCELING;
}

/* codersdk.ProvisionerJobStatus */
const char *
job_status_name(enum jstatus s)
{
	static const char *n[] = {"pending", "running", "succeeded", "canceling", "canceled", "failed"};

	return n[s];
}

/* codersdk.WorkspaceTransition */
const char *
transition_name(enum transition t)
{
	static const char *n[] = {"start", "stop", "delete"};

	return n[t];
}

/* codersdk.WorkspaceAgentStatus */
const char *
agent_status_name(enum agent_status s)
{
	static const char *n[] = {"connecting", "connected", "disconnected", "timeout"};

	return n[s];
}

/* codersdk.WorkspaceStatus from the job status and the transition. */
const char *
build_status_name(const struct build *b)
{
	switch (b->status)
	{
		case JOB_PENDING:
			return "pending";
		case JOB_RUNNING:
			return b->tr == TR_START ? "starting" : b->tr == TR_STOP ? "stopping" : "deleting";
		case JOB_SUCCEEDED:
			return b->tr == TR_START ? "running" : b->tr == TR_STOP ? "stopped" : "deleted";
		case JOB_CANCELING:
			return "canceling";
		case JOB_CANCELED:
			return "canceled";
		case JOB_FAILED:
			return "failed";
	}
	return "pending";
}

/* B's 1-based place among pending jobs; 0 once it left the queue. */
long
build_queue_position(const struct build *b)
{
	if (b->status != JOB_PENDING || !b->qseq)
		return 0;
	return fenwick_prefix(&deployment.q_pos, b->qseq);
}

/*
 * A line of a job's log script.  Lines are kept when their rank is at most
 * --build-log-lines (rank 0: always); a line is due at PERMILLE thousandths
 * of the job's duration, and the lines at 1000 are written when it succeeds.
 * STAGE NULL is the apply stage of the build's transition; an OUTPUT with
 * "%d" gets the seconds the job ran.  The stages and their order are those of
 * Coder's provisioner (provisionerd/runner/runner.go, runWorkspaceBuild:
 * "Planning infrastructure", then the apply stage; Run: "Setting up" first,
 * "Cleaning Up" last); the outputs read like Terraform's.
 */
struct logstep
{
	int			rank;
	int			permille;
	bool		daemon;			/* source provisioner_daemon, else provisioner */
	const char *stage;
	const char *output;
};

#define PLAN "Planning infrastructure"

/* A start build. */
static const struct logstep script_up[] = {
	{1, 0, true, "Setting up", ""},
	{2, 50, true, PLAN, ""},
	{5, 100, false, PLAN, "Terraform 1.9.8"},
	{6, 200, false, PLAN, "data.coder_workspace.me: Refreshing..."},
	{7, 300, false, PLAN, "data.coder_workspace.me: Refresh complete after 0s"},
	{8, 400, false, PLAN, "Plan: 1 to add, 0 to change, 0 to destroy."},
	{3, 500, true, NULL, ""},
	{9, 550, false, NULL, "docker_container.workspace[0]: Creating..."},
	{10, 1000, false, NULL, "docker_container.workspace[0]: Creation complete after %ds"},
	{11, 1000, false, NULL, "Apply complete! Resources: 1 added, 0 changed, 0 destroyed."},
	{4, 1000, true, "Cleaning Up", ""},
};

/* A stop or delete build: the container goes. */
static const struct logstep script_down[] = {
	{1, 0, true, "Setting up", ""},
	{2, 50, true, PLAN, ""},
	{5, 100, false, PLAN, "Terraform 1.9.8"},
	{6, 200, false, PLAN, "data.coder_workspace.me: Refreshing..."},
	{7, 300, false, PLAN, "data.coder_workspace.me: Refresh complete after 0s"},
	{8, 400, false, PLAN, "Plan: 0 to add, 0 to change, 1 to destroy."},
	{3, 500, true, NULL, ""},
	{9, 550, false, NULL, "docker_container.workspace[0]: Destroying..."},
	{10, 1000, false, NULL, "docker_container.workspace[0]: Destruction complete after %ds"},
	{11, 1000, false, NULL, "Apply complete! Resources: 0 added, 0 changed, 1 destroyed."},
	{4, 1000, true, "Cleaning Up", ""},
};

/* A template dry run: a plan, nothing applied. */
static const struct logstep script_plan[] = {
	{1, 0, true, "Setting up", ""},
	{2, 100, true, PLAN, ""},
	{5, 200, false, PLAN, "Terraform 1.9.8"},
	{6, 400, false, PLAN, "data.coder_workspace.me: Refreshing..."},
	{7, 600, false, PLAN, "data.coder_workspace.me: Refresh complete after 0s"},
	{8, 1000, false, PLAN, "Plan: 1 to add, 0 to change, 0 to destroy."},
	{4, 1000, true, "Cleaning Up", ""},
};

#define LEN(a) ((int) (sizeof(a) / sizeof((a)[0])))

/* The log stage of a build's apply step (a dry run plans only). */
static const char *
stage_name(const struct build *b)
{
	if (b->kind == JK_DRY_RUN)
		return PLAN;
	return b->tr == TR_START ? "Starting workspace" : b->tr == TR_STOP ? "Stopping workspace" : "Destroying workspace";
}

/* Append a log line to B with the next id of the deployment's one sequence. */
static void
add_log(struct build *b, bool daemon, const char *level, const char *stage, const char *output)
{
	struct logline *l;

	if (b->nlogs == b->caplogs)
	{
		b->caplogs = b->caplogs ? b->caplogs * 2 : b->script_len + 2;
		b->logs = xrealloc(b->logs, (size_t) b->caplogs * sizeof(*b->logs));
	}
	l = &b->logs[b->nlogs++];
	l->id = ++deployment.log_seq;
	l->at = wall_us();
	l->source = daemon ? "provisioner_daemon" : "provisioner";
	l->level = level;
	l->stage = stage;
	l->output = output;
}

/* Write script line ST of B, unless --build-log-lines leaves it out. */
static void
add_step(struct build *b, const struct logstep *st)
{
	const char *out = st->output;

	if (st->rank > deployment.cfg.build_log_lines)
		return;
	if (strstr(out, "%d"))
	{
		char		buf[200];

		snprintf(buf, sizeof(buf), out, (int) ((b->completed - b->started + 500000) / 1000000));
		out = xstrdup(buf);
	}
	add_log(b, st->daemon, "info", st->stage ? st->stage : stage_name(b), out);
}

/* Write B's script lines due by thousandths PERMILLE of its duration; true when any was due. */
static bool
add_steps_due(struct build *b, int permille)
{
	bool		any = false;

	while (b->script_next < b->script_len && b->script[b->script_next].permille <= permille)
	{
		add_step(b, &b->script[b->script_next++]);
		any = true;
	}
	return any;
}

/* The log script of B's kind and transition. */
static void
script_pick(struct build *b)
{
	if (b->kind == JK_DRY_RUN)
		b->script = script_plan, b->script_len = LEN(script_plan);
	else if (b->tr == TR_START)
		b->script = script_up, b->script_len = LEN(script_up);
	else
		b->script = script_down, b->script_len = LEN(script_down);
	b->script_next = 0;
}

/* B changed: its updated time, and the server's on_build_change. */
static void
notify(struct build *b)
{
	b->updated = wall_us();
	if (deployment.on_build_change)
		deployment.on_build_change(b);
}

/* Take B out of the FIFO and the Fenwick tree of queue positions. */
static void
queue_unlink(struct build *b)
{
	fenwick_add(&deployment.q_pos, b->qseq, -1);
	if (b->qprev)
		b->qprev->qnext = b->qnext;
	else
		deployment.q_head = b->qnext;
	if (b->qnext)
		b->qnext->qprev = b->qprev;
	else
		deployment.q_tail = b->qprev;
	b->qprev = b->qnext = NULL;
	b->qseq = 0;
	deployment.q_len--;
}

static void job_finish(void *obj, uint32_t gen);
static void log_tick(void *obj, uint32_t gen);
static void agent_connect(void *obj, uint32_t gen);
static void agent_timeout(void *obj, uint32_t gen);

/* Arm B's log timer for its next script line due while it runs, if any. */
static void
log_tick_arm(struct build *b)
{
	const struct logstep *next;

	if (b->script_next >= b->script_len)
		return;
	next = &b->script[b->script_next];
	if (next->permille >= 1000)
		return;
	theap_push(&deployment.timers, b->started_mono + b->duration * next->permille / 1000,
			   log_tick, b, b->gen);
}

/* Timer: B's next log lines are due (stale once B ended or was canceled). */
static void
log_tick(void *obj, uint32_t gen)
{
	struct build *b = obj;
	int64_t		elapsed = mono_us() - b->started_mono;
	int			permille;

	if (gen != b->gen || b->status != JOB_RUNNING)
		return;
	permille = b->duration > 0 ? (int) (elapsed * 1000 / b->duration) : 999;
	if (permille > 999)
		permille = 999;
	if (add_steps_due(b, permille))
		notify(b);
	log_tick_arm(b);
}

/* A daemon picks the job: it runs for its drawn duration, writing its log as it goes. */
static void
job_begin(struct build *b)
{
	int			slot = deployment.running++;
	int			replica = slot / (deployment.cfg.daemons > 0 ? deployment.cfg.daemons : 1);

	queue_unlink(b);
	b->status = JOB_RUNNING;
	b->started = wall_us();
	b->started_mono = mono_us();
	uuid_new(&deployment.ids, b->worker_id);
	snprintf(b->worker_name, sizeof(b->worker_name), "standin-%d-%d", replica,
			 slot % (deployment.cfg.daemons > 0 ? deployment.cfg.daemons : 1));
	script_pick(b);
	add_steps_due(b, 0);
	log_tick_arm(b);
	if (deployment.on_job_wait)
		deployment.on_job_wait(b, (mono_us() - b->enqueued_mono) / 1e6);
	theap_push(&deployment.timers, b->started_mono + b->duration, job_finish, b, b->gen);
	notify(b);
}

/* Start queued jobs, oldest first, while a daemon is free. */
static void
dispatch(void)
{
	while (deployment.q_head && deployment.running < deployment.cfg.replicas * deployment.cfg.daemons)
		job_begin(deployment.q_head);
}

/* Put B at the end of the FIFO, and start it if a daemon is free. */
static void
job_enqueue(struct build *b)
{
	b->status = JOB_PENDING;
	b->created = b->updated = wall_us();
	b->enqueued_mono = mono_us();
	b->qseq = ++deployment.q_seq;
	fenwick_add(&deployment.q_pos, b->qseq, 1);
	b->qprev = deployment.q_tail;
	if (deployment.q_tail)
		deployment.q_tail->qnext = b;
	else
		deployment.q_head = b;
	deployment.q_tail = b;
	deployment.q_len++;
	dispatch();
}

/* A new agent of B, connecting; not yet findable by id. */
static struct agent *
agent_new(struct build *b)
{
	struct agent *a = xcalloc(1, sizeof(*a));

	uuid_new(&deployment.ids, a->id);
	uuid_new(&deployment.ids, a->resource_id);
	a->status = AG_CONNECTING;
	a->created = wall_us();
	a->build = b;
	b->agent = a;
	return a;
}

/*
 * The agent of B's container: it connects after --agent-delay, or times out
 * (--fail-agent) after --agent-timeout.
 */
static void
agent_create(struct build *b)
{
	struct agent *a = agent_new(b);

	a->will_fail = rng_hit(&deployment.chance, deployment.cfg.fail_agent);
	a->pty_fail = rng_hit(&deployment.chance, deployment.cfg.fail_pty);
	hmap_put(&deployment.agents_by_id, a->id, a);
	if (a->will_fail)
		theap_push(&deployment.timers, mono_us() + deployment.cfg.agent_timeout, agent_timeout, a, a->gen);
	else
		theap_push(&deployment.timers, mono_us() + deployment.cfg.agent_delay, agent_connect, a, a->gen);
}

/* A new build replaces A: its pending timers go stale and it shows disconnected. */
static void
agent_stop(struct agent *a)
{
	if (!a)
		return;
	a->gen++;
	a->status = AG_DISCONNECTED;
}

/* A delete build succeeded: W leaves the lists and its name is free again. */
static void
workspace_gone(struct workspace *w)
{
	char		key[300];

	w->deleted = true;
	snprintf(key, sizeof(key), "%s/%s", w->owner->id, w->name);
	hmap_del(&deployment.workspaces_by_owner_name, key);
	if (w->prev)
		w->prev->next = w->next;
	else
		deployment.ws_head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		deployment.ws_tail = w->prev;
	w->prev = w->next = NULL;
	w->owner->live_workspaces--;
}

/* What a succeeded job leaves: a start build's agent, a delete's workspace gone, a dry run's planned agent. */
static void
job_succeeded(struct build *b)
{
	if (b->kind == JK_DRY_RUN)
		agent_new(b);			/* planned, never started: it stays "connecting" */
	else if (b->tr == TR_START)
	{
		agent_create(b);
		b->ws->agent = b->agent;
	}
	else if (b->tr == TR_DELETE)
		workspace_gone(b->ws);
}

/*
 * B ends with ST: the rest of its log (the lines still due, then how it
 * ended: the last lines of its script, or an error line), what it leaves,
 * metrics; the daemon takes the next job.
 */
static void
job_complete(struct build *b, enum jstatus st)
{
	deployment.running--;
	b->status = st;
	b->completed = wall_us();
	if (st == JOB_SUCCEEDED)
	{
		add_steps_due(b, 1000);
		job_succeeded(b);
	}
	else if (st == JOB_FAILED)
	{
		add_steps_due(b, 999);
		add_log(b, false, "error", stage_name(b), b->error);
	}
	else
		add_step(b, &(struct logstep) {4, 1000, true, "Cleaning Up", ""});
	if (deployment.on_job_done)
		deployment.on_job_done(b);
	notify(b);
	dispatch();
}

/* The error a job drawn to fail ends with. */
static const char *
injected_error(const struct build *b)
{
	if (b->kind == JK_DRY_RUN)
		return deployment.cfg.fail_dry_run;
	return b->tr == TR_DELETE ? "terraform destroy: injected failure (--fail-delete)"
		: "terraform apply: injected failure (--fail-build)";
}

/* Timer: B's build time is up; it fails if drawn to, unless builds are held. */
static void
job_finish(void *obj, uint32_t gen)
{
	struct build *b = obj;

	if (gen != b->gen || b->status != JOB_RUNNING)
		return;
	/* a test hold is on workspace builds: a template's plan still ends */
	if (deployment.hold_builds && b->kind != JK_DRY_RUN)
	{
		deployment.held_builds = xrealloc(deployment.held_builds, (deployment.n_held_builds + 1) * sizeof(*deployment.held_builds));
		deployment.held_builds[deployment.n_held_builds++] = b;
		return;
	}
	if (b->will_fail)
	{
		b->error = xstrdup(injected_error(b));
		job_complete(b, JOB_FAILED);
		return;
	}
	job_complete(b, JOB_SUCCEEDED);
}

/* Timer: a running job being canceled ends canceled. */
static void
cancel_finish(void *obj, uint32_t gen)
{
	struct build *b = obj;

	if (gen != b->gen || b->status != JOB_CANCELING)
		return;
	b->error = xstrdup("canceled");
	job_complete(b, JOB_CANCELED);
}

/* Timer: A connects, unless agents are held. */
static void
agent_connect(void *obj, uint32_t gen)
{
	struct agent *a = obj;

	if (gen != a->gen || a->status != AG_CONNECTING)
		return;
	if (deployment.hold_agents)
	{
		deployment.held_agents = xrealloc(deployment.held_agents, (deployment.n_held_agents + 1) * sizeof(*deployment.held_agents));
		deployment.held_agents[deployment.n_held_agents++] = a;
		return;
	}
	a->status = AG_CONNECTED;
	a->first_connected = wall_us();
	a->build->updated = wall_us();
}

/* Timer: A, drawn to fail, shows timeout. */
static void
agent_timeout(void *obj, uint32_t gen)
{
	struct agent *a = obj;

	if (gen != a->gen || a->status != AG_CONNECTING)
		return;
	a->status = AG_TIMEOUT;
}

/* Queue a new build of W; the workspace's agent goes away at once. */
struct build *
build_start(struct workspace *w, enum transition tr, struct user *by)
{
	struct build *b = xcalloc(1, sizeof(*b));

	b->kind = JK_BUILD;
	uuid_new(&deployment.ids, b->id);
	uuid_new(&deployment.ids, b->job_id);
	b->ws = w;
	b->tpl = w->tpl;
	b->initiator = by;
	b->number = ++w->nbuilds;
	b->tr = tr;
	b->duration = dist_sample(&deployment.cfg.build_time, &deployment.chance);
	b->will_fail = rng_hit(&deployment.chance, tr == TR_DELETE ? deployment.cfg.fail_delete : deployment.cfg.fail_build);
	/* any new build replaces the workspace's agent */
	agent_stop(w->agent);
	w->agent = NULL;
	w->latest = b;
	hmap_put(&deployment.builds_by_id, b->id, b);
	job_enqueue(b);
	w->updated = b->created;
	return b;
}

/*
 * Queue a dry run of T's version for BY.  It plans for half the mean of
 * --build-time, at most DRY_RUN_MAX_US (no random draw, so --seed gives the builds the same draws
 * with or without dry runs) and fails with --fail-dry-run's error if given.
 */
#define DRY_RUN_MAX_US	1000000

struct build *
dryrun_start(struct template *t, struct user *by)
{
	struct build *b = xcalloc(1, sizeof(*b));

	b->kind = JK_DRY_RUN;
	uuid_new(&deployment.ids, b->id);
	uuid_new(&deployment.ids, b->job_id);
	b->tpl = t;
	b->initiator = by;
	b->tr = TR_START;
	b->duration = dist_mean(&deployment.cfg.build_time) / 2;
	if (b->duration > DRY_RUN_MAX_US)
		b->duration = DRY_RUN_MAX_US;	/* a plan is short even when builds are long */
	b->will_fail = deployment.cfg.fail_dry_run != NULL;
	hmap_put(&deployment.dryruns_by_id, b->job_id, b);
	job_enqueue(b);
	return b;
}

/* Pending jobs are canceled at once; running ones go through "canceling". */
int
build_cancel(struct build *b)
{
	if (b->status == JOB_PENDING)
	{
		queue_unlink(b);
		b->status = JOB_CANCELED;
		b->canceled = b->completed = wall_us();
		b->error = xstrdup("canceled");
		add_log(b, true, "info", "Cleaning Up", "Job canceled before a provisioner picked it up");
		if (deployment.on_job_done)
			deployment.on_job_done(b);
		notify(b);
		return 0;
	}
	if (b->status == JOB_RUNNING)
	{
		int64_t		left = b->started + b->duration - wall_us();

		b->status = JOB_CANCELING;
		b->canceled = wall_us();
		b->gen++;
		if (left > 100000)
			left = 100000;
		if (left < 0)
			left = 0;
		theap_push(&deployment.timers, mono_us() + left, cancel_finish, b, b->gen);
		notify(b);
		return 0;
	}
	return -1;
}

/* A new workspace with its first (start) build queued. */
struct workspace *
workspace_add(struct user *owner, struct template *t, const char *name,
			  const char *params_json)
{
	struct workspace *w = xcalloc(1, sizeof(*w));
	char		key[300];
	struct build *b;

	uuid_new(&deployment.ids, w->id);
	w->name = xstrdup(name);
	w->owner = owner;
	w->tpl = t;
	w->created = w->updated = wall_us();
	snprintf(key, sizeof(key), "%s/%s", owner->id, name);
	hmap_put(&deployment.workspaces_by_owner_name, key, w);
	hmap_put(&deployment.workspaces_by_id, w->id, w);
	w->prev = deployment.ws_tail;
	if (deployment.ws_tail)
		deployment.ws_tail->next = w;
	else
		deployment.ws_head = w;
	deployment.ws_tail = w;
	owner->live_workspaces++;
	b = build_start(w, TR_START, owner);
	b->params = xstrdup(params_json ? params_json : "[]");
	return w;
}

/* Run every timer due at NOW, in deadline order. */
void
timers_run(int64_t now)
{
	timer		t;

	while (theap_pop_due(&deployment.timers, now, &t))
		t.fn(t.obj, t.gen);
}

/*
 * Test holds: while builds are held no workspace build finishes (dry runs
 * do, so a test can start while builds are held; a build whose time is up
 * stays running; cancels still go through), while agents are held no agent
 * connects (timeouts still happen).  Letting go finishes or connects what was
 * due at once, in the order it fell due; the rest follow at their own time.
 */
void
hold_set(bool builds, bool agents)
{
	deployment.hold_builds = builds;
	deployment.hold_agents = agents;
	if (!builds)
	{
		int			n = deployment.n_held_builds;
		struct build **held = deployment.held_builds;

		deployment.held_builds = NULL;
		deployment.n_held_builds = 0;
		for (int i = 0; i < n; i++)
			job_finish(held[i], held[i]->gen);
		free(held);
	}
	if (!agents)
	{
		int			n = deployment.n_held_agents;
		struct agent **held = deployment.held_agents;

		deployment.held_agents = NULL;
		deployment.n_held_agents = 0;
		for (int i = 0; i < n; i++)
			agent_connect(held[i], held[i]->gen);
		free(held);
	}
}
