/*
 * promparse_test: drives client/scrape/promparse.c for test/client/90_promparse.sh.
 *
 *   promparse_test dump FILE [CHUNK]   every sample in a canonical form, then
 *                                      the counts and the reasons of malformed
 *                                      lines; the body is fed CHUNK bytes at a
 *                                      time (default: all at once)
 *   promparse_test floats              Go ParseFloat cases, exits 1 on a miss
 *   promparse_test fuzz SEED N FILE... N hostile bodies made from the files
 *                                      (mutated, truncated, random); checks
 *                                      the counts add up; built with
 *                                      -fsanitize=address,undefined
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scrape/promparse.h"

static void
print_escaped(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
	{
		if (s[i] == '\\')
			fputs("\\\\", stdout);
		else if (s[i] == '"')
			fputs("\\\"", stdout);
		else if (s[i] == '\n')
			fputs("\\n", stdout);
		else
			putchar(s[i]);
	}
}

static void
print_value(double v)
{
	if (isnan(v))
		fputs("NaN", stdout);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", stdout);
	else
	{
		char		buf[40];

		/* the shortest form that reads back the same */
		for (int prec = 15; prec <= 17; prec++)
		{
			snprintf(buf, sizeof(buf), "%.*g", prec, v);
			if (strtod(buf, NULL) == v)
				break;
		}
		fputs(buf, stdout);
	}
}

static void
dump_sample(void *arg, const prom_sample *s)
{
	(void) arg;
	printf("%.*s{", (int) s->name_len, s->name);
	for (int k = 0; k < s->nlabels; k++)
	{
		printf("%s%.*s=\"", k ? "," : "", (int) s->labels[k].name_len, s->labels[k].name);
		print_escaped(s->labels[k].value, s->labels[k].value_len);
		putchar('"');
	}
	fputs("} ", stdout);
	print_value(s->value);
	if (s->has_timestamp)
		printf(" @%lld", (long long) s->timestamp_ms);
	printf(" %s\n", prom_type_name(s->type));
}

static char *
slurp(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf = NULL;
	size_t		cap = 0;

	*len = 0;
	if (f == NULL)
	{
		perror(path);
		exit(2);
	}
	for (;;)
	{
		size_t		got;

		if (*len + 65536 > cap)
		{
			cap = cap ? cap * 2 : 131072;
			buf = realloc(buf, cap);
			if (buf == NULL)
				exit(2);
		}
		got = fread(buf + *len, 1, cap - *len, f);
		if (got == 0)
			break;
		*len += got;
	}
	fclose(f);
	return buf;
}

static int
cmd_dump(const char *path, size_t chunk)
{
	size_t		len;
	char	   *body = slurp(path, &len);
	prom_parser *p = prom_parser_new(dump_sample, NULL);
	const prom_stats *st;

	prom_parser_reset(p);
	if (chunk == 0)
		chunk = len ? len : 1;
	for (size_t off = 0; off < len; off += chunk)
	{
		/* feed from a copy of exactly the chunk, so a read past it is caught */
		size_t		n = len - off < chunk ? len - off : chunk;
		char	   *piece = malloc(n);

		memcpy(piece, body + off, n);
		prom_parser_feed(p, piece, n);
		free(piece);
	}
	prom_parser_finish(p);
	st = prom_parser_stats(p);
	printf("# lines %lld samples %lld malformed %lld\n",
		   (long long) st->lines, (long long) st->samples, (long long) st->malformed);
	for (int k = 0; k < st->nerrors; k++)
		printf("# line %lld: %s\n", (long long) st->errors[k].line, st->errors[k].reason);
	prom_parser_free(p);
	free(body);
	return 0;
}

static int
cmd_floats(void)
{
	static const struct
	{
		const char *in;
		bool		ok;
		double		want;
	}			cases[] = {
		{"0", true, 0}, {"1", true, 1}, {"-1.5", true, -1.5}, {"+2", true, 2},
		{"1e3", true, 1000}, {"1E-3", true, 0.001}, {"1.5e+2", true, 150}, {".5", true, 0.5},
		{"5.", true, 5}, {"0x1p4", true, 16}, {"0X1.8P1", true, 3}, {"1e-400", true, 0},
		{"12345678901234567890", true, 12345678901234567890.0},
		{"", false, 0}, {"e3", false, 0}, {"1e", false, 0}, {"1e+", false, 0}, {".", false, 0},
		{"--1", false, 0}, {"1..2", false, 0}, {"0x10", false, 0}, {"1e400", false, 0},
		{"-1e400", false, 0}, {"1_000", false, 0}, {"abc", false, 0}, {"1 ", false, 0},
		{"infinit", false, 0}, {"+NaN", false, 0}, {"0x", false, 0}, {"1f", false, 0},
	};
	static const char *const nans[] = {"NaN", "nan", "NAN"};
	static const char *const pinf[] = {"+Inf", "Inf", "inf", "+inf", "Infinity", "+INFINITY"};
	static const char *const ninf[] = {"-Inf", "-inf", "-Infinity"};
	int			bad = 0;
	double		v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		bool		ok = prom_parse_float(cases[i].in, strlen(cases[i].in), &v);

		if (ok != cases[i].ok || (ok && v != cases[i].want))
		{
			printf("not ok - float \"%s\": got %s %g\n", cases[i].in, ok ? "ok" : "error", ok ? v : 0);
			bad++;
		}
	}
	for (size_t i = 0; i < 3; i++)
		if (!prom_parse_float(nans[i], strlen(nans[i]), &v) || !isnan(v))
			printf("not ok - float \"%s\" is NaN\n", nans[i]), bad++;
	for (size_t i = 0; i < 6; i++)
		if (!prom_parse_float(pinf[i], strlen(pinf[i]), &v) || !(isinf(v) && v > 0))
			printf("not ok - float \"%s\" is +Inf\n", pinf[i]), bad++;
	for (size_t i = 0; i < 3; i++)
		if (!prom_parse_float(ninf[i], strlen(ninf[i]), &v) || !(isinf(v) && v < 0))
			printf("not ok - float \"%s\" is -Inf\n", ninf[i]), bad++;
	if (bad == 0)
		printf("ok - %zu float cases\n", sizeof(cases) / sizeof(cases[0]) + 12);
	return bad ? 1 : 0;
}

/* ---------------------------------------------------------------------------
 * Fuzz: the parser must survive anything; counts must add up.
 * ------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static int64_t fuzz_samples;

static void
check_sample(void *arg, const prom_sample *s)
{
	(void) arg;
	/* touch every byte the parser hands out, so ASan sees a bad pointer */
	volatile char sink = 0;

	for (size_t i = 0; i < s->name_len; i++)
		sink ^= s->name[i];
	for (int k = 0; k < s->nlabels; k++)
	{
		for (size_t i = 0; i < s->labels[k].name_len; i++)
			sink ^= s->labels[k].name[i];
		for (size_t i = 0; i < s->labels[k].value_len; i++)
			sink ^= s->labels[k].value[i];
		if (s->labels[k].value_len == 0)
			abort();
	}
	(void) sink;
	fuzz_samples++;
}

static const char *const tokens[] = {
	"{", "}", "\"", "\\", "\\\"", "\\n", "\\\\", ",", "=", " ", "\t", "\n", "\r\n", "#", "# TYPE ", "# HELP ",
	"histogram", "summary", "counter", "le=\"", "quantile=\"", "_bucket", "_sum", "_count", "NaN", "+Inf",
	"-Inf", "1e308", "1e999", "-", "9223372036854775807", "9223372036854775808", "\xff", "\xc3", "\0", "a",
};

static char *
mutate(const char *src, size_t len, size_t *out_len)
{
	size_t		cap = len * 2 + 4096;
	char	   *b = malloc(cap);
	size_t		n;
	int			edits = 1 + (int) (rng() % 20);

	memcpy(b, src, len);
	n = len;
	for (int e = 0; e < edits; e++)
	{
		size_t		at = n ? rng() % n : 0;
		const char *t = tokens[rng() % (sizeof(tokens) / sizeof(tokens[0]))];
		size_t		tl = t[0] ? strlen(t) : 1;

		switch (rng() % 4)
		{
			case 0:				/* flip a byte */
				if (n)
					b[at] = (char) rng();
				break;
			case 1:				/* insert a token */
				if (n + tl < cap)
				{
					memmove(b + at + tl, b + at, n - at);
					memcpy(b + at, t, tl);
					n += tl;
				}
				break;
			case 2:				/* delete a run */
				{
					size_t		del = rng() % 16;

					if (at + del > n)
						del = n - at;
					memmove(b + at, b + at + del, n - at - del);
					n -= del;
				}
				break;
			default:			/* truncate */
				n = at;
		}
	}
	*out_len = n;
	return b;
}

static int
cmd_fuzz(uint64_t seed, long iterations, int nfiles, char **files)
{
	size_t	   *lens = calloc(nfiles, sizeof(size_t));
	char	  **bodies = calloc(nfiles, sizeof(char *));
	prom_parser *p = prom_parser_new(check_sample, NULL);
	long		bad = 0;

	rng_state = seed * 2654435761ULL + 1;
	for (int f = 0; f < nfiles; f++)
		bodies[f] = slurp(files[f], &lens[f]);
	for (long it = 0; it < iterations; it++)
	{
		size_t		n;
		char	   *b;
		const prom_stats *st;
		size_t		chunk;

		if (it % 10 == 9 || nfiles == 0)
		{
			n = rng() % 4096;
			b = malloc(n + 1);
			for (size_t i = 0; i < n; i++)
				b[i] = (char) rng();
		}
		else
		{
			int			f = (int) (rng() % nfiles);

			b = mutate(bodies[f], lens[f], &n);
		}
		fuzz_samples = 0;
		prom_parser_reset(p);
		chunk = 1 + rng() % 5000;
		for (size_t off = 0; off < n; off += chunk)
		{
			size_t		m = n - off < chunk ? n - off : chunk;
			char	   *piece = malloc(m);

			memcpy(piece, b + off, m);
			prom_parser_feed(p, piece, m);
			free(piece);
		}
		if (rng() % 2)
			prom_parser_finish(p);
		else
			prom_parser_abandon(p);
		st = prom_parser_stats(p);
		if (st->samples != fuzz_samples || st->samples + st->malformed > st->lines ||
			st->nerrors > PROM_MAX_ERRORS || st->nerrors > st->malformed)
		{
			printf("not ok - fuzz iteration %ld: lines %lld samples %lld (%lld seen) malformed %lld\n",
				   it, (long long) st->lines, (long long) st->samples, (long long) fuzz_samples,
				   (long long) st->malformed);
			bad++;
		}
		free(b);
	}
	for (int f = 0; f < nfiles; f++)
		free(bodies[f]);
	free(bodies);
	free(lens);
	prom_parser_free(p);
	if (bad == 0)
		printf("ok - %ld hostile bodies parsed, counts consistent\n", iterations);
	return bad ? 1 : 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "dump") == 0)
		return cmd_dump(argv[2], argc > 3 ? (size_t) strtoul(argv[3], NULL, 10) : 0);
	if (argc == 2 && strcmp(argv[1], "floats") == 0)
		return cmd_floats();
	if (argc >= 4 && strcmp(argv[1], "fuzz") == 0)
		return cmd_fuzz(strtoull(argv[2], NULL, 10), strtol(argv[3], NULL, 10), argc - 4, argv + 4);
	fprintf(stderr, "usage: promparse_test dump FILE [CHUNK] | floats | fuzz SEED N FILE...\n");
	return 2;
}
