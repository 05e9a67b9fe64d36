/*
 * results.c: the text and JSON result writers of Coder's harness, byte for
 * byte.  Followed: coder/coder scaletest/harness/results.go (PrintText, the
 * Results and RunResult fields in their order, RunResult.MarshalJSON's
 * "error" as fmt.Sprintf("%+v", err)), its cases in results_test.go, and
 * cli/exp_scaletest.go scaleTestOutput.write (json.NewEncoder(w).Encode:
 * compact, one line, a newline after it).  Go's encoding/json string
 * escaping (encode.go appendString, Go 1.22 and later: HTML-safe) and
 * time.Time.MarshalJSON (RFC 3339 with nanoseconds, in the local zone) are
 * reproduced below; durations are codersdk.Duration, whose JSON is the
 * string of Go's Duration.String() ("elapsed": "1s" in results_test.go).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/goduration.h"
#include "results.h"

void
results_init(results *res, int64_t elapsed_ns)
{
	memset(res, 0, sizeof(*res));
	res->elapsed_ns = elapsed_ns;
}

void
results_add(results *res, const char *test_name, const char *id, const char *logs,
			const char *error, const struct timespec *started_at, int64_t duration_ns)
{
	result_run *r;

	if (res->nruns == res->cap)
	{
		res->cap = res->cap ? res->cap * 2 : 16;
		res->runs = realloc(res->runs, sizeof(result_run) * res->cap);
		if (!res->runs)
			cli_out_of_memory("the results");
	}
	r = &res->runs[res->nruns++];
	memset(r, 0, sizeof(*r));
	snprintf(r->full_id, sizeof(r->full_id), "%s/%s", test_name, id);
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->test_name = test_name;
	r->logs = logs;
	r->error = error;
	if (started_at)
		r->started_at = *started_at;
	r->duration_ns = duration_ns;
	res->total_runs++;
	if (error)
		res->total_fail++;
	else
		res->total_pass++;
}

void
results_add_record(results *res, const run_record *r)
{
	char		id[24];

	snprintf(id, sizeof(id), "%d", r->idx);
	results_add(res, "workspacebuild", id, r->logs, r->error, &r->started_wall, r->duration_us * 1000);
}

void
results_free(results *res)
{
	free(res->runs);
	memset(res, 0, sizeof(*res));
}

static int
cmp_full_id(const void *a, const void *b)
{
	const result_run *ra = *(const result_run * const *) a;
	const result_run *rb = *(const result_run * const *) b;

	return strcmp(ra->full_id, rb->full_id);
}

/* The runs sorted by full id, as Go sorts the keys of a map[string] (bytewise); free() it. */
static const result_run **
sorted_runs(const results *res)
{
	const result_run **v = malloc(sizeof(result_run *) * (res->nruns + 1));

	if (!v)
		cli_out_of_memory("the results");
	for (int i = 0; i < res->nruns; i++)
		v[i] = &res->runs[i];
	qsort(v, res->nruns, sizeof(result_run *), cmp_full_id);
	return v;
}

/* ---------- text: Results.PrintText ---------- */

/*
 * The log lines of a failed run, each "\t\t" and the line with its newline.
 * PrintText reads them with bufio ReadBytes('\n') and stops at EOF, so a
 * last line without a newline is not printed.
 */
static void
print_log_lines(FILE *f, const char *logs)
{
	const char *p = logs ? logs : "";
	const char *nl;

	while ((nl = strchr(p, '\n')) != NULL)
	{
		fputs("\t\t", f);
		fwrite(p, 1, (size_t) (nl - p) + 1, f);
		p = nl + 1;
	}
}

void
results_print_text(FILE *f, const results *res)
{
	const result_run **v = sorted_runs(res);
	int64_t		total_ns = 0;
	char		d[64];

	for (int i = 0; i < res->nruns; i++)
	{
		total_ns += v[i]->duration_ns;
		if (!v[i]->error)
			continue;
		fprintf(f, "\n== FAIL: %s\n\n", v[i]->full_id);
		fprintf(f, "\tError: %s\n\n", v[i]->error);
		fputs("\tLog:\n", f);
		print_log_lines(f, v[i]->logs);
	}
	free(v);
	fputs("\n\nTest results:\n", f);
	if (res->total_runs == 0)
	{
		fputs("\tNo tests run\n", f);
		return;
	}
	fprintf(f, "\tPass:  %d\n", res->total_pass);
	fprintf(f, "\tFail:  %d\n", res->total_fail);
	fprintf(f, "\tTotal: %d\n", res->total_runs);
	fputs("\n", f);
	fprintf(f, "\tTotal duration: %s\n", go_duration_format(res->elapsed_ns, d, sizeof(d)));
	/* time.Duration division: integer nanoseconds, truncated */
	fprintf(f, "\tAvg. duration:  %s\n", go_duration_format(total_ns / res->total_runs, d, sizeof(d)));
}

/* ---------- JSON: json.NewEncoder(w).Encode(results) ---------- */

/*
 * The length of the UTF-8 sequence at S as Go's utf8.DecodeRuneInString
 * accepts it (no overlong forms, no surrogates, nothing above U+10FFFF);
 * 0 when it is not valid (Go: RuneError, width 1).
 */
static int
utf8_len(const unsigned char *s)
{
	unsigned char lo = 0x80,
				hi = 0xBF;
	int			n;

	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
	{
		n = 3;
		if (s[0] == 0xE0)
			lo = 0xA0;
		else if (s[0] == 0xED)
			hi = 0x9F;
	}
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
	{
		n = 4;
		if (s[0] == 0xF0)
			lo = 0x90;
		else if (s[0] == 0xF4)
			hi = 0x8F;
	}
	else
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (int i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return n;
}

/*
 * S as a JSON string the way Go's encoding/json writes it with HTML
 * escaping on (the default of Marshal and of an Encoder): \" \\ \b \f \n
 * \r \t, other bytes below 0x20 and < > & as \u00xx (lowercase hex),
 * invalid UTF-8 as \ufffd (one per bad byte), U+2028 and U+2029 escaped.
 */
static void
json_go_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *) (str ? str : "");

	fputc('"', f);
	while (*s)
	{
		int			n;

		if (*s < 0x80)
		{
			switch (*s)
			{
				case '"':
					fputs("\\\"", f);
					break;
				case '\\':
					fputs("\\\\", f);
					break;
				case '\b':
					fputs("\\b", f);
					break;
				case '\f':
					fputs("\\f", f);
					break;
				case '\n':
					fputs("\\n", f);
					break;
				case '\r':
					fputs("\\r", f);
					break;
				case '\t':
					fputs("\\t", f);
					break;
				case '<':
				case '>':
				case '&':
					fprintf(f, "\\u00%02x", *s);
					break;
				default:
					if (*s < 0x20)
						fprintf(f, "\\u00%02x", *s);
					else
						fputc(*s, f);
			}
			s++;
			continue;
		}
		n = utf8_len(s);
		if (n == 0)
		{
			fputs("\\ufffd", f);
			s++;
		}
		else if (n == 3 && s[0] == 0xE2 && s[1] == 0x80 && (s[2] == 0xA8 || s[2] == 0xA9))
		{
			fprintf(f, "\\u202%c", s[2] == 0xA8 ? '8' : '9');
			s += 3;
		}
		else
		{
			fwrite(s, 1, (size_t) n, f);
			s += n;
		}
	}
	fputc('"', f);
}

/*
 * TS as Go's time.Time.MarshalJSON writes a time.Now(): RFC 3339 with
 * nanoseconds, trailing zeros trimmed (RFC3339Nano), in the local zone:
 * "Z" at offset zero, else +hh:mm (Go's Z07:00).
 */
static char *
go_time_json(const struct timespec *ts, char *buf, size_t size)
{
	struct tm	tm;
	char		frac[16] = "";
	char		zone[16] = "Z";
	int			off;

	localtime_r(&ts->tv_sec, &tm);
	if (ts->tv_nsec > 0)
	{
		int			n;

		snprintf(frac, sizeof(frac), ".%09d", (int) (ts->tv_nsec % 1000000000));
		for (n = (int) strlen(frac); frac[n - 1] == '0'; n--)
			frac[n - 1] = '\0';
	}
	off = (int) (tm.tm_gmtoff / 60);
	if (off != 0)
		snprintf(zone, sizeof(zone), "%c%02d:%02d", off < 0 ? '-' : '+', abs(off) / 60 % 100, abs(off) % 60);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%s%s", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac, zone);
	return buf;
}

/* A codersdk.Duration: the JSON string of Go's Duration.String(). */
static void
json_duration(FILE *f, int64_t ns)
{
	char		d[64];

	json_go_string(f, go_duration_format(ns, d, sizeof(d)));
}

/* One RunResult, its fields in their struct order with "error" last (MarshalJSON's alias). */
static void
json_run(FILE *f, const result_run *r)
{
	char		ts[64];

	fputs("{\"full_id\":", f);
	json_go_string(f, r->full_id);
	fputs(",\"test_name\":", f);
	json_go_string(f, r->test_name);
	fputs(",\"id\":", f);
	json_go_string(f, r->id);
	fputs(",\"logs\":", f);
	json_go_string(f, r->logs);
	fputs(",\"started_at\":", f);
	json_go_string(f, go_time_json(&r->started_at, ts, sizeof(ts)));
	fputs(",\"duration\":", f);
	json_duration(f, r->duration_ns);
	/* Duration.Milliseconds(): truncated */
	fprintf(f, ",\"duration_ms\":%lld,\"error\":", (long long) (r->duration_ns / 1000000));
	/* fmt.Sprintf("%+v", err): "<nil>" for a pass */
	json_go_string(f, r->error ? r->error : "<nil>");
	fputc('}', f);
}

void
results_write_json(FILE *f, const results *res)
{
	const result_run **v = sorted_runs(res);

	fprintf(f, "{\"total_runs\":%d,\"total_pass\":%d,\"total_fail\":%d,\"elapsed\":",
			res->total_runs, res->total_pass, res->total_fail);
	json_duration(f, res->elapsed_ns);
	fprintf(f, ",\"elapsed_ms\":%lld,\"runs\":{", (long long) (res->elapsed_ns / 1000000));
	for (int i = 0; i < res->nruns; i++)
	{
		if (i)
			fputc(',', f);
		json_go_string(f, v[i]->full_id);
		fputc(':', f);
		json_run(f, v[i]);
	}
	fputs("}}\n", f);
	free(v);
}
