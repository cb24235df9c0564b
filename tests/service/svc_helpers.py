"""Helpers for the service tests: small real data, real processes, a real Redis.

Every process listens on loopback; every Redis key lives under a per-test
prefix that is deleted afterwards. REDIS_URL (default redis://127.0.0.1:6379/0)
points at the shared Redis; tests that kill Redis start their own redis-server.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

REPO = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
SMALL_DATA = {"ORDERS_COUNT": "2000", "FAQ_ARTICLES": "200", "CUSTOMERS_COUNT": "300",
              "PRODUCTS_COUNT": "60"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_available(url: str = REDIS_URL) -> bool:
    try:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        client.ping()
        client.close()
        return True
    except Exception:
        return False


def delete_prefix(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def wait_http(url: str, timeout: float = 60.0, proc: Optional[subprocess.Popen] = None) -> None:
    """Poll ``url`` until it answers (any status) or the process dies."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


class Proc:
    """A real child process with its output in files, stopped with SIGTERM then SIGKILL."""

    def __init__(self, args: List[str], env: Dict[str, str], log_dir: Path, name: str) -> None:
        self.name = name
        self.out_path = log_dir / f"{name}.out"
        self.err_path = log_dir / f"{name}.err"
        self.out = open(self.out_path, "wb")  # noqa: SIM115 - closed in stop()
        self.err = open(self.err_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(args, env=env, cwd=str(REPO), stdout=self.out,
                                      stderr=self.err, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stdout(self) -> str:
        if not self.out.closed:
            self.out.flush()
        return self.out_path.read_text(errors="replace")

    def stderr(self) -> str:
        if not self.err.closed:
            self.err.flush()
        return self.err_path.read_text(errors="replace")

    def stop(self, timeout: float = 10.0) -> Optional[int]:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        self.out.close()
        self.err.close()
        return self.popen.returncode


class ServiceProc(Proc):
    """``python -m service`` on a free loopback port, ready once /healthz answers."""

    def __init__(self, env: Dict[str, str], log_dir: Path, name: str = "service",
                 port: Optional[int] = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__([sys.executable, "-m", "service", "--host", "127.0.0.1",
                          "--port", str(self.port)], env, log_dir, name)
        try:
            wait_http(self.url + "/healthz", 90, self.popen)
        except Exception:
            self.stop()
            raise RuntimeError(f"{name} did not start:\n{self.stderr()[-3000:]}") from None


def which(name: str) -> Optional[str]:
    found = shutil.which(name)
    if found is None and Path("/usr/sbin", name).exists():
        return str(Path("/usr/sbin", name))
    return found
