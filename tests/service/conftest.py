"""Fixtures for the service tests: small real data, real processes, a real Redis.

Every process listens on loopback; every Redis key lives under a per-test
prefix that is deleted afterwards. REDIS_URL (default redis://127.0.0.1:6379/0)
points at the shared Redis; tests that kill Redis start their own redis-server.
"""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

import pytest

from engine import EngineConfig
from service.config import ServiceConfig

from .svc_helpers import (
    REDIS_URL,
    SMALL_DATA,
    Proc,
    delete_prefix,
    free_port,
    redis_available,
    wait_http,
)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small data set, generated once for the session (every process reuses it)."""
    path = tmp_path_factory.mktemp("perflab-data")
    from engine import Bot

    Bot(EngineConfig.from_env(dict(SMALL_DATA, PERFLAB_DATA_DIR=str(path)))).close()
    return path


@pytest.fixture(scope="session")
def carrier_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real carrier API process with a short fixed latency."""
    port = free_port()
    env = dict(os.environ, CARRIER_LATENCY="fixed:2", CARRIER_ERROR_RATE="0")
    proc = Proc([sys.executable, "-m", "service.carrier", "--port", str(port)], env,
                tmp_path_factory.mktemp("carrier"), "carrier")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/healthz", 30, proc.popen)
        yield url
    finally:
        proc.stop()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"perflab-test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    if redis_available():
        delete_prefix(REDIS_URL, prefix)


@pytest.fixture
def base_env(data_dir: Path, carrier_url: str, redis_prefix: str) -> Dict[str, str]:
    """Environment for a service process: baseline toggles, small data, quiet logs."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IR_", "RATE_", "GZIP", "BATCHING", "CONCURRENCY", "JSON_"))}
    env.update(SMALL_DATA)
    env.update({"PERFLAB_DATA_DIR": str(data_dir), "CARRIER_URL": carrier_url,
                "REDIS_URL": REDIS_URL, "REDIS_PREFIX": redis_prefix,
                "LOG_LEVEL": "WARNING", "ACCESS_LOG": "0", "PYTHONUNBUFFERED": "1"})
    return env


@pytest.fixture
def make_config(data_dir: Path, carrier_url: str, redis_prefix: str) -> Any:
    """Build a ServiceConfig for in-process apps: small data, test Redis prefix."""

    def make(engine: Optional[Dict[str, Any]] = None, **service: Any) -> ServiceConfig:
        eng = EngineConfig.from_env(dict(SMALL_DATA, PERFLAB_DATA_DIR=str(data_dir),
                                         CARRIER_URL=carrier_url, REDIS_URL=REDIS_URL,
                                         REDIS_PREFIX=redis_prefix))
        if engine:
            eng = eng.replace(**engine)
        defaults: Dict[str, Any] = {"log_level": "WARNING", "access_log": False}
        defaults.update(service)
        return replace(ServiceConfig(engine=eng), **defaults)

    return make


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path
