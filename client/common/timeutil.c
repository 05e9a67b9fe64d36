/*
 * timeutil.c: the clocks and time formats every command shares.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "timeutil.h"

double
monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* RFC 3339 in UTC with nanoseconds, trailing zeros trimmed (Go's RFC3339Nano). */
char *
rfc3339(const struct timespec *ts, char *buf, size_t size)
{
	struct tm	tm;
	char		frac[16];
	int			n;

	gmtime_r(&ts->tv_sec, &tm);
	snprintf(frac, sizeof(frac), ".%09ld", ts->tv_nsec);
	n = (int) strlen(frac);
	while (n > 1 && frac[n - 1] == '0')
		frac[--n] = '\0';
	if (n == 1)
		frac[0] = '\0';
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	return buf;
}

/* Parse an RFC 3339 time ("2024-02-28T10:00:00.123Z", "+02:00") into ns since the epoch. */
bool
parse_rfc3339(const char *s, int64_t *ns_out)
{
	struct tm	tm;
	int			y, mo, d, h, mi, sec, consumed = 0;
	int64_t		frac_ns = 0;
	int64_t		off = 0;
	const char *p;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &consumed) != 6)
		return false;
	p = s + consumed;
	if (*p == '.')
	{
		int64_t		scale = 100000000;

		for (p++; *p >= '0' && *p <= '9'; p++)
		{
			frac_ns += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p == '+' || *p == '-')
	{
		int			oh, om;

		if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
			return false;
		off = (int64_t) (oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
	}
	else if (*p != 'Z' && *p != 'z')
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*ns_out = ((int64_t) timegm(&tm) - off) * 1000000000LL + frac_ns;
	return true;
}
