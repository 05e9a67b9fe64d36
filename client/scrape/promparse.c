/*
 * promparse.c: the Prometheus text exposition format 0.0.4 (see promparse.h).
 *
 * Grammar, per line (leading and trailing blanks and a final '\r' ignored):
 *   # HELP name docstring
 *   # TYPE name counter|gauge|histogram|summary|untyped
 *   # anything else                       (a comment)
 *   name [ { lname = "value" [, ...] [,] } ] value [ timestamp_ms ]
 * Label values escape \\, \" and \n (any other \x is kept as written, as
 * Prometheus does).  Values follow Go's ParseFloat (NaN, +Inf, -Inf, 1e-3,
 * hex floats).  A histogram's _bucket needs a numeric le label, a summary's
 * quantile lines a numeric quantile label.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "promparse.h"

struct prom_parser
{
	prom_sample_fn fn;
	void	   *arg;
	prom_stats	stats;
	/* a line split across feeds */
	char	   *tail;
	size_t		tail_len;
	size_t		tail_cap;
	bool		skipping;		/* inside a line longer than PROM_MAX_LINE */
	/* unescaped label values of the current line */
	char	   *scratch;
	size_t		scratch_len;
	size_t		scratch_cap;
	prom_label *labels;
	size_t	   *value_off;		/* offsets of label values in scratch */
	int			labels_cap;
	/* the current family, from the last # TYPE */
	char	   *family;
	size_t		family_len;
	size_t		family_cap;
	prom_type	family_type;
};

static const char *const type_names[] = {"untyped", "counter", "gauge", "histogram", "summary"};

const char *
prom_type_name(prom_type t)
{
	return (t >= PROM_UNTYPED && t <= PROM_SUMMARY) ? type_names[t] : "?";
}

/* ---------------------------------------------------------------------------
 * Buffers
 * ------------------------------------------------------------------------- */

/* Make room for NEED bytes in *buf; false when out of memory. */
static bool
grow(char **buf, size_t *cap, size_t need)
{
	size_t		n = *cap ? *cap : 256;
	char	   *b;

	if (need <= *cap)
		return true;
	while (n < need)
		n *= 2;
	b = realloc(*buf, n);
	if (b == NULL)
		return false;
	*buf = b;
	*cap = n;
	return true;
}

prom_parser *
prom_parser_new(prom_sample_fn fn, void *arg)
{
	prom_parser *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->fn = fn;
	p->arg = arg;
	return p;
}

void
prom_parser_free(prom_parser *p)
{
	if (p == NULL)
		return;
	free(p->tail);
	free(p->scratch);
	free(p->labels);
	free(p->value_off);
	free(p->family);
	free(p);
}

void
prom_parser_reset(prom_parser *p)
{
	memset(&p->stats, 0, sizeof(p->stats));
	p->tail_len = 0;
	p->skipping = false;
	p->family_len = 0;
	p->family_type = PROM_UNTYPED;
}

const prom_stats *
prom_parser_stats(const prom_parser *p)
{
	return &p->stats;
}

static void
malformed(prom_parser *p, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
malformed(prom_parser *p, const char *fmt,...)
{
	prom_stats *st = &p->stats;

	st->malformed++;
	if (st->nerrors < PROM_MAX_ERRORS)
	{
		va_list		ap;
		prom_error *e = &st->errors[st->nerrors++];

		e->line = st->lines;
		va_start(ap, fmt);
		vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
		va_end(ap);
	}
}

/* ---------------------------------------------------------------------------
 * Tokens
 * ------------------------------------------------------------------------- */

static inline bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static inline bool
is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static inline bool
is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

static size_t
skip_blanks(const char *s, size_t n, size_t i)
{
	while (i < n && is_blank(s[i]))
		i++;
	return i;
}

/* Length of a metric name at s[i] ([a-zA-Z_:][a-zA-Z0-9_:]*), 0 if none. */
static size_t
metric_name_len(const char *s, size_t n, size_t i)
{
	size_t		j = i;

	if (j >= n || !(is_name_start(s[j]) || s[j] == ':'))
		return 0;
	while (j < n && (is_name_char(s[j]) || s[j] == ':'))
		j++;
	return j - i;
}

/* Length of a label name at s[i] ([a-zA-Z_][a-zA-Z0-9_]*), 0 if none. */
static size_t
label_name_len(const char *s, size_t n, size_t i)
{
	size_t		j = i;

	if (j >= n || !is_name_start(s[j]))
		return 0;
	while (j < n && is_name_char(s[j]))
		j++;
	return j - i;
}

/* End of the token at s[i]: the next blank or the end. */
static size_t
token_end(const char *s, size_t n, size_t i)
{
	while (i < n && !is_blank(s[i]))
		i++;
	return i;
}

static bool
is_utf8(const unsigned char *s, size_t n)
{
	size_t		i = 0;

	while (i < n)
	{
		unsigned char c = s[i];
		size_t		len;
		uint32_t	cp;

		if (c < 0x80)
		{
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			len = 2, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			len = 3, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			len = 4, cp = c & 0x07;
		else
			return false;
		if (i + len > n)
			return false;
		for (size_t k = 1; k < len; k++)
		{
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
			(len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
			return false;
		i += len;
	}
	return true;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Decimal float syntax: digits [. digits] [e [+-] digits], a digit somewhere before e. */
static bool
is_decimal(const char *s, size_t n)
{
	size_t		i = 0,
				digits = 0;

	while (i < n && is_digit(s[i]))
		i++, digits++;
	if (i < n && s[i] == '.')
	{
		i++;
		while (i < n && is_digit(s[i]))
			i++, digits++;
	}
	if (digits == 0)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E'))
	{
		size_t		exp_digits = 0;

		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		while (i < n && is_digit(s[i]))
			i++, exp_digits++;
		if (exp_digits == 0)
			return false;
	}
	return i == n;
}

bool
prom_parse_float(const char *s, size_t len, double *out)
{
	char		buf[512];
	const char *body = s;
	size_t		blen = len;
	char	   *end;
	double		v;

	if (len == 0 || len >= sizeof(buf))
		return false;
	if (len == 3 && strncasecmp(s, "nan", 3) == 0)
	{
		*out = NAN;
		return true;
	}
	if (s[0] == '+' || s[0] == '-')
		body++, blen--;
	if ((blen == 3 && strncasecmp(body, "inf", 3) == 0) ||
		(blen == 8 && strncasecmp(body, "infinity", 8) == 0))
	{
		*out = s[0] == '-' ? -INFINITY : INFINITY;
		return true;
	}
	if (blen > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X'))
	{
		/* hex float: Go requires the p exponent */
		if (memchr(body, 'p', blen) == NULL && memchr(body, 'P', blen) == NULL)
			return false;
		for (size_t i = 2; i < blen; i++)
			if (!(isxdigit((unsigned char) body[i]) || body[i] == '.' || body[i] == 'p' ||
				  body[i] == 'P' || body[i] == '+' || body[i] == '-'))
				return false;
	}
	else if (!is_decimal(body, blen))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtod(buf, &end);
	if (end != buf + len)
		return false;
	if (errno == ERANGE && isinf(v))
		return false;			/* Go: out of range is an error */
	*out = v;
	return true;
}

static bool
parse_int64(const char *s, size_t n, int64_t *out)
{
	size_t		i = 0;
	bool		neg = false;
	uint64_t	v = 0;
	uint64_t	limit;

	if (n > 0 && (s[0] == '-' || s[0] == '+'))
		neg = s[0] == '-', i++;
	if (i == n)
		return false;
	limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
	for (; i < n; i++)
	{
		if (!is_digit(s[i]))
			return false;
		if (v > (limit - (uint64_t) (s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t) (s[i] - '0');
	}
	*out = neg ? (int64_t) (0 - v) : (int64_t) v;
	return true;
}

/* ---------------------------------------------------------------------------
 * Comment lines
 * ------------------------------------------------------------------------- */

static bool
token_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(s, word, n) == 0;
}

static void
set_family(prom_parser *p, const char *name, size_t n, prom_type t)
{
	if (!grow(&p->family, &p->family_cap, n + 1))
	{
		p->family_len = 0;
		return;
	}
	memcpy(p->family, name, n);
	p->family_len = n;
	p->family_type = t;
}

static void
parse_comment(prom_parser *p, const char *s, size_t n)
{
	size_t		i = skip_blanks(s, n, 1);
	size_t		kw_end = token_end(s, n, i);
	bool		help = token_is(s + i, kw_end - i, "HELP");
	size_t		name_len;
	size_t		t0,
				t1;

	if (!help && !token_is(s + i, kw_end - i, "TYPE"))
		return;					/* a plain comment */
	i = skip_blanks(s, n, kw_end);
	name_len = metric_name_len(s, n, i);
	if (name_len == 0 || (i + name_len < n && !is_blank(s[i + name_len])))
	{
		malformed(p, "# %s: invalid metric name", help ? "HELP" : "TYPE");
		return;
	}
	if (help)
		return;					/* the docstring is free text */
	t0 = skip_blanks(s, n, i + name_len);
	t1 = token_end(s, n, t0);
	for (int t = PROM_UNTYPED; t <= PROM_SUMMARY; t++)
		if (token_is(s + t0, t1 - t0, type_names[t]) && skip_blanks(s, n, t1) == n)
		{
			set_family(p, s + i, name_len, (prom_type) t);
			return;
		}
	malformed(p, "# TYPE %.*s: unknown type \"%.*s\"", (int) (name_len > 40 ? 40 : name_len), s + i,
			  (int) (t1 - t0 > 20 ? 20 : t1 - t0), s + t0);
}

/* ---------------------------------------------------------------------------
 * Sample lines
 * ------------------------------------------------------------------------- */

static bool
add_label(prom_parser *p, int k, const char *name, size_t name_len)
{
	if (k >= p->labels_cap)
	{
		int			cap = p->labels_cap ? p->labels_cap * 2 : 16;
		prom_label *l = realloc(p->labels, sizeof(prom_label) * cap);
		size_t	   *o;

		if (l == NULL)
			return false;
		p->labels = l;
		o = realloc(p->value_off, sizeof(size_t) * cap);
		if (o == NULL)
			return false;
		p->value_off = o;
		p->labels_cap = cap;
	}
	p->labels[k].name = name;
	p->labels[k].name_len = name_len;
	p->value_off[k] = p->scratch_len;
	return true;
}

/*
 * Unescape the label value starting after the opening quote at s[*i] into
 * scratch; *i ends after the closing quote.  NULL on success, else why not.
 */
static const char *
read_label_value(prom_parser *p, const char *s, size_t n, size_t *i)
{
	size_t		j = *i;

	if (!grow(&p->scratch, &p->scratch_cap, p->scratch_len + (n - j)))
		return "out of memory";
	while (j < n && s[j] != '"')
	{
		char		c = s[j++];

		if (c == '\\')
		{
			if (j >= n)
				break;
			c = s[j++];
			if (c == 'n')
				c = '\n';
			else if (c != '\\' && c != '"')
				p->scratch[p->scratch_len++] = '\\';
		}
		p->scratch[p->scratch_len++] = c;
	}
	if (j >= n)
		return "unterminated label value";
	*i = j + 1;
	return NULL;
}

static int
label_cmp(const prom_label *a, const prom_label *b)
{
	size_t		m = a->name_len < b->name_len ? a->name_len : b->name_len;
	int			c = memcmp(a->name, b->name, m);

	return c != 0 ? c : (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

/* Sort (insertion sort: exporters write labels almost sorted), check for duplicates, drop empty values. */
static const char *
finish_labels(prom_parser *p, int *nlabels)
{
	prom_label *l = p->labels;
	int			n = *nlabels,
				kept = 0;

	for (int k = 0; k < n; k++)
	{
		l[k].value = p->scratch + p->value_off[k];
		l[k].value_len = (k + 1 < n ? p->value_off[k + 1] : p->scratch_len) - p->value_off[k];
	}
	for (int k = 1; k < n; k++)
	{
		prom_label	x = l[k];
		int			j = k - 1;

		while (j >= 0 && label_cmp(&l[j], &x) > 0)
		{
			l[j + 1] = l[j];
			j--;
		}
		l[j + 1] = x;
	}
	for (int k = 0; k < n; k++)
	{
		if (k > 0 && label_cmp(&l[k - 1], &l[k]) == 0)
			return "duplicate label name";
		if (!is_utf8((const unsigned char *) l[k].value, l[k].value_len))
			return "label value is not valid UTF-8";
	}
	for (int k = 0; k < n; k++)
		if (l[k].value_len > 0)
			l[kept++] = l[k];
	*nlabels = kept;
	return NULL;
}

/* Parse "{...}" at s[*i]; NULL on success. */
static const char *
parse_labels(prom_parser *p, const char *s, size_t n, size_t *i, int *nlabels)
{
	size_t		j = *i + 1;
	int			k = 0;

	for (;;)
	{
		size_t		len;
		const char *why;

		j = skip_blanks(s, n, j);
		if (j < n && s[j] == '}')
			break;
		len = label_name_len(s, n, j);
		if (len == 0)
			return j >= n ? "unterminated label set" : "invalid label name";
		if (!add_label(p, k, s + j, len))
			return "out of memory";
		j = skip_blanks(s, n, j + len);
		if (j >= n || s[j] != '=')
			return "expected = after label name";
		j = skip_blanks(s, n, j + 1);
		if (j >= n || s[j] != '"')
			return "expected \" to start a label value";
		j++;
		if ((why = read_label_value(p, s, n, &j)) != NULL)
			return why;
		k++;
		j = skip_blanks(s, n, j);
		if (j < n && s[j] == ',')
		{
			j++;
			continue;
		}
		if (j < n && s[j] == '}')
			break;
		return "expected , or } after a label";
	}
	*i = j + 1;
	*nlabels = k;
	return finish_labels(p, nlabels);
}

static const prom_label *
find_label(const prom_label *l, int n, const char *name)
{
	size_t		len = strlen(name);

	for (int k = 0; k < n; k++)
		if (l[k].name_len == len && memcmp(l[k].name, name, len) == 0)
			return &l[k];
	return NULL;
}

static bool
numeric_label(const prom_sample *smp, const char *name)
{
	const prom_label *l = find_label(smp->labels, smp->nlabels, name);
	double		v;

	return l != NULL && prom_parse_float(l->value, l->value_len, &v);
}

static bool
has_suffix(const char *rest, size_t n, const char *suffix)
{
	return strlen(suffix) == n && memcmp(rest, suffix, n) == 0;
}

/* The family type of a sample, checking le/quantile; NULL on success. */
static const char *
check_family(prom_parser *p, prom_sample *smp)
{
	const char *rest;
	size_t		rlen;

	smp->type = PROM_UNTYPED;
	if (p->family_len == 0 || smp->name_len < p->family_len ||
		memcmp(smp->name, p->family, p->family_len) != 0)
		return NULL;
	rest = smp->name + p->family_len;
	rlen = smp->name_len - p->family_len;
	switch (p->family_type)
	{
		case PROM_HISTOGRAM:
			if (has_suffix(rest, rlen, "_bucket"))
			{
				smp->type = PROM_HISTOGRAM;
				return numeric_label(smp, "le") ? NULL : "histogram bucket without a numeric le label";
			}
			if (has_suffix(rest, rlen, "_sum") || has_suffix(rest, rlen, "_count"))
				smp->type = PROM_HISTOGRAM;
			else if (rlen == 0)
				return "histogram sample without _bucket, _sum or _count";
			return NULL;
		case PROM_SUMMARY:
			if (rlen == 0)
			{
				smp->type = PROM_SUMMARY;
				return numeric_label(smp, "quantile") ? NULL : "summary sample without a numeric quantile label";
			}
			if (has_suffix(rest, rlen, "_sum") || has_suffix(rest, rlen, "_count"))
				smp->type = PROM_SUMMARY;
			return NULL;
		default:
			if (rlen == 0)
				smp->type = p->family_type;
			return NULL;
	}
}

static void
parse_sample(prom_parser *p, const char *s, size_t n)
{
	prom_sample smp;
	size_t		i,
				v_end;
	const char *why = NULL;
	int			nlabels = 0;

	memset(&smp, 0, sizeof(smp));
	smp.name = s;
	smp.name_len = metric_name_len(s, n, 0);
	if (smp.name_len == 0)
	{
		malformed(p, "invalid metric name");
		return;
	}
	if (memchr(s, '\0', n) != NULL)
	{
		malformed(p, "NUL byte in line");
		return;
	}
	i = smp.name_len;
	if (i < n && !is_blank(s[i]) && s[i] != '{')
	{
		malformed(p, "invalid character after metric name");
		return;
	}
	i = skip_blanks(s, n, i);
	p->scratch_len = 0;
	if (i < n && s[i] == '{' && (why = parse_labels(p, s, n, &i, &nlabels)) != NULL)
	{
		malformed(p, "%s", why);
		return;
	}
	smp.labels = p->labels;
	smp.nlabels = nlabels;
	i = skip_blanks(s, n, i);
	v_end = token_end(s, n, i);
	if (v_end == i)
	{
		malformed(p, "missing value");
		return;
	}
	if (!prom_parse_float(s + i, v_end - i, &smp.value))
	{
		malformed(p, "invalid value \"%.*s\"", (int) (v_end - i > 30 ? 30 : v_end - i), s + i);
		return;
	}
	i = skip_blanks(s, n, v_end);
	if (i < n)
	{
		size_t		t_end = token_end(s, n, i);

		if (!parse_int64(s + i, t_end - i, &smp.timestamp_ms))
		{
			malformed(p, "invalid timestamp \"%.*s\"", (int) (t_end - i > 30 ? 30 : t_end - i), s + i);
			return;
		}
		smp.has_timestamp = true;
		if (skip_blanks(s, n, t_end) != n)
		{
			malformed(p, "unexpected text after the timestamp");
			return;
		}
	}
	if ((why = check_family(p, &smp)) != NULL)
	{
		malformed(p, "%s", why);
		return;
	}
	p->stats.samples++;
	p->fn(p->arg, &smp);
}

static void
parse_line(prom_parser *p, const char *s, size_t n)
{
	size_t		i;

	p->stats.lines++;
	if (n > 0 && s[n - 1] == '\r')
		n--;
	while (n > 0 && is_blank(s[n - 1]))
		n--;
	i = skip_blanks(s, n, 0);
	if (i == n)
		return;
	if (s[i] == '#')
		parse_comment(p, s + i, n - i);
	else
		parse_sample(p, s + i, n - i);
}

/* ---------------------------------------------------------------------------
 * Streaming
 * ------------------------------------------------------------------------- */

static void
too_long(prom_parser *p)
{
	p->stats.lines++;
	malformed(p, "line longer than %d bytes", PROM_MAX_LINE);
	p->stats.lines--;			/* counted when its newline comes */
	p->skipping = true;
	p->tail_len = 0;
}

/* Keep a partial line (or note that it is too long). */
static void
keep_tail(prom_parser *p, const char *data, size_t len)
{
	if (p->skipping)
		return;
	if (p->tail_len + len > PROM_MAX_LINE)
	{
		too_long(p);
		return;
	}
	if (!grow(&p->tail, &p->tail_cap, p->tail_len + len))
	{
		too_long(p);			/* out of memory: give the line up */
		return;
	}
	memcpy(p->tail + p->tail_len, data, len);
	p->tail_len += len;
}

void
prom_parser_feed(prom_parser *p, const char *data, size_t len)
{
	while (len > 0)
	{
		const char *nl = memchr(data, '\n', len);
		size_t		seg;

		if (nl == NULL)
		{
			keep_tail(p, data, len);
			return;
		}
		seg = (size_t) (nl - data);
		if (p->skipping)
		{
			p->skipping = false;
			p->stats.lines++;
		}
		else if (p->tail_len > 0)
		{
			keep_tail(p, data, seg);
			if (p->skipping)
			{
				p->skipping = false;
				p->stats.lines++;
			}
			else
				parse_line(p, p->tail, p->tail_len);
			p->tail_len = 0;
		}
		else if (seg > PROM_MAX_LINE)
		{
			too_long(p);
			p->skipping = false;
			p->stats.lines++;
		}
		else
			parse_line(p, data, seg);
		data = nl + 1;
		len -= seg + 1;
	}
}

void
prom_parser_finish(prom_parser *p)
{
	if (p->skipping)
		p->stats.lines++;
	else if (p->tail_len > 0)
		parse_line(p, p->tail, p->tail_len);
	p->skipping = false;
	p->tail_len = 0;
}

void
prom_parser_abandon(prom_parser *p)
{
	p->skipping = false;
	p->tail_len = 0;
}
