/*
 * goduration.c: parse and print Go's time.Duration text form.
 */
#include <stdio.h>
#include <string.h>

#include "goduration.h"

#define NS_MAX INT64_MAX

typedef struct unit
{
	const char *name;
	int64_t		ns;
} unit;

/* Go accepts both micro signs: U+00B5 and U+03BC. */
static const unit units[] = {
	{"ns", 1},
	{"us", 1000},
	{"\xc2\xb5s", 1000},
	{"\xce\xbcs", 1000},
	{"ms", 1000000},
	{"s", 1000000000},
	{"m", 60LL * 1000000000},
	{"h", 3600LL * 1000000000},
};

static const unit *
find_unit(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == len && memcmp(units[i].name, s, len) == 0)
			return &units[i];
	return NULL;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool
go_duration_parse(const char *s, int64_t *ns, const char **why)
{
	bool		neg = false;
	unsigned __int128 total = 0;
	/* a negative duration may reach one more than INT64_MAX */
	unsigned __int128 limit;

	if (*s == '-' || *s == '+')
		neg = (*s++ == '-');
	limit = neg ? (unsigned __int128) NS_MAX + 1 : (unsigned __int128) NS_MAX;
	if (strcmp(s, "0") == 0)
	{
		*ns = 0;
		return true;
	}
	if (*s == '\0')
	{
		*why = "empty duration";
		return false;
	}
	while (*s)
	{
		unsigned __int128 whole = 0,
					frac = 0,
					scale = 1,
					part;
		bool		pre = false,
					post = false;
		const char *u;
		const unit *un;

		if (!is_digit(*s) && *s != '.')
		{
			*why = "expected a number";
			return false;
		}
		for (; is_digit(*s); s++)
		{
			whole = whole * 10 + (unsigned) (*s - '0');
			if (whole > limit)
			{
				*why = "duration out of range";
				return false;
			}
			pre = true;
		}
		if (*s == '.')
		{
			for (s++; is_digit(*s); s++)
			{
				/* digits beyond nanoseconds of an hour cannot matter */
				if (scale < (unsigned __int128) 1000000000000000000ULL * 1000)
				{
					frac = frac * 10 + (unsigned) (*s - '0');
					scale *= 10;
				}
				post = true;
			}
		}
		if (!pre && !post)
		{
			*why = "a number needs a digit";
			return false;
		}
		for (u = s; *s && *s != '.' && !is_digit(*s); s++)
			;
		if (s == u)
		{
			*why = "missing unit (ns, us, ms, s, m or h)";
			return false;
		}
		if ((un = find_unit(u, (size_t) (s - u))) == NULL)
		{
			*why = "unknown unit (expected ns, us, ms, s, m or h)";
			return false;
		}
		part = whole * (unsigned __int128) un->ns + frac * (unsigned __int128) un->ns / scale;
		if (whole > limit || part > limit || (total += part) > limit)
		{
			*why = "duration out of range";
			return false;
		}
	}
	*ns = neg ? (int64_t) (0 - (uint64_t) total) : (int64_t) total;
	return true;
}

/* Append the fraction v % 10^prec, without trailing zeros; returns v / 10^prec. */
static uint64_t
put_frac(char *out, size_t *len, uint64_t v, int prec)
{
	char		digits[16];
	int			n = 0;
	bool		any = false;

	for (int i = 0; i < prec; i++)
	{
		int			d = (int) (v % 10);

		any = any || d != 0;
		if (any)
			digits[n++] = (char) ('0' + d);
		v /= 10;
	}
	if (n > 0)
	{
		out[(*len)++] = '.';
		while (n > 0)
			out[(*len)++] = digits[--n];
	}
	return v;
}

char *
go_duration_format(int64_t ns, char *buf, size_t size)
{
	/* Go writes right to left; we build the parts and print them in order. */
	uint64_t	u = ns < 0 ? 0 - (uint64_t) ns : (uint64_t) ns;
	const char *sign = ns < 0 ? "-" : "";
	char		frac[24];
	size_t		flen = 0;

	frac[0] = '\0';
	if (u == 0)
		snprintf(buf, size, "0s");
	else if (u < 1000)
		snprintf(buf, size, "%s%lluns", sign, (unsigned long long) u);
	else if (u < 1000000)
	{
		uint64_t	w = put_frac(frac, &flen, u, 3);

		frac[flen] = '\0';
		snprintf(buf, size, "%s%llu%s\xc2\xb5s", sign, (unsigned long long) w, frac);
	}
	else if (u < 1000000000)
	{
		uint64_t	w = put_frac(frac, &flen, u, 6);

		frac[flen] = '\0';
		snprintf(buf, size, "%s%llu%sms", sign, (unsigned long long) w, frac);
	}
	else
	{
		uint64_t	secs = put_frac(frac, &flen, u, 9);
		uint64_t	mins = secs / 60,
					hours = mins / 60;

		frac[flen] = '\0';
		if (hours > 0)
			snprintf(buf, size, "%s%lluh%llum%llu%ss", sign, (unsigned long long) hours,
					 (unsigned long long) (mins % 60), (unsigned long long) (secs % 60), frac);
		else if (mins > 0)
			snprintf(buf, size, "%s%llum%llu%ss", sign, (unsigned long long) mins,
					 (unsigned long long) (secs % 60), frac);
		else
			snprintf(buf, size, "%s%llu%ss", sign, (unsigned long long) secs, frac);
	}
	return buf;
}
