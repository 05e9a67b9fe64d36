/*
 * timeutil.h: the clocks and time formats every command shares.
 */
#ifndef CODER_SCALE_TIMEUTIL_H
#define CODER_SCALE_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Seconds on CLOCK_MONOTONIC: for intervals, never for wall time. */
double		monotonic_seconds(void);

/* TS in RFC 3339, UTC, nanoseconds with trailing zeros trimmed (Go's RFC3339Nano); returns buf. */
char	   *rfc3339(const struct timespec *ts, char *buf, size_t size);

/*
 * RFC 3339 as Go writes it (2024-02-28T10:00:00.123456789Z, or an offset
 * like +02:00) into Unix seconds and nanoseconds; false for anything else
 * (a bad date, more than 9 fraction digits, trailing text).
 */
bool		parse_rfc3339(const char *s, int64_t *sec, int32_t *nsec);

/* Unix seconds + nanoseconds (+ PLUS_NS) as PostgreSQL timestamptz text in UTC; returns buf. */
char	   *format_pg_utc(int64_t sec, int32_t nsec, int64_t plus_ns, char *buf, size_t size);

#endif							/* CODER_SCALE_TIMEUTIL_H */
