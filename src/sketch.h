/*
 * sketch.h: the relative-error quantile sketch (DDSketch family).
 *
 * A value x > 0 falls into bucket k = ceil(log(x) / log(gamma)), the range
 * (gamma^(k-1), gamma^k], with gamma = (1 + alpha) / (1 - alpha); the bucket
 * reports 2 gamma^k / (gamma + 1), within relative error alpha of every value
 * in it.  Negative values use a mirrored store on |x|; zero has its own count.
 *
 * Each store keeps at most SKETCH_MAX_BUCKETS consecutive buckets.  When a
 * store would span more, its lowest buckets (smallest magnitudes) are folded
 * into the lowest bucket kept, so the tail quantiles keep their accuracy.
 * The result depends only on the multiset of values, not on the order of
 * insertion or merging: merging two sketches gives the sketch of the union.
 *
 * The stored form (also the binary send/recv form) is a byte string,
 * architecture independent, every field validated when read:
 *
 *   u8  version (SKETCH_VERSION)      u8  flags (0)
 *   f64 alpha                         varint count, varint zero_count
 *   f64 sum, f64 min, f64 max
 *   store positive, store negative:   zigzag varint first index,
 *                                     varint number of buckets n,
 *                                     n varint counts (first and last > 0)
 *
 * f64 = IEEE 754 binary64, little endian; varint = unsigned LEB128 in its
 * shortest form (one encoding per number, so recv and send are inverses).
 */
#ifndef CODER_SCALE_SKETCH_H
#define CODER_SCALE_SKETCH_H

#include "postgres.h"

#include <math.h>

#define SKETCH_VERSION			1
#define SKETCH_MAX_BUCKETS		4096
#define SKETCH_DEFAULT_ALPHA	0.01
#define SKETCH_MIN_ALPHA		0.0001
#define SKETCH_MAX_ALPHA		0.5

/* One sign's buckets: counts[k - base] for bucket k, nonempty in [lo, hi]. */
typedef struct SketchStore
{
	int64	   *counts;
	int32		base;
	int32		cap;
	int32		lo;
	int32		hi;
	int64		total;			/* 0 = empty, lo and hi meaningless */
} SketchStore;

/* A sketch being built or read; its arrays live in cxt. */
typedef struct Sketch
{
	MemoryContext cxt;
	double		alpha;
	double		inv_log_gamma;	/* 1 / log(gamma) */
	double		log_gamma;
	int64		count;
	int64		zero_count;
	double		sum;
	double		min;
	double		max;
	SketchStore pos;
	SketchStore neg;
} Sketch;

/* Where a byte string came from, to pick the SQLSTATE of a bad one. */
typedef enum SketchSource
{
	SKETCH_FROM_BINARY,			/* recv, sketch_from_bytes: 22P03 */
	SKETCH_FROM_TEXT,			/* text input: 22P02 */
	SKETCH_FROM_STORAGE			/* a stored datum: XX001 */
} SketchSource;

/* core (sketch.c) */
extern void sketch_check_alpha(double alpha);
extern Sketch *sketch_create(MemoryContext cxt, double alpha);

/* Bucket of a finite magnitude > 0; always inside int32 for alpha >= 1e-4. */
static inline int32
sketch_index(const Sketch *sk, double magnitude)
{
	return (int32) ceil(log(magnitude) * sk->inv_log_gamma);
}

extern double sketch_bucket_value(const Sketch *sk, int32 k);
extern void sketch_add(Sketch *sk, double value);
extern void sketch_add_count(Sketch *sk, double value, int64 n);
extern void sketch_merge(Sketch *into, const Sketch *from);
extern double sketch_quantile(const Sketch *sk, double q);
extern double sketch_rank(const Sketch *sk, double value);

/* codec (sketch.c) */
extern bytea *sketch_encode(const Sketch *sk);
extern Sketch *sketch_decode(const char *data, int len, SketchSource src,
							 MemoryContext cxt);
extern void sketch_finish(Sketch *sk, SketchSource src);
extern void sketch_validate(const Sketch *sk, SketchSource src);
extern Sketch *sketch_from_datum(Datum d);

/* errors with the SQLSTATE of the source */
extern int	sketch_errcode(SketchSource src);

#endif							/* CODER_SCALE_SKETCH_H */
