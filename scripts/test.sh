#!/usr/bin/env bash
# README command 2: every test, on a throwaway private cluster.
#   pgTAP through pg_regress (make installcheck) and through pg_prove,
#   then the client tests in test/client/.
source "$(dirname "$0")/lib.sh"

test_setup

status=0
passed=0
failed=0
# tally SUITE OK: count one suite (pg_regress, pg_prove, each client script).
tally() { if [ "$2" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi; }

say "pgTAP through pg_regress (make installcheck)"
rc=0
make -C "$ROOT" -s installcheck || rc=$?
if [ $rc -ne 0 ] && [ -f "$ROOT/regression.diffs" ]; then head -n 200 "$ROOT/regression.diffs" >&2; fi
tally pg_regress $rc

say "pgTAP through pg_prove"
psql -X -q -d postgres -c "CREATE DATABASE prove" >/dev/null
psql -X -q -d prove -c "CREATE EXTENSION pgtap" >/dev/null
rc=0
(cd "$ROOT" && PGDATABASE=prove pg_prove --failures --ext .sql test/sql/) || rc=$?
tally pg_prove $rc

say "upgrade path (test/upgrade/run.sh)"
rc=0
bash "$ROOT/test/upgrade/run.sh" || rc=$?
tally upgrade $rc

say "type fuzzer, short run (test/fuzz)"
rc=0
bash "$ROOT/test/fuzz/run.sh" 3000 || rc=$?
tally fuzz $rc

say "Debian packages: does DEB_PACKAGES name every one the build uses? (scripts/check-packages.sh)"
rc=0
bash "$ROOT/scripts/check-packages.sh" || rc=$?
tally check-packages $rc

say "the scripts themselves (test/scripts): a whole first run in a throwaway folder"
for t in "$ROOT"/test/scripts/*.sh; do
  rc=0
  bash "$t" || rc=$?
  if [ $rc -eq 0 ]; then echo "ok - scripts $(basename "$t" .sh)"; else echo "not ok - scripts $(basename "$t" .sh)"; fi
  tally "$t" $rc
done

if compgen -G "$ROOT/test/client/*.sh" >/dev/null; then
  say "client tests (test/client)"
  for t in "$ROOT"/test/client/*.sh; do
    rc=0
    bash "$t" || rc=$?
    if [ $rc -eq 0 ]; then echo "ok - client $(basename "$t" .sh)"; else echo "not ok - client $(basename "$t" .sh)"; fi
    tally "$t" $rc
  done
fi

if [ $status -eq 0 ]; then say "all tests passed"; else say "some tests FAILED"; fi
echo "Suites: $passed passed, $failed failed"
exit $status
