"""The gates fail closed: check and compare never pass a run that measured nothing.

Each test writes a run directory the way a broken real run leaves it (service
killed, interrupted, results cut off, nothing succeeded) through
perflab.results, then runs the command as CI would.
"""

from __future__ import annotations

import csv
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, List

import pytest

from perflab import exitcodes
from perflab.cli import main
from perflab.results import ROW_COLUMNS, CsvAppender, Row, RunMeta, read_rows
from reports.commands import check_command, compare_command, report_command

from .fake_run import SPECS, make_run

THREE = {k: SPECS[k] for k in ("baseline", "+redis_cache", "+lazy_faq")}


def _edit_meta(run: Path, **changes: Any) -> None:
    meta = RunMeta.load(run)
    for k, v in changes.items():
        setattr(meta, k, v)
    meta.save(run)


def _rewrite_rows(run: Path, change: Callable[[List[Row]], List[Row]]) -> None:
    rows = change(read_rows(run))
    (run / "results.csv").unlink()
    out = CsvAppender(run / "results.csv", ROW_COLUMNS)
    for r in rows:
        out.append(r)
    out.close()


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    """Three variants, every measurement fine, every target of baseline but P99 met."""
    return make_run(tmp_path / "clean", repeats=3, specs=THREE, skipped={}, locust=False)


def test_a_clean_run_passes_with_lenient_targets(clean: Path, tmp_path: Path) -> None:
    lenient = tmp_path / "t.toml"
    lenient.write_text('[[target]]\nexpr = "p99 < 5000"\n[[target]]\nexpr = "p50 < 500"\n')
    lines, code = check_command(clean, None, lenient)
    assert code == exitcodes.OK, lines
    assert "run complete" in lines[0] and lines[-1] == "every judged target met"


def test_a_killed_service_cannot_pass(clean: Path, tmp_path: Path) -> None:
    """The service was SIGKILLed mid-run: a failed row, run.json not complete."""
    lenient = tmp_path / "t.toml"
    lenient.write_text('[[target]]\nexpr = "p99 < 5000"\n')
    _rewrite_rows(clean, lambda rows: [
        replace(r, status="failed", failure="service exited with code -9 (SIGKILL)",
                p50_ms=None, p95_ms=None, p99_ms=None)
        if (r.variant, r.repeat, r.measurement) == ("+redis_cache", 2, "fixed_rate") else r
        for r in rows])
    _edit_meta(clean, complete=False, failures=[{"variant": "+redis_cache", "repeat": 2,
                                                 "kind": "service", "detail": "exit -9"}])
    lines, code = check_command(clean, None, lenient)
    assert code == exitcodes.UNJUDGEABLE, lines
    assert any("+redis_cache fixed_rate r2" in line for line in lines)
    assert "cannot pass" in lines[-1]
    # judged as it is, it passes: the flag is the explicit way to accept the gap
    assert check_command(clean, None, lenient, allow_incomplete=True)[1] == exitcodes.OK
    # a variant that did not fail is judged on its own
    assert check_command(clean, "+lazy_faq", lenient)[1] == exitcodes.OK


def test_an_interrupted_run_says_so_and_cannot_pass(clean: Path, tmp_path: Path) -> None:
    """Interrupted after the first variant: two of three never measured."""
    lenient = tmp_path / "t.toml"
    lenient.write_text('[[target]]\nexpr = "p99 < 5000"\n')
    _rewrite_rows(clean, lambda rows: [r for r in rows if r.variant == "baseline"])
    _edit_meta(clean, complete=False, interrupted=True)
    lines, code = check_command(clean, None, lenient)
    assert code == exitcodes.UNJUDGEABLE, lines
    text = "\n".join(lines)
    assert "run interrupted" in lines[0]
    assert "the run was interrupted" in text
    assert "never measured: " in text and "+redis_cache r1" in text and "+lazy_faq r3" in text
    # the unmeasured variants have no data for any target
    assert "+lazy_faq P99: no data" in text or "+lazy_faq p99" in text


def test_a_run_without_an_end_cannot_pass(clean: Path) -> None:
    """perflab was SIGKILLed: run.json never got its end time."""
    _edit_meta(clean, complete=False, ended_at=None)
    lines, code = check_command(clean, "baseline", allow_incomplete=False)
    assert code == exitcodes.UNJUDGEABLE
    assert any("no end time" in line for line in lines)


def test_nothing_succeeded_is_no_data_never_0_ms(tmp_path: Path) -> None:
    """--target at a port where nothing listens: status ok rows with 100% connection errors
    and 0.0 ms percentiles (what older runs wrote) are failed measurements on read."""
    run = make_run(tmp_path / "dead", repeats=2, specs={"baseline": {}}, skipped={},
                   locust=False)
    _rewrite_rows(run, lambda rows: [
        replace(r, ok=0, errors=r.requests, error_rate=1.0, throughput_rps=0.0,
                errors_by_kind='{"connection": %d}' % r.requests, p50_ms=0.0, p95_ms=0.0,
                p99_ms=0.0, p90_ms=0.0, p999_ms=0.0, max_ms=0.0, mean_ms=0.0)
        if r.load_model == "open" and r.measurement != "capacity" else r for r in rows])
    lines, code = check_command(run, None)
    assert code == exitcodes.UNJUDGEABLE, lines
    text = "\n".join(lines)
    assert "PASS" not in [w for line in lines if "p50 < 50" in line for w in line.split()]
    assert not re.search(r"(?<![\d.])0(\.0+)? ms", text)
    assert "failed or cut-short measurement(s)" in text
    report = report_command(run)
    md = report.markdown.read_text()
    assert "no request succeeded" in md and "| PASS 0 ms" not in md


def test_results_cut_off_mid_row(clean: Path, tmp_path: Path) -> None:
    path = clean / "results.csv"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])  # the last row loses its tail
    lines, code = check_command(clean, None)
    assert code == exitcodes.UNJUDGEABLE, lines
    assert any("is cut off" in line for line in lines)
    # the report keeps every complete row and says what was dropped
    html = report_command(clean).html.read_text()
    assert "is cut off" in html
    other = make_run(tmp_path / "other", repeats=3, specs=THREE, skipped={}, locust=False)
    lines, code = compare_command(other, clean)
    assert code == exitcodes.USAGE and "cut off" in lines[0] and len(lines) == 1


def test_damaged_results_are_one_line(clean: Path) -> None:
    path = clean / "results.csv"
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    rows[2][ROW_COLUMNS.index("p50_ms")] = "fast"
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    lines, code = check_command(clean, None)
    assert code == exitcodes.USAGE
    assert lines == ["perflab check: results.csv line 3: column p50_ms: 'fast' is not a "
                     "valid Optional[float]"]


def test_compare_exits_2_when_a_side_has_no_results(clean: Path, tmp_path: Path) -> None:
    other = make_run(tmp_path / "other", repeats=3, specs=THREE, skipped={}, locust=False)
    (other / "results.csv").unlink()
    lines, code = compare_command(clean, other)
    assert code == exitcodes.USAGE
    assert lines == ["perflab compare: the new run %s has no results.csv: nothing to "
                     "compare" % other]


def test_compare_exits_2_when_nothing_is_usable(clean: Path, tmp_path: Path) -> None:
    other = make_run(tmp_path / "other", repeats=3, specs=THREE, skipped={}, locust=False)
    _rewrite_rows(other, lambda rows: [replace(r, status="failed") for r in rows])
    lines, code = compare_command(clean, other)
    assert code == exitcodes.USAGE and "no usable measurement" in lines[0]


def test_compare_refuses_different_set_ups(clean: Path, tmp_path: Path) -> None:
    other = make_run(tmp_path / "other", repeats=3, specs=THREE, skipped={}, locust=False)
    assert compare_command(clean, other)[1] == exitcodes.OK
    meta = RunMeta.load(other)
    assert meta.compat_id == RunMeta.load(clean).compat_id
    _edit_meta(other, plan={**meta.plan, "duration_s": 30},
               machine={**meta.machine, "cpu_count": 16},
               mechanism={"open_loop": "loadtests.openloop", "target": "external"})
    lines, code = compare_command(clean, other)
    assert code == exitcodes.USAGE and len(lines) == 1, lines
    assert "different set-ups" in lines[0]
    for part in ("plan duration_s 10 vs 30", "machine cpu_count 2 vs 16",
                 "mechanism target 'local' vs 'external'"):
        assert part in lines[0]
    lines, code = compare_command(clean, other, allow_mismatch=True)
    assert code == exitcodes.OK and any("set-ups differ" in line for line in lines)
    # the id is recorded in run.json for other tools
    assert '"compat_id": "%s"' % RunMeta.load(other).compat_id in (other / "run.json"
                                                                   ).read_text()


def test_repeats_and_selection_do_not_change_the_id(clean: Path) -> None:
    meta = RunMeta.load(clean)
    before = meta.compat_id
    meta.plan = {**meta.plan, "repeats": 9, "variants": ["x"], "name": "other"}
    assert meta.compat_id == before


def test_cli_check_help_documents_the_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    out = capsys.readouterr().out
    assert " 99  a target was missed" in out and "  3  the run cannot pass" in out
    assert "--allow-incomplete" in out


def test_a_generator_limited_capacity_settles_only_at_least_targets(clean: Path,
                                                                     tmp_path: Path) -> None:
    _rewrite_rows(clean, lambda rows: [
        replace(r, generator_saturated=True) if r.measurement == "capacity" else r
        for r in rows])
    low, high = tmp_path / "low.toml", tmp_path / "high.toml"
    low.write_text('[[target]]\nexpr = "sustained_rps >= 10"\n')
    high.write_text('[[target]]\nexpr = "sustained_rps >= 10000"\n')
    lines, code = check_command(clean, "baseline", low)
    assert code == exitcodes.OK and "lower bound (generator-limited)" in lines[2], lines
    lines, code = check_command(clean, "baseline", high)
    assert code == exitcodes.UNJUDGEABLE and "LIMITED" in lines[2], lines
