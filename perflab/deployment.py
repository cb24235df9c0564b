"""The deployment phase the runner calls: horizontal scaling, load balancing, then the CDN,
over the same instances (started once per process set: start-up is the expensive part on
a small machine).

    config = deployment_config(plan.name)          # QUICK (default) or FULL
    result = run_deployment_phase(config, service_env, redis_url, run_dir, group,
                                  variant="optimised", show=print)
    meta.machine["scaling_budget"] = result.scaling.budget   # how the budget was given

Scaling runs with each instance under its CPU budget (``perflab.scaling``); the budgets
are removed before the CDN runs on the last set's first instance, which measures the
route as an unbudgeted instance pinned to the service's core serves it
(``perflab.cdn``). Writes ``scaling.json`` and ``cdn.json`` into ``out_dir``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence

from .cdn import CdnConfig, CdnResult, measure_cdn, skipped_cdn
from .instances import Instance, start_instances
from .nginx import find_nginx
from .procs import ProcessGroup
from .results import Sample
from .scaling import FULL as SCALING_FULL
from .scaling import QUICK as SCALING_QUICK
from .scaling import ScalingConfig, ScalingResult, budget_plan, measure_scaling, scaling_env


@dataclass(frozen=True)
class DeploymentConfig:
    scaling: ScalingConfig = SCALING_QUICK
    cdn: CdnConfig = field(default_factory=CdnConfig)

    def estimate_s(self, articles: int = 3000) -> float:
        """Planned wall time of the phase, from its own parameters."""
        return self.scaling.estimate_s() + self.cdn.estimate_s(articles)


# quick: one process set, 4 overload blocks per N, 4 CDN blocks per side (~40 s here);
# full: two process sets (process-to-process variance measured), 6 blocks, 8 CDN blocks
QUICK = DeploymentConfig()
FULL = DeploymentConfig(SCALING_FULL, CdnConfig(blocks=8))
PRESETS: Dict[str, DeploymentConfig] = {"quick": QUICK, "full": FULL}


def deployment_config(name: str) -> DeploymentConfig:
    """The preset of a plan: ``full`` for the full plan, ``quick`` for any other."""
    return PRESETS.get(name, QUICK)


@dataclass(frozen=True)
class DeploymentResult:
    scaling: ScalingResult
    cdn: CdnResult


def run_deployment_phase(config: DeploymentConfig, service_env: Mapping[str, str],
                         redis_url: str, out_dir: Path, group: ProcessGroup,
                         variant: str = "optimised",
                         show: Callable[[str], None] = lambda s: None,
                         sink: Callable[[Sample], None] = lambda s: None,
                         cpus: Optional[List[int]] = None,
                         ceiling: Optional[float] = None) -> DeploymentResult:
    """Scaling (N = 1..3 under CPU budgets) and the CDN (cache on/off) on one instance set.

    ``ceiling``: the generator's ceiling the run's instrument measured (blocks offered
    above it are generator-limited). Without a CPU-budget mechanism scaling is skipped
    with the reason (recorded in scaling.json) and the CDN runs on one instance of its
    own; without nginx both are skipped."""
    plan = budget_plan(config.scaling, cpus)
    cdn: Dict[str, CdnResult] = {}

    def then(instances: Sequence[Instance]) -> None:
        cdn["result"] = measure_cdn(config.cdn, service_env, out_dir, group,
                                    list(instances)[:1], plan.generator_cpus, show)

    scaling = measure_scaling(config.scaling, service_env, redis_url, out_dir, group,
                              variant, show, cpus, sink, ceiling, then)
    nginx, why = find_nginx()
    if "result" not in cdn and nginx is not None:
        # no CPU budget here: scaling was skipped, the CDN needs none (one instance)
        inst = start_instances(group, [scaling_env(service_env, redis_url)], "cdn",
                               cpus=plan.service_cpus)
        try:
            then(inst)
        finally:
            group.stop(inst[0].child)
    if "result" not in cdn:
        cdn["result"] = skipped_cdn(config.cdn, why)
        cdn["result"].save(out_dir / "cdn.json")
    return DeploymentResult(scaling, cdn["result"])
