"""The fake carrier API: deterministic bodies, configurable latency and errors."""

from __future__ import annotations

import random
import subprocess
import sys
import urllib.request
from typing import Any

import pytest

from engine.carrier import tracking_for
from service.carrier import (
    CarrierConfig,
    CarrierConfigError,
    LatencySpec,
    create_carrier_app,
    tracking_body,
)

from .svc_helpers import REPO, Proc, free_port, wait_http


def test_latency_specs_parse() -> None:
    assert LatencySpec.parse("fixed:5") == LatencySpec("fixed", 5.0, 0.0)
    assert LatencySpec.parse("uniform:1:3") == LatencySpec("uniform", 1.0, 3.0)
    assert LatencySpec.parse("lognormal:15:0.5") == LatencySpec("lognormal", 15.0, 0.5)
    for bad in ("gamma:1", "fixed", "uniform:3:1", "lognormal:x:1", "fixed:-1"):
        with pytest.raises(CarrierConfigError, match="CARRIER_LATENCY"):
            LatencySpec.parse(bad)


def test_default_median_is_about_15ms_and_seeded() -> None:
    spec = CarrierConfig().latency
    draw = spec.sampler(random.Random(1))
    draws = sorted(draw() for _ in range(2001))
    assert 0.012 < draws[1000] < 0.018
    first, second = spec.sampler(random.Random(9)), spec.sampler(random.Random(9))
    assert [first() for _ in range(5)] == [second() for _ in range(5)]


def test_body_is_a_function_of_the_id_and_matches_the_engine() -> None:
    body = tracking_body("TRK0123456789")
    assert body == tracking_body("TRK0123456789")
    t = tracking_for("TRK0123456789")
    assert (body["status"], body["location"], body["eta"]) == (t.status, t.location, t.eta)


async def test_track_route(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_carrier_app(
        CarrierConfig(LatencySpec("fixed", 0.0, 0.0))))
    resp = await client.get("/track/TRK0000000042")
    assert resp.status == 200
    assert await resp.json() == tracking_body("TRK0000000042")
    resp = await client.get("/track/nope")
    assert resp.status == 404 and (await resp.json())["error"] == "unknown_tracking_id"


async def test_error_rate_one_always_fails(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_carrier_app(
        CarrierConfig(LatencySpec("fixed", 0.0, 0.0), error_rate=1.0)))
    for _ in range(3):
        resp = await client.get("/track/TRK0000000042")
        assert resp.status == 503


def test_process_cli(tmp_path: Any) -> None:
    bad = subprocess.run([sys.executable, "-m", "service.carrier", "--latency", "zipf:1"],
                         cwd=str(REPO), capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "--latency" in bad.stderr
    port = free_port()
    proc = Proc([sys.executable, "-m", "service.carrier", "--port", str(port),
                 "--latency", "uniform:1:2", "--seed", "7"],
                {"PATH": "/usr/bin:/bin"}, tmp_path, "carrier")
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", 30, proc.popen)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/track/TRK0000000001") as r:
            assert r.status == 200
        assert "latency=uniform:1:2" in proc.stdout()
    finally:
        proc.stop()
