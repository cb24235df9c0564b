"""Plots of the deployment phases (matplotlib Figures on the Agg canvas, no pyplot state).

- ``scaling_figure``: capacity against N (bracket and mean), and efficiency against N
  with its interval and the "near-linear" floor.
- ``latency_vs_load_figure``: P95 (and p50) against the offered rate for each capacity
  search's probes, one line per variant (``histograms/*-capacity-probes.json``, as
  written by the runner's capacity search and the scaling phase), the target line,
  probes the generator limited drawn hollow and labelled.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

from matplotlib.figure import Figure

from perflab.catalogue import near_linear_efficiency
from perflab.scaling import ScalingResult

from .plots import colours
from .scaling import capacities, scaling_table

PROBES = re.compile(r"^(?P<name>.+)-r(?P<repeat>\d+)-capacity-probes\.json$")


def scaling_figure(result: ScalingResult) -> Figure:
    fig = Figure(figsize=(9, 3.6))
    ax1, ax2 = fig.subplots(1, 2)
    rows = scaling_table(result)
    for r in rows:
        lo, _ = capacities(result, r.instances, "pass")
        hi, _ = capacities(result, r.instances, "fail")
        for k in lo:
            ax1.plot([r.instances, r.instances], [lo[k], hi.get(k, lo[k])], color="#1f77b4",
                     alpha=0.5, lw=6, solid_capstyle="butt")
        if r.capacity:
            ax1.plot(r.instances, r.capacity[0], "o", color="#1f77b4")
    one = next((r.capacity[0] for r in rows if r.instances == 1 and r.capacity), None)
    if one:
        ns = [r.instances for r in rows]
        ax1.plot(ns, [n * one for n in ns], "--", color="#777", label="linear from N=1")
        ax1.legend(loc="upper left", fontsize=8)
    ax1.set_xlabel("instances N")
    ax1.set_ylabel("capacity, req/s (bar: search bracket)")
    ax1.set_title("Capacity, %s CPU each" % result.budget.get("cpus_per_instance"))
    for r in rows:
        e = r.efficiency
        if e is None:
            continue
        low = e.low if e.low is not None else e.estimate
        high = e.high if e.high is not None else e.estimate
        ax2.errorbar([r.instances], [e.estimate], yerr=[[e.estimate - low], [high - e.estimate]],
                     fmt="o", color="#2ca02c", capsize=4)
    ax2.axhline(1.0, color="#777", lw=0.8)
    ax2.axhline(near_linear_efficiency(), color="#d62728", ls="--", lw=0.8,
                label="near-linear floor %.1f" % near_linear_efficiency())
    ax2.set_xlabel("instances N")
    ax2.set_ylabel("efficiency C(N) / (N C(1))")
    ax2.set_title("Scaling efficiency (95% CI)")
    ax2.legend(loc="lower left", fontsize=8)
    for ax in (ax1, ax2):
        ax.set_xticks(sorted({r.instances for r in rows}) or [1])
    fig.tight_layout()
    return fig


def read_probes(run_dir: Path) -> Dict[str, List[Tuple[int, List[Dict[str, Any]]]]]:
    """name -> [(repeat, probes)] from every *-capacity-probes.json of a run."""
    out: Dict[str, List[Tuple[int, List[Dict[str, Any]]]]] = {}
    folder = Path(run_dir) / "histograms"
    for path in sorted(folder.glob("*-capacity-probes.json")) if folder.exists() else []:
        m = PROBES.match(path.name)
        if m is None:
            continue
        try:
            probes = json.loads(path.read_text()).get("probes", [])
        except (OSError, ValueError):
            continue
        out.setdefault(m.group("name"), []).append((int(m.group("repeat")), probes))
    return out


def latency_vs_load_figure(run_dir: Path, p95_target_ms: float = 200.0) -> Figure:
    data = read_probes(run_dir)
    fig = Figure(figsize=(8, 4.2))
    ax = fig.subplots()
    if not data:
        ax.text(0.5, 0.5, "no capacity probes in this run", ha="center", va="center",
                transform=ax.transAxes)
        return fig
    col = colours(sorted(data))
    limited_label = False
    for name, runs in sorted(data.items()):
        for i, (_repeat, probes) in enumerate(sorted(runs, key=lambda x: x[0])):
            pts = sorted(((float(p["rate"]), float(p["p95_ms"]), p) for p in probes
                          if p.get("p95_ms") is not None), key=lambda t: t[0])
            if not pts:
                continue
            ax.plot([x for x, _, _ in pts], [y for _, y, _ in pts], "-", color=col[name],
                    alpha=0.8, label=name if i == 0 else None)
            for x, y, p in pts:
                limited = bool(p.get("generator_limited")) or float(
                    p.get("generator_cpu_pct") or 0) >= 90.0
                ax.plot([x], [y], "o", mfc="none" if limited else col[name], mec=col[name])
                if limited and not limited_label:
                    ax.annotate("hollow: generator-limited", (x, y), fontsize=7,
                                textcoords="offset points", xytext=(5, 5))
                    limited_label = True
    ax.axhline(p95_target_ms, color="#d62728", ls="--", lw=0.8, label="P95 target")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("offered rate, req/s (open loop)")
    ax.set_ylabel("P95 latency, ms (from intended send time)")
    ax.set_title("Latency against offered load, per capacity search")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
