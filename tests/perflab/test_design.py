"""The block design: common random numbers, interleaving, overloads last."""

from __future__ import annotations

from collections import Counter

from perflab.design import KindSpec, block_seed, schedule_repeat
from perflab.plan import QUICK
from perflab.rounds import kind_specs

SPECS = [KindSpec("chat", ["a", "b", "c"], 4, 1.0, 0.0, (100.0,), {"c": 1}),
         KindSpec("orders", ["a", "b"], 4, 0.5, 0.0, (50.0,)),
         KindSpec("peak", ["a", "b"], 2, 0.6)]


def test_every_variant_gets_its_blocks() -> None:
    blocks = schedule_repeat(SPECS, 1, 7, {"a": 500.0, "b": 900.0})
    got = Counter((b.variant, b.kind) for b in blocks)
    assert got == {("a", "chat"): 4, ("b", "chat"): 4, ("c", "chat"): 1,
                   ("a", "orders"): 4, ("b", "orders"): 4, ("a", "peak"): 2, ("b", "peak"): 2}
    assert {b.rate for b in blocks if b.kind == "peak" and b.variant == "b"} == {900.0}


def test_variants_share_the_seed_of_a_block_and_blocks_differ() -> None:
    blocks = schedule_repeat(SPECS, 2, 7, {"a": 1.0, "b": 1.0})
    seeds = {}
    for b in blocks:
        seeds.setdefault((b.kind, b.block), set()).add(b.seed)
    assert all(len(s) == 1 for s in seeds.values())  # common random numbers
    assert len({next(iter(s)) for s in seeds.values()}) == len(seeds)
    assert block_seed(7, 1, "chat", 1, 100.0) != block_seed(7, 2, "chat", 1, 100.0)


def test_overloads_come_after_every_latency_block() -> None:
    blocks = schedule_repeat(SPECS, 1, 7, {"a": 1.0, "b": 1.0})
    kinds = [b.kind for b in blocks]
    assert kinds.index("peak") > max(i for i, k in enumerate(kinds) if k != "peak")


def test_order_is_shuffled_per_block_and_seeded() -> None:
    a = schedule_repeat(SPECS, 1, 7, {})
    assert a == schedule_repeat(SPECS, 1, 7, {})  # reproducible
    orders = {tuple(b.variant for b in a if b.kind == "chat" and b.block == k
                    and b.variant != "c") for k in range(1, 5)}
    orders |= {tuple(b.variant for b in schedule_repeat(SPECS, r, 7, {})
                     if b.kind == "chat" and b.block == 1 and b.variant != "c")
               for r in range(2, 8)}
    assert len(orders) == 2  # both orders of (a, b) occur: drift is spread, not an effect


def test_peak_without_a_rate_is_not_scheduled() -> None:
    blocks = schedule_repeat(SPECS, 1, 7, {"a": 10.0})
    assert {b.variant for b in blocks if b.kind == "peak"} == {"a"}


def test_quick_plan_blocks() -> None:
    names = [v for v in QUICK.variants if v != "+instances"]
    specs = {s.kind: s for s in kind_specs(QUICK, names)}
    assert specs["chat"].blocks == QUICK.blocks
    assert specs["chat"].reduced.get("+lazy_faq") == 1
    assert "baseline" not in specs["chat"].reduced
    assert set(specs["orders"].variants) == set(QUICK.orders_for)
