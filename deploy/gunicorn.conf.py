"""Gunicorn settings for N aiohttp workers of the service.

    gunicorn service.wsgi:app_factory -c deploy/gunicorn.conf.py

Service toggles come from the environment exactly as for ``python -m service``
(read once here to validate them and pick the worker class, and once per worker
by ``app_factory``). Deployment knobs: GUNICORN_BIND (default 127.0.0.1:8080),
WEB_CONCURRENCY (workers, default 2). No preload: each worker opens its own
SQLite, Redis and carrier connections after the fork.

Metrics: prometheus_client's multiprocess mode, so that a scrape of /metrics (which
reaches one worker) covers every worker. PROMETHEUS_MULTIPROC_DIR is the folder the
workers keep their values in; when it is not set, a fresh temporary one is made here
(and removed when gunicorn exits). It is emptied at start (stale files of an earlier
master would be counted), and a worker that exits is marked dead (``child_exit``) so
its live gauges drop out while its counters stay counted.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

_OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_METRICS_DIR:  # before anything imports prometheus_client: it reads it at import
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="perflab-prom-")
_METRICS_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"]

from service.config import ConfigError, ServiceConfig  # noqa: E402
from service.runtime import check_runnable  # noqa: E402

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


def on_starting(server):  # type: ignore[no-untyped-def]
    """Empty the metrics folder: files of an earlier master would be counted as ours."""
    os.makedirs(_METRICS_DIR, exist_ok=True)
    for name in os.listdir(_METRICS_DIR):
        if name.endswith(".db"):
            os.remove(os.path.join(_METRICS_DIR, name))


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """A worker is gone: its live gauges leave the scrape (its counters remain)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, _METRICS_DIR)


def on_exit(server):  # type: ignore[no-untyped-def]
    if _OWN_METRICS_DIR:
        shutil.rmtree(_METRICS_DIR, ignore_errors=True)
