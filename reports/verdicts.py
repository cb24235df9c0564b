"""Effects of optimisations and the guide's claims, judged: pure functions over a run.

An *effect* is the ratio of one variant's metric to another's, with its 95%
interval. Within a run the two variants are measured in the same blocks (the
same arrival schedule and messages, interleaved), so the ratio is the
geometric mean of paired block ratios with the ``stats.nested_mean`` interval
(blocks nested in processes); across runs, the unpaired ``ratio_of_means``.

A claim is judged on the *improvement factor* (the ratio for higher-is-better
metrics, its inverse for lower-is-better ones), interval [L, U], against the
claim's weakest end W (``Claim.improvement_range()[0]``). Every verdict says
what its interval excludes:

- no interval (one value)               -> insufficient data
- U < 1                                 -> worse (excludes no effect and the claim)
- [L, U] inside 0.99..1.01              -> not confirmed: no measurable effect (< 1%)
- L >= W                                -> confirmed (at or above the claim's weakest end)
- U < W                                 -> not confirmed (excludes the claim); the note
                                           says "no measurable effect" when 1 is inside
- L <= 1 and U >= W                     -> inconclusive: covers both no effect and the claim
- 1 < L < W <= U                        -> partial: better, the claim neither shown nor
                                           excluded

An effect the guide makes no claim on is better, worse or "no measurable
effect" (the interval holds 1; the note gives the largest change it leaves
open). Figures from skipped variants, failed runs or a saturated load
generator are ``not judged``, with the reason. Nothing defaults to a verdict
the data do not give.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from perflab.catalogue import BY_NAME, Claim

from .data import RunData
from .metrics import METRIC_SPECS, MetricSample, metric_sample
from .stats import Ratio, nested_ratio, ratio_of_means

CONFIRMED = "confirmed"
PARTIAL = "partial"
NOT_CONFIRMED = "not confirmed"
WORSE = "worse"
INCONCLUSIVE = "inconclusive"
NOT_JUDGED = "not judged"
INSUFFICIENT = "insufficient data"
BETTER = "better"  # an effect without a claim, measurably better
NO_EFFECT = "no measurable effect"  # an effect without a claim whose interval holds 1
VERDICTS = (CONFIRMED, PARTIAL, NOT_CONFIRMED, WORSE, INCONCLUSIVE, BETTER, NO_EFFECT,
            INSUFFICIENT, NOT_JUDGED)

PRACTICAL_FLOOR = 0.01  # a change under 1% is "no measurable effect" whatever the test says
EFFECT_METRICS = ("p50_ms", "p95_ms", "capacity_rps", "peak_rps", "rss_peak_mb")
AA_METRICS = ("p50_ms", "p95_ms", "capacity_rps", "peak_rps", "rss_peak_mb", "order_p50_ms",
              "classify_rate")


@dataclass(frozen=True)
class Effect:
    """``numerator`` / ``denominator`` for one metric, over repeats."""

    numerator: str  # the variant with the optimisation (or the new run)
    denominator: str  # the variant without it
    metric: str
    lower_is_better: bool
    ratio: Optional[Ratio]
    reason: str  # why there is no ratio ("" when there is)
    load_model: str
    notes: Tuple[str, ...] = ()
    missing: str = ""  # bare reason code: skipped | generator-limited | failed | no data ...

    @property
    def label(self) -> str:
        return "%s vs %s" % (self.numerator, self.denominator)

    def improvement(self) -> Optional[Tuple[float, Optional[float], Optional[float]]]:
        """(estimate, low, high) as an improvement factor (>1 is better)."""
        r = self.ratio
        if r is None:
            return None
        if not self.lower_is_better:
            return r.estimate, r.low, r.high
        return 1.0 / r.estimate if r.estimate > 0 else float("inf"), _inv(r.high), _inv(r.low)


def _inv(x: Optional[float]) -> Optional[float]:
    if x is None:
        return None
    return float("inf") if x <= 0 else 1.0 / x


@dataclass(frozen=True)
class Judged:
    """An effect with its verdict; ``claim`` is None for effects the guide makes no claim on."""

    effect: Effect
    verdict: str
    note: str
    toggle: Optional[str] = None
    claim: Optional[Claim] = None
    role: str = "single"  # single | leave_one_out | aa | effect

    @property
    def variant(self) -> str:
        return self.effect.numerator if self.role != "leave_one_out" else self.effect.denominator


def _repeat_notes(a: MetricSample, b: MetricSample) -> Tuple[str, ...]:
    notes = []
    for s in (a, b):
        gone = sorted({(k, why) for k, why in s.excluded if k not in s.values})
        if gone:
            notes.append("%s: repeat %s left out (%s)" % (
                s.variant, ", ".join(str(k) for k, _ in gone),
                ", ".join(sorted({w for _, w in gone}))))
    return tuple(notes)


def effect(run: RunData, numerator: str, denominator: str, metric: str,
           other: Optional[RunData] = None) -> Effect:
    """The ratio numerator/denominator of ``metric``; ``other`` holds the denominator when
    it comes from another run (then repeats are not paired)."""
    spec = METRIC_SPECS[metric]
    den_run = other if other is not None else run
    for name, r in ((numerator, run), (denominator, den_run)):
        if name in r.skipped:
            return Effect(numerator, denominator, metric, spec.lower_is_better, None,
                          "%s skipped: %s" % (name, r.skipped[name] or "no reason given"),
                          "-", missing="skipped")
    a = metric_sample(run, numerator, metric)
    b = metric_sample(den_run, denominator, metric)
    models = "+".join(dict.fromkeys(a.load_models + b.load_models)) or "-"
    notes = _repeat_notes(a, b)
    for s in (a, b):
        if not s.values:
            return Effect(numerator, denominator, metric, spec.lower_is_better, None,
                          "%s: %s" % (s.variant, s.reason), models, missing=s.reason)
    ratio: Optional[Ratio] = None
    if other is None and set(a.blocks) & set(b.blocks):
        ratio = nested_ratio(a.blocks, b.blocks)
    if ratio is None:
        ratio = ratio_of_means(a.values, b.values, paired=other is None)
    reason = "" if ratio is not None else "no ratio (zero %s)" % metric
    return Effect(numerator, denominator, metric, spec.lower_is_better, ratio, reason,
                  models, notes)


def _fmt(x: float) -> str:
    return "%.3gx" % x


def judge(improvement: Optional[Tuple[float, Optional[float], Optional[float]]],
          claim_range: Optional[Tuple[float, float]] = None,
          n: int = 0, lower_is_better: bool = False) -> Tuple[str, str]:
    """(verdict, note) for an improvement factor (estimate, low, high); see the module.

    Notes give the interval as the ratio the tables show (new / old), so for a
    lower-is-better metric the claim reads "<= 0.7x" and the interval is inverted."""
    if improvement is None:
        return NOT_JUDGED, "no figure"
    _, low, high = improvement
    if low is None or high is None:
        return INSUFFICIENT, "%d value%s: no interval" % (max(n, 1), "" if n <= 1 else "s")
    if lower_is_better:
        span = "ratio interval [%s, %s]" % (_fmt(_inv(high) or 0.0), _fmt(_inv(low) or 0.0))
    else:
        span = "ratio interval [%s, %s]" % (_fmt(low), _fmt(high))
    holds_one = low <= 1 <= high
    within_floor = low >= 1 - PRACTICAL_FLOOR and high <= 1 + PRACTICAL_FLOOR
    if claim_range is None:
        if within_floor:
            return NO_EFFECT, "%s: within ±1%%" % span
        if high < 1:
            return WORSE, "measurably worse: %s excludes no effect" % span
        if low > 1:
            return BETTER, "measurably better: %s excludes no effect" % span
        lo_c, hi_c = ((_inv(high) or 0.0, _inv(low) or 0.0) if lower_is_better
                      else (low, high))
        return NO_EFFECT, ("%s holds no effect; it excludes a change beyond %+.1f%% / "
                           "%+.1f%%" % (span, 100 * (lo_c - 1), 100 * (hi_c - 1)))
    weakest, _strongest = claim_range
    claim = ("the claim (<= %s)" % _fmt(_inv(weakest) or 0.0) if lower_is_better
             else "the claim (>= %s)" % _fmt(weakest))
    if high < 1:
        return WORSE, "measurably worse: %s excludes no effect and %s" % (span, claim)
    if within_floor:
        return NOT_CONFIRMED, "no measurable effect: %s within ±1%%, excludes %s" % (
            span, claim)
    if low >= weakest:
        return CONFIRMED, "%s meets the claim's weakest end (%s)" % (
            span, claim[len("the claim ("):-1])
    if high < weakest:
        if holds_one:
            return NOT_CONFIRMED, "no measurable effect: %s holds 1 and excludes %s" % (
                span, claim)
        return NOT_CONFIRMED, "better, but short of the claim: %s excludes %s" % (span, claim)
    if holds_one:
        return INCONCLUSIVE, "%s covers both no effect and %s" % (span, claim)
    return PARTIAL, "better; %s reaches %s but does not exclude less" % (span, claim)


def judge_effect(e: Effect, claim: Optional[Claim] = None) -> Tuple[str, str]:
    """Verdict for an effect; reasons it cannot be judged come first."""
    if e.ratio is None:
        return NOT_JUDGED, e.reason or "no figure"
    rng = claim.improvement_range() if claim is not None else None
    return judge(e.improvement(), rng, e.ratio.n, e.lower_is_better)


def run_claims(run: RunData) -> Dict[str, Claim]:
    """toggle -> Claim, from run.json (the catalogue as it was), else the catalogue."""
    out: Dict[str, Claim] = {}
    for name, t in BY_NAME.items():
        if t.claim is not None:
            out[name] = t.claim
    for name, d in run.meta.claims.items():
        if d:
            out[name] = Claim(str(d["metric"]), float(d["low"]), float(d["high"]),
                              str(d.get("text", "")), bool(d["lower_is_better"]))
    return out


def _pair(run: RunData, variant: str) -> Optional[Tuple[str, str, str]]:
    """(numerator, denominator, role) for a variant compared with another, else None."""
    info = run.variant_info(variant)
    kind, other = info.get("kind"), info.get("compare_to")
    if not other:
        return None
    if kind == "leave_one_out":  # the toggle's effect: optimised / optimised-X
        return str(other), variant, "leave_one_out"
    return variant, str(other), "aa" if kind == "aa" else "single"


def claims(run: RunData) -> List[Judged]:
    """One judged row per variant the guide makes a claim for, plus claims not in the plan."""
    known = run_claims(run)
    out: List[Judged] = []
    seen = set()
    for name in run.variant_names(include_aa=False):
        info = run.variant_info(name)
        toggle = info.get("toggle")
        pair = _pair(run, name)
        if not toggle or toggle not in known or pair is None:
            continue
        if info.get("kind") not in ("single", "leave_one_out"):
            continue
        claim = known[toggle]
        num, den, role = pair
        e = effect(run, num, den, claim.metric)
        verdict, note = judge_effect(e, claim)
        out.append(Judged(e, verdict, note, toggle, claim, role))
        seen.add(toggle)
    order = {name: i for i, name in enumerate(BY_NAME)}
    out.sort(key=lambda j: (order.get(j.toggle or "", 99), j.role != "single",
                            j.effect.label))
    for toggle, claim in known.items():
        if toggle not in seen:
            e = Effect("+" + toggle, "baseline", claim.metric, claim.lower_is_better, None,
                       "not in the plan", "-", missing="not in the plan")
            out.append(Judged(e, NOT_JUDGED, "not in the plan", toggle, claim, "single"))
    return out


def noise_floor(run: RunData) -> List[Judged]:
    """A/A pairs (``NAME@aa`` vs NAME) on every metric: they should show no effect."""
    out: List[Judged] = []
    for name in run.variant_names():
        if run.kind(name) != "aa":
            continue
        pair = _pair(run, name)
        if pair is None:
            continue
        for metric in AA_METRICS:
            e = effect(run, pair[0], pair[1], metric)
            if e.ratio is None and e.missing == "no data":
                continue
            verdict, note = judge_effect(e)
            out.append(Judged(e, verdict, note, None, None, "aa"))
    return out


def noise_halfwidth(judged: List[Judged]) -> Dict[str, float]:
    """metric -> the widest A/A interval's distance from 1 (as a fraction)."""
    out: Dict[str, float] = {}
    for j in judged:
        r = j.effect.ratio
        if r is None or not r.has_interval:
            continue
        assert r.low is not None and r.high is not None
        half = max(abs(1 - r.low), abs(r.high - 1))
        out[j.effect.metric] = max(out.get(j.effect.metric, 0.0), half)
    return out


def effects(run: RunData) -> List[Judged]:
    """Every variant against what it is compared with, on the main metrics (unclaimed)."""
    out: List[Judged] = []
    for name in run.variant_names(include_aa=False):
        pair = _pair(run, name)
        if pair is None:
            continue
        num, den, role = pair
        for metric in EFFECT_METRICS:
            e = effect(run, num, den, metric)
            if e.ratio is None and e.missing == "no data":
                continue
            verdict, note = judge_effect(e)
            out.append(Judged(e, verdict, note, run.variant_info(name).get("toggle"), None,
                              role))
    return out
