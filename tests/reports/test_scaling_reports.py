"""Pure functions of the deployment phases: the block design, scaling and balance verdicts
from paired blocks, the CDN verdict and its access-log split, capacity planning from peak,
the /metrics scraper's arithmetic."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Dict, List, Optional

import pytest

from perflab.cdn import CdnResult
from perflab.scaling import (
    ScalingConfig,
    ScalingResult,
    budget_plan,
    instances_of,
    judged,
    peak_schedule,
    planning_schedule,
    set_peaks,
)
from perflab.scrape import bucket_quantile, parse, window
from reports.cdn import cdn_effect
from reports.planning import VariantLoad, capacity_plan, instances_needed, per_instance_rate
from reports.scaling import balance_table, block_ratio, scaling_table
from reports.verdicts import CONFIRMED, INCONCLUSIVE, NOT_CONFIRMED, NOT_JUDGED, PARTIAL


def block(n: int, b: int, served: float, kind: str = "peak", k: int = 1,
          shares: Optional[List[float]] = None, **extra) -> Dict:
    shares = shares if shares is not None else [1.0 / n] * n
    return dict({"set": k, "block": b, "kind": kind, "instances": n, "rate": 1.3 * served,
                 "seed": b, "status": "ok", "served_rps": served, "sent_rps": 1.3 * served,
                 "generator_limited": False, "overloaded": kind == "peak", "window_ok": True,
                 "p95_ms": 50.0, "per_instance": [{"share": x, "cpu_of_budget": 0.95}
                                                  for x in shares]}, **extra)


def result(peaks: Dict[int, List[float]], sets: int = 1, **per_n) -> ScalingResult:
    blocks = []
    for k in range(1, sets + 1):
        for n, values in peaks.items():
            for b, v in enumerate(values, 1):
                blocks.append(block(n, b, v, k=k, **per_n.get(n, {})))
    return ScalingResult({"blocks": 4, "block_s": 1.0, "process_sets": sets,
                          "overload": 1.3, "planning_load": 0.6},
                         {"mechanism": "cgroup-v1", "cpus_per_instance": 0.3}, "+x",
                         blocks=tuple(blocks))


def test_peak_schedule_is_interleaved_with_one_seed_per_block() -> None:
    cfg = ScalingConfig(blocks=5)
    blocks = peak_schedule(cfg, 1, 30.0)
    assert len(blocks) == 15
    by_index: Dict[int, List] = {}
    for b in blocks:
        by_index.setdefault(b.block, []).append(b)
    orders = set()
    for bs in by_index.values():
        assert sorted(instances_of(b) for b in bs) == [1, 2, 3]  # every N once
        assert len({b.seed for b in bs}) == 1  # common random numbers
        assert all(b.rate == pytest.approx(cfg.overload * instances_of(b) * 30.0, abs=0.1)
                   for b in bs)
        orders.add(tuple(instances_of(b) for b in bs))
    assert len(orders) > 1  # shuffled, not one fixed order
    assert len({bs[0].seed for bs in by_index.values()}) == 5  # a new seed per block
    assert peak_schedule(cfg, 1, 30.0) == blocks  # seeded: the same schedule again
    assert peak_schedule(cfg, 2, 30.0) != blocks  # another process set, another order


def test_planning_blocks_run_at_sixty_percent_of_each_peak() -> None:
    blocks = planning_schedule(ScalingConfig(), 1, {1: 30.0, 2: 58.0, 3: 0.0})
    assert {instances_of(b): b.rate for b in blocks} == {1: 18.0, 2: 34.8}  # no peak, no block
    assert len({b.seed for b in blocks}) == 1


def test_judged_blocks_leave_out_limited_and_unsaturated_ones() -> None:
    assert judged(block(1, 1, 30.0))
    assert not judged(block(1, 1, 30.0, generator_limited=True))
    assert not judged(block(1, 1, 30.0, overloaded=False))
    assert not judged(block(1, 1, 30.0, status="failed"))
    assert judged(block(1, 1, 30.0, kind="planning"))  # not an overload: no such test
    r = result({1: [30.0, 31.0], 3: [90.0, 93.0]})
    assert set_peaks(r.blocks, 1) == {1: 30.5, 3: 91.5}


def test_efficiency_is_the_paired_block_ratio() -> None:
    # block 2 is slow for every N (a neighbour): pairing cancels it
    r = result({1: [30.0, 20.0, 30.5, 29.5, 30.0, 31.0],
                3: [88.0, 59.0, 90.0, 87.0, 88.5, 91.5]})
    eff = block_ratio(r, 3, 3.0)
    assert eff is not None and eff.low is not None and eff.high is not None
    assert eff.estimate == pytest.approx(0.98, abs=0.01)
    assert eff.high - eff.low < 0.05
    assert "process variance not measured" in eff.method  # one process set
    two = block_ratio(result({1: [30.0, 31.0, 29.0], 3: [88.0, 93.0, 86.0]}, sets=2), 3, 3.0)
    assert two is not None and "process" in two.method and "not measured" not in two.method
    # an unpaired block (N=1 left out) does not enter the ratio
    lone = result({1: [30.0, 30.0], 3: [88.0, 88.0, 50.0]})
    assert block_ratio(lone, 3, 3.0).n == 2


def test_linear_scaling_is_confirmed_and_sublinear_is_not() -> None:
    linear = result({1: [100, 102, 99, 101], 2: [199, 205, 197, 200],
                     3: [298, 305, 297, 303]})
    rows = {r.instances: r for r in scaling_table(linear)}
    assert rows[1].verdict == NOT_JUDGED
    assert rows[3].verdict == CONFIRMED and rows[3].efficiency is not None
    assert rows[3].peak is not None and 290 < rows[3].peak.mean < 310
    flat = result({1: [100, 102, 99, 101], 2: [110, 113, 108, 111]})
    assert {r.instances: r for r in scaling_table(flat)}[2].verdict == NOT_CONFIRMED
    noisy = result({1: [100, 60, 140, 100], 2: [170, 150, 260, 160]})
    assert {r.instances: r for r in scaling_table(noisy)}[2].verdict in (PARTIAL,
                                                                          INCONCLUSIVE)


def test_balance_spread_and_its_verdict() -> None:
    even = ScalingResult({}, {"cpus_per_instance": 0.3}, "+x", blocks=tuple(
            [block(1, b, 10.0) for b in (1, 2, 3)]
            + [block(2, b, 20.0, shares=s) for b, s in
               ((1, [0.5, 0.5]), (2, [0.502, 0.498]), (3, [0.499, 0.501]))]))
    row = balance_table(even)[0]
    assert row.verdict == CONFIRMED and row.spread is not None and row.spread.mean < 1.01
    skew = ScalingResult({}, {"cpus_per_instance": 0.3}, "+x", blocks=tuple(
        [block(2, b, 20.0, shares=s) for b, s in
         ((1, [0.7, 0.3]), (2, [0.69, 0.31]), (3, [0.71, 0.29]))]))
    assert balance_table(skew)[0].verdict == NOT_CONFIRMED
    # a block whose window was not its own is left out of the shares
    mixed = ScalingResult({}, {"cpus_per_instance": 0.3}, "+x", blocks=(
        block(2, 1, 20.0, shares=[0.5, 0.5]), block(2, 2, 20.0, shares=[0.9, 0.1],
                                                    window_ok=False)))
    assert list(balance_table(mixed)[0].shares) == [(1, 1)]


def test_budget_plan_prefers_cores_and_says_why_it_cannot() -> None:
    cfg = ScalingConfig(instances=(1, 2, 3))
    cores = budget_plan(cfg, [0, 1, 2, 3])
    assert cores.mechanism == "cores" and cores.instance_cpus == ((0,), (1,), (2,))
    assert cores.generator_cpus == (3,)
    one = budget_plan(cfg, [0])
    assert one.mechanism is None and "one CPU" in one.reason
    assert budget_plan(ScalingConfig(mechanism="cores"), [0, 1]).mechanism is None


def cdn(on: List[float], off: List[float]) -> CdnResult:
    blocks = [{"block": i, "cache": True, "p50_ms": v, "status": "ok", "error_rate": 0.0}
              for i, v in enumerate(on, 1)]
    blocks += [{"block": i, "cache": False, "p50_ms": v, "status": "ok", "error_rate": 0.0}
               for i, v in enumerate(off, 1)]
    return CdnResult({}, tuple(blocks), (1,), {"articles": 10, "ok": 10},
                     {"hit_ratio": 0.99})


def test_cdn_verdict_against_the_claim() -> None:
    assert cdn_effect(cdn([1.0, 1.1, 0.9, 1.0], [4.0, 4.2, 3.9, 4.1])).verdict == CONFIRMED
    # ratio ~0.96: the interval holds 1 and excludes the claimed <= 0.4 (not inconclusive)
    assert cdn_effect(cdn([1.8, 1.7, 2.0], [1.9, 1.9, 1.85])).verdict == NOT_CONFIRMED
    # a wide interval covering both no effect and the claim is inconclusive
    assert cdn_effect(cdn([0.5, 2.5, 1.0], [2.0, 2.0, 2.0])).verdict == INCONCLUSIVE
    v = cdn_effect(cdn([1.0], []))
    assert v.verdict == NOT_JUDGED and v.hit_ratio == 0.99
    # paired by block: a slow block on both sides does not widen the ratio
    paired = cdn_effect(cdn([0.3, 0.9, 0.31, 0.29], [1.0, 3.0, 1.02, 0.98]))
    assert paired.ratio is not None and paired.ratio.high - paired.ratio.low < 0.05


def test_the_cache_log_splits_into_blocks_after_the_priming() -> None:
    from perflab.cdn import split_log

    def line(cache: str, upstream: str = "-") -> List[str]:
        return ["200", cache, upstream, "0.001", "-", "GET", "/api/faq/1"]

    lines = [line("MISS", "127.0.0.1:1")] * 3 + [line("HIT")] * 2 + \
        [line("HIT")] * 3 + [line("MISS", "127.0.0.1:1"), line("HIT")]
    per, window = split_log(lines, 3, ["cdn-warm-on", "cdn-on-b1", "cdn-on-b2"],
                            {"cdn-warm-on": 2, "cdn-on-b1": 3, "cdn-on-b2": 2})
    assert per["cdn-on-b1"]["hit_ratio"] == 1.0 and per["cdn-on-b2"]["hit_ratio"] == 0.5
    assert "cdn-warm-on" not in per
    assert window["hit_ratio"] == 0.8 and window["service_requests"] == 1
    assert window["lines_match_blocks"] and not window["includes_warmup"]
    _, loose = split_log(lines, 3, ["cdn-warm-on", "cdn-on-b1"], {"cdn-warm-on": 2,
                                                                    "cdn-on-b1": 9})
    assert loose["includes_warmup"] and loose["hit_ratio"] == pytest.approx(6 / 7, abs=1e-4)


def test_planning_carries_sixty_percent_of_peak_and_checks_p95() -> None:
    assert per_instance_rate(100.0) == pytest.approx(60.0)
    v = VariantLoad("a", (100.0, 90.0, 110.0), p95_ms=80.0, cpu_budget=0.3)
    rows = capacity_plan([v], (0.9, 0.8, 1.0))
    by_tier = {r.tier_per_min: r for r in rows}
    assert by_tier[1000].instances == 1  # 16.7 req/s under 60 req/s
    assert by_tier[10_000].per_instance_rps == pytest.approx(60.0)
    assert by_tier[100_000].instances == math.ceil(100_000 / 60 / (0.9 * 60))
    assert by_tier[100_000].instances_pessimistic == math.ceil(100_000 / 60 / (0.8 * 54))
    assert by_tier[1000].p95_ok is True
    slow = capacity_plan([VariantLoad("b", (100.0, 90.0, 110.0), p95_ms=250.0)],
                         (0.9, 0.8, 1.0))
    assert all(r.instances is None and r.p95_ok is False for r in slow)  # P95 missed
    unknown = capacity_plan([VariantLoad("c", (100.0, 90.0, 110.0))], (0.9, 0.8, 1.0))
    assert unknown[0].p95_ok is None and unknown[0].instances == 1
    assert instances_needed(10.0, 0.0, 1.0) is None


def test_planning_reads_peak_and_efficiency_from_the_blocks() -> None:
    from reports.planning_inputs import efficiency_for_planning, scaling_load

    r = result({1: [30.0, 31.0, 29.0, 30.0], 3: [81.0, 83.7, 78.3, 81.0]})
    r = replace(r, blocks=r.blocks + (block(1, 1, 18.0, kind="planning", p95_ms=60.0),
                                      block(3, 1, 48.6, kind="planning", p95_ms=120.0)))
    eff = efficiency_for_planning(r)
    assert eff is not None and eff[0][0] == pytest.approx(0.9, abs=0.005)
    load = scaling_load(r)
    assert load is not None and load.peak_rps[0] == pytest.approx(30.0, abs=0.5)
    assert load.p95_ms == 120.0  # the worst over N
    assert load.cpu_budget == 0.3


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
    v = VariantLoad("a", (100.0, 90.0, 110.0), 80.0)
    lines = format_plan(capacity_plan([v], eff), eff, {"efficiency": "N=3"})
    assert "1,000 req/min" in lines[2] and ASSUMPTIONS[0] in lines[-2]
