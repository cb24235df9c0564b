"""Everything a measured service stands on, started one way for ``run``, ``serve`` and py-spy.

A ``Stack`` owns a ``ProcessGroup`` and brings up, on demand and once each:
Redis (the one at ``redis_url``, else a ``redis-server`` it starts), the PyPy
venv, the carrier API (the downstream with latency), and any number of service
processes of any variant. Every child goes through the group, so each gets the
parent-death signal, the child mark, its CPU pinning and a log file, and
``close()`` stops them all, newest first.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Mapping, Optional, Sequence, Tuple

from .machine import ROOT, RedisSupply, ensure_pypy, ensure_redis
from .procs import Child, ProcessGroup, free_port, wait_http
from .variants import Variant

CARRIER_PROBE = "/track/TRK0000000001"
READY_TIMEOUT_S = 120.0  # a first start may build the data set


def child_name(variant: str, repeat: int) -> str:
    """A file-system-safe name for a variant's process (logs, histograms)."""
    return "%s-r%d" % (variant.replace("+", "plus-").replace("@", "-").replace(":", "-"),
                       repeat)


@dataclass
class Stack:
    group: ProcessGroup
    workdir: Path
    show: Callable[[str], None]
    redis_url: str = "redis://127.0.0.1:6379/0"
    _redis: Optional[RedisSupply] = None
    _pypy: Optional[Tuple[Optional[Path], str]] = None
    carrier_url: str = ""
    carrier: Optional[Child] = None

    # ------------------------------------------------------------ supporting processes
    def redis(self) -> RedisSupply:
        """The Redis every variant shares (found or started once)."""
        if self._redis is None:
            self._redis = ensure_redis(self.redis_url, self.group, self.workdir / "redis")
            if self._redis.started is not None:
                self.show("no Redis at %s: started redis-server at %s"
                          % (self.redis_url, self._redis.url))
        return self._redis

    def pypy(self) -> Tuple[Optional[Path], str]:
        """(PyPy venv python, "") or (None, why)."""
        if self._pypy is None:
            self._pypy = ensure_pypy(self.show)
        return self._pypy

    def start_carrier(self, env: Mapping[str, str], latency: str, seed: int,
                      cpus: Sequence[int] = ()) -> str:
        """The carrier tracking API; its URL."""
        if self.carrier is not None and self.carrier.alive():
            return self.carrier_url
        port = free_port()
        child = self.group.start("carrier", [sys.executable, "-m", "service.carrier",
                                             "--port", str(port), "--latency", latency,
                                             "--seed", str(seed)], env, cpus=cpus, cwd=ROOT)
        url = "http://127.0.0.1:%d" % port
        wait_http(url + CARRIER_PROBE, child, 30, accept=lambda s: s in (200, 404))
        self.carrier, self.carrier_url = child, url
        return url

    # ------------------------------------------------------------ services under test
    def python_for(self, v: Variant) -> str:
        if v.interpreter != "pypy":
            return sys.executable
        python, why = self.pypy()
        if python is None:
            raise RuntimeError("%s needs PyPy: %s" % (v.name, why))
        return str(python)

    def service_env(self, base: Mapping[str, str], v: Variant, prefix: str) -> Dict[str, str]:
        """``base`` + the variant's toggles + where Redis and the carrier are."""
        env = dict(base)
        env.update(v.env)
        if self.carrier_url:
            env["CARRIER_URL"] = self.carrier_url
        if self._redis is not None and self._redis.url:
            env["REDIS_URL"] = self._redis.url
        env["REDIS_PREFIX"] = prefix  # a fresh key space: every process starts cold
        env.setdefault("DATA_SEED", "42")
        if v.interpreter == "pypy":
            env["PYTHONPATH"] = str(ROOT)
        return env

    def start_service(self, v: Variant, env: Mapping[str, str], name: str,
                      cpus: Sequence[int] = (), instances: int = 1,
                      port: Optional[int] = None, wait: bool = True) -> Tuple[Child, str]:
        """One service (``instances`` > 1: gunicorn with that many aiohttp workers)."""
        port = port or free_port()
        python = self.python_for(v)
        if instances > 1:
            env = dict(env, WEB_CONCURRENCY=str(instances),
                       GUNICORN_BIND="127.0.0.1:%d" % port)
            argv = [python, "-m", "gunicorn", "service.wsgi:app_factory", "-c",
                    str(ROOT / "deploy" / "gunicorn.conf.py")]
        else:
            argv = [python, "-m", "service", "--host", "127.0.0.1", "--port", str(port)]
        child = self.group.start(name, argv, env, cpus=cpus, cwd=ROOT)
        url = "http://127.0.0.1:%d" % port
        if wait:
            wait_http(url + "/healthz", child, READY_TIMEOUT_S)
        return child, url

    def stop(self, child: Child) -> None:
        self.group.stop(child)

    def close(self) -> None:
        self.group.stop_all()


def base_env(extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """This process's environment without the child mark, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFLAB_CHILD")}
    env.update(dict(extra or {}))
    return env
