"""Clean-up that holds, with real processes: SIGINT, a double SIGINT, SIGTERM and SIGKILL of
``perflab run`` while the open-loop generator is measuring.

Survivors are found the way an operator would: every child of the lab carries
PERFLAB_CHILD=<orchestrator pid> in its environment, read from /proc/*/environ.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from perflab.procs import MARK
from perflab.results import RunMeta, read_rows

from .test_run import perflab, write_plan

pytestmark = pytest.mark.slow


def marked(pid: int) -> List[Tuple[int, str]]:
    """(pid, command line) of every live process carrying ``MARK=pid``."""
    needle = ("%s=%d" % (MARK, pid)).encode()
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.append((int(entry.name), cmd.strip()))
    return out


def start_measuring(tmp_path: Path, env: Dict[str, str]) -> Tuple[subprocess.Popen, Path]:
    """perflab run of a long fixed-rate phase, returned once the generator is sending."""
    plan = write_plan(tmp_path, ["baseline"], duration=30, repeats=2)
    proc = perflab("run", "--plan", str(plan), "--out", str(tmp_path / "runs"),
                   "--no-report", env=env)
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        cmds = [c for _, c in marked(proc.pid)]
        if any("loadtests.openloop" in c for c in cmds) and any("-m service " in c + " "
                                                                 for c in cmds):
            break
        if proc.poll() is not None:
            pytest.fail("perflab exited early: %s" % proc.stderr.read()[-3000:])
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("the generator never started")
    time.sleep(2.5)  # past the warm-up: measuring
    run_dir = next((tmp_path / "runs").iterdir())
    return proc, run_dir


def no_survivor_within(pid: int, seconds: float) -> List[Tuple[int, str]]:
    deadline = time.monotonic() + seconds
    left = marked(pid)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = marked(pid)
    return left


def assert_interrupted_run(run_dir: Path, err: str) -> None:
    meta = RunMeta.load(run_dir)
    assert meta.interrupted and not meta.complete and meta.ended_at, meta
    assert not (run_dir / "run.json.tmp").exists()
    json.loads((run_dir / "run.json").read_text())  # whole, not half-written
    assert "Traceback" not in err, err[-3000:]


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_generator_first_and_keeps_its_row(
        tmp_path: Path, env: Dict[str, str], how: str) -> None:
    proc, run_dir = start_measuring(tmp_path, env)
    if how == "SIGINT":
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    else:
        os.kill(proc.pid, signal.SIGTERM)  # what a CI runner or systemd does
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 130, err[-3000:]
    assert_interrupted_run(run_dir, err)
    assert marked(proc.pid) == []
    # the measurement in progress: stopped before the service, so no connection errors
    rows = read_rows(run_dir)
    cut = [r for r in rows if r.status == "interrupted" and r.measurement == "fixed_rate"]
    assert len(cut) == 1, rows
    assert cut[0].requests > 0 and cut[0].errors == 0, cut[0]
    assert cut[0].p50_ms is not None and cut[0].p50_ms > 0


def test_a_second_ctrl_c_during_clean_up_is_harmless(tmp_path: Path,
                                                     env: Dict[str, str]) -> None:
    proc, run_dir = start_measuring(tmp_path, env)
    os.killpg(proc.pid, signal.SIGINT)
    # an impatient user: Ctrl-C again and again (the second one came 0.3 s later)
    # until perflab exits, so some certainly land while it stops children and saves
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
        try:
            os.killpg(proc.pid, signal.SIGINT)
        except ProcessLookupError:
            break
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 130, err[-3000:]
    assert "already stopping" in err
    assert_interrupted_run(run_dir, err)
    assert marked(proc.pid) == []


def test_sigkill_of_perflab_leaves_no_process_within_2_s(tmp_path: Path,
                                                         env: Dict[str, str]) -> None:
    proc, run_dir = start_measuring(tmp_path, env)
    children = marked(proc.pid)
    assert any("loadtests.openloop" in c for _, c in children), children
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    left = no_survivor_within(proc.pid, 2.0)
    for pid, _ in left:  # do not leak them into other tests, then fail
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert left == [], left
    # run.json stays readable: no end time, which check reports as "perflab was killed"
    meta = RunMeta.load(run_dir)
    assert meta.ended_at is None and not meta.complete
