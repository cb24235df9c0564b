"""The pipelined Redis client: RESP encoding and parsing, and a real Redis server."""

from __future__ import annotations

import asyncio
import random
from typing import Any, Awaitable, Callable, List, Tuple

import pytest

from engine.resp import (
    CommandTimeout,
    ConnectionLost,
    PipelinedRedis,
    ProtocolError,
    PyReader,
    ReplyError,
    encode_command,
    make_reader,
)
from tests.conftest import free_port

READERS = [pytest.param(PyReader, id="python"), pytest.param(make_reader, id="default")]

# One of each RESP2 reply type, nested arrays included, and what it decodes to.
REPLIES: List[Tuple[bytes, Any]] = [
    (b"+OK\r\n", b"OK"),
    (b":-42\r\n", -42),
    (b"$5\r\nhe\r\no\r\n", b"he\r\no"),  # bulk strings may hold CRLF
    (b"$0\r\n\r\n", b""),
    (b"$-1\r\n", None),
    (b"*-1\r\n", None),
    (b"*0\r\n", []),
    (b"*3\r\n$1\r\na\r\n:7\r\n*2\r\n+x\r\n$-1\r\n", [b"a", 7, [b"x", None]]),
]


def test_encode_command_is_a_resp_array_of_bulk_strings() -> None:
    assert encode_command(("SET", "k", b"v\r\n", 1500, 0.5)) == (
        b"*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv\r\n\r\n$4\r\n1500\r\n$3\r\n0.5\r\n")
    assert encode_command(("GET", "caf\u00e9")) == b"*2\r\n$3\r\nGET\r\n$5\r\ncaf\xc3\xa9\r\n"
    with pytest.raises(TypeError):
        encode_command(("SET", "k", True))
    with pytest.raises(TypeError):
        encode_command(("SET", "k", None))  # type: ignore[arg-type]


@pytest.mark.parametrize("factory", READERS)
def test_reader_decodes_every_reply_type_fed_whole(factory: Callable[[], Any]) -> None:
    reader = factory()
    reader.feed(b"".join(raw for raw, _ in REPLIES))
    got = [reader.gets() for _ in REPLIES]
    assert got == [want for _, want in REPLIES]
    assert reader.gets() is False


@pytest.mark.parametrize("factory", READERS)
def test_reader_decodes_replies_split_at_every_byte(factory: Callable[[], Any]) -> None:
    stream = b"".join(raw for raw, _ in REPLIES)
    rng = random.Random(5)
    for _ in range(20):
        reader = factory()
        got: List[Any] = []
        pos = 0
        while pos < len(stream):
            step = rng.randint(1, 4)
            reader.feed(stream[pos:pos + step])
            pos += step
            while True:
                value = reader.gets()
                if value is False:
                    break
                got.append(value)
        assert got == [want for _, want in REPLIES]


@pytest.mark.parametrize("factory", READERS)
def test_reader_returns_error_replies_as_reply_errors(factory: Callable[[], Any]) -> None:
    reader = factory()
    reader.feed(b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")
    err = reader.gets()
    assert isinstance(err, ReplyError) and str(err).startswith("WRONGTYPE")


@pytest.mark.parametrize("factory", READERS)
def test_reader_rejects_bytes_that_are_not_resp(factory: Callable[[], Any]) -> None:
    reader = factory()
    reader.feed(b"?what\r\n")
    with pytest.raises(ProtocolError):
        reader.gets()


def test_from_url_reads_host_port_db_and_password() -> None:
    client = PipelinedRedis.from_url("redis://:s%40cret@10.0.0.5:6380/3", timeout=0.5)
    assert (client.host, client.port, client.db, client.password, client.timeout) == (
        "10.0.0.5", 6380, 3, "s@cret", 0.5)
    assert PipelinedRedis.from_url("redis://localhost").port == 6379
    for bad in ("unix:///tmp/redis.sock", "rediss://h:6379/0", "redis://h:6379/x"):
        with pytest.raises(ValueError):
            PipelinedRedis.from_url(bad)


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


@pytest.mark.parametrize("factory", READERS)
def test_commands_against_real_redis(redis_url: str, redis_prefix: str,
                                     factory: Callable[[], Any]) -> None:
    async def go() -> List[Any]:
        client = PipelinedRedis.from_url(redis_url, 1.0, reader_factory=factory)
        key = redis_prefix + "k"
        out = [await client.ping(), await client.get(key),
               await client.set(key, '{"a": 1}', px=60000), await client.get(key),
               await client.execute("PTTL", key) > 0, await client.delete(key, key + "x"),
               await client.get(key)]
        await client.set(key, "text")
        with pytest.raises(ReplyError, match="not an integer"):
            await client.execute("INCR", key)
        out.append(await client.get(key))  # the connection is still in step after an error
        await client.aclose()
        return out

    assert run(go()) == [True, None, True, b'{"a": 1}', True, 1, None, b"text"]


@pytest.mark.parametrize("factory", READERS)
def test_concurrent_commands_get_their_own_replies(redis_url: str, redis_prefix: str,
                                                   factory: Callable[[], Any]) -> None:
    order = random.Random(3).sample(range(300), 300)

    async def go() -> List[Any]:
        client = PipelinedRedis.from_url(redis_url, 1.0, reader_factory=factory)
        await asyncio.gather(*(client.set("%s%d" % (redis_prefix, i), "v%d" % i)
                               for i in range(300)))
        got = await asyncio.gather(*(client.get("%s%d" % (redis_prefix, i)) for i in order))
        await client.aclose()
        return list(got)

    assert run(go()) == [b"v%d" % i for i in order]


def test_a_cancelled_command_does_not_shift_later_replies(redis_url: str,
                                                          redis_prefix: str) -> None:
    async def go() -> List[Any]:
        client = PipelinedRedis.from_url(redis_url, 1.0)
        await client.set(redis_prefix + "a", "A")
        await client.set(redis_prefix + "b", "B")
        first = asyncio.ensure_future(client.get(redis_prefix + "a"))
        await asyncio.sleep(0)  # sent, reply not yet read
        first.cancel()
        second = await client.get(redis_prefix + "b")
        await client.aclose()
        return [first.cancelled(), second]

    assert run(go()) == [True, b"B"]


def test_database_number_in_the_url_is_selected(redis_url: str, redis_prefix: str) -> None:
    import redis

    base = redis_url.rsplit("/", 1)[0]

    async def go() -> None:
        client = PipelinedRedis.from_url(base + "/2", 1.0)
        await client.set(redis_prefix + "db", "two", px=60000)
        await client.aclose()

    run(go())
    other = redis.Redis.from_url(base + "/2")
    try:
        assert other.get(redis_prefix + "db") == b"two"
        other.delete(redis_prefix + "db")
    finally:
        other.close()


async def _server(handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                                    Awaitable[None]]) -> Tuple[asyncio.AbstractServer, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_a_server_that_never_answers_times_out_and_the_client_reconnects() -> None:
    connections: List[int] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        await reader.read(1 << 16)  # swallow the command, answer nothing
        await asyncio.sleep(5)

    async def go() -> Tuple[int, float]:
        server, port = await _server(silent)
        client = PipelinedRedis("127.0.0.1", port, timeout=0.2)
        loop = asyncio.get_running_loop()
        start = loop.time()
        results = await asyncio.gather(client.get("a"), client.get("b"),
                                       return_exceptions=True)
        waited = loop.time() - start
        assert all(isinstance(r, CommandTimeout) for r in results), results
        with pytest.raises(CommandTimeout):
            await client.get("c")  # a new connection, which times out too
        await client.aclose()
        server.close()
        return len(connections), waited

    n, waited = run(go())
    assert n == 2  # the timed-out connection was dropped and a new one opened
    assert 0.15 < waited < 3.0  # bounded by the timeout, not by the server


def test_a_server_that_hangs_up_fails_pending_commands() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)
        writer.close()

    async def go() -> None:
        server, port = await _server(hang_up)
        client = PipelinedRedis("127.0.0.1", port, timeout=2.0)
        with pytest.raises(ConnectionLost):
            await client.get("a")
        server.close()

    run(go())


def test_garbage_from_the_server_is_a_protocol_error() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(1)

    async def go() -> None:
        server, port = await _server(garbage)
        client = PipelinedRedis("127.0.0.1", port, timeout=2.0)
        with pytest.raises(ProtocolError):
            await client.get("a")
        server.close()

    run(go())


def test_nothing_listening_is_connection_lost() -> None:
    async def go() -> None:
        client = PipelinedRedis("127.0.0.1", free_port(), timeout=1.0)
        with pytest.raises(ConnectionLost, match="cannot connect"):
            await client.get("a")
        with pytest.raises(ConnectionLost):  # every later attempt tries again
            await client.get("a")

    run(go())


def test_password_in_the_url_authenticates(tmp_path: Any) -> None:
    import shutil
    import subprocess
    import time

    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server not installed")
    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--requirepass", "s3cret",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)

    async def go(url: str) -> Any:
        client = PipelinedRedis.from_url(url, 1.0)
        try:
            return await client.ping()
        finally:
            await client.aclose()

    try:
        for _ in range(100):
            try:
                run(go("redis://:s3cret@127.0.0.1:%d/0" % port))
                break
            except ConnectionLost:
                time.sleep(0.05)
        assert run(go("redis://:s3cret@127.0.0.1:%d/1" % port)) is True
        with pytest.raises(ReplyError, match="NOAUTH"):
            run(go("redis://127.0.0.1:%d/0" % port))
        with pytest.raises(ReplyError, match="AUTH failed"):
            run(go("redis://:wrong@127.0.0.1:%d/0" % port))
    finally:
        proc.terminate()
        proc.wait(10)
