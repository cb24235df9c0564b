"""The capacity search on a model service: step up, bisect, lower bounds, a dead service."""

from __future__ import annotations

from typing import List, Optional

import pytest

from perflab.capacity import BRACKETED, LOWER, NONE, Probe, search_capacity
from perflab.plan import Capacity


def model(true_capacity: float, generator_ceiling: float = float("inf"),
          asked: Optional[List[float]] = None, die_at: Optional[float] = None):
    """A service that meets the targets up to ``true_capacity`` req/s."""

    def probe(rate: float) -> Optional[Probe]:
        if asked is not None:
            asked.append(rate)
        if die_at is not None and rate >= die_at:
            return None
        sent = min(rate, generator_ceiling)
        limited = rate > generator_ceiling
        ok = rate <= true_capacity and not limited
        return Probe(rate, ok, achieved=sent, throughput=min(sent, true_capacity),
                     p95_ms=20.0 if ok else 900.0, generator_limited=limited)

    return probe


CAP = Capacity(start_rate=60.0, factor=3.0, max_rate=5000.0, bisect_steps=2, budget_s=1e9)


def test_steps_up_then_bisects_between_last_pass_and_first_failure() -> None:
    asked: List[float] = []
    r = search_capacity(model(700.0, asked=asked), CAP)
    assert r is not None
    # 60, 180, 540 pass; 1620 fails; sqrt(540*1620)=935.3 fails; sqrt(540*935.3)=710.7 fails
    assert asked == [60.0, 180.0, 540.0, 1620.0, 935.3, 710.7]
    assert r.capacity == 540.0 and r.bound == BRACKETED and r.fail_rate == 710.7
    assert r.capacity <= 700.0 < r.fail_rate
    assert r.peak_throughput == 700.0


def test_bisection_moves_the_lower_end_on_a_pass() -> None:
    asked: List[float] = []
    r = search_capacity(model(1000.0, asked=asked), CAP)
    assert r is not None and asked[4] == 935.3 and r.capacity == 935.3
    assert r.fail_rate is not None and r.capacity < 1000.0 < r.fail_rate


def test_more_bisection_steps_narrow_the_bracket() -> None:
    widths = []
    for steps in (0, 1, 3, 6):
        r = search_capacity(model(777.0), Capacity(start_rate=60.0, factor=3.0,
                                                   bisect_steps=steps, budget_s=1e9))
        assert r is not None and r.bound == BRACKETED and r.capacity is not None
        assert r.fail_rate is not None and r.capacity <= 777.0 < r.fail_rate
        widths.append(r.fail_rate / r.capacity)
    assert widths == sorted(widths, reverse=True) and widths[-1] < 1.05


def test_a_generator_limited_failure_is_a_lower_bound() -> None:
    r = search_capacity(model(10_000.0, generator_ceiling=1000.0), CAP)
    assert r is not None and r.generator_limited and r.bound == LOWER
    assert r.capacity == 540.0
    assert any("generator-limited" in n for n in r.notes)


def test_max_rate_without_failure_is_a_lower_bound() -> None:
    r = search_capacity(model(1e9), Capacity(start_rate=100.0, factor=2.0, max_rate=800.0,
                                             budget_s=1e9))
    assert r is not None and r.bound == LOWER and r.capacity == 800.0 and r.fail_rate is None


def test_budget_stops_the_search() -> None:
    t = [0.0]

    def clock() -> float:
        t[0] += 1.0  # every look at the clock costs a second
        return t[0]

    r = search_capacity(model(1e9), Capacity(start_rate=10.0, factor=2.0, budget_s=3.5),
                        clock=clock)
    assert r is not None and r.bound == LOWER
    assert any("time budget" in n for n in r.notes)


def test_first_probe_failing_gives_no_capacity() -> None:
    r = search_capacity(model(10.0), CAP)
    assert r is not None and r.capacity is None and r.bound == NONE
    assert r.fail_rate == 60.0 and any("no probe met" in n for n in r.notes)


def test_a_dead_service_ends_the_search() -> None:
    assert search_capacity(model(700.0, die_at=540.0), CAP) is None


@pytest.mark.parametrize("truth", [75.0, 333.0, 2999.0])
def test_capacity_never_exceeds_the_truth(truth: float) -> None:
    r = search_capacity(model(truth), CAP)
    assert r is not None and r.capacity is not None and r.capacity <= truth
