"""``perflab profile``'s entry point: one function, one dispatch table of tools.

perflab/cli.py parses the flags and calls :func:`profile_command`; this module
never parses arguments nor prints (progress goes through the ``progress``
callback), so tests and notebooks call it the same way the CLI does.

    result = profile_command(resolve("baseline").env, "baseline", "cprofile", 5000,
                             Path("profiles/out/baseline"))
    print(result.summary)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from .context import ProfileContext, build_context

TOOLS = ("cprofile", "line", "memory", "pyspy")
DEFAULT_OUT_ROOT = Path("profiles") / "out"


@dataclass(frozen=True)
class ProfileResult:
    """What one tool produced: output files, a short text for the terminal, notes."""

    tool: str
    variant: str
    paths: Tuple[Path, ...]
    summary: str
    skipped: bool = False
    notes: Tuple[str, ...] = field(default_factory=tuple)

    @property
    def json_path(self) -> Optional[Path]:
        """The tool's JSON summary (schema_version'd), if it wrote one."""
        for p in self.paths:
            if p.suffix == ".json":
                return p
        return None

    def to_dict(self) -> Dict[str, Any]:
        return {"tool": self.tool, "variant": self.variant,
                "paths": [str(p) for p in self.paths], "summary": self.summary,
                "skipped": self.skipped, "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> ProfileResult:
        return cls(str(data["tool"]), str(data["variant"]),
                   tuple(Path(p) for p in data["paths"]), str(data["summary"]),
                   bool(data.get("skipped", False)), tuple(data.get("notes", ())))


def default_out_dir(variant_name: str, root: Path = DEFAULT_OUT_ROOT) -> Path:
    """``profiles/out/<variant>/`` with characters a folder name dislikes replaced."""
    safe = "".join(c if c.isalnum() or c in "+-_.@" else "_" for c in variant_name)
    return root / (safe or "variant")


def profile_command(variant_env: Dict[str, str], variant_name: str, tool: str, messages: int,
                    out_dir: Path, functions: Optional[List[str]] = None,
                    progress: Optional[Callable[[str], None]] = None) -> ProfileResult:
    """Run one profiling tool on one variant and return what it wrote.

    ``variant_env`` is the variant's environment (``perflab.variants.resolve(name).env``
    plus any data settings such as PERFLAB_DATA_DIR); only the engine's variables are
    read. ``functions`` (``module:qualname``) applies to the ``line`` tool only: without
    it the hot functions are taken from a short cProfile pass. Raises ValueError for an
    unknown tool, ConfigError for a bad toggle value.
    """
    if tool not in _TOOLS:
        raise ValueError("unknown profile tool %r; choose one of: %s" % (tool, ", ".join(TOOLS)))
    if functions and tool != "line":
        raise ValueError("--functions applies to the line tool only")
    ctx = build_context(variant_env, variant_name, messages, Path(out_dir), progress)
    out = _TOOLS[tool](ctx, functions)
    return ProfileResult(tool, variant_name, tuple(out["paths"]), str(out["summary"]),
                         bool(out.get("skipped", False)), tuple(ctx.notes))


def _cprofile(ctx: ProfileContext, _functions: Optional[List[str]]) -> Dict[str, Any]:
    from . import cprof

    return cprof.run(ctx)


def _line(ctx: ProfileContext, functions: Optional[List[str]]) -> Dict[str, Any]:
    from . import lineprof

    return lineprof.run(ctx, functions)


def _memory(ctx: ProfileContext, _functions: Optional[List[str]]) -> Dict[str, Any]:
    from . import memprof

    return memprof.run(ctx)


def _pyspy(ctx: ProfileContext, _functions: Optional[List[str]]) -> Dict[str, Any]:
    from . import pyspy

    return pyspy.run(ctx)


_TOOLS: Dict[str, Callable[[ProfileContext, Optional[List[str]]], Dict[str, Any]]] = {
    "cprofile": _cprofile, "line": _line, "memory": _memory, "pyspy": _pyspy}
