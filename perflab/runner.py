"""``perflab run``: a plan's phases, in order, against freshly started services.

The run is a list of phases (``perflab.phases``): the instrument (the
generator against a trivial server), one phase per repeat (every variant as
a fresh process, measured in interleaved blocks with common random numbers:
``perflab.rounds``), the closed-loop Locust run, the profiles, the report.
Each carries its own time estimate; the live display's total is their sum.
Rows are appended to results.csv as each measurement ends and run.json is
written atomically after every phase, so an interrupted run keeps what it
measured. On a stop the generator is stopped first, then the services.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, List, Optional

from . import __version__
from .catalogue import CATALOGUE
from .context import Context, Options
from .machine import Capabilities, machine_info, plan_pinning
from .phases import plan_phases
from .plan import Plan
from .procs import ProcessGroup, StopSignals
from .progress import Display
from .results import (
    ROW_COLUMNS,
    SAMPLE_COLUMNS,
    CsvAppender,
    RunMeta,
    measurement_mechanism,
)
from .stack import Stack, base_env
from .variants import Variant, resolve

__all__ = ["Options", "run_plan"]


def run_plan(plan: Plan, options: Options) -> Path:
    """Run ``plan``; returns the run directory (complete or not)."""
    plan.validate()
    run_dir = _new_run_dir(options.out_dir)
    meta = RunMeta(run_id=run_dir.name, started_at=time.time(), plan=plan.to_dict(),
                   seed=plan.seed, machine=machine_info(), target=options.target,
                   tool_version=__version__,
                   mechanism=measurement_mechanism(options.target, options.instances))
    meta.claims = {t.name: {"metric": t.claim.metric, "low": t.claim.low,
                            "high": t.claim.high, "text": t.claim.text,
                            "lower_is_better": t.claim.lower_is_better}
                   for t in CATALOGUE if t.claim is not None}
    meta.save(run_dir)
    group = ProcessGroup(run_dir / "logs")
    stack = Stack(group, run_dir, options.show, options.redis_url)
    rows = CsvAppender(run_dir / "results.csv", ROW_COLUMNS)
    samples = CsvAppender(run_dir / "timeseries.csv", SAMPLE_COLUMNS)
    ctx: Optional[Context] = None
    # SIGINT/SIGTERM: the first interrupts, later ones are ignored until clean-up is done
    with StopSignals(options.show) as stops:
        try:
            ctx = _prepare(plan, options, run_dir, meta, stack, rows, samples)
            _execute(ctx)
            meta.complete = not meta.failures or all(f.get("kind") == "measurement"
                                                     for f in meta.failures)
        except KeyboardInterrupt:
            meta.interrupted = True
            options.show("\ninterrupted: stopping every process; partial results are kept")
        finally:
            meta.interrupted = meta.interrupted or stops.stopping
            _finish(ctx, meta, run_dir, stack, rows, samples)
    if options.report:
        _report(run_dir, options.show)
    return run_dir


def _finish(ctx: Optional[Context], meta: RunMeta, run_dir: Path, stack: Stack,
            rows: CsvAppender, samples: CsvAppender) -> None:
    """run.json first (consistent whatever clean-up meets), then the generator, then every
    other child, newest first; run.json again with the end time."""
    meta.complete = meta.complete and not meta.interrupted
    meta.ended_at = time.time()
    meta.save(run_dir)
    if ctx is not None:
        ctx.display.close()
        if ctx.generator is not None:  # the generator first: no spurious errors
            stack.group.stop(ctx.generator, grace=3.0)
    stack.close()
    rows.close()
    samples.close()
    meta.ended_at = time.time()
    meta.save(run_dir)


def _new_run_dir(out_dir: Path) -> Path:
    run_id = time.strftime("%Y%m%d-%H%M%S")
    run_dir = out_dir / run_id
    n = 1
    while run_dir.exists():
        n += 1
        run_dir = out_dir / ("%s-%d" % (run_id, n))
    (run_dir / "histograms").mkdir(parents=True)
    (run_dir / "logs").mkdir()
    return run_dir


def _prepare(plan: Plan, options: Options, run_dir: Path, meta: RunMeta, stack: Stack,
             rows: CsvAppender, samples: CsvAppender) -> Context:
    show = options.show
    variants = [resolve(v) for v in plan.variants]
    needs = {n for v in variants for n in v.needs}
    if plan.deployment or plan.checklist:  # their instances share Redis
        needs.add("redis")
    redis_url, redis_reason = None, ""
    if "redis" in needs:
        supply = stack.redis()
        redis_url, redis_reason = supply.url, supply.reason
    pypy_python, pypy_reason = None, ""
    if "pypy" in needs and options.target is None:
        pypy_python, pypy_reason = stack.pypy()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    caps = Capabilities(redis_url, redis_reason, pypy_python, pypy_reason, cores)
    pinning = plan_pinning(options.instances or 1)
    meta.machine["pinning"] = pinning.to_dict()
    env = base_env(plan.data_env)
    if options.target is None:
        show("preparing data (generated once per size and seed)...")
        from engine.config import EngineConfig
        from engine.datagen import ensure_data_for

        ensure_data_for(EngineConfig.from_env(env))
    for v in variants:
        meta.variants[v.name] = v.to_dict()
    runnable: List[Variant] = []
    for v in variants:
        unmet = caps.unmet(v.needs) if options.target is None else []
        if unmet:
            meta.skipped.append({"variant": v.name, "reason": "; ".join(unmet)})
            show("skipping %s: %s" % (v.name, "; ".join(unmet)))
        else:
            runnable.append(v)
    meta.save(run_dir)
    phases = plan_phases(plan, [v.name for v in runnable])
    display = Display(sum(p.estimate_s for p in phases))
    return Context(plan, options, run_dir, meta, stack, rows, samples, caps, pinning,
                   time.time(), display, env, runnable=runnable, phases=phases)


def _execute(ctx: Context) -> None:
    plan = ctx.plan
    runnable = ctx.runnable
    work = _bind(ctx, runnable)
    for phase in ctx.phases:
        fn = work.get(phase.name)
        if fn is not None and runnable:
            ctx.display.phase(phase.name)
            try:
                fn()
            except KeyboardInterrupt:
                raise
            except Exception:  # a bug in one phase must not lose the others
                import traceback

                ctx.fail(phase.name, 0, "error", traceback.format_exc())
        ctx.display.advance(phase.estimate_s)
        ctx.meta.save(ctx.run_dir)
    ctx.display.message("measured in %.0fs (planned %.0fs)" % (
        time.time() - ctx.t0, plan.estimate_s()))


def _bind(ctx: Context, runnable: List[Variant]) -> dict:
    from .rounds import run_repeat

    work: dict = {}
    if ctx.plan.instrument and ctx.options.target is None:
        work["instrument"] = lambda: _instrument(ctx)
    if ctx.options.target is None:
        ctx.stack.start_carrier(ctx.base_env, ctx.plan.carrier_latency, ctx.plan.seed,
                                ctx.pinning.generator)
    if ctx.plan.fit_rates and ctx.options.target is None:
        work["pacing"] = lambda: _pacing(ctx)
    for r in range(1, ctx.plan.repeats + 1):
        work["repeat %d" % r] = (lambda r=r: run_repeat(ctx, r, runnable))
    if ctx.options.target is None:
        work["deployment"] = lambda: _deployment(ctx)
        work["checklist"] = lambda: _checklist(ctx)
    work["locust"] = lambda: _locust(ctx, runnable)
    if ctx.options.target is None:
        work["profile"] = lambda: _profile(ctx)
    return work


def _pacing(ctx: Context) -> None:
    from .pacing import fit_rates

    fit_rates(ctx)


def _instrument(ctx: Context) -> None:
    from .instrument import measure_instrument

    ctx.meta.instrument = measure_instrument(ctx)
    i = ctx.meta.instrument
    ctx.display.message("instrument: generator p50 %s ms at %g/s against a trivial server; "
                        "holds %s req/s" % (i.get("floor_p50_ms"), i.get("floor_rate") or 0,
                                            i.get("ceiling_rps")))


# The deployment phase scales the optimised service, the one a team deploys; it is
# async and CPU-bound, so a 0.3-CPU instance serves ~200 req/s here, where the sync
# +redis_cache served ~33/s and a 1 s block's served rate moved by 10-20% from its
# few responses. The checklist measures its items on +redis_cache (Redis in the path).
DEPLOYMENT_VARIANT = "optimised"
CHECKLIST_VARIANT = "+redis_cache"


def _deployment_env(ctx: Context, name: str, variant: str) -> Optional[dict]:
    if not ctx.caps.redis_url:
        ctx.display.message("%s skipped: %s" % (name, ctx.caps.redis_reason
                                                 or "no Redis for this run"))
        return None
    v = resolve(variant)
    return ctx.stack.service_env(ctx.base_env, v, "perflab:%s:%s:" % (ctx.meta.run_id, name))


def _deployment(ctx: Context) -> None:
    """Scaling (N = 1..3 behind nginx, equal CPU budgets), load balancing, the CDN."""
    from .deployment import deployment_config, run_deployment_phase

    env = _deployment_env(ctx, "deployment", DEPLOYMENT_VARIANT)
    if env is None or ctx.caps.redis_url is None:
        return
    result = run_deployment_phase(deployment_config(ctx.plan.name), env, ctx.caps.redis_url,
                                  ctx.run_dir, ctx.stack.group, DEPLOYMENT_VARIANT,
                                  show=ctx.display.message, sink=ctx.add_sample,
                                  ceiling=ctx.instrument_ceiling)
    # how the scaling figures were made: never compared with figures made another way
    ctx.meta.machine["scaling_budget"] = dict(result.scaling.budget)
    ctx.meta.mechanism = dict(ctx.meta.mechanism, scaling=dict(result.scaling.budget))


def _checklist(ctx: Context) -> None:
    from .checklist import measure_checklist

    env = _deployment_env(ctx, "checklist", CHECKLIST_VARIANT)
    if env is None or ctx.caps.redis_url is None:
        return
    measure_checklist(env, ctx.caps.redis_url, ctx.run_dir, ctx.stack.group,
                      ctx.pinning.service, ctx.pinning.generator, ctx.display.message)


def _locust(ctx: Context, runnable: List[Variant]) -> None:
    """Closed loop: one fresh service per variant and repeat, Locust's users on it."""
    from .closed import run_locust
    from .rounds import _start_all

    for r in range(1, ctx.plan.repeats + 1):
        for v in runnable:
            if not ctx.plan.wants_locust(v.name):
                continue
            ctx.display.phase("Locust %d users on %s r%d" % (ctx.plan.locust_users, v.name, r))
            live = _start_all(ctx, 100 + r, [v])
            try:
                for lv in live.values():
                    run_locust(ctx, lv, r)
            finally:
                for lv in live.values():
                    if lv.sampler is not None:
                        lv.sampler.stop()
                    if lv.child is not None:
                        ctx.stack.stop(lv.child)


def _profile(ctx: Context) -> None:
    """cProfile baseline and optimised (and the memory tool) into RUN_DIR/profiles/, for
    the report's "Where the time goes". A failure here is noted, never fatal."""
    try:
        from profiles.commands import profile_command
    except ImportError as exc:
        ctx.display.message("profiles unavailable: %s" % exc)
        return
    jobs = [("baseline", "cprofile"), ("optimised", "cprofile")]
    if ctx.plan.profile_memory:
        jobs.append(("baseline", "memory"))
    for name, tool in jobs:
        ctx.display.phase("profiling %s (%s, %d messages)" % (name, tool,
                                                             ctx.plan.profile_messages))
        v = resolve(name)
        env = ctx.stack.service_env(ctx.base_env, v, "perflab:%s:profile:" % ctx.meta.run_id)
        try:
            profile_command(env, name, tool, ctx.plan.profile_messages,
                            ctx.run_dir / "profiles" / name)
        except Exception as exc:
            ctx.fail(name, 0, "measurement", "profile %s: %s: %s"
                     % (tool, type(exc).__name__, exc))


def _report(run_dir: Path, show: Callable[[str], None]) -> None:
    try:
        from reports.commands import report_command
    except ImportError as exc:
        show("report generator unavailable (%s); results are in %s" % (exc, run_dir))
        return
    try:
        paths = report_command(run_dir)
    except Exception as exc:  # a report bug must not lose the run
        show("report generation failed: %s: %s (results are in %s)"
             % (type(exc).__name__, exc, run_dir))
        return
    show("report: %s" % getattr(paths, "html", paths))

