"""``python -m perflab.scale_cli {deployment,scaling,periods,checklist}``: the deployment phases on
their own, outside ``perflab run``: data, Redis and the carrier are prepared as a run
prepares them, the phase writes its JSON into ``--out``, and a summary is printed.

Every process it starts is a child of one ``ProcessGroup`` and stopped on every exit
path (Ctrl-C and SIGTERM included); every cgroup is removed by its budget.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from .deployment import PRESETS, DeploymentConfig
from .machine import ROOT, ensure_redis
from .procs import ProcessGroup, free_port, wait_http
from .variants import resolve


def service_env(variant: str, carrier_url: str, data_env: Dict[str, str]) -> Dict[str, str]:
    """A variant's full service environment, as the runner gives it (toggles, carrier)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFLAB_CHILD")}
    env.update(data_env)
    env.update(resolve(variant).env)
    env["CARRIER_URL"] = carrier_url
    env.setdefault("DATA_SEED", "42")
    return env


def start_carrier(group: ProcessGroup, cpus: Sequence[int], latency: str = "lognormal:15:0.5",
                  seed: int = 1) -> str:
    port = free_port()
    child = group.start("carrier", [sys.executable, "-m", "service.carrier", "--port",
                                    str(port), "--latency", latency, "--seed", str(seed)],
                        dict(os.environ), cpus=cpus, cwd=ROOT)
    url = "http://127.0.0.1:%d" % port
    wait_http(url + "/track/TRK0000000001", child, 30, accept=lambda s: s in (200, 404))
    return url


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m perflab.scale_cli", description=__doc__)
    p.add_argument("phase", choices=("deployment", "scaling", "periods", "checklist"))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--variant", default="optimised")  # as the runner (DEPLOYMENT_VARIANT)
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    p.add_argument("--preset", choices=sorted(PRESETS), default="quick",
                   help="deployment and scaling: the phase's preset")
    p.add_argument("--blocks", type=int, default=None, help="overload blocks per set and N")
    p.add_argument("--sets", type=int, default=None, help="process sets (fresh instances)")
    p.add_argument("--repeats", type=int, default=None, help="periods and checklist")
    p.add_argument("--cpus", type=float, default=None, help="CPU budget per instance")
    p.add_argument("--period-us", type=int, default=None)
    p.add_argument("--mechanism", choices=("auto", "cgroup", "cores"), default="auto")
    p.add_argument("--instances", default=None, help="e.g. 1,2,3")
    a = p.parse_args(argv)
    try:
        resolve(a.variant)
    except KeyError as exc:
        print("error: %s" % exc.args[0], file=sys.stderr)
        return 2
    a.out.mkdir(parents=True, exist_ok=True)
    group = ProcessGroup(a.out / "logs")
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        return _run(a, group)
    except KeyboardInterrupt:
        print("interrupted: every process stopped, every cgroup removed", file=sys.stderr)
        return 130
    finally:
        group.stop_all()
        signal.signal(signal.SIGTERM, previous)


def configured(a: argparse.Namespace) -> DeploymentConfig:
    """The preset with the command line's changes."""
    dep = PRESETS[a.preset]
    cfg = dep.scaling
    changes: Dict[str, Any] = {"mechanism": a.mechanism}
    for key, value in (("blocks", a.blocks), ("process_sets", a.sets),
                       ("cpus_per_instance", a.cpus), ("period_us", a.period_us)):
        if value:
            changes[key] = value
    if a.instances:
        changes["instances"] = tuple(int(x) for x in a.instances.split(","))
    return replace(dep, scaling=replace(cfg, **changes))


def _run(a: argparse.Namespace, group: ProcessGroup) -> int:
    import time

    from engine.config import EngineConfig
    from engine.datagen import ensure_data_for

    from .scaling import budget_plan

    show = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    ensure_data_for(EngineConfig.from_env(dict(os.environ)))
    supply = ensure_redis(a.redis_url, group, a.out / "redis")
    if supply.url is None:
        print("error: %s" % supply.reason, file=sys.stderr)
        return 3
    dep = configured(a)
    cfg = dep.scaling
    plan = budget_plan(cfg)
    carrier = start_carrier(group, plan.generator_cpus)
    env = service_env(a.variant, carrier, {})
    t0 = time.monotonic()
    if a.phase == "scaling":
        from reports.scaling import format_scaling

        from .scaling import measure_scaling

        result = measure_scaling(cfg, env, supply.url, a.out, group, a.variant, show)
        print("\n".join(format_scaling(result)))
    elif a.phase == "periods":
        from .periods import measure_periods

        print(json.dumps(measure_periods(env, supply.url, a.out, group, show,
                                         cpus=cfg.cpus_per_instance or 0.3,
                                         repeats=a.repeats or 2), indent=1))
    elif a.phase == "deployment":
        from reports.cdn import format_cdn
        from reports.planning_inputs import format_scaling_plan
        from reports.scaling import format_scaling

        from .deployment import run_deployment_phase

        show("deployment (%s preset): planned %.0f s" % (a.preset, dep.estimate_s()))
        res = run_deployment_phase(dep, env, supply.url, a.out, group, a.variant, show)
        print("\n".join([*format_scaling(res.scaling), "", *format_scaling_plan(res.scaling),
                         "", *format_cdn(res.cdn)]))
    else:
        from reports.checklist import format_checklist

        from .checklist import measure_checklist

        res_c = measure_checklist(env, supply.url, a.out, group, plan.service_cpus,
                                  plan.generator_cpus, show, repeats=a.repeats or 2)
        print("\n".join(format_checklist(res_c)))
    show("%s phase: %.1f s wall" % (a.phase, time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
