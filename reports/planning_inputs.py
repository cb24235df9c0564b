"""The measured figures capacity planning starts from, read from a run and its scaling
phase (``reports.planning`` itself stays a pure function of numbers)."""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from perflab.scaling import ScalingResult

from .data import RunData, reference_rows, usable
from .planning import Interval, VariantCapacity
from .scaling import bracketed_ratio, capacities
from .stats import mean_interval


def efficiency_for_planning(scaling: ScalingResult) -> Optional[Tuple[Interval, str]]:
    """The efficiency at the largest N measured (its interval), and where it comes from."""
    ns = sorted({s.instances for s in scaling.searches if s.instances > 1}, reverse=True)
    for n in ns:
        r = bracketed_ratio(scaling, n, float(n))
        if r is not None:
            low = r.low if r.low is not None else r.estimate
            high = r.high if r.high is not None else r.estimate
            return (r.estimate, low, high), "scaling efficiency at N=%d (%s)" % (n, r.method)
    return None


def scaling_capacity(scaling: ScalingResult) -> Optional[VariantCapacity]:
    """One instance of the scaling phase's variant, under its CPU budget."""
    caps, _ = capacities(scaling, 1)
    if not caps:
        return None
    cpu = [i["cpu_pct"] / 100.0 / p["achieved"] for s in scaling.searches if s.instances == 1
           for p in s.probes if p.get("pass") and p.get("achieved")
           for i in p.get("instances", [])[:1] if i.get("cpu_pct")]
    budget = float(scaling.budget.get("cpus_per_instance") or 1.0)
    return VariantCapacity("%s (%.2g CPU)" % (scaling.variant, budget),
                           mean_interval(list(caps.values())),
                           sum(cpu) / len(cpu) if cpu else None, budget)


def run_capacities(run: RunData) -> List[VariantCapacity]:
    """Each variant with a bracketed capacity in the run (one pinned core per instance);
    CPU per request from its fixed-rate rows at the reference rate."""
    out: List[VariantCapacity] = []
    for name in run.variant_names(include_aa=False):
        rows = run.rows_of(name)
        caps = [r.capacity_rps for r in rows if r.measurement == "capacity" and usable(r)
                and r.capacity_bound == "bracketed" and r.capacity_rps]
        if not caps:
            continue
        per_req = [r.service_cpu_pct / 100.0 / r.achieved_rate
                   for r in reference_rows(rows, run.reference_rate)
                   if usable(r) and r.service_cpu_pct and r.achieved_rate]
        out.append(VariantCapacity(name, mean_interval([float(c) for c in caps if c]),
                                   sum(per_req) / len(per_req) if per_req else None, 1.0))
    return out


def planning_sources(run: Optional[RunData], scaling: ScalingResult) -> Dict[str, str]:
    src = {"capacity": "capacity searches (P95 < 200 ms, errors < 2%), open loop",
           "CPU per request": "service CPU over the fixed-rate runs / their rate"}
    if run is None:
        src["capacity"] += ", scaling phase only"
    eff = efficiency_for_planning(scaling)
    src["efficiency"] = eff[1] if eff else "not measured"
    return src
