"""The application factory: ``create_app(config) -> web.Application``.

Everything with a lifetime (the engine with its Redis pools, SQLite
connections and carrier client; the loop-lag probe) is created in a
``cleanup_ctx`` generator, so clean-up runs only if start-up succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from typing import AsyncIterator

from aiohttp import web

from engine import Bot
from service.config import ServiceConfig
from service.inject import install as install_injections
from service.jsonlib import get_codec
from service.keys import BOT, CODEC, CONFIG, METRICS, RUNTIME, STARTED_AT
from service.metrics import Metrics
from service.middlewares import build_middlewares
from service.routes import describe_runtime, refresh_metrics, setup_routes

log = logging.getLogger("service")


def create_app(config: ServiceConfig) -> web.Application:
    """Build the app for one config; nothing is connected until start-up."""
    codec = get_codec(config.json_lib)
    metrics = Metrics(config.metrics_multiproc_dir or None)
    app = web.Application(middlewares=build_middlewares(config, codec, metrics),
                          client_max_size=config.max_body_bytes)
    app[CONFIG] = config
    app[CODEC] = codec
    app[METRICS] = metrics
    app[STARTED_AT] = time.time()
    app[RUNTIME] = describe_runtime()
    app.cleanup_ctx.append(engine_ctx)
    app.cleanup_ctx.append(loop_lag_ctx)
    # calibration only; nothing when no INJECT_* is set
    install_injections(app, config, metrics.injected.observe)
    setup_routes(app, codec)
    return app


async def engine_ctx(app: web.Application) -> AsyncIterator[None]:
    """Build the engine (it may generate data on first use) and close it on shutdown.

    Built on the loop thread, not in an executor: SQLite connections are bound
    to the thread that opened them, and the server does not listen until this
    returns, so blocking here delays readiness only.
    """
    config = app[CONFIG]
    start = time.perf_counter()
    bot = Bot(config.engine)
    log.info("engine ready in %.2fs", time.perf_counter() - start)
    app[BOT] = bot
    try:
        yield
    finally:
        aclose = getattr(bot, "aclose", None)
        if aclose is not None:
            result = aclose()
            if inspect.isawaitable(result):
                await result
        else:
            bot.close()


async def loop_lag_ctx(app: web.Application) -> AsyncIterator[None]:
    """Background probe: how late a timed sleep wakes up is the event loop's lag."""
    interval = app[CONFIG].loop_lag_interval
    metrics = app[METRICS]
    refresh_every = max(1, round(1.0 / interval)) if metrics.multiprocess_dir else 0

    async def probe() -> None:
        loop = asyncio.get_running_loop()
        n = 0
        while True:
            start = loop.time()
            await asyncio.sleep(interval)
            metrics.observe_lag(max(0.0, loop.time() - start - interval))
            n += 1
            if refresh_every and n % refresh_every == 0:  # other workers' scrapes see it
                refresh_metrics(app)

    task = asyncio.ensure_future(probe())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
