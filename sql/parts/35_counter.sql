-- Prometheus counter rates: counter_agg(time, value) and its accessors.
-- C in src/counter_agg.c (rules for resets, duplicates and NaN there).

CREATE TYPE coder_scale.counter_summary;

CREATE FUNCTION coder_scale.counter_summary_in(cstring) RETURNS coder_scale.counter_summary
  AS 'MODULE_PATHNAME', 'counter_summary_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.counter_summary_out(coder_scale.counter_summary) RETURNS cstring
  AS 'MODULE_PATHNAME', 'counter_summary_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.counter_summary_recv(internal) RETURNS coder_scale.counter_summary
  AS 'MODULE_PATHNAME', 'counter_summary_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.counter_summary_send(coder_scale.counter_summary) RETURNS bytea
  AS 'MODULE_PATHNAME', 'counter_summary_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE coder_scale.counter_summary (
  INPUT = coder_scale.counter_summary_in,
  OUTPUT = coder_scale.counter_summary_out,
  RECEIVE = coder_scale.counter_summary_recv,
  SEND = coder_scale.counter_summary_send,
  INTERNALLENGTH = VARIABLE,
  ALIGNMENT = double,
  STORAGE = plain
);

COMMENT ON TYPE coder_scale.counter_summary IS
  'First and last sample, sample and reset counts and increase of a Prometheus counter over a group';
COMMENT ON FUNCTION coder_scale.counter_summary_in(cstring) IS
  'Text input of coder_scale.counter_summary, fully validated';
COMMENT ON FUNCTION coder_scale.counter_summary_out(coder_scale.counter_summary) IS
  'Text output of coder_scale.counter_summary (times in Unix seconds)';
COMMENT ON FUNCTION coder_scale.counter_summary_recv(internal) IS
  'Binary input of coder_scale.counter_summary, fully validated';
COMMENT ON FUNCTION coder_scale.counter_summary_send(coder_scale.counter_summary) IS
  'Binary output of coder_scale.counter_summary (version byte first)';

CREATE FUNCTION coder_scale.counter_agg_trans(internal, timestamptz, float8) RETURNS internal
  AS 'MODULE_PATHNAME', 'counter_agg_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION coder_scale.counter_agg_combine(internal, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'counter_agg_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION coder_scale.counter_agg_serialize(internal) RETURNS bytea
  AS 'MODULE_PATHNAME', 'counter_agg_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.counter_agg_deserialize(bytea, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'counter_agg_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.counter_agg_final(internal) RETURNS coder_scale.counter_summary
  AS 'MODULE_PATHNAME', 'counter_agg_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION coder_scale.counter_agg_trans(internal, timestamptz, float8) IS
  'counter_agg transition: keep a sample';
COMMENT ON FUNCTION coder_scale.counter_agg_combine(internal, internal) IS
  'counter_agg: merge two partial states';
COMMENT ON FUNCTION coder_scale.counter_agg_serialize(internal) IS 'counter_agg: partial state to bytes';
COMMENT ON FUNCTION coder_scale.counter_agg_deserialize(bytea, internal) IS
  'counter_agg: bytes to partial state';
COMMENT ON FUNCTION coder_scale.counter_agg_final(internal) IS
  'counter_agg: sort the samples by time and summarize them; NULL for an empty group';

CREATE AGGREGATE coder_scale.counter_agg(ts timestamptz, value float8) (
  SFUNC = coder_scale.counter_agg_trans, STYPE = internal,
  FINALFUNC = coder_scale.counter_agg_final,
  COMBINEFUNC = coder_scale.counter_agg_combine,
  SERIALFUNC = coder_scale.counter_agg_serialize,
  DESERIALFUNC = coder_scale.counter_agg_deserialize,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE coder_scale.counter_agg(timestamptz, float8) IS
  'Summary of a Prometheus counter''s samples in any order: a decrease is a reset; NULL and NaN '
  'skipped; of equal times the largest value kept; 16 bytes of memory per sample';

CREATE FUNCTION coder_scale.increase(cs coder_scale.counter_summary) RETURNS float8
  AS 'MODULE_PATHNAME', 'counter_increase' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.rate(cs coder_scale.counter_summary) RETURNS float8
  AS 'MODULE_PATHNAME', 'counter_rate' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.num_resets(cs coder_scale.counter_summary) RETURNS bigint
  AS 'MODULE_PATHNAME', 'counter_num_resets' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION coder_scale.time_delta(cs coder_scale.counter_summary) RETURNS float8
  AS 'MODULE_PATHNAME', 'counter_time_delta' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION coder_scale.increase(coder_scale.counter_summary) IS
  'Increase of the counter from first to last sample, counting from 0 after each reset (no extrapolation)';
COMMENT ON FUNCTION coder_scale.rate(coder_scale.counter_summary) IS
  'increase / time_delta, per second; NULL for a single sample';
COMMENT ON FUNCTION coder_scale.num_resets(coder_scale.counter_summary) IS
  'Number of decreases (counter resets) between the samples';
COMMENT ON FUNCTION coder_scale.time_delta(coder_scale.counter_summary) IS
  'Seconds between the first and the last sample';
