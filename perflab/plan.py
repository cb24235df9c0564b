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

from .variants import leave_one_out_variants, resolve, single_variants

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
    capacity: Capacity = field(default_factory=Capacity)
    capacity_for: Tuple[str, ...] = ()  # variants that get a capacity search; () = all
    orders_rate: float = 20.0  # GET /api/orders/{id} open loop; 0 = off
    orders_duration_s: float = 3.0
    classify_messages: int = 2000  # in-process classifier speed; 0 = off
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
        """Rough wall time: start-up, warm-up and every phase, per variant and repeat."""
        per = 3.0 + self.warmup_s + len(self.rates) * (self.duration_s + 1.0)
        if self.orders_rate > 0:
            per += self.orders_duration_s + 1.0
        if self.classify_messages > 0:
            per += 2.0
        total = per * len(self.variants) * self.repeats
        if self.locust_users > 0:
            n = len([v for v in self.variants if self.wants_locust(v)])
            total += n * self.repeats * (self.locust_duration_s + 4.0)
        if self.profile_messages > 0:
            total += 2 * (4.0 + self.profile_messages / 400.0) + (35.0 if self.profile_memory
                                                                   else 0.0)
        if self.capacity.enabled:
            n = len([v for v in self.variants if self.wants_capacity(v)])
            total += n * self.repeats * (self.capacity.budget_s + 1.0)
        return total

    def wants_capacity(self, variant: str) -> bool:
        return self.capacity.enabled and (not self.capacity_for or variant in self.capacity_for)

    def wants_locust(self, variant: str) -> bool:
        return self.locust_users > 0 and (not self.locust_for or variant in self.locust_for)

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["variants"] = list(self.variants)
        d["rates"] = list(self.rates)
        d["data_env"] = dict(self.data_env)
        d["capacity_for"] = list(self.capacity_for)
        d["locust_for"] = list(self.locust_for)
        return d


QUICK = Plan(
    name="quick",
    variants=("baseline", "+redis_cache", "+async", "+order_index", "+regex_precompile",
              "+lazy_faq", "+pypy", "+instances", "optimised", "baseline@aa"),
    rates=(20.0,), reference_rate=20.0, duration_s=3.0, warmup_s=1.0, repeats=2,
    # 60, 180, 540, 1620/s, then one bisection between the last pass and the first failure
    capacity=Capacity(start_rate=60.0, factor=3.0, budget_s=14.0, probe_s=1.0, warmup_s=0.3,
                      bisect_steps=1),
    capacity_for=("baseline", "+async", "+pypy", "+instances", "optimised"),
    orders_rate=20.0, orders_duration_s=2.0, classify_messages=1500,
    locust_users=20, locust_duration_s=8.0, locust_for=("baseline", "optimised"),
)

FULL = Plan(
    name="full",
    variants=("baseline", *single_variants(), "+redis_client:redis-py", "optimised",
              *leave_one_out_variants(), "baseline@aa"),
    rates=(20.0, 60.0), reference_rate=20.0, duration_s=5.0, warmup_s=2.0, repeats=2,
    # 60, 180, 540, 1620/s, then bisection: doubling from 20/s ran out of budget at 640/s,
    # below what the async variants sustain, so their capacity was only a lower bound
    capacity=Capacity(start_rate=60.0, factor=3.0, budget_s=14.0, probe_s=1.5, warmup_s=0.5,
                      bisect_steps=1),
    capacity_for=("baseline", "+async", "+pypy", "+instances", "optimised", "optimised-async"),
    profile_memory=True,
    orders_rate=20.0, orders_duration_s=2.0, classify_messages=1500,
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
    for key in ("capacity_for", "locust_for"):
        if key in values:
            values[key] = tuple(values[key])
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

