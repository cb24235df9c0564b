"""Calibration toggles: known effects as data, never part of "optimised"."""

from __future__ import annotations

from perflab.catalogue import CATALOGUE, METRICS, KnownEffect, optimised_env, toggle
from perflab.variants import (
    calibration_variants,
    leave_one_out_variants,
    resolve,
    single_variants,
)
from service.config import ServiceConfig


def test_each_calibration_toggle_carries_its_truth() -> None:
    assert calibration_variants() == ["+inject_latency", "+inject_cpu", "+inject_rss"]
    for name in calibration_variants():
        t = toggle(name[1:])
        assert isinstance(t.known, KnownEffect) and t.known.kind == "difference"
        assert t.known.metric in METRICS and not t.guide and t.claim is None
        v = resolve(name)
        assert v.compare_to == t.reference  # baseline, or +async for the awaited sleep
        # the truth is the amount the service is told to inject (one definition)
        cfg = ServiceConfig.from_env(v.env)
        amount = {"inject_latency": cfg.inject_latency_ms, "inject_cpu": cfg.inject_cpu_ms,
                  "inject_rss": cfg.inject_rss_mb}[t.name]
        assert amount == t.known.truth > 0


def test_calibration_is_never_optimised() -> None:
    assert not ServiceConfig.from_env(optimised_env()).injecting
    assert not ServiceConfig.from_env(resolve("baseline").env).injecting
    assert not set(calibration_variants()) & set(single_variants())
    assert not any("inject" in v for v in leave_one_out_variants())
    assert sum(t.calibration for t in CATALOGUE) == 3


def test_recovered_allows_the_mechanisms_tolerance() -> None:
    k = KnownEffect("p50_ms", 1.0, "ms", tolerance=0.25)
    assert k.recovered(1.15, 1.4) is True  # meets [0.75, 1.25]
    assert k.recovered(1.3, 1.6) is False
    assert k.recovered(-0.2, 0.7) is False
    assert k.recovered(None, 1.0) is None
    assert KnownEffect("rss_peak_mb", 20.0, "MB").recovered(19.92, 19.95) is False
