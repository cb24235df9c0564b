"""Fixtures for the orchestrator's tests: the environment a real ``perflab run`` gets."""

from __future__ import annotations

import os
from typing import Dict

import pytest


@pytest.fixture
def env(redis_url: str) -> Dict[str, str]:
    """The caller's environment with a real Redis (tests/conftest.py finds or starts it)."""
    return dict(os.environ, REDIS_URL=redis_url, PYTHONUNBUFFERED="1")
