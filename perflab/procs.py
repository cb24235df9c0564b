"""Child processes the lab starts: pinned, logged, and never left behind.

Every child, whoever starts it (``ProcessGroup``, the open-loop generator,
Locust, the classifier micro-benchmark), is started with ``child_popen_kwargs``:
its own session (so a terminal Ctrl-C reaches only the orchestrator, which then
stops them in order), the parent-death signal (PR_SET_PDEATHSIG: the kernel
signals it if the orchestrator dies, even by SIGKILL) and the ``MARK`` in its
environment. ``ProcessGroup`` stops its children: SIGTERM to the child's
process group, then SIGKILL after a grace period. ``StopSignals`` makes the
first SIGINT/SIGTERM stop the run and ignores the rest while it cleans up.
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
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Sequence, Tuple

MARK = "PERFLAB_CHILD"  # set in every child's environment: tests find orphans by it

_PR_SET_PDEATHSIG = 1


def _child_setup(cpus: Optional[Sequence[int]], death_signal: int) -> Callable[[], None]:
    parent = os.getpid()

    def setup() -> None:  # runs in the child, between fork and exec
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(death_signal))
        except (OSError, AttributeError):  # pragma: no cover - non-Linux
            pass
        if os.getppid() != parent:  # the orchestrator died before prctl took effect
            os.kill(os.getpid(), death_signal)
        if cpus and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, set(cpus))

    return setup


def child_env(env: Mapping[str, str]) -> Dict[str, str]:
    """``env`` plus the child mark (this orchestrator's pid) and unbuffered Python output."""
    full = dict(env)
    full[MARK] = str(os.getpid())
    full.setdefault("PYTHONUNBUFFERED", "1")
    return full


def child_popen_kwargs(env: Mapping[str, str], cpus: Optional[Sequence[int]] = None,
                       death_signal: int = signal.SIGTERM) -> Dict[str, Any]:
    """Popen/subprocess.run keyword arguments for any child of the lab: the child mark in
    its environment, its own session, CPU pinning and the parent-death signal.

    Load generators get ``death_signal=SIGKILL``: after the orchestrator died nobody
    wants their partial output, and they must stop sending at once."""
    return {"env": child_env(env), "start_new_session": True,
            "preexec_fn": _child_setup(cpus, death_signal)}


_HANDED_OUT: set = set()  # ports free_port gave this process: never given twice
_LISTEN_PORTS = (20000, 32000)  # where listeners go, capped below the ephemeral range


def _ephemeral_range() -> Tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port(host: str = "127.0.0.1") -> int:
    """A port free to listen on, outside the kernel's ephemeral range.

    Binding port 0 hands out an *ephemeral* port, the range the kernel also takes the
    local ports of outgoing connections from; with a generator holding hundreds of
    connections, one of them took such a port between this check and the child's
    bind (the full plan, 36 services: "address already in use"). Below the range no
    outgoing connection can take it, and a port is never handed out twice here."""
    import random

    start, end = _LISTEN_PORTS[0], min(_LISTEN_PORTS[1], _ephemeral_range()[0])
    rng = random.Random()
    for _ in range(200 if end - start >= 1000 else 0):
        port = rng.randrange(start, end)
        if port in _HANDED_OUT or port_problem(host, port) is not None:
            continue
        _HANDED_OUT.add(port)
        return port
    with socket.socket() as s:  # a crowded range: let the kernel choose
        s.bind((host, 0))
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
        """The last ``n`` non-blank lines of the child's log."""
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - 16384))
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if line.strip()][-n:]

    def exit_note(self, what: str = "") -> str:
        """``service exited with code -9 (killed by SIGKILL); last log line: ...`` and the
        tail below it, or that its log is empty: never a heading followed by nothing."""
        code = self.returncode
        how = "is still running" if code is None else "exited with code %d%s" % (
            code, " (killed by %s)" % _signal_name(-code) if code < 0 else "")
        lines = self.last_lines()
        if not lines:
            return "%s %s; its log %s is empty" % (what or self.name, how, self.log_path)
        # the first line stands alone (consoles and tables show only it)
        return "%s %s; last log line: %s\nlast %d log lines (%s):\n  %s" % (
            what or self.name, how, lines[-1].strip()[:300], len(lines), self.log_path,
            "\n  ".join(lines))


def clip_note(text: str, limit: int = 2000) -> str:
    """``text`` within ``limit`` characters, its first line kept whole.

    An exit note's first line (the exit code and last log line) is what consoles and
    tables show; a plain tail cut would drop exactly that, so the middle goes instead."""
    if len(text) <= limit:
        return text
    head, _, rest = text.partition("\n")
    head = head[:limit // 2]
    keep = max(0, limit - len(head) - 7)
    return head + "\n  ...\n" + rest[len(rest) - keep:] if keep else head


class ProcessGroup:
    """Starts children and stops every one of them, however the run ends."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: List[Child] = []

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str],
              cpus: Optional[Sequence[int]] = None, cwd: Optional[Path] = None,
              death_signal: int = signal.SIGTERM, pipes: bool = False) -> Child:
        """``pipes``: the child's stdin and stdout are pipes to this process (a worker
        driven by commands: ``child.proc.stdin``/``stdout``); its stderr goes to the log."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / ("%s.log" % name)
        with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE if pipes else log,
                                    stderr=log if pipes else subprocess.STDOUT,
                                    stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
                                    cwd=str(cwd) if cwd else None,
                                    **child_popen_kwargs(env, cpus, death_signal))
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


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return "signal %d" % sig


class StartupError(RuntimeError):
    """A child did not become ready; carries its exit code and last log lines."""

    def __init__(self, message: str, child: Child) -> None:
        super().__init__("%s: %s" % (message, child.exit_note()))
        self.child = child


class StopSignals:
    """SIGINT and SIGTERM stop a run once: the first raises KeyboardInterrupt in the main
    thread; any later one, while the run cleans up, is reported and ignored, so clean-up
    (stopping children, writing run.json) always finishes. Restores the old handlers."""

    def __init__(self, show: Callable[[str], None]) -> None:
        self.show = show
        self.received: List[int] = []
        self._previous: Dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.received.append(signum)
        if len(self.received) == 1:
            raise KeyboardInterrupt
        self.show("%s again: already stopping, every process is being stopped and the "
                  "results saved" % _signal_name(signum))

    @property
    def stopping(self) -> bool:
        return bool(self.received)

    def __enter__(self) -> StopSignals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self._previous.items():
            signal.signal(sig, old)


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


def run_pinned(cpus: Sequence[int], coro: Callable[..., Any], *args: Any) -> Any:
    """Run ``coro(*args)`` on a fresh event loop in a thread pinned to ``cpus`` (a client
    on the generator's CPU); its result, or its exception raised here."""
    import asyncio
    import threading

    out: Dict[str, Any] = {}

    def target() -> None:
        if cpus and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, set(cpus))  # this thread only
        try:
            out["value"] = asyncio.run(coro(*args))
        except BaseException as exc:  # handed back to the caller's thread
            out["error"] = exc

    t = threading.Thread(target=target, name="perflab-pinned", daemon=True)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]
