/*
 * metrics.c: Prometheus text format with coderd's metric names, fed by the
 * stand-in's real state (queue, running jobs, requests, websockets) and its
 * real process figures (getrusage, /proc/self).  No go_* series: this is
 * not a Go program.
 *
 * A family holds its series in the order first seen, which is the order
 * they are rendered in; a series never goes away.  Label strings are built
 * by the callers here, with user-supplied values escaped (esc).
 */
#include "server.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* histogram bucket bounds (seconds), as coderd's */
static const double api_buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 10, 30};
static const double job_buckets[] = {1, 10, 30, 60, 300, 600, 1800, 3600};
static const double ws_buckets[] = {0.001, 1, 60, 3600};
static const double wait_buckets[] = {0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 600, 1800};

#define N_BUCKETS(a) ((int) (sizeof(a) / sizeof((a)[0])))
#define N_API_B N_BUCKETS(api_buckets)
#define N_JOB_B N_BUCKETS(job_buckets)
#define N_WS_B N_BUCKETS(ws_buckets)
#define N_WAIT_B N_BUCKETS(wait_buckets)
#define MAX_BUCKETS 16

_Static_assert(N_BUCKETS(api_buckets) <= MAX_BUCKETS && N_BUCKETS(job_buckets) <= MAX_BUCKETS &&
			   N_BUCKETS(ws_buckets) <= MAX_BUCKETS && N_BUCKETS(wait_buckets) <= MAX_BUCKETS,
			   "struct hist holds at most MAX_BUCKETS buckets");

struct hist
{
	long		b[MAX_BUCKETS];	/* b[i]: observations <= the i-th bound */
	long		count;
	double		sum;
};

struct series
{
	struct series *next;
	char	   *labels;
	long		count;			/* counters */
	struct hist h;				/* histograms */
};

struct family
{
	hmap		map;
	struct series *head,
			   *tail;
};

static struct family requests;	/* code, method, path */
static struct family latencies; /* method, path */
static struct family builds;	/* workspace_builds_total labels */
static struct family job_timings;	/* provisioner, status */
static struct family queue_wait;	/* build_reason, job_type, provisioner_type, transition */
static struct family ws_durations;	/* path */
static long inflight;
static long websockets;

/* The series of F with LABELS, made (at the end of F's order) if new. */
static struct series *
series_get(struct family *f, const char *labels)
{
	struct series *s = hmap_get(&f->map, labels);

	if (s)
		return s;
	s = xcalloc(1, sizeof(*s));
	s->labels = xstrdup(labels);
	hmap_put(&f->map, labels, s);
	if (f->tail)
		f->tail->next = s;
	else
		f->head = s;
	f->tail = s;
	return s;
}

/* Count V in histogram H: every bucket whose bound is at least V, and the sum. */
static void
observe(struct hist *h, const double *bounds, int nb, double v)
{
	for (int i = 0; i < nb; i++)
		if (v <= bounds[i])
			h->b[i]++;
	h->count++;
	h->sum += v;
}

/* An answered request: coderd_api_requests_processed_total and its latency. */
void
metrics_request(int route, enum method m, int status, double seconds)
{
	char		l[400];

	snprintf(l, sizeof(l), "code=\"%d\",method=\"%s\",path=\"%s\"", status, method_name(m), route_label(route));
	series_get(&requests, l)->count++;
	snprintf(l, sizeof(l), "method=\"%s\",path=\"%s\"", method_name(m), route_label(route));
	observe(&series_get(&latencies, l)->h, api_buckets, N_API_B, seconds);
}

/* coderd_api_concurrent_requests moves by DELTA. */
void
metrics_inflight(int delta)
{
	inflight += delta;
}

/* coderd_api_concurrent_websockets moves by DELTA. */
void
metrics_websocket(int delta)
{
	websockets += delta;
}

/* A websocket of ROUTE closed after SECONDS. */
void
metrics_websocket_closed(int route, double seconds)
{
	char		l[300];

	snprintf(l, sizeof(l), "path=\"%s\"", route_label(route));
	observe(&series_get(&ws_durations, l)->h, ws_buckets, N_WS_B, seconds);
}

/* state.c's on_job_wait: B waited SECONDS in the queue. */
void
metrics_job_wait(struct build *b, double seconds)
{
	char		l[300];

	if (b->kind == JK_DRY_RUN)
		snprintf(l, sizeof(l), "build_reason=\"\",job_type=\"template_version_dry_run\",provisioner_type=\"terraform\",transition=\"\"");
	else
		snprintf(l, sizeof(l), "build_reason=\"initiator\",job_type=\"workspace_build\",provisioner_type=\"terraform\",transition=\"%s\"",
				 transition_name(b->tr));
	observe(&series_get(&queue_wait, l)->h, wait_buckets, N_WAIT_B, seconds);
}

/* Label values: escape backslash, quote and newline. */
static void
esc(char *out, size_t n, const char *in)
{
	size_t		j = 0;

	for (; *in && j + 2 < n; in++)
	{
		if (*in == '\\' || *in == '"')
			out[j++] = '\\', out[j++] = *in;
		else if (*in == '\n')
			out[j++] = '\\', out[j++] = 'n';
		else
			out[j++] = *in;
	}
	out[j] = '\0';
}

/* Workspace build B ended with ST: coderd_workspace_builds_total. */
static void
count_build(const struct build *b, const char *st)
{
	char		l[800],
				e[3][200];
	static const char *action[] = {"START", "STOP", "DELETE"};

	esc(e[0], sizeof(e[0]), b->ws->owner->email);
	esc(e[1], sizeof(e[1]), b->ws->tpl->name);
	esc(e[2], sizeof(e[2]), b->ws->name);
	snprintf(l, sizeof(l), "action=\"%s\",owner_email=\"%s\",status=\"%s\",template_name=\"%s\",template_version=\"%s\",workspace_name=\"%s\"",
			 action[b->tr], e[0], st, e[1], b->ws->tpl->version_name, e[2]);
	series_get(&builds, l)->count++;
}

/* state.c's on_job_done: B ended; the build counter (builds only) and the job timing. */
void
metrics_job_done(struct build *b)
{
	char		l[100];
	const char *st = b->status == JOB_SUCCEEDED ? "success" : "failed";

	if (b->kind == JK_BUILD)
		count_build(b, st);
	if (b->started)
	{
		snprintf(l, sizeof(l), "provisioner=\"terraform\",status=\"%s\"", st);
		observe(&series_get(&job_timings, l)->h, job_buckets, N_JOB_B,
				(b->completed - b->started) / 1e6);
	}
}

/* ---------------- rendering ---------------- */

/* The # HELP and # TYPE lines of a metric. */
static void
head(strbuf *s, const char *name, const char *type, const char *help)
{
	sb_printf(s, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The _bucket, _sum and _count lines of each series of F. */
static void
hist_out(strbuf *s, const char *name, const struct family *f, const double *bounds, int nb)
{
	for (const struct series *x = f->head; x; x = x->next)
	{
		for (int i = 0; i < nb; i++)
			sb_printf(s, "%s_bucket{%s,le=\"%g\"} %ld\n", name, x->labels, bounds[i], x->h.b[i]);
		sb_printf(s, "%s_bucket{%s,le=\"+Inf\"} %ld\n", name, x->labels, x->h.count);
		sb_printf(s, "%s_sum{%s} %.9g\n", name, x->labels, x->h.sum);
		sb_printf(s, "%s_count{%s} %ld\n", name, x->labels, x->h.count);
	}
}

/* One line per series of F. */
static void
counter_out(strbuf *s, const char *name, const struct family *f)
{
	for (const struct series *x = f->head; x; x = x->next)
		sb_printf(s, "%s{%s} %ld\n", name, x->labels, x->count);
}

/* The process_* metrics, from getrusage, getrlimit and /proc/self. */
static void
process_out(strbuf *s)
{
	struct rusage ru;
	struct rlimit rl;
	long		pages = 0,
				rss = 0;
	long		fds = 0;
	FILE	   *f;
	DIR		   *d;

	getrusage(RUSAGE_SELF, &ru);
	head(s, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
	sb_printf(s, "process_cpu_seconds_total %.6f\n",
			  ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	getrlimit(RLIMIT_NOFILE, &rl);
	head(s, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
	sb_printf(s, "process_max_fds %llu\n", (unsigned long long) rl.rlim_cur);
	if ((d = opendir("/proc/self/fd")) != NULL)
	{
		while (readdir(d))
			fds++;
		closedir(d);
		fds -= 3;				/* ".", ".." and the directory's own descriptor */
	}
	head(s, "process_open_fds", "gauge", "Number of open file descriptors.");
	sb_printf(s, "process_open_fds %ld\n", fds);
	if ((f = fopen("/proc/self/statm", "r")) != NULL)
	{
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			pages = rss = 0;
		fclose(f);
	}
	head(s, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	sb_printf(s, "process_resident_memory_bytes %ld\n", rss * sysconf(_SC_PAGESIZE));
	head(s, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
	sb_printf(s, "process_start_time_seconds %.3f\n", deployment.started / 1e6);
	head(s, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
	sb_printf(s, "process_virtual_memory_bytes %ld\n", pages * sysconf(_SC_PAGESIZE));
}

/* The whole Prometheus text, malloc'd (the caller frees it); its length in *LEN. */
char *
metrics_render(size_t *len)
{
	strbuf		s = {xmalloc(65536), 0, 65536};

	head(&s, "coderd_api_websocket_durations_seconds", "histogram", "Websocket duration distribution of requests in seconds.");
	hist_out(&s, "coderd_api_websocket_durations_seconds", &ws_durations, ws_buckets, N_WS_B);
	head(&s, "coderd_api_concurrent_requests", "gauge", "The number of concurrent API requests.");
	/* this scrape itself is one of them when served on the API port */
	sb_printf(&s, "coderd_api_concurrent_requests %ld\n", inflight);
	head(&s, "coderd_api_concurrent_websockets", "gauge", "The total number of concurrent API websockets.");
	sb_printf(&s, "coderd_api_concurrent_websockets %ld\n", websockets);
	head(&s, "coderd_api_request_latencies_seconds", "histogram", "Latency distribution of requests in seconds.");
	hist_out(&s, "coderd_api_request_latencies_seconds", &latencies, api_buckets, N_API_B);
	head(&s, "coderd_api_requests_processed_total", "counter", "The total number of processed API requests");
	counter_out(&s, "coderd_api_requests_processed_total", &requests);
	head(&s, "coderd_provisioner_job_queue_wait_seconds", "histogram", "Time from job creation to acquiral by a provisioner daemon.");
	hist_out(&s, "coderd_provisioner_job_queue_wait_seconds", &queue_wait, wait_buckets, N_WAIT_B);
	head(&s, "coderd_provisionerd_job_timings_seconds", "histogram", "The provisioner job time duration in seconds.");
	hist_out(&s, "coderd_provisionerd_job_timings_seconds", &job_timings, job_buckets, N_JOB_B);
	head(&s, "coderd_provisionerd_jobs_current", "gauge", "The number of currently running provisioner jobs.");
	sb_printf(&s, "coderd_provisionerd_jobs_current{provisioner=\"terraform\"} %d\n", deployment.running);
	head(&s, "coderd_provisionerd_num_daemons", "gauge", "The number of provisioner daemons.");
	sb_printf(&s, "coderd_provisionerd_num_daemons %d\n", deployment.cfg.replicas * deployment.cfg.daemons);
	head(&s, "standin_provisioner_jobs_pending", "gauge", "Stand-in only (not a coderd metric): provisioner jobs waiting in the queue.");
	sb_printf(&s, "standin_provisioner_jobs_pending %ld\n", deployment.q_len);
	head(&s, "coderd_workspace_builds_total", "counter", "The number of workspaces started, updated, or deleted.");
	counter_out(&s, "coderd_workspace_builds_total", &builds);
	process_out(&s);
	*len = s.len;
	return s.p;
}
