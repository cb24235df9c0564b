"""The open-loop generator against real servers on loopback (in-process or subprocesses).

Assertions are on behaviour (counts, which histogram sees a stall, schema, exact merges,
identical schedules), never on how fast this shared machine is.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from loadtests import openloop as ol
from loadtests.oloop_feed import Feed, bodies, parse_route
from loadtests.oloop_hist import HistogramSummary, Recorder, new_histogram
from loadtests.oloop_result import build_result
from loadtests.openloop import (
    NotReadyError,
    OpenLoopConfig,
    OpenLoopResult,
    RemoteTargetError,
    check_loopback,
    check_ready,
    merge_histograms,
    merge_results,
    parse_event,
    run_open_loop,
)
from loadtests.workload import Workload, is_order_id

from .conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ schedule (CRN)
def _share(url: str, shares: int, share: int, arrival: str = "poisson", seed: int = 7,
           n: int = 2000):
    feed = Feed(url_host=url, route=parse_route("POST /api/chat"), arrival=arrival,
                rate=500, seed=seed, end=1e9, share=share, shares=shares,
                cap=n, workload=Workload(seed=seed, session_prefix=f"ol{seed}-"))
    offs, reqs, _ = feed.take(10 * n)
    return offs, bodies(reqs)


def test_same_seed_same_schedule_and_messages_whatever_the_url_or_process():
    one = _share("127.0.0.1:8080", 1, 0)
    other_url = _share("127.0.0.2:9999", 1, 0)
    assert one == other_url  # the URL changes only the Host header
    assert len(one[0]) == 2000 and one[0] == sorted(one[0])
    # two processes' shares interleave back into the one-process sequence
    a, b = _share("127.0.0.1:1", 2, 0), _share("127.0.0.1:1", 2, 1)
    merged = sorted(zip(a[0] + b[0], a[1] + b[1]))
    assert [o for o, _ in merged] == one[0] and [m for _, m in merged] == one[1]
    assert _share("127.0.0.1:1", 1, 0, seed=8) != one  # the seed does change it
    const = _share("127.0.0.1:1", 1, 0, arrival="constant")[0]
    assert const[:3] == [0.0, 0.002, 0.004]
    chunks = ol.arrival_offsets("poisson", 1000, seed=3)
    xs = [x for _ in range(3) for x in next(chunks).tolist()]
    assert xs[-1] / len(xs) == pytest.approx(0.001, rel=0.05)
    with pytest.raises(ValueError):
        next(ol.arrival_offsets("bursty", 10, 0))


# ------------------------------------------------------------------ histograms
def test_recorder_gives_exactly_the_hdr_histogram_of_the_raw_values():
    rng = random.Random(5)
    values = [rng.lognormvariate(-7, 2.0) for _ in range(20000)]  # ~1 us .. seconds
    rec, raw = Recorder(), new_histogram()
    for v in values:
        rec.record(v)
        raw.record_value(max(0, int(v * 1e6)))
    assert HistogramSummary.of(rec.to_hdr()) == HistogramSummary.of(raw)
    half = Recorder()
    for v in values[:7000]:
        half.record(v)
    rest = Recorder()
    for v in values[7000:]:
        rest.record(v)
    half.add(rest.counts)
    assert half.counts == rec.counts


def test_empty_summary_is_null_not_zero():
    s = HistogramSummary.of(new_histogram())
    assert s.count == 0 and s.max_ms is None and s.mean_ms is None
    assert set(s.percentiles_ms.values()) == {None}


# ------------------------------------------------------------------ runs
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
    assert res.latency.count == res.service_time.count == res.generator_lag.count == 100
    assert res.latency.pct(50) >= res.service_time.pct(50)  # same requests, from earlier
    assert seen and isinstance(seen[0], ol.Progress) and seen[0].t >= 0.9
    assert any(p.p95_ms is not None and p.rate > 0 for p in seen)
    assert len(res.timeline) == len(seen)
    assert res.meta["parts"][0]["pool"]["opened"] >= 1


async def test_stall_every_nth_request_shows_in_the_tail(trivial_server):
    url = trivial_server("--stall-every", "10", "--stall-ms", "300")
    res = await run_open_loop(OpenLoopConfig(url=url, rate=50, duration=2))
    assert res.counts.ok == 100
    assert res.latency.pct(99) >= 300  # a tenth of the requests waited 300 ms
    assert res.service_time.pct(99) >= 300  # an async stall is seen from the write too
    assert not res.generator_saturated  # the server's stall is not the generator's lag


async def test_server_freeze_is_charged_from_the_intended_time(trivial_server):
    # The server blocks its event loop for 1 s. With 2 connections, requests queue for a
    # connection meanwhile: their service time (from the write) hides the freeze, as a
    # closed-loop tool would; the intended-time latency and the connection wait show it,
    # and the generator's own lag does not.
    url = trivial_server("--freeze-after", "0.5", "--freeze-ms", "1000")
    res = await run_open_loop(OpenLoopConfig(url=url, rate=100, duration=2.5, connections=2,
                                             initial_connections=2))
    assert res.counts.ok == res.counts.sent == 250
    assert res.latency.max_ms >= 900
    assert res.latency.pct(99) > res.service_time.pct(99)
    assert res.latency.pct(90) > res.service_time.pct(90)
    assert res.counts.waited_for_connection > 50
    assert res.connection_wait.max_ms >= 500
    assert res.generator_lag.max_ms < res.connection_wait.max_ms
    assert any("connection pool reached its limit" in w for w in res.warnings)


async def test_errors_are_counted_by_kind_and_kept_out_of_the_percentiles(trivial_server):
    url = trivial_server("--fail-every", "5", "--bad-every", "7")
    res = await run_open_loop(OpenLoopConfig(url=url, rate=100, duration=1))
    c = res.counts
    assert c.errors.get("http_500", 0) == 20
    assert c.errors.get("bad_reply", 0) > 0
    assert c.ok + c.error_count == c.completed == c.sent == 100
    assert res.latency.count == c.ok and res.error_latency.count == c.error_count


async def test_refused_port_counts_connection_errors_and_nulls_the_percentiles(
        unused_tcp_port):
    res = await run_open_loop(OpenLoopConfig(url=f"http://127.0.0.1:{unused_tcp_port}",
                                             rate=20, duration=0.5))
    assert res.counts.errors == {"connection": 10} and res.counts.sent == 10
    assert res.counts.ok == 0 and res.no_successful_responses
    assert res.latency.count == 0 and res.latency.pct(50) is None
    d = res.to_dict()
    assert d["no_successful_responses"] is True
    assert d["latency"]["percentiles_ms"]["p99"] is None and d["latency"]["max_ms"] is None
    assert any("no successful responses" in w for w in res.warnings)


async def test_other_routes_and_max_requests(trivial_server):
    url = trivial_server()
    res = await run_open_loop(OpenLoopConfig(url=url, rate=100, duration=5,
                                             route="GET /healthz", max_requests=30))
    assert res.counts.sent == res.counts.ok == 30
    assert res.elapsed_s == pytest.approx(0.3, abs=0.02)  # schedule time of 30 sends


async def test_order_route_takes_ids_from_the_workload_and_expects_404_for_unknown_ones(
        aiohttp_server):
    from aiohttp import web

    seen = []

    async def order(request):
        seen.append(request.match_info["order_id"])
        return web.json_response({"error": "not_found"}, status=404)

    app = web.Application()
    app.router.add_get("/api/orders/{order_id}", order)
    server = await aiohttp_server(app)
    url = f"http://127.0.0.1:{server.port}"
    cfg = OpenLoopConfig(url=url, rate=100, duration=0.2, route="GET /api/orders/{order_id}")
    res = await run_open_loop(cfg)
    # ~5% of the workload's ids are unknown (404 right), the rest known (404 wrong)
    assert res.counts.sent == 20 and res.counts.ok + res.counts.errors["http_404"] == 20
    assert len(set(seen)) > 15 and all(is_order_id(s) for s in seen)  # both shapes


async def test_connection_close_and_chunked_replies_end_to_end():
    """A raw server: chunked replies, every third one with Connection: close."""
    served = {"n": 0, "conns": 0}

    async def handle(reader, writer):
        served["conns"] += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                n = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                await reader.readexactly(n)
                served["n"] += 1
                close = served["n"] % 3 == 0
                body = b'{"intent": "greeting"}'
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                             + (b"Connection: close\r\n" if close else b"") + b"\r\n"
                             + b"%x\r\n%s\r\n" % (5, body[:5])
                             + b"%x;ext=1\r\n%s\r\n0\r\nX-Trailer: y\r\n\r\n" % (
                                 len(body) - 5, body[5:]))
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        res = await run_open_loop(OpenLoopConfig(url=f"http://127.0.0.1:{port}", rate=60,
                                                 duration=1, initial_connections=1))
    finally:
        server.close()
    assert res.counts.ok == res.counts.sent == 60, res.counts
    assert served["conns"] >= 20  # a new connection after every close


async def test_process_spreading_merges_counts_exactly(trivial_server):
    url = trivial_server()
    cfg = OpenLoopConfig(url=url, rate=200, duration=1, warmup=0.2, processes=2,
                         route="GET /healthz")
    res = await run_open_loop(cfg)
    assert res.processes == 2 and len(res.meta["parts"]) == 2
    assert res.counts.sent == 200 and res.counts.warmup_sent == 40
    assert [p["sent"] for p in res.meta["parts"]] == [100, 100]  # every other arrival
    assert res.counts.ok == res.latency.count == res.generator_lag.count == 200
    assert len({p["pid"] for p in res.meta["parts"]}) == 2


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


def test_check_ready(trivial_server, unused_tcp_port):
    assert check_ready(trivial_server(), 5.0)["status"] == 200
    with pytest.raises(NotReadyError, match=f"127.0.0.1:{unused_tcp_port} does not answer"):
        check_ready(f"http://127.0.0.1:{unused_tcp_port}", 0.3)


def test_parse_event():
    assert parse_event('{"event": "done", "file": null}\n') == {"event": "done",
                                                                "file": None}
    for line in ("", "hello", "{not json", '{"event": "other"}', "[1]",
                 "Traceback (most recent call last):"):
        assert parse_event(line) is None


# ------------------------------------------------------------------ CLI
def _cli(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "loadtests.openloop", *args], cwd=ROOT,
                            env=subprocess_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def test_cli_refuses_a_remote_url_and_bad_specs(tmp_path):
    p = _cli("--url", "http://10.1.2.3:8080", "--rate", "10", "--duration", "1")
    _out, err = p.communicate(timeout=30)
    assert p.returncode == 2
    assert "loopback" in err and "--allow-remote" in err and "Traceback" not in err
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"blocks": [{"id": "a", "url": "http://127.0.0.1:1",
                                            "rate": 1, "duration": 1, "colour": "red"}]}))
    p = _cli("--blocks", str(spec), "--out", str(tmp_path), "--events", "jsonl")
    _out, err = p.communicate(timeout=30)
    assert p.returncode == 2
    events = [parse_event(line) for line in err.splitlines()]
    assert events == [{"event": "error", "message": "block a: unknown keys colour"}]


def test_cli_json_schema_round_trips(trivial_server, tmp_path):
    url = trivial_server()
    out = tmp_path / "r.json"
    p = _cli("--url", url, "--rate", "40", "--duration", "1", "--arrival", "poisson",
             "--json", str(out), "--quiet")
    stdout, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert "latency (intended time)" in stdout
    d = json.loads(out.read_text())
    for key in ("schema_version", "complete", "config", "elapsed_s", "started_at",
                "target_rate", "achieved_rate", "throughput", "counts", "latency",
                "service_time", "generator_lag", "connection_wait", "cpu_percent",
                "generator_saturated", "saturation_reasons", "meta"):
        assert key in d, key
    assert d["schema_version"] == ol.SCHEMA_VERSION == 2 and d["complete"] is True
    assert d["load_model"] == "open"
    assert set(d["latency"]["percentiles_ms"]) >= {"p50", "p90", "p95", "p99", "p99.9"}
    assert set(d["counts"]) >= {"sent", "ok", "errors", "completed", "error_count"}
    res = OpenLoopResult.from_dict(d)
    assert res.to_dict() == d
    h = merge_histograms([d["latency"]["encoded"]])
    assert h.get_total_count() == d["latency"]["count"] == d["counts"]["ok"]
    assert isinstance(d["generator_saturated"], bool)


def test_cli_blocks_mode_end_to_end(trivial_server, tmp_path):
    a, b = trivial_server(), trivial_server()
    spec = {"blocks": [
        {"id": "b1-A", "url": a, "route": "POST /api/chat", "rate": 50, "duration": 1.0,
         "warmup": 0.2, "arrival": "poisson", "seed": 17},
        {"id": "b1-B", "url": b, "route": "POST /api/chat", "rate": 50, "duration": 1.0,
         "warmup": 0.2, "arrival": "poisson", "seed": 17},
        {"id": "b2-A", "url": a, "route": "GET /healthz", "rate": 40, "duration": 0.5,
         "seed": 18, "data_seed": 7, "pause": 0.5},
    ]}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    out = tmp_path / "out"
    p = _cli("--blocks", str(path), "--out", str(out), "--events", "jsonl")
    stdout, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert stdout == ""
    events = [e for e in map(parse_event, err.splitlines()) if e]
    assert [e["id"] for e in events if e["event"] == "block_done"] == ["b1-A", "b1-B",
                                                                       "b2-A"]
    assert events[-1]["event"] == "done" and events[-1]["complete"] is True
    assert {e["block"] for e in events if e["event"] == "progress"} <= {"b1-A", "b1-B", "b2-A"}
    docs = {i: json.loads((out / f"{i}.json").read_text()) for i in ("b1-A", "b1-B", "b2-A")}
    assert all(d["schema_version"] == ol.SCHEMA_VERSION and d["complete"] for d in
               docs.values())
    assert docs["b1-A"]["block"] == "b1-A"
    # A and B got the same schedule (same seed): the same number of arrivals
    assert docs["b1-A"]["counts"]["sent"] == docs["b1-B"]["counts"]["sent"]
    assert docs["b1-A"]["counts"]["ok"] == docs["b1-A"]["counts"]["sent"]
    assert docs["b2-A"]["counts"]["sent"] == docs["b2-A"]["counts"]["ok"] == 20
    assert docs["b2-A"]["config"]["data_seed"] == 7
    # the pause: b2-A's schedule starts at least 0.5 s after b1-B's window ended
    b1_end = docs["b1-B"]["started_at"] + docs["b1-B"]["elapsed_s"]
    assert docs["b2-A"]["started_at"] - b1_end >= 0.5
    with pytest.raises(ValueError, match="pause"):
        ol.load_blocks({"blocks": [dict(spec["blocks"][2], pause=-1)]}, ol.OpenLoopConfig("", 0, 0))
    # the pool to A stayed open across the blocks: no new connection for b2-A
    assert (docs["b2-A"]["meta"]["parts"][0]["pool"]["opened"]
            == docs["b1-A"]["meta"]["parts"][0]["pool"]["opened"])


def test_cli_sigint_writes_the_partial_result(trivial_server, tmp_path):
    url = trivial_server()
    out = tmp_path / "partial.json"
    p = _cli("--url", url, "--rate", "50", "--duration", "60", "--json", str(out),
             "--events", "jsonl")
    assert p.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait for the first progress event (~1 s in)
        e = parse_event(p.stderr.readline())
        if e and e["event"] == "progress":
            break
    p.send_signal(signal.SIGINT)
    _stdout, err = p.communicate(timeout=30)
    assert p.returncode == 130
    events = [e for e in map(parse_event, err.splitlines()) if e]
    assert events[-1]["event"] == "done" and events[-1]["complete"] is False
    d = json.loads(out.read_text())
    assert d["complete"] is False and d["meta"]["stopped_by"] == "SIGINT"
    assert d["counts"]["sent"] > 0 and d["elapsed_s"] < 60
    assert d["counts"]["ok"] + d["counts"]["error_count"] + d["counts"]["unfinished"] \
        == d["counts"]["sent"]


def test_generator_dies_with_its_parent(trivial_server, tmp_path):
    url = trivial_server()
    pidfile = tmp_path / "pid"
    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-m', 'loadtests.openloop', '--url', {url!r},"
        " '--rate', '20', '--duration', '120', '--quiet'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(600)\n")], cwd=ROOT, env=subprocess_env())
    deadline = time.monotonic() + 30
    while not pidfile.exists() or not pidfile.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    child = int(pidfile.read_text())
    time.sleep(1.0)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the generator outlived its parent")


# ------------------------------------------------------------------ merging, saturation
def _part(values_ms, sent):
    lat = Recorder()
    for v in values_ms:
        lat.record(v / 1000.0)
    return {"sent": sent, "warmup_sent": 0, "completed": len(values_ms),
            "ok": len(values_ms), "errors": {"timeout": 1}, "unfinished": 0, "waited": 0,
            "max_in_flight": 3, "lat": lat.counts, "svc": lat.counts, "lag": {10: sent},
            "wait": {}, "errlat": {}, "cpu_user_s": 1.0, "cpu_system_s": 0.0,
            "cpu_wall_s": 5.0, "last_dispatch_rel": None, "stop_rel": None,
            "cap_offset": None, "interrupted": False,
            "pool": {"opened": 1, "connect_errors": 0, "max_size": 1, "limit": 10,
                     "last_error": ""}, "timer_precise": True, "pid": 1,
            "cpu_affinity": None}


def test_results_of_parts_and_windows_merge_exactly():
    rng = random.Random(5)
    a = [rng.lognormvariate(0, 1.2) for _ in range(3000)]
    b = [rng.lognormvariate(1, 0.8) for _ in range(2000)]
    whole = new_histogram()
    for v in a + b:
        whole.record_value(int(v / 1000.0 * 1e6))  # the Recorder's µs of the same seconds
    cfg = OpenLoopConfig(url="http://127.0.0.1:1", rate=500, duration=10.0)
    both = build_result(cfg, [_part(a, 3000), _part(b, 2000)], started_at=0)
    assert both.latency == HistogramSummary.of(whole)  # percentiles, mean, max, encoding
    assert both.counts.sent == 5000 and both.counts.errors == {"timeout": 2}
    assert both.cpu_percent == pytest.approx(20.0) and both.cpu_percent_total == \
        pytest.approx(40.0)
    ra = build_result(cfg, [_part(a, 3000)], started_at=0)
    rb = build_result(replace(cfg, duration=5.0), [_part(b, 2000)], started_at=0)
    m = merge_results([ra, rb])
    assert m.latency == HistogramSummary.of(whole)
    assert m.elapsed_s == 15.0 and m.scheduled_rate == pytest.approx(5000 / 15)
    assert OpenLoopResult.from_dict(json.loads(json.dumps(m.to_dict()))) == m


def test_saturation_reasons():
    assert ol.saturation_reasons(1000, 990, 1.0, 40) == []
    assert ol.saturation_reasons(1000, 990, None, 40) == []
    reasons = ol.saturation_reasons(1000, 800, 25.0, 99)
    assert len(reasons) == 3
    assert any("CPU" in r for r in reasons) and any("lag" in r for r in reasons)
