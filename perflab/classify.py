"""The run's classifier-speed phase: one process set of lock-step workers per call.

``classify_all(ctx, variants, repeat)`` starts one ``perflab.lockstep``
worker per variant (its interpreter, its toggles, a fresh process), all
pinned to the service CPU and all through the run's ``ProcessGroup``, and
drives them with ``perflab.lockstep_coord`` through ``plan.classify_passes``
passes of ``plan.classify_messages`` messages (the same seeded messages as
``perflab.micro``), in chunks of ``CHUNK_MESSAGES``. One call is one process
set: the run repeats it in its first ``plan.classify_repeats`` repeats.

Rows: one per (variant, process set, pass), measurement ``classify``,
``repeat`` = the process set, ``block`` = the pass, ``classify_rate`` =
messages / the pass's summed chunk seconds (thread CPU time). Rows of the
same (repeat, block) are paired across variants (reports/stats.py:
``nested_ratio``). A worker that fails gets one failed row (``block`` = the
pass it failed in) and a run failure; the passes it finished keep their rows.
The raw chunks go to ``micro/lockstep-rN.json`` (``RAW_SCHEMA``), from which
``pass_rates`` re-derives every row's rate.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence

from .lockstep import CHUNK_MESSAGES, chunk_count, default_warm_passes
from .lockstep_coord import Limits, Link, Outcome, Pass, PipeLink, run_lockstep
from .machine import ROOT
from .micro import toggles
from .results import Row
from .stack import child_name
from .variants import Variant

if TYPE_CHECKING:
    from .context import Context
    from .plan import Plan

RAW_SCHEMA = 1
ROUTE = "NLU.classify"
WARMUP_MESSAGES = 500  # perflab.micro's default --warmup (the intent cache's warm-up)
WORKLOAD_SEED = 11  # perflab.micro's default --seed
# start + warm-up, every worker of the set at once on one CPU (the full plan: ~30)
READY_S = {"cpython": 120.0, "pypy": 240.0}


def raw_path(ctx: Context, repeat: int) -> Any:
    return ctx.run_dir / "micro" / ("lockstep-r%d.json" % repeat)


def classify_all(ctx: Context, variants: Sequence[Variant], repeat: int) -> None:
    """Time the classifier of every variant in ``variants``: one process set, lock-step."""
    plan = ctx.plan
    if not variants:
        return
    chunks = chunk_count(plan.classify_messages, CHUNK_MESSAGES)
    out = raw_path(ctx, repeat)
    out.parent.mkdir(exist_ok=True)
    rel = str(out.relative_to(ctx.run_dir))
    by_name = {v.name: v for v in variants}
    ctx.display.phase("repeat %d/%d: classifier speed, %d variants in lock-step" % (
        repeat, plan.repeats, len(variants)))
    started = time.time()
    links: Dict[str, Link] = {}
    expected: Dict[str, str] = {}
    ready_s: Dict[str, float] = {}
    argvs: Dict[str, List[str]] = {}
    early: Dict[str, Outcome] = {}
    outcomes: Dict[str, Outcome] = {}

    def fail_row(o: Outcome) -> None:
        v = by_name[o.name]
        ctx.add_row(_row(ctx, v, repeat, o.failed_pass, started, time.time(), rel,
                         status="failed", failure=o.failure))
        ctx.fail(o.name, repeat, "measurement", "classify: %s" % o.failure)

    def pass_rows(p: int, done: Dict[str, Pass]) -> None:
        for name, ps in done.items():
            ctx.add_row(_row(ctx, by_name[name], repeat, p, ps.started_at, ps.ended_at, rel,
                             ps=ps))
        ctx.display.phase("repeat %d/%d: classifier speed, lock-step pass %d of %d" % (
            repeat, plan.repeats, p, plan.classify_passes))

    try:
        for v in variants:
            try:
                python = ctx.stack.python_for(v)
                env = ctx.stack.service_env(ctx.base_env, v, "perflab:%s:micro:" %
                                            ctx.meta.run_id)
                expected[v.name] = _expected_toggles(env)
            except (RuntimeError, ValueError) as exc:  # no PyPy; a bad toggle (ConfigError)
                early[v.name] = Outcome(v.name, failure="not started: %s" % exc)
                fail_row(early[v.name])
                continue
            argvs[v.name] = worker_argv(python, plan.classify_messages)
            try:
                child = ctx.stack.group.start("lockstep-" + child_name(v.name, repeat),
                                              argvs[v.name], env, cpus=ctx.pinning.service,
                                              cwd=ROOT, pipes=True)
            except OSError as exc:  # the interpreter is gone
                early[v.name] = Outcome(v.name, failure="not started: %s" % exc)
                fail_row(early[v.name])
                continue
            links[v.name] = PipeLink(v.name, child, ctx.stack.group)
            ready_s[v.name] = READY_S["pypy" if v.interpreter == "pypy" else "cpython"]
        outcomes = run_lockstep(links, expected, plan.classify_passes, chunks,
                                plan.seed * 1000 + repeat, Limits(), ready_s,
                                on_pass=pass_rows, on_failure=fail_row)
    finally:  # interrupted too: what was measured is kept, no worker is left
        for link in links.values():
            if isinstance(link, PipeLink) and link.child.alive():
                link.abort()
        merged = {**early, **outcomes}
        out.write_text(json.dumps(raw_record(ctx, repeat, variants, chunks, argvs, expected,
                                             merged, started), indent=1))


def worker_argv(python: str, messages: int) -> List[str]:
    return [python, "-m", "perflab.lockstep", "--worker", "--messages", str(messages),
            "--warmup", str(WARMUP_MESSAGES), "--seed", str(WORKLOAD_SEED),
            "--chunk", str(CHUNK_MESSAGES)]


def _expected_toggles(env: Mapping[str, str]) -> str:
    from engine.config import EngineConfig

    return toggles(EngineConfig.from_env(env))


def _row(ctx: Context, v: Variant, repeat: int, block: int, started: float, ended: float,
         raw: str, ps: Optional[Pass] = None, status: str = "ok", failure: str = "") -> Row:
    base = Row(ctx.meta.run_id, v.name, repeat, "classify", "in-process", ROUTE, status,
               interpreter=v.interpreter, started_at=started, ended_at=ended, raw_file=raw,
               block=block, failure=failure)
    if ps is None:
        return base
    return Row(**{**base.to_dict(), "classify_rate": round(ps.rate, 1),
                  "requests": ps.messages, "duration_s": round(ps.seconds, 4)})


def raw_record(ctx: Context, repeat: int, variants: Sequence[Variant], chunks: int,
               argvs: Mapping[str, List[str]], expected: Mapping[str, str],
               outcomes: Mapping[str, Outcome], started: float) -> Dict[str, Any]:
    plan = ctx.plan
    return {
        "schema": RAW_SCHEMA, "kind": "perflab.lockstep", "run_id": ctx.meta.run_id,
        "repeat": repeat, "started_at": started, "wall_s": time.time() - started,
        "settings": {"messages": plan.classify_messages, "passes": plan.classify_passes,
                     "chunk": CHUNK_MESSAGES, "chunks": chunks, "warmup": WARMUP_MESSAGES,
                     "seed": WORKLOAD_SEED, "order_seed": plan.seed * 1000 + repeat,
                     "clock": "cpu", "cpus": list(ctx.pinning.service)},
        "variants": {v.name: {"interpreter": v.interpreter, "argv": argvs.get(v.name),
                              "expected_toggles": expected.get(v.name),
                              **(outcomes[v.name].to_dict() if v.name in outcomes else
                                 {"status": "interrupted", "passes": []})}
                     for v in variants},
    }


def pass_rates(raw: Mapping[str, Any]) -> Dict[str, Dict[int, float]]:
    """{variant: {pass: messages/s}} re-derived from a raw lock-step record."""
    out: Dict[str, Dict[int, float]] = {}
    for name, d in raw["variants"].items():
        rates: Dict[int, float] = {}
        for p in d.get("passes", []):
            fields = p["chunk_fields"]
            n_i, t_i = fields.index("messages"), fields.index("seconds")
            seconds = sum(c[t_i] for c in p["chunks"])
            if seconds > 0:
                rates[int(p["pass"])] = sum(c[n_i] for c in p["chunks"]) / seconds
        out[name] = rates
    return out


def estimate_s(plan: Plan, interpreters: Sequence[str]) -> float:
    """Planned seconds of one process set (``interpreters``: one per variant timed).

    Start-up (~0.6 s of CPU per CPython worker, all on one CPU), the warm-up pass, then
    ``classify_passes`` passes of every variant at ~5,000 messages/s; PyPy's JIT warm-up
    (``PYPY_WARM_MESSAGES`` at ~2,000/s) dominates when a variant runs on it. Measured
    for the quick plan's 4 variants, 10 passes of 1,000: 10-12 s a set (estimate 12.2)."""
    if not interpreters or plan.classify_messages <= 0:
        return 0.0
    per_pass = plan.classify_messages / 5000.0
    t = 1.0 + 0.6 * len(interpreters) + per_pass * len(interpreters)
    if "pypy" in interpreters:
        t += default_warm_passes(plan.classify_messages, True) * per_pass * 2.5
    return t + plan.classify_passes * per_pass * len(interpreters)
