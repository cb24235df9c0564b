"""In-process Prometheus metrics: request counts, latency histograms, loop lag.

Kept dependency-free (no prometheus_client) so the service installs the same on
CPython and PyPy. One ``Metrics`` per app; each process (gunicorn worker,
``python -m service`` instance) exposes its own counters.
"""

from __future__ import annotations

import bisect
import os
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

LATENCY_BUCKETS: Tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG_BUCKETS: Tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Histogram:
    """Cumulative-bucket histogram in seconds, rendered the Prometheus way."""

    def __init__(self, buckets: Tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)  # last slot: +Inf
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.total += value
        self.count += 1

    def lines(self, name: str, labels: str) -> List[str]:
        sep = "," if labels else ""
        out = []
        running = 0
        for bound, n in zip(self.buckets, self.counts):
            running += n
            out.append(f'{name}_bucket{{{labels}{sep}le="{_fmt(bound)}"}} {running}')
        running += self.counts[-1]
        out.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {running}')
        braces = f"{{{labels}}}" if labels else ""
        out.append(f"{name}_sum{braces} {_fmt(self.total)}")
        out.append(f"{name}_count{braces} {self.count}")
        return out


def _fmt(value: float) -> str:
    return repr(float(value))


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    """Counters fed by the timing middleware and the loop-lag task."""

    def __init__(self) -> None:
        self.requests: Dict[Tuple[str, str, int], int] = {}
        self.latency: Dict[Tuple[str, str, int], Histogram] = {}
        self.loop_lag = Histogram(LAG_BUCKETS)
        self.loop_lag_last = 0.0
        self.loop_lag_max = 0.0
        self.in_flight = 0

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        hist = self.latency.get(key)
        if hist is None:
            hist = self.latency[key] = Histogram(LATENCY_BUCKETS)
        hist.observe(seconds)

    def observe_lag(self, seconds: float) -> None:
        self.loop_lag.observe(seconds)
        self.loop_lag_last = seconds
        if seconds > self.loop_lag_max:
            self.loop_lag_max = seconds

    def render(self, cache_stats: Optional[Mapping[str, Mapping[str, int]]] = None,
               extra_gauges: Iterable[Tuple[str, str, float]] = ()) -> str:
        """Prometheus text exposition format 0.0.4."""
        out: List[str] = [
            "# HELP perflab_http_requests_total HTTP requests by route, method and status.",
            "# TYPE perflab_http_requests_total counter",
        ]
        for (route, method, status), n in sorted(self.requests.items()):
            out.append(f'perflab_http_requests_total{{route="{_label(route)}",method="{method}",'
                       f'status="{status}"}} {n}')
        out += ["# HELP perflab_http_request_duration_seconds Time in the service per request.",
                "# TYPE perflab_http_request_duration_seconds histogram"]
        for (route, method, status), hist in sorted(self.latency.items()):
            labels = f'route="{_label(route)}",method="{method}",status="{status}"'
            out += hist.lines("perflab_http_request_duration_seconds", labels)
        out += ["# HELP perflab_http_requests_in_flight Requests being handled now.",
                "# TYPE perflab_http_requests_in_flight gauge",
                f"perflab_http_requests_in_flight {self.in_flight}"]
        out += ["# HELP perflab_cache_hits_total Cache hits by layer (from the engine).",
                "# TYPE perflab_cache_hits_total counter"]
        stats = cache_stats or {}
        for layer in sorted(stats):
            hits = int(stats[layer].get("hits", 0))
            out.append(f'perflab_cache_hits_total{{layer="{_label(layer)}"}} {hits}')
        out += ["# HELP perflab_cache_misses_total Cache misses by layer (from the engine).",
                "# TYPE perflab_cache_misses_total counter"]
        for layer in sorted(stats):
            misses = int(stats[layer].get("misses", 0))
            out.append(f'perflab_cache_misses_total{{layer="{_label(layer)}"}} {misses}')
        out += ["# HELP perflab_event_loop_lag_seconds Delay of a timed sleep past its deadline.",
                "# TYPE perflab_event_loop_lag_seconds histogram"]
        out += self.loop_lag.lines("perflab_event_loop_lag_seconds", "")
        out += ["# HELP perflab_event_loop_lag_last_seconds Most recent loop-lag probe.",
                "# TYPE perflab_event_loop_lag_last_seconds gauge",
                f"perflab_event_loop_lag_last_seconds {_fmt(self.loop_lag_last)}",
                "# HELP perflab_event_loop_lag_max_seconds Largest loop lag seen.",
                "# TYPE perflab_event_loop_lag_max_seconds gauge",
                f"perflab_event_loop_lag_max_seconds {_fmt(self.loop_lag_max)}"]
        rss = resident_memory_bytes()
        if rss is not None:
            out += ["# HELP process_resident_memory_bytes Resident memory size in bytes.",
                    "# TYPE process_resident_memory_bytes gauge",
                    f"process_resident_memory_bytes {rss}"]
        for name, help_text, value in extra_gauges:
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge",
                    f"{name} {_fmt(value)}"]
        return "\n".join(out) + "\n"


def resident_memory_bytes() -> Optional[int]:
    """RSS from /proc (Linux); None elsewhere. Cheap enough to read per scrape."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            pages = int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")
