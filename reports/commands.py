"""The report, compare and check commands: the only functions here that write files.

``perflab report RUN_DIR``   -> report.html, report.md, summary.csv, plots/*.png
``perflab compare OLD NEW``  -> lines, exit 1 on a significant regression
``perflab check RUN_DIR``    -> lines, exit 99 on a missed target (as k6 does)
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from .analysis import analyse, targets_path
from .compare import compare_runs, format_compare
from .data import load_run
from .targets import FAIL, PASS, TargetResult, evaluate, load_targets

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_USAGE = 2
EXIT_THRESHOLDS = 99  # k6's exit code for failed thresholds


@dataclass(frozen=True)
class ReportPaths:
    run_dir: Path
    html: Path
    markdown: Path
    csv: Path
    plots: Dict[str, Path]


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def report_command(run_dir: Path, targets: Optional[Path] = None) -> ReportPaths:
    """Write report.html (self-contained), report.md, summary.csv and plots/*.png into
    ``run_dir``; targets from ``targets``, the run's own targets.toml, or the guide's."""
    from . import plots as plotting  # matplotlib only when a report is drawn
    from .render import CSV_COLUMNS, format_html, format_markdown, summary_rows

    run_dir = Path(run_dir)
    a = analyse(load_run(run_dir), load_targets(targets_path(run_dir, targets)))
    plot_dir = run_dir / "plots"
    plot_dir.mkdir(exist_ok=True)
    images: Dict[str, bytes] = {}
    paths: Dict[str, Path] = {}
    for name, fig in plotting.all_figures(a).items():
        png = plotting.figure_png(fig)
        images[name] = png
        paths[name] = plot_dir / ("%s.png" % name)
        paths[name].write_bytes(png)
    order = ["claims", "latency_percentiles", "latency_vs_throughput", "capacity",
             "resources"]
    images = {k: images[k] for k in order if k in images}
    html_path, md_path, csv_path = (run_dir / "report.html", run_dir / "report.md",
                                    run_dir / "summary.csv")
    _write_text(html_path, format_html(a, images))
    _write_text(md_path, format_markdown(a, ["plots/%s.png" % k for k in images]))
    tmp = csv_path.with_name("summary.csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(summary_rows(a))
    os.replace(tmp, csv_path)
    return ReportPaths(run_dir, html_path, md_path, csv_path, paths)


def compare_command(old: Path, new: Path, tolerance: float = 0.10) -> Tuple[List[str], int]:
    """Lines comparing two runs, and the exit code: 1 when a metric regressed significantly
    beyond ``tolerance``, 2 when nothing could be compared, else 0."""
    if tolerance < 0:
        return ["perflab compare: tolerance must be >= 0, got %s" % tolerance], EXIT_USAGE
    try:
        a, b = load_run(Path(old)), load_run(Path(new))
    except (FileNotFoundError, ValueError) as exc:
        return ["perflab compare: %s" % exc], EXIT_USAGE
    return format_compare(a, b, compare_runs(a, b, tolerance), tolerance)


def format_check(results: List[TargetResult]) -> List[str]:
    """One line per target: ``  FAIL  P99  p99 < 500 ms: 612 ms (open, 5 repeats)``."""
    lines = []
    for t in results:
        value = t.cell.split(" ", 1)[1] if t.value is not None else (t.note or "-")
        lines.append("  %-7s %-10s %-26s %s (%s, %d repeat%s)" % (
            t.status, t.target.name, t.target.label, value, t.load_model, t.n,
            "" if t.n == 1 else "s"))
    return lines


def check_command(run_dir: Path, variant: Optional[str],
                  targets: Optional[Path] = None) -> Tuple[List[str], int]:
    """Check one variant (or every measured one) against the targets: exit 99 when a target
    is missed, 2 when the variant is unknown, skipped or has nothing to judge, else 0."""
    run_dir = Path(run_dir)
    try:
        run = load_run(run_dir)
        target_list = load_targets(targets_path(run_dir, targets))
    except (FileNotFoundError, ValueError) as exc:
        return ["perflab check: %s" % exc], EXIT_USAGE
    names = run.variant_names(include_aa=True)
    if variant is not None and variant not in names:
        return ["perflab check: no variant %r in %s (has: %s)"
                % (variant, run_dir, ", ".join(names) or "none")], EXIT_USAGE
    chosen = [variant] if variant is not None else [
        n for n in run.variant_names(include_aa=False) if n not in run.skipped]
    lines = ["perflab check %s: %d target(s), reference rate %s req/s"
             % (run.meta.run_id, len(target_list), run.reference_rate)]
    missed, judged = [], 0
    for name in chosen:
        if name in run.skipped:
            lines.append("%s: skipped (%s): nothing to check" % (name, run.skipped[name]))
            continue
        results = evaluate(run, name, target_list)
        fails = [r for r in results if r.status == FAIL]
        judged += sum(1 for r in results if r.status in (PASS, FAIL))
        lines.append("%s: %s" % (name, "FAIL (%d missed)" % len(fails) if fails else
                                 "ok" if any(r.status == PASS for r in results) else
                                 "nothing judged"))
        lines += format_check(results)
        missed += ["%s %s" % (name, r.target.label) for r in fails]
    if missed:
        lines.append("missed: " + "; ".join(missed))
        return lines, EXIT_THRESHOLDS
    if judged == 0:
        lines.append("no target could be judged (no usable figures): not a pass")
        return lines, EXIT_USAGE
    lines.append("every judged target met")
    return lines, EXIT_OK
