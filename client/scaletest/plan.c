/*
 * plan.c: the checks Coder makes before a scale test starts, once, with the
 * CLI's own client (no bypass header): the template (coder/coder
 * cli/exp_scaletest.go parseTemplate) and the build its workspaces will
 * get (cli/create.go prepWorkspaceBuild): the template's active version,
 * its rich parameters (every --parameter must be one of them), its external
 * auth, and a dry run of a workspace build (POST .../dry-run, its matched
 * provisioners, the job followed over its logs websocket to its end, its
 * resources).  A template that cannot be planned fails the test before any
 * user exists, with Coder's wording ("prepare build: dry-run workspace: ...").
 *
 * What Coder prints to stdout here (the stage lines, "Planning
 * workspace...", the "Workspace Preview" table) goes to stderr, so that
 * stdout holds only the results, as the outputs promise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "cli.h"
#include "common/json.h"
#include "names.h"
#include "net/ws.h"
#include "plan.h"

#define PLAN_FETCH_MS	1000		/* cliui.ProvisionerJob fetches the job every second */
#define PLAN_LOG_LINES	20			/* log lines kept to show when the plan fails */

typedef struct plan
{
	http_client *http;
	uv_loop_t  *loop;
	http_auth	who;
	const scaletest_config *cfg;
	const char *version;
	char		job_id[64];
	/* the job followed */
	bool		logs_ended;
	char	   *lines[PLAN_LOG_LINES];
	int			nlines;
	uv_timer_t	tick;
	http_call  *fetch;
} plan;

/* One GET or POST with the CLI's client; its answer parsed, or an exit code. */
static int
plan_call(plan *p, const char *method, const char *path, const char *body, const char *what,
		  int want, json_object **out)
{
	http_sync	s;

	*out = NULL;
	http_sync_call(p->http, method, path, &p->who, body, &s);
	if (s.status != want)
	{
		cli_error("scaletest: prepare build: %s: %s", what, s.error ? s.error : "no answer");
		http_sync_free(&s);
		return s.unreachable ? EXIT_UNREACHABLE : EXIT_INTERNAL;
	}
	*out = json_tokener_parse(s.body);
	http_sync_free(&s);
	if (!*out)
	{
		cli_error("scaletest: prepare build: %s: the answer is not JSON", what);
		return EXIT_INTERNAL;
	}
	return EXIT_OK;
}

json_object *
plan_params_json(const scaletest_config *cfg)
{
	json_object *params = json_object_new_array();

	for (int i = 0; i < cfg->nparams; i++)
	{
		json_object *v = json_object_new_object();

		json_object_object_add(v, "name", json_object_new_string(cfg->params[i].name));
		json_object_object_add(v, "value", json_object_new_string(cfg->params[i].value));
		json_object_array_add(params, v);
	}
	return params;
}

/* Every --parameter must be one of the version's (Coder's ParameterResolver). */
static int
check_params(plan *p, json_object *arr)
{
	int			rc = EXIT_OK;

	for (int i = 0; i < p->cfg->nparams; i++)
	{
		bool		found = false;

		for (size_t k = 0; json_object_is_type(arr, json_type_array) && k < json_object_array_length(arr); k++)
		{
			const char *name = jstr(json_object_array_get_idx(arr, k), "name");

			if (name && strcmp(name, p->cfg->params[i].name) == 0)
				found = true;
		}
		if (!found && p->cfg->params[i].from_file)
		{
			cli_error("scaletest: --rich-parameter-file %s: parameter %s: template %s has no parameter of that name",
					  p->cfg->rich_parameter_file, p->cfg->params[i].name, p->cfg->template_name);
			rc = EXIT_USAGE;
		}
		else if (!found)
		{
			cli_error("scaletest: --parameter %s: template %s has no parameter of that name",
					  p->cfg->params[i].name, p->cfg->template_name);
			rc = EXIT_USAGE;
		}
	}
	return rc;
}

/*
 * External auth the template needs and the owner has not done: Coder's CLI
 * would wait for a browser login (cliui.ExternalAuth); a scale test cannot.
 */
static int
check_external_auth(json_object *arr)
{
	int			rc = EXIT_OK;

	for (size_t k = 0; json_object_is_type(arr, json_type_array) && k < json_object_array_length(arr); k++)
	{
		json_object *a = json_object_array_get_idx(arr, k);
		json_object *done;

		if (json_object_object_get_ex(a, "authenticated", &done) && json_object_get_boolean(done))
			continue;
		cli_error("scaletest: prepare build: template version git auth: you must authenticate with %s "
				  "to create a workspace with this template: visit %s, then run the test again",
				  jstr(a, "display_name") ? jstr(a, "display_name") : jstr(a, "id") ? jstr(a, "id") : "?",
				  jstr(a, "authenticate_url") ? jstr(a, "authenticate_url") : "the deployment");
		rc = EXIT_USAGE;
	}
	return rc;
}

/* ---------- the dry-run job, followed ---------- */

/* One log message of the job: its output kept, the last PLAN_LOG_LINES of them. */
static void
keep_line(void *arg, const char *text, size_t len)
{
	plan	   *p = arg;
	json_object *j = json_tokener_parse(text);
	const char *out = jstr(j, "output");

	if (out && p->nlines < PLAN_LOG_LINES)
		p->lines[p->nlines++] = strdup(out);
	else if (out)
	{
		free(p->lines[0]);
		memmove(p->lines, p->lines + 1, sizeof(p->lines[0]) * (PLAN_LOG_LINES - 1));
		p->lines[PLAN_LOG_LINES - 1] = strdup(out);
	}
	(void) len;
	json_object_put(j);
}

static void
logs_end(void *arg, const char *error, bool opened)
{
	plan	   *p = arg;

	(void) error;
	(void) opened;
	p->logs_ended = true;
	uv_stop(p->loop);
}

static void
fetch_done(void *arg, const http_result *res)
{
	plan	   *p = arg;

	(void) res;
	p->fetch = NULL;
}

/* cliui.ProvisionerJob's ticker: the job read again every second while its logs stream. */
static void
tick(uv_timer_t *t)
{
	plan	   *p = t->data;
	char		path[256];

	if (p->fetch)
		return;
	snprintf(path, sizeof(path), "/api/v2/templateversions/%s/dry-run/%s", p->version, p->job_id);
	p->fetch = http_start(p->http, "GET", path, &p->who, NULL, fetch_done, p);
}

/* Follow the job's logs to their end (the websocket closes when the job ends). */
static void
follow_job(plan *p)
{
	char		path[256];
	ws_conn    *ws;

	snprintf(path, sizeof(path), "/api/v2/templateversions/%s/dry-run/%s/logs?follow", p->version, p->job_id);
	ws = ws_open(path, &p->who, keep_line, logs_end, p);
	if (!ws)
		return;
	uv_timer_init(p->loop, &p->tick);
	p->tick.data = p;
	uv_timer_start(&p->tick, tick, PLAN_FETCH_MS, PLAN_FETCH_MS);
	while (!p->logs_ended)
		uv_run(p->loop, UV_RUN_ONCE);
	uv_timer_stop(&p->tick);
	uv_close((uv_handle_t *) &p->tick, NULL);
	if (p->fetch)
		http_cancel(p->fetch);
	p->fetch = NULL;
}

/* The job's end, as cliui.ProvisionerJob reads it: an exit code. */
static int
job_outcome(plan *p)
{
	char		path[256];
	json_object *job;
	const char *status;
	int			rc;

	snprintf(path, sizeof(path), "/api/v2/templateversions/%s/dry-run/%s", p->version, p->job_id);
	if ((rc = plan_call(p, "GET", path, NULL, "dry-run workspace: fetch", 200, &job)) != EXIT_OK)
		return rc;
	status = jstr(job, "status") ? jstr(job, "status") : "";
	if (strcmp(status, "succeeded") == 0)
		rc = EXIT_OK;
	else
	{
		for (int i = 0; i < p->nlines; i++)
			fprintf(stderr, "  %s\n", p->lines[i]);
		cli_error("scaletest: prepare build: dry-run workspace: %s",
				  strcmp(status, "canceled") == 0 ? "canceled" : jstr(job, "error") ? jstr(job, "error") : status);
		fprintf(stderr, "The template's active version cannot be planned with these parameters: "
				"fix the template or the --parameter values, then run the test again.\n");
		rc = EXIT_USAGE;
	}
	json_object_put(job);
	return rc;
}

/* The dry run's resources: how many agents a workspace will have. */
static int
show_resources(plan *p)
{
	char		path[256];
	json_object *res;
	int			rc,
				agents = 0;

	snprintf(path, sizeof(path), "/api/v2/templateversions/%s/dry-run/%s/resources", p->version, p->job_id);
	if ((rc = plan_call(p, "GET", path, NULL, "get workspace dry-run resources", 200, &res)) != EXIT_OK)
		return rc;
	for (size_t i = 0; json_object_is_type(res, json_type_array) && i < json_object_array_length(res); i++)
	{
		json_object *a = jobj(json_object_array_get_idx(res, i), "agents");

		agents += json_object_is_type(a, json_type_array) ? (int) json_object_array_length(a) : 0;
	}
	fprintf(stderr, "Workspace Preview: %zu resource(s), %d agent(s)\n",
			json_object_is_type(res, json_type_array) ? json_object_array_length(res) : 0, agents);
	json_object_put(res);
	return EXIT_OK;
}

/* POST the dry run (Coder names its workspace "scaletest-N"), then follow it. */
static int
dry_run(plan *p)
{
	json_object *body = json_object_new_object(),
			   *j;
	char		path[256];
	int			rc;

	json_object_object_add(body, "workspace_name", json_object_new_string("scaletest-N"));
	json_object_object_add(body, "rich_parameter_values", plan_params_json(p->cfg));
	snprintf(path, sizeof(path), "/api/v2/templateversions/%s/dry-run", p->version);
	rc = plan_call(p, "POST", path, json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
				   "begin workspace dry-run", 201, &j);
	json_object_put(body);
	if (rc != EXIT_OK)
		return rc;
	if (!is_uuid(jstr(j, "id")))
	{
		json_object_put(j);
		cli_error("scaletest: prepare build: begin workspace dry-run: the answer has no job id");
		return EXIT_INTERNAL;
	}
	snprintf(p->job_id, sizeof(p->job_id), "%s", jstr(j, "id"));
	json_object_put(j);
	snprintf(path, sizeof(path), "/api/v2/templateversions/%s/dry-run/%s/matched-provisioners",
			 p->version, p->job_id);
	if ((rc = plan_call(p, "GET", path, NULL, "get matched provisioners", 200, &j)) != EXIT_OK)
		return rc;
	json_object_put(j);
	fprintf(stderr, "Planning workspace...\n");
	snprintf(path, sizeof(path), "/api/v2/templateversions/%s/dry-run/%s", p->version, p->job_id);
	if ((rc = plan_call(p, "GET", path, NULL, "dry-run workspace: fetch", 200, &j)) != EXIT_OK)
		return rc;
	json_object_put(j);
	follow_job(p);
	if ((rc = job_outcome(p)) != EXIT_OK)
		return rc;
	return show_resources(p);
}

int
plan_build(http_client *http, uv_loop_t *loop, const char *token, const scaletest_config *cfg,
		   const char *version)
{
	plan		p = {.http = http, .loop = loop, .who = {token, false}, .cfg = cfg, .version = version};
	char		path[256];
	json_object *j;
	int			rc;

	snprintf(path, sizeof(path), "/api/v2/templateversions/%s", version);
	if ((rc = plan_call(&p, "GET", path, NULL, "get template version", 200, &j)) != EXIT_OK)
		return rc;
	json_object_put(j);
	snprintf(path, sizeof(path), "/api/v2/templateversions/%s/rich-parameters", version);
	if ((rc = plan_call(&p, "GET", path, NULL, "get template version rich parameters", 200, &j)) != EXIT_OK)
		return rc;
	rc = check_params(&p, j);
	json_object_put(j);
	if (rc != EXIT_OK)
		return rc;
	snprintf(path, sizeof(path), "/api/v2/templateversions/%s/external-auth", version);
	if ((rc = plan_call(&p, "GET", path, NULL, "template version git auth", 200, &j)) != EXIT_OK)
		return rc;
	rc = check_external_auth(j);
	json_object_put(j);
	if (rc == EXIT_OK)
		rc = dry_run(&p);
	for (int i = 0; i < p.nlines; i++)
		free(p.lines[i]);
	return rc;
}
