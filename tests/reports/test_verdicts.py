"""Every claim of the synthetic run comes out with the verdict its known effect implies."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports.analysis import analyse_dir
from reports.data import load_run
from reports.verdicts import (
    INSUFFICIENT,
    NO_EFFECT,
    NOT_JUDGED,
    claims,
    effect,
    effects,
    judge_effect,
    noise_floor,
)

from .fake_run import EXPECTED_CLAIMS, make_run


def _by_variant(run_dir: Path) -> dict:
    return {j.variant: j for j in claims(load_run(run_dir))}


def test_each_claim_gets_its_known_verdict(fake_run: Path) -> None:
    got = _by_variant(fake_run)
    assert {v: got[v].verdict for v in EXPECTED_CLAIMS} == EXPECTED_CLAIMS


def test_claim_figures(fake_run: Path) -> None:
    got = _by_variant(fake_run)
    redis = got["+redis_cache"].effect
    assert redis.metric == "p50_ms" and redis.load_model == "open"
    assert redis.ratio is not None and redis.ratio.n == 5
    assert redis.ratio.estimate == pytest.approx(0.65, rel=0.03)
    loo = got["optimised-redis_cache"].effect  # the toggle's effect within "optimised"
    assert (loo.numerator, loo.denominator) == ("optimised", "optimised-redis_cache")
    assert loo.ratio is not None and loo.ratio.estimate == pytest.approx(0.8, rel=0.03)
    assert got["+regex_precompile"].effect.load_model == "in-process"
    assert got["+order_index"].effect.metric == "order_p50_ms"


def test_unjudgeable_figures_say_why(fake_run: Path) -> None:
    got = _by_variant(fake_run)
    assert got["+instances"].effect.missing == "skipped"
    assert "cores>=3" in got["+instances"].effect.reason
    assert got["+redis_cache:tiered"].effect.missing == "generator-limited"
    # one saturated capacity row is left out, the rest still judged
    asy = got["+async"]
    assert asy.effect.ratio is not None and asy.effect.ratio.n == 4
    assert any("repeat 3 left out (generator-limited)" in n for n in asy.effect.notes)


def test_claims_not_in_the_plan_are_listed(tmp_path: Path) -> None:
    run = make_run(tmp_path, repeats=3, specs={"baseline": {}, "+redis_cache": {
        "latency": 0.65}}, skipped={})
    got = {j.toggle: j for j in claims(load_run(run))}
    assert got["redis_cache"].verdict == "confirmed" or got["redis_cache"].verdict == "partial"
    assert got["async"].verdict == NOT_JUDGED and got["async"].note == "not in the plan"


def test_aa_pair_shows_no_effect(fake_run: Path) -> None:
    noise = noise_floor(load_run(fake_run))
    assert {j.effect.metric for j in noise} >= {"p50_ms", "capacity_rps", "rss_peak_mb"}
    assert all(j.verdict == NO_EFFECT for j in noise), [
        (j.effect.metric, j.effect.ratio) for j in noise]
    assert all(j.effect.ratio is not None and j.effect.ratio.n == 5 for j in noise)


def test_one_repeat_is_never_significant(tmp_path: Path) -> None:
    run = load_run(make_run(tmp_path, repeats=1))
    got = {j.variant: j for j in claims(run)}
    for v in ("+redis_cache", "+async", "+regex_precompile", "+pypy"):
        assert got[v].verdict == INSUFFICIENT
        assert got[v].note == "1 value: no interval"
        r = got[v].effect.ratio
        assert r is not None and not r.has_interval
    assert got["+redis_cache"].effect.ratio.estimate == pytest.approx(0.65, rel=0.05)


def test_checklist_toggles_are_measured_not_judged(fake_run: Path) -> None:
    eff = [j for j in effects(load_run(fake_run)) if j.effect.numerator == "+gzip"]
    assert {j.effect.metric for j in eff} == {"p50_ms", "p95_ms", "capacity_rps",
                                             "peak_rps", "rss_peak_mb"}
    assert all(j.claim is None for j in eff)
    p50 = next(j for j in eff if j.effect.metric == "p50_ms")
    assert any("repeat 2 left out (failed)" in n for n in p50.effect.notes)


def test_analysis_noise_halfwidth(fake_run: Path) -> None:
    a = analyse_dir(fake_run)
    half = a.noise_halfwidth
    assert 0 < half["p50_ms"] < 0.1
    assert {r.variant for r in a.failed_rows} == {"+gzip"}
    assert {r.variant for r in a.saturated_rows} == {"+redis_cache:tiered", "+async"}


def test_a_capacity_lower_bound_is_never_judged(tmp_path: Path) -> None:
    """A search that ran out of time before any probe failed only bounds capacity below."""
    import dataclasses

    from perflab.results import ROW_COLUMNS, CsvAppender, read_rows

    run = make_run(tmp_path, repeats=3, specs={"baseline": {}, "+async": {"capacity": 3.5}})
    rows = read_rows(run)
    (run / "results.csv").unlink()
    out = CsvAppender(run / "results.csv", ROW_COLUMNS)
    for r in rows:
        if r.variant == "+async" and r.measurement == "capacity":
            r = dataclasses.replace(r, capacity_bound="lower")
        out.append(r)
    out.close()
    got = effect(load_run(run), "+async", "baseline", "capacity_rps")
    assert got.ratio is None and judge_effect(got)[0] == NOT_JUDGED
    assert "lower bound" in got.reason
