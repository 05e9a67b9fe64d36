#!/usr/bin/env bash
# The client names the failure categories and the run phases once
# (client/common/categories.h); both lists must be the results schema's:
# the categories of coder_scale.failure_category in sort_order, the phases
# the interval columns of coder_scale.run_result in table order (less the
# whole run's duration).  A category or phase added on one side only fails here.
source "$(dirname "$0")/8_scaletest_lib.inc"
db_setup

cc -std=gnu11 -Wall -Wextra -Werror -I"$ROOT/client" -o "$T/list" "$ROOT/test/client/c/categories_list.c"
"$T/list" >"$T/client"
{
  q "SELECT 'category ' || name FROM coder_scale.failure_category ORDER BY sort_order"
  q "SELECT 'phase ' || column_name FROM information_schema.columns
     WHERE table_schema = 'coder_scale' AND table_name = 'run_result'
       AND data_type = 'interval' AND column_name <> 'duration' ORDER BY ordinal_position"
} >"$T/schema"
check "the client lists 10 categories and 7 phases" "10 7" \
  "$(grep -c '^category ' "$T/client") $(grep -c '^phase ' "$T/client")"
check "the client's categories and phases are the schema's, in its order" "" "$(diff "$T/schema" "$T/client")"

# The driver stores what the summary counts by these names: a run that
# cannot reach its agents is agent_timeout, worded by the table.
si_start --build-time 0 --agent-delay 1h
rc=0
st -t docker -c 1 --job-timeout 1s --label cat >"$T/out" 2>"$T/err" || rc=$?
check "a run whose agent never connects fails (exit 1)" 1 $rc
check "... stored as agent_timeout" agent_timeout "$(q "SELECT failure_category FROM coder_scale.run_result")"
check "... and summed with the table's wording" "0 succeeded, 1 failed to connect" "$(grep -m1 '^[0-9]* succeeded' "$T/err")"
done_testing
