"""Known-effect injections: the lab's calibration of its own instrument.

A variant with ``INJECT_LATENCY_MS``, ``INJECT_CPU_MS`` or ``INJECT_RSS_MB``
costs a known amount more than the same service without, so the lab can check
that it recovers the truth inside its interval (DESIGN: "injected known
effects ... must be recovered with the truth inside their interval"):

- latency: each request awaits ``asyncio.sleep`` of that many ms, which adds latency
  and no CPU (the loop serves others meanwhile); the service records how long each
  wait really lasted (``perflab_injected_delay_seconds``);
- CPU: each request spins until this thread has used that many ms of CPU
  (``time.thread_time``, so time-sharing with other processes is not counted
  as the injected cost);
- memory: that many MB (10^6 bytes, the lab's MB) are written at start-up and
  held until shutdown, so every page is resident.

Internal paths (/healthz, /metrics, /api/config, /openapi.json) are exempt, so
the lab's own polling adds nothing. Installed by ``install(app, config)`` only
when an injection is on: the off path has no extra middleware at all.
Python 3.9-compatible.
"""

from __future__ import annotations

import asyncio
import time
from typing import AsyncIterator, Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from service.config import ServiceConfig
from service.middlewares import INTERNAL_PATHS

MB = 1_000_000  # the lab's unit (perflab.sampler: rss / 1e6)
PAGE = 4096


def burn_cpu(seconds: float, clock: Callable[[], float] = time.thread_time) -> float:
    """Spin until this thread has used ``seconds`` of CPU; the CPU seconds actually used."""
    start = clock()
    end = start + seconds
    now = start
    while now < end:
        now = clock()
    return now - start


def inject_middleware(latency_ms: float, cpu_ms: float,
                      realised: Callable[[float], None] = lambda s: None) -> Middleware:
    """Per request (internal paths exempt): ``cpu_ms`` of busy CPU, then ``latency_ms``
    awaited (``asyncio.sleep``). ``realised`` is told how long each wait actually lasted:
    the sleep, its timer's overshoot (epoll waits whole milliseconds) and the wait for
    the loop once it is due, which grows with load (mean 1.98 ms for a 1 ms sleep at
    100/s here). A sleep in the executor was tried instead: its wake-up waits for the GIL
    (5 ms switch interval) and it came out at 2.27 ms, with the hand-off's CPU on top."""
    latency_s = latency_ms / 1000.0
    cpu_s = cpu_ms / 1000.0

    @web.middleware
    async def inject(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in INTERNAL_PATHS:
            if cpu_s > 0:
                burn_cpu(cpu_s)
            if latency_s > 0:
                start = time.perf_counter()
                await asyncio.sleep(latency_s)
                realised(time.perf_counter() - start)
        return await handler(request)

    return inject


def hold_memory(mb: float) -> bytearray:
    """``mb`` MB written page by page (a fresh bytearray is zero pages, not yet resident)."""
    buf = bytearray(int(mb * MB))
    for offset in range(0, len(buf), PAGE):
        buf[offset] = 1
    return buf


def rss_ctx(mb: float) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx that holds ``mb`` MB from start-up to shutdown."""

    async def hold(app: web.Application) -> AsyncIterator[None]:
        held = hold_memory(mb)
        try:
            yield
        finally:
            del held

    return hold


def install(app: web.Application, config: ServiceConfig,
            realised: Callable[[float], None] = lambda s: None) -> None:
    """Add the injections the config turns on (nothing at all when none is);
    ``realised`` receives each injected sleep's real length (seconds)."""
    if config.inject_latency_ms > 0 or config.inject_cpu_ms > 0:
        app.middlewares.append(inject_middleware(config.inject_latency_ms,
                                                 config.inject_cpu_ms, realised))
    if config.inject_rss_mb > 0:
        app.cleanup_ctx.append(rss_ctx(config.inject_rss_mb))
