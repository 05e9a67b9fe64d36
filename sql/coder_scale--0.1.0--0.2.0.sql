-- coder_scale 0.1.0 -> 0.2.0.  Every change made to sql/parts since 0.1.0, in
-- the same words; test/upgrade/run.sh checks that 0.1.0 + this script gives
-- the catalog a fresh 0.2.0 install gives, and that stored data survives.
\echo Use "ALTER EXTENSION coder_scale UPDATE TO '0.2.0'" to load this file. \quit
