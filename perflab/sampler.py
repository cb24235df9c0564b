"""Resource sampling of the service under test (RSS and CPU of its process tree).

A daemon thread samples a few times a second with psutil and appends rows to
timeseries.csv; ``window(t0, t1)`` summarises a measurement's own window.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

import psutil

from .results import Sample


@dataclass(frozen=True)
class Window:
    rss_peak_mb: Optional[float]
    rss_mean_mb: Optional[float]
    cpu_mean_pct: Optional[float]


class Sampler:
    """Samples one process and its children every ``interval`` seconds."""

    def __init__(self, pid: int, run_id: str, variant: str, repeat: int, t0: float,
                 sink: Callable[[Sample], None], interval: float = 0.2) -> None:
        self.proc = psutil.Process(pid)
        self.run_id, self.variant, self.repeat = run_id, variant, repeat
        self.t0 = t0
        self.sink = sink
        self.interval = interval
        self.phase = "startup"
        self._points: List[Tuple[float, float, float]] = []  # (wall time, rss MB, cpu %)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="perflab-sampler", daemon=True)
        self._lock = threading.Lock()
        self._cpu: dict = {}

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def _procs(self) -> List[psutil.Process]:
        try:
            return [self.proc, *self.proc.children(recursive=True)]
        except psutil.Error:
            return []

    def _loop(self) -> None:
        last = time.monotonic()
        while not self._stop.is_set():
            rss = 0.0
            cpu_s = 0.0
            for p in self._procs():
                try:
                    with p.oneshot():
                        rss += p.memory_info().rss
                        t = p.cpu_times()
                        cpu_s += t.user + t.system
                except psutil.Error:
                    continue
            now_m = time.monotonic()
            prev = self._cpu.get("s")
            self._cpu["s"] = cpu_s
            if prev is not None and rss > 0:
                cpu_pct = max(0.0, (cpu_s - prev) / max(now_m - last, 1e-6) * 100.0)
                now = time.time()
                with self._lock:
                    self._points.append((now, rss / 1e6, cpu_pct))
                try:
                    self.sink(Sample(self.run_id, self.variant, self.repeat, self.phase,
                                     round(now - self.t0, 3), round(rss / 1e6, 2),
                                     round(cpu_pct, 1)))
                except Exception:  # a full disk must not kill the measurement thread
                    pass
            last = now_m
            self._stop.wait(self.interval)

    def window(self, start: float, end: float) -> Window:
        """Peak and mean RSS, mean CPU over [start, end] (unix times)."""
        with self._lock:
            pts = [p for p in self._points if start <= p[0] <= end]
        if not pts:
            return Window(None, None, None)
        return Window(round(max(p[1] for p in pts), 2),
                      round(sum(p[1] for p in pts) / len(pts), 2),
                      round(sum(p[2] for p in pts) / len(pts), 1))
