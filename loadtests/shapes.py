"""Load shapes as pure functions of run time (no ``locust`` import here).

A shape is one method, ``tick(run_time) -> (users, spawn_rate) | None`` like Locust's
``LoadTestShape.tick``; ``None`` ends the test. The locustfile wraps the shape chosen by
``PERFLAB_SHAPE`` in a ``LoadTestShape`` subclass, and defines none when the variable is
unset, so plain ``-u/-r/-t`` (or the web UI) drive the run.

Environment (durations accept ``90``, ``90s``, ``2m``, ``1h30m``):

=================  =========================================================================
PERFLAB_SHAPE      ``step`` | ``spike`` | ``soak`` (unset or ``none``: no shape)
step               PERFLAB_STEP_USERS (10), PERFLAB_STEP_TIME (30s), PERFLAB_STEPS (5)
spike              PERFLAB_BASE_USERS (10), PERFLAB_SPIKE_USERS (100), PERFLAB_SPIKE_AT (30s),
                   PERFLAB_SPIKE_LEN (20s), PERFLAB_DURATION (90s)
soak               PERFLAB_USERS (50), PERFLAB_RAMP (60s), PERFLAB_DURATION (30m)
all                PERFLAB_SPAWN_RATE (users/s; default: a step, a spike or a ramp in ~1 s)
=================  =========================================================================

Every shape has a bounded duration (at most ``MAX_DURATION_S``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Optional, Tuple

__all__ = [
    "MAX_DURATION_S",
    "SHAPES",
    "Shape",
    "ShapeError",
    "parse_timespan",
    "shape_from_env",
    "soak",
    "spike",
    "step_ramp",
]

MAX_DURATION_S = 6 * 3600.0
SHAPES = ("step", "spike", "soak")

Tick = Optional[Tuple[int, float]]


class ShapeError(ValueError):
    """A PERFLAB_* shape setting is invalid."""


_NUM = r"(\d+(?:\.\d+)?)"
_SPAN = re.compile(rf"^\s*(?:{_NUM}h)?\s*(?:{_NUM}m)?\s*(?:{_NUM}s?)?\s*$")


def parse_timespan(text: str) -> float:
    """Seconds in ``"90"``, ``"90s"``, ``"2m"``, ``"1h30m"``, ``"1.5"`` (like Locust's)."""
    m = _SPAN.match(text or "")
    if not m or not any(m.groups()):
        raise ShapeError(f"not a time span: {text!r} (try 90s, 2m, 1h30m)")
    h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return h * 3600 + mi * 60 + s


@dataclass(frozen=True)
class Shape:
    """A piecewise user-count plan. ``kind`` is one of SHAPES."""

    kind: str
    duration: float  # seconds; tick() returns None from then on
    spawn_rate: float
    # step
    step_users: int = 0
    step_time: float = 0.0
    # spike / soak
    base_users: int = 0
    peak_users: int = 0
    spike_at: float = 0.0
    spike_len: float = 0.0
    ramp: float = 0.0

    def users_at(self, run_time: float) -> int:
        if self.kind == "step":
            return self.step_users * (int(run_time // self.step_time) + 1)
        if self.kind == "spike":
            in_spike = self.spike_at <= run_time < self.spike_at + self.spike_len
            return self.peak_users if in_spike else self.base_users
        # soak: linear ramp to peak_users, then hold
        if self.ramp > 0 and run_time < self.ramp:
            return max(1, round(self.peak_users * run_time / self.ramp))
        return self.peak_users

    def tick(self, run_time: float) -> Tick:
        if run_time >= self.duration:
            return None
        return self.users_at(run_time), self.spawn_rate

    def describe(self) -> str:
        if self.kind == "step":
            top = self.users_at(self.duration - 1e-9)
            return (f"step: +{self.step_users} users every {self.step_time:g}s to {top}, "
                    f"{self.duration:g}s")
        if self.kind == "spike":
            return (f"spike: {self.base_users} users, {self.peak_users} for "
                    f"{self.spike_len:g}s at {self.spike_at:g}s, {self.duration:g}s in all")
        return (f"soak: ramp to {self.peak_users} users in {self.ramp:g}s, hold, "
                f"{self.duration:g}s in all")


def _check_duration(duration: float) -> float:
    if not 0 < duration <= MAX_DURATION_S:
        raise ShapeError(f"shape duration must be in (0, {MAX_DURATION_S:g}] s, got {duration:g}")
    return duration


def step_ramp(step_users: int = 10, step_time: float = 30.0, steps: int = 5,
              spawn_rate: Optional[float] = None) -> Shape:
    """Add ``step_users`` every ``step_time`` seconds, ``steps`` times, then stop."""
    if step_users < 1 or steps < 1 or step_time <= 0:
        raise ShapeError("step needs step_users >= 1, steps >= 1, step_time > 0")
    return Shape("step", _check_duration(steps * step_time),
                 float(spawn_rate or step_users), step_users=step_users, step_time=step_time)


def spike(base_users: int = 10, spike_users: int = 100, spike_at: float = 30.0,
          spike_len: float = 20.0, duration: float = 90.0,
          spawn_rate: Optional[float] = None) -> Shape:
    """``base_users``, then ``spike_users`` for ``spike_len`` s from ``spike_at``, then back."""
    if base_users < 0 or spike_users < 1 or spike_len <= 0 or spike_at < 0:
        raise ShapeError("spike needs base_users >= 0, spike_users >= 1, spike_len > 0")
    return Shape("spike", _check_duration(duration), float(spawn_rate or spike_users),
                 base_users=base_users, peak_users=spike_users, spike_at=spike_at,
                 spike_len=spike_len)


def soak(users: int = 50, ramp: float = 60.0, duration: float = 1800.0,
         spawn_rate: Optional[float] = None) -> Shape:
    """Ramp linearly to ``users`` over ``ramp`` seconds and hold until ``duration``."""
    if users < 1 or ramp < 0 or ramp >= duration:
        raise ShapeError("soak needs users >= 1 and 0 <= ramp < duration")
    rate = spawn_rate or max(1.0, users / ramp if ramp else float(users))
    return Shape("soak", _check_duration(duration), float(rate), peak_users=users, ramp=ramp)


def _int(env: Mapping[str, str], var: str, default: int) -> int:
    raw = env.get(var, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ShapeError(f"{var}={raw!r} is not an integer") from None


def _span(env: Mapping[str, str], var: str, default: float) -> float:
    raw = env.get(var, "").strip()
    return parse_timespan(raw) if raw else default


def _rate(env: Mapping[str, str]) -> Optional[float]:
    raw = env.get("PERFLAB_SPAWN_RATE", "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ShapeError(f"PERFLAB_SPAWN_RATE={raw!r} is not a number") from None
    if value <= 0:
        raise ShapeError("PERFLAB_SPAWN_RATE must be > 0")
    return value


def shape_from_env(env: Mapping[str, str]) -> Optional[Shape]:
    """The shape PERFLAB_SHAPE selects, or None when it is unset/``none``."""
    kind = env.get("PERFLAB_SHAPE", "").strip().lower()
    if kind in ("", "none"):
        return None
    if kind == "step":
        return step_ramp(_int(env, "PERFLAB_STEP_USERS", 10), _span(env, "PERFLAB_STEP_TIME", 30),
                         _int(env, "PERFLAB_STEPS", 5), _rate(env))
    if kind == "spike":
        return spike(_int(env, "PERFLAB_BASE_USERS", 10), _int(env, "PERFLAB_SPIKE_USERS", 100),
                     _span(env, "PERFLAB_SPIKE_AT", 30), _span(env, "PERFLAB_SPIKE_LEN", 20),
                     _span(env, "PERFLAB_DURATION", 90), _rate(env))
    if kind == "soak":
        return soak(_int(env, "PERFLAB_USERS", 50), _span(env, "PERFLAB_RAMP", 60),
                    _span(env, "PERFLAB_DURATION", 1800), _rate(env))
    raise ShapeError(f"PERFLAB_SHAPE={kind!r}: choose one of {', '.join(SHAPES)} or none")
