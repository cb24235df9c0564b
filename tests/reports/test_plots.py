"""Plots a reader can trust: intervals never below zero, legends off the data, no curve
drawn from one point, and the A/A floor explained."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from perflab.results import ROW_COLUMNS, CsvAppender, read_rows
from reports import plots
from reports.analysis import analyse_dir
from reports.commands import report_command

from .fake_run import SPECS, make_run


def _segments(fig: Figure):
    for ax in fig.axes:
        for coll in ax.collections:
            if isinstance(coll, LineCollection):
                yield from coll.get_segments()


def _spread_capacity(run: Path) -> None:
    """Two repeats far apart: a raw t interval (t=12.7) reaches far below zero."""
    rows = read_rows(run)
    (run / "results.csv").unlink()
    out = CsvAppender(run / "results.csv", ROW_COLUMNS)
    for r in rows:
        if r.measurement == "capacity":
            r = replace(r, capacity_rps=10.0 if r.repeat == 1 else 90.0)
        if r.measurement == "fixed_rate":
            r = replace(r, p50_ms=2.0 if r.repeat == 1 else 60.0)
        out.append(r)
    out.close()


def test_intervals_never_run_below_zero(tmp_path: Path) -> None:
    run = make_run(tmp_path / "r", repeats=2, specs={"baseline": {}, "+async": {}},
                   skipped={}, locust=False)
    _spread_capacity(run)
    a = analyse_dir(run)
    cap = plots.capacity(a)
    xs = [x for seg in _segments(cap) for x, _ in seg]
    assert xs and min(xs) >= 0.0
    assert cap.axes[0].get_xlim()[0] == 0.0
    lat = plots.latency_percentiles(a)
    ys = [y for seg in _segments(lat) for _, y in seg]
    assert ys and min(ys) > 0.0  # a log axis: geometric interval, never down to ~0
    m, lo, hi = plots.log_interval([2.0, 60.0])
    assert 0 < lo < m < hi and abs(m - (2.0 * 60.0) ** 0.5) < 1e-9
    assert plots.clipped_interval([10.0, 90.0])[1] == 0.0


def test_legends_sit_outside_the_data(fake_run: Path) -> None:
    a = analyse_dir(fake_run)
    for name, fig in plots.all_figures(a).items():
        FigureCanvasAgg(fig).draw()
        for ax in fig.axes:
            legend = ax.get_legend()
            if legend is None:
                continue
            box, area = legend.get_window_extent(), ax.get_window_extent()
            assert box.x0 >= area.x1 - 1, name  # right of the plotting area


def test_one_rate_and_no_probes_draws_no_load_curve(tmp_path: Path) -> None:
    run = make_run(tmp_path / "r", repeats=2, specs={"baseline": {}}, skipped={},
                   locust=False)
    rows = [r for r in read_rows(run) if r.measurement != "fixed_rate" or r.target_rate == 50]
    (run / "results.csv").unlink()
    out = CsvAppender(run / "results.csv", ROW_COLUMNS)
    for r in rows:
        out.append(r)
    out.close()
    assert plots.latency_vs_throughput(analyse_dir(run)) is None
    paths = report_command(run)
    assert "latency_vs_throughput" not in paths.plots
    # the capacity search's probes are rates too: with them there is a curve
    probes = run / "histograms" / "probes.json"
    probes.parent.mkdir(exist_ok=True)
    probes.write_text(json.dumps({"probes": [
        {"rate": 20, "achieved": 19.9, "p95_ms": 40.0, "pass": True, "saturation": ""},
        {"rate": 80, "achieved": 79.0, "p95_ms": 150.0, "pass": True, "saturation": ""},
        {"rate": 320, "achieved": 250.0, "p95_ms": 900.0, "pass": False, "saturation": ""}]}))
    rows = [replace(r, raw_file="histograms/probes.json") if r.measurement == "capacity"
            else r for r in rows]
    (run / "results.csv").unlink()
    out = CsvAppender(run / "results.csv", ROW_COLUMNS)
    for r in rows:
        out.append(r)
    out.close()
    fig = plots.latency_vs_throughput(analyse_dir(run))
    assert fig is not None
    xs = sorted(x for line in fig.axes[0].get_lines() for x in line.get_xdata()
                if line.get_linestyle() == "-")
    assert xs[:1] == [19.9] and 250.0 in xs


def test_the_aa_floor_says_what_it_means(tmp_path: Path) -> None:
    run = make_run(tmp_path / "r", repeats=3,
                   specs={"baseline": SPECS["baseline"], "baseline@aa": SPECS["baseline@aa"]},
                   skipped={}, locust=False)
    paths = report_command(run)
    html, md = paths.html.read_text(), paths.markdown.read_text()
    for text in (html, md):
        assert "two identical services differed by up to" in text
        assert "smaller effects cannot be told apart here" in text
    assert "±" not in md.split("## Details")[1].split("###")[1]  # no bare "p95 ±2175%"
