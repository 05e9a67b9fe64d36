-- The morning burst: a build-queue model (burst.c).

CREATE FUNCTION coder_scale.burst(
  builds int, replicas int, daemons_per_replica int,
  build_time interval, build_time_stddev interval DEFAULT '0',
  OUT slots int, OUT waves int, OUT last_start interval, OUT last_finish interval,
  OUT mean_wait interval, OUT p95_wait interval)
AS 'MODULE_PATHNAME', 'coder_scale_burst'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION coder_scale.burst(int, int, int, interval, interval) IS
  'builds started at once on replicas x daemons slots (FIFO): waves, when the last build starts and finishes (means), mean and p95 wait in the queue';

CREATE FUNCTION coder_scale.daemons_for_wait(
  builds int, p95_wait interval, build_time interval,
  build_time_stddev interval DEFAULT '0', replicas int DEFAULT 1,
  OUT daemons int, OUT daemons_per_replica int, OUT p95_wait interval)
AS 'MODULE_PATHNAME', 'coder_scale_daemons_for_wait'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION coder_scale.daemons_for_wait(int, interval, interval, interval, int) IS
  'Fewest provisioner daemons (total, and per replica) that keep the p95 queue wait of a burst of builds at or under the target';
