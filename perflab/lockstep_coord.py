"""The lock-step coordinator: drives classifier workers in strict alternation over pipes.

One job: given one link per variant (a worker process of ``perflab.lockstep``,
see its docstring for why the lab times the classifier this way), run
``passes`` passes in which every worker classifies chunk k, one worker at a
time, before any worker gets chunk k+1. Only one worker has a command at a
time: the next command goes out after the previous worker's reply came back.
The order of the workers changes every round: a seeded shuffle per pass,
rotated by one place per chunk, so every variant takes every place equally
often (when the chunks are a multiple of the variants) and no variant always
follows the same one.

A worker that dies, hangs (no reply within its limit) or answers nonsense is
stopped and recorded as failed with one line saying why; the others go on.
The passes it finished are kept; the pass it was in is not.
"""

from __future__ import annotations

import json
import math
import os
import random
import select
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Protocol, Sequence

from .lockstep import PROTOCOL
from .procs import Child, ProcessGroup


@dataclass(frozen=True)
class Limits:
    """Seconds a worker may take to answer (beyond them it is hung and stopped)."""

    ready_s: float = 60.0  # start, build the bench, warm up (PyPy: see perflab.classify)
    pass_s: float = 30.0  # a fresh classifier (the intent cache warmed), or a pass's end
    chunk_s: float = 10.0  # one chunk: milliseconds normally


class LinkError(RuntimeError):
    """A worker that can no longer be driven: the message is one line saying why."""


class Link(Protocol):
    """The pipe to one worker."""

    name: str

    def send(self, command: str) -> None: ...

    def receive(self, timeout_s: float) -> Dict[str, Any]: ...

    def abort(self) -> None: ...  # stop it now (it failed)

    def close(self) -> None: ...  # ask it to quit, then make sure it has


class PipeLink:
    """A ``ProcessGroup`` child started with ``pipes=True``: commands on its stdin, one JSON
    reply per line on its stdout (read with a deadline: a hung worker cannot block)."""

    def __init__(self, name: str, child: Child, group: ProcessGroup) -> None:
        self.name = name
        self.child = child
        self.group = group
        assert child.proc.stdin is not None and child.proc.stdout is not None
        self._in = child.proc.stdin
        self._fd = child.proc.stdout.fileno()
        self._buf = b""

    def send(self, command: str) -> None:
        try:
            self._in.write(command.encode("ascii") + b"\n")
            self._in.flush()
        except (BrokenPipeError, OSError):
            raise LinkError(self._gone()) from None

    def receive(self, timeout_s: float) -> Dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LinkError("no reply within %.3g s: the worker hung (stopped it)"
                                % timeout_s)
            ready, _, _ = select.select([self._fd], [], [], left)
            if not ready:
                continue
            data = os.read(self._fd, 65536)
            if not data:
                raise LinkError(self._gone())
            self._buf += data
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            msg = json.loads(line)
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            raise LinkError("unreadable reply %r" % line[:80])
        if "error" in msg:
            raise LinkError("the worker answered: %s" % str(msg["error"])[:300])
        return msg

    def _gone(self) -> str:
        try:
            self.child.proc.wait(2.0)
        except Exception:  # still running: it closed its stdout, say what it left
            pass
        note = self.child.exit_note("the lock-step worker").splitlines()[0]
        return "%s (log: %s)" % (note, self.child.log_path)

    def _close_pipes(self) -> None:
        for f in (self.child.proc.stdin, self.child.proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass

    def abort(self) -> None:
        self.group.stop(self.child, grace=1.0)
        self._close_pipes()

    def close(self) -> None:
        try:
            self.send("quit")
            self.child.proc.wait(3.0)
        except Exception:  # it will be stopped below either way
            pass
        self.group.stop(self.child, grace=1.0)
        self._close_pipes()


# ------------------------------------------------------------------ results
@dataclass(frozen=True)
class Chunk:
    k: int
    position: int  # place of this worker in the round (0: first)
    messages: int
    seconds: float  # on the worker's clock (thread CPU time by default)
    wall_s: float
    start: float  # CLOCK_MONOTONIC when it began (system-wide)

    def to_list(self) -> List[Any]:
        return [self.k, self.position, self.messages, self.seconds, self.wall_s, self.start]


CHUNK_FIELDS = ("k", "position", "messages", "seconds", "wall_s", "start")


@dataclass(frozen=True)
class Pass:
    """One variant's pass: every chunk of the same seeded messages."""

    index: int  # 1-based
    chunks: Sequence[Chunk]
    intent_cache: Optional[Dict[str, int]]
    started_at: float
    ended_at: float

    @property
    def seconds(self) -> float:
        return sum(c.seconds for c in self.chunks)

    @property
    def messages(self) -> int:
        return sum(c.messages for c in self.chunks)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else float("nan")

    def to_dict(self) -> Dict[str, Any]:
        return {"pass": self.index, "started_at": self.started_at, "ended_at": self.ended_at,
                "intent_cache": self.intent_cache, "seconds": self.seconds,
                "messages": self.messages, "chunk_fields": list(CHUNK_FIELDS),
                "chunks": [c.to_list() for c in self.chunks]}


@dataclass
class Outcome:
    """What one variant's worker did: its ready line, its finished passes, or why it failed."""

    name: str
    ready: Dict[str, Any] = field(default_factory=dict)
    passes: List[Pass] = field(default_factory=list)
    failure: str = ""
    failed_pass: int = 0  # the pass it failed in (0: before the first)

    @property
    def ok(self) -> bool:
        return not self.failure

    def to_dict(self) -> Dict[str, Any]:
        return {"status": "ok" if self.ok else "failed", "failure": self.failure,
                "failed_pass": self.failed_pass, "ready": self.ready,
                "passes": [p.to_dict() for p in self.passes]}


# ------------------------------------------------------------------ the order
def round_order(names: Sequence[str], pass_index: int, k: int, seed: int) -> List[str]:
    """The workers' order for chunk ``k`` of pass ``pass_index``: a seeded shuffle of
    ``names`` per pass, rotated by ``k`` places."""
    base = list(names)
    random.Random("lockstep:%d:%d" % (seed, pass_index)).shuffle(base)
    r = k % len(base) if base else 0
    return base[r:] + base[:r]


# ------------------------------------------------------------------ the run
def run_lockstep(links: Mapping[str, Link], expected_toggles: Mapping[str, str],
                 passes: int, chunks: int, seed: int, limits: Limits = Limits(),
                 ready_s: Optional[Mapping[str, float]] = None,
                 on_pass: Callable[[int, Dict[str, Pass]], None] = lambda i, p: None,
                 on_failure: Callable[[Outcome], None] = lambda o: None,
                 ) -> Dict[str, Outcome]:
    """Drive ``links`` (started together) through ``passes`` lock-step passes of ``chunks``
    chunks; ``on_pass`` gets each pass's finished results, ``on_failure`` each failure as
    it happens. Every link is closed on return (or aborted when it failed)."""
    outcomes = {name: Outcome(name) for name in links}
    names = list(links)

    def fail(name: str, why: str, pass_index: int) -> None:
        o = outcomes[name]
        if not o.ok:
            return
        o.failure, o.failed_pass = why, pass_index
        links[name].abort()
        on_failure(o)

    def alive() -> List[str]:
        return [n for n in names if outcomes[n].ok]

    finished = False
    try:
        started = time.monotonic()
        for name in names:  # they warmed concurrently: each deadline runs from the start
            limit = (ready_s or {}).get(name, limits.ready_s)
            try:
                hello = links[name].receive(max(0.0, started + limit - time.monotonic()))
            except LinkError as exc:
                fail(name, "not ready: %s" % exc, 0)
                continue
            outcomes[name].ready = hello
            problem = _ready_problem(hello, expected_toggles[name], chunks)
            if problem:
                fail(name, problem, 0)
        for p in range(1, passes + 1):
            _one_pass(links, outcomes, alive, fail, p, chunks, seed, limits, on_pass)
            if not alive():
                break
        finished = True
    finally:  # interrupted (Ctrl-C): stop them at once rather than wait for their quit
        for name in alive():
            if finished:
                links[name].close()
            else:
                links[name].abort()
    return outcomes


def _ready_problem(hello: Mapping[str, Any], expected: str, chunks: int) -> str:
    if hello.get("ready") is not True or hello.get("protocol") != PROTOCOL:
        return "not a lock-step worker of protocol %d: %r" % (PROTOCOL, dict(hello))
    if hello.get("toggles") != expected:
        return ("the worker ran with other toggles than its variant: %s (expected %s)"
                % (hello.get("toggles"), expected))
    if hello.get("chunks") != chunks:
        return "the worker has %r chunks per pass, expected %d" % (hello.get("chunks"), chunks)
    return ""


def _one_pass(links: Mapping[str, Link], outcomes: Dict[str, Outcome],
              alive: Callable[[], List[str]], fail: Callable[[str, str, int], None],
              p: int, chunks: int, seed: int, limits: Limits,
              on_pass: Callable[[int, Dict[str, Pass]], None]) -> None:
    t0 = time.time()

    def ask_all(command: str, timeout_s: float) -> Dict[str, Dict[str, Any]]:
        """Untimed steps go to every worker at once (they run concurrently)."""
        for name in alive():
            try:
                links[name].send(command)
            except LinkError as exc:
                fail(name, "pass %d, %s: %s" % (p, command, exc), p)
        replies = {}
        for name in alive():
            try:
                replies[name] = links[name].receive(timeout_s)
            except LinkError as exc:
                fail(name, "pass %d, %s: %s" % (p, command, exc), p)
        return replies

    ask_all("pass", limits.pass_s)
    got: Dict[str, List[Chunk]] = {name: [] for name in alive()}
    for k in range(chunks):
        for pos, name in enumerate(round_order(list(links), p, k, seed)):
            if not outcomes[name].ok:
                continue
            try:  # strictly one at a time: the reply before the next command
                links[name].send("c %d" % k)
                got[name].append(_chunk(links[name].receive(limits.chunk_s), k, pos))
            except LinkError as exc:
                fail(name, "pass %d, chunk %d: %s" % (p, k, exc), p)
    ends = ask_all("end", limits.pass_s)
    t1 = time.time()
    done = {name: Pass(p, tuple(got[name]), ends[name].get("intent_cache"), t0, t1)
            for name in alive() if name in ends and name in got}
    for name, ps in done.items():
        outcomes[name].passes.append(ps)
    if done:
        on_pass(p, done)


def _chunk(reply: Mapping[str, Any], k: int, position: int) -> Chunk:
    try:
        c = Chunk(int(reply["k"]), position, int(reply["n"]), float(reply["t"]),
                  float(reply["w"]), float(reply["s"]))
    except (KeyError, TypeError, ValueError):
        raise LinkError("bad reply to chunk %d: %r" % (k, dict(reply))) from None
    if c.k != k or c.messages < 1 or not math.isfinite(c.seconds) or c.seconds < 0:
        raise LinkError("bad reply to chunk %d: %r" % (k, dict(reply)))
    return c
