# Shared by test/client/7*_standin*.sh: start and stop coder-standin on a free
# loopback port (port 0, read back from its CODER_URL= line).  Source it; do
# not run it.
set -euo pipefail
STANDIN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
STANDIN_BIN=$STANDIN_ROOT/standin/coder-standin
STANDIN_HELPERS=$STANDIN_ROOT/test/client/standin
STANDIN_PIDS=()
STANDIN_TMP=$(mktemp -d /tmp/standin-test.XXXXXX)
source "$STANDIN_ROOT/test/client/listen.inc"

# standin_start VAR_PREFIX [flags...]: sets ${P}_URL, ${P}_TOKEN, ${P}_PORT
# and, with --metrics-listen 127.0.0.1:0, ${P}_METRICS_URL.
standin_start() {
  local prefix=$1; shift
  local token
  [ -x "$STANDIN_BIN" ] || make -s -C "$STANDIN_ROOT/standin" >/dev/null
  token="test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  if ! standin_launch "$STANDIN_TMP/$prefix.out" "$STANDIN_TMP/$prefix.err" \
      "$STANDIN_BIN" --listen 127.0.0.1:0 --token "$token" "$@"; then
    cat "$STANDIN_TMP/$prefix.err" >&2
    echo "not ok - the stand-in $prefix did not start"
    exit 1
  fi
  STANDIN_PIDS+=("$LAUNCH_PID")
  printf -v "${prefix}_URL" '%s' "$LAUNCH_URL"
  printf -v "${prefix}_TOKEN" '%s' "$token"
  printf -v "${prefix}_PORT" '%s' "${LAUNCH_URL##*:}"
  printf -v "${prefix}_METRICS_URL" '%s' "$LAUNCH_METRICS_URL"
}

standin_stop_all() {
  local p
  for p in "${STANDIN_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${STANDIN_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$STANDIN_TMP"
}
trap standin_stop_all EXIT

# The TAP checks of the tests that run commands against the stand-in:
#   check NAME EXPECTED_EXIT GREP -- command...
# ok when the command exits EXPECTED_EXIT and its output (stdout and stderr)
# has a line matching GREP; $status is 1 once one failed.
status=0
n=0
check() {  # check NAME EXPECTED_EXIT GREP -- command...
  local name=$1 want=$2 pat=$3; shift 4
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  n=$((n + 1))
  if [ "$rc" -eq "$want" ] && grep -q -- "$pat" <<<"$out"; then echo "ok $n - $name"
  else echo "not ok $n - $name (exit $rc: $out)"; status=1; fi
}
