"""Plans: which variants, at which rates, for how long, how many times.

Built-in ``quick`` (the default, <= 5 minutes on a 2-core machine) and
``full`` (<= 30 minutes); a TOML file can define its own:

    name = "mine"
    variants = ["baseline", "+redis_cache", "optimised", "baseline@aa"]
    rates = [20, 50]
    reference_rate = 50
    duration_s = 10
    repeats = 3
    [capacity]
    enabled = true
    max_rate = 2000
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Dict, Mapping, Tuple

import tomllib

from .variants import calibration_variants, leave_one_out_variants, resolve, single_variants

GUIDE_CLAIM_VARIANTS = ("+redis_cache", "+async", "+order_index", "+regex_precompile",
                        "+lazy_faq", "+pypy", "+instances")


@dataclass(frozen=True)
class Capacity:
    """Step-then-bisect search for the highest rate meeting the P95 and error targets."""

    enabled: bool = True
    start_rate: float = 20.0
    factor: float = 2.0  # step up by this factor until a probe fails
    max_rate: float = 4000.0
    probe_s: float = 2.0  # measured seconds per probe
    warmup_s: float = 0.5
    bisect_steps: int = 1  # probes between the last pass and the first failure
    budget_s: float = 25.0  # the whole search stops after this
    p95_ms: float = 200.0  # the guide's targets
    max_error_rate: float = 0.02


@dataclass(frozen=True)
class Plan:
    name: str
    variants: Tuple[str, ...]
    rates: Tuple[float, ...] = (20.0,)  # fixed-rate open-loop runs, requests/s
    reference_rate: float = 20.0  # the rate the targets and latency claims are judged at
    duration_s: float = 5.0
    warmup_s: float = 2.0
    repeats: int = 1
    arrival: str = "poisson"
    # blocks: each repeat is a fresh process per variant, measured in short interleaved
    # blocks that share their schedule across variants (perflab/design.py)
    blocks: int = 4  # chat (and orders) blocks per repeat
    latency_for: Tuple[str, ...] = ()  # variants with every chat block; others get one
    capacity: Capacity = field(default_factory=Capacity)
    capacity_for: Tuple[str, ...] = ()  # variants that get a capacity search; () = all
    orders_rate: float = 20.0  # GET /api/orders/{id} open loop; 0 = off
    orders_duration_s: float = 3.0
    orders_for: Tuple[str, ...] = ()  # variants with orders blocks; () = all
    # peak throughput: open loop above capacity (peak_overload x a pilot's throughput)
    peak_for: Tuple[str, ...] = ()  # () = none
    peak_blocks: int = 2
    peak_duration_s: float = 0.6
    peak_overload: float = 1.3
    peak_probe_rate: float = 4000.0  # the pilot (repeat 1): this rate for peak_probe_s
    peak_probe_s: float = 0.4
    pypy_warmup_s: float = 3.0  # the JIT's warm-up, instead of warmup_s
    instrument: bool = True  # the generator against a trivial server, in every run
    instrument_rates: Tuple[float, ...] = (1000.0, 5000.0, 15000.0)
    classify_messages: int = 2000  # in-process classifier speed; 0 = off
    classify_for: Tuple[str, ...] = ()  # variants whose classifier is timed; () = all
    # perflab.micro runs pyperf's own worker processes: each worker is a process of its
    # own, so one invocation already spans processes; run it in this many repeats
    classify_repeats: int = 1
    # closed loop: Locust's shoppers (loadtests/locustfile.py) with think time; 0 = off
    locust_users: int = 0
    locust_duration_s: float = 10.0
    locust_wait: str = "between:0.5,2"  # the locustfile's PERFLAB_WAIT
    locust_for: Tuple[str, ...] = ()  # variants that get the Locust run; () = all
    profile_messages: int = 2000  # cProfile of baseline and optimised at the end; 0 = off
    profile_memory: bool = False  # also the eager-vs-lazy memory profile (about 30 s)
    carrier_latency: str = "lognormal:15:0.5"
    seed: int = 1
    data_env: Mapping[str, str] = field(default_factory=dict)  # e.g. ORDERS_COUNT=2000

    def validate(self) -> None:
        if not self.variants:
            raise ValueError("plan %r has no variants" % self.name)
        for v in self.variants:
            resolve(v)  # KeyError names the known toggles
        if self.repeats < 1:
            raise ValueError("repeats must be >= 1")
        if not self.rates or any(r <= 0 for r in self.rates):
            raise ValueError("rates must be positive")
        if self.reference_rate not in self.rates:
            raise ValueError("reference_rate %g is not one of rates %s"
                             % (self.reference_rate, list(self.rates)))
        if not 0 < self.duration_s <= 600 or not 0 <= self.warmup_s <= 120:
            raise ValueError("duration_s must be in (0, 600], warmup_s in [0, 120]")
        if self.arrival not in ("constant", "poisson"):
            raise ValueError("arrival must be constant or poisson")
        if self.locust_users < 0 or not 0 < self.locust_duration_s <= 600:
            raise ValueError("locust_users must be >= 0 and locust_duration_s in (0, 600]")
        if not re.fullmatch(r"between:[\d.]+,[\d.]+|constant:[\d.]+|pacing:[\d.]+|none",
                            self.locust_wait.strip().lower()):
            raise ValueError("locust_wait %r: use between:A,B | constant:S | pacing:S | none"
                             % self.locust_wait)

    def estimate_s(self) -> float:
        """Planned wall time: the sum of the phases' own estimates (perflab/phases.py)."""
        from .phases import plan_estimate_s

        return plan_estimate_s(self)

    def wants_capacity(self, variant: str) -> bool:
        return self.capacity.enabled and (not self.capacity_for or variant in self.capacity_for)

    def wants_classify(self, variant: str) -> bool:
        return self.classify_messages > 0 and (not self.classify_for
                                               or variant in self.classify_for)

    def wants_peak(self, variant: str) -> bool:
        return variant in self.peak_for

    def wants_orders(self, variant: str) -> bool:
        return self.orders_rate > 0 and (not self.orders_for or variant in self.orders_for)

    def chat_blocks(self, variant: str) -> int:
        return self.blocks if not self.latency_for or variant in self.latency_for else 1

    def wants_locust(self, variant: str) -> bool:
        return self.locust_users > 0 and (not self.locust_for or variant in self.locust_for)

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        d["data_env"] = dict(self.data_env)
        return d


QUICK = Plan(
    name="quick",
    variants=("baseline", "+redis_cache", "+async", "+order_index", "+regex_precompile",
              "+lazy_faq", "+pypy", "+instances", "optimised", "baseline@aa",
              "+inject_latency"),
    # 3 repeats (fresh processes), each 4 interleaved chat blocks of 0.8 s at 100/s for
    # the variants whose latency is judged, one for the others (their targets)
    rates=(100.0,), reference_rate=100.0, duration_s=0.8, warmup_s=0.5, repeats=3,
    blocks=4, latency_for=("baseline", "baseline@aa", "+redis_cache", "optimised",
                           "+inject_latency"),
    orders_rate=100.0, orders_duration_s=0.5,
    orders_for=("baseline", "baseline@aa", "+order_index"),
    peak_for=("baseline", "baseline@aa", "+async", "+pypy", "+instances", "optimised"),
    peak_blocks=2, peak_duration_s=0.6,
    capacity=Capacity(enabled=False),
    classify_messages=1000,
    classify_for=("baseline", "baseline@aa", "+regex_precompile", "optimised"),
    profile_messages=0,
)

FULL = Plan(
    name="full",
    variants=("baseline", *single_variants(), "+redis_client:redis-py", "optimised",
              *leave_one_out_variants(), "baseline@aa", *calibration_variants()),
    rates=(100.0,), reference_rate=100.0, duration_s=1.0, warmup_s=1.0, repeats=3,
    blocks=4, orders_rate=100.0, orders_duration_s=0.6,
    peak_for=("baseline", "baseline@aa", "+async", "+pypy", "+instances", "optimised",
              "optimised-async"),
    peak_blocks=3, peak_duration_s=0.8,
    # 60, 180, 540, 1620/s, then bisection (repeat 1: the capacity target's figure)
    capacity=Capacity(start_rate=60.0, factor=3.0, budget_s=14.0, probe_s=1.5, warmup_s=0.5,
                      bisect_steps=1),
    capacity_for=("baseline", "+async", "optimised"),
    profile_memory=True,
    classify_messages=1500,
    locust_users=50, locust_duration_s=10.0, locust_for=("baseline", "optimised"),
)

BUILTIN: Dict[str, Plan] = {"quick": QUICK, "full": FULL}


def load_plan(name_or_path: str) -> Plan:
    """A built-in plan by name, or a TOML plan file."""
    if name_or_path in BUILTIN:
        plan = BUILTIN[name_or_path]
    else:
        path = Path(name_or_path)
        if not path.exists():
            raise ValueError("no plan named %r (built-in: %s) and no such file"
                             % (name_or_path, ", ".join(BUILTIN)))
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ValueError("%s: not valid TOML: %s" % (path, exc)) from None
        plan = plan_from_dict(data, default_name=path.stem)
    plan.validate()
    return plan


def plan_from_dict(data: Mapping[str, Any], default_name: str = "custom") -> Plan:
    known = {f.name for f in fields(Plan)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError("unknown plan keys: %s (known: %s)" % (", ".join(unknown),
                                                                ", ".join(sorted(known))))
    values: Dict[str, Any] = dict(data)
    values.setdefault("name", default_name)
    if "variants" not in values:
        raise ValueError("a plan needs a 'variants' list")
    values["variants"] = tuple(values["variants"])
    for f in fields(Plan):
        if f.name in values and isinstance(f.default, tuple):
            values[f.name] = tuple(values[f.name])
    if "rates" in values:
        values["rates"] = tuple(float(r) for r in values["rates"])
        values.setdefault("reference_rate", values["rates"][0])
    cap = values.pop("capacity", None)
    plan = Plan(**values)
    if cap is not None:
        cap_known = {f.name for f in fields(Capacity)}
        bad = sorted(set(cap) - cap_known)
        if bad:
            raise ValueError("unknown capacity keys: %s" % ", ".join(bad))
        plan = replace(plan, capacity=Capacity(**cap))
    return plan

