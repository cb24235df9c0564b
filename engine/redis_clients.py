"""The maintained asyncio Redis clients behind the engine's small client interface.

``REDIS_CLIENT=coredis`` and ``REDIS_CLIENT=valkey-glide`` (beside ``redis-py`` and the
own ``pipelined``): each adapter offers what the cache and the session store call,
``get``, ``set(key, value, px=...)``, ``delete``, ``ping`` and ``aclose``, and raises
only errors listed in ``ERRORS``, so nothing in ``engine.cache`` depends on the choice.

* coredis 6 runs its connection pool inside an anyio task group that must be entered
  and left by one task. A request handler is a short-lived task, so the pool is entered
  by a background task of its own that lives as long as the client (``_Keeper``).
  Retries are off (``NoRetryPolicy``): a stopped Redis must cost one timeout, as with the
  other clients, not three.
* valkey-glide is a Rust core (its own thread and socket multiplexing) behind a thin
  Python layer; it reconnects by itself after Redis restarts. A client that reports it
  is closed is replaced on the next call. CPython only (no PyPy wheels).

Python 3.9-compatible; both packages are optional at run time. Under the lab's PyPy
(Debian pypy3 7.3, Python 3.9) neither works: pip picks coredis 4.20 there, whose import
fails in pympler (Debian's pypy3 lacks /usr/lib/pypy3.9/_testcapimodule.c), and
valkey-glide has no PyPy wheel (its sdist builds with maturin/cargo, which needs
crates.io, unreachable here). PyPy runs use ``pipelined`` or ``redis-py``.
"""

from __future__ import annotations

import asyncio
from typing import Any, List, Optional, Set, Tuple, Type
from urllib.parse import unquote, urlsplit

ERRORS: List[Type[BaseException]] = []  # of the clients loaded so far (``_load``)

# Imported on first use, not at import: coredis and glide take ~1 s each to import here,
# which every service process paid at start-up whichever client it used (measured with
# ``python -X importtime -c "import service.__main__"``: 2.2 s of 2.8 s).
_coredis: Any = None
_NoRetry: Any = None
_glide: Any = None
_tried: Set[str] = set()


def _load(client: str) -> None:
    """Import ``client``'s package once; a failed import leaves it None (``available``)."""
    global _coredis, _NoRetry, _glide
    if client in _tried:
        return
    _tried.add(client)
    if client == "coredis":
        try:
            import coredis
            from coredis.exceptions import RedisError as CoredisError
            from coredis.retry import NoRetryPolicy
        except Exception:  # not installed; or, on Debian's PyPy 3.9, coredis 4.20's import
            # of pympler fails on _testcapi (/usr/lib/pypy3.9/_testcapimodule.c missing)
            return
        ERRORS.append(CoredisError)
        _coredis, _NoRetry = coredis, NoRetryPolicy
    elif client == "valkey-glide":
        try:
            import glide
        except Exception:  # not installed (no PyPy wheels; the sdist needs Rust and crates.io)
            return
        ERRORS.append(glide.GlideError)
        _glide = glide


def available(client: str) -> Optional[str]:
    """None when ``client`` can be used here, else why not (its package is imported)."""
    _load(client)
    if client == "coredis" and _coredis is None:
        return "REDIS_CLIENT=coredis needs the 'coredis' package (pip install coredis)"
    if client == "valkey-glide" and _glide is None:
        return ("REDIS_CLIENT=valkey-glide needs the 'valkey-glide' package "
                "(pip install valkey-glide; CPython only)")
    return None


def _address(url: str) -> Tuple[str, int, int, Optional[str], Optional[str]]:
    """(host, port, db, username, password) of a redis:// URL."""
    parts = urlsplit(url)
    if parts.scheme != "redis":
        raise ValueError("only redis:// URLs are supported by this client, got %r" % url)
    db = int(parts.path.lstrip("/") or 0)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return parts.hostname or "127.0.0.1", parts.port or 6379, db, user, password


class CoredisRedis:
    """coredis's asyncio client, its pool held open by a background task."""

    def __init__(self, url: str, timeout: float) -> None:
        if available("coredis") is not None:
            raise RuntimeError(available("coredis"))
        _address(url)  # a URL it cannot serve fails at start
        self.url = url
        self.timeout = timeout
        self._client: Any = None
        self._keeper: Optional[asyncio.Task] = None
        self._stop: Optional[asyncio.Event] = None

    async def _get(self) -> Any:
        keeper = self._keeper
        if keeper is not None and not keeper.done():
            return self._client
        client = _coredis.Redis.from_url(
            self.url, stream_timeout=self.timeout, connect_timeout=self.timeout,
            verify_version=False, retry_policy=_NoRetry())
        ready = asyncio.get_running_loop().create_future()
        stop = asyncio.Event()

        async def keep() -> None:
            try:
                async with client:
                    ready.set_result(None)
                    await stop.wait()
            except BaseException as exc:
                if not ready.done():
                    ready.set_exception(exc)
                    return
                raise

        self._client, self._stop = client, stop
        self._keeper = asyncio.ensure_future(keep())
        await ready
        return client

    async def get(self, key: str) -> Optional[bytes]:
        return await (await self._get()).get(key)

    async def set(self, key: str, value: Any, px: Optional[int] = None) -> Any:
        return await (await self._get()).set(key, value, px=px)

    async def delete(self, key: str) -> Any:
        return await (await self._get()).delete([key])

    async def ping(self) -> Any:
        return await (await self._get()).ping()

    async def aclose(self) -> None:
        keeper, stop = self._keeper, self._stop
        self._keeper = self._stop = self._client = None
        if keeper is None or stop is None:
            return
        stop.set()
        try:
            await keeper
        except Exception:  # the pool failed meanwhile: nothing left to close
            pass


class GlideRedis:
    """valkey-glide's asyncio client (standalone mode)."""

    def __init__(self, url: str, timeout: float) -> None:
        if available("valkey-glide") is not None:
            raise RuntimeError(available("valkey-glide"))
        host, port, db, user, password = _address(url)
        ms = max(1, int(timeout * 1000))
        creds = (_glide.ServerCredentials(password, user) if password is not None else None)
        self._config = _glide.GlideClientConfiguration(
            [_glide.NodeAddress(host, port)], request_timeout=ms, database_id=db or None,
            credentials=creds,
            advanced_config=_glide.AdvancedGlideClientConfiguration(connection_timeout=ms))
        self._client: Any = None
        self._creating: Optional[asyncio.Future] = None

    async def _get(self) -> Any:
        if self._client is not None:
            return self._client
        if self._creating is None:  # concurrent first calls share one connection attempt
            self._creating = asyncio.ensure_future(_glide.GlideClient.create(self._config))
        creating = self._creating
        try:
            client = await creating
        finally:
            if self._creating is creating:
                self._creating = None
        self._client = client
        return client

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        client = await self._get()
        try:
            return await getattr(client, name)(*args, **kwargs)
        except _glide.ClosingError:
            if self._client is client:
                self._client = None  # a closed client does not come back: make a new one
            raise

    async def get(self, key: str) -> Optional[bytes]:
        return await self._call("get", key)

    async def set(self, key: str, value: Any, px: Optional[int] = None) -> Any:
        expiry = (None if px is None else _glide.ExpirySet(_glide.ExpiryType.MILLSEC, px))
        return await self._call("set", key, value, expiry=expiry)

    async def delete(self, key: str) -> Any:
        return await self._call("delete", [key])

    async def ping(self) -> Any:
        return await self._call("ping")

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.close()
            except _glide.GlideError:
                pass


def make_client(client: str, url: str, timeout: float) -> Any:
    """A new asyncio client of the maintained kind ``client``."""
    if client == "coredis":
        return CoredisRedis(url, timeout)
    if client == "valkey-glide":
        return GlideRedis(url, timeout)
    raise ValueError("not a maintained-client adapter: %r" % client)
