"""Prometheus metrics with prometheus_client: request counts, latency histograms, loop lag.

One ``Metrics`` per app, on a registry of its own (no global registry: several apps in
one test process stay apart). Under gunicorn every worker is a process of its own;
with ``PROMETHEUS_MULTIPROC_DIR`` set (deploy/gunicorn.conf.py sets it before the
workers start, and marks dead workers in its ``child_exit`` hook) prometheus_client
keeps each worker's values in files of that folder and a scrape of any worker
covers all of them (``MultiProcessCollector``). prometheus_client picks its value
store when it is first imported, from that variable, so it must be in the
environment before the service starts; ``ServiceConfig.metrics_multiproc_dir`` is
the same value, read once.

Cache hits and misses are the engine's own counters (``Bot.cache_stats``); they are
carried into Prometheus counters by difference at each ``refresh`` (at every scrape,
and once a second from the loop-lag probe in multiprocess mode, so a scrape of one
worker sees the others' counts at most a second late).
"""

from __future__ import annotations

import os
from typing import Dict, Mapping, Optional, Tuple

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    Summary,
    generate_latest,
    multiprocess,
)

LATENCY_BUCKETS: Tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG_BUCKETS: Tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# Metric names the lab's scraper (perflab/scrape.py) and the tests read.
REQUESTS = "perflab_http_requests"  # exposed as perflab_http_requests_total
DURATION = "perflab_http_request_duration_seconds"
INJECTED = "perflab_injected_delay_seconds"  # calibration: the delay actually slept


class Metrics:
    """The service's metrics; ``multiprocess_dir`` turns on gunicorn's multiprocess mode."""

    def __init__(self, multiprocess_dir: Optional[str] = None) -> None:
        self.multiprocess_dir = multiprocess_dir or None
        r = self.registry = CollectorRegistry()
        labels = ("route", "method", "status")
        self.requests = Counter(REQUESTS, "HTTP requests by route, method and status.",
                                labels, registry=r)
        self.latency = Histogram(DURATION, "Time in the service per request.", labels,
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.in_flight = Gauge("perflab_http_requests_in_flight", "Requests being handled now.",
                               registry=r, multiprocess_mode="livesum")
        self.cache_hits = Counter("perflab_cache_hits", "Cache hits by layer (from the engine).",
                                  ("layer",), registry=r)
        self.cache_misses = Counter("perflab_cache_misses",
                                    "Cache misses by layer (from the engine).", ("layer",),
                                    registry=r)
        self.loop_lag = Histogram("perflab_event_loop_lag_seconds",
                                  "Delay of a timed sleep past its deadline.",
                                  buckets=LAG_BUCKETS, registry=r)
        self.loop_lag_last = Gauge("perflab_event_loop_lag_last_seconds",
                                   "Most recent loop-lag probe.", registry=r,
                                   multiprocess_mode="liveall")
        self.loop_lag_max = Gauge("perflab_event_loop_lag_max_seconds", "Largest loop lag seen.",
                                  registry=r, multiprocess_mode="max")
        self.uptime = Gauge("perflab_uptime_seconds", "Seconds since the service started.",
                            registry=r, multiprocess_mode="liveall")
        self.injected = Summary(INJECTED, "Injected latency as realised (calibration): the "
                                "time each awaited sleep actually lasted.", registry=r)
        self.rss: Optional[Gauge] = None
        if self.multiprocess_dir is None:
            ProcessCollector(registry=r)  # process_resident_memory_bytes and friends
        else:
            self.rss = Gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
                             registry=r, multiprocess_mode="liveall")
        self._lag_max = 0.0
        self._seen: Dict[Tuple[str, str], int] = {}

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, str(status))
        self.requests.labels(*key).inc()
        self.latency.labels(*key).observe(seconds)

    def observe_lag(self, seconds: float) -> None:
        self.loop_lag.observe(seconds)
        self.loop_lag_last.set(seconds)
        if seconds > self._lag_max:
            self._lag_max = seconds
            self.loop_lag_max.set(seconds)

    def refresh(self, cache_stats: Optional[Mapping[str, Mapping[str, int]]],
                uptime_s: float) -> None:
        """Carry the engine's cache counters and the gauges into the metrics."""
        for layer, counts in (cache_stats or {}).items():
            for kind, counter in (("hits", self.cache_hits), ("misses", self.cache_misses)):
                value = int(counts.get(kind, 0))
                delta = value - self._seen.get((layer, kind), 0)
                child = counter.labels(layer)  # the layer shows up even at zero
                if delta > 0:
                    child.inc(delta)
                    self._seen[(layer, kind)] = value
        self.uptime.set(uptime_s)
        if self.rss is not None:
            rss = resident_memory_bytes()
            if rss is not None:
                self.rss.set(rss)

    def exposition(self) -> Tuple[bytes, str]:
        """(body, content type) of a scrape: every worker's in multiprocess mode."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged, path=self.multiprocess_dir)
        return generate_latest(merged), CONTENT_TYPE_LATEST


def resident_memory_bytes() -> Optional[int]:
    """RSS from /proc (Linux); None elsewhere. Cheap enough to read per scrape."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            pages = int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")
