"""Fixtures for the orchestrator's tests: the environment a real ``perflab run`` gets."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Dict, Iterator

import pytest

from perflab.machine import ensure_pypy
from perflab.procs import ProcessGroup


@pytest.fixture
def env(redis_url: str) -> Dict[str, str]:
    """The caller's environment with a real Redis (tests/conftest.py finds or starts it)."""
    return dict(os.environ, REDIS_URL=redis_url, PYTHONUNBUFFERED="1")


@pytest.fixture
def group(tmp_path: Path) -> Iterator[ProcessGroup]:
    """A process group whose children are all stopped when the test ends, failed or not."""
    g = ProcessGroup(tmp_path / "logs")
    try:
        yield g
    finally:
        g.stop_all()


@pytest.fixture
def pypy_python() -> Path:
    """The lab's PyPy venv python; skipped without pypy3, except in CI, where it fails."""
    if shutil.which("pypy3") is None:
        if os.environ.get("CI"):
            pytest.fail("pypy3 is not installed; CI must test the PyPy toggle")
        pytest.skip("pypy3 is not installed")
    python, why = ensure_pypy()
    assert python is not None, why
    return python
