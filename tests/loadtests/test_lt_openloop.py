"""The open-loop driver against a trivial server in its own process.

Assertions are on behaviour (counts, which histogram sees a stall, schema), never on how
fast this shared machine is; rates and latencies only get generous bounds.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loadtests import openloop as ol
from loadtests.openloop import (
    Counts,
    HistogramSummary,
    OpenLoopConfig,
    OpenLoopResult,
    RemoteTargetError,
    check_loopback,
    merge_histograms,
    merge_results,
    new_histogram,
    run_open_loop,
)
from loadtests.workload import is_order_id

ROOT = Path(__file__).resolve().parents[2]


def subprocess_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_schedules_are_small_deterministic_factories():
    gaps = ol.constant(50)
    assert [gaps() for _ in range(3)] == [0.02, 0.02, 0.02]
    a, b = ol.poisson(100, seed=1), ol.poisson(100, seed=1)
    xs = [a() for _ in range(5000)]
    assert xs[:50] == [b() for _ in range(50)]
    assert sum(xs) / len(xs) == pytest.approx(0.01, rel=0.1)
    with pytest.raises(ValueError):
        ol.make_schedule("bursty", 10)


async def test_counts_rate_warmup_and_progress(trivial_server):
    url = trivial_server()
    seen = []
    res = await run_open_loop(OpenLoopConfig(url=url, rate=50, duration=2, warmup=0.5),
                              progress=seen.append)
    c = res.counts
    assert res.complete
    assert c.sent == 100 and c.warmup_sent == 25
    assert c.ok == 100 and c.completed == 100 and c.errors == {}
    assert res.achieved_rate == pytest.approx(50, rel=0.1)
    assert res.latency.count == res.service.count == 100
    assert res.send_lag.count == 100
    assert res.latency.pct(50) >= res.service.pct(50) * 0.5  # same requests, measured twice
    assert seen and isinstance(seen[0], ol.Progress) and seen[0].elapsed_s >= 0.9
    assert any(p.p95_ms is not None and p.rate > 0 for p in seen)
    assert len(res.timeline) == len(seen)


async def test_stall_every_nth_request_shows_in_the_tail(trivial_server):
    url = trivial_server("--stall-every", "10", "--stall-ms", "300")
    res = await run_open_loop(OpenLoopConfig(url=url, rate=50, duration=2))
    assert res.counts.ok == 100
    assert res.latency.pct(99) >= 300  # a tenth of the requests waited 300 ms
    assert res.service.pct(99) >= 300  # an async stall is seen from the actual send too


async def test_server_freeze_is_charged_from_the_intended_time(trivial_server):
    # The server blocks its whole event loop for 1 s. With 2 connections, requests queue
    # for a connection meanwhile: their service time (from the request being written)
    # hides the freeze, as a closed-loop tool would; the intended-time latency shows it.
    url = trivial_server("--freeze-after", "0.5", "--freeze-ms", "1000")
    res = await run_open_loop(OpenLoopConfig(url=url, rate=100, duration=2.5, connections=2))
    assert res.counts.ok == res.counts.sent == 250
    assert res.latency.max_ms >= 900
    assert res.latency.pct(99) >= 700
    assert res.latency.pct(99) > res.service.pct(99)
    assert res.latency.pct(90) > res.service.pct(90)
    assert any("connection pool full" in w for w in res.warnings)


async def test_errors_are_counted_by_kind(trivial_server):
    url = trivial_server("--fail-every", "5", "--bad-every", "7")
    res = await run_open_loop(OpenLoopConfig(url=url, rate=100, duration=1))
    c = res.counts
    assert c.errors.get("http_500", 0) == 20
    assert c.errors.get("bad_reply", 0) > 0
    assert c.ok + c.error_count == c.completed == c.sent == 100
    closed = await run_open_loop(OpenLoopConfig(url="http://127.0.0.1:9", rate=20,
                                                duration=0.5))
    assert closed.counts.errors.get("connection") == closed.counts.sent == 10
    assert closed.counts.ok == 0


async def test_other_routes_and_max_requests(trivial_server):
    url = trivial_server()
    res = await run_open_loop(OpenLoopConfig(url=url, rate=100, duration=5,
                                             route="GET /healthz", max_requests=30))
    assert res.counts.sent == res.counts.ok == 30
    assert res.elapsed_s == pytest.approx(0.3, abs=0.02)  # schedule time of 30 sends


def test_loopback_only_unless_allowed():
    for url in ("http://127.0.0.1:8080", "http://127.3.2.1", "http://localhost:1",
                "http://[::1]:8080/x"):
        check_loopback(url)
    for url in ("http://10.1.2.3:80", "http://example.com", "http://192.168.0.1:8080"):
        with pytest.raises(RemoteTargetError, match="--allow-remote"):
            check_loopback(url)
        check_loopback(url, allow_remote=True)
    with pytest.raises(ValueError):
        OpenLoopConfig(url="http://127.0.0.1", rate=1, duration=4000).validate()
    with pytest.raises(ValueError):
        OpenLoopConfig(url="http://127.0.0.1", rate=1, duration=1, max_requests=0).validate()


def _cli(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "loadtests.openloop", *args], cwd=ROOT,
                            env=subprocess_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def test_cli_refuses_a_remote_url():
    p = _cli("--url", "http://10.1.2.3:8080", "--rate", "10", "--duration", "1")
    _out, err = p.communicate(timeout=30)
    assert p.returncode == 2
    assert "loopback" in err and "--allow-remote" in err


def test_cli_json_schema_round_trips(trivial_server, tmp_path):
    url = trivial_server()
    out = tmp_path / "r.json"
    p = _cli("--url", url, "--rate", "40", "--duration", "1", "--arrival", "poisson",
             "--json", str(out), "--quiet")
    stdout, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert "latency (intended time)" in stdout
    d = json.loads(out.read_text())
    for key in ("schema_version", "complete", "config", "elapsed_s", "target_rate",
                "achieved_rate", "throughput", "counts", "latency", "service", "send_lag",
                "cpu_percent", "generator_saturated", "saturation_reasons", "meta"):
        assert key in d, key
    assert d["schema_version"] == ol.SCHEMA_VERSION and d["complete"] is True
    assert d["load_model"] == "open"
    assert set(d["latency"]["percentiles_ms"]) == {"p50", "p90", "p95", "p99", "p99.9",
                                                   "p99.99"}
    assert set(d["counts"]) >= {"sent", "ok", "errors", "completed", "unfinished"}
    res = OpenLoopResult.from_dict(d)
    assert res.to_dict() == d
    h = merge_histograms([d["latency"]["encoded"]])
    assert h.get_total_count() == d["latency"]["count"] == d["counts"]["ok"]
    assert isinstance(d["generator_saturated"], bool)


def test_cli_ctrl_c_keeps_partial_results(trivial_server, tmp_path):
    url = trivial_server()
    out = tmp_path / "partial.json"
    p = _cli("--url", url, "--rate", "50", "--duration", "60", "--json", str(out))
    assert p.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait for the first progress line (about 1 s in)
        if "sent" in p.stderr.readline():
            break
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=30)
    assert p.returncode == 130
    d = json.loads(out.read_text())
    assert d["complete"] is False
    assert d["counts"]["sent"] > 0 and d["elapsed_s"] < 60
    assert d["counts"]["ok"] + d["counts"]["error_count"] + d["counts"]["unfinished"] \
        >= d["counts"]["sent"] - d["counts"]["unfinished"]


def _fake_result(values_ms, sent, elapsed):
    lat, svc, lag = new_histogram(), new_histogram(), new_histogram()
    for v in values_ms:
        lat.record_value(int(v * 1000))
        svc.record_value(int(v * 500))
        lag.record_value(10)
    n = len(values_ms)
    return OpenLoopResult(
        complete=True, config={"rate": sent / elapsed}, started_at=0.0, elapsed_s=elapsed,
        target_rate=sent / elapsed, achieved_rate=sent / elapsed, throughput=n / elapsed,
        counts=Counts(sent, n, n, {"timeout": 1}), latency=HistogramSummary.of(lat),
        service=HistogramSummary.of(svc), send_lag=HistogramSummary.of(lag), cpu_percent=20,
        cpu_user_s=1, cpu_system_s=0, max_in_flight=3, generator_saturated=False,
        saturation_reasons=())


def test_merging_windows_is_exact():
    rng = random.Random(5)
    a = [rng.lognormvariate(0, 1.2) for _ in range(3000)]
    b = [rng.lognormvariate(1, 0.8) for _ in range(2000)]
    whole = new_histogram()
    for v in a + b:
        whole.record_value(int(v * 1000))
    ra, rb = _fake_result(a, 3000, 10.0), _fake_result(b, 2000, 5.0)
    m = merge_results([ra, rb])
    assert m.latency == HistogramSummary.of(whole)  # percentiles, mean, max, encoding
    assert m.counts.sent == 5000 and m.counts.errors == {"timeout": 2}
    assert m.elapsed_s == 15.0 and m.achieved_rate == pytest.approx(5000 / 15)
    assert merge_histograms([ra.service.encoded, rb.service.encoded]).get_total_count() == 5000
    assert OpenLoopResult.from_dict(json.loads(json.dumps(m.to_dict()))) == m


def test_saturation_reasons():
    assert ol.saturation_reasons(1000, 990, 1.0, 40) == []
    reasons = ol.saturation_reasons(1000, 800, 25.0, 99)
    assert len(reasons) == 3
    assert any("CPU" in r for r in reasons) and any("lag" in r for r in reasons)


async def test_order_route_takes_ids_from_the_workload_and_expects_404_for_unknown_ones(
        aiohttp_server):
    from aiohttp import web

    from loadtests.workload import Workload

    seen = []

    async def order(request):
        seen.append(request.match_info["order_id"])
        return web.json_response({"error": "not_found"}, status=404)

    app = web.Application()
    app.router.add_get("/api/orders/{order_id}", order)
    server = await aiohttp_server(app)
    url = f"http://127.0.0.1:{server.port}"
    cfg = OpenLoopConfig(url=url, rate=100, duration=0.2, route="GET /api/orders/{order_id}")
    unknown = await run_open_loop(cfg, workload=Workload(seed=1, unknown_order_share=1.0))
    assert unknown.counts.ok == unknown.counts.sent == 20  # 404 is right for unknown ids
    known = await run_open_loop(cfg, workload=Workload(seed=1, unknown_order_share=0.0))
    assert known.counts.errors == {"http_404": 20}
    assert len(set(seen)) > 20 and all(is_order_id(s) for s in seen)
