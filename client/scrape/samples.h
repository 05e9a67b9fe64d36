/*
 * samples.h: where scraped samples go: series interned once, samples of
 * whole scrapes handed to the one COPY writer (common/copywriter.h).
 *
 *   samples *s = samples_new(conninfo, "scrape", run_id, &err);  // connects
 *   int t = samples_add_target(s, "coderd", "http://coderd:2112/metrics");
 *   samples_begin(s, t);                       // one scrape of target t
 *   samples_add(s, t, &prom_sample, time_us); // ... per sample
 *   samples_end(s, t, keep);                   // keep or drop the scrape
 *   samples_add_one(s, t, "up", 1, time_us);   // a synthetic sample
 *   samples_poll(s, monotonic_seconds());      // from the event loop
 *   samples_finish(s, 60, &stats);             // write the rest, stop, free
 *
 * Invariants:
 *   - A series (target + name + sorted labels) gets a local id the first
 *     time it is seen (a hash table) and one row of kind "series"; its
 *     samples are rows of kind "sample" naming that local id.  The writer
 *     stores a batch's series before its samples, in one transaction, and
 *     maps local ids to metric_series ids as it goes; the spill file holds
 *     every series, so it loads on its own.
 *   - A series already stored (another process of the run, an earlier
 *     session, a batch written twice) is found, not stored again; a sample
 *     whose (series, time) is stored already is skipped (ON CONFLICT DO
 *     NOTHING), and counted as already stored.
 *   - The event loop never waits for the database: a batch is handed over
 *     every second or SAMPLES_BATCH rows; the writer's memory bound, spill
 *     file, reconnects and error handling are copywriter.h's.
 *
 * Times are microseconds since the Unix epoch.  Not thread-safe: call
 * everything from one thread (the writer's work is its own).
 */
#ifndef CODER_SCALE_SAMPLES_H
#define CODER_SCALE_SAMPLES_H

#include <stdbool.h>
#include <stdint.h>

#include "common/copywriter.h"
#include "common/pg.h"
#include "promparse.h"

#define SAMPLES_BATCH 50000		/* a batch is handed over at this size or after 1 s */

typedef struct samples samples;

typedef struct samples_stats
{
	int64_t		series;			/* series interned */
	int64_t		queued;			/* samples handed to the writer */
	int64_t		stored;			/* samples in metric_sample */
	int64_t		already_stored; /* (series, time) was there before */
	int64_t		not_stored;		/* in the spill file (or lost with the writer) */
	int64_t		batches;
	double		write_seconds;	/* time the writer spent writing */
	double		register_seconds;	/* ... of it registering new series */
	cw_outcome	outcome;		/* CW_WRITTEN, or why not (the writer said so on stderr) */
} samples_stats;

/* Connect as COMMAND and start the writer; NULL with *err when it cannot. */
samples    *samples_new(const char *conninfo, const char *command, int64_t run_id, pg_error *err);

/* A scrape target (component name, URL); returns its number. */
int			samples_add_target(samples *s, const char *component, const char *url);

/* The start of a scrape of TARGET. */
void		samples_begin(samples *s, int target);

/*
 * One sample of the current scrape of TARGET at TIME_US.  False (and not
 * kept) when the series already has a sample in this scrape or a later
 * one stored, or the time is out of PostgreSQL's range.
 */
bool		samples_add(samples *s, int target, const prom_sample *smp, int64_t time_us);

/* End the scrape: keep its samples (hand them over) or drop them all. */
void		samples_end(samples *s, int target, bool keep);

/* A sample outside scrapes, without labels (up, scrape_duration_seconds, ...). */
void		samples_add_one(samples *s, int target, const char *name, double value, int64_t time_us);

/* Hand the batch to the writer when it is due; NOW: monotonic_seconds() (common/timeutil.h). */
void		samples_poll(samples *s, double now);

/* When samples_poll should run next (+Inf if nothing waits). */
double		samples_next_deadline(const samples *s);

/*
 * Hand over the rest, wait for the writer (at most WAIT_S seconds for a
 * database that is away), close, free; true if every sample was stored.
 */
bool		samples_finish(samples *s, int wait_s, samples_stats *stats);

/*
 * The row kinds of samples, for load-spill: with ARG from samples_ids_new
 * (the local ids of one spill file), freed with samples_ids_free.
 */
extern const cw_kind samples_kinds[2];
void	   *samples_ids_new(void);
void		samples_ids_free(void *ids);

#endif
