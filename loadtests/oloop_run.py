"""Runs blocks over one or several generator processes and merges them exactly.

With ``processes == 1`` the engine runs in the caller's event loop. With N > 1 the
coordinator (this process, mostly asleep) spawns N workers, each pinned to its CPU, each
with ``PR_SET_PDEATHSIG``; per block it sends every worker the plan (share k of N),
waits until all have encoded their requests and opened their connections, then gives
them one common start time ``t0`` (CLOCK_MONOTONIC is system-wide, so one perf_counter
value means the same instant in every process). Workers report a tick a second and, at
the end, their raw counters and histogram recorders; ``build_result`` adds them.

Keep-alive pools live in the engines, so they stay open across the blocks of one
``Runner`` (one per host:port); between blocks every in-flight request is drained (or
counted unfinished after the timeout) before the next block's plan goes out.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import platform
import signal
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence

from loadtests.oloop_engine import BlockPlan, Engine
from loadtests.oloop_result import OpenLoopConfig, OpenLoopResult, build_result
from loadtests.oloop_sys import cpu_affinity, pin_to, set_parent_death_signal, set_timer_slack

__all__ = ["Progress", "Runner", "loop_factory", "run_open_loop", "worker_main"]

START_DELAY_S = 0.05  # from "all ready" to the first send
STOP_MARGIN_S = 5.0  # after drain_grace, a worker that sent nothing back counts as lost


@dataclass(frozen=True)
class Progress:
    """One-second live view of a block (the ``progress`` event)."""

    block: Optional[str]
    t: float  # seconds since the block's first scheduled send (warm-up included)
    warm: bool
    sent: int  # cumulative, warm-up included
    completed: int
    errors: int
    in_flight: int
    rate: float  # sends in the last second, per second
    p95_ms: Optional[float]  # of ok responses in the last second (intended time)
    p99_ms: Optional[float]

    def to_event(self) -> Dict[str, Any]:
        return {"event": "progress", **asdict(self)}


def loop_factory(choice: str) -> Optional[Callable[[], asyncio.AbstractEventLoop]]:
    """The event loop for ``--loop auto|asyncio|uvloop``: uvloop when asked for (an error if
    missing) or when ``auto`` finds it, else asyncio's default (None)."""
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise RuntimeError("uvloop is not installed") from None
        return None
    return uvloop.new_event_loop


def _quantile(values: List[float], q: float) -> Optional[float]:
    if not values:
        return None
    values.sort()
    k = min(len(values) - 1, max(0, int(q * len(values) + 0.999999) - 1))
    return values[k] * 1000.0


class _LocalPart:
    """The engine in this process's loop."""

    def __init__(self) -> None:
        self.latest: Dict[str, Any] = {}
        self.samples: List[float] = []
        self.engine = Engine(on_tick=self._tick)
        self.alive = True

    def _tick(self, snap: Dict[str, Any]) -> None:
        self.samples.extend(snap.pop("samples"))
        self.latest = snap

    async def prepare(self, plan: BlockPlan) -> Dict[str, Any]:
        self.latest, self.samples = {}, []
        return await self.engine.prepare(plan)

    def start(self, t0: float) -> asyncio.Future:
        return self.engine.start(t0)

    def stop(self) -> None:
        self.engine.stop()

    async def close(self) -> None:
        self.engine.close()


class _RemotePart:
    """A worker process driven over a pipe (see ``worker_main``)."""

    def __init__(self, ctx: Any, cpus: Sequence[int], loop_choice: str) -> None:
        self.loop = asyncio.get_running_loop()
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=worker_main, args=(child, list(cpus), loop_choice),
                                daemon=True, name="openloop-worker")
        self.proc.start()
        child.close()
        self.latest: Dict[str, Any] = {}
        self.samples: List[float] = []
        self.alive = True
        self._waiting: Optional[asyncio.Future] = None
        self._result: Optional[asyncio.Future] = None
        self.loop.add_reader(self.conn.fileno(), self._readable)

    def _readable(self) -> None:
        try:
            msg = self.conn.recv()
        except (EOFError, OSError):
            self._dead(f"worker {self.proc.pid} exited (code {self.proc.exitcode})")
            return
        kind = msg[0]
        if kind == "tick":
            snap = msg[1]
            self.samples.extend(snap.pop("samples"))
            self.latest = snap
        elif kind == "ready" and self._waiting is not None and not self._waiting.done():
            self._waiting.set_result(msg[1])
        elif kind == "result" and self._result is not None and not self._result.done():
            self._result.set_result(msg[1])
        elif kind == "error":
            self._dead(str(msg[1]))

    def _dead(self, why: str) -> None:
        self.alive = False
        try:
            self.loop.remove_reader(self.conn.fileno())
        except (OSError, ValueError):
            pass
        for fut in (self._waiting, self._result):
            if fut is not None and not fut.done():
                fut.set_exception(RuntimeError(why))

    def _send(self, msg: Any) -> None:
        if self.alive:
            try:
                self.conn.send(msg)
            except (OSError, ValueError):
                self._dead("worker pipe closed")

    async def prepare(self, plan: BlockPlan) -> Dict[str, Any]:
        self.latest, self.samples = {}, []
        self._waiting = self.loop.create_future()
        self._send(("prepare", plan.cfg, plan.share, plan.shares))
        return await self._waiting

    def start(self, t0: float) -> asyncio.Future:
        self._result = self.loop.create_future()
        self._send(("start", t0))
        return self._result

    def stop(self) -> None:
        self._send(("stop",))

    async def close(self) -> None:
        self._send(("exit",))
        if self.alive:
            try:
                self.loop.remove_reader(self.conn.fileno())
            except (OSError, ValueError):
                pass
        await self.loop.run_in_executor(None, self.proc.join, 5.0)
        if self.proc.is_alive():
            self.proc.terminate()
        self.conn.close()


class Runner:
    """One long-lived generator: ``await runner.run(block_id, cfg)`` per block, in order.

    ``processes``/``cpus``/``loop_choice`` are fixed for the runner's life (worker
    processes and their pools persist across blocks). ``progress`` gets a ``Progress``
    about once a second. ``stop`` (an Event) ends the current block early (partial
    result, ``complete=False``) and makes later ``run`` calls return at once.
    """

    def __init__(self, processes: int = 1, cpus: Sequence[int] = (),
                 progress: Optional[Callable[[Progress], Any]] = None,
                 stop: Optional[asyncio.Event] = None, loop_choice: str = "auto") -> None:
        self.processes = processes
        self.cpus = list(cpus)
        self.progress = progress
        self.stop = stop or asyncio.Event()
        self.loop_choice = loop_choice
        self.parts: List[Any] = []

    async def __aenter__(self) -> Runner:
        if self.processes == 1:
            self.parts = [_LocalPart()]
        else:
            ctx = multiprocessing.get_context("spawn")
            self.parts = [_RemotePart(ctx, [self.cpus[k % len(self.cpus)]] if self.cpus
                                      else [], self.loop_choice)
                          for k in range(self.processes)]
        return self

    async def __aexit__(self, *exc: Any) -> None:
        for p in self.parts:
            await p.close()

    async def run(self, block: Optional[str], cfg: OpenLoopConfig) -> OpenLoopResult:
        cfg.validate()
        loop = asyncio.get_running_loop()
        perf = time.perf_counter
        n = len(self.parts)
        base = cfg.to_dict()
        preps = await asyncio.gather(*(p.prepare(BlockPlan(base, k, n))
                                       for k, p in enumerate(self.parts)),
                                     return_exceptions=True)
        errors = [e for e in preps if isinstance(e, BaseException)]
        if errors:
            raise RuntimeError(f"a generator process failed to prepare: {errors[0]}")
        t0 = perf() + START_DELAY_S
        started_at = time.time() + (t0 - perf()) + cfg.warmup
        futs = [p.start(t0) for p in self.parts]
        timeline: List[Dict[str, Any]] = []
        last = {"sent": 0, "t": t0}

        def tick(k: int) -> None:
            now = perf()
            sent = sum(p.latest.get("sent", 0) for p in self.parts)
            samples: List[float] = []
            for p in self.parts:
                samples.extend(p.samples)
                p.samples = []
            prog = Progress(
                block=block, t=round(now - t0, 3), warm=now < t0 + cfg.warmup, sent=sent,
                completed=sum(p.latest.get("completed", 0) for p in self.parts),
                errors=sum(p.latest.get("errors", 0) for p in self.parts),
                in_flight=sum(p.latest.get("in_flight", 0) for p in self.parts),
                rate=round((sent - last["sent"]) / max(1e-9, now - last["t"]), 1),
                p95_ms=_quantile(samples, 0.95), p99_ms=_quantile(samples, 0.99))
            last["sent"], last["t"] = sent, now
            timeline.append(prog.to_event())
            if self.progress is not None:
                self.progress(prog)
            handles[0] = loop.call_later(max(0.0, t0 + k + 1.05 - perf()), tick, k + 1)

        handles = [loop.call_later(max(0.0, t0 + 1.05 - perf()), tick, 1)]
        all_done = asyncio.gather(*futs, return_exceptions=True)
        stop_wait = asyncio.ensure_future(self.stop.wait())
        interrupted = False
        try:
            await asyncio.wait([all_done, stop_wait],  # type: ignore[type-var]
                           return_when=asyncio.FIRST_COMPLETED)
            if not all_done.done():
                interrupted = True
                for p in self.parts:
                    p.stop()
                await asyncio.wait([all_done], timeout=cfg.drain_grace + STOP_MARGIN_S)
        finally:
            handles[0].cancel()
            stop_wait.cancel()
        results = all_done.result() if all_done.done() else [None] * n
        parts = [r if isinstance(r, dict) else None for r in results]
        meta = {"generator": "loadtests.openloop", "python": platform.python_version(),
                "event_loop": f"{type(loop).__module__}.{type(loop).__name__}",
                "cpu_affinity": cpu_affinity(), "hostname": platform.node(),
                "prepare": [p for p in preps if isinstance(p, dict)],
                "histogram": {"unit": "us", "significant_figures": 3}}
        return build_result(cfg, parts, started_at=started_at, block=block,
                            timeline=timeline, meta=meta, interrupted=interrupted)


async def run_open_loop(config: OpenLoopConfig,
                        progress: Optional[Callable[[Progress], Any]] = None, *,
                        stop: Optional[asyncio.Event] = None) -> OpenLoopResult:
    """Drive ``config.rate`` requests/s for ``warmup + duration`` seconds; the result.

    ``config.processes`` > 1 spreads the schedule over that many worker processes
    (pinned round robin to ``config.cpus``). Setting ``stop`` ends the run early: the
    partial result comes back with ``complete=False``.
    """
    config.validate()
    async with Runner(config.processes, config.cpus, progress, stop) as runner:
        return await runner.run(None, config)


# ------------------------------------------------------------------ worker processes
def worker_main(conn: Any, cpus: List[int], loop_choice: str = "auto") -> None:
    """Entry point of a spawned worker: one Engine driven by the coordinator's messages."""
    set_parent_death_signal(signal.SIGTERM)
    set_timer_slack(1)
    pin_to(cpus)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the coordinator decides when to stop
    factory = loop_factory(loop_choice)
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(_worker(conn))


async def _worker(conn: Any) -> None:
    loop = asyncio.get_running_loop()
    finished = asyncio.Event()
    tasks: set = set()

    def send(msg: Any) -> None:
        try:
            conn.send(msg)
        except (OSError, ValueError):
            engine.stop()
            finished.set()

    engine = Engine(on_tick=lambda snap: send(("tick", snap)))

    def on_result(fut: asyncio.Future) -> None:
        if fut.cancelled():
            return
        exc = fut.exception()
        send(("error", repr(exc)) if exc is not None else ("result", fut.result()))

    async def prepare(cfg: Dict[str, Any], share: int, shares: int) -> None:
        try:
            send(("ready", await engine.prepare(BlockPlan(cfg, share, shares))))
        except Exception as exc:  # reported to the coordinator, which fails the block
            send(("error", f"{type(exc).__name__}: {exc}"))

    def readable() -> None:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            engine.stop()
            finished.set()
            return
        kind = msg[0]
        if kind == "prepare":
            task = loop.create_task(prepare(*msg[1:]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        elif kind == "start":
            engine.start(msg[1]).add_done_callback(on_result)
        elif kind == "stop":
            engine.stop()
        elif kind == "exit":
            finished.set()

    def on_term() -> None:  # parent died (PDEATHSIG) or a group SIGTERM
        engine.stop()
        loop.call_later(3.0, finished.set)

    loop.add_reader(conn.fileno(), readable)
    loop.add_signal_handler(signal.SIGTERM, on_term)
    try:
        await finished.wait()
    finally:
        loop.remove_reader(conn.fileno())
        engine.close()
