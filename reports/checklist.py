"""The checklist items, stated: each a measured effect with its 95% interval and no claim
(the guide names no figure: "a verdict without a claim"). Pure functions over a
``ChecklistResult``; ``ITEMS`` says which pair, metric and route each statement is about.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from perflab.checklist import ChecklistResult

from .stats import Ratio, ratio_of_means
from .verdicts import judge

# item -> (optimised, compared with, metric, route, lower is better)
ITEMS: Dict[str, Tuple[str, str, str, str, bool]] = {
    "gzip bytes": ("+gzip, Accept-Encoding gzip", "the same instance, identity",
                   "bytes_mean", "POST /api/chat", True),
    "gzip latency": ("+gzip, Accept-Encoding gzip", "the same instance, identity", "p50_ms",
                     "POST /api/chat", True),
    "rate limiting overhead": ("+rate_limit (limit above the rate)", "+batching (baseline "
                               "toggles)", "p50_ms", "POST /api/chat", True),
    "quiet logs": ("+quiet_logs", "+batching (baseline toggles)", "cpu_s_per_request",
                   "POST /api/chat", True),
    "pooling": ("+pooling (Redis in the path)", "+redis_cache", "p50_ms", "POST /api/chat",
                True),
    "batching": ("POST /api/chat/batch (+batching)", "one POST /api/chat per message, same "
                 "instance", "messages_per_s", "POST /api/chat/batch", False),
}
_FIELDS = {"gzip bytes": ("gzip", "a", "b", "bytes_mean"),
           "gzip latency": ("gzip", "a", "b", "p50_ms"),
           "rate limiting overhead": ("rate_limit", "a", "b", "p50_ms"),
           "quiet logs": ("quiet_logs", "a", "b", "cpu_s_per_request"),
           "pooling": ("pooling", "a", "b", "p50_ms"),
           "batching": ("batching", "batch", "single", "messages_per_s")}


@dataclass(frozen=True)
class Statement:
    item: str
    numerator: Dict[int, float]
    denominator: Dict[int, float]
    ratio: Optional[Ratio]
    verdict: str  # better | worse | inconclusive ... (no claim)
    note: str


def statements(result: ChecklistResult) -> List[Statement]:
    out: List[Statement] = []
    for item, (key, a, b, metric) in _FIELDS.items():
        num: Dict[int, float] = {}
        den: Dict[int, float] = {}
        for block in result.blocks:
            d = block.get(key) or {}
            va, vb = (d.get(a) or {}).get(metric), (d.get(b) or {}).get(metric)
            if va is not None and vb is not None:
                num[int(block["repeat"])] = float(va)
                den[int(block["repeat"])] = float(vb)
        ratio = ratio_of_means(num, den) if num else None
        lower = ITEMS[item][4]
        if ratio is None:
            out.append(Statement(item, num, den, None, "not judged", "no figures"))
            continue
        imp = (ratio.estimate, ratio.low, ratio.high) if not lower else (
            1 / ratio.estimate, 1 / ratio.high if ratio.high else None,
            1 / ratio.low if ratio.low else None)
        verdict, note = judge(imp, None, ratio.n)
        out.append(Statement(item, num, den, ratio, verdict, note))
    return out


def format_checklist(result: ChecklistResult) -> List[str]:
    lines = ["Checklist (no figure in the guide: measured effects, verdicts without a claim)",
             "", "| item | compared | metric, route | per repeat (item / reference) | "
             "ratio (95% CI) | verdict |", "|---|---|---|---|---|---|"]
    for s in statements(result):
        opt, ref, metric, route, _ = ITEMS[s.item]
        per = "; ".join("r%d %.4g / %.4g" % (k, s.numerator[k], s.denominator[k])
                        for k in sorted(s.numerator))
        r = s.ratio
        ci = "-" if r is None else ("%.3f" % r.estimate if r.low is None or r.high is None
                                    else "%.3f [%.3f, %.3f]" % (r.estimate, r.low, r.high))
        lines.append("| %s | %s vs %s | %s, %s | %s | %s | %s (no claim): %s |"
                     % (s.item, opt, ref, metric, route, per or "-", ci, s.verdict, s.note))
    p = result.rate_limit_probe
    if p:
        lines += ["", "Rate limit at 2 req/s, burst 5, one client sending %d requests at once: "
                  "statuses %s; first 429 at request %s; Retry-After %s; every 429 has "
                  "Retry-After: %s" % (len(p["statuses"]), p["statuses"], p["first_429_at"],
                                       p["retry_after"], p["all_429_have_retry_after"])]
    return lines
