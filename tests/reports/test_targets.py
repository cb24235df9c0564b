"""Targets: parsing k6-style expressions, the guide's file, PASS/FAIL per variant."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports.data import load_run
from reports.targets import (
    DEFAULT_TARGETS,
    evaluate,
    load_targets,
    parse_target,
)


@pytest.mark.parametrize("expr,metric,op,value", [
    ("p95 < 200", "p95", "<", 200.0),
    ("p(99)<20", "p99", "<", 20.0),
    ("p(99.9) <= 1s", "p999", "<=", 1000.0),
    ("P50_ms < 50ms", "p50", "<", 50.0),
    ("error_rate < 2%", "error_rate", "<", 2.0),
    ("sustained_rpm >= 1,000", "sustained_rpm", ">=", 1000.0),
    ("classify_rate > 100", "classify_rps", ">", 100.0),
    ("rss < 500MB", "rss_mb", "<", 500.0),
])
def test_parse(expr: str, metric: str, op: str, value: float) -> None:
    t = parse_target(expr)
    assert (t.metric, t.op, t.value) == (metric, op, value)


@pytest.mark.parametrize("expr", ["p95", "latency < 5", "p95 < 5 parsecs", "p95 ~ 5"])
def test_parse_rejects(expr: str) -> None:
    with pytest.raises(ValueError):
        parse_target(expr)


def test_the_guides_targets() -> None:
    targets = {t.metric: (t.op, t.value) for t in load_targets(DEFAULT_TARGETS)}
    assert targets == {"p50": ("<", 50), "p95": ("<", 200), "p99": ("<", 500),
                       "error_rate": ("<", 2), "rss_mb": ("<", 500), "cpu_pct": ("<", 60),
                       "sustained_rpm": (">=", 1000), "peak_rpm": (">=", 5000),
                       "classify_rps": (">", 100)}


def _statuses(run_dir: Path, variant: str) -> dict:
    run = load_run(run_dir)
    return {r.target.metric: (r.status, r.value)
            for r in evaluate(run, variant, load_targets())}


def test_pass_and_fail(fake_run: Path) -> None:
    base = _statuses(fake_run, "baseline")
    assert {k: s for k, (s, _) in base.items()} == {
        "p50": "PASS", "p95": "PASS", "p99": "FAIL", "error_rate": "PASS", "rss_mb": "PASS",
        "cpu_pct": "PASS", "sustained_rpm": "PASS", "peak_rpm": "PASS",
        "classify_rps": "PASS"}
    assert base["p50"][1] == pytest.approx(40, rel=0.05)
    assert base["sustained_rpm"][1] == pytest.approx(3000, rel=0.05)
    assert base["error_rate"][1] == pytest.approx(0.4, abs=0.2)
    redis = _statuses(fake_run, "+redis_cache")
    assert all(s == "PASS" for s, _ in redis.values()), redis
    pypy = _statuses(fake_run, "+pypy")
    assert pypy["rss_mb"][0] == "FAIL" and pypy["rss_mb"][1] == pytest.approx(660, rel=0.06)


def test_unjudged_statuses(fake_run: Path) -> None:
    tiered = _statuses(fake_run, "+redis_cache:tiered")
    assert tiered["p50"] == ("LIMITED", None)
    assert tiered["peak_rpm"][0] == "LIMITED"  # faster rates were generator-limited
    assert tiered["rss_mb"][0] == "PASS"
    assert all(s == "SKIPPED" for s, _ in _statuses(fake_run, "+instances").values())


def test_route_target(fake_run: Path, tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text('[[target]]\nname = "orders"\nexpr = "p(99) < 20"\n'
                    'route = "GET /api/orders/{id}"\n'
                    '[[target]]\nexpr = "p50 < 1"\nroute = "GET /nowhere"\n')
    results = evaluate(load_run(fake_run), "baseline", load_targets(path))
    assert results[0].status == "FAIL" and results[0].value == pytest.approx(25, rel=0.1)
    assert results[1].status == "N/A"


def test_targets_the_plan_does_not_measure_for_a_variant_are_not_planned(tmp_path) -> None:
    """classify_for / peak_for name who is measured: the others' targets are N/A, never
    a missing figure that blocks `check`."""
    from perflab.results import RunMeta
    from reports.data import load_run
    from reports.targets import load_targets, planned

    from .fake_run import make_run

    run_dir = make_run(tmp_path, repeats=2)
    meta = RunMeta.load(run_dir)
    meta.plan.update({"classify_messages": 1000, "classify_for": ["baseline"],
                      "peak_for": ["+async"], "capacity": {"enabled": False},
                      "locust_users": 0})
    meta.save(run_dir)
    run = load_run(run_dir)
    by = {t.metric: t for t in load_targets(None)}
    assert planned(run, "baseline", by["classify_rps"])
    assert not planned(run, "+async", by["classify_rps"])
    assert planned(run, "+async", by["peak_rpm"])
    assert not planned(run, "baseline", by["peak_rpm"])
