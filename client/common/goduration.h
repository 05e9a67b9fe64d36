/*
 * goduration.h: Go's time.Duration text form ("1m58.204s", "300ms", "1.5µs").
 */
#ifndef CODER_SCALE_GODURATION_H
#define CODER_SCALE_GODURATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Parse a Go duration string into nanoseconds, as Go's time.ParseDuration
 * does: an optional sign, then one or more <number><unit> with units ns, us,
 * µs, μs, ms, s, m, h; "0" alone is zero.  Returns false (and a reason in
 * *why) for anything else, including overflow.
 */
bool		go_duration_parse(const char *s, int64_t *ns, const char **why);

/* Format nanoseconds as Go's Duration.String() does; returns buf. */
char	   *go_duration_format(int64_t ns, char *buf, size_t size);

#endif
