"""One repeat of a plan: every variant as a fresh process, measured in interleaved blocks.

All runnable variants of the repeat are started together, pinned to the
service CPU(s), each with a cold Redis key space; only the variant of the
current block receives load, the others are idle. The repeat then runs:

1. a warm-up per variant (not recorded; PyPy gets its JIT's longer one);
2. the latency blocks of ``design.schedule_repeat``: chat at the plan's rates and
   the orders route, in a shuffled order per block index, every variant on the
   same schedule (common random numbers);
3. in repeat 1 only, the pilot of each peak variant (its overload rate) and the
   capacity search where the plan asks for one: overloads come after every
   latency and memory figure, since they leave a process bigger;
4. the peak blocks (open loop above capacity), interleaved the same way;
5. the in-process classifier speed of each variant (``perflab/classify.py``: all of them
   in lock-step, one process set).

Rows are written as each measurement ends, so an interrupted run keeps them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from loadtests.oloop_events import parse_event  # the generator's own event reader

from .capacity import Probe, search_capacity
from .classify import classify_all
from .context import Context
from .design import CHAT_ROUTE, Block, KindSpec, schedule_repeat
from .instances import drain, pin
from .measure import (
    block_row,
    blocks_argv,
    openloop_argv,
    peak_row,
    row_from_result,
    run_generator,
)
from .plan import Plan
from .procs import Child, StartupError, clip_note, get_json, wait_http
from .results import Row
from .sampler import Sampler
from .stack import READY_TIMEOUT_S, child_name
from .variants import Variant

START_S = 2.0  # planned seconds to start a repeat's services (PyPy: more)
NOT_MEASURED = "not measured:"  # a block after its service died (not a second failure)
BLOCK_OVERHEAD_S = 0.15  # planned cost of one block besides its duration (blocks mode)


@dataclass
class Live:
    """A variant's process in this repeat."""

    variant: Variant
    url: str
    child: Optional[Child]
    sampler: Optional[Sampler]

    def alive(self) -> bool:
        return self.child is None or self.child.alive()


def kind_specs(plan: Plan, names: Sequence[str]) -> List[KindSpec]:
    """The plan's block kinds over the runnable variants ``names``."""
    specs = [KindSpec("chat", list(names), plan.blocks, plan.duration_s, 0.0, plan.rates,
                      {n: plan.chat_blocks(n) for n in names
                       if plan.chat_blocks(n) < plan.blocks})]
    orders = [n for n in names if plan.wants_orders(n)]
    if orders:
        specs.append(KindSpec("orders", orders, plan.blocks, plan.orders_duration_s, 0.0,
                              (plan.orders_rate,)))
    peak = [n for n in names if plan.wants_peak(n)]
    if peak:
        specs.append(KindSpec("peak", peak, plan.peak_blocks, plan.peak_duration_s, 0.0))
    return specs


# ------------------------------------------------------------------ one repeat
def run_repeat(ctx: Context, repeat: int, variants: Sequence[Variant]) -> None:
    label = "repeat %d/%d" % (repeat, ctx.plan.repeats)
    ctx.display.phase("%s: starting %d services" % (label, len(variants)))
    live = _start_all(ctx, repeat, variants)
    try:
        if not live:
            return
        _warm_up(ctx, repeat, live, label)
        names = [n for n in live if live[n].alive()]
        specs = kind_specs(ctx.plan, names)
        latency = schedule_repeat([s for s in specs if s.kind != "peak"], repeat,
                                  ctx.plan.seed, {})
        _run_blocks(ctx, latency, live, label)
        if repeat == 1:  # overloads come after every latency and memory figure
            _pilots(ctx, live, label)
            _capacities(ctx, live, label)
        peak = schedule_repeat([s for s in specs if s.kind == "peak"], repeat,
                               ctx.plan.seed, ctx.peak_rates)
        _run_blocks(ctx, peak, live, label)
        ctx.meta.schedule.extend(b.to_dict() for b in [*latency, *peak])
        if ctx.options.target is None and repeat <= ctx.plan.classify_repeats:
            classify_all(ctx, [lv.variant for name, lv in live.items()
                               if ctx.plan.wants_classify(name) and lv.alive()], repeat)
        _record_realised(ctx, repeat, live)
        for name, lv in live.items():
            if not lv.alive() and not any(f["variant"] == name and f["repeat"] == repeat
                                          and f["kind"] == "service"
                                          for f in ctx.meta.failures):
                # died where no row said so (a warm-up, a pilot): its own failed row
                ctx.fail(name, repeat, "service", death(lv.child))
                _failed_row(ctx, lv.variant, repeat, death(lv.child))
    finally:
        if ctx.generator is not None:  # the generator before the services it drives
            ctx.stack.group.stop(ctx.generator, grace=3.0)
        for lv in live.values():
            if lv.sampler is not None:
                lv.sampler.stop()
            if lv.child is not None:
                ctx.stack.stop(lv.child)


def _record_realised(ctx: Context, repeat: int, live: Dict[str, Live]) -> None:
    """Each calibration variant's injected amount as its service realised it (the
    /metrics summary its KnownEffect names): the truth its effect is checked against."""
    from .catalogue import BY_NAME
    from .scrape import scrape

    for name, lv in live.items():
        t = BY_NAME.get(lv.variant.toggle or "")
        known = t.known if t is not None else None
        if known is None or not known.realised or not lv.alive():
            continue
        try:
            totals = scrape(lv.url).totals
        except OSError as exc:
            ctx.display.message("calibration truth of %s r%d not read: %s" % (name, repeat,
                                                                             exc))
            continue
        count = totals.get(known.realised + "_count")
        if count:
            ctx.meta.realised.setdefault(name, {})[str(repeat)] = {
                "sum_s": float(totals.get(known.realised + "_sum", 0.0)),
                "count": float(count)}


def _start_all(ctx: Context, repeat: int, variants: Sequence[Variant]) -> Dict[str, Live]:
    live: Dict[str, Live] = {}
    if ctx.options.target is not None:
        for v in variants:
            live[v.name] = Live(v, ctx.options.target.rstrip("/"), None, None)
        _record_configs(ctx, live)
        return live
    # started on every CPU of the run (the generator's is idle meanwhile: on this 2-core
    # machine ten start-ups took 34 s on one CPU, 17 s on two), pinned once ready
    start_cpus = sorted({*ctx.pinning.service, *ctx.pinning.generator})
    pending = []
    for v in variants:
        env = ctx.stack.service_env(ctx.base_env, v, "perflab:%s:%s:r%d:" % (
            ctx.meta.run_id, v.name, repeat))
        instances = ctx.options.instances or v.instances
        try:
            child, url = ctx.stack.start_service(v, env, "service-" + child_name(v.name,
                                                                                 repeat),
                                                 cpus=start_cpus,
                                                 instances=instances, wait=False)
        except RuntimeError as exc:
            ctx.fail(v.name, repeat, "startup", str(exc))
            continue
        pending.append((v, child, url))
    for v, child, url in pending:
        try:
            wait_http(url + "/healthz", child, READY_TIMEOUT_S)
        except StartupError as exc:
            ctx.fail(v.name, repeat, "startup", str(exc))
            _failed_row(ctx, v, repeat, str(exc))
            ctx.stack.stop(child)
            continue
        if ctx.pinning.service:
            pin(child.pid, ctx.pinning.service)
        sampler = Sampler(child.pid, ctx.meta.run_id, v.name, repeat, ctx.t0,
                          ctx.add_sample).start()
        live[v.name] = Live(v, url, child, sampler)
    if repeat == 1:
        _record_configs(ctx, live)
    return live


def _record_configs(ctx: Context, live: Dict[str, Live]) -> None:
    for name, lv in live.items():
        if name in ctx.meta.configs:
            continue
        try:
            ctx.meta.configs[name] = get_json(lv.url + "/api/config")
        except Exception as exc:
            ctx.meta.configs[name] = {"error": str(exc)}


def _failed_row(ctx: Context, v: Variant, repeat: int, text: str,
                measurement: str = "fixed_rate") -> None:
    ctx.add_row(Row(ctx.meta.run_id, v.name, repeat, measurement, "open", CHAT_ROUTE,
                    "failed", interpreter=v.interpreter,
                    instances=ctx.options.instances or v.instances, started_at=time.time(),
                    ended_at=time.time(), failure=clip_note(text)))


def death(child: Optional[Child]) -> str:
    """What a dead service left behind: its exit code and real last log line(s)."""
    if child is None:
        return "the target stopped answering"
    return child.exit_note("service")


# ------------------------------------------------------------------ single generator runs
def open_loop(ctx: Context, lv: Live, repeat: int, measurement: str, route: str,
              rate: float, duration: float, warmup: float, seed: int, block: int = 0,
              write: bool = True, tag: str = "") -> Row:
    """One open-loop generator run against ``lv``; its Row (written unless told not)."""
    v = lv.variant
    name = "%s-%s-%g%s%s" % (child_name(v.name, repeat), measurement, rate,
                             "-b%d" % block if block else "", tag)
    raw = ctx.run_dir / "histograms" / (name + ".json")
    argv = openloop_argv(lv.url, route, rate, duration, warmup, ctx.plan.arrival, seed, raw,
                         ctx.gen_flags)
    base = Row(ctx.meta.run_id, v.name, repeat, measurement, "open", route, "ok",
               target_rate=rate, interpreter=v.interpreter,
               instances=ctx.options.instances or v.instances, started_at=time.time(),
               raw_file=str(raw.relative_to(ctx.run_dir)), block=block)

    code = -1
    try:
        code = run_generator(ctx.stack.group, "gen-" + name, argv, ctx.base_env,
                             ctx.pinning.generator, warmup + duration + 30.0,
                             lambda line: _progress(ctx, line), ctx.set_generator)
    finally:  # interrupted too: the partial result is kept as an interrupted row
        data = json.loads(raw.read_text()) if raw.exists() else None
        row = _row(ctx, lv, replace(base, ended_at=time.time()), data,
                   "generator exited with code %d" % code)
        if write and (data is not None or code != -1):
            ctx.add_row(row)
            _note_failure(ctx, lv, row)
    return row


def _note_failure(ctx: Context, lv: Live, row: Row) -> None:
    """A failed row is a failure of the run too (it is then not complete)."""
    if row.status == "failed":
        ctx.fail(row.variant, row.repeat, "service" if not lv.alive() else "all_failed",
                 row.failure)


def _progress(ctx: Context, line: str) -> Optional[Dict[str, Any]]:
    """Show a generator's progress event live; return any event."""
    ev = parse_event(line)
    if ev is not None and ev.get("event") == "progress":
        ctx.display.live_line("sent %s, %.0f/s, p95 %s ms" % (
            ev.get("sent"), float(ev.get("rate") or 0), ev.get("p95_ms") or "-"))
    return ev


def _row(ctx: Context, lv: Live, base: Row, data: Optional[Dict[str, Any]],
         missing: str) -> Row:
    """The Row of one finished generator result (``data``; None when it wrote none)."""
    if not lv.alive():
        return replace(base, status="failed", failure=death(lv.child))
    if data is None:
        return replace(base, status="failed", failure=missing)
    end = data["started_at"] + data["elapsed_s"]
    window = None
    if lv.sampler is not None:
        now = time.time()
        lv.sampler.wait_past(now)
        window = lv.sampler.window(data["started_at"], end, cpu_end=now)
    row = row_from_result(base, data, window)
    if base.measurement in ("peak", "pilot"):
        row = peak_row(row, data, ctx.instrument_ceiling)
    return row


def _warm_up(ctx: Context, repeat: int, live: Dict[str, Live], label: str) -> None:
    """Every variant's warm-up (not recorded), in one generator process."""
    blocks = []
    for name, lv in live.items():
        w = ctx.plan.pypy_warmup_s if lv.variant.interpreter == "pypy" else ctx.plan.warmup_s
        if w > 0:
            blocks.append(Block(name, repeat, 1, "warmup", CHAT_ROUTE,
                                ctx.plan.reference_rate, w, 0.0,
                                ctx.plan.seed * 1000 + repeat))
    ctx.display.phase("%s: warm-up" % label)
    _run_blocks(ctx, blocks, live, label, keep=lambda b, row: None)


def pilot_blocks(plan: Plan, names: Sequence[str], repeat: int, route: str = CHAT_ROUTE,
                 block: int = 1) -> List[Block]:
    """An overload per variant (``peak_probe_rate`` for ``peak_probe_s``): what it serves
    then is its peak. The backlog (rate x duration requests) is kept small, since the
    service answers all of it before the next block."""
    return [Block(n, repeat, block, "pilot", route, plan.peak_probe_rate, plan.peak_probe_s,
                  0.0, plan.seed) for n in names]


def _pilots(ctx: Context, live: Dict[str, Live], label: str) -> None:
    """Each peak variant's overload rate: ``peak_overload`` x what it served when asked
    for far more than it can."""
    plan = ctx.plan

    def keep(b: Block, row: Row) -> None:
        if row.status == "ok" and row.throughput_rps > 0:
            ctx.peak_rates[b.variant] = round(plan.peak_overload * row.throughput_rps, 1)
        else:
            ctx.fail(b.variant, 1, "measurement", "peak pilot: %s"
                     % (row.failure or row.status))

    ctx.display.phase("%s: peak pilots" % label)
    _run_blocks(ctx, pilot_blocks(plan, [n for n in live if plan.wants_peak(n)], 1), live,
                label, keep)
    ctx.meta.machine["peak_rates"] = dict(ctx.peak_rates)


def _capacities(ctx: Context, live: Dict[str, Live], label: str) -> None:
    plan = ctx.plan
    cap = plan.capacity
    for name, lv in live.items():
        if not plan.wants_capacity(name):
            continue
        probes: List[Row] = []

        def probe(rate: float, lv: Live = lv, name: str = name,
                  probes: List[Row] = probes) -> Optional[Probe]:
            ctx.display.phase("%s: capacity %s, probe %g/s" % (label, name, rate))
            row = open_loop(ctx, lv, 1, "capacity", CHAT_ROUTE, rate, cap.probe_s,
                            cap.warmup_s, plan.seed, write=False,
                            tag="-%d" % len(probes))
            probes.append(row)
            if not lv.alive():
                return None
            drain(lv.url)
            ok = (row.status == "ok" and row.p95_ms is not None and row.p95_ms <= cap.p95_ms
                  and row.error_rate <= cap.max_error_rate)
            return Probe(rate, ok, row.achieved_rate, row.throughput_rps, row.p95_ms,
                         row.error_rate, generator_limited=row.generator_saturated and not ok,
                         service_cpu_pct=row.service_cpu_pct,
                         generator_cpu_pct=row.generator_cpu_pct)

        result = search_capacity(probe, cap)
        if result is None:
            ctx.fail(name, 1, "service", death(lv.child))
            continue
        raw = ctx.run_dir / "histograms" / ("%s-capacity-probes.json" % child_name(name, 1))
        raw.write_text(json.dumps({"probes": [p.__dict__ for p in result.probes],
                                   "notes": list(result.notes),
                                   "first_failure_rate": result.fail_rate}, indent=1))
        best = next((r for r in probes if result.best is not None
                     and r.target_rate == result.best.rate), None)
        base = best if best is not None else Row(
            ctx.meta.run_id, name, 1, "capacity", "open", CHAT_ROUTE, "ok",
            interpreter=lv.variant.interpreter, started_at=time.time(), ended_at=time.time())
        ctx.add_row(replace(base, measurement="capacity",
                            capacity_rps=result.capacity if result.capacity is not None
                            else 0.0, capacity_bound="bracketed" if result.bound == "bracketed"
                            else "lower", capacity_fail_rps=result.fail_rate,
                            generator_saturated=result.generator_limited,
                            saturation_reasons="; ".join(result.notes),
                            raw_file=str(raw.relative_to(ctx.run_dir))))


# ------------------------------------------------------------------ the blocks
def _run_blocks(ctx: Context, blocks: Sequence[Block], live: Dict[str, Live],
                label: str, keep: Optional[Callable[[Block, Row], None]] = None) -> None:
    """Every block in one generator process (``--blocks``): its pools stay open and it
    drains between blocks; each block's row is written as its ``block_done`` arrives,
    or handed to ``keep`` instead (warm-ups, pilots: not results)."""
    blocks = [b for b in blocks if b.variant in live and live[b.variant].alive()]
    if not blocks:
        return
    out = ctx.run_dir / "histograms"
    spec = ctx.run_dir / "blocks" / ("%s-r%d.json" % (blocks[0].kind, blocks[0].repeat))
    spec.parent.mkdir(exist_ok=True)
    by_id = {b.id: b for b in blocks}
    spec.write_text(json.dumps({"blocks": [
        {"id": b.id, "url": live[b.variant].url, "route": b.route, "rate": b.rate,
         "duration": b.duration_s, "warmup": b.warmup_s, "arrival": ctx.plan.arrival,
         "seed": b.seed} for b in blocks]}, indent=1))
    done: set = set()
    started = {"t": time.time()}
    died_in: Dict[str, str] = {}  # variant -> the block whose row carries its death

    def after_death(row: Row) -> Row:
        """The first failed row of a dead service carries its death; the blocks after it
        were not measured and say so, instead of repeating the death as new failures."""
        if row.status != "failed" or live[row.variant].alive():
            return row
        if row.variant not in died_in:
            died_in[row.variant] = "%s block %d" % (row.measurement, row.block)
            return row
        return replace(row, failure="%s the %s service had died (in %s)" % (
            NOT_MEASURED, row.variant, died_in[row.variant]))

    def on_line(line: str) -> None:
        ev = _progress(ctx, line)
        if ev is None:
            return
        if ev.get("event") == "progress" and ev.get("block") in by_id:
            b = by_id[ev["block"]]
            ctx.display.phase("%s: %s %s %g/s (block %d of %d)" % (
                label, b.variant, b.kind, b.rate, len(done) + 1, len(blocks)))
        if ev.get("event") != "block_done" or ev.get("id") not in by_id:
            return
        b = by_id[ev["id"]]
        done.add(b.id)
        raw = Path(ev["file"]) if ev.get("file") else out / (b.id + ".json")
        data = json.loads(raw.read_text()) if raw.exists() else None
        base = replace(block_row(ctx.meta.run_id, b, live[b.variant].variant.interpreter,
                                 ctx.options.instances or live[b.variant].variant.instances),
                       started_at=started["t"], ended_at=time.time(),
                       raw_file=str(raw.relative_to(ctx.run_dir)) if raw.exists() else "")
        started["t"] = time.time()
        row = after_death(_row(ctx, live[b.variant], base, data,
                               "no result for block %s" % b.id))
        ctx.display.advance(b.duration_s + b.warmup_s + BLOCK_OVERHEAD_S)
        if keep is not None:
            keep(b, row)
            return
        ctx.add_row(row)
        if row.failure.startswith(NOT_MEASURED):
            return  # the death is the failure of the block that saw it, counted once
        _note_failure(ctx, live[b.variant], row)

    limit = sum(b.duration_s + b.warmup_s + 3.0 for b in blocks) + 30.0
    code = run_generator(ctx.stack.group, "gen-%s-r%d" % (blocks[0].kind, blocks[0].repeat),
                         blocks_argv(spec, out, ctx.gen_flags), ctx.base_env,
                         ctx.pinning.generator, limit, on_line, ctx.set_generator)
    for b in blocks:  # blocks the generator never finished: failed, never silently absent
        if b.id not in done:
            lv = live[b.variant]
            row = replace(block_row(ctx.meta.run_id, b, lv.variant.interpreter,
                                    ctx.options.instances or lv.variant.instances),
                          status="failed", ended_at=time.time(),
                          failure=death(lv.child) if not lv.alive() else
                          "the generator ended (code %d) before this block" % code)
            row = after_death(row)
            if keep is not None:
                keep(b, row)
            else:
                ctx.add_row(row)
