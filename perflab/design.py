"""The measurement design: which variant is measured when, on which schedule (pure).

Every variant of a repeat runs as its own process, all started together and
idle while another is measured. A repeat is many short *blocks*; each block
is one variant at one kind of load. Three rules make the comparison fair:

- **Common random numbers.** Block ``b`` of kind ``k`` in repeat ``r`` has one
  seed for every variant, so each variant gets the same arrival schedule and
  the same message sequence; the effect is read from paired blocks.
- **Interleaving.** Within a block index the variants run in a freshly shuffled
  order (seeded, recorded), so drift of the machine becomes spread, not an
  effect.
- **Repetition where the variance is.** Blocks repeat inside a process; repeats
  are fresh processes, so the variance between processes is measured too
  (``reports.stats.nested_mean`` splits the two).
"""

from __future__ import annotations

import random
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Mapping, Sequence

CHAT_ROUTE = "POST /api/chat"
ORDERS_ROUTE = "GET /api/orders/{order_id}"
FAQ_ROUTE = "GET /api/faq/{id}"

# kind -> (measurement written in results.csv, route)
KINDS: Dict[str, tuple] = {
    "chat": ("fixed_rate", CHAT_ROUTE),
    "orders": ("orders", ORDERS_ROUTE),
    "peak": ("peak", CHAT_ROUTE),
    # not recorded as rows: a variant's warm-up, and the overload that finds its peak rate
    "warmup": ("warmup", CHAT_ROUTE),
    "pilot": ("pilot", CHAT_ROUTE),
    "faq": ("cdn", FAQ_ROUTE),  # the deployment phase's CDN blocks (perflab/cdn.py)
}


@dataclass(frozen=True)
class Block:
    """One short measurement of one variant."""

    variant: str
    repeat: int
    block: int  # 1-based within (repeat, kind)
    kind: str  # chat | orders | peak | faq
    route: str
    rate: float
    duration_s: float
    warmup_s: float
    seed: int  # the same for every variant at (repeat, kind, block, rate)

    @property
    def measurement(self) -> str:
        return str(KINDS[self.kind][0])

    @property
    def id(self) -> str:
        safe = self.variant.replace("+", "plus-").replace("@", "-").replace(":", "-")
        return "%s-r%d-%s-b%d-%g" % (safe, self.repeat, self.kind, self.block, self.rate)

    def to_dict(self) -> Dict[str, Any]:
        return dict(asdict(self), id=self.id, measurement=self.measurement)


@dataclass(frozen=True)
class KindSpec:
    """How one kind of block is run in every repeat."""

    kind: str
    variants: Sequence[str]  # who gets it
    blocks: int  # per repeat
    duration_s: float
    warmup_s: float = 0.0
    rates: Sequence[float] = ()  # one block per rate and block index; peak: per variant
    reduced: Mapping[str, int] = field(default_factory=dict)  # variant -> fewer blocks


def block_seed(plan_seed: int, repeat: int, kind: str, block: int, rate: float) -> int:
    """The shared seed of a block: a function of its place, never of the variant."""
    key = "%d/%d/%s/%d/%g" % (plan_seed, repeat, kind, block, rate)
    return zlib.crc32(key.encode()) & 0x7FFFFFFF


def schedule_repeat(specs: Sequence[KindSpec], repeat: int, plan_seed: int,
                    peak_rates: Mapping[str, float]) -> List[Block]:
    """The blocks of one repeat, interleaved: for each block index, each kind, each rate,
    the variants in a shuffled order. ``peak_rates`` gives each variant's overload rate."""
    rng = random.Random(block_seed(plan_seed, repeat, "order", 0, 0))
    out: List[Block] = []
    # latency blocks first, overload blocks last: an overload leaves the process bigger
    # (thousands of requests in flight), which must not reach the memory figures
    for group in ([s for s in specs if s.kind != "peak"], [s for s in specs
                                                            if s.kind == "peak"]):
        most = max((s.blocks for s in group), default=0)
        for b in range(1, most + 1):
            for spec in group:
                if b <= spec.blocks:
                    out.extend(_blocks_at(spec, b, repeat, plan_seed, peak_rates, rng))
    return out


def _blocks_at(spec: KindSpec, b: int, repeat: int, plan_seed: int,
               peak_rates: Mapping[str, float], rng: random.Random) -> List[Block]:
    route = str(KINDS[spec.kind][1])
    out: List[Block] = []
    for rate in (list(spec.rates) if spec.kind != "peak" else [0.0]):
        names = [v for v in spec.variants if b <= spec.reduced.get(v, spec.blocks)]
        if spec.kind == "peak":
            names = [v for v in names if v in peak_rates]
        rng.shuffle(names)
        seed = block_seed(plan_seed, repeat, spec.kind, b, rate)
        for v in names:
            r = peak_rates[v] if spec.kind == "peak" else rate
            out.append(Block(v, repeat, b, spec.kind, route, float(r), spec.duration_s,
                             spec.warmup_s, seed))
    return out


def estimate_blocks_s(blocks: Sequence[Block], overhead_s: float = 0.15) -> float:
    """Wall time of a block list: warm-up + duration + a fixed cost each."""
    return sum(b.warmup_s + b.duration_s + overhead_s for b in blocks)
