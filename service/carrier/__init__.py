"""A stand-in carrier tracking API: the downstream dependency with latency.

``GET /track/{tracking_id}`` answers after a delay drawn from a configurable
distribution (seeded RNG) and fails at a configurable rate. The body is derived
from a hash of the tracking id only, so answers are identical across runs,
processes and toggles (it is ``engine.carrier.tracking_for``). Python
3.9-compatible; imports only the engine's light carrier module, not the Bot.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import re
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional

from aiohttp import web

from engine.carrier import tracking_for

__all__ = ["CarrierConfig", "CarrierConfigError", "LatencySpec", "create_carrier_app",
           "tracking_body"]

TRACKING_RE = re.compile(r"TRK[0-9]{10}")


class CarrierConfigError(ValueError):
    """CARRIER_LATENCY / CARRIER_ERROR_RATE / CARRIER_SEED has a bad value."""


@dataclass(frozen=True)
class LatencySpec:
    """``fixed:MS``, ``uniform:LOW_MS:HIGH_MS`` or ``lognormal:MEDIAN_MS:SIGMA``."""

    kind: str = "lognormal"
    a: float = 15.0
    b: float = 0.5

    @classmethod
    def parse(cls, raw: str, var: str = "CARRIER_LATENCY") -> LatencySpec:
        allowed = "fixed:MS, uniform:LOW_MS:HIGH_MS, lognormal:MEDIAN_MS:SIGMA"
        parts = raw.strip().lower().split(":")
        try:
            nums = [float(p) for p in parts[1:]]
        except ValueError:
            raise CarrierConfigError(
                f"{var}={raw!r} is not valid; allowed values: {allowed}") from None
        if any(n < 0 or math.isnan(n) or math.isinf(n) for n in nums):
            raise CarrierConfigError(
                f"{var}={raw!r} is not valid: numbers must be finite and >= 0")
        if parts[0] == "fixed" and len(nums) == 1:
            return cls("fixed", nums[0], 0.0)
        if parts[0] == "uniform" and len(nums) == 2 and nums[0] <= nums[1]:
            return cls("uniform", nums[0], nums[1])
        if parts[0] == "lognormal" and len(nums) == 2:
            return cls("lognormal", nums[0], nums[1])
        raise CarrierConfigError(f"{var}={raw!r} is not valid; allowed values: {allowed}")

    def sampler(self, rng: random.Random) -> Callable[[], float]:
        """A function drawing one delay in seconds from ``rng``."""
        if self.kind == "fixed":
            return lambda: self.a / 1000.0
        if self.kind == "uniform":
            return lambda: rng.uniform(self.a, self.b) / 1000.0
        mu = math.log(self.a) if self.a > 0 else -math.inf
        if mu == -math.inf:
            return lambda: 0.0
        return lambda: min(rng.lognormvariate(mu, self.b), 30000.0) / 1000.0

    def __str__(self) -> str:
        if self.kind == "fixed":
            return f"fixed:{self.a:g}"
        return f"{self.kind}:{self.a:g}:{self.b:g}"


@dataclass(frozen=True)
class CarrierConfig:
    latency: LatencySpec = LatencySpec()
    error_rate: float = 0.0  # CARRIER_ERROR_RATE: share of requests answered 503
    seed: int = 1  # CARRIER_SEED: seeds latency and error draws

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> CarrierConfig:
        env = os.environ if environ is None else environ
        values: Dict[str, Any] = {}
        if env.get("CARRIER_LATENCY", "").strip():
            values["latency"] = LatencySpec.parse(env["CARRIER_LATENCY"])
        if env.get("CARRIER_ERROR_RATE", "").strip():
            values["error_rate"] = parse_rate(env["CARRIER_ERROR_RATE"])
        if env.get("CARRIER_SEED", "").strip():
            values["seed"] = parse_seed(env["CARRIER_SEED"])
        return cls(**values)


def parse_rate(raw: str, var: str = "CARRIER_ERROR_RATE") -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise CarrierConfigError(f"{var}={raw!r} is not valid; allowed values: a number 0..1")
    return value


def parse_seed(raw: str, var: str = "CARRIER_SEED") -> int:
    try:
        return int(raw)
    except ValueError:
        raise CarrierConfigError(
            f"{var}={raw!r} is not valid; allowed values: an integer") from None


def tracking_body(tracking_id: str) -> Dict[str, Any]:
    """The deterministic answer for one tracking id: the engine's ``tracking_for``, so
    HTTP answers equal the in-process carrier's on every run and toggle."""
    t = tracking_for(tracking_id)
    return {"tracking_id": t.tracking_id, "status": t.status, "location": t.location,
            "eta": t.eta}


def create_carrier_app(config: CarrierConfig) -> web.Application:
    """The carrier API. Its delay and failure draws are a function of (seed, tracking id),
    not of the order of calls: the lab compares variants with common random numbers
    (the same messages in the same order), and one carrier serves every variant, so a
    shared draw sequence would give each variant different downstream latencies for the
    same messages. Keyed by id, the same message meets the same carrier everywhere."""
    rng = random.Random(config.seed)
    delay = config.latency.sampler(rng)
    counts = {"requests": 0, "errors": 0}

    async def track(request: web.Request) -> web.Response:
        tracking_id = request.match_info["tracking_id"]
        counts["requests"] += 1
        rng.seed(zlib.crc32(("%d/%s" % (config.seed, tracking_id)).encode()))
        wait = delay()
        fail = config.error_rate > 0 and rng.random() < config.error_rate
        if wait > 0:
            await asyncio.sleep(wait)
        if not TRACKING_RE.fullmatch(tracking_id):
            return web.json_response({"error": "unknown_tracking_id",
                                      "detail": "tracking ids look like TRK0123456789"},
                                     status=404)
        if fail:
            counts["errors"] += 1
            return web.json_response({"error": "carrier_unavailable",
                                      "detail": "injected failure (CARRIER_ERROR_RATE)"},
                                     status=503)
        return web.json_response(tracking_body(tracking_id))

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "latency": str(config.latency),
                                  "error_rate": config.error_rate, "seed": config.seed,
                                  "pid": os.getpid(), **counts})

    app = web.Application()
    app.router.add_get("/track/{tracking_id}", track)
    app.router.add_get("/healthz", healthz)
    return app
