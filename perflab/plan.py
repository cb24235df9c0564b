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
from typing import Any, Dict, Mapping, Optional, Tuple

import tomllib

from .variants import calibration_variants, leave_one_out_variants, resolve, single_variants

# Allowed ranges of every numeric field: (low, high, low inclusive); None = unbounded.
# High bounds keep every load run bounded in time.
PLAN_RANGES: Dict[str, Tuple[Optional[float], Optional[float], bool]] = {
    "reference_rate": (0, 100_000, False), "duration_s": (0, 600, False),
    "warmup_s": (0, 120, True), "repeats": (1, 100, True), "orders_rate": (0, 100_000, True),
    "orders_duration_s": (0, 600, False), "classify_messages": (0, 1_000_000, True),
    "classify_passes": (1, 1000, True),
    "locust_users": (0, 10_000, True), "locust_duration_s": (0, 600, False),
    "profile_messages": (0, 1_000_000, True), "seed": (0, None, True),
}
CAPACITY_RANGES: Dict[str, Tuple[Optional[float], Optional[float], bool]] = {
    "start_rate": (0, 100_000, False), "factor": (1, 100, False),
    "max_rate": (0, 1_000_000, False), "probe_s": (0, 600, False), "warmup_s": (0, 120, True),
    "bisect_steps": (0, 20, True), "budget_s": (0, 3600, False), "p95_ms": (0, None, False),
    "max_error_rate": (0, 1, True),
}
RATE_RANGE = (0, 100_000, False)


def _check_range(where: str, value: float,
                 bounds: Tuple[Optional[float], Optional[float], bool]) -> None:
    low, high, inclusive = bounds
    if low is not None and (value < low or (value == low and not inclusive)):
        raise ValueError("%s = %g: must be %s %g" % (where, value, ">=" if inclusive else ">",
                                                      low))
    if high is not None and value > high:
        raise ValueError("%s = %g: must be <= %g" % (where, value, high))


def _check_types(values: Mapping[str, Any], cls: Any, prefix: str) -> None:
    """Each TOML value has its field's type (a bool is not a number, "10" is not 10)."""
    kinds = {f.name: str(f.type) for f in fields(cls)}
    for key, value in values.items():
        kind = kinds.get(key, "")
        where = prefix + key
        if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError("%s = %r: must be a whole number" % (where, value))
        if kind == "float" and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValueError("%s = %r: must be a number" % (where, value))
        if kind == "bool" and not isinstance(value, bool):
            raise ValueError("%s = %r: must be true or false" % (where, value))
        if kind == "str" and not isinstance(value, str):
            raise ValueError("%s = %r: must be a string" % (where, value))
        if kind.startswith("Tuple[str") and (
                not isinstance(value, (list, tuple))
                or not all(isinstance(v, str) for v in value)):
            raise ValueError("%s = %r: must be a list of names" % (where, value))
        if kind.startswith("Tuple[float") and (
                not isinstance(value, (list, tuple)) or not value
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                           for v in value)):
            raise ValueError("%s = %r: must be a non-empty list of numbers" % (where, value))
        if kind.startswith("Mapping") and (
                not isinstance(value, Mapping)
                or not all(isinstance(v, str) for v in value.values())):
            raise ValueError("%s: must be a table of strings (KEY = \"value\")" % where)


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
    # the pilot (repeat 1): this rate for peak_probe_s. Its backlog (375 requests) is
    # answered before the next block: 4000/s for 0.4 s cost ~9 s per variant at 180/s
    peak_probe_rate: float = 1500.0
    peak_probe_s: float = 0.25
    pypy_warmup_s: float = 3.0  # the JIT's warm-up, instead of warmup_s
    instrument: bool = True  # the generator against a trivial server, in every run
    # lower the rates where the baseline would run above half its peak on this machine
    # (perflab/pacing.py); off: the rates as written
    fit_rates: bool = False
    # N instances behind nginx under equal CPU budgets, the CDN cache on/off
    # (perflab/deployment.py), and the checklist items (perflab/checklist.py)
    deployment: bool = False
    checklist: bool = False
    instrument_rates: Tuple[float, ...] = (1000.0, 5000.0, 15000.0)
    classify_messages: int = 2000  # in-process classifier speed; 0 = off
    classify_for: Tuple[str, ...] = ()  # variants whose classifier is timed; () = all
    # perflab/classify.py: in each of the first classify_repeats repeats, one process set
    # (a fresh lock-step worker per variant) times classify_passes passes of every variant
    classify_repeats: int = 1
    classify_passes: int = 10
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
        """ValueError naming the plan and the key for any value out of range; KeyError for
        an unknown variant."""
        try:
            self._validate()
        except ValueError as exc:
            raise ValueError("plan %s: %s" % (self.name, exc)) from None

    def _validate(self) -> None:
        if not self.variants:
            raise ValueError("variants: the plan has no variants")
        for v in self.variants:
            resolve(v)  # KeyError names the known toggles
        for key, bounds in PLAN_RANGES.items():
            _check_range(key, getattr(self, key), bounds)
        for key, bounds in CAPACITY_RANGES.items():
            _check_range("capacity." + key, getattr(self.capacity, key), bounds)
        if self.capacity.max_rate < self.capacity.start_rate:
            raise ValueError("capacity.max_rate = %g: must be >= capacity.start_rate (%g)"
                             % (self.capacity.max_rate, self.capacity.start_rate))
        if not self.rates:
            raise ValueError("rates: at least one rate is needed")
        for i, r in enumerate(self.rates):
            _check_range("rates[%d]" % i, r, RATE_RANGE)
        if self.reference_rate not in self.rates:
            raise ValueError("reference_rate = %g: not one of rates %s"
                             % (self.reference_rate, list(self.rates)))
        if self.arrival not in ("constant", "poisson"):
            raise ValueError("arrival = %r: must be constant or poisson" % self.arrival)
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
    # the variants whose latency is judged, one for the others (their targets). At 200/s
    # the sync baseline queues behind its blocking carrier calls (block p50 from 1.5 to
    # 38 ms) and the injected 1 ms came out as +2.4 ms: the rate must leave it idle time,
    # and on a slower machine pacing lowers both rates (perflab/pacing.py).
    # The orders route has no carrier call: 200/s halves its A/A interval.
    rates=(100.0,), reference_rate=100.0, duration_s=0.8, warmup_s=0.3, repeats=3,
    blocks=4, latency_for=("baseline", "baseline@aa", "+redis_cache", "+async",
                           "+inject_latency"),
    orders_rate=200.0, orders_duration_s=0.5,
    orders_for=("baseline", "baseline@aa", "+order_index"),
    peak_for=("baseline", "baseline@aa", "+async", "+pypy", "+instances", "optimised"),
    peak_blocks=2, peak_duration_s=0.6, peak_probe_s=0.2,
    instrument_rates=(1000.0, 15000.0),  # the floor, and the ceiling the plan needs
    capacity=Capacity(enabled=False),
    # 3 process sets (one per repeat) x 5 lock-step passes (10 gave A/A +-1.3-1.9%, ~11 s
    # a set)
    classify_messages=1000, classify_repeats=3, classify_passes=5,
    classify_for=("baseline", "baseline@aa", "+regex_precompile", "optimised"),
    profile_messages=0, fit_rates=True,
    # scaling N = 1, 2, 3 behind nginx under equal CPU budgets, load balancing, the CDN
    deployment=True,
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
    profile_memory=True, deployment=True, checklist=True, fit_rates=True,
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
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError("%s: not valid TOML: %s" % (path, exc)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError("%s: cannot read the plan (%s)" % (path, exc)) from None
        try:
            plan = plan_from_dict(data, default_name=path.stem)
        except ValueError as exc:
            raise ValueError("%s: %s" % (path, exc)) from None
    plan.validate()
    return plan


def plan_from_dict(data: Mapping[str, Any], default_name: str = "custom") -> Plan:
    if not isinstance(data, Mapping):
        raise ValueError("a plan must be a TOML table")
    known = {f.name for f in fields(Plan)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError("unknown plan keys: %s (known: %s)" % (", ".join(unknown),
                                                                ", ".join(sorted(known))))
    values: Dict[str, Any] = dict(data)
    values.setdefault("name", default_name)
    if "variants" not in values:
        raise ValueError("a plan needs a 'variants' list")
    cap_values = values.get("capacity")
    if cap_values is not None and not isinstance(cap_values, Mapping):
        raise ValueError("capacity: must be a [capacity] table")
    _check_types({k: v for k, v in values.items() if k != "capacity"}, Plan, "")
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
            raise ValueError("unknown capacity keys: %s (known: %s)"
                             % (", ".join(bad), ", ".join(sorted(cap_known))))
        _check_types(cap, Capacity, "capacity.")
        plan = replace(plan, capacity=Capacity(**cap))
    return plan

