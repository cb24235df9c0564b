"""Intervals over repeats and the verdict rule, on hand-made numbers."""

from __future__ import annotations

import math
import random

import pytest

from reports.stats import ratio_of_means, t975
from reports.verdicts import (
    CONFIRMED,
    INCONCLUSIVE,
    NOT_CONFIRMED,
    PARTIAL,
    WORSE,
    judge,
)


def test_exact_ratio_gives_a_tight_interval() -> None:
    a = {1: 10.0, 2: 12.0, 3: 9.0, 4: 11.0}
    b = {k: v * 0.5 for k, v in a.items()}
    r = ratio_of_means(b, a)
    assert r is not None and r.paired and r.n == 4
    assert r.estimate == pytest.approx(0.5)
    assert r.low == pytest.approx(0.5) and r.high == pytest.approx(0.5)


def test_pairing_cancels_drift() -> None:
    drift = {1: 1.0, 2: 1.3, 3: 0.8, 4: 1.1, 5: 0.9}
    a = {k: 100 * d for k, d in drift.items()}
    b = {k: 100 * d * (0.7 + 0.01 * (k % 2)) for k, d in drift.items()}
    paired = ratio_of_means(b, a)
    unpaired = ratio_of_means(b, a, paired=False)
    assert paired is not None and unpaired is not None
    assert paired.high - paired.low < (unpaired.high - unpaired.low) / 3


def test_one_repeat_has_no_interval() -> None:
    r = ratio_of_means({1: 5.0}, {1: 10.0})
    assert r is not None and r.estimate == 0.5 and not r.has_interval and r.n == 1
    assert judge((2.0, None, None), (1.4, 1.7), 1) == (INCONCLUSIVE,
                                                      "1 repeat: interval unavailable")


def test_missing_side_gives_none() -> None:
    assert ratio_of_means({}, {1: 1.0}) is None
    assert ratio_of_means({1: 1.0}, {1: 0.0}) is None


def test_t_table() -> None:
    assert t975(4) == pytest.approx(2.776)
    assert t975(4.7) == pytest.approx(2.776)  # rounded down: wider
    assert t975(10_000) == pytest.approx(1.96)
    assert math.isinf(t975(0))


def test_aa_false_positive_rate_is_near_five_percent() -> None:
    """An A/A pair with 3 or 5 noisy repeats must rarely look like an effect."""
    for n in (3, 5):
        hits = 0
        for seed in range(200):
            rng = random.Random(seed)
            drift = [math.exp(rng.gauss(0, 0.05)) for _ in range(n)]
            a = {k: 100 * drift[k] * math.exp(rng.gauss(0, 0.03)) for k in range(n)}
            b = {k: 100 * drift[k] * math.exp(rng.gauss(0, 0.03)) for k in range(n)}
            r = ratio_of_means(b, a, n_boot=2000, seed=seed)
            assert r is not None and r.low is not None and r.high is not None
            hits += not (r.low <= 1 <= r.high)
        assert hits <= 20, (n, hits)  # <= 10% of 200 (nominal 5%)


# improvement intervals against a claim whose improvement range is 1.4..1.7
@pytest.mark.parametrize("interval,verdict,note", [
    ((1.55, 1.5, 1.6), CONFIRMED, "interval inside or above the claimed range"),
    ((2.0, 1.8, 2.2), CONFIRMED, "exceeds the claim"),
    ((1.4, 1.3, 1.5), PARTIAL, "interval overlaps the claimed range"),
    ((1.2, 1.1, 1.3), NOT_CONFIRMED, "better, but short of the claim"),
    ((0.8, 0.7, 0.9), WORSE, "measurably worse"),
    ((1.0, 0.9, 1.2), INCONCLUSIVE, "interval spans no effect"),
    ((1.003, 1.001, 1.008), INCONCLUSIVE, "no measurable effect (within ±1%)"),
])
def test_verdict_rule(interval: tuple, verdict: str, note: str) -> None:
    assert judge(interval, (1.4, 1.7), 5) == (verdict, note)


def test_verdict_without_claim() -> None:
    assert judge((1.2, 1.1, 1.3))[0] == "better"
    assert judge((0.9, 0.85, 0.95))[0] == WORSE
    assert judge(None)[0] == "not judged"
