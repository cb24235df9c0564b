"""Fixtures for the profiling tools: small seeded data and variant environments.

The tools run for real (cProfile, line_profiler, memory_profiler in fresh
subprocesses, the service under py-spy) on SMALL data so the folder stays well
under a minute. No timing thresholds: the checks are that outputs exist and name
engine code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict

import pytest

from perflab.variants import resolve

SMALL_ENV = {"ORDERS_COUNT": "2000", "FAQ_ARTICLES": "200", "PRODUCTS_COUNT": "60",
             "CUSTOMERS_COUNT": "300"}
MESSAGES = 200


@pytest.fixture(scope="session")
def profile_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small data set for the folder (generated on first use, then reused)."""
    return tmp_path_factory.mktemp("profile-data")


@pytest.fixture
def variant_env(profile_data_dir: Path) -> Callable[[str], Dict[str, str]]:
    """``variant_env("baseline")``: the variant's env over the small data set."""

    def make(name: str) -> Dict[str, str]:
        env = dict(resolve(name).env)
        env.update(SMALL_ENV)
        env["PERFLAB_DATA_DIR"] = str(profile_data_dir)
        return env

    return make
