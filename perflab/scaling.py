"""Horizontal scaling on a small machine: N instances behind real nginx, same CPU budget each.

``measure_scaling`` starts max(N) ``python -m service`` instances sharing one Redis
key space, gives each the same CPU budget (``budget_plan``: a cgroup CPU quota on
the service's core, as ``docker run --cpus`` does, or a core of its own where the
machine has enough), and for N = 1, 2, 3 puts a fresh nginx in front of the first N
(deploy/nginx.conf.template: upstream with keepalive) and searches the capacity
through it: step up by ``factor`` until a probe misses P95 < 200 ms or errors < 2%,
then bisect. N is shuffled within each repeat (seeded); between searches the shared
key space is emptied, so each search starts with a cold cache.

During every probe each instance's own /metrics is scraped before and after, for
its share of the requests and its server-side latency, and its CPU time is read,
for its CPU against its budget: the load-balancing figures.

Nginx, the generator and the carrier run on the generator's core. The result is a
``ScalingResult`` (JSON, schema version) whose ``budget`` says how the budget was
given, so a result is never compared with one made another way.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .cgroup import DEFAULT_PERIOD_US, CpuBudget, cpu_budget_support, remove_stale
from .instances import Instance, drain, flush_prefix, pin, start_instances
from .loadgen import GENERATOR_CPU_LIMIT, Load, run_load, summary
from .nginx import find_nginx, start_nginx
from .procs import ProcessGroup
from .results import Sample
from .sampler import Sampler
from .scrape import scrape, window

SCHEMA_VERSION = 1
CHAT = "POST /api/chat"


@dataclass(frozen=True)
class ScalingConfig:
    """What the scaling phase measures and how long it may take."""

    instances: Tuple[int, ...] = (1, 2, 3)
    repeats: int = 2
    cpus_per_instance: Optional[float] = None  # None: 0.9 of the service core / max(N)
    period_us: int = DEFAULT_PERIOD_US
    mechanism: str = "auto"  # auto (cores when enough, else cgroup) | cgroup | cores
    start_rate: float = 60.0  # per instance: N instances start at N x this
    factor: float = 2.0
    max_rate: float = 4000.0
    bisect_steps: int = 1
    probe_s: float = 1.0
    warmup_s: float = 0.3
    budget_s: float = 8.0  # per search
    p95_ms: float = 200.0
    max_error_rate: float = 0.02
    seed: int = 1
    arrival: str = "poisson"

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["instances"] = list(self.instances)
        return d


QUICK = ScalingConfig()


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


# ------------------------------------------------------------------ capacity search
@dataclass(frozen=True)
class Search:
    """A capacity search's outcome: the highest passing rate and how far it is bracketed."""

    capacity_rps: Optional[float]
    bound: str  # bracketed | lower (no failure found) | none (no probe passed)
    fail_rps: Optional[float]
    generator_limited: bool
    budget_hit: bool
    probes: Tuple[Dict[str, Any], ...]


def search_capacity(probe: Callable[[float], Dict[str, Any]], start: float, factor: float,
                    max_rate: float, bisect_steps: int, budget_s: float,
                    clock: Callable[[], float] = time.monotonic) -> Search:
    """Step up from ``start`` by ``factor`` until a probe fails, then bisect (geometric).

    ``probe(rate)`` returns a dict with ``pass`` and ``generator_limited``. A failure the
    generator caused stops the search: the capacity is then a lower bound.
    """
    deadline = clock() + budget_s
    probes: List[Dict[str, Any]] = []
    best: Optional[float] = None
    fail: Optional[float] = None
    limited = budget_hit = False
    rate = start

    def run(r: float) -> bool:
        nonlocal limited
        p = dict(probe(r), rate=r)
        probes.append(p)
        if not p["pass"] and p.get("generator_limited"):
            limited = True
        return bool(p["pass"])

    while rate <= max_rate:
        if clock() > deadline:
            budget_hit = True
            break
        if not run(rate):
            fail = rate
            break
        best = rate
        rate = round(rate * factor, 1)
    down = 0
    while best is None and fail is not None and not limited and down < 2:
        # the first probe failed: step down (a neighbour's burst, or a low capacity)
        if clock() > deadline:
            budget_hit = True
            break
        down += 1
        rate = round(fail / factor, 1)
        if run(rate):
            best = rate
        else:
            fail = rate
    if best is not None and fail is not None and not limited:
        lo, hi = best, fail
        for _ in range(bisect_steps):
            if clock() > deadline:
                budget_hit = True
                break
            mid = round((lo * hi) ** 0.5, 1)
            if run(mid):
                lo = best = mid
            else:
                hi = fail = mid
                if limited:
                    break
    if best is None:
        bound = "none"
    elif fail is not None and not limited:
        bound = "bracketed"
    else:
        bound = "lower"
    return Search(best, bound, fail, limited, budget_hit, tuple(probes))


# ------------------------------------------------------------------ results
@dataclass(frozen=True)
class SearchRecord:
    instances: int
    repeat: int
    capacity_rps: Optional[float]
    bound: str
    fail_rps: Optional[float]
    generator_limited: bool
    probes: Tuple[Dict[str, Any], ...]
    notes: Tuple[str, ...] = ()

    def at_capacity(self) -> Optional[Dict[str, Any]]:
        """The probe at the capacity rate (the load-balancing figures come from it)."""
        for p in self.probes:
            if p.get("pass") and p.get("rate") == self.capacity_rps:
                return p
        return None


@dataclass(frozen=True)
class ScalingResult:
    config: Dict[str, Any]
    budget: Dict[str, Any]
    variant: str
    searches: Tuple[SearchRecord, ...] = ()
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
        searches = tuple(SearchRecord(**dict(s, probes=tuple(s["probes"]),
                                             notes=tuple(s.get("notes", ()))))
                         for s in d.get("searches", ()))
        return cls(dict(d["config"]), dict(d["budget"]), str(d["variant"]), searches,
                   str(d.get("skipped", "")), bool(d.get("interrupted", False)))

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


def measure_scaling(config: ScalingConfig, service_env: Mapping[str, str], redis_url: str,
                    out_dir: Path, group: ProcessGroup, variant: str = "+redis_cache",
                    show: Callable[[str], None] = lambda s: None,
                    cpus: Optional[Sequence[int]] = None,
                    instances: Optional[Sequence[Instance]] = None,
                    sink: Callable[[Sample], None] = lambda s: None) -> ScalingResult:
    """Run the scaling searches; writes ``out_dir/scaling.json`` as it goes.

    ``service_env`` is the variant's full environment (toggles, CARRIER_URL, data
    settings; ``scaling_env`` adds the shared Redis). ``instances``: already running
    ones (at least max(N), started with ``scaling_env``'s environment, left running);
    otherwise they are started and stopped here. ``sink`` receives each instance's
    resource samples (variant "<variant>#<instance>"). Every process and cgroup made
    here is gone when this returns or raises (KeyboardInterrupt included): processes
    by ``group``, cgroups by their budgets (instances passed in leave their budget).
    """
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
    env = dict(service_env) if instances else scaling_env(service_env, redis_url)
    prefix = env["REDIS_PREFIX"]
    n_max = max(config.instances)
    budgets: List[CpuBudget] = []
    records: List[SearchRecord] = []
    started: List[Any] = []  # children started here, stopped here
    samplers: List[Sampler] = []
    try:
        if instances is None:
            show("scaling: starting %d instances" % n_max)
            instances = start_instances(group, [env] * n_max, "scale", cpus=plan.service_cpus)
            started.extend(i.child for i in instances)
        instances = list(instances)[:n_max]
        for inst in instances:
            samplers.append(Sampler(inst.child.pid, "scaling", "%s#%s" % (variant, inst.name),
                                    0, time.time(), sink, interval=0.1).start())
        for k, inst in enumerate(instances):
            if plan.mechanism == "cores":
                pin(inst.child.pid, plan.instance_cpus[k])
            else:
                b = CpuBudget("scale-%d" % (k + 1), plan.cpus_per_instance,
                              plan.period_us or DEFAULT_PERIOD_US)
                budgets.append(b)
                b.create()
                b.attach(inst.child.pid)
        rng = random.Random(config.seed)
        hint: Optional[float] = None  # per-instance capacity seen so far
        for repeat in range(1, config.repeats + 1):
            order = list(config.instances)
            rng.shuffle(order)
            for n in order:
                flush_prefix(redis_url, prefix)
                show("scaling r%d: N=%d capacity search" % (repeat, n))
                rec = _search(config, plan, group, instances[:n], budgets[:n],
                              samplers[:n], repeat, out_dir, env, hint)
                records.append(rec)
                if rec.capacity_rps and rec.bound == "bracketed":
                    per = rec.capacity_rps / n  # the best per-instance figure: a search
                    hint = per if hint is None else max(hint, per)  # steps down if high
                result = replace(result, searches=tuple(records))
                result.save(path)
    except KeyboardInterrupt:
        result = replace(result, searches=tuple(records), interrupted=True)
        raise
    finally:
        for sampler in samplers:
            sampler.stop()
        for child in started:
            group.stop(child)
        for b in budgets:
            b.remove()
        try:
            flush_prefix(redis_url, prefix)
        except Exception:  # Redis gone: nothing to clean
            pass
        result.save(path)
    return result


def _search(config: ScalingConfig, plan: BudgetPlan, group: ProcessGroup,
            instances: Sequence[Instance], budgets: Sequence[CpuBudget],
            samplers: Sequence[Sampler], repeat: int, out_dir: Path,
            env: Mapping[str, str], hint: Optional[float] = None) -> SearchRecord:
    """One capacity search through a fresh nginx over ``instances``. With a ``hint``
    (capacity per instance from earlier searches) it starts just below N x hint and
    steps by sqrt(factor), so that it brackets the capacity in fewer, finer probes."""
    n = len(instances)
    lb = start_nginx(group, out_dir / "nginx" / ("n%d-r%d" % (n, repeat)),
                     [i.port for i in instances], cpus=plan.generator_cpus,
                     name="nginx-n%d-r%d" % (n, repeat))
    try:
        def probe(rate: float) -> Dict[str, Any]:
            first = _probe(config, plan, group, lb.url, instances, budgets, samplers, rate,
                           repeat, out_dir, env)
            if first["pass"] or not first.get("generator_saturated") or \
                    first.get("generator_limited"):
                return first
            # failed while the generator fell behind its schedule with CPU to spare: the
            # machine stalled it (a neighbour); probe again once, keeping both
            again = _probe(config, plan, group, lb.url, instances, budgets, samplers, rate,
                           repeat, out_dir, env)
            return dict(again, retried_after=first)

        if hint is None:
            start, factor = config.start_rate * n, config.factor
        else:
            start, factor = round(0.7 * hint * n, 1), config.factor ** 0.5
        s = search_capacity(probe, start, factor, config.max_rate, config.bisect_steps,
                            config.budget_s)
    finally:
        group.stop(lb.child)
    notes = []
    if s.generator_limited:
        notes.append("generator-limited: capacity is a lower bound")
    if s.budget_hit:
        notes.append("time budget reached")
    rec = SearchRecord(n, repeat, s.capacity_rps, s.bound, s.fail_rps, s.generator_limited,
                       s.probes, tuple(notes))
    # the same shape as the runner's histograms/*-capacity-probes.json (plots read both)
    (out_dir / "histograms").mkdir(exist_ok=True)
    (out_dir / "histograms" / ("scaling-n%d-r%d-capacity-probes.json" % (n, repeat))
     ).write_text(json.dumps({"probes": list(s.probes), "notes": notes,
                              "first_failure_rate": s.fail_rps}, indent=1))
    return rec


def _probe(config: ScalingConfig, plan: BudgetPlan, group: ProcessGroup, url: str,
           instances: Sequence[Instance], budgets: Sequence[CpuBudget],
           samplers: Sequence[Sampler], rate: float, repeat: int, out_dir: Path,
           env: Mapping[str, str]) -> Dict[str, Any]:
    n = len(instances)
    name = "scaling-n%d-r%d-%g" % (n, repeat, rate)
    load = Load(url, rate, config.probe_s, config.warmup_s, CHAT,
                seed=config.seed * 1000 + repeat, arrival=config.arrival,
                data_seed=env.get("DATA_SEED", "42"))
    before = [scrape(i.url) for i in instances]
    stat0 = [b.stat() for b in budgets]
    data = run_load(group, load, out_dir / "histograms" / (name + ".json"), env,
                    plan.generator_cpus, "gen-" + name)
    after = [scrape(i.url) for i in instances]
    stat1 = [b.stat() for b in budgets]
    s = summary(data)
    per: List[Dict[str, Any]] = []
    windows = [window(b, a).get(CHAT) for b, a in zip(before, after)]
    total = sum(w.requests for w in windows if w is not None)
    start = float(data.get("started_at", 0.0))
    end = start + float(data.get("elapsed_s", 0.0))
    for k, inst in enumerate(instances):
        w = windows[k]
        cpu_pct = samplers[k].window(start, end).cpu_mean_pct or 0.0  # measured window only
        row: Dict[str, Any] = {
            "instance": inst.name, "port": inst.port,
            "requests": w.requests if w else 0,
            "share": round(w.requests / total, 4) if w and total else None,
            "cpu_pct": round(cpu_pct, 1),
            "cpu_of_budget": round(cpu_pct / 100.0 / plan.cpus_per_instance, 3),
            "server_p50_ms": w.quantiles_ms.get("p50") if w else None,
            "server_p95_ms": w.quantiles_ms.get("p95") if w else None}
        if k < len(stat1):
            row["throttled_periods"] = (stat1[k].get("nr_throttled", 0)
                                        - stat0[k].get("nr_throttled", 0))
            row["periods"] = stat1[k].get("nr_periods", 0) - stat0[k].get("nr_periods", 0)
        per.append(row)
    if "error" in s:
        out = {"pass": False, "generator_limited": False, "error": s["error"],
               "instances": per}
    else:
        ok = (s["p95_ms"] is not None and s["p95_ms"] <= config.p95_ms
              and s["error_rate"] <= config.max_error_rate)
        out = dict(s, **{"pass": ok, "instances": per,
                         "generator_limited": (not ok and s["generator_cpu_pct"]
                                               >= GENERATOR_CPU_LIMIT),
                         "service_cpu_pct": round(sum(p["cpu_pct"] for p in per), 1),
                         "saturation": s["saturation"]})
    drain(url)
    return out

