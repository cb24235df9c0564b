"""Route handlers: a thin shell that validates input, calls the engine, returns JSON."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata as importlib_metadata
import logging
import os
import platform
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

from aiohttp import web

from engine import Bot
from service import validation
from service.config import ServiceConfig
from service.jsonlib import JsonCodec
from service.keys import BOT, CODEC, CONFIG, METRICS, RUNTIME, STARTED_AT
from service.middlewares import ApiError
from service.openapi import build_openapi

log = logging.getLogger("service")

FAQ_CACHE_CONTROL = "public, max-age=300"


def json_response(codec: JsonCodec, data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=codec.dumps(data), content_type="application/json")


async def _reply(bot: Bot, config: ServiceConfig, sid: str, message: str) -> Dict[str, Any]:
    """One engine call: blocking in the handler (sync baseline) or awaited (async)."""
    if config.engine.concurrency_mode == "async":
        reply = await bot.areply(sid, message)
    else:
        reply = bot.reply(sid, message)
    log.debug("chat session=%s intent=%s confidence=%.3f", sid, reply.intent,
              reply.confidence)
    return reply.to_dict()


async def chat(request: web.Request) -> web.Response:
    """POST /api/chat {session_id, message} -> the engine's Reply."""
    app = request.app
    config, codec = app[CONFIG], app[CODEC]
    data = await validation.read_json_object(request, codec)
    sid = validation.session_id(data.get("session_id"))
    message = validation.text(data.get("message"), config.max_message_chars)
    return json_response(codec, await _reply(app[BOT], config, sid, message))


async def chat_batch(request: web.Request) -> web.Response:
    """POST /api/chat/batch: many messages in one request (BATCHING=on).

    Items are strings (using the top-level session_id) or {session_id, message}.
    Sync mode answers them one by one; async mode gathers across sessions while
    keeping each session's messages in order (dialogue state depends on it).
    """
    app = request.app
    config, codec = app[CONFIG], app[CODEC]
    if not config.batching:
        raise ApiError(404, "batching is off (BATCHING=off): send one POST /api/chat per "
                       "message", error="batching_disabled")
    data = await validation.read_json_object(request, codec)
    default_sid = data.get("session_id")
    if default_sid is not None:
        default_sid = validation.session_id(default_sid)
    items = data.get("messages")
    if not isinstance(items, list) or not items:
        raise ApiError(400, "messages must be a non-empty array")
    if len(items) > config.max_batch_messages:
        raise ApiError(400, f"messages has {len(items)} items; the limit is "
                       f"{config.max_batch_messages} (MAX_BATCH_MESSAGES)")
    work: List[Tuple[str, str]] = []
    for i, item in enumerate(items):
        field = f"messages[{i}]"
        if isinstance(item, dict):
            sid_raw = item.get("session_id", default_sid)
            if sid_raw is None:
                raise ApiError(400, f"{field}.session_id is required (no top-level session_id)")
            sid = validation.session_id(sid_raw, field + ".session_id")
            msg = validation.text(item.get("message"), config.max_message_chars,
                                  field + ".message")
        else:
            if default_sid is None:
                raise ApiError(400, f"{field} is a bare message but there is no top-level "
                               "session_id")
            sid = default_sid
            msg = validation.text(item, config.max_message_chars, field)
        work.append((sid, msg))

    bot = app[BOT]
    replies: List[Any] = [None] * len(work)
    if config.engine.concurrency_mode == "async":
        by_session: Dict[str, List[int]] = {}
        for i, (sid, _msg) in enumerate(work):
            by_session.setdefault(sid, []).append(i)

        async def run_session(indexes: List[int]) -> None:
            for i in indexes:
                replies[i] = await _reply(bot, config, work[i][0], work[i][1])

        await asyncio.gather(*(run_session(ix) for ix in by_session.values()))
    else:
        for i, (sid, msg) in enumerate(work):
            replies[i] = await _reply(bot, config, sid, msg)
    return json_response(codec, {"count": len(replies), "replies": replies})


async def get_order(request: web.Request) -> web.Response:
    """GET /api/orders/{order_id}: 400 malformed id, 404 unknown id."""
    oid = validation.order_id(request.match_info["order_id"])
    order = request.app[BOT].orders.get(oid)
    if order is None:
        raise ApiError(404, f"no order {oid}", error="order_not_found")
    return json_response(request.app[CODEC], order.to_dict())


async def faq_search(request: web.Request) -> web.Response:
    """GET /api/faq/search?q=...&k=3: BM25 hits from the engine."""
    config = request.app[CONFIG]
    validation.check_query_utf8(request)
    q = validation.text(request.query.get("q"), config.max_message_chars, "q")
    k = validation.int_param(request.query.get("k"), "k", 3, 1, validation.MAX_FAQ_K)
    hits = request.app[BOT].faq.search(q, k=k)
    return json_response(request.app[CODEC],
                         {"query": q, "hits": [h.to_dict() for h in hits]})


async def faq_article(request: web.Request) -> web.StreamResponse:
    """GET /api/faq/{article_id}: cacheable (ETag, Cache-Control; 304 on If-None-Match)."""
    aid = validation.article_id(request.match_info["article_id"])
    article = request.app[BOT].faq.get(aid)
    if article is None:
        raise ApiError(404, f"no FAQ article {aid}", error="article_not_found")
    body = request.app[CODEC].dumps({
        "article_id": article.article_id, "title": article.title, "body": article.body,
        "category": article.category, "tags": list(article.tags)})
    etag = f'"{hashlib.sha1(body).hexdigest()[:20]}"'
    headers = {"ETag": etag, "Cache-Control": FAQ_CACHE_CONTROL}
    if _etag_matches(request.headers.get("If-None-Match"), etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/json", headers=headers)


def _etag_matches(header: Any, etag: str) -> bool:
    if not header:
        return False
    for candidate in str(header).split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate in ("*", etag):
            return True
    return False


async def healthz(request: web.Request) -> web.Response:
    """GET /healthz: 200 once serving; status "degraded" while a dependency is down.

    The engine degrades by itself (Redis down -> cache misses, memory sessions),
    so degraded is still 200: the service answers. 503 only if the check itself fails.
    """
    app = request.app
    codec = app[CODEC]
    base: Dict[str, Any] = {"pid": os.getpid(), "uptime_s": round(time.time() - app[STARTED_AT], 3)}
    try:
        if app[CONFIG].engine.concurrency_mode == "async":
            engine_health = await app[BOT].ahealth()
        else:
            engine_health = app[BOT].health()
    except Exception as exc:
        log.exception("health check failed")
        base.update({"status": "error", "detail": f"{type(exc).__name__}: {exc}"})
        return json_response(codec, base, status=503)
    status = str(engine_health.get("status", "ok"))
    base.update({"status": "ok" if status == "ok" else "degraded", "engine": engine_health})
    return json_response(codec, base)


def refresh_metrics(app: web.Application) -> None:
    """Carry the engine's cache counters and the uptime into this process's metrics."""
    try:
        stats = app[BOT].cache_stats()
    except Exception:
        log.exception("cache_stats failed")
        stats = {}
    app[METRICS].refresh(stats, time.time() - app[STARTED_AT])


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics: Prometheus text format (prometheus_client; every gunicorn worker's
    figures in multiprocess mode)."""
    refresh_metrics(request.app)
    body, content_type = request.app[METRICS].exposition()
    return web.Response(body=body, headers={"Content-Type": content_type})


def describe_runtime() -> Dict[str, Any]:
    """Interpreter and library versions (recorded by the lab with every run)."""
    versions: Dict[str, Optional[str]] = {}
    for name in ("aiohttp", "redis", "uvloop", "orjson", "gunicorn"):
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = None
    return {"implementation": platform.python_implementation(),
            "version": platform.python_version(), "executable": sys.executable,
            "libraries": versions}


async def api_config(request: web.Request) -> web.Response:
    """GET /api/config: the effective toggles, interpreter and pid."""
    app = request.app
    config = app[CONFIG]
    loop = asyncio.get_running_loop()
    body = {"engine": config.engine.to_dict(), "service": config.to_dict(),
            "interpreter": app[RUNTIME], "event_loop_class": type(loop).__module__
            + "." + type(loop).__name__, "pid": os.getpid(),
            "started_at": app[STARTED_AT]}
    return json_response(app[CODEC], body)


def setup_routes(app: web.Application, codec: JsonCodec) -> None:
    """Register every route; /openapi.json is rendered once, here."""
    openapi_body = codec.dumps(build_openapi())

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(body=openapi_body, content_type="application/json")

    app.router.add_post("/api/chat", chat)
    app.router.add_post("/api/chat/batch", chat_batch)
    app.router.add_get("/api/orders/{order_id}", get_order)
    app.router.add_get("/api/faq/search", faq_search)
    app.router.add_get("/api/faq/{article_id}", faq_article)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/api/config", api_config)
    app.router.add_get("/openapi.json", openapi)
