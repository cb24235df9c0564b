"""Headless Chromium helpers: a screenshot of a report and a check that it rendered.

Uses Debian's ``chromium`` (or ``$PERFLAB_CHROMIUM``), run with a fresh profile
and no network services, so it works as root in containers.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--disable-dev-shm-usage")

_MARKER = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; });
  var ids = Array.prototype.slice.call(document.querySelectorAll('table'))
      .map(function (t) { return t.id || '-'; });
  document.body.setAttribute('data-perflab-images', String(imgs.length));
  document.body.setAttribute('data-perflab-loaded', String(ok.length));
  document.body.setAttribute('data-perflab-tables', ids.join(','));
});
</script>"""


def find_chromium() -> Optional[str]:
    """The Chromium binary: $PERFLAB_CHROMIUM, else chromium / chromium-browser /
    google-chrome on PATH."""
    env = os.environ.get("PERFLAB_CHROMIUM")
    if env:
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(args: List[str], timeout: float) -> Tuple[str, str]:
    binary = find_chromium()
    if binary is None:
        raise FileNotFoundError("no Chromium found (apt-get install -y chromium, or set "
                                "PERFLAB_CHROMIUM)")
    with tempfile.TemporaryDirectory(prefix="perflab-chromium-",
                                     ignore_cleanup_errors=True) as profile:
        cmd = [binary, *FLAGS, "--user-data-dir=%s" % profile, *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              check=False)
    if proc.returncode != 0:
        raise RuntimeError("chromium exited %d: %s" % (proc.returncode, proc.stderr[-2000:]))
    return proc.stdout, proc.stderr


def screenshot(html_path: Path, png_path: Path, width: int = 1400, height: int = 1000,
               timeout: float = 60.0) -> Path:
    """A PNG of the first screen (``width`` x ``height``) of a local HTML file."""
    html_path, png_path = Path(html_path).resolve(), Path(png_path).resolve()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    _run(["--window-size=%d,%d" % (width, height), "--virtual-time-budget=5000",
          "--screenshot=%s" % png_path, html_path.as_uri()], timeout)
    if not png_path.exists() or png_path.stat().st_size == 0:
        raise RuntimeError("chromium wrote no screenshot to %s" % png_path)
    return png_path


@dataclass(frozen=True)
class PageCheck:
    """What a headless browser saw: images (and how many decoded) and table ids."""

    images: int
    images_loaded: int
    tables: Tuple[str, ...]
    dom: str


def inspect_page(html_path: Path, timeout: float = 60.0) -> PageCheck:
    """Open a copy of ``html_path`` with a marker script and read back what loaded."""
    text = Path(html_path).read_text(encoding="utf-8")
    marked = text.replace("</body>", _MARKER + "</body>", 1)
    with tempfile.TemporaryDirectory(prefix="perflab-page-") as tmp:
        copy = Path(tmp) / "page.html"
        copy.write_text(marked, encoding="utf-8")
        dom, _ = _run(["--virtual-time-budget=5000", "--dump-dom", copy.as_uri()], timeout)

    def attr(name: str) -> str:
        m = re.search(r'%s="([^"]*)"' % name, dom)
        if m is None:
            raise RuntimeError("the page's load handler did not run (no %s)" % name)
        return m.group(1)

    tables = tuple(t for t in attr("data-perflab-tables").split(",") if t)
    return PageCheck(int(attr("data-perflab-images")), int(attr("data-perflab-loaded")),
                     tables, dom)
