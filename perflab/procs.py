"""Child processes the lab starts: pinned, logged, and never left behind.

Every child runs in its own session (so a terminal Ctrl-C reaches only the
orchestrator, which then stops them in order), asks the kernel to SIGTERM it
if the orchestrator dies (PR_SET_PDEATHSIG), and is registered in a
``ProcessGroup`` that stops all of them: SIGTERM to the child's process group,
then SIGKILL after a grace period.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Deque, Dict, List, Mapping, Optional, Sequence

MARK = "PERFLAB_CHILD"  # set in every child's environment: tests find orphans by it

_PR_SET_PDEATHSIG = 1


def _child_setup(cpus: Optional[Sequence[int]]) -> Callable[[], None]:
    def setup() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):  # pragma: no cover - non-Linux
            pass
        if cpus and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, set(cpus))

    return setup


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_problem(host: str, port: int) -> Optional[str]:
    """Why a server could not listen on ``host:port`` (in use, not allowed), or None.

    Binds the way aiohttp does (SO_REUSEADDR), so a port in TIME_WAIT counts as free."""
    import errno

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "%s:%d is already in use by another process" % (host, port)
            if exc.errno == errno.EACCES:
                return "not allowed to listen on %s:%d (ports below 1024 need privileges)" % (
                    host, port)
            return "cannot listen on %s:%d: %s" % (host, port, exc.strerror or exc)
    return None


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


@dataclass
class Child:
    """A started process, its log file and how it was started."""

    name: str
    proc: subprocess.Popen
    log_path: Path
    argv: List[str]
    cpus: Optional[Sequence[int]] = None
    _tail: Deque[str] = field(default_factory=lambda: deque(maxlen=40))

    @property
    def pid(self) -> int:
        return int(self.proc.pid)

    def alive(self) -> bool:
        return self.proc.poll() is None

    @property
    def returncode(self) -> Optional[int]:
        return self.proc.poll()

    def last_lines(self, n: int = 15) -> List[str]:
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - 16384))
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return []
        return text.splitlines()[-n:]


class ProcessGroup:
    """Starts children and stops every one of them, however the run ends."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: List[Child] = []

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str],
              cpus: Optional[Sequence[int]] = None, cwd: Optional[Path] = None) -> Child:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / ("%s.log" % name)
        full_env = dict(env)
        full_env[MARK] = str(os.getpid())
        full_env.setdefault("PYTHONUNBUFFERED", "1")
        with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen(list(argv), env=full_env, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=str(cwd) if cwd else None, start_new_session=True,
                                    preexec_fn=_child_setup(cpus))
        child = Child(name, proc, log_path, list(argv), cpus)
        self.children.append(child)
        return child

    def stop(self, child: Child, grace: float = 5.0) -> Optional[int]:
        """SIGTERM the child's process group, SIGKILL after ``grace``; returns the exit code."""
        if child.alive():
            _signal_group(child.pid, signal.SIGTERM)
            try:
                child.proc.wait(grace)
            except subprocess.TimeoutExpired:
                _signal_group(child.pid, signal.SIGKILL)
                child.proc.wait(5)
        else:
            _signal_group(child.pid, signal.SIGKILL)  # leftovers of a dead leader's group
        if child in self.children:
            self.children.remove(child)
        return child.proc.returncode

    def stop_all(self, grace: float = 5.0) -> None:
        for child in reversed(list(self.children)):
            try:
                self.stop(child, grace)
            except Exception as exc:  # keep stopping the others
                print("warning: could not stop %s (pid %d): %s" % (child.name, child.pid, exc),
                      file=sys.stderr)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class StartupError(RuntimeError):
    """A child did not become ready; carries its exit code and last log lines."""

    def __init__(self, message: str, child: Child) -> None:
        lines = child.last_lines()
        super().__init__("%s (exit code %s); last log lines:\n  %s"
                         % (message, child.returncode, "\n  ".join(lines)))
        self.child = child


def wait_http(url: str, child: Optional[Child], timeout: float,
              accept: Callable[[int], bool] = lambda s: s == 200) -> None:
    """Poll ``url`` until it answers with an accepted status; fail fast if the child died."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if child is not None and not child.alive():
            raise StartupError("%s exited during start-up" % child.name, child)
        try:
            with urllib.request.urlopen(url, timeout=1.0) as resp:
                if accept(resp.status):
                    return
                last = "HTTP %d" % resp.status
        except urllib.error.HTTPError as exc:
            last = "HTTP %d" % exc.code
            if accept(exc.code):
                return
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.1)
    if child is not None:
        raise StartupError("%s not ready at %s after %.0fs (%s)" % (child.name, url, timeout,
                                                                    last), child)
    raise TimeoutError("%s not ready after %.0fs (%s)" % (url, timeout, last))


def get_json(url: str, timeout: float = 5.0) -> Dict[str, object]:
    import json

    with urllib.request.urlopen(url, timeout=timeout) as resp:
        data = json.loads(resp.read())
    return data if isinstance(data, dict) else {"value": data}


def target_problem(url: str, timeout: float = 5.0) -> Optional[str]:
    """Why an external target is not ready to be measured, or None when GET /healthz
    answers 200 within ``timeout`` (retried: a deployment may still be starting)."""
    health = url.rstrip("/") + "/healthz"
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        try:
            with urllib.request.urlopen(health, timeout=min(2.0, timeout)) as resp:
                if resp.status == 200:
                    return None
                last = "GET %s answered HTTP %d" % (health, resp.status)
        except urllib.error.HTTPError as exc:
            last = "GET %s answered HTTP %d" % (health, exc.code)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            last = "GET %s: %s" % (health, reason)
        if time.monotonic() >= deadline:
            return "%s (tried for %.0f s)" % (last, timeout)
        time.sleep(0.25)
