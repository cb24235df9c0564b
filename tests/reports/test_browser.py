"""The HTML report in headless Chromium: every image decodes, the tables are there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reports import screenshot
from reports.browser import find_chromium, inspect_page
from reports.commands import ReportPaths

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _chromium() -> None:
    if find_chromium() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: Chromium is missing (apt-get install -y chromium)")
        pytest.skip("no Chromium (apt-get install -y chromium)")


def test_images_load_and_tables_render(report: ReportPaths) -> None:
    page = inspect_page(report.html)
    assert page.images == 5
    assert page.images_loaded == page.images
    assert {"targets", "claims", "skipped", "failed", "saturated", "noise"} <= set(page.tables)
    assert page.tables[:2] == ("targets", "claims")  # the first screen


def test_screenshot_of_the_first_screen(report: ReportPaths, tmp_path: Path) -> None:
    png = screenshot(report.html, tmp_path / "first-screen.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1400, 1000)
