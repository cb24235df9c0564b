"""The ``line`` tool: line_profiler on the engine's hot functions.

cProfile says *which* functions cost; line_profiler says which *lines* inside
them. Functions are named (``--functions engine.intents:IntentClassifier.scores``)
or chosen from a short cProfile pass: the engine functions with the most own
(internal) time, since those are the ones whose lines do the work rather than
delegate it. Outputs: ``line.txt`` (annotated source), ``line.lprof``
(``python -m line_profiler line.lprof``) and ``line.json``.
"""

from __future__ import annotations

import cProfile
import importlib
import inspect
import io
import pstats
from pathlib import Path
from types import FunctionType
from typing import Any, Callable, Dict, List, Optional, Tuple

from .context import (
    REPO_ROOT,
    ProfileContext,
    make_bot,
    redis_cleanup,
    reply_all,
    warmup_count,
    workload,
    write_json,
)
from .cprof import FunctionStat, function_stats, short_path

DEFAULT_COUNT = 4  # hot functions profiled when none are named
# Dispatchers whose lines only delegate: skipped when choosing automatically.
_NOT_HOT = {"reply", "_resolve", "classify", "_classify", "_search_per_call",
            "_finditer_per_call"}


def resolve_function(spec: str) -> Callable[..., Any]:
    """``module:qualname`` (``engine.faq:FaqIndex.search``) to the function object."""
    module_name, sep, qualname = spec.partition(":")
    if not sep or not module_name or not qualname:
        raise ValueError("function %r: expected module:qualname, e.g. "
                         "engine.intents:IntentClassifier.scores" % spec)
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError("function %r: %r has no attribute %r" % (spec, obj, part)) from None
    obj = inspect.unwrap(getattr(obj, "__func__", obj))
    if not isinstance(obj, FunctionType):
        raise ValueError("function %r is a %s, not a Python function"
                         % (spec, type(obj).__name__))
    return obj


def function_for(row: FunctionStat) -> Optional[Tuple[str, Callable[..., Any]]]:
    """The engine function a pstats row stands for, as (``module:qualname``, function).

    pstats keeps only file, first line and bare name, so the module is derived from
    the repo-relative path and the function found by its code object's first line.
    """
    short = short_path(row.file)
    if not short.startswith("engine/") or not short.endswith(".py"):
        return None
    module_name = short[:-3].replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    for qualname, func in _functions_of(module):
        code = func.__code__
        if code.co_firstlineno == row.line and code.co_name == row.name:
            return "%s:%s" % (module_name, qualname), func
    return None


def _functions_of(module: Any) -> List[Tuple[str, FunctionType]]:
    out: List[Tuple[str, FunctionType]] = []
    for name, obj in vars(module).items():
        if isinstance(obj, FunctionType) and obj.__module__ == module.__name__:
            out.append((name, obj))
        elif inspect.isclass(obj) and obj.__module__ == module.__name__:
            for attr, member in vars(obj).items():
                func = getattr(member, "__func__", member)
                if isinstance(func, FunctionType):
                    out.append(("%s.%s" % (name, attr), func))
    return out


def hot_scores(stats: pstats.Stats) -> Dict[Tuple[str, int, str], float]:
    """Per engine function: its own time plus that of non-engine callees it calls directly.

    ``OrderStore._query`` spends its time inside sqlite3's ``execute`` (a built-in
    with its own row in pstats); charging such callees to their engine caller makes
    the function whose *line* issues the expensive call count as hot.
    """
    raw: Dict[Tuple[str, int, str], Tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    scores: Dict[Tuple[str, int, str], float] = {}
    for func, value in raw.items():
        if _is_engine(func):
            scores[func] = scores.get(func, 0.0) + float(value[2])
            continue
        for caller, edge in value[4].items():
            if _is_engine(caller):
                scores[caller] = scores.get(caller, 0.0) + float(edge[2])
    return scores


def _is_engine(func: Tuple[str, int, str]) -> bool:
    return short_path(func[0]).startswith("engine/")


def choose_hot(stats: pstats.Stats, count: int = DEFAULT_COUNT) -> List[str]:
    """The ``count`` hottest engine functions (:func:`hot_scores`), as module:qualname."""
    scores = hot_scores(stats)
    rows = {(r.file, r.line, r.name): r for r in function_stats(stats)}
    chosen: List[str] = []
    for func in sorted(scores, key=lambda f: -scores[f]):
        row = rows[func]
        if row.name in _NOT_HOT or row.name.startswith("<"):
            continue
        found = function_for(row)
        if found is not None and found[0] not in chosen:
            chosen.append(found[0])
        if len(chosen) >= count:
            break
    return chosen


def run(ctx: ProfileContext, functions: Optional[List[str]] = None) -> Dict[str, Any]:
    """Line-profile the named (or hottest) engine functions over ``ctx.messages`` replies."""
    from line_profiler import LineProfiler

    warm = warmup_count(ctx.messages)
    msgs = workload(ctx.config, warm + ctx.messages, ctx.workload_seed)
    with redis_cleanup(ctx):
        bot = make_bot(ctx.config)
        try:
            reply_all(bot, msgs[:warm])
            if functions:
                specs = list(functions)
                how = "named on the command line"
            else:
                ctx.progress("line: choosing hot functions from a short cProfile pass")
                probe = msgs[warm:warm + min(ctx.messages, 1000)]
                prof = cProfile.Profile()
                prof.runcall(reply_all, bot, probe)
                specs = choose_hot(pstats.Stats(prof))
                how = ("top engine functions by own time (with direct built-in/stdlib "
                       "callees) in a cProfile pass of %d messages" % len(probe))
            targets = [resolve_function(s) for s in specs]
            ctx.progress("line: profiling %s over %d messages" % (", ".join(specs),
                                                                  ctx.messages))
            lp = LineProfiler()
            for func in targets:
                lp.add_function(func)
            lp.enable_by_count()
            try:
                reply_all(bot, msgs[warm:])
            finally:
                lp.disable_by_count()
        finally:
            bot.close()
    lprof_path = ctx.path("line.lprof")
    lp.dump_stats(str(lprof_path))
    buf = io.StringIO()
    lp.print_stats(stream=buf, output_unit=1e-3, stripzeros=True)
    txt_path = ctx.path("line.txt")
    header = ("line_profiler of %s over %d messages (after a warm-up), times in ms\n"
              "functions (%s): %s\n" % (ctx.variant_name, ctx.messages, how,
                                       ", ".join(specs)))
    header += "".join("note: %s\n" % n for n in ctx.notes)
    txt_path.write_text(header + "\n" + buf.getvalue().replace(str(REPO_ROOT) + "/", ""))
    per_function = _totals(lp)
    json_path = write_json(ctx.path("line.json"), {
        "tool": "line", **ctx.metadata(), "functions": specs, "chosen_by": how,
        "per_function": per_function,
        "files": {"table": txt_path.name, "lprof": lprof_path.name}})
    lines = ["line_profiler of %s: %d messages, functions %s" % (ctx.variant_name,
                                                                  ctx.messages, how)]
    for item in per_function:
        lines.append("  %8.1f ms  %s (hottest line %s: %.0f%%)" % (
            item["total_ms"], item["function"], item["hottest_line"],
            100.0 * item["hottest_share"]))
    return {"paths": (txt_path, lprof_path, json_path), "summary": "\n".join(lines)}


def _totals(lp: Any) -> List[Dict[str, Any]]:
    """Per profiled function: total ms and its hottest line (from the raw timings)."""
    stats = lp.get_stats()
    unit = float(stats.unit)
    out: List[Dict[str, Any]] = []
    for (filename, first_line, name), timings in sorted(stats.timings.items()):
        total = sum(t for _, _, t in timings) * unit
        hottest = max(timings, key=lambda x: x[2], default=None)
        out.append({"function": "%s:%d(%s)" % (_rel(filename), first_line, name),
                    "total_ms": total * 1000.0,
                    "hottest_line": hottest[0] if hottest else None,
                    "hottest_share": (hottest[2] * unit / total) if hottest and total else 0.0})
    return out


def _rel(filename: str) -> str:
    try:
        return str(Path(filename).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return filename
