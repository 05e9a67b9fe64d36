-- The latency sketch: a relative-error quantile sketch (DDSketch family).
-- C in src/sketch*.c; layout and bucket rules in src/sketch.h.

CREATE TYPE coder_scale.sketch;

CREATE FUNCTION coder_scale.sketch_in(cstring) RETURNS coder_scale.sketch
  AS 'MODULE_PATHNAME', 'sketch_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.sketch_out(coder_scale.sketch) RETURNS cstring
  AS 'MODULE_PATHNAME', 'sketch_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.sketch_recv(internal) RETURNS coder_scale.sketch
  AS 'MODULE_PATHNAME', 'sketch_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.sketch_send(coder_scale.sketch) RETURNS bytea
  AS 'MODULE_PATHNAME', 'sketch_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE coder_scale.sketch (
  INPUT = coder_scale.sketch_in,
  OUTPUT = coder_scale.sketch_out,
  RECEIVE = coder_scale.sketch_recv,
  SEND = coder_scale.sketch_send,
  INTERNALLENGTH = VARIABLE,
  STORAGE = extended
);

COMMENT ON TYPE coder_scale.sketch IS
  'Mergeable quantile sketch: every quantile within relative error alpha (default 1%) of a true value; '
  'at most 4096 buckets per sign (1 microsecond to 1 day at 1% needs 1260)';
COMMENT ON FUNCTION coder_scale.sketch_in(cstring) IS 'Text input of coder_scale.sketch, fully validated';
COMMENT ON FUNCTION coder_scale.sketch_out(coder_scale.sketch) IS 'Text output of coder_scale.sketch';
COMMENT ON FUNCTION coder_scale.sketch_recv(internal) IS 'Binary input of coder_scale.sketch, fully validated';
COMMENT ON FUNCTION coder_scale.sketch_send(coder_scale.sketch) IS
  'Binary output of coder_scale.sketch (its stored bytes, version byte first)';

CREATE FUNCTION coder_scale.sketch_from_bytes(bytes bytea) RETURNS coder_scale.sketch
  AS 'MODULE_PATHNAME', 'sketch_from_bytes' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION coder_scale.sketch_from_bytes(bytea) IS
  'The sketch whose binary form (sketch_send) is bytes; checked as binary input is';

-- Aggregate support: internal state, parallel safe.
CREATE FUNCTION coder_scale.sketch_agg_trans(internal, float8) RETURNS internal
  AS 'MODULE_PATHNAME', 'sketch_agg_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION coder_scale.sketch_agg_trans(internal, float8, float8) RETURNS internal
  AS 'MODULE_PATHNAME', 'sketch_agg_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION coder_scale.sketch_rollup_trans(internal, coder_scale.sketch) RETURNS internal
  AS 'MODULE_PATHNAME', 'sketch_rollup_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION coder_scale.sketch_agg_combine(internal, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'sketch_agg_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION coder_scale.sketch_agg_serialize(internal) RETURNS bytea
  AS 'MODULE_PATHNAME', 'sketch_agg_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.sketch_agg_deserialize(bytea, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'sketch_agg_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.sketch_agg_final(internal) RETURNS coder_scale.sketch
  AS 'MODULE_PATHNAME', 'sketch_agg_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION coder_scale.sketch_agg_trans(internal, float8) IS 'sketch_agg transition: add a value';
COMMENT ON FUNCTION coder_scale.sketch_agg_trans(internal, float8, float8) IS
  'sketch_agg transition: add a value, with the accuracy alpha';
COMMENT ON FUNCTION coder_scale.sketch_rollup_trans(internal, coder_scale.sketch) IS
  'rollup transition: merge a stored sketch';
COMMENT ON FUNCTION coder_scale.sketch_agg_combine(internal, internal) IS
  'sketch_agg and rollup: merge two partial states';
COMMENT ON FUNCTION coder_scale.sketch_agg_serialize(internal) IS
  'sketch_agg and rollup: partial state to bytes';
COMMENT ON FUNCTION coder_scale.sketch_agg_deserialize(bytea, internal) IS
  'sketch_agg and rollup: bytes to partial state';
COMMENT ON FUNCTION coder_scale.sketch_agg_final(internal) IS
  'sketch_agg and rollup: state to sketch, NULL for an empty group';

CREATE AGGREGATE coder_scale.sketch_agg(value float8) (
  SFUNC = coder_scale.sketch_agg_trans, STYPE = internal,
  FINALFUNC = coder_scale.sketch_agg_final,
  COMBINEFUNC = coder_scale.sketch_agg_combine,
  SERIALFUNC = coder_scale.sketch_agg_serialize,
  DESERIALFUNC = coder_scale.sketch_agg_deserialize,
  PARALLEL = SAFE
);
CREATE AGGREGATE coder_scale.sketch_agg(value float8, alpha float8) (
  SFUNC = coder_scale.sketch_agg_trans, STYPE = internal,
  FINALFUNC = coder_scale.sketch_agg_final,
  COMBINEFUNC = coder_scale.sketch_agg_combine,
  SERIALFUNC = coder_scale.sketch_agg_serialize,
  DESERIALFUNC = coder_scale.sketch_agg_deserialize,
  PARALLEL = SAFE
);
CREATE AGGREGATE coder_scale.rollup(coder_scale.sketch) (
  SFUNC = coder_scale.sketch_rollup_trans, STYPE = internal,
  FINALFUNC = coder_scale.sketch_agg_final,
  COMBINEFUNC = coder_scale.sketch_agg_combine,
  SERIALFUNC = coder_scale.sketch_agg_serialize,
  DESERIALFUNC = coder_scale.sketch_agg_deserialize,
  PARALLEL = SAFE
);

COMMENT ON AGGREGATE coder_scale.sketch_agg(float8) IS
  'Sketch of the values (NULL skipped; NaN and infinity rejected), alpha 0.01; NULL for no values';
COMMENT ON AGGREGATE coder_scale.sketch_agg(float8, float8) IS
  'Sketch of the values with relative accuracy alpha (0.0001 to 0.5, same for every row)';
COMMENT ON AGGREGATE coder_scale.rollup(coder_scale.sketch) IS
  'Merge stored sketches (same alpha): exactly the sketch of all their values';

-- Accessors.
CREATE FUNCTION coder_scale.approx_percentile(q float8, s coder_scale.sketch) RETURNS float8
  AS 'MODULE_PATHNAME', 'sketch_approx_percentile' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.approx_percentiles(qs float8[], s coder_scale.sketch) RETURNS float8[]
  AS 'MODULE_PATHNAME', 'sketch_approx_percentiles' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.approx_percentile_rank(value float8, s coder_scale.sketch) RETURNS float8
  AS 'MODULE_PATHNAME', 'sketch_approx_percentile_rank' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.num_vals(s coder_scale.sketch) RETURNS bigint
  AS 'MODULE_PATHNAME', 'sketch_num_vals' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.sketch_sum(s coder_scale.sketch) RETURNS float8
  AS 'MODULE_PATHNAME', 'sketch_sum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.mean(s coder_scale.sketch) RETURNS float8
  AS 'MODULE_PATHNAME', 'sketch_mean' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.min_val(s coder_scale.sketch) RETURNS float8
  AS 'MODULE_PATHNAME', 'sketch_min_val' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.max_val(s coder_scale.sketch) RETURNS float8
  AS 'MODULE_PATHNAME', 'sketch_max_val' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.error_bound(s coder_scale.sketch) RETURNS float8
  AS 'MODULE_PATHNAME', 'sketch_error_bound' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION coder_scale.approx_percentile(float8, coder_scale.sketch) IS
  'Value at quantile q (0..1) within relative error alpha; exact min at 0 and max at 1';
COMMENT ON FUNCTION coder_scale.approx_percentiles(float8[], coder_scale.sketch) IS
  'approx_percentile for each quantile of the array (NULL elements stay NULL)';
COMMENT ON FUNCTION coder_scale.approx_percentile_rank(float8, coder_scale.sketch) IS
  'Fraction of the values whose bucket reports a value <= value (0 below min, 1 at or above max)';
COMMENT ON FUNCTION coder_scale.num_vals(coder_scale.sketch) IS 'Number of values in the sketch';
COMMENT ON FUNCTION coder_scale.sketch_sum(coder_scale.sketch) IS 'Sum of the values in the sketch';
COMMENT ON FUNCTION coder_scale.mean(coder_scale.sketch) IS 'Mean of the values in the sketch';
COMMENT ON FUNCTION coder_scale.min_val(coder_scale.sketch) IS 'Smallest value in the sketch (exact)';
COMMENT ON FUNCTION coder_scale.max_val(coder_scale.sketch) IS 'Largest value in the sketch (exact)';
COMMENT ON FUNCTION coder_scale.error_bound(coder_scale.sketch) IS
  'Relative accuracy alpha the sketch was built with';

-- Prometheus histograms.
CREATE FUNCTION coder_scale.sketch_from_histogram(le float8[], cumulative_counts float8[],
                                                  alpha float8 DEFAULT 0.01)
  RETURNS coder_scale.sketch
  AS 'MODULE_PATHNAME', 'sketch_from_histogram' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION coder_scale.sketch_from_histogram(float8[], float8[], float8) IS
  'Sketch from cumulative Prometheus _bucket{le} counts ending with le=+Inf; each bucket''s values '
  'placed at 2*lo*hi/(lo+hi) (first bucket at its bound, +Inf bucket at the last finite bound)';
