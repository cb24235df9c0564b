"""A pipelined asyncio Redis client: one connection, replies matched in order.

Why it exists: under load the service spent about a third of its CPU inside
redis-py's asyncio client (connection pool check-out, health and retry
wrappers, an ``asyncio.wait_for`` task per command), for one or two tiny
GET/SET/DEL commands per chat message. Redis answers the commands of one
connection in the order it received them, so every request can write its
command to one shared connection at once and wait on a future that the
protocol resolves when the matching reply arrives (what aioredis 1.x and
ioredis do). The commands of concurrent requests then share the connection
without a pool or a lock.

Timeouts cost no timer per command: the connection keeps one watchdog timer
for its oldest unanswered command. If that command gets no reply within
``timeout`` (a stopped or hung Redis), every pending command fails with
``CommandTimeout`` and the connection is dropped; the next command reconnects.

Why it is kept beside two maintained clients (issue #15, measured side by side in one
run: ``deploy/bench/compare.sh`` with ``SCRIPT=deploy/bench/realistic.lua``, the
optimised variant on one core, wrk on the other, 20 s each, 32 connections):

    REDIS_CLIENT   req/s   p50
    pipelined      6,033   4.90 ms
    valkey-glide   4,162   7.29 ms   (-31%)
    redis-py       3,692   7.62 ms   (-39%)
    coredis        3,414   7.45 ms   (-43%)

The best maintained client (valkey-glide) is 31% below this one, outside the 10% that
would justify switching, so ``pipelined`` stays the optimised default. What it lacks
(TLS, RESP3, Sentinel, Cluster) is what ``REDIS_CLIENT=valkey-glide`` or ``coredis``
gives where a deployment needs it.

Replies are parsed by hiredis when it is installed (CPython) and by the small
pure-Python RESP2 reader below otherwise (PyPy). Only what the engine needs is
here: GET, SET with PX, DEL, PING, AUTH and SELECT; ``execute`` sends anything.
``REDIS_CLIENT=pipelined`` selects it for the async concurrency mode;
the sync mode always uses redis-py's blocking client.

Python 3.9-compatible.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Callable, Deque, List, Optional, Tuple, Type, Union
from urllib.parse import unquote, urlsplit

try:
    import hiredis as _hiredis
except ImportError:  # PyPy: hiredis has no PyPy wheels
    _hiredis = None  # type: ignore[assignment]


class RedisClientError(Exception):
    """Base of this client's errors (the engine treats them like redis-py's)."""


class ReplyError(RedisClientError):
    """Redis answered the command with an error (``-ERR ...``)."""


class ProtocolError(RedisClientError):
    """The bytes from the server are not RESP, or a reply came with no command waiting."""


class ConnectionLost(RedisClientError, ConnectionError):
    """The connection could not be opened or was closed with commands pending."""


class CommandTimeout(RedisClientError, TimeoutError):
    """Redis did not answer within the timeout (stopped, overloaded or unreachable)."""


Arg = Union[str, bytes, int, float]


def encode_command(args: Tuple[Arg, ...]) -> bytes:
    """A command as a RESP array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode("utf-8")
        elif isinstance(arg, bool):
            raise TypeError("refusing to send a bool to Redis; send 0/1 or a string")
        elif isinstance(arg, int):
            data = b"%d" % arg
        elif isinstance(arg, float):
            data = repr(arg).encode("ascii")
        else:
            raise TypeError("cannot send %s to Redis" % type(arg).__name__)
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class PyReader:
    """Incremental RESP2 parser with hiredis.Reader's interface: ``feed``, then ``gets``
    until it returns False (no complete reply buffered)."""

    _INCOMPLETE = object()

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0

    def feed(self, data: bytes) -> None:
        self._buf += data

    def gets(self) -> Any:
        value, pos = self._parse(self._pos)
        if value is self._INCOMPLETE:
            return False
        self._pos = pos
        if pos == len(self._buf) or pos > 65536:
            del self._buf[:pos]
            self._pos = 0
        return value

    def _parse(self, pos: int) -> Tuple[Any, int]:
        buf = self._buf
        end = buf.find(b"\r\n", pos)
        if end < 0:
            return self._INCOMPLETE, pos
        kind = buf[pos]
        line = bytes(buf[pos + 1:end])
        pos = end + 2
        if kind == 36:  # $ bulk string
            n = self._int(line)
            if n < 0:
                return None, pos
            if len(buf) < pos + n + 2:
                return self._INCOMPLETE, pos
            return bytes(buf[pos:pos + n]), pos + n + 2
        if kind == 43:  # + simple string
            return line, pos
        if kind == 58:  # : integer
            return self._int(line), pos
        if kind == 45:  # - error
            return ReplyError(line.decode("utf-8", "replace")), pos
        if kind == 42:  # * array
            n = self._int(line)
            if n < 0:
                return None, pos
            items: List[Any] = []
            for _ in range(n):
                item, pos = self._parse(pos)
                if item is self._INCOMPLETE:
                    return self._INCOMPLETE, pos
                items.append(item)
            return items, pos
        raise ProtocolError("unexpected RESP type byte %r" % chr(kind))

    @staticmethod
    def _int(line: bytes) -> int:
        try:
            return int(line)
        except ValueError:
            raise ProtocolError("bad RESP length or integer %r" % line) from None


def make_reader() -> Any:
    """hiredis's C reader when available, else the pure-Python one."""
    if _hiredis is not None:
        return _hiredis.Reader(replyError=ReplyError, protocolError=ProtocolError)
    return PyReader()


_PROTOCOL_ERRORS: Tuple[Type[BaseException], ...] = (ProtocolError,) + (
    (_hiredis.ProtocolError,) if _hiredis is not None else ())


class _Connection(asyncio.Protocol):
    """One TCP connection to Redis and the FIFO of futures waiting for its replies."""

    def __init__(self, timeout: float, reader_factory: Callable[[], Any]) -> None:
        self.timeout = timeout
        self.reader = reader_factory()
        self.pending: Deque[Tuple[asyncio.Future, float]] = deque()
        self.closed = False
        self.transport: Optional[asyncio.Transport] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._watchdog: Optional[asyncio.TimerHandle] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._loop = asyncio.get_running_loop()

    def send(self, payload: bytes) -> asyncio.Future:
        loop = self._loop
        assert loop is not None and self.transport is not None
        fut = loop.create_future()
        deadline = loop.time() + self.timeout
        self.pending.append((fut, deadline))
        self.transport.write(payload)
        if self._watchdog is None:
            self._watchdog = loop.call_at(deadline, self._check_oldest)
        return fut

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        pending = self.pending
        reader.feed(data)
        while True:
            try:
                reply = reader.gets()
            except _PROTOCOL_ERRORS as exc:
                self._abort(ProtocolError("invalid reply from Redis: %s" % exc))
                return
            if reply is False:
                return
            if not pending:
                self._abort(ProtocolError("Redis sent a reply no command was waiting for"))
                return
            fut = pending.popleft()[0]
            if not fut.done():  # a cancelled caller's reply is read and dropped
                fut.set_result(reply)

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self._fail(ConnectionLost, "connection to Redis lost: %s" % (exc or "closed by server"))

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()
        self._fail(ConnectionLost, "connection closed by the client")

    def _check_oldest(self) -> None:
        self._watchdog = None
        if not self.pending or self._loop is None:
            return
        deadline = self.pending[0][1]
        if deadline <= self._loop.time():
            self._abort(CommandTimeout("no reply from Redis within %gs" % self.timeout))
        else:
            self._watchdog = self._loop.call_at(deadline, self._check_oldest)

    def _abort(self, exc: RedisClientError) -> None:
        self._fail(type(exc), str(exc))
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, kind: type, message: str) -> None:
        self.closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        while self.pending:
            fut = self.pending.popleft()[0]
            if not fut.done():
                fut.set_exception(kind(message))


class PipelinedRedis:
    """The client: same method names as redis-py's asyncio client for what the engine uses."""

    def __init__(self, host: str = "127.0.0.1", port: int = 6379, db: int = 0,
                 password: Optional[str] = None, username: Optional[str] = None,
                 timeout: float = 0.25,
                 reader_factory: Callable[[], Any] = make_reader) -> None:
        self.host = host
        self.port = port
        self.db = db
        self.password = password
        self.username = username
        self.timeout = timeout
        self._reader_factory = reader_factory
        self._conn: Optional[_Connection] = None
        self._opening: Optional[asyncio.Future] = None

    @classmethod
    def from_url(cls, url: str, timeout: float = 0.25, **kwargs: Any) -> PipelinedRedis:
        """``redis://[[user]:password@]host[:port][/db]``; other schemes raise ValueError."""
        parts = urlsplit(url)
        if parts.scheme != "redis":
            raise ValueError("REDIS_CLIENT=pipelined supports redis:// URLs only, not %r" % url)
        path = parts.path.strip("/")
        try:
            db = int(path) if path else 0
            port = parts.port or 6379
        except ValueError:
            raise ValueError("bad Redis URL %r: port and database must be numbers" % url) \
                from None
        return cls(parts.hostname or "127.0.0.1", port, db,
                   unquote(parts.password) if parts.password else None,
                   unquote(parts.username) if parts.username else None, timeout, **kwargs)

    async def execute(self, *args: Arg) -> Any:
        """Send one command and wait for its reply; ReplyError for an error reply."""
        conn = self._conn
        if conn is None or conn.closed:
            conn = await self._connect()
        reply = await conn.send(encode_command(args))
        if isinstance(reply, ReplyError):
            raise reply
        return reply

    async def get(self, key: Union[str, bytes]) -> Optional[bytes]:
        return await self.execute("GET", key)

    async def set(self, key: Union[str, bytes], value: Arg, px: Optional[int] = None) -> bool:
        if px is None:
            reply = await self.execute("SET", key, value)
        else:
            reply = await self.execute("SET", key, value, "PX", px)
        return reply == b"OK"

    async def delete(self, *keys: Union[str, bytes]) -> int:
        return await self.execute("DEL", *keys)

    async def ping(self) -> bool:
        return await self.execute("PING") == b"PONG"

    async def aclose(self) -> None:
        """Close the connection; commands still waiting fail with ConnectionLost."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    async def _connect(self) -> _Connection:
        # Concurrent callers share one connection attempt.
        opening = self._opening
        if opening is None:
            opening = self._opening = asyncio.ensure_future(self._open())
            opening.add_done_callback(self._opened)
        return await asyncio.shield(opening)

    def _opened(self, opening: asyncio.Future) -> None:
        self._opening = None
        if not opening.cancelled():
            opening.exception()  # retrieved here, raised in every waiter

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        where = "%s:%d" % (self.host, self.port)
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(lambda: _Connection(self.timeout, self._reader_factory),
                                       self.host, self.port),
                self.timeout)
        except asyncio.TimeoutError:
            raise CommandTimeout("connecting to Redis at %s timed out after %gs"
                                 % (where, self.timeout)) from None
        except OSError as exc:
            raise ConnectionLost("cannot connect to Redis at %s: %s" % (where, exc)) from None
        setup: List[Tuple[str, Tuple[Arg, ...]]] = []
        if self.password is not None:
            setup.append(("AUTH", (self.username, self.password) if self.username
                          else (self.password,)))
        if self.db:
            setup.append(("SELECT", (self.db,)))
        for name, args in setup:
            reply = await conn.send(encode_command((name, *args)))
            if isinstance(reply, ReplyError):
                conn.close()
                raise ReplyError("%s failed: %s" % (name, reply))
        self._conn = conn
        return conn
