"""Targets: k6-style expressions (``p95 < 200``) read from a TOML file, checked per variant.

The guide's targets live in ``reports/targets.toml`` (editable; a run directory
may carry its own ``targets.toml``). Each target is judged from usable rows
only: generator-limited, failed and skipped figures give LIMITED, FAILED and
SKIPPED, never PASS or FAIL.
"""

from __future__ import annotations

import math
import operator
import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import tomllib

from perflab.results import Row

from .data import CHAT_ROUTE, RunData, exclusion_reason, same_rate, usable
from .metrics import COMMON

DEFAULT_TARGETS = Path(__file__).with_name("targets.toml")

PASS, FAIL, NA, LIMITED, SKIPPED, FAILED = "PASS", "FAIL", "N/A", "LIMITED", "SKIPPED", "FAILED"

OPS: Dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne}


@dataclass(frozen=True)
class TargetMetric:
    name: str
    unit: str
    description: str


_LATENCY = {"p50": "p50_ms", "p90": "p90_ms", "p95": "p95_ms", "p99": "p99_ms",
            "p999": "p999_ms", "max": "max_ms", "mean": "mean_ms"}

TARGET_METRICS: Dict[str, TargetMetric] = {m.name: m for m in (
    *(TargetMetric(k, "ms", "%s latency, open loop at the reference rate" % k)
      for k in _LATENCY),
    TargetMetric("error_rate", "%", "errors, % of completed requests at the reference rate"),
    TargetMetric("cpu_pct", "%", "service CPU, % of one core per instance, at the reference "
                 "rate"),
    TargetMetric("rss_mb", "MB", "peak resident memory per instance"),
    TargetMetric("sustained_rpm", "/min", "capacity: highest rate meeting P95 and errors"),
    TargetMetric("sustained_rps", "/s", "capacity: highest rate meeting P95 and errors"),
    TargetMetric("peak_rpm", "/min", "highest throughput of successful responses"),
    TargetMetric("peak_rps", "/s", "highest throughput of successful responses"),
    TargetMetric("classify_rps", "/s", "intent classification, in-process"),
)}

ALIASES = {"med": "p50", "median": "p50", "avg": "mean", "errors": "error_rate",
           "error_pct": "error_rate", "http_req_failed": "error_rate", "rss": "rss_mb",
           "rss_peak_mb": "rss_mb", "cpu": "cpu_pct", "capacity_rps": "sustained_rps",
           "classify_rate": "classify_rps", "throughput_rpm": "sustained_rpm"}

_EXPR = re.compile(r"^\s*([A-Za-z_][\w().]*)\s*(<=|>=|==|!=|<|>)\s*"
                   r"([0-9][0-9_,]*(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z%/]*)\s*$")


@dataclass(frozen=True)
class Target:
    """One target: ``metric op value`` (in the metric's unit), optionally on one route."""

    name: str
    metric: str
    op: str
    value: float
    expr: str
    route: Optional[str] = None
    note: str = ""

    def passes(self, measured: float) -> bool:
        return OPS[self.op](measured, self.value)

    @property
    def unit(self) -> str:
        return TARGET_METRICS[self.metric].unit

    @property
    def label(self) -> str:
        where = " on %s" % self.route if self.route else ""
        return "%s %s %s%s" % (self.metric, self.op, format_value(self.value, self.unit),
                               where)


def canonical_metric(word: str) -> str:
    """``p(99)``, ``p99_ms``, ``P99`` -> ``p99``; unknown names raise ValueError."""
    w = word.strip().lower()
    m = re.fullmatch(r"p\(?\s*([0-9.]+)\s*\)?(?:_ms)?", w)
    if m:
        w = "p" + m.group(1).replace(".", "")
    w = ALIASES.get(w, w)
    if w.endswith("_ms") and w[:-3] in _LATENCY:
        w = w[:-3]
    if w not in TARGET_METRICS:
        raise ValueError("unknown target metric %r; known: %s"
                         % (word, ", ".join(TARGET_METRICS)))
    return w


def parse_target(expr: str, name: str = "", route: Optional[str] = None,
                 note: str = "") -> Target:
    """A Target from ``"p95 < 200"``; the value may carry its unit (ms, s, %, MB, /min)."""
    m = _EXPR.match(expr)
    if not m:
        raise ValueError("target %r: expected METRIC OP VALUE, e.g. 'p95 < 200'" % expr)
    word, op, number, suffix = m.groups()
    metric = canonical_metric(word)
    value = float(number.replace(",", "").replace("_", ""))
    unit = TARGET_METRICS[metric].unit
    suffix = suffix.lower()
    if suffix == "s" and unit == "ms":
        value *= 1000.0
    elif suffix not in ("", "ms", "%", "mb", "/s", "/min", "rps", "rpm"):
        raise ValueError("target %r: unknown unit %r" % (expr, suffix))
    return Target(name or expr.strip(), metric, op, value, expr.strip(), route or None, note)


def load_targets(path: Optional[Path] = None) -> List[Target]:
    """Targets from a TOML file of ``[[target]]`` tables (default: the guide's)."""
    path = Path(path) if path is not None else DEFAULT_TARGETS
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError("%s: no such targets file" % path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError("%s: cannot read the targets file (%s)" % (path, exc)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError("%s: not valid TOML: %s" % (path, exc)) from None
    targets = data.get("target", [])
    if not isinstance(targets, list) or not all(isinstance(t, dict) for t in targets):
        raise ValueError("%s: expected [[target]] tables with an expr each" % path)
    out = []
    for i, t in enumerate(targets):
        if "expr" not in t:
            raise ValueError("%s: target #%d has no expr" % (path, i + 1))
        route = t.get("route")
        if route is not None and not isinstance(route, str):
            raise ValueError("%s: target #%d: route must be a string" % (path, i + 1))
        try:
            out.append(parse_target(str(t["expr"]), str(t.get("name", "")), route,
                                    str(t.get("note", ""))))
        except ValueError as exc:
            raise ValueError("%s: target #%d: %s" % (path, i + 1, exc)) from None
    if not out:
        raise ValueError("%s: no [[target]] tables: nothing to judge against" % path)
    return out


@dataclass(frozen=True)
class TargetResult:
    """A target judged for one variant."""

    variant: str
    target: Target
    status: str  # PASS | FAIL | N/A | LIMITED | SKIPPED | FAILED
    value: Optional[float]
    n: int  # repeats the figure comes from
    load_model: str
    note: str = ""

    @property
    def cell(self) -> str:
        """Short text for a table cell: ``PASS 31.2 ms``."""
        if self.value is None:
            return self.status
        return "%s %s" % (self.status, format_value(self.value, self.target.unit))


def format_value(value: float, unit: str) -> str:
    """A figure with its unit, to about three significant digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "%":
        if float(value).is_integer():
            return "%d%%" % value
        return "%.2f%%" % value if abs(value) < 10 else "%.1f%%" % value
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif float(value).is_integer():
        text = "%d" % value
    elif abs(value) >= 10:
        text = "%.1f" % value
    else:
        text = "%.2f" % value
    return text + ("" if unit.startswith("/") else " ") + unit if unit else text


def _rows_for(run: RunData, variant: str, t: Target) -> List[Row]:
    rows = run.rows_of(variant)
    m = t.metric
    if m in _LATENCY or m in ("error_rate", "cpu_pct"):
        route = t.route or CHAT_ROUTE
        out = [r for r in rows if r.route == route and r.load_model == "open"
               and ((r.measurement == "fixed_rate" and same_rate(r.target_rate,
                                                                 run.reference_rate))
                    or r.measurement == "orders")]
        if t.route is None and not out:  # a run without route labels
            out = [r for r in rows if r.measurement == "fixed_rate"
                   and same_rate(r.target_rate, run.reference_rate)]
        return out
    if m == "rss_mb":  # the phases every variant runs, as the rss claim (reports.metrics)
        common = [r for r in rows if r.measurement in COMMON]
        return common or [r for r in rows if r.measurement != "classify"]
    if m.startswith("sustained"):
        return [r for r in rows if r.measurement == "capacity"]
    if m.startswith("peak"):
        # the peak is only known where the plan searched for it (or drove Locust)
        searched = [r for r in rows if r.measurement in ("capacity", "locust", "peak")]
        return searched + [r for r in rows if r.measurement == "fixed_rate"] if searched else []
    if m == "classify_rps":
        return [r for r in rows if r.measurement == "classify"]
    return []


def _per_repeat(rows: Sequence[Row], fn: Callable[[Row], Optional[float]],
                reduce: Callable[[List[float]], float]) -> Dict[int, float]:
    by: Dict[int, List[float]] = {}
    for r in rows:
        v = fn(r)
        if v is not None:
            by.setdefault(r.repeat, []).append(float(v))
    return {k: reduce(v) for k, v in by.items()}


def _mean(v: List[float]) -> float:
    return sum(v) / len(v)


def measure(run: RunData, variant: str, t: Target, include_limited: bool = False
            ) -> Tuple[Optional[float], int, str, str]:
    """(value, repeats, load model, reason) of a target's metric for one variant;
    ``include_limited`` also takes generator-limited rows (lower bounds of a rate)."""
    rows = _rows_for(run, variant, t)
    if t.metric == "rss_mb" or include_limited:  # memory is the service's own even when
        good = [r for r in rows if r.status == "ok"]  # the generator lagged
    else:
        good = [r for r in rows if usable(r)]
    models = "+".join(dict.fromkeys(r.load_model for r in good))
    m = t.metric
    value: Optional[float] = None
    n = 0
    if m == "error_rate":
        done = sum(r.ok + r.errors for r in good)
        if good:
            value = (100.0 * sum(r.errors for r in good) / done if done else
                     100.0 * _mean([r.error_rate for r in good]))
            n = len({r.repeat for r in good})
    else:
        fn: Callable[[Row], Optional[float]]
        reduce: Callable[[List[float]], float] = _mean
        scale = 60.0 if m.endswith("_rpm") else 1.0
        if m in _LATENCY:
            col = _LATENCY[m]

            def fn(r: Row) -> Optional[float]:
                return getattr(r, col)
        elif m == "cpu_pct":
            def fn(r: Row) -> Optional[float]:
                v = r.service_cpu_pct
                return None if v is None else v / max(r.instances, 1)
        elif m == "rss_mb":
            def fn(r: Row) -> Optional[float]:
                v = r.rss_peak_mb
                return None if v is None else v / max(r.instances, 1)
            reduce = max
        elif m.startswith("sustained"):
            def fn(r: Row) -> Optional[float]:
                return r.capacity_rps
        elif m.startswith("peak"):
            def fn(r: Row) -> Optional[float]:
                return r.throughput_rps
            reduce = max
        else:
            def fn(r: Row) -> Optional[float]:
                return r.classify_rate
        per = _per_repeat(good, fn, reduce)
        if per:
            n = len(per)
            vals = list(per.values())
            value = scale * (max(vals) if m == "rss_mb" else statistics.median(vals))
    reason = "" if value is not None else exclusion_reason(rows)
    return value, n, models or "-", reason


NOT_PLANNED = "not in the plan for this variant"
LOWER_BOUND_PASS = "a lower bound (generator-limited) already meets the target"


def _rate_floor(t: Target) -> bool:
    """An "at least this rate" target, which a lower bound can settle."""
    return t.op in (">", ">=") and (t.metric.startswith("sustained")
                                    or t.metric.startswith("peak"))


def _has(run: RunData, measurement: str) -> bool:
    return any(r.measurement == measurement for r in run.rows)


def planned(run: RunData, variant: str, t: Target) -> bool:
    """Whether the run's plan measures what ``t`` needs for ``variant``. A target the plan
    never measures is N/A; one it does measure but has no figure for cannot pass."""
    p = run.plan
    m = t.metric
    external = bool(run.meta.target)

    def chosen(key: str) -> bool:
        names = list(p.get(key) or [])
        return not names or variant in names

    # an older or hand-made run.json without these keys: go by what the run measured
    capacity = (bool((p.get("capacity") or {}).get("enabled", True)) and chosen("capacity_for")
                if "capacity" in p else _has(run, "capacity"))
    locust = (int(p.get("locust_users") or 0) > 0 and chosen("locust_for")
              if "locust_users" in p else _has(run, "locust"))
    if m in _LATENCY or m in ("error_rate", "cpu_pct"):
        if m == "cpu_pct" and external:
            return False  # the lab samples only the processes it started
        if t.route is not None and "/api/orders" in t.route:
            return (float(p.get("orders_rate") or 0) > 0 if "orders_rate" in p
                    else _has(run, "orders"))
        return True
    if m == "rss_mb":
        return not external
    if m.startswith("sustained"):
        return capacity
    if m.startswith("peak"):
        peak = variant in (p.get("peak_for") or []) if "peak_for" in p else _has(run, "peak")
        return capacity or locust or peak
    if m == "classify_rps":
        if external:
            return False
        return ((float(p.get("classify_messages") or 0) > 0 and chosen("classify_for"))
                if "classify_messages" in p else _has(run, "classify"))
    return True


def evaluate(run: RunData, variant: str, targets: Sequence[Target]) -> List[TargetResult]:
    """Every target for one variant."""
    out = []
    skipped = run.skipped.get(variant)
    for t in targets:
        if skipped is not None:
            out.append(TargetResult(variant, t, SKIPPED, None, 0, "-", skipped))
            continue
        value, n, model, reason = measure(run, variant, t)
        if value is None and reason == "no data" and not planned(run, variant, t):
            out.append(TargetResult(variant, t, NA, None, 0, model, NOT_PLANNED))
        elif value is None and reason == "generator-limited" and _rate_floor(t):
            # a rate the generator could not push past is a lower bound: enough to pass
            # an "at least" target, never to fail one
            low, n, model, _ = measure(run, variant, t, include_limited=True)
            if low is not None and t.passes(low):
                out.append(TargetResult(variant, t, PASS, low, n, model, LOWER_BOUND_PASS))
            else:
                out.append(TargetResult(variant, t, LIMITED, None, 0, model, reason))
        elif value is None:
            status = {"generator-limited": LIMITED, "failed": FAILED,
                      "interrupted": FAILED}.get(reason, NA)
            out.append(TargetResult(variant, t, status, None, 0, model, reason))
        elif (not t.passes(value) and t.metric.startswith("sustained")
              and any(r.capacity_bound == "lower" for r in _rows_for(run, variant, t)
                      if r.status == "ok")):
            out.append(TargetResult(variant, t, LIMITED, value, n, model,
                                    "the capacity search found only a lower bound: the "
                                    "capacity may be higher"))
        elif (not t.passes(value) and t.metric.startswith("peak")
              and any(r.generator_saturated for r in _rows_for(run, variant, t))):
            out.append(TargetResult(variant, t, LIMITED, value, n, model,
                                    "higher rates were generator-limited: the peak may be "
                                    "higher"))
        else:
            out.append(TargetResult(variant, t, PASS if t.passes(value) else FAIL, value, n,
                                    model))
    return out


def evaluate_all(run: RunData, targets: Sequence[Target],
                 include_aa: bool = False) -> List[TargetResult]:
    """Every target for every variant of the run (A/A copies only when asked)."""
    out: List[TargetResult] = []
    for v in run.variant_names(include_aa=include_aa):
        out.extend(evaluate(run, v, targets))
    return out
