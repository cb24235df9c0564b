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
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

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


# --------------------------------------------------------------- blocks nested in processes
@dataclass(frozen=True)
class NestedMean:
    """The mean of values measured in blocks nested in processes, with its 95% interval.

    Keys are ``(process, block)``: ``process`` is the repeat (a fresh service process
    per repeat), ``block`` one short measurement window inside it. The interval puts
    the repetition where the variance is (Kalibera & Jones 2013): a one-way ANOVA
    splits the variance between processes from the variance between blocks, and

    - when the process means differ more than their blocks explain (F test, p <= 0.25,
      Bancroft's pooling level), the processes are the unit: a t interval over the
      process means, df = processes - 1;
    - otherwise the blocks are pooled: the Hodges-Lehmann estimate (median of the Walsh
      averages) with its Wilcoxon signed-rank interval over every block. Distribution-
      free: one block hit by a neighbour's burst on this shared machine moves it little,
      where it would widen a t interval for every comparison of the run (seen in the
      quick plan: one outlying block in twelve doubled the A/A p50 half-width). With
      fewer than 6 blocks, a t interval (df = blocks - 1).

    One process gives a block-level interval and says that process-to-process
    variance was not measured; one value gives no interval.
    """

    mean: float
    low: Optional[float]
    high: Optional[float]
    n: int  # values (blocks)
    groups: int  # processes
    df: int
    level: str  # "process" | "block" | "single-process" | "none"
    between_share: Optional[float]  # estimated share of the variance between processes

    @property
    def has_interval(self) -> bool:
        return self.low is not None and self.high is not None

    def describe(self) -> str:
        if self.level == "none":
            return "1 value: no interval"
        if self.level == "process":
            return ("t over %d process means (process-to-process variance dominates), "
                    "df %d" % (self.groups, self.df))
        how = "signed-rank" if self.n >= MIN_SIGNED_RANK else "t"
        if self.level == "block":
            return ("%s interval over %d blocks pooled from %d processes (no "
                    "process-to-process variance detected)" % (how, self.n, self.groups))
        return ("%s interval over %d blocks of one process (process variance not measured)"
                % (how, self.n))


POOLING_P = 0.25


def nested_mean(values: Mapping[Tuple[int, int], float], level: float = LEVEL) -> NestedMean:
    """``NestedMean`` of ``values`` ({(process, block): value}); see the class."""
    from scipy import stats as sps

    groups: Dict[int, List[float]] = {}
    for (g, _), x in sorted(values.items()):
        if math.isfinite(x):
            groups.setdefault(g, []).append(float(x))
    flat = [x for xs in groups.values() for x in xs]
    n, k = len(flat), len(groups)
    if n == 0:
        return NestedMean(float("nan"), None, None, 0, 0, 0, "none", None)
    grand = float(np.mean(flat))
    if n < 2:
        return NestedMean(grand, None, None, n, k, 0, "none", None)
    q = 1 - (1 - level) / 2
    means = [float(np.mean(xs)) for xs in groups.values()]
    within_df = n - k
    ss_within = sum(float(np.sum((np.asarray(xs) - np.mean(xs)) ** 2))
                    for xs in groups.values())
    share: Optional[float] = None
    use_process = False
    if k >= 2 and within_df >= 1:
        ms_between = sum(len(xs) * (m - grand) ** 2
                         for xs, m in zip(groups.values(), means)) / (k - 1)
        ms_within = ss_within / within_df
        n0 = n / k
        comp = max(0.0, (ms_between - ms_within) / n0)
        total = comp + ms_within
        share = comp / total if total > 0 else 0.0
        if ms_within <= 0:
            use_process = ms_between > 0
        else:
            p = float(sps.f.sf(ms_between / ms_within, k - 1, within_df))
            use_process = p <= POOLING_P
    elif k >= 2:  # one value per process: the processes are the only unit
        use_process = True
    if use_process:
        df = k - 1
        se = float(np.std(means, ddof=1)) / math.sqrt(k)
        centre, lvl = float(np.mean(means)), "process"
    else:
        df = n - 1
        lvl = "block" if k >= 2 else "single-process"
        robust = signed_rank_interval(flat, level)
        if robust is not None:
            return NestedMean(robust[0], robust[1], robust[2], n, k, df, lvl, share)
        se = float(np.std(flat, ddof=1)) / math.sqrt(n)
        centre = grand
    half = float(sps.t.ppf(q, df)) * se
    return NestedMean(centre, centre - half, centre + half, n, k, df, lvl, share)


MIN_SIGNED_RANK = 6  # below this the signed-rank interval cannot reach 95%


def signed_rank_interval(values: Sequence[float], level: float = LEVEL
                         ) -> Optional[Tuple[float, float, float]]:
    """(Hodges-Lehmann estimate, low, high): the median of the Walsh averages and the
    Wilcoxon signed-rank interval (normal approximation of the rank-sum's spread, whose
    order statistics bound the interval). None with fewer than MIN_SIGNED_RANK values."""
    x = np.asarray(values, dtype=float)
    n = x.size
    if n < MIN_SIGNED_RANK:
        return None
    i, j = np.triu_indices(n)
    walsh = np.sort((x[i] + x[j]) / 2.0)
    m = walsh.size  # n (n + 1) / 2
    z = NormalDist().inv_cdf(1 - (1 - level) / 2)
    k = math.floor(m / 2.0 - z * math.sqrt(n * (n + 1) * (2 * n + 1) / 24.0))
    k = max(k, 0)
    return float(np.median(walsh)), float(walsh[k]), float(walsh[m - 1 - k])


def paired_keys(a: Mapping[Tuple[int, int], float], b: Mapping[Tuple[int, int], float]
                ) -> List[Tuple[int, int]]:
    """Keys both sides measured (common random numbers: the same block seed)."""
    return sorted(set(a) & set(b))


def nested_ratio(numerator: Mapping[Tuple[int, int], float],
                 denominator: Mapping[Tuple[int, int], float]) -> Optional[Ratio]:
    """Geometric mean of paired ratios numerator/denominator over common (process, block)
    keys, with the ``nested_mean`` interval of the log ratios. None without a common
    positive pair."""
    keys = [k for k in paired_keys(numerator, denominator)
            if numerator[k] > 0 and denominator[k] > 0]
    if not keys:
        return None
    logs = {k: math.log(numerator[k] / denominator[k]) for k in keys}
    m = nested_mean(logs)
    low = math.exp(m.low) if m.low is not None else None
    high = math.exp(m.high) if m.high is not None else None
    return Ratio(math.exp(m.mean), low, high, m.n, True, "paired blocks; " + m.describe())


def nested_difference(numerator: Mapping[Tuple[int, int], float],
                      denominator: Mapping[Tuple[int, int], float]) -> Optional[NestedMean]:
    """Mean of paired differences numerator - denominator (for additive known effects)."""
    keys = paired_keys(numerator, denominator)
    if not keys:
        return None
    return nested_mean({k: numerator[k] - denominator[k] for k in keys})
