"""'Where the time goes': the profiles of baseline and optimised, side by side.

``perflab run`` profiles both variants into ``RUN_DIR/profiles/<variant>/``
(cProfile always; the memory tool in the full plan). This module reads those
files through ``profiles.summary`` and returns plain rows for the renderers;
without profiles the section says how to make them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional


@dataclass(frozen=True)
class TimeSection:
    rows: List[Dict[str, str]] = field(default_factory=list)  # side by side, top by cumulative
    memory: List[Dict[str, str]] = field(default_factory=list)  # eager vs lazy
    note: str = ""


def _pct(x: Optional[float]) -> str:
    return "-" if x is None else "%.1f%%" % (100 * x)


def _messages(path: Path) -> Optional[int]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    value = data.get("messages") or data.get("summary", {}).get("messages")
    return int(value) if isinstance(value, (int, float)) else None


def where_time_goes(run_dir: Path, n: int = 10) -> TimeSection:
    """Rows for the section, from the run's profiles (empty with a note when absent)."""
    base = Path(run_dir) / "profiles" / "baseline"
    opt = Path(run_dir) / "profiles" / "optimised"
    how = ("make them with `perflab profile --tool cprofile --variant baseline` and "
           "`--variant optimised`, or a plan with profile_messages > 0")
    if not (base / "cprofile.prof").exists() or not (opt / "cprofile.prof").exists():
        return TimeSection(note="No profiles in this run: " + how)
    from profiles.summary import memory_comparison, top_cumulative_side_by_side

    pairs = top_cumulative_side_by_side(base / "cprofile.prof", opt / "cprofile.prof", n,
                                        _messages(base / "cprofile.json"),
                                        _messages(opt / "cprofile.json"))
    rows = []
    for p in pairs:
        rows.append({
            "rank": str(p.rank),
            "baseline": p.baseline.label if p.baseline else "-",
            "baseline_share": _pct(p.baseline.share if p.baseline else None),
            "baseline_in_opt": _pct(p.baseline_share_in_optimised),
            "optimised": p.optimised.label if p.optimised else "-",
            "optimised_share": _pct(p.optimised.share if p.optimised else None),
            "optimised_in_base": _pct(p.optimised_share_in_baseline),
        })
    memory: List[Dict[str, str]] = []
    mem_json = base / "memory.json"
    if mem_json.exists():
        mem = memory_comparison(mem_json)
        for label, attr in (("bot start-up", "startup_mb"), ("FAQ index", "faq_index_mb"),
                            ("peak RSS", "peak_mb")):
            e = getattr(mem.eager, attr, None)
            lz = getattr(mem.lazy, attr, None)
            if e is None or lz is None:
                continue
            memory.append({"figure": label, "eager": "%.1f MB" % e, "lazy": "%.1f MB" % lz,
                           "ratio": "%.2f" % (lz / e) if e else "-"})
    note = ("cProfile of the engine in-process over the same workload (carrier answered "
            "in-process): share of the profiled loop's time by cumulative time; 'in the "
            "other' is that function's share in the other profile (- = not called). "
            "cProfile adds a cost per call: read shares, not seconds.")
    if not memory:
        note += " No memory profile in this run (the full plan makes one)."
    return TimeSection(rows, memory, note)


def format_markdown(section: TimeSection) -> List[str]:
    out = ["## Where the time goes", "", section.note, ""]
    if section.rows:
        out += ["| # | baseline | share | in optimised | optimised | share | in baseline |",
                "|---|---|---|---|---|---|---|"]
        for r in section.rows:
            out.append("| %(rank)s | %(baseline)s | %(baseline_share)s | %(baseline_in_opt)s | "
                       "%(optimised)s | %(optimised_share)s | %(optimised_in_base)s |" % r)
        out.append("")
    if section.memory:
        out += ["FAQ loading, eager vs lazy (fresh process each):", "",
                "| figure | eager | lazy | lazy/eager |", "|---|---|---|---|"]
        out += ["| %(figure)s | %(eager)s | %(lazy)s | %(ratio)s |" % m for m in section.memory]
        out.append("")
    return out
