"""Run-to-run comparison: per variant and metric, new/old with a 95% interval.

Repeats of two runs are not paired, so each side is resampled on its own. A
metric *regressed* when its whole interval lies beyond the tolerance on the
bad side (lower-is-better: ratio low end > 1 + tol; higher-is-better: ratio
high end < 1 - tol). With one repeat on a side there is no interval: the
change is shown as "insufficient data" and never gates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

from perflab import exitcodes
from perflab.results import compat_differences

from .data import RunData, usable
from .metrics import METRIC_SPECS, metric_sample
from .render import format_change, format_ratio
from .targets import format_value
from .verdicts import Effect, effect

COMPARE_METRICS = ("p50_ms", "p95_ms", "p99_ms", "capacity_rps", "rss_peak_mb",
                   "order_p50_ms", "classify_rate")
REGRESSION, IMPROVEMENT, WITHIN, NO_CHANGE, INSUFFICIENT, NOT_COMPARABLE = (
    "REGRESSION", "improvement", "changed within tolerance", "no significant change",
    "insufficient data", "not comparable")


@dataclass(frozen=True)
class Change:
    variant: str
    metric: str
    old: Optional[float]  # mean over the old run's repeats
    new: Optional[float]
    effect: Effect  # new / old
    status: str


def classify_change(e: Effect, tolerance: float) -> str:
    """REGRESSION / improvement / changed within tolerance / no significant change /
    insufficient data / not comparable."""
    r = e.ratio
    if r is None:
        return NOT_COMPARABLE
    if not r.has_interval:
        return INSUFFICIENT
    assert r.low is not None and r.high is not None
    if e.lower_is_better:
        worse, better = r.low > 1 + tolerance, r.high < 1 - tolerance
    else:
        worse, better = r.high < 1 - tolerance, r.low > 1 + tolerance
    if worse:
        return REGRESSION
    if better:
        return IMPROVEMENT
    if r.low > 1 or r.high < 1:
        return WITHIN
    return NO_CHANGE


def _mean(run: RunData, variant: str, metric: str) -> Optional[float]:
    vals = list(metric_sample(run, variant, metric).values.values())
    return sum(vals) / len(vals) if vals else None


def compare_runs(old: RunData, new: RunData, tolerance: float = 0.10) -> List[Change]:
    """Every metric of every variant measured in both runs."""
    out: List[Change] = []
    old_names = set(old.variant_names())
    for v in new.variant_names():
        if v not in old_names:
            continue
        for m in COMPARE_METRICS:
            o, n = _mean(old, v, m), _mean(new, v, m)
            if o is None and n is None:
                continue
            e = effect(new, v, v, m, other=old)
            out.append(Change(v, m, o, n, e, classify_change(e, tolerance)))
    return out


def comparable_problems(old: RunData, new: RunData, allow_mismatch: bool = False
                        ) -> List[str]:
    """Why two runs cannot be compared at all ([] when they can): a side without usable
    figures, or different set-ups (the compatibility id of run.json: tool version, plan
    measurement settings, machine kind, measurement mechanism; pyperformance's check)."""
    out = []
    for run, label in ((old, "old"), (new, "new")):
        if not run.has_results:
            out.append("the %s run %s has no results.csv: nothing to compare"
                       % (label, run.run_dir))
        elif not any(usable(r) for r in run.rows):
            out.append("the %s run %s has no usable measurement (%d row(s), none finished "
                       "without failure or generator saturation): nothing to compare"
                       % (label, run.run_dir, len(run.rows)))
    differences = compat_differences(old.meta, new.meta)
    if differences and not allow_mismatch:
        out.append("the runs were made under different set-ups (compatibility id %s vs %s): "
                   "%s; --allow-mismatch compares them anyway"
                   % (old.meta.compat_id, new.meta.compat_id, "; ".join(differences)))
    return out


def compatibility_warnings(old: RunData, new: RunData) -> List[str]:
    """What is shaky about a comparison that can still be made: set-up differences let
    through by --allow-mismatch, and runs that are not complete records."""
    out = ["set-ups differ: %s" % d for d in compat_differences(old.meta, new.meta)]
    for run, label in ((old, "old"), (new, "new")):
        state = run.state
        if not state.ok:
            out.append("the %s run is %s: %s" % (label, state.kind, "; ".join(state.reasons)))
    return out


def format_compare(old: RunData, new: RunData, changes: List[Change],
                   tolerance: float) -> Tuple[List[str], int]:
    """Lines to print and the exit code (1 on a significant regression, 2 when nothing
    could be compared, else 0)."""
    lines = ["perflab compare: %s -> %s (tolerance %.0f%%, 95%% intervals over repeats)"
             % (old.meta.run_id, new.meta.run_id, 100 * tolerance)]
    lines += ["warning: " + w for w in compatibility_warnings(old, new)]
    only_old = sorted(set(old.variant_names()) - set(new.variant_names()))
    only_new = sorted(set(new.variant_names()) - set(old.variant_names()))
    if only_old:
        lines.append("only in the old run: " + ", ".join(only_old))
    if only_new:
        lines.append("only in the new run: " + ", ".join(only_new))
    if not changes:
        lines.append("nothing to compare: no variant has figures in both runs")
        return lines, exitcodes.USAGE
    if all(c.status == NOT_COMPARABLE for c in changes):
        lines.append("nothing to compare: no metric has usable figures on both sides")
        return lines, exitcodes.USAGE
    header = ("variant", "metric", "old", "new", "new/old [95% CI]", "change", "verdict")
    table = [header]
    for c in changes:
        unit = METRIC_SPECS[c.metric].unit
        verdict = c.status
        if c.status == NOT_COMPARABLE:
            verdict += " (%s)" % c.effect.reason
        table.append((c.variant, c.metric,
                      format_value(c.old, unit) if c.old is not None else "-",
                      format_value(c.new, unit) if c.new is not None else "-",
                      format_ratio(c.effect.ratio), format_change(c.effect.ratio), verdict))
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
    regressions = [c for c in changes if c.status == REGRESSION]
    if regressions:
        lines.append("%d significant regression(s) beyond %.0f%%: %s" % (
            len(regressions), 100 * tolerance,
            ", ".join("%s %s" % (c.variant, c.metric) for c in regressions)))
        return lines, exitcodes.REGRESSION
    lines.append("no significant regression beyond %.0f%%" % (100 * tolerance))
    return lines, exitcodes.OK
