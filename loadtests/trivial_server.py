"""A trivial aiohttp server with the service's routes, for measuring the load generators.

``python -m loadtests.trivial_server --port 8099`` answers every route the locustfile and
the open-loop driver use with a fixed, valid reply and (almost) no work, so what a load
test measures against it is the generator's own floor. Options inject misbehaviour for
tests and demonstrations:

- ``--stall-every N --stall-ms M``: every Nth request awaits M ms (the loop keeps serving);
- ``--freeze-after S --freeze-ms M``: once, S seconds after the first request, a handler
  blocks the whole process for M ms (a GC pause / stop-the-world stall);
- ``--fail-every N``: every Nth chat request answers 500; ``--bad-every N``: every Nth
  chat reply lacks "intent".

With ``--port 0`` the chosen port is printed as ``listening on http://127.0.0.1:PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from typing import Optional

from aiohttp import web

from loadtests.workload import is_order_id

__all__ = ["TrivialConfig", "create_app", "main"]


@dataclass(frozen=True)
class TrivialConfig:
    stall_every: int = 0
    stall_ms: float = 0.0
    freeze_after: Optional[float] = None
    freeze_ms: float = 0.0
    fail_every: int = 0
    bad_every: int = 0


@dataclass
class _State:
    count: int = 0
    first: Optional[float] = None
    frozen: bool = False


STATE = web.AppKey("state", _State)
CONFIG = web.AppKey("config", TrivialConfig)

_CHAT = json.dumps({"session_id": "", "intent": "greeting", "confidence": 1.0, "entities": [],
                    "answer": "Hello! How can I help?", "sources": [],
                    "awaiting": None}).encode()
_BAD = json.dumps({"answer": "no intent here"}).encode()
_JSON = "application/json"


async def _misbehave(app: web.Application) -> int:
    cfg, st = app[CONFIG], app[STATE]
    st.count += 1
    now = time.monotonic()
    if st.first is None:
        st.first = now
    if (cfg.freeze_after is not None and not st.frozen
            and now - st.first >= cfg.freeze_after):
        st.frozen = True
        time.sleep(cfg.freeze_ms / 1000.0)  # blocks the event loop on purpose
    if cfg.stall_every and st.count % cfg.stall_every == 0:
        await asyncio.sleep(cfg.stall_ms / 1000.0)
    return st.count


async def chat(request: web.Request) -> web.Response:
    await request.read()
    n = await _misbehave(request.app)
    cfg = request.app[CONFIG]
    if cfg.fail_every and n % cfg.fail_every == 0:
        return web.Response(status=500, text="injected failure")
    body = _BAD if cfg.bad_every and n % cfg.bad_every == 0 else _CHAT
    return web.Response(body=body, content_type=_JSON)


async def healthz(request: web.Request) -> web.Response:
    await _misbehave(request.app)
    return web.Response(body=b'{"status":"ok"}', content_type=_JSON)


async def faq_search(request: web.Request) -> web.Response:
    await _misbehave(request.app)
    q = request.query.get("q", "")
    seed = int(hashlib.md5(q.encode()).hexdigest()[:6], 16)
    results = [{"article_id": 1 + (seed + i) % 3000, "title": f"About {q}", "score": 1.0 / (i + 1)}
               for i in range(3)]
    return web.json_response({"query": q, "results": results})


async def faq_article(request: web.Request) -> web.Response:
    await _misbehave(request.app)
    aid = request.match_info["article_id"]
    etag = f'"a{aid}-v1"'
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return web.json_response({"article_id": int(aid), "title": f"Article {aid}",
                              "body": "Lorem ipsum."}, headers={"ETag": etag})


async def order(request: web.Request) -> web.Response:
    await _misbehave(request.app)
    oid = request.match_info["order_id"].upper()
    if not is_order_id(oid):  # both shapes the service accepts (engine.types.ORDER_ID_PATTERN)
        return web.json_response({"error": "not found"}, status=404)
    return web.json_response({"order_id": oid, "status": "shipped"})


def create_app(config: Optional[TrivialConfig] = None) -> web.Application:
    app = web.Application()
    app[CONFIG] = config or TrivialConfig()
    app[STATE] = _State()
    app.router.add_post("/api/chat", chat)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/faq/search", faq_search)
    app.router.add_get("/api/faq/{article_id:\\d+}", faq_article)
    app.router.add_get("/api/orders/{order_id}", order)
    return app


async def _serve(app: web.Application, host: str, port: int) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=4096)
    await site.start()
    server = site._server  # the asyncio Server, to report the chosen port
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    print(f"listening on http://{host}:{bound}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: Optional[list] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtests.trivial_server", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8099)
    p.add_argument("--stall-every", type=int, default=0)
    p.add_argument("--stall-ms", type=float, default=0.0)
    p.add_argument("--freeze-after", type=float, default=None)
    p.add_argument("--freeze-ms", type=float, default=0.0)
    p.add_argument("--fail-every", type=int, default=0)
    p.add_argument("--bad-every", type=int, default=0)
    p.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    a = p.parse_args(argv)
    cfg = TrivialConfig(a.stall_every, a.stall_ms, a.freeze_after, a.freeze_ms, a.fail_every,
                        a.bad_every)
    from loadtests.openloop import loop_factory

    try:
        factory = loop_factory(a.loop)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(_serve(create_app(cfg), a.host, a.port))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
