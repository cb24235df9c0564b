"""deploy/bench/compare.sh, the service-vs-trivial-handler benchmark, run for real but short.

It measures nothing here (one second per run on a shared machine); it checks that
the script starts every process, that wrk's load gets only 2xx answers from
every variant, and that the summary it prints has a rate for each.
"""

from __future__ import annotations

import os
import random
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from .svc_helpers import SMALL_DATA, which

REPO = Path(__file__).resolve().parents[2]
NAMES = ("baseline", "optimised", "optimised-redis-py", "trivial", "trivial-uvloop")

pytestmark = [pytest.mark.slow, pytest.mark.redis]


def _port_base() -> int:
    """A base port whose +1, +3, +5, +6, +10..+13 and +81 are all free."""
    for _ in range(50):
        base = random.randrange(20000, 60000)
        try:
            for off in (1, 3, 5, 6, 10, 11, 12, 13, 81):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", base + off))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port range found")


def test_compare_script_runs_every_variant(redis_url: str, data_dir: Path,
                                           tmp_path: Path) -> None:
    if which("wrk") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: wrk is missing (.ci/run installs it)")
        pytest.skip("wrk not installed (apt-get install wrk)")
    env = dict(os.environ, **SMALL_DATA)
    env.update({"OUT": str(tmp_path), "WARMUP": "1", "PORT_BASE": str(_port_base()),
                "REDIS_URL": redis_url, "PERFLAB_DATA_DIR": str(data_dir),
                "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")})
    proc = subprocess.run(["bash", str(REPO / "deploy" / "bench" / "compare.sh"), "1", "4"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    summary = proc.stdout.split("== summary: requests/s, p50")[1]
    rates = dict(re.findall(r"^(\S+)\s+([0-9.]+)\s+\S+\s+[0-9.]+%\s+[0-9.]+%$", summary, re.M))
    assert set(rates) == set(NAMES), summary
    assert all(float(r) > 0 for r in rates.values())
    for name in NAMES:
        report = (tmp_path / f"{name}.wrk").read_text()
        assert "Requests/sec" in report
        assert "Non-2xx" not in report and "Socket errors" not in report, (name, report)
    assert re.search(r"== optimised: idle RSS \d+ kB", proc.stdout)
    assert re.search(r"== optimised: RSS after load \d+ kB", proc.stdout)
