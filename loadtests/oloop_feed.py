"""What the open-loop generator sends and when: the arrival schedule and the request bytes.

**Common random numbers.** The schedule and the message sequence are functions of the
seed only, never of the URL, the process or the variant, so variants A and B (and
repeats in different processes) can be driven by exactly the same arrivals carrying
exactly the same messages. Global arrival ``g`` has offset ``offsets[g]`` (seconds
after the block's start) and message ``g`` of ``Workload(seed, ...)``. With N worker
processes, worker k takes the arrivals g with ``g % N == k`` at their global offsets, so
the union of the workers' sends is the one-process schedule. Poisson gaps come from
numpy's PCG64 seeded with ``seed``, drawn in fixed chunks of ``CHUNK`` (so chunking is
the same in every process); constant arrivals are ``g / rate``. Session ids are
``{session_prefix}{n:08d}`` with the prefix ``ol{seed}-`` unless one is given.

Requests are encoded to bytes before the block starts (``Feed.take``), up to
``PREBUILD_MAX`` per process; a longer block tops the buffer up in small chunks.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
import orjson

from loadtests.workload import Workload, load_order_ids, zipf_sampler

__all__ = ["CHUNK", "EPS", "PREBUILD_MAX", "Feed", "Route", "arrival_offsets",
           "cached_order_ids", "parse_route"]

CHUNK = 8192
PREBUILD_MAX = 300_000
EPS = 1e-7  # absorbs float drift: with rate 50 the 100th send (t=2.0) is the next window's
USER_AGENT = b"perflab-openloop"


@dataclass(frozen=True)
class Route:
    method: str
    path: str

    @property
    def is_chat(self) -> bool:
        return self.method == "POST" and self.path.split("?")[0] == "/api/chat"

    @property
    def is_templated(self) -> bool:
        """A path with ``{order_id}``: each request gets an order number from the workload
        (5% unknown ones, for which 404 is the right answer and counts as ok)."""
        return "{order_id}" in self.path


def parse_route(route: str) -> Route:
    """``"POST /api/chat"`` -> Route("POST", "/api/chat"); a bare path means GET."""
    parts = route.split(None, 1)
    if len(parts) == 2:
        return Route(parts[0].upper(), parts[1].strip())
    return Route("GET", route.strip())


def arrival_offsets(arrival: str, rate: float, seed: int) -> Iterator[np.ndarray]:
    """Endless chunks of ``CHUNK`` global arrival offsets (s), the first arrival at 0."""
    if rate <= 0:
        raise ValueError("rate must be > 0")
    if arrival == "constant":
        start = 0
        while True:
            yield np.arange(start, start + CHUNK, dtype=np.float64) / rate
            start += CHUNK
    elif arrival == "poisson":
        rng = np.random.Generator(np.random.PCG64(seed))
        carry = 0.0
        while True:
            cums = np.cumsum(rng.exponential(1.0 / rate, CHUNK))
            out = np.empty(CHUNK, dtype=np.float64)
            out[0] = carry
            out[1:] = carry + cums[:-1]
            carry = carry + float(cums[-1])
            yield out
    else:
        raise ValueError(f"arrival must be 'constant' or 'poisson', got {arrival!r}")


FAQ_DRAWS = 20000  # ids in the popularity table: the most popular article appears most


@functools.lru_cache(maxsize=8)
def faq_article_ids(articles: int, zipf_s: float, seed: int) -> Tuple[str, ...]:
    """Article ids 1..articles drawn with Zipf popularity (a few read often, most rarely,
    as on a help centre; popularity is not id order), for GET /api/faq/{id}."""
    rng = random.Random(seed * 7 + 3)
    draw = zipf_sampler(articles, zipf_s, rng)
    order = list(range(1, articles + 1))
    rng.shuffle(order)
    return tuple(str(order[draw()]) for _ in range(FAQ_DRAWS))


@functools.lru_cache(maxsize=8)
def cached_order_ids(data_seed: int, orders_count: Optional[int] = None) -> Tuple[str, ...]:
    """The service's order numbers for DATA_SEED and ORDERS_COUNT (once per process)."""
    return tuple(load_order_ids(data_seed, orders_count))


class Feed:
    """This process's share of one block: (intended offset, request bytes, 404-is-ok).

    ``end`` is where the block's arrivals stop (warm-up + duration, seconds); ``cap`` the
    global max_requests. ``cap_offset`` becomes the offset of global arrival ``cap`` (the
    first one not sent) once the feed has run into the cap.
    """

    def __init__(self, *, url_host: str, route: Route, arrival: str, rate: float, seed: int,
                 end: float, share: int = 0, shares: int = 1, cap: Optional[int] = None,
                 workload: Optional[Workload] = None) -> None:
        if not 0 <= share < shares:
            raise ValueError("share must be in [0, shares)")
        self.route = route
        self.share, self.shares = share, shares
        self.end, self.cap = end - EPS, cap
        self.workload = workload
        self.cap_offset: Optional[float] = None
        self.exhausted = False
        self.global_count = 0  # global arrivals walked so far
        self._chunks = arrival_offsets(arrival, rate, seed)
        self._offs: List[float] = []
        self._pos = 0
        host = url_host.encode("ascii")
        method = route.method.encode("ascii")
        self._head = b"%s %%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n" % (
            method, host, USER_AGENT)
        if route.is_chat:
            self._chat_head = (self._head % route.path.encode()
                               + b"Content-Type: application/json\r\nContent-Length: ")
        no_body = b"" if route.method in ("GET", "HEAD", "DELETE") else b"Content-Length: 0\r\n"
        self._static = self._head % route.path.encode() + no_body + b"\r\n"

    def take(self, n: int) -> Tuple[List[float], List[bytes], List[bool]]:
        """Up to ``n`` more of this share's requests (fewer once the block is over)."""
        offs: List[float] = []
        reqs: List[bytes] = []
        oks: List[bool] = []
        route, w = self.route, self.workload
        share, shares, end, cap = self.share, self.shares, self.end, self.cap
        while len(offs) < n and not self.exhausted:
            if self._pos >= len(self._offs):
                self._offs = next(self._chunks).tolist()
                self._pos = 0
            g = self.global_count
            o = self._offs[self._pos]
            if cap is not None and g >= cap:
                self.cap_offset = o
                self.exhausted = True
                break
            if o >= end:
                self.exhausted = True
                break
            self._pos += 1
            self.global_count = g + 1
            mine = g % shares == share
            if route.is_chat and w is not None:
                m = w.next_message()  # drawn for every arrival: the sequence is global
                if mine:
                    body = orjson.dumps({"session_id": m.session_id, "message": m.text})
                    reqs.append(b"%s%d\r\n\r\n%s" % (self._chat_head, len(body), body))
                    oks.append(False)
            elif route.is_templated and w is not None:
                oid, known = w.next_order_id()
                if mine:
                    path = route.path.replace("{order_id}", oid).encode()
                    reqs.append(self._head % path + b"\r\n")
                    oks.append(not known)
            elif mine:
                reqs.append(self._static)
                oks.append(False)
            if mine:
                offs.append(o)
        return offs, reqs, oks


def bodies(reqs: Sequence[bytes]) -> List[bytes]:
    """The bodies of encoded requests (what the CRN test compares across URLs)."""
    return [r.split(b"\r\n\r\n", 1)[1] for r in reqs]
