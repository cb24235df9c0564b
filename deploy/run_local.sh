#!/usr/bin/env bash
# N `python -m service` processes behind nginx on this machine (no Docker needed).
#   deploy/run_local.sh [N=2] [LISTEN=127.0.0.1:8080] [BASE_PORT=8101]
# Toggles come from the environment, as for one instance; share Redis with
# IR_CACHE_BACKEND=redis (or tiered) so sessions survive across instances.
# Also starts the carrier API on CARRIER_PORT (default 8081) unless NO_CARRIER=1.
# Ctrl-C stops everything it started.
set -euo pipefail
N=${1:-2}
LISTEN=${2:-127.0.0.1:8080}
BASE_PORT=${3:-8101}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=$(mktemp -d /tmp/perflab-lb.XXXXXX)
chmod 755 "$PREFIX"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait || true; }
trap cleanup EXIT INT TERM

cd "$ROOT"
if [ "${NO_CARRIER:-0}" != "1" ]; then
  python -m service.carrier --port "${CARRIER_PORT:-8081}" & PIDS+=($!)
  export CARRIER_URL=${CARRIER_URL:-http://127.0.0.1:${CARRIER_PORT:-8081}}
fi
UPSTREAMS=()
for i in $(seq 0 $((N - 1))); do
  port=$((BASE_PORT + i))
  python -m service --host 127.0.0.1 --port "$port" & PIDS+=($!)
  UPSTREAMS+=(--upstream "127.0.0.1:$port")
  # wait for readiness before the next one (the first may generate the data set)
  for _ in $(seq 1 600); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
done
python deploy/render_nginx.py --listen "$LISTEN" "${UPSTREAMS[@]}" -o "$PREFIX/nginx.conf"
nginx -t -q -p "$PREFIX/" -c "$PREFIX/nginx.conf" -e stderr
echo "nginx on http://$LISTEN -> ${UPSTREAMS[*]} (prefix $PREFIX)"
nginx -p "$PREFIX/" -c "$PREFIX/nginx.conf" -e stderr & PIDS+=($!)
wait
