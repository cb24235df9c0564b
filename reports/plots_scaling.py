"""The deployment phase's plot (a matplotlib Figure on the Agg canvas, no pyplot state).

``scaling_figure``: peak throughput against N (each judged overload block, and the mean
with its interval, beside linear scaling from N = 1), and the efficiency against N with
its interval and the "near-linear" floor.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from perflab.catalogue import near_linear_efficiency
from perflab.scaling import ScalingResult

from .scaling import scaling_table


def scaling_figure(result: ScalingResult) -> Figure:
    fig = Figure(figsize=(9, 3.6))
    ax1, ax2 = fig.subplots(1, 2)
    rows = scaling_table(result)
    for r in rows:
        ax1.plot([r.instances] * len(r.peaks), list(r.peaks.values()), ".", color="#9ecae1")
        m = r.peak
        if m is not None:
            low = m.low if m.low is not None else m.mean
            high = m.high if m.high is not None else m.mean
            ax1.errorbar([r.instances], [m.mean], yerr=[[m.mean - low], [high - m.mean]],
                         fmt="o", color="#1f77b4", capsize=4)
    one = next((r.peak.mean for r in rows if r.instances == 1 and r.peak), None)
    if one:
        ns = [r.instances for r in rows]
        ax1.plot(ns, [n * one for n in ns], "--", color="#777", label="linear from N=1")
        ax1.legend(loc="upper left", fontsize=8)
    ax1.set_xlabel("instances N")
    ax1.set_ylabel("peak req/s (dots: blocks)")
    ax1.set_title("Peak throughput, %s CPU each" % result.budget.get("cpus_per_instance"))
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
    ax2.set_ylabel("efficiency peak(N) / (N peak(1))")
    ax2.set_title("Scaling efficiency (95% CI, paired blocks)")
    ax2.legend(loc="lower left", fontsize=8)
    for ax in (ax1, ax2):
        ax.set_xticks(sorted({r.instances for r in rows}) or [1])
    fig.tight_layout()
    return fig
