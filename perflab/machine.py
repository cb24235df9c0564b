"""What the machine is and what it offers: metadata for run.json, and the needs
of variants (Redis, PyPy, cores) checked before anything is measured."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from .procs import Child, ProcessGroup, free_port

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("aiohttp", "redis", "locust", "hdrhistogram", "psutil", "uvloop", "orjson",
            "pandas", "matplotlib", "gunicorn")
PYPY_PACKAGES = ("aiohttp>=3.9", "redis>=5.0", "prometheus_client>=0.17")  # the service's
# pyperf for perflab.micro, without its dependency psutil: pyperf only uses it when
# importable, and psutil's C extension needs pypy3-dev and a compiler to build on PyPy
PYPY_NODEPS = ("pyperf>=2.6,<3",)


def machine_info() -> Dict[str, Any]:
    """Cores, CPU model, memory, Python and package versions, git commit."""
    info: Dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "cpus_usable": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else None,
        "cpu_model": _cpu_model(),
        "mem_gb": _mem_gb(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "hostname": platform.node(),
        "packages": {},
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain")),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    for name in PACKAGES:
        try:
            info["packages"][name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            info["packages"][name] = None
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_gb() -> Optional[float]:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                             timeout=5)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.TimeoutExpired):
        return ""


# ---------------------------------------------------------------- Redis
def redis_answers(url: str, timeout: float = 0.5) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


@dataclass
class RedisSupply:
    """Where the run's Redis comes from: the given URL, one the lab started, or none."""

    url: Optional[str]
    started: Optional[Child] = None
    reason: str = ""  # why there is none


def ensure_redis(url: str, group: ProcessGroup, workdir: Path) -> RedisSupply:
    """Use Redis at ``url``; else start ``redis-server`` on a free loopback port; else none."""
    if redis_answers(url):
        return RedisSupply(url)
    server = shutil.which("redis-server")
    if server is None:
        return RedisSupply(None, reason="no Redis at %s and redis-server is not installed "
                                        "(apt-get install redis-server)" % url)
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    child = group.start("redis", [server, "--port", str(port), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", "no", "--dir", str(workdir)],
                        dict(os.environ))
    started_url = "redis://127.0.0.1:%d/0" % port
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if redis_answers(started_url):
            return RedisSupply(started_url, child)
        if not child.alive():
            break
        time.sleep(0.1)
    group.stop(child)
    return RedisSupply(None, reason="redis-server did not start: %s"
                       % " | ".join(child.last_lines(5)))


# ---------------------------------------------------------------- PyPy
def pypy_venv_dir() -> Path:
    return Path.home() / ".cache" / "perflab" / "pypy-venv"


def ensure_pypy(log: Callable[[str], None] = lambda s: None,
                venv: Optional[Path] = None) -> Tuple[Optional[Path], str]:
    """A PyPy interpreter with PYPY_PACKAGES and PYPY_NODEPS: (python path, "") or (None, why).

    Debian's pypy3 (Python 3.9) plus pypy3-venv; the venv is made once and cached.
    Its marker file lists the packages it was made with, so a venv made before a
    package joined the lists (pyperf) gets the new list installed, once.
    """
    venv = venv or pypy_venv_dir()
    python = venv / "bin" / "python"
    marker = venv / ".perflab-ready"
    wanted = "\n".join(PYPY_PACKAGES + PYPY_NODEPS) + "\n"
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python, ""
    if not python.exists():
        pypy = shutil.which("pypy3")
        if pypy is None:
            return None, "pypy3 is not installed (apt-get install pypy3 pypy3-venv)"
        log("creating the PyPy venv in %s (once; about a minute)" % venv)
        made = subprocess.run([pypy, "-m", "venv", str(venv)], capture_output=True, text=True)
        if made.returncode != 0:
            return None, "pypy3 -m venv failed (is pypy3-venv installed?): %s" % (
                made.stderr.strip().splitlines()[-1:] or "")
    else:
        log("updating the PyPy venv in %s: %s" % (venv, wanted.replace("\n", " ")))
    for extra, packages in (((), PYPY_PACKAGES), (("--no-deps",), PYPY_NODEPS)):
        inst = subprocess.run([str(python), "-m", "pip", "install", "-q", *extra, *packages],
                              capture_output=True, text=True)
        if inst.returncode != 0:
            tail = (inst.stderr or inst.stdout).strip().splitlines()[-3:]
            return None, "pip install into the PyPy venv failed: %s" % " | ".join(tail)
    marker.write_text(wanted)
    return python, ""


# ---------------------------------------------------------------- pinning
@dataclass(frozen=True)
class Pinning:
    """Which CPUs the service and the load generator get."""

    service: Tuple[int, ...]
    generator: Tuple[int, ...]
    note: str = ""

    def to_dict(self) -> Dict[str, Any]:
        return {"service": list(self.service), "generator": list(self.generator),
                "note": self.note}


def plan_pinning(instances: int = 1) -> Pinning:
    """Service on the first CPUs, generator (and carrier) on the last one."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2:
        return Pinning((), (), "one CPU: service and generator share it (figures are "
                               "generator-contaminated)")
    generator = (cpus[-1],)
    service = tuple(cpus[:-1][:max(1, instances)])
    note = ""
    if instances > len(cpus) - 1:
        note = "%d instances share %d CPU(s)" % (instances, len(service))
    return Pinning(service, generator, note)


@dataclass
class Capabilities:
    """What this run can offer variants; reasons for what it cannot."""

    redis_url: Optional[str]
    redis_reason: str
    pypy_python: Optional[Path]
    pypy_reason: str
    cores: int
    missing: Dict[str, str] = field(default_factory=dict)

    def unmet(self, needs: Tuple[str, ...]) -> List[str]:
        reasons: List[str] = []
        for need in needs:
            if need == "redis" and self.redis_url is None:
                reasons.append(self.redis_reason)
            elif need == "pypy" and self.pypy_python is None:
                reasons.append(self.pypy_reason)
            elif need.startswith("cores>="):
                n = int(need.split(">=")[1])
                if self.cores < n:
                    reasons.append("needs %d CPUs (one per instance plus one for the load "
                                   "generator); this machine lets the lab use %d"
                                   % (n, self.cores))
        return reasons
