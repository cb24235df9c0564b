"""Rates fitted to the machine (perflab/pacing.py): pure functions."""

from __future__ import annotations

import pytest

from perflab.pacing import MAX_STRETCH, UTILISATION, fit_plan, fitted_rate, ladder_floor
from perflab.plan import QUICK


@pytest.mark.parametrize("x, want", [(180 * 0.5, 70.0), (100, 100.0), (99.9, 70.0),
                                     (14.9, 10.0), (15, 15.0), (2400, 2000.0), (0.8, 0.7)])
def test_ladder_floor(x: float, want: float) -> None:
    assert ladder_floor(x) == want


def test_ladder_floor_needs_a_positive_rate() -> None:
    with pytest.raises(ValueError):
        ladder_floor(0)


def test_a_fast_machine_keeps_the_plans_rate() -> None:
    rate, why = fitted_rate(100.0, 900.0)
    assert rate == 100.0 and "plan's rate" in why


def test_a_slow_machine_gets_half_its_peak_rounded_down() -> None:
    rate, why = fitted_rate(200.0, 150.0)
    assert rate == 50.0 and rate <= UTILISATION * 150 and "lowered" in why


def test_the_plans_rate_is_kept_up_to_half_the_peak() -> None:
    """Host speed moved the peak between 192 and 259/s: 100/s stays 100/s from 200/s."""
    assert fitted_rate(100.0, 200.0)[0] == fitted_rate(100.0, 259.0)[0] == 100.0
    assert fitted_rate(100.0, 199.0)[0] == 70.0


def test_no_peak_keeps_the_plans_rate() -> None:
    assert fitted_rate(100.0, None)[0] == 100.0
    assert fitted_rate(100.0, 0.0)[0] == 100.0


def test_nearby_peaks_choose_the_same_rate() -> None:
    """Two runs on one machine: a few percent apart in served rate, the same rate."""
    assert fitted_rate(200.0, 180.0)[0] == fitted_rate(200.0, 195.0)[0]


def test_fit_plan_scales_chat_and_orders_apart() -> None:
    fitted, record = fit_plan(QUICK, 180.0, 120.0)
    assert fitted.reference_rate == 70.0 and fitted.rates == (70.0,)
    assert fitted.orders_rate == 30.0
    # lowered rates, longer blocks: chat x 100/70, orders x MAX_STRETCH at most
    assert fitted.duration_s == round(QUICK.duration_s * 100 / 70, 2)
    assert fitted.orders_duration_s == round(MAX_STRETCH * QUICK.orders_duration_s, 2)
    assert record["chat"]["plan"] == QUICK.reference_rate and record["chat"]["served"] == 180
    fitted.validate()  # still a valid plan: its reference rate is one of its rates


def test_fit_plan_unchanged_on_a_fast_machine() -> None:
    fitted, _ = fit_plan(QUICK, 5000.0, 5000.0)
    assert fitted == QUICK
