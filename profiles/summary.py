"""Pure functions over profiling outputs, for the report's "Where the time goes".

The reports package reads files written by ``perflab profile`` through these
functions rather than parsing pstats or the JSON itself, so the shape of the
profile outputs can change in one place. Nothing here runs a profile, prints or
writes: inputs are file paths (or already loaded JSON), outputs are rows and
Markdown text.

    rows = top_cumulative_side_by_side(base_dir / "cprofile.prof",
                                       opt_dir / "cprofile.prof", n=10)
    print(format_side_by_side_markdown(rows))
    mem = memory_comparison(base_dir / "memory.json")
    print(format_memory_markdown(mem))
"""

from __future__ import annotations

import json
import pstats
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

from .context import SCHEMA_VERSION
from .cprof import FunctionStat, function_stats, top_functions, total_time

PathLike = Union[str, Path]


@dataclass(frozen=True)
class FunctionShare:
    """One function in one profile: cumulative seconds and share of the profiled total."""

    label: str  # engine/bot.py:221(reply)
    calls: int
    cumtime_s: float
    share: float  # 0..1 of the profiled loop's time
    per_message_ms: Optional[float] = None  # when the message count is known

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SideBySideRow:
    """Rank ``rank`` of each profile, plus each function's share in the *other* profile.

    ``baseline_share_in_optimised`` answers "what became of the baseline's #3 in the
    optimised build" (None: not called there at all, e.g. a cache made it vanish).
    """

    rank: int
    baseline: Optional[FunctionShare]
    optimised: Optional[FunctionShare]
    baseline_share_in_optimised: Optional[float]
    optimised_share_in_baseline: Optional[float]

    def to_dict(self) -> Dict[str, Any]:
        return {"rank": self.rank,
                "baseline": self.baseline.to_dict() if self.baseline else None,
                "optimised": self.optimised.to_dict() if self.optimised else None,
                "baseline_share_in_optimised": self.baseline_share_in_optimised,
                "optimised_share_in_baseline": self.optimised_share_in_baseline}


def load_stats(prof: PathLike) -> pstats.Stats:
    """A pstats.Stats from a .prof file (FileNotFoundError names the path)."""
    path = Path(prof)
    if not path.is_file():
        raise FileNotFoundError("no profile at %s (run perflab profile --tool cprofile)" % path)
    return pstats.Stats(str(path))


def top_cumulative(prof: PathLike, n: int = 10,
                   messages: Optional[int] = None) -> List[FunctionShare]:
    """Top ``n`` functions of one profile by cumulative time, the harness excluded."""
    stats = load_stats(prof)
    total = total_time(stats)
    return [_share(r, total, messages) for r in top_functions(stats, n)]


def top_cumulative_side_by_side(baseline_prof: PathLike, optimised_prof: PathLike,
                                n: int = 10, baseline_messages: Optional[int] = None,
                                optimised_messages: Optional[int] = None
                                ) -> List[SideBySideRow]:
    """The top ``n`` of each profile by cumulative time, rank by rank.

    Shares are of each profile's own total (the profiled loop), so two runs of
    different length or speed compare; functions are matched across profiles by
    their repo-relative ``file:line(name)`` label.
    """
    b_stats, o_stats = load_stats(baseline_prof), load_stats(optimised_prof)
    b_total, o_total = total_time(b_stats), total_time(o_stats)
    b_top = [_share(r, b_total, baseline_messages) for r in top_functions(b_stats, n)]
    o_top = [_share(r, o_total, optimised_messages) for r in top_functions(o_stats, n)]
    b_all = _shares_by_label(b_stats, b_total)
    o_all = _shares_by_label(o_stats, o_total)
    rows: List[SideBySideRow] = []
    for i in range(max(len(b_top), len(o_top))):
        b = b_top[i] if i < len(b_top) else None
        o = o_top[i] if i < len(o_top) else None
        rows.append(SideBySideRow(i + 1, b, o, o_all.get(b.label) if b else None,
                                  b_all.get(o.label) if o else None))
    return rows


def share_of(prof: PathLike, label_part: str) -> float:
    """Summed share of the profiled total of functions whose label contains the text.

    Cumulative times of nested functions overlap, so the sum is of the *outermost*
    matches only when they do not call each other; pass a specific label
    (``"re/__init__.py:272(_compile)"``) for a clean answer.
    """
    stats = load_stats(prof)
    total = total_time(stats)
    return sum(r.cumtime for r in function_stats(stats) if label_part in r.label) / total \
        if total else 0.0


def _share(row: FunctionStat, total: float, messages: Optional[int]) -> FunctionShare:
    return FunctionShare(row.label, row.calls, row.cumtime,
                         row.cumtime / total if total else 0.0,
                         1000.0 * row.cumtime / messages if messages else None)


def _shares_by_label(stats: pstats.Stats, total: float) -> Dict[str, float]:
    out: Dict[str, float] = {}
    for r in function_stats(stats):
        out[r.label] = out.get(r.label, 0.0) + (r.cumtime / total if total else 0.0)
    return out


def format_side_by_side_markdown(rows: List[SideBySideRow],
                                 names: Mapping[str, str] = {"baseline": "baseline",
                                                             "optimised": "optimised"}) -> str:
    """A Markdown table of :func:`top_cumulative_side_by_side` (shares in %)."""
    b_name, o_name = names["baseline"], names["optimised"]
    lines = ["| # | %s: function | cum. %% | in %s | %s: function | cum. %% | in %s |"
             % (b_name, o_name, o_name, b_name),
             "|---:|---|---:|---:|---|---:|---:|"]
    for r in rows:
        lines.append("| %d | %s | %s | %s | %s | %s | %s |" % (
            r.rank, _md_label(r.baseline), _pct(r.baseline.share if r.baseline else None),
            _pct(r.baseline_share_in_optimised, missing="not called" if r.baseline else ""),
            _md_label(r.optimised), _pct(r.optimised.share if r.optimised else None),
            _pct(r.optimised_share_in_baseline, missing="not called" if r.optimised else "")))
    return "\n".join(lines) + "\n"


def _md_label(share: Optional[FunctionShare]) -> str:
    if share is None:
        return ""
    return "`%s`" % share.label.replace("|", "\\|")


def _pct(value: Optional[float], missing: str = "") -> str:
    return missing if value is None else "%.1f" % (100.0 * value)


# ---- memory ------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryNumbers:
    """One FAQ loading mode's numbers from the memory tool (MB = 10^6 bytes)."""

    mode: str
    startup_mb: float  # RSS added by building the bot
    faq_index_mb: float  # RSS added while FaqIndex(...) was built (untraced run)
    rss_after_startup_mb: float
    rss_after_messages_mb: float
    peak_mb: float
    startup_s: float

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MemoryComparison:
    """Eager vs lazy from one memory.json, with lazy/eager ratios (the guide: 0.40)."""

    variant: str
    messages: int
    n_faq: Optional[int]
    eager: MemoryNumbers
    lazy: MemoryNumbers

    @property
    def startup_ratio(self) -> Optional[float]:
        """lazy/eager RSS added by start-up (the guide's "60% less memory" is 0.40)."""
        return _ratio(self.lazy.startup_mb, self.eager.startup_mb)

    @property
    def faq_index_ratio(self) -> Optional[float]:
        return _ratio(self.lazy.faq_index_mb, self.eager.faq_index_mb)

    @property
    def peak_ratio(self) -> Optional[float]:
        return _ratio(self.lazy.peak_mb, self.eager.peak_mb)

    def to_dict(self) -> Dict[str, Any]:
        return {"variant": self.variant, "messages": self.messages, "n_faq": self.n_faq,
                "eager": self.eager.to_dict(), "lazy": self.lazy.to_dict(),
                "startup_ratio": self.startup_ratio, "faq_index_ratio": self.faq_index_ratio,
                "peak_ratio": self.peak_ratio}


def _ratio(a: float, b: float) -> Optional[float]:
    return a / b if b > 0 else None


def memory_comparison(memory_json: Union[PathLike, Mapping[str, Any]]) -> MemoryComparison:
    """Eager vs lazy numbers from the memory tool's JSON (a path or the loaded dict)."""
    data: Mapping[str, Any]
    if isinstance(memory_json, Mapping):
        data = memory_json
    else:
        data = json.loads(Path(memory_json).read_text())
    version = data.get("schema_version")
    if version != SCHEMA_VERSION or data.get("tool") != "memory":
        raise ValueError("not a memory profile of schema_version %d (got tool=%r, "
                         "schema_version=%r)" % (SCHEMA_VERSION, data.get("tool"), version))
    modes = data["modes"]
    config = data.get("config") or {}
    n_faq = config.get("FAQ_ARTICLES")
    return MemoryComparison(str(data.get("variant", "")), int(data.get("messages", 0)),
                            int(n_faq) if n_faq is not None else None,
                            _numbers("eager", modes["eager"]), _numbers("lazy", modes["lazy"]))


def _numbers(mode: str, row: Mapping[str, Any]) -> MemoryNumbers:
    return MemoryNumbers(mode, float(row["startup_mb"]), float(row.get("faq_index_mb", 0.0)),
                         float(row["rss_after_startup_mb"]), float(row["rss_after_messages_mb"]),
                         float(row["peak_mb"]), float(row.get("startup_s", 0.0)))


def format_memory_markdown(mem: MemoryComparison) -> str:
    """A Markdown table: eager, lazy and lazy/eager per figure."""
    def ratio(a: float, b: float) -> str:
        r = _ratio(a, b)
        return "" if r is None else "%.2f" % r

    rows = [("RSS added by bot start-up (MB)", mem.eager.startup_mb, mem.lazy.startup_mb),
            ("of which the FAQ index (MB)", mem.eager.faq_index_mb, mem.lazy.faq_index_mb),
            ("RSS after start-up (MB)", mem.eager.rss_after_startup_mb,
             mem.lazy.rss_after_startup_mb),
            ("RSS after %d messages (MB)" % mem.messages, mem.eager.rss_after_messages_mb,
             mem.lazy.rss_after_messages_mb),
            ("peak RSS (MB)", mem.eager.peak_mb, mem.lazy.peak_mb),
            ("start-up time (s)", mem.eager.startup_s, mem.lazy.startup_s)]
    lines = ["| FAQ_LOADING | eager | lazy | lazy/eager |", "|---|---:|---:|---:|"]
    lines.extend("| %s | %.1f | %.1f | %s |" % (name, e, lz, ratio(lz, e))
                 for name, e, lz in rows)
    return "\n".join(lines) + "\n"


def load_summary(path: PathLike) -> Dict[str, Any]:
    """Any tool's JSON summary, refusing an unknown schema_version."""
    data: Dict[str, Any] = json.loads(Path(path).read_text())
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ValueError("%s: schema_version %r, expected %d"
                         % (path, data.get("schema_version"), SCHEMA_VERSION))
    return data
