"""Open-loop load driver: a fixed arrival rate that does not hide stalls.

``python -m loadtests.openloop --url http://127.0.0.1:8080 --rate 500 --duration 30``

Requests are sent on a schedule (constant or Poisson inter-arrival times) whether or not
earlier ones have been answered, over an aiohttp connection pool large enough not to
throttle. Each request's latency is measured from its *intended* send time, so a server
that stalls for a second charges that second to every request scheduled during it (no
"coordinated omission"); the service time (from the moment the request was written on a
connection) is kept beside it for comparison: it is what a closed-loop tool with that
many connections would report. Both go into HdrHistograms (microseconds, 3 significant
digits) that are stored encoded in the JSON result, so windows and repeats merge exactly.

The driver also watches itself: how late sends were against the schedule (send lag), its
own CPU, and whether the achieved rate kept up; any of these past its threshold marks the
result ``generator_saturated`` with the reason, so a figure limited by the generator is
never presented as the service's.

Library use (the orchestrator)::

    result = await run_open_loop(OpenLoopConfig(url=..., rate=200, duration=10),
                                 progress=lambda p: print(p.rate, p.p95_ms))
    result.to_dict()                       # JSON-ready, schema_version SCHEMA_VERSION
    merge_results([r1, r2])                # exact merge of windows/repeats

Loopback only unless ``allow_remote``. This module never imports ``locust``.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import math
import os
import platform
import random
import signal
import sys
import time
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlsplit

import aiohttp
import psutil
from hdrh.histogram import HdrHistogram

from loadtests.workload import Workload, load_order_ids

__all__ = [
    "MAX_DURATION_S",
    "PERCENTILES",
    "SCHEMA_VERSION",
    "ArrivalSchedule",
    "Counts",
    "HistogramSummary",
    "OpenLoopConfig",
    "OpenLoopResult",
    "Progress",
    "RemoteTargetError",
    "check_loopback",
    "constant",
    "format_result",
    "main",
    "make_schedule",
    "merge_histograms",
    "merge_results",
    "new_histogram",
    "poisson",
    "run_open_loop",
]

log = logging.getLogger("loadtests.openloop")

SCHEMA_VERSION = 1
MAX_DURATION_S = 3600.0
MAX_REQUESTS_CAP = 50_000_000
HIST_LOWEST_US = 1
HIST_HIGHEST_US = 3_600_000_000  # one hour
HIST_SIGNIFICANT = 3
PERCENTILES: Tuple[float, ...] = (50.0, 90.0, 95.0, 99.0, 99.9, 99.99)
_EPS = 1e-7

ArrivalSchedule = Callable[[], float]
"""A closure returning the next inter-arrival gap in seconds (like Locust's wait_time)."""


# --------------------------------------------------------------------------- schedules
def constant(rate: float) -> ArrivalSchedule:
    """Evenly spaced arrivals: one every 1/rate seconds."""
    if rate <= 0:
        raise ValueError("rate must be > 0")
    gap = 1.0 / rate
    return lambda: gap


def poisson(rate: float, seed: int = 0) -> ArrivalSchedule:
    """Poisson arrivals: exponential gaps of mean 1/rate, deterministic for the seed."""
    if rate <= 0:
        raise ValueError("rate must be > 0")
    rng = random.Random(seed)
    return lambda: rng.expovariate(rate)


def make_schedule(arrival: str, rate: float, seed: int = 0) -> ArrivalSchedule:
    if arrival == "constant":
        return constant(rate)
    if arrival == "poisson":
        return poisson(rate, seed)
    raise ValueError(f"arrival must be 'constant' or 'poisson', got {arrival!r}")


# --------------------------------------------------------------------------- loopback
class RemoteTargetError(ValueError):
    """The target is not on loopback and remote targets were not allowed."""


def check_loopback(url: str, allow_remote: bool = False) -> None:
    """Raise RemoteTargetError unless ``url`` is on 127.0.0.0/8, ::1 or localhost."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    if allow_remote:
        return
    host = parts.hostname
    if host == "localhost" or host.endswith(".localhost"):
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise RemoteTargetError(
        f"refusing to load {url}: {host!r} is not a loopback address "
        "(127.0.0.0/8, ::1, localhost). "
        "Load tests go to loopback by default; pass --allow-remote (allow_remote=True) "
        "to drive a remote target you are responsible for.")


# --------------------------------------------------------------------------- histograms
def new_histogram() -> HdrHistogram:
    return HdrHistogram(HIST_LOWEST_US, HIST_HIGHEST_US, HIST_SIGNIFICANT)


def _record(h: HdrHistogram, seconds: float) -> None:
    us = int(seconds * 1e6)
    h.record_value(min(max(us, HIST_LOWEST_US), HIST_HIGHEST_US))


def merge_histograms(encoded: Iterable[str]) -> HdrHistogram:
    """One histogram holding every value of the encoded ones (exact: same buckets)."""
    out = new_histogram()
    for enc in encoded:
        if enc:
            out.add(HdrHistogram.decode(enc))
    return out


def _scan(h: HdrHistogram, percentiles: Sequence[float]
          ) -> Tuple[float, float, Dict[float, int]]:
    """Mean, stdev and percentile values (us) in one pass over the non-empty buckets.

    Same semantics as hdrh's get_mean_value/get_stddev/get_value_at_percentile, which
    each walk the whole counts array in pure Python (seconds for a few calls).
    """
    counts = list(h.counts[: h.counts_len])
    nonzero = [(i, c) for i, c in enumerate(counts) if c]
    total = sum(c for _, c in nonzero)
    targets = sorted((h.get_target_count_at_percentile(p), p) for p in percentiles)
    values: Dict[float, int] = {}
    mids: List[Tuple[float, int]] = []
    cum, t = 0, 0
    for i, c in nonzero:
        v = h.get_value_from_index(i)
        lo = h.get_lowest_equivalent_value(v)
        hi = h.get_highest_equivalent_value(v)
        mids.append((lo + ((hi - lo + 1) >> 1), c))
        cum += c
        while t < len(targets) and cum >= targets[t][0]:
            values[targets[t][1]] = hi
            t += 1
    mean = sum(m * c for m, c in mids) / total if total else 0.0
    var = sum(c * (m - mean) ** 2 for m, c in mids) / total if total else 0.0
    for _, p in targets[t:]:
        values[p] = 0
    return mean, math.sqrt(var), values


def _pkey(p: float) -> str:
    return f"p{p:g}"


@dataclass(frozen=True)
class HistogramSummary:
    """Percentiles in milliseconds of an HdrHistogram (microsecond units), plus the encoding."""

    count: int
    min_ms: float
    mean_ms: float
    max_ms: float
    stdev_ms: float
    percentiles_ms: Dict[str, float]  # "p50", "p90", "p95", "p99", "p99.9", "p99.99"
    encoded: str  # base64 HdrHistogram (hdrh encode()); "" when empty

    @classmethod
    def of(cls, h: HdrHistogram) -> HistogramSummary:
        n = h.get_total_count()
        if n == 0:
            return cls(0, 0.0, 0.0, 0.0, 0.0, {_pkey(p): 0.0 for p in PERCENTILES}, "")
        mean, stdev, values = _scan(h, PERCENTILES)
        pct = {_pkey(p): values[p] / 1000.0 for p in PERCENTILES}
        enc = h.encode()
        return cls(n, h.get_min_value() / 1000.0, mean / 1000.0, h.get_max_value() / 1000.0,
                   stdev / 1000.0, pct,
                   enc.decode("ascii") if isinstance(enc, bytes) else str(enc))

    def histogram(self) -> HdrHistogram:
        return merge_histograms([self.encoded])

    def pct(self, p: float) -> float:
        return self.percentiles_ms[_pkey(p)]

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> HistogramSummary:
        return cls(int(d["count"]), float(d["min_ms"]), float(d["mean_ms"]),
                   float(d["max_ms"]), float(d["stdev_ms"]),
                   {str(k): float(v) for k, v in d["percentiles_ms"].items()},
                   str(d.get("encoded", "")))


# --------------------------------------------------------------------------- config
@dataclass(frozen=True)
class OpenLoopConfig:
    """What one open-loop run is given. Validated by ``validate()`` (run_open_loop calls it)."""

    url: str  # base URL, e.g. http://127.0.0.1:8080
    rate: float  # target arrivals per second
    duration: float  # measured seconds (after warm-up), <= MAX_DURATION_S
    warmup: float = 0.0  # seconds sent at the same rate first, excluded from results
    arrival: str = "constant"  # constant | poisson
    seed: int = 42  # arrival schedule and workload seed
    route: str = "POST /api/chat"  # "METHOD /path"; POST /api/chat sends workload messages
    connections: int = 1000  # connection pool size
    timeout: float = 10.0  # per request, seconds (pool wait included)
    max_requests: Optional[int] = None  # stop after this many sends (warm-up included)
    allow_remote: bool = False
    zipf_s: float = 1.1
    data_seed: int = 42  # DATA_SEED of the service, to reference existing order ids
    lag_threshold_ms: float = 10.0  # send-lag p99 above this marks the generator saturated
    cpu_threshold_pct: float = 90.0  # own CPU (% of one core) at or above this: saturated
    min_rate_ratio: float = 0.95  # achieved/target below this: saturated
    drain_grace: float = 2.0  # seconds to wait for in-flight requests after Ctrl-C

    @property
    def method(self) -> str:
        parts = self.route.split(None, 1)
        return parts[0].upper() if len(parts) == 2 else "GET"

    @property
    def path(self) -> str:
        parts = self.route.split(None, 1)
        return parts[-1].strip()

    @property
    def is_chat(self) -> bool:
        return self.method == "POST" and self.path.split("?")[0] == "/api/chat"

    @property
    def is_templated(self) -> bool:
        """A path with ``{order_id}``: each request gets an order number from the workload
        (5% unknown ones, for which 404 is the right answer and counts as ok)."""
        return "{order_id}" in self.path

    @property
    def target_url(self) -> str:
        return self.url.rstrip("/") + self.path

    def validate(self) -> None:
        check_loopback(self.url, self.allow_remote)
        if not self.rate > 0:
            raise ValueError("rate must be > 0")
        if not 0 < self.duration <= MAX_DURATION_S:
            raise ValueError(f"duration must be in (0, {MAX_DURATION_S:g}] seconds")
        if not 0 <= self.warmup <= MAX_DURATION_S:
            raise ValueError(f"warmup must be in [0, {MAX_DURATION_S:g}] seconds")
        if self.arrival not in ("constant", "poisson"):
            raise ValueError("arrival must be constant or poisson")
        if not self.path.startswith("/"):
            raise ValueError("route must look like 'POST /api/chat' or 'GET /healthz'")
        if self.connections < 1:
            raise ValueError("connections must be >= 1")
        if self.timeout <= 0:
            raise ValueError("timeout must be > 0")
        if self.max_requests is not None and not 0 < self.max_requests <= MAX_REQUESTS_CAP:
            raise ValueError(f"max_requests must be in [1, {MAX_REQUESTS_CAP}]")

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> OpenLoopConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Counts:
    sent: int  # requests sent in the measured window
    completed: int  # of those: answered, timed out or failed (not unfinished)
    ok: int
    errors: Dict[str, int]  # "http_503", "timeout", "connection", "bad_reply", "client_error"
    unfinished: int = 0  # still in flight when the run was interrupted
    warmup_sent: int = 0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def error_rate(self) -> float:
        return self.error_count / self.completed if self.completed else 0.0

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["error_count"] = self.error_count
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Counts:
        return cls(int(d["sent"]), int(d["completed"]), int(d["ok"]),
                   {str(k): int(v) for k, v in d["errors"].items()},
                   int(d.get("unfinished", 0)), int(d.get("warmup_sent", 0)))


@dataclass(frozen=True)
class Progress:
    """Per-second live view, passed to the ``progress`` callback."""

    elapsed_s: float  # since the first scheduled send (warm-up included)
    warmup: bool
    sent: int  # cumulative, warm-up included
    completed: int
    errors: int
    in_flight: int
    rate: float  # sends in the last interval, per second
    p95_ms: Optional[float]  # of responses completed in the last interval (intended time)
    p99_ms: Optional[float]

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OpenLoopResult:
    """One open-loop run (or a merge of several). JSON via to_dict/from_dict."""

    complete: bool  # False when interrupted (Ctrl-C / stop event)
    config: Dict[str, Any]
    started_at: float  # unix time of the first measured send
    elapsed_s: float  # measured window (warm-up excluded)
    target_rate: float
    achieved_rate: float  # sends / elapsed
    throughput: float  # ok responses / elapsed
    counts: Counts
    latency: HistogramSummary  # from the intended send time (no coordinated omission)
    service: HistogramSummary  # from the request written on a connection
    send_lag: HistogramSummary  # actual dispatch - intended time
    cpu_percent: float  # own process CPU over the window, % of one core
    cpu_user_s: float
    cpu_system_s: float
    max_in_flight: int
    generator_saturated: bool
    saturation_reasons: Tuple[str, ...]
    warnings: Tuple[str, ...] = ()
    timeline: Tuple[Dict[str, Any], ...] = ()  # Progress.to_dict() per second
    meta: Dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> Dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "kind": "openloop",
            "load_model": "open",
            "complete": self.complete,
            "config": dict(self.config),
            "started_at": self.started_at,
            "elapsed_s": self.elapsed_s,
            "target_rate": self.target_rate,
            "achieved_rate": self.achieved_rate,
            "throughput": self.throughput,
            "counts": self.counts.to_dict(),
            "latency": self.latency.to_dict(),
            "service": self.service.to_dict(),
            "send_lag": self.send_lag.to_dict(),
            "cpu_percent": self.cpu_percent,
            "cpu_user_s": self.cpu_user_s,
            "cpu_system_s": self.cpu_system_s,
            "max_in_flight": self.max_in_flight,
            "generator_saturated": self.generator_saturated,
            "saturation_reasons": list(self.saturation_reasons),
            "warnings": list(self.warnings),
            "timeline": [dict(t) for t in self.timeline],
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> OpenLoopResult:
        version = int(d.get("schema_version", 0))
        if version != SCHEMA_VERSION:
            raise ValueError(f"open-loop result schema_version {d.get('schema_version')!r}, "
                             f"expected {SCHEMA_VERSION}")
        return cls(
            complete=bool(d["complete"]), config=dict(d["config"]),
            started_at=float(d["started_at"]), elapsed_s=float(d["elapsed_s"]),
            target_rate=float(d["target_rate"]), achieved_rate=float(d["achieved_rate"]),
            throughput=float(d["throughput"]), counts=Counts.from_dict(d["counts"]),
            latency=HistogramSummary.from_dict(d["latency"]),
            service=HistogramSummary.from_dict(d["service"]),
            send_lag=HistogramSummary.from_dict(d["send_lag"]),
            cpu_percent=float(d["cpu_percent"]), cpu_user_s=float(d["cpu_user_s"]),
            cpu_system_s=float(d["cpu_system_s"]), max_in_flight=int(d["max_in_flight"]),
            generator_saturated=bool(d["generator_saturated"]),
            saturation_reasons=tuple(d.get("saturation_reasons", ())),
            warnings=tuple(d.get("warnings", ())),
            timeline=tuple(dict(t) for t in d.get("timeline", ())),
            meta=dict(d.get("meta", {})), schema_version=version)


def saturation_reasons(target_rate: float, achieved_rate: float, lag_p99_ms: float,
                       cpu_percent: float, lag_threshold_ms: float = 10.0,
                       cpu_threshold_pct: float = 90.0,
                       min_rate_ratio: float = 0.95) -> List[str]:
    """Why a run's figures may be the generator's limit rather than the service's."""
    reasons = []
    if cpu_percent >= cpu_threshold_pct:
        reasons.append(f"generator CPU {cpu_percent:.0f}% of one core "
                       f"(>= {cpu_threshold_pct:.0f}%)")
    if target_rate > 0 and achieved_rate < min_rate_ratio * target_rate:
        reasons.append(f"achieved rate {achieved_rate:.1f}/s < {100 * min_rate_ratio:.0f}% "
                       f"of target {target_rate:.1f}/s")
    if lag_p99_ms > lag_threshold_ms:
        reasons.append(f"send lag p99 {lag_p99_ms:.1f} ms > {lag_threshold_ms:.1f} ms")
    return reasons


def merge_results(results: Sequence[OpenLoopResult]) -> OpenLoopResult:
    """Combine windows or repeats: counts add, histograms merge exactly, rates are per total
    elapsed time, CPU is time-weighted; saturated if any part was."""
    if not results:
        raise ValueError("nothing to merge")
    if len(results) == 1:
        return results[0]
    elapsed = sum(r.elapsed_s for r in results)
    errors: Dict[str, int] = {}
    for r in results:
        for k, v in r.counts.errors.items():
            errors[k] = errors.get(k, 0) + v
    counts = Counts(sum(r.counts.sent for r in results),
                    sum(r.counts.completed for r in results),
                    sum(r.counts.ok for r in results), errors,
                    sum(r.counts.unfinished for r in results),
                    sum(r.counts.warmup_sent for r in results))

    def merged(attr: str) -> HistogramSummary:
        return HistogramSummary.of(merge_histograms(getattr(r, attr).encoded for r in results))

    def weighted(attr: str) -> float:
        if elapsed <= 0:
            return 0.0
        return sum(getattr(r, attr) * r.elapsed_s for r in results) / elapsed

    reasons: List[str] = []
    warnings: List[str] = []
    for i, r in enumerate(results):
        reasons.extend(f"part {i}: {s}" for s in r.saturation_reasons)
        warnings.extend(f"part {i}: {s}" for s in r.warnings)
    return OpenLoopResult(
        complete=all(r.complete for r in results),
        config=dict(results[0].config, merged_parts=len(results)),
        started_at=min(r.started_at for r in results), elapsed_s=elapsed,
        target_rate=weighted("target_rate"),
        achieved_rate=counts.sent / elapsed if elapsed > 0 else 0.0,
        throughput=counts.ok / elapsed if elapsed > 0 else 0.0,
        counts=counts, latency=merged("latency"), service=merged("service"),
        send_lag=merged("send_lag"), cpu_percent=weighted("cpu_percent"),
        cpu_user_s=sum(r.cpu_user_s for r in results),
        cpu_system_s=sum(r.cpu_system_s for r in results),
        max_in_flight=max(r.max_in_flight for r in results),
        generator_saturated=any(r.generator_saturated for r in results),
        saturation_reasons=tuple(reasons), warnings=tuple(warnings),
        timeline=(), meta=dict(results[0].meta, merged_parts=len(results)))


def format_result(r: OpenLoopResult) -> str:
    """A short human summary (lines; only the CLI prints)."""
    c = r.counts
    lat, svc, lag = r.latency, r.service, r.send_lag
    errors = json.dumps(c.errors, sort_keys=True) if c.errors else ""
    partial = "" if r.complete else "  (INTERRUPTED: partial)"
    lines = [
        f"open loop {r.config.get('route', '')} {r.config.get('url', '')}  "
        f"target {r.target_rate:.1f}/s  achieved {r.achieved_rate:.1f}/s  "
        f"ok {r.throughput:.1f}/s  over {r.elapsed_s:.1f}s{partial}",
        f"sent {c.sent}  ok {c.ok}  errors {c.error_count} {errors}  "
        f"unfinished {c.unfinished}  (warm-up sent {c.warmup_sent})",
        f"{'ms':<26} " + " ".join(f"{_pkey(p):>8}" for p in PERCENTILES) + f" {'max':>8}",
    ]
    for name, h in (("latency (intended time)", lat), ("service time (sent)", svc)):
        lines.append(f"{name:<26} " + " ".join(f"{h.pct(p):8.2f}" for p in PERCENTILES)
                     + f" {h.max_ms:8.2f}")
    lines.append(f"generator: cpu {r.cpu_percent:.0f}% of one core, send lag p99 "
                 f"{lag.pct(99):.2f} ms max {lag.max_ms:.2f} ms, "
                 f"max in flight {r.max_in_flight}")
    if r.generator_saturated:
        lines.append("GENERATOR SATURATED: " + "; ".join(r.saturation_reasons)
                     + " -- these figures are the generator's limit, not the service's")
    for w in r.warnings:
        lines.append("warning: " + w)
    return "\n".join(lines)


# --------------------------------------------------------------------------- the run
class _Run:
    """Mutable state of one run; everything the request tasks and the ticker share."""

    def __init__(self, cfg: OpenLoopConfig, workload: Optional[Workload]) -> None:
        self.cfg = cfg
        self.workload = workload
        self.latency = new_histogram()
        self.service = new_histogram()
        self.lag = new_histogram()
        self.tick_samples: List[float] = []  # latencies (s) completed since the last tick
        self.measure_start = math.inf
        self.sent_total = 0
        self.sent = 0
        self.warmup_sent = 0
        self.completed = 0
        self.completed_total = 0
        self.errors_total = 0
        self.ok = 0
        self.errors: Dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.last_send = 0.0  # perf time at which the last measured request was sent
        self.tasks: set = set()
        self.headers = {"Content-Type": "application/json"}

    def body(self) -> Optional[bytes]:
        if self.workload is None:
            return None
        m = self.workload.next_message()
        return json.dumps({"session_id": m.session_id, "message": m.text}).encode()

    async def one(self, session: aiohttp.ClientSession, intended: float,
                  body: Optional[bytes], url: str, ok_404: bool = False) -> None:
        cfg = self.cfg
        start = time.perf_counter()
        measured = intended >= self.measure_start
        if measured:
            _record(self.lag, start - intended)
        sent_at = [0.0]
        kind: Optional[str] = None
        try:
            async with session.request(cfg.method, url, data=body,
                                       headers=self.headers if body is not None else None,
                                       trace_request_ctx=sent_at) as resp:
                payload = await resp.read()
                status = resp.status
            if not 200 <= status < 300 and not (ok_404 and status == 404):
                kind = f"http_{status}"
            elif cfg.is_chat and not _has_intent(payload):
                kind = "bad_reply"
        except asyncio.TimeoutError:
            kind = "timeout"
        except aiohttp.ClientConnectionError:
            kind = "connection"
        except aiohttp.ClientError:
            kind = "client_error"
        end = time.perf_counter()
        self.in_flight -= 1
        self.completed_total += 1
        if kind is not None:
            self.errors_total += 1
        if kind != "connection":  # answered (any status) or timed out: it has a latency
            self.tick_samples.append(end - intended)
        if not measured:
            return
        self.completed += 1
        if kind is None:
            self.ok += 1
        else:
            self.errors[kind] = self.errors.get(kind, 0) + 1
        if kind != "connection":
            _record(self.latency, end - intended)
            _record(self.service, end - (sent_at[0] or start))

    def spawn(self, session: aiohttp.ClientSession, intended: float) -> None:
        body = self.body() if self.cfg.is_chat else None
        url, ok_404 = self.cfg.target_url, False
        if self.cfg.is_templated and self.workload is not None:
            order_id, known = self.workload.next_order_id()
            url, ok_404 = url.replace("{order_id}", order_id), not known
        task = asyncio.ensure_future(self.one(session, intended, body, url, ok_404))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        self.sent_total += 1
        if intended >= self.measure_start:
            self.sent += 1
            self.last_send = time.perf_counter()
        else:
            self.warmup_sent += 1
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight


def _quantile(sorted_values: List[float], q: float) -> Optional[float]:
    """Nearest-rank quantile in ms of sorted seconds (None when empty)."""
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[k] * 1000.0


def _has_intent(payload: bytes) -> bool:
    try:
        doc = json.loads(payload)
    except ValueError:
        return False
    return isinstance(doc, dict) and isinstance(doc.get("intent"), str)


async def _on_headers_sent(session: aiohttp.ClientSession, ctx: Any, params: Any) -> None:
    holder = ctx.trace_request_ctx
    if holder is not None:
        holder[0] = time.perf_counter()


def _cpu_seconds(proc: psutil.Process) -> Tuple[float, float]:
    t = proc.cpu_times()
    return t.user, t.system


def _meta(cfg: OpenLoopConfig) -> Dict[str, Any]:
    import hdrh

    try:
        affinity: Optional[List[int]] = psutil.Process().cpu_affinity()
    except (AttributeError, psutil.Error):
        affinity = None
    loop = asyncio.get_running_loop()
    return {
        "generator": "loadtests.openloop",
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "aiohttp": aiohttp.__version__,
        "hdrhistogram": getattr(hdrh, "__version__", "unknown"),
        "event_loop": f"{type(loop).__module__}.{type(loop).__name__}",
        "pid": os.getpid(),
        "hostname": platform.node(),
        "cpu_count": psutil.cpu_count(),
        "cpu_affinity": affinity,
        "histogram": {"unit": "us", "lowest": HIST_LOWEST_US, "highest": HIST_HIGHEST_US,
                      "significant_figures": HIST_SIGNIFICANT},
    }


async def run_open_loop(config: OpenLoopConfig,
                        progress: Optional[Callable[[Progress], Any]] = None, *,
                        workload: Optional[Workload] = None,
                        stop: Optional[asyncio.Event] = None) -> OpenLoopResult:
    """Drive ``config.rate`` requests/s for ``warmup + duration`` seconds; return the result.

    ``progress`` is called about once a second with a :class:`Progress` (exceptions in it
    are logged, never raised). Setting ``stop`` ends the run early: in-flight requests get
    ``drain_grace`` seconds, then the partial result comes back with ``complete=False``.
    ``workload`` defaults to ``Workload(seed, zipf_s, order_ids=load_order_ids(data_seed))``.
    """
    cfg = config
    cfg.validate()
    if (cfg.is_chat or cfg.is_templated) and workload is None:
        workload = Workload(seed=cfg.seed, zipf_s=cfg.zipf_s,
                            order_ids=load_order_ids(cfg.data_seed),
                            session_prefix=f"ol{os.getpid()}-{cfg.seed}-")
    run = _Run(cfg, workload if cfg.is_chat or cfg.is_templated else None)
    stop = stop or asyncio.Event()
    gap = make_schedule(cfg.arrival, cfg.rate, cfg.seed)
    proc = psutil.Process()
    trace = aiohttp.TraceConfig()
    trace.on_request_headers_sent.append(_on_headers_sent)
    connector = aiohttp.TCPConnector(limit=cfg.connections, limit_per_host=0,
                                     ttl_dns_cache=3600)
    timeline: List[Dict[str, Any]] = []
    perf = time.perf_counter
    interrupted = False
    async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=cfg.timeout),
            trace_configs=[trace], cookie_jar=aiohttp.DummyCookieJar()) as session:
        meta = _meta(cfg)
        t0 = perf() + 0.05
        # _EPS absorbs float drift of summed gaps: with rate 50 the 100th send is at t0+2.0
        # and belongs to the next window, not this one.
        run.measure_start = t0 + cfg.warmup - _EPS
        end_t = t0 + cfg.warmup + cfg.duration - _EPS
        cpu0 = _cpu_seconds(proc)
        wall_cpu0 = perf()
        started_at = time.time() + cfg.warmup + 0.05
        measuring = cfg.warmup <= 0

        async def ticker() -> None:
            last_sent, last_t = 0, t0
            while True:
                await asyncio.sleep(max(0.0, last_t + 1.0 - perf()))
                now = perf()
                samples, run.tick_samples = run.tick_samples, []
                samples.sort()
                p = Progress(
                    elapsed_s=round(now - t0, 3), warmup=now < run.measure_start,
                    sent=run.sent_total, completed=run.completed_total,
                    errors=run.errors_total, in_flight=run.in_flight,
                    rate=(run.sent_total - last_sent) / (now - last_t),
                    p95_ms=_quantile(samples, 0.95), p99_ms=_quantile(samples, 0.99))
                last_sent, last_t = run.sent_total, now
                timeline.append(p.to_dict())
                if progress is not None:
                    try:
                        progress(p)
                    except Exception:  # a listener must not kill the run
                        log.exception("progress callback failed")

        tick_task = asyncio.ensure_future(ticker())
        next_t = t0
        stop_at = end_t
        cap = cfg.max_requests
        try:
            while True:
                if stop.is_set():
                    interrupted = True
                    stop_at = min(perf(), end_t)
                    break
                now = perf()
                if not measuring and now >= run.measure_start:
                    measuring = True
                    cpu0, wall_cpu0 = _cpu_seconds(proc), now
                while next_t <= now and next_t < end_t:
                    run.spawn(session, next_t)
                    next_t += gap()
                    if cap is not None and run.sent_total >= cap:
                        break
                if next_t >= end_t:
                    break
                if cap is not None and run.sent_total >= cap:
                    stop_at = max(next_t, run.measure_start)
                    break
                # Event-loop timers have ~1 ms resolution (epoll; uvloop rounds to whole
                # ms, so a shorter sleep would spin): sleep at least 1 ms and send what
                # fell due meanwhile in a burst. The lateness is recorded as send lag and
                # is part of every latency, which is measured from the intended time.
                delay = next_t - perf()
                await asyncio.sleep(min(max(delay, 0.001), 0.05))
            # drain: let the requests in flight finish (each is bounded by cfg.timeout)
            deadline = perf() + (cfg.drain_grace if interrupted else cfg.timeout + 1.0)
            while run.tasks and perf() < deadline:
                if stop.is_set() and not interrupted:
                    interrupted = True
                    deadline = min(deadline, perf() + cfg.drain_grace)
                await asyncio.wait(list(run.tasks), timeout=max(0.0, min(0.1, deadline - perf())))
        finally:
            tick_task.cancel()
            unfinished = 0
            for t in list(run.tasks):
                t.cancel()
                unfinished += 1
            if run.tasks:
                await asyncio.gather(*run.tasks, return_exceptions=True)
        cpu1 = _cpu_seconds(proc)
        wall = max(perf() - wall_cpu0, 1e-9)

    elapsed = max(0.0, min(stop_at, end_t) - run.measure_start)
    user_s, sys_s = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    cpu_pct = 100.0 * (user_s + sys_s) / wall
    lat, svc, lag = (HistogramSummary.of(run.latency), HistogramSummary.of(run.service),
                     HistogramSummary.of(run.lag))
    # Every scheduled request is sent, late if need be, so the schedule's own count is
    # the reference: a Poisson schedule has fewer or more arrivals than rate x duration
    # by chance. The generator fell behind when sending took longer than scheduled.
    scheduled = run.sent / elapsed if elapsed > 0 else 0.0
    span = max(elapsed, run.last_send - run.measure_start) if run.sent else elapsed
    achieved = run.sent / span if span > 0 else 0.0
    reasons = saturation_reasons(scheduled, achieved, lag.pct(99), cpu_pct,
                                 cfg.lag_threshold_ms, cfg.cpu_threshold_pct,
                                 cfg.min_rate_ratio) if elapsed > 0 else []
    warnings = []
    if run.max_in_flight >= cfg.connections:
        warnings.append(f"connection pool full ({run.max_in_flight} in flight, "
                        f"{cfg.connections} connections): latency includes waiting for a "
                        "connection")
    if unfinished:
        warnings.append(f"{unfinished} requests still in flight when stopped (not counted)")
    if lat.count < 100:
        warnings.append(f"only {lat.count} latency samples: tail percentiles are not "
                        "meaningful")
    counts = Counts(run.sent, run.completed, run.ok, dict(sorted(run.errors.items())),
                    unfinished=unfinished, warmup_sent=run.warmup_sent)
    return OpenLoopResult(
        complete=not interrupted, config=cfg.to_dict(), started_at=started_at,
        elapsed_s=elapsed, target_rate=cfg.rate, achieved_rate=achieved,
        throughput=run.ok / elapsed if elapsed > 0 else 0.0, counts=counts,
        latency=lat, service=svc, send_lag=lag, cpu_percent=cpu_pct, cpu_user_s=user_s,
        cpu_system_s=sys_s, max_in_flight=run.max_in_flight,
        generator_saturated=bool(reasons), saturation_reasons=tuple(reasons),
        warnings=tuple(warnings), timeline=tuple(timeline), meta=meta)


# --------------------------------------------------------------------------- CLI
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m loadtests.openloop",
        description="Open-loop load at a fixed arrival rate; latency from the intended "
                    "send time (no coordinated omission).")
    p.add_argument("--url", required=True, help="base URL, e.g. http://127.0.0.1:8080")
    p.add_argument("--rate", type=float, required=True, help="target requests per second")
    p.add_argument("--duration", type=float, required=True,
                   help=f"measured seconds (<= {MAX_DURATION_S:g})")
    p.add_argument("--warmup", type=float, default=0.0, help="seconds excluded from results")
    p.add_argument("--arrival", choices=("constant", "poisson"), default="constant")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--route", default="POST /api/chat",
                   help="'METHOD /path' (default: POST /api/chat with workload messages)")
    p.add_argument("--connections", type=int, default=1000, help="connection pool size")
    p.add_argument("--timeout", type=float, default=10.0, help="per-request timeout, s")
    p.add_argument("--max-requests", type=int, default=None)
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a target that is not on loopback")
    p.add_argument("--zipf-s", type=float, default=1.1)
    p.add_argument("--data-seed", type=int, default=42, help="the service's DATA_SEED")
    p.add_argument("--lag-threshold-ms", type=float, default=10.0)
    p.add_argument("--cpu-threshold", type=float, default=90.0)
    p.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    p.add_argument("--json", dest="json_file", default=None, help="write the result here")
    p.add_argument("--quiet", action="store_true", help="no per-second progress lines")
    return p


def loop_factory(choice: str) -> Optional[Callable[[], asyncio.AbstractEventLoop]]:
    """The event loop for ``--loop auto|asyncio|uvloop``: uvloop when asked for (an error if
    missing) or when ``auto`` finds it, else asyncio's default (None)."""
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise RuntimeError("uvloop is not installed") from None
        return None
    return uvloop.new_event_loop


def _write_json(path: str, result: OpenLoopResult) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(result.to_dict(), fh, indent=1)
        fh.write("\n")
    os.replace(tmp, path)


def main(argv: Optional[Sequence[str]] = None) -> int:
    a = _parser().parse_args(argv)
    cfg = OpenLoopConfig(
        url=a.url, rate=a.rate, duration=a.duration, warmup=a.warmup, arrival=a.arrival,
        seed=a.seed, route=a.route, connections=a.connections, timeout=a.timeout,
        max_requests=a.max_requests, allow_remote=a.allow_remote, zipf_s=a.zipf_s,
        data_seed=a.data_seed, lag_threshold_ms=a.lag_threshold_ms,
        cpu_threshold_pct=a.cpu_threshold)
    try:
        cfg.validate()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def show(p: Progress) -> None:
        if not a.quiet:
            p95 = f"{p.p95_ms:8.2f} ms" if p.p95_ms is not None else "       -   "
            print(f"{p.elapsed_s:6.1f}s {'warm' if p.warmup else '    '} sent {p.sent:7d}  "
                  f"rate {p.rate:7.1f}/s  p95 {p95}  in flight {p.in_flight}  "
                  f"errors {p.errors}", file=sys.stderr, flush=True)

    async def go() -> OpenLoopResult:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            print("stopping (partial results kept); Ctrl-C again to abort",
                  file=sys.stderr, flush=True)
            stop.set()
            for s in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(s)

        for s in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(s, on_signal)
        return await run_open_loop(cfg, show, stop=stop)

    try:
        factory = loop_factory(a.loop)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with asyncio.Runner(loop_factory=factory) as runner:
        result = runner.run(go())
    if a.json_file:
        _write_json(a.json_file, replace(result, meta=dict(result.meta, argv=list(
            sys.argv if argv is None else argv))))
    print(format_result(result))
    return 0 if result.complete else 130


if __name__ == "__main__":
    sys.exit(main())
