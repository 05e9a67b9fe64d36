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

/* Go's strconv.ParseBool, which serpent's Bool.Set calls (NULL: a bare --flag, which pflag sets to "true"). */
bool
flag_bool(const char *flag, const char *arg, bool *out)
{
	static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True", NULL};
	static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False", NULL};

	if (!arg)
	{
		*out = true;
		return true;
	}
	for (int i = 0; yes[i]; i++)
		if (strcmp(arg, yes[i]) == 0)
		{
			*out = true;
			return true;
		}
	for (int i = 0; no[i]; i++)
		if (strcmp(arg, no[i]) == 0)
		{
			*out = false;
			return true;
		}
	flag_error(flag, arg, "expected true or false");
	return false;
}

/* coder/serpent option.go, OptionSet.ParseEnv: NAME, else HOMEBREW_NAME; "" is unset. */
const char *
flag_env(const char *name)
{
	const char *v = getenv(name);
	char		brew[256];

	if (!v)
	{
		snprintf(brew, sizeof(brew), "HOMEBREW_%s", name);
		v = getenv(brew);
	}
	return v && *v ? v : NULL;
}

/* Whether P is at the end of a line of a csv record: "\n", "\r\n" or the end of the text. */
static bool
csv_line_end(const char *p)
{
	return *p == '\0' || *p == '\n' || (p[0] == '\r' && p[1] == '\n');
}

/* Append a copy of the LEN bytes at S to *V. */
static void
csv_push(char ***v, int *n, const char *s, size_t len)
{
	char	  **nv = realloc(*v, sizeof(char *) * (*n + 1));

	if (!nv || !(nv[*n] = strndup(s, len)))
		cli_out_of_memory("a flag's values");
	*v = nv;
	(*n)++;
}

/*
 * A quoted field starting after its opening quote at *P: its text (quotes
 * undoubled, "\r\n" read as "\n") into OUT; *P is left after the closing
 * quote.  NULL when it is not closed, or something else than a comma or the
 * line's end follows the closing quote (Go's ErrQuote).
 */
static const char *
csv_quoted(const char **p, char *out, size_t *len)
{
	const char *s = *p;

	*len = 0;
	for (;;)
	{
		if (*s == '\0')
			return "a quoted field has no closing quote";
		if (s[0] == '\r' && s[1] == '\n')
			s++;
		if (*s != '"')
		{
			out[(*len)++] = *s++;
			continue;
		}
		if (s[1] == '"')
		{
			out[(*len)++] = '"';
			s += 2;
			continue;
		}
		s++;
		if (*s != ',' && !csv_line_end(s))
			return "a quote in a quoted field is not doubled (write \"\" for one)";
		*p = s;
		return NULL;
	}
}

/* coder/serpent values.go StringArray.Set: one record of Go's encoding/csv (Reader.Read, default settings). */
bool
flag_csv(const char *flag, const char *arg, char ***v, int *n)
{
	const char *p = arg;
	const char *why = NULL;
	char	   *field = malloc(strlen(arg) + 1);
	size_t		len;

	if (!field)
		cli_out_of_memory("a flag's values");
	if (!*arg)
	{
		for (int i = 0; i < *n; i++)
			free((*v)[i]);
		*n = 0;
		free(field);
		return true;
	}
	while (*p == '\n' || (p[0] == '\r' && p[1] == '\n'))	/* Go's Reader skips empty lines */
		p += *p == '\r' ? 2 : 1;
	if (!*p)
		why = "no value on any line";
	while (!why)
	{
		if (*p == '"')
		{
			p++;
			if ((why = csv_quoted(&p, field, &len)))
				break;
			csv_push(v, n, field, len);
		}
		else
		{
			len = 0;
			while (*p != ',' && !csv_line_end(p))
			{
				if (*p == '"')
					why = "a quote inside a field that does not start with one (quote the whole field: \"a=\"\"x\"\"\")";
				field[len++] = *p++;
			}
			if (why)
				break;
			csv_push(v, n, field, len);
		}
		if (*p != ',')
			break;
		p++;
	}
	free(field);
	if (why)
		flag_error(flag, arg, "not comma-separated values as Coder's tool reads them: %s", why);
	return why == NULL;
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
