"""Keep-alive HTTP/1.1 connections of the open-loop generator and what they record.

``Pool`` holds the connections to one host:port: an idle stack (LIFO: at light load one
warm connection carries the traffic, like ``wrk -c1``), a queue of requests that found
every connection busy, growth by at most ``MAX_CONNECTING`` connects at a time up to
``limit``. ``Conn`` is the ``asyncio.Protocol``: it writes pre-encoded bytes and feeds
what comes back to ``ResponseParser``. ``Stats`` are one block's counters and
recorders (see ``oloop_engine`` for what each time means).
"""

from __future__ import annotations

import asyncio
import collections
import socket
import time
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

import orjson

from loadtests.oloop_hist import Recorder
from loadtests.oloop_parse import ProtocolError, ResponseParser

__all__ = ["MAX_CONNECTING", "Conn", "Pool", "Stats", "host_port"]

# connects in flight at once while the pool grows: a server stall must not be answered
# with a burst of hundreds of connects that the recovering server then has to accept
MAX_CONNECTING = 16
_Item = Tuple[float, float, bytes, bool]  # intended, dispatched, request, 404-is-ok


def host_port(url: str) -> Tuple[str, int, str]:
    """(host, port, Host header) of an http URL."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"only http:// URLs are supported, got {url!r}")
    port = parts.port or 80
    host = parts.hostname
    header = parts.netloc.rsplit("@", 1)[-1]
    return host, port, header


def _has_intent(body: bytes) -> bool:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(doc, dict) and isinstance(doc.get("intent"), str)


class Stats:
    """Counters and recorders of one block in this process."""

    def __init__(self, measure_start: float, check_intent: bool) -> None:
        self.measure_start = measure_start
        self.check_intent = check_intent
        self.lat, self.svc, self.lag = Recorder(), Recorder(), Recorder()
        self.wait, self.errlat = Recorder(), Recorder()
        self.sent = self.warmup_sent = self.sent_total = 0
        self.completed = self.completed_total = self.ok = self.errors_total = 0
        self.waited = 0
        self.errors: Dict[str, int] = {}
        self.in_flight = self.max_in_flight = 0
        self.last_dispatch = 0.0
        self.last_ok = 0.0  # when the last measured successful response arrived
        self.tick: List[float] = []  # ok latencies (s) since the last progress tick
        self.status_kinds: Dict[int, str] = {}

    def error(self, kind: str, intended: float, latency: Optional[float]) -> None:
        self.in_flight -= 1
        self.completed_total += 1
        self.errors_total += 1
        if intended >= self.measure_start:
            self.completed += 1
            self.errors[kind] = self.errors.get(kind, 0) + 1
            if latency is not None:
                self.errlat.record(latency)


class Conn(asyncio.Protocol):
    __slots__ = ("busy", "dispatched", "intended", "ok404", "parser", "pool", "transport",
                 "written")

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.transport: Any = None
        self.parser = ResponseParser()
        self.busy = False
        self.intended = self.dispatched = self.written = 0.0
        self.ok404 = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def data_received(self, data: bytes) -> None:
        try:
            r = self.parser.feed(data)
        except ProtocolError:
            self.pool.broken(self, "protocol")
            return
        if r is not None:
            self.pool.done(self, r[0], r[1], r[2])

    def eof_received(self) -> bool:
        try:
            r = self.parser.eof()
        except ProtocolError:
            self.pool.broken(self, "connection")
            return False
        if r is not None and self.busy:
            self.pool.done(self, r[0], r[1], False)
        return False

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.pool.lost(self)


class Pool:
    """Keep-alive connections to one host:port, grown when all are busy, up to ``limit``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, host: str, port: int) -> None:
        self.loop, self.host, self.port = loop, host, port
        self.conns: set = set()
        self.idle: List[Conn] = []
        self.queue: Deque[_Item] = collections.deque()
        self.connecting = 0
        self.limit = 1000
        self.connect_timeout = 10.0
        self.opened = 0
        self.connect_errors = 0
        self.last_error = ""
        self.max_size = 0
        self.stats: Optional[Stats] = None
        self.on_idle: Optional[Callable[[], None]] = None  # in_flight reached 0
        self._tasks: set = set()

    # -- connections ---------------------------------------------------------------------
    def open_one(self) -> None:
        self.connecting += 1
        task = self.loop.create_task(self._connect())
        self._tasks.add(task)  # the loop holds tasks weakly
        task.add_done_callback(self._tasks.discard)

    async def _connect(self) -> None:
        try:
            _t, conn = await asyncio.wait_for(
                self.loop.create_connection(lambda: Conn(self), self.host, self.port),
                self.connect_timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            self.connecting -= 1
            self.connect_errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            if self.queue and self.stats is not None:
                item = self.queue.popleft()
                self.stats.error("connection", item[0], None)
                self._check_idle()
            self._maybe_grow()
            return
        self.connecting -= 1
        self.opened += 1
        self.conns.add(conn)
        if len(self.conns) > self.max_size:
            self.max_size = len(self.conns)
        self.release(conn, time.perf_counter())

    def _maybe_grow(self) -> None:
        if (self.queue and self.connecting < min(len(self.queue), MAX_CONNECTING)
                and len(self.conns) + self.connecting < self.limit):
            self.open_one()

    async def ensure(self, n: int) -> None:
        """Open connections until ``n`` are open (or the attempts fail); before a block."""
        want = min(n, self.limit) - len(self.conns) - self.connecting
        for _ in range(max(0, want)):
            self.open_one()
        deadline = time.perf_counter() + self.connect_timeout
        while self.connecting and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)

    def release(self, conn: Conn, now: float) -> None:
        if self.queue:
            intended, dispatched, req, ok404 = self.queue.popleft()
            st = self.stats
            if st is not None and intended >= st.measure_start:
                st.waited += 1
                st.wait.record(now - dispatched)
            conn.intended, conn.dispatched, conn.written, conn.ok404 = (
                intended, dispatched, now, ok404)
            conn.busy = True
            conn.transport.write(req)
        else:
            self.idle.append(conn)

    def _discard(self, conn: Conn) -> None:
        self.conns.discard(conn)
        try:
            self.idle.remove(conn)
        except ValueError:
            pass

    def _check_idle(self) -> None:
        st = self.stats
        if st is not None and st.in_flight <= 0 and self.on_idle is not None:
            self.on_idle()

    # -- the hot path --------------------------------------------------------------------
    def send(self, intended: float, req: bytes, ok404: bool, now: float) -> None:
        idle = self.idle
        if idle:
            conn = idle.pop()
            conn.intended = intended
            conn.dispatched = conn.written = now
            conn.ok404 = ok404
            conn.busy = True
            conn.transport.write(req)
            return
        self.queue.append((intended, now, req, ok404))
        self._maybe_grow()

    def done(self, conn: Conn, status: int, body: bytes, keep: bool) -> None:
        end = time.perf_counter()
        st = self.stats
        if not conn.busy or st is None:  # an answer nobody waits for (timed out)
            self._discard(conn)
            conn.transport.close()
            return
        conn.busy = False
        intended = conn.intended
        kind: Optional[str] = None
        if status >= 300 or status < 200:
            if not (status == 404 and conn.ok404):
                kind = st.status_kinds.get(status)
                if kind is None:
                    kind = st.status_kinds[status] = f"http_{status}"
        elif st.check_intent and not _has_intent(body):
            kind = "bad_reply"
        st.in_flight -= 1
        st.completed_total += 1
        if kind is None:
            st.tick.append(end - intended)
            if intended >= st.measure_start:
                st.completed += 1
                st.ok += 1
                if end > st.last_ok:
                    st.last_ok = end
                st.lat.record(end - intended)
                st.svc.record(end - conn.written)
        else:
            st.errors_total += 1
            if intended >= st.measure_start:
                st.completed += 1
                st.errors[kind] = st.errors.get(kind, 0) + 1
                st.errlat.record(end - intended)
        if keep:
            self.release(conn, end)
        else:
            self._discard(conn)
            conn.transport.close()
            self._maybe_grow()
        if st.in_flight <= 0 and self.on_idle is not None:
            self.on_idle()

    def broken(self, conn: Conn, kind: str) -> None:
        """The connection's bytes made no sense (or it died mid-response): fail and drop."""
        if conn.busy and self.stats is not None:
            conn.busy = False
            self.stats.error(kind, conn.intended, None)
        self._discard(conn)
        if conn.transport is not None:
            conn.transport.abort()
        self._maybe_grow()
        self._check_idle()

    def lost(self, conn: Conn) -> None:
        if conn.busy and self.stats is not None:
            conn.busy = False
            self.stats.error("connection", conn.intended, None)
            self._check_idle()
        self._discard(conn)
        self._maybe_grow()

    def sweep(self, now: float, timeout: float) -> None:
        """Fail requests older than ``timeout`` since dispatch (their connection is closed:
        a late answer must not be taken for the next request's)."""
        st = self.stats
        if st is None:
            return
        for conn in [c for c in self.conns if c.busy and now - c.dispatched > timeout]:
            conn.busy = False
            st.error("timeout", conn.intended, now - conn.intended)
            self._discard(conn)
            conn.transport.abort()
        q = self.queue
        while q and now - q[0][1] > timeout:
            item = q.popleft()
            st.error("timeout", item[0], now - item[0])
        self._maybe_grow()
        self._check_idle()

    def abort_in_flight(self) -> int:
        """Drop what is still in flight (end of a drain); returns how many."""
        n = len(self.queue)
        self.queue.clear()
        for conn in [c for c in self.conns if c.busy]:
            conn.busy = False
            n += 1
            self._discard(conn)
            conn.transport.abort()
        return n

    def close(self) -> None:
        for conn in list(self.conns):
            conn.busy = False
            if conn.transport is not None:
                conn.transport.close()
        self.conns.clear()
        self.idle.clear()
