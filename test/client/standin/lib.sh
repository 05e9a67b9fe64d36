# Shared by test/client/7*_standin*.sh: start and stop coder-standin on a free
# loopback port.  Source it; do not run it.
set -euo pipefail
STANDIN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
STANDIN_BIN=$STANDIN_ROOT/standin/coder-standin
STANDIN_HELPERS=$STANDIN_ROOT/test/client/standin
STANDIN_PIDS=()

free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# standin_start VAR_PREFIX [flags...]: sets ${P}_URL, ${P}_TOKEN, ${P}_PORT
standin_start() {
  local prefix=$1; shift
  local port token log
  [ -x "$STANDIN_BIN" ] || make -s -C "$STANDIN_ROOT/standin" >/dev/null
  port=$(free_port)
  token="test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  log=$(mktemp /tmp/standin-test.XXXXXX)
  "$STANDIN_BIN" --listen "127.0.0.1:$port" --token "$token" "$@" >"$log" 2>&1 &
  STANDIN_PIDS+=($!)
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/api/v2/buildinfo" && break
    sleep 0.05
  done
  printf -v "${prefix}_URL" 'http://127.0.0.1:%s' "$port"
  printf -v "${prefix}_TOKEN" '%s' "$token"
  printf -v "${prefix}_PORT" '%s' "$port"
  rm -f "$log"
}

standin_stop_all() {
  local p
  for p in "${STANDIN_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${STANDIN_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap standin_stop_all EXIT
