"""perflab.micro: the classifier micro-benchmark on pyperf, run as the orchestrator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

import pyperf
import pytest

from perflab.machine import ROOT
from perflab.micro import TOGGLES_KEY, ClassifyBench, interval95

TINY = ["--messages", "40", "--warmup", "20", "--processes", "2", "--values", "2",
        "--warmups", "0", "--min-time", "0.001"]


def _env(**extra: str) -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def _micro(args: List[str], python: str = sys.executable,
           env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    return subprocess.run([python, "-m", "perflab.micro", *args], cwd=ROOT, env=env or _env(),
                          capture_output=True, text=True, timeout=240)


def _check_output(out: subprocess.CompletedProcess, json_out: Path, processes: int,
                  values: int) -> Dict[str, object]:
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1, out.stdout  # pyperf's own output went to stderr
    data = json.loads(lines[0])
    bench = pyperf.Benchmark.load(str(json_out))
    runs = [r for r in bench.get_runs() if r.values]
    assert len(runs) == processes and all(len(r.values) == values for r in runs)
    assert data["pyperf_json"] == str(json_out)
    assert len(data["per_process_rate"]) == processes
    assert [len(v) for v in data["per_process_values"]] == [values] * processes
    # the headline rate is the pyperf file's: messages per second of its mean value
    assert data["classify_rate"] == pytest.approx(1.0 / bench.mean(), rel=1e-9)
    # the rate interval inverts the t interval of mean seconds/message; with 2 processes
    # (t = 12.7) a noisy host can put that interval's low end at or below 0: then none
    seconds_ci = interval95([1.0 / r for r in data["per_process_rate"]])
    assert seconds_ci is not None
    if seconds_ci[0] > 0:
        low, high = data["classify_rate_ci95"]
        assert low <= data["classify_rate"] <= high
    else:
        assert data["classify_rate_ci95"] is None
    assert data["messages"] == 40 and data["timed_messages"] == 40 * data["loops"] * (
        processes * values)
    assert data["elapsed_s"] > 0 and data["stdev_rate"] >= 0
    return data


def test_cli_writes_pyperf_json_and_one_json_line(tmp_path: Path) -> None:
    json_out = tmp_path / "micro" / "classify.json"  # its folder is made
    data = _check_output(_micro([*TINY, "--json-out", str(json_out)]), json_out, 2, 2)
    assert data["implementation"] == "cpython" and data["intent_cache"] is None
    assert data["settings"]["clock"] == "cpu"


def test_workers_get_the_variants_toggles(tmp_path: Path) -> None:
    """pyperf starts workers with a cleaned environment unless told: the toggles must
    reach them (the intent cache's hit counts exist only when it is on)."""
    json_out = tmp_path / "c.json"
    out = _micro([*TINY, "--json-out", str(json_out)], env=_env(INTENT_CACHE_ENABLED="1"))
    data = _check_output(out, json_out, 2, 2)
    stats = data["intent_cache"]
    assert isinstance(stats, dict) and stats["hits"] + stats["misses"] == 40
    runs = [r for r in pyperf.Benchmark.load(str(json_out)).get_runs() if r.values]
    assert all("INTENT_CACHE_ENABLED=True" in r.get_metadata()[TOGGLES_KEY].split()
               for r in runs)


def test_same_messages_in_every_variant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGEX_PRECOMPILE", "0")
    a = ClassifyBench(30, 10, 11)
    monkeypatch.setenv("REGEX_PRECOMPILE", "1")
    monkeypatch.setenv("INTENT_CACHE_ENABLED", "1")
    b = ClassifyBench(30, 10, 11)
    assert a.body == b.body and a.warm == b.warm and len(a.body) == 30
    assert a.config.regex_precompile != b.config.regex_precompile
    assert a(2) > 0 and b(2) > 0
    # every pass starts from the same warmed cache: the same hits and misses each time
    b(1)
    first = b.last_stats
    b(1)
    assert first is not None and b.last_stats == first


def test_interval95_needs_two_processes() -> None:
    assert interval95([1.0]) is None
    low, high = interval95([1.0, 1.2, 1.1])  # type: ignore[misc]
    assert low < 1.1 < high


@pytest.mark.parametrize("args, needle", [
    (["--messages", "0"], "--messages"),
    (["--processes", "1"], "--processes"),
    (["--clock", "sundial"], "--clock"),
    (["--min-time", "x"], "--min-time"),
])
def test_bad_options_one_line_exit_2(args: List[str], needle: str) -> None:
    out = _micro(args)
    assert out.returncode == 2 and out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1 and needle in out.stderr


def test_bad_toggle_names_the_variable() -> None:
    out = _micro(TINY, env=_env(REGEX_PRECOMPILE="maybe"))
    assert out.returncode == 2 and "REGEX_PRECOMPILE" in out.stderr
    assert "Traceback" not in out.stderr


def test_existing_json_out_is_not_overwritten(tmp_path: Path) -> None:
    json_out = tmp_path / "keep.json"
    json_out.write_text("precious")
    out = _micro([*TINY, "--json-out", str(json_out)])
    assert out.returncode == 2 and "already exists" in out.stderr
    assert json_out.read_text() == "precious"


@pytest.mark.slow
def test_runs_under_pypy(tmp_path: Path, pypy_python: Path) -> None:
    """The PyPy venv ensure_pypy makes has pyperf, and the micro runs there (Python 3.9)."""
    json_out = tmp_path / "pypy.json"
    data = _check_output(_micro([*TINY, "--json-out", str(json_out)], python=str(pypy_python)),
                         json_out, 2, 2)
    assert data["implementation"] == "pypy"
