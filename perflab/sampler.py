"""Resource sampling of the service under test (RSS and CPU of its process tree).

A daemon thread samples a few times a second and appends rows to
timeseries.csv; ``window(t0, t1)`` summarises a measurement's own window.
CPU time is read from ``/proc/PID/task/*/schedstat`` (nanoseconds) where Linux
has it, else psutil's user+system (10 ms ticks): at 100 requests/s a 0.8 s
block costs about 20 ticks, too coarse for a +0.5 ms/request calibration, so
the finer clock matters (measured in perflab's calibration work).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import psutil

from .results import Sample


@dataclass(frozen=True)
class Window:
    rss_peak_mb: Optional[float]
    rss_mean_mb: Optional[float]
    cpu_mean_pct: Optional[float]
    # CPU seconds between the samples bracketing the window (the whole window, plus the
    # idle edges: the other variants are being measured then)
    cpu_s: Optional[float] = None


def cpu_seconds(proc: psutil.Process) -> float:
    """CPU seconds of one process: schedstat (ns) of all its threads, else psutil."""
    ns, seen = 0, False
    for stat in Path("/proc/%d/task" % proc.pid).glob("*/schedstat"):
        try:
            ns += int(stat.read_text().split()[0])
            seen = True
        except (OSError, ValueError, IndexError):
            continue  # a thread that just ended
    if seen:
        return ns / 1e9
    t = proc.cpu_times()
    return float(t.user + t.system)


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
        # (wall time, rss MB, cpu %, cumulative CPU s)
        self._points: List[Tuple[float, float, float, float]] = []
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
                    cpu_s += cpu_seconds(p)
                except psutil.Error:
                    continue
            now_m = time.monotonic()
            prev = self._cpu.get("s")
            self._cpu["s"] = cpu_s
            if prev is not None and rss > 0:
                cpu_pct = max(0.0, (cpu_s - prev) / max(now_m - last, 1e-6) * 100.0)
                now = time.time()
                with self._lock:
                    self._points.append((now, rss / 1e6, cpu_pct, cpu_s))
                try:
                    self.sink(Sample(self.run_id, self.variant, self.repeat, self.phase,
                                     round(now - self.t0, 3), round(rss / 1e6, 2),
                                     round(cpu_pct, 1)))
                except Exception:  # a full disk must not kill the measurement thread
                    pass
            last = now_m
            self._stop.wait(self.interval)

    def window(self, start: float, end: float, cpu_end: Optional[float] = None) -> Window:
        """Peak and mean RSS, mean CPU over [start, end] (unix times); CPU seconds from
        before ``start`` to after ``cpu_end`` (default ``end``), so the responses of a
        block that finish after its schedule are counted too."""
        with self._lock:
            allp = list(self._points)
        pts = [p for p in allp if start <= p[0] <= end]
        before = [p for p in allp if p[0] < start]
        after = [p for p in allp if p[0] > (end if cpu_end is None else cpu_end)]
        cpu_s = (round(after[0][3] - before[-1][3], 6) if before and after else None)
        if not pts:
            return Window(None, None, None, cpu_s)
        return Window(round(max(p[1] for p in pts), 2),
                      round(sum(p[1] for p in pts) / len(pts), 2),
                      round(sum(p[2] for p in pts) / len(pts), 1), cpu_s)

    def wait_past(self, t: float, timeout: float = 1.0) -> None:
        """Block until a sample later than ``t`` exists (so ``window`` can bracket it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._points and self._points[-1][0] > t:
                    return
            time.sleep(0.02)
