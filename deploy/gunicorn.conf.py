"""Gunicorn settings for N aiohttp workers of the service.

    gunicorn service.wsgi:app_factory -c deploy/gunicorn.conf.py

Service toggles come from the environment exactly as for ``python -m service``
(read once here to validate them and pick the worker class, and once per worker
by ``app_factory``). Deployment knobs: GUNICORN_BIND (default 127.0.0.1:8080),
WEB_CONCURRENCY (workers, default 2). No preload: each worker opens its own
SQLite, Redis and carrier connections after the fork.
"""

from __future__ import annotations

import os
import sys

from service.config import ConfigError, ServiceConfig
from service.runtime import check_runnable

try:
    _config = ServiceConfig.from_env()
    check_runnable(_config)
except ConfigError as _exc:
    sys.stderr.write(f"gunicorn service: configuration error: {_exc}\n")
    sys.exit(2)

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = ("aiohttp.GunicornUVLoopWebWorker" if _config.event_loop == "uvloop"
                else "aiohttp.GunicornWebWorker")
accesslog = None  # the service's ACCESS_LOG middleware writes the access log
errorlog = "-"
loglevel = "warning" if _config.log_level in ("WARNING", "ERROR", "CRITICAL") else "info"
timeout = 120  # the first worker may generate the data set before it answers
graceful_timeout = 10
keepalive = 75
preload_app = False


def when_ready(server):  # type: ignore[no-untyped-def]
    """Print the effective toggles once, like ``python -m service`` does."""
    print(f"perflab service (gunicorn, {workers} workers, {worker_class}) toggles:")
    for line in _config.describe().splitlines():
        print("  " + line)
    sys.stdout.flush()
