/*
 * paramfile.c: --rich-parameter-file, read as Coder reads it.
 *
 * coder/coder cli/parameter.go parseParameterMapFile: os.ReadFile, then
 * gopkg.in/yaml.v3 Unmarshal into map[string]interface{}, then per entry a
 * string, bool or int as fmt's %v, a list ([]interface{}) as json.Marshal,
 * anything else "invalid parameter type: %T".  The YAML is parsed here with
 * libyaml (which yaml.v3's parser is a port of) into a small tree, and each
 * scalar is resolved as yaml.v3's resolve.go resolves it (true/True/TRUE,
 * null/~, Go integer syntax with _ removed, YAML floats, everything else a
 * string); the type errors are yaml.v3's decode.go wording.  Not read:
 * merge keys (<<) and !!binary values; both are refused by name.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <yaml.h>

#include "cli.h"
#include "common/buf.h"
#include "paramfile.h"

#define MAX_FILE		(16 * 1024 * 1024)
#define MAX_DEPTH		1000		/* yaml.v3 stops at 10000; a parameter file needs few */
#define MAX_ALIASES		10000		/* against alias bombs, as yaml.v3's "excessive aliasing" */
#define MAX_VALUE		(1024 * 1024)

typedef enum
{
	Y_NULL, Y_BOOL, Y_INT, Y_UINT, Y_FLOAT, Y_STR, Y_SEQ, Y_MAP
} ykind;

/* One YAML node, as yaml.v3 decodes it into an interface{}. */
typedef struct ynode
{
	ykind		kind;
	char	   *text;			/* a scalar's value as written (yaml.v3's Node.Value) */
	char		tag[64];		/* its short tag: !!str, !!int, !!seq, ... */
	int			line;			/* 1-based, as Node.Line */
	bool		alias;			/* reached through an alias (*name) */
	bool		open;			/* a sequence or mapping still being read */
	bool		b;
	int64_t		i;
	uint64_t	u;
	double		f;
	struct ynode **kids;		/* a sequence's items; a mapping's key, value, key, value... */
	int			nkids;
	struct ynode *all;			/* every node made, to free them */
} ynode;

/* The parse of one file. */
typedef struct yparse
{
	yaml_parser_t parser;
	ynode	   *all;
	struct
	{
		char	   *name;
		ynode	   *node;
	}		   *anchors;
	int			nanchors;
	int			naliases;
	char	   *why;			/* the first error */
	buf			terrors;		/* yaml.v3's unmarshal errors, "\n  line N: ..." each */
} yparse;

/* Append the text S to B. */
static void
buf_str(buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

/* ---------- errors ---------- */

/* Keep the first error, printf-style. */
static void
fail(yparse *y, const char *fmt,...)
{
	va_list		ap;

	if (y->why)
		return;
	va_start(ap, fmt);
	if (vasprintf(&y->why, fmt, ap) < 0)
		cli_out_of_memory("a parameter file's error");
	va_end(ap);
}

/*
 * A syntax error as yaml.v3's parser.fail() words it: "yaml: line N: PROBLEM",
 * N from the context mark, else the problem mark (libyaml's 0-based line;
 * a scanner error one more).
 */
static void
syntax_error(yparse *y)
{
	yaml_parser_t *p = &y->parser;
	size_t		line = 0;

	if (p->context_mark.line != 0)
		line = p->context_mark.line + (p->error == YAML_SCANNER_ERROR);
	else if (p->problem_mark.line != 0)
		line = p->problem_mark.line + (p->error == YAML_SCANNER_ERROR);
	if (line)
		fail(y, "yaml: line %zu: %s", line, p->problem ? p->problem : "unknown problem parsing YAML content");
	else
		fail(y, "yaml: %s", p->problem ? p->problem : "unknown problem parsing YAML content");
}

/*
 * One of yaml.v3's decode errors (decoder.terror): "line N: cannot
 * unmarshal TAG `VALUE` into TYPE", the value cut to 7 bytes and "..." when
 * longer than 10, none for a sequence or mapping.
 */
static void
type_error(yparse *y, const ynode *n, const char *into)
{
	char		shown[16];

	if (n->kind == Y_SEQ || n->kind == Y_MAP)
		buf_printf(&y->terrors, "\n  line %d: cannot unmarshal %s into %s", n->line, n->tag, into);
	else
	{
		snprintf(shown, sizeof(shown), strlen(n->text) > 10 ? "%.7s..." : "%s", n->text);
		buf_printf(&y->terrors, "\n  line %d: cannot unmarshal %s `%s` into %s", n->line, n->tag, shown, into);
	}
}

/* ---------- scalars, as yaml.v3's resolve.go ---------- */

/* Go's strconv.ParseUint(S, 0, 64): 0b, 0o, 0x or a leading 0 (octal) pick the base; no sign. */
static bool
go_parse_uint(const char *s, uint64_t *out)
{
	int			base = 10;
	uint64_t	v = 0;

	if (!*s)
		return false;
	if (s[0] == '0')
	{
		char		c = (char) (s[1] | 0x20);

		base = 8;
		s++;
		if (strlen(s) >= 2 && (c == 'b' || c == 'o' || c == 'x'))
			base = c == 'b' ? 2 : c == 'o' ? 8 : 16, s++;
	}
	for (; *s; s++)
	{
		int			c = (unsigned char) *s,
					d = c >= '0' && c <= '9' ? c - '0' :
			(c | 0x20) >= 'a' && (c | 0x20) <= 'z' ? (c | 0x20) - 'a' + 10 : 99;

		if (d >= base || v > (UINT64_MAX - (uint64_t) d) / (uint64_t) base)
			return false;
		v = v * (uint64_t) base + (uint64_t) d;
	}
	*out = v;
	return true;
}

/* Go's strconv.ParseInt(S, 0, 64): an optional sign, then ParseUint's syntax, in int64's range. */
static bool
go_parse_int(const char *s, int64_t *out)
{
	bool		neg = *s == '-';
	uint64_t	u;

	if (*s == '-' || *s == '+')
		s++;
	if (!go_parse_uint(s, &u) || u > (uint64_t) INT64_MAX + neg)
		return false;
	*out = neg ? (int64_t) (0 - u) : (int64_t) u;
	return true;
}

/* yaml.v3's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool
yaml_style_float(const char *s)
{
	int			digits = 0;

	s += *s == '-' || *s == '+';
	if (*s == '.')
	{
		for (s++; *s >= '0' && *s <= '9'; s++)
			digits++;
		if (!digits)
			return false;
	}
	else
	{
		for (; *s >= '0' && *s <= '9'; s++)
			digits++;
		if (!digits)
			return false;
		if (*s == '.')
			for (s++; *s >= '0' && *s <= '9'; s++)
				;
	}
	if (*s == 'e' || *s == 'E')
	{
		digits = 0;
		s++;
		s += *s == '-' || *s == '+';
		for (; *s >= '0' && *s <= '9'; s++)
			digits++;
		if (!digits)
			return false;
	}
	return *s == '\0';
}

/* Go's strconv.ParseFloat on a decimal number: all of S, and not out of range. */
static bool
go_parse_float(const char *s, double *out)
{
	char	   *end;

	errno = 0;
	*out = strtod(s, &end);
	return end != s && *end == '\0' && !(errno == ERANGE && isinf(*out));
}

/* The words yaml.v3 reads as a value (resolveMapList); false for any other. */
static bool
resolve_word(const char *s, ynode *n)
{
	static const char *const words[] = {
		"true", "True", "TRUE", "false", "False", "FALSE", "", "~", "null", "Null", "NULL",
		".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"
	};

	for (int k = 0; k < (int) (sizeof(words) / sizeof(words[0])); k++)
	{
		if (strcmp(s, words[k]) != 0)
			continue;
		if (k < 6)
			n->kind = Y_BOOL, n->b = k < 3;
		else if (k < 11)
			n->kind = Y_NULL;
		else
			n->kind = Y_FLOAT, n->f = k < 14 ? NAN : k < 20 ? INFINITY : -INFINITY;
		return true;
	}
	return false;
}

/* A number as yaml.v3 resolves a plain scalar starting with a digit or a sign; false: a string. */
static bool
resolve_number(const char *s, ynode *n)
{
	char	   *plain = malloc(strlen(s) + 1);
	size_t		k = 0;
	bool		found = true;

	if (!plain)
		cli_out_of_memory("a parameter file");
	for (; *s; s++)
		if (*s != '_')
			plain[k++] = *s;
	plain[k] = '\0';
	if (go_parse_int(plain, &n->i))
		n->kind = Y_INT;
	else if (go_parse_uint(plain, &n->u))
		n->kind = Y_UINT;
	else if (yaml_style_float(plain) && go_parse_float(plain, &n->f))
		n->kind = Y_FLOAT;
	else
		found = false;
	free(plain);
	return found;
}

/* The kind of a plain scalar (yaml.v3 resolve with no tag); its short tag into n->tag. */
static void
resolve_plain(ynode *n)
{
	const char *s = n->text;
	char		c = *s;

	n->kind = Y_STR;
	if (c == '\0' || c == '~' || c == '.' || c == '+' || c == '-' || (c >= '0' && c <= '9') ||
		strchr("yYnNtTfFoO", c))
	{
		if (!resolve_word(s, n))
		{
			if (c == '.')
			{
				if (go_parse_float(s, &n->f))
					n->kind = Y_FLOAT;
			}
			else if (c == '+' || c == '-' || (c >= '0' && c <= '9'))
				resolve_number(s, n);
		}
	}
	snprintf(n->tag, sizeof(n->tag), "%s", n->kind == Y_STR ? "!!str" : n->kind == Y_NULL ? "!!null" :
			 n->kind == Y_BOOL ? "!!bool" : n->kind == Y_FLOAT ? "!!float" : "!!int");
}

/*
 * A scalar with an explicit tag: !!str and unknown tags keep the text as a
 * string (as yaml.v3 into an interface{}), the core tags must resolve to
 * their kind ("cannot decode !!str `x` as a !!int"; an int is taken as a
 * !!float), !!timestamp stays a string as yaml.v3 keeps it in an interface{}.
 */
static void
resolve_tagged(yparse *y, ynode *n, const char *tag)
{
	char		want[64],
				got[64];

	if (strncmp(tag, "tag:yaml.org,2002:", 18) == 0)
		snprintf(want, sizeof(want), "!!%s", tag + 18);
	else
		snprintf(want, sizeof(want), "%s", tag);
	snprintf(n->tag, sizeof(n->tag), "%s", want);
	if (strcmp(want, "!!binary") == 0 || strcmp(want, "!!merge") == 0)
	{
		fail(y, "yaml: line %d: %s values are not read by coder-scale", n->line, want);
		return;
	}
	if (strcmp(want, "!!null") && strcmp(want, "!!bool") && strcmp(want, "!!int") && strcmp(want, "!!float"))
	{
		n->kind = Y_STR;
		return;
	}
	resolve_plain(n);
	snprintf(got, sizeof(got), "%s", n->tag);
	snprintf(n->tag, sizeof(n->tag), "%s", want);
	if (strcmp(want, "!!float") == 0 && n->kind == Y_INT)
		n->kind = Y_FLOAT, n->f = (double) n->i;
	else if (strcmp(want, "!!float") == 0 && n->kind == Y_UINT)
		n->kind = Y_FLOAT, n->f = (double) n->u;
	else if (strcmp(got, want) != 0)
		fail(y, "yaml: cannot decode %s `%s` as a %s", got, n->text, want);
}

/* ---------- the tree, from libyaml's events ---------- */

static ynode *
new_node(yparse *y, ykind kind, const yaml_event_t *ev)
{
	ynode	   *n = calloc(1, sizeof(ynode));

	if (!n)
		cli_out_of_memory("a parameter file");
	n->kind = kind;
	n->line = (int) ev->start_mark.line + 1;
	n->all = y->all;
	y->all = n;
	return n;
}

static void
add_kid(ynode *parent, ynode *kid)
{
	ynode	  **k = realloc(parent->kids, sizeof(ynode *) * (parent->nkids + 1));

	if (!k)
		cli_out_of_memory("a parameter file");
	k[parent->nkids++] = kid;
	parent->kids = k;
}

static void
remember_anchor(yparse *y, const yaml_char_t *anchor, ynode *n)
{
	if (!anchor)
		return;
	y->anchors = realloc(y->anchors, sizeof(y->anchors[0]) * (y->nanchors + 1));
	if (!y->anchors)
		cli_out_of_memory("a parameter file");
	y->anchors[y->nanchors].name = strdup((const char *) anchor);
	y->anchors[y->nanchors++].node = n;
}

/* The node an alias names (the latest anchor of that name), as yaml.v3's parser.alias. */
static ynode *
find_alias(yparse *y, const yaml_event_t *ev)
{
	const char *name = (const char *) ev->data.alias.anchor;

	if (++y->naliases > MAX_ALIASES)
	{
		fail(y, "yaml: document contains excessive aliasing");
		return NULL;
	}
	for (int k = y->nanchors - 1; k >= 0; k--)
		if (strcmp(y->anchors[k].name, name) == 0)
			return y->anchors[k].node;
	fail(y, "yaml: unknown anchor '%s' referenced", name);
	return NULL;
}

static ynode *scalar_node(yparse *y, const yaml_event_t *ev);
static ynode *parse_node(yparse *y, yaml_event_t *ev, int depth);

/* The next event into EV; false after a syntax error (said). */
static bool
next_event(yparse *y, yaml_event_t *ev)
{
	if (y->why)
		return false;
	if (!yaml_parser_parse(&y->parser, ev))
	{
		syntax_error(y);
		return false;
	}
	return true;
}

/* The items of a sequence or the keys and values of a mapping, up to END. */
static void
parse_kids(yparse *y, ynode *n, yaml_event_type_t end, int depth)
{
	yaml_event_t ev;

	while (next_event(y, &ev))
	{
		ynode	   *kid;

		if (ev.type == end)
		{
			yaml_event_delete(&ev);
			return;
		}
		if (!(kid = parse_node(y, &ev, depth + 1)))
			return;
		add_kid(n, kid);
	}
}

/* The node that starts with event EV (deleted here), and all below it. */
static ynode *
parse_node(yparse *y, yaml_event_t *ev, int depth)
{
	ynode	   *n = NULL;

	if (depth > MAX_DEPTH)
		fail(y, "yaml: exceeded max depth of %d", MAX_DEPTH);
	else if (ev->type == YAML_ALIAS_EVENT)
	{
		ynode	   *a = find_alias(y, ev);

		if (a && a->open)
			fail(y, "yaml: anchor '%s' value contains itself", (const char *) ev->data.alias.anchor);
		else if (a)
		{
			/* a copy of the anchored node's head, marked as an alias (its children shared) */
			n = new_node(y, a->kind, ev);
			memcpy(n, a, offsetof(ynode, all));
			n->line = (int) ev->start_mark.line + 1;
			n->alias = true;
		}
	}
	else if (ev->type == YAML_SCALAR_EVENT)
		n = scalar_node(y, ev);
	else if (ev->type == YAML_SEQUENCE_START_EVENT || ev->type == YAML_MAPPING_START_EVENT)
	{
		bool		seq = ev->type == YAML_SEQUENCE_START_EVENT;
		yaml_char_t *anchor = seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor;

		n = new_node(y, seq ? Y_SEQ : Y_MAP, ev);
		snprintf(n->tag, sizeof(n->tag), "%s", seq ? "!!seq" : "!!map");
		n->text = strdup("");
		remember_anchor(y, anchor, n);
		n->open = true;
		parse_kids(y, n, seq ? YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT, depth);
		n->open = false;
	}
	else
		fail(y, "yaml: unexpected event %d", (int) ev->type);
	yaml_event_delete(ev);
	return y->why ? NULL : n;
}

/* A scalar event's node: a quoted or block scalar is a string, a plain one resolved, a tagged one checked. */
static ynode *
scalar_node(yparse *y, const yaml_event_t *ev)
{
	ynode	   *n = new_node(y, Y_STR, ev);
	const char *tag = (const char *) ev->data.scalar.tag;

	n->text = strndup((const char *) ev->data.scalar.value, ev->data.scalar.length);
	if (!n->text)
		cli_out_of_memory("a parameter file");
	if (tag && strcmp(tag, "!") != 0)
		resolve_tagged(y, n, tag);
	else if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		snprintf(n->tag, sizeof(n->tag), "!!str");
	else if (strcmp(n->text, "<<") == 0)
		fail(y, "yaml: line %d: merge keys (<<) are not read by coder-scale", n->line);
	else
		resolve_plain(n);
	remember_anchor(y, ev->data.scalar.anchor, n);
	return n;
}

/* The first document's root node; NULL for an empty stream (or an error, in y->why). */
static ynode *
parse_root(yparse *y)
{
	yaml_event_t ev;

	while (next_event(y, &ev))
	{
		yaml_event_type_t t = ev.type;

		if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_START_EVENT)
		{
			yaml_event_delete(&ev);
			continue;
		}
		if (t == YAML_STREAM_END_EVENT)
		{
			yaml_event_delete(&ev);
			return NULL;
		}
		return parse_node(y, &ev, 0);
	}
	return NULL;
}

/* ---------- values, as parseParameterMapFile makes them ---------- */

/* Go's encoding/json string: HTML-safe, \b \f \n \r \t, other controls as \u00xx, U+2028 and U+2029 escaped. */
static void
json_string(buf *out, const char *s)
{
	buf_putc(out, '"');
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		const char *esc = *p == '"' ? "\\\"" : *p == '\\' ? "\\\\" : *p == '\b' ? "\\b" : *p == '\f' ? "\\f" :
			*p == '\n' ? "\\n" : *p == '\r' ? "\\r" : *p == '\t' ? "\\t" : NULL;

		if (esc)
			buf_str(out, esc);
		else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&')
			buf_printf(out, "\\u%04x", *p);
		else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
		{
			buf_printf(out, "\\u202%c", p[2] == 0xa8 ? '8' : '9');
			p += 2;
		}
		else
			buf_putc(out, (char) *p);
	}
	buf_putc(out, '"');
}

/*
 * F as Go's encoding/json writes a float64: the shortest digits that read
 * back as F, in %f form, or %e form below 1e-6 and from 1e21 on (the
 * exponent without a leading zero).
 */
static void
json_float(buf *out, double f)
{
	char		e[40],
				digits[24];
	int			p,
				exp,
				nd = 0;

	if (f < 0 || (f == 0 && signbit(f)))
		buf_putc(out, '-'), f = -f;
	for (p = 1; p <= 17; p++)
	{
		snprintf(e, sizeof(e), "%.*e", p - 1, f);
		if (strtod(e, NULL) == f)
			break;
	}
	for (const char *c = e; *c && *c != 'e'; c++)
		if (*c != '.')
			digits[nd++] = *c;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	exp = atoi(strchr(e, 'e') + 1);
	if (f != 0 && (f < 1e-6 || f >= 1e21))
	{
		buf_putc(out, digits[0]);
		if (nd > 1)
			buf_printf(out, ".%s", digits + 1);
		buf_printf(out, "e%c%d", exp < 0 ? '-' : '+', abs(exp));
	}
	else if (exp < 0)
	{
		buf_str(out, "0.");
		for (int k = 0; k < -exp - 1; k++)
			buf_putc(out, '0');
		buf_str(out, digits);
	}
	else
		for (int k = 0; k < nd || k <= exp; k++)
		{
			if (k == exp + 1)
				buf_putc(out, '.');
			buf_putc(out, k < nd ? digits[k] : '0');
		}
}

static bool json_value(yparse *y, buf *out, const ynode *n);

/* Whether every key of mapping N is a string (yaml.v3 isStringMap): else it decodes to map[interface{}]interface{}. */
static bool
string_keys(const ynode *n)
{
	for (int k = 0; k < n->nkids; k += 2)
		if (n->kids[k]->kind != Y_STR)
			return false;
	return true;
}

static int
cmp_key(const void *a, const void *b)
{
	return strcmp((*(const ynode * const *) a)->text, (*(const ynode * const *) b)->text);
}

/* A mapping in a list, as json.Marshal writes a map[string]interface{}: its keys sorted. */
static bool
json_map(yparse *y, buf *out, const ynode *n)
{
	const ynode **keys = malloc(sizeof(ynode *) * (n->nkids / 2 + 1));
	bool		ok = true;

	if (!keys)
		cli_out_of_memory("a parameter file");
	for (int k = 0; k < n->nkids / 2; k++)
		keys[k] = n->kids[2 * k];
	qsort(keys, n->nkids / 2, sizeof(ynode *), cmp_key);
	buf_putc(out, '{');
	for (int k = 0; k < n->nkids / 2 && ok; k++)
	{
		int			at = 0;

		while (n->kids[at] != keys[k])
			at += 2;
		if (k)
			buf_putc(out, ',');
		json_string(out, keys[k]->text);
		buf_putc(out, ':');
		ok = json_value(y, out, n->kids[at + 1]);
	}
	buf_putc(out, '}');
	free(keys);
	return ok;
}

/* N as json.Marshal writes what yaml.v3 decoded it to; false with the reason (Go's) in y->why. */
static bool
json_value(yparse *y, buf *out, const ynode *n)
{
	if (out->len > MAX_VALUE)
	{
		fail(y, "a list value longer than %d bytes", MAX_VALUE);
		return false;
	}
	switch (n->kind)
	{
		case Y_NULL:
			buf_str(out, "null");
			return true;
		case Y_BOOL:
			buf_str(out, n->b ? "true" : "false");
			return true;
		case Y_INT:
			buf_printf(out, "%" PRId64, n->i);
			return true;
		case Y_UINT:
			buf_printf(out, "%" PRIu64, n->u);
			return true;
		case Y_FLOAT:
			if (isnan(n->f) || isinf(n->f))
			{
				fail(y, "json: unsupported value: %s", isnan(n->f) ? "NaN" : n->f > 0 ? "+Inf" : "-Inf");
				return false;
			}
			json_float(out, n->f);
			return true;
		case Y_STR:
			json_string(out, n->text);
			return true;
		case Y_SEQ:
			buf_putc(out, '[');
			for (int k = 0; k < n->nkids; k++)
			{
				if (k)
					buf_putc(out, ',');
				if (!json_value(y, out, n->kids[k]))
					return false;
			}
			buf_putc(out, ']');
			return true;
		case Y_MAP:
			if (string_keys(n))
				return json_map(y, out, n);
			fail(y, "json: unsupported type: map[interface {}]interface {}");
			return false;
	}
	return false;
}

/* The %T that Go prints for what yaml.v3 made of N (parseParameterMapFile's "invalid parameter type"). */
static const char *
go_type(const ynode *n)
{
	switch (n->kind)
	{
		case Y_NULL:
			return "<nil>";
		case Y_UINT:
			return "uint64";
		case Y_FLOAT:
			return "float64";
		case Y_MAP:
			return string_keys(n) ? "map[string]interface {}" : "map[interface {}]interface {}";
		default:
			return "?";
	}
}

/* One entry's value as parseParameterMapFile makes it (malloc'ed), or NULL with the reason in y->why. */
static char *
param_value(yparse *y, const ynode *key, const ynode *n)
{
	buf			out = {0};

	switch (n->kind)
	{
		case Y_STR:
			return strdup(n->text);
		case Y_BOOL:
			return strdup(n->b ? "true" : "false");
		case Y_INT:
			buf_printf(&out, "%" PRId64, n->i);
			return out.data;
		case Y_SEQ:
			if (json_value(y, &out, n))
				return out.data;
			free(out.data);
			return NULL;
		default:
			fail(y, "invalid parameter type: %s (parameter \"%s\", line %d)", go_type(n), key->text, n->line);
			return NULL;
	}
}

/*
 * yaml.v3's decoder.mapping check of unique keys, reported for every later
 * duplicate: "line N: mapping key "K" already defined at line M"; true when
 * there is none.
 */
static bool
unique_keys(yparse *y, const ynode *n)
{
	bool		unique = true;

	for (int i = 0; i < n->nkids; i += 2)
		for (int j = i + 2; j < n->nkids; j += 2)
		{
			const ynode *a = n->kids[i],
					   *b = n->kids[j];

			if (a->alias == b->alias && (a->kind == Y_SEQ) == (b->kind == Y_SEQ) &&
				(a->kind == Y_MAP) == (b->kind == Y_MAP) && strcmp(a->text, b->text) == 0)
			{
				buf_printf(&y->terrors, "\n  line %d: mapping key \"%s\" already defined at line %d",
						   b->line, b->text, a->line);
				unique = false;
			}
		}
	return unique;
}

/* The decode checks of a value below the top (unique keys of every mapping, depth first as yaml.v3). */
static void
check_value(yparse *y, const ynode *n)
{
	if (n->kind == Y_MAP && !unique_keys(y, n))
		return;
	if (n->kind == Y_MAP || n->kind == Y_SEQ)
		for (int k = 0; k < n->nkids; k++)
			check_value(y, n->kids[k]);
}

/* The decode checks of the top mapping (into map[string]interface{}): its keys must be scalars. */
static void
check_top(yparse *y, const ynode *root)
{
	if (root->kind != Y_MAP)
	{
		if (root->kind != Y_NULL)
			type_error(y, root, "map[string]interface {}");
		return;
	}
	if (!unique_keys(y, root))
		return;
	for (int k = 0; k < root->nkids; k += 2)
	{
		const ynode *key = root->kids[k];

		if (key->kind == Y_SEQ || key->kind == Y_MAP)
			type_error(y, key, "string");
		else
			check_value(y, root->kids[k + 1]);
	}
}

/* Read PATH whole into *DATA, as Go's os.ReadFile: its errors as Go words them ("open P: no such file or directory"). */
static bool
read_whole(yparse *y, const char *path, char **data, size_t *len)
{
	int			fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t		got = 0;
	char		why[128];

	if (fd < 0)
	{
		/* Go's syscall errors read as strerror's, lower-cased */
		snprintf(why, sizeof(why), "%s", strerror(errno));
		why[0] = (char) tolower((unsigned char) why[0]);
		fail(y, "open %s: %s", path, why);
		return false;
	}
	*len = 0;
	*data = NULL;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		fail(y, "read %s: is a directory", path);
	else if (!(*data = malloc(MAX_FILE + 1)))
		cli_out_of_memory("a parameter file");
	while (!y->why && (got = read(fd, *data + *len, MAX_FILE + 1 - *len)) > 0)
		*len += (size_t) got;
	if (!y->why && got < 0)
	{
		snprintf(why, sizeof(why), "%s", strerror(errno));
		why[0] = (char) tolower((unsigned char) why[0]);
		fail(y, "read %s: %s", path, why);
	}
	else if (!y->why && *len > MAX_FILE)
		fail(y, "read %s: larger than %d MB", path, MAX_FILE / (1024 * 1024));
	close(fd);
	return y->why == NULL;
}

/* The entries of the top mapping ROOT into *PARAMS, in order; a null key is skipped, as yaml.v3 skips it. */
static void
collect(yparse *y, const ynode *root, template_param **params, int *n)
{
	for (int k = 0; root && root->kind == Y_MAP && k < root->nkids && !y->why; k += 2)
	{
		const ynode *key = root->kids[k];
		char	   *value;

		if (key->kind == Y_NULL)
			continue;
		if ((value = param_value(y, key, root->kids[k + 1])))
		{
			params_set(params, n, key->text, value, true);
			free(value);
		}
	}
}

static void
free_parse(yparse *y)
{
	while (y->all)
	{
		ynode	   *n = y->all;

		y->all = n->all;
		if (!n->alias)
		{
			free(n->text);
			free(n->kids);
		}
		free(n);
	}
	for (int k = 0; k < y->nanchors; k++)
		free(y->anchors[k].name);
	free(y->anchors);
	free(y->terrors.data);
	yaml_parser_delete(&y->parser);
}

bool
paramfile_read(const char *path, template_param **params, int *n, char **why)
{
	yparse		y;
	char	   *data = NULL;
	size_t		len = 0;
	ynode	   *root = NULL;

	memset(&y, 0, sizeof(y));
	if (!yaml_parser_initialize(&y.parser))
		cli_out_of_memory("a YAML parser");
	if (read_whole(&y, path, &data, &len))
	{
		yaml_parser_set_input_string(&y.parser, (const unsigned char *) data, len);
		root = parse_root(&y);
	}
	if (!y.why && root)
		check_top(&y, root);
	if (!y.why && y.terrors.len > 0)
		fail(&y, "yaml: unmarshal errors:%s", y.terrors.data);
	if (!y.why)
		collect(&y, root, params, n);
	*why = y.why;
	y.why = NULL;
	free_parse(&y);
	free(data);
	return *why == NULL;
}

void
params_set(template_param **params, int *n, const char *name, const char *value, bool from_file)
{
	template_param *p;

	for (int k = 0; k < *n; k++)
		if (strcmp((*params)[k].name, name) == 0)
		{
			free((*params)[k].value);
			(*params)[k].value = strdup(value);
			(*params)[k].from_file = from_file;
			return;
		}
	if (!(p = realloc(*params, sizeof(template_param) * (*n + 1))))
		cli_out_of_memory("the parameters");
	*params = p;
	p[*n].name = strdup(name);
	p[*n].value = strdup(value);
	p[*n].from_file = from_file;
	(*n)++;
}
