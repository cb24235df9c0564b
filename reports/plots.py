"""The report's plots as matplotlib Figures (Agg canvas, no pyplot state).

Each function takes an ``Analysis`` and returns a Figure; ``figure_png`` turns one
into PNG bytes. Figures limited by the load generator are drawn hollow or
hatched and labelled, never mixed with the service's own.
"""

from __future__ import annotations

import io
import math
import statistics
from typing import Any, Dict, List, Optional, Sequence, Tuple

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, LogLocator

from perflab.results import Row

from .analysis import Analysis
from .data import RunData, reference_rows, usable
from .stats import mean_interval
from .targets import Target

PLOT_NAMES = ("latency_percentiles", "latency_vs_throughput", "capacity", "resources",
              "claims")
VERDICT_COLOURS = {"confirmed": "#1a9850", "partial": "#fdae61", "not confirmed": "#d73027",
                   "worse": "#7f0000", "inconclusive": "#878787", "not judged": "#bdbdbd",
                   "better": "#1a9850"}
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
            "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363")


def colours(names: Sequence[str]) -> Dict[str, str]:
    """A stable colour per variant."""
    return {n: _PALETTE[i % len(_PALETTE)] for i, n in enumerate(names)}


def figure_png(fig: Figure, dpi: int = 96) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def _target(targets: Sequence[Target], metric: str) -> Optional[Target]:
    for t in targets:
        if t.metric == metric and t.route is None:
            return t
    return None


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#555")
    ax.set_xticks([])
    ax.set_yticks([])


def _measured(run: RunData) -> List[str]:
    return [v for v in run.variant_names() if run.rows_of(v)]


def log_interval(values: Sequence[float]) -> Tuple[float, float, float]:
    """Geometric mean with a 95% t interval on log values: (m, low, high), all > 0, for a
    log axis (an interval of raw values runs below zero with few repeats)."""
    pos = [v for v in values if v > 0]
    if not pos:
        return 0.0, 0.0, 0.0
    m, lo, hi = mean_interval([math.log(v) for v in pos])
    return math.exp(m), math.exp(lo), math.exp(hi)


def clipped_interval(values: Sequence[float]) -> Tuple[float, float, float]:
    """Mean with a 95% t interval, its low end clipped at zero (rates are never negative)."""
    m, lo, hi = mean_interval(values)
    return m, max(0.0, lo), hi


def _outside_legend(ax: Axes) -> None:
    """The legend right of the axes, never over bars, points or labels."""
    _dedupe_legend(ax, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def latency_percentiles(a: Analysis) -> Figure:
    """P50/P95/P99 per variant at the reference rate (open loop): geometric mean over
    repeats with 95% intervals on the log scale (always above zero); targets dashed."""
    run = a.run
    names = _measured(run)
    fig = Figure(figsize=(max(8.0, 0.55 * len(names) + 3), 4.6))
    ax = fig.add_subplot()
    ax.set_title("Latency at %s req/s (open loop, from intended send time)"
                 % _num(run.reference_rate))
    cols = (("p50_ms", "P50", "#4c72b0"), ("p95_ms", "P95", "#dd8452"),
            ("p99_ms", "P99", "#c44e52"))
    drawn = False
    width = 0.27
    for i, name in enumerate(names):
        rows = reference_rows(run.rows_of(name), run.reference_rate)
        good = [r for r in rows if usable(r)]
        limited = not good and any(r.status == "ok" for r in rows)
        use = good or [r for r in rows if r.status == "ok"]
        for j, (col, label, colour) in enumerate(cols):
            vals = _by_repeat(use, col)
            if not vals:
                continue
            m, lo, hi = log_interval(vals)
            if m <= 0:
                continue
            ax.bar(i + (j - 1) * width, m, width, color="white" if limited else colour,
                   edgecolor=colour, hatch="//" if limited else None,
                   yerr=[[m - lo], [hi - m]], capsize=2, ecolor="#333",
                   label=label if i == 0 or not drawn else None)
            drawn = True
        if limited:
            ax.text(i, ax.get_ylim()[0], "generator-\nlimited", ha="center", va="bottom",
                    fontsize=7, color="#a00")
    if not drawn:
        _empty(ax, "no fixed-rate figures at the reference rate")
        return fig
    for metric, colour in (("p50", "#4c72b0"), ("p95", "#dd8452"), ("p99", "#c44e52")):
        t = _target(a.targets, metric)
        if t is not None:
            ax.axhline(t.value, color=colour, ls="--", lw=1, label="target %s" % t.expr)
    ax.set_xticks(range(len(names)), names, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("ms, log scale (geometric mean over repeats;\n95% interval, cut at the "
                  "plot's edge)", fontsize=8)
    _plain_log(ax)
    # the axis follows the bars and targets, not few-repeat whiskers spanning decades: a
    # whisker that leaves the plot is wider than shown, never drawn down to ~0 ms
    heights = [float(p.get_height()) for p in ax.patches
               if isinstance(p, Rectangle) and p.get_height() > 0]
    lines = [t.value for t in a.targets if t.metric in ("p50", "p95", "p99") and not t.route]
    if heights:
        ax.set_ylim(min(heights) / 4, max(heights + lines) * 3)
    _outside_legend(ax)
    ax.grid(axis="y", alpha=0.3)
    return fig


def _by_repeat(rows: Sequence[Row], col: str) -> List[float]:
    by: Dict[int, List[float]] = {}
    for r in rows:
        v = getattr(r, col)
        if v is not None:
            by.setdefault(r.repeat, []).append(float(v))
    return [sum(v) / len(v) for v in by.values()]


def _unique_handles(ax: Axes) -> Tuple[List[Any], List[str]]:
    handles, labels = ax.get_legend_handles_labels()
    seen: Dict[str, Any] = {}
    for h, lab in zip(handles, labels):
        seen.setdefault(lab, h)
    return list(seen.values()), list(seen)


def _dedupe_legend(ax: Axes, **kw: Any) -> None:
    handles, labels = _unique_handles(ax)
    if labels:
        ax.legend(handles, labels, fontsize=7, **kw)


def _plain_log(ax: Axes, axis: str = "y", suffix: str = "") -> None:
    """Log scale with plain tick labels (``200``, ``1.5x``) instead of powers of ten."""
    fmt = FuncFormatter(lambda x, _pos: "%g%s" % (float("%.2g" % x), suffix))
    target = ax.yaxis if axis == "y" else ax.xaxis
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_minor_locator(LogLocator(base=10, subs=(1.5, 3.0, 4.0, 7.0)))
    target.set_major_formatter(fmt)
    target.set_minor_formatter(FuncFormatter(lambda x, _pos: ""))


def _num(x: Optional[float]) -> str:
    if x is None:
        return "?"
    return ("%d" % x) if float(x).is_integer() else "%.1f" % x


def load_points(run: RunData, name: str) -> List[Tuple[float, float, Optional[float], bool]]:
    """(sent req/s, P95, P99 or None, generator-limited) per arrival rate for one variant:
    its fixed-rate runs and its capacity probes, median over repeats."""
    by_rate: Dict[float, List[Tuple[float, float, Optional[float], bool]]] = {}
    for r in run.rows_of(name):
        if r.measurement == "fixed_rate" and r.status == "ok" and r.p95_ms is not None:
            by_rate.setdefault(r.target_rate, []).append(
                (r.achieved_rate, r.p95_ms, r.p99_ms, r.generator_saturated))
    for p in run.capacity_probes(name):
        if p.get("p95_ms") is None or p.get("achieved") is None or p.get("rate") is None:
            continue
        by_rate.setdefault(float(p["rate"]), []).append(
            (float(p["achieved"]), float(p["p95_ms"]), None, bool(p.get("saturation"))))
    out = []
    for _rate, pts in sorted(by_rate.items()):
        good = [q for q in pts if not q[3]] or pts
        p99 = [q[2] for q in good if q[2] is not None]
        out.append((statistics.median(q[0] for q in good), statistics.median(q[1] for q in good),
                    statistics.median(p99) if p99 else None, len(good) < len(pts) or pts[0][3]))
    return out


def latency_vs_throughput(a: Analysis) -> Optional[Figure]:
    """P95 (solid) and P99 (dotted, fixed rates only) against the load actually sent: the
    fixed-rate runs and the capacity search's probes, median over repeats. A variant is
    drawn only with two or more rates (one point is not a curve); None when none has.
    Hollow markers: generator-limited; SLO lines dashed."""
    run = a.run
    names = _measured(run)
    curves = {n: pts for n in names if len(pts := load_points(run, n)) >= 2}
    if not curves:
        return None
    fig = Figure(figsize=(9, 5))
    ax = fig.add_subplot()
    ax.set_title("Latency vs load (open loop: fixed arrival rates and capacity probes)")
    cmap = colours(names)
    for name, xs in curves.items():
        c = cmap[name]
        ax.plot([x[0] for x in xs], [x[1] for x in xs], "-", color=c, lw=1.4, label=name)
        p99 = [(x[0], x[2]) for x in xs if x[2] is not None]
        if len(p99) >= 2:
            ax.plot([x for x, _ in p99], [y for _, y in p99], ":", color=c, lw=1)
        for x, p95v, _, sat in xs:
            ax.plot([x], [p95v], "o", color=c, mfc="white" if sat else c, ms=5)
    for metric, style in (("p95", "--"), ("p99", "-.")):
        t = _target(a.targets, metric)
        if t is not None:
            ax.axhline(t.value, color="#a00", ls=style, lw=1, label="SLO %s" % t.expr)
    for metric, scale in (("sustained_rpm", 60.0), ("sustained_rps", 1.0),
                          ("peak_rpm", 60.0), ("peak_rps", 1.0)):
        t = _target(a.targets, metric)
        if t is not None:
            ax.axvline(t.value / scale, color="#555", ls=":", lw=1,
                       label="target %s" % t.expr)
    ax.plot([], [], "o", color="#333", mfc="white", label="generator-limited")
    ax.set_xlabel("load sent, requests/s")
    ax.set_ylabel("ms, log scale (solid P95, dotted P99)")
    _plain_log(ax)
    ax.grid(alpha=0.3)
    _outside_legend(ax)
    return fig


def capacity(a: Analysis) -> Figure:
    """Capacity (highest arrival rate meeting P95 and error targets) per variant, mean over
    repeats with 95% t intervals; target lines dotted."""
    run = a.run
    names = [n for n in _measured(run)
             if any(r.measurement == "capacity" for r in run.rows_of(n))]
    fig = Figure(figsize=(9, max(2.5, 0.35 * len(names) + 1.5)))
    ax = fig.add_subplot()
    ax.set_title("Capacity per variant (open-loop search)")
    if not names:
        _empty(ax, "no capacity search in this run")
        return fig
    right = 0.0
    for i, name in enumerate(names):
        rows = [r for r in run.rows_of(name) if r.measurement == "capacity"
                and r.status == "ok"]
        good = [r for r in rows if not r.generator_saturated]
        vals = _by_repeat(good or rows, "capacity_rps")
        if not vals:
            continue
        m, lo, hi = clipped_interval(vals)
        limited = not good
        # a search that never found a failing rate only bounds the capacity from below
        bound = any(r.capacity_bound == "lower" for r in (good or rows))
        ax.barh(i, m, xerr=[[m - lo], [hi - m]], capsize=3,
                color="white" if limited or bound else "#4c72b0", edgecolor="#4c72b0",
                hatch="//" if limited else (".." if bound else None))
        label = "  %s%s%s" % (">= " if bound else "", _num(round(m, 1)),
                              " (generator-limited)" if limited else
                              (" (lower bound)" if bound else ""))
        ax.text(max(hi, m), i, label, va="center", fontsize=7)
        right = max(right, hi, m)
    for metric, scale in (("sustained_rpm", 60.0), ("sustained_rps", 1.0),
                          ("peak_rpm", 60.0), ("peak_rps", 1.0)):
        t = _target(a.targets, metric)
        if t is not None:
            ax.axvline(t.value / scale, color="#a00", ls=":", lw=1,
                       label="%s (%s req/s)" % (t.expr, _num(round(t.value / scale, 1))))
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("req/s (mean over repeats, 95% interval clipped at 0)")
    ax.set_xlim(0, right * 1.4 or 1.0)  # room for the labels right of the bars
    ax.grid(axis="x", alpha=0.3)
    _outside_legend(ax)
    return fig


def resources(a: Analysis) -> Figure:
    """Service RSS and CPU over each variant's window (time since its first sample)."""
    run = a.run
    fig = Figure(figsize=(10, 6))
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    ax1.set_title("Service RSS and CPU over time (each variant x repeat from its start)")
    if not run.samples:
        _empty(ax1, "no resource samples (timeseries.csv)")
        _empty(ax2, "")
        return fig
    names = list(dict.fromkeys(run.variant_names() + [s.variant for s in run.samples]))
    cmap = colours(names)
    groups: Dict[Tuple[str, int], List[Tuple[float, float, float]]] = {}
    for s in run.samples:
        groups.setdefault((s.variant, s.repeat), []).append((s.t, s.rss_mb, s.cpu_pct))
    for (variant, _), pts in groups.items():
        pts.sort()
        t0 = pts[0][0]
        ts = [p[0] - t0 for p in pts]
        c = cmap.get(variant, "#333")
        ax1.plot(ts, [p[1] for p in pts], color=c, lw=1, alpha=0.8, label=variant)
        ax2.plot(ts, [p[2] for p in pts], color=c, lw=1, alpha=0.8, label=variant)
    t = _target(a.targets, "rss_mb")
    if t is not None:
        ax1.axhline(t.value, color="#a00", ls="--", lw=1, label="target %s" % t.expr)
    t = _target(a.targets, "cpu_pct")
    if t is not None:
        ax2.axhline(t.value, color="#a00", ls="--", lw=1, label="target %s" % t.expr)
    ax1.set_ylabel("RSS, MB")
    ax2.set_ylabel("CPU, % of one core")
    ax2.set_xlabel("seconds since the variant's first sample")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    _dedupe_legend(ax1, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def claims_chart(a: Analysis) -> Figure:
    """Each claim as an improvement factor: the claimed range as a band, the measured 95%
    interval as a bar, the estimate as a dot; 1 = no effect."""
    rows = [j for j in a.claims if j.claim is not None and j.effect.reason != "not in the plan"]
    fig = Figure(figsize=(10, max(2.5, 0.5 * len(rows) + 1.5)))
    ax = fig.add_subplot()
    ax.set_title("The guide's claims vs measured (improvement factor, >1 is better)")
    if not rows:
        _empty(ax, "no claimed optimisation in this run")
        return fig
    finite: List[float] = [1.0]
    for j in rows:
        assert j.claim is not None
        lo, hi = j.claim.improvement_range()
        finite += [lo] + ([hi] if math.isfinite(hi) else [])
        imp = j.effect.improvement()
        if imp is not None:
            finite += [x for x in imp if x is not None and math.isfinite(x) and x > 0]
    xmin, xmax = min(finite) / 1.3, max(finite) * 1.3
    for i, j in enumerate(rows):
        assert j.claim is not None
        lo, hi = j.claim.improvement_range()
        ax.barh(i, min(hi, xmax) - lo, left=lo, height=0.7, color="#9ecae1", alpha=0.6,
                label="claimed range")
        imp = j.effect.improvement()
        colour = VERDICT_COLOURS.get(j.verdict, "#333")
        if imp is not None:
            est, low, high = imp
            if low is not None and high is not None:
                ax.plot([max(low, xmin), min(high, xmax)], [i, i], "-", color=colour, lw=5,
                        solid_capstyle="butt", label="measured 95% interval")
            ax.plot([min(max(est, xmin), xmax)], [i], "o", color="black", ms=4,
                    label="measured")
        ax.text(xmax, i, "  " + j.verdict, va="center", fontsize=8, color=colour)
    ax.axvline(1.0, color="#333", lw=1, ls="--", label="no effect")
    _plain_log(ax, "x", "x")
    ax.set_xlim(xmin, xmax)
    labels = ["%s: %s (%s)" % (j.toggle, j.claim.text if j.claim else "", j.effect.label)
              for j in rows]
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("improvement factor (ratio for throughput, 1/ratio for latency and memory)")
    ax.legend(*_unique_handles(ax), fontsize=7, loc="upper left",
              bbox_to_anchor=(1.12, 1.0), borderaxespad=0.0)  # past the verdict labels
    return fig


def all_figures(a: Analysis) -> Dict[str, Figure]:
    """Every plot of the report, by file stem."""
    figures: Dict[str, Optional[Figure]] = {
        "latency_percentiles": latency_percentiles(a),
        "latency_vs_throughput": latency_vs_throughput(a),
        "capacity": capacity(a), "resources": resources(a), "claims": claims_chart(a),
        "scaling": _scaling(a)}
    return {k: f for k, f in figures.items() if f is not None}


def _scaling(a: Analysis) -> Optional[Figure]:
    """The deployment phase's scaling figure, when its scaling.json has blocks."""
    from perflab.scaling import load_scaling

    from .plots_scaling import scaling_figure

    path = a.run.run_dir / "scaling.json"
    try:
        result = load_scaling(path) if path.exists() else None
    except (ValueError, KeyError, TypeError):  # the report says why, once
        return None
    return scaling_figure(result) if result is not None and result.blocks else None
