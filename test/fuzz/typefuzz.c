/*
 * typefuzz: a fuzzer for the stored types coder_scale.sketch and
 * coder_scale.counter_summary, against a real server.
 *
 *   typefuzz [--seed N] [--cases N] [--keep] [--verbose] [CONNINFO]
 *
 * Each case is one of:
 *   - a mutation of a valid value's binary form, sent as a binary parameter
 *     (the type's receive function), or of its text form, sent as a text
 *     parameter (the input function): bit flips, byte and token
 *     replacement, truncation, extension, splices, boundary integers,
 *     NaN/Inf/-0 doubles, huge counts;
 *   - an aggregate over crafted input: sketch_agg, rollup of two accepted
 *     sketches, counter_agg.
 * Every case must give a value or an error with an expected SQLSTATE
 * (a reject).  The server must never crash: a lost connection is counted
 * as a crash and the fuzzer reconnects.  Every value obtained is sent back
 * as text (out -> in) and as binary (send -> recv), and both must give the
 * same send and out output, byte for byte; a binary input must come back
 * as the very bytes sent.  Accessors of every value must stay sane.
 *
 * With --keep, every value obtained is also stored in fuzz_sketch(v) and
 * fuzz_counter(v) (created here), for a pg_dump round trip by the caller.
 *
 * Deterministic: the same seed gives the same cases (splitmix64).  Prints
 * TAP, one line per kind of case, then a summary line; exits 1 on any
 * crash, round-trip failure, unexpected SQLSTATE or broken accessor, 2 on
 * bad usage, 3 if the server cannot be reached.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#define POOL_SIZE		64
#define MAX_REPORTS		20
#define MAX_TEXT		(1 << 20)

typedef struct Buf
{
	unsigned char *p;
	size_t		len;
	size_t		cap;
} Buf;

/* One type under test. */
typedef struct Type
{
	const char *name;			/* coder_scale.sketch */
	const char *keep_table;
	bool		little_endian;	/* byte order of its binary form's numbers */
	unsigned int oid;
	/* valid values seen: the seeds, then accepted mutants (a ring) */
	Buf			bin[POOL_SIZE];
	Buf			txt[POOL_SIZE];
	int			npool;
	int			nseeds;
	int			next;
} Type;

enum
{
	K_SKETCH_BIN, K_SKETCH_TEXT, K_COUNTER_BIN, K_COUNTER_TEXT,
	K_SKETCH_AGG, K_SKETCH_ROLLUP, K_COUNTER_AGG, K_SKETCH_PAR, K_COUNTER_PAR, NKINDS
};

typedef struct Stats
{
	long		cases;
	long		rejected;
	long		accepted;
	long		roundtrips;
	long		failures;		/* round trip or accessor */
	long		unexpected;		/* an error with an SQLSTATE not expected */
	long		crashes;
} Stats;

static const char *const kind_name[NKINDS] = {
	"sketch binary input", "sketch text input", "counter_summary binary input",
	"counter_summary text input", "sketch_agg", "rollup", "counter_agg",
	"sketch_agg in parallel workers", "counter_agg in parallel workers"
};

/* SQLSTATEs a case of each kind may end with */
static const char *const kind_ok_states[NKINDS] = {
	"22P03", "22P02 22021", "22P03", "22P02 22021",
	"22003 22023", "22003 22023", "22003 22008 22015", "22003 22008 22015", "22003 22008 22015"
};

static PGconn *conn;
static const char *conninfo = "";
static uint64_t rng;
static Stats stats[NKINDS];
static int	reports;
static bool verbose;
static bool keep;
static long case_no;
static Type sketch_type = {.name = "coder_scale.sketch", .keep_table = "fuzz_sketch", .little_endian = true};
static Type counter_type = {.name = "coder_scale.counter_summary", .keep_table = "fuzz_counter", .little_endian = false};

/* ---- utilities ---- */

static void
die(int code, const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "typefuzz: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void
buf_reserve(Buf *b, size_t n)
{
	if (b->len + n + 1 <= b->cap)
		return;
	while (b->len + n + 1 > b->cap)
		b->cap = b->cap ? b->cap * 2 : 256;
	b->p = realloc(b->p, b->cap);
	if (b->p == NULL)
		die(1, "out of memory");
}

static void
buf_put(Buf *b, const void *data, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = 0;			/* text forms stay C strings */
}

static void
buf_printf(Buf *b, const char *fmt,...)
{
	va_list		ap;
	char		tmp[512];
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	buf_put(b, tmp, (size_t) n < sizeof(tmp) ? (size_t) n : sizeof(tmp) - 1);
}

static void
buf_set(Buf *b, const void *data, size_t n)
{
	b->len = 0;
	buf_put(b, data, n);
}

static bool
buf_eq(const Buf *a, const char *data, size_t n)
{
	return a->len == n && (n == 0 || memcmp(a->p, data, n) == 0);
}

/* splitmix64 */
static uint64_t
rnd(void)
{
	uint64_t	z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static bool
one_in(uint64_t n)
{
	return below(n) == 0;
}

/* ---- interesting numbers ---- */

static double
special_double(void)
{
	static const double d[] = {
		0.0, -0.0, 1.0, -1.0, 42.0, 0.5, 1e-6, 1e308, -1e308, 1.7976931348623157e308,
		-1.7976931348623157e308, 2.2250738585072014e-308, 4.9406564584124654e-324,
		-4.9406564584124654e-324, 9007199254740992.0, 9223372036854775807.0, 1e20, 0.01,
		0.0001, 0.5000000000000001, 0.00009999999999999999
	};
	uint64_t	bits;
	double		r;

	switch (below(6))
	{
		case 0:
			return NAN;
		case 1:
			return below(2) ? INFINITY : -INFINITY;
		case 2:
			bits = rnd();		/* any bit pattern, NaN payloads included */
			memcpy(&r, &bits, sizeof(r));
			return r;
		case 3:
			return ldexp((double) (rnd() >> 11), (int) below(2100) - 1100) * (below(2) ? 1 : -1);
		default:
			return d[below(sizeof(d) / sizeof(d[0]))];
	}
}

static int64_t
special_int(void)
{
	static const int64_t v[] = {
		0, 1, -1, 2, 127, 128, 255, 256, 4095, 4096, 4097, 65535, 2147483647LL,
		-2147483648LL, 2147483648LL, 4294967295LL, 9007199254740992LL, INT64_MAX,
		INT64_MIN, INT64_MAX - 1, INT64_MIN + 1, 1000000, -1000000, 86400000000LL,
		9223371331200000000LL, -211813488000000000LL, 9223371331199999999LL,
		-211813488000000001LL, 946684800000000LL
	};

	if (one_in(4))
		return (int64_t) rnd() >> below(64);
	return v[below(sizeof(v) / sizeof(v[0]))];
}

static void
put_u64(unsigned char *p, uint64_t x, bool little)
{
	int			i;

	for (i = 0; i < 8; i++)
		p[little ? i : 7 - i] = (unsigned char) (x >> (8 * i));
}

/* overwrite (or append past the end) 8 bytes at off */
static void
write8(Buf *b, size_t off, uint64_t x, bool little)
{
	unsigned char tmp[8];

	put_u64(tmp, x, little);
	if (off + 8 > b->len)
	{
		buf_reserve(b, off + 8 - b->len);
		b->len = off + 8;
		b->p[b->len] = 0;
	}
	memcpy(b->p + off, tmp, 8);
}

/* an LEB128 varint: usually shortest, sometimes overlong or too long */
static size_t
make_varint(unsigned char *out, uint64_t v)
{
	size_t		n = 0;
	size_t		pad = one_in(8) ? below(4) + 1 : 0;

	while (v >= 0x80)
	{
		out[n++] = (unsigned char) (v | 0x80);
		v >>= 7;
	}
	out[n++] = (unsigned char) v;
	while (pad-- > 0 && n < 12)
	{
		out[n - 1] |= 0x80;
		out[n++] = 0;
	}
	return n;
}

/* ---- mutation of binary forms ---- */

static void
splice(Buf *b, size_t off, size_t del, const unsigned char *ins, size_t n)
{
	Buf			t = {0};

	if (off > b->len)
		off = b->len;
	if (del > b->len - off)
		del = b->len - off;
	buf_put(&t, b->p, off);
	buf_put(&t, ins, n);
	buf_put(&t, b->p + off + del, b->len - off - del);
	buf_set(b, t.p, t.len);
	free(t.p);
}

static void
mutate_bin_once(Buf *b, Type *t)
{
	unsigned char tmp[16];
	size_t		off = below(b->len + 1);
	size_t		n;
	double		d;
	uint64_t	bits;
	int64_t		iv;
	const Buf  *other;

	switch (below(11))
	{
		case 0:					/* flip 1-4 bits */
			for (n = below(4) + 1; n > 0 && b->len > 0; n--)
				b->p[below(b->len)] ^= (unsigned char) (1 << below(8));
			break;
		case 1:					/* a boundary byte */
			if (b->len > 0)
			{
				static const unsigned char v[] = {0, 1, 2, 0x7f, 0x80, 0x81, 0xfe, 0xff};

				b->p[below(b->len)] = one_in(3) ? (unsigned char) rnd() : v[below(sizeof(v))];
			}
			break;
		case 2:					/* truncate */
			b->len = below(b->len + 1);
			b->p[b->len] = 0;
			break;
		case 3:					/* extend */
			for (n = below(16) + 1; n > 0; n--)
			{
				tmp[0] = (unsigned char) (one_in(2) ? 0 : rnd());
				buf_put(b, tmp, 1);
			}
			break;
		case 4:					/* insert or delete bytes */
			n = below(9);
			for (size_t i = 0; i < n; i++)
				tmp[i] = (unsigned char) rnd();
			splice(b, off, below(4), tmp, n);
			break;
		case 5:					/* a special double, either byte order */
			d = special_double();
			memcpy(&bits, &d, sizeof(bits));
			write8(b, off, bits, one_in(4) ? !t->little_endian : t->little_endian);
			break;
		case 6:					/* a boundary integer as 8 bytes */
			write8(b, off, (uint64_t) special_int(), one_in(4) ? !t->little_endian : t->little_endian);
			break;
		case 7:					/* a varint (the sketch's counts and indexes) */
			iv = special_int();
			n = make_varint(tmp, one_in(2) ? (uint64_t) iv : (((uint64_t) iv << 1) ^ (uint64_t) (iv >> 63)));
			splice(b, off, below(3), tmp, n);
			break;
		case 8:					/* splice in another valid value's tail */
			other = &t->bin[below(t->npool)];
			if (other->len > 0)
			{
				size_t		from = below(other->len);

				b->len = off;
				buf_put(b, other->p + from, other->len - from);
			}
			break;
		case 9:					/* duplicate a chunk */
			if (b->len > 0)
			{
				size_t		from = below(b->len);
				size_t		len = below(b->len - from) + 1;
				Buf			c = {0};

				buf_put(&c, b->p + from, len);
				splice(b, off, 0, c.p, c.len);
				free(c.p);
			}
			break;
		default:				/* a small change of one 8-byte field: near-valid values */
			if (b->len >= 8)
			{
				size_t		o = below(b->len - 7);
				uint64_t	x = 0;

				for (int i = 0; i < 8; i++)
					x |= (uint64_t) b->p[o + i] << (8 * (t->little_endian ? i : 7 - i));
				x += (uint64_t) (int64_t) (below(5) - 2);
				write8(b, o, x, t->little_endian);
			}
			break;
	}
}

/* ---- mutation of text forms ---- */

static const char *const special_tokens[] = {
	"0", "-0", "1", "-1", "2", "00", "01", "9223372036854775807", "9223372036854775808",
	"-9223372036854775808", "18446744073709551615", "99999999999999999999", "2147483647",
	"2147483648", "-2147483648", "-2147483649", "4095", "4096", "1e308", "-1e308",
	"1.7976931348623157e308", "1.8e308", "-1.8e308", "5e-324", "-5e-324", "2.2250738585072014e-308",
	"1e-400", "NaN", "nan", "-nan", "inf", "-inf", "Infinity", "-Infinity", "0x1p3", "-0x1p-1074",
	".5", "5.", "-.5", "1.000001", "0.0000001", "-0.000001", "1e5", "1E5", "+1", " 1", "", "-",
	".", "e", "0.01", "0.0001", "0.5", "0.50000000000000011", "1764424800", "9224318015999",
	"9224318016000", "-210866803200", "-210866803201", "9999999999999", "10000000000000",
	"1.9999995", "0.1234567", "1e2147483648"
};

/* the bounds of the numeric token around or after position i */
static bool
find_token(const Buf *b, size_t i, size_t *start, size_t *end)
{
	while (i < b->len && strchr("=:, ", b->p[i]) == NULL)
		i++;
	while (i < b->len && strchr("=:, ", b->p[i]) != NULL)
		i++;
	if (i >= b->len)
		return false;
	*start = i;
	while (i < b->len && strchr("=:, ", b->p[i]) == NULL)
		i++;
	*end = i;
	return true;
}

/* a token nudged: +-1 on its last digit's value, or a double scaled */
static void
nudge_token(Buf *b, size_t s, size_t e)
{
	char		tok[400];
	char		out[420];
	size_t		n = e - s < sizeof(tok) - 1 ? e - s : sizeof(tok) - 1;
	char	   *end;

	memcpy(tok, b->p + s, n);
	tok[n] = 0;
	if (strspn(tok, "-0123456789") == n && n > 0 && n < 19)
		snprintf(out, sizeof(out), "%lld", strtoll(tok, NULL, 10) + (long long) below(5) - 2);
	else
	{
		double		d = strtod(tok, &end);
		static const double f[] = {2.0, 0.5, 10.0, 1 + 1e-15, 1 - 1e-15, -1.0, 1e300, 1e-300};

		if (end == tok)
			return;
		snprintf(out, sizeof(out), one_in(2) ? "%.17g" : "%.6g", d * f[below(8)]);
	}
	splice(b, s, e - s, (const unsigned char *) out, strlen(out));
}

static void
mutate_text_once(Buf *b, Type *t)
{
	static const char chars[] = "0123456789-.e:, =+xnai\t";
	size_t		off = below(b->len + 1);
	size_t		s;
	size_t		e;
	unsigned char c;
	const char *tok;

	switch (below(9))
	{
		case 0:					/* a character replaced */
			if (b->len > 0)
				b->p[below(b->len)] = (unsigned char) chars[below(sizeof(chars) - 1)];
			break;
		case 1:					/* truncate */
			b->len = below(b->len + 1);
			b->p[b->len] = 0;
			break;
		case 2:					/* extend */
			tok = special_tokens[below(sizeof(special_tokens) / sizeof(special_tokens[0]))];
			if (one_in(2))
				buf_put(b, ",", 1);
			buf_put(b, tok, strlen(tok));
			break;
		case 3:					/* a random byte (no NUL: libpq sends C strings) */
			c = (unsigned char) (below(255) + 1);
			splice(b, off, below(2), &c, 1);
			break;
		case 4:					/* a number replaced by a boundary one */
		case 5:
			if (find_token(b, off, &s, &e))
			{
				tok = special_tokens[below(sizeof(special_tokens) / sizeof(special_tokens[0]))];
				splice(b, s, e - s, (const unsigned char *) tok, strlen(tok));
			}
			break;
		case 6:					/* a number nudged: near-valid values */
		case 7:
			if (find_token(b, off, &s, &e))
				nudge_token(b, s, e);
			break;
		default:				/* a field taken from another valid value */
			{
				const Buf  *o = &t->txt[below(t->npool)];
				size_t		os;
				size_t		oe;

				if (find_token(b, off, &s, &e) && find_token(o, below(o->len + 1), &os, &oe))
					splice(b, s, e - s, o->p + os, oe - os);
			}
			break;
	}
	if (b->len > MAX_TEXT)
	{
		b->len = MAX_TEXT;
		b->p[b->len] = 0;
	}
}

/* ---- talking to the server ---- */

static void
connect_db(void)
{
	int			i;

	for (i = 0; i < 600; i++)	/* up to a minute of crash recovery */
	{
		conn = PQconnectdb(conninfo);
		if (PQstatus(conn) == CONNECTION_OK)
			break;
		PQfinish(conn);
		conn = NULL;
		usleep(100000);			/* spaces the attempts; the server's state ends the wait */
	}
	if (conn == NULL)
		die(3, "cannot connect to the server");
	PQclear(PQexec(conn, "SET statement_timeout = '20s'"));
	PQclear(PQexec(conn, "SET client_min_messages = warning"));
	/* parallel plans for fuzz_par, its rows read by the workers alone */
	PQclear(PQexec(conn, "SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; "
				   "SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2; "
				   "SET parallel_leader_participation = off"));
}

static void
report(int kind, const char *what, const Buf *input, bool binary, const char *detail)
{
	size_t		i;

	if (reports++ >= MAX_REPORTS)
		return;
	fprintf(stderr, "# case %ld (%s): %s\n#   input: ", case_no, kind_name[kind], what);
	if (input == NULL)
		fprintf(stderr, "(aggregate)");
	else if (binary)
		for (i = 0; i < input->len; i++)
			fprintf(stderr, "%02x", input->p[i]);
	else
		fprintf(stderr, "%.2000s", (const char *) input->p);
	fprintf(stderr, "\n#   %s\n", detail ? detail : "");
}

typedef enum Outcome
{
	O_VALUE, O_REJECT, O_UNEXPECTED, O_CRASH
} Outcome;

/*
 * Run sql (params in the given formats, result in binary) and classify it.
 * A lost connection is a crash: reconnect and say so.
 */
static Outcome
run(int kind, const char *sql, int n, const unsigned int *types, const Buf *const *vals,
	const int *formats, PGresult **res)
{
	const char *v[4];
	int			len[4];
	int			i;
	PGresult   *r;
	const char *state;

	for (i = 0; i < n; i++)
	{
		v[i] = (const char *) vals[i]->p;
		len[i] = (int) vals[i]->len;
	}
	r = PQexecParams(conn, sql, n, types, v, len, formats, 1);
	*res = r;
	if (PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK)
		return O_VALUE;
	if (PQstatus(conn) != CONNECTION_OK)
	{
		PQfinish(conn);
		conn = NULL;
		connect_db();
		return O_CRASH;
	}
	state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (state != NULL && strlen(state) == 5 && strstr(kind_ok_states[kind], state) != NULL)
		return O_REJECT;
	return O_UNEXPECTED;
}

static void
count_outcome(int kind, Outcome o, const Buf *input, bool binary, PGresult *r)
{
	char		detail[600];

	switch (o)
	{
		case O_VALUE:
			stats[kind].accepted++;
			break;
		case O_REJECT:
			stats[kind].rejected++;
			if (verbose)
				report(kind, "rejected", input, binary, PQresultErrorMessage(r));
			break;
		case O_UNEXPECTED:
			stats[kind].unexpected++;
			snprintf(detail, sizeof(detail), "%s: %s",
					 PQresultErrorField(r, PG_DIAG_SQLSTATE) ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : "?",
					 PQresultErrorMessage(r));
			report(kind, "unexpected error", input, binary, detail);
			break;
		case O_CRASH:
			stats[kind].crashes++;
			report(kind, "THE SERVER CRASHED (connection lost)", input, binary, NULL);
			break;
	}
}

/* remember a valid value for later mutation (the seeds stay) */
static void
pool_add(Type *t, const char *bin, size_t blen, const char *txt, size_t tlen)
{
	int			i;

	if (t->npool < POOL_SIZE)
		i = t->npool++;
	else
	{
		i = t->nseeds + t->next;
		t->next = (t->next + 1) % (POOL_SIZE - t->nseeds);
	}
	buf_set(&t->bin[i], bin, blen);
	buf_set(&t->txt[i], txt, tlen);
}

/* Accessors that must hold for every valid value; NULL when they do. */
static const char *
accessor_failure(int kind, Type *t, const Buf *bin)
{
	static const char *const sketch_sql =
		"SELECT coder_scale.mean($1) BETWEEN coder_scale.min_val($1) AND coder_scale.max_val($1) "
		"AND coder_scale.num_vals($1) > 0 AND abs(coder_scale.sketch_sum($1)) < 'Infinity' "
		"AND coder_scale.approx_percentile_rank(0, $1) BETWEEN 0 AND 1 "
		"AND (SELECT bool_and(q BETWEEN coder_scale.min_val($1) AND coder_scale.max_val($1) AND q >= p) "
		"     FROM (SELECT q, lag(q, 1, q) OVER (ORDER BY o) p FROM unnest(coder_scale.approx_percentiles("
		"           '{0,0.001,0.25,0.5,0.75,0.999,1}', $1)) WITH ORDINALITY u(q, o)) z)";
	static const char *const counter_sql =
		"SELECT coder_scale.increase($1) >= 0 AND coder_scale.time_delta($1) >= 0 "
		"AND coder_scale.num_resets($1) >= 0 "
		"AND (coder_scale.time_delta($1) = 0) = (coder_scale.rate($1) IS NULL) "
		"AND coalesce(coder_scale.rate($1) >= 0, true)";
	const char *val = (const char *) bin->p;
	int			len = (int) bin->len;
	int			fmt = 1;
	PGresult   *r;
	const char *why = NULL;
	const char *state;

	r = PQexecParams(conn, t == &sketch_type ? sketch_sql : counter_sql, 1, &t->oid, &val, &len, &fmt, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
	{
		if (strcmp(PQgetvalue(r, 0, 0), "t") != 0)
			why = "an accessor gives an impossible answer";
	}
	else if (PQstatus(conn) != CONNECTION_OK)
	{
		PQfinish(conn);
		conn = NULL;
		connect_db();
		stats[kind].crashes++;
		why = "THE SERVER CRASHED in an accessor";
	}
	else
	{
		state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		/* a rate beyond float8 is an error by design */
		if (!(t == &counter_type && state && strcmp(state, "22003") == 0))
			why = "an accessor fails";
	}
	PQclear(r);
	return why;
}

/*
 * A value the server gave (send bytes, out text): text -> value and
 * binary -> value must both give the same bytes and text again; a binary
 * input must be the send bytes.
 */
static void
check_round_trip(int kind, Type *t, PGresult *got, const Buf *input, bool binary)
{
	char		sql[100];
	unsigned int types[2] = {t->oid, t->oid};
	int			formats[2] = {0, 1};
	Buf			bin = {0};
	Buf			txt = {0};
	const Buf  *vals[2] = {&txt, &bin};
	PGresult   *r;
	const char *why = NULL;
	Outcome		o;
	int			c;

	buf_set(&bin, PQgetvalue(got, 0, 0), PQgetlength(got, 0, 0));
	buf_set(&txt, PQgetvalue(got, 0, 1), PQgetlength(got, 0, 1));
	if (keep)
	{
		/* stored as received, before any check: pg_dump must carry it whatever follows */
		snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES ($1)", t->keep_table);
		PQclear(PQexecParams(conn, sql, 1, &t->oid, (const char *const *) &bin.p,
							 (const int[]) {(int) bin.len}, (const int[]) {1}, 0));
	}
	o = run(kind, "SELECT $1, $1::text, $2, $2::text", 2, types, vals, formats, &r);
	if (o == O_CRASH)
	{
		stats[kind].crashes++;
		why = "THE SERVER CRASHED reading the value back";
	}
	else if (o != O_VALUE)
		why = PQresultErrorMessage(r);
	else
	{
		for (c = 0; c < 4 && why == NULL; c++)
			if (!buf_eq(c % 2 ? &txt : &bin, PQgetvalue(r, 0, c), PQgetlength(r, 0, c)))
				why = c == 0 ? "text -> value -> binary differs" :
					c == 1 ? "text -> value -> text differs" :
					c == 2 ? "binary -> value -> binary differs" : "binary -> value -> text differs";
		if (why == NULL && binary && input != NULL && !buf_eq(&bin, (const char *) input->p, input->len))
			why = "the binary input is not what send gives back";
		if (why == NULL)
			why = accessor_failure(kind, t, &bin);
	}
	PQclear(r);
	if (why != NULL)
	{
		char		detail[2400];

		stats[kind].failures++;
		snprintf(detail, sizeof(detail), "%s; value text: %.2000s", why, (const char *) txt.p);
		report(kind, "round-trip failure", input, binary, detail);
	}
	else
	{
		stats[kind].roundtrips++;
		pool_add(t, (const char *) bin.p, bin.len, (const char *) txt.p, txt.len);
	}
	free(bin.p);
	free(txt.p);
}

/* run sql (result: the value, and its text) and check what it gives */
static void
value_case(int kind, Type *t, const char *sql, int n, const unsigned int *types, const Buf *const *vals,
		   const int *formats, const Buf *input, bool binary)
{
	PGresult   *r;
	Outcome		o = run(kind, sql, n, types, vals, formats, &r);

	stats[kind].cases++;
	if (o == O_VALUE && (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)))
	{
		PQclear(r);
		stats[kind].rejected++;	/* NULL: nothing to check (an empty aggregate) */
		return;
	}
	count_outcome(kind, o, input, binary, r);
	if (o == O_VALUE)
		check_round_trip(kind, t, r, input, binary);
	PQclear(r);
}

/* ---- the cases ---- */

static void
input_case(int kind, Type *t, bool binary)
{
	Buf			b = {0};
	const Buf  *vals[1] = {&b};
	int			fmt[1] = {binary ? 1 : 0};
	int			i = (int) below(t->npool);
	int			n = one_in(2) ? 1 : (int) below(3) + 2;

	buf_set(&b, binary ? t->bin[i].p : t->txt[i].p, binary ? t->bin[i].len : t->txt[i].len);
	while (n-- > 0)
	{
		if (binary)
			mutate_bin_once(&b, t);
		else
			mutate_text_once(&b, t);
	}
	value_case(kind, t, "SELECT $1, $1::text", 1, &t->oid, vals, fmt, &b, binary);
	free(b.p);
}

static void
put_double(Buf *b, double d)
{
	if (isnan(d))
		buf_printf(b, "NaN");
	else if (isinf(d))
		buf_printf(b, d > 0 ? "Infinity" : "-Infinity");
	else
		buf_printf(b, "%.17g", d);
}

/*
 * A value for an aggregate: mostly ordinary, sometimes extreme; rarely one
 * the aggregate refuses (NaN, infinite; negative for a counter), so most
 * groups give a value.
 */
static double
agg_value(bool counter)
{
	double		d = one_in(3) ? special_double() : exp((double) below(60) - 30) * (double) (below(1000) + 1);

	if (!isfinite(d) && !one_in(10))
		d = 1e308;
	if (counter && d < 0 && !one_in(20))
		d = -d;					/* -0 stays */
	return d;
}

/* n values for an aggregate as an array literal */
static void
build_values(Buf *arr, int n, bool counter)
{
	int			i;

	buf_printf(arr, "{");
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			buf_printf(arr, ",");
		put_double(arr, agg_value(counter));
	}
	buf_printf(arr, "}");
}

/* n sample times (microseconds since 1970) as an array literal: mostly close together */
static void
build_times(Buf *arr, int n)
{
	int64_t		base = one_in(8) ? special_int() / 1000 : (int64_t) below(4000000000000000ULL);
	int64_t		step = one_in(4) ? (int64_t) below(3) : (int64_t) below(100000000) + 1;
	int			i;

	buf_printf(arr, "{");
	for (i = 0; i < n; i++)
	{
		int64_t		ts = one_in(10) ? special_int() / 1000 : base + step * (int64_t) below(30);

		buf_printf(arr, "%s%lld", i ? "," : "", (long long) ts);
	}
	buf_printf(arr, "}");
}

#define SAMPLE_TIME "'1970-01-01 00:00:00+00'::timestamptz + (t || ' microseconds')::interval"

static void
sketch_agg_case(void)
{
	static const double alphas[] = {0.01, 0.0001, 0.5, 0.05, 0.001, 0.00009, 0.51, 0.0123456789};
	Buf			arr = {0};
	Buf			alpha = {0};
	const Buf  *vals[2] = {&arr, &alpha};
	unsigned int types[2] = {0, 0};
	int			fmt[2] = {0, 0};

	buf_printf(&alpha, "%.17g", one_in(4) ? alphas[below(8)] : 0.01);
	build_values(&arr, (int) below(one_in(10) ? 5000 : 20) + 1, false);
	value_case(K_SKETCH_AGG, &sketch_type,
			   "SELECT s, s::text FROM (SELECT coder_scale.sketch_agg(v, $2::float8) s "
			   "FROM unnest($1::float8[]) v) z",
			   2, types, vals, fmt, NULL, false);
	free(arr.p);
	free(alpha.p);
}

static void
rollup_case(void)
{
	Type	   *t = &sketch_type;
	const Buf  *vals[2] = {&t->bin[below(t->npool)], &t->bin[below(t->npool)]};
	unsigned int types[2] = {t->oid, t->oid};
	int			fmt[2] = {1, 1};

	if (one_in(2))
		vals[1] = vals[0];		/* same alpha: a merge that must work or overflow */
	value_case(K_SKETCH_ROLLUP, t,
			   "SELECT s, s::text FROM (SELECT coder_scale.rollup(v) s FROM unnest(ARRAY[$1, $2]) v) z",
			   2, types, vals, fmt, NULL, false);
}

static void
counter_agg_case(void)
{
	Buf			times = {0};
	Buf			values = {0};
	const Buf  *vals[2] = {&times, &values};
	unsigned int types[2] = {0, 0};
	int			fmt[2] = {0, 0};
	int			n = (int) below(20) + 1;

	build_times(&times, n);
	build_values(&values, n, true);
	value_case(K_COUNTER_AGG, &counter_type,
			   "SELECT c, c::text FROM (SELECT coder_scale.counter_agg(" SAMPLE_TIME ", v) c "
			   "FROM unnest($1::int8[], $2::float8[]) u(t, v)) z",
			   2, types, vals, fmt, NULL, false);
	free(times.p);
	free(values.p);
}

/*
 * Both aggregates over a table whose rows sit on several pages, read by
 * parallel workers only: partial states go through serialize, deserialize
 * and combine.
 */
static void
parallel_case(bool counter)
{
	Buf			times = {0};
	Buf			values = {0};
	const Buf  *vals[2] = {&times, &values};
	unsigned int types[2] = {0, 0};
	int			fmt[2] = {0, 0};
	int			n = (int) below(30) + 1;
	PGresult   *r;
	int			kind = counter ? K_COUNTER_PAR : K_SKETCH_PAR;
	Outcome		o;

	build_times(&times, n);
	build_values(&values, n, counter);
	PQclear(PQexec(conn, "TRUNCATE fuzz_par"));
	o = run(kind, "INSERT INTO fuzz_par SELECT " SAMPLE_TIME ", v, repeat('x', 2000) "
			"FROM unnest($1::int8[], $2::float8[]) u(t, v)", 2, types, vals, fmt, &r);
	if (o != O_VALUE)
	{
		stats[kind].cases++;	/* a sample time out of range */
		count_outcome(kind, o, NULL, false, r);
	}
	else
	{
		if (counter)
			value_case(K_COUNTER_PAR, &counter_type,
					   "SELECT c, c::text FROM (SELECT coder_scale.counter_agg(ts, v) c FROM fuzz_par) z",
					   0, NULL, NULL, NULL, NULL, false);
		else
			value_case(K_SKETCH_PAR, &sketch_type,
					   "SELECT s, s::text FROM (SELECT coder_scale.sketch_agg(v) s FROM fuzz_par) z",
					   0, NULL, NULL, NULL, NULL, false);
	}
	PQclear(r);
	free(times.p);
	free(values.p);
}

/* ---- setup ---- */

static const char *const sketch_seeds =
	"SELECT s, s::text FROM ("
	" SELECT coder_scale.sketch_agg(exp(ln(0.05) + sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))) s"
	"   FROM generate_series(1, 500)"
	" UNION ALL SELECT coder_scale.sketch_agg(x) FROM unnest('{-2,0,1,3.5}'::float8[]) x"
	" UNION ALL SELECT coder_scale.sketch_agg(7)"
	" UNION ALL SELECT coder_scale.sketch_agg(0)"
	" UNION ALL SELECT coder_scale.sketch_agg(-x) FROM generate_series(1, 50) x"
	" UNION ALL SELECT coder_scale.sketch_agg(('1e' || k)::float8, 0.0001) FROM generate_series(-300, 300) k"
	" UNION ALL SELECT coder_scale.sketch_agg(x, 0.5) FROM generate_series(-50, 50) x"
	" UNION ALL SELECT coder_scale.sketch_agg(x) FROM unnest('{1e308,-1.7e308,5e-324}'::float8[]) x"
	" UNION ALL SELECT coder_scale.sketch_agg(x, 0.0001) FROM unnest('{-1e-300,2.5e-310,1e300}'::float8[]) x"
	" UNION ALL SELECT coder_scale.sketch_from_histogram('{0.001,0.005,0.1,Infinity}', '{0,9007199254740992,9007199254740992,9007199254740992}')"
	") z";

static const char *const counter_seeds =
	"SELECT c, c::text FROM ("
	" SELECT coder_scale.counter_agg(to_timestamp(s), v) c"
	"   FROM (VALUES (0, 10::float8), (15, 15), (30, 3), (45, 8.5)) x(s, v)"
	" UNION ALL SELECT coder_scale.counter_agg(to_timestamp(7), 42)"
	" UNION ALL SELECT coder_scale.counter_agg('2025-11-29 14:00:00+00'::timestamptz + s * interval '1 microsecond', s * 1e300)"
	"   FROM generate_series(1, 1000) s"
	" UNION ALL SELECT 'v=1 samples=2 resets=0 increase=0.5 first=-0.75:1 last=1.000001:1.5'::coder_scale.counter_summary"
	" UNION ALL SELECT 'v=1 samples=999999999999999999 resets=999999999999999998 increase=1.7976931348623157e308"
	" first=-210866803200:5e-324 last=9224318015999.999999:0'"
	" UNION ALL SELECT 'v=1 samples=3 resets=2 increase=123.25 first=1764424800:100 last=1764424860.5:0.25'"
	") z";

static void
load_seeds(Type *t, const char *sql)
{
	PGresult   *r = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL, 1);
	int			i;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0)
		die(4, "cannot build the %s seeds: %s", t->name, PQresultErrorMessage(r));
	for (i = 0; i < PQntuples(r) && i < POOL_SIZE / 2; i++)
		pool_add(t, PQgetvalue(r, i, 0), PQgetlength(r, i, 0), PQgetvalue(r, i, 1), PQgetlength(r, i, 1));
	t->nseeds = t->npool;
	PQclear(r);
}

/* fuzz_par, and whether its aggregates really run in parallel workers */
static void
parallel_setup(void)
{
	PGresult   *r = PQexec(conn, "DROP TABLE IF EXISTS fuzz_par; "
						   "CREATE TABLE fuzz_par (ts timestamptz, v float8, pad text); "
						   "INSERT INTO fuzz_par SELECT now(), g, repeat('x', 2000) FROM generate_series(1, 12) g");
	int			i;
	bool		partial = false;
	bool		workers = false;

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		die(4, "cannot create fuzz_par: %s", PQresultErrorMessage(r));
	PQclear(r);
	r = PQexec(conn, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "
			   "SELECT coder_scale.sketch_agg(v), coder_scale.counter_agg(ts, v) FROM fuzz_par");
	for (i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++)
	{
		partial |= strstr(PQgetvalue(r, i, 0), "Partial Aggregate") != NULL;
		workers |= strstr(PQgetvalue(r, i, 0), "Workers Launched: 0") == NULL &&
			strstr(PQgetvalue(r, i, 0), "Workers Launched:") != NULL;
	}
	PQclear(r);
	printf("# parallel cases: %s\n", partial && workers ? "partial aggregates in parallel workers" :
		   "NOT parallel here (no workers): serialize and combine are not exercised");
}

static void
setup(void)
{
	PGresult   *r;
	char		sql[200];

	connect_db();
	r = PQexec(conn, "SELECT 'coder_scale.sketch'::regtype::oid, 'coder_scale.counter_summary'::regtype::oid");
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die(4, "the database has no coder_scale extension: %s", PQresultErrorMessage(r));
	sketch_type.oid = (unsigned int) strtoul(PQgetvalue(r, 0, 0), NULL, 10);
	counter_type.oid = (unsigned int) strtoul(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	PQclear(PQexec(conn, "SELECT setseed(0.25)"));
	load_seeds(&sketch_type, sketch_seeds);
	load_seeds(&counter_type, counter_seeds);
	parallel_setup();
	if (keep)
	{
		snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS fuzz_sketch, fuzz_counter; "
				 "CREATE TABLE fuzz_sketch (v %s); CREATE TABLE fuzz_counter (v %s)",
				 sketch_type.name, counter_type.name);
		r = PQexec(conn, sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			die(4, "cannot create the tables for --keep: %s", PQresultErrorMessage(r));
		PQclear(r);
	}
}

static void
one_case(void)
{
	uint64_t	k = below(100);

	if (k < 22)
		input_case(K_SKETCH_BIN, &sketch_type, true);
	else if (k < 44)
		input_case(K_SKETCH_TEXT, &sketch_type, false);
	else if (k < 62)
		input_case(K_COUNTER_BIN, &counter_type, true);
	else if (k < 80)
		input_case(K_COUNTER_TEXT, &counter_type, false);
	else if (k < 87)
		sketch_agg_case();
	else if (k < 91)
		rollup_case();
	else if (k < 98)
		counter_agg_case();
	else
		parallel_case(k == 98);
}

static long
total(size_t field)
{
	long		s = 0;
	int			k;

	for (k = 0; k < NKINDS; k++)
		s += *(long *) ((char *) &stats[k] + field);
	return s;
}

/* TAP: one line per kind; the summary; the exit status */
static int
summarize(double seconds)
{
	int			k;
	bool		bad = false;

	printf("1..%d\n", NKINDS);
	for (k = 0; k < NKINDS; k++)
	{
		Stats	   *s = &stats[k];
		bool		ok = s->crashes == 0 && s->failures == 0 && s->unexpected == 0;

		bad |= !ok;
		printf("%s %d - %s: %ld cases, %ld rejected, %ld accepted, %ld round trips identical, "
			   "%ld round-trip failures, %ld unexpected errors, %ld crashes\n",
			   ok ? "ok" : "not ok", k + 1, kind_name[k], s->cases, s->rejected, s->accepted,
			   s->roundtrips, s->failures, s->unexpected, s->crashes);
	}
	printf("# cases %ld, rejected %ld, accepted %ld, round trips identical %ld, round-trip failures %ld, "
		   "unexpected errors %ld, crashes %ld, %.1f s\n",
		   total(offsetof(Stats, cases)), total(offsetof(Stats, rejected)),
		   total(offsetof(Stats, accepted)), total(offsetof(Stats, roundtrips)),
		   total(offsetof(Stats, failures)), total(offsetof(Stats, unexpected)),
		   total(offsetof(Stats, crashes)), seconds);
	return bad ? 1 : 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: typefuzz [--seed N] [--cases N] [--keep] [--verbose] [CONNINFO]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	long		cases = 3000;
	uint64_t	seed = 1;
	struct timespec t0;
	struct timespec t1;
	int			i;

	for (i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--cases") == 0 && i + 1 < argc)
			cases = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--keep") == 0)
			keep = true;
		else if (strcmp(argv[i], "--verbose") == 0)
			verbose = true;
		else if (argv[i][0] == '-')
			usage();
		else
			conninfo = argv[i];
	}
	if (cases < 1)
		usage();
	rng = seed;
	setup();
	printf("# typefuzz: seed %llu, %ld cases\n", (unsigned long long) seed, cases);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (case_no = 1; case_no <= cases; case_no++)
		one_case();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	PQclear(PQexec(conn, "DROP TABLE fuzz_par"));
	PQfinish(conn);
	return summarize((double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9);
}
