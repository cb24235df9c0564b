"""Load shapes are pure functions of run time, chosen by PERFLAB_SHAPE."""

from __future__ import annotations

import pytest

from loadtests.shapes import (
    MAX_DURATION_S,
    ShapeError,
    parse_timespan,
    shape_from_env,
    soak,
    spike,
    step_ramp,
)


def test_timespans():
    assert parse_timespan("90") == 90
    assert parse_timespan("90s") == 90
    assert parse_timespan("2m") == 120
    assert parse_timespan("1h30m") == 5400
    assert parse_timespan("1.5") == 1.5
    with pytest.raises(ShapeError):
        parse_timespan("soon")


def test_step_ramp_adds_users_per_step_and_ends():
    s = step_ramp(step_users=5, step_time=10, steps=3)
    assert s.tick(0) == (5, 5.0)
    assert s.tick(9.9)[0] == 5
    assert s.tick(10)[0] == 10
    assert s.tick(29)[0] == 15
    assert s.tick(30) is None


def test_spike_goes_up_and_back_down():
    s = spike(base_users=2, spike_users=20, spike_at=5, spike_len=3, duration=12)
    assert [s.tick(t)[0] for t in (0, 4.9, 5, 7.9, 8, 11.9)] == [2, 2, 20, 20, 2, 2]
    assert s.tick(12) is None


def test_soak_ramps_then_holds_and_is_bounded():
    s = soak(users=10, ramp=10, duration=60)
    assert s.tick(0)[0] == 1
    assert s.tick(5)[0] == 5
    assert s.tick(30)[0] == 10
    assert s.tick(60) is None
    with pytest.raises(ShapeError):
        soak(users=10, ramp=1, duration=MAX_DURATION_S + 1)


def test_shape_from_env():
    assert shape_from_env({}) is None
    assert shape_from_env({"PERFLAB_SHAPE": "none"}) is None
    s = shape_from_env({"PERFLAB_SHAPE": "spike", "PERFLAB_SPIKE_USERS": "50",
                        "PERFLAB_DURATION": "1m", "PERFLAB_SPAWN_RATE": "25"})
    assert s is not None and s.kind == "spike" and s.duration == 60 and s.spawn_rate == 25
    st = shape_from_env({"PERFLAB_SHAPE": "step", "PERFLAB_STEPS": "2", "PERFLAB_STEP_TIME": "5s"})
    assert st is not None and st.duration == 10
    so = shape_from_env({"PERFLAB_SHAPE": "SOAK", "PERFLAB_DURATION": "2m"})
    assert so is not None and so.kind == "soak" and "soak" in so.describe()
    with pytest.raises(ShapeError, match="PERFLAB_SHAPE"):
        shape_from_env({"PERFLAB_SHAPE": "zigzag"})
    with pytest.raises(ShapeError, match="integer"):
        shape_from_env({"PERFLAB_SHAPE": "step", "PERFLAB_STEPS": "many"})
