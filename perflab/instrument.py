"""The instrument measured in every run: the generator against a trivial server.

Before any variant, the open-loop generator (pinned to its CPU, as in every
measurement) drives ``loadtests.trivial_server`` (pinned to the service CPU)
at each of the plan's ``instrument_rates``, constant arrivals. The lowest
rate's p50 is the generator's floor (its overhead plus a near-empty handler);
the highest rate it holds (>= 98% of the schedule, not saturated) is its
ceiling. Both go into run.json and every report; a peak figure offered above
the ceiling is marked generator-limited and never judged.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Dict, List

from .context import Context
from .machine import ROOT
from .measure import openloop_argv, run_generator
from .procs import free_port, wait_http

HOLD_RATIO = 0.98  # achieved / asked for a rate to count as held


def measure_instrument(ctx: Context) -> Dict[str, Any]:
    port = free_port()
    server = ctx.stack.group.start("trivial", [sys.executable, "-m",
                                               "loadtests.trivial_server", "--port",
                                               str(port)], ctx.base_env,
                                   cpus=ctx.pinning.service, cwd=ROOT)
    url = "http://127.0.0.1:%d" % port
    probes: List[Dict[str, Any]] = []
    try:
        wait_http(url + "/healthz", server, 30, accept=lambda s: s < 500)
        for rate in ctx.plan.instrument_rates:
            ctx.display.phase("instrument: generator vs trivial server at %g/s" % rate)
            raw = ctx.run_dir / "histograms" / ("instrument-%g.json" % rate)
            argv = openloop_argv(url, "POST /api/chat", rate, 1.0, 0.3, "constant",
                                 ctx.plan.seed, raw, ctx.gen_flags)
            run_generator(ctx.stack.group, "gen-instrument-%g" % rate, argv, ctx.base_env,
                          ctx.pinning.generator, 30.0, register=ctx.set_generator)
            if not raw.exists():
                probes.append({"rate": rate, "error": "no result"})
                continue
            d = json.loads(raw.read_text())
            pct = d["latency"].get("percentiles_ms") or {}
            probes.append({"rate": rate, "achieved": round(float(d["achieved_rate"]), 1),
                           "p50_ms": pct.get("p50"), "p99_ms": pct.get("p99"),
                           "cpu_percent": d.get("cpu_percent"),
                           "saturated": bool(d.get("generator_saturated")),
                           "reasons": d.get("saturation_reasons", []),
                           "raw_file": str(raw.relative_to(ctx.run_dir))})
            time.sleep(0.2)
    finally:
        ctx.stack.group.stop(server)
    held = [p["rate"] for p in probes if "achieved" in p and not p["saturated"]
            and p["achieved"] >= HOLD_RATIO * p["rate"]]
    lowest = min(probes, key=lambda p: p["rate"]) if probes else {}
    out = {"server": "loadtests.trivial_server (aiohttp, near-empty handlers)",
           "floor_rate": lowest.get("rate"), "floor_p50_ms": lowest.get("p50_ms"),
           "ceiling_rps": max(held) if held else None,
           "ceiling_note": ("held every rate tried: the ceiling is at least this"
                            if held and max(held) == max(ctx.plan.instrument_rates) else ""),
           "probes": probes}
    ctx.instrument_ceiling = float(max(held)) if held else None
    return out
