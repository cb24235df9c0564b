"""Capacity planning for the guide's tiers: how many instances each variant needs.

A pure function of measured figures: per variant, the capacity of one instance (the
highest rate meeting P95 < 200 ms, with its interval) and its CPU per request (from
the fixed-rate runs); the scaling efficiency measured for N <= 3. One instance is
planned to carry at most

    r = min(capacity, CPU target x CPU budget / CPU per request)

(P95 < 200 ms from the capacity search; CPU < 60% from the CPU cost), and N
instances N x E x r, E the scaling efficiency (1 for one instance). The instances
needed for a tier of T requests/min is the smallest N with N x E x r >= T / 60.
The "pessimistic" column uses the low ends of the capacity and efficiency intervals.

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

TIERS_PER_MIN: Tuple[int, ...] = (1_000, 10_000, 100_000)
CPU_TARGET = 0.60  # the guide's "CPU < 60% sustained"
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
class VariantCapacity:
    """What planning needs about one variant's single instance."""

    variant: str
    capacity_rps: Interval  # P95 < 200 ms and errors < 2%
    cpu_s_per_request: Optional[float] = None  # CPU seconds per request (None: unknown)
    cpu_budget: float = 1.0  # CPUs the instance had when measured


@dataclass(frozen=True)
class PlanRow:
    variant: str
    tier_per_min: int
    per_instance_rps: float  # what one instance is planned to carry
    limit: str  # which target sets it: "P95 < 200 ms" | "CPU < 60%"
    instances: Optional[int]  # None: more than MAX_INSTANCES or no capacity
    instances_pessimistic: Optional[int]


def per_instance_rate(v: VariantCapacity, capacity: float,
                      cpu_target: float = CPU_TARGET) -> Tuple[float, str]:
    """The rate one instance may carry under both targets, and which one binds."""
    if v.cpu_s_per_request and v.cpu_s_per_request > 0:
        cpu_rate = cpu_target * v.cpu_budget / v.cpu_s_per_request
        if cpu_rate < capacity:
            return cpu_rate, "CPU < %d%%" % round(cpu_target * 100)
    return capacity, "P95 < 200 ms"


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


def capacity_plan(variants: Sequence[VariantCapacity], efficiency: Interval,
                  tiers: Sequence[int] = TIERS_PER_MIN,
                  cpu_target: float = CPU_TARGET) -> List[PlanRow]:
    """Instances needed per variant and tier (requests per minute)."""
    rows: List[PlanRow] = []
    e_est, e_low, _ = efficiency
    for v in variants:
        cap_est, cap_low, _ = v.capacity_rps
        r, limit = per_instance_rate(v, cap_est, cpu_target)
        r_low, _ = per_instance_rate(v, cap_low, cpu_target)
        for tier in tiers:
            rate = tier / 60.0
            rows.append(PlanRow(v.variant, tier, round(r, 2), limit,
                                instances_needed(rate, r, min(e_est, 1.0)),
                                instances_needed(rate, r_low, min(e_low, 1.0))))
    return rows


def format_plan(rows: Sequence[PlanRow], efficiency: Interval,
                sources: Dict[str, str]) -> List[str]:
    """Markdown: one line per variant, a column per tier, assumptions underneath."""
    tiers = sorted({r.tier_per_min for r in rows})
    by_variant: Dict[str, List[PlanRow]] = {}
    for r in rows:
        by_variant.setdefault(r.variant, []).append(r)
    lines = ["Capacity planning: instances needed to stay under CPU < 60%% and P95 < 200 ms "
             "(estimate / pessimistic); scaling efficiency %.2f [%.2f, %.2f]" % tuple(efficiency),
             "",
             "| variant | one instance carries | set by | %s |"
             % " | ".join("%s req/min" % format(t, ",") for t in tiers),
             "|---|---|---|%s" % ("---|" * len(tiers))]
    for name, rs in by_variant.items():
        cells = []
        for t in tiers:
            r = next(x for x in rs if x.tier_per_min == t)
            cells.append("%s / %s" % (r.instances or "-", r.instances_pessimistic or "-"))
        lines.append("| %s | %.1f req/s | %s | %s |" % (name, rs[0].per_instance_rps,
                                                         rs[0].limit, " | ".join(cells)))
    lines += ["", "Assumptions: " + "; ".join(ASSUMPTIONS) + "."]
    for name, src in sources.items():
        lines.append("- %s: %s" % (name, src))
    return lines
