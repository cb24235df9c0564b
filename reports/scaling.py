"""Scaling and load balancing, judged: pure functions over a ``ScalingResult``.

Peak throughput of N instances is the served rate of its overload blocks
(``perflab.scaling``), keyed (process set, block); blocks that did not overload the
service, that the generator limited, or that failed are left out, with the reason. In
block b every N ran on the same seed (common random numbers), so speed-up S(N) =
peak(N) / peak(1) and efficiency E(N) = peak(N) / (N x peak(1)) are the geometric mean
of the paired block ratios with the ``stats.nested_ratio`` interval (blocks nested in
process sets: with one set the interval says process-to-process variance was not
measured). "Near-linear" is judged on the speed-up against the claimed range [w N, N],
w the weakest efficiency the catalogue's instances claim allows (0.9); the efficiency
is the same judgement divided by N.

Load balancing: each instance's share of the requests in each overload block of N > 1,
read from its own /metrics over the block's own window (blocks whose window was not
their own are left out); the spread is max/min share per block, its mean and
interval over blocks (``stats.nested_mean``), judged against the lab's reading of
"evenly" (``EVEN_SPREAD``). nginx's access log gives the same shares as a cross-check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from perflab.catalogue import BALANCE_CLAIM_TEXT, EVEN_SPREAD, near_linear_efficiency
from perflab.scaling import ScalingResult, judged

from .stats import NestedMean, Ratio, nested_mean, nested_ratio
from .verdicts import CONFIRMED, INCONCLUSIVE, NOT_CONFIRMED, NOT_JUDGED, judge

Key = Tuple[int, int]  # (process set, block)


@dataclass(frozen=True)
class ScalingRow:
    instances: int
    peaks: Dict[Key, float]  # (set, block) -> served req/s of a judged overload block
    excluded: Tuple[str, ...]  # why blocks were left out
    peak: Optional[NestedMean]  # req/s, with its interval
    speedup: Optional[Ratio]
    efficiency: Optional[Ratio]
    planning_rate: Optional[float]  # offered at the planning load (mean over sets)
    planning_p95_ms: Optional[float]  # the highest P95 of the planning blocks
    verdict: str
    note: str


def _why(b: Dict) -> str:
    if b.get("status") != "ok":
        return "failed"
    if b.get("generator_limited"):
        return "generator-limited"
    return "did not overload the service (served %.0f of %.0f/s sent)" % (
        float(b.get("served_rps") or 0), float(b.get("sent_rps") or 0))


def peak_blocks(result: ScalingResult, n: int) -> Tuple[Dict[Key, float], Tuple[str, ...]]:
    """(set, block) -> served rate of N's judged overload blocks; and the exclusions."""
    values: Dict[Key, float] = {}
    excluded: List[str] = []
    for b in result.blocks:
        if b["kind"] != "peak" or int(b["instances"]) != n:
            continue
        if judged(b):
            values[(int(b["set"]), int(b["block"]))] = float(b["served_rps"])
        else:
            excluded.append("s%d b%d: %s" % (b["set"], b["block"], _why(b)))
    return values, tuple(excluded)


def block_ratio(result: ScalingResult, n: int, scale: float) -> Optional[Ratio]:
    """peak(N) / (scale x peak(1)), paired by block (same seed)."""
    num, _ = peak_blocks(result, n)
    den, _ = peak_blocks(result, 1)
    return nested_ratio(num, {k: scale * v for k, v in den.items()})


def planning_figures(result: ScalingResult, n: int) -> Tuple[Optional[float], Optional[float]]:
    """(offered rate, highest P95 ms) of N's judged planning-load blocks."""
    rows = [b for b in result.blocks if b["kind"] == "planning" and int(b["instances"]) == n
            and judged(b)]
    if not rows:
        return None, None
    p95 = [float(b["p95_ms"]) for b in rows if b.get("p95_ms") is not None]
    return (sum(float(b["rate"]) for b in rows) / len(rows), max(p95) if p95 else None)


def scaling_table(result: ScalingResult) -> List[ScalingRow]:
    """One row per N: peak with its interval, speed-up and efficiency, verdict."""
    ns = sorted({int(b["instances"]) for b in result.blocks if b["kind"] == "peak"})
    w = near_linear_efficiency()
    rows: List[ScalingRow] = []
    one, _ = peak_blocks(result, 1)
    for n in ns:
        peaks, excluded = peak_blocks(result, n)
        peak = nested_mean(peaks) if peaks else None
        plan_rate, plan_p95 = planning_figures(result, n)
        base = (n, peaks, excluded, peak)
        if n == 1:
            rows.append(ScalingRow(*base, None, None, plan_rate, plan_p95, NOT_JUDGED,
                                   "the reference"))
            continue
        speed = block_ratio(result, n, 1.0)
        eff = block_ratio(result, n, float(n))
        if speed is None:
            rows.append(ScalingRow(*base, None, None, plan_rate, plan_p95, NOT_JUDGED,
                                   "no block with both N=%d and N=1 judged" % n
                                   if one else "no judged block of N=1"))
            continue
        verdict, note = judge((speed.estimate, speed.low, speed.high), (w * n, float(n)),
                              speed.n)
        rows.append(ScalingRow(*base, speed, eff, plan_rate, plan_p95, verdict, note))
    return rows


@dataclass(frozen=True)
class BalanceRow:
    instances: int
    shares: Dict[Key, Tuple[float, ...]]  # (set, block) -> each instance's share
    spread: Optional[NestedMean]  # max/min share over blocks
    cpu_of_budget: Dict[Key, Tuple[float, ...]]  # (set, block) -> each instance's CPU/budget
    log_shares: Tuple[Tuple[float, ...], ...]  # nginx's access log, per set (cross-check)
    verdict: str
    note: str


def balance_table(result: ScalingResult) -> List[BalanceRow]:
    """Per N > 1: request shares per instance and their spread, against "evenly"."""
    rows: List[BalanceRow] = []
    ns = sorted({int(b["instances"]) for b in result.blocks
                 if b["kind"] == "peak" and int(b["instances"]) > 1})
    for n in ns:
        shares: Dict[Key, Tuple[float, ...]] = {}
        cpu: Dict[Key, Tuple[float, ...]] = {}
        spreads: Dict[Key, float] = {}
        for b in result.blocks:
            if b["kind"] != "peak" or int(b["instances"]) != n or b.get("status") != "ok" \
                    or not b.get("window_ok"):
                continue
            per = b.get("per_instance") or []
            sh = tuple(float(i["share"]) for i in per if i.get("share") is not None)
            if len(sh) != n:
                continue
            key = (int(b["set"]), int(b["block"]))
            shares[key] = sh
            cpu[key] = tuple(float(i.get("cpu_of_budget") or 0.0) for i in per)
            if min(sh) > 0:
                spreads[key] = max(sh) / min(sh)
        logs = tuple(tuple(float(x or 0.0) for x in a.get("shares", ()))
                     for a in result.access_log if int(a["instances"]) == n)
        spread = nested_mean(spreads) if spreads else None
        verdict, note = judge_spread(spread)
        rows.append(BalanceRow(n, shares, spread, cpu, logs, verdict, note))
    return rows


def judge_spread(spread: Optional[NestedMean]) -> Tuple[str, str]:
    """'distributes load evenly': the max/min share interval against EVEN_SPREAD."""
    if spread is None:
        return NOT_JUDGED, "no per-instance counts"
    if spread.low is None or spread.high is None:
        return INCONCLUSIVE, "1 block: interval unavailable"
    if spread.high <= EVEN_SPREAD:
        return CONFIRMED, "max/min share at most %.2f" % EVEN_SPREAD
    if spread.low > EVEN_SPREAD:
        return NOT_CONFIRMED, "max/min share above %.2f" % EVEN_SPREAD
    return INCONCLUSIVE, "interval spans %.2f" % EVEN_SPREAD


def _ci(r: Optional[Ratio]) -> str:
    if r is None:
        return "-"
    if r.low is None or r.high is None:
        return "%.2f (1 block)" % r.estimate
    return "%.2f [%.2f, %.2f]" % (r.estimate, r.low, r.high)


def _mean_ci(m: Optional[NestedMean], fmt: str = "%.0f") -> str:
    if m is None:
        return "-"
    if m.low is None or m.high is None:
        return (fmt + " (1 block)") % m.mean
    return ("%s [%s, %s]" % (fmt, fmt, fmt)) % (m.mean, m.low, m.high)


def budget_line(result: ScalingResult) -> str:
    """The budget and how it was given: the figures are never compared with others'."""
    b = result.budget
    return ("each instance %s CPU (%s%s); instances on CPU %s, generator, nginx and carrier "
            "on CPU %s" % (b.get("cpus_per_instance"), b.get("mechanism"),
                           ", CFS period %d us" % b["period_us"] if b.get("period_us") else "",
                           ",".join(map(str, b.get("service_cpus", []))),
                           ",".join(map(str, b.get("generator_cpus", [])))))


def format_scaling(result: ScalingResult) -> List[str]:
    """The scaling and load-balancing tables as Markdown lines."""
    if result.skipped:
        return ["Horizontal scaling: skipped (%s)" % result.skipped]
    c = result.config
    pilots = ", ".join("set %d: %.0f req/s%s" % (p["set"], p.get("served_rps") or 0,
                                                 "" if p.get("overloaded") else
                                                 " (not overloaded: a lower bound)")
                       for p in result.pilots)
    head = ("Horizontal scaling of %s behind nginx (one nginx per N), sharing Redis: %s%s."
            % (result.variant, budget_line(result),
               "; INTERRUPTED" if result.interrupted else ""))
    method = ("Peak throughput: %d overload block(s) of %gs per N in each of %d process "
              "set(s), N in a seeded shuffled order per block, offered %g x N x the N=1 "
              "pilot's served rate (%s), open loop; one seed per block for every N (common "
              "random numbers); figure = the block's served rate. Speed-up and efficiency "
              "are paired block ratios." % (c.get("blocks", 0), c.get("block_s", 0),
                                            c.get("process_sets", 1), c.get("overload", 0),
                                            pilots or "-"))
    lines = [head, "", method, "",
             "| N | peak req/s (95%% CI) | speed-up (95%% CI) | efficiency (95%% CI) | "
             "P95 at %.0f%% of peak | near-linear (speed-up >= %.1f N) |"
             % (100 * float(c.get("planning_load", 0.6)), near_linear_efficiency()),
             "|---|---|---|---|---|---|"]
    interval = ""
    for r in scaling_table(result):
        p95 = ("%.1f ms at %.0f req/s" % (r.planning_p95_ms, r.planning_rate)
               if r.planning_p95_ms is not None and r.planning_rate else "-")
        note = r.note + (" (left out: %s)" % "; ".join(r.excluded) if r.excluded else "")
        lines.append("| %d | %s | %s | %s | %s | %s: %s |" % (
            r.instances, _mean_ci(r.peak), _ci(r.speedup), _ci(r.efficiency), p95,
            r.verdict, note))
        if r.efficiency is not None:
            interval = r.efficiency.method
    if interval:
        lines += ["", "Intervals: %s." % interval]
    lines += ["", "Load balancing (%s): each instance's share of POST /api/chat in each "
              "overload block, from its own /metrics over the block's own window; spread = "
              "max/min share, evenly = spread <= %.2f; nginx's access log ($upstream_addr, "
              "every block of that N) as a cross-check" % (BALANCE_CLAIM_TEXT, EVEN_SPREAD),
              "",
              "| N | mean share per instance (blocks) | CPU / budget (mean) | access log | "
              "spread (95% CI) | verdict |", "|---|---|---|---|---|---|"]
    for br in balance_table(result):
        mean_sh = _column_means(list(br.shares.values()))
        cpu = _column_means(list(br.cpu_of_budget.values()))
        logs = "; ".join("/".join("%.3f" % x for x in s) for s in br.log_shares) or "-"
        lines.append("| %d | %s (%d) | %s | %s | %s | %s: %s |" % (
            br.instances, "/".join("%.3f" % x for x in mean_sh) or "-", len(br.shares),
            "/".join("%.2f" % x for x in cpu) or "-", logs,
            _mean_ci(br.spread, "%.3f"), br.verdict, br.note))
    return lines


def _column_means(rows: List[Tuple[float, ...]]) -> List[float]:
    if not rows:
        return []
    width = min(len(r) for r in rows)
    return [sum(r[i] for r in rows) / len(rows) for i in range(width)]
