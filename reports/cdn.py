"""The CDN claim, judged: p50 of GET /api/faq/{id} with the edge cache on vs off.

A pure function over a ``CdnResult``: the ratio of mean p50 (cache on / cache off)
over repeats, paired by repeat, with its 95% interval, judged against the
catalogue's CDN claim (60% lower: ratio <= 0.40) with the verdict rules of
``reports.verdicts``; the measured window's cache hit ratio is stated beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from perflab.catalogue import CDN_CLAIM
from perflab.cdn import CdnResult

from .stats import Ratio, mean_interval, ratio_of_means
from .verdicts import NOT_JUDGED, judge


@dataclass(frozen=True)
class CdnVerdict:
    metric: str
    cached: Dict[int, float]  # repeat -> value with the cache on
    uncached: Dict[int, float]
    ratio: Optional[Ratio]
    hit_ratio: Optional[Tuple[float, float, float]]  # mean, low, high over repeats
    verdict: str
    note: str


def _usable(run: Dict) -> bool:
    return "error" not in run and not run.get("generator_saturated") \
        and run.get("error_rate", 1.0) <= 0.02


def cdn_effect(result: CdnResult, metric: str = "p50_ms") -> CdnVerdict:
    """Cache on vs off on ``metric`` (the claim is about p50_ms; p95/p99 are effects)."""
    on: Dict[int, float] = {}
    off: Dict[int, float] = {}
    hits: List[float] = []
    for run in result.runs:
        if not _usable(run) or run.get(metric) is None:
            continue
        (on if run["cache"] else off)[int(run["repeat"])] = float(run[metric])
        if run["cache"] and run.get("hit_ratio") is not None:
            hits.append(float(run["hit_ratio"]))
    hit = mean_interval(hits) if hits else None
    if result.skipped or not on or not off:
        return CdnVerdict(metric, on, off, None, hit, NOT_JUDGED,
                          result.skipped or "no usable run with the cache %s"
                          % ("on" if not on else "off"))
    ratio = ratio_of_means(on, off)
    if ratio is None:
        return CdnVerdict(metric, on, off, None, hit, NOT_JUDGED, "no ratio")
    inv = (1 / ratio.estimate, 1 / ratio.high if ratio.high else None,
           1 / ratio.low if ratio.low else None)
    claim = CDN_CLAIM.improvement_range() if metric == CDN_CLAIM.metric.replace("faq_", "") \
        else None
    verdict, note = judge(inv, claim, ratio.n)
    return CdnVerdict(metric, on, off, ratio, hit, verdict, note)


def format_cdn(result: CdnResult) -> List[str]:
    if result.skipped:
        return ["CDN (edge cache for GET /api/faq/{id}): skipped (%s)" % result.skipped]
    c = result.config
    lines = ["CDN: nginx proxy_cache on vs off for GET /api/faq/{id}, %g req/s open loop, "
             "%gs measured after a %gs warm-up (fresh cache each run), %d articles, "
             "Zipf-popular; claim: %s" % (c["rate"], c["duration_s"], c["warmup_s"],
                                          c["articles"], CDN_CLAIM.text), "",
             "| metric | cache on (per repeat) | cache off | on/off (95% CI) | verdict |",
             "|---|---|---|---|---|"]
    for metric in ("p50_ms", "p95_ms", "p99_ms"):
        v = cdn_effect(result, metric)
        r = v.ratio
        ci = "-" if r is None else ("%.2f (1 repeat)" % r.estimate if r.low is None or
                                    r.high is None else
                                    "%.2f [%.2f, %.2f]" % (r.estimate, r.low, r.high))
        lines.append("| %s | %s | %s | %s | %s%s: %s |" % (
            metric, ", ".join("%.2f" % x for _, x in sorted(v.cached.items())) or "-",
            ", ".join("%.2f" % x for _, x in sorted(v.uncached.items())) or "-", ci,
            v.verdict, "" if metric == "p50_ms" else " (no claim)", v.note))
    hit = cdn_effect(result).hit_ratio
    lines.append("")
    lines.append("cache hit ratio in the measured window: %s" % (
        "%.1f%% [%.1f, %.1f]" % tuple(100 * x for x in hit) if hit else "-"))
    served = [(r["repeat"], r["cache"], r.get("service_requests")) for r in result.runs]
    lines.append("requests that reached the service (its /metrics): " + ", ".join(
        "r%d %s %s" % (k, "on" if c_ else "off", n) for k, c_, n in served))
    return lines
