"""The ``cprofile`` tool: deterministic profile of ``Bot.reply`` over the workload.

cProfile times every call, so absolute numbers are inflated (a call costs more
under the profiler) but the *shares* of cumulative time are what the report
needs: where the time of one reply goes, per variant. Outputs:

* ``cprofile.prof``  pstats file (``snakeviz``, ``python -m pstats``, summary.py)
* ``cprofile.txt``   the table sorted by cumulative time, then by internal time
* ``cprofile.png``   an icicle chart of the call tree, built from pstats' caller data
* ``cprofile.json``  a small summary (schema_version, top functions)
"""

from __future__ import annotations

import cProfile
import io
import pstats
import re
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .context import (
    ProfileContext,
    make_bot,
    redis_cleanup,
    reply_all,
    warmup_count,
    workload,
    write_json,
)

FuncKey = Tuple[str, int, str]  # pstats' (filename, line, function name)


@dataclass(frozen=True)
class FunctionStat:
    """One row of a profile: a function and its call count and times (seconds)."""

    file: str
    line: int
    name: str
    calls: int
    tottime: float
    cumtime: float

    @property
    def label(self) -> str:
        """``engine/bot.py:189(reply)``: short, and unique enough to line up variants."""
        return "%s:%d(%s)" % (short_path(self.file), self.line, self.name)

    def to_dict(self) -> Dict[str, Any]:
        return {"file": short_path(self.file), "line": self.line, "name": self.name,
                "label": self.label, "calls": self.calls, "tottime_s": self.tottime,
                "cumtime_s": self.cumtime}


def short_path(filename: str) -> str:
    """A path relative to the repo (``engine/bot.py``) or to site-packages/stdlib.

    Built-ins (``~``) stay as they are. Shortening makes two profiles taken from
    different checkouts line up by function.
    """
    if filename in ("~", "") or filename.startswith("<"):
        return filename
    p = filename.replace("\\", "/")
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in p:
            return p.split(marker, 1)[1]
    for top in ("engine", "service", "loadtests", "profiles", "perflab"):
        marker = "/%s/" % top
        if marker in p:
            return top + "/" + p.rsplit(marker, 1)[1]
    if "/lib/python" in p:
        rest = p.split("/lib/python", 1)[1]
        return rest.split("/", 1)[1] if "/" in rest else rest
    return p


def function_stats(stats: pstats.Stats) -> List[FunctionStat]:
    """Every function of a profile as rows (unsorted)."""
    raw: Dict[FuncKey, Tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    return [FunctionStat(f[0], f[1], f[2], int(v[1]), float(v[2]), float(v[3]))
            for f, v in raw.items()]


def top_functions(stats: pstats.Stats, n: int = 20, key: str = "cumtime",
                  skip_profiler_frames: bool = True) -> List[FunctionStat]:
    """Top ``n`` by cumulative (or internal) time, without the profiling harness itself.

    The harness's own frames (profiles/*, the ``disable`` call) would otherwise top
    every cumulative list with 100%, telling the reader nothing.
    """
    rows = function_stats(stats)
    if skip_profiler_frames:
        rows = [r for r in rows if not _is_harness(r)]
    rows.sort(key=lambda r: (-(r.cumtime if key == "cumtime" else r.tottime), r.label))
    return rows[:n]


def _is_harness(row: FunctionStat) -> bool:
    short = short_path(row.file)
    return short.startswith("profiles/") or "_lsprof.Profiler" in row.name


def run(ctx: ProfileContext) -> Dict[str, Any]:
    """Profile ``ctx.messages`` replies after a warm-up; write the four outputs."""
    warm = warmup_count(ctx.messages)
    ctx.progress("cprofile: building the bot (%s) and %d+%d workload messages"
                 % (ctx.variant_name, warm, ctx.messages))
    msgs = workload(ctx.config, warm + ctx.messages, ctx.workload_seed)
    with redis_cleanup(ctx):
        bot = make_bot(ctx.config)
        try:
            reply_all(bot, msgs[:warm])
            ctx.progress("cprofile: profiling %d messages" % ctx.messages)
            prof = cProfile.Profile()
            t0 = time.perf_counter()
            prof.enable()
            reply_all(bot, msgs[warm:])
            prof.disable()
            wall = time.perf_counter() - t0
        finally:
            bot.close()
    prof_path = ctx.path("cprofile.prof")
    prof.dump_stats(str(prof_path))
    stats = pstats.Stats(str(prof_path))
    txt_path = ctx.path("cprofile.txt")
    txt_path.write_text(format_table(stats, ctx, wall))
    png_path = ctx.path("cprofile.png")
    icicle_png(stats, png_path, "cProfile call tree: %s, %d messages (width = cumulative "
               "time)" % (ctx.variant_name, ctx.messages))
    top = top_functions(stats, 25)
    total = total_time(stats)
    json_path = write_json(ctx.path("cprofile.json"), {
        "tool": "cprofile", **ctx.metadata(), "warmup_messages": warm,
        "wall_s_under_profiler": wall, "profiled_total_s": total,
        "top_cumulative": [r.to_dict() for r in top],
        "top_internal": [r.to_dict() for r in top_functions(stats, 25, "tottime")],
        "files": {"prof": prof_path.name, "table": txt_path.name, "chart": png_path.name}})
    lines = ["cProfile of %s: %d messages, %.2f s under the profiler (%.2f ms/message)"
             % (ctx.variant_name, ctx.messages, wall, 1000.0 * wall / ctx.messages),
             "top by cumulative time:"]
    for r in top[:8]:
        lines.append("  %5.1f%%  %s" % (100.0 * r.cumtime / total if total else 0.0, r.label))
    return {"paths": (prof_path, txt_path, png_path, json_path), "summary": "\n".join(lines)}


def total_time(stats: pstats.Stats) -> float:
    """Profiled time: the cumulative time of the harness's loop (or the stats' total)."""
    loops = [r for r in function_stats(stats) if r.name == "reply_all"]
    if loops:
        return max(r.cumtime for r in loops)
    return float(stats.total_tt)  # type: ignore[attr-defined]


def format_table(stats: pstats.Stats, ctx: Optional[ProfileContext] = None,
                 wall: Optional[float] = None, limit: int = 50) -> str:
    """pstats' own tables (cumulative, then internal time) under a header with the run."""
    out = io.StringIO()
    if ctx is not None:
        out.write("cProfile of Bot.reply: variant %s, %d messages (after a warm-up), "
                  "carrier in-process\n" % (ctx.variant_name, ctx.messages))
        for text in ctx.notes:
            out.write("note: %s\n" % text)
    if wall is not None:
        out.write("wall time under the profiler: %.3f s\n" % wall)
    out.write("\n=== sorted by cumulative time ===\n")
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("cumulative", "name").print_stats(limit)
    out.write("\n=== sorted by internal (own) time ===\n")
    stats.sort_stats("tottime", "name").print_stats(limit)
    return _shorten_paths(out.getvalue())


def _shorten_paths(text: str) -> str:
    """Repo-relative paths in pstats' table, so ``engine/bot.py`` reads as such."""
    root = str(Path(__file__).resolve().parents[1]) + "/"
    return text.replace(root, "")


# ---- icicle chart ----------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """One rectangle of the icicle chart: a call path's node."""

    depth: int
    start: float  # seconds from the left edge
    width: float  # cumulative seconds along this path
    label: str


def icicle_boxes(stats: pstats.Stats, root_name: str = "reply_all", max_depth: int = 12,
                 min_share: float = 0.01) -> List[Box]:
    """Lay out the call tree below ``root_name`` from pstats' caller edges.

    pstats keeps, per function, the cumulative time spent in it *per caller*; that
    is a call graph, not a tree, so deeper levels are an approximation (a function
    called from two places is split by its callers' shares only one level up).
    Children wider than their parent (recursion) are scaled to fit.
    """
    raw: Dict[FuncKey, Tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    children: Dict[FuncKey, List[Tuple[FuncKey, float]]] = {}
    for func, value in raw.items():
        callers: Dict[FuncKey, Tuple[Any, ...]] = value[4]
        for caller, edge in callers.items():
            children.setdefault(caller, []).append((func, float(edge[3])))
    roots = [f for f in raw if f[2] == root_name]
    if not roots:
        return []
    root = max(roots, key=lambda f: float(raw[f][3]))
    total = float(raw[root][3])
    boxes: List[Box] = []

    def walk(func: FuncKey, depth: int, start: float, width: float,
             path: Tuple[FuncKey, ...]) -> None:
        boxes.append(Box(depth, start, width, _box_label(func)))
        if depth >= max_depth:
            return
        kids = [(f, w) for f, w in children.get(func, []) if f not in path and w > 0]
        kids.sort(key=lambda fw: -fw[1])
        s = sum(w for _, w in kids)
        scale = width / s if s > width > 0 else 1.0
        x = start
        for f, w in kids:
            w *= scale
            if w >= min_share * total:
                walk(f, depth + 1, x, w, (*path, f))
            x += w

    walk(root, 0, 0.0, total, (root,))
    return boxes


def _box_label(func: FuncKey) -> str:
    file, line, name = func
    if file == "~":  # built-in: "<method 'search' of 're.Pattern' objects>" -> re.Pattern.search
        m = re.match(r"<method '([^']+)' of '([^']+)' objects>", name)
        if m:
            return "%s.%s" % (m.group(2), m.group(1))
        return name.replace("<built-in method ", "").rstrip(">")
    return "%s\n%s:%d" % (name, short_path(file), line)


def icicle_png(stats: pstats.Stats, path: Path, title: str) -> Path:
    """Draw :func:`icicle_boxes` with matplotlib (Agg, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    boxes = icicle_boxes(stats)
    depth = max((b.depth for b in boxes), default=0) + 1
    fig, ax = plt.subplots(figsize=(16, 0.55 * depth + 1.5))
    total = max((b.width for b in boxes if b.depth == 0), default=1.0) or 1.0
    cmap = plt.get_cmap("tab20")
    for b in boxes:
        builtin = "\n" not in b.label
        color = "#dddddd" if builtin else cmap(zlib.crc32(b.label.encode()) % 20)
        ax.barh(-b.depth, b.width / total * 100.0, left=b.start / total * 100.0, height=0.95,
                color=color, edgecolor="white", linewidth=0.5)
        share = b.width / total
        if share > 0.04:
            text = b.label if share > 0.12 else b.label.split("\n")[0]
            ax.text((b.start + b.width / 2) / total * 100.0, -b.depth,
                    "%s (%.0f%%)" % (text.replace("\n", " "), share * 100.0)
                    if share > 0.12 else text, ha="center", va="center", fontsize=7,
                    clip_on=True)
    ax.set_xlim(0, 100)
    ax.set_ylim(-depth + 0.4, 0.6)
    ax.set_yticks([])
    ax.set_xlabel("% of profiled time (cumulative, by caller)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(str(path), dpi=110)
    plt.close(fig)
    return path
