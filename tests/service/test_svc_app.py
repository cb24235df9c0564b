"""The app built by create_app(config), exercised in-process over real HTTP (aiohttp_client).

Covers every route, the middlewares and the bad-input matrix: each bad input
gets a 4xx with a JSON {error, detail}, never a 500 or a hang.
"""

from __future__ import annotations

import gzip
import json
import logging
from typing import Any, AsyncIterator, Dict, Optional

import pytest
from prometheus_client.parser import text_string_to_metric_families

from engine.datagen import DataSpec, missing_order_id, sample_order_id
from service import create_app

from .svc_helpers import free_port

CHAT = "/api/chat"


async def make_client(aiohttp_client: Any, make_config: Any,
                      engine: Optional[Dict[str, Any]] = None, **service: Any) -> Any:
    config = make_config(engine, **service)
    client = await aiohttp_client(create_app(config))
    client.config = config
    return client


@pytest.fixture
async def client(aiohttp_client: Any, make_config: Any) -> Any:
    return await make_client(aiohttp_client, make_config)


async def assert_error(resp: Any, status: int) -> Dict[str, Any]:
    body = await resp.read()
    assert resp.status == status, body[:300]
    assert resp.headers["Content-Type"].startswith("application/json")
    data = json.loads(body)
    assert set(data) == {"error", "detail"} and data["detail"]
    return data


def order_ids(client: Any) -> Dict[str, str]:
    spec = DataSpec.from_config(client.config.engine)
    return {"known": sample_order_id(spec, 3), "missing": missing_order_id(spec, 3)}


# ---- the bad-input matrix ---------------------------------------------------------------

BAD_CHAT_BODIES = [
    ("malformed JSON", b'{"session_id": "s1", "message": ', "not valid JSON"),
    ("trailing garbage", b'{"session_id": "s1", "message": "hi"} x', "not valid JSON"),
    ("not an object", b'["s1", "hi"]', "expected a JSON object"),
    ("a bare string", b'"hello"', "expected a JSON object"),
    ("null", b"null", "expected a JSON object"),
    ("empty body", b"", "empty"),
    ("missing message", b'{"session_id": "s1"}', "message is required"),
    ("missing session_id", b'{"message": "hi"}', "session_id is required"),
    ("message wrong type", b'{"session_id": "s1", "message": 42}', "must be a string"),
    ("message a list", b'{"session_id": "s1", "message": ["hi"]}', "must be a string"),
    ("session_id wrong type", b'{"session_id": 7, "message": "hi"}', "must be a string"),
    ("session_id bad chars", b'{"session_id": "a b/c", "message": "hi"}', "session_id"),
    ("session_id too long", json.dumps({"session_id": "s" * 200, "message": "hi"}).encode(),
     "session_id"),
    ("empty message", b'{"session_id": "s1", "message": ""}', "empty"),
    ("blank message", b'{"session_id": "s1", "message": "  \\n\\t "}', "empty"),
    ("NUL character", b'{"session_id": "s1", "message": "hi\\u0000there"}',
     "control character U+0000"),
    ("ANSI escape", b'{"session_id": "s1", "message": "\\u001b[31mred"}',
     "control character U+001B"),
    ("C1 control", b'{"session_id": "s1", "message": "a\\u0085b"}', "control character"),
    ("lone surrogate", b'{"session_id": "s1", "message": "\\ud800"}', ""),
    ("non-UTF-8 bytes", b'{"session_id": "s1", "message": "caf\xe9 \xff\xfe"}', "UTF-8"),
    ("UTF-16 body", '{"session_id": "s1", "message": "hi"}'.encode("utf-16"), ""),
    ("message over MAX_MESSAGE_CHARS", json.dumps({"session_id": "s1",
                                                   "message": "x" * 5000}).encode(),
     "MAX_MESSAGE_CHARS"),
    ("deeply nested JSON", b"[" * 20000 + b"]" * 20000, ""),
]


@pytest.mark.parametrize("body,expect", [(b, e) for _, b, e in BAD_CHAT_BODIES],
                         ids=[name for name, _, _ in BAD_CHAT_BODIES])
@pytest.mark.parametrize("json_lib", ["stdlib", "orjson"])
async def test_bad_chat_bodies_get_400(aiohttp_client: Any, make_config: Any, body: bytes,
                                       expect: str, json_lib: str) -> None:
    client = await make_client(aiohttp_client, make_config, json_lib=json_lib)
    resp = await client.post(CHAT, data=body, headers={"Content-Type": "application/json"})
    data = await assert_error(resp, 400)
    assert expect in data["detail"]


async def test_100kb_message_is_413(client: Any) -> None:
    body = json.dumps({"session_id": "s1", "message": "x" * 100_000})
    data = await assert_error(await client.post(CHAT, data=body), 413)
    assert "MAX_BODY_BYTES" in data["detail"]


async def test_100kb_message_is_400_when_the_body_limit_allows_it(
        aiohttp_client: Any, make_config: Any) -> None:
    client = await make_client(aiohttp_client, make_config, max_body_bytes=1_000_000)
    body = json.dumps({"session_id": "s1", "message": "x" * 100_000})
    data = await assert_error(await client.post(CHAT, data=body), 400)
    assert "MAX_MESSAGE_CHARS" in data["detail"]


async def test_10mb_body_is_413(client: Any) -> None:
    resp = await client.post(CHAT, data=b"x" * 10_000_000)
    await assert_error(resp, 413)


async def test_10mb_chunked_body_without_length_is_413(client: Any) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(160):
            yield b"x" * 65536

    resp = await client.post(CHAT, data=chunks())
    await assert_error(resp, 413)


async def test_unknown_route_and_method_are_json(client: Any) -> None:
    data = await assert_error(await client.get("/no/such/route"), 404)
    assert data["error"] == "not_found"
    resp = await client.get(CHAT)
    data = await assert_error(resp, 405)
    assert data["error"] == "method_not_allowed" and resp.headers["Allow"] == "POST"
    await assert_error(await client.delete("/api/orders/A123456"), 405)


async def test_order_ids(client: Any) -> None:
    ids = order_ids(client)
    resp = await client.get(f"/api/orders/{ids['known'].lower()}")
    assert resp.status == 200
    assert (await resp.json())["order_id"] == ids["known"]
    data = await assert_error(await client.get(f"/api/orders/{ids['missing']}"), 404)
    assert data["error"] == "order_not_found"
    for bad in ("Z123456", "A12", "A1234567", "%00", "A12345%C3%A9", "x" * 300):
        await assert_error(await client.get(f"/api/orders/{bad}"), 400)


@pytest.mark.parametrize("query,status", [
    ("", 400), ("?q=", 400), ("?q=%20%20", 400), ("?q=hi%00", 400), ("?q=refund&k=abc", 400),
    ("?q=refund&k=0", 400), ("?q=refund&k=999", 400), ("?q=" + "x" * 5000, 400),
    ("?q=%FF%FE", 400)])
async def test_bad_faq_queries(client: Any, query: str, status: int) -> None:
    await assert_error(await client.get("/api/faq/search" + query), status)


@pytest.mark.parametrize("article,status", [
    ("abc", 400), ("0", 400), ("-1", 400), ("1.5", 400), ("99999999999", 400),
    ("999999", 404), ("%D9%A3", 400)])
async def test_bad_article_ids(client: Any, article: str, status: int) -> None:
    await assert_error(await client.get(f"/api/faq/{article}"), status)


# ---- routes ---------------------------------------------------------------------------

async def test_multi_turn_cancel_flow(client: Any) -> None:
    oid = order_ids(client)["known"]
    resp = await client.post(CHAT, json={"session_id": "t-1", "message":
                                         "I want to cancel my order"})
    first = await resp.json()
    assert resp.status == 200 and first["intent"] == "cancel_order"
    assert first["awaiting"] == "order_id"
    resp = await client.post(CHAT, json={"session_id": "t-1", "message": oid})
    second = await resp.json()
    assert second["intent"] == "cancel_order" and f"order:{oid}" in second["sources"]
    assert second["awaiting"] is None


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_chat_reply_shape(aiohttp_client: Any, make_config: Any, mode: str) -> None:
    client = await make_client(aiohttp_client, make_config, {"concurrency_mode": mode})
    oid = order_ids(client)["known"]
    resp = await client.post(CHAT, json={"session_id": "s", "message":
                                         f"where is my order {oid}?"})
    body = await resp.json()
    assert resp.status == 200
    assert {"session_id", "intent", "confidence", "entities", "answer", "sources", "awaiting",
            "timings"} <= set(body)
    assert body["intent"] == "track_order"


async def test_batch_is_404_when_batching_is_off(client: Any) -> None:
    resp = await client.post("/api/chat/batch", json={"session_id": "s", "messages": ["hi"]})
    data = await assert_error(resp, 404)
    assert data["error"] == "batching_disabled" and "BATCHING" in data["detail"]


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_batch_keeps_order_and_sessions(aiohttp_client: Any, make_config: Any,
                                              mode: str) -> None:
    client = await make_client(aiohttp_client, make_config, {"concurrency_mode": mode},
                               batching=True)
    oid = order_ids(client)["known"]
    resp = await client.post("/api/chat/batch", json={"session_id": "b-1", "messages": [
        "I want to cancel my order", {"session_id": "b-2", "message": "hello"}, oid,
        {"message": "thanks"}]})
    body = await resp.json()
    assert resp.status == 200 and body["count"] == 4
    replies = body["replies"]
    assert [r["session_id"] for r in replies] == ["b-1", "b-2", "b-1", "b-1"]
    assert replies[0]["awaiting"] == "order_id"
    assert f"order:{oid}" in replies[2]["sources"]  # the same session, in order
    assert replies[1]["intent"] == "greeting"


@pytest.mark.parametrize("body,expect", [
    ({"messages": ["hi"]}, "no top-level session_id"),
    ({"session_id": "s", "messages": []}, "non-empty"),
    ({"session_id": "s", "messages": "hi"}, "non-empty"),
    ({"session_id": "s", "messages": ["hi"] * 51}, "MAX_BATCH_MESSAGES"),
    ({"session_id": "s", "messages": ["hi", 3]}, "messages[1] must be a string"),
    ({"session_id": "s", "messages": [{"message": ""}]}, "messages[0].message is empty"),
    ({"messages": [{"message": "hi"}]}, "session_id is required"),
])
async def test_bad_batches(aiohttp_client: Any, make_config: Any, body: Dict[str, Any],
                           expect: str) -> None:
    client = await make_client(aiohttp_client, make_config, batching=True)
    data = await assert_error(await client.post("/api/chat/batch", json=body), 400)
    assert expect in data["detail"]


async def test_faq_search_and_article_caching_headers(client: Any) -> None:
    resp = await client.get("/api/faq/search", params={"q": "how do I get a refund", "k": "2"})
    body = await resp.json()
    assert resp.status == 200 and len(body["hits"]) == 2
    article_id = body["hits"][0]["article_id"]
    resp = await client.get(f"/api/faq/{article_id}")
    assert resp.status == 200
    etag = resp.headers["ETag"]
    assert "max-age" in resp.headers["Cache-Control"]
    assert (await resp.json())["article_id"] == article_id
    for header in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        again = await client.get(f"/api/faq/{article_id}", headers={"If-None-Match": header})
        assert again.status == 304 and again.headers["ETag"] == etag
        assert await again.read() == b""
    stale = await client.get(f"/api/faq/{article_id}", headers={"If-None-Match": '"stale"'})
    assert stale.status == 200


async def test_healthz_config_openapi(client: Any) -> None:
    resp = await client.get("/healthz")
    health = await resp.json()
    assert resp.status == 200 and health["status"] == "ok" and health["pid"] > 0
    config = await (await client.get("/api/config")).json()
    assert config["engine"]["CONCURRENCY_MODE"] == "sync"
    assert config["service"]["GZIP_ENABLED"] is False
    assert config["interpreter"]["implementation"] in ("CPython", "PyPy")
    assert config["event_loop_class"]
    spec = await (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.") and "/api/chat" in spec["paths"]


async def test_metrics(aiohttp_client: Any, make_config: Any) -> None:
    client = await make_client(aiohttp_client, make_config,
                               {"ir_cache_backend": "memory", "intent_cache_enabled": True},
                               loop_lag_interval=0.01)
    for _ in range(2):
        await client.post(CHAT, json={"session_id": "m", "message": "how do I get a refund"})
    await client.get("/no/such/route")
    text = await (await client.get("/metrics")).text()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    chat = (("method", "POST"), ("route", "/api/chat"), ("status", "200"))
    assert samples[("perflab_http_requests_total", chat)] == 2
    assert samples[("perflab_http_requests_total", (("method", "GET"), ("route", "unmatched"),
                                                    ("status", "404")))] == 1
    assert samples[("perflab_http_request_duration_seconds_count", chat)] == 2
    assert samples[("perflab_http_request_duration_seconds_bucket",
                    tuple(sorted(dict(chat, le="+Inf").items())))] == 2
    names = {name for name, _ in samples}
    assert {"perflab_cache_hits_total", "perflab_event_loop_lag_seconds_count",
            "process_resident_memory_bytes", "perflab_uptime_seconds"} <= names
    assert any(name == "perflab_cache_hits_total" and dict(labels).get("layer")
               for name, labels in samples)


async def test_gzip_toggle(aiohttp_client: Any, make_config: Any) -> None:
    for enabled in (False, True):
        client = await make_client(aiohttp_client, make_config, gzip_enabled=enabled)
        resp = await client.get("/api/faq/1", headers={"Accept-Encoding": "gzip"},
                                auto_decompress=False)
        raw = await resp.read()
        assert resp.status == 200
        if enabled:
            assert resp.headers.get("Content-Encoding") == "gzip"
            assert json.loads(gzip.decompress(raw))["article_id"] == 1
        else:
            assert "Content-Encoding" not in resp.headers
            assert json.loads(raw)["article_id"] == 1


async def test_rate_limit_answers_429_with_retry_after(aiohttp_client: Any,
                                                       make_config: Any) -> None:
    # 0.001 tokens/s: no refill during the test, whatever the machine's speed
    client = await make_client(aiohttp_client, make_config, rate_limit_rps=0.001,
                               rate_limit_burst=2)
    statuses = []
    for _ in range(3):
        resp = await client.post(CHAT, json={"session_id": "r", "message": "hello"})
        statuses.append(resp.status)
    assert statuses[:2] == [200, 200]
    data = await assert_error(resp, 429)
    assert data["error"] == "rate_limited" and int(resp.headers["Retry-After"]) >= 1
    assert (await client.get("/healthz")).status == 200  # the lab's polling is exempt
    other = await client.post(CHAT, json={"session_id": "r", "message": "hello"},
                              headers={"X-Forwarded-For": "10.9.8.7"})
    assert other.status == 200  # another client behind the local proxy has its own bucket


async def test_access_log_toggle(aiohttp_client: Any, make_config: Any,
                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="service.access")
    for enabled in (False, True):
        caplog.clear()
        client = await make_client(aiohttp_client, make_config, access_log=enabled)
        await client.get("/healthz")
        lines = [r for r in caplog.records if r.name == "service.access"]
        assert bool(lines) is enabled
        if enabled:
            assert "GET /healthz" in lines[0].getMessage()


async def test_redis_unreachable_degrades_but_answers(aiohttp_client: Any,
                                                      make_config: Any) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    for backend in ("redis", "tiered"):
        client = await make_client(aiohttp_client, make_config,
                                   {"ir_cache_backend": backend, "redis_url": dead})
        for text in ("I want to cancel my order", "how do I get a refund", "hello"):
            resp = await client.post(CHAT, json={"session_id": "d", "message": text})
            assert resp.status == 200
        health = await (await client.get("/healthz")).json()
        assert health["status"] == "degraded" and "unreachable" in health["engine"]["redis"]
