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

/* Parse an RFC 3339 time ("2024-02-28T10:00:00.123Z", "+02:00") into ns since the epoch. */
bool		parse_rfc3339(const char *s, int64_t *ns_out);

#endif							/* CODER_SCALE_TIMEUTIL_H */
