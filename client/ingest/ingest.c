/*
 * ingest.c: coder-scale ingest FILE...: store result files of Coder's
 * `coder exp scaletest create-workspaces --output json:FILE` as runs.
 *
 * Each file is mapped and hashed (SHA-256: a file already stored is
 * reported, not stored twice); pages already read are released, so a big
 * file does not stay in memory.  Then, in one transaction: the run row,
 * and the file walked run by run and field by field, each field checked
 * before json-c parses its value (known, not repeated, within its size
 * limit, valid UTF-8), each run validated strictly (every field, its type,
 * Go durations, RFC 3339 times) and sent to COPY at once, so the server
 * stores runs while the client reads on; then the totals checked against
 * the runs, the failure categories set by coder_scale.classify_failure()
 * (classification lives in one place), commit.  Any error rolls the whole
 * file back.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "cli.h"
#include "common/buf.h"
#include "common/copywriter.h"
#include "common/flags.h"
#include "common/goduration.h"
#include "common/pg.h"
#include "common/runrow.h"
#include "common/timeutil.h"
#include "runlogs.h"

#define NIL_ERROR "<nil>"
#define RELEASE_EVERY (8 * 1024 * 1024)	/* bytes of the file read between releases */

/* One run of the file, validated. */
typedef struct result
{
	const char *full_id;
	const char *logs;
	size_t		logs_len;
	const char *started_at;
	int64_t		start_sec;		/* started_at as Unix seconds + nanoseconds */
	int32_t		start_nsec;
	int64_t		duration_ns;
	const char *error;			/* NULL for a pass */
} result;

typedef struct ingest_opts
{
	const char *conninfo;
	const char *label;
	json_object *tags;
} ingest_opts;

/* "FILE: what" on stderr; returns EXIT_USAGE for "return bad(...)". */
static int
bad(const char *file, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static int
bad(const char *file, const char *fmt,...)
{
	va_list		ap;
	char		msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cli_error("%s: %s", file, msg);
	return EXIT_USAGE;
}

static void
usage(FILE *out)
{
	fprintf(out,
			"Usage: coder-scale ingest FILE... [--label L] [--tag k=v]... [--db CONNINFO]\n\n"
			"Store result files of `coder exp scaletest create-workspaces --output json:FILE`\n"
			"as runs in the coder_scale schema, one run and one transaction per file.\n\n"
			"Options:\n"
			"  --label L        label of the run(s)\n"
			"  --tag k=v        free-form tag, repeatable (run.tags)\n"
			"  --db CONNINFO    libpq connection string (default: PGHOST, PGPORT, ... environment)\n"
			"  -h, --help       this help\n\n"
			"A file already stored (same SHA-256) is reported with its run id and skipped.\n"
			"Limits per value: logs 16 MiB, error 1 MiB, ids and field names 256 bytes,\n"
			"times, durations and numbers 64.\n"
			"Exit codes: 0 stored (or already there), 2 bad flags or a bad file (nothing of it\n"
			"is stored), 3 database unreachable, 4 database error.\n");
}

/* ---------------------------------------------------------------------------
 * Reading and hashing
 * ------------------------------------------------------------------------- */

/* Map the file read-only (no copy of a file of hundreds of MB); NULL after a message. */
static const char *
map_file(const char *path, size_t *len, time_t *mtime, int *rc)
{
	int			fd = open(path, O_RDONLY);
	struct stat st;
	void	   *p;

	if (fd < 0 || fstat(fd, &st) != 0)
	{
		*rc = bad(path, "cannot read: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode))
	{
		close(fd);
		*rc = bad(path, "not a regular file");
		return NULL;
	}
	*len = (size_t) st.st_size;
	*mtime = st.st_mtime;
	if (*len == 0)
	{
		close(fd);
		return "";
	}
	p = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
	{
		*rc = bad(path, "cannot read: %s", strerror(errno));
		return NULL;
	}
	madvise(p, *len, MADV_SEQUENTIAL);
	return p;
}

static void
unmap_file(const char *buf, size_t len)
{
	if (len > 0)
		munmap((void *) buf, len);
}

/*
 * Let the kernel drop the pages of a mapped file before off: the file is
 * read front to back, so a big file does not stay resident (the mapping
 * is private and read-only: a page read again, e.g. to find an error's
 * line number, comes back from the file).
 */
static void
release_pages(const char *buf, size_t off)
{
	size_t		page = (size_t) sysconf(_SC_PAGESIZE),
				n = off / page * page;

	if (n > 0)
		madvise((void *) buf, n, MADV_DONTNEED);
}

static bool
sha256_hex(const char *data, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool		ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);

	for (size_t off = 0; ok && off < len; off += RELEASE_EVERY)
	{
		size_t		n = len - off < RELEASE_EVERY ? len - off : RELEASE_EVERY;

		ok = EVP_DigestUpdate(ctx, data + off, n);
		release_pages(data, off + n);
	}
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen == 32;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return false;
	for (unsigned i = 0; i < mdlen; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	hex[64] = '\0';
	return true;
}

/* ---------------------------------------------------------------------------
 * Parsing and validation
 * ------------------------------------------------------------------------- */

static void
position(const char *buf, size_t off, int *lineno, int *col)
{
	*lineno = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++)
	{
		if (buf[i] == '\n')
			(*lineno)++, *col = 1;
		else
			(*col)++;
	}
}

static const char *
type_name(json_object *v)
{
	switch (json_object_get_type(v))
	{
		case json_type_null: return "null";
		case json_type_boolean: return "a boolean";
		case json_type_double: return "a fraction";
		case json_type_int: return "an integer";
		case json_type_object: return "an object";
		case json_type_array: return "an array";
		case json_type_string: return "a string";
	}
	return "unknown";
}

/*
 * The fields of the file, with the longest value each may have (bytes of
 * the decoded string, or characters of a number).  Values are checked
 * before json-c parses them (see bounded_value), so a huge value costs no
 * memory; the limits are in the README ("coder-scale ingest").
 */
#define NAME_LIMIT 256			/* full_id, test_name, id, any field name */
#define SHORT_LIMIT 64			/* times, durations, numbers */
#define ERROR_LIMIT (1024 * 1024)
#define LOGS_LIMIT (16 * 1024 * 1024)

typedef struct field
{
	const char *name;
	const char *type;			/* what it must be, for messages */
	size_t		limit;
} field;

static const field top_fields[] = {
	{"total_runs", "an integer", SHORT_LIMIT},
	{"total_pass", "an integer", SHORT_LIMIT},
	{"total_fail", "an integer", SHORT_LIMIT},
	{"elapsed", "a string", SHORT_LIMIT},
	{"elapsed_ms", "an integer", SHORT_LIMIT},
	{"runs", "an object", 0},	/* streamed run by run */
	{NULL, NULL, 0}
};
static const field run_fields[] = {
	{"full_id", "a string", NAME_LIMIT},
	{"test_name", "a string", NAME_LIMIT},
	{"id", "a string", NAME_LIMIT},
	{"logs", "a string", LOGS_LIMIT},
	{"started_at", "a string", SHORT_LIMIT},
	{"duration", "a string", SHORT_LIMIT},
	{"duration_ms", "an integer", SHORT_LIMIT},
	{"error", "a string", ERROR_LIMIT},
	{NULL, NULL, 0}
};

static const field *
find_field(const field *fields, const char *name)
{
	for (const field *f = fields; f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

/*
 * Check that obj has every field (an unknown or repeated field is refused
 * while the file is read).  where names the object in messages ("top
 * level", "runs[...]").
 */
static int
check_keys(const char *path, const char *where, json_object *obj, const field *fields)
{
	for (const field *f = fields; f->name; f++)
		if (!json_object_object_get_ex(obj, f->name, NULL))
			return bad(path, "%s: missing field \"%s\"", where, f->name);
	return EXIT_OK;
}

static int
get_int(const char *path, const char *where, json_object *obj, const char *key, int64_t *out)
{
	json_object *v = json_object_object_get(obj, key);

	if (json_object_get_type(v) != json_type_int)
		return bad(path, "%s.%s: expected an integer, found %s", where, key, type_name(v));
	errno = 0;
	*out = json_object_get_int64(v);
	if (errno != 0 || *out < 0 || *out == INT64_MAX)
		return bad(path, "%s.%s: integer out of range (%s)", where, key, json_object_get_string(v));
	return EXIT_OK;
}

static int
get_string(const char *path, const char *where, json_object *obj, const char *key,
		   const char **out, size_t *len)
{
	json_object *v = json_object_object_get(obj, key);
	size_t		n;

	if (json_object_get_type(v) != json_type_string)
		return bad(path, "%s.%s: expected a string, found %s", where, key, type_name(v));
	*out = json_object_get_string(v);
	n = (size_t) json_object_get_string_len(v);
	if (memchr(*out, '\0', n) != NULL)
		return bad(path, "%s.%s: contains a NUL character (\\u0000), which PostgreSQL text cannot hold", where, key);
	if (len)
		*len = n;
	return EXIT_OK;
}

static int
get_duration(const char *path, const char *where, json_object *obj, const char *key, int64_t *ns)
{
	const char *s,
			   *why = "";
	int			rc = get_string(path, where, obj, key, &s, NULL);

	if (rc != EXIT_OK)
		return rc;
	if (!go_duration_parse(s, ns, &why))
		return bad(path, "%s.%s: \"%s\" is not a Go duration (%s)", where, key, s, why);
	if (*ns < 0)
		return bad(path, "%s.%s: \"%s\" is negative", where, key, s);
	return EXIT_OK;
}

static int
validate_run(const char *path, const char *key, json_object *o, result *r)
{
	char		where[300];
	const char *test_name,
			   *id,
			   *err;
	size_t		tlen,
				ilen;
	int64_t		ms;
	int			rc;

	snprintf(where, sizeof(where), "runs[\"%.256s\"]", key);
	if (json_object_get_type(o) != json_type_object)
		return bad(path, "%s: expected an object, found %s", where, type_name(o));
	if ((rc = check_keys(path, where, o, run_fields)) != EXIT_OK ||
		(rc = get_string(path, where, o, "full_id", &r->full_id, NULL)) != EXIT_OK ||
		(rc = get_string(path, where, o, "test_name", &test_name, &tlen)) != EXIT_OK ||
		(rc = get_string(path, where, o, "id", &id, &ilen)) != EXIT_OK ||
		(rc = get_string(path, where, o, "logs", &r->logs, &r->logs_len)) != EXIT_OK ||
		(rc = get_string(path, where, o, "started_at", &r->started_at, NULL)) != EXIT_OK ||
		(rc = get_duration(path, where, o, "duration", &r->duration_ns)) != EXIT_OK ||
		(rc = get_int(path, where, o, "duration_ms", &ms)) != EXIT_OK ||
		(rc = get_string(path, where, o, "error", &err, NULL)) != EXIT_OK)
		return rc;
	if (strcmp(r->full_id, key) != 0)
		return bad(path, "%s.full_id: \"%s\" differs from its key", where, r->full_id);
	if (tlen == 0 || ilen == 0 || strchr(test_name, '/') || strlen(r->full_id) != tlen + 1 + ilen ||
		strncmp(r->full_id, test_name, tlen) != 0 || r->full_id[tlen] != '/' ||
		strcmp(r->full_id + tlen + 1, id) != 0)
		return bad(path, "%s: full_id \"%s\" is not test_name \"%s\" + \"/\" + id \"%s\"", where, r->full_id, test_name, id);
	if (!parse_rfc3339(r->started_at, &r->start_sec, &r->start_nsec))
		return bad(path, "%s.started_at: \"%s\" is not an RFC 3339 time", where, r->started_at);
	if (ms != r->duration_ns / 1000000)
		return bad(path, "%s: duration_ms %" PRId64 " disagrees with duration (%" PRId64 " ms)",
				   where, ms, r->duration_ns / 1000000);
	r->error = strcmp(err, NIL_ERROR) == 0 ? NULL : err;
	return EXIT_OK;
}

/* ---------------------------------------------------------------------------
 * Storing
 * ------------------------------------------------------------------------- */

static void
copy_ms(buf *row, int64_t ms)
{
	char		text[40];

	if (ms < 0)
	{
		buf_copy_null(row);
		return;
	}
	snprintf(text, sizeof(text), "%" PRId64 ".%03d", ms / 1000, (int) (ms % 1000));
	buf_copy_text(row, text);
}

static void
copy_ns(buf *row, int64_t ns)
{
	char		text[40];

	snprintf(text, sizeof(text), "%" PRId64 ".%09d", ns / 1000000000, (int) (ns % 1000000000));
	buf_copy_text(row, text);
}

/* Look up a run already stored from this file; returns its id or NULL. */
static char *
stored_as(PGconn *conn, const char *sha)
{
	const char *params[1] = {sha};
	pg_error	e;
	PGresult   *r = pg_query(conn, "SELECT id FROM coder_scale.run WHERE source_sha256 = $1", 1, params, &e);
	char	   *id = NULL;

	if (r == NULL)
		pg_report("ingest", "database", &e);
	if (r && PQntuples(r) == 1)
		id = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return id;
}

/* ---------------------------------------------------------------------------
 * Streaming: the top level and the runs object are walked here; every value
 * inside them (a run, a total, a key) is parsed by json-c.  Each run is
 * validated and sent to COPY as soon as it is read, so the server stores
 * runs while the client reads the next ones; any error aborts the COPY and
 * rolls the file's transaction back.
 * ------------------------------------------------------------------------- */

/* One file being ingested. */
typedef struct ingest
{
	const char *path;
	const char *buf;
	size_t		len;
	size_t		pos;
	size_t		released;		/* pages before this offset were released */
	json_tokener *tok;
	json_object *top;			/* the top-level fields ("runs": null) */
	int64_t		nruns;
	int64_t		npass;
	int64_t		first_sec;		/* earliest started_at */
	int32_t		first_nsec;
	const char *run_id;
	copy_writer *copy;			/* the COPY of its runs, streamed */
	buf			row;			/* the run being formatted */
	buf			str;			/* the string value just decoded (plain_string) */
	char	  **seen;			/* run ids read so far: open addressing */
	size_t		seen_cap;
} ingest;

/* FNV-1a */
static uint64_t
hash_str(const char *s)
{
	uint64_t	h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 1099511628211ULL;
	return h;
}

/* Remember a run id; false if it was seen before (Coder's runs object cannot repeat a key). */
static bool
first_time(ingest *in, const char *key)
{
	size_t		i;

	if (2 * ((size_t) in->nruns + 1) > in->seen_cap)
	{
		size_t		cap = in->seen_cap ? in->seen_cap * 2 : 1024;
		char	  **grown = calloc(cap, sizeof(char *));

		if (grown == NULL)
			return true;		/* the primary key still catches a repeat */
		for (size_t k = 0; k < in->seen_cap; k++)
			if (in->seen[k])
			{
				for (i = hash_str(in->seen[k]) & (cap - 1); grown[i]; i = (i + 1) & (cap - 1))
					;
				grown[i] = in->seen[k];
			}
		free(in->seen);
		in->seen = grown;
		in->seen_cap = cap;
	}
	for (i = hash_str(key) & (in->seen_cap - 1); in->seen[i]; i = (i + 1) & (in->seen_cap - 1))
		if (strcmp(in->seen[i], key) == 0)
			return false;
	in->seen[i] = strdup(key);
	return true;
}

static int
syntax(ingest *in, size_t at, const char *what)
{
	int			lineno,
				col;

	if (at >= in->len)
		return bad(in->path, "malformed JSON: the file ends in the middle of the document (truncated?)");
	position(in->buf, at, &lineno, &col);
	return bad(in->path, "malformed JSON at line %d, column %d: %s", lineno, col, what);
}

static void
skip_ws(ingest *in)
{
	while (in->pos < in->len && (in->buf[in->pos] == ' ' || in->buf[in->pos] == '\n' ||
								 in->buf[in->pos] == '\r' || in->buf[in->pos] == '\t'))
		in->pos++;
}

/* Skip whitespace; true (and step over it) if the next character is c. */
static bool
next_is(ingest *in, char c)
{
	skip_ws(in);
	if (in->pos < in->len && in->buf[in->pos] == c)
	{
		in->pos++;
		return true;
	}
	return false;
}

/* One JSON value by json-c (*out is NULL for null); bounded_value checks it first. */
static int
value(ingest *in, json_object **out)
{
	enum json_tokener_error err;

	skip_ws(in);
	if (in->pos >= in->len)
		return syntax(in, in->len, "");
	json_tokener_reset(in->tok);
	/* json-c takes an int length; one value is never near 2 GB, the file may be */
	*out = json_tokener_parse_ex(in->tok, in->buf + in->pos,
								 (int) (in->len - in->pos > INT_MAX ? INT_MAX : in->len - in->pos));
	err = json_tokener_get_error(in->tok);
	if (err == json_tokener_continue)
		return syntax(in, in->len, "");
	if (err != json_tokener_success)
		return syntax(in, in->pos + json_tokener_get_parse_end(in->tok), json_tokener_error_desc(err));
	in->pos += json_tokener_get_parse_end(in->tok);
	return EXIT_OK;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms, surrogates, > U+10FFFF), or 0. */
static size_t
utf8_len(const unsigned char *s, size_t avail)
{
	unsigned char lo = 0x80,
				hi = 0xBF;
	size_t		n;

	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3, lo = s[0] == 0xE0 ? 0xA0 : 0x80, hi = s[0] == 0xED ? 0x9F : 0xBF;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4, lo = s[0] == 0xF0 ? 0x90 : 0x80, hi = s[0] == 0xF4 ? 0x8F : 0xBF;
	else
		return 0;
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t k = 2; k < n; k++)
		if (s[k] < 0x80 || s[k] > 0xBF)
			return 0;
	return n;
}

/* The code unit of the \uXXXX escape at s (s[0] is the backslash), or -1. */
static long
escape_unit(const char *s, size_t avail)
{
	char		hex[5];
	char	   *end;
	long		u;

	if (avail < 6 || s[1] != 'u')
		return -1;
	memcpy(hex, s + 2, 4);
	hex[4] = '\0';
	u = strtol(hex, &end, 16);
	return *end == '\0' && hex[0] != '-' && hex[0] != '+' && hex[0] != ' ' ? u : -1;
}

/* Bytes of the decoded string json-c makes of the escape at s; *step: its length in the file. */
static size_t
escape_bytes(const char *s, size_t avail, size_t *step)
{
	long		u = escape_unit(s, avail),
				lo;

	*step = 2;
	if (u < 0)
		return 1;				/* \n, \" ...; a bad escape is json-c's to report */
	*step = 6;
	if (u >= 0xD800 && u <= 0xDBFF && (lo = escape_unit(s + 6, avail - 6)) >= 0xDC00 && lo <= 0xDFFF)
	{
		*step = 12;
		return 4;
	}
	/* an unpaired surrogate becomes U+FFFD (3 bytes) */
	return u < 0x80 ? 1 : u < 0x800 ? 2 : 3;
}

/*
 * Check the string at in->pos (its opening quote) without parsing it: at
 * most limit bytes once decoded, valid UTF-8, no raw control character.
 * Returns NULL if it is fine (a bad escape or a missing closing quote is
 * left to json-c, which then reads no further than this did), else what is
 * wrong with *at its offset in the file.
 */
static const char *
scan_string(const ingest *in, size_t limit, size_t *at)
{
	const unsigned char *b = (const unsigned char *) in->buf;
	size_t		i = in->pos + 1,
				n = 0;

	for (;;)
	{
		size_t		from = i,
					stop = in->len - i > limit - n ? i + (limit - n) + 1 : in->len,
					step = 1,
					bytes = 1;

		/* plain ASCII, the bulk of any log, in one tight loop (to one byte past the limit) */
		while (i < stop && b[i] >= 0x20 && b[i] < 0x80 && b[i] != '"' && b[i] != '\\')
			i++;
		n += i - from;
		*at = i;
		if (n > limit)
			return "too long";
		if (i >= in->len || b[i] == '"')
			return NULL;
		if (b[i] == '\\')
			bytes = escape_bytes(in->buf + i, in->len - i, &step);
		else if (b[i] < 0x20)
			return "an unescaped control character";
		else if ((step = bytes = utf8_len(b + i, in->len - i)) == 0)
			return "invalid UTF-8";
		n += bytes;
		if (n > limit)
			return "too long";
		i += step;
	}
}

/* Append code point U (at most U+10FFFF, not a surrogate) as UTF-8. */
static void
put_utf8(buf *d, long u)
{
	char		c[4];
	size_t		n;

	if (u < 0x80)
		c[0] = (char) u, n = 1;
	else if (u < 0x800)
		c[0] = (char) (0xC0 | u >> 6), c[1] = (char) (0x80 | (u & 0x3F)), n = 2;
	else if (u < 0x10000)
		c[0] = (char) (0xE0 | u >> 12), c[1] = (char) (0x80 | ((u >> 6) & 0x3F)),
			c[2] = (char) (0x80 | (u & 0x3F)), n = 3;
	else
		c[0] = (char) (0xF0 | u >> 18), c[1] = (char) (0x80 | ((u >> 12) & 0x3F)),
			c[2] = (char) (0x80 | ((u >> 6) & 0x3F)), c[3] = (char) (0x80 | (u & 0x3F)), n = 4;
	buf_put(d, c, n);
}

/* The \uXXXX escape (or surrogate pair) at b[*i] decoded; -1 for one json-c would refuse or change. */
static long
unicode_escape(const ingest *in, size_t *i)
{
	long		u = escape_unit(in->buf + *i, in->len - *i),
				lo;

	if (u <= 0 || (u >= 0xDC00 && u <= 0xDFFF))
		return -1;				/* \u0000 (get_string says so), a lone low surrogate */
	*i += 6;
	if (u < 0xD800 || u > 0xDBFF)
		return u;
	lo = escape_unit(in->buf + *i, in->len - *i);
	if (lo < 0xDC00 || lo > 0xDFFF)
		return -1;
	*i += 6;
	return 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
}

/*
 * The string at in->pos (its opening quote) decoded into in->str in one
 * pass, as json-c would decode it, when it is plain: at most LIMIT bytes,
 * valid UTF-8, no raw control character, no escape json-c refuses or
 * changes.  True moves in->pos past it; false leaves in->pos where it was,
 * for check_size and json-c to say what is wrong.  (The bulk of a file is
 * strings: this spares json-c's second pass over each.)
 */
static bool
plain_string(ingest *in, size_t limit)
{
	static const char escapes[] = "\"\\/bfnrt";
	static const char decoded[] = "\"\\/\b\f\n\r\t";
	const unsigned char *b = (const unsigned char *) in->buf;
	size_t		i = in->pos + 1;
	buf		   *d = &in->str;

	buf_reset(d);
	while (i < in->len && d->len <= limit)
	{
		size_t		from = i,
					stop = in->len - i > limit - d->len ? i + (limit - d->len) + 1 : in->len,
					n;
		const char *e;
		long		u;

		/* to one byte past the limit at most: a huge value costs no memory */
		while (i < stop && b[i] >= 0x20 && b[i] < 0x80 && b[i] != '"' && b[i] != '\\')
			i++;
		buf_put(d, b + from, i - from);
		if (i >= in->len || d->len > limit)
			return false;
		if (b[i] == '"')
		{
			in->pos = i + 1;
			return true;
		}
		if (b[i] == '\\' && i + 1 < in->len && b[i + 1] && (e = strchr(escapes, b[i + 1])) != NULL)
		{
			buf_putc(d, decoded[e - escapes]);
			i += 2;
		}
		else if (b[i] == '\\')
		{
			if ((u = unicode_escape(in, &i)) < 0)
				return false;
			put_utf8(d, u);
		}
		else if (b[i] < 0x20 || (n = utf8_len(b + i, in->len - i)) == 0)
			return false;
		else
		{
			buf_put(d, b + i, n);
			i += n;
		}
	}
	return false;
}

/* "16 MiB" or "256 bytes" */
static const char *
size_text(size_t n, char *buf, size_t size)
{
	if (n >= 1024 * 1024 && n % (1024 * 1024) == 0)
		snprintf(buf, size, "%zu MiB", n / (1024 * 1024));
	else
		snprintf(buf, size, "%zu bytes", n);
	return buf;
}

/* A string or a number/literal at in->pos within limit; else a message naming where and what. */
static int
check_size(ingest *in, const char *where, const char *what, size_t limit)
{
	const char *why;
	size_t		at = in->pos,
				end = in->pos;
	char		lim[32];
	int			lineno,
				col;

	if (in->buf[in->pos] == '"')
		why = scan_string(in, limit, &at);
	else
	{
		while (end < in->len && end - in->pos <= SHORT_LIMIT &&
			   (isalnum((unsigned char) in->buf[end]) || strchr("+-.", in->buf[end])) && in->buf[end])
			end++;
		why = end - in->pos > SHORT_LIMIT ? "too long" : NULL;
		limit = SHORT_LIMIT;
	}
	if (why == NULL)
		return EXIT_OK;
	if (strcmp(why, "too long") == 0)
	{
		position(in->buf, in->pos, &lineno, &col);
		return bad(in->path, "%s: %s at line %d, column %d is longer than the limit of %s",
				   where, what, lineno, col, size_text(limit, lim, sizeof(lim)));
	}
	position(in->buf, at, &lineno, &col);
	return bad(in->path, "%s: %s in %s at line %d, column %d", where, why, what, lineno, col);
}

/* What the next value is, from its first character (for refusing an object or array unread); NULL for a scalar. */
static const char *
container(ingest *in)
{
	skip_ws(in);
	if (in->pos < in->len && in->buf[in->pos] == '{')
		return "an object";
	if (in->pos < in->len && in->buf[in->pos] == '[')
		return "an array";
	return NULL;
}

/* The value of field f (a scalar, checked before json-c reads it). */
static int
bounded_value(ingest *in, const char *where, const field *f, json_object **out)
{
	const char *c = container(in);
	int			rc;

	if (in->pos >= in->len)
		return syntax(in, in->len, "");
	if (c)
		return bad(in->path, "%s: expected %s, found %s", where, f->type, c);
	if (in->buf[in->pos] == '"' && plain_string(in, f->limit))
	{
		*out = json_object_new_string_len(in->str.data, (int) in->str.len);
		return EXIT_OK;
	}
	if ((rc = check_size(in, where, "the value", f->limit)) != EXIT_OK)
		return rc;
	return value(in, out);
}

/* The type of a value that is not what it should be, read (boundedly) past it; NULL after a message. */
static const char *
wrong_type(ingest *in, const char *where)
{
	static const field any = {"", "", SHORT_LIMIT};
	const char *c = container(in);
	json_object *v = NULL;

	if (c)
		return c;
	if (in->pos < in->len && in->buf[in->pos] == '"')
		return "a string";
	if (bounded_value(in, where, &any, &v) != EXIT_OK)
		return NULL;
	c = type_name(v);
	json_object_put(v);
	return c;
}

/* A field name (at most NAME_LIMIT bytes) and its colon; *key is malloc'd. */
static int
field_name(ingest *in, const char *where, const char *what, char **key)
{
	json_object *k = NULL;
	int			rc;

	skip_ws(in);
	if (in->pos < in->len && in->buf[in->pos] != '"')
		return syntax(in, in->pos, "expected a field name in double quotes");
	if (in->pos < in->len && plain_string(in, NAME_LIMIT))
		*key = strdup(in->str.data);
	else
	{
		if (in->pos < in->len && (rc = check_size(in, where, what, NAME_LIMIT)) != EXIT_OK)
			return rc;
		if ((rc = value(in, &k)) != EXIT_OK)
			return rc;
		*key = strdup(json_object_get_string(k));
		json_object_put(k);
	}
	if (!next_is(in, ':'))
	{
		free(*key);
		return syntax(in, in->pos, "expected ':' after a field name");
	}
	return EXIT_OK;
}

/* After a member: ',' (returns 1), '}' (returns 0), else an error (< 0 after printing). */
static int
member_end(ingest *in)
{
	if (next_is(in, ','))
		return 1;
	if (next_is(in, '}'))
		return 0;
	syntax(in, in->pos, "expected ',' or '}'");
	return -1;
}

/*
 * One run object, member by member: json-c would keep the last of two
 * equal fields ("error":"...","error":"<nil>" would be a pass), so each
 * field is read here, refused if unknown or repeated, and bounded before
 * json-c parses its value.  *run is the caller's to free.
 */
static int
read_run(ingest *in, const char *key, json_object **run)
{
	char		where[300];
	const char *type;
	int			more,
				rc;

	snprintf(where, sizeof(where), "runs[\"%.256s\"]", key);
	skip_ws(in);
	if (in->pos >= in->len)
		return syntax(in, in->len, "");
	if (in->buf[in->pos] != '{')
	{
		if ((type = wrong_type(in, where)) == NULL)
			return EXIT_USAGE;
		return bad(in->path, "%s: expected an object, found %s", where, type);
	}
	in->pos++;
	*run = json_object_new_object();
	if (next_is(in, '}'))
		return EXIT_OK;
	do
	{
		char	   *name = NULL,
					fwhere[320];
		const field *f;
		json_object *v = NULL;

		if ((rc = field_name(in, where, "a field name", &name)) != EXIT_OK)
			return rc;
		snprintf(fwhere, sizeof(fwhere), "%s.%s", where, name);
		if ((f = find_field(run_fields, name)) == NULL)
			rc = bad(in->path, "%s: unexpected field \"%s\"", where, name);
		else if (json_object_object_get_ex(*run, name, NULL))
			rc = bad(in->path, "%s: duplicate field \"%s\"", where, name);
		else if ((rc = bounded_value(in, fwhere, f, &v)) == EXIT_OK)
			json_object_object_add(*run, name, v);
		free(name);
		if (rc != EXIT_OK)
			return rc;
	} while ((more = member_end(in)) == 1);
	return more == 0 ? EXIT_OK : EXIT_USAGE;
}

/*
 * The phases a result file's logs can show: the first INGEST_PHASES of
 * categories.h (the command and the cleanup leave no trace in them).
 */
#define INGEST_PHASES (T_AGENTS + 1)

/* COPY of run_result, its phase columns named by categories.h in its order. */
static const char *
copy_sql(void)
{
	static char sql[512];

	if (sql[0] == '\0')
	{
		size_t		n = snprintf(sql, sizeof(sql), "COPY coder_scale.run_result (run_id, full_id, workspace_name,"
								 " user_name, started_at, finished_at, duration");

		for (int p = 0; p < INGEST_PHASES; p++)
			n += snprintf(sql + n, sizeof(sql) - n, ", %s", phase_name(p));
		snprintf(sql + n, sizeof(sql) - n, ", outcome, failure_category, error, logs) FROM STDIN");
	}
	return sql;
}

static void
copy_run(ingest *in, const result *r)
{
	buf		   *c = &in->row;
	run_phases	ph;
	char		t[64];

	runlog_phases(r->logs, r->logs_len, &ph);
	buf_reset(c);
	buf_copy_text(c, in->run_id);
	buf_copy_text(c, r->full_id);
	buf_copy_text(c, ph.workspace_name[0] ? ph.workspace_name : NULL);
	buf_copy_text(c, ph.user_name[0] ? ph.user_name : NULL);
	buf_copy_text(c, format_pg_utc(r->start_sec, r->start_nsec, 0, t, sizeof(t)));
	buf_copy_text(c, format_pg_utc(r->start_sec, r->start_nsec, r->duration_ns, t, sizeof(t)));
	copy_ns(c, r->duration_ns);
	for (int p = 0; p < INGEST_PHASES; p++)
		copy_ms(c, ph.ms[p]);
	buf_copy_text(c, r->error ? "fail" : "pass");
	/* a placeholder: classify_failure() sets the category after the COPY */
	buf_copy_text(c, r->error ? "other" : NULL);
	buf_copy_text(c, r->error);
	buf_copy_textn(c, r->logs, r->logs_len);
	buf_copy_end_row(c);
	cw_stream_rows(in->copy, c);
}

/* The runs object: validate and COPY each run. */
static int
stream_runs(ingest *in)
{
	const char *type;
	int			more,
				rc;

	skip_ws(in);
	if (in->pos < in->len && in->buf[in->pos] != '{')
	{
		if ((type = wrong_type(in, "runs")) == NULL)
			return EXIT_USAGE;
		return bad(in->path, "runs: expected an object keyed by run id, found %s", type);
	}
	if (!next_is(in, '{'))
		return syntax(in, in->pos, "");
	if (next_is(in, '}'))
		return EXIT_OK;
	do
	{
		char	   *key = NULL;
		json_object *o = NULL;
		result		r;

		if ((rc = field_name(in, "runs", "a run id", &key)) != EXIT_OK)
			return rc;
		if (!first_time(in, key))
			rc = bad(in->path, "runs: the run id \"%s\" appears twice", key);
		else if ((rc = read_run(in, key, &o)) == EXIT_OK && (rc = validate_run(in->path, key, o, &r)) == EXIT_OK)
		{
			copy_run(in, &r);
			in->nruns++;
			in->npass += r.error == NULL;
			if (in->nruns == 1 || r.start_sec < in->first_sec ||
				(r.start_sec == in->first_sec && r.start_nsec < in->first_nsec))
				in->first_sec = r.start_sec, in->first_nsec = r.start_nsec;
		}
		json_object_put(o);
		free(key);
		if (rc != EXIT_OK)
			return rc;
		if (in->pos - in->released > RELEASE_EVERY)
			release_pages(in->buf, in->released = in->pos);
		if (cw_stream_failed(in->copy))
			return EXIT_INTERNAL;
	} while ((more = member_end(in)) == 1);
	return more == 0 ? EXIT_OK : EXIT_USAGE;
}

/* One top-level field: unknown or repeated ones are refused before their value is read. */
static int
top_field(ingest *in)
{
	char	   *key = NULL,
				where[300];
	const field *f;
	json_object *v = NULL;
	int			rc;

	if ((rc = field_name(in, "top level", "a field name", &key)) != EXIT_OK)
		return rc;
	snprintf(where, sizeof(where), "top level.%s", key);
	if ((f = find_field(top_fields, key)) == NULL)
		rc = bad(in->path, "top level: unexpected field \"%s\"", key);
	else if (json_object_object_get_ex(in->top, key, NULL))
		rc = bad(in->path, "top level: duplicate field \"%s\"", key);
	else if (strcmp(key, "runs") == 0)
		rc = stream_runs(in);
	else
		rc = bounded_value(in, where, f, &v);
	if (rc == EXIT_OK)
		json_object_object_add(in->top, key, v);
	free(key);
	return rc;
}

/* The whole document: the top-level object, its fields, nothing after it. */
static int
stream_document(ingest *in)
{
	const char *type;
	int			more,
				rc;

	skip_ws(in);
	if (in->pos < in->len && in->buf[in->pos] != '{')
	{
		if ((type = wrong_type(in, "top level")) == NULL)
			return EXIT_USAGE;
		return bad(in->path, "expected a JSON object at the top level, found %s", type);
	}
	if (!next_is(in, '{'))
		return syntax(in, in->pos, "");
	if (!next_is(in, '}'))
	{
		do
		{
			if ((rc = top_field(in)) != EXIT_OK)
				return rc;
		} while ((more = member_end(in)) == 1);
		if (more < 0)
			return EXIT_USAGE;
	}
	skip_ws(in);
	if (in->pos < in->len)
	{
		int			lineno,
					col;

		position(in->buf, in->pos, &lineno, &col);
		return bad(in->path, "malformed JSON: unexpected data after the document at line %d, column %d", lineno, col);
	}
	return EXIT_OK;
}

/* The top-level fields, and the totals against the runs read. */
static int
check_totals(ingest *in, int64_t *elapsed_ns)
{
	int64_t		total_runs,
				total_pass,
				total_fail,
				elapsed_ms;
	const char *elapsed;
	int			rc;

	if ((rc = check_keys(in->path, "top level", in->top, top_fields)) != EXIT_OK ||
		(rc = get_int(in->path, "top level", in->top, "total_runs", &total_runs)) != EXIT_OK ||
		(rc = get_int(in->path, "top level", in->top, "total_pass", &total_pass)) != EXIT_OK ||
		(rc = get_int(in->path, "top level", in->top, "total_fail", &total_fail)) != EXIT_OK ||
		(rc = get_int(in->path, "top level", in->top, "elapsed_ms", &elapsed_ms)) != EXIT_OK ||
		(rc = get_duration(in->path, "top level", in->top, "elapsed", elapsed_ns)) != EXIT_OK ||
		(rc = get_string(in->path, "top level", in->top, "elapsed", &elapsed, NULL)) != EXIT_OK)
		return rc;
	if (elapsed_ms != *elapsed_ns / 1000000)
		return bad(in->path, "elapsed_ms %" PRId64 " disagrees with elapsed \"%s\"", elapsed_ms, elapsed);
	if (total_runs != in->nruns)
		return bad(in->path, "total_runs is %" PRId64 " but the file holds %" PRId64 " runs", total_runs, in->nruns);
	if (total_pass != in->npass)
		return bad(in->path, "total_pass is %" PRId64 " but %" PRId64 " runs passed (error \"<nil>\")", total_pass, in->npass);
	if (total_fail != in->nruns - in->npass)
		return bad(in->path, "total_fail is %" PRId64 " but %" PRId64 " runs failed", total_fail, in->nruns - in->npass);
	return EXIT_OK;
}

/* ---------------------------------------------------------------------------
 * One file, one transaction
 * ------------------------------------------------------------------------- */

/* Classify the failures (in SQL: one place), set the run's times, commit. */
static int
finish_run(PGconn *conn, ingest *in, time_t mtime, int64_t elapsed_ns)
{
	char		started[64],
				finished[64],
				count[24];
	const char *params[4];
	int64_t		sec = in->nruns > 0 ? in->first_sec : (int64_t) mtime - elapsed_ns / 1000000000;
	int32_t		nsec = in->nruns > 0 ? in->first_nsec : 0;
	pg_error	e;
	PGresult   *r;

	/* the run started with its first workspace run (or: the file was written when it ended) */
	format_pg_utc(sec, nsec, 0, started, sizeof(started));
	format_pg_utc(sec, nsec, elapsed_ns, finished, sizeof(finished));
	snprintf(count, sizeof(count), "%" PRId64, in->nruns);
	params[0] = in->run_id;
	params[1] = started;
	params[2] = finished;
	params[3] = in->nruns > 0 ? count : NULL;
	r = pg_query(conn,
				 "WITH f AS (UPDATE coder_scale.run_result "
				 "  SET failure_category = coalesce(coder_scale.classify_failure(error, logs), 'other') "
				 "  WHERE run_id = $1::bigint AND outcome = 'fail' RETURNING 1) "
				 "UPDATE coder_scale.run SET started_at = $2, finished_at = $3, count = $4::int "
				 "WHERE id = $1::bigint AND (SELECT count(*) FROM f) >= 0",
				 4, params, &e);
	PQclear(r);
	if (r == NULL || !pg_exec(conn, "COMMIT", &e))
	{
		pg_report("ingest", in->path, &e);
		return pg_exit_code(&e);
	}
	return EXIT_OK;
}

/* Start the file's run: BEGIN, the run row, the COPY of its results. */
static int
start_run(PGconn *conn, ingest *in, const char *sha, const ingest_opts *o, char run_id[24])
{
	runrow_info info = {
		.kind = "ingest", .status = "completed", .label = o->label,
		.tags_json = json_object_to_json_string_ext(o->tags, JSON_C_TO_STRING_PLAIN),
		.source_file = in->path, .source_sha256 = sha
	};
	long long	id;
	pg_error	e;

	/* started_at is a placeholder until the runs are read */
	if (!pg_exec(conn, "BEGIN", &e) || !runrow_insert(conn, &info, &id, &e))
	{
		pg_rollback(conn);
		if (strcmp(e.sqlstate, "23505") == 0)
		{
			char	   *stored = stored_as(conn, sha);

			printf("%s: already ingested as run %s\n", in->path, stored ? stored : "?");
			free(stored);
			return -1;
		}
		pg_report("ingest", in->path, &e);
		return pg_exit_code(&e);
	}
	snprintf(run_id, 24, "%lld", id);
	in->run_id = run_id;
	in->copy = cw_stream_start(conn, copy_sql(), &e);
	if (in->copy == NULL)
	{
		pg_rollback(conn);
		pg_report("ingest", in->path, &e);
		return pg_exit_code(&e);
	}
	return EXIT_OK;
}

/*
 * End the COPY of the file's runs (aborted when the file was bad, RC);
 * the exit code.  A value the server refused (class 22 data, 23 integrity)
 * is bad input.
 */
static int
end_copy(ingest *in, int rc)
{
	bool		send_failed = cw_stream_failed(in->copy);
	pg_error	e;

	if (cw_stream_end(in->copy, rc == EXIT_OK && !send_failed ? NULL : "the input file is bad", NULL, &e))
		return rc;
	if (rc != EXIT_OK && !send_failed)
		return rc;				/* the file's fault, said already */
	pg_report("ingest", in->path, &e);
	return pg_class(&e, "22") || pg_class(&e, "23") ? EXIT_USAGE : pg_exit_code(&e);
}

static int
store(PGconn *conn, const char *path, const char *buf, size_t len, const char *sha, time_t mtime,
	  const ingest_opts *o)
{
	ingest		in;
	char		run_id[24];
	int64_t		elapsed_ns = 0;
	int			rc;

	memset(&in, 0, sizeof(in));
	in.path = path;
	in.buf = buf;
	in.len = len;
	in.tok = json_tokener_new_ex(64);
	in.top = json_object_new_object();
	/* strict inside each value; what follows a value is checked here */
	json_tokener_set_flags(in.tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS | JSON_TOKENER_VALIDATE_UTF8);
	rc = start_run(conn, &in, sha, o, run_id);
	if (rc == EXIT_OK)
	{
		rc = stream_document(&in);
		if (rc == EXIT_OK)
			rc = check_totals(&in, &elapsed_ns);
		rc = end_copy(&in, rc);
		if (rc == EXIT_OK)
			rc = finish_run(conn, &in, mtime, elapsed_ns);
		if (rc != EXIT_OK)
		{
			pg_rollback(conn);
			cli_error("%s: nothing of it was stored", path);
		}
		else
		{
			char	   *line = runrow_summary(conn, strtoll(run_id, NULL, 10));

			printf("%s: ingested as run %s: %s\n", path, run_id, line ? line : "");
			free(line);
		}
	}
	else if (rc < 0)
		rc = EXIT_OK;			/* already stored (found by the insert) */
	buf_free(&in.row);
	buf_free(&in.str);
	json_tokener_free(in.tok);
	json_object_put(in.top);
	for (size_t k = 0; k < in.seen_cap; k++)
		free(in.seen[k]);
	free(in.seen);
	return rc;
}

static int
ingest_file(PGconn **conn, const char *path, const ingest_opts *o)
{
	size_t		len = 0;
	time_t		mtime = 0;
	int			rc = EXIT_OK;
	char		sha[65];
	const char *buf = map_file(path, &len, &mtime, &rc);
	char	   *id;

	if (buf == NULL)
		return rc;
	if (!sha256_hex(buf, len, sha))
		rc = bad(path, "cannot compute its SHA-256");
	else
	{
		if (*conn == NULL)
		{
			*conn = pg_connect_or_exit(o->conninfo, "ingest");
			pg_require_extension(*conn, "ingest");
		}
		if ((id = stored_as(*conn, sha)) != NULL)
		{
			printf("%s: already ingested as run %s\n", path, id);
			free(id);
		}
		else
			rc = store(*conn, path, buf, len, sha, mtime, o);
	}
	unmap_file(buf, len);
	return rc;
}

int
cmd_ingest(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"label", required_argument, NULL, 'l'},
		{"tag", required_argument, NULL, 't'},
		{"db", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	ingest_opts o = {NULL, NULL, json_object_new_object()};
	PGconn	   *conn = NULL;
	int			c,
				rc = EXIT_OK;

	optind = 1;
	flags_command("ingest");
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'l':
				o.label = optarg;
				break;
			case 't':
				if (!flag_tag("--tag", optarg, o.tags))
					return EXIT_USAGE;
				break;
			case 'd':
				o.conninfo = optarg;
				break;
			case 'h':
				usage(stdout);
				return EXIT_OK;
			default:
				usage(stderr);
				return EXIT_USAGE;
		}
	}
	if (optind >= argc)
	{
		cli_error("ingest: no FILE given");
		usage(stderr);
		return EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++)
	{
		int			frc = ingest_file(&conn, argv[i], &o);

		if (frc > rc)
			rc = frc;
	}
	PQfinish(conn);
	json_object_put(o.tags);
	return rc;
}
