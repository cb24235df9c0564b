"""The locustfile, run by Locust itself in a subprocess (never imported here: gevent)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"
ROUTES = {"/api/chat", "/api/faq/search", "/api/faq/{id}", "/api/orders/{order_id}"}

pytestmark = pytest.mark.slow


def _locust_cmd() -> list:
    exe = shutil.which("locust")
    return [exe] if exe else [sys.executable, "-m", "locust"]


def _run(url: str, tmp: Path, extra_env: dict, *args: str) -> tuple:
    env = dict(os.environ)
    env.update({"PYTHONPATH": str(ROOT), "PERFLAB_WAIT": "constant:0.05",
                "PERFLAB_LOCUST_META": str(tmp / "meta.json"), **extra_env})
    cmd = [*_locust_cmd(), "-f", str(LOCUSTFILE), "--host", url, "--headless",
           "--json-file", str(tmp / "stats"), "--csv", str(tmp / "stats"), "--only-summary",
           "--exit-code-on-error", "0", *args]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stats = json.loads((tmp / "stats.json").read_text())
    meta = json.loads((tmp / "meta.json").read_text())
    return {e["name"]: e for e in stats}, meta, proc


def test_headless_run_groups_routes_with_sub_ms_buckets(trivial_server, tmp_path):
    url = trivial_server()
    stats, meta, _ = _run(url, tmp_path, {}, "-u", "8", "-r", "8", "-t", "4s")
    assert set(stats) >= ROUTES
    for name in ROUTES:
        assert stats[name]["num_requests"] > 0, name
        assert stats[name]["num_failures"] == 0, name
    # Locust's own bucketing keeps integer ms below 100 ms; ours keeps 0.1 ms there.
    keys = [float(k) for k in stats["/api/chat"]["response_times"]]
    assert any(not k.is_integer() for k in keys)
    assert all(abs(k * 10 - round(k * 10)) < 1e-6 for k in keys if k < 100)
    assert meta["fine_buckets"] is True and meta["runner"] == "LocalRunner"
    assert isinstance(meta["generator_saturated"], bool)
    assert meta["cpu_percent"] is not None and meta["cpu_percent"] >= 0
    assert (tmp_path / "stats_stats.csv").exists()


def test_shape_from_env_and_failed_replies(trivial_server, tmp_path):
    # every 4th chat reply lacks "intent": those are failures, not successes
    url = trivial_server("--bad-every", "4")
    env = {"PERFLAB_SHAPE": "spike", "PERFLAB_BASE_USERS": "2", "PERFLAB_SPIKE_USERS": "6",
           "PERFLAB_SPIKE_AT": "1s", "PERFLAB_SPIKE_LEN": "1s", "PERFLAB_DURATION": "3s",
           "PERFLAB_WEIGHT_FAQ": "0", "PERFLAB_WEIGHT_ORDERS": "0"}
    stats, meta, _ = _run(url, tmp_path, env)
    assert set(stats) == {"/api/chat"}
    chat = stats["/api/chat"]
    assert chat["num_requests"] > 0 and 0 < chat["num_failures"] < chat["num_requests"]
    assert meta["shape"].startswith("spike") and meta["max_users"] == 6
    assert meta["weights"]["FaqBrowser"] == 0
