"""A synthetic run (known effects) and its report, built once per test module."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports.commands import ReportPaths, report_command

from .fake_run import make_run


@pytest.fixture(scope="module")
def fake_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def report(fake_run: Path) -> ReportPaths:
    return report_command(fake_run)
