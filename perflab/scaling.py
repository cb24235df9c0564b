"""Horizontal scaling on a small machine: N instances behind real nginx, same CPU budget each.

``measure_scaling`` starts max(N) ``python -m service`` instances sharing one Redis
key space (a *process set*), gives each the same CPU budget (``budget_plan``: a cgroup
CPU quota on the service's core, as ``docker run --cpus`` does, or a core of its own
where the machine has enough) and puts one nginx per N in front of the first N
(deploy/nginx.conf.template: upstream with keepalive), all started once, on the
generator's CPU. Throughput is judged on *peak* throughput, as the main lab judges its
throughput claims (``perflab.measure.peak_row``):

1. a warm-up of every instance (through the N = max nginx), then a pilot: N = 1 offered
   far more than it can serve (``pilot_rate`` for ``pilot_s``); its served rate s1;
2. ``blocks`` interleaved blocks (``perflab.design.schedule_repeat``): in block b every
   N, in a seeded shuffled order, is offered ``overload`` x N x s1 (open loop, above
   capacity) with one seed shared by every N of the block (common random numbers); the
   block's figure is its served rate (successful responses per second, backlog
   included). A block whose served rate is near what was offered did not overload the
   service (its figure is a lower bound) and one the generator limited (its own
   saturation, or an offered rate above the instrument's ceiling) is marked; neither is
   judged;
3. per N, one block at the *planning load*, ``PLANNING_LOAD`` x peak(N) (the guide's
   CPU < 60%), for its P95: the capacity plan's per-instance rate is checked there.

Blocks run in one generator process per step (``--blocks``: a generator start costs
~1 s here, a block ~1 s), each preceded by a ``pause``: on every ``block_done`` the
shared key space is emptied (every block starts from the same cold cache) and each
instance's /metrics, cgroup cpu.stat are read, so a block's window is its own (the
read must come before the next block starts: checked, ``window_ok``). From the
windows: each instance's share of the requests (load balancing) and server-side
latency; from the samplers, its CPU against its budget. nginx's access log
($upstream_addr, per N over the whole step) is kept as a cross-check.

The result is a ``ScalingResult`` (JSON, schema version) whose ``budget`` says how the
budget was given, so a result is never compared with one made another way.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .cgroup import DEFAULT_PERIOD_US, CpuBudget, cpu_budget_support, remove_stale
from .design import CHAT_ROUTE, Block, KindSpec, block_seed, schedule_repeat
from .instances import Instance, drain, flush_prefix, pin, start_instances
from .measure import block_row, generator_flags, peak_row, row_from_result, run_block_spec
from .nginx import Nginx, find_nginx, read_access_log, start_nginx
from .procs import ProcessGroup
from .results import Sample
from .sampler import Sampler
from .scrape import Scrape, scrape, window

SCHEMA_VERSION = 2
PLANNING_LOAD = 0.60  # the guide's "CPU < 60% sustained", as a share of peak throughput
HELD_OVERLOAD = 0.97  # served / sent above this: the block did not overload the service
GENERATOR_START_S = 1.0  # measured here: interpreter, imports, the workload's messages
INSTANCES_START_S = 6.5  # measured here: 3 instances on 2 CPUs, their budgets, 3 nginx
BLOCK_OVERHEAD_S = 0.2  # per block in blocks mode: preparation, drain, the reads


@dataclass(frozen=True)
class ScalingConfig:
    """What the scaling phase measures and how long it may take."""

    instances: Tuple[int, ...] = (1, 2, 3)
    process_sets: int = 1  # fresh instances per set: the variance between processes
    blocks: int = 4  # overload blocks per set and N
    block_s: float = 1.0  # ~200 responses per instance (optimised at 0.3 CPU here)
    warmup_s: float = 0.0  # per overload block (an overload needs none: peak_row)
    pause_s: float = 0.2  # before each block: room to read the instances
    # x N x s1: the pilot's s1 came out ~20% under the blocks' served rate (it starts
    # cold), so 1.3 x s1 left N = 1 blocks not overloaded and unjudged
    overload: float = 1.6
    warm_rate: float = 100.0  # per instance, the warm-up of a fresh set
    warm_s: float = 0.5
    # N = 1, well above what one budgeted instance serves (~210/s for optimised, ~33/s for
    # the sync +redis_cache at 0.3 CPU here); a pilot it keeps up with is tried again at 4x
    pilot_rate: float = 250.0
    pilot_s: float = 1.0
    planning_s: float = 1.0  # the block at PLANNING_LOAD x peak(N)
    planning_warmup_s: float = 0.2
    cpus_per_instance: Optional[float] = None  # None: 0.9 of the service core / max(N)
    period_us: int = DEFAULT_PERIOD_US
    mechanism: str = "auto"  # auto (cores when enough, else cgroup) | cgroup | cores
    seed: int = 1
    arrival: str = "poisson"

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["instances"] = list(self.instances)
        d["planning_load"] = PLANNING_LOAD
        return d

    def estimate_s(self) -> float:
        """Planned wall time: per set, the start-up, the three generator steps (warm-up
        and pilot, overload blocks, planning blocks) and their blocks."""
        ns = len(self.instances)
        drain = 0.3 + self.pilot_rate * self.pilot_s / 400.0  # the pilot's backlog
        one_set = (INSTANCES_START_S + 0.2 * ns + 3 * GENERATOR_START_S
                   + self.warm_s + self.pilot_s + drain + 2 * self.pause_s
                   + self.blocks * ns * (self.pause_s + self.warmup_s + self.block_s
                                         + BLOCK_OVERHEAD_S + 0.2)
                   + ns * (self.pause_s + self.planning_warmup_s + self.planning_s
                           + BLOCK_OVERHEAD_S))
        return self.process_sets * one_set


QUICK = ScalingConfig()
FULL = ScalingConfig(process_sets=2, blocks=6)


# ------------------------------------------------------------------ the CPU budget
@dataclass(frozen=True)
class BudgetPlan:
    """How each instance gets its CPU: ``mechanism`` is cgroup-v1/v2, cores or None."""

    mechanism: Optional[str]
    cpus_per_instance: float
    period_us: Optional[int]
    service_cpus: Tuple[int, ...]  # where the instances run
    generator_cpus: Tuple[int, ...]  # generator, nginx, carrier
    instance_cpus: Tuple[Tuple[int, ...], ...] = ()  # per instance, in cores mode
    reason: str = ""  # why there is no mechanism

    def to_dict(self) -> Dict[str, Any]:
        """The run.json record: budget and mechanism of the scaling figures."""
        return {"mechanism": self.mechanism, "cpus_per_instance": self.cpus_per_instance,
                "period_us": self.period_us, "service_cpus": list(self.service_cpus),
                "generator_cpus": list(self.generator_cpus),
                "instance_cpus": [list(c) for c in self.instance_cpus],
                "reason": self.reason}


def budget_plan(config: ScalingConfig, cpus: Optional[Sequence[int]] = None) -> BudgetPlan:
    """Cores when the machine has one per instance plus one for load, else a cgroup quota
    on the service's core; no mechanism (with the reason) when neither is possible."""
    usable = sorted(cpus if cpus is not None else os.sched_getaffinity(0))
    n_max = max(config.instances)
    if len(usable) < 2:
        return BudgetPlan(None, 0.0, None, tuple(usable), tuple(usable),
                          reason="one CPU: the load generator would share the instances' CPU")
    generator = (usable[-1],)
    service = tuple(usable[:-1])
    if config.mechanism in ("auto", "cores") and len(service) >= n_max:
        return BudgetPlan("cores", 1.0, None, service[:n_max], generator,
                          tuple((c,) for c in service[:n_max]))
    if config.mechanism == "cores":
        return BudgetPlan(None, 0.0, None, service, generator,
                          reason="mechanism cores needs %d CPUs for instances plus one for "
                                 "load; this machine lets the lab use %d" % (n_max, len(usable)))
    mech, why = cpu_budget_support()
    if mech is None:
        return BudgetPlan(None, 0.0, None, service, generator,
                          reason="%d CPUs: too few to give each of %d instances a core, and "
                                 "no CPU quota: %s" % (len(usable), n_max, why))
    share = config.cpus_per_instance or round(0.9 * len(service) / n_max, 2)
    if share * n_max > len(service) + 1e-9:
        return BudgetPlan(None, 0.0, None, service, generator,
                          reason="%d instances x %.2f CPU do not fit on %d service CPU(s)"
                                 % (n_max, share, len(service)))
    return BudgetPlan("cgroup-v%d" % mech.version, share, config.period_us, service, generator)


# ------------------------------------------------------------------ the block design (pure)
def label(n: int) -> str:
    """The design's variant name for N instances (block ids and files carry it)."""
    return "scaling-n%d" % n


def instances_of(b: Block) -> int:
    """N of a block made by ``peak_schedule`` or ``planning_schedule``."""
    return int(b.variant.rsplit("-n", 1)[1])


def peak_schedule(config: ScalingConfig, process_set: int, s1: float) -> List[Block]:
    """The overload blocks of one process set: per block index every N in a seeded shuffled
    order, offered ``overload`` x N x s1, one seed for every N of a block (CRN)."""
    names = [label(n) for n in config.instances]
    spec = KindSpec("peak", names, config.blocks, config.block_s, config.warmup_s)
    rates = {label(n): round(config.overload * n * s1, 1) for n in config.instances}
    return schedule_repeat([spec], process_set, config.seed, rates)


def planning_schedule(config: ScalingConfig, process_set: int,
                      peaks: Mapping[int, float]) -> List[Block]:
    """One block per N with a peak at ``PLANNING_LOAD`` x peak(N), one shared seed, in a
    seeded shuffled order."""
    import random

    seed = block_seed(config.seed, process_set, "planning", 1, 0)
    ns = [n for n in config.instances if peaks.get(n)]
    random.Random(seed).shuffle(ns)
    return [Block(label(n), process_set, 1, "chat", CHAT_ROUTE,
                  round(PLANNING_LOAD * peaks[n], 1), config.planning_s,
                  config.planning_warmup_s, seed) for n in ns]


def set_peaks(blocks: Sequence[Mapping[str, Any]], process_set: int) -> Dict[int, float]:
    """N -> mean served rate of the set's judged overload blocks."""
    by: Dict[int, List[float]] = {}
    for b in blocks:
        if b["set"] == process_set and b["kind"] == "peak" and judged(b):
            by.setdefault(int(b["instances"]), []).append(float(b["served_rps"]))
    return {n: sum(v) / len(v) for n, v in by.items()}


def judged(b: Mapping[str, Any]) -> bool:
    """A block whose figure may be judged: measured, not generator-limited, and (overload
    blocks) above the service's capacity."""
    if b.get("status") != "ok" or b.get("generator_limited"):
        return False
    return b["kind"] != "peak" or bool(b.get("overloaded"))


# ------------------------------------------------------------------ results
@dataclass(frozen=True)
class ScalingResult:
    config: Dict[str, Any]
    budget: Dict[str, Any]
    variant: str
    pilots: Tuple[Dict[str, Any], ...] = ()  # per set: the pilot's served rate s1
    blocks: Tuple[Dict[str, Any], ...] = ()  # overload and planning blocks, in run order
    access_log: Tuple[Dict[str, Any], ...] = ()  # per set and N: nginx's $upstream_addr
    skipped: str = ""  # why nothing was measured
    interrupted: bool = False
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ScalingResult:
        if int(d.get("schema_version", 0)) != SCHEMA_VERSION:
            raise ValueError("scaling.json schema_version %r, expected %d"
                             % (d.get("schema_version"), SCHEMA_VERSION))
        return cls(dict(d["config"]), dict(d["budget"]), str(d["variant"]),
                   tuple(d.get("pilots", ())), tuple(d.get("blocks", ())),
                   tuple(d.get("access_log", ())), str(d.get("skipped", "")),
                   bool(d.get("interrupted", False)))

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1))
        os.replace(tmp, path)


def load_scaling(path: Path) -> ScalingResult:
    return ScalingResult.from_dict(json.loads(Path(path).read_text()))


# ------------------------------------------------------------------ the measurement
def scaling_env(service_env: Mapping[str, str], redis_url: str) -> Dict[str, str]:
    """The instances' environment: one shared Redis key space for all of them."""
    prefix = "perflab:scaling:%d:%d:" % (os.getpid(), int(time.time()))
    return dict(service_env, REDIS_URL=redis_url, REDIS_PREFIX=prefix)


@dataclass
class _Set:
    """One process set while it is measured: its instances, budgets, samplers, nginx."""

    index: int
    instances: List[Instance]
    budgets: List[CpuBudget] = field(default_factory=list)
    samplers: List[Sampler] = field(default_factory=list)
    lbs: Dict[int, Nginx] = field(default_factory=dict)


def measure_scaling(config: ScalingConfig, service_env: Mapping[str, str], redis_url: str,
                    out_dir: Path, group: ProcessGroup, variant: str = "+redis_cache",
                    show: Callable[[str], None] = lambda s: None,
                    cpus: Optional[Sequence[int]] = None,
                    sink: Callable[[Sample], None] = lambda s: None,
                    ceiling: Optional[float] = None,
                    after_last: Optional[Callable[[Sequence[Instance]], None]] = None
                    ) -> ScalingResult:
    """Every process set's blocks; writes ``out_dir/scaling.json`` after each step.

    ``service_env`` is the variant's full environment (toggles, CARRIER_URL, data
    settings; ``scaling_env`` adds the shared Redis). ``ceiling``: the generator's
    measured ceiling (the run's instrument), above which a block is generator-limited.
    ``after_last(instances)`` runs on the last set's instances once their budgets are
    gone, before they stop (the CDN). ``sink`` receives each instance's resource
    samples (variant "<variant>#<instance>"). Every process and cgroup made here is gone
    when this returns or raises (KeyboardInterrupt included)."""
    plan = budget_plan(config, cpus)
    result = ScalingResult(config.to_dict(), plan.to_dict(), variant)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "scaling.json"
    nginx_bin, why = find_nginx()
    if plan.mechanism is None or nginx_bin is None:
        result = replace(result, skipped=plan.reason or why)
        result.save(path)
        return result
    remove_stale()
    env = scaling_env(service_env, redis_url)
    flags = generator_flags(env.get("DATA_SEED", "42"), env.get("ORDERS_COUNT"))
    state = {"result": result}

    def record(**changes: Any) -> None:
        state["result"] = replace(state["result"], **changes)
        state["result"].save(path)

    try:
        for k in range(1, config.process_sets + 1):
            _one_set(config, plan, env, flags, group, out_dir, variant, k, show, sink,
                     ceiling, record, state, after_last if k == config.process_sets
                     else None)
    except KeyboardInterrupt:
        record(interrupted=True)
        raise
    finally:
        try:
            flush_prefix(redis_url, env["REDIS_PREFIX"])
        except Exception:  # Redis gone: nothing to clean
            pass
        state["result"].save(path)
    return state["result"]


def _one_set(config: ScalingConfig, plan: BudgetPlan, env: Dict[str, str],
             flags: Sequence[str], group: ProcessGroup, out_dir: Path, variant: str,
             k: int, show: Callable[[str], None], sink: Callable[[Sample], None],
             ceiling: Optional[float], record: Callable[..., None], state: Dict[str, Any],
             after_last: Optional[Callable[[Sequence[Instance]], None]]) -> None:
    n_max = max(config.instances)
    show("scaling set %d: starting %d instances" % (k, n_max))
    # started on every CPU (start-up is the slow part), then moved onto the service's
    instances = start_instances(group, [env] * n_max, "scale%d" % k)
    s = _Set(k, instances)
    try:
        for i, inst in enumerate(instances):
            pin(inst.child.pid, plan.instance_cpus[i] if plan.mechanism == "cores"
                else plan.service_cpus)
            s.samplers.append(Sampler(inst.child.pid, "scaling", "%s#%s" % (variant, inst.name),
                                      k, time.time(), sink, interval=0.1).start())
            if plan.mechanism != "cores":
                b = CpuBudget("scale%d-%d" % (k, i + 1), plan.cpus_per_instance,
                              plan.period_us or DEFAULT_PERIOD_US)
                s.budgets.append(b)
                b.create()
                b.attach(inst.child.pid)
        for n in config.instances:
            s.lbs[n] = start_nginx(group, out_dir / "nginx" / ("s%d-n%d" % (k, n)),
                                   [i.port for i in instances[:n]], access_log=True,
                                   cpus=plan.generator_cpus, name="nginx-s%d-n%d" % (k, n))
        s1 = _pilot(config, plan, env, flags, group, out_dir, s, show, record, state)
        if s1 is not None:
            show("scaling set %d: %d overload blocks per N at %gx N x %.0f/s"
                 % (k, config.blocks, config.overload, s1))
            _blocks(config, plan, env, flags, group, out_dir, s,
                    peak_schedule(config, k, s1), "peak", ceiling, record, state)
            peaks = set_peaks(state["result"].blocks, k)
            show("scaling set %d: planning load (%.0f%% of peak) per N"
                 % (k, 100 * PLANNING_LOAD))
            _blocks(config, plan, env, flags, group, out_dir, s,
                    planning_schedule(config, k, peaks), "planning", ceiling, record, state)
        for b in s.budgets:  # budgets off before anything else runs on these instances
            b.remove()
        s.budgets = []
        if after_last is not None:
            after_last(instances)
    finally:
        for sampler in s.samplers:
            sampler.stop()
        for lb in s.lbs.values():
            group.stop(lb.child)  # nginx writes its buffered access log as it exits
        logs = [dict(set=k, instances=n, **_upstreams(lb, instances[:n]))
                for n, lb in s.lbs.items()]
        for inst in instances:
            group.stop(inst.child)
        for b in s.budgets:
            b.remove()
        if logs:
            record(access_log=state["result"].access_log + tuple(logs))


def _upstreams(lb: Nginx, instances: Sequence[Instance]) -> Dict[str, Any]:
    """Requests per instance in nginx's access log of one N (the cross-check)."""
    counts = read_access_log(lb.access_log, 0, "/api/chat").by_upstream
    per = [int(counts.get("127.0.0.1:%d" % i.port, 0)) for i in instances]
    total = sum(per)
    return {"requests": per, "shares": [round(x / total, 4) if total else None for x in per]}


def _pilot(config: ScalingConfig, plan: BudgetPlan, env: Dict[str, str],
           flags: Sequence[str], group: ProcessGroup, out_dir: Path, s: _Set,
           show: Callable[[str], None], record: Callable[..., None],
           state: Dict[str, Any]) -> Optional[float]:
    """Warm every instance, then N = 1 above its capacity: its served rate (None when it
    served nothing; the reason is recorded). A pilot the instance kept up with (not an
    overload: its served rate is a lower bound) is run once more at 4x the rate."""
    k = s.index
    n_max = max(config.instances)
    url = s.lbs[min(config.instances)].url
    show("scaling set %d: warm-up and pilot" % k)
    warm: Dict[str, Any] = {
        "id": "scaling-s%d-warm" % k, "url": s.lbs[n_max].url, "route": CHAT_ROUTE,
        "rate": config.warm_rate * n_max, "duration": config.warm_s, "warmup": 0.0,
        "arrival": config.arrival, "seed": config.seed + 1000 * k}
    rec: Dict[str, Any] = {}
    files: Dict[str, Path] = {}
    for attempt, rate in enumerate((config.pilot_rate, 4 * config.pilot_rate), 1):
        # its own seed, after the warm-up's keys are gone: the warm-up's messages, cached,
        # would make the pilot's cheaper than the blocks' (measured: 1.5x the blocks' rate)
        pilot: Dict[str, Any] = dict(warm, id="scaling-s%d-pilot%d" % (k, attempt), url=url,
                                     rate=rate, duration=config.pilot_s,
                                     seed=config.seed + 1000 * k + attempt,
                                     pause=config.pause_s)

        def done(bid: str, f: Path) -> None:
            files[bid] = f
            flush_prefix(env["REDIS_URL"], env["REDIS_PREFIX"])  # cold, as every block
        run_block_spec(group, "gen-scaling-s%d-pilot%d" % (k, attempt),
                       [warm, pilot] if attempt == 1 else [pilot],
                       out_dir / "blocks" / ("scaling-s%d-pilot%d.json" % (k, attempt)),
                       out_dir / "histograms", flags, env, plan.generator_cpus, done)
        drain(url)
        raw = files.get(pilot["id"])
        data = json.loads(raw.read_text()) if raw is not None and raw.exists() else None
        served = float(data.get("served_rate") or 0.0) if data else 0.0
        sent = int(data["counts"]["sent"]) / config.pilot_s if data else 0.0
        rec = {"set": k, "rate": rate, "served_rps": round(served, 2),
               "sent_rps": round(sent, 2), "overloaded": 0 < served < HELD_OVERLOAD * sent,
               "attempt": attempt,
               "raw_file": str(raw.relative_to(out_dir)) if raw is not None and raw.exists()
               else ""}
        if served <= 0:
            rec["error"] = "the pilot served nothing" if data else "the pilot wrote no result"
        record(pilots=(*state["result"].pilots, rec))
        if served <= 0 or rec["overloaded"]:
            break
    return float(rec["served_rps"]) or None


def _blocks(config: ScalingConfig, plan: BudgetPlan, env: Dict[str, str],
            flags: Sequence[str], group: ProcessGroup, out_dir: Path, s: _Set,
            blocks: Sequence[Block], kind: str, ceiling: Optional[float],
            record: Callable[..., None], state: Dict[str, Any]) -> None:
    """``blocks`` in one generator process; each block's reads between it and the next."""
    if not blocks:
        return
    k = s.index
    by_id = {b.id: b for b in blocks}
    prefix = env["REDIS_PREFIX"]
    redis_url = env["REDIS_URL"]
    flush_prefix(redis_url, prefix)
    last: Dict[str, Any] = {"scrape": _read(s), "stat": [b.stat() for b in s.budgets]}
    done: set = set()

    def on_block(bid: str, raw: Path) -> None:
        b = by_id.get(bid)
        if b is None:
            return
        flush_prefix(redis_url, prefix)  # the next block starts from the same cold cache
        now, stat = _read(s), [x.stat() for x in s.budgets]
        data = json.loads(raw.read_text()) if raw.exists() else None
        rec = block_record(b, kind, data, last["scrape"], now, last["stat"], stat, s, plan,
                           ceiling)
        rec["raw_file"] = str(raw.relative_to(out_dir)) if raw.exists() else ""
        last["scrape"], last["stat"] = now, stat
        done.add(bid)
        record(blocks=(*state["result"].blocks, rec))

    spec = [{"id": b.id, "url": s.lbs[instances_of(b)].url, "route": b.route,
             "rate": b.rate, "duration": b.duration_s, "warmup": b.warmup_s,
             "arrival": config.arrival, "seed": b.seed, "pause": config.pause_s}
            for b in blocks]
    code = run_block_spec(group, "gen-scaling-s%d-%s" % (k, kind), spec,
                          out_dir / "blocks" / ("scaling-s%d-%s.json" % (k, kind)),
                          out_dir / "histograms", flags, env, plan.generator_cpus, on_block)
    missing = tuple({"set": k, "block": b.block, "kind": kind,
                     "instances": instances_of(b), "rate": b.rate, "seed": b.seed,
                     "status": "failed",
                     "failure": "the generator ended (code %d) before this block" % code}
                    for b in blocks if b.id not in done)
    if missing:
        record(blocks=state["result"].blocks + missing)


def _read(s: _Set) -> List[Scrape]:
    return [scrape(i.url) for i in s.instances]


def block_record(b: Block, kind: str, data: Optional[Dict[str, Any]],
                 before: Sequence[Scrape], after: Sequence[Scrape],
                 stat0: Sequence[Dict[str, int]], stat1: Sequence[Dict[str, int]], s: _Set,
                 plan: BudgetPlan, ceiling: Optional[float]) -> Dict[str, Any]:
    """One block's figures: the generator's (client side, open loop) and each instance's
    window (its /metrics, its CPU over the measured window, its throttling)."""
    n = instances_of(b)
    out: Dict[str, Any] = {"set": b.repeat, "block": b.block, "kind": kind, "instances": n,
                           "rate": b.rate, "seed": b.seed}
    if data is None:
        return dict(out, status="failed", failure="no result for block %s" % b.id)
    row = row_from_result(block_row("scaling", b, "cpython", n), data, None)
    if kind == "peak":
        row = peak_row(row, data, ceiling)
    start = float(data["started_at"])
    end = start + float(data["elapsed_s"])
    schedule_start = start - b.warmup_s
    windows = [window(x, y).get(CHAT_ROUTE) for x, y in zip(before, after)]
    counts = [w.requests if w is not None else 0 for w in windows]
    total = sum(counts[:n])
    per: List[Dict[str, Any]] = []
    for i in range(n):
        w = windows[i]
        cpu = s.samplers[i].window(start, end).cpu_mean_pct
        item: Dict[str, Any] = {
            "instance": s.instances[i].name, "requests": counts[i],
            "share": round(counts[i] / total, 4) if total else None,
            "cpu_pct": cpu, "cpu_of_budget": round(cpu / 100.0 / plan.cpus_per_instance, 3)
            if cpu is not None and plan.cpus_per_instance else None,
            "server_p50_ms": w.quantiles_ms.get("p50") if w else None,
            "server_p95_ms": w.quantiles_ms.get("p95") if w else None}
        if i < len(stat1) and i < len(stat0):
            item["throttled_periods"] = (stat1[i].get("nr_throttled", 0)
                                         - stat0[i].get("nr_throttled", 0))
            item["periods"] = stat1[i].get("nr_periods", 0) - stat0[i].get("nr_periods", 0)
        per.append(item)
    # the read before the block must precede its first send, and no instance outside the
    # first N may have answered: otherwise the window is not the block's own
    window_ok = bool(before) and max(x.at for x in before) < schedule_start \
        and sum(counts[n:]) == 0
    return dict(out, status=row.status, failure=row.failure,
                served_rps=row.throughput_rps,
                ok=row.ok, errors=row.errors, error_rate=row.error_rate,
                p50_ms=row.p50_ms, p95_ms=row.p95_ms, p99_ms=row.p99_ms,
                generator_cpu_pct=row.generator_cpu_pct,
                generator_limited=row.generator_saturated,
                saturation=row.saturation_reasons,
                sent_rps=round(row.requests / b.duration_s, 2),
                overloaded=(kind == "peak" and row.ok > 0 and row.throughput_rps
                            < HELD_OVERLOAD * row.requests / b.duration_s),
                window_ok=window_ok, per_instance=per)
