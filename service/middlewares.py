"""Middleware factories: each closes over the config it needs, none reads globals.

Order (outermost first), see ``build_middlewares``: timing -> access log ->
errors -> request size -> rate limit -> body limit -> gzip. Timing and the access log sit
outside the error handler so they see the final status of every request,
including JSON-ified 404/405/413/429.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from service.config import ServiceConfig
from service.jsonlib import JsonCodec
from service.metrics import Metrics

log = logging.getLogger("service")
access_log = logging.getLogger("service.access")

# Routes the lab polls: never rate-limited, never gzip'ed.
INTERNAL_PATHS = frozenset(["/healthz", "/metrics", "/api/config", "/openapi.json"])

ERROR_NAMES: Dict[int, str] = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    411: "length_required",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "unprocessable_entity",
    429: "rate_limited",
    431: "headers_too_large",
    500: "internal_error",
    501: "not_implemented",
    503: "unavailable",
}


def error_response(codec: JsonCodec, status: int, detail: str,
                   error: Optional[str] = None,
                   headers: Optional[Dict[str, str]] = None) -> web.Response:
    """The one error shape of the service: ``{"error": slug, "detail": text}``."""
    body = codec.dumps({"error": error or ERROR_NAMES.get(status, f"http_{status}"),
                        "detail": detail})
    return web.Response(status=status, body=body, content_type="application/json",
                        headers=headers)


def route_label(request: web.Request) -> str:
    """Low-cardinality route name for metrics: the resource pattern, or 'unmatched'."""
    match_info = request.match_info
    route = getattr(match_info, "route", None)
    resource = getattr(route, "resource", None)
    if resource is None or getattr(match_info, "http_exception", None) is not None:
        return "unmatched"
    return str(resource.canonical)


def timing_middleware(metrics: Metrics) -> Middleware:
    """Count requests and record latency by route, method and status (feeds /metrics)."""

    @web.middleware
    async def timing(request: web.Request, handler: Handler) -> web.StreamResponse:
        start = time.perf_counter()
        metrics.in_flight.inc()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            metrics.in_flight.dec()
            metrics.observe_request(route_label(request), request.method, status,
                                    time.perf_counter() - start)

    return timing


def access_log_middleware() -> Middleware:
    """One INFO line per request (the baseline ships with it on)."""

    @web.middleware
    async def log_access(request: web.Request, handler: Handler) -> web.StreamResponse:
        start = time.perf_counter()
        status = 500
        length: Optional[int] = None
        try:
            response = await handler(request)
            status = response.status
            length = response.content_length
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            access_log.info('%s "%s %s HTTP/%d.%d" %d %s %.3fms "%s"',
                            request.remote, request.method, request.path_qs,
                            request.version.major, request.version.minor, status,
                            "-" if length is None else length,
                            (time.perf_counter() - start) * 1000.0,
                            request.headers.get("User-Agent", "-"))

    return log_access


class ApiError(Exception):
    """Raised by handlers and validators; the error middleware renders it as JSON."""

    def __init__(self, status: int, detail: str, error: Optional[str] = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.error = error


def error_middleware(codec: JsonCodec) -> Middleware:
    """Turn every error, aiohttp's own 404/405/413 included, into JSON {error, detail}."""

    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            return error_response(codec, exc.status, exc.detail, exc.error)
        except web.HTTPException as exc:
            if exc.status < 400:  # 304 and redirects pass through untouched
                raise
            headers = {name: exc.headers[name] for name in ("Allow", "Retry-After")
                       if name in exc.headers}
            return error_response(codec, exc.status, _detail_for(exc),
                                  headers=headers or None)
        except Exception:
            log.exception("unhandled error in %s %s", request.method, request.path)
            return error_response(codec, 500, "the service failed to handle this request")

    return errors


def _detail_for(exc: web.HTTPException) -> str:
    if isinstance(exc, web.HTTPNotFound):
        return "no such route or resource"
    if isinstance(exc, web.HTTPMethodNotAllowed):
        return "method {} not allowed; allowed: {}".format(
            exc.method, ", ".join(sorted(exc.allowed_methods)))
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return "request body too large"
    text = (exc.text or exc.reason or "").strip()
    if text.startswith(f"{exc.status}: "):
        text = text[5:]
    return text or exc.reason


MAX_LINE_BYTES = 8190  # aiohttp's default parser limit, kept as the service's own


def request_size_middleware(codec: JsonCodec, max_bytes: int = MAX_LINE_BYTES) -> Middleware:
    """414 for a URL, 431 for a header line over ``max_bytes``, as JSON.

    The parser is told to accept longer lines (``service.server.HANDLER_ARGS``) so that
    these answers come from here, in the service's error shape, not from aiohttp."""

    @web.middleware
    async def request_size(request: web.Request, handler: Handler) -> web.StreamResponse:
        url = len(request.raw_path)
        if url > max_bytes:
            return error_response(codec, 414, f"the URL is {url} bytes; the limit is "
                                  f"{max_bytes}")
        for name, value in request.raw_headers:
            if len(name) + len(value) + 2 > max_bytes:
                return error_response(codec, 431, "header {} is {} bytes; the limit is {}"
                                      .format(name.decode("latin-1")[:60],
                                              len(name) + len(value) + 2, max_bytes))
        return await handler(request)

    return request_size


def body_limit_middleware(codec: JsonCodec, max_bytes: int) -> Middleware:
    """Refuse bodies over MAX_BODY_BYTES by Content-Length before reading a byte.

    Chunked bodies without a length are bounded by the app's client_max_size,
    which raises 413 while reading.
    """

    @web.middleware
    async def body_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        length = request.content_length
        if length is not None and length > max_bytes:
            response = error_response(
                codec, 413,
                f"request body is {length} bytes; the limit is {max_bytes} (MAX_BODY_BYTES)")
            response.force_close()  # do not read (or wait for) the rest of the body
            return response
        return await handler(request)

    return body_limit


class TokenBuckets:
    """Per-client token buckets, bounded in number (least recently seen evicted)."""

    def __init__(self, rate: float, burst: int, max_clients: int = 10000) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, Tuple[float, float]] = OrderedDict()

    def take(self, client: str, now: float) -> float:
        """Take one token; 0.0 if allowed, else seconds until a token is available."""
        tokens, last = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[client] = (tokens, now)
        if len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait


def client_key(request: web.Request) -> str:
    """The client a bucket belongs to: X-Forwarded-For's first hop behind a local proxy."""
    remote = request.remote or "-"
    if remote in ("127.0.0.1", "::1"):
        forwarded = request.headers.get("X-Forwarded-For")
        if forwarded:
            return forwarded.split(",", 1)[0].strip()
    return remote


def rate_limit_middleware(codec: JsonCodec, rate: float, burst: int) -> Middleware:
    """Token bucket per client; over the limit -> 429 with Retry-After."""
    buckets = TokenBuckets(rate, burst)

    @web.middleware
    async def rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in INTERNAL_PATHS:
            wait = buckets.take(client_key(request), time.monotonic())
            if wait > 0:
                retry = max(1, math.ceil(wait))
                return error_response(
                    codec, 429, f"rate limit of {rate:g} requests/s (burst {burst}) exceeded; "
                    f"retry in {retry}s", headers={"Retry-After": str(retry)})
        return await handler(request)

    return rate_limit


def gzip_middleware(min_bytes: int = 512) -> Middleware:
    """Compress JSON responses the client accepts gzip for (GZIP_ENABLED)."""

    @web.middleware
    async def gzip(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if (isinstance(response, web.Response) and not response.prepared
                and request.path not in INTERNAL_PATHS
                and response.body is not None and response.content_length is not None
                and response.content_length >= min_bytes
                and "gzip" in request.headers.get("Accept-Encoding", "").lower()):
            response.enable_compression(web.ContentCoding.gzip)
        return response

    return gzip


def build_middlewares(config: ServiceConfig, codec: JsonCodec,
                      metrics: Metrics) -> List[Middleware]:
    """The middleware chain for this config; toggled-off layers are not installed at all."""
    chain: List[Middleware] = [timing_middleware(metrics)]
    if config.access_log:
        chain.append(access_log_middleware())
    chain.append(error_middleware(codec))
    chain.append(request_size_middleware(codec))
    if config.rate_limit_enabled:
        chain.append(rate_limit_middleware(codec, config.rate_limit_rps,
                                           config.effective_burst))
    chain.append(body_limit_middleware(codec, config.max_body_bytes))
    if config.gzip_enabled:
        chain.append(gzip_middleware())
    return chain
