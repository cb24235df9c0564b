"""The guide's CDN for static FAQ answers: an edge cache in front of GET /api/faq/{id}.

nginx's proxy_cache stands in for the CDN (deploy/nginx.conf.template caches only
``/api/faq/{id}``; every other route still goes to the service). Two nginx run at the
same time over the same instance, the same config but for the cache: one with it on,
one with it off, so the only difference is the cache.

The cache is measured in its steady state, a CDN's normal one: before any figure, every
article (1..articles) is requested once through the cache-on nginx (*priming*). Then
one generator process runs a warm-up pair (not judged) and ``blocks`` interleaved
blocks: in block b both sides get the same seed (the same arrival schedule and the same
Zipf-popular article ids: common random numbers), in a seeded shuffled order. The
claim is judged on the block p50 ratio (``reports.cdn``). The measured window's cache
hit ratio comes from the cache-on nginx's access log ($upstream_cache_status): its
lines after the priming ones are the blocks', in order (blocks have no warm-up, so a
block's lines are its requests); requests that reached the service are the lines with
an $upstream_addr.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .design import KindSpec, schedule_repeat
from .instances import Instance
from .measure import generator_flags, row_from_result, run_block_spec
from .nginx import CACHE_STATUSES, start_nginx
from .procs import ProcessGroup, run_pinned
from .results import Row

SCHEMA_VERSION = 2
GENERATOR_ROUTE = "GET /api/faq/{order_id}"  # the generator's template; ids are article ids


@dataclass(frozen=True)
class CdnConfig:
    rate: float = 200.0  # requests/s, well under the service's capacity for the route
    block_s: float = 0.4
    blocks: int = 5  # per side
    warm_s: float = 0.3  # the warm-up pair (not judged)
    seed: int = 1
    articles: int = 0  # 0: the service's FAQ_ARTICLES (default 3000)
    prime_concurrency: int = 16

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def estimate_s(self, articles: int = 3000) -> float:
        """Planned wall time: two nginx, the priming (~1,500 articles/s here), one
        generator start, the warm-up pair and the blocks."""
        return (0.4 + articles / 1500.0 + 1.0 + 2 * (self.warm_s + 0.15)
                + 2 * self.blocks * (self.block_s + 0.15))


@dataclass(frozen=True)
class CdnResult:
    config: Dict[str, Any]
    blocks: Tuple[Dict[str, Any], ...]  # {block, cache, p50_ms, ..., hit_ratio (on)}
    upstreams: Tuple[int, ...]
    primed: Dict[str, Any]  # {articles, ok, statuses, seconds}
    window: Dict[str, Any]  # the measured window: hit ratio, cache statuses, service hits
    skipped: str = ""
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CdnResult:
        if int(d.get("schema_version", 0)) != SCHEMA_VERSION:
            raise ValueError("cdn.json schema_version %r, expected %d"
                             % (d.get("schema_version"), SCHEMA_VERSION))
        return cls(dict(d["config"]), tuple(d["blocks"]), tuple(d["upstreams"]),
                   dict(d.get("primed", {})), dict(d.get("window", {})),
                   str(d.get("skipped", "")))

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1))
        os.replace(tmp, path)


def load_cdn(path: Path) -> CdnResult:
    return CdnResult.from_dict(json.loads(Path(path).read_text()))


def skipped_cdn(config: CdnConfig, why: str) -> CdnResult:
    return CdnResult(config.to_dict(), (), (), {}, {}, skipped=why)


async def prime(url: str, articles: int, concurrency: int) -> Dict[str, Any]:
    """GET every article once through ``url`` (the cache-on nginx): the cache's steady
    state before anything is measured."""
    import asyncio

    import aiohttp

    statuses: Dict[str, int] = {}
    ids = iter(range(1, articles + 1))
    t0 = time.perf_counter()

    async def worker(s: aiohttp.ClientSession) -> None:
        for i in ids:
            async with s.get("%s/api/faq/%d" % (url, i)) as r:
                await r.read()
                key = str(r.status)
                statuses[key] = statuses.get(key, 0) + 1

    async with aiohttp.ClientSession() as s:
        await asyncio.gather(*(worker(s) for _ in range(concurrency)))
    return {"articles": articles, "ok": statuses.get("200", 0), "statuses": statuses,
            "seconds": round(time.perf_counter() - t0, 2)}


def measure_cdn(config: CdnConfig, service_env: Mapping[str, str], out_dir: Path,
                group: ProcessGroup, instances: Sequence[Instance],
                generator_cpus: Sequence[int],
                show: Callable[[str], None] = lambda s: None) -> CdnResult:
    """Cache on vs off in front of ``instances`` (running; left running); writes cdn.json."""
    articles = config.articles or int(service_env.get("FAQ_ARTICLES", "3000"))
    cfg = dict(config.to_dict(), articles=articles)
    path = out_dir / "cdn.json"
    ports = [i.port for i in instances]
    schedule = schedule_repeat([KindSpec("faq", ["on", "off"], config.blocks,
                                         config.block_s, 0.0, (config.rate,))], 1,
                               config.seed, {})
    # (id, side, duration, seed): the warm-up pair first (not judged), then the schedule
    plan = [("cdn-warm-on", "on", config.warm_s, config.seed),
            ("cdn-warm-off", "off", config.warm_s, config.seed)]
    plan += [("cdn-%s-b%d" % (b.variant, b.block), b.variant, b.duration_s, b.seed)
             for b in schedule]
    by_id = {"cdn-%s-b%d" % (b.variant, b.block): b for b in schedule}
    records: List[Dict[str, Any]] = []
    sent: Dict[str, int] = {}
    primed: Dict[str, Any] = {}
    lbs = {}
    try:
        for side in ("on", "off"):
            lbs[side] = start_nginx(group, out_dir / "nginx" / ("cdn-" + side), ports,
                                    faq_cache=side == "on", access_log=True,
                                    cpus=generator_cpus, name="nginx-cdn-" + side)
        show("CDN: priming the cache with every one of %d articles" % articles)
        primed = run_pinned(generator_cpus, prime, lbs["on"].url, articles,
                            config.prime_concurrency)
        CdnResult(cfg, (), tuple(ports), primed, {}).save(path)
        show("CDN: %d blocks per side, cache on and off interleaved" % config.blocks)

        def on_block(bid: str, raw: Path) -> None:
            data = json.loads(raw.read_text()) if raw.exists() else None
            if data is not None:
                sent[bid] = int(data["counts"]["sent"])
            b = by_id.get(bid)
            if b is not None:
                records.append(_record(bid, b.block, b.variant == "on", b.seed, data, raw,
                                       out_dir))

        rows = [{"id": bid, "url": lbs[side].url, "route": GENERATOR_ROUTE,
                 "faq_articles": articles, "rate": config.rate, "duration": duration,
                 "warmup": 0.0, "seed": seed} for bid, side, duration, seed in plan]
        run_block_spec(group, "gen-cdn", rows, out_dir / "blocks" / "cdn.json",
                       out_dir / "histograms",
                       generator_flags(service_env.get("DATA_SEED", "42"),
                                       service_env.get("ORDERS_COUNT")),
                       dict(service_env), generator_cpus, on_block)
    finally:
        for lb in lbs.values():
            group.stop(lb.child)  # nginx writes its buffered access log as it exits
        window: Dict[str, Any] = {}
        if "on" in lbs:
            per, window = split_log(_lines(lbs["on"].access_log),
                                    sum(int(n) for n in primed.get("statuses", {}).values()),
                                    [bid for bid, side, _, _ in plan if side == "on"], sent)
            for r in records:
                r.update(per.get(r["id"], {}))
        if "off" in lbs:
            window["service_requests_off"] = sum(1 for p in _lines(lbs["off"].access_log)
                                                 if p[2] != "-")
        result = CdnResult(cfg, tuple(records), tuple(ports), primed, window)
        result.save(path)
    return result


def _record(bid: str, block: int, cache: bool, seed: int, data: Optional[Dict[str, Any]],
            raw: Path, out_dir: Path) -> Dict[str, Any]:
    out: Dict[str, Any] = {"id": bid, "block": block, "cache": cache, "seed": seed}
    if data is None:
        return dict(out, status="failed", failure="no result")
    row = row_from_result(Row("cdn", "on" if cache else "off", 1, "cdn", "open",
                              GENERATOR_ROUTE, "ok"), data, None)
    return dict(out, status=row.status, failure=row.failure, sent=row.requests,
                p50_ms=row.p50_ms, p95_ms=row.p95_ms, p99_ms=row.p99_ms,
                error_rate=row.error_rate, sent_rps=row.achieved_rate,
                generator_saturated=row.generator_saturated,
                saturation=row.saturation_reasons, raw_file=str(raw.relative_to(out_dir)))


def _lines(log: Path) -> List[List[str]]:
    """The lab-format FAQ lines of an access log, in order: status, cache, upstream, ..."""
    try:
        raw = log.read_bytes().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in raw:
        parts = line.decode("utf-8", "replace").split()
        if len(parts) >= 7 and parts[6].startswith("/api/faq/"):
            out.append(parts)
    return out


def split_log(lines: Sequence[Sequence[str]], primed: int, order: Sequence[str],
              sent: Mapping[str, int]) -> Tuple[Dict[str, Dict[str, Any]], Dict[str, Any]]:
    """The cache-on log after its ``primed`` priming lines, cut into its blocks (``order``,
    ``sent[id]`` lines each; the warm-up block's are not the measured window): per block
    {hit_ratio, service_requests}, and the measured window's totals. When the lines do
    not add up to the blocks' requests, only the totals are given, marked so."""
    rest = list(lines[primed:])
    counts = [sent.get(bid, 0) for bid in order]
    exact = len(rest) == sum(counts) and all(bid in sent for bid in order)
    per: Dict[str, Dict[str, Any]] = {}
    measured: List[Sequence[str]] = []
    pos = 0
    for bid, n in zip(order, counts):
        chunk = rest[pos:pos + n] if exact else []
        pos += n
        if exact and not bid.startswith("cdn-warm"):
            per[bid] = _tally(chunk)
            measured.extend(chunk)
    if not exact:  # the warm-up block's lines cannot be told apart: all of them, said so
        measured = rest
    window = dict(_tally(measured), lines_match_blocks=exact,
                  includes_warmup=not exact, primed_lines=primed)
    return per, window


def _tally(lines: Sequence[Sequence[str]]) -> Dict[str, Any]:
    cache: Dict[str, int] = {}
    for p in lines:
        cache[p[1]] = cache.get(p[1], 0) + 1
    looked = sum(n for k, n in cache.items() if k in CACHE_STATUSES)
    return {"hit_ratio": round(cache.get("HIT", 0) / looked, 4) if looked else None,
            "cache": cache, "service_requests": sum(1 for p in lines if p[2] != "-")}
