/*
 * config.h: the flags of scaletest create-workspaces (and cleanup), and what
 * the checks before a test found.  Parsed by scaletest.c and cleanup.c, read
 * by the runner and the results writer; nothing changes it once a test runs.
 */
#ifndef CODER_SCALE_CONFIG_H
#define CODER_SCALE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

typedef struct template_param
{
	char	   *name;
	char	   *value;
	bool		from_file;		/* from --rich-parameter-file, not replaced by a --parameter */
} template_param;

/* The flags of create-workspaces, and what the checks before a test found. */
typedef struct scaletest_config
{
	int			count;
	const char *template_arg;
	template_param   *params;
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
	int			max_failures;	/* runs that may fail with the command still passing (exit 0) */
	const char *rich_parameter_file;
	int			max_connections;	/* HTTP calls on the wire at most */
	int			max_websockets; /* 0: one per run in flight */

	/* found before the test starts */
	char		org_id[64];
	char		template_id[64];
	char		template_name[256];
	char		me_id[64];
} scaletest_config;

#endif							/* CODER_SCALE_CONFIG_H */
