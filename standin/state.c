/*
 * state.c: the stand-in's deployment model and its provisioner queue.
 *
 * Jobs wait in one FIFO; at most replicas x daemons run at a time.  A job's
 * queue position is its rank among pending jobs, read from a Fenwick tree over
 * enqueue sequence numbers, so it costs O(log n) however long the queue is.
 * Every delayed event (a job finishing, an agent connecting) is a timer in a
 * binary heap; stale timers are recognised by a generation number.
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

static void
add_log(struct build *b, const char *level, const char *stage, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Append a log line to B with the next id of the deployment's one sequence. */
static void
add_log(struct build *b, const char *level, const char *stage, const char *fmt, ...)
{
	struct logline *l;
	char		buf[512];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	b->logs = xrealloc(b->logs, (b->nlogs + 1) * sizeof(*b->logs));
	l = &b->logs[b->nlogs++];
	l->id = ++deployment.log_seq;
	l->at = wall_us();
	l->level = level;
	l->stage = stage;
	l->output = xstrdup(buf);
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
static void agent_connect(void *obj, uint32_t gen);
static void agent_timeout(void *obj, uint32_t gen);

/* The log stage of a build's apply step. */
static const char *
stage_name(enum transition tr)
{
	return tr == TR_START ? "Starting workspace" : tr == TR_STOP ? "Stopping workspace" : "Destroying workspace";
}

/* A daemon picks the job: it runs for its drawn duration. */
static void
job_begin(struct build *b)
{
	int			slot = deployment.running++;
	int			replica = slot / (deployment.cfg.daemons > 0 ? deployment.cfg.daemons : 1);

	queue_unlink(b);
	b->status = JOB_RUNNING;
	b->started = wall_us();
	uuid_new(&deployment.ids, b->worker_id);
	snprintf(b->worker_name, sizeof(b->worker_name), "standin-%d-%d", replica,
			 slot % (deployment.cfg.daemons > 0 ? deployment.cfg.daemons : 1));
	add_log(b, "info", "Setting up", "Acquired by provisioner %s", b->worker_name);
	add_log(b, "info", "Planning infrastructure", "Terraform 1.9.8 (stand-in: nothing is provisioned)");
	if (deployment.on_job_wait)
		deployment.on_job_wait(b, (mono_us() - b->enqueued_mono) / 1e6);
	theap_push(&deployment.timers, mono_us() + b->duration, job_finish, b, b->gen);
	notify(b);
}

/* Start queued jobs, oldest first, while a daemon is free. */
static void
dispatch(void)
{
	while (deployment.q_head && deployment.running < deployment.cfg.replicas * deployment.cfg.daemons)
		job_begin(deployment.q_head);
}

/*
 * The agent of B's container: it connects after --agent-delay, or times out
 * (--fail-agent) after --agent-timeout.
 */
static void
agent_create(struct build *b)
{
	struct agent *a = xcalloc(1, sizeof(*a));

	uuid_new(&deployment.ids, a->id);
	uuid_new(&deployment.ids, a->resource_id);
	a->status = AG_CONNECTING;
	a->created = wall_us();
	a->build = b;
	a->will_fail = rng_hit(&deployment.chance, deployment.cfg.fail_agent);
	a->pty_fail = rng_hit(&deployment.chance, deployment.cfg.fail_pty);
	b->agent = a;
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

/*
 * B ends with ST: logs, the agent for a start, the workspace gone for a delete;
 * the daemon takes the next job.
 */
static void
job_complete(struct build *b, enum jstatus st)
{
	deployment.running--;
	b->status = st;
	b->completed = wall_us();
	if (st == JOB_FAILED)
	{
		add_log(b, "error", stage_name(b->tr), "%s", b->error);
	}
	else if (st == JOB_SUCCEEDED)
	{
		add_log(b, "info", stage_name(b->tr), "%s: complete after %.3fs",
				b->tr == TR_START ? "docker_container.workspace[0]: Creation"
				: "docker_container.workspace[0]: Destruction",
				(b->completed - b->started) / 1e6);
		if (b->tr == TR_START)
		{
			agent_create(b);
			b->ws->agent = b->agent;
		}
		else if (b->tr == TR_DELETE)
			workspace_gone(b->ws);
	}
	add_log(b, "info", "Cleaning Up", "%s", "");
	if (deployment.on_job_done)
		deployment.on_job_done(b);
	notify(b);
	dispatch();
}

/* Timer: B's build time is up; it fails if drawn to, unless builds are held. */
static void
job_finish(void *obj, uint32_t gen)
{
	struct build *b = obj;

	if (gen != b->gen || b->status != JOB_RUNNING)
		return;
	if (deployment.hold_builds)
	{
		deployment.held_builds = xrealloc(deployment.held_builds, (deployment.n_held_builds + 1) * sizeof(*deployment.held_builds));
		deployment.held_builds[deployment.n_held_builds++] = b;
		return;
	}
	if (b->will_fail)
	{
		b->error = xstrdup(b->tr == TR_DELETE
						   ? "terraform destroy: injected failure (--fail-delete)"
						   : "terraform apply: injected failure (--fail-build)");
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

	uuid_new(&deployment.ids, b->id);
	uuid_new(&deployment.ids, b->job_id);
	b->ws = w;
	b->initiator = by;
	b->number = ++w->nbuilds;
	b->tr = tr;
	b->status = JOB_PENDING;
	b->created = b->updated = wall_us();
	b->enqueued_mono = mono_us();
	b->duration = dist_sample(&deployment.cfg.build_time, &deployment.chance);
	b->will_fail = rng_hit(&deployment.chance, tr == TR_DELETE ? deployment.cfg.fail_delete : deployment.cfg.fail_build);
	/* any new build replaces the workspace's agent */
	agent_stop(w->agent);
	w->agent = NULL;
	w->latest = b;
	w->updated = b->created;
	hmap_put(&deployment.builds_by_id, b->id, b);
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
		add_log(b, "info", "Cleaning Up", "%s", "Job canceled before a provisioner picked it up");
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
 * Test holds: while builds are held no job finishes (a job whose time is up
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
