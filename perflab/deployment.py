"""The deployment phase the runner calls: horizontal scaling, then the CDN, over the same
instances (started once: start-up is the expensive part on a small machine).

    result = run_deployment_phase(DeploymentConfig(), service_env, redis_url, run_dir,
                                  group, variant="+redis_cache", show=print)
    meta.machine["scaling_budget"] = result.scaling.budget   # how the budget was given

Scaling runs with each instance under its CPU budget; the budgets are removed before
the CDN runs, which measures the route as an unbudgeted instance pinned to the
service's core serves it. Writes ``scaling.json`` and ``cdn.json`` into ``out_dir``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Optional

from .cdn import CdnConfig, CdnResult, measure_cdn
from .instances import start_instances
from .nginx import find_nginx
from .procs import ProcessGroup
from .results import Sample
from .scaling import QUICK, ScalingConfig, ScalingResult, budget_plan, measure_scaling, scaling_env


@dataclass(frozen=True)
class DeploymentConfig:
    scaling: ScalingConfig = QUICK
    cdn: CdnConfig = field(default_factory=CdnConfig)


@dataclass(frozen=True)
class DeploymentResult:
    scaling: ScalingResult
    cdn: CdnResult


def run_deployment_phase(config: DeploymentConfig, service_env: Mapping[str, str],
                         redis_url: str, out_dir: Path, group: ProcessGroup,
                         variant: str = "+redis_cache",
                         show: Callable[[str], None] = lambda s: None,
                         sink: Callable[[Sample], None] = lambda s: None,
                         cpus: Optional[list] = None) -> DeploymentResult:
    """Scaling (N = 1..3 under CPU budgets) and the CDN (cache on/off) on one instance set.

    Without a CPU-budget mechanism scaling is skipped with the reason (recorded in
    scaling.json) and the CDN still runs; without nginx both are skipped."""
    plan = budget_plan(config.scaling, cpus)
    nginx, why = find_nginx()
    if nginx is None:
        scaling = measure_scaling(config.scaling, service_env, redis_url, out_dir, group,
                                  variant, show, cpus)  # records the reason
        cdn = CdnResult(config.cdn.to_dict(), (), (), skipped=why)
        cdn.save(out_dir / "cdn.json")
        return DeploymentResult(scaling, cdn)
    env = scaling_env(service_env, redis_url)
    n_max = max(config.scaling.instances)
    show("deployment: starting %d instances" % n_max)
    instances = start_instances(group, [env] * n_max, "deploy", cpus=plan.service_cpus)
    try:
        scaling = measure_scaling(config.scaling, env, redis_url, out_dir, group, variant,
                                  show, cpus, instances, sink)
        cdn = measure_cdn(config.cdn, env, out_dir, group, instances[:1],
                          plan.generator_cpus, show)
    finally:
        for inst in instances:
            group.stop(inst.child)
    return DeploymentResult(scaling, cdn)
