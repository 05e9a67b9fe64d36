-- The profiles the extension ships. User rows (builtin = false) are kept by
-- pg_dump; builtin ones come back with the extension.

SELECT pg_catalog.pg_extension_config_dump('coder_scale.profile', 'WHERE NOT builtin');

-- 'default': calibrated so that, after rounding to shapes, it gives what
-- Coder published in January 2026 (validated architectures) for 1,000, 2,000
-- and 3,000 users. Ratio users : running workspaces : builds = 1 : 0.6 : 0.06,
-- one 1 vCPU / 1 GB provisioner daemon per concurrent build, at most 30 per
-- VM, 3 coderd replicas from 1,000 users on surviving one failure, replicas
-- of at most 4 vCPU, database shapes of 3.75 GB per vCPU.
INSERT INTO coder_scale.profile VALUES (
  'default',
  'Coder validated architectures, January 2026 (1,000 / 2,000 / 3,000 users)',
  -- workload
  0.06, 0.6, 1.0, 0.1, 10240, 0.2, 0.5,
  -- coderd cpu: base per replica, per build, per user, per connection,
  -- per connection start, per dashboard user, per MB/s browser, per MB/s ssh
  0.25, 0.02, 0, 0.0005, 0.001, 0.0004, 0.1, 0.01,
  -- coderd memory: base per replica, per build, per user, per connection
  1.0, 0.01, 0.002, 0.002,
  -- database: cpu base, per build, per user; memory base, per build, per user
  0.5, 0.04, 0.0015, 2.0, 0.1, 0.01,
  -- provisioners: daemons per build, cpu and memory per daemon, daemons per host
  1.0, 1.0, 1.0, 30,
  -- headroom and HA
  0.7, 1000, 3, 1, 4,
  -- shapes
  '{1,2,4,8,16}', '{4,8,12,24,48}',
  '{2,4,8,16,32,64,128}', '{7.5,15,30,60,120,240,480}',
  true);

-- 'rules-of-thumb-2024': the older rules of docs/admin/infrastructure/
-- scale-testing.md. coderd: 1 vCPU and 2 GB per 250 users, at least 1 vCPU /
-- 2 GB per replica, whole-vCPU replicas up to 8; provisioners: 1 vCPU and
-- 1 GB per 2 concurrent builds; database: 2 vCPU / 8 GB, plus 2 vCPU for
-- every further 1,000 users. The rules carry their own headroom.
INSERT INTO coder_scale.profile VALUES (
  'rules-of-thumb-2024',
  'Coder scale-testing rules of thumb, 2024-2025',
  0.06, 0.3, 1.0, 0.1, 40960, 0.2, 0.5,
  0, 0, 0.004, 0, 0, 0, 0, 0,
  0, 0, 0.008, 0,
  0, 0, 0.002, 8, 0, 0,
  1.0, 0.5, 0.5, 30,
  1.0, 0, 1, 0, 8,
  '{1,2,3,4,5,6,7,8}', '{2,4,6,8,10,12,14,16}',
  ARRAY(SELECT g FROM generate_series(2, 128, 2) g)::float8[],
  ARRAY(SELECT 4 * g FROM generate_series(2, 128, 2) g)::float8[],
  true);
