/*
 * paramfile.h: the rich parameters of create-workspaces as Coder's CLI
 * gathers them: --rich-parameter-file, a YAML map of parameter name to
 * value read as coder/coder cli/parameter.go parseParameterMapFile reads it,
 * with the --parameter values over it as cli/parameterresolver.go's
 * ParameterResolver layers them (the file first, then the command line or
 * the environment: a name given there replaces the file's value, a new one
 * is appended).
 */
#ifndef CODER_SCALE_PARAMFILE_H
#define CODER_SCALE_PARAMFILE_H

#include <stdbool.h>

#include "config.h"

/*
 * Read the YAML file PATH into *PARAMS (*N of them, in the file's order,
 * from_file set).  Values as Coder makes them: a string as written, a bool
 * or an int as Go's fmt %v prints it, a list as Go's encoding/json writes
 * it; anything else is refused.  False with the reason in *WHY (malloc'ed;
 * Coder's wording where it has one: "open PATH: no such file or
 * directory", "yaml: line 2: ...", "invalid parameter type: float64").
 */
bool		paramfile_read(const char *path, template_param **params, int *n, char **why);

/* Set parameter NAME to VALUE in *PARAMS: the value of an earlier NAME is replaced, else it is appended. */
void		params_set(template_param **params, int *n, const char *name, const char *value, bool from_file);

#endif							/* CODER_SCALE_PARAMFILE_H */
