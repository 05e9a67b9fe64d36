/*
 * scraper.c: scheduled scrapes on a caller's libcurl multi handle (see
 * scraper.h for how an event loop drives it).
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/timeutil.h"
#include "cli.h"
#include "promparse.h"
#include "scraper.h"

#define MAX_TIMEOUT 10.0		/* seconds, like Prometheus' default */

typedef struct target
{
	scraper    *sc;
	int			index;
	int			sink_id;
	const char *name;
	const char *url;
	CURL	   *easy;
	struct curl_slist *headers;
	prom_parser *parser;
	char		errbuf[CURL_ERROR_SIZE];
	double		next_due;
	bool		busy;
	/* the scrape in flight */
	double		started;
	int64_t		started_us;
	long		body_bytes;
	bool		checked;		/* status and type looked at */
	bool		cut;
	char		encoding[32];	/* Content-Encoding, if not identity */
	char		reject[160];	/* why the body was refused */
	int64_t		scraped;
	int64_t		kept;
	/* --scrape-match on the last name seen */
	char	   *last_name;
	size_t		last_len;
	size_t		last_cap;
	bool		last_match;
	/* warnings given once */
	bool		warned_limit;
	bool		warned_cut;
	bool		warned_malformed;
	scrape_stats st;
} target;

struct scraper
{
	CURLM	   *multi;
	samples    *sink;
	scraper_config cfg;
	target	   *targets;
	int			ntargets;
	bool		stopped;
};

static int64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
warn(target *t, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
warn(target *t, const char *fmt,...)
{
	va_list		ap;
	FILE	   *log = t->sc->cfg.log;

	if (log == NULL)
		return;
	fprintf(log, "coder-scale: scrape %s (%s): ", t->name, t->url);
	va_start(ap, fmt);
	vfprintf(log, fmt, ap);
	va_end(ap);
	fputc('\n', log);
}

/* ---------------------------------------------------------------------------
 * Per sample (from the parser, inside the write callback)
 * ------------------------------------------------------------------------- */

static bool
name_matches(target *t, const prom_sample *smp)
{
	const regex_t *re = t->sc->cfg.match;

	if (re == NULL)
		return true;
	if (t->last_len == smp->name_len && t->last_name && memcmp(t->last_name, smp->name, smp->name_len) == 0)
		return t->last_match;
	if (smp->name_len + 1 > t->last_cap)
	{
		t->last_cap = smp->name_len + 64;
		t->last_name = realloc(t->last_name, t->last_cap);
		if (t->last_name == NULL)
			cli_out_of_memory("a metric name");
	}
	memcpy(t->last_name, smp->name, smp->name_len);
	t->last_name[smp->name_len] = '\0';
	t->last_len = smp->name_len;
	t->last_match = regexec(re, t->last_name, 0, NULL, 0) == 0;
	return t->last_match;
}

static void
on_sample(void *arg, const prom_sample *smp)
{
	target	   *t = arg;
	int64_t		time_us = t->started_us;

	t->scraped++;
	if (!name_matches(t, smp))
	{
		t->st.filtered++;
		return;
	}
	if (t->kept >= t->sc->cfg.sample_limit)
	{
		t->st.over_limit++;
		return;
	}
	if (smp->has_timestamp)
		time_us = (smp->timestamp_ms > INT64_MAX / 1000 || smp->timestamp_ms < INT64_MIN / 1000)
			? INT64_MIN : smp->timestamp_ms * 1000;
	if (samples_add(t->sc->sink, t->sink_id, smp, time_us))
		t->kept++;
	else
		t->st.duplicates++;
}

/* ---------------------------------------------------------------------------
 * libcurl callbacks
 * ------------------------------------------------------------------------- */

static size_t
on_header(char *buf, size_t size, size_t n, void *arg)
{
	target	   *t = arg;
	size_t		len = size * n;
	static const char ce[] = "content-encoding:";

	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0)
		t->encoding[0] = '\0';	/* a new response (after a redirect) */
	else if (len > sizeof(ce) - 1 && strncasecmp(buf, ce, sizeof(ce) - 1) == 0)
	{
		size_t		i = sizeof(ce) - 1,
					j;

		while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
			i++;
		j = len;
		while (j > i && (buf[j - 1] == '\r' || buf[j - 1] == '\n' || buf[j - 1] == ' '))
			j--;
		if (j > i && !(j - i == 8 && strncasecmp(buf + i, "identity", 8) == 0))
			snprintf(t->encoding, sizeof(t->encoding), "%.*s", (int) (j - i), buf + i);
	}
	return len;
}

static bool
contains(const char *hay, const char *needle)
{
	return hay && strcasestr(hay, needle) != NULL;
}

/* Refuse what is surely not the text format: bad status, encoded, HTML, JSON, binary. */
static void
check_response(target *t, const char *data, size_t len)
{
	long		code = 0;
	char	   *ctype = NULL;
	size_t		i = 0;

	t->checked = true;
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &ctype);
	while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
		i++;
	if (code < 200 || code > 299)
		snprintf(t->reject, sizeof(t->reject), "HTTP status %ld", code);
	else if (t->encoding[0])
		snprintf(t->reject, sizeof(t->reject), "the body is %s-encoded, not plain text", t->encoding);
	else if (contains(ctype, "html") || contains(ctype, "json") || contains(ctype, "xml") ||
			 contains(ctype, "protobuf"))
		snprintf(t->reject, sizeof(t->reject), "Content-Type %.60s is not the Prometheus text format", ctype);
	else if (len >= 2 && (unsigned char) data[0] == 0x1f && (unsigned char) data[1] == 0x8b)
		snprintf(t->reject, sizeof(t->reject), "the body is gzip data, not the Prometheus text format");
	else if (i < len && data[i] == '<')
		snprintf(t->reject, sizeof(t->reject), "the body is HTML or XML, not the Prometheus text format");
	else if (i < len && (data[i] == '{' || data[i] == '['))
		snprintf(t->reject, sizeof(t->reject), "the body is JSON, not the Prometheus text format");
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	target	   *t = arg;
	size_t		len = size * n;
	long		room = t->sc->cfg.max_body - t->body_bytes;

	if (!t->checked)
		check_response(t, data, len);
	if (t->reject[0])
		return 0;				/* aborts the transfer */
	if ((long) len > room)
	{
		prom_parser_feed(t->parser, data, (size_t) room);
		t->body_bytes += room;
		t->cut = true;
		return 0;
	}
	prom_parser_feed(t->parser, data, len);
	t->body_bytes += (long) len;
	return len;
}

/* ---------------------------------------------------------------------------
 * Scrapes
 * ------------------------------------------------------------------------- */

static void
put_meta(target *t, bool up, double duration, int64_t malformed)
{
	samples    *sink = t->sc->sink;

	samples_add_one(sink, t->sink_id, "up", up ? 1 : 0, t->started_us);
	samples_add_one(sink, t->sink_id, "scrape_duration_seconds", duration, t->started_us);
	samples_add_one(sink, t->sink_id, "scrape_samples_scraped", (double) t->scraped, t->started_us);
	samples_add_one(sink, t->sink_id, "scrape_samples_post_metric_relabeling", (double) t->kept, t->started_us);
	samples_add_one(sink, t->sink_id, "scrape_malformed_lines", (double) malformed, t->started_us);
}

/* The scrape is over: keep or drop its samples, record up and the counts. */
static void
finish_scrape(target *t, const char *error)
{
	const prom_stats *ps = prom_parser_stats(t->parser);
	bool		up = error == NULL;
	double		duration = monotonic_seconds() - t->started;

	if (up && ps->samples == 0 && ps->malformed > 0)
	{
		snprintf(t->reject, sizeof(t->reject), "no valid sample, %lld malformed line(s); line %lld: %s",
				 (long long) ps->malformed, (long long) ps->errors[0].line, ps->errors[0].reason);
		error = t->reject;
		up = false;
	}
	samples_end(t->sc->sink, t->sink_id, up);
	if (!up)
		t->kept = 0;
	put_meta(t, up, duration, ps->malformed);
	t->st.scrapes++;
	t->st.malformed += ps->malformed;
	if (up)
	{
		t->st.samples += t->kept;
		if (!t->st.up && t->st.scrapes > 1)
			warn(t, "up again");
		if (ps->malformed > 0 && !t->warned_malformed)
		{
			warn(t, "%lld malformed line(s) skipped; line %lld: %s (reported once)",
				 (long long) ps->malformed, (long long) ps->errors[0].line, ps->errors[0].reason);
			t->warned_malformed = true;
		}
		if (t->cut && !t->warned_cut)
		{
			warn(t, "body cut at %ld bytes (reported once)", t->sc->cfg.max_body);
			t->warned_cut = true;
		}
		if (t->cut)
			t->st.cut++;
		if (t->st.over_limit > 0 && !t->warned_limit)
		{
			warn(t, "more than %lld samples in one scrape: the rest are not stored (reported once)",
				 (long long) t->sc->cfg.sample_limit);
			t->warned_limit = true;
		}
	}
	else
	{
		t->st.failed++;
		snprintf(t->st.last_error, sizeof(t->st.last_error), "%s", error);
		if (t->st.up || t->st.scrapes == 1)
			warn(t, "down: %s", error);
	}
	t->st.up = up;
	t->busy = false;
}

static void
start_scrape(target *t, double now)
{
	CURLMcode	rc;

	t->busy = true;
	t->started = now;
	t->started_us = wall_us();
	t->body_bytes = 0;
	t->checked = false;
	t->cut = false;
	t->encoding[0] = '\0';
	t->reject[0] = '\0';
	t->errbuf[0] = '\0';
	t->scraped = 0;
	t->kept = 0;
	prom_parser_reset(t->parser);
	samples_begin(t->sc->sink, t->sink_id);
	rc = curl_multi_add_handle(t->sc->multi, t->easy);
	if (rc != CURLM_OK)
		finish_scrape(t, curl_multi_strerror(rc));
}

void
scraper_tick(scraper *sc, double now)
{
	double		iv = sc->cfg.interval;

	if (sc->stopped)
		return;
	for (int i = 0; i < sc->ntargets; i++)
	{
		target	   *t = &sc->targets[i];

		if (now < t->next_due)
			continue;
		if (t->busy)
			t->st.skipped++;
		else
			start_scrape(t, now);
		t->next_due += iv;
		if (t->next_due <= now)	/* fell behind (a stalled loop): skip, keep the phase */
			t->next_due += ceil((now - t->next_due) / iv) * iv;
		if (t->next_due <= now)
			t->next_due += iv;
	}
}

bool
scraper_handle_done(scraper *sc, CURLMsg *msg)
{
	target	   *t = NULL;
	long		code = 0;
	const char *error = NULL;
	char		why[CURL_ERROR_SIZE + 64];

	for (int i = 0; i < sc->ntargets; i++)
		if (sc->targets[i].easy == msg->easy_handle)
			t = &sc->targets[i];
	if (t == NULL || msg->msg != CURLMSG_DONE)
		return t != NULL;
	curl_multi_remove_handle(sc->multi, t->easy);
	if (!t->busy)
		return true;
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
	if (t->cut)
		prom_parser_abandon(t->parser);
	else
		prom_parser_finish(t->parser);
	if (t->reject[0])
		error = t->reject;
	else if (t->cut)
		error = NULL;
	else if (msg->data.result != CURLE_OK)
	{
		snprintf(why, sizeof(why), "%s", t->errbuf[0] ? t->errbuf : curl_easy_strerror(msg->data.result));
		error = why;
	}
	else if (code < 200 || code > 299)
	{
		snprintf(why, sizeof(why), "HTTP status %ld", code);
		error = why;
	}
	finish_scrape(t, error);
	return true;
}

/* ---------------------------------------------------------------------------
 * Setup
 * ------------------------------------------------------------------------- */

static bool
setup_handle(scraper *sc, target *t)
{
	long		timeout_ms = (long) (sc->cfg.timeout * 1000);

	t->easy = curl_easy_init();
	t->headers = curl_slist_append(NULL, "Accept: text/plain;version=0.0.4;q=1,*/*;q=0.1");
	t->parser = prom_parser_new(on_sample, t);
	if (t->easy == NULL || t->headers == NULL || t->parser == NULL)
		return false;
	return curl_easy_setopt(t->easy, CURLOPT_URL, t->url) == CURLE_OK &&
		curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
		curl_easy_setopt(t->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == CURLE_OK &&
		curl_easy_setopt(t->easy, CURLOPT_FOLLOWLOCATION, 1L) == CURLE_OK &&
		curl_easy_setopt(t->easy, CURLOPT_MAXREDIRS, 3L) == CURLE_OK &&
		curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, timeout_ms) == CURLE_OK &&
		curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) == CURLE_OK &&
		curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
		curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers) == CURLE_OK &&
		curl_easy_setopt(t->easy, CURLOPT_USERAGENT, "coder-scale/" CODER_SCALE_VERSION) == CURLE_OK &&
		curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
		curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t) == CURLE_OK &&
		curl_easy_setopt(t->easy, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
		curl_easy_setopt(t->easy, CURLOPT_HEADERDATA, t) == CURLE_OK &&
		curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->errbuf) == CURLE_OK &&
		curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t) == CURLE_OK &&
		curl_easy_setopt(t->easy, CURLOPT_BUFFERSIZE, 256L * 1024) == CURLE_OK;
}

scraper *
scraper_new(CURLM *multi, const scrape_target *targets, int ntargets,
			const scraper_config *cfg, samples *sink)
{
	scraper    *sc = calloc(1, sizeof(scraper));
	double		now = monotonic_seconds();

	if (sc == NULL || ntargets <= 0 || !(cfg->interval > 0))
	{
		free(sc);
		return NULL;
	}
	sc->multi = multi;
	sc->sink = sink;
	sc->cfg = *cfg;
	if (!(sc->cfg.timeout > 0))
		sc->cfg.timeout = fmin(0.8 * cfg->interval, MAX_TIMEOUT);
	sc->cfg.timeout = fmin(sc->cfg.timeout, cfg->interval);
	if (sc->cfg.sample_limit <= 0)
		sc->cfg.sample_limit = SCRAPE_DEFAULT_SAMPLE_LIMIT;
	if (sc->cfg.max_body <= 0)
		sc->cfg.max_body = SCRAPE_DEFAULT_MAX_BODY;
	sc->targets = calloc(ntargets, sizeof(target));
	if (sc->targets == NULL)
	{
		free(sc);
		return NULL;
	}
	sc->ntargets = ntargets;
	for (int i = 0; i < ntargets; i++)
	{
		target	   *t = &sc->targets[i];

		t->sc = sc;
		t->index = i;
		t->name = targets[i].name;
		t->url = targets[i].url;
		t->st.up = true;
		t->next_due = now;		/* all at once, then every interval */
		if (!setup_handle(sc, t))
		{
			cli_error("scrape %s: cannot set up libcurl for %s", t->name, t->url);
			scraper_free(sc);
			return NULL;
		}
		t->sink_id = samples_add_target(sink, t->name, t->url);
	}
	return sc;
}

double
scraper_next_deadline(const scraper *sc)
{
	double		next = INFINITY;

	if (sc->stopped)
		return INFINITY;
	for (int i = 0; i < sc->ntargets; i++)
		next = fmin(next, sc->targets[i].next_due);
	return next;
}

void
scraper_stop(scraper *sc)
{
	sc->stopped = true;
}

int
scraper_in_flight(const scraper *sc)
{
	int			n = 0;

	for (int i = 0; i < sc->ntargets; i++)
		n += sc->targets[i].busy;
	return n;
}

const scrape_stats *
scraper_stats(const scraper *sc, int target)
{
	return &sc->targets[target].st;
}

void
scraper_cancel(scraper *sc)
{
	for (int i = 0; i < sc->ntargets; i++)
	{
		target	   *t = &sc->targets[i];

		if (t->busy)
		{
			curl_multi_remove_handle(sc->multi, t->easy);
			samples_end(sc->sink, t->sink_id, false);
			t->busy = false;
		}
	}
}

void
scraper_free(scraper *sc)
{
	if (sc == NULL)
		return;
	scraper_cancel(sc);
	for (int i = 0; i < sc->ntargets; i++)
	{
		target	   *t = &sc->targets[i];

		if (t->easy)
			curl_easy_cleanup(t->easy);
		curl_slist_free_all(t->headers);
		prom_parser_free(t->parser);
		free(t->last_name);
	}
	free(sc->targets);
	free(sc);
}
static bool
valid_name(const char *s, size_t n)
{
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			  (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

static bool
valid_url(const char *u)
{
	const char *rest;

	if (strncasecmp(u, "http://", 7) == 0)
		rest = u + 7;
	else if (strncasecmp(u, "https://", 8) == 0)
		rest = u + 8;
	else
		return false;
	if (*rest == '\0' || *rest == '/')
		return false;
	for (const char *p = u; *p; p++)
		if ((unsigned char) *p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

/*
 * Parse "NAME=URL" into targets[*n] (SPEC is split in place), refusing a
 * bad name or URL, too many targets and a NAME given twice; says why on
 * stderr and returns false.
 */
bool
scrape_target_parse(char *spec, scrape_target *targets, int *n, int max)
{
	char	   *eq = strchr(spec, '=');

	if (eq == NULL || !valid_name(spec, (size_t) (eq - spec)))
	{
		cli_error("scrape target \"%s\": expected NAME=URL with NAME made of letters, digits, _ - . "
				  "(at most 63), e.g. coderd=http://127.0.0.1:2112/metrics", spec);
		return false;
	}
	if (!valid_url(eq + 1))
	{
		cli_error("scrape target \"%s\": the URL must start with http:// or https://, name a host "
				  "and contain no blanks", spec);
		return false;
	}
	if (*n == max)
	{
		cli_error("scrape target \"%s\": at most %d targets", spec, max);
		return false;
	}
	*eq = '\0';
	for (int i = 0; i < *n; i++)
		if (strcmp(targets[i].name, spec) == 0)
		{
			cli_error("scrape target \"%s\": NAME given twice", spec);
			return false;
		}
	targets[*n].name = spec;
	targets[*n].url = eq + 1;
	(*n)++;
	return true;
}

