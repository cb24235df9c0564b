"""The instrument section: calibration recovered (or not) from paired blocks, A/A floors."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Optional

from perflab.results import ROW_COLUMNS, CsvAppender, Row, RunMeta
from perflab.variants import resolve
from reports.analysis import analyse_dir
from reports.instrument import AA_FLOORS, calibrations, format_markdown, instrument_view


def _run(tmp: Path, shift: float, aa_noise: float = 0.01,
         realised_ms: Optional[float] = None) -> Path:
    """baseline, baseline@aa and +inject_latency in 3 processes x 6 blocks; the injected
    variant's p50 and mean are the baseline's block + ``shift`` ms (common random
    numbers); ``realised_ms``: the delay the service says it slept, per request."""
    names = ["baseline", "baseline@aa", "+async", "+inject_latency"]  # inject vs +async
    meta = RunMeta("cal", 1.0, {"name": "t", "rates": [100.0], "reference_rate": 100.0,
                                "repeats": 3}, 1, {"cpu_count": 2}, ended_at=2.0,
                   complete=True, variants={n: resolve(n).to_dict() for n in names},
                   instrument={"floor_rate": 1000, "floor_p50_ms": 0.11,
                               "ceiling_rps": 15000, "ceiling_note": "", "probes": []})
    if realised_ms is not None:  # 3 repeats x 400 requests
        meta.realised = {"+inject_latency": {str(r): {"sum_s": 0.4 * realised_ms,
                                                      "count": 400.0} for r in (1, 2, 3)}}
    meta.save(tmp)
    rows = CsvAppender(tmp / "results.csv", ROW_COLUMNS)
    rng = random.Random(3)
    for r in range(1, 4):
        proc = rng.gauss(0, 0.05)
        for b in range(1, 7):
            base = 3.0 + proc + rng.gauss(0, 0.2)  # the block's shared schedule
            for n, p50 in (("baseline", base), ("baseline@aa", base * (1 + rng.gauss(0, aa_noise))),
                           ("+async", base * 0.9),
                           ("+inject_latency", base * 0.9 + shift + rng.gauss(0, 0.03))):
                rows.append(Row("cal", n, r, "fixed_rate", "open", "POST /api/chat", "ok",
                                target_rate=100.0, achieved_rate=100.0, requests=80, ok=80,
                                p50_ms=p50, mean_ms=p50, p95_ms=p50 * 3, rss_peak_mb=70.0,
                                block=b))
    rows.close()
    return tmp


def test_an_injected_millisecond_is_recovered(tmp_path: Path) -> None:
    (c,) = calibrations(analyse_dir(_run(tmp_path, 1.0)))
    assert c.variant == "+inject_latency" and c.reference == "+async"
    assert c.metric == "p50_ms" and c.truth == 1.0 and c.truth_source == "nominal"
    assert c.measured is not None and c.measured.n == 18
    assert c.recovered is True and c.verdict == "recovered"


def test_the_truth_reaches_what_the_service_realised(tmp_path: Path) -> None:
    """A 1 ms sleep that lasted 1.6 ms on average: +1.6 ms is inside the truth range."""
    (c,) = calibrations(analyse_dir(_run(tmp_path, 1.6, realised_ms=1.6)))
    assert c.truth == 1.0 and c.truth_upper is not None and abs(c.truth_upper - 1.6) < 1e-9
    assert "realised" in c.truth_source and c.recovered is True


def test_an_effect_beyond_the_realised_delay_is_not_recovered(tmp_path: Path) -> None:
    (c,) = calibrations(analyse_dir(_run(tmp_path, 2.5, realised_ms=1.6)))
    assert c.recovered is False


def test_a_nominal_truth_is_not_stretched_to_an_overshoot(tmp_path: Path) -> None:
    (c,) = calibrations(analyse_dir(_run(tmp_path, 1.6)))  # nothing realised recorded
    assert c.truth == 1.0 and c.truth_upper is None and c.recovered is False


def test_a_lab_that_reads_the_wrong_effect_says_so(tmp_path: Path) -> None:
    (c,) = calibrations(analyse_dir(_run(tmp_path, 2.0)))
    assert c.recovered is False and "NOT recovered" in c.verdict


def test_floors_and_generator_lines(tmp_path: Path) -> None:
    a = analyse_dir(_run(tmp_path, 1.0))
    v = instrument_view(a)
    assert any("0.110 ms at 1000 req/s" in line for line in v["generator"])
    assert any("15000 req/s" in line for line in v["generator"])
    p50 = next(f for f in v["floors"] if f["metric"] == "p50_ms")
    assert p50["floor"] == AA_FLOORS["p50_ms"] and p50["within"] is True
    assert "smaller effects cannot be told apart" in p50["meaning"]
    md = "\n".join(format_markdown(a))
    assert "## The instrument" in md and "recovered" in md


def test_noisy_aa_misses_its_floor(tmp_path: Path) -> None:
    a = analyse_dir(_run(tmp_path, 1.0, aa_noise=0.3))
    p50 = next(f for f in instrument_view(a)["floors"] if f["metric"] == "p50_ms")
    assert p50["within"] is False
