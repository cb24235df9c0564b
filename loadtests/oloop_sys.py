"""Linux process plumbing for the open-loop generator: precise timers, parent-death, pinning.

Why each piece exists:

- **timerfd** (``PreciseTimer``): the event loop's own timers are whole milliseconds
  (libuv's clock is in ms; asyncio's epoll rounds its timeout up to 1 ms), so a send
  scheduled for t leaves up to 1 ms late and that lateness lands in every latency
  (the old driver's +1.2 ms at p50). A ``timerfd`` armed at an absolute CLOCK_MONOTONIC
  time (the clock behind ``time.perf_counter`` on Linux) wakes ``epoll`` within
  microseconds; the loop sees it as a readable fd. Python 3.11 has no
  ``os.timerfd_create`` (3.13 does), hence ctypes. Without it (not Linux) the loop's
  ms timers are used and the result's meta says so.
- **PR_SET_TIMERSLACK = 1 ns**: the kernel may otherwise defer this process's timed
  wake-ups by its default 50 µs slack.
- **PR_SET_PDEATHSIG(SIGTERM)**: the generator (and each worker process) gets SIGTERM
  when its parent dies, so an orchestrator that is killed never leaves load running.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import signal
import time
from typing import Any, Callable, List, Optional, Sequence

__all__ = ["PreciseTimer", "cpu_affinity", "parse_cpus", "pin_to", "set_parent_death_signal",
           "set_timer_slack"]

_PR_SET_PDEATHSIG = 1
_PR_SET_TIMERSLACK = 29
_CLOCK_MONOTONIC = 1
_TFD_NONBLOCK = 0o4000
_TFD_CLOEXEC = 0o2000000
_TFD_TIMER_ABSTIME = 1


@functools.lru_cache(maxsize=1)
def _lib() -> Optional[Any]:
    """The C library (cached: a handle, not run state), or None where it cannot load."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    except OSError:
        return None


def set_parent_death_signal(sig: int = signal.SIGTERM) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent exits (Linux)."""
    lib = _lib()
    if lib is None or not hasattr(lib, "prctl"):
        return False
    return lib.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0


def set_timer_slack(ns: int = 1) -> bool:
    """Timed wake-ups of this process within ``ns`` of their deadline (Linux)."""
    lib = _lib()
    if lib is None or not hasattr(lib, "prctl"):
        return False
    return lib.prctl(_PR_SET_TIMERSLACK, int(ns), 0, 0, 0) == 0


def parse_cpus(text: str) -> List[int]:
    """``"0,2-3"`` -> ``[0, 2, 3]``; ValueError on anything else."""
    out: List[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-", 1)
            out.extend(range(int(lo), int(hi) + 1))
        else:
            out.append(int(part))
    if not out or any(c < 0 for c in out):
        raise ValueError(f"not a CPU list: {text!r}")
    return out


def pin_to(cpus: Sequence[int]) -> None:
    """Pin the calling process to ``cpus`` (no-op without sched_setaffinity)."""
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(cpus))


def cpu_affinity() -> Optional[List[int]]:
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return None


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class PreciseTimer:
    """One re-armable wake-up at an absolute ``time.perf_counter()`` time.

    ``arm(t)`` replaces any earlier deadline; ``callback`` runs in the event loop when it
    expires (a deadline in the past expires at once). ``precise`` tells whether a timerfd
    is behind it; otherwise ``loop.call_at`` (ms resolution) is.
    """

    def __init__(self, loop: Any, callback: Callable[[], None]) -> None:
        self._loop = loop
        self._callback = callback
        self._handle: Optional[Any] = None
        self._fd = -1
        lib = _lib()
        clock_ok = time.get_clock_info("perf_counter").implementation.endswith(
            "(CLOCK_MONOTONIC)")
        if lib is not None and hasattr(lib, "timerfd_create") and clock_ok:
            fd = lib.timerfd_create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
            if fd >= 0:
                self._fd = fd
                self._spec = _Itimerspec()
                self._settime = lib.timerfd_settime
                self._ref = ctypes.byref(self._spec)
                loop.add_reader(fd, self._fired)
        self.precise = self._fd >= 0

    def _fired(self) -> None:
        try:
            os.read(self._fd, 8)
        except (BlockingIOError, InterruptedError):
            return
        self._callback()

    def arm(self, t: float) -> None:
        if self._fd >= 0:
            sec = int(t)
            v = self._spec.it_value
            v.tv_sec = sec
            v.tv_nsec = max(1, int((t - sec) * 1e9))  # 0/0 would disarm
            self._settime(self._fd, _TFD_TIMER_ABSTIME, self._ref, None)
            return
        if self._handle is not None:
            self._handle.cancel()
        # loop.time() is time.monotonic() for both asyncio and uvloop (same clock)
        self._handle = self._loop.call_at(self._loop.time() + (t - time.perf_counter()),
                                          self._callback)

    def close(self) -> None:
        if self._fd >= 0:
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
