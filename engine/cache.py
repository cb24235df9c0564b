"""The IR cache (IR_CACHE_BACKEND) and the session store, with sync and async paths.

Backends: ``none`` (every look-up misses), ``memory`` (a TTL-bounded LRU in
the process), ``redis`` (shared by every instance), ``tiered`` (memory L1 in
front of Redis L2). Redis is optional at run time: when it is unreachable the
connector opens a circuit for ``retry_interval`` seconds, look-ups count as
misses and sessions fall back to process memory, so the bot keeps answering
and ``health()`` says "degraded".

POOLING: with pooling one Redis client (and its connection pool) serves every
request; without it each request opens its own connection and closes it when
the request ends (the guide's "Current").

REDIS_CLIENT picks the asyncio client: redis-py's, the pipelined one of
``engine.resp`` (one shared connection; see there why), coredis or valkey-glide
(``engine.redis_clients``). All expose the same get/set/delete/ping/aclose, so
nothing below depends on the choice.

Python 3.9-compatible.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple, Type

from .config import REDIS_CLIENTS
from .redis_clients import ERRORS as _MAINTAINED_ERRORS
from .redis_clients import available as _client_available
from .redis_clients import make_client as _make_maintained
from .resp import PipelinedRedis, RedisClientError

_REDIS_ERRORS: Tuple[Type[BaseException], ...] = (OSError, RedisClientError,
                                                  *_MAINTAINED_ERRORS)
try:  # redis is optional at run time
    import redis as _redis
    import redis.asyncio as _aredis
    from redis.exceptions import RedisError

    _REDIS_ERRORS = (RedisError, OSError, RedisClientError, *_MAINTAINED_ERRORS)
except ImportError:  # pragma: no cover - exercised only without redis installed
    _redis = None  # type: ignore[assignment]
    _aredis = None  # type: ignore[assignment]



def _catch_maintained_errors() -> None:
    """Add the errors of the maintained clients imported so far to ``_REDIS_ERRORS``
    (``engine.redis_clients`` imports a client's package on first use)."""
    global _REDIS_ERRORS
    _REDIS_ERRORS = tuple(dict.fromkeys((*_REDIS_ERRORS, *_MAINTAINED_ERRORS)))


MAINTAINED_CLIENTS = ("coredis", "valkey-glide")  # the adapters of engine.redis_clients
MISS = object()  # a cache miss (None is a valid cached value: "order not found")


@dataclass(frozen=True)
class Namespace:
    """A kind of cached value: its key prefix, lifetime and JSON codec for Redis."""

    name: str
    ttl: float
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


class LayerStats:
    __slots__ = ("errors", "hits", "misses")

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0
        self.errors = 0

    def to_dict(self) -> Dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "errors": self.errors}


class MemoryLRU:
    """A bounded LRU with per-entry expiry; stores Python objects as they are."""

    def __init__(self, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self._clock = clock
        self._data: OrderedDict[str, Tuple[float, Any]] = OrderedDict()

    def get(self, key: str) -> Any:
        item = self._data.get(key)
        if item is None:
            return MISS
        expires, value = item
        if expires < self._clock():
            del self._data[key]
            return MISS
        self._data.move_to_end(key)
        return value

    def set(self, key: str, value: Any, ttl: float) -> None:
        data = self._data
        data[key] = (self._clock() + ttl, value)
        data.move_to_end(key)
        if len(data) > self.size:
            data.popitem(last=False)

    def delete(self, key: str) -> None:
        self._data.pop(key, None)

    def __len__(self) -> int:
        return len(self._data)


class Scope:
    """Per-request resources: connections opened when POOLING is off, closed at the end."""

    __slots__ = ("async_redis", "sync_redis")

    def __init__(self) -> None:
        self.sync_redis: Any = None
        self.async_redis: Any = None

    def close(self) -> None:
        if self.sync_redis is not None:
            try:
                self.sync_redis.close()
            except _REDIS_ERRORS:
                pass
            self.sync_redis = None

    async def aclose(self) -> None:
        self.close()
        if self.async_redis is not None:
            try:
                await self.async_redis.aclose()
            except _REDIS_ERRORS:
                pass
            self.async_redis = None


class RedisConnector:
    """Redis clients for both concurrency modes, with a circuit breaker."""

    def __init__(self, url: str, timeout: float, pooling: bool,
                 retry_interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 client: str = "redis-py") -> None:
        if _redis is None:
            raise RuntimeError("the 'redis' package is required for a Redis cache backend")
        if client not in REDIS_CLIENTS:
            raise ValueError("unknown Redis client %r (one of: %s)"
                             % (client, ", ".join(REDIS_CLIENTS)))
        if client == "pipelined":
            PipelinedRedis.from_url(url, timeout)  # a URL it cannot serve fails here, at start
        elif client in MAINTAINED_CLIENTS:
            problem = _client_available(client)  # imports the client's package
            if problem is not None:
                raise RuntimeError(problem)
            _catch_maintained_errors()
            _make_maintained(client, url, timeout)  # fails at start on a URL it cannot serve
        self.url = url
        self.timeout = timeout
        self.pooling = pooling
        self.client = client
        self.retry_interval = retry_interval
        self._clock = clock
        self._down_until = 0.0
        self.last_error: Optional[str] = None
        self.failures = 0
        self._sync: Any = None
        self._async: Any = None

    def _kwargs(self) -> Dict[str, Any]:
        return {"socket_timeout": self.timeout, "socket_connect_timeout": self.timeout}

    def available(self) -> bool:
        return self._clock() >= self._down_until

    def failed(self, exc: BaseException) -> None:
        self.failures += 1
        self.last_error = "%s: %s" % (type(exc).__name__, exc)
        self._down_until = self._clock() + self.retry_interval

    def succeeded(self) -> None:
        self.last_error = None

    def sync_client(self, scope: Scope) -> Any:
        if self.pooling:
            if self._sync is None:
                self._sync = _redis.Redis.from_url(self.url, **self._kwargs())
            return self._sync
        if scope.sync_redis is None:
            scope.sync_redis = _redis.Redis.from_url(
                self.url, single_connection_client=True, **self._kwargs())
        return scope.sync_redis

    def _new_async(self, per_request: bool) -> Any:
        if self.client == "pipelined":
            return PipelinedRedis.from_url(self.url, self.timeout)
        if self.client in MAINTAINED_CLIENTS:
            return _make_maintained(self.client, self.url, self.timeout)
        if per_request:
            return _aredis.Redis.from_url(self.url, single_connection_client=True,
                                          **self._kwargs())
        return _aredis.Redis.from_url(self.url, **self._kwargs())

    def async_client(self, scope: Scope) -> Any:
        if self.pooling:
            if self._async is None:
                self._async = self._new_async(per_request=False)
            return self._async
        if scope.async_redis is None:
            scope.async_redis = self._new_async(per_request=True)
        return scope.async_redis

    def ping(self) -> Optional[str]:
        """None when Redis answers, else the reason (also resets the breaker on success)."""
        client = _redis.Redis.from_url(self.url, **self._kwargs())
        try:
            client.ping()
            self._down_until = 0.0
            self.last_error = None
            return None
        except _REDIS_ERRORS as exc:
            self.failed(exc)
            return self.last_error
        finally:
            client.close()

    async def aping(self) -> Optional[str]:
        client = self._new_async(per_request=True)
        try:
            await client.ping()
            self._down_until = 0.0
            self.last_error = None
            return None
        except _REDIS_ERRORS as exc:
            self.failed(exc)
            return self.last_error
        finally:
            await client.aclose()

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    async def aclose(self) -> None:
        self.close()
        if self._async is not None:
            await self._async.aclose()
            self._async = None


class IRCache:
    """The IR cache facade: one object whatever the backend."""

    def __init__(self, backend: str, size: int, prefix: str,
                 redis: Optional[RedisConnector]) -> None:
        self.backend = backend
        self.prefix = prefix
        self.l1: Optional[MemoryLRU] = MemoryLRU(size) if backend in ("memory", "tiered") \
            else None
        self.redis = redis if backend in ("redis", "tiered") else None
        if backend in ("redis", "tiered") and redis is None:
            raise ValueError("backend %r needs a RedisConnector" % backend)
        self.stats: Dict[str, LayerStats] = {}
        if self.l1 is not None:
            self.stats["memory"] = LayerStats()
        if self.redis is not None:
            self.stats["redis"] = LayerStats()

    def _key(self, ns: Namespace, key: str) -> str:
        return "%sir:%s:%s" % (self.prefix, ns.name, key)

    # Both paths share everything but the Redis call: the memory layer first, then
    # Redis unless its circuit is open; errors open the circuit and count as misses.
    def _l1_get(self, full: str) -> Any:
        if self.l1 is None:
            return MISS
        value = self.l1.get(full)
        self.stats["memory"].hits += value is not MISS
        self.stats["memory"].misses += value is MISS
        return value

    def _redis_usable(self) -> Optional[RedisConnector]:
        redis = self.redis
        return redis if redis is not None and redis.available() else None

    def _redis_error(self, redis: RedisConnector, exc: BaseException) -> Any:
        redis.failed(exc)
        self.stats["redis"].errors += 1
        return MISS

    def _set_l1(self, ns: Namespace, full: str, value: Any) -> Optional[str]:
        """Store in the memory layer; returns the JSON for Redis, or None if Redis is out."""
        if self.l1 is not None:
            self.l1.set(full, value, ns.ttl)
        if self._redis_usable() is None:
            return None
        return _dumps(ns.encode(value))

    # -- sync path --
    def get(self, scope: Scope, ns: Namespace, key: str) -> Any:
        full = self._key(ns, key)
        value = self._l1_get(full)
        if value is not MISS or self.redis is None:
            return value
        redis = self._redis_usable()
        if redis is None:
            self.stats["redis"].misses += 1
            return MISS
        try:
            raw = redis.sync_client(scope).get(full)
        except _REDIS_ERRORS as exc:
            return self._redis_error(redis, exc)
        return self._from_redis(ns, full, raw, self.stats["redis"])

    def set(self, scope: Scope, ns: Namespace, key: str, value: Any) -> None:
        full = self._key(ns, key)
        payload = self._set_l1(ns, full, value)
        if payload is None or self.redis is None:
            return
        try:
            self.redis.sync_client(scope).set(full, payload, px=max(1, int(ns.ttl * 1000)))
        except _REDIS_ERRORS as exc:
            self._redis_error(self.redis, exc)

    # -- async path --
    async def aget(self, scope: Scope, ns: Namespace, key: str) -> Any:
        full = self._key(ns, key)
        value = self._l1_get(full)
        if value is not MISS or self.redis is None:
            return value
        redis = self._redis_usable()
        if redis is None:
            self.stats["redis"].misses += 1
            return MISS
        try:
            raw = await redis.async_client(scope).get(full)
        except _REDIS_ERRORS as exc:
            return self._redis_error(redis, exc)
        return self._from_redis(ns, full, raw, self.stats["redis"])

    async def aset(self, scope: Scope, ns: Namespace, key: str, value: Any) -> None:
        full = self._key(ns, key)
        payload = self._set_l1(ns, full, value)
        if payload is None or self.redis is None:
            return
        try:
            await self.redis.async_client(scope).set(full, payload,
                                                     px=max(1, int(ns.ttl * 1000)))
        except _REDIS_ERRORS as exc:
            self._redis_error(self.redis, exc)

    def _from_redis(self, ns: Namespace, full: str, raw: Optional[bytes],
                    stats: LayerStats) -> Any:
        if raw is None:
            stats.misses += 1
            return MISS
        stats.hits += 1
        value = ns.decode(json.loads(raw))
        if self.l1 is not None:
            self.l1.set(full, value, ns.ttl)
        return value

    def stats_dict(self) -> Dict[str, Dict[str, int]]:
        return {name: s.to_dict() for name, s in self.stats.items()}


class SessionStore:
    """Dialogue state per session: in Redis when the backend uses Redis, else in memory.

    Sessions never go to the in-process L1 of the tiered backend: another
    instance may have moved the conversation on.
    """

    def __init__(self, prefix: str, ttl: float, redis: Optional[RedisConnector],
                 memory_size: int = 100000) -> None:
        self.prefix = prefix
        self.ttl = ttl
        self.redis = redis
        self.memory = MemoryLRU(memory_size)  # the store itself, or Redis's fallback
        self.fallbacks = 0

    def _key(self, session_id: str) -> str:
        return "%ssession:%s" % (self.prefix, session_id)

    def get(self, scope: Scope, session_id: str) -> Optional[Dict[str, Any]]:
        key = self._key(session_id)
        redis = self.redis
        if redis is not None and redis.available():
            try:
                raw = redis.sync_client(scope).get(key)
                return None if raw is None else json.loads(raw)
            except _REDIS_ERRORS as exc:
                redis.failed(exc)
        if redis is not None:
            self.fallbacks += 1
        value = self.memory.get(key)
        return None if value is MISS else value

    def put(self, scope: Scope, session_id: str, state: Optional[Dict[str, Any]]) -> None:
        key = self._key(session_id)
        redis = self.redis
        if redis is not None and redis.available():
            try:
                client = redis.sync_client(scope)
                if state is None:
                    client.delete(key)
                else:
                    client.set(key, _dumps(state), px=int(self.ttl * 1000))
                return
            except _REDIS_ERRORS as exc:
                redis.failed(exc)
        self._put_memory(key, state)

    async def aget(self, scope: Scope, session_id: str) -> Optional[Dict[str, Any]]:
        key = self._key(session_id)
        redis = self.redis
        if redis is not None and redis.available():
            try:
                raw = await redis.async_client(scope).get(key)
                return None if raw is None else json.loads(raw)
            except _REDIS_ERRORS as exc:
                redis.failed(exc)
        if redis is not None:
            self.fallbacks += 1
        value = self.memory.get(key)
        return None if value is MISS else value

    async def aput(self, scope: Scope, session_id: str,
                   state: Optional[Dict[str, Any]]) -> None:
        key = self._key(session_id)
        redis = self.redis
        if redis is not None and redis.available():
            try:
                client = redis.async_client(scope)
                if state is None:
                    await client.delete(key)
                else:
                    await client.set(key, _dumps(state), px=int(self.ttl * 1000))
                return
            except _REDIS_ERRORS as exc:
                redis.failed(exc)
        self._put_memory(key, state)

    def _put_memory(self, key: str, state: Optional[Dict[str, Any]]) -> None:
        if state is None:
            self.memory.delete(key)
        else:
            self.memory.set(key, state, self.ttl)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)

