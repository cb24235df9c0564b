"""The CDN claim, judged: p50 of GET /api/faq/{id} with the edge cache on vs off.

A pure function over a ``CdnResult``: both nginx ran at once over the same instance, the
cache primed (every article requested once before measuring: a CDN's steady state), in
interleaved blocks with one seed per block for both sides. The ratio (cache on / cache
off) is the geometric mean of the paired block ratios with the ``stats.nested_ratio``
interval (one process: the interval says process variance was not measured), judged
against the catalogue's CDN claim (60% lower: ratio <= 0.40) with the verdict rules of
``reports.verdicts``; p95 and p99 are effects without a claim. The measured window's
cache hit ratio is stated beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from perflab.catalogue import CDN_CLAIM
from perflab.cdn import CdnResult

from .stats import Ratio, nested_ratio
from .verdicts import NOT_JUDGED, judge

Key = Tuple[int, int]  # (process, block)


@dataclass(frozen=True)
class CdnVerdict:
    metric: str
    cached: Dict[Key, float]  # (1, block) -> value with the cache on
    uncached: Dict[Key, float]
    ratio: Optional[Ratio]
    hit_ratio: Optional[float]  # the measured window's
    verdict: str
    note: str


def _usable(b: Mapping[str, Any]) -> bool:
    return b.get("status") == "ok" and not b.get("generator_saturated") \
        and float(b.get("error_rate", 1.0)) <= 0.02


def cdn_effect(result: CdnResult, metric: str = "p50_ms") -> CdnVerdict:
    """Cache on vs off on ``metric`` (the claim is about p50_ms; p95/p99 are effects)."""
    on: Dict[Key, float] = {}
    off: Dict[Key, float] = {}
    for b in result.blocks:
        if not _usable(b) or b.get(metric) is None:
            continue
        (on if b["cache"] else off)[(1, int(b["block"]))] = float(b[metric])
    hit = result.window.get("hit_ratio")
    if result.skipped or not on or not off:
        return CdnVerdict(metric, on, off, None, hit, NOT_JUDGED,
                          result.skipped or "no usable block with the cache %s"
                          % ("on" if not on else "off"))
    ratio = nested_ratio(on, off)
    if ratio is None:
        return CdnVerdict(metric, on, off, None, hit, NOT_JUDGED, "no paired block")
    inv = (1 / ratio.estimate, 1 / ratio.high if ratio.high else None,
           1 / ratio.low if ratio.low else None)
    claim = CDN_CLAIM.improvement_range() if metric == CDN_CLAIM.metric.replace("faq_", "") \
        else None
    verdict, note = judge(inv, claim, ratio.n)
    return CdnVerdict(metric, on, off, ratio, hit, verdict, note)


def _median(values: List[float]) -> str:
    if not values:
        return "-"
    s = sorted(values)
    m = len(s) // 2
    return "%.3f" % (s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2)


def format_cdn(result: CdnResult) -> List[str]:
    if result.skipped:
        return ["CDN (edge cache for GET /api/faq/{id}): skipped (%s)" % result.skipped]
    c = result.config
    p = result.primed
    w = result.window
    lines = ["CDN: nginx proxy_cache on vs off for GET /api/faq/{id}, both nginx up at once "
             "over the same instance; %g req/s open loop, %d interleaved block(s) of %gs per "
             "side, one seed per block for both (common random numbers), %d articles, "
             "Zipf-popular; claim: %s" % (c["rate"], c["blocks"], c["block_s"], c["articles"],
                                         CDN_CLAIM.text),
             "",
             "Steady state: the cache was primed before measuring, every one of the %s "
             "articles requested once through the cache-on nginx (%s answered 200 in %ss), "
             "as a CDN normally is." % (p.get("articles", "-"), p.get("ok", "-"),
                                        p.get("seconds", "-")),
             "",
             "| metric | cache on (median of blocks, ms) | cache off | on/off (95% CI) | "
             "verdict |", "|---|---|---|---|---|"]
    for metric in ("p50_ms", "p95_ms", "p99_ms"):
        v = cdn_effect(result, metric)
        r = v.ratio
        ci = "-" if r is None else ("%.2f (1 block)" % r.estimate if r.low is None or
                                    r.high is None else
                                    "%.2f [%.2f, %.2f]" % (r.estimate, r.low, r.high))
        lines.append("| %s | %s | %s | %s | %s%s: %s |" % (
            metric, _median(list(v.cached.values())), _median(list(v.uncached.values())),
            ci, v.verdict, "" if metric == "p50_ms" else " (no claim)", v.note))
    r = cdn_effect(result).ratio
    if r is not None:
        lines += ["", "Interval: %s." % r.method]
    hit = w.get("hit_ratio")
    lines += ["", "cache hit ratio in the measured window (nginx's $upstream_cache_status): "
              "%s%s; requests that reached the service: %s with the cache on, %s with it "
              "off" % ("%.1f%%" % (100 * hit) if hit is not None else "-",
                       " (warm-up pair included: the log did not split into blocks)"
                       if w.get("includes_warmup") else "",
                       w.get("service_requests", "-"), w.get("service_requests_off", "-"))]
    return lines
