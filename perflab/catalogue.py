"""The toggle catalogue: every optimisation of the guide, its switch, and what it promises.

One table, data only. The orchestrator builds variants from it, the report
sets each claim beside what was measured. A claim is a range of the *ratio*
optimised / baseline of one metric: "30-40% lower latency" is p50 ratio
0.60..0.70 (lower is better); "3-5x throughput" is capacity ratio 3..5
(higher is better). ``claim=None`` marks a checklist item the guide promises
nothing numeric for: it is measured and shown, never judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

from service.metrics import INJECTED  # the calibration summary the service exposes

# Metrics a claim can be about (columns of results.csv or derived from them).
METRICS = {
    "p50_ms": "median latency of POST /api/chat at the reference rate (open loop)",
    "p95_ms": "95th percentile latency of POST /api/chat at the reference rate (open loop)",
    "capacity_rps": "highest arrival rate meeting the P95 and error-rate targets",
    "peak_rps": "successful responses/s under overload (open loop above capacity), in blocks",
    "rss_peak_mb": "peak resident memory of the service",
    "order_p50_ms": "median latency of GET /api/orders/{id} (open loop)",
    "classify_rate": "messages/s through the intent classifier, in-process, one CPU",
    "cpu_ms_per_request": "service CPU time per request at the reference rate "
                          "(cpu_mean_pct x 10 / achieved rate)",
}


@dataclass(frozen=True)
class KnownEffect:
    """The true effect of a calibration toggle, to be recovered inside the measured interval.

    ``kind="difference"``: metric(variant) - metric(reference) == ``truth`` (in ``unit``),
    additive by construction (service/inject.py). The reference is the toggle's
    ``reference`` variant (baseline). ``tolerance`` is how far the mechanism itself
    may realise the amount off nominal (not measurement noise): the check is that the
    measured interval meets [truth - tolerance, truth + tolerance].
    """

    metric: str  # a METRICS key
    truth: float
    unit: str
    kind: str = "difference"
    tolerance: float = 0.0
    # the service's /metrics summary of the amount as realised per request. When the run
    # recorded it, the truth is the range from ``truth`` to the realised mean (``unit``)
    realised: str = ""

    def recovered(self, low: Optional[float], high: Optional[float],
                  upper: Optional[float] = None) -> Optional[bool]:
        """Whether an interval of the difference meets the truth, or the truth range
        [truth, upper]; None without an interval."""
        if low is None or high is None:
            return None
        top = self.truth if upper is None else max(self.truth, upper)
        return low <= top + self.tolerance and high >= self.truth - self.tolerance


@dataclass(frozen=True)
class Claim:
    """The guide's promise: ratio optimised/baseline of ``metric`` within [low, high]."""

    metric: str
    low: float
    high: float
    text: str  # the guide's words
    lower_is_better: bool

    def improvement_range(self) -> Tuple[float, float]:
        """The claim as an improvement factor (>1 is better), weakest end first."""
        if self.lower_is_better:
            return (1.0 / self.high, 1.0 / self.low) if self.low > 0 else (1.0 / self.high,
                                                                            float("inf"))
        return (self.low, self.high)


@dataclass(frozen=True)
class Toggle:
    """One optimisation: the environment it sets for baseline and optimised variants."""

    name: str  # short id used in variant names: "+redis_cache", "optimised-redis_cache"
    title: str
    baseline: Mapping[str, str]
    optimised: Mapping[str, str]
    claim: Optional[Claim]
    needs: Tuple[str, ...] = ()  # "redis", "pypy", "cores>=3", "nginx"
    notes: str = ""
    guide: bool = True  # in the guide's table (False: extra service toggles)
    alternatives: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    reference: str = "baseline"  # the variant a "+X" variant is compared with
    # other toggles' settings without which X does nothing; set in "+X" variants only
    requires: Mapping[str, str] = field(default_factory=dict)
    # calibration toggles (not optimisations): the effect they inject, known exactly
    known: Optional[KnownEffect] = None

    @property
    def calibration(self) -> bool:
        return self.known is not None


# The calibration amounts (one definition: the toggles' env values and truths use them)
INJECT_LATENCY_MS = 1.0
INJECT_CPU_MS = 0.5
INJECT_RSS_MB = 20.0

CATALOGUE: Tuple[Toggle, ...] = (
    Toggle("redis_cache", "Redis caching of retrieval results",
           {"IR_CACHE_BACKEND": "none"}, {"IR_CACHE_BACKEND": "redis"},
           Claim("p50_ms", 0.60, 0.70, "30-40% lower latency", True), ("redis",),
           "FAQ answers, order records and tracking cached in Redis (TTL IR_CACHE_TTL)",
           alternatives={"memory": {"IR_CACHE_BACKEND": "memory"},
                         "tiered": {"IR_CACHE_BACKEND": "tiered"}}),
    Toggle("intent_cache", "LRU cache of classified messages",
           {"INTENT_CACHE_ENABLED": "0"}, {"INTENT_CACHE_ENABLED": "1"},
           None, (), "part of the guide's caching advice; no separate figure"),
    Toggle("async", "Async I/O (awaited carrier and Redis calls)",
           {"CONCURRENCY_MODE": "sync"}, {"CONCURRENCY_MODE": "async"},
           Claim("peak_rps", 3.0, 5.0, "3-5x throughput", False), (),
           "sync blocks the event loop for each carrier call (median ~15 ms)"),
    Toggle("order_index", "Indexed order look-ups",
           {"ORDER_INDEX": "scan"}, {"ORDER_INDEX": "hash"},
           Claim("order_p50_ms", 0.0, 0.5, "50% faster order retrieval", True), (),
           "SQLite NOT INDEXED scan vs indexes on order_id/customer_id/email"),
    Toggle("regex_precompile", "Precompiled regular expressions",
           {"REGEX_PRECOMPILE": "0"}, {"REGEX_PRECOMPILE": "1"},
           Claim("classify_rate", 1.20, 1.30, "20-30% faster matching", False), (),
           "the baseline already benefits from re's own pattern cache"),
    Toggle("lazy_faq", "Lazy FAQ loading",
           {"FAQ_LOADING": "eager"}, {"FAQ_LOADING": "lazy"},
           Claim("rss_peak_mb", 0.0, 0.40, "60% less memory", True), (),
           "article bodies loaded in FAQ_BATCH_SIZE batches on demand, bounded LRU"),
    Toggle("pypy", "PyPy interpreter",
           {"INTERPRETER": "cpython"}, {"INTERPRETER": "pypy"},
           Claim("peak_rps", 2.0, 3.0, "2-3x CPU throughput", False), ("pypy",),
           "Debian's pypy3 (Python 3.9) in a venv with aiohttp and redis"),
    Toggle("instances", "Horizontal scaling (several processes behind a balancer)",
           {"INSTANCES": "1"}, {"INSTANCES": "2", "IR_CACHE_BACKEND": "redis"},
           Claim("peak_rps", 1.8, 2.0, "near-linear scaling", False),
           ("redis", "cores>=3"),
           "N service processes sharing Redis (sessions must follow the shopper); compared "
           "with +redis_cache, one instance; needs a core per instance plus one for load",
           reference="+redis_cache"),
    Toggle("gzip", "Response compression", {"GZIP_ENABLED": "0"}, {"GZIP_ENABLED": "1"},
           None, (), "on loopback there is no bandwidth to save: expect a cost"),
    Toggle("rate_limit", "Per-client rate limiting",
           {"RATE_LIMIT_RPS": "0"}, {"RATE_LIMIT_RPS": "100000", "RATE_LIMIT_BURST": "100000"},
           None, (), "limit set above the test's rate: measures the limiter's overhead"),
    Toggle("quiet_logs", "Less logging",
           {"LOG_LEVEL": "DEBUG", "ACCESS_LOG": "1"}, {"LOG_LEVEL": "WARNING", "ACCESS_LOG": "0"},
           None, ()),
    Toggle("pooling", "Connection pooling", {"POOLING": "0"}, {"POOLING": "1"}, None, (),
           "Redis, SQLite and carrier connections per request vs shared; +pooling has Redis "
           "in the path (IR_CACHE_BACKEND=redis) and is compared with +redis_cache",
           reference="+redis_cache", requires={"IR_CACHE_BACKEND": "redis"}),
    Toggle("batching", "Batch endpoint", {"BATCHING": "0"}, {"BATCHING": "1"}, None, (),
           "enables POST /api/chat/batch; single-message traffic is unchanged"),
    Toggle("uvloop", "uvloop event loop", {"EVENT_LOOP": "asyncio"}, {"EVENT_LOOP": "uvloop"},
           None, (), "not in the guide", guide=False),
    Toggle("orjson", "orjson serialisation", {"JSON_LIB": "stdlib"}, {"JSON_LIB": "orjson"},
           None, (), "not in the guide", guide=False),
    Toggle("redis_client", "Pipelined asyncio Redis client",
           {"REDIS_CLIENT": "redis-py"}, {"REDIS_CLIENT": "pipelined"}, None, ("redis",),
           "not in the guide: one shared connection, each request's commands written at "
           "once and replies matched in order, instead of redis-py's pool; it acts only in "
           "async mode with a Redis backend, so +redis_client is compared with "
           "+redis_client:redis-py, the same variant on redis-py",
           guide=False, alternatives={"redis-py": {"REDIS_CLIENT": "redis-py"},
                                      "coredis": {"REDIS_CLIENT": "coredis"},
                                      "valkey-glide": {"REDIS_CLIENT": "valkey-glide"}},
           reference="+redis_client:redis-py",
           requires={"IR_CACHE_BACKEND": "redis", "CONCURRENCY_MODE": "async"}),
    # --- calibration: known effects injected by service/inject.py (not in the guide) ---
    Toggle("inject_latency", "Calibration: 1 ms awaited per request",
           {"INJECT_LATENCY_MS": "0"}, {"INJECT_LATENCY_MS": str(INJECT_LATENCY_MS)},
           None, (), "not in the guide: calibration; an asyncio.sleep per request adds "
           "latency and no CPU; on the async service (compared with +async): in sync mode "
           "a blocking carrier call can hold the loop past the sleep's end",
           guide=False, reference="+async", requires={"CONCURRENCY_MODE": "async"},
           # an awaited sleep lasts longer than asked: its timer's overshoot and the wait
           # for the busy loop once it is due (the service measures each wait:
           # perflab_injected_delay_seconds). That wait is partly time other requests
           # gain (they are served while this one sleeps), so under load the p50 moves by
           # between the nominal 1 ms and the realised mean: the truth range. Tolerance:
           # the timer's own slack when the loop is idle (1.13 ms median for 1 ms)
           known=KnownEffect("p50_ms", INJECT_LATENCY_MS, "ms", tolerance=0.15,
                             realised=INJECTED)),
    Toggle("inject_cpu", "Calibration: 0.5 ms busy CPU per request",
           {"INJECT_CPU_MS": "0"}, {"INJECT_CPU_MS": str(INJECT_CPU_MS)},
           None, (), "not in the guide: calibration; about +20%% of the baseline's "
           "~2.2-2.5 ms CPU per request (at 20/s: +%.1f percentage points of CPU)"
           % (20 * INJECT_CPU_MS / 10), guide=False,
           # the spin stops at the first thread_time() reading past the amount (~1 us late)
           known=KnownEffect("cpu_ms_per_request", INJECT_CPU_MS, "ms", tolerance=0.01)),
    Toggle("inject_rss", "Calibration: 20 MB held from start-up",
           {"INJECT_RSS_MB": "0"}, {"INJECT_RSS_MB": str(INJECT_RSS_MB)},
           None, (), "not in the guide: calibration; pages written at start-up and kept",
           # page granularity and the allocator's own pages around the block
           guide=False, known=KnownEffect("rss_peak_mb", INJECT_RSS_MB, "MB", tolerance=0.5)),
)

BY_NAME: Dict[str, Toggle] = {t.name: t for t in CATALOGUE}


def baseline_env() -> Dict[str, str]:
    env: Dict[str, str] = {}
    for t in CATALOGUE:
        env.update(t.baseline)
    return env


def optimised_env(exclude: Tuple[str, ...] = ()) -> Dict[str, str]:
    """Every toggle on, except ``exclude`` (and those needing what a run may lack)."""
    env = baseline_env()
    for t in CATALOGUE:
        if t.name in exclude or t.name in ("pypy", "instances") or t.calibration:
            continue  # interpreter and scaling are variants of their own, not "all on";
            # calibration toggles are costs, never part of "all on"
        env.update(t.optimised)
    return env


def toggle(name: str) -> Toggle:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError("unknown toggle %r; known: %s" % (name, ", ".join(BY_NAME))) from None


def format_catalogue() -> List[str]:
    """The catalogue as a text table (``perflab toggles``)."""
    rows = [("toggle", "baseline", "optimised", "guide's claim", "needs")]
    for t in CATALOGUE:
        if t.known is not None:
            claim = "calibration (%s %+g %s)" % (t.known.metric, t.known.truth, t.known.unit)
        elif t.claim is not None:
            claim = "%s (%s %.2f..%.2f)" % (t.claim.text, t.claim.metric, t.claim.low,
                                            t.claim.high)
        else:
            claim = "checklist" if t.guide else "extra"
        rows.append((t.name, _env(t.baseline), _env(t.optimised), claim,
                     ", ".join(t.needs) or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    out = []
    for n, r in enumerate(rows):
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def _env(env: Mapping[str, str]) -> str:
    return " ".join("%s=%s" % kv for kv in env.items())


# Claims of the guide about the deployment rather than a service toggle: judged by the
# scaling and CDN phases (perflab/scaling.py, perflab/cdn.py; reports/scaling.py, cdn.py).
CDN_CLAIM = Claim("faq_p50_ms", 0.0, 0.40, "60% reduction in static response latency", True)
BALANCE_CLAIM_TEXT = "distributes load evenly"
# The lab's reading of "evenly": the busiest instance's share of requests at most 10% above
# the least busy one's (max/min share <= 1.10). The guide names no figure.
EVEN_SPREAD = 1.10


def near_linear_efficiency() -> float:
    """The weakest scaling efficiency "near-linear" allows, from the instances claim:
    capacity ratio 1.8 at 2 instances is 0.9 of linear."""
    t = BY_NAME["instances"]
    assert t.claim is not None
    return t.claim.low / int(t.optimised["INSTANCES"])
