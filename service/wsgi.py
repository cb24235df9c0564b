"""Gunicorn entry point: ``gunicorn service.wsgi:app_factory --worker-class
aiohttp.GunicornWebWorker -w N`` (see deploy/gunicorn.conf.py).

Each worker calls ``app_factory`` once, reading the same environment.
"""

from __future__ import annotations

from aiohttp import web

from service.app import create_app
from service.config import ServiceConfig
from service.runtime import configure_logging


async def app_factory() -> web.Application:
    """Build this worker's app from the environment (one ServiceConfig per worker)."""
    config = ServiceConfig.from_env()
    configure_logging(config)
    return create_app(config)
