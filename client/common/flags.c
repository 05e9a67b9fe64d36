/*
 * flags.c: flag values parsed, and their mistakes worded, the same way in
 * every command (flags.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flags.h"
#include "goduration.h"

static const char *command = "";

void
flags_command(const char *cmd)
{
	command = cmd;
}

int
flag_error(const char *flag, const char *arg, const char *why_fmt,...)
{
	va_list		ap;

	fprintf(stderr, "coder-scale: %s: %s", command, flag);
	if (arg)
		fprintf(stderr, " \"%s\"", arg);
	fputs(": ", stderr);
	va_start(ap, why_fmt);
	vfprintf(stderr, why_fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nRun 'coder-scale %s --help' for the options.\n", command);
	return EXIT_USAGE;
}

bool
flag_int(const char *flag, const char *arg, int64_t min, int64_t max, int64_t *out)
{
	char	   *end;
	long long	v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max)
	{
		if (max == INT32_MAX || max == INT64_MAX)
			flag_error(flag, arg, "must be a whole number, %lld or more", (long long) min);
		else
			flag_error(flag, arg, "must be a whole number from %lld to %lld", (long long) min, (long long) max);
		return false;
	}
	*out = v;
	return true;
}

bool
flag_int32(const char *flag, const char *arg, int min, int *out)
{
	int64_t		v;

	if (!flag_int(flag, arg, min, INT32_MAX, &v))
		return false;
	*out = (int) v;
	return true;
}

bool
flag_duration(const char *flag, const char *arg, int64_t min_ns, int64_t max_ns, int64_t *ns)
{
	const char *why = NULL;
	char		lo[32],
				hi[32];

	if (!go_duration_parse(arg, ns, &why))
	{
		flag_error(flag, arg, "not a Go duration (%s); use e.g. 300ms, 5s, 2m, 1h30m", why ? why : "invalid");
		return false;
	}
	if (*ns < min_ns || (max_ns > 0 && *ns > max_ns))
	{
		go_duration_format(min_ns, lo, sizeof(lo));
		if (max_ns > 0)
			flag_error(flag, arg, "must be from %s to %s", lo, go_duration_format(max_ns, hi, sizeof(hi)));
		else if (min_ns == 0)
			flag_error(flag, arg, "must not be negative");
		else
			flag_error(flag, arg, "must be %s or more", lo);
		return false;
	}
	return true;
}

bool
flag_duration_ms(const char *flag, const char *arg, int64_t min_ns, int64_t *ms)
{
	int64_t		ns;

	if (!flag_duration(flag, arg, min_ns, 0, &ns))
		return false;
	*ms = ns / 1000000 + (ns % 1000000 != 0);
	return true;
}

bool
flag_bool(const char *flag, const char *arg, bool *out)
{
	if (!arg || strcmp(arg, "true") == 0 || strcmp(arg, "1") == 0)
		*out = true;
	else if (strcmp(arg, "false") == 0 || strcmp(arg, "0") == 0)
		*out = false;
	else
	{
		flag_error(flag, arg, "expected true or false");
		return false;
	}
	return true;
}

bool
flag_tag(const char *flag, const char *arg, json_object *tags)
{
	const char *eq = strchr(arg, '=');
	char	   *key;

	if (!eq || eq == arg)
	{
		flag_error(flag, arg, "expected KEY=VALUE, for example %s version=2.9.0", flag);
		return false;
	}
	key = strndup(arg, (size_t) (eq - arg));
	json_object_object_add(tags, key, json_object_new_string(eq + 1));
	free(key);
	return true;
}

bool
flag_regex(const char *flag, const char *arg, regex_t *re)
{
	int			err = regcomp(re, arg, REG_EXTENDED | REG_NOSUB);
	char		why[256];

	if (err == 0)
		return true;
	regerror(err, re, why, sizeof(why));
	flag_error(flag, arg, "not a POSIX extended regular expression: %s", why);
	return false;
}
