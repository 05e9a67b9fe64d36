/*
 * promparse.h: a streaming parser of the Prometheus text exposition format
 * (version 0.0.4), as served on /metrics by coderd and the exporters.
 *
 *   prom_parser *p = prom_parser_new(on_sample, arg);
 *   prom_parser_reset(p);                  // before each body
 *   prom_parser_feed(p, chunk, len);       // as the bytes arrive, any split
 *   prom_parser_finish(p);                 // the last line may lack '\n'
 *   p->stats: lines, samples, malformed lines and the first few reasons
 *
 * on_sample runs once per valid sample line, with the labels sorted by name
 * (labels with an empty value dropped: Prometheus treats them as absent).
 * Everything it points to is valid only during the call.  A malformed line
 * is counted and skipped; no input makes the parser stop, crash or use more
 * than about PROM_MAX_LINE bytes of its own.
 */
#ifndef CODER_SCALE_PROMPARSE_H
#define CODER_SCALE_PROMPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROM_MAX_LINE (1024 * 1024)	/* longer lines are malformed */
#define PROM_MAX_ERRORS 5			/* reasons kept per body */

typedef enum prom_type
{
	PROM_UNTYPED = 0,
	PROM_COUNTER,
	PROM_GAUGE,
	PROM_HISTOGRAM,
	PROM_SUMMARY
} prom_type;

typedef struct prom_label
{
	const char *name;
	size_t		name_len;
	const char *value;			/* unescaped; valid UTF-8, no NUL */
	size_t		value_len;
} prom_label;

typedef struct prom_sample
{
	const char *name;			/* metric name as written (foo_bucket, ...) */
	size_t		name_len;
	const prom_label *labels;	/* sorted by name, no empty values */
	int			nlabels;
	double		value;
	bool		has_timestamp;
	int64_t		timestamp_ms;	/* milliseconds since the Unix epoch */
	prom_type	type;			/* of its family, from # TYPE (else untyped) */
} prom_sample;

typedef void (*prom_sample_fn) (void *arg, const prom_sample *s);

typedef struct prom_error
{
	int64_t		line;			/* 1-based */
	char		reason[96];
} prom_error;

typedef struct prom_stats
{
	int64_t		lines;
	int64_t		samples;
	int64_t		malformed;
	int			nerrors;		/* min(malformed, PROM_MAX_ERRORS) */
	prom_error	errors[PROM_MAX_ERRORS];
} prom_stats;

typedef struct prom_parser prom_parser;

/* NULL when out of memory. */
prom_parser *prom_parser_new(prom_sample_fn fn, void *arg);
void		prom_parser_free(prom_parser *p);

/* Start a new body: clears the stats and any partial line. */
void		prom_parser_reset(prom_parser *p);

/* Parse the complete lines in DATA; a partial last line is kept for later. */
void		prom_parser_feed(prom_parser *p, const char *data, size_t len);

/* End of the body: parse a last line that has no newline. */
void		prom_parser_finish(prom_parser *p);

/* End of a body that was cut: drop a partial last line instead. */
void		prom_parser_abandon(prom_parser *p);

const prom_stats *prom_parser_stats(const prom_parser *p);

/* Parse one value as Prometheus does (Go's ParseFloat: 1e3, NaN, +Inf, ...). */
bool		prom_parse_float(const char *s, size_t len, double *out);

/* Name of a type ("counter", ...). */
const char *prom_type_name(prom_type t);

#endif
