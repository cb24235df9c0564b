"""Scaling and load balancing, judged: pure functions over a ``ScalingResult``.

Capacity per N is the mean over repeats of bracketed searches (a lower bound, where
the search ran out of rates or time or the generator limited it, is left out, as
everywhere in the report). Speed-up S(N) = capacity(N) / capacity(1) and efficiency
E(N) = capacity(N) / (N x capacity(1)) are ratios of means over repeats with their
95% intervals (``stats.ratio_of_means``, paired by repeat: the N of one repeat ran
back to back), widened by the search's resolution: a search brackets the capacity
between its last passing and first failing rate, so the interval runs from
passes(N)/fails(1) to fails(N)/passes(1) (each end with its own interval), and the
estimate uses each bracket's geometric middle. "Near-linear" is judged on the
speed-up against the claimed range [w N, N], w the weakest efficiency the
catalogue's instances claim allows (0.9).

Load balancing: each instance's share of the requests in the probe at capacity, read
from its own /metrics; the spread is max/min share per repeat, judged against the
lab's reading of "evenly" (``EVEN_SPREAD``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from perflab.catalogue import BALANCE_CLAIM_TEXT, EVEN_SPREAD, near_linear_efficiency
from perflab.scaling import ScalingResult, SearchRecord

from .stats import Ratio, mean_interval, ratio_of_means
from .verdicts import CONFIRMED, INCONCLUSIVE, NOT_CONFIRMED, NOT_JUDGED, judge


@dataclass(frozen=True)
class ScalingRow:
    instances: int
    capacities: Dict[int, float]  # repeat -> bracketed capacity, req/s
    excluded: Tuple[str, ...]  # why repeats were left out
    capacity: Optional[Tuple[float, float, float]]  # mean, low, high
    speedup: Optional[Ratio]
    efficiency: Optional[Ratio]
    verdict: str
    note: str


def capacities(result: ScalingResult, n: int, which: str = "pass"
               ) -> Tuple[Dict[int, float], Tuple[str, ...]]:
    """repeat -> capacity of N instances (``which``: pass = highest passing rate, fail =
    lowest failing rate, mid = their geometric middle), bracketed searches only; and the
    exclusions."""
    values: Dict[int, float] = {}
    excluded: List[str] = []
    for s in result.searches:
        if s.instances != n:
            continue
        if (s.bound == "bracketed" and s.capacity_rps is not None and s.fail_rps is not None
                and not s.generator_limited):
            lo, hi = float(s.capacity_rps), float(s.fail_rps)
            values[s.repeat] = {"pass": lo, "fail": hi, "mid": math.sqrt(lo * hi)}[which]
        else:
            why = "generator-limited" if s.generator_limited else (
                "lower bound" if s.bound == "lower" else "no probe passed")
            excluded.append("r%d: %s" % (s.repeat, why))
    return values, tuple(excluded)


def scaling_table(result: ScalingResult) -> List[ScalingRow]:
    """One row per N: capacity with its interval, speed-up and efficiency, verdict."""
    ns = sorted({s.instances for s in result.searches})
    one, _ = capacities(result, 1)
    w = near_linear_efficiency()
    rows: List[ScalingRow] = []
    for n in ns:
        caps, excluded = capacities(result, n)
        cap = mean_interval(list(caps.values())) if caps else None
        if n == 1:
            rows.append(ScalingRow(n, caps, excluded, cap, None, None, NOT_JUDGED,
                                   "the reference"))
            continue
        if not caps or not one:
            rows.append(ScalingRow(n, caps, excluded, cap, None, None, NOT_JUDGED,
                                   "no bracketed capacity for N=%d" % (n if not caps else 1)))
            continue
        speed = bracketed_ratio(result, n, 1.0)
        eff = bracketed_ratio(result, n, float(n))
        if speed is None:
            rows.append(ScalingRow(n, caps, excluded, cap, None, None, NOT_JUDGED, "no ratio"))
            continue
        verdict, note = judge((speed.estimate, speed.low, speed.high), (w * n, float(n)),
                              speed.n)
        rows.append(ScalingRow(n, caps, excluded, cap, speed, eff, verdict, note))
    return rows


def bracketed_ratio(result: ScalingResult, n: int, scale: float) -> Optional[Ratio]:
    """capacity(N) / (scale x capacity(1)) over repeats, its interval widened to the
    searches' brackets (module docstring)."""
    mid_n, _ = capacities(result, n, "mid")
    mid_1, _ = capacities(result, 1, "mid")
    est = ratio_of_means(mid_n, {k: scale * v for k, v in mid_1.items()})
    low = ratio_of_means(capacities(result, n, "pass")[0],
                         {k: scale * v for k, v in capacities(result, 1, "fail")[0].items()})
    high = ratio_of_means(capacities(result, n, "fail")[0],
                          {k: scale * v for k, v in capacities(result, 1, "pass")[0].items()})
    if est is None or low is None or high is None:
        return None
    if low.low is None or high.high is None:  # one repeat: the bracket is all there is
        return Ratio(est.estimate, low.estimate, high.estimate, est.n, est.paired,
                     "search brackets, 1 repeat")
    return Ratio(est.estimate, low.low, high.high, est.n, est.paired,
                 "search brackets and %s" % est.method)


@dataclass(frozen=True)
class BalanceRow:
    instances: int
    shares: Dict[int, Tuple[float, ...]]  # repeat -> each instance's share at capacity
    spread: Optional[Tuple[float, float, float]]  # max/min share: mean, low, high
    cpu_of_budget: Dict[int, Tuple[float, ...]]  # repeat -> each instance's CPU / budget
    verdict: str
    note: str


def _at_capacity(s: SearchRecord) -> Optional[Dict]:
    p = s.at_capacity()
    if p is None:  # no pass: the highest-rate probe still shows how load was spread
        p = max(s.probes, key=lambda q: q.get("rate", 0), default=None)
    return p


def balance_table(result: ScalingResult) -> List[BalanceRow]:
    """Per N > 1: request shares per instance and their spread, against "evenly"."""
    rows: List[BalanceRow] = []
    for n in sorted({s.instances for s in result.searches if s.instances > 1}):
        shares: Dict[int, Tuple[float, ...]] = {}
        cpu: Dict[int, Tuple[float, ...]] = {}
        spreads: List[float] = []
        for s in result.searches:
            if s.instances != n:
                continue
            p = _at_capacity(s)
            if not p:
                continue
            per = p.get("instances") or []
            sh = tuple(float(i["share"]) for i in per if i.get("share") is not None)
            if len(sh) != n:
                continue
            shares[s.repeat] = sh
            cpu[s.repeat] = tuple(float(i.get("cpu_of_budget") or 0.0) for i in per)
            if min(sh) > 0:
                spreads.append(max(sh) / min(sh))
        spread = mean_interval(spreads) if spreads else None
        verdict, note = judge_spread(spread, len(spreads))
        rows.append(BalanceRow(n, shares, spread, cpu, verdict, note))
    return rows


def judge_spread(spread: Optional[Tuple[float, float, float]], n: int) -> Tuple[str, str]:
    """'distributes load evenly': the max/min share interval against EVEN_SPREAD."""
    if spread is None:
        return NOT_JUDGED, "no per-instance counts"
    if n < 2:
        return INCONCLUSIVE, "1 repeat: interval unavailable"
    _, low, high = spread
    if high <= EVEN_SPREAD:
        return CONFIRMED, "max/min share at most %.2f" % EVEN_SPREAD
    if low > EVEN_SPREAD:
        return NOT_CONFIRMED, "max/min share above %.2f" % EVEN_SPREAD
    return INCONCLUSIVE, "interval spans %.2f" % EVEN_SPREAD


def _ci(r: Optional[Ratio]) -> str:
    if r is None:
        return "-"
    if r.low is None or r.high is None:
        return "%.2f (1 repeat)" % r.estimate
    return "%.2f [%.2f, %.2f]" % (r.estimate, r.low, r.high)


def format_scaling(result: ScalingResult) -> List[str]:
    """The scaling and load-balancing tables as Markdown lines."""
    b = result.budget
    if result.skipped:
        return ["Horizontal scaling: skipped (%s)" % result.skipped]
    head = ("Horizontal scaling of %s: each instance %s CPU (%s%s); instances on CPU %s, "
            "generator, nginx and carrier on CPU %s%s" % (
                result.variant, b.get("cpus_per_instance"), b.get("mechanism"),
                ", period %d us" % b["period_us"] if b.get("period_us") else "",
                ",".join(map(str, b.get("service_cpus", []))),
                ",".join(map(str, b.get("generator_cpus", []))),
                "; INTERRUPTED" if result.interrupted else ""))
    lines = [head, "",
             "| N | capacity req/s (95%% CI) | per repeat | speed-up | efficiency | "
             "near-linear (speed-up >= %.1f N) |" % near_linear_efficiency(),
             "|---|---|---|---|---|---|"]
    for r in scaling_table(result):
        cap = ("%.0f [%.0f, %.0f]" % r.capacity) if r.capacity else "-"
        per = ", ".join("r%d %.0f" % kv for kv in sorted(r.capacities.items()))
        if r.excluded:
            per += (" " if per else "") + "(left out: %s)" % "; ".join(r.excluded)
        lines.append("| %d | %s | %s | %s | %s | %s: %s |" % (
            r.instances, cap, per or "-", _ci(r.speedup), _ci(r.efficiency), r.verdict,
            r.note))
    lines += ["", "Load balancing (%s): each instance's share of POST /api/chat at capacity, "
              "from its own /metrics; spread = max/min share, evenly = spread <= %.2f"
              % (BALANCE_CLAIM_TEXT, EVEN_SPREAD), "",
              "| N | shares per repeat | CPU / budget per repeat | spread (95% CI) | verdict |",
              "|---|---|---|---|---|"]
    for br in balance_table(result):
        sh = "; ".join("r%d %s" % (k, "/".join("%.3f" % x for x in v))
                       for k, v in sorted(br.shares.items()))
        cpu = "; ".join("r%d %s" % (k, "/".join("%.2f" % x for x in v))
                        for k, v in sorted(br.cpu_of_budget.items()))
        sp = "%.3f [%.3f, %.3f]" % br.spread if br.spread else "-"
        lines.append("| %d | %s | %s | %s | %s: %s |" % (br.instances, sh or "-", cpu or "-",
                                                          sp, br.verdict, br.note))
    return lines
