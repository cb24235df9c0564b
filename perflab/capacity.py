"""The capacity search as a pure function over a probe callable.

Capacity is the highest arrival rate at which the service still meets the
P95 and error-rate targets. It is searched, not guessed: step the rate up by
``factor`` until a probe fails, then bisect (geometrically) between the last
pass and the first failure. The search knows nothing about processes or
generators: the caller's ``probe(rate)`` runs one measurement and says whether
it passed, so the search is unit-tested on a model service.

A failed probe whose generator was the bottleneck (its CPU maxed out) ends the
search with the capacity marked a lower bound: a figure limited by the
instrument is never presented as the service's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

from .plan import Capacity

BRACKETED = "bracketed"  # a probe above the capacity failed: capacity lies between
LOWER = "lower"  # no probe failed (budget or max rate ran out): a lower bound only
NONE = "none"  # not even the first probe passed


@dataclass(frozen=True)
class Probe:
    """One measurement at ``rate``, as the search sees it."""

    rate: float
    passed: bool
    achieved: float = 0.0  # requests/s actually sent
    throughput: float = 0.0  # successful responses/s
    p95_ms: Optional[float] = None
    error_rate: float = 0.0
    generator_limited: bool = False  # the generator, not the service, was the bottleneck
    service_cpu_pct: Optional[float] = None
    generator_cpu_pct: Optional[float] = None
    note: str = ""


@dataclass(frozen=True)
class SearchResult:
    capacity: Optional[float]  # highest passing rate (what was sent, if less than asked)
    bound: str  # BRACKETED | LOWER | NONE
    fail_rate: Optional[float]  # the lowest failing rate
    probes: Tuple[Probe, ...]
    notes: Tuple[str, ...]
    generator_limited: bool

    @property
    def best(self) -> Optional[Probe]:
        passed = [p for p in self.probes if p.passed]
        return max(passed, key=lambda p: p.rate) if passed else None

    @property
    def peak_throughput(self) -> float:
        """The highest successful-response rate any probe saw (overloaded ones too)."""
        return max((p.throughput for p in self.probes), default=0.0)


def search_capacity(probe: Callable[[float], Optional[Probe]], cap: Capacity,
                    clock: Callable[[], float] = time.monotonic) -> Optional[SearchResult]:
    """Step up, then bisect; None when ``probe`` returns None (the service died)."""
    deadline = clock() + cap.budget_s
    probes: List[Probe] = []
    best: Optional[float] = None
    failed: Optional[float] = None
    limited = False
    budget_hit = False
    rate = cap.start_rate
    while rate <= cap.max_rate:
        if clock() > deadline:
            budget_hit = True
            break
        p = probe(rate)
        if p is None:
            return None
        probes.append(p)
        if not p.passed:
            failed = rate
            limited = p.generator_limited
            break
        best = min(rate, p.achieved) if p.achieved > 0 else rate
        rate *= cap.factor
    if failed is not None and best is not None and not limited:
        lo, hi = probes[-2].rate if len(probes) >= 2 else best, failed
        for _ in range(cap.bisect_steps):
            if clock() > deadline:
                budget_hit = True
                break
            mid = round((lo * hi) ** 0.5, 1)
            if not lo < mid < hi:
                break
            p = probe(mid)
            if p is None:
                return None
            probes.append(p)
            if p.generator_limited and not p.passed:
                limited = True
                break
            if p.passed:
                lo = mid
                best = min(mid, p.achieved) if p.achieved > 0 else mid
            else:
                hi = failed = mid
    notes: List[str] = []
    if limited:
        notes.append("generator-limited: the load generator could not go faster; "
                     "capacity is a lower bound")
    if budget_hit:
        notes.append("time budget reached: capacity is a lower bound")
    if failed is None and not budget_hit:
        notes.append("max_rate %g/s reached without failing: capacity is a lower bound"
                     % cap.max_rate)
    if best is None:
        notes.append("no probe met the targets (first probe %g/s)" % cap.start_rate)
        bound = NONE
    else:
        bound = BRACKETED if failed is not None and not limited else LOWER
    return SearchResult(round(best, 1) if best is not None else None, bound, failed,
                        tuple(probes), tuple(notes), limited)
