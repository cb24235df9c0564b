"""Which rows a metric is read from."""

from __future__ import annotations

from pathlib import Path

from perflab.results import ROW_COLUMNS, CsvAppender, Row
from reports.data import load_run
from reports.metrics import metric_sample

from .fake_run import make_run


def test_rss_comes_from_the_phases_every_variant_runs(tmp_path: Path) -> None:
    # Only baseline gets a Locust run and a capacity search in this plan: a memory peak
    # there must not make baseline look heavier than a variant that never ran them.
    run_dir = make_run(tmp_path / "run", repeats=2, locust=False)
    before = metric_sample(load_run(run_dir), "baseline", "rss_peak_mb").values
    rows = CsvAppender(run_dir / "results.csv", ROW_COLUMNS)
    for repeat in (1, 2):
        rows.append(Row("fake-run", "baseline", repeat, "locust", "closed", "Locust mix",
                        "ok", target_rate=50, requests=400, ok=400, p50_ms=5.0,
                        rss_peak_mb=10_000.0))
    rows.close()
    run = load_run(run_dir)
    after = metric_sample(run, "baseline", "rss_peak_mb")
    assert after.values == before and after.load_model == "open"
    capacity_rss = [r.rss_peak_mb for r in run.rows_of("baseline")
                    if r.measurement == "capacity"]
    assert capacity_rss and max(capacity_rss) > max(after.values.values())  # left out too
