-- Model calculations kept beside the runs that justify them.

CREATE TABLE coder_scale.model_calculation (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  created_at        timestamptz NOT NULL DEFAULT now(),
  label             text,
  function          text NOT NULL CHECK (function IN ('recommend')),
  inputs            jsonb NOT NULL CHECK (jsonb_typeof(inputs) = 'object'),
  profile_name      text NOT NULL,
  profile_snapshot  jsonb NOT NULL CHECK (jsonb_typeof(profile_snapshot) = 'object'),
  outputs           jsonb NOT NULL CHECK (jsonb_typeof(outputs) = 'object')
);
COMMENT ON TABLE coder_scale.model_calculation IS
  'Recorded model calculations: inputs, a snapshot of the profile used (later edits do not change it), outputs and time';
SELECT pg_catalog.pg_extension_config_dump('coder_scale.model_calculation', '');
SELECT pg_catalog.pg_extension_config_dump('coder_scale.model_calculation_id_seq', '');

CREATE FUNCTION coder_scale.record_recommendation(users int, profile text DEFAULT 'default', label text DEFAULT NULL)
RETURNS coder_scale.model_calculation
LANGUAGE sql VOLATILE
BEGIN ATOMIC
  INSERT INTO coder_scale.model_calculation (label, function, inputs, profile_name, profile_snapshot, outputs)
  SELECT record_recommendation.label, 'recommend',
         jsonb_build_object('users', record_recommendation.users, 'profile', record_recommendation.profile),
         p.name, to_jsonb(p), to_jsonb(coder_scale.size(record_recommendation.users, p))
  FROM coder_scale.get_profile(record_recommendation.profile) AS p
  RETURNING *;
END;
COMMENT ON FUNCTION coder_scale.record_recommendation(int, text, text) IS
  'Compute a recommendation and keep it in coder_scale.model_calculation with a snapshot of the profile; returns the stored row';
