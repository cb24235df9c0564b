"""The report, compare and check commands: the only functions here that write files.

``perflab report RUN_DIR``   -> report.html, report.md, summary.csv, plots/*.png
``perflab compare OLD NEW``  -> lines, exit 1 on a significant regression, 2 when the runs
                                cannot be compared
``perflab check RUN_DIR``    -> lines, exit 99 on a missed target (as k6 does), 3 when the
                                run cannot pass (incomplete, interrupted, failed, no data)

Exit codes are defined once, in ``perflab.exitcodes``.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from perflab import exitcodes

from .analysis import analyse, targets_path
from .compare import comparable_problems, compare_runs, format_compare
from .data import load_run
from .gates import check_run, format_check
from .targets import load_targets

EXIT_OK = exitcodes.OK
EXIT_REGRESSION = exitcodes.REGRESSION
EXIT_USAGE = exitcodes.USAGE
EXIT_UNJUDGEABLE = exitcodes.UNJUDGEABLE
EXIT_THRESHOLDS = exitcodes.THRESHOLDS  # k6's exit code for failed thresholds

__all__ = ["EXIT_OK", "EXIT_REGRESSION", "EXIT_THRESHOLDS", "EXIT_UNJUDGEABLE", "EXIT_USAGE",
           "ReportPaths", "check_command", "compare_command", "format_check",
           "report_command"]


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


def compare_command(old: Path, new: Path, tolerance: float = 0.10,
                    allow_mismatch: bool = False) -> Tuple[List[str], int]:
    """Lines comparing two runs, and the exit code: 1 when a metric regressed significantly
    beyond ``tolerance``; 2 when a side is unreadable or has nothing comparable, or the runs
    were made under different set-ups (unless ``allow_mismatch``); else 0."""
    if tolerance < 0:
        return ["perflab compare: tolerance must be >= 0, got %s" % tolerance], EXIT_USAGE
    try:
        a, b = (load_run(Path(old), allow_truncated=False),
                load_run(Path(new), allow_truncated=False))
    except (FileNotFoundError, ValueError) as exc:
        return ["perflab compare: %s" % exc], EXIT_USAGE
    problems = comparable_problems(a, b, allow_mismatch)
    if problems:
        return ["perflab compare: %s" % p for p in problems], EXIT_USAGE
    return format_compare(a, b, compare_runs(a, b, tolerance), tolerance)


def check_command(run_dir: Path, variant: Optional[str], targets: Optional[Path] = None,
                  allow_incomplete: bool = False) -> Tuple[List[str], int]:
    """Check one variant (or every measured one) against the targets, fail-closed: 99 when
    a target is missed, 3 when the run cannot pass (see ``reports.gates``), 2 on bad input
    (unknown variant, unreadable run or targets file), else 0."""
    run_dir = Path(run_dir)
    try:
        run = load_run(run_dir)
        target_list = load_targets(targets_path(run_dir, targets))
    except (FileNotFoundError, ValueError) as exc:
        return ["perflab check: %s" % exc], EXIT_USAGE
    return check_run(run, variant, target_list, allow_incomplete)
