"""Fixtures shared by every test folder: a real Redis, small seeded data, a carrier stub.

Redis is a real server. ``REDIS_URL`` (default redis://127.0.0.1:6379/0) is
used when it answers; otherwise a ``redis-server`` is started on a free port
for the session. When neither works the Redis tests skip locally but FAIL
under ``CI=true``: CI must exercise them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from engine.carrier import tracking_for
from engine.config import EngineConfig
from perflab.machine import redis_answers

SMALL = {"n_products": 60, "n_customers": 300, "n_orders": 2000, "n_faq": 200}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if redis_answers(url):
        yield url
        return
    server = shutil.which("redis-server")
    if server is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: Redis at %s is unreachable and redis-server is missing" % url)
        pytest.skip("no Redis at %s and no redis-server installed" % url)
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "redis://127.0.0.1:%d/0" % port
    deadline = time.monotonic() + 10
    while not redis_answers(url):
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("started redis-server on port %d but it never answered" % port)
        time.sleep(0.05)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A unique key prefix; every key under it is deleted afterwards."""
    import redis

    prefix = "perflab-test-%s:" % uuid.uuid4().hex[:12]
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder shared by the session's tests (generated once, small sizes)."""
    return tmp_path_factory.mktemp("perflab-data")


@pytest.fixture
def small_config(data_dir: Path) -> EngineConfig:
    """Baseline toggles over small seeded data."""
    return EngineConfig(data_dir=data_dir, **SMALL)  # type: ignore[arg-type]


class _CarrierHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if not self.path.startswith("/track/"):
            self.send_error(404)
            return
        body = json.dumps(tracking_for(self.path[len("/track/"):]).to_dict()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def carrier_url() -> Iterator[str]:
    """A real HTTP carrier stub on loopback serving engine.carrier.tracking_for."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CarrierHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
