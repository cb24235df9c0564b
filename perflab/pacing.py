"""Rates fitted to this machine: the plan's rates, lowered where its reference variant
would run near saturation here.

A fixed rate is a different load on a different machine. The quick plan's 100/s chat
and 200/s orders were chosen where the sync baseline served both with idle time left;
on a host about half as fast (measured 2026-12-02: baseline chat peak 180/s, and its
orders blocks queued, p50 ~100 ms instead of a few ms) the blocks measured a queue, and
a queue turns small timing differences into large ones: the A/A order-p50 interval was
±26%; at 45% of its peak the baseline's block p50 was still 1.5-3x its service time.
So before the repeats, one throwaway process of the reference variant is asked for
far more than it can serve on each route, and a rate above ``KEEP_UTILISATION`` of
what it served is lowered to ``UTILISATION`` x that, rounded down to ``LADDER`` so
that two runs on one machine choose the same rate; a lowered rate lengthens its
blocks (``MAX_STRETCH`` at most).
The chosen rates, the served rates and the plan's own are recorded in run.json
(``machine.pacing``), and the report judges the targets at the rates actually used.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any, Dict, Optional, Tuple

from .context import Context
from .design import CHAT_ROUTE, ORDERS_ROUTE
from .plan import Plan
from .variants import resolve

UTILISATION = 0.4  # of the reference variant's peak: latency blocks keep idle time
# the plan's rate is kept up to this share of the peak: the host's speed moved the
# baseline's chat peak between 192 and 259/s from run to run here, and a rate that
# flipped between 70 and 100/s made two runs of one plan different plans
KEEP_UTILISATION = 0.5
# a lowered rate lengthens its blocks by as much, up to this factor, so that a block
# keeps about the requests its percentiles were planned with
MAX_STRETCH = 1.5
LADDER = (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)  # per decade: 10, 15, 20, 30, 50, 70, 100, ...


def ladder_floor(x: float) -> float:
    """The largest ladder value <= x (x > 0)."""
    if x <= 0 or not math.isfinite(x):
        raise ValueError("ladder_floor needs a positive rate, got %r" % x)
    decade = 10.0 ** math.floor(math.log10(x))
    best = max(m for m in (*LADDER, 10.0) if m * decade <= x * (1 + 1e-9))
    return round(best * decade, 6)


def fitted_rate(nominal: float, served: Optional[float],
                utilisation: float = UTILISATION) -> Tuple[float, str]:
    """(rate, why): ``nominal`` while it is at most ``KEEP_UTILISATION`` x ``served``,
    else the ladder value under ``utilisation`` x ``served``. No served figure keeps
    ``nominal``."""
    if served is None or served <= 0:
        return nominal, "no peak measured: the plan's rate"
    cap = ladder_floor(utilisation * served)
    if cap >= nominal or nominal <= KEEP_UTILISATION * served:
        return nominal, "the plan's rate (%.0f%% of the %.0f/s served)" % (
            100 * nominal / served, served)
    return cap, "lowered from the plan's %g/s: %.0f%% of the %.0f/s served here" % (
        nominal, 100 * utilisation, served)


def fit_plan(plan: Plan, chat_served: Optional[float], orders_served: Optional[float]
             ) -> Tuple[Plan, Dict[str, Any]]:
    """The plan with its chat rates (all scaled with the reference rate) and orders rate
    fitted, their blocks lengthened to match (``MAX_STRETCH`` at most); and the record."""
    chat, chat_why = fitted_rate(plan.reference_rate, chat_served)
    scale = chat / plan.reference_rate
    rates = tuple(chat if r == plan.reference_rate else round(r * scale, 1)
                  for r in plan.rates)
    orders, orders_why = (fitted_rate(plan.orders_rate, orders_served)
                          if plan.orders_rate > 0 else (0.0, "orders off"))
    chat_s = _stretch(plan.duration_s, plan.reference_rate, chat)
    orders_s = _stretch(plan.orders_duration_s, plan.orders_rate, orders)
    record = {"utilisation": UTILISATION,
              "chat": {"plan": plan.reference_rate, "served": chat_served, "rate": chat,
                       "block_s": chat_s, "why": chat_why},
              "orders": {"plan": plan.orders_rate, "served": orders_served, "rate": orders,
                         "block_s": orders_s, "why": orders_why}}
    return replace(plan, rates=rates, reference_rate=chat, orders_rate=orders,
                   duration_s=chat_s, orders_duration_s=orders_s), record


def _stretch(duration: float, nominal: float, rate: float) -> float:
    if rate <= 0 or rate >= nominal:
        return duration
    return round(duration * min(MAX_STRETCH, nominal / rate), 2)


def reference_variant(runnable: Any) -> Optional[str]:
    """The variant the others are compared to: baseline, where the plan runs it."""
    return "baseline" if any(v.name == "baseline" for v in runnable) else None


def fit_rates(ctx: Context) -> None:
    """Measure the reference variant's peak on each route in a throwaway process and
    fit the plan's rates to it (``ctx.plan`` and run.json's plan are replaced)."""
    from .rounds import Live, _run_blocks, pilot_blocks
    from .stack import child_name

    plan = ctx.plan
    name = reference_variant(ctx.runnable)
    if name is None:
        ctx.meta.machine["pacing"] = {"skipped": "no baseline in the plan: its rates as "
                                                 "written"}
        return
    v = resolve(name)
    env = ctx.stack.service_env(ctx.base_env, v, "perflab:%s:pacing:" % ctx.meta.run_id)
    cpus = sorted({*ctx.pinning.service, *ctx.pinning.generator})
    child, url = ctx.stack.start_service(v, env, "service-" + child_name(name, 0), cpus=cpus)
    served: Dict[str, Optional[float]] = {"chat": None, "orders": None}
    try:
        from .instances import pin

        if ctx.pinning.service:
            pin(child.pid, ctx.pinning.service)
        live = {name: Live(v, url, child, None)}
        blocks = pilot_blocks(plan, [name], 0, CHAT_ROUTE, 1)
        if plan.orders_rate > 0:
            blocks += pilot_blocks(plan, [name], 0, ORDERS_ROUTE, 2)

        def keep(b: Any, row: Any) -> None:
            if row.status == "ok" and row.throughput_rps > 0:
                served["chat" if b.route == CHAT_ROUTE else "orders"] = row.throughput_rps

        ctx.display.phase("pacing: peak of %s on this machine" % name)
        _run_blocks(ctx, blocks, live, "pacing", keep)
    finally:
        ctx.stack.stop(child)
    fitted, record = fit_plan(plan, served["chat"], served["orders"])
    record.update(variant=name, at=time.time())
    ctx.meta.machine["pacing"] = record
    if fitted != plan:
        ctx.plan = fitted
        ctx.meta.plan = fitted.to_dict()  # the plan's own rates: machine.pacing
    ctx.display.message("pacing: chat %g/s (%s); orders %g/s (%s)" % (
        record["chat"]["rate"], record["chat"]["why"], record["orders"]["rate"],
        record["orders"]["why"]))
