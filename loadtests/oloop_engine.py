"""The open-loop generator's hot path: one process, one event loop, raw HTTP/1.1.

Per request it does: at the intended time (a timerfd wake-up, see ``oloop_sys``) take the
pre-encoded bytes, pop an idle keep-alive connection (LIFO, so at light load one warm
connection carries the traffic, like ``wrk -c1``) and ``transport.write`` them; when the
response is framed (``oloop_parse``), record four values and put the connection back.
No aiohttp client, no task or future per request, no per-request timer (timeouts are
swept every 100 ms), no cyclic garbage collection during a block.

Times kept per request (all ``time.perf_counter``):

- intended: the schedule's time. **latency** = response end - intended (no coordinated
  omission: a stalled server is charged for every request scheduled during the stall);
- dispatched: when the loop got to it. **generator lag** = dispatched - intended, the
  generator's own lateness (event-loop latency, CPU), recorded for every request;
- written: when it went out on a connection. **connection wait** = written - dispatched,
  >0 only when every connection was busy (waiting caused by the server; it includes
  opening a new connection when the pool grows); **service time** = end - written.

Percentiles come from successful responses only (2xx, or 404 for an order number the
workload knows is unknown; for POST /api/chat also a JSON body with a string
``"intent"``). Failures are counted by kind (``http_NNN``, ``bad_reply``, ``timeout``,
``connection``, ``protocol``), answered ones and timeouts also go to an error-latency
histogram. One ``Engine`` keeps a pool per host:port across blocks.
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from loadtests.oloop_feed import (
    PREBUILD_MAX,
    Feed,
    cached_order_ids,
    faq_article_ids,
    parse_route,
)
from loadtests.oloop_pool import Pool, Stats, host_port
from loadtests.oloop_sys import PreciseTimer, cpu_affinity
from loadtests.workload import Workload

__all__ = ["BlockPlan", "Engine", "host_port"]

TOPUP = 128  # requests encoded per top-up once the prebuilt buffer runs low
SWEEP_S = 0.1


class BlockPlan:
    """What a process needs to run its share of one block (picklable plain fields)."""

    def __init__(self, cfg: Dict[str, Any], share: int = 0, shares: int = 1) -> None:
        self.cfg = cfg  # OpenLoopConfig.to_dict()
        self.share = share
        self.shares = shares


def _cpu() -> Tuple[float, float]:
    """(user, system) CPU seconds of this process (getrusage: µs resolution)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


class Engine:
    """Runs blocks (this process's share of each) on the running loop; pools persist."""

    def __init__(self, on_tick: Optional[Callable[[Dict[str, Any]], None]] = None) -> None:
        self.loop = asyncio.get_running_loop()
        self.on_tick = on_tick
        self.pools: Dict[Tuple[str, int], Pool] = {}
        self.timer = PreciseTimer(self.loop, self._pump)
        self._gc_was_enabled = True
        self._reset()

    def _reset(self) -> None:
        self.plan: Optional[BlockPlan] = None
        self.feed: Optional[Feed] = None
        self.stats: Optional[Stats] = None
        self.pool: Optional[Pool] = None
        self.offs: List[float] = []
        self.reqs: List[bytes] = []
        self.oks: List[bool] = []
        self.i = 0
        self.t0 = 0.0
        self.dispatching = False
        self.stopping = False
        self.draining = False
        self.done: Optional[asyncio.Future] = None
        self.stop_at: Optional[float] = None
        self.cpu0 = self.cpu1 = (0.0, 0.0)
        self.wall0 = self.wall1 = 0.0
        self._handles: List[Any] = []

    # -- preparation ---------------------------------------------------------------------
    async def prepare(self, plan: BlockPlan) -> Dict[str, Any]:
        """Encode this share's requests and open the pool's connections (before t0)."""
        cfg = plan.cfg
        route = parse_route(cfg["route"])
        host, port, header = host_port(cfg["url"])
        workload = None
        if route.is_chat or route.is_templated:
            if cfg.get("faq_articles"):  # the templated id is an article: none unknown
                workload = Workload(
                    seed=cfg["seed"], unknown_order_share=0.0, unknown_ids=["0"],
                    pool_size=10, order_ids=list(faq_article_ids(
                        int(cfg["faq_articles"]), cfg["zipf_s"], cfg["seed"])))
            else:
                workload = Workload(
                    seed=cfg["seed"], zipf_s=cfg["zipf_s"],
                    order_ids=cached_order_ids(cfg["data_seed"], cfg.get("orders_count")),
                    session_prefix=cfg.get("session_prefix") or f"ol{cfg['seed']}-")
        feed = Feed(url_host=header, route=route, arrival=cfg["arrival"], rate=cfg["rate"],
                    seed=cfg["seed"], end=cfg["warmup"] + cfg["duration"], share=plan.share,
                    shares=plan.shares, cap=cfg.get("max_requests"), workload=workload)
        t = time.perf_counter()
        self.offs, self.reqs, self.oks = feed.take(PREBUILD_MAX)
        build_s = time.perf_counter() - t
        pool = self.pools.get((host, port))
        if pool is None:
            pool = self.pools[(host, port)] = Pool(self.loop, host, port)
        pool.limit = max(1, int(cfg["connections"]))
        pool.connect_timeout = float(cfg["timeout"])
        share_rate = cfg["rate"] / plan.shares
        initial = cfg.get("initial_connections") or min(64, max(4, int(share_rate / 500) + 4))
        errors0 = pool.connect_errors
        await pool.ensure(int(initial))
        self.plan, self.feed, self.pool = plan, feed, pool
        self.i = 0
        gc.collect()
        gc.freeze()  # out of the collector's view until the block ends
        return {"prebuilt": len(self.offs), "build_s": round(build_s, 4),
                "connections": len(pool.conns),
                "connect_errors": pool.connect_errors - errors0,
                "last_connect_error": pool.last_error if pool.connect_errors > errors0 else ""}

    # -- the run -------------------------------------------------------------------------
    def start(self, t0: float) -> asyncio.Future:
        """Begin dispatching at perf time ``t0``; the future gets the part dict."""
        assert self.plan is not None and self.feed is not None and self.pool is not None
        cfg = self.plan.cfg
        self.t0 = t0
        measure_start = t0 + cfg["warmup"] - 1e-7
        route = parse_route(cfg["route"])
        self.stats = st = Stats(measure_start, route.is_chat)
        self.pool.stats = st
        self.pool.on_idle = self._on_idle
        self.done = self.loop.create_future()
        self.dispatching = True
        # No cyclic GC inside the block: a full collection over the workload's objects
        # stalls the loop for milliseconds (seen as generator lag). The hot path makes
        # no reference cycles; prepare() collected and froze what was built before.
        self._gc_was_enabled = gc.isenabled()
        gc.disable()
        loop, perf = self.loop, time.perf_counter
        self.cpu0, self.wall0 = _cpu(), perf()

        def window_open() -> None:
            self.cpu0, self.wall0 = _cpu(), perf()

        if cfg["warmup"] > 0:
            self._handles.append(loop.call_later(max(0.0, measure_start - perf()),
                                                 window_open))
        self._handles.append(loop.call_later(max(0.0, t0 + 1.0 - perf()), self._tick, 1))
        self._handles.append(loop.call_later(SWEEP_S, self._sweep))
        self.timer.arm(t0 + (self.offs[0] if self.offs else 0.0))
        return self.done

    def stop(self) -> None:
        """Stop dispatching now; in-flight requests get ``drain_grace`` seconds."""
        if self.done is None or self.done.done() or self.stopping:
            return
        self.stopping = True
        self.stop_at = time.perf_counter()
        if self.dispatching:
            self._end_dispatch()
        else:
            self._drain_deadline(float(self.plan.cfg["drain_grace"]) if self.plan else 1.0)

    def _pump(self) -> None:
        st, pool = self.stats, self.pool
        if not self.dispatching or st is None or pool is None:
            return
        perf = time.perf_counter
        offs, reqs, oks = self.offs, self.reqs, self.oks
        i, n, t0 = self.i, len(self.offs), self.t0
        measure_start = st.measure_start
        lag = st.lag
        send = pool.send
        now = perf()
        while True:
            if i >= n:
                assert self.feed is not None
                offs, reqs, oks = self.feed.take(TOPUP)
                self.offs, self.reqs, self.oks = offs, reqs, oks
                i, n = 0, len(offs)
                if n == 0:
                    self.i = 0
                    self._end_dispatch()
                    return
                now = perf()
                continue
            t = t0 + offs[i]
            if t > now:
                break
            st.sent_total += 1
            st.in_flight += 1
            if st.in_flight > st.max_in_flight:
                st.max_in_flight = st.in_flight
            if t >= measure_start:
                st.sent += 1
                st.last_dispatch = now
                lag.record(now - t)
            else:
                st.warmup_sent += 1
            send(t, reqs[i], oks[i], now)
            i += 1
            now = perf()
        self.i = i
        self.timer.arm(t)

    def _end_dispatch(self) -> None:
        self.dispatching = False
        self.cpu1, self.wall1 = _cpu(), time.perf_counter()
        assert self.plan is not None
        cfg = self.plan.cfg
        grace = float(cfg["drain_grace"]) if self.stopping else float(cfg["timeout"]) + 1.0
        self._drain_deadline(grace)

    def _drain_deadline(self, grace: float) -> None:
        self.draining = True
        self._handles.append(self.loop.call_later(grace, self._finish))
        if self.stats is not None and self.stats.in_flight <= 0:
            self._finish()

    def _on_idle(self) -> None:
        if self.draining:
            self._finish()

    def _sweep(self) -> None:
        if self.done is None or self.done.done() or self.pool is None or self.plan is None:
            return
        self.pool.sweep(time.perf_counter(), float(self.plan.cfg["timeout"]))
        if self.done is not None and not self.done.done():
            self._handles.append(self.loop.call_later(SWEEP_S, self._sweep))

    def _tick(self, k: int) -> None:
        st = self.stats
        if st is None or self.done is None or self.done.done():
            return
        samples, st.tick = st.tick, []
        if len(samples) > 2000:
            samples = samples[:: len(samples) // 1000]
        if self.on_tick is not None:
            self.on_tick({"k": k, "sent": st.sent_total, "completed": st.completed_total,
                          "errors": st.errors_total, "in_flight": st.in_flight,
                          "samples": samples})
        self._handles.append(self.loop.call_later(
            max(0.0, self.t0 + k + 1 - time.perf_counter()), self._tick, k + 1))

    def _finish(self) -> None:
        if self.done is None or self.done.done():
            return
        st, pool, plan, feed = self.stats, self.pool, self.plan, self.feed
        assert st is not None and pool is not None and plan is not None and feed is not None
        if self.dispatching:
            self.dispatching = False
            self.cpu1, self.wall1 = _cpu(), time.perf_counter()
        unfinished = pool.abort_in_flight()
        for h in self._handles:
            h.cancel()
        pool.stats = None
        pool.on_idle = None
        ms = st.measure_start
        part = {
            "sent": st.sent, "warmup_sent": st.warmup_sent, "completed": st.completed,
            "ok": st.ok, "errors": dict(st.errors), "unfinished": unfinished,
            "waited": st.waited, "max_in_flight": st.max_in_flight,
            "lat": st.lat.counts, "svc": st.svc.counts, "lag": st.lag.counts,
            "wait": st.wait.counts, "errlat": st.errlat.counts,
            "cpu_user_s": max(0.0, self.cpu1[0] - self.cpu0[0]),
            "cpu_system_s": max(0.0, self.cpu1[1] - self.cpu0[1]),
            "cpu_wall_s": max(1e-9, self.wall1 - self.wall0),
            "last_dispatch_rel": (st.last_dispatch - ms) if st.sent else None,
            "last_ok_rel": (st.last_ok - ms) if st.ok else None,
            "stop_rel": (self.stop_at - ms) if self.stop_at is not None else None,
            "cap_offset": feed.cap_offset,
            "interrupted": self.stopping,
            "pool": {"opened": pool.opened, "connect_errors": pool.connect_errors,
                     "max_size": pool.max_size, "limit": pool.limit,
                     "last_error": pool.last_error},
            "timer_precise": self.timer.precise,
            "pid": os.getpid(), "cpu_affinity": cpu_affinity(),
        }
        done = self.done
        self._reset()
        if self._gc_was_enabled:
            gc.enable()
        gc.unfreeze()
        done.set_result(part)

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()
        self.pools.clear()
        self.timer.close()
