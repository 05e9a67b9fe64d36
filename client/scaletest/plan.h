/*
 * plan.h: the checks before a scale test that Coder makes with the CLI's
 * own client: the template version, its parameters and external auth, and a
 * dry run of a workspace build (plan.c).
 */
#ifndef CODER_SCALE_PLAN_H
#define CODER_SCALE_PLAN_H

#include <uv.h>
#include <json-c/json.h>

#include "config.h"
#include "net/http.h"

/* Plan a build of template version VERSION as Coder's prepWorkspaceBuild; an exit code. */
int			plan_build(http_client *http, uv_loop_t *loop, const char *token,
					   const scaletest_config *cfg, const char *version);

/*
 * The --parameter values as codersdk's []WorkspaceBuildParameter, for the
 * dry run, the workspace and a retry's build alike.
 */
json_object *plan_params_json(const scaletest_config *cfg);

#endif							/* CODER_SCALE_PLAN_H */
