"""Loading a run directory and picking the figures each verdict is made from.

Only the result store's files are read (``perflab.results``); the orchestrator
is never imported. A row is *usable* for judgement when it finished (status
``ok``) and its figures were not limited by the load generator.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from perflab.results import Row, RunMeta, Sample, fail_without_success, load_rows, read_samples

CHAT_ROUTE = "POST /api/chat"
KIND_ORDER = {"baseline": 0, "single": 1, "optimised": 2, "leave_one_out": 3, "aa": 4}


@dataclass(frozen=True)
class RunData:
    """One run directory, read once: metadata, result rows and resource samples."""

    run_dir: Path
    meta: RunMeta
    rows: Tuple[Row, ...]
    samples: Tuple[Sample, ...]
    problems: Tuple[str, ...] = ()  # damage found while reading (a cut-off last line)
    has_results: bool = True  # results.csv exists

    @property
    def state(self) -> RunState:
        """complete / interrupted / incomplete, and every reason it is not complete."""
        return run_state(self)

    def capacity_probes(self, variant: str) -> List[Dict[str, Any]]:
        """The capacity search's probes of ``variant`` (every repeat), from their raw files:
        [{repeat, rate, achieved, p95_ms, error_rate, pass, saturation}]."""
        out: List[Dict[str, Any]] = []
        for r in self.rows_of(variant):
            if r.measurement != "capacity" or not r.raw_file:
                continue
            try:
                data = json.loads((self.run_dir / r.raw_file).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            for p in data.get("probes", []) if isinstance(data, dict) else []:
                if isinstance(p, dict):
                    out.append({**p, "repeat": r.repeat})
        return out

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


def load_run(run_dir: Path, allow_truncated: bool = True) -> RunData:
    """Read run.json, results.csv and timeseries.csv of ``run_dir``.

    A results.csv whose last line was cut off mid-row keeps its other rows and notes the
    damage in ``problems`` (``allow_truncated=False`` raises instead); anything else
    unreadable raises ValueError (ResultsError) naming the file and line."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError("%s: no such run directory" % run_dir)
    if not (run_dir / "run.json").exists():
        raise FileNotFoundError("%s: no run.json (not a perflab run directory)" % run_dir)
    meta = RunMeta.load(run_dir)
    rows, problems = load_rows(run_dir, allow_truncated=allow_truncated)
    # older runs wrote "ok" rows in which nothing succeeded, with 0 ms percentiles
    rows = [fail_without_success(r) for r in rows]
    has_results = (run_dir / "results.csv").exists()
    if not has_results:
        problems = ["%s has no results.csv: nothing was measured or the file was removed"
                    % run_dir, *problems]
    return RunData(run_dir, meta, tuple(rows), tuple(read_samples(run_dir)), tuple(problems),
                   has_results)


COMPLETE, INTERRUPTED, INCOMPLETE = "complete", "interrupted", "incomplete"


@dataclass(frozen=True)
class RunState:
    """How a run ended, for the report's banner and the gates: ``kind`` is complete,
    interrupted or incomplete; ``reasons`` says what is missing or failed."""

    kind: str
    reasons: Tuple[str, ...] = field(default_factory=tuple)
    failed_rows: Tuple[Row, ...] = field(default_factory=tuple)
    unmeasured: Tuple[Tuple[str, int], ...] = field(default_factory=tuple)  # (variant, repeat)

    @property
    def ok(self) -> bool:
        return self.kind == COMPLETE and not self.reasons

    @property
    def headline(self) -> str:
        """One sentence: what a reader must know before trusting any figure."""
        if self.ok:
            return "The run is complete: every planned measurement finished."
        lead = {INTERRUPTED: "The run was interrupted (Ctrl-C or SIGTERM)",
                INCOMPLETE: "The run is incomplete"}.get(self.kind, "The run has failures")
        return "%s: %s. Figures cover only what finished." % (lead, "; ".join(self.reasons))


def run_state(run: RunData) -> RunState:
    """Everything that stops a run from being a complete record, fail-closed: an
    interruption, a missing end time, failed rows or failures in run.json, scheduled
    variant x repeats without a single row, and damage in results.csv."""
    meta = run.meta
    reasons: List[str] = []
    failed = tuple(r for r in run.rows if r.status != "ok")
    measured = {(r.variant, r.repeat) for r in run.rows}
    unmeasured = tuple(dict.fromkeys(
        (str(s.get("variant")), int(s.get("repeat", 0))) for s in meta.schedule
        if (str(s.get("variant")), int(s.get("repeat", 0))) not in measured))
    if meta.ended_at is None and not meta.interrupted:
        reasons.append("run.json has no end time (still running, or perflab was killed)")
    elif not meta.complete and not meta.interrupted and not meta.failures and not failed:
        reasons.append("run.json does not mark it complete")
    if failed:
        kinds = sorted({"%s %s r%d" % (r.variant, r.measurement, r.repeat) for r in failed})
        reasons.append("%d measurement(s) failed or were cut short (%s%s)" % (
            len(failed), ", ".join(kinds[:4]), ", ..." if len(kinds) > 4 else ""))
    recorded = [f for f in meta.failures
                if not any(r.variant == f.get("variant") and r.repeat == f.get("repeat")
                           for r in failed)]
    if recorded:
        reasons.append("%d failure(s) recorded in run.json (%s)" % (
            len(recorded), ", ".join(sorted({"%s: %s" % (f.get("variant"), f.get("kind"))
                                             for f in recorded}))))
    if unmeasured:
        names = ["%s r%d" % u for u in unmeasured]
        reasons.append("%d scheduled variant x repeat(s) never measured (%s%s)" % (
            len(unmeasured), ", ".join(names[:4]), ", ..." if len(names) > 4 else ""))
    reasons += list(run.problems)
    if meta.interrupted:
        kind = INTERRUPTED
    elif reasons or not meta.complete:
        kind = INCOMPLETE
    else:
        kind = COMPLETE
    return RunState(kind, tuple(reasons), failed, unmeasured)


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
