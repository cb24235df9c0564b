"""The carrier-tracking client: the downstream call that CONCURRENCY_MODE is about.

``sync`` mode: ``http.client`` in the request handler, blocking the event
loop for the carrier's latency, as a bot written without asyncio does.
``async`` mode: an awaited aiohttp request. POOLING keeps one keep-alive
connection (sync) or one ClientSession (async) instead of connecting per call.

``tracking_for`` is the carrier's deterministic answer for a tracking id; the
carrier API process (service.carrier) serves it over HTTP and
``InProcessCarrier`` returns it without a network, for benchmarks that
exclude downstream calls.
Python 3.9-compatible.
"""

from __future__ import annotations

import hashlib
import http.client
import json
from typing import Any, Optional
from urllib.parse import quote, urlsplit

from .types import Tracking

STATUSES = ("label created", "picked up", "in transit", "in transit", "out for delivery",
            "delivered", "held at depot", "in transit")
LOCATIONS = ("Leipzig hub", "Frankfurt sorting centre", "Rotterdam depot", "Lyon hub",
             "Milan depot", "Madrid sorting centre", "Warsaw hub", "Vienna depot",
             "Paris Nord depot", "Hamburg hub", "local delivery station")


def tracking_for(tracking_id: str) -> Tracking:
    """The carrier's answer for an id: derived from a hash, identical on every run."""
    digest = hashlib.sha256(tracking_id.encode("utf-8")).digest()
    status = STATUSES[digest[0] % len(STATUSES)]
    location = LOCATIONS[digest[1] % len(LOCATIONS)]
    eta = None if status == "delivered" else "2026-12-%02d" % (1 + digest[2] % 28)
    return Tracking(tracking_id, status, location, eta)


def failed_tracking(tracking_id: str, error: str) -> Tracking:
    return Tracking(tracking_id, "unknown", "", None, ok=False, error=error)


class CarrierClient:
    """Interface: ``track`` blocks, ``atrack`` awaits. Neither raises for carrier errors."""

    def track(self, tracking_id: str) -> Tracking:  # pragma: no cover - interface
        raise NotImplementedError

    async def atrack(self, tracking_id: str) -> Tracking:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        """Release connections held by the sync path."""

    async def aclose(self) -> None:
        self.close()


class InProcessCarrier(CarrierClient):
    """The carrier's answers without a network (benchmarks of the engine alone)."""

    def track(self, tracking_id: str) -> Tracking:
        return tracking_for(tracking_id)

    async def atrack(self, tracking_id: str) -> Tracking:
        return tracking_for(tracking_id)


def _parse(tracking_id: str, status: int, body: bytes) -> Tracking:
    if status != 200:
        return failed_tracking(tracking_id, "carrier HTTP %d" % status)
    try:
        data = json.loads(body)
        return Tracking(str(data["tracking_id"]), str(data["status"]), str(data["location"]),
                        data.get("eta"))
    except (ValueError, KeyError, TypeError) as exc:
        return failed_tracking(tracking_id, "bad carrier reply: %s" % exc)


class HttpCarrierClient(CarrierClient):
    """The real client: http.client for ``track``, aiohttp for ``atrack``."""

    def __init__(self, base_url: str, timeout: float, pooling: bool) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError("CARRIER_URL must be an http:// URL, got %r" % base_url)
        self.base_url = base_url.rstrip("/")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.path_prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.pooling = pooling
        self._conn: Optional[http.client.HTTPConnection] = None
        self._session: Any = None

    def _path(self, tracking_id: str) -> str:
        return "%s/track/%s" % (self.path_prefix, quote(tracking_id, safe=""))

    def track(self, tracking_id: str) -> Tracking:
        path = self._path(tracking_id)
        for attempt in (0, 1):
            conn = self._conn if self.pooling else None
            fresh = conn is None
            if conn is None:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                conn.request("GET", path, headers={"Accept": "application/json"})
                resp = conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                self._conn = None
                if fresh or attempt == 1:  # a reused keep-alive socket may be stale: retry once
                    return failed_tracking(tracking_id, "carrier unreachable: %s" % exc)
                continue
            if self.pooling:
                self._conn = conn
            else:
                conn.close()
            return _parse(tracking_id, resp.status, body)
        return failed_tracking(tracking_id, "carrier unreachable")  # pragma: no cover

    async def atrack(self, tracking_id: str) -> Tracking:
        import aiohttp  # imported here: the engine itself needs aiohttp only in async mode

        url = "http://%s:%d%s" % (self.host, self.port, self._path(tracking_id))
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            if self.pooling:
                if self._session is None or self._session.closed:
                    self._session = aiohttp.ClientSession(
                        timeout=timeout, connector=aiohttp.TCPConnector(limit=256))
                async with self._session.get(url) as resp:
                    return _parse(tracking_id, resp.status, await resp.read())
            async with aiohttp.ClientSession(timeout=timeout) as session, \
                    session.get(url) as resp:
                return _parse(tracking_id, resp.status, await resp.read())
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return failed_tracking(tracking_id, "carrier unreachable: %s" % exc)
        except Exception as exc:  # asyncio.TimeoutError is not TimeoutError on 3.9
            if type(exc).__name__ == "TimeoutError":
                return failed_tracking(tracking_id, "carrier timeout")
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def aclose(self) -> None:
        self.close()
        if self._session is not None:
            await self._session.close()
            self._session = None
