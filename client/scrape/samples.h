/*
 * samples.h: where scraped samples go: series interned once, samples of
 * whole scrapes batched and written by one writer thread with binary COPY.
 *
 *   samples *s = samples_new(conn, run_id);   // takes the connection
 *   int t = samples_add_target(s, "coderd", "http://coderd:2112/metrics");
 *   samples_begin(s, t, scrape_time_us);       // one scrape of target t
 *   samples_add(s, t, &prom_sample, time_us); // ... per sample
 *   samples_end(s, t, keep);                   // keep or drop the scrape
 *   samples_add_one(s, t, "up", 1, time_us);   // a synthetic sample
 *   samples_poll(s, now);                      // from the event loop
 *   samples_finish(s, &stats);                 // flush, wait, free
 *
 * The event loop never waits for the database: it interns series (target +
 * name + sorted labels -> local id, hash table), appends samples to a batch
 * and, every second or SAMPLES_BATCH samples, queues the batch.  The writer
 * thread owns the connection: it registers new series in metric_series
 * (COPY to a temporary table, INSERT, again with ON CONFLICT DO NOTHING if
 * some were there, read the ids back: a run shared with another process
 * works), then COPYs the
 * samples into metric_sample in binary, one transaction per batch.  A
 * sample whose (series, time) is already stored makes the batch go again
 * through a temporary table with ON CONFLICT DO NOTHING.
 * Times are microseconds since the Unix epoch.  Not thread-safe: call
 * everything but the writer's own work from one thread.
 */
#ifndef CODER_SCALE_SAMPLES_H
#define CODER_SCALE_SAMPLES_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "promparse.h"

#define SAMPLES_BATCH 50000		/* a batch is queued at this size or after 1 s */

typedef struct samples samples;

typedef struct samples_stats
{
	int64_t		series;			/* series interned */
	int64_t		queued;			/* samples handed to the writer */
	int64_t		stored;			/* samples in metric_sample */
	int64_t		already_stored;	/* (series, time) was there before */
	int64_t		lost;			/* not stored: database errors */
	int64_t		dropped_behind; /* not stored: the writer was too far behind */
	int64_t		batches;
	double		write_seconds;	/* time the writer spent writing */
	double		register_seconds;	/* ... of it registering new series */
	double		lag_max;		/* longest wait of a batch before it was written, s */
} samples_stats;

/* Starts the writer thread on CONN (which it owns from now on); NULL on failure. */
samples    *samples_new(PGconn *conn, int64_t run_id);

/* A scrape target (component name, URL); returns its number. */
int			samples_add_target(samples *s, const char *component, const char *url);

void		samples_begin(samples *s, int target, int64_t time_us);

/*
 * One sample of the current scrape of TARGET at TIME_US.  False (and not
 * kept) when the series already has a sample in this scrape or a later
 * one stored, or the time is out of PostgreSQL's range.
 */
bool		samples_add(samples *s, int target, const prom_sample *smp, int64_t time_us);

/* End the scrape: keep its samples (queue them) or drop them all. */
void		samples_end(samples *s, int target, bool keep);

/* A sample outside scrapes, without labels (up, scrape_duration_seconds, ...). */
void		samples_add_one(samples *s, int target, const char *name, double value, int64_t time_us);

/* Queue the batch when it is due; NOW in seconds (any monotonic clock). */
void		samples_poll(samples *s, double now);

/* When samples_poll should run next (+Inf if nothing waits). */
double		samples_next_deadline(const samples *s);

/* Samples kept for TARGET so far (handed to the writer). */
int64_t		samples_kept(const samples *s, int target);

/* Queue the rest, wait for the writer, close the connection, free; true if nothing was lost. */
bool		samples_finish(samples *s, samples_stats *stats);

#endif
