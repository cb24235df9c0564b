"""Loading a run directory and picking the figures each verdict is made from.

Only the result store's files are read (``perflab.results``); the orchestrator
is never imported. A row is *usable* for judgement when it finished (status
``ok``) and its figures were not limited by the load generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from perflab.results import Row, RunMeta, Sample, read_rows, read_samples

CHAT_ROUTE = "POST /api/chat"
KIND_ORDER = {"baseline": 0, "single": 1, "optimised": 2, "leave_one_out": 3, "aa": 4}


@dataclass(frozen=True)
class RunData:
    """One run directory, read once: metadata, result rows and resource samples."""

    run_dir: Path
    meta: RunMeta
    rows: Tuple[Row, ...]
    samples: Tuple[Sample, ...]

    @property
    def plan(self) -> Dict[str, Any]:
        return dict(self.meta.plan or {})

    @property
    def skipped(self) -> Dict[str, str]:
        """Skipped variant -> reason."""
        return {str(s.get("variant", "")): str(s.get("reason", "")) for s in self.meta.skipped}

    @property
    def reference_rate(self) -> Optional[float]:
        """The plan's reference rate; without one, the plan's first rate or the lowest
        fixed rate measured."""
        ref = self.plan.get("reference_rate")
        if ref is not None:
            return float(ref)
        rates = self.plan.get("rates") or []
        if rates:
            return float(rates[0])
        fixed = [r.target_rate for r in self.rows if r.measurement == "fixed_rate"]
        return min(fixed) if fixed else None

    def variant_info(self, name: str) -> Dict[str, Any]:
        """The Variant.to_dict recorded for ``name``, or what the name implies."""
        info = self.meta.variants.get(name)
        if info is not None:
            return dict(info)
        return _infer_variant(name)

    def kind(self, name: str) -> str:
        return str(self.variant_info(name).get("kind") or "single")

    def variant_names(self, include_aa: bool = True) -> List[str]:
        """Every variant the run knows of (planned, measured or skipped), baseline first."""
        names = dict.fromkeys(list(self.meta.variants) + [r.variant for r in self.rows]
                              + list(self.skipped))
        out = [n for n in names if n and (include_aa or self.kind(n) != "aa")]
        return sorted(out, key=lambda n: (KIND_ORDER.get(self.kind(n), 9), n))

    def rows_of(self, variant: str) -> List[Row]:
        return [r for r in self.rows if r.variant == variant]

    def repeats(self) -> int:
        """Repeats planned (or the most measured, when the plan does not say)."""
        planned = self.plan.get("repeats")
        if planned:
            return int(planned)
        return max((r.repeat for r in self.rows), default=0)


def _infer_variant(name: str) -> Dict[str, Any]:
    """Kind/toggle/compare_to from a variant name, for rows whose variant run.json lacks."""
    if name.endswith("@aa"):
        return {"name": name, "kind": "aa", "toggle": None, "compare_to": name[:-3]}
    if name == "baseline":
        return {"name": name, "kind": "baseline", "toggle": None, "compare_to": None}
    if name == "optimised":
        return {"name": name, "kind": "optimised", "toggle": None, "compare_to": "baseline"}
    if name.startswith("optimised-"):
        return {"name": name, "kind": "leave_one_out", "toggle": name[len("optimised-"):],
                "compare_to": "optimised"}
    if name.startswith("+"):
        return {"name": name, "kind": "single", "toggle": name[1:].partition(":")[0],
                "compare_to": "baseline"}
    return {"name": name, "kind": "single", "toggle": None, "compare_to": None}


def load_run(run_dir: Path) -> RunData:
    """Read run.json, results.csv and timeseries.csv of ``run_dir``."""
    run_dir = Path(run_dir)
    if not (run_dir / "run.json").exists():
        raise FileNotFoundError("%s: no run.json (not a perflab run directory)" % run_dir)
    meta = RunMeta.load(run_dir)
    return RunData(run_dir, meta, tuple(read_rows(run_dir)), tuple(read_samples(run_dir)))


def usable(row: Row) -> bool:
    """Finished, and not limited by the load generator."""
    return row.status == "ok" and not row.generator_saturated


def same_rate(a: float, b: Optional[float]) -> bool:
    return b is not None and math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-6)


def reference_rows(rows: Sequence[Row], reference_rate: Optional[float],
                   route: Optional[str] = None) -> List[Row]:
    """Fixed-rate rows at the reference rate, on ``route`` (default: the chat route when
    the run has it)."""
    fixed = [r for r in rows if r.measurement == "fixed_rate"
             and same_rate(r.target_rate, reference_rate)]
    if route is None:
        chat = [r for r in fixed if r.route == CHAT_ROUTE]
        return chat or fixed
    return [r for r in fixed if r.route == route]


def exclusion_reason(rows: Sequence[Row]) -> str:
    """Why none of ``rows`` can be judged: generator-limited, failed, interrupted or no data."""
    if not rows:
        return "no data"
    if any(r.status == "ok" and r.generator_saturated for r in rows):
        return "generator-limited"
    if any(r.status == "failed" for r in rows):
        return "failed"
    if any(r.status == "interrupted" for r in rows):
        return "interrupted"
    return "no data"
