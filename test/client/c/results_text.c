/*
 * results_text: hold the result writers (client/scaletest/results.c) to
 * the bytes Coder's harness writes, for 89i_results_format.sh.  Every
 * expected string below is derived from coder/coder's code, as each case
 * says: scaletest/harness/results.go (PrintText, RunResult.MarshalJSON),
 * its test scaletest/harness/results_test.go, cli/exp_scaletest.go
 * (json.NewEncoder(w).Encode: compact, one line), Go's encoding/json
 * string escaping (Go 1.22+), time.Time.MarshalJSON and Duration.String.
 * Prints "  ok - CASE" or "  not ok - CASE" with both texts escaped; exits 1
 * when a case failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scaletest/results.h"

static int	failures;

/* results.c's out-of-memory exit, which the program links without main.c. */
void
cli_out_of_memory(const char *what)
{
	fprintf(stderr, "out of memory (%s)\n", what);
	exit(4);
}

/* S with control bytes and backslashes escaped, for a diagnostic line. */
static void
show(const char *label, const char *s)
{
	printf("  #   %s: ", label);
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if (*p == '\n')
			fputs("\\n", stdout);
		else if (*p == '\t')
			fputs("\\t", stdout);
		else if (*p == '\\')
			fputs("\\\\", stdout);
		else if (*p < 0x20 || *p >= 0x7f)
			printf("\\x%02x", *p);
		else
			putchar(*p);
	}
	putchar('\n');
}

/* What WRITE wrote for RES, compared with WANT. */
static void
expect(const char *name, const results *res, void (*write) (FILE *, const results *), const char *want)
{
	char	   *got = NULL;
	size_t		len = 0;
	FILE	   *f = open_memstream(&got, &len);

	write(f, res);
	fclose(f);
	if (len == strlen(want) && memcmp(got, want, len) == 0)
		printf("  ok - %s\n", name);
	else
	{
		printf("  not ok - %s\n", name);
		show("want", want);
		show("got ", got);
		failures++;
	}
	free(got);
}

static void
set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* 2023-10-05T12:03:56Z plus MS milliseconds and NS nanoseconds. */
static struct timespec
at(long ms, long ns)
{
	struct timespec ts = {.tv_sec = 1696507436, .tv_nsec = 0};
	long		total = ms * 1000000 + ns;

	ts.tv_sec += total / 1000000000;
	ts.tv_nsec = total % 1000000000;
	return ts;
}

/*
 * Test_Results of results_test.go, as given there: 10 runs counted, 3
 * listed (test-0/0 failed, test-0/1 passed, test-0/2 failed), each 1s,
 * elapsed 1s.  The text is its wantText verbatim.  The JSON is its
 * wantJSON without SetIndent (the CLI's Encode is compact); test-0/0's
 * error there carries the xerrors stack frame that %+v prints, which a C
 * error string has not, so it reads as test-0/2's does.
 */
static void
case_results_test(void)
{
	results		res;
	struct timespec t0 = at(0, 395813665),
				t1 = at(333, 395813665),
				t2 = at(666, 395813665);

	set_tz("UTC");
	results_init(&res, 1000000000);
	results_add(&res, "test-0", "0", "test-0/0 log line 1\ntest-0/0 log line 2", "test-0/0 error", &t0, 1000000000);
	results_add(&res, "test-0", "1", "test-0/1 log line 1\ntest-0/1 log line 2", NULL, &t1, 1000000000);
	results_add(&res, "test-0", "2", "test-0/2 log line 1\ntest-0/2 log line 2", "test-0/2 error", &t2, 1000000000);
	res.total_runs = 10;
	res.total_pass = 8;
	res.total_fail = 2;
	expect("results_test.go: text", &res, results_print_text,
		   "\n== FAIL: test-0/0\n\n"
		   "\tError: test-0/0 error\n\n"
		   "\tLog:\n"
		   "\t\ttest-0/0 log line 1\n"
		   "\n== FAIL: test-0/2\n\n"
		   "\tError: test-0/2 error\n\n"
		   "\tLog:\n"
		   "\t\ttest-0/2 log line 1\n"
		   "\n\nTest results:\n"
		   "\tPass:  8\n"
		   "\tFail:  2\n"
		   "\tTotal: 10\n"
		   "\n"
		   "\tTotal duration: 1s\n"
		   "\tAvg. duration:  300ms\n");
	expect("results_test.go: json", &res, results_write_json,
		   "{\"total_runs\":10,\"total_pass\":8,\"total_fail\":2,\"elapsed\":\"1s\",\"elapsed_ms\":1000,\"runs\":{"
		   "\"test-0/0\":{\"full_id\":\"test-0/0\",\"test_name\":\"test-0\",\"id\":\"0\","
		   "\"logs\":\"test-0/0 log line 1\\ntest-0/0 log line 2\",\"started_at\":\"2023-10-05T12:03:56.395813665Z\","
		   "\"duration\":\"1s\",\"duration_ms\":1000,\"error\":\"test-0/0 error\"},"
		   "\"test-0/1\":{\"full_id\":\"test-0/1\",\"test_name\":\"test-0\",\"id\":\"1\","
		   "\"logs\":\"test-0/1 log line 1\\ntest-0/1 log line 2\",\"started_at\":\"2023-10-05T12:03:56.728813665Z\","
		   "\"duration\":\"1s\",\"duration_ms\":1000,\"error\":\"\\u003cnil\\u003e\"},"
		   "\"test-0/2\":{\"full_id\":\"test-0/2\",\"test_name\":\"test-0\",\"id\":\"2\","
		   "\"logs\":\"test-0/2 log line 1\\ntest-0/2 log line 2\",\"started_at\":\"2023-10-05T12:03:57.061813665Z\","
		   "\"duration\":\"1s\",\"duration_ms\":1000,\"error\":\"test-0/2 error\"}}}\n");
	results_free(&res);
}

/* PrintText with TotalRuns 0 prints "\tNo tests run" and stops; Results() always makes the map. */
static void
case_no_runs(void)
{
	results		res;

	results_init(&res, 0);
	expect("no runs: text", &res, results_print_text, "\n\nTest results:\n\tNo tests run\n");
	expect("no runs: json", &res, results_write_json,
		   "{\"total_runs\":0,\"total_pass\":0,\"total_fail\":0,\"elapsed\":\"0s\",\"elapsed_ms\":0,\"runs\":{}}\n");
	results_free(&res);
}

/*
 * Log lines as PrintText reads them (bufio ReadBytes('\n') until io.EOF):
 * each line ending in a newline is "\t\t" + line; a last line without one
 * is dropped; no logs print no lines; empty lines print "\t\t\n".  No blank
 * line after a FAIL block: the next one starts with "\n== FAIL".
 */
static void
case_logs(void)
{
	results		res;
	struct timespec t = at(0, 0);

	results_init(&res, 2000000000);
	results_add(&res, "a", "1", "first\nsecond", "e1", &t, 1000000000);
	results_add(&res, "a", "2", "one\ntwo\n", "e2", &t, 1000000000);
	results_add(&res, "a", "3", NULL, "e3", &t, 1000000000);
	results_add(&res, "a", "4", "\n\nlast", "e4", &t, 1000000000);
	results_add(&res, "a", "5", "passed\n", NULL, &t, 1000000000);
	expect("logs with and without a last newline: text", &res, results_print_text,
		   "\n== FAIL: a/1\n\n\tError: e1\n\n\tLog:\n\t\tfirst\n"
		   "\n== FAIL: a/2\n\n\tError: e2\n\n\tLog:\n\t\tone\n\t\ttwo\n"
		   "\n== FAIL: a/3\n\n\tError: e3\n\n\tLog:\n"
		   "\n== FAIL: a/4\n\n\tError: e4\n\n\tLog:\n\t\t\n\t\t\n"
		   "\n\nTest results:\n\tPass:  1\n\tFail:  4\n\tTotal: 5\n\n"
		   "\tTotal duration: 2s\n\tAvg. duration:  1s\n");
	results_free(&res);
}

/* A multi-line error: "\tError: %s\n\n" prints it as it is; JSON escapes its newline and tab. */
static void
case_multiline_error(void)
{
	results		res;
	struct timespec t = at(0, 0);

	set_tz("UTC");
	results_init(&res, 0);
	results_add(&res, "x", "0", "l\n", "wait for build: build failed\n\tdetail line", &t, 0);
	expect("multi-line error: text", &res, results_print_text,
		   "\n== FAIL: x/0\n\n\tError: wait for build: build failed\n\tdetail line\n\n\tLog:\n\t\tl\n"
		   "\n\nTest results:\n\tPass:  0\n\tFail:  1\n\tTotal: 1\n\n"
		   "\tTotal duration: 0s\n\tAvg. duration:  0s\n");
	expect("multi-line error: json", &res, results_write_json,
		   "{\"total_runs\":1,\"total_pass\":0,\"total_fail\":1,\"elapsed\":\"0s\",\"elapsed_ms\":0,\"runs\":{"
		   "\"x/0\":{\"full_id\":\"x/0\",\"test_name\":\"x\",\"id\":\"0\",\"logs\":\"l\\n\","
		   "\"started_at\":\"2023-10-05T12:03:56Z\",\"duration\":\"0s\",\"duration_ms\":0,"
		   "\"error\":\"wait for build: build failed\\n\\tdetail line\"}}}\n");
	results_free(&res);
}

/*
 * Durations as Go's Duration.String() prints them: below 1µs in ns, below
 * 1ms in µs (U+00B5), below 1s in ms, else h m s with the fraction trimmed;
 * Avg. is the sum over the runs divided by TotalRuns in whole nanoseconds,
 * truncated: (999 + 1500 + 12345678 + 12345500000000) / 4 = 3086378087044
 * = 51m26.378087044s.  duration_ms and elapsed_ms are Milliseconds(),
 * truncated.
 */
static void
case_durations(void)
{
	results		res;
	struct timespec t = at(0, 500000000);

	set_tz("UTC");
	results_init(&res, 7200LL * 1000000000);
	results_add(&res, "d", "0", "", NULL, &t, 999);
	results_add(&res, "d", "1", "", NULL, &t, 1500);
	results_add(&res, "d", "2", "", NULL, &t, 12345678);
	results_add(&res, "d", "3", "", NULL, &t, 12345500000000LL);
	expect("durations: text", &res, results_print_text,
		   "\n\nTest results:\n\tPass:  4\n\tFail:  0\n\tTotal: 4\n\n"
		   "\tTotal duration: 2h0m0s\n\tAvg. duration:  51m26.378087044s\n");
	expect("durations: json", &res, results_write_json,
		   "{\"total_runs\":4,\"total_pass\":4,\"total_fail\":0,\"elapsed\":\"2h0m0s\",\"elapsed_ms\":7200000,\"runs\":{"
		   "\"d/0\":{\"full_id\":\"d/0\",\"test_name\":\"d\",\"id\":\"0\",\"logs\":\"\",\"started_at\":\"2023-10-05T12:03:56.5Z\","
		   "\"duration\":\"999ns\",\"duration_ms\":0,\"error\":\"\\u003cnil\\u003e\"},"
		   "\"d/1\":{\"full_id\":\"d/1\",\"test_name\":\"d\",\"id\":\"1\",\"logs\":\"\",\"started_at\":\"2023-10-05T12:03:56.5Z\","
		   "\"duration\":\"1.5\xc2\xb5s\",\"duration_ms\":0,\"error\":\"\\u003cnil\\u003e\"},"
		   "\"d/2\":{\"full_id\":\"d/2\",\"test_name\":\"d\",\"id\":\"2\",\"logs\":\"\",\"started_at\":\"2023-10-05T12:03:56.5Z\","
		   "\"duration\":\"12.345678ms\",\"duration_ms\":12,\"error\":\"\\u003cnil\\u003e\"},"
		   "\"d/3\":{\"full_id\":\"d/3\",\"test_name\":\"d\",\"id\":\"3\",\"logs\":\"\",\"started_at\":\"2023-10-05T12:03:56.5Z\","
		   "\"duration\":\"3h25m45.5s\",\"duration_ms\":12345500,\"error\":\"\\u003cnil\\u003e\"}}}\n");
	results_free(&res);

	/* sub-microsecond runs: 10ns over 3 runs is 3ns (truncated), elapsed 1ns */
	results_init(&res, 1);
	results_add(&res, "n", "0", "", NULL, &t, 4);
	results_add(&res, "n", "1", "", NULL, &t, 3);
	results_add(&res, "n", "2", "", NULL, &t, 3);
	expect("sub-microsecond durations: text", &res, results_print_text,
		   "\n\nTest results:\n\tPass:  3\n\tFail:  0\n\tTotal: 3\n\n"
		   "\tTotal duration: 1ns\n\tAvg. duration:  3ns\n");
	results_free(&res);
}

/*
 * Go's encoding/json strings (HTML escaping on): \" \\ \b \f \n \r \t,
 * other controls and < > & as \u00xx, DEL and valid UTF-8 as they are,
 * U+2028/U+2029 escaped, each byte of invalid UTF-8 (a cut sequence, a
 * surrogate, an overlong form, a stray byte) as \ufffd.  Map keys sort as
 * bytes: workspacebuild/1 < workspacebuild/10 < workspacebuild/2, in the
 * text as in the JSON.
 */
static void
case_escaping_and_order(void)
{
	results		res;
	struct timespec t = at(0, 0);

	set_tz("UTC");
	results_init(&res, 0);
	results_add(&res, "workspacebuild", "2", "", "two", &t, 0);
	results_add(&res, "workspacebuild", "10",
				"q\" b\\ t\t r\r bs\b ff\f c\x01 <a>&b del\x7f ls\xe2\x80\xa8 ps\xe2\x80\xa9"
				" bad\xff cut\xe2\x82 e\xc3\xa9 sur\xed\xa0\x80 over\xc0\xaf end\n", "ten", &t, 0);
	results_add(&res, "workspacebuild", "1", "", "one", &t, 0);
	expect("byte order of ids: text", &res, results_print_text,
		   "\n== FAIL: workspacebuild/1\n\n\tError: one\n\n\tLog:\n"
		   "\n== FAIL: workspacebuild/10\n\n\tError: ten\n\n\tLog:\n"
		   "\t\tq\" b\\ t\t r\r bs\b ff\f c\x01 <a>&b del\x7f ls\xe2\x80\xa8 ps\xe2\x80\xa9"
		   " bad\xff cut\xe2\x82 e\xc3\xa9 sur\xed\xa0\x80 over\xc0\xaf end\n"
		   "\n== FAIL: workspacebuild/2\n\n\tError: two\n\n\tLog:\n"
		   "\n\nTest results:\n\tPass:  0\n\tFail:  3\n\tTotal: 3\n\n"
		   "\tTotal duration: 0s\n\tAvg. duration:  0s\n");
	expect("escaping and byte order of ids: json", &res, results_write_json,
		   "{\"total_runs\":3,\"total_pass\":0,\"total_fail\":3,\"elapsed\":\"0s\",\"elapsed_ms\":0,\"runs\":{"
		   "\"workspacebuild/1\":{\"full_id\":\"workspacebuild/1\",\"test_name\":\"workspacebuild\",\"id\":\"1\","
		   "\"logs\":\"\",\"started_at\":\"2023-10-05T12:03:56Z\",\"duration\":\"0s\",\"duration_ms\":0,\"error\":\"one\"},"
		   "\"workspacebuild/10\":{\"full_id\":\"workspacebuild/10\",\"test_name\":\"workspacebuild\",\"id\":\"10\","
		   "\"logs\":\"q\\\" b\\\\ t\\t r\\r bs\\b ff\\f c\\u0001 \\u003ca\\u003e\\u0026b del\x7f ls\\u2028 ps\\u2029"
		   " bad\\ufffd cut\\ufffd\\ufffd e\xc3\xa9 sur\\ufffd\\ufffd\\ufffd over\\ufffd\\ufffd end\\n\","
		   "\"started_at\":\"2023-10-05T12:03:56Z\",\"duration\":\"0s\",\"duration_ms\":0,\"error\":\"ten\"},"
		   "\"workspacebuild/2\":{\"full_id\":\"workspacebuild/2\",\"test_name\":\"workspacebuild\",\"id\":\"2\","
		   "\"logs\":\"\",\"started_at\":\"2023-10-05T12:03:56Z\",\"duration\":\"0s\",\"duration_ms\":0,\"error\":\"two\"}}}\n");
	results_free(&res);
}

/*
 * started_at as time.Time.MarshalJSON writes time.Now(): the local zone's
 * offset, "Z" only at zero (Go's layout Z07:00).  POSIX TZ strings give
 * the zones without tzdata: XYZ-2 is UTC+2, ABC+3:30 is UTC-3:30.
 */
static void
case_zones(void)
{
	static const struct
	{
		const char *tz;
		const char *want;
	}			zones[] = {
		{"XYZ-2", "2023-10-05T14:03:56.000000001+02:00"},
		{"ABC+3:30", "2023-10-05T08:33:56.000000001-03:30"},
	};

	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
	{
		results		res;
		struct timespec t = at(0, 1);
		char		want[512],
					name[64];

		set_tz(zones[i].tz);
		results_init(&res, 0);
		results_add(&res, "z", "0", "", NULL, &t, 0);
		snprintf(want, sizeof(want),
				 "{\"total_runs\":1,\"total_pass\":1,\"total_fail\":0,\"elapsed\":\"0s\",\"elapsed_ms\":0,\"runs\":{"
				 "\"z/0\":{\"full_id\":\"z/0\",\"test_name\":\"z\",\"id\":\"0\",\"logs\":\"\",\"started_at\":\"%s\","
				 "\"duration\":\"0s\",\"duration_ms\":0,\"error\":\"\\u003cnil\\u003e\"}}}\n", zones[i].want);
		snprintf(name, sizeof(name), "started_at in TZ=%s: json", zones[i].tz);
		expect(name, &res, results_write_json, want);
		results_free(&res);
	}
}

int
main(void)
{
	case_results_test();
	case_no_runs();
	case_logs();
	case_multiline_error();
	case_durations();
	case_escaping_and_order();
	case_zones();
	return failures ? 1 : 0;
}
