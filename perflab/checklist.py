"""The guide's checklist items, each measured on the metric it is about.

The guide names no figure for them, so each gets a measured effect with its interval
and no claim. One instance per setting, all started together, pinned to the service's
core; the client runs in a thread pinned to the generator's core.

- gzip (``+gzip``): bytes per response and latency, on one instance, with and without
  ``Accept-Encoding: gzip`` (the only difference is the compression).
- rate limiting (``+rate_limit``, a limit above the test's rate): its overhead when not
  limiting, p50 against ``+batching`` (baseline toggles; the batch route does not
  touch single messages); and on a low limit, 429 with Retry-After once a client
  passes its budget.
- quiet logs (``+quiet_logs`` vs ``+batching``): CPU seconds per request at a fixed
  rate, which sets the capacity of a CPU-bound service (the quick setting; a capacity
  search per variant is the full setting's).
- pooling (``+pooling`` vs ``+redis_cache``): p50 with Redis in the path.
- batching (``+batching``): messages per second through POST /api/chat/batch against
  one POST /api/chat per message, same messages, same concurrency.

Latency pairs are interleaved request by request (A B A B, same messages), paced, in
blocks: each block is a repeat.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import aiohttp

from loadtests.workload import Workload

from .instances import Instance, start_instances
from .procs import ProcessGroup, run_pinned
from .variants import resolve

SCHEMA_VERSION = 1
LOW_LIMIT = {"RATE_LIMIT_RPS": "2", "RATE_LIMIT_BURST": "5"}
SETTINGS = ("+gzip", "+batching", "+rate_limit", "rate_limit:low", "+quiet_logs", "+pooling",
            "+redis_cache")


@dataclass(frozen=True)
class ChecklistConfig:
    repeats: int = 2
    pairs_per_block: int = 60  # requests per side and block
    pace_rps: float = 60.0  # both sides together
    batch_size: int = 10
    batch_concurrency: int = 4
    batch_seconds: float = 1.5
    cpu_rate: float = 30.0  # quiet logs: requests/s while CPU is measured
    cpu_seconds: float = 2.0

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def _env_for(setting: str, service_env: Mapping[str, str], redis_url: str,
             prefix: str) -> Dict[str, str]:
    keep = {k: v for k, v in service_env.items() if k not in resolve("baseline").env}
    if setting == "rate_limit:low":
        toggles = dict(resolve("baseline").env, **LOW_LIMIT)
    else:
        toggles = resolve(setting).env
    return dict(keep, **toggles, REDIS_URL=redis_url,
                REDIS_PREFIX="%s%s:" % (prefix, setting.strip("+").replace(":", "-")))


def _bodies(n: int, seed: int, tag: str) -> List[bytes]:
    w = Workload(seed=seed, session_prefix="cl-%s-%d-" % (tag, seed))
    return [json.dumps({"session_id": m.session_id, "message": m.text}).encode()
            for m in w.messages(n)]


async def paired_latency(url_a: str, url_b: str, bodies: Sequence[bytes], pace_rps: float,
                         headers_a: Optional[Dict[str, str]] = None,
                         headers_b: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """Send each body to A then B, alternately, paced; p50/p95 ms per side, bytes."""
    lat: Dict[str, List[float]] = {"a": [], "b": []}
    size: Dict[str, List[int]] = {"a": [], "b": []}
    errors = {"a": 0, "b": 0}
    gap = 1.0 / pace_rps
    async with aiohttp.ClientSession(auto_decompress=False) as s:
        nxt = time.perf_counter()
        for body in bodies:
            for side, url, extra in (("a", url_a, headers_a), ("b", url_b, headers_b)):
                await asyncio.sleep(max(0.0, nxt - time.perf_counter()))
                nxt += gap
                h = {"Content-Type": "application/json", **(extra or {})}
                t0 = time.perf_counter()
                async with s.post(url + "/api/chat", data=body, headers=h) as r:
                    raw = await r.read()
                    ok = r.status == 200
                lat[side].append((time.perf_counter() - t0) * 1000.0)
                size[side].append(len(raw))
                errors[side] += 0 if ok else 1
    return {side: {"p50_ms": statistics.median(v), "p95_ms": _p(v, 0.95),
                   "bytes_mean": statistics.fmean(size[side]), "errors": errors[side],
                   "n": len(v)} for side, v in lat.items()}


def _p(values: Sequence[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * len(s)) - 1))]


async def rate_limit_probe(url: str, requests: int = 12) -> Dict[str, Any]:
    """One client (X-Forwarded-For) sends ``requests`` at once: 200s, then 429s."""
    statuses: List[int] = []
    retry: List[Optional[str]] = []
    body = json.dumps({"session_id": "rl-1", "message": "hello"}).encode()
    async with aiohttp.ClientSession() as s:
        for _ in range(requests):
            async with s.post(url + "/api/chat", data=body,
                              headers={"Content-Type": "application/json",
                                       "X-Forwarded-For": "203.0.113.7"}) as r:
                await r.read()
                statuses.append(r.status)
                retry.append(r.headers.get("Retry-After"))
    limited = [i for i, st in enumerate(statuses) if st == 429]
    return {"statuses": statuses, "first_429_at": limited[0] + 1 if limited else None,
            "retry_after": sorted({x for i, x in enumerate(retry) if i in limited and x}),
            "all_429_have_retry_after": all(retry[i] for i in limited) if limited else False}


async def batching_rate(url: str, batch: int, concurrency: int, seconds: float,
                        seed: int) -> Dict[str, Any]:
    """Messages answered per second, one request per message vs batches of ``batch``."""
    out: Dict[str, Any] = {}
    for mode in ("single", "batch"):
        w = Workload(seed=seed, session_prefix="bt-%s-%d-" % (mode, seed))
        tally = [0, 0]  # messages answered, failed requests
        stop = time.perf_counter() + seconds
        t0 = time.perf_counter()
        async with aiohttp.ClientSession() as s:
            await asyncio.gather(*(_batch_worker(s, url, w, batch if mode == "batch" else 0,
                                                 k, stop, tally) for k in range(concurrency)))
        out[mode] = {"messages_per_s": tally[0] / (time.perf_counter() - t0),
                     "errors": tally[1]}
    return out


async def _batch_worker(s: aiohttp.ClientSession, url: str, w: Workload, batch: int, k: int,
                        stop: float, tally: List[int]) -> None:
    """Post messages until ``stop``: batches of ``batch``, or one per request when 0."""
    while time.perf_counter() < stop:
        msgs = w.messages(batch or 1)
        payload: Dict[str, Any]
        if batch:
            payload = {"messages": [{"session_id": "%s-%d" % (m.session_id, k),
                                     "message": m.text} for m in msgs]}
            path = "/api/chat/batch"
        else:
            payload = {"session_id": "%s-%d" % (msgs[0].session_id, k),
                       "message": msgs[0].text}
            path = "/api/chat"
        async with s.post(url + path, json=payload) as r:
            await r.read()
            if r.status == 200:
                tally[0] += len(msgs)
            else:
                tally[1] += 1


async def cpu_per_request(inst: Instance, rate: float, seconds: float, bodies: Sequence[bytes]
                          ) -> Dict[str, Any]:
    """CPU seconds the instance spends per request at a paced ``rate``."""
    gap = 1.0 / rate
    n = 0
    async with aiohttp.ClientSession() as s:
        c0 = _cpu_ns(inst.child.pid)
        t0 = nxt = time.perf_counter()
        tasks = []
        for body in bodies:
            if time.perf_counter() - t0 > seconds:
                break
            await asyncio.sleep(max(0.0, nxt - time.perf_counter()))
            nxt += gap
            tasks.append(asyncio.ensure_future(_post(s, inst.url, body)))
            n += 1
        await asyncio.gather(*tasks)
        c1 = _cpu_ns(inst.child.pid)
    return {"cpu_s_per_request": (c1 - c0) / 1e9 / n if n else None, "requests": n}


def _cpu_ns(pid: int) -> int:
    """CPU time of every thread of ``pid`` in ns (/proc schedstat: finer than the 10 ms
    clock ticks psutil's cpu_times has)."""
    total = 0
    for task in Path("/proc/%d/task" % pid).iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total


async def _post(s: aiohttp.ClientSession, url: str, body: bytes) -> None:
    async with s.post(url + "/api/chat", data=body,
                      headers={"Content-Type": "application/json"}) as r:
        await r.read()


@dataclass(frozen=True)
class ChecklistResult:
    config: Dict[str, Any]
    blocks: Tuple[Dict[str, Any], ...]  # one per repeat: every item's figures
    rate_limit_probe: Dict[str, Any]
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ChecklistResult:
        if int(d.get("schema_version", 0)) != SCHEMA_VERSION:
            raise ValueError("checklist.json schema_version mismatch")
        return cls(dict(d["config"]), tuple(d["blocks"]), dict(d["rate_limit_probe"]))


def measure_checklist(service_env: Mapping[str, str], redis_url: str, out_dir: Path,
                      group: ProcessGroup, service_cpus: Sequence[int],
                      generator_cpus: Sequence[int],
                      show: Callable[[str], None] = lambda s: None, repeats: int = 2,
                      config: Optional[ChecklistConfig] = None) -> ChecklistResult:
    """Every checklist item, ``repeats`` blocks; writes checklist.json. Instances started
    here are stopped here, however this ends."""
    cfg = config or ChecklistConfig(repeats=repeats)
    prefix = "perflab:checklist:%d:%d:" % (os.getpid(), int(time.time()))
    show("checklist: starting %d instances" % len(SETTINGS))
    insts = start_instances(group, [_env_for(s, service_env, redis_url, prefix)
                                    for s in SETTINGS], "checklist", cpus=service_cpus)
    by = dict(zip(SETTINGS, insts))
    blocks: List[Dict[str, Any]] = []
    try:
        probe = run_pinned(generator_cpus, rate_limit_probe, by["rate_limit:low"].url)
        for r in range(1, cfg.repeats + 1):
            show("checklist r%d" % r)
            bodies = _bodies(cfg.pairs_per_block, 100 + r, "r%d" % r)
            g = by["+gzip"].url
            block: Dict[str, Any] = {"repeat": r}
            block["gzip"] = run_pinned(generator_cpus, paired_latency, g, g, bodies,
                                       cfg.pace_rps, {"Accept-Encoding": "gzip"},
                                       {"Accept-Encoding": "identity"})
            block["rate_limit"] = run_pinned(generator_cpus, paired_latency,
                                             by["+rate_limit"].url, by["+batching"].url,
                                             bodies, cfg.pace_rps)
            block["pooling"] = run_pinned(generator_cpus, paired_latency, by["+pooling"].url,
                                          by["+redis_cache"].url, bodies, cfg.pace_rps)
            many = _bodies(int(cfg.cpu_rate * cfg.cpu_seconds) + 5, 200 + r, "cpu%d" % r)
            block["quiet_logs"] = {
                side: run_pinned(generator_cpus, cpu_per_request, by[name], cfg.cpu_rate,
                                 cfg.cpu_seconds, many)
                for side, name in (("a", "+quiet_logs"), ("b", "+batching"))}
            block["batching"] = run_pinned(generator_cpus, batching_rate, by["+batching"].url,
                                           cfg.batch_size, cfg.batch_concurrency,
                                           cfg.batch_seconds, 300 + r)
            blocks.append(block)
    finally:
        for inst in insts:
            group.stop(inst.child)
        result = ChecklistResult(cfg.to_dict(), tuple(blocks),
                                 probe if "probe" in locals() else {})
        (out_dir / "checklist.json").write_text(json.dumps(result.to_dict(), indent=1))
    return result
