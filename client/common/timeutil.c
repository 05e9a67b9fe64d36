/*
 * timeutil.c: the clocks and time formats every command shares.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
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

static bool
digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Days since 1970-01-01 of a civil date, and back (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era, yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t		era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int
days_in_month(int64_t y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool		leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

/*
 * RFC 3339 as Go writes it (2024-02-28T10:00:00.123456789Z, or an offset
 * like +02:00) -> Unix seconds and nanoseconds.  False if not such a time.
 */
bool
parse_rfc3339(const char *s, int64_t *sec, int32_t *nsec)
{
	size_t		n = strlen(s),
				i = 19;
	int64_t		y;
	int			mo, d, h, mi, se, off = 0;
	int32_t		frac = 0;

	if (n < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) ||
		(s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) ||
		s[16] != ':' || !digits(s + 17, 2))
		return false;
	y = atoi(s), mo = atoi(s + 5), d = atoi(s + 8), h = atoi(s + 11), mi = atoi(s + 14), se = atoi(s + 17);
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59)
		return false;
	if (s[i] == '.')
	{
		size_t		f = ++i;

		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == f || i - f > 9)
			return false;
		for (size_t k = f; k < f + 9; k++)
			frac = frac * 10 + (k < i ? s[k] - '0' : 0);
	}
	if (i < n && (s[i] == 'Z' || s[i] == 'z'))
	{
		if (i + 1 != n)
			return false;
	}
	else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && digits(s + i + 1, 2) && s[i + 3] == ':' &&
			 digits(s + i + 4, 2) && atoi(s + i + 1) <= 23 && atoi(s + i + 4) <= 59)
		off = (s[i] == '-' ? -1 : 1) * (atoi(s + i + 1) * 3600 + atoi(s + i + 4) * 60);
	else
		return false;
	*sec = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + se - off;
	*nsec = frac;
	return true;
}

/* Unix seconds + nanoseconds (+ a duration) as PostgreSQL timestamptz text in UTC. */
char *
format_pg_utc(int64_t sec, int32_t nsec, int64_t plus_ns, char *buf, size_t size)
{
	int64_t		ns = (int64_t) nsec + plus_ns % 1000000000;
	int64_t		s = sec + plus_ns / 1000000000 + ns / 1000000000;
	int64_t		days,
				y;
	int			m,
				d,
				tod;

	ns %= 1000000000;
	days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
	tod = (int) (s - days * 86400);
	civil_from_days(days, &y, &m, &d);
	snprintf(buf, size, "%04" PRId64 "-%02d-%02d %02d:%02d:%02d.%09d+00", y, m, d,
			 tod / 3600, tod / 60 % 60, tod % 60, (int) ns);
	return buf;
}
