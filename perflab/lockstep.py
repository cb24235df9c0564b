"""One variant's classifier, timed chunk by chunk on command (``-m perflab.lockstep --worker``).

The worker side of the lab's classify phase (the coordinator is
``perflab/lockstep_coord.py``, the phase ``perflab/classify.py``). Every
variant runs as its own worker process, with its own toggles and interpreter
(CPython or PyPy), all pinned to the same CPU, and the coordinator makes them
classify the same chunk of messages one after the other, a few milliseconds
each, so that the variants are compared on the same machine state.

Why a hand-written runner and not pyperf: this host's noise is slow. A CPU
loop timed in 1.8 ms chunks on one pinned CPU (thread CPU time) varies by 17%
(cv), with an autocorrelation of 0.89 at one chunk, 0.53 at ~45 ms, 0.41 at
~90 ms and 0.25 at ~180 ms; consecutive 150 ms values inside one pyperf
worker range from 5,978 to 9,768 messages/s. pyperf times one variant's
workers after another's, seconds apart, so each variant sees a different
machine: its sequential design gave A/A intervals of +-17% to +-25% here (one
run called the A/A pair 1.35x "measurably better"). The ratio of two adjacent
9 ms blocks has a cv of 8% against 16% for one block alone: measured
milliseconds apart, A and B see the same machine, and the slow part of the
noise cancels in their ratio. ``python -m perflab.micro`` (pyperf) stays for
stand-alone use.

Protocol: one short line per command on stdin, one JSON object per line as
the reply on stdout (anything else the process prints goes to stderr: its
log). First, unasked, ``{"ready": ...}`` once the bench is built and warmed
(``--warm-passes`` untimed passes; on PyPy enough for ``PYPY_WARM_MESSAGES``,
its JIT's warm-up). Then:

- ``pass``: start a pass: a fresh classifier (with INTENT_CACHE_ENABLED warmed
  on ``--warmup`` messages, untimed), as ``ClassifyBench`` does; reply
  ``{"pass": true}``;
- ``c K``: classify chunk K (messages ``K*chunk`` to ``(K+1)*chunk`` of the
  pass's timed messages); reply ``{"k": K, "n": messages, "t": seconds on the
  ``--clock``, "w": wall seconds, "s": CLOCK_MONOTONIC at its start}`` (``s``
  is system-wide, so a reader can check that no two chunks overlapped);
- ``end``: end the pass; reply ``{"end": true, "intent_cache": hits/misses of
  the pass or null}``;
- ``quit`` or end of input: exit 0.

An error (a bad toggle, an unknown command) is replied as ``{"error": "..."}``
(a bad toggle then exits with code 2). Python 3.9-compatible: it runs under PyPy,
without numpy or pyperf.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import IO, Any, Dict, List, Optional, Tuple

from .micro import (
    EXIT_USAGE,
    PYPY_WARM_MESSAGES,
    ClassifyBench,
    _Parser,
    _positive,
    stats_delta,
    toggles,
    workload_options,
)

PROTOCOL = 1  # in the ready line; the coordinator refuses another
CHUNK_MESSAGES = 50  # default chunk: a few ms of classifying


def chunk_count(messages: int, chunk: int) -> int:
    return math.ceil(messages / float(chunk))


def default_warm_passes(messages: int, pypy: bool) -> int:
    """CPython: one untimed pass; PyPy: passes for ``PYPY_WARM_MESSAGES`` (its JIT)."""
    return math.ceil(PYPY_WARM_MESSAGES / float(messages)) if pypy else 1


def parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="python -m perflab.lockstep",
                 description="A lock-step classifier worker of the lab's classify phase "
                             "(driven over stdin/stdout by perflab/lockstep_coord.py).")
    ap.add_argument("--worker", action="store_true", required=True,
                    help="run as a worker (the only mode)")
    workload_options(ap)
    ap.add_argument("--chunk", type=_positive(int, 1), default=CHUNK_MESSAGES,
                    help="messages per timed chunk (default %d)" % CHUNK_MESSAGES)
    ap.add_argument("--warm-passes", type=_positive(int, 0), default=None,
                    help="untimed passes before the ready line (default 1 on CPython; on "
                         "PyPy enough for %d messages)" % PYPY_WARM_MESSAGES)
    return ap


class Worker:
    """The bench of ``perflab.micro`` cut into chunks: one pass at a time, chunk by chunk."""

    def __init__(self, bench: ClassifyBench, chunk: int) -> None:
        self.bench = bench
        self.chunk = chunk
        self.chunks = chunk_count(len(bench.body), chunk)
        self._nlu: Any = None
        self._before: Optional[Dict[str, int]] = None

    def start_pass(self) -> None:
        self._nlu = self.bench.fresh()
        self._before = self._nlu.stats()

    def run_chunk(self, k: int) -> Tuple[int, float, float, float]:
        """(messages, clock seconds, wall seconds, monotonic start) of chunk ``k``."""
        if self._nlu is None:
            raise ValueError("chunk before pass")
        if not 0 <= k < self.chunks:
            raise ValueError("chunk %d out of range 0..%d" % (k, self.chunks - 1))
        texts = self.bench.body[k * self.chunk:(k + 1) * self.chunk]
        classify = self._nlu.classify
        clock = self.bench.clock
        start = time.monotonic()
        w0 = time.perf_counter()
        t0 = clock()
        for text in texts:
            classify(text)
        t = clock() - t0
        w = time.perf_counter() - w0
        return len(texts), t, w, start

    def end_pass(self) -> Optional[Dict[str, int]]:
        if self._nlu is None:
            raise ValueError("end before pass")
        stats = stats_delta(self._nlu.stats(), self._before)
        self._nlu = None
        return stats

    def warm(self, passes: int) -> float:
        """Untimed whole passes through the same code path; their wall seconds."""
        started = time.perf_counter()
        for _ in range(passes):
            self.start_pass()
            for k in range(self.chunks):
                self.run_chunk(k)
            self.end_pass()
        return time.perf_counter() - started


def _reply(out: IO[str], obj: Dict[str, Any]) -> None:
    out.write(json.dumps(obj, separators=(",", ":")) + "\n")
    out.flush()


def serve(worker: Worker, inp: IO[bytes], out: IO[str]) -> int:
    """Answer commands until ``quit`` or end of input."""
    while True:
        line = inp.readline()
        if not line:
            return 0
        cmd = line.decode("ascii", "replace").split()
        if not cmd:
            continue
        try:
            if cmd[0] == "c" and len(cmd) == 2:
                n, t, w, s = worker.run_chunk(int(cmd[1]))
                _reply(out, {"k": int(cmd[1]), "n": n, "t": t, "w": w, "s": s})
            elif cmd[0] == "pass":
                worker.start_pass()
                _reply(out, {"pass": True})
            elif cmd[0] == "end":
                _reply(out, {"end": True, "intent_cache": worker.end_pass()})
            elif cmd[0] == "quit":
                return 0
            else:
                _reply(out, {"error": "unknown command %r" % " ".join(cmd)[:60]})
        except ValueError as exc:
            _reply(out, {"error": "%s: %s" % (" ".join(cmd)[:60], exc)})


def _protocol_out() -> IO[str]:
    """The protocol's own copy of stdout; fd 1 then points at stderr, so that a stray print
    (the engine's, a library's) lands in the log and cannot corrupt a reply."""
    out = os.fdopen(os.dup(1), "w", encoding="ascii")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    out = _protocol_out()
    from engine.config import ConfigError

    pypy = sys.implementation.name == "pypy"
    warm_passes = (args.warm_passes if args.warm_passes is not None
                   else default_warm_passes(args.messages, pypy))
    try:
        bench = ClassifyBench(args.messages, args.warmup, args.seed, args.clock)
    except ConfigError as exc:
        sys.stderr.write("perflab.lockstep: error: %s\n" % exc)
        _reply(out, {"error": str(exc)})
        return EXIT_USAGE
    worker = Worker(bench, args.chunk)
    warm_s = worker.warm(warm_passes)
    _reply(out, {"ready": True, "protocol": PROTOCOL, "toggles": toggles(bench.config),
                 "pid": os.getpid(), "implementation": sys.implementation.name,
                 "python": sys.version.split()[0], "messages": len(bench.body),
                 "chunks": worker.chunks, "chunk": args.chunk, "warm_passes": warm_passes,
                 "warm_s": warm_s, "clock": args.clock})
    return serve(worker, sys.stdin.buffer, out)


if __name__ == "__main__":
    sys.exit(main())
