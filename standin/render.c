/*
 * render.c: the stand-in's objects as codersdk JSON (field names and types
 * from swagger.json).  Absent optional times are left out, as coderd's
 * `omitempty` pointers are; nullable times are JSON null.
 */
#include "server.h"

#include <string.h>

#define ADD(o, k, v) json_object_object_add((o), (k), (v))

/* A JSON string; NULL gives "". */
static json_object *
jstr(const char *s)
{
	return json_object_new_string(s ? s : "");
}

/* An RFC 3339 time, or JSON null for 0. */
static json_object *
jtime(int64_t t)
{
	char		buf[40];

	if (!t)
		return NULL;
	fmt_time(t, buf);
	return json_object_new_string(buf);
}

/* Add the time T under K only when it is set (Go's omitempty). */
static void
add_time_opt(json_object *o, const char *k, int64_t t)
{
	if (t)
		ADD(o, k, jtime(t));
}

/* uuid.NullUUID with Valid false. */
static json_object *
null_uuid(void)
{
	json_object *o = json_object_new_object();

	ADD(o, "uuid", jstr(""));
	ADD(o, "valid", json_object_new_boolean(false));
	return o;
}

/* codersdk.BuildInfoResponse */
json_object *
j_buildinfo(void)
{
	json_object *o = json_object_new_object();

	ADD(o, "agent_api_version", jstr("2.0"));
	ADD(o, "dashboard_url", jstr(listen_url));
	ADD(o, "deployment_id", jstr(deployment.org_id));
	ADD(o, "external_url", jstr("https://github.com/coder/coder"));
	ADD(o, "provisioner_api_version", jstr("1.4"));
	ADD(o, "telemetry", json_object_new_boolean(false));
	ADD(o, "upgrade_message", jstr(""));
	ADD(o, "version", jstr("v0.1.0-coder-standin"));
	ADD(o, "webpush_public_key", jstr(""));
	ADD(o, "workspace_proxy", json_object_new_boolean(false));
	return o;
}

/* codersdk.User */
json_object *
j_user(const struct user *u)
{
	json_object *o = json_object_new_object();
	json_object *orgs = json_object_new_array();
	json_object *roles = json_object_new_array();

	ADD(o, "avatar_url", jstr(""));
	ADD(o, "created_at", jtime(u->created));
	ADD(o, "email", jstr(u->email));
	ADD(o, "id", jstr(u->id));
	ADD(o, "last_seen_at", jtime(u->last_seen));
	ADD(o, "login_type", jstr(u->password || u->is_owner ? "password" : "none"));
	ADD(o, "name", jstr(u->name));
	json_object_array_add(orgs, jstr(deployment.org_id));
	ADD(o, "organization_ids", orgs);
	if (u->is_owner)
	{
		json_object *r = json_object_new_object();

		ADD(r, "display_name", jstr("Owner"));
		ADD(r, "name", jstr("owner"));
		ADD(r, "organization_id", jstr(""));
		json_object_array_add(roles, r);
	}
	ADD(o, "roles", roles);
	ADD(o, "status", jstr("active"));
	ADD(o, "theme_preference", jstr(""));
	ADD(o, "updated_at", jtime(u->updated));
	ADD(o, "username", jstr(u->username));
	return o;
}

/* codersdk.Organization: the one organization */
json_object *
j_org(void)
{
	json_object *o = json_object_new_object();

	ADD(o, "created_at", jtime(deployment.started));
	ADD(o, "description", jstr("The stand-in's only organization."));
	ADD(o, "display_name", jstr("Coder"));
	ADD(o, "icon", jstr(""));
	ADD(o, "id", jstr(deployment.org_id));
	ADD(o, "is_default", json_object_new_boolean(true));
	ADD(o, "name", jstr("coder"));
	ADD(o, "updated_at", jtime(deployment.started));
	return o;
}

/* Every weekday, or none. */
static json_object *
days(bool all)
{
	static const char *d[] = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};
	json_object *a = json_object_new_array();

	for (int i = 0; all && i < 7; i++)
		json_object_array_add(a, jstr(d[i]));
	return a;
}

/* codersdk.Template */
json_object *
j_template(const struct template *t)
{
	json_object *o = json_object_new_object();
	json_object *x;
	static const char *tr[] = {"start", "stop", "delete"};

	ADD(o, "active_user_count", json_object_new_int(0));
	ADD(o, "active_version_id", jstr(t->version_id));
	ADD(o, "activity_bump_ms", json_object_new_int64(3600000));
	ADD(o, "allow_user_autostart", json_object_new_boolean(true));
	ADD(o, "allow_user_autostop", json_object_new_boolean(true));
	ADD(o, "allow_user_cancel_workspace_jobs", json_object_new_boolean(true));
	x = json_object_new_object();
	ADD(x, "days_of_week", days(true));
	ADD(o, "autostart_requirement", x);
	x = json_object_new_object();
	ADD(x, "days_of_week", days(false));
	ADD(x, "weeks", json_object_new_int(1));
	ADD(o, "autostop_requirement", x);
	x = json_object_new_object();
	for (int i = 0; i < 3; i++)
	{
		json_object *st = json_object_new_object();

		ADD(st, "p50", NULL);
		ADD(st, "p95", NULL);
		ADD(x, tr[i], st);
	}
	ADD(o, "build_time_stats", x);
	ADD(o, "cors_behavior", jstr("simple"));
	ADD(o, "created_at", jtime(t->created));
	ADD(o, "created_by_id", jstr(deployment.owner->id));
	ADD(o, "created_by_name", jstr(deployment.owner->username));
	ADD(o, "default_ttl_ms", json_object_new_int64(0));
	ADD(o, "deprecated", json_object_new_boolean(false));
	ADD(o, "deprecation_message", jstr(""));
	ADD(o, "description", jstr("Stand-in template: builds take --build-time, nothing is provisioned."));
	ADD(o, "display_name", jstr(t->name));
	ADD(o, "failure_ttl_ms", json_object_new_int64(0));
	ADD(o, "icon", jstr("/icon/docker.png"));
	ADD(o, "id", jstr(t->id));
	ADD(o, "max_port_share_level", jstr("owner"));
	ADD(o, "name", jstr(t->name));
	ADD(o, "organization_display_name", jstr("Coder"));
	ADD(o, "organization_icon", jstr(""));
	ADD(o, "organization_id", jstr(deployment.org_id));
	ADD(o, "organization_name", jstr("coder"));
	ADD(o, "provisioner", jstr("terraform"));
	ADD(o, "require_active_version", json_object_new_boolean(false));
	ADD(o, "time_til_dormant_autodelete_ms", json_object_new_int64(0));
	ADD(o, "time_til_dormant_ms", json_object_new_int64(0));
	ADD(o, "updated_at", jtime(t->created));
	ADD(o, "use_classic_parameter_flow", json_object_new_boolean(true));
	return o;
}

/* codersdk.MinimalUser of the owner */
static json_object *
minimal_owner(void)
{
	json_object *o = json_object_new_object();

	ADD(o, "avatar_url", jstr(""));
	ADD(o, "id", jstr(deployment.owner->id));
	ADD(o, "name", jstr(deployment.owner->name));
	ADD(o, "username", jstr(deployment.owner->username));
	return o;
}

/* codersdk.TemplateVersion: the template's only version, imported at creation */
json_object *
j_template_version(const struct template *t)
{
	json_object *o = json_object_new_object();
	json_object *job = json_object_new_object();
	json_object *x;

	ADD(o, "archived", json_object_new_boolean(false));
	ADD(o, "created_at", jtime(t->created));
	ADD(o, "created_by", minimal_owner());
	ADD(o, "has_external_agent", json_object_new_boolean(false));
	ADD(o, "id", jstr(t->version_id));
	ADD(job, "created_at", jtime(t->created));
	ADD(job, "started_at", jtime(t->created));
	ADD(job, "completed_at", jtime(t->created));
	ADD(job, "file_id", jstr(t->file_id));
	ADD(job, "id", jstr(t->job_id));
	ADD(job, "initiator_id", jstr(deployment.owner->id));
	x = json_object_new_object();
	ADD(x, "template_version_id", jstr(t->version_id));
	ADD(job, "input", x);
	ADD(job, "logs_overflowed", json_object_new_boolean(false));
	ADD(job, "organization_id", jstr(deployment.org_id));
	ADD(job, "queue_position", json_object_new_int(0));
	ADD(job, "queue_size", json_object_new_int(0));
	ADD(job, "status", jstr("succeeded"));
	x = json_object_new_object();
	ADD(x, "scope", jstr("organization"));
	ADD(x, "owner", jstr(""));
	ADD(job, "tags", x);
	ADD(job, "type", jstr("template_version_import"));
	ADD(o, "job", job);
	ADD(o, "matched_provisioners", j_matched_provisioners());
	ADD(o, "message", jstr("stand-in template version"));
	ADD(o, "name", jstr(t->version_name));
	ADD(o, "organization_id", jstr(deployment.org_id));
	ADD(o, "readme", jstr(""));
	ADD(o, "template_id", jstr(t->id));
	ADD(o, "updated_at", jtime(t->created));
	ADD(o, "warnings", json_object_new_array());
	return o;
}

/* codersdk.TemplateVersionParameter */
json_object *
j_param(const struct param *p)
{
	json_object *o = json_object_new_object();
	json_object *opts = json_object_new_array();

	ADD(o, "default_value", jstr(p->default_value));
	ADD(o, "description", jstr(p->description));
	ADD(o, "description_plaintext", jstr(p->description));
	ADD(o, "display_name", jstr(p->display_name));
	ADD(o, "ephemeral", json_object_new_boolean(false));
	ADD(o, "form_type", jstr(p->form_type));
	ADD(o, "icon", jstr(""));
	ADD(o, "mutable", json_object_new_boolean(p->mutable_));
	ADD(o, "name", jstr(p->name));
	if (p->options)
	{
		char		buf[256];
		char	   *save = NULL;

		snprintf(buf, sizeof(buf), "%s", p->options);
		for (char *v = strtok_r(buf, ",", &save); v; v = strtok_r(NULL, ",", &save))
		{
			json_object *op = json_object_new_object();

			ADD(op, "description", jstr(""));
			ADD(op, "icon", jstr(""));
			ADD(op, "name", jstr(v));
			ADD(op, "value", jstr(v));
			json_object_array_add(opts, op);
		}
	}
	ADD(o, "options", opts);
	ADD(o, "required", json_object_new_boolean(p->required));
	ADD(o, "type", jstr(p->type));
	ADD(o, "validation_error", jstr(""));
	if (p->has_range)
	{
		ADD(o, "validation_max", json_object_new_int(p->vmax));
		ADD(o, "validation_min", json_object_new_int(p->vmin));
	}
	ADD(o, "validation_regex", jstr(""));
	return o;
}

/* codersdk.MatchedProvisioners: every daemon matches and is available */
json_object *
j_matched_provisioners(void)
{
	json_object *x = json_object_new_object();

	ADD(x, "available", json_object_new_int(deployment.cfg.replicas * deployment.cfg.daemons));
	ADD(x, "count", json_object_new_int(deployment.cfg.replicas * deployment.cfg.daemons));
	ADD(x, "most_recently_seen", jtime(wall_us()));
	return x;
}

/* codersdk.ProvisionerJobMetadata of build B */
static json_object *
job_metadata(const struct build *b)
{
	json_object *x = json_object_new_object();
	const struct workspace *w = b->ws;

	ADD(x, "template_display_name", jstr(w->tpl->name));
	ADD(x, "template_icon", jstr("/icon/docker.png"));
	ADD(x, "template_id", jstr(w->tpl->id));
	ADD(x, "template_name", jstr(w->tpl->name));
	ADD(x, "template_version_name", jstr(w->tpl->version_name));
	ADD(x, "workspace_id", jstr(w->id));
	ADD(x, "workspace_name", jstr(w->name));
	return x;
}

/*
 * The metadata of a dry run: empty, as coderd's convertProvisionerJob leaves
 * it for the dry-run routes (coderd/templateversions.go, templateVersionDryRun).
 */
static json_object *
dryrun_metadata(void)
{
	json_object *x = json_object_new_object();

	ADD(x, "template_display_name", jstr(""));
	ADD(x, "template_icon", jstr(""));
	ADD(x, "template_id", jstr("00000000-0000-0000-0000-000000000000"));
	ADD(x, "template_name", jstr(""));
	ADD(x, "template_version_name", jstr(""));
	return x;
}

/* codersdk.ProvisionerJob of build or dry run B */
json_object *
j_job(const struct build *b)
{
	json_object *o = json_object_new_object();
	json_object *x;
	bool		pending = b->status == JOB_PENDING;
	bool		dry = b->kind == JK_DRY_RUN;

	if (!dry)
		ADD(o, "available_workers", json_object_new_array());
	add_time_opt(o, "canceled_at", b->canceled);
	add_time_opt(o, "completed_at", b->completed);
	ADD(o, "created_at", jtime(b->created));
	if (b->error)
		ADD(o, "error", jstr(b->error));
	ADD(o, "file_id", jstr(b->tpl->file_id));
	ADD(o, "id", jstr(b->job_id));
	ADD(o, "initiator_id", jstr(b->initiator->id));
	x = json_object_new_object();
	ADD(x, "template_version_id", jstr(b->tpl->version_id));
	if (!dry)
		ADD(x, "workspace_build_id", jstr(b->id));
	ADD(o, "input", x);
	ADD(o, "logs_overflowed", json_object_new_boolean(false));
	ADD(o, "metadata", dry ? dryrun_metadata() : job_metadata(b));
	ADD(o, "organization_id", jstr(deployment.org_id));
	ADD(o, "queue_position", json_object_new_int64(build_queue_position(b)));
	ADD(o, "queue_size", json_object_new_int64(pending ? deployment.q_len : 0));
	add_time_opt(o, "started_at", b->started);
	ADD(o, "status", jstr(job_status_name(b->status)));
	x = json_object_new_object();
	ADD(x, "owner", jstr(""));
	ADD(x, "scope", jstr("organization"));
	ADD(o, "tags", x);
	ADD(o, "type", jstr(dry ? "template_version_dry_run" : "workspace_build"));
	if (b->started)
	{
		ADD(o, "worker_id", jstr(b->worker_id));
		if (!dry)				/* convertProvisionerJob sets no worker_name */
			ADD(o, "worker_name", jstr(b->worker_name));
	}
	return o;
}

/* codersdk.WorkspaceAgent */
json_object *
j_agent(const struct agent *a)
{
	json_object *o = json_object_new_object();
	json_object *x;
	const char *reason = "";
	bool		connected = a->status == AG_CONNECTED;
	static const char *apps[] = {"vscode", "web_terminal", "ssh_helper", "port_forwarding_helper"};

	ADD(o, "api_version", jstr("2.0"));
	ADD(o, "apps", json_object_new_array());
	ADD(o, "architecture", jstr("amd64"));
	ADD(o, "connection_timeout_seconds", json_object_new_int64(deployment.cfg.agent_timeout / 1000000));
	ADD(o, "created_at", jtime(a->created));
	ADD(o, "directory", jstr(""));
	if (a->status == AG_DISCONNECTED)
		ADD(o, "disconnected_at", jtime(a->build->ws->updated));
	x = json_object_new_array();
	for (int i = 0; i < 4; i++)
		json_object_array_add(x, jstr(apps[i]));
	ADD(o, "display_apps", x);
	ADD(o, "environment_variables", json_object_new_object());
	ADD(o, "expanded_directory", jstr(""));
	add_time_opt(o, "first_connected_at", a->first_connected);
	if (a->status == AG_CONNECTING)
		reason = "agent has not yet connected";
	else if (a->status == AG_TIMEOUT)
		reason = "agent is taking too long to connect";
	else if (a->status == AG_DISCONNECTED)
		reason = "agent has lost connection";
	x = json_object_new_object();
	ADD(x, "healthy", json_object_new_boolean(connected));
	ADD(x, "reason", jstr(reason));
	ADD(o, "health", x);
	ADD(o, "id", jstr(a->id));
	ADD(o, "instance_id", jstr(""));
	add_time_opt(o, "last_connected_at", a->first_connected);
	ADD(o, "latency", json_object_new_object());
	ADD(o, "lifecycle_state", jstr(connected ? "ready" : a->status == AG_DISCONNECTED ? "off" : "created"));
	ADD(o, "log_sources", json_object_new_array());
	ADD(o, "logs_length", json_object_new_int(0));
	ADD(o, "logs_overflowed", json_object_new_boolean(false));
	ADD(o, "name", jstr("main"));
	ADD(o, "operating_system", jstr("linux"));
	ADD(o, "parent_id", null_uuid());
	add_time_opt(o, "ready_at", a->first_connected);
	ADD(o, "resource_id", jstr(a->resource_id));
	ADD(o, "scripts", json_object_new_array());
	add_time_opt(o, "started_at", a->first_connected);
	ADD(o, "startup_script_behavior", jstr("non-blocking"));
	ADD(o, "status", jstr(agent_status_name(a->status)));
	ADD(o, "subsystems", json_object_new_array());
	ADD(o, "troubleshooting_url", jstr(""));
	ADD(o, "updated_at", jtime(a->first_connected ? a->first_connected : a->created));
	ADD(o, "version", jstr("v0.1.0-coder-standin"));
	return o;
}

/* []codersdk.WorkspaceResource: the container with its agent, once there is one */
json_object *
j_resources(const struct build *b)
{
	json_object *arr = json_object_new_array();
	json_object *r,
			   *agents;
	const struct agent *a = b->agent;

	if (!a)
		return arr;
	r = json_object_new_object();
	agents = json_object_new_array();
	json_object_array_add(agents, j_agent(a));
	ADD(r, "agents", agents);
	ADD(r, "created_at", jtime(a->created));
	ADD(r, "daily_cost", json_object_new_int(0));
	ADD(r, "hide", json_object_new_boolean(false));
	ADD(r, "icon", jstr("/icon/docker.png"));
	ADD(r, "id", jstr(a->resource_id));
	ADD(r, "job_id", jstr(b->job_id));
	ADD(r, "metadata", json_object_new_array());
	ADD(r, "name", jstr("workspace"));
	ADD(r, "type", jstr("docker_container"));
	ADD(r, "workspace_transition", jstr("start"));
	json_object_array_add(arr, r);
	return arr;
}

/* codersdk.WorkspaceBuild */
json_object *
j_build(const struct build *b)
{
	json_object *o = json_object_new_object();
	const struct workspace *w = b->ws;

	ADD(o, "build_number", json_object_new_int(b->number));
	ADD(o, "created_at", jtime(b->created));
	ADD(o, "daily_cost", json_object_new_int(0));
	ADD(o, "deadline", NULL);
	ADD(o, "has_ai_task", json_object_new_boolean(false));
	ADD(o, "has_external_agent", json_object_new_boolean(false));
	ADD(o, "id", jstr(b->id));
	ADD(o, "initiator_id", jstr(b->initiator->id));
	ADD(o, "initiator_name", jstr(b->initiator->username));
	ADD(o, "job", j_job(b));
	ADD(o, "matched_provisioners", j_matched_provisioners());
	ADD(o, "max_deadline", NULL);
	ADD(o, "reason", jstr("initiator"));
	ADD(o, "resources", j_resources(b));
	ADD(o, "status", jstr(build_status_name(b)));
	ADD(o, "template_version_id", jstr(w->tpl->version_id));
	ADD(o, "template_version_name", jstr(w->tpl->version_name));
	ADD(o, "template_version_preset_id", NULL);
	ADD(o, "transition", jstr(transition_name(b->tr)));
	ADD(o, "updated_at", jtime(b->updated));
	ADD(o, "workspace_id", jstr(w->id));
	ADD(o, "workspace_name", jstr(w->name));
	ADD(o, "workspace_owner_avatar_url", jstr(""));
	ADD(o, "workspace_owner_id", jstr(w->owner->id));
	ADD(o, "workspace_owner_name", jstr(w->owner->username));
	return o;
}

/* codersdk.Workspace, with its latest build */
json_object *
j_workspace(const struct workspace *w)
{
	json_object *o = json_object_new_object();
	json_object *x,
			   *failing;
	const struct agent *a = w->latest->agent;
	bool		healthy = !a || a->status == AG_CONNECTED;

	ADD(o, "allow_renames", json_object_new_boolean(false));
	ADD(o, "automatic_updates", jstr("never"));
	ADD(o, "autostart_schedule", jstr(""));
	ADD(o, "created_at", jtime(w->created));
	ADD(o, "deleting_at", NULL);
	ADD(o, "dormant_at", NULL);
	ADD(o, "favorite", json_object_new_boolean(false));
	x = json_object_new_object();
	failing = json_object_new_array();
	if (!healthy)
		json_object_array_add(failing, jstr(a->id));
	ADD(x, "failing_agents", failing);
	ADD(x, "healthy", json_object_new_boolean(healthy));
	ADD(o, "health", x);
	ADD(o, "id", jstr(w->id));
	ADD(o, "is_prebuild", json_object_new_boolean(false));
	ADD(o, "last_used_at", jtime(w->updated));
	ADD(o, "latest_app_status", NULL);
	ADD(o, "latest_build", j_build(w->latest));
	ADD(o, "name", jstr(w->name));
	ADD(o, "next_start_at", NULL);
	ADD(o, "organization_id", jstr(deployment.org_id));
	ADD(o, "organization_name", jstr("coder"));
	ADD(o, "outdated", json_object_new_boolean(false));
	ADD(o, "owner_avatar_url", jstr(""));
	ADD(o, "owner_id", jstr(w->owner->id));
	ADD(o, "owner_name", jstr(w->owner->username));
	ADD(o, "shared_with", json_object_new_array());
	ADD(o, "task_id", null_uuid());
	ADD(o, "template_active_version_id", jstr(w->tpl->version_id));
	ADD(o, "template_allow_user_cancel_workspace_jobs", json_object_new_boolean(true));
	ADD(o, "template_display_name", jstr(w->tpl->name));
	ADD(o, "template_icon", jstr("/icon/docker.png"));
	ADD(o, "template_id", jstr(w->tpl->id));
	ADD(o, "template_name", jstr(w->tpl->name));
	ADD(o, "template_require_active_version", json_object_new_boolean(false));
	ADD(o, "template_use_classic_parameter_flow", json_object_new_boolean(true));
	ADD(o, "ttl_ms", NULL);
	ADD(o, "updated_at", jtime(w->updated));
	return o;
}

/*
 * codersdk.ProvisionerJobLog as JSON text, appended to SB: its fields in the
 * Go struct's order (id, created_at, log_source, log_level, stage, output),
 * as encoding/json writes them.
 */
void
log_text(strbuf *sb, const struct logline *l)
{
	char		t[40];

	fmt_time(l->at, t);
	sb_printf(sb, "{\"id\":%lld,\"created_at\":\"%s\",\"log_source\":\"%s\",\"log_level\":\"%s\",\"stage\":",
			  (long long) l->id, t, l->source, l->level);
	sb_json_str(sb, l->stage);
	sb_add(sb, ",\"output\":", 10);
	sb_json_str(sb, l->output);
	sb_add(sb, "}", 1);
}

/* One serpent.Option of the deployment config. */
static json_object *
option(const char *name, const char *flag, const char *env, const char *dflt,
	   json_object *value, bool from_flag, const char *desc)
{
	json_object *o = json_object_new_object();

	ADD(o, "name", jstr(name));
	ADD(o, "description", jstr(desc));
	ADD(o, "flag", jstr(flag));
	ADD(o, "env", jstr(env));
	ADD(o, "default", jstr(dflt));
	ADD(o, "value", value);
	ADD(o, "value_source", jstr(from_flag ? "flag" : "default"));
	return o;
}

/*
 * codersdk.DeploymentConfig: the few values a scale test reads (Coder's
 * cleanup reads disable_owner_workspace_exec, cli/exp_scaletest.go
 * getScaletestWorkspaces), with coderd's option names and defaults
 * (codersdk/deployment.go).
 */
json_object *
j_deployment_config(void)
{
	const struct config *c = &deployment.cfg;
	json_object *o = json_object_new_object();
	json_object *v = json_object_new_object();
	json_object *x = json_object_new_object();
	json_object *opts = json_object_new_array();

	ADD(v, "disable_owner_workspace_exec", json_object_new_boolean(false));
	ADD(v, "experiments", json_object_new_array());
	ADD(x, "daemons", json_object_new_int(c->daemons));
	ADD(v, "provisioner", x);
	x = json_object_new_object();
	ADD(x, "api", json_object_new_int(c->api_rate_limit));
	ADD(x, "disable_all", json_object_new_boolean(c->rate_limits_disabled));
	ADD(v, "rate_limit", x);
	ADD(v, "verbose", json_object_new_boolean(false));
	ADD(o, "config", v);
	json_object_array_add(opts, option("API Rate Limit", "api-rate-limit", "CODER_API_RATE_LIMIT", "512",
									   json_object_new_int(c->api_rate_limit), c->api_rate_limit != 512,
									   "Maximum number of requests per minute allowed to the API per user, or per IP address for unauthenticated users. Negative values mean no rate limit."));
	json_object_array_add(opts, option("Disable All Rate Limits", "dangerous-disable-rate-limits", "CODER_DANGEROUS_DISABLE_RATE_LIMITS", "",
									   json_object_new_boolean(c->rate_limits_disabled), c->rate_limits_disabled,
									   "Disables all rate limits. This is not recommended in production."));
	json_object_array_add(opts, option("Disable Owner Workspace Access", "disable-owner-workspace-access", "CODER_DISABLE_OWNER_WORKSPACE_ACCESS", "",
									   json_object_new_boolean(false), false,
									   "Remove the permission for the 'owner' role to have workspace execution on all workspaces."));
	json_object_array_add(opts, option("Provisioner Daemons", "provisioner-daemons", "CODER_PROVISIONER_DAEMONS", "3",
									   json_object_new_int(c->daemons), c->daemons != 3,
									   "Number of provisioner daemons to create on start. If builds are stuck in queued state for a long time, consider increasing this."));
	ADD(o, "options", opts);
	return o;
}
