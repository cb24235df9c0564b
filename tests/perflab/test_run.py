"""``perflab run`` for real: services, generator and Redis as processes on loopback.

A tiny plan over small data keeps each run to seconds. The Ctrl-C and
killed-service tests check what matters when things go wrong: partial results
kept, the run marked, and no process left behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import psutil
import pytest

from perflab.procs import MARK
from perflab.results import RunMeta, read_rows, read_samples
from perflab.rounds import NOT_MEASURED

ROOT = Path(__file__).resolve().parents[2]

TINY = """
name = "tiny"
variants = {variants}
rates = [15]
duration_s = {duration}
warmup_s = 0.5
repeats = {repeats}
orders_rate = 15
orders_duration_s = 1
classify_messages = 200
profile_messages = {profile}
capacity_for = ["baseline"]
locust_users = {locust}
locust_duration_s = 3
locust_wait = "constant:0.2"
locust_for = ["baseline"]
[data_env]
ORDERS_COUNT = "2000"
FAQ_ARTICLES = "200"
PRODUCTS_COUNT = "60"
CUSTOMERS_COUNT = "300"
PERFLAB_DATA_DIR = "{data}"
[capacity]
start_rate = 15
factor = 4
budget_s = 4
probe_s = 1
warmup_s = 0.3
bisect_steps = 0
"""


def write_plan(tmp_path: Path, variants: List[str], duration: float = 1.5,
               repeats: int = 1, profile: int = 0, locust: int = 0) -> Path:
    data = tmp_path / "data"
    f = tmp_path / "plan.toml"
    f.write_text(TINY.format(variants=json.dumps(variants), duration=duration, data=data,
                             repeats=repeats, profile=profile, locust=locust))
    return f


def perflab(*args: str, env: Dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "perflab.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def children_of(pid: int) -> List[psutil.Process]:
    """Processes started by the orchestrator ``pid`` (they carry its pid in PERFLAB_CHILD)."""
    out = []
    for p in psutil.process_iter(["pid"]):
        try:
            if p.environ().get(MARK) == str(pid):
                out.append(p)
        except (psutil.Error, OSError):
            continue
    return out


@pytest.mark.slow
def test_tiny_plan_writes_a_complete_run(tmp_path: Path, env: Dict[str, str]) -> None:
    plan = write_plan(tmp_path, ["baseline", "+redis_cache", "+instances", "baseline@aa"],
                      profile=200, locust=4)
    proc = perflab("run", "--plan", str(plan), "--out", str(tmp_path / "runs"),
                   "--no-report", env=env)
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-3000:]
    run_dir = Path(out.strip().splitlines()[-1].split(": ", 1)[1])
    meta = RunMeta.load(run_dir)
    assert meta.complete and not meta.interrupted and not meta.failures
    assert meta.machine["cpu_count"] and meta.machine["packages"]["aiohttp"]
    assert {s["variant"] for s in meta.schedule} == {"baseline", "+redis_cache", "baseline@aa"} \
        | ({"+instances"} if len(os.sched_getaffinity(0)) >= 3 else set())
    if len(os.sched_getaffinity(0)) < 3:
        assert meta.skipped == [{"variant": "+instances", "reason": meta.skipped[0]["reason"]}]
        assert "needs 3 CPUs" in meta.skipped[0]["reason"]
    assert meta.configs["+redis_cache"]["engine"]["IR_CACHE_BACKEND"] == "redis"
    rows = read_rows(run_dir)
    kinds = {(r.variant, r.measurement) for r in rows}
    assert ("baseline", "capacity") in kinds and ("+redis_cache", "capacity") not in kinds
    for variant in ("baseline", "+redis_cache", "baseline@aa"):
        assert {(variant, m) for m in ("fixed_rate", "orders", "classify")} <= kinds
    fixed = [r for r in rows if r.measurement == "fixed_rate"]
    for r in fixed:
        assert r.status == "ok" and r.requests > 0 and r.p50_ms and r.p99_ms >= r.p50_ms
        assert r.rss_peak_mb and r.rss_peak_mb > 10 and r.generator_cpu_pct is not None
        assert (run_dir / r.raw_file).exists()
    closed = [r for r in rows if r.measurement == "locust"]
    assert [(r.variant, r.load_model) for r in closed] == [("baseline", "closed")]
    assert closed[0].status == "ok" and closed[0].requests > 0 and closed[0].target_rate == 4
    assert closed[0].errors == 0 and closed[0].p50_ms and closed[0].p95_ms >= closed[0].p50_ms
    assert closed[0].throughput_rps > 0 and closed[0].rss_peak_mb
    assert (run_dir / closed[0].raw_file).exists()
    cap = next(r for r in rows if r.measurement == "capacity")
    assert cap.capacity_rps is not None and cap.capacity_rps >= 0
    assert all(r.classify_rate and r.classify_rate > 0 for r in rows
               if r.measurement == "classify")
    for name in ("baseline", "optimised"):  # for the report's "Where the time goes"
        assert (run_dir / "profiles" / name / "cprofile.prof").exists()
    samples = read_samples(run_dir)
    assert samples and {s.variant for s in samples} >= {"baseline", "+redis_cache"}
    assert children_of(proc.pid) == []


@pytest.mark.slow
def test_ctrl_c_keeps_partial_results_and_leaves_no_process(tmp_path: Path,
                                                            env: Dict[str, str]) -> None:
    plan = write_plan(tmp_path, ["baseline", "+order_index"], duration=20, repeats=2)
    proc = perflab("run", "--plan", str(plan), "--out", str(tmp_path / "runs"),
                   "--no-report", env=env)
    runs = tmp_path / "runs"
    deadline = time.monotonic() + 120
    rows: list = []
    while time.monotonic() < deadline:  # wait until a measurement has been written
        dirs = list(runs.glob("*/results.csv")) if runs.exists() else []
        if dirs and len(dirs[0].read_text().splitlines()) >= 2:
            break
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("no measurement within 120 s: %s" % proc.stderr.read()[-2000:])
    live = children_of(proc.pid)
    assert live, "the run should have a service and a carrier running"
    ports = [c.laddr.port for p in live for c in p.net_connections("tcp")
             if c.status == psutil.CONN_LISTEN]
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err
    run_dir = dirs[0].parent
    meta = RunMeta.load(run_dir)
    assert meta.interrupted and not meta.complete and meta.ended_at
    rows = read_rows(run_dir)
    assert rows and rows[0].status in ("ok", "interrupted")
    time.sleep(0.5)
    assert children_of(proc.pid) == []
    for p in live:
        assert not p.is_running() or p.status() == psutil.STATUS_ZOMBIE
    for port in ports:  # freed: nothing listens there any more
        assert not any(c.laddr.port == port and c.status == psutil.CONN_LISTEN
                       for c in psutil.net_connections("tcp"))


@pytest.mark.slow
def test_a_killed_service_is_a_failed_measurement_and_the_run_goes_on(
        tmp_path: Path, env: Dict[str, str]) -> None:
    plan = write_plan(tmp_path, ["baseline", "+order_index"], duration=4, repeats=1)
    proc = perflab("run", "--plan", str(plan), "--out", str(tmp_path / "runs"),
                   "--no-report", env=env)
    deadline = time.monotonic() + 120
    victim = None
    while time.monotonic() < deadline and victim is None:
        for p in children_of(proc.pid):
            try:
                cmd = p.cmdline()
            except psutil.Error:
                continue
            if cmd[1:3] == ["-m", "service"]:
                victim = p
        time.sleep(0.1)
    assert victim is not None, "no service process appeared"
    time.sleep(2.0)  # let it start measuring
    victim.kill()
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 1, err[-2000:]  # incomplete: one measurement failed
    run_dir = Path(out.strip().splitlines()[-1].split(": ", 1)[1])
    meta = RunMeta.load(run_dir)
    assert not meta.complete and meta.failures
    failed = [r for r in read_rows(run_dir) if r.status == "failed"]
    deaths = [r for r in failed if not r.failure.startswith(NOT_MEASURED)]
    # the block that saw the death carries it; any of its later blocks say they were not
    # measured, and only the death is a failure of the run
    assert len(deaths) == 1 and "exited with code -9 (killed by SIGKILL)" in deaths[0].failure
    assert all(r.variant == deaths[0].variant and r.repeat == deaths[0].repeat
               and "service had died" in r.failure for r in failed if r not in deaths)
    assert [f["variant"] for f in meta.failures] == [deaths[0].variant]
    failed = deaths
    first = failed[0].failure.splitlines()[0]  # what the console and Markdown show
    assert ("; last log line: " in first and first.split("; last log line: ")[1].strip()) \
        or first.endswith("is empty")
    assert "FAILED" in err and first in err
    survivor = "+order_index" if failed[0].variant == "baseline" else "baseline"
    assert any(r.variant == survivor and r.status == "ok" and r.measurement == "fixed_rate"
               for r in read_rows(run_dir))
    assert children_of(proc.pid) == []
