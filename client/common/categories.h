/*
 * categories.h: the failure categories and the run phases, named once.
 *
 * Both lists are a contract with the results schema and are kept in its
 * order:
 *   - FAILURE_CATEGORIES is coder_scale.failure_category, in sort_order
 *     (sql/parts/50_results.sql seeds it; test/client/93_categories.sh holds
 *     this list against the table).
 *   - RUN_PHASES is the interval columns of coder_scale.run_result, in table
 *     order; a phase's name is its column name.  The results writer emits
 *     them in this order, so the enum order is the column order.
 *
 * Each X(ENUM, "name") entry expands through a caller's X macro, as in
 *     static const char *const names[] = {FAILURE_CATEGORIES(CATEGORY_NAME)};
 */
#ifndef CODER_SCALE_CATEGORIES_H
#define CODER_SCALE_CATEGORIES_H

#define FAILURE_CATEGORIES(X) \
	X(CAT_CREATE_USER, "create_user") \
	X(CAT_CREATE_WORKSPACE, "create_workspace") \
	X(CAT_BUILD_FAILED, "build_failed") \
	X(CAT_BUILD_CANCELED, "build_canceled") \
	X(CAT_AGENT_TIMEOUT, "agent_timeout") \
	X(CAT_COMMAND_FAILED, "command_failed") \
	X(CAT_COMMAND_TIMEOUT, "command_timeout") \
	X(CAT_JOB_TIMEOUT, "job_timeout") \
	X(CAT_CLEANUP_FAILED, "cleanup_failed") \
	X(CAT_OTHER, "other")

#define RUN_PHASES(X) \
	X(T_CREATE_USER, "create_user") \
	X(T_CREATE_WORKSPACE, "create_workspace") \
	X(T_QUEUE_WAIT, "queue_wait") \
	X(T_BUILD, "build") \
	X(T_AGENTS, "agents_connect") \
	X(T_COMMAND, "command") \
	X(T_CLEANUP, "cleanup")

#define CATEGORY_ENUM(e, name) e,
#define CATEGORY_NAME(e, name) name,

/* CAT_NONE: the run passed. */
typedef enum failure_category
{
	CAT_NONE = -1,
	FAILURE_CATEGORIES(CATEGORY_ENUM)
	CAT_COUNT
} failure_category;

/* A run's timings are indexed by phase; -1 when unknown. */
enum
{
	RUN_PHASES(CATEGORY_ENUM)
	T_COUNT
};

/* The stored name of a category ("other" for CAT_NONE is never asked). */
static inline const char *
category_name(failure_category c)
{
	static const char *const names[] = {FAILURE_CATEGORIES(CATEGORY_NAME)};

	return c >= 0 && c < CAT_COUNT ? names[c] : NULL;
}

/* The column name of a phase. */
static inline const char *
phase_name(int phase)
{
	static const char *const names[] = {RUN_PHASES(CATEGORY_NAME)};

	return phase >= 0 && phase < T_COUNT ? names[phase] : NULL;
}

#endif							/* CODER_SCALE_CATEGORIES_H */
