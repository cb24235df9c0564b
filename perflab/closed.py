"""The closed-loop measurement: Locust's shoppers with their think time, as a child process.

Locust runs headless from ``loadtests/locustfile.py`` (this package never
imports ``locust``), pinned like the open-loop driver and started through the
run's ``ProcessGroup`` (parent-death signal, child mark). Stats are reset once
every user runs, so the ramp is not in the figures. Its latency is never used
for a verdict: it is throughput under a fixed number of users.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from typing import Any, Dict, List, Optional, Tuple

from .context import Context
from .machine import ROOT
from .measure import run_generator
from .results import Row
from .rounds import Live, death
from .stack import child_name


def run_locust(ctx: Context, lv: Live, repeat: int) -> Row:
    plan = ctx.plan
    v = lv.variant
    name = child_name(v.name, repeat)
    out = ctx.run_dir / "locust" / name
    out.mkdir(parents=True, exist_ok=True)
    users = plan.locust_users
    argv = [sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests" / "locustfile.py"),
            "--host", lv.url, "--headless", "-u", str(users), "-r", str(users),
            "-t", "%ds" % max(1, round(plan.locust_duration_s)), "--reset-stats",
            "--stop-timeout", "2", "--only-summary", "--exit-code-on-error", "0",
            "--json-file", str(out / "stats"), "--csv", str(out / "stats"),
            "--loglevel", "WARNING"]
    env = dict(ctx.base_env)
    env.update({"PYTHONPATH": str(ROOT), "PERFLAB_LOCUST_META": str(out / "meta.json"),
                "PERFLAB_WAIT": plan.locust_wait, "PERFLAB_SEED": str(plan.seed * 1000 + repeat),
                "PERFLAB_DATA_SEED": ctx.data_seed,
                "PERFLAB_ORDERS_COUNT": env.get("ORDERS_COUNT", "0"),
                "PERFLAB_FAQ_ARTICLES": env.get("FAQ_ARTICLES", "3000")})
    started = time.time()
    code = run_generator(ctx.stack.group, "locust-" + name, argv, env, ctx.pinning.generator,
                         plan.locust_duration_s + 60.0, register=ctx.set_generator)
    ended = time.time()
    base = Row(ctx.meta.run_id, v.name, repeat, "locust", "closed", "Locust mix", "ok",
               target_rate=float(users), interpreter=v.interpreter,
               instances=ctx.options.instances or v.instances, started_at=started,
               ended_at=ended, raw_file=str((out / "stats.json").relative_to(ctx.run_dir)))
    failure, kind = "", ""
    if not lv.alive():
        failure, kind = death(lv.child), "service"
    elif not (out / "stats.json").exists():
        log = ctx.stack.group.log_dir / ("locust-%s.log" % name)
        tail = log.read_text(errors="replace").splitlines()[-5:] if log.exists() else []
        failure = "Locust exited with code %s: %s" % (code, " | ".join(tail) or "no output")
        kind = "measurement"
    if failure:
        row = replace(base, status="failed", failure=failure)
        ctx.fail(v.name, repeat, kind, failure)
        ctx.add_row(row)
        return row
    entries = json.loads((out / "stats.json").read_text())
    meta_path = out / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    row = locust_row(base, entries, meta)
    window = _locust_window(entries)
    if lv.sampler is not None and window is not None:
        w = lv.sampler.window(*window)
        row = replace(row, rss_peak_mb=w.rss_peak_mb, rss_mean_mb=w.rss_mean_mb,
                      service_cpu_pct=w.cpu_mean_pct)
    ctx.add_row(row)
    return row


def locust_row(base: Row, entries: List[Dict[str, Any]], meta: Dict[str, Any]) -> Row:
    """A closed-loop Row from Locust's --json-file entries (every route merged) and the
    locustfile's meta (generator CPU and saturation)."""
    requests = sum(int(e["num_requests"]) for e in entries)
    failures = sum(int(e["num_failures"]) for e in entries)
    merged: Dict[float, int] = {}
    for e in entries:
        for bucket, n in e["response_times"].items():
            merged[float(bucket)] = merged.get(float(bucket), 0) + int(n)
    window = _locust_window(entries)
    duration = window[1] - window[0] if window is not None else 0.0
    total_ms = sum(float(e["total_response_time"]) for e in entries)
    cpu = meta.get("cpu_percent")
    ok = requests - failures
    return replace(
        base, duration_s=round(duration, 3), requests=requests, ok=ok,
        errors=failures, error_rate=round(failures / requests, 5) if requests else 0.0,
        status=base.status if ok > 0 else "failed",
        failure=base.failure if ok > 0 else "no request succeeded",
        achieved_rate=round(requests / duration, 3) if duration > 0 else 0.0,
        throughput_rps=round(ok / duration, 3) if duration > 0 else 0.0,
        p50_ms=_bucket_percentile(merged, 0.50), p90_ms=_bucket_percentile(merged, 0.90),
        p95_ms=_bucket_percentile(merged, 0.95), p99_ms=_bucket_percentile(merged, 0.99),
        max_ms=max(merged) if merged else None,
        mean_ms=round(total_ms / requests, 3) if requests else None,
        generator_cpu_pct=round(float(cpu), 1) if cpu is not None else None,
        generator_saturated=bool(meta.get("generator_saturated", False)),
        saturation_reasons="; ".join(meta.get("saturation_reasons", [])))


def _locust_window(entries: List[Dict[str, Any]]) -> Optional[Tuple[float, float]]:
    """(first start, last request) in unix time over every route, None if unknown or empty."""
    starts = [float(e["start_time"]) for e in entries if e.get("start_time")]
    lasts = [float(e["last_request_timestamp"]) for e in entries
             if e.get("last_request_timestamp")]
    if not starts or not lasts or max(lasts) <= min(starts):
        return None
    return min(starts), max(lasts)


def _bucket_percentile(counts: Dict[float, int], q: float) -> Optional[float]:
    """The bucket holding the q-th response time (Locust keeps buckets, not samples)."""
    total = sum(counts.values())
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for bucket in sorted(counts):
        seen += counts[bucket]
        if seen >= rank:
            return bucket
    return max(counts)
