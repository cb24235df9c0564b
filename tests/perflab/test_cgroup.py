"""CPU budgets on real cgroups: the quota holds a busy process back, and no group is left
behind, however the block ends. Skipped (with the reason) only where the machine has no
writable cgroup CPU controller; CI runs as root with one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from perflab.cgroup import (
    CpuBudget,
    Mechanism,
    cpu_budget_support,
    leftover_groups,
    remove_stale,
)

MECH, WHY = cpu_budget_support()
pytestmark = pytest.mark.skipif(MECH is None, reason="no CPU-quota cgroup here: %s" % WHY)


def busy() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def test_quota_throttles_and_the_group_is_removed() -> None:
    assert MECH is not None
    proc = busy()
    try:
        with CpuBudget("test-quota", 0.2, 10_000, MECH) as budget:
            budget.attach(proc.pid)
            assert budget.members() == [proc.pid]
            time.sleep(0.5)
            stat = budget.stat()
            # a busy loop under a 20% quota is throttled in (nearly) every period
            assert stat.get("nr_throttled", 0) > 0
            assert budget.describe()["quota_us"] == 2000
            path = budget.path
        assert not path.exists()
        assert proc.poll() is None  # the budget moved it out; it never kills
    finally:
        proc.kill()
        proc.wait()
    assert leftover_groups(MECH, os.getpid()) == []


def test_an_exception_inside_still_removes_the_group() -> None:
    assert MECH is not None
    proc = busy()
    try:
        with pytest.raises(KeyboardInterrupt), CpuBudget("test-raise", 0.3, 10_000,
                                                            MECH) as budget:
            budget.attach(proc.pid)
            raise KeyboardInterrupt
        assert not budget.path.exists()
    finally:
        proc.kill()
        proc.wait()


def test_groups_of_a_dead_orchestrator_are_removed() -> None:
    assert MECH is not None
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = MECH.root / ("perflab-%d-left-over" % dead.pid)
    stale.mkdir()
    mine = CpuBudget("still-mine", 0.3, 10_000, MECH)
    mine.create()
    try:
        removed = remove_stale(MECH)
        assert stale in removed and not stale.exists()
        assert mine.path.exists()  # its owner (this process) is alive
    finally:
        mine.remove()
        if stale.exists():
            stale.rmdir()


def test_bad_budgets_are_refused() -> None:
    m = Mechanism(1, Path("/nonexistent"))
    with pytest.raises(ValueError):
        CpuBudget("x", 0.0, 10_000, m)
    with pytest.raises(ValueError):
        CpuBudget("x", 0.3, 100, m)
    with pytest.raises(ValueError):
        CpuBudget("../escape", 0.3, 10_000, m)
