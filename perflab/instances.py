"""Service instances for the multi-instance phases: N ``python -m service`` processes,
started together, each on its own loopback port, children of a ``ProcessGroup``."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence

import psutil

from .machine import ROOT
from .procs import Child, ProcessGroup, free_port, wait_http


@dataclass
class Instance:
    name: str
    port: int
    child: Child

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    def cpu_seconds(self) -> float:
        """User + system CPU of the process so far (0 once it is gone)."""
        try:
            t = psutil.Process(self.child.pid).cpu_times()
        except psutil.Error:
            return 0.0
        return float(t.user + t.system)


def start_instances(group: ProcessGroup, envs: Sequence[Mapping[str, str]], name: str,
                    cpus: Optional[Sequence[int]] = None, python: str = sys.executable,
                    timeout: float = 120.0) -> List[Instance]:
    """Start one instance per env at once (start-up overlaps), return when all are ready."""
    out: List[Instance] = []
    for i, env in enumerate(envs):
        port = free_port()
        child = group.start("%s-%d" % (name, i + 1),
                            [python, "-m", "service", "--host", "127.0.0.1", "--port",
                             str(port)], env, cpus=cpus, cwd=ROOT)
        out.append(Instance("%s-%d" % (name, i + 1), port, child))
    for inst in out:
        wait_http(inst.url + "/healthz", inst.child, timeout)
    return out


def pin(pid: int, cpus: Sequence[int]) -> None:
    """Move a running process onto ``cpus``: every thread of it and of its children
    (gunicorn's workers), since affinity is per thread and inherited only at creation."""
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        try:
            proc.cpu_affinity(list(cpus))
            for thread in proc.threads():
                try:
                    psutil.Process(thread.id).cpu_affinity(list(cpus))
                except psutil.Error:
                    pass
        except psutil.Error:  # gone meanwhile
            pass


def flush_prefix(redis_url: str, prefix: str) -> int:
    """Delete every key under ``prefix`` (a cold shared cache for the next measurement)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        for i in range(0, len(keys), 500):
            client.delete(*keys[i:i + 500])
        return len(keys)
    finally:
        client.close()


def drain(url: str, timeout: float = 10.0) -> None:
    """Wait until ``url`` answers /healthz quickly again (the backlog of an overload)."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        t = time.perf_counter()
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/healthz", timeout=2) as r:
                r.read()
            if time.perf_counter() - t < 0.05:
                return
        except OSError:
            pass
        time.sleep(0.1)


def cpu_times(instances: Sequence[Instance]) -> Dict[str, float]:
    return {i.name: i.cpu_seconds() for i in instances}
