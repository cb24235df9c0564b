"""The ``memory`` tool: start-up, FAQ loading and N messages, eager vs lazy side by side.

FAQ_LOADING is a memory toggle, so both modes are always measured, each in a
fresh interpreter: RSS only grows within a process (freed memory stays with the
allocator), so a second Bot built in the same process would be measured on top
of the first one's leftovers. Per mode two children run:

* ``timeline``: nothing traced; ``memory_profiler.memory_usage`` samples RSS
  while the bot starts and answers the messages. These are the clean numbers
  (RSS after start-up, after the messages, peak) and the plot.
* ``detail``: memory_profiler's line-by-line increments of ``Bot.__init__``
  and ``FaqIndex.__init__`` (how much each start-up step adds), and tracemalloc's
  top allocation sites after start-up and their growth over (at most 1,000) messages.
  Tracing inflates this child's RSS, which is why its numbers are not the
  headline ones.

Outputs: ``memory.png``, ``memory_lines.txt``, ``memory_tracemalloc.txt``,
``memory.json`` (schema_version; ``summary.memory_comparison`` reads it).

    python -m profiles.memprof --probe timeline --env-json F --loading lazy --messages N
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .context import (
    REPO_ROOT,
    WORKLOAD_SEED,
    ProfileContext,
    delete_redis_prefix,
    make_bot,
    subprocess_env,
    workload,
    write_json,
)

MODES = ("eager", "lazy")
SAMPLE_INTERVAL_S = 0.02
PROBE_TIMEOUT_S = 900.0
TRACEMALLOC_TOP = 15
DETAIL_MESSAGES = 1000  # tracemalloc makes each reply several times slower: cap the traced run


def rss_mb() -> float:
    """Resident set size of this process now, MB (10^6 bytes, like bench_engine)."""
    import psutil

    return float(psutil.Process().memory_info().rss) / 1e6


# ---- the children ------------------------------------------------------------------


def probe_timeline(env: Dict[str, str], messages: int, seed: int) -> Dict[str, Any]:
    """RSS over time while the bot starts and answers; phase marks in seconds."""
    from memory_profiler import memory_usage

    from engine.config import EngineConfig
    from engine.faq import FaqIndex

    config = EngineConfig.from_env(env)
    marks: Dict[str, float] = {}
    rss: Dict[str, float] = {}
    # This child is thrown away: wrapping FaqIndex.__init__ here measures the index's
    # own RSS without tracing anything (the engine is not modified).
    original_init = FaqIndex.__init__

    def measured_init(self: Any, *args: Any, **kwargs: Any) -> None:
        before = rss_mb()
        original_init(self, *args, **kwargs)
        rss["faq_index"] = rss_mb() - before

    FaqIndex.__init__ = measured_init  # type: ignore[method-assign]

    def work() -> None:
        marks["start"] = time.time()
        rss["before"] = rss_mb()
        msgs = workload(config, messages, seed)
        marks["workload_ready"] = time.time()
        rss["after_workload"] = rss_mb()
        bot = make_bot(config)
        marks["started"] = time.time()
        rss["after_startup"] = rss_mb()
        try:
            reply = bot.reply
            for sid, text in msgs:
                reply(sid, text)
        finally:
            bot.close()
        marks["done"] = time.time()
        rss["after_messages"] = rss_mb()

    samples = memory_usage((work, (), {}), interval=SAMPLE_INTERVAL_S, timestamps=True,
                           backend="psutil")
    t0 = marks["start"]
    series = [(float(ts) - t0, float(mem) * 1.048576) for mem, ts in samples]  # MiB -> MB
    peak = max([m for _, m in series] + [v for k, v in rss.items() if k != "faq_index"])
    return {
        "rss_before_mb": rss["before"],
        "rss_after_workload_mb": rss["after_workload"],
        "rss_after_startup_mb": rss["after_startup"],
        "rss_after_messages_mb": rss["after_messages"],
        "startup_mb": rss["after_startup"] - rss["after_workload"],
        "faq_index_mb": rss.get("faq_index", 0.0),
        "messages_mb": rss["after_messages"] - rss["after_startup"],
        "peak_mb": peak,
        "startup_s": marks["started"] - marks["workload_ready"],
        "messages_s": marks["done"] - marks["started"],
        "marks_s": {k: v - t0 for k, v in marks.items()},
        "series": series,
    }


def probe_detail(env: Dict[str, str], messages: int, seed: int) -> Dict[str, Any]:
    """Line-by-line increments of start-up and tracemalloc's top allocation sites."""
    import tracemalloc

    from memory_profiler import LineProfiler, show_results

    from engine.bot import Bot
    from engine.config import EngineConfig
    from engine.faq import FaqIndex

    config = EngineConfig.from_env(env)
    msgs = workload(config, min(messages, DETAIL_MESSAGES), seed)
    lp = _scoped_line_profiler(LineProfiler)
    lp.add_function(Bot.__init__)
    lp.add_function(FaqIndex.__init__)
    tracemalloc.start(1)
    lp.enable_by_count()
    try:
        bot = make_bot(config)
    finally:
        lp.disable_by_count()
    after_startup = tracemalloc.take_snapshot()
    try:
        reply = bot.reply
        for sid, text in msgs:
            reply(sid, text)
        after_messages = tracemalloc.take_snapshot()
        traced_now, traced_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        bot.close()
    buf = io.StringIO()
    show_results(lp, stream=buf, precision=1)
    return {
        "lines": buf.getvalue().replace(str(REPO_ROOT) + "/", ""),
        "faq_index_mb_traced": _line_increment(lp, "self.faq = FaqIndex(") * 1.048576,
        "startup_top": _top_sites(after_startup, None),
        "messages_growth": _top_sites(after_messages, after_startup),
        "traced_after_messages_mb": traced_now / 1e6,
        "traced_peak_mb": traced_peak / 1e6,
        "messages": len(msgs),
    }


def _scoped_line_profiler(base: Any) -> Any:
    """memory_profiler's LineProfiler, tracing lines of the profiled functions only.

    Stock memory_profiler installs its line tracer in *every* frame below a profiled
    one, which makes building the spell corrector and the FAQ index (millions of
    line events) take minutes; lines of unprofiled callees add nothing to the report.
    """

    class ScopedLineProfiler(base):
        def trace_memory_usage(self, frame: Any, event: str, arg: Any) -> Any:
            if event == "call" and frame.f_code not in self.code_map:
                return None
            return super().trace_memory_usage(frame, event, arg)

    return ScopedLineProfiler(backend="psutil")


def _line_increment(lp: Any, source_prefix: str) -> float:
    """RSS added by the statement starting with ``source_prefix`` (MiB).

    memory_profiler's "Increment" column sums over a multi-line statement's line
    events, so the statement's own effect is taken as its "Mem usage" minus that of
    the statement executed before it.
    """
    import linecache

    for filename, lines in lp.code_map.items():
        src = linecache.getlines(filename)
        previous: Optional[float] = None
        for lineno, mem in lines:
            if not mem:
                continue
            if lineno - 1 < len(src) and src[lineno - 1].strip().startswith(source_prefix):
                return float(mem[1]) - (previous if previous is not None else float(mem[1]))
            previous = float(mem[1])
    return 0.0


def _top_sites(snapshot: Any, base: Any) -> List[Dict[str, Any]]:
    """Top allocation sites by size (or by growth since ``base``), paths repo-relative."""
    import tracemalloc

    snapshot = snapshot.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    if base is not None:
        stats = snapshot.compare_to(base, "lineno")[:TRACEMALLOC_TOP]
        return [{"site": _site(s.traceback), "size_mb": s.size / 1e6,
                 "growth_mb": s.size_diff / 1e6, "count": s.count} for s in stats]
    return [{"site": _site(s.traceback), "size_mb": s.size / 1e6, "count": s.count}
            for s in snapshot.statistics("lineno")[:TRACEMALLOC_TOP]]


def _site(traceback: Any) -> str:
    frame = traceback[0]
    name = frame.filename.replace(str(REPO_ROOT) + "/", "")
    return "%s:%d" % (name, frame.lineno)


def _probe_main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m profiles.memprof",
                                 description="one memory probe in a fresh process")
    ap.add_argument("--probe", choices=("timeline", "detail"), required=True)
    ap.add_argument("--env-json", type=Path, required=True)
    ap.add_argument("--loading", choices=MODES, required=True)
    ap.add_argument("--messages", type=int, required=True)
    ap.add_argument("--seed", type=int, default=WORKLOAD_SEED)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    env = json.loads(args.env_json.read_text())
    env["FAQ_LOADING"] = args.loading
    probe = probe_timeline if args.probe == "timeline" else probe_detail
    args.out.write_text(json.dumps(probe(env, args.messages, args.seed)))
    return 0


# ---- the parent ----------------------------------------------------------------------


def _child(ctx: ProfileContext, probe: str, loading: str, env_file: Path,
           tmp: Path) -> Dict[str, Any]:
    out = tmp / ("%s-%s.json" % (probe, loading))
    cmd = [sys.executable, "-m", "profiles.memprof", "--probe", probe, "--env-json",
           str(env_file), "--loading", loading, "--messages", str(ctx.messages),
           "--seed", str(ctx.workload_seed), "--out", str(out)]
    proc = subprocess.run(cmd, cwd=str(REPO_ROOT), env=subprocess_env(), capture_output=True,
                          text=True, timeout=PROBE_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        raise RuntimeError("memory probe %s/%s failed (exit %d):\n%s"
                           % (probe, loading, proc.returncode, proc.stderr[-3000:]))
    data: Dict[str, Any] = json.loads(out.read_text())
    return data


def run(ctx: ProfileContext) -> Dict[str, Any]:
    """Both FAQ loading modes, two fresh children each; write the four outputs."""
    timeline: Dict[str, Dict[str, Any]] = {}
    detail: Dict[str, Dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="perflab-mem-") as tmpdir:
        tmp = Path(tmpdir)
        env_file = tmp / "env.json"
        env_file.write_text(json.dumps(ctx.env))
        try:
            for loading in MODES:
                ctx.progress("memory: %s, timeline (fresh process, %d messages)"
                             % (loading, ctx.messages))
                timeline[loading] = _child(ctx, "timeline", loading, env_file, tmp)
                ctx.progress("memory: %s, line-by-line + tracemalloc (fresh process)" % loading)
                detail[loading] = _child(ctx, "detail", loading, env_file, tmp)
        finally:
            if ctx.config.uses_redis:
                delete_redis_prefix(ctx.config.redis_url, ctx.config.redis_prefix)
    png = plot_timeline(timeline, ctx.path("memory.png"),
                        "RSS over time: %s, FAQ_ARTICLES=%d, %d messages (fresh process each)"
                        % (ctx.variant_name, ctx.config.n_faq, ctx.messages))
    lines_path = ctx.path("memory_lines.txt")
    lines_path.write_text("".join(
        "==== FAQ_LOADING=%s: memory_profiler, line by line (start-up) ====\n"
        "(a traced run with tracemalloc on: figures include tracing overhead; the clean\n"
        " numbers are in memory.json. A call into another profiled function shows that\n"
        " function's whole RSS as its 'Increment': read 'Mem usage' differences instead.)\n"
        "%s\n"
        % (m, detail[m]["lines"]) for m in MODES))
    tm_path = ctx.path("memory_tracemalloc.txt")
    tm_path.write_text(format_tracemalloc(detail))
    modes: Dict[str, Dict[str, Any]] = {}
    for m in MODES:
        row = {k: v for k, v in timeline[m].items() if k != "series"}
        row["faq_index_mb_traced"] = detail[m]["faq_index_mb_traced"]
        row["tracemalloc_startup_top"] = detail[m]["startup_top"]
        row["tracemalloc_messages_growth"] = detail[m]["messages_growth"]
        modes[m] = row
    json_path = write_json(ctx.path("memory.json"), {
        "tool": "memory", **ctx.metadata(), "units": "MB (10^6 bytes)",
        "modes": modes, "series": {m: timeline[m]["series"] for m in MODES},
        "files": {"plot": png.name, "lines": lines_path.name, "tracemalloc": tm_path.name}})
    return {"paths": (png, lines_path, tm_path, json_path), "summary": format_summary(
        ctx.variant_name, ctx.messages, modes)}


def format_summary(variant: str, messages: int, modes: Dict[str, Dict[str, Any]]) -> str:
    """The terminal lines: eager vs lazy, side by side."""
    lines = ["memory of %s (FAQ_LOADING eager vs lazy, fresh process each, %d messages):"
             % (variant, messages),
             "  %-6s %12s %12s %15s %16s %9s" % ("mode", "bot start-up", "FAQ index",
                                               "after start-up", "after messages", "peak")]
    for m, r in modes.items():
        lines.append("  %-6s %9.1f MB %9.1f MB %12.1f MB %13.1f MB %6.1f MB" % (
            m, r["startup_mb"], r["faq_index_mb"], r["rss_after_startup_mb"],
            r["rss_after_messages_mb"], r["peak_mb"]))
    if "eager" in modes and "lazy" in modes and modes["eager"]["startup_mb"] > 0:
        ratio = modes["lazy"]["startup_mb"] / modes["eager"]["startup_mb"]
        lines.append("  lazy/eager bot start-up memory: %.2f (the guide claims 0.40)" % ratio)
    return "\n".join(lines)


def format_tracemalloc(detail: Dict[str, Dict[str, Any]]) -> str:
    out: List[str] = []
    for m, d in detail.items():
        out.append("==== FAQ_LOADING=%s: top allocation sites after start-up ====" % m)
        out.extend("%10.2f MB %8d blocks  %s" % (s["size_mb"], s["count"], s["site"])
                   for s in d["startup_top"])
        out.append("\n==== FAQ_LOADING=%s: growth over the first %d messages ===="
                   % (m, d["messages"]))
        out.extend("%+10.2f MB (now %.2f MB)  %s" % (s["growth_mb"], s["size_mb"], s["site"])
                   for s in d["messages_growth"])
        out.append("traced after messages: %.1f MB, traced peak: %.1f MB\n"
                   % (d["traced_after_messages_mb"], d["traced_peak_mb"]))
    return "\n".join(out) + "\n"


def plot_timeline(timeline: Dict[str, Dict[str, Any]], path: Path, title: str) -> Path:
    """RSS over time, one line per mode, start-up end marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5))
    colors = {"eager": "tab:red", "lazy": "tab:blue"}
    for m, data in timeline.items():
        series: List[Tuple[float, float]] = [(float(p[0]), float(p[1])) for p in data["series"]]
        ax.plot([t for t, _ in series], [v for _, v in series], label="FAQ_LOADING=" + m,
                color=colors.get(m))
        marks = data["marks_s"]
        ax.axvline(marks["workload_ready"], color=colors.get(m), linestyle=":", alpha=0.6)
        ax.axvline(marks["started"], color=colors.get(m), linestyle="--", alpha=0.6)
    ax.set_xlabel("seconds since the process began work (dotted: bot start-up begins; "
                  "dashed: first message)")
    ax.set_ylabel("RSS (MB)")
    ax.set_title(title, fontsize=10)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(str(path), dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.exit(_probe_main())
