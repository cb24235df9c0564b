"""The measured figures capacity planning starts from, read from a run and its scaling
phase (``reports.planning`` itself stays a pure function of numbers)."""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from perflab.scaling import ScalingResult

from .data import RunData
from .metrics import metric_sample
from .planning import Interval, VariantLoad, capacity_plan, format_plan
from .scaling import block_ratio, peak_blocks, scaling_table
from .stats import nested_mean


def efficiency_for_planning(scaling: ScalingResult) -> Optional[Tuple[Interval, str]]:
    """The efficiency at the largest N measured (its interval), and where it comes from."""
    ns = sorted({int(b["instances"]) for b in scaling.blocks
                 if b["kind"] == "peak" and int(b["instances"]) > 1}, reverse=True)
    for n in ns:
        r = block_ratio(scaling, n, float(n))
        if r is not None:
            low = r.low if r.low is not None else r.estimate
            high = r.high if r.high is not None else r.estimate
            return (r.estimate, low, high), "peak(%d) / (%d x peak(1)), %s" % (n, n, r.method)
    return None


def _interval(values: Dict[Tuple[int, int], float]) -> Optional[Interval]:
    if not values:
        return None
    m = nested_mean(values)
    return (m.mean, m.low if m.low is not None else m.mean,
            m.high if m.high is not None else m.mean)


def scaling_load(scaling: ScalingResult) -> Optional[VariantLoad]:
    """One instance of the scaling phase's variant under its CPU budget: peak(1) and the
    highest P95 over N at the planning load."""
    peak = _interval(peak_blocks(scaling, 1)[0])
    if peak is None:
        return None
    p95 = [r.planning_p95_ms for r in scaling_table(scaling) if r.planning_p95_ms is not None]
    budget = float(scaling.budget.get("cpus_per_instance") or 1.0)
    return VariantLoad("%s (%.2g CPU)" % (scaling.variant, budget), peak,
                       max(p95) if p95 else None, budget)


def run_loads(run: RunData) -> List[VariantLoad]:
    """Each variant of the run with peak blocks (one pinned core per instance); P95 at the
    planning load is not measured for them."""
    out: List[VariantLoad] = []
    for name in run.variant_names(include_aa=False):
        peak = _interval(metric_sample(run, name, "peak_rps").blocks)
        if peak is not None:
            out.append(VariantLoad(name, peak, None, 1.0))
    return out


def format_scaling_plan(scaling: ScalingResult, run: Optional[RunData] = None) -> List[str]:
    """The planning table from the scaling phase (and the run's peak variants)."""
    eff = efficiency_for_planning(scaling)
    loads = [x for x in [scaling_load(scaling)] if x is not None]
    if run is not None:
        loads += run_loads(run)
    if eff is None or not loads:
        return ["Capacity planning: not possible (%s)." % (
            "no scaling efficiency measured" if eff is None else "no peak measured")]
    sources = {"peak": "served rate of overload blocks (open loop above capacity); the "
               "scaling variant's N=1 under its CPU budget, the run's variants on one core",
               "P95": "the scaling phase's blocks at the planning load, the highest over N",
               "efficiency": eff[1]}
    return format_plan(capacity_plan(loads, eff[0]), eff[0], sources)
