/*
 * ratelimit.c: coderd's rate limits.  coderd/httpmw/ratelimit.go (RateLimit)
 * puts go-chi/httprate's limiter in front of every /api/v2 route (coderd.go:
 * apiRateLimiter, --api-rate-limit, default 512) and a second one in front of
 * POST /users/login (cli/server.go: loginRateLimit := 60); both count per
 * minute and key, and --dangerous-disable-rate-limits turns both off.
 *
 * The key is the caller's user id when the request has a valid session token,
 * else its IP address, then the URL path (httprate.KeyByEndpoint): every
 * path counts on its own.  The count is httprate's sliding window (limiter.go,
 * calculateRate; local_counter.go): wall-clock minutes, the previous minute's
 * count weighted by the share of it still inside the last 60 s, plus this
 * minute's; a request is refused when round(rate) + 1 > limit, and a refused
 * request is not counted.  With X-Coder-Bypass-Ratelimit true (Go's
 * strconv.ParseBool) a user with the owner role is not limited at all (coderd
 * gives it a random key each time) and any other user is refused with 428.
 *
 * A key's counts live in a hash map; keys whose counts have both aged out of
 * the window are dropped once a minute.
 */
#include "server.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW_US 60000000LL

/* The counts of one key: its current minute's and the one before. */
struct count
{
	int64_t		window;			/* wall_us start of the minute cur counts */
	long		cur;
	long		prev;
	struct count *next;			/* every count of its limiter, for the sweep */
	char		key[];
};

struct limiter
{
	hmap		counts;
	struct count *all;
	int64_t		last_sweep;
};

static struct limiter limiters[2];	/* RL_API, RL_LOGIN */

/* The limit of limiter WHICH from the flags; <= 0 is off. */
static int
limit_of(enum rl_which which)
{
	return which == RL_API ? deployment.cfg.api_rate_limit : deployment.cfg.login_rate_limit;
}

/* Go's strconv.ParseBool, true side: "1", "t", "T", "TRUE", "true", "True". */
bool
go_parse_bool_true(const char *s)
{
	static const char *yes[] = {"1", "t", "T", "TRUE", "true", "True"};

	for (int i = 0; i < 6; i++)
		if (strcmp(s, yes[i]) == 0)
			return true;
	return false;
}

/* Drop the counts of L that no longer weigh in the window of NOW. */
static void
sweep(struct limiter *l, int64_t window)
{
	struct count **pp = &l->all;

	while (*pp)
	{
		struct count *c = *pp;

		if (c->window < window - WINDOW_US)
		{
			*pp = c->next;
			hmap_del(&l->counts, c->key);
			free(c);
		}
		else
			pp = &c->next;
	}
	l->last_sweep = window;
}

/* KEY's counts moved on to the minute starting at WINDOW (made when new and MAKE). */
static struct count *
count_at(struct limiter *l, const char *key, int64_t window, bool make)
{
	struct count *c = hmap_get(&l->counts, key);
	size_t		n;

	if (!c)
	{
		if (!make)
			return NULL;
		n = strlen(key) + 1;
		c = xcalloc(1, sizeof(*c) + n);
		memcpy(c->key, key, n);
		c->window = window;
		c->next = l->all;
		l->all = c;
		hmap_put(&l->counts, c->key, c);
		return c;
	}
	if (c->window == window - WINDOW_US)
	{
		c->prev = c->cur;
		c->cur = 0;
		c->window = window;
	}
	else if (c->window < window)
	{
		c->prev = c->cur = 0;
		c->window = window;
	}
	return c;
}

/*
 * Count a request against limiter WHICH: user U (NULL: none, keyed by IP)
 * with the bypass header asked for (BYPASS) or not, from IP, to PATH.
 * Fills OUT: whether it passes, and the X-RateLimit-* values to answer with.
 */
void
ratelimit_check(enum rl_which which, const struct user *u, bool bypass,
				const char *ip, const char *path, struct rl_result *out)
{
	struct limiter *l = &limiters[which];
	int			limit = limit_of(which);
	int64_t		now = wall_us();
	int64_t		window = now - now % WINDOW_US;
	char		key[700];
	struct count *c;
	double		rate;
	long		r;

	memset(out, 0, sizeof(*out));
	out->outcome = RL_PASS;
	if (limit <= 0)
		return;					/* off: no key is even looked at */
	if (u && bypass && !u->is_owner)
	{
		out->outcome = RL_NOT_OWNER;
		return;
	}
	out->limit = limit;
	out->reset = (window + WINDOW_US) / 1000000;
	if (u && bypass)
	{
		out->remaining = limit - 1; /* a fresh random key: nothing counted */
		return;
	}
	if (now - l->last_sweep >= WINDOW_US)
		sweep(l, window);
	snprintf(key, sizeof(key), "%s:%s:", u ? u->id : ip, path);
	c = count_at(l, key, window, false);
	rate = c ? c->prev * (double) (WINDOW_US - (now - window)) / WINDOW_US + c->cur : 0;
	r = lround(rate);
	if (r + 1 > limit)
	{
		out->outcome = RL_LIMITED;
		out->remaining = limit - r;
		return;
	}
	count_at(l, key, window, true)->cur++;
	out->remaining = limit - r - 1;
}
