"""The guide's CDN for static FAQ answers: an edge cache in front of GET /api/faq/{id}.

nginx's proxy_cache stands in for the CDN (deploy/nginx.conf.template caches only
``/api/faq/{id}``; every other route still goes to the service). The comparison is
the same nginx config with the cache on and off, over the same instance(s), so the
only difference is the cache. Each run gets a fresh nginx with an empty cache that
warms during the warm-up, then the open-loop driver
(``loadtests.openloop --faq-articles``: Zipf-popular
article ids) measures the route's latency at a fixed rate; the cache hit ratio of the
measured window comes from nginx's access log ($upstream_cache_status), and the
requests that reached the service from its own /metrics. Cache on/off alternate in a
seeded random order per repeat.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple

from .instances import Instance
from .loadgen import Load, run_load, summary
from .nginx import log_size, read_access_log, start_nginx
from .procs import ProcessGroup
from .scrape import scrape, window

SCHEMA_VERSION = 1
FAQ_ROUTE = "GET /api/faq/{article_id}"  # the service's route label in /metrics


@dataclass(frozen=True)
class CdnConfig:
    rate: float = 100.0  # requests/s, well under the service's capacity for the route
    duration_s: float = 1.5
    warmup_s: float = 0.7
    repeats: int = 3
    seed: int = 1
    articles: int = 0  # 0: the service's FAQ_ARTICLES (default 3000)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CdnResult:
    config: Dict[str, Any]
    runs: Tuple[Dict[str, Any], ...]  # {repeat, cache, p50_ms, ..., hit_ratio, ...}
    upstreams: Tuple[int, ...]
    skipped: str = ""
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CdnResult:
        if int(d.get("schema_version", 0)) != SCHEMA_VERSION:
            raise ValueError("cdn.json schema_version %r, expected %d"
                             % (d.get("schema_version"), SCHEMA_VERSION))
        return cls(dict(d["config"]), tuple(d["runs"]), tuple(d["upstreams"]),
                   str(d.get("skipped", "")))

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1))
        os.replace(tmp, path)


def load_cdn(path: Path) -> CdnResult:
    return CdnResult.from_dict(json.loads(Path(path).read_text()))


def measure_cdn(config: CdnConfig, service_env: Mapping[str, str], out_dir: Path,
                group: ProcessGroup, instances: Sequence[Instance],
                generator_cpus: Sequence[int],
                show: Callable[[str], None] = lambda s: None) -> CdnResult:
    """Cache on vs off in front of ``instances`` (running; left running); writes cdn.json."""
    articles = config.articles or int(service_env.get("FAQ_ARTICLES", "3000"))
    cfg = dict(config.to_dict(), articles=articles)
    runs: List[Dict[str, Any]] = []
    result = CdnResult(cfg, tuple(runs), tuple(i.port for i in instances))
    path = out_dir / "cdn.json"
    rng = random.Random(config.seed + 17)
    try:
        for repeat in range(1, config.repeats + 1):
            order = [True, False]
            rng.shuffle(order)
            for cache in order:
                show("CDN r%d: cache %s" % (repeat, "on" if cache else "off"))
                runs.append(_one(config, articles, service_env, out_dir, group, instances,
                                 generator_cpus, repeat, cache))
                result = CdnResult(cfg, tuple(runs), result.upstreams)
                result.save(path)
    finally:
        result.save(path)
    return result


def _one(config: CdnConfig, articles: int, env: Mapping[str, str], out_dir: Path,
         group: ProcessGroup, instances: Sequence[Instance], generator_cpus: Sequence[int],
         repeat: int, cache: bool) -> Dict[str, Any]:
    tag = "cdn-%s-r%d" % ("on" if cache else "off", repeat)
    lb = start_nginx(group, out_dir / "nginx" / tag, [i.port for i in instances],
                     faq_cache=cache, access_log=True, cpus=generator_cpus, name="nginx-" + tag)
    try:
        load = Load(lb.url, config.rate, config.duration_s, config.warmup_s,
                    seed=config.seed * 1000 + repeat, faq_articles=articles)
        raw = out_dir / "histograms" / (tag + ".json")
        before = [scrape(i.url) for i in instances]
        data = run_load(group, load, raw, env, generator_cpus, "gen-" + tag)
        after = [scrape(i.url) for i in instances]
        lb.flush_log()
        counts = read_access_log(lb.access_log, 0, "/api/faq/")
        measured = _measured_window(lb.access_log, data)
    finally:
        group.stop(lb.child)
    s = summary(data)
    served = sum(w[FAQ_ROUTE].requests for w in (window(b, a) for b, a in zip(before, after))
                 if FAQ_ROUTE in w)
    return dict(s, repeat=repeat, cache=cache, hit_ratio=measured.get("hit_ratio"),
                hit_ratio_all=counts.hit_ratio, cache_status=measured.get("cache", {}),
                service_requests=served, raw_file=str(raw.relative_to(out_dir)))


def _measured_window(log: Path, data: Mapping[str, Any]) -> Dict[str, Any]:
    """Cache statuses of the requests after the warm-up: the log's last ``sent`` lines
    (nginx writes a line as each answer goes out, in order, so the warm-up's come first)."""
    counts = read_access_log(log, 0, "/api/faq/")
    total = counts.requests
    sent = int(data.get("counts", {}).get("sent", 0)) if "error" not in data else 0
    if not sent or log_size(log) == 0:
        return {}
    lines = log.read_bytes().splitlines()[-min(sent, total):]
    statuses: Dict[str, int] = {}
    for raw in lines:
        parts = raw.decode("utf-8", "replace").split()
        if len(parts) >= 7 and parts[6].startswith("/api/faq/"):
            statuses[parts[1]] = statuses.get(parts[1], 0) + 1
    looked = sum(n for k, n in statuses.items() if k != "-")
    return {"cache": statuses, "hit_ratio": statuses.get("HIT", 0) / looked if looked else None}
