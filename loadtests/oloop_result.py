"""Config and result of an open-loop run (or block), JSON schema ``SCHEMA_VERSION``.

``build_result`` turns the raw parts of the worker processes (``Engine`` part dicts:
counters and histogram recorders) into one ``OpenLoopResult``; recorders add exactly,
so a run spread over N processes has exactly the histograms of one process.

Generator saturation (``saturation_reasons``) is judged from the generator's own
signals only: its CPU (the busiest process, % of one core), the achieved against the
scheduled rate, and its own send lag p99. Waiting for a connection is the server's
doing and does not mark the generator (it is reported as ``connection_wait``).
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from loadtests.oloop_feed import parse_route
from loadtests.oloop_hist import PERCENTILES, HistogramSummary, Recorder, pkey

__all__ = ["MAX_DURATION_S", "SCHEMA_VERSION", "Counts", "OpenLoopConfig", "OpenLoopResult",
           "RemoteTargetError", "build_result", "check_loopback", "format_result",
           "merge_results", "saturation_reasons"]

SCHEMA_VERSION = 2
MAX_DURATION_S = 3600.0
MAX_REQUESTS_CAP = 50_000_000
MAX_PROCESSES = 64


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


@dataclass(frozen=True)
class OpenLoopConfig:
    """What one open-loop run (or one block) is given; ``validate()`` checks it."""

    url: str  # base URL, e.g. http://127.0.0.1:8080 (http only)
    rate: float  # target arrivals per second (all processes together)
    duration: float  # measured seconds (after warm-up), <= MAX_DURATION_S
    warmup: float = 0.0  # seconds sent at the same rate first, excluded from results
    arrival: str = "constant"  # constant | poisson
    seed: int = 42  # arrival schedule and workload seed (common random numbers)
    route: str = "POST /api/chat"  # "METHOD /path"; POST /api/chat sends workload messages
    connections: int = 1000  # the most keep-alive connections per process
    timeout: float = 10.0  # per request from dispatch (connection wait included), s
    max_requests: Optional[int] = None  # stop after this many sends (warm-up included)
    allow_remote: bool = False
    zipf_s: float = 1.1
    data_seed: int = 42  # DATA_SEED of the service, to reference existing order ids
    orders_count: Optional[int] = None  # the service's ORDERS_COUNT (None: the default)
    # > 0: the templated route's id is a help-centre article (1..faq_articles, Zipf)
    faq_articles: Optional[int] = None
    lag_threshold_ms: float = 10.0  # generator lag p99 above this: saturated
    cpu_threshold_pct: float = 90.0  # a process's CPU (% of one core) at or above: saturated
    min_rate_ratio: float = 0.95  # achieved/scheduled below this: saturated
    drain_grace: float = 2.0  # seconds for in-flight requests after a stop
    processes: int = 1  # worker processes splitting the schedule
    cpus: Tuple[int, ...] = ()  # CPU per worker (round robin); () = not pinned
    session_prefix: str = ""  # "" = "ol{seed}-"
    initial_connections: int = 0  # opened before the window, per process; 0 = from rate
    # blocks mode: idle seconds before this block starts, so that the caller can read the
    # service (its /metrics, its CPU) between blocks on its block_done event
    pause: float = 0.0

    @property
    def method(self) -> str:
        return parse_route(self.route).method

    @property
    def path(self) -> str:
        return parse_route(self.route).path

    @property
    def is_chat(self) -> bool:
        return parse_route(self.route).is_chat

    @property
    def target_url(self) -> str:
        return self.url.rstrip("/") + self.path

    def validate(self) -> None:
        check_loopback(self.url, self.allow_remote)
        if urlsplit(self.url).scheme != "http":
            raise ValueError("only http:// targets are supported")
        if not self.rate > 0:
            raise ValueError("rate must be > 0")
        if not 0 < self.duration <= MAX_DURATION_S:
            raise ValueError(f"duration must be in (0, {MAX_DURATION_S:g}] seconds")
        if not 0 <= self.warmup <= MAX_DURATION_S:
            raise ValueError(f"warmup must be in [0, {MAX_DURATION_S:g}] seconds")
        if not 0 <= self.pause <= MAX_DURATION_S:
            raise ValueError(f"pause must be in [0, {MAX_DURATION_S:g}] seconds")
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
        if not 1 <= self.processes <= MAX_PROCESSES:
            raise ValueError(f"processes must be in [1, {MAX_PROCESSES}]")
        if any(c < 0 for c in self.cpus):
            raise ValueError("cpus must be CPU numbers >= 0")

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["cpus"] = list(self.cpus)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> OpenLoopConfig:
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        if "cpus" in kw:
            kw["cpus"] = tuple(int(c) for c in kw["cpus"] or ())
        return cls(**kw)


@dataclass(frozen=True)
class Counts:
    sent: int  # requests dispatched in the measured window
    completed: int  # of those: answered, timed out or failed (not unfinished)
    ok: int
    errors: Dict[str, int]  # "http_503", "timeout", "connection", "bad_reply", "protocol"
    unfinished: int = 0  # still in flight when the run ended (stopped or drain timed out)
    warmup_sent: int = 0
    waited_for_connection: int = 0  # measured requests that found every connection busy

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
                   int(d.get("unfinished", 0)), int(d.get("warmup_sent", 0)),
                   int(d.get("waited_for_connection", 0)))


_HISTS = ("latency", "service_time", "generator_lag", "connection_wait", "error_latency")


@dataclass(frozen=True)
class OpenLoopResult:
    """One open-loop run or block (or a merge of several). JSON via to_dict/from_dict."""

    complete: bool  # False when interrupted or a worker was lost
    config: Dict[str, Any]
    started_at: float  # unix time of the measured window's start
    elapsed_s: float  # measured window (warm-up excluded)
    target_rate: float
    scheduled_rate: float  # arrivals in the window / elapsed (Poisson differs by chance)
    achieved_rate: float  # sends / time it took to send them
    throughput: float  # ok responses / elapsed
    counts: Counts
    latency: HistogramSummary  # ok responses, from the intended send time
    service_time: HistogramSummary  # ok responses, from the request written
    generator_lag: HistogramSummary  # dispatch - intended (the generator's own lateness)
    connection_wait: HistogramSummary  # written - dispatch, requests that waited only
    error_latency: HistogramSummary  # failed answers and timeouts, from the intended time
    cpu_percent: float  # the busiest process over the window, % of one core
    cpu_percent_total: float  # all processes, % of one core
    cpu_user_s: float
    cpu_system_s: float
    max_in_flight: int
    processes: int
    generator_saturated: bool
    saturation_reasons: Tuple[str, ...]
    block: Optional[str] = None
    warnings: Tuple[str, ...] = ()
    timeline: Tuple[Dict[str, Any], ...] = ()  # progress events, one a second
    meta: Dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    # window start to the last successful response: the served rate of an overload is
    # ok / ok_span_s (its backlog is answered after the schedule ends)
    ok_span_s: Optional[float] = None

    @property
    def served_rate(self) -> float:
        """Successful responses per second from the window's start to the last one."""
        return self.counts.ok / self.ok_span_s if self.ok_span_s else 0.0

    @property
    def no_successful_responses(self) -> bool:
        return self.counts.ok == 0

    def to_dict(self) -> Dict[str, Any]:
        d: Dict[str, Any] = {
            "schema_version": self.schema_version, "kind": "openloop", "load_model": "open",
            "block": self.block, "complete": self.complete, "config": dict(self.config),
            "started_at": self.started_at, "elapsed_s": self.elapsed_s,
            "target_rate": self.target_rate, "scheduled_rate": self.scheduled_rate,
            "achieved_rate": self.achieved_rate, "throughput": self.throughput,
            "ok_span_s": self.ok_span_s, "served_rate": self.served_rate,
            "counts": self.counts.to_dict(),
            "no_successful_responses": self.no_successful_responses,
        }
        for name in _HISTS:
            d[name] = getattr(self, name).to_dict()
        d.update({
            "cpu_percent": self.cpu_percent, "cpu_percent_total": self.cpu_percent_total,
            "cpu_user_s": self.cpu_user_s, "cpu_system_s": self.cpu_system_s,
            "max_in_flight": self.max_in_flight, "processes": self.processes,
            "generator_saturated": self.generator_saturated,
            "saturation_reasons": list(self.saturation_reasons),
            "warnings": list(self.warnings), "timeline": [dict(t) for t in self.timeline],
            "meta": dict(self.meta),
        })
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> OpenLoopResult:
        version = int(d.get("schema_version", 0))
        if version != SCHEMA_VERSION:
            raise ValueError(f"open-loop result schema_version {d.get('schema_version')!r}, "
                             f"expected {SCHEMA_VERSION}")
        hists = {name: HistogramSummary.from_dict(d[name]) for name in _HISTS}
        return cls(
            complete=bool(d["complete"]), config=dict(d["config"]),
            started_at=float(d["started_at"]), elapsed_s=float(d["elapsed_s"]),
            target_rate=float(d["target_rate"]), scheduled_rate=float(d["scheduled_rate"]),
            achieved_rate=float(d["achieved_rate"]), throughput=float(d["throughput"]),
            counts=Counts.from_dict(d["counts"]), **hists,
            cpu_percent=float(d["cpu_percent"]),
            cpu_percent_total=float(d["cpu_percent_total"]),
            cpu_user_s=float(d["cpu_user_s"]), cpu_system_s=float(d["cpu_system_s"]),
            max_in_flight=int(d["max_in_flight"]), processes=int(d["processes"]),
            generator_saturated=bool(d["generator_saturated"]),
            saturation_reasons=tuple(d.get("saturation_reasons", ())),
            block=d.get("block"), warnings=tuple(d.get("warnings", ())),
            timeline=tuple(dict(t) for t in d.get("timeline", ())),
            meta=dict(d.get("meta", {})), schema_version=version,
            ok_span_s=d.get("ok_span_s"))


def saturation_reasons(scheduled_rate: float, achieved_rate: float,
                       lag_p99_ms: Optional[float], cpu_percent: float,
                       lag_threshold_ms: float = 10.0, cpu_threshold_pct: float = 90.0,
                       min_rate_ratio: float = 0.95) -> List[str]:
    """Why a run's figures may be the generator's limit rather than the service's."""
    reasons = []
    if cpu_percent >= cpu_threshold_pct:
        reasons.append(f"generator CPU {cpu_percent:.0f}% of one core "
                       f"(>= {cpu_threshold_pct:.0f}%)")
    if scheduled_rate > 0 and achieved_rate < min_rate_ratio * scheduled_rate:
        reasons.append(f"achieved rate {achieved_rate:.1f}/s < {100 * min_rate_ratio:.0f}% "
                       f"of scheduled {scheduled_rate:.1f}/s")
    if lag_p99_ms is not None and lag_p99_ms > lag_threshold_ms:
        reasons.append(f"generator lag p99 {lag_p99_ms:.2f} ms > {lag_threshold_ms:.1f} ms")
    return reasons


def build_result(cfg: OpenLoopConfig, parts: Sequence[Optional[Mapping[str, Any]]], *,
                 started_at: float, block: Optional[str] = None,
                 timeline: Sequence[Dict[str, Any]] = (),
                 meta: Optional[Dict[str, Any]] = None,
                 interrupted: bool = False) -> OpenLoopResult:
    """One result from the workers' part dicts (None: a worker that sent nothing back)."""
    got = [p for p in parts if p is not None]
    lost = len(parts) - len(got)
    recs = {k: Recorder() for k in ("lat", "svc", "lag", "wait", "errlat")}
    errors: Dict[str, int] = {}
    for p in got:
        for k, r in recs.items():
            r.add(p[k])
        for k, v in p["errors"].items():
            errors[k] = errors.get(k, 0) + int(v)
    counts = Counts(sum(p["sent"] for p in got), sum(p["completed"] for p in got),
                    sum(p["ok"] for p in got), dict(sorted(errors.items())),
                    sum(p["unfinished"] for p in got), sum(p["warmup_sent"] for p in got),
                    sum(p["waited"] for p in got))
    interrupted = interrupted or any(p["interrupted"] for p in got) or lost > 0
    # the measured window: the configured one, cut by a stop or by max_requests
    elapsed = cfg.duration
    stops = [p["stop_rel"] for p in got if p["stop_rel"] is not None]
    if stops:
        elapsed = min(elapsed, min(stops))
    caps = [p["cap_offset"] for p in got if p["cap_offset"] is not None]
    if caps:
        elapsed = min(elapsed, min(caps) - cfg.warmup)
    elapsed = max(0.0, elapsed)
    lasts = [p["last_dispatch_rel"] for p in got if p["last_dispatch_rel"] is not None]
    span = max([elapsed, *lasts]) if counts.sent else elapsed
    oks = [p["last_ok_rel"] for p in got if p.get("last_ok_rel") is not None]
    ok_span = max(oks) if oks else None
    scheduled = counts.sent / elapsed if elapsed > 0 else 0.0
    achieved = counts.sent / span if span > 0 else 0.0
    cpu_each = [100.0 * (p["cpu_user_s"] + p["cpu_system_s"]) / p["cpu_wall_s"] for p in got]
    cpu_max = max(cpu_each) if cpu_each else 0.0
    hist = {k: HistogramSummary.of(r.to_hdr()) for k, r in recs.items()}
    lag = hist["lag"]
    reasons = saturation_reasons(scheduled, achieved, lag.pct(99), cpu_max,
                                 cfg.lag_threshold_ms, cfg.cpu_threshold_pct,
                                 cfg.min_rate_ratio) if elapsed > 0 and counts.sent else []
    warnings: List[str] = []
    if counts.ok == 0:
        warnings.append("no successful responses: latency percentiles are null")
    elif hist["lat"].count < 100:
        warnings.append(f"only {hist['lat'].count} latency samples: tail percentiles are "
                        "not meaningful")
    full = [p for p in got if p["pool"]["max_size"] >= p["pool"]["limit"]]
    if full:
        warnings.append(f"connection pool reached its limit ({full[0]['pool']['limit']} per "
                        "process): latency includes waiting for a connection")
    if counts.waited_for_connection:
        warnings.append(f"{counts.waited_for_connection} requests waited for a free "
                        "connection (see connection_wait)")
    if counts.unfinished:
        warnings.append(f"{counts.unfinished} requests still in flight at the end "
                        "(not counted as completed)")
    if lost:
        warnings.append(f"{lost} of {len(parts)} worker processes sent no result")
    if got and not all(p["timer_precise"] for p in got):
        warnings.append("no timerfd: sends follow the event loop's 1 ms timers")
    connect_errors = [p["pool"]["last_error"] for p in got if p["pool"]["last_error"]]
    if counts.errors.get("connection") and connect_errors:
        warnings.append("connection errors, last: " + connect_errors[-1])
    m = dict(meta or {})
    m["parts"] = [{"pid": p["pid"], "cpu_affinity": p["cpu_affinity"],
                   "cpu_percent": round(c, 1), "sent": p["sent"], "pool": p["pool"]}
                  for p, c in zip(got, cpu_each)]
    return OpenLoopResult(
        complete=not interrupted, config=cfg.to_dict(), started_at=started_at,
        elapsed_s=elapsed, target_rate=cfg.rate, scheduled_rate=scheduled,
        achieved_rate=achieved, throughput=counts.ok / elapsed if elapsed > 0 else 0.0,
        counts=counts, latency=hist["lat"], service_time=hist["svc"],
        generator_lag=lag, connection_wait=hist["wait"], error_latency=hist["errlat"],
        cpu_percent=cpu_max, cpu_percent_total=sum(cpu_each),
        cpu_user_s=sum(p["cpu_user_s"] for p in got),
        cpu_system_s=sum(p["cpu_system_s"] for p in got),
        max_in_flight=sum(p["max_in_flight"] for p in got), processes=len(parts),
        generator_saturated=bool(reasons), saturation_reasons=tuple(reasons), block=block,
        warnings=tuple(warnings), timeline=tuple(timeline), meta=m, ok_span_s=ok_span)


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
    c = [r.counts for r in results]
    counts = Counts(sum(x.sent for x in c), sum(x.completed for x in c),
                    sum(x.ok for x in c), dict(sorted(errors.items())),
                    sum(x.unfinished for x in c), sum(x.warmup_sent for x in c),
                    sum(x.waited_for_connection for x in c))

    def weighted(attr: str) -> float:
        if elapsed <= 0:
            return 0.0
        return sum(getattr(r, attr) * r.elapsed_s for r in results) / elapsed

    hists = {name: HistogramSummary.merged(getattr(r, name).encoded for r in results)
             for name in _HISTS}
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
        scheduled_rate=counts.sent / elapsed if elapsed > 0 else 0.0,
        achieved_rate=weighted("achieved_rate"),
        throughput=counts.ok / elapsed if elapsed > 0 else 0.0, counts=counts,
        latency=hists["latency"], service_time=hists["service_time"],
        generator_lag=hists["generator_lag"], connection_wait=hists["connection_wait"],
        error_latency=hists["error_latency"], cpu_percent=weighted("cpu_percent"),
        cpu_percent_total=weighted("cpu_percent_total"),
        cpu_user_s=sum(r.cpu_user_s for r in results),
        cpu_system_s=sum(r.cpu_system_s for r in results),
        max_in_flight=max(r.max_in_flight for r in results),
        processes=max(r.processes for r in results),
        generator_saturated=any(r.generator_saturated for r in results),
        saturation_reasons=tuple(reasons), warnings=tuple(warnings),
        timeline=(), meta=dict(results[0].meta, merged_parts=len(results)),
        ok_span_s=sum(r.ok_span_s for r in results if r.ok_span_s is not None) or None)


def _ms(x: Optional[float]) -> str:
    return f"{x:8.3f}" if x is not None else f"{'-':>8}"


def format_result(r: OpenLoopResult) -> str:
    """A short human summary (lines; only the CLI prints)."""
    c = r.counts
    errors = json.dumps(c.errors, sort_keys=True) if c.errors else ""
    partial = "" if r.complete else "  (INTERRUPTED: partial)"
    block = f"[{r.block}] " if r.block else ""
    lines = [
        f"{block}open loop {r.config.get('route', '')} {r.config.get('url', '')}  "
        f"target {r.target_rate:.1f}/s  achieved {r.achieved_rate:.1f}/s  "
        f"ok {r.throughput:.1f}/s  over {r.elapsed_s:.2f}s  processes {r.processes}{partial}",
        f"sent {c.sent}  ok {c.ok}  errors {c.error_count} {errors}  "
        f"unfinished {c.unfinished}  waited for a connection {c.waited_for_connection}  "
        f"(warm-up sent {c.warmup_sent})",
        f"{'ms':<26} " + " ".join(f"{pkey(p):>8}" for p in PERCENTILES) + f" {'max':>8}",
    ]
    for name, h in (("latency (intended time)", r.latency),
                    ("service time (written)", r.service_time),
                    ("generator lag", r.generator_lag),
                    ("connection wait", r.connection_wait)):
        if name == "connection wait" and h.count == 0:
            continue
        lines.append(f"{name:<26} " + " ".join(_ms(h.pct(p)) for p in PERCENTILES)
                     + f" {_ms(h.max_ms)}")
    lines.append(f"generator: cpu {r.cpu_percent:.0f}% of one core (busiest process), "
                 f"max in flight {r.max_in_flight}")
    if r.generator_saturated:
        lines.append("GENERATOR SATURATED: " + "; ".join(r.saturation_reasons)
                     + " -- these figures are the generator's limit, not the service's")
    for w in r.warnings:
        lines.append("warning: " + w)
    return "\n".join(lines)


def with_meta(result: OpenLoopResult, **extra: Any) -> OpenLoopResult:
    return replace(result, meta=dict(result.meta, **extra))
