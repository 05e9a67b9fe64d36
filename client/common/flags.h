/*
 * flags.h: the flag values every command parses, with one wording for the
 * same mistake in every command:
 *
 *     coder-scale: scaletest: --count "0": must be a whole number, 1 or more
 *     Run 'coder-scale scaletest --help' for the options.
 *
 * flags_command() names the command once, before parsing.  Every flag_*
 * parser stores the value and returns true, or prints that message and
 * returns false (the caller exits with EXIT_USAGE).
 */
#ifndef CODER_SCALE_FLAGS_H
#define CODER_SCALE_FLAGS_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

/* Scrape intervals, the same for scrape --interval and scaletest --scrape-interval. */
#define SCRAPE_INTERVAL_MIN_NS	(100 * INT64_C(1000000))		/* 100ms */
#define SCRAPE_INTERVAL_MAX_NS	(3600 * INT64_C(1000000000))	/* 1h */

/* The command the messages name: "scaletest", "scaletest cleanup", "scrape", "ingest". */
void		flags_command(const char *command);

/* Print "FLAG "ARG": WHY" (ARG may be NULL) and the pointer to --help; returns EXIT_USAGE. */
int			flag_error(const char *flag, const char *arg, const char *why_fmt,...)
			__attribute__((format(printf, 3, 4)));

/* A whole number in [MIN, MAX]. */
bool		flag_int(const char *flag, const char *arg, int64_t min, int64_t max, int64_t *out);
bool		flag_int32(const char *flag, const char *arg, int min, int *out);

/* A Go duration (common/goduration.h) in [MIN_NS, MAX_NS] (MAX_NS 0: no upper bound). */
bool		flag_duration(const char *flag, const char *arg, int64_t min_ns, int64_t max_ns, int64_t *ns);

/* The same in whole milliseconds, rounded up so that a positive duration never becomes 0. */
bool		flag_duration_ms(const char *flag, const char *arg, int64_t min_ns, int64_t *ms);

/*
 * A bool as Go's strconv.ParseBool reads it (serpent's Bool.Set): NULL (the
 * bare flag) or 1, t, T, TRUE, true, True for true; 0, f, F, FALSE, false,
 * False for false.
 */
bool		flag_bool(const char *flag, const char *arg, bool *out);

/*
 * Environment variable NAME as serpent's OptionSet.ParseEnv reads it
 * (coder/serpent option.go): NAME, else HOMEBREW_NAME; an empty value counts
 * as unset.  NULL when unset.
 */
const char *flag_env(const char *name);

/*
 * ARG split into fields as serpent's StringArray.Set splits a flag's or a
 * variable's value (coder/serpent values.go: one record of Go's
 * encoding/csv): fields end at commas; a field that starts with a double
 * quote runs to the closing quote, may hold commas, and "" in it is one
 * quote.  The fields (strdup'ed) are appended to *V, *N of them; an empty
 * ARG empties *V, as there.  False, with the message printed, when ARG is not
 * such a record.
 */
bool		flag_csv(const char *flag, const char *arg, char ***v, int *n);

/* KEY=VALUE into the object TAGS (a later KEY replaces an earlier one). */
bool		flag_tag(const char *flag, const char *arg, json_object *tags);

/* A POSIX extended regular expression, compiled without subexpressions. */
bool		flag_regex(const char *flag, const char *arg, regex_t *re);

#endif							/* CODER_SCALE_FLAGS_H */
