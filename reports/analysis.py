"""Everything a report shows, computed once from a run: targets, claims, noise, details."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from perflab.results import Row

from . import verdicts
from .data import RunData, load_run
from .targets import Target, TargetResult, evaluate_all, load_targets


@dataclass(frozen=True)
class Analysis:
    run: RunData
    targets: List[Target]
    target_results: List[TargetResult]
    claims: List[verdicts.Judged]
    noise: List[verdicts.Judged]
    effects: List[verdicts.Judged]
    warnings: List[str] = field(default_factory=list)

    @property
    def failed_rows(self) -> List[Row]:
        return [r for r in self.run.rows if r.status != "ok"]

    @property
    def saturated_rows(self) -> List[Row]:
        return [r for r in self.run.rows if r.generator_saturated]

    @property
    def noise_halfwidth(self) -> Dict[str, float]:
        return verdicts.noise_halfwidth(self.noise)

    def targets_for(self, variant: str) -> List[TargetResult]:
        return [t for t in self.target_results if t.variant == variant]


def analyse(run: RunData, targets: Sequence[Target]) -> Analysis:
    """Judge a run against ``targets`` and the guide's claims."""
    warnings = []
    meta = run.meta
    state = run.state
    if not state.ok:
        warnings.append(state.headline)
    if run.plan.get("reference_rate") is None:
        warnings.append("The plan names no reference_rate: %s." % (
            "using %g req/s" % run.reference_rate if run.reference_rate is not None
            else "no fixed-rate figures to judge"))
    if not run.rows:
        warnings.append("results.csv holds no rows.")
    if meta.target:
        warnings.append("Load went to an external target: %s." % meta.target)
    return Analysis(run, list(targets), evaluate_all(run, targets), verdicts.claims(run),
                    verdicts.noise_floor(run), verdicts.effects(run), warnings)


def targets_path(run_dir: Path, targets: Optional[Path] = None) -> Optional[Path]:
    """The targets file to use: the one given, the run's own targets.toml, else the guide's."""
    if targets is not None:
        return Path(targets)
    own = Path(run_dir) / "targets.toml"
    return own if own.exists() else None


def analyse_dir(run_dir: Path, targets: Optional[Path] = None) -> Analysis:
    """Load ``run_dir`` and analyse it (see ``targets_path`` for which targets)."""
    return analyse(load_run(run_dir), load_targets(targets_path(run_dir, targets)))
