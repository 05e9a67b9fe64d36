/*
 * util.h: small building blocks of the stand-in: a string-keyed hash map, a
 * seeded random source, Go-style durations and distributions, RFC 3339 times,
 * UUIDs, a Fenwick tree (queue positions), a timer heap and a text buffer.  None of them is
 * thread-safe; the x* allocators and token_new exit the process
 * (EXIT_INTERNAL) instead of returning a failure.  A zeroed hmap, fenwick or
 * theap is a valid empty one.
 */
#ifndef STANDIN_UTIL_H
#define STANDIN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Exit codes of coder-standin, in one place.  They are the numbers of
 * coder-scale's EXIT_* (client/cli.h) where the meanings overlap: 2 is a bad
 * command line, 4 something unexpected; 3, "unreachable" for the client, is
 * here the address the stand-in cannot listen on.
 */
enum standin_exit
{
	EXIT_OK = 0,				/* --help, or stopped by SIGINT or SIGTERM */
	EXIT_USAGE = 2,				/* bad flags, or --token-file cannot be written */
	EXIT_CANNOT_LISTEN = 3,		/* --listen or --metrics-listen cannot be bound */
	EXIT_INTERNAL = 4			/* out of memory, no /dev/urandom, no lws context */
};

/* ---- hash map: string key (copied) -> pointer (not owned) ---- */
struct hent;
typedef struct hmap
{
	struct hent **b;
	size_t		nb;
	size_t		n;
} hmap;

void	   *hmap_get(const hmap *m, const char *key);
void		hmap_put(hmap *m, const char *key, void *val);
void	   *hmap_del(hmap *m, const char *key);

/* ---- random numbers (xoshiro256**) ---- */
typedef struct rng
{
	uint64_t	s[4];
} rng;

void		rng_seed(rng *r, uint64_t seed);
uint64_t	rng_next(rng *r);
bool		rng_hit(rng *r, double rate);	/* true with probability rate */

/* ---- durations and distributions (microseconds) ---- */
int64_t		parse_duration(const char *s);	/* -1 when malformed */

enum dist_kind
{
	DIST_CONST, DIST_NORMAL, DIST_UNIFORM, DIST_EXP
};
typedef struct dist
{
	enum dist_kind kind;
	int64_t		a;
	int64_t		b;
} dist;

int			parse_dist(const char *s, dist *d);	/* 0 ok, -1 malformed */
int64_t		dist_sample(const dist *d, rng *r);
int64_t		dist_mean(const dist *d);	/* no draw */

/* ---- clocks ---- */
int64_t		wall_us(void);		/* CLOCK_REALTIME */
int64_t		mono_us(void);		/* CLOCK_MONOTONIC */
void		fmt_time(int64_t wall, char out[40]);	/* RFC 3339, Go style */

/* ---- ids ---- */
void		uuid_new(rng *r, char out[37]);
bool		uuid_valid(const char *s);
void		token_new(char out[40]);	/* from /dev/urandom: ID-SECRET */

/* ---- Fenwick tree over sequence numbers 1.. ---- */
typedef struct fenwick
{
	int		   *t;
	size_t		n;
} fenwick;

void		fenwick_add(fenwick *f, size_t i, int d);
long		fenwick_prefix(const fenwick *f, size_t i);

/* ---- timer heap ---- */
typedef void (*timer_fn) (void *obj, uint32_t gen);
typedef struct timer
{
	int64_t		at;				/* mono_us deadline */
	uint64_t	seq;
	timer_fn	fn;
	void	   *obj;
	uint32_t	gen;
} timer;
typedef struct theap
{
	timer	   *h;
	size_t		n;
	size_t		cap;
	uint64_t	seq;
} theap;

void		theap_push(theap *t, int64_t at, timer_fn fn, void *obj, uint32_t gen);
bool		theap_pop_due(theap *t, int64_t now, timer *out);
int64_t		theap_next(const theap *t);	/* -1 when empty */

/* ---- growable text buffer (a zeroed one is empty) ---- */
typedef struct strbuf
{
	char	   *p;
	size_t		len;
	size_t		cap;
} strbuf;

void		sb_add(strbuf *s, const char *data, size_t n);
void		sb_printf(strbuf *s, const char *fmt,...) __attribute__((format(printf, 2, 3)));
void		sb_json_str(strbuf *s, const char *str);	/* a JSON string, as Go escapes it */

/* ---- misc ---- */
void	   *xmalloc(size_t n);
void	   *xcalloc(size_t n, size_t sz);
void	   *xrealloc(void *p, size_t n);
char	   *xstrdup(const char *s);
bool		contains_ci(const char *hay, const char *needle);

#endif
