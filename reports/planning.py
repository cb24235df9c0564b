"""Capacity planning for the guide's tiers: how many instances each variant needs.

A pure function of measured figures (``reports.planning_inputs`` reads them):

- **peak**: one instance's peak throughput with its interval, the served rate of its
  overload blocks (open loop above capacity): for the deployment phase's variant, N = 1
  under its CPU budget (``perflab.scaling``); for the run's variants, their peak
  blocks on one pinned core;
- **per-instance rate**: r = ``PLANNING_LOAD`` x peak (0.6: the guide's CPU < 60%
  sustained, read as 60% of what the instance can serve);
- **P95 at that load**: measured by the deployment phase in one block per N at 0.6 x
  peak(N) (the highest over N is the one checked against P95 < 200 ms); not measured
  for the run's variants (said so in the table). A variant whose P95 there misses the
  target is not planned at r;
- **efficiency** E: the scaling phase's paired block ratio peak(N) / (N x peak(1)) at
  the largest N measured, with its interval.

N instances are planned to carry N x E x r (E = 1 for one instance); the instances
needed for a tier of T requests/min is the smallest N with N x E x r >= T / 60. The
"pessimistic" column uses the low ends of the peak and efficiency intervals.

Assumptions, stated beside the table (``ASSUMPTIONS``): efficiency measured for
N <= 3 extrapolated linearly (constant) to any N; one shared Redis that does not
become the bottleneck; the measured per-instance budget (one core, or the scaling
phase's CPU quota) is what each instance gets in production; the request mix of the
workload.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from perflab.scaling import PLANNING_LOAD

TIERS_PER_MIN: Tuple[int, ...] = (1_000, 10_000, 100_000)
P95_TARGET_MS = 200.0  # the guide's P95 < 200 ms (reports/targets.toml)
MAX_INSTANCES = 100_000
ASSUMPTIONS = (
    "scaling efficiency measured for N <= 3 is extrapolated linearly (held constant) to "
    "any N",
    "one shared Redis serves every instance without becoming the bottleneck",
    "each instance gets the CPU budget it was measured with",
    "the workload's request mix (POST /api/chat, the lab's shoppers)",
)

Interval = Tuple[float, float, float]  # estimate, low, high


@dataclass(frozen=True)
class VariantLoad:
    """What planning needs about one variant's single instance."""

    variant: str
    peak_rps: Interval  # served rate in overload blocks
    p95_ms: Optional[float] = None  # P95 at PLANNING_LOAD x peak (None: not measured)
    cpu_budget: float = 1.0  # CPUs the instance had when measured


@dataclass(frozen=True)
class PlanRow:
    variant: str
    tier_per_min: int
    per_instance_rps: float  # what one instance is planned to carry
    p95_ms: Optional[float]  # measured at that load
    p95_ok: Optional[bool]  # None: not measured
    instances: Optional[int]  # None: more than MAX_INSTANCES, no peak, or P95 missed
    instances_pessimistic: Optional[int]


def per_instance_rate(peak_rps: float, load: float = PLANNING_LOAD) -> float:
    """The rate one instance is planned to carry: ``load`` x its peak."""
    return load * peak_rps


def instances_needed(rate_rps: float, per_instance_rps: float, efficiency: float,
                     max_instances: int = MAX_INSTANCES) -> Optional[int]:
    """Smallest N with N x E x r >= rate (E applies from N = 2 on); None when none fits."""
    if per_instance_rps <= 0:
        return None
    if rate_rps <= per_instance_rps:
        return 1
    if efficiency <= 0:
        return None
    n = max(2, math.ceil(rate_rps / (efficiency * per_instance_rps) - 1e-9))
    return n if n <= max_instances else None


def capacity_plan(variants: Sequence[VariantLoad], efficiency: Interval,
                  tiers: Sequence[int] = TIERS_PER_MIN, load: float = PLANNING_LOAD,
                  p95_target_ms: float = P95_TARGET_MS) -> List[PlanRow]:
    """Instances needed per variant and tier (requests per minute)."""
    rows: List[PlanRow] = []
    e_est, e_low, _ = efficiency
    for v in variants:
        peak_est, peak_low, _ = v.peak_rps
        r, r_low = per_instance_rate(peak_est, load), per_instance_rate(peak_low, load)
        ok = None if v.p95_ms is None else v.p95_ms < p95_target_ms
        for tier in tiers:
            rate = tier / 60.0
            planned = ok is not False
            rows.append(PlanRow(v.variant, tier, round(r, 2), v.p95_ms, ok,
                                instances_needed(rate, r, min(e_est, 1.0)) if planned
                                else None,
                                instances_needed(rate, r_low, min(e_low, 1.0)) if planned
                                else None))
    return rows


def format_plan(rows: Sequence[PlanRow], efficiency: Interval, sources: Dict[str, str],
                load: float = PLANNING_LOAD) -> List[str]:
    """Markdown: one line per variant, a column per tier, assumptions underneath."""
    tiers = sorted({r.tier_per_min for r in rows})
    by_variant: Dict[str, List[PlanRow]] = {}
    for r in rows:
        by_variant.setdefault(r.variant, []).append(r)
    lines = ["Capacity planning: instances needed, each carrying %.0f%% of its peak (CPU < "
             "60%%) with P95 < %.0f ms checked at that load (estimate / pessimistic); "
             "scaling efficiency %.2f [%.2f, %.2f]"
             % (100 * load, P95_TARGET_MS, *efficiency), "",
             "| variant | one instance carries | P95 at that load | %s |"
             % " | ".join("%s req/min" % format(t, ",") for t in tiers),
             "|---|---|---|%s" % ("---|" * len(tiers))]
    for name, rs in by_variant.items():
        cells = []
        for t in tiers:
            r = next(x for x in rs if x.tier_per_min == t)
            cells.append("%s / %s" % (r.instances or "-", r.instances_pessimistic or "-"))
        first = rs[0]
        p95 = ("not measured at this load" if first.p95_ms is None else
               "%.1f ms (%s)" % (first.p95_ms, "meets" if first.p95_ok else
                                 "misses the target: not planned"))
        lines.append("| %s | %.1f req/s | %s | %s |" % (name, first.per_instance_rps, p95,
                                                        " | ".join(cells)))
    lines += ["", "Assumptions: " + "; ".join(ASSUMPTIONS) + "."]
    for name, src in sources.items():
        lines.append("- %s: %s" % (name, src))
    return lines
