#!/usr/bin/env bash
# Side by side, one run: baseline vs all-optimised service vs a trivial aiohttp handler.
# Service pinned to CPU 0, wrk (and the carrier) to CPU 1. Needs wrk, taskset, Redis
# at REDIS_URL (for IR_CACHE_BACKEND=tiered). Usage: deploy/bench/compare.sh [SECONDS=30] [CONNS=32]
set -euo pipefail
DUR=${1:-30}
CONNS=${2:-32}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$(mktemp -d /tmp/perflab-compare.XXXXXX)}
mkdir -p "$OUT"
CARRIER_PORT=8281
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

taskset -c 1 python -m service.carrier --port $CARRIER_PORT >"$OUT/carrier.log" 2>&1 & PIDS+=($!)
export CARRIER_URL=http://127.0.0.1:$CARRIER_PORT

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
wait_up() { for _ in $(seq 1 1200); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

run_one() {  # name port env...
  local name=$1 port=$2; shift 2
  env "$@" taskset -c 0 python -m service --port "$port" >"$OUT/$name.out" 2>"$OUT/$name.err" &
  local pid=$!; PIDS+=($pid)
  wait_up "http://127.0.0.1:$port/healthz"
  echo "== $name: idle RSS $(rss_kb $pid) kB"
  taskset -c 1 wrk -t1 -c"$CONNS" -d5s -s deploy/bench/chat.lua "http://127.0.0.1:$port/api/chat" >/dev/null  # warm-up
  taskset -c 1 wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -s deploy/bench/chat.lua \
      "http://127.0.0.1:$port/api/chat" | tee "$OUT/$name.wrk"
  echo "== $name: RSS after load $(rss_kb $pid) kB"
  curl -s "http://127.0.0.1:$port/metrics" | grep -E '^perflab_http_requests_total\{route="/api/chat"' || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_one baseline 8201 LOG_LEVEL=DEBUG ACCESS_LOG=1
run_one optimised 8202 IR_CACHE_BACKEND=tiered INTENT_CACHE_ENABLED=1 REGEX_PRECOMPILE=1 \
    ORDER_INDEX=hash FAQ_LOADING=lazy CONCURRENCY_MODE=async POOLING=1 GZIP_ENABLED=1 \
    RATE_LIMIT_RPS=1000000 LOG_LEVEL=WARNING ACCESS_LOG=0 BATCHING=1 EVENT_LOOP=uvloop \
    JSON_LIB=orjson REDIS_PREFIX="perflab-bench-$$:"

taskset -c 0 python deploy/bench/trivial_app.py --port 8203 & PIDS+=($!)
wait_up_trivial() { for _ in $(seq 1 100); do curl -fs -X POST -d '{}' http://127.0.0.1:8203/api/chat >/dev/null 2>&1 && return 0; sleep 0.1; done; }
wait_up_trivial
taskset -c 1 wrk -t1 -c"$CONNS" -d5s -s deploy/bench/chat.lua http://127.0.0.1:8203/api/chat >/dev/null
echo "== trivial aiohttp handler"
taskset -c 1 wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -s deploy/bench/chat.lua \
    http://127.0.0.1:8203/api/chat | tee "$OUT/trivial.wrk"
echo "results in $OUT"
