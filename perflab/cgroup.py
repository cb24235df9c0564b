"""CPU budgets for service instances: a cgroup CPU quota, as ``docker run --cpus`` gives.

``docker run --cpus 0.3`` is a CFS bandwidth limit: every ``period`` the group may run
for ``0.3 * period`` of CPU time, then it is throttled until the next period. The lab
does the same with a cgroup of its own per instance, so that 1, 2 and 3 instances can
each get the same budget on one core of a small machine.

- cgroup v1: ``<cpu mount>/perflab-<pid>-<label>/cpu.cfs_period_us`` and
  ``cpu.cfs_quota_us``; processes are attached through ``cgroup.procs``.
- cgroup v2: ``<root>/perflab-<pid>-<label>/cpu.max`` ("quota period"), with ``+cpu``
  enabled in the root's ``cgroup.subtree_control``.

Every group is removed when its ``CpuBudget`` closes, however the block ends (Ctrl-C
included): processes still inside are moved back to the parent group (their owner
stops them; a budget never kills), then the directory is removed. Groups left by an
orchestrator that was SIGKILLed (no clean-up ran) carry its pid in their name and are
removed by ``remove_stale`` once that pid is gone.
"""

from __future__ import annotations

import errno
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

PREFIX = "perflab-"
V1_MOUNT = Path("/sys/fs/cgroup/cpu")
V2_ROOT = Path("/sys/fs/cgroup")
DEFAULT_PERIOD_US = 10_000  # see perflab/periods.py measure_periods: 10 ms keeps the tail
_NAME = re.compile(r"^perflab-(\d+)-[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Mechanism:
    """Where CPU budgets are made: cgroup ``version`` 1 or 2 under ``root``."""

    version: int
    root: Path

    def to_dict(self) -> Dict[str, Any]:
        return {"kind": "cgroup-v%d" % self.version, "root": str(self.root)}


def _mounts(fstype: str) -> List[Tuple[Path, List[str]]]:
    """(mount point, options) of every mount of ``fstype`` (cgroup or cgroup2)."""
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return []
    return [(Path(p[1]), p[3].split(",")) for p in (line.split() for line in lines)
            if len(p) >= 4 and p[2] == fstype]


def _v1_mount() -> Optional[Path]:
    """The cgroup v1 hierarchy holding the cpu controller (cpu or cpu,cpuacct)."""
    for root, options in _mounts("cgroup"):
        if "cpu" in options:
            return root
    return V1_MOUNT if (V1_MOUNT / "cpu.cfs_quota_us").exists() else None


def _v2_root() -> Optional[Path]:
    for root, _ in _mounts("cgroup2"):
        try:
            if "cpu" in (root / "cgroup.controllers").read_text().split():
                return root
        except OSError:
            continue
    return None


def cpu_budget_support() -> Tuple[Optional[Mechanism], str]:
    """(mechanism, "") when this process can make CPU-quota groups, else (None, why)."""
    v1 = _v1_mount()
    if v1 is not None:
        if os.access(v1, os.W_OK) and (v1 / "cpu.cfs_quota_us").exists():
            return Mechanism(1, v1), ""
        v1_reason = "cgroup v1 cpu controller at %s is not writable (run as root)" % v1
    else:
        v1_reason = "no cgroup v1 cpu controller"
    v2 = _v2_root()
    if v2 is not None:
        if os.access(v2, os.W_OK):
            return Mechanism(2, v2), ""
        return None, "%s; cgroup v2 at %s is not writable (run as root)" % (v1_reason, v2)
    return None, "%s and no cgroup v2 with the cpu controller" % v1_reason


class CpuBudget:
    """One cgroup with a CPU quota of ``cpus`` (0.3 = 30% of one core) per ``period_us``.

    Use as a context manager; ``attach(pid)`` moves a process in. On exit the group is
    emptied (processes go back to the parent group) and removed.
    """

    def __init__(self, label: str, cpus: float, period_us: int = DEFAULT_PERIOD_US,
                 mechanism: Optional[Mechanism] = None) -> None:
        if not 0 < cpus <= 1024:
            raise ValueError("cpus must be in (0, 1024], got %r" % cpus)
        if not 1000 <= period_us <= 1_000_000:
            raise ValueError("period_us must be in [1000, 1000000] (1 ms..1 s)")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", label):
            raise ValueError("label %r: letters, digits, '_', '.', '-' only" % label)
        if mechanism is None:
            mechanism, reason = cpu_budget_support()
            if mechanism is None:
                raise OSError(errno.EPERM, reason)
        self.mechanism = mechanism
        self.cpus = cpus
        self.period_us = int(period_us)
        self.quota_us = max(1000, round(cpus * period_us))  # the kernel's floor is 1 ms
        self.path = mechanism.root / ("%s%d-%s" % (PREFIX, os.getpid(), label))
        self.pids: List[int] = []

    # ------------------------------------------------------------------ lifetime
    def __enter__(self) -> CpuBudget:
        self.create()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()

    def create(self) -> None:
        if self.mechanism.version == 2:
            _enable_cpu_v2(self.mechanism.root)
        self.path.mkdir()
        try:
            if self.mechanism.version == 1:
                # period first: a quota larger than the old period's is refused on some kernels
                (self.path / "cpu.cfs_period_us").write_text(str(self.period_us))
                (self.path / "cpu.cfs_quota_us").write_text(str(self.quota_us))
            else:
                (self.path / "cpu.max").write_text("%d %d" % (self.quota_us, self.period_us))
        except BaseException:
            self.remove()
            raise

    def attach(self, pid: int) -> None:
        """Move process ``pid`` (all its threads) into the group."""
        (self.path / "cgroup.procs").write_text(str(pid))
        self.pids.append(pid)

    def members(self) -> List[int]:
        try:
            text = (self.path / "cgroup.procs").read_text()
        except OSError:
            return []
        return [int(x) for x in text.split()]

    def remove(self, timeout: float = 5.0) -> None:
        """Empty the group into its parent and remove it; idempotent."""
        remove_group(self.path, timeout)

    # ------------------------------------------------------------------ figures
    def stat(self) -> Dict[str, int]:
        """cpu.stat: nr_periods, nr_throttled, throttled time (ns in v1, usec in v2)."""
        out: Dict[str, int] = {}
        try:
            for line in (self.path / "cpu.stat").read_text().splitlines():
                key, _, value = line.partition(" ")
                if value.strip().isdigit():
                    out[key] = int(value)
        except OSError:
            pass
        return out

    def describe(self) -> Dict[str, Any]:
        """What run.json records about this budget."""
        return {"cpus": self.cpus, "period_us": self.period_us, "quota_us": self.quota_us,
                **self.mechanism.to_dict()}


def _enable_cpu_v2(root: Path) -> None:
    control = root / "cgroup.subtree_control"
    try:
        if "cpu" not in control.read_text().split():
            control.write_text("+cpu")
    except OSError as exc:
        raise OSError(exc.errno, "cannot enable the cpu controller in %s: %s"
                      % (control, exc.strerror)) from None


def remove_group(path: Path, timeout: float = 5.0) -> None:
    """Move every process of the group at ``path`` to its parent, then rmdir it."""
    if not path.exists():
        return
    parent_procs = path.parent / "cgroup.procs"
    deadline = time.monotonic() + timeout
    while True:
        try:
            pids = (path / "cgroup.procs").read_text().split()
        except OSError:
            pids = []
        for pid in pids:
            try:
                parent_procs.write_text(pid)
            except OSError:  # exited meanwhile
                pass
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                raise
        time.sleep(0.02)


def remove_stale(mechanism: Optional[Mechanism] = None) -> List[Path]:
    """Remove groups of orchestrators that are gone (a SIGKILL skips every clean-up)."""
    if mechanism is None:
        mechanism, _ = cpu_budget_support()
        if mechanism is None:
            return []
    removed = []
    for path in leftover_groups(mechanism):
        m = _NAME.match(path.name)
        if m is None or _alive(int(m.group(1))):
            continue
        remove_group(path)
        removed.append(path)
    return removed


def leftover_groups(mechanism: Optional[Mechanism] = None,
                    owner: Optional[int] = None) -> List[Path]:
    """The lab's groups that exist now (of ``owner``'s pid only, when given)."""
    if mechanism is None:
        mechanism, _ = cpu_budget_support()
        if mechanism is None:
            return []
    stem = PREFIX if owner is None else "%s%d-" % (PREFIX, owner)
    try:
        return sorted(p for p in mechanism.root.iterdir()
                      if p.is_dir() and p.name.startswith(stem))
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
