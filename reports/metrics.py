"""Per-repeat figures of one variant for the metrics claims and comparisons are about.

``p50_ms``/``p95_ms``/``p99_ms``/``error_rate``: fixed-rate rows (open loop) at the
plan's reference rate; ``capacity_rps``: capacity rows; ``peak_rps``: successful responses/s in the
overload blocks (open loop above capacity); ``rss_peak_mb``: the
highest peak over a repeat's fixed-rate and orders rows, the phases every variant
runs (a capacity search or Locust run that only some variants get would bias a
comparison); ``order_p50_ms``: orders rows' p50;
``classify_rate``: classify rows (in-process). Only usable rows count; the
rest are counted as exclusions, so the report can say why a figure is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from perflab.results import Row

from .data import RunData, exclusion_reason, reference_rows, usable


@dataclass(frozen=True)
class MetricSpec:
    name: str
    measurement: Optional[str]  # None: the measurements every variant gets (COMMON)
    column: str
    lower_is_better: bool
    unit: str
    reduce: str = "mean"  # how rows of one repeat combine: mean | max
    at_reference: bool = False


METRIC_SPECS: Dict[str, MetricSpec] = {s.name: s for s in (
    MetricSpec("p50_ms", "fixed_rate", "p50_ms", True, "ms", at_reference=True),
    MetricSpec("p95_ms", "fixed_rate", "p95_ms", True, "ms", at_reference=True),
    MetricSpec("p99_ms", "fixed_rate", "p99_ms", True, "ms", at_reference=True),
    MetricSpec("error_rate", "fixed_rate", "error_rate", True, "", at_reference=True),
    MetricSpec("capacity_rps", "capacity", "capacity_rps", False, "req/s"),
    MetricSpec("peak_rps", "peak", "throughput_rps", False, "req/s"),
    MetricSpec("rss_peak_mb", None, "rss_peak_mb", True, "MB", reduce="max"),
    MetricSpec("cpu_ms_per_request", "fixed_rate", "cpu_ms_per_request", True, "ms",
               at_reference=True),
    MetricSpec("order_p50_ms", "orders", "p50_ms", True, "ms"),
    MetricSpec("classify_rate", "classify", "classify_rate", False, "msg/s"),
)}

COMMON = ("fixed_rate", "orders")  # run for every variant of a plan

LOAD_MODEL_NOTE = {"open": "open loop", "closed": "closed loop (Locust)",
                   "in-process": "in-process"}


@dataclass(frozen=True)
class MetricSample:
    """One variant's figures for one metric: {repeat: value} plus what was left out."""

    variant: str
    metric: str
    values: Dict[int, float]
    excluded: Tuple[Tuple[int, str], ...]  # (repeat, reason) of rows left out
    load_models: Tuple[str, ...]
    reason: str  # why there are no values ("" when there are)
    # {(repeat, block): value}: the unit of pairing between variants (same block seed)
    blocks: Dict[Tuple[int, int], float] = field(default_factory=dict)

    @property
    def load_model(self) -> str:
        return "+".join(self.load_models) if self.load_models else "-"


LOWER_BOUND = ("capacity is a lower bound: the search ran out of time or rates before a "
               "probe failed")


def candidate_rows(run: RunData, variant: str, spec: MetricSpec) -> List[Row]:
    """The rows (usable or not) a metric is read from."""
    rows = run.rows_of(variant)
    if spec.at_reference:
        return reference_rows(rows, run.reference_rate)
    if spec.measurement is None:
        return [r for r in rows if r.measurement in COMMON] or \
            [r for r in rows if r.measurement != "classify"]
    return [r for r in rows if r.measurement == spec.measurement]


def metric_sample(run: RunData, variant: str, metric: str) -> MetricSample:
    """Per-repeat figures of ``variant`` for ``metric`` from its usable rows."""
    spec = METRIC_SPECS[metric]
    rows = candidate_rows(run, variant, spec)
    by_repeat: Dict[int, List[float]] = {}
    by_block: Dict[Tuple[int, int], List[float]] = {}
    excluded: List[Tuple[int, str]] = []
    models: List[str] = []
    for r in rows:
        value = getattr(r, spec.column)
        if not usable(r):
            excluded.append((r.repeat, exclusion_reason([r])))
            continue
        if spec.measurement == "capacity" and r.capacity_bound == "lower":
            excluded.append((r.repeat, LOWER_BOUND))
            continue
        if value is None:
            continue
        by_repeat.setdefault(r.repeat, []).append(float(value))
        key = (r.repeat, 0 if spec.reduce == "max" else r.block)
        by_block.setdefault(key, []).append(float(value))
        models.append(r.load_model)
    values = {k: (max(v) if spec.reduce == "max" else sum(v) / len(v))
              for k, v in sorted(by_repeat.items())}
    reason = "" if values else (LOWER_BOUND if any(r.capacity_bound == "lower" for r in rows)
                                else exclusion_reason(rows))
    blocks = {k: (max(v) if spec.reduce == "max" else sum(v) / len(v))
              for k, v in sorted(by_block.items())}
    return MetricSample(variant, metric, values, tuple(excluded),
                        tuple(dict.fromkeys(models)), reason, blocks)
