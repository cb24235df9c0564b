"""``perflab profile`` tools, run for real on small data; outputs must name engine code."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict

import pytest

from profiles import pyspy as pyspy_tool
from profiles.commands import TOOLS, ProfileResult, default_out_dir, profile_command
from profiles.lineprof import resolve_function
from profiles.summary import (
    format_memory_markdown,
    format_side_by_side_markdown,
    load_summary,
    memory_comparison,
    top_cumulative_side_by_side,
)

from .conftest import MESSAGES, SMALL_ENV

ROOT = Path(__file__).resolve().parents[2]
EnvFor = Callable[[str], Dict[str, str]]


def _png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cprofile_writes_prof_table_chart_and_json(variant_env: EnvFor, tmp_path: Path) -> None:
    lines = []
    result = profile_command(variant_env("baseline"), "baseline", "cprofile", MESSAGES,
                             tmp_path / "baseline", progress=lines.append)
    names = {p.name for p in result.paths}
    assert names == {"cprofile.prof", "cprofile.txt", "cprofile.png", "cprofile.json"}
    assert all(p.is_file() for p in result.paths)
    table = (tmp_path / "baseline" / "cprofile.txt").read_text()
    assert "engine/bot.py" in table and "(reply)" in table
    assert "sorted by cumulative time" in table
    assert _png(tmp_path / "baseline" / "cprofile.png")
    data = load_summary(tmp_path / "baseline" / "cprofile.json")
    assert data["tool"] == "cprofile" and data["messages"] == MESSAGES
    labels = [row["label"] for row in data["top_cumulative"]]
    assert any(lab.startswith("engine/bot.py") and lab.endswith("(reply)") for lab in labels)
    assert not any(lab.startswith("profiles/") for lab in labels)  # harness left out
    assert "engine/bot.py" in result.summary and lines  # progress was reported
    assert result.json_path == tmp_path / "baseline" / "cprofile.json"


def test_side_by_side_and_markdown(variant_env: EnvFor, tmp_path: Path) -> None:
    base = profile_command(variant_env("baseline"), "baseline", "cprofile", MESSAGES,
                           tmp_path / "b")
    opt_env = variant_env("optimised")
    opt_env["IR_CACHE_BACKEND"] = "memory"  # Redis has its own test below
    opt = profile_command(opt_env, "optimised", "cprofile", MESSAGES, tmp_path / "o")
    assert base.json_path and opt.json_path
    rows = top_cumulative_side_by_side(tmp_path / "b" / "cprofile.prof",
                                       tmp_path / "o" / "cprofile.prof", n=10,
                                       baseline_messages=MESSAGES)
    assert len(rows) == 10 and [r.rank for r in rows] == list(range(1, 11))
    first = rows[0]
    assert first.baseline is not None and first.baseline.label.endswith("(reply)")
    assert first.baseline.per_message_ms is not None
    assert 0.9 <= first.baseline.share <= 1.0
    # the baseline matches patterns per call; precompiled patterns never call re.search
    deeper = top_cumulative_side_by_side(tmp_path / "b" / "cprofile.prof",
                                         tmp_path / "o" / "cprofile.prof", n=60,
                                         baseline_messages=MESSAGES)
    per_call = [r for r in deeper if r.baseline and "_search_per_call" in r.baseline.label]
    assert per_call and per_call[0].baseline_share_in_optimised is None
    md = format_side_by_side_markdown(rows)
    assert md.startswith("| # | baseline: function") and md.count("\n") == 12
    assert "not called" in format_side_by_side_markdown(deeper)


def test_redis_variant_falls_back_to_memory_when_redis_is_unreachable(
        variant_env: EnvFor, tmp_path: Path) -> None:
    env = variant_env("optimised")
    env["REDIS_URL"] = "redis://127.0.0.1:1/0"
    result = profile_command(env, "optimised", "cprofile", 50, tmp_path)
    assert any("unreachable" in n and "memory backend" in n for n in result.notes)
    data = load_summary(tmp_path / "cprofile.json")
    assert data["config"]["IR_CACHE_BACKEND"] == "memory"
    assert "unreachable" in (tmp_path / "cprofile.txt").read_text()


@pytest.mark.redis
def test_redis_variant_uses_a_unique_prefix_and_cleans_up(
        variant_env: EnvFor, tmp_path: Path, redis_url: str) -> None:
    import redis

    env = variant_env("optimised")
    env["REDIS_URL"] = redis_url
    profile_command(env, "optimised", "cprofile", 100, tmp_path)
    data = load_summary(tmp_path / "cprofile.json")
    prefix = data["config"]["REDIS_PREFIX"]
    assert data["config"]["IR_CACHE_BACKEND"] == "redis"
    assert prefix.startswith("perflab-profile-")
    client = redis.Redis.from_url(redis_url)
    try:
        assert list(client.scan_iter(match=prefix + "*")) == []
    finally:
        client.close()


def test_line_profile_of_chosen_hot_functions(variant_env: EnvFor, tmp_path: Path) -> None:
    result = profile_command(variant_env("baseline"), "baseline", "line", MESSAGES, tmp_path)
    text = (tmp_path / "line.txt").read_text()
    data = load_summary(tmp_path / "line.json")
    assert data["functions"] and all(f.startswith("engine.") for f in data["functions"])
    assert "Line #" in text and "% Time" in text
    for spec in data["functions"]:  # each chosen function's def line is annotated
        func = resolve_function(spec)
        first = inspect.getsourcelines(func)[0][0].strip()
        assert first in text, spec
    assert {p.name for p in result.paths} == {"line.txt", "line.lprof", "line.json"}


def test_line_profile_of_named_function(variant_env: EnvFor, tmp_path: Path) -> None:
    profile_command(variant_env("baseline"), "baseline", "line", 100, tmp_path,
                    functions=["engine.orders:OrderStore._query"])
    text = (tmp_path / "line.txt").read_text()
    assert "def _query(self, name: str, arg: str)" in text
    assert "execute(sql, (arg,))" in text
    with pytest.raises(ValueError, match="module:qualname"):
        profile_command(variant_env("baseline"), "baseline", "line", 10, tmp_path,
                        functions=["no_colon"])


def test_memory_eager_and_lazy_side_by_side(variant_env: EnvFor, tmp_path: Path) -> None:
    result = profile_command(variant_env("baseline"), "baseline", "memory", MESSAGES, tmp_path)
    assert _png(tmp_path / "memory.png")
    lines = (tmp_path / "memory_lines.txt").read_text()
    assert "FAQ_LOADING=eager" in lines and "FAQ_LOADING=lazy" in lines
    assert "self.faq = FaqIndex(" in lines and "Mem usage" in lines
    sites = (tmp_path / "memory_tracemalloc.txt").read_text()
    assert "engine/faq.py:" in sites
    mem = memory_comparison(tmp_path / "memory.json")
    for numbers in (mem.eager, mem.lazy):
        assert numbers.rss_after_startup_mb > 0 and numbers.peak_mb > 0
        assert numbers.startup_s > 0
    assert mem.messages == MESSAGES and mem.n_faq == int(SMALL_ENV["FAQ_ARTICLES"])
    assert "eager" in result.summary and "lazy" in result.summary
    md = format_memory_markdown(mem)
    assert md.count("\n") == 8 and "| FAQ_LOADING | eager | lazy | lazy/eager |" in md
    data = json.loads((tmp_path / "memory.json").read_text())
    assert data["schema_version"] == 1 and set(data["series"]) == {"eager", "lazy"}


def test_memory_comparison_refuses_other_json() -> None:
    with pytest.raises(ValueError, match="schema_version"):
        memory_comparison({"schema_version": 99, "tool": "memory"})
    with pytest.raises(ValueError):
        memory_comparison({"schema_version": 1, "tool": "cprofile"})


def test_pyspy_skip_message_without_py_spy(variant_env: EnvFor, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pyspy_tool, "pyspy_path", lambda: None)
    result = profile_command(variant_env("baseline"), "baseline", "pyspy", MESSAGES, tmp_path)
    assert result.skipped and "pip install py-spy" in result.summary
    assert load_summary(tmp_path / "pyspy.json")["skipped"] is True


@pytest.mark.slow
def test_pyspy_flame_graph_of_the_service(variant_env: EnvFor, tmp_path: Path) -> None:
    result = profile_command(variant_env("baseline"), "baseline", "pyspy", MESSAGES, tmp_path)
    if pyspy_tool.pyspy_path() is None:
        assert result.skipped and "pip install py-spy" in result.summary
        return
    assert not result.skipped, result.summary
    svg = (tmp_path / "pyspy.svg").read_text()
    assert "<svg" in svg and "engine/" in svg
    assert load_summary(tmp_path / "pyspy.json")["skipped"] is False


def test_unknown_tool_and_result_round_trip(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cprofile, line, memory, pyspy"):
        profile_command({}, "baseline", "perf", 10, tmp_path)
    with pytest.raises(ValueError, match="line tool only"):
        profile_command({}, "baseline", "cprofile", 10, tmp_path, functions=["a:b"])
    assert TOOLS == ("cprofile", "line", "memory", "pyspy")
    assert default_out_dir("+redis_cache:tiered") == Path("profiles/out/+redis_cache_tiered")
    r = ProfileResult("cprofile", "baseline", (tmp_path / "a.json",), "text", False, ("n",))
    assert ProfileResult.from_dict(r.to_dict()) == r


def test_entry_under_python_m_cprofile(profile_data_dir: Path, tmp_path: Path) -> None:
    """The documented ``python -m cProfile -o out.prof -m profiles.entry`` works."""
    env = dict(os.environ, PERFLAB_DATA_DIR=str(profile_data_dir), **SMALL_ENV)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    out = tmp_path / "out.prof"
    proc = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), "-m",
                           "profiles.entry", "--messages", "50"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "50 messages" in proc.stderr
    import pstats

    stats = pstats.Stats(str(out)).stats  # type: ignore[attr-defined]
    funcs = {(Path(f[0]).name, f[2]) for f in stats}
    assert ("bot.py", "reply") in funcs and ("entry.py", "reply_all") in funcs
