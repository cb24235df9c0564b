"""Serving the app: ``python -m service``'s runner, with the service's JSON errors even for
requests aiohttp's HTTP parser refuses.

aiohttp answers a request line or header over its parser limits (8190 bytes) with
a plain-text 400 from ``RequestHandler.handle_error``, before any middleware, and
logs it as an ERROR with a traceback. Here the parser accepts lines up to
``PARSER_LIMIT`` bytes so that the size middleware (``service.middlewares``)
answers 414/431 with the JSON body; anything the parser still refuses gets the
same JSON shape from ``JsonErrorRequestHandler`` and one WARNING line in the log.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Optional

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong

from service.jsonlib import JsonCodec
from service.middlewares import error_response

log = logging.getLogger("service")

PARSER_LIMIT = 65536  # bytes per request line / header field the parser accepts
HANDLER_ARGS = {"max_line_size": PARSER_LIMIT, "max_field_size": PARSER_LIMIT}


class JsonErrorRequestHandler(web.RequestHandler):
    """aiohttp's connection handler, answering parser errors with the service's JSON."""

    def __init__(self, manager: web.Server, *, codec: JsonCodec, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self.codec = codec

    def handle_error(self, request: web.BaseRequest, status: int = 500,
                     exc: Optional[BaseException] = None,
                     message: Optional[str] = None) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        if isinstance(exc, LineTooLong):
            status, detail = 414, ("request line or header longer than %d bytes"
                                   % PARSER_LIMIT)
        else:
            detail = "malformed HTTP request: %s" % (getattr(exc, "message", "") or exc)
        log.warning("refused a request from %s: HTTP %d, %s", request.remote, status,
                    detail[:200])
        response = error_response(self.codec, status, detail)
        response.force_close()
        return response


class _JsonErrorServer(web.Server):
    def __init__(self, *args: Any, codec: JsonCodec, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._codec = codec

    def __call__(self) -> web.RequestHandler:
        return JsonErrorRequestHandler(self, loop=self._loop, codec=self._codec,
                                       **self._kwargs)


class ServiceRunner(web.AppRunner):
    """An AppRunner whose connections use JsonErrorRequestHandler."""

    def __init__(self, app: web.Application, codec: JsonCodec, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._codec = codec
        self._handler_kwargs = kwargs

    async def _make_server(self) -> web.Server:
        base = await super()._make_server()
        kwargs = {k: v for k, v in self._handler_kwargs.items() if k != "handle_signals"}
        return _JsonErrorServer(base.request_handler, request_factory=base.request_factory,
                                handler_cancellation=base.handler_cancellation,
                                codec=self._codec, **kwargs)


async def _serve(runner: ServiceRunner, host: str, port: int,
                 announce: Callable[[], None]) -> None:
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        announce()
        await asyncio.Event().wait()  # until SIGINT/SIGTERM (GracefulExit)
    finally:
        await runner.cleanup()


def run(app: web.Application, codec: JsonCodec, host: str, port: int,
        announce: Callable[[], None], loop: asyncio.AbstractEventLoop) -> None:
    """Serve until SIGINT or SIGTERM, cleaning up (cleanup_ctx) on the way out.

    Raises OSError when the address cannot be bound (in use, not allowed)."""
    asyncio.set_event_loop(loop)
    runner = ServiceRunner(app, codec, handle_signals=True, access_log=None, **HANDLER_ARGS)
    task = loop.create_task(_serve(runner, host, port, announce))
    try:
        loop.run_until_complete(task)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        if not task.done():
            task.cancel()
            loop.run_until_complete(asyncio.gather(task, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
