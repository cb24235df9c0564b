"""Can the lab recover the injected known effects? ``python -m perflab.calibrate``.

Starts the carrier and one service per variant (baseline and the calibration
variants, all pinned to the service CPU and alive together), then drives them
in interleaved blocks (A B C D, B C D A, ...) with the open-loop generator
pinned to the generator CPU: the same rate, arrival schedule and messages for
every variant within a block. Per block and variant it records the open-loop
P50, the service's CPU time per request (from /proc/PID/task/*/schedstat, in
nanoseconds, and from psutil's 10 ms ticks as the lab's sampler sees it) and
its RSS. Each variant's known effect (perflab.catalogue.KnownEffect) is then
set against the paired per-block differences from baseline, with a Student-t
95% interval: is the truth inside, and how wide is the interval at this rate
and block length? A tool for sizing the plans' calibration phases; prints a
table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import psutil

from .catalogue import toggle
from .machine import ROOT, plan_pinning
from .procs import Child, ProcessGroup, free_port, wait_http
from .variants import calibration_variants, resolve

METRIC_OF = {"p50_ms": "p50_ms", "cpu_ms_per_request": "cpu_ms_per_request",
             "rss_peak_mb": "rss_mb"}


def cpu_seconds(pid: int) -> Tuple[float, float]:
    """(schedstat CPU seconds of all threads, psutil user+system seconds) of a process."""
    ns = 0
    for stat in Path("/proc/%d/task" % pid).glob("*/schedstat"):
        try:
            ns += int(stat.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that just ended
    t = psutil.Process(pid).cpu_times()
    return ns / 1e9, t.user + t.system


def t_interval(xs: List[float]) -> Tuple[float, Optional[float], Optional[float]]:
    """Mean and Student-t 95% interval (None below two values: no interval)."""
    from scipy import stats

    m = statistics.fmean(xs)
    if len(xs) < 2:
        return m, None, None
    half = float(stats.t.ppf(0.975, len(xs) - 1)) * statistics.stdev(xs) / math.sqrt(len(xs))
    return m, m - half, m + half


def _block(url: str, child: Child, rate: float, duration: float, warmup: float, seed: int,
           generator: Tuple[int, ...], out: Path) -> Dict[str, float]:
    c0 = cpu_seconds(child.pid)
    argv = [sys.executable, "-m", "loadtests.openloop", "--url", url, "--rate", str(rate),
            "--duration", str(duration), "--warmup", str(warmup), "--arrival", "constant",
            "--seed", str(seed), "--quiet", "--json", str(out)]
    if generator:
        argv = ["taskset", "-c", ",".join(map(str, generator)), *argv]
    subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=duration + warmup + 60)
    c1 = cpu_seconds(child.pid)
    data = json.loads(out.read_text())
    n = int(data["counts"]["sent"]) + int(data["counts"]["warmup_sent"])
    return {"p50_ms": float(data["latency"]["percentiles_ms"]["p50"]),
            "cpu_ms_per_request": (c1[0] - c0[0]) * 1000.0 / n,
            "cpu_ms_per_request_ticks": (c1[1] - c0[1]) * 1000.0 / n,
            "rss_mb": psutil.Process(child.pid).memory_info().rss / 1e6,
            "errors": float(sum(data["counts"]["errors"].values())), "requests": float(n)}


def run(variants: List[str], rate: float, duration: float, warmup: float, blocks: int,
        out_dir: Path) -> Dict[str, object]:
    pinning = plan_pinning(1)
    group = ProcessGroup(out_dir / "logs")
    env_base = dict(os.environ, LOG_LEVEL="WARNING", ACCESS_LOG="0", PYTHONPATH=str(ROOT))
    try:
        cport = free_port()
        carrier = group.start("carrier", [sys.executable, "-m", "service.carrier", "--port",
                                          str(cport), "--latency", "lognormal:15:0.5"],
                              env_base, cpus=pinning.generator or None, cwd=ROOT)
        wait_http("http://127.0.0.1:%d/track/TRK0000000001" % cport, carrier, 30,
                  accept=lambda s: s in (200, 404))
        services: Dict[str, Tuple[Child, str]] = {}
        for name in variants:
            port = free_port()
            env = dict(env_base, **resolve(name).env)
            env["CARRIER_URL"] = "http://127.0.0.1:%d" % cport
            child = group.start("service-" + name.strip("+"),
                                [sys.executable, "-m", "service", "--port", str(port)], env,
                                cpus=pinning.service or None, cwd=ROOT)
            url = "http://127.0.0.1:%d" % port
            wait_http(url + "/healthz", child, 120)
            services[name] = (child, url)
        rows: List[Dict[str, object]] = []
        for b in range(blocks):
            order = variants[b % len(variants):] + variants[:b % len(variants)]
            for name in order:
                child, url = services[name]
                rec = _block(url, child, rate, duration, warmup, 1000 + b, pinning.generator,
                             out_dir / ("%s-b%d.json" % (name.strip("+"), b)))
                rows.append(dict(rec, variant=name, block=b))
    finally:
        group.stop_all()
    return {"rate": rate, "duration_s": duration, "warmup_s": warmup, "blocks": blocks,
            "pinning": pinning.to_dict(), "rows": rows,
            "effects": _effects(rows, variants, blocks)}


def _effects(rows: List[Dict[str, object]], variants: List[str],
             blocks: int) -> List[Dict[str, object]]:
    by = {(r["variant"], r["block"]): r for r in rows}
    out: List[Dict[str, object]] = []
    for name in variants:
        if name == "baseline":
            continue
        known = toggle(name.lstrip("+")).known
        metrics = ["p50_ms", "cpu_ms_per_request", "cpu_ms_per_request_ticks", "rss_mb"]
        for metric in metrics:
            diffs = [float(by[(name, b)][metric]) - float(by[("baseline", b)][metric])  # type: ignore[arg-type]
                     for b in range(blocks)]
            mean, low, high = t_interval(diffs)
            mine = known is not None and METRIC_OF.get(known.metric) == metric.replace(
                "_ticks", "")
            out.append({"variant": name, "metric": metric, "mean_diff": mean, "low": low,
                        "high": high, "truth": known.truth if mine and known else None,
                        "tolerance": known.tolerance if mine and known else None,
                        "inside": known.recovered(low, high) if mine and known else None})
    return out


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m perflab.calibrate", description=__doc__)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--duration", type=float, default=3.0, help="measured s per block")
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--variants", default=",".join(["baseline", *calibration_variants()]))
    ap.add_argument("--out", default=None, help="directory for JSON (default: a temp dir)")
    args = ap.parse_args(argv)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if "baseline" not in variants or args.blocks < 1 or args.rate <= 0:
        print("perflab.calibrate: error: --variants must include baseline; --blocks >= 1; "
              "--rate > 0", file=sys.stderr)
        return 2
    out_dir = Path(args.out or tempfile.mkdtemp(prefix="perflab-calibrate-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    result = run(variants, args.rate, args.duration, args.warmup, args.blocks, out_dir)
    wall = time.time() - started
    result["wall_s"] = wall
    (out_dir / "calibrate.json").write_text(json.dumps(result, indent=1))
    print("rate %g/s, %d blocks of %gs (+%gs warm-up), %.0fs; JSON in %s"
          % (args.rate, args.blocks, args.duration, args.warmup, wall, out_dir))
    for e in result["effects"]:  # type: ignore[attr-defined]
        ci = ("[%+.3f, %+.3f]" % (e["low"], e["high"])) if e["low"] is not None else "-"
        print("%-16s %-26s diff %+8.3f  95%% %-20s truth %-9s %s"
              % (e["variant"], e["metric"], e["mean_diff"], ci,
                 "-" if e["truth"] is None else "%g+-%g" % (e["truth"], e["tolerance"]),
                 "" if e["inside"] is None else ("inside" if e["inside"] else "OUTSIDE")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
