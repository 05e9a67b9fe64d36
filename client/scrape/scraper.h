/*
 * scraper.h: scrape Prometheus targets on schedule, inside someone else's
 * libcurl multi event loop, into a samples sink (samples.h).
 *
 * How an event loop drives it (coder-scale scrape does exactly this; the
 * scale test's libuv loop does the same with a uv_timer):
 *
 *   samples *sink = samples_new(conninfo, "scrape", run_id, &err);
 *   scraper *sc = scraper_new(multi, targets, ntargets, &cfg, sink);
 *   loop:
 *     wait for sockets, at most until
 *         min(scraper_next_deadline(sc), samples_next_deadline(sink))
 *     run curl (curl_multi_perform or curl_multi_socket_action)
 *     while ((msg = curl_multi_info_read(multi, &left)))
 *         if (!scraper_handle_done(sc, msg))
 *             ... the message is about one of the caller's own handles ...
 *     scraper_tick(sc, monotonic_seconds());   // starts the scrapes now due
 *     samples_poll(sink, monotonic_seconds()); // hands full batches to the writer
 *   scraper_stop(sc); keep looping until scraper_in_flight(sc) == 0
 *   (at most one timeout), then scraper_free(sc), samples_finish(sink, 60, &st).
 *
 * scraper_handle_done must see every CURLMSG_DONE message before the
 * caller looks at CURLINFO_PRIVATE: the scraper's easy handles are its own
 * (their PRIVATE points at scraper data).  It removes its handle from the
 * multi itself.  Nothing here blocks: bodies are parsed as they arrive
 * (write callback), the database is written by the sink's own thread.
 *
 * Per scrape and target: up (1 or 0), scrape_duration_seconds,
 * scrape_samples_scraped, scrape_samples_post_metric_relabeling (kept after
 * --scrape-match and the sample limit) and scrape_malformed_lines, as
 * samples of the target without labels, like Prometheus.  A failed scrape
 * (no answer within the timeout, HTTP error, HTML / JSON / gzip body, or no
 * valid line at all) keeps none of its samples and records up = 0.
 */
#ifndef CODER_SCALE_SCRAPER_H
#define CODER_SCALE_SCRAPER_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <curl/curl.h>

#include "samples.h"

#define SCRAPE_DEFAULT_SAMPLE_LIMIT 200000
#define SCRAPE_DEFAULT_MAX_BODY (64L * 1024 * 1024)

typedef struct scrape_target
{
	const char *name;			/* component: coderd, database, ... */
	const char *url;
} scrape_target;

typedef struct scraper_config
{
	double		interval;		/* seconds between scrapes of a target (> 0) */
	double		timeout;		/* seconds; 0 = 80% of the interval, at most 10 s */
	const regex_t *match;		/* keep only metric names matching it; NULL = all */
	int64_t		sample_limit;	/* per scrape; 0 = SCRAPE_DEFAULT_SAMPLE_LIMIT */
	long		max_body;		/* bytes; 0 = SCRAPE_DEFAULT_MAX_BODY; longer bodies are cut */
	FILE	   *log;			/* warnings (target down / up again, limits); NULL = quiet */
} scraper_config;

typedef struct scrape_stats
{
	int64_t		scrapes;		/* finished */
	int64_t		failed;			/* ... with up = 0 */
	int64_t		skipped;		/* due while the previous one still ran */
	int64_t		samples;		/* kept */
	int64_t		malformed;		/* lines */
	int64_t		filtered;		/* samples not matching --scrape-match */
	int64_t		over_limit;		/* samples beyond the per-scrape limit */
	int64_t		duplicates;		/* a series twice in one scrape, or an old timestamp */
	int64_t		cut;			/* bodies cut at max_body */
	bool		up;				/* the last scrape */
	char		last_error[160];	/* of the last failed scrape */
} scrape_stats;

typedef struct scraper scraper;

/*
 * Every target is scraped now, then every interval.  The
 * strings in TARGETS and CFG->match must outlive the scraper.  NULL when
 * libcurl refuses (message printed).
 */
scraper    *scraper_new(CURLM *multi, const scrape_target *targets, int ntargets,
						const scraper_config *cfg, samples *sink);

/* When scraper_tick must run next (+Inf when stopped). */
double		scraper_next_deadline(const scraper *sc);

/* Start the scrapes due at NOW (adds their easy handles to the multi). */
void		scraper_tick(scraper *sc, double now);

/* True if MSG is about one of the scraper's handles (then it is handled). */
bool		scraper_handle_done(scraper *sc, CURLMsg *msg);

/* Start no more scrapes; those in flight finish (within their timeout). */
void		scraper_stop(scraper *sc);
int			scraper_in_flight(const scraper *sc);

const scrape_stats *scraper_stats(const scraper *sc, int target);

/* Abort the scrapes in flight: their samples are dropped, no up sample. */
void		scraper_cancel(scraper *sc);

/* Cancel what is in flight and free (before samples_finish of its sink). */
void		scraper_free(scraper *sc);

/* Parse "NAME=URL" (split in place) into targets[*n]; false (and why on stderr) if bad or a NAME repeats. */
bool		scrape_target_parse(char *spec, scrape_target *targets, int *n, int max);

#endif
