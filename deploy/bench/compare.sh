#!/usr/bin/env bash
# Side by side, one run: baseline vs all-optimised service (with the pipelined Redis client,
# then with redis-py's) vs a trivial aiohttp handler.
# Service pinned to CPU 0, wrk (and the carrier) to CPU 1. Needs wrk, taskset, Redis
# at REDIS_URL (for IR_CACHE_BACKEND=tiered). Usage: deploy/bench/compare.sh [SECONDS=30] [CONNS=32]
# (CONNS <= 64: chat.lua's sessions assume it). WARMUP=5 seconds of wrk before each measurement.
set -euo pipefail
DUR=${1:-30}
CONNS=${2:-32}
WARMUP=${WARMUP:-5}
PORT_BASE=${PORT_BASE:-8200}  # the processes listen on PORT_BASE+1..5 and +81 (the carrier)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$(mktemp -d /tmp/perflab-compare.XXXXXX)}
mkdir -p "$OUT"
CARRIER_PORT=$((PORT_BASE + 81))
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

taskset -c 1 python -m service.carrier --port $CARRIER_PORT >"$OUT/carrier.log" 2>&1 & PIDS+=($!)
export CARRIER_URL=http://127.0.0.1:$CARRIER_PORT

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
wait_up() { for _ in $(seq 1 1200); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

load() {  # name port: wrk warm-up, then the measured run into $OUT/name.wrk
  local url="http://127.0.0.1:$2/api/chat"
  taskset -c 1 wrk -t1 -c"$CONNS" -d"${WARMUP}s" -s deploy/bench/chat.lua "$url" >/dev/null
  taskset -c 1 wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -s deploy/bench/chat.lua "$url" \
      | tee "$OUT/$1.wrk"
}

run_one() {  # name port env...
  local name=$1 port=$2; shift 2
  env "$@" taskset -c 0 python -m service --port "$port" >"$OUT/$name.out" 2>"$OUT/$name.err" &
  local pid=$!; PIDS+=($pid)
  wait_up "http://127.0.0.1:$port/healthz"
  echo "== $name: idle RSS $(rss_kb $pid) kB"
  load "$name" "$port"
  echo "== $name: RSS after load $(rss_kb $pid) kB"
  curl -s "http://127.0.0.1:$port/metrics" | grep -E '^perflab_http_requests_total\{route="/api/chat"' || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

OPTIMISED=(IR_CACHE_BACKEND=tiered INTENT_CACHE_ENABLED=1 REGEX_PRECOMPILE=1
    ORDER_INDEX=hash FAQ_LOADING=lazy CONCURRENCY_MODE=async POOLING=1 GZIP_ENABLED=1
    RATE_LIMIT_RPS=1000000 LOG_LEVEL=WARNING ACCESS_LOG=0 BATCHING=1 EVENT_LOOP=uvloop
    JSON_LIB=orjson REDIS_PREFIX="perflab-bench-$$:")

run_one baseline $((PORT_BASE + 1)) LOG_LEVEL=DEBUG ACCESS_LOG=1
run_one optimised $((PORT_BASE + 2)) "${OPTIMISED[@]}" REDIS_CLIENT=pipelined
# the same with redis-py's asyncio client: what the pipelined client is worth
run_one optimised-redis-py $((PORT_BASE + 4)) "${OPTIMISED[@]}" REDIS_CLIENT=redis-py

trivial() {  # name port loop
  taskset -c 0 python deploy/bench/trivial_app.py --port "$2" --loop "$3" & local pid=$!; PIDS+=($pid)
  for _ in $(seq 1 100); do
    curl -fs -X POST -d '{}' "http://127.0.0.1:$2/api/chat" >/dev/null 2>&1 && break; sleep 0.1
  done
  echo "== $1: trivial aiohttp handler on the $3 event loop"
  load "$1" "$2"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
trivial trivial $((PORT_BASE + 3)) asyncio
trivial trivial-uvloop $((PORT_BASE + 5)) uvloop

echo
echo "== summary (requests/s)"
for f in baseline optimised optimised-redis-py trivial trivial-uvloop; do
  printf '%-20s %s\n' "$f" "$(awk '/Requests\/sec/ {print $2}' "$OUT/$f.wrk")"
done
echo "results in $OUT"
