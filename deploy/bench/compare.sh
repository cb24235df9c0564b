#!/usr/bin/env bash
# Side by side, one run: baseline vs all-optimised service (once per Redis client in CLIENTS)
# vs a trivial aiohttp handler.
# Service pinned to CPU 0, wrk (and the carrier) to CPU 1. Needs wrk, taskset, Redis
# at REDIS_URL (for IR_CACHE_BACKEND=tiered). Usage: deploy/bench/compare.sh [SECONDS=30] [CONNS=32]
# (CONNS <= 64: chat.lua's sessions assume it). WARMUP=5 seconds of wrk before each measurement.
# SCRIPT=deploy/bench/realistic.lua: ~4,600 rotating realistic messages (mostly uncached).
# CLIENTS="pipelined redis-py coredis valkey-glide": the optimised variant once per client.
# BASELINE=0 skips the baseline. BEFORE=/path/to/an/older/checkout adds "before": the
# optimised variant of that tree (its own code and data), for a before/after in one run.
set -euo pipefail
DUR=${1:-30}
CONNS=${2:-32}
WARMUP=${WARMUP:-5}
SCRIPT=${SCRIPT:-deploy/bench/chat.lua}
CLIENTS=${CLIENTS:-pipelined redis-py}
BASELINE=${BASELINE:-1}
BEFORE=${BEFORE:-}
PY=${PY:-python}
PORT_BASE=${PORT_BASE:-8200}  # the processes listen on PORT_BASE+1..5 and +81 (the carrier)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$(mktemp -d /tmp/perflab-compare.XXXXXX)}
mkdir -p "$OUT"
CARRIER_PORT=$((PORT_BASE + 81))
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

taskset -c 1 $PY -m service.carrier --port $CARRIER_PORT >"$OUT/carrier.log" 2>&1 & PIDS+=($!)
export CARRIER_URL=http://127.0.0.1:$CARRIER_PORT

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
wait_up() { for _ in $(seq 1 1200); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

load() {  # name port: wrk warm-up, then the measured run into $OUT/name.wrk
  local url="http://127.0.0.1:$2/api/chat"
  taskset -c 1 wrk -t1 -c"$CONNS" -d"${WARMUP}s" -s "$ROOT/$SCRIPT" "$url" >/dev/null
  taskset -c 1 wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -s "$ROOT/$SCRIPT" "$url" \
      | tee "$OUT/$1.wrk"
}

run_one() {  # name port env...  (TREE=dir: run the service of another checkout)
  local name=$1 port=$2; shift 2
  (cd "${TREE:-$ROOT}" && exec env PYTHONPATH="${TREE:-$ROOT}" "$@" taskset -c 0 $PY -m service \
      --port "$port" >"$OUT/$name.out" 2>"$OUT/$name.err") &
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

NAMES=()
[ "$BASELINE" = 1 ] && { run_one baseline $((PORT_BASE + 1)) LOG_LEVEL=DEBUG ACCESS_LOG=1; NAMES+=(baseline); }
if [ -n "$BEFORE" ]; then
  TREE=$BEFORE run_one before $((PORT_BASE + 6)) "${OPTIMISED[@]}" REDIS_CLIENT=pipelined
  NAMES+=(before)
fi
n=10
for client in $CLIENTS; do  # the optimised variant on each asyncio Redis client
  name=optimised; [ "$client" = pipelined ] || name=optimised-$client
  run_one "$name" $((PORT_BASE + n)) "${OPTIMISED[@]}" REDIS_CLIENT="$client"
  NAMES+=("$name"); n=$((n + 1))
done

trivial() {  # name port loop
  taskset -c 0 $PY deploy/bench/trivial_app.py --port "$2" --loop "$3" & local pid=$!; PIDS+=($pid)
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
echo "== summary: requests/s, p50, and requests/s as a share of the trivial handler's"
rps() { awk '/Requests\/sec/ {print $2}' "$OUT/$1.wrk"; }
p50() { awk '$1 == "50%" {print $2}' "$OUT/$1.wrk"; }
T=$(rps trivial); TU=$(rps trivial-uvloop)
printf '%-24s %10s %10s %12s %12s\n' variant req/s p50 "/trivial" "/trivial-uv"
for f in "${NAMES[@]}" trivial trivial-uvloop; do
  printf '%-24s %10s %10s %11.1f%% %11.1f%%\n' "$f" "$(rps "$f")" "$(p50 "$f")" \
      "$(echo "100 * $(rps "$f") / $T" | bc -l)" "$(echo "100 * $(rps "$f") / $TU" | bc -l)"
done
echo "results in $OUT"
