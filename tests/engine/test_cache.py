"""The IR cache layers and the session store, against a real Redis."""

from __future__ import annotations

import asyncio
from typing import Any, List

import pytest

from engine.cache import MISS, IRCache, MemoryLRU, Namespace, RedisConnector, Scope, SessionStore

NS = Namespace("t", 60.0, lambda v: v, lambda v: v)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_memory_lru_bounds_and_expiry() -> None:
    clock = FakeClock()
    lru = MemoryLRU(2, clock)
    lru.set("a", 1, ttl=10)
    lru.set("b", None, ttl=10)  # None is a value, not a miss
    assert lru.get("b") is None
    assert lru.get("a") == 1  # touch a: b is now the oldest
    lru.set("c", 3, ttl=10)
    assert lru.get("b") is MISS and lru.get("a") == 1 and len(lru) == 2
    clock.now = 11
    assert lru.get("a") is MISS


def test_none_backend_always_misses() -> None:
    cache = IRCache("none", 10, "p:", None)
    cache.set(Scope(), NS, "k", {"x": 1})
    assert cache.get(Scope(), NS, "k") is MISS
    assert cache.stats_dict() == {}


def test_redis_backend_needs_a_connector() -> None:
    with pytest.raises(ValueError):
        IRCache("redis", 10, "p:", None)


@pytest.mark.parametrize("pooling", [False, True])
def test_redis_layer_round_trip_sync(redis_url: str, redis_prefix: str, pooling: bool) -> None:
    conn = RedisConnector(redis_url, 1.0, pooling)
    cache = IRCache("redis", 10, redis_prefix, conn)
    scope = Scope()
    assert cache.get(scope, NS, "k") is MISS
    cache.set(scope, NS, "k", {"hits": [1, 2]})
    assert cache.get(scope, NS, "k") == {"hits": [1, 2]}
    cache.set(scope, NS, "none", None)
    assert cache.get(scope, NS, "none") is None
    scope.close()
    assert cache.stats_dict()["redis"] == {"hits": 2, "misses": 1, "errors": 0}
    conn.close()


def test_tiered_fills_l1_from_l2_and_is_shared(redis_url: str, redis_prefix: str) -> None:
    a = IRCache("tiered", 10, redis_prefix, RedisConnector(redis_url, 1.0, True))
    b = IRCache("tiered", 10, redis_prefix, RedisConnector(redis_url, 1.0, True))
    a.set(Scope(), NS, "k", [1])
    assert b.get(Scope(), NS, "k") == [1]  # from Redis (L2)
    assert b.get(Scope(), NS, "k") == [1]  # now from memory (L1)
    assert b.stats_dict() == {"memory": {"hits": 1, "misses": 1, "errors": 0},
                              "redis": {"hits": 1, "misses": 0, "errors": 0}}


@pytest.mark.parametrize("client", ["redis-py", "pipelined", "coredis", "valkey-glide"])
@pytest.mark.parametrize("pooling", [False, True])
def test_async_paths_round_trip(redis_url: str, redis_prefix: str, pooling: bool,
                                client: str) -> None:
    async def go() -> List[Any]:
        conn = RedisConnector(redis_url, 1.0, pooling, client=client)
        cache = IRCache("redis", 10, redis_prefix, conn)
        sessions = SessionStore(redis_prefix, 60, conn)
        scope = Scope()
        out = [await cache.aget(scope, NS, "k")]
        await cache.aset(scope, NS, "k", {"v": 1})
        out.append(await cache.aget(scope, NS, "k"))
        await sessions.aput(scope, "s1", {"pending": "cancel_order"})
        out.append(await sessions.aget(scope, "s1"))
        await sessions.aput(scope, "s1", None)
        out.append(await sessions.aget(scope, "s1"))
        await scope.aclose()
        await conn.aclose()
        return out

    assert asyncio.run(go()) == [MISS, {"v": 1}, {"pending": "cancel_order"}, None]


def test_sessions_in_redis_are_seen_by_another_store(redis_url: str, redis_prefix: str) -> None:
    one = SessionStore(redis_prefix, 60, RedisConnector(redis_url, 1.0, True))
    two = SessionStore(redis_prefix, 60, RedisConnector(redis_url, 1.0, False))
    one.put(Scope(), "abc", {"pending": "track_order"})
    assert two.get(Scope(), "abc") == {"pending": "track_order"}


def test_unreachable_redis_degrades_to_misses_and_memory_sessions() -> None:
    from tests.conftest import free_port

    clock = FakeClock()
    conn = RedisConnector("redis://127.0.0.1:%d/0" % free_port(), 0.2, True,
                          retry_interval=5.0, clock=clock)
    cache = IRCache("tiered", 10, "p:", conn)
    sessions = SessionStore("p:", 60, conn)
    scope = Scope()
    assert cache.get(scope, NS, "k") is MISS  # the error opens the circuit
    assert not conn.available() and conn.last_error
    cache.set(scope, NS, "k", 1)  # L1 still works
    assert cache.get(scope, NS, "k") == 1
    sessions.put(scope, "s", {"pending": "get_refund"})
    assert sessions.get(scope, "s") == {"pending": "get_refund"}  # memory fallback
    assert conn.ping() is not None  # still down
    clock.now = 100.0
    assert conn.available()  # half-open after retry_interval
