-- The schema itself is created by CREATE EXTENSION (coder_scale.control names it).
COMMENT ON SCHEMA coder_scale IS
  'coder_scale: sizing model, scale-test results and fast aggregates for Coder deployments';
