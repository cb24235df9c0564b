"""Pure functions of the deployment phases: capacity search, scaling and balance verdicts,
CDN verdict, capacity planning, the /metrics scraper's arithmetic."""

from __future__ import annotations

import math
from typing import Dict, List, Optional

import pytest

from perflab.cdn import CdnResult
from perflab.scaling import ScalingConfig, ScalingResult, SearchRecord, budget_plan, search_capacity
from perflab.scrape import bucket_quantile, parse, window
from reports.cdn import cdn_effect
from reports.planning import VariantCapacity, capacity_plan, instances_needed, per_instance_rate
from reports.scaling import balance_table, bracketed_ratio, scaling_table
from reports.verdicts import CONFIRMED, INCONCLUSIVE, NOT_CONFIRMED, NOT_JUDGED, PARTIAL


def fake_probe(capacity: float, limited_above: float = math.inf):
    def probe(rate: float) -> Dict:
        return {"pass": rate <= min(capacity, limited_above),
                "generator_limited": rate > limited_above}
    return probe


def test_search_steps_up_then_bisects() -> None:
    s = search_capacity(fake_probe(100), 30, 2.0, 4000, 2, 60)
    assert [p["rate"] for p in s.probes][:3] == [30, 60, 120]
    assert s.bound == "bracketed" and s.capacity_rps is not None and s.fail_rps is not None
    assert s.capacity_rps <= 100 < s.fail_rps and s.fail_rps / s.capacity_rps < 1.2


def test_search_steps_down_when_the_first_probe_fails() -> None:
    s = search_capacity(fake_probe(40), 100, 2.0, 4000, 0, 60)
    assert s.capacity_rps == 25.0 and s.fail_rps == 50.0 and s.bound == "bracketed"


def test_a_generator_limited_failure_is_a_lower_bound() -> None:
    s = search_capacity(fake_probe(1000, limited_above=100), 30, 2.0, 4000, 2, 60)
    assert s.generator_limited and s.bound == "lower" and s.capacity_rps == 60


def test_search_without_a_failure_is_a_lower_bound() -> None:
    s = search_capacity(fake_probe(1e9), 30, 2.0, 200, 1, 60)
    assert s.bound == "lower" and s.fail_rps is None


def result(caps: Dict[int, List[tuple]],
           shares: Optional[Dict[int, List[List[float]]]] = None) -> ScalingResult:
    shares = shares or {}
    searches = []
    for n, per_repeat in caps.items():
        for r, (lo, hi) in enumerate(per_repeat, 1):
            sh = shares.get(n, [[1.0 / n] * n] * len(per_repeat))[r - 1]
            probe = {"rate": lo, "pass": True, "instances": [
                {"share": x, "cpu_of_budget": 0.5} for x in sh]}
            searches.append(SearchRecord(n, r, lo, "bracketed", hi, False, (probe,)))
    return ScalingResult({}, {"mechanism": "cgroup-v1", "cpus_per_instance": 0.3}, "+x",
                         tuple(searches))


def test_linear_scaling_is_confirmed_and_sublinear_is_not() -> None:
    linear = result({1: [(100, 105)] * 3, 2: [(200, 210)] * 3, 3: [(300, 315)] * 3})
    rows = {r.instances: r for r in scaling_table(linear)}
    assert rows[1].verdict == NOT_JUDGED
    assert rows[3].verdict == CONFIRMED and rows[3].efficiency is not None
    assert rows[3].efficiency.low is not None and rows[3].efficiency.low < 1.0
    flat = result({1: [(100, 105)] * 3, 2: [(110, 115)] * 3})
    assert {r.instances: r for r in scaling_table(flat)}[2].verdict == NOT_CONFIRMED


def test_coarse_brackets_widen_the_interval() -> None:
    coarse = result({1: [(85, 120)] * 2, 2: [(170, 240)] * 2})
    eff = bracketed_ratio(coarse, 2, 2.0)
    assert eff is not None and eff.low is not None and eff.high is not None
    assert eff.low <= 85 * 2 / 240 + 1e-9 and eff.high >= 240 / 170 - 1e-9
    # speed-up [1.42, 2.82]: better than one instance, overlapping the claimed 1.8..2
    assert {r.instances: r for r in scaling_table(coarse)}[2].verdict == PARTIAL


def test_balance_spread_and_its_verdict() -> None:
    even = result({1: [(10, 12)] * 2, 2: [(20, 24)] * 2},
                  {2: [[0.5, 0.5], [0.502, 0.498]]})
    row = balance_table(even)[0]
    assert row.verdict == CONFIRMED and row.spread is not None and row.spread[0] < 1.01
    skew = result({1: [(10, 12)] * 2, 2: [(20, 24)] * 2}, {2: [[0.7, 0.3], [0.69, 0.31]]})
    assert balance_table(skew)[0].verdict == NOT_CONFIRMED


def test_budget_plan_prefers_cores_and_says_why_it_cannot() -> None:
    cfg = ScalingConfig(instances=(1, 2, 3))
    cores = budget_plan(cfg, [0, 1, 2, 3])
    assert cores.mechanism == "cores" and cores.instance_cpus == ((0,), (1,), (2,))
    assert cores.generator_cpus == (3,)
    one = budget_plan(cfg, [0])
    assert one.mechanism is None and "one CPU" in one.reason
    assert budget_plan(ScalingConfig(mechanism="cores"), [0, 1]).mechanism is None


def cdn(on: List[float], off: List[float]) -> CdnResult:
    runs = [{"repeat": i, "cache": True, "p50_ms": v, "hit_ratio": 0.6, "error_rate": 0.0}
            for i, v in enumerate(on, 1)]
    runs += [{"repeat": i, "cache": False, "p50_ms": v, "error_rate": 0.0}
             for i, v in enumerate(off, 1)]
    return CdnResult({}, tuple(runs), (1,))


def test_cdn_verdict_against_the_claim() -> None:
    assert cdn_effect(cdn([1.0, 1.1, 0.9], [4.0, 4.2, 3.9])).verdict == CONFIRMED
    # ratio ~0.96: the interval holds 1 and excludes the claimed <= 0.4 (not inconclusive)
    assert cdn_effect(cdn([1.8, 1.7, 2.0], [1.9, 1.9, 1.85])).verdict == NOT_CONFIRMED
    # a wide interval covering both no effect and the claim is inconclusive
    assert cdn_effect(cdn([0.5, 2.5, 1.0], [2.0, 2.0, 2.0])).verdict == INCONCLUSIVE
    v = cdn_effect(cdn([1.0], []))
    assert v.verdict == NOT_JUDGED and v.hit_ratio is not None


def test_planning_needs_more_instances_for_bigger_tiers() -> None:
    v = VariantCapacity("a", (100.0, 90.0, 110.0), cpu_s_per_request=0.002, cpu_budget=1.0)
    assert per_instance_rate(v, 100.0) == (100.0, "P95 < 200 ms")
    cpu_bound = VariantCapacity("b", (500.0, 450.0, 550.0), 0.002, 1.0)
    assert per_instance_rate(cpu_bound, 500.0) == (pytest.approx(300.0), "CPU < 60%")
    rows = capacity_plan([v], (0.9, 0.8, 1.0))
    by_tier = {r.tier_per_min: r for r in rows}
    assert by_tier[1000].instances == 1  # 16.7 req/s
    assert by_tier[100_000].instances == math.ceil(100_000 / 60 / (0.9 * 100))
    assert by_tier[100_000].instances_pessimistic == math.ceil(100_000 / 60 / (0.8 * 90))
    assert instances_needed(10.0, 0.0, 1.0) is None


def test_bucket_quantile_interpolates_like_prometheus() -> None:
    cum = {0.01: 50.0, 0.1: 100.0, math.inf: 100.0}
    assert bucket_quantile(0.5, cum) == pytest.approx(0.01)
    assert bucket_quantile(0.75, cum) == pytest.approx(0.055)
    assert bucket_quantile(0.5, {math.inf: 0.0}) is None


def test_window_is_the_difference_of_two_scrapes() -> None:
    text = ('# TYPE perflab_http_requests_total counter\n'
            'perflab_http_requests_total{{method="POST",route="/api/chat",status="200"}} {n}\n'
            '# TYPE perflab_http_request_duration_seconds histogram\n'
            'perflab_http_request_duration_seconds_bucket{{method="POST",route="/api/chat",'
            'status="200",le="0.01"}} {a}\n'
            'perflab_http_request_duration_seconds_bucket{{method="POST",route="/api/chat",'
            'status="200",le="+Inf"}} {n}\n'
            'perflab_http_request_duration_seconds_count{{method="POST",route="/api/chat",'
            'status="200"}} {n}\n'
            'perflab_http_request_duration_seconds_sum{{method="POST",route="/api/chat",'
            'status="200"}} 1.0\n')
    w = window(parse(text.format(n=10, a=10)), parse(text.format(n=30, a=20)))
    chat = w["POST /api/chat"]
    assert chat.requests == 20 and chat.by_status == {"200": 20}
    assert chat.quantiles_ms["p50"] == pytest.approx(10.0)  # 10 of 20 in the first bucket


def test_checklist_statements_are_effects_without_a_claim() -> None:
    from perflab.checklist import ChecklistResult
    from reports.checklist import statements

    blocks = tuple({"repeat": r,
                    "batching": {"batch": {"messages_per_s": 1000.0 + r},
                                 "single": {"messages_per_s": 650.0 - r}},
                    "pooling": {"a": {"p50_ms": 2.0}, "b": {"p50_ms": 2.0 + 0.01 * r}}}
                   for r in (1, 2, 3))
    by = {s.item: s for s in statements(ChecklistResult({}, blocks, {}))}
    assert by["batching"].verdict == "better" and by["batching"].ratio is not None
    assert by["batching"].ratio.estimate > 1.5
    assert by["pooling"].verdict == "no measurable effect"  # within 1%
    assert by["gzip bytes"].verdict == "not judged"  # not measured


def test_plan_formats_with_its_assumptions() -> None:
    from reports.planning import ASSUMPTIONS, format_plan

    eff = (0.95, 0.8, 1.0)
    v = VariantCapacity("a", (100.0, 90.0, 110.0), 0.002)
    lines = format_plan(capacity_plan([v], eff), eff, {"efficiency": "N=3"})
    assert "1,000 req/min" in lines[2] and ASSUMPTIONS[0] in lines[-2]
