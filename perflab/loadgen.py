"""One open-loop generator run as a pinned child process, for the scaling, CDN and
checklist phases: the same driver and argv as the runner's fixed-rate runs
(``python -m loadtests.openloop``; ``--faq-articles`` for the FAQ route).

The child is a ``ProcessGroup`` child: stopped with every other one however the phase
ends; its progress lines go to its log file, its result to a JSON file.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .machine import ROOT
from .procs import ProcessGroup

GENERATOR_CPU_LIMIT = 90.0  # % of one core: above it a failed probe is the generator's
FAQ_ROUTE = "GET /api/faq/{order_id}"  # the generator's template; the ids are article ids


@dataclass(frozen=True)
class Load:
    """What one generator run is asked for."""

    url: str
    rate: float
    duration_s: float
    warmup_s: float
    route: str = "POST /api/chat"
    seed: int = 1
    arrival: str = "poisson"
    data_seed: str = "42"
    faq_articles: int = 0  # > 0: GET /api/faq/{id} over these many articles (Zipf)


def argv_for(load: Load, raw: Path) -> List[str]:
    argv = [sys.executable, "-m", "loadtests.openloop", "--url", load.url, "--rate",
            str(load.rate), "--duration", str(load.duration_s), "--warmup", str(load.warmup_s),
            "--arrival", load.arrival, "--seed", str(load.seed), "--json", str(raw), "--quiet",
            "--data-seed", load.data_seed]
    if load.faq_articles > 0:
        argv += ["--route", FAQ_ROUTE, "--faq-articles", str(load.faq_articles)]
    else:
        argv += ["--route", load.route]
    return argv


def run_load(group: ProcessGroup, load: Load, raw: Path, env: Mapping[str, str],
             cpus: Optional[Sequence[int]], name: str) -> Dict[str, Any]:
    """Run the generator to the end; its JSON result (``{"error": ...}`` when it wrote none)."""
    raw.parent.mkdir(parents=True, exist_ok=True)
    child = group.start(name, argv_for(load, raw), dict(env, PYTHONPATH=str(ROOT)), cpus=cpus,
                        cwd=ROOT)
    limit = time.monotonic() + load.warmup_s + load.duration_s + 30.0  # always bounded
    try:
        while child.proc.poll() is None and time.monotonic() < limit:
            time.sleep(0.05)
    finally:
        group.stop(child)
    if not raw.exists():
        return {"error": "generator exited with code %s: %s"
                % (child.returncode, " | ".join(child.last_lines(5)))}
    data: Dict[str, Any] = json.loads(raw.read_text())
    return data


def summary(d: Mapping[str, Any]) -> Dict[str, Any]:
    """The figures a probe keeps from a generator result (client side, open loop)."""
    if "error" in d:
        return {"error": d["error"]}
    pct = d["latency"]["percentiles_ms"]
    counts = d["counts"]
    completed = int(counts["completed"])
    errors = int(counts.get("error_count", sum(counts["errors"].values())))
    return {"target": float(d["target_rate"]), "achieved": round(float(d["achieved_rate"]), 2),
            "p50_ms": pct.get("p50"), "p95_ms": pct.get("p95"), "p99_ms": pct.get("p99"),
            "requests": int(counts["sent"]),
            "error_rate": round(errors / completed, 5) if completed else 0.0,
            "errors_by_kind": dict(counts["errors"]),
            "generator_cpu_pct": round(float(d["cpu_percent"]), 1),
            "generator_saturated": bool(d["generator_saturated"]),
            "saturation": "; ".join(d.get("saturation_reasons", [])),
            "started_at": float(d["started_at"]), "elapsed_s": float(d["elapsed_s"])}
