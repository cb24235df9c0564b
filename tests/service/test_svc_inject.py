"""Known-effect injections (service/inject.py) in a real app and a real service process.

Bounds here follow from the definition (an injected 60 ms sleep cannot make a
request take less than 60 ms; 40 ms of burnt thread CPU cannot use less than
40 ms of it), not from the machine's speed.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict

import psutil

from service import create_app
from service.inject import burn_cpu, hold_memory

from .svc_helpers import ServiceProc

CHAT = "/api/chat"
BODY = {"session_id": "inject-test", "message": "hello"}


async def _client(aiohttp_client: Any, make_config: Any, **service: Any) -> Any:
    return await aiohttp_client(create_app(make_config(**service)))


def test_burn_cpu_uses_at_least_the_thread_cpu_asked_for() -> None:
    before = time.thread_time()
    used = burn_cpu(0.02)
    assert used >= 0.02 and time.thread_time() - before >= 0.02


def test_hold_memory_is_resident() -> None:
    proc = psutil.Process()
    before = proc.memory_info().rss
    held = hold_memory(40)
    grown = proc.memory_info().rss - before
    assert len(held) == 40_000_000
    assert grown >= 0.9 * 40_000_000  # every page written, so resident (zero pages are not)


async def test_off_means_no_extra_middleware(aiohttp_client: Any, make_config: Any) -> None:
    plain = create_app(make_config())
    on = create_app(make_config(inject_latency_ms=1.0))
    assert len(on.middlewares) == len(plain.middlewares) + 1
    assert len(create_app(make_config(inject_rss_mb=1.0)).middlewares) == len(plain.middlewares)
    assert len(on.cleanup_ctx) == len(plain.cleanup_ctx)
    assert len(create_app(make_config(inject_rss_mb=1.0)).cleanup_ctx) == len(
        plain.cleanup_ctx) + 1


async def test_latency_is_awaited_on_every_request(aiohttp_client: Any,
                                                   make_config: Any) -> None:
    client = await _client(aiohttp_client, make_config, inject_latency_ms=60.0)
    for _ in range(2):
        start = time.perf_counter()
        resp = await client.post(CHAT, json=BODY)
        assert resp.status == 200
        assert time.perf_counter() - start >= 0.060
    cfg = await (await client.get("/api/config")).json()
    assert cfg["service"]["INJECT_LATENCY_MS"] == 60.0
    assert cfg["service"]["INJECT_CPU_MS"] == 0.0


async def test_cpu_is_burnt_on_the_serving_thread(aiohttp_client: Any,
                                                  make_config: Any) -> None:
    client = await _client(aiohttp_client, make_config, inject_cpu_ms=40.0)
    # the in-process server runs on this thread's event loop: its CPU is this thread's
    before = time.thread_time()
    resp = await client.post(CHAT, json=BODY)
    assert resp.status == 200
    assert time.thread_time() - before >= 0.040
    cfg = await (await client.get("/api/config")).json()
    assert cfg["service"]["INJECT_CPU_MS"] == 40.0


def _rss_after_chat(svc: ServiceProc) -> int:
    req = urllib.request.Request(svc.url + CHAT, data=json.dumps(BODY).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200
    return int(psutil.Process(svc.pid).memory_info().rss)


def test_rss_injection_in_a_real_service(base_env: Dict[str, str], log_dir: Path) -> None:
    plain = ServiceProc(base_env, log_dir, "plain")
    try:
        rss_plain = _rss_after_chat(plain)
    finally:
        plain.stop()
    held = ServiceProc(dict(base_env, INJECT_RSS_MB="100"), log_dir, "held")
    try:
        rss_held = _rss_after_chat(held)
        with urllib.request.urlopen(held.url + "/api/config", timeout=10) as resp:
            assert json.load(resp)["service"]["INJECT_RSS_MB"] == 100.0
    finally:
        held.stop()
    # 100 MB held on top of the same service; other differences are a few MB either way
    assert 90e6 <= rss_held - rss_plain <= 110e6


async def test_realised_delays_are_exposed_for_the_calibration(aiohttp_client: Any,
                                                               make_config: Any) -> None:
    """Each injected sleep's real length is summed on /metrics; internal paths add none."""
    from perflab.scrape import parse
    from service.metrics import INJECTED

    client = await _client(aiohttp_client, make_config, inject_latency_ms=20.0)
    for _ in range(3):
        assert (await client.post(CHAT, json=BODY)).status == 200
    await client.get("/healthz")
    totals = parse(await (await client.get("/metrics")).text()).totals
    assert totals[INJECTED + "_count"] == 3
    assert totals[INJECTED + "_sum"] >= 3 * 0.020  # a sleep never ends early
