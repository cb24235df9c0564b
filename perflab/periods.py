"""Which CFS period for the CPU budgets: p50/p99 at a fixed rate under the same quota.

A quota of 0.3 CPU per 100 ms lets a process run 30 ms, then stalls it for 70 ms:
every request that arrives in the stall waits for it, which lands in the tail. A
shorter period bounds the stall (7 ms at 10 ms) at the price of more throttling
events. ``measure_periods`` measures one instance at each period, interleaved over
repeats, at a fixed rate well inside the budget, so the choice is a measured one.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Sequence

from .cgroup import CpuBudget
from .design import CHAT_ROUTE
from .instances import start_instances
from .measure import generator_flags, openloop_argv, row_from_result, run_generator
from .procs import ProcessGroup
from .results import Row

PERIODS_US = (100_000, 10_000, 5_000)


def measure_periods(service_env: Mapping[str, str], redis_url: str, out_dir: Path,
                    group: ProcessGroup, show: Callable[[str], None] = lambda s: None,
                    cpus: float = 0.3, rate: float = 40.0, duration_s: float = 3.0,
                    repeats: int = 2, periods: Sequence[int] = PERIODS_US,
                    service_cpus: Sequence[int] = (0,), generator_cpus: Sequence[int] = (1,)
                    ) -> Dict[str, Any]:
    """{period_us: [per-repeat figures]} plus the set-up; the instance and group go away."""
    env = dict(service_env, REDIS_URL=redis_url)
    inst = start_instances(group, [env], "periods", cpus=service_cpus)[0]
    rng = random.Random(5)
    out: Dict[str, List[Dict[str, Any]]] = {str(p): [] for p in periods}
    try:
        for repeat in range(1, repeats + 1):
            order = list(periods)
            rng.shuffle(order)
            for period in order:
                show("period %d us, r%d" % (period, repeat))
                raw = out_dir / "histograms" / ("period-%d-r%d.json" % (period, repeat))
                raw.parent.mkdir(parents=True, exist_ok=True)
                argv = openloop_argv(inst.url, CHAT_ROUTE, rate, duration_s, 1.0, "poisson",
                                     repeat, raw, generator_flags(env.get("DATA_SEED", "42"),
                                                                  env.get("ORDERS_COUNT")))
                with CpuBudget("period-%d" % period, cpus, period) as budget:
                    budget.attach(inst.child.pid)
                    before = budget.stat()
                    run_generator(group, "gen-period-%d" % period, argv, env,
                                  generator_cpus, duration_s + 31.0)
                    after = budget.stat()
                s = _figures(raw)
                s["throttled_periods"] = after.get("nr_throttled", 0) - before.get(
                    "nr_throttled", 0)
                s["periods"] = after.get("nr_periods", 0) - before.get("nr_periods", 0)
                out[str(period)].append(s)
    finally:
        group.stop(inst.child)
    return {"cpus": cpus, "rate": rate, "duration_s": duration_s, "by_period_us": out}


def _figures(raw: Path) -> Dict[str, Any]:
    """The client-side figures of one run (open loop), or its error."""
    if not raw.exists():
        return {"error": "the generator wrote no result"}
    row = row_from_result(Row("periods", "", 0, "fixed_rate", "open", CHAT_ROUTE, "ok"),
                          json.loads(raw.read_text()), None)
    return {"status": row.status, "achieved": row.achieved_rate, "p50_ms": row.p50_ms,
            "p95_ms": row.p95_ms, "p99_ms": row.p99_ms, "error_rate": row.error_rate,
            "generator_saturated": row.generator_saturated}
