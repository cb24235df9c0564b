"""Intervals over repeats and the verdict rule, on hand-made numbers."""

from __future__ import annotations

import math
import random

import pytest

from reports.stats import nested_difference, nested_mean, nested_ratio, ratio_of_means, t975
from reports.verdicts import (
    CONFIRMED,
    INCONCLUSIVE,
    INSUFFICIENT,
    NO_EFFECT,
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
    assert judge((2.0, None, None), (1.4, 1.7), 1) == (INSUFFICIENT, "1 value: no interval")


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
    ((1.55, 1.5, 1.6), CONFIRMED, "meets the claim's weakest end (>= 1.4x)"),
    ((2.0, 1.8, 2.2), CONFIRMED, "meets the claim's weakest end"),
    ((1.4, 1.4, 1.5), CONFIRMED, "meets"),  # the weakest end itself counts
    ((1.4, 1.3, 1.5), PARTIAL, "does not exclude less"),
    ((1.2, 1.1, 1.3), NOT_CONFIRMED, "better, but short of the claim"),
    # the case: [0.97, 1.07] against >= 1.2 excludes the claim
    ((1.02, 0.97, 1.07), NOT_CONFIRMED, "no measurable effect: ratio interval [0.97x, "
                                        "1.07x] holds 1 and excludes the claim (>= 1.4x)"),
    ((0.8, 0.7, 0.9), WORSE, "measurably worse"),
    ((1.0, 0.9, 1.5), INCONCLUSIVE, "covers both no effect and the claim"),
    ((1.003, 1.001, 1.008), NOT_CONFIRMED, "within ±1%"),
])
def test_verdict_rule(interval: tuple, verdict: str, note: str) -> None:
    got = judge(interval, (1.4, 1.7), 5)
    assert got[0] == verdict and note in got[1], got


def test_verdict_without_claim() -> None:
    assert judge((1.2, 1.1, 1.3))[0] == "better"
    assert judge((0.9, 0.85, 0.95))[0] == WORSE
    assert judge((1.0, 0.95, 1.04)) == (NO_EFFECT, "ratio interval [0.95x, 1.04x] holds no "
                                        "effect; it excludes a change beyond -5.0% / +4.0%")


def test_lower_is_better_notes_read_as_ratios() -> None:
    # p50 ratio [0.5, 0.8] is an improvement [1.25, 2.0]; claim "30-40% lower": <= 0.7x
    verdict, note = judge((1.6, 1.25, 2.0), (1 / 0.7, 1 / 0.6), 9, lower_is_better=True)
    assert verdict == PARTIAL
    assert "ratio interval [0.5x, 0.8x]" in note and "(<= 0.7x)" in note
    assert judge(None)[0] == "not judged"


def _blocks(rng: random.Random, procs: int, blocks: int, proc_sd: float, block_sd: float,
            centre: float = 0.0) -> dict:
    out = {}
    for p in range(procs):
        offset = rng.gauss(0, proc_sd)
        for b in range(blocks):
            out[(p, b)] = centre + offset + rng.gauss(0, block_sd)
    return out


def test_nested_mean_pools_blocks_without_process_variance() -> None:
    levels = [nested_mean(_blocks(random.Random(s), 3, 12, 0.0, 1.0)) for s in range(100)]
    pooled = [m for m in levels if m.level == "block"]
    assert all(m.df == 35 and m.has_interval for m in pooled)
    assert len(pooled) >= 65  # the F test keeps the processes as the unit ~25% of the time


def test_nested_mean_uses_processes_when_they_differ() -> None:
    m = nested_mean(_blocks(random.Random(3), 3, 12, 5.0, 0.1))
    assert m.level == "process" and m.df == 2
    assert m.between_share is not None and m.between_share > 0.9


@pytest.mark.parametrize("proc_sd", [0.0, 0.5, 2.0])
def test_nested_mean_covers_the_truth_about_95_percent(proc_sd: float) -> None:
    """Coverage of the true mean, with and without variance between processes."""
    misses = 0
    for seed in range(300):
        m = nested_mean(_blocks(random.Random(seed), 3, 10, proc_sd, 1.0, centre=7.0))
        assert m.low is not None and m.high is not None
        misses += not (m.low <= 7.0 <= m.high)
    assert misses <= 30, misses  # <= 10% (nominal 5%; pooling costs a little)


def test_single_value_and_single_process() -> None:
    assert nested_mean({(1, 1): 3.0}).level == "none"
    assert not nested_mean({(1, 1): 3.0}).has_interval
    m = nested_mean({(1, b): float(b) for b in range(5)})
    assert m.level == "single-process" and "not measured" in m.describe()


def test_nested_ratio_pairs_common_blocks_only() -> None:
    a = {(1, b): 10.0 + b for b in range(6)}
    b = {k: 2 * v for k, v in a.items()}
    b[(2, 1)] = 99.0  # not in a: ignored
    r = nested_ratio(b, a)
    assert r is not None and r.n == 6 and r.estimate == pytest.approx(2.0)
    assert nested_ratio({(1, 1): 1.0}, {(2, 1): 1.0}) is None


def test_nested_difference_recovers_an_additive_effect() -> None:
    rng = random.Random(5)
    a = _blocks(rng, 3, 10, 0.2, 0.3, centre=3.0)
    b = {k: v + 1.0 + rng.gauss(0, 0.05) for k, v in a.items()}  # +1 ms, common noise
    d = nested_difference(b, a)
    assert d is not None and d.low is not None and d.high is not None
    assert d.low <= 1.0 <= d.high and d.high - d.low < 0.1


def test_one_outlying_block_barely_moves_the_pooled_interval() -> None:
    rng = random.Random(11)
    clean = {(p, b): rng.gauss(0, 0.02) for p in range(3) for b in range(4)}
    hit = dict(clean)
    hit[(2, 1)] = 0.6  # a neighbour's burst in one block
    a, b = nested_mean(clean), nested_mean(hit)
    assert a.level == b.level == "block" and a.high is not None and b.high is not None
    assert b.low is not None and a.low is not None
    assert (b.high - b.low) < 2 * (a.high - a.low)  # a t interval would be ~5x wider
    assert "signed-rank" in b.describe()
