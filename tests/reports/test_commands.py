"""report / compare / check: files written, exit codes for release gates."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from reports.commands import (
    EXIT_THRESHOLDS,
    EXIT_UNJUDGEABLE,
    ReportPaths,
    check_command,
    compare_command,
    report_command,
)

from .fake_run import SPECS, make_run


def test_report_writes_everything(report: ReportPaths) -> None:
    assert report.html.exists() and report.markdown.exists() and report.csv.exists()
    assert set(report.plots) == {"latency_percentiles", "latency_vs_throughput", "capacity",
                                 "resources", "claims"}
    for png in report.plots.values():
        assert png.parent.name == "plots"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = report.html.read_text()
    assert html.count("data:image/png;base64,") == 5
    assert "src=\"plots/" not in html and "http://" not in html and "https://" not in html
    for section in ('id="targets"', 'id="claims"', 'id="skipped"', 'id="failed"',
                    'id="saturated"', 'id="noise"'):
        assert section in html
    # first screen order: machine/plan line, targets, claims, then plots, then details
    order = [html.index(s) for s in ('id="machine-plan"', 'id="targets"', 'id="claims"',
                                     "<h2>Plots</h2>", "<h2>Details</h2>")]
    assert order == sorted(order)
    assert "Synthetic CPU" in html and "reference 50 req/s" in html
    assert "Noise floor from the A/A pair" in html and "open loop" in html
    assert "needs cores&gt;=3" in html  # skipped, and why
    assert "address already in use" in html  # failed row's text


def test_markdown_tables(report: ReportPaths) -> None:
    md = report.markdown.read_text()
    assert "| variant | P50 (p50 < 50 ms)" in md
    assert "| baseline | PASS" in md and "**FAIL" in md
    assert "| redis_cache | 30-40% lower latency" in md
    assert "**confirmed**" in md and "**partial**" in md and "**worse**" in md
    assert "Load model:" in md and "Repeats: 5 planned" in md
    assert "![" in md and "plots/claims.png" in md


def test_summary_csv_is_tidy(report: ReportPaths) -> None:
    with open(report.csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    claims = {r["variant"]: r for r in rows if r["section"] == "claim"}
    assert claims["+redis_cache"]["verdict"] == "confirmed"
    assert 0.6 < float(claims["+redis_cache"]["ratio"]) < 0.7
    assert float(claims["+redis_cache"]["ci_low"]) < float(claims["+redis_cache"]["ci_high"])
    targets = [r for r in rows if r["section"] == "target"]
    assert {"PASS", "FAIL", "LIMITED", "SKIPPED"} <= {r["verdict"] for r in targets}
    assert {r["section"] for r in rows} == {"target", "claim", "aa", "effect"}


def test_report_on_a_one_repeat_incomplete_run(tmp_path: Path) -> None:
    run = make_run(tmp_path, repeats=1, specs={"baseline": {}, "+async": {"capacity": 1.5}},
                   skipped={}, locust=False)
    (run / "timeseries.csv").unlink()
    paths = report_command(run)
    html = paths.html.read_text()
    assert "interval unavailable: 1 repeat" in html
    assert "No A/A pair in this plan" in html


def test_check_exit_codes(fake_run: Path, tmp_path: Path) -> None:
    lines, code = check_command(fake_run, "+pypy")
    assert code == EXIT_THRESHOLDS == 99
    assert any("FAIL" in line and "rss_mb < 500 MB" in line for line in lines)
    lines, code = check_command(fake_run, "+redis_cache")
    assert code == 0, lines
    # the whole run: +gzip has a failed measurement, tiered only generator-limited figures
    lines, code = check_command(fake_run, None)
    assert code == EXIT_UNJUDGEABLE == 3, lines
    assert any("+gzip fixed_rate r2" in line for line in lines)
    assert any("+redis_cache:tiered P50: generator-limited" in line for line in lines)
    assert check_command(fake_run, None, allow_incomplete=True)[1] == 99  # baseline's P99
    assert check_command(fake_run, "+nope")[1] == 2
    lines, code = check_command(fake_run, "+instances")
    assert code == 3 and "+instances: skipped (needs cores>=3" in lines[1]
    lenient = tmp_path / "lenient.toml"
    lenient.write_text('[[target]]\nexpr = "p99 < 5000"\n')
    assert check_command(fake_run, "baseline", lenient)[1] == 0
    assert check_command(tmp_path / "missing", None)[1] == 2


def test_check_refuses_to_pass_without_figures(fake_run: Path, tmp_path: Path) -> None:
    only_latency = tmp_path / "t.toml"
    only_latency.write_text('[[target]]\nexpr = "p50 < 50"\n')
    lines, code = check_command(fake_run, "+redis_cache:tiered", only_latency)
    assert code == 3 and "cannot pass" in lines[-1]
    lines, code = check_command(fake_run, "+redis_cache:tiered", only_latency,
                                allow_incomplete=True)
    assert code == 3 and "not a pass" in lines[-1]


def test_compare_gates_regressions(fake_run: Path, tmp_path: Path) -> None:
    lines, code = compare_command(fake_run, fake_run)
    assert code == 0, lines
    again = make_run(tmp_path / "again", seed=99)
    lines, code = compare_command(fake_run, again)
    assert code == 0, "\n".join(lines)
    slower = make_run(tmp_path / "slower", seed=99, regress={"+redis_cache": 1.5})
    lines, code = compare_command(fake_run, slower)
    assert code == 1, "\n".join(lines)
    regressed = [line for line in lines if "REGRESSION" in line]
    assert regressed and all("+redis_cache" in line for line in regressed)
    assert "significant regression" in lines[-1]
    # beyond the injected 50%, nothing is flagged
    assert compare_command(fake_run, slower, tolerance=0.8)[1] == 0


def test_compare_never_gates_on_one_repeat(tmp_path: Path) -> None:
    specs = {"baseline": SPECS["baseline"]}
    old = make_run(tmp_path / "old", repeats=1, specs=specs, skipped={})
    new = make_run(tmp_path / "new", repeats=1, specs=specs, skipped={},
                   regress={"baseline": 2.0})
    lines, code = compare_command(old, new)
    assert code == 0
    assert any("insufficient data" in line for line in lines)


def test_compare_usage_errors(fake_run: Path, tmp_path: Path) -> None:
    assert compare_command(fake_run, tmp_path / "nothing")[1] == 2
    other = make_run(tmp_path / "other", specs={"+gzip": {}}, skipped={})
    lines, code = compare_command(other, make_run(tmp_path / "o2", specs={"+lazy_faq": {}},
                                                  skipped={}))
    assert code == 2 and "nothing to compare" in lines[-1]
    shutil.rmtree(other)
