"""Bad input to the perflab CLI: one clear line on stderr, a distinct exit code, no traceback.

Each case is the command a new user typed (issue #14); in-process through
``perflab.cli.main`` so the exact line is asserted.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import List, Tuple

import pytest

from perflab import exitcodes
from perflab.cli import main
from perflab.procs import free_port
from tests.reports.fake_run import make_run


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str,
            stream: str = "err") -> Tuple[int, List[str]]:
    """Exit code and the non-empty lines of stderr (or stdout, ``stream="out"``)."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    text = captured.err if stream == "err" else captured.out
    return code, [line for line in text.splitlines() if line.strip()]


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path / "run", repeats=2, specs={"baseline": {}}, skipped={},
                    locust=False)


def test_report_of_a_missing_directory(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(capsys, "report", "/nonexistent")
    assert (code, err) == (2, ["perflab report: /nonexistent: no such run directory"])


@pytest.mark.parametrize("text,expected", [
    (None, "no such targets file"),
    ("[[target]\nexpr =", "not valid TOML"),
    ('[[target]]\nexpr = "latency < 5"\n', "target #1: unknown target metric 'latency'"),
    ('[[target]]\nname = "x"\n', "target #1 has no expr"),
])
def test_report_with_a_bad_targets_file(capsys: pytest.CaptureFixture[str], run_dir: Path,
                                        tmp_path: Path, text: str, expected: str) -> None:
    bad = tmp_path / "bad.toml"
    if text is not None:
        bad.write_text(text)
    code, err = run_cli(capsys, "report", str(run_dir), "--targets", str(bad))
    assert code == exitcodes.USAGE and len(err) == 1
    assert err[0].startswith("perflab report: %s: " % bad) and expected in err[0]


def _cut(run_dir: Path) -> None:
    path = run_dir / "results.csv"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 25])


def test_report_check_compare_on_a_cut_off_results_csv(capsys: pytest.CaptureFixture[str],
                                                      run_dir: Path, tmp_path: Path) -> None:
    other = make_run(tmp_path / "other", repeats=2, specs={"baseline": {}}, skipped={},
                     locust=False)
    _cut(run_dir)
    code, _ = run_cli(capsys, "report", str(run_dir))
    assert code == 0  # rendered from the complete rows, the damage shown in the banner
    assert "is cut off" in (run_dir / "report.md").read_text()
    code, out = run_cli(capsys, "check", str(run_dir), stream="out")
    assert code == exitcodes.UNJUDGEABLE and any("is cut off" in line for line in out)
    code, out = run_cli(capsys, "compare", str(other), str(run_dir), stream="out")
    assert code == exitcodes.USAGE and len(out) == 1
    assert "results.csv line" in out[0] and "cut off" in out[0]


@pytest.mark.parametrize("args,code,line", [
    (["--target", "notaurl"], 2, "perflab run: --target: not an http(s) URL: 'notaurl'"),
    (["--target", "ftp://127.0.0.1/x"], 2,
     "perflab run: --target: not an http(s) URL: 'ftp://127.0.0.1/x'"),
    (["--target", "http://example.com:9"], 2, "perflab run: --target: refusing to load"),
    (["--repeats", "0"], 2, "perflab run: plan quick: repeats = 0: must be >= 1"),
    (["--instances", "-2"], 2,
     "perflab run: error: argument --instances: must be >= 1, got -2"),
    (["--plan", "nosuch"], 2, "perflab run: no plan named 'nosuch'"),
])
def test_run_refuses_bad_options(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                 args: List[str], code: int, line: str) -> None:
    got, err = run_cli(capsys, "run", "--out", str(tmp_path), *args)
    assert got == code and err[-1].startswith(line), err
    assert not any(tmp_path.iterdir())  # nothing was started, no run directory


def test_run_against_a_target_that_does_not_answer(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    code, err = run_cli(capsys, "run", "--out", str(tmp_path), "--target",
                        "http://[::1]:%d" % port)
    assert code == exitcodes.TARGET_DOWN == 4 and len(err) == 1
    assert err[0].startswith("perflab run: --target http://[::1]:%d does not answer: GET "
                             "http://[::1]:%d/healthz: " % (port, port))
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("body,line", [
    ("[capacity]\nstart_rate = -5\n", "capacity.start_rate = -5: must be > 0"),
    ("[capacity]\nfactor = 1\n", "capacity.factor = 1: must be > 1"),
    ("[capacity]\nmax_error_rate = 2\n", "capacity.max_error_rate = 2: must be <= 1"),
    ("[capacity]\nbisect_steps = 1.5\n", "capacity.bisect_steps = 1.5: must be a whole number"),
    ("[capacity]\nenabled = 1\n", "capacity.enabled = 1: must be true or false"),
    ("[capacity]\nmax_rate = 10\nstart_rate = 20\n", "capacity.max_rate = 10: must be >= "
     "capacity.start_rate (20)"),
    ('duration_s = "ten"\n', "duration_s = 'ten': must be a number"),
    ("duration_s = 0\n", "duration_s = 0: must be > 0"),
    ("duration_s = 601\n", "duration_s = 601: must be <= 600"),
    ("repeats = true\n", "repeats = True: must be a whole number"),
    ("rates = [20, -1]\nreference_rate = 20\n", "rates[1] = -1: must be > 0"),
    ("rates = []\n", "rates = []: must be a non-empty list of numbers"),
    ("orders_rate = -1\n", "orders_rate = -1: must be >= 0"),
    ("locust_users = -3\n", "locust_users = -3: must be >= 0"),
    ("classify_messages = -1\n", "classify_messages = -1: must be >= 0"),
    ("warmup_s = 500\n", "warmup_s = 500: must be <= 120"),
    ("reference_rate = 33\n", "reference_rate = 33: not one of rates [20.0]"),
    ("seed = -1\n", "seed = -1: must be >= 0"),
    ("capacity = 3\n", "capacity: must be a [capacity] table"),
    ("[data_env]\nORDERS_COUNT = 5\n", "data_env: must be a table of strings"),
])
def test_plan_values_are_validated_with_the_key_named(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, body: str, line: str) -> None:
    plan = tmp_path / "mine.toml"
    plan.write_text('variants = ["baseline"]\n' + body)
    code, err = run_cli(capsys, "run", "--out", str(tmp_path / "runs"), "--plan", str(plan))
    assert code == exitcodes.USAGE and len(err) == 1, err
    assert line in err[0] and err[0].startswith("perflab run: "), err
    assert not (tmp_path / "runs").exists()


def test_serve_on_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        code, err = run_cli(capsys, "serve", "--port", str(port))
    assert (code, err) == (2, ["perflab serve: --port %d: 127.0.0.1:%d is already in use by "
                               "another process" % (port, port)])


def test_serve_port_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(capsys, "serve", "--port", "99999")
    assert code == 2 and err[-1] == ("perflab serve: error: argument --port: a TCP port is "
                                     "1..65535, got 99999")


def test_every_gate_help_lists_its_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("run", "check", "compare", "serve"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = capsys.readouterr().out
        assert "exit codes:" in out
        for code in exitcodes.DESCRIPTIONS[command]:
            assert "\n  %3d  " % code in out
