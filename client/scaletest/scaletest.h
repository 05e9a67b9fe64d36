/*
 * scaletest.h: the scaletest command and what its two subcommands share.
 */
#ifndef CODER_SCALE_SCALETEST_H
#define CODER_SCALE_SCALETEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "net/http.h"

/* coder-scale scaletest cleanup ... (argv[0] is "cleanup") */
int			scaletest_cleanup(int argc, char **argv);

/* The Coder URL and session token as the coder CLI finds them; exit code. */
int			scaletest_find_login(char **url, char **token, const char *token_file);

/* GET /buildinfo and /users/me; exit code (3 when unreachable). */
int			scaletest_check_server(http_client *http, const char *url, const char *token,
								   char **version, char *me_id, size_t me_size,
								   char *org_id, size_t org_size);

#endif							/* CODER_SCALE_SCALETEST_H */
