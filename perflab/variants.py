"""Variants: named environments built from the catalogue.

``baseline``          every toggle at its baseline
``+X``                baseline plus optimisation X (``+redis_cache``; ``+redis_cache:tiered``
                      picks one of X's alternatives)
``optimised``         every optimisation on (interpreter and instance count stay baseline)
``optimised-X``       everything on but X (leave-one-out)
``NAME@aa``           an exact copy of NAME, for the A/A noise-floor check
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .catalogue import CATALOGUE, Toggle, baseline_env, optimised_env, toggle


@dataclass(frozen=True)
class Variant:
    name: str
    kind: str  # baseline | single | optimised | leave_one_out | aa
    env: Dict[str, str] = field(default_factory=dict)
    toggle: Optional[str] = None  # the toggle a single/leave-one-out variant is about
    compare_to: Optional[str] = None  # the variant its effect is measured against

    @property
    def needs(self) -> Tuple[str, ...]:
        """What the machine must offer (redis, pypy, cores>=3) for this variant."""
        out: List[str] = []
        if self.env.get("IR_CACHE_BACKEND", "none") in ("redis", "tiered"):
            out.append("redis")
        if self.env.get("INTERPRETER", "cpython") == "pypy":
            out.append("pypy")
        if int(self.env.get("INSTANCES", "1")) > 1:
            out.extend(["redis", "cores>=3"])
        return tuple(dict.fromkeys(out))

    @property
    def interpreter(self) -> str:
        return self.env.get("INTERPRETER", "cpython")

    @property
    def instances(self) -> int:
        return int(self.env.get("INSTANCES", "1"))

    def to_dict(self) -> Dict[str, object]:
        return {"name": self.name, "kind": self.kind, "env": dict(self.env),
                "toggle": self.toggle, "compare_to": self.compare_to,
                "needs": list(self.needs)}


def resolve(name: str) -> Variant:
    """The Variant a name stands for; KeyError with the known toggles for a bad name."""
    if name.endswith("@aa"):
        base = resolve(name[:-3])
        return Variant(name, "aa", dict(base.env), base.toggle, base.name)
    if name == "baseline":
        return Variant(name, "baseline", baseline_env())
    if name == "optimised":
        return Variant(name, "optimised", optimised_env(), None, "baseline")
    if name.startswith("+"):
        tname, _, alt = name[1:].partition(":")
        t = toggle(tname)
        env = baseline_env()
        env.update(t.requires)
        env.update(_optimised_values(t, alt))
        return Variant(name, "single", env, t.name,
                       "baseline" if name == t.reference else t.reference)
    if name.startswith("optimised-"):
        t = toggle(name[len("optimised-"):])
        return Variant(name, "leave_one_out", optimised_env(exclude=(t.name,)),
                       t.name, "optimised")
    raise KeyError("unknown variant %r: use baseline, optimised, +TOGGLE, optimised-TOGGLE or "
                   "NAME@aa; toggles: %s" % (name, ", ".join(t.name for t in CATALOGUE)))


def _optimised_values(t: Toggle, alt: str) -> Dict[str, str]:
    if not alt:
        return dict(t.optimised)
    if alt not in t.alternatives:
        raise KeyError("toggle %r has no alternative %r (has: %s)"
                       % (t.name, alt, ", ".join(t.alternatives) or "none"))
    return dict(t.alternatives[alt])


def single_variants(include_extras: bool = True) -> List[str]:
    """"+X" for every optimisation (calibration toggles: ``calibration_variants``)."""
    return ["+" + t.name for t in CATALOGUE
            if (include_extras or t.guide) and not t.calibration]


def calibration_variants() -> List[str]:
    """"+X" for every known-effect toggle (+inject_latency, +inject_cpu, +inject_rss)."""
    return ["+" + t.name for t in CATALOGUE if t.calibration]


def leave_one_out_variants() -> List[str]:
    return ["optimised-" + t.name for t in CATALOGUE
            if t.name not in ("pypy", "instances") and not t.calibration]
