"""Statistics over repeats: ratios of means with 95% intervals, as plain functions.

A repeat gives one figure per variant (a percentile, a capacity, a peak RSS).
The effect of B against A is the ratio mean(B) / mean(A) over repeats. Its
95% interval is a bootstrap over repeats (paired when both variants ran in
the same repeats, as interleaved runs do, so that drift of the machine
cancels), expanded for few repeats (Hesterberg's expanded percentile
interval) and never narrower than the Student-t interval on log ratios: with
three repeats a plain bootstrap cannot reach past the data and calls one run
in four of an A/A pair significant. One repeat gives a point estimate and no
interval; nothing here ever defaults to "significant".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Mapping, Optional, Sequence, Tuple

import numpy as np

LEVEL = 0.95
N_BOOT = 10_000
SEED = 20240601  # fixed: the same run always gives the same report

# Student-t 97.5% quantiles (two-sided 95%), by degrees of freedom.
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
         9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131,
         16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074,
         23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045,
         30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}


def t975(df: float) -> float:
    """The 97.5% quantile of Student's t (rounded down to a tabulated df: conservative)."""
    if df < 1:
        return float("inf")
    best = 1
    for k in _T975:
        if k <= df:
            best = k
    return 1.960 if df > 1000 else _T975[best]


@dataclass(frozen=True)
class Ratio:
    """mean(numerator) / mean(denominator) over repeats, with its 95% interval."""

    estimate: float
    low: Optional[float]  # None: no interval (fewer than 2 repeats on a side)
    high: Optional[float]
    n: int  # pairs (paired) or the smaller side's repeats (unpaired)
    paired: bool
    method: str

    @property
    def has_interval(self) -> bool:
        return self.low is not None and self.high is not None


def ratio_of_means(numerator: Mapping[int, float], denominator: Mapping[int, float],
                   paired: bool = True, n_boot: int = N_BOOT,
                   seed: int = SEED) -> Optional[Ratio]:
    """The ratio of means of two sets of per-repeat figures ({repeat: value}).

    Paired over the repeats both sides have when there are at least two of them
    (and ``paired``); otherwise each side is resampled on its own. None when a
    side has no figure or the denominator's mean is not positive.
    """
    common = sorted(set(numerator) & set(denominator)) if paired else []
    if len(common) >= 2:
        num = np.array([numerator[k] for k in common], dtype=float)
        den = np.array([denominator[k] for k in common], dtype=float)
        return _paired(num, den, n_boot, seed)
    num = np.array(list(numerator.values()), dtype=float)
    den = np.array(list(denominator.values()), dtype=float)
    if num.size == 0 or den.size == 0 or den.mean() <= 0:
        return None
    estimate = float(num.mean() / den.mean())
    if num.size < 2 or den.size < 2:
        return Ratio(estimate, None, None, int(min(num.size, den.size)), False,
                     "point estimate (1 repeat)")
    return _unpaired(num, den, n_boot, seed)


def _expanded_alpha(n: int) -> float:
    """Hesterberg's expanded percentile level: z' = sqrt(n/(n-1)) * t_{n-1}."""
    z = math.sqrt(n / (n - 1)) * t975(n - 1)
    return max(2 * (1 - NormalDist().cdf(z)), 1e-9)


def _percentiles(boot: np.ndarray, alpha: float) -> Tuple[float, float]:
    finite = boot[np.isfinite(boot)]
    if finite.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(finite, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def _paired(num: np.ndarray, den: np.ndarray, n_boot: int, seed: int) -> Optional[Ratio]:
    if den.mean() <= 0:
        return None
    n = num.size
    estimate = float(num.mean() / den.mean())
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = num[idx].mean(axis=1) / den[idx].mean(axis=1)
    lo, hi = _percentiles(boot, _expanded_alpha(n))
    if np.all(num > 0) and np.all(den > 0):  # never narrower than t on log ratios
        logs = np.log(num / den)
        half = t975(n - 1) * float(logs.std(ddof=1)) / math.sqrt(n)
        centre = math.log(estimate)
        lo, hi = min(lo, math.exp(centre - half)), max(hi, math.exp(centre + half))
    return Ratio(estimate, lo, hi, n, True, "paired bootstrap over %d repeats" % n)


def _unpaired(num: np.ndarray, den: np.ndarray, n_boot: int, seed: int) -> Ratio:
    n = int(min(num.size, den.size))
    estimate = float(num.mean() / den.mean())
    rng = np.random.default_rng(seed)
    bn = num[rng.integers(0, num.size, size=(n_boot, num.size))].mean(axis=1)
    bd = den[rng.integers(0, den.size, size=(n_boot, den.size))].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = bn / bd
    lo, hi = _percentiles(boot, _expanded_alpha(n))
    if np.all(num > 0) and np.all(den > 0):  # Welch t on logs as the floor
        ln, ld = np.log(num), np.log(den)
        vn, vd = ln.var(ddof=1) / ln.size, ld.var(ddof=1) / ld.size
        se = math.sqrt(vn + vd)
        if se > 0:
            df = (vn + vd) ** 2 / (vn ** 2 / (ln.size - 1) + vd ** 2 / (ld.size - 1))
            centre = math.log(estimate)
            half = t975(df) * se
            lo, hi = min(lo, math.exp(centre - half)), max(hi, math.exp(centre + half))
    return Ratio(estimate, lo, hi, n, False,
                 "bootstrap over %d and %d repeats" % (num.size, den.size))


def mean_interval(values: Sequence[float]) -> Tuple[float, float, float]:
    """Mean of per-repeat values with a t interval (for error bars); (m, m, m) for one."""
    arr = np.asarray(values, dtype=float)
    m = float(arr.mean())
    if arr.size < 2:
        return m, m, m
    half = t975(arr.size - 1) * float(arr.std(ddof=1)) / math.sqrt(arr.size)
    return m, m - half, m + half
