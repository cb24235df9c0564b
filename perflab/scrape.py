"""Scraping the service's /metrics during a run: per-route counts and server-side latency.

``scrape(url)`` parses the Prometheus text with ``prometheus_client.parser`` into a
``Scrape`` (counts and cumulative histogram buckets per route, method and status).
Two scrapes at a window's boundaries give that window by difference
(``window(before, after)``), as the generator's histograms do: its request counts
per route, and server-side latency quantiles interpolated inside the histogram's
buckets (Prometheus' ``histogram_quantile``: linear within a bucket, so a quantile is
only as fine as the bucket bounds; the report says so beside the client-side figure).
"""

from __future__ import annotations

import math
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from prometheus_client.parser import text_string_to_metric_families

REQUESTS_TOTAL = "perflab_http_requests_total"
DURATION = "perflab_http_request_duration_seconds"
QUANTILES = (0.5, 0.95, 0.99)
Key = Tuple[str, str, str]  # (route, method, status)


@dataclass(frozen=True)
class Scrape:
    """One /metrics read: counters and cumulative buckets by (route, method, status)."""

    at: float  # unix time of the scrape
    requests: Dict[Key, float]
    buckets: Dict[Key, Dict[float, float]]  # le (seconds, inf for +Inf) -> cumulative count
    gauges: Dict[str, float] = field(default_factory=dict)  # unlabelled gauges (RSS, uptime)
    # unlabelled counter and summary samples (e.g. perflab_injected_delay_seconds_sum)
    totals: Dict[str, float] = field(default_factory=dict)


def parse(text: str, at: float = 0.0) -> Scrape:
    """The lab's series out of a Prometheus text exposition."""
    requests: Dict[Key, float] = {}
    buckets: Dict[Key, Dict[float, float]] = {}
    gauges: Dict[str, float] = {}
    totals: Dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = s.labels
            if s.name == REQUESTS_TOTAL:
                requests[_key(labels)] = float(s.value)
            elif s.name == DURATION + "_bucket":
                le = labels.get("le", "+Inf")
                bound = math.inf if le in ("+Inf", "Inf") else float(le)
                buckets.setdefault(_key(labels), {})[bound] = float(s.value)
            elif family.type == "gauge" and not labels:
                gauges[s.name] = float(s.value)
            elif family.type in ("counter", "summary") and not labels:
                totals[s.name] = float(s.value)
    return Scrape(at, requests, buckets, gauges, totals)


def _key(labels: Mapping[str, str]) -> Key:
    return (labels.get("route", ""), labels.get("method", ""), labels.get("status", ""))


def scrape(url: str, timeout: float = 5.0) -> Scrape:
    """GET ``url``/metrics and parse it (raises OSError when the service does not answer)."""
    import time

    with urllib.request.urlopen(url.rstrip("/") + "/metrics", timeout=timeout) as resp:
        text = resp.read().decode("utf-8", "replace")
    return parse(text, time.time())


@dataclass(frozen=True)
class RouteWindow:
    """One route's requests in a window, and its server-side latency quantiles (ms)."""

    route: str  # "POST /api/chat"
    requests: int
    by_status: Dict[str, int]
    quantiles_ms: Dict[str, Optional[float]]  # "p50" -> ms (None: no requests)

    def to_dict(self) -> Dict[str, Any]:
        return {"route": self.route, "requests": self.requests, "by_status": self.by_status,
                "quantiles_ms": self.quantiles_ms}


def window(before: Scrape, after: Scrape,
           quantiles: Sequence[float] = QUANTILES) -> Dict[str, RouteWindow]:
    """"METHOD route" -> its requests between two scrapes (every status merged)."""
    routes: Dict[str, Dict[str, int]] = {}
    merged: Dict[str, Dict[float, float]] = {}
    for key, n in after.requests.items():
        delta = n - before.requests.get(key, 0.0)
        if delta <= 0:
            continue
        name = "%s %s" % (key[1], key[0])
        routes.setdefault(name, {})[key[2]] = round(delta)
        b0 = before.buckets.get(key, {})
        into = merged.setdefault(name, {})
        for le, c in after.buckets.get(key, {}).items():
            into[le] = into.get(le, 0.0) + c - b0.get(le, 0.0)
    out: Dict[str, RouteWindow] = {}
    for name, statuses in routes.items():
        cum = merged.get(name, {})
        out[name] = RouteWindow(name, sum(statuses.values()), dict(sorted(statuses.items())),
                                {_qname(q): _ms(bucket_quantile(q, cum)) for q in quantiles})
    return out


def _qname(q: float) -> str:
    return "p%g" % (q * 100)


def _ms(seconds: Optional[float]) -> Optional[float]:
    return None if seconds is None else round(seconds * 1000.0, 3)


def bucket_quantile(q: float, cumulative: Mapping[float, float]) -> Optional[float]:
    """Prometheus' histogram_quantile over cumulative buckets {le: count} (seconds).

    Linear interpolation inside the bucket holding the rank; the lowest bucket starts
    at 0; a rank in the +Inf bucket gets the highest finite bound (a lower bound).
    """
    if not 0 <= q <= 1:
        raise ValueError("q must be in [0, 1]")
    bounds = sorted(cumulative)
    if not bounds:
        return None
    total = cumulative[bounds[-1]]
    if total <= 0:
        return None
    rank = q * total
    prev_bound, prev_count = 0.0, 0.0
    for le in bounds:
        count = cumulative[le]
        if count >= rank:
            if math.isinf(le):
                return prev_bound
            if count == prev_count:
                return le
            return prev_bound + (le - prev_bound) * (rank - prev_count) / (count - prev_count)
        prev_bound, prev_count = le, count
    return prev_bound


def shares(counts: Mapping[str, float]) -> Dict[str, float]:
    """Each instance's share of the requests (sums to 1); {} when there were none."""
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items()} if total > 0 else {}


def route_requests(windows: Iterable[Mapping[str, RouteWindow]], route: str) -> List[int]:
    """Requests on ``route`` in each of several instances' windows (0 where absent)."""
    return [w[route].requests if route in w else 0 for w in windows]
