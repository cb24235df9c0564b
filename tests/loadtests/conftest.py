"""Fixtures for the load-generator tests: a trivial aiohttp server in its own process.

The server runs as a subprocess (``python -m loadtests.trivial_server --port 0``) so that a
stall it injects (a handler blocking its event loop) cannot stall the driver under test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator, List

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def subprocess_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def trivial_server() -> Iterator[Callable[..., str]]:
    """Start trivial servers: ``url = trivial_server("--stall-every", "10", ...)``."""
    procs: List[subprocess.Popen] = []

    def start(*args: str) -> str:
        proc = subprocess.Popen(
            [sys.executable, "-m", "loadtests.trivial_server", "--port", "0", *args],
            cwd=ROOT, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        procs.append(proc)
        deadline = time.monotonic() + 20
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("listening on "):
                return line.split()[-1].strip()
        proc.kill()
        raise RuntimeError(f"trivial server did not start: {proc.stdout.read()!r}")

    yield start
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
