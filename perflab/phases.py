"""A run as a list of phases, each with its own time estimate.

The plan's estimate (``Plan.estimate_s``) is the sum of its phases' estimates,
so the ETA and the README's figure come from one place. Each phase's
work is bound by name in the runner, which calls them in order and advances the
live display by what each was planned to take.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

from .classify import estimate_s as classify_estimate_s
from .deployment import deployment_config
from .design import estimate_blocks_s, schedule_repeat
from .plan import Plan
from .variants import resolve

REPORT_S = 8.0
PACING_S = 6.0  # a throwaway baseline: start, two pilots and their backlog
CHECKLIST_S = 45.0


@dataclass(frozen=True)
class Phase:
    """A named piece of a run and its planned seconds; the runner binds its work by name."""

    name: str
    estimate_s: float


def _repeat_estimate(plan: Plan, names: Sequence[str], repeat: int) -> float:
    from .rounds import BLOCK_OVERHEAD_S, START_S, kind_specs

    pypy = any(resolve(n).interpreter == "pypy" for n in names)
    t = START_S + (6.0 if pypy else 0.0) + 1.0  # start, stop
    for n in names:
        t += (plan.pypy_warmup_s if resolve(n).interpreter == "pypy" else plan.warmup_s)
        t += BLOCK_OVERHEAD_S
    if repeat == 1:
        peak = [n for n in names if plan.wants_peak(n)]
        t += len(peak) * (plan.peak_probe_s + BLOCK_OVERHEAD_S + 1.5)
        cap = [n for n in names if plan.wants_capacity(n)]
        t += len(cap) * (plan.capacity.budget_s + 1.0)
    blocks = schedule_repeat(kind_specs(plan, names), repeat, plan.seed,
                             {n: 1.0 for n in names})
    t += estimate_blocks_s(blocks, BLOCK_OVERHEAD_S)
    t += sum(0.4 for b in blocks if b.kind == "peak")  # drain after an overload
    if repeat <= plan.classify_repeats:
        t += classify_estimate_s(plan, [resolve(n).interpreter for n in names
                                        if plan.wants_classify(n)])
    return t


def plan_phases(plan: Plan, names: Sequence[str]) -> List[Phase]:
    """The phases of ``plan`` over the runnable variants ``names`` (estimates only; the
    runner binds the work)."""
    out: List[Phase] = []
    if plan.instrument:
        out.append(Phase("instrument", 2.0 + sum(1.6 for _ in plan.instrument_rates)))
    if plan.fit_rates and "baseline" in names:
        out.append(Phase("pacing", PACING_S))
    for r in range(1, plan.repeats + 1):
        out.append(Phase("repeat %d" % r, _repeat_estimate(plan, names, r)))
    if plan.deployment:
        articles = int(plan.data_env.get("FAQ_ARTICLES", "3000"))
        out.append(Phase("deployment", deployment_config(plan.name).estimate_s(articles)))
    if plan.checklist:
        out.append(Phase("checklist", CHECKLIST_S))
    locust = [n for n in names if plan.wants_locust(n)]
    if locust:
        out.append(Phase("locust", plan.repeats * len(locust)
                         * (plan.locust_duration_s + 6.0)))
    if plan.profile_messages > 0:
        out.append(Phase("profile", 2 * (4.0 + plan.profile_messages / 400.0)
                         + (35.0 if plan.profile_memory else 0.0)))
    out.append(Phase("report", REPORT_S))
    return out


def plan_estimate_s(plan: Plan, names: Optional[Sequence[str]] = None) -> float:
    """Planned wall time of ``plan`` (over ``names``, default every variant)."""
    return sum(p.estimate_s for p in plan_phases(plan, list(names or plan.variants)))
