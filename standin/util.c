/*
 * util.c: see util.h.
 */
#include "util.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Allocation failed: the stand-in cannot go on. */
static void
out_of_memory(void)
{
	fprintf(stderr, "coder-standin: out of memory\n");
	exit(EXIT_INTERNAL);
}

/* malloc that never returns NULL (nor asks malloc for 0 bytes). */
void *
xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (!p)
		out_of_memory();
	return p;
}

/* calloc that never returns NULL. */
void *
xcalloc(size_t n, size_t sz)
{
	void	   *p = calloc(n ? n : 1, sz ? sz : 1);

	if (!p)
		out_of_memory();
	return p;
}

/* realloc that never returns NULL. */
void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

/* strdup that never returns NULL. */
char *
xstrdup(const char *s)
{
	size_t		n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

/* Does HAY contain NEEDLE, ignoring ASCII case?  An empty NEEDLE always matches. */
bool
contains_ci(const char *hay, const char *needle)
{
	size_t		n = strlen(needle);

	if (n == 0)
		return true;
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return false;
}

/* ---------------- hash map ---------------- */

struct hent
{
	struct hent *next;
	uint64_t	h;
	void	   *val;
	char		key[];
};

/* FNV-1a of a NUL-terminated string. */
static uint64_t
hash_str(const char *s)
{
	uint64_t	h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 1099511628211ULL;
	return h;
}

/* Double the bucket count (64 at first), rehashing every entry. */
static void
hmap_grow(hmap *m)
{
	size_t		nb = m->nb ? m->nb * 2 : 64;
	struct hent **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < m->nb; i++)
	{
		struct hent *e = m->b[i];

		while (e)
		{
			struct hent *next = e->next;
			size_t		j = e->h & (nb - 1);

			e->next = b[j];
			b[j] = e;
			e = next;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

/* The value stored under KEY, or NULL. */
void *
hmap_get(const hmap *m, const char *key)
{
	uint64_t	h;

	if (!m->nb)
		return NULL;
	h = hash_str(key);
	for (struct hent *e = m->b[h & (m->nb - 1)]; e; e = e->next)
		if (e->h == h && strcmp(e->key, key) == 0)
			return e->val;
	return NULL;
}

/* Store VAL under KEY (a copy), replacing any value there. */
void
hmap_put(hmap *m, const char *key, void *val)
{
	uint64_t	h = hash_str(key);
	size_t		klen = strlen(key) + 1;
	struct hent *e;

	if (m->nb)
		for (e = m->b[h & (m->nb - 1)]; e; e = e->next)
			if (e->h == h && strcmp(e->key, key) == 0)
			{
				e->val = val;
				return;
			}
	if (m->n + 1 > m->nb)
		hmap_grow(m);
	e = xmalloc(sizeof(*e) + klen);
	memcpy(e->key, key, klen);
	e->h = h;
	e->val = val;
	e->next = m->b[h & (m->nb - 1)];
	m->b[h & (m->nb - 1)] = e;
	m->n++;
}

/* Remove KEY; returns the value it had, or NULL. */
void *
hmap_del(hmap *m, const char *key)
{
	uint64_t	h;
	struct hent **pp;

	if (!m->nb)
		return NULL;
	h = hash_str(key);
	for (pp = &m->b[h & (m->nb - 1)]; *pp; pp = &(*pp)->next)
	{
		struct hent *e = *pp;

		if (e->h == h && strcmp(e->key, key) == 0)
		{
			void	   *v = e->val;

			*pp = e->next;
			free(e);
			m->n--;
			return v;
		}
	}
	return NULL;
}

/* ---------------- random ---------------- */

/* splitmix64: the seeding step of xoshiro. */
static uint64_t
splitmix(uint64_t *x)
{
	uint64_t	z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Seed R's four words from SEED. */
void
rng_seed(rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix(&seed);
}

/* Rotate X left by K bits. */
static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256**: the next 64 random bits. */
uint64_t
rng_next(rng *r)
{
	uint64_t   *s = r->s;
	uint64_t	res = rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

/* A uniform double in [0, 1). */
static double
rng_unit(rng *r)
{
	return (rng_next(r) >> 11) * 0x1.0p-53;
}

/* True with probability RATE; no draw at all for a rate of 0 or 1. */
bool
rng_hit(rng *r, double rate)
{
	if (rate <= 0)
		return false;
	if (rate >= 1)
		return true;
	return rng_unit(r) < rate;
}

/* A standard normal deviate (Box-Muller). */
static double
rng_normal(rng *r)
{
	double		u1 = rng_unit(r),
				u2 = rng_unit(r);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* ---------------- durations ---------------- */

/* Go's time.ParseDuration syntax without a sign: "1h2m3.5s", "500ms", "0". */
int64_t
parse_duration(const char *s)
{
	double		total = 0;

	if (!s || !*s)
		return -1;
	if (strcmp(s, "0") == 0)
		return 0;
	while (*s)
	{
		char	   *end;
		double		v;
		double		unit;

		if (!isdigit((unsigned char) *s) && *s != '.')
			return -1;
		v = strtod(s, &end);
		if (end == s)
			return -1;
		s = end;
		if (strncmp(s, "ns", 2) == 0)
			unit = 0.001, s += 2;
		else if (strncmp(s, "us", 2) == 0)
			unit = 1, s += 2;
		else if (strncmp(s, "\xc2\xb5s", 3) == 0)
			unit = 1, s += 3;
		else if (strncmp(s, "ms", 2) == 0)
			unit = 1000, s += 2;
		else if (*s == 's')
			unit = 1e6, s += 1;
		else if (*s == 'm')
			unit = 60e6, s += 1;
		else if (*s == 'h')
			unit = 3600e6, s += 1;
		else
			return -1;
		total += v * unit;
	}
	if (total > 9e15)
		return -1;
	return (int64_t) (total + 0.5);
}

/*
 * Distributions: "2s" (constant), "0", "normal:MEAN,STDDEV",
 * "uniform:MIN,MAX", "exp:MEAN".  Samples are clamped at zero.
 */
int
parse_dist(const char *s, dist *d)
{
	const char *colon = strchr(s, ':');
	char		buf[128];
	char	   *comma;

	if (!colon)
	{
		d->kind = DIST_CONST;
		d->a = parse_duration(s);
		d->b = 0;
		return d->a < 0 ? -1 : 0;
	}
	if (strlen(colon + 1) >= sizeof(buf))
		return -1;
	strcpy(buf, colon + 1);
	comma = strchr(buf, ',');
	if (strncmp(s, "exp:", 4) == 0)
	{
		d->kind = DIST_EXP;
		d->a = parse_duration(buf);
		d->b = 0;
		return (comma || d->a < 0) ? -1 : 0;
	}
	if (!comma)
		return -1;
	*comma = '\0';
	d->a = parse_duration(buf);
	d->b = parse_duration(comma + 1);
	if (d->a < 0 || d->b < 0)
		return -1;
	if (strncmp(s, "normal:", 7) == 0)
		d->kind = DIST_NORMAL;
	else if (strncmp(s, "uniform:", 8) == 0)
	{
		d->kind = DIST_UNIFORM;
		if (d->b < d->a)
			return -1;
	}
	else
		return -1;
	return 0;
}

/* A draw from D in microseconds, never below zero. */
int64_t
dist_sample(const dist *d, rng *r)
{
	double		v = 0;

	switch (d->kind)
	{
		case DIST_CONST:
			return d->a;
		case DIST_NORMAL:
			v = d->a + d->b * rng_normal(r);
			break;
		case DIST_UNIFORM:
			v = d->a + (d->b - d->a) * rng_unit(r);
			break;
		case DIST_EXP:
			v = -log(1.0 - rng_unit(r)) * d->a;
			break;
	}
	return v < 0 ? 0 : (int64_t) v;
}

/* The mean of D in microseconds (a constant is its own mean). */
int64_t
dist_mean(const dist *d)
{
	switch (d->kind)
	{
		case DIST_CONST:
		case DIST_NORMAL:
		case DIST_EXP:
			return d->a;
		case DIST_UNIFORM:
			return (d->a + d->b) / 2;
	}
	return d->a;
}

/* ---------------- clocks ---------------- */

/* The wall clock, in microseconds since the epoch. */
int64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The monotonic clock, in microseconds. */
int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* "2026-11-29T14:06:11.123456Z", trailing zeros of the fraction dropped. */
void
fmt_time(int64_t w, char out[40])
{
	time_t		sec = (time_t) (w / 1000000);
	int			frac = (int) (w % 1000000);
	struct tm	tm;
	size_t		n;

	gmtime_r(&sec, &tm);
	n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	if (frac)
	{
		char		f[8];
		int			len = 6;

		snprintf(f, sizeof(f), "%06d", frac);
		while (len > 0 && f[len - 1] == '0')
			len--;
		f[len] = '\0';
		n += snprintf(out + n, 40 - n, ".%s", f);
	}
	snprintf(out + n, 40 - n, "Z");
}

/* ---------------- ids ---------------- */

/* A version-4 UUID from R, lower-case, into OUT. */
void
uuid_new(rng *r, char out[37])
{
	uint64_t	a = rng_next(r),
				b = rng_next(r);
	unsigned char x[16];

	memcpy(x, &a, 8);
	memcpy(x + 8, &b, 8);
	x[6] = (x[6] & 0x0f) | 0x40;
	x[8] = (x[8] & 0x3f) | 0x80;
	snprintf(out, 37,
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9],
			 x[10], x[11], x[12], x[13], x[14], x[15]);
}

/* Is S a UUID in its 8-4-4-4-12 hex form (either case)? */
bool
uuid_valid(const char *s)
{
	for (int i = 0; i < 36; i++)
	{
		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (s[i] != '-')
				return false;
		}
		else if (!isxdigit((unsigned char) s[i]))
			return false;
	}
	return s[36] == '\0';
}

/* Coder's API key shape: 10 characters of id, a dash, 22 of secret. */
void
token_new(char out[40])
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char raw[32];
	int			fd = open("/dev/urandom", O_RDONLY);
	size_t		got = 0;

	if (fd >= 0)
	{
		ssize_t		n;

		while (got < sizeof(raw) && (n = read(fd, raw + got, sizeof(raw) - got)) > 0)
			got += (size_t) n;
		close(fd);
	}
	if (got < sizeof(raw))
	{
		fprintf(stderr, "coder-standin: cannot read /dev/urandom\n");
		exit(EXIT_INTERNAL);
	}
	for (int i = 0, j = 0; i < 33; i++)
	{
		if (i == 10)
		{
			out[i] = '-';
			continue;
		}
		out[i] = al[raw[j++] % 62];
	}
	out[33] = '\0';
}

/* ---------------- Fenwick tree ---------------- */

/* Add D at position I, growing the tree (a rebuild) when I is beyond it. */
void
fenwick_add(fenwick *f, size_t i, int d)
{
	if (i >= f->n)
	{
		size_t		n = f->n ? f->n : 1024;
		int		   *t;

		while (n <= i)
			n *= 2;
		/* rebuild: a Fenwick tree cannot simply be extended */
		t = xcalloc(n, sizeof(int));
		for (size_t k = 1; k < f->n; k++)
		{
			long		v = fenwick_prefix(f, k) - fenwick_prefix(f, k - 1);

			for (size_t j = k; j < n; j += j & (~j + 1))
				t[j] += (int) v;
		}
		free(f->t);
		f->t = t;
		f->n = n;
	}
	for (; i < f->n; i += i & (~i + 1))
		f->t[i] += d;
}

/* The sum of positions 1..I. */
long
fenwick_prefix(const fenwick *f, size_t i)
{
	long		s = 0;

	if (i >= f->n)
		i = f->n ? f->n - 1 : 0;
	for (; i > 0; i -= i & (~i + 1))
		s += f->t[i];
	return s;
}

/* ---------------- timer heap ---------------- */

/* Heap order: earlier deadline first, then the order pushed. */
static int
tless(const timer *a, const timer *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

/* Add a timer calling FN(OBJ, GEN) at AT (mono_us). */
void
theap_push(theap *t, int64_t at, timer_fn fn, void *obj, uint32_t gen)
{
	size_t		i;

	if (t->n == t->cap)
	{
		t->cap = t->cap ? t->cap * 2 : 256;
		t->h = xrealloc(t->h, t->cap * sizeof(timer));
	}
	i = t->n++;
	t->h[i] = (timer) {at, t->seq++, fn, obj, gen};
	while (i > 0 && tless(&t->h[i], &t->h[(i - 1) / 2]))
	{
		timer		x = t->h[i];

		t->h[i] = t->h[(i - 1) / 2];
		t->h[(i - 1) / 2] = x;
		i = (i - 1) / 2;
	}
}

/* Take the earliest timer into OUT if it is due at NOW; false when none is. */
bool
theap_pop_due(theap *t, int64_t now, timer *out)
{
	size_t		i = 0;

	if (t->n == 0 || t->h[0].at > now)
		return false;
	*out = t->h[0];
	t->h[0] = t->h[--t->n];
	for (;;)
	{
		size_t		l = 2 * i + 1,
					r = l + 1,
					m = i;

		if (l < t->n && tless(&t->h[l], &t->h[m]))
			m = l;
		if (r < t->n && tless(&t->h[r], &t->h[m]))
			m = r;
		if (m == i)
			break;
		timer		x = t->h[i];

		t->h[i] = t->h[m];
		t->h[m] = x;
		i = m;
	}
	return true;
}

/* The earliest deadline, or -1 when there is no timer. */
int64_t
theap_next(const theap *t)
{
	return t->n ? t->h[0].at : -1;
}

/* ---------------- text buffer ---------------- */

/* Room for N more bytes and a NUL in S. */
static void
sb_reserve(strbuf *s, size_t n)
{
	if (s->len + n + 1 <= s->cap)
		return;
	s->cap = (s->len + n + 1) * 2;
	if (s->cap < 256)
		s->cap = 256;
	s->p = xrealloc(s->p, s->cap);
}

/* Append N bytes of DATA to S (kept NUL-terminated). */
void
sb_add(strbuf *s, const char *data, size_t n)
{
	sb_reserve(s, n);
	memcpy(s->p + s->len, data, n);
	s->len += n;
	s->p[s->len] = '\0';
}

/* Append printf output to S. */
void
sb_printf(strbuf *s, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	sb_reserve(s, (size_t) n);
	va_start(ap, fmt);
	vsnprintf(s->p + s->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	s->len += (size_t) n;
}

/*
 * Append STR as a quoted JSON string, escaped as Go's encoding/json does by
 * default: quote, backslash, \n \r \t, other control bytes as \u00XX, and
 * <, >, & as \u003c, \u003e, \u0026 (HTML-safe); U+2028 and U+2029 too.
 */
void
sb_json_str(strbuf *s, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *) str;

	sb_reserve(s, strlen(str) + 2);
	s->p[s->len++] = '"';
	for (; *p; p++)
	{
		char		esc[8];
		int			n = 0;

		if (*p == '"' || *p == '\\')
			esc[n++] = '\\', esc[n++] = (char) *p;
		else if (*p == '\n')
			esc[n++] = '\\', esc[n++] = 'n';
		else if (*p == '\r')
			esc[n++] = '\\', esc[n++] = 'r';
		else if (*p == '\t')
			esc[n++] = '\\', esc[n++] = 't';
		else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&')
			n = snprintf(esc, sizeof(esc), "\\u00%c%c", hex[*p >> 4], hex[*p & 15]);
		else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
		{
			n = snprintf(esc, sizeof(esc), "\\u202%c", p[2] == 0xa8 ? '8' : '9');
			p += 2;
		}
		else
		{
			sb_reserve(s, 1);
			s->p[s->len++] = (char) *p;
			continue;
		}
		sb_add(s, esc, (size_t) n);
	}
	sb_reserve(s, 1);
	s->p[s->len++] = '"';
	s->p[s->len] = '\0';
}
