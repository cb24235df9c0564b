"""The whole bot: multi-turn dialogue, shared sessions, degradation, and the invariant
that no toggle combination changes what the bot says."""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from engine.bot import Bot
from engine.carrier import InProcessCarrier
from engine.config import EngineConfig
from engine.datagen import DataSpec, order_ids
from engine.evaluate import load_labelled
from engine.types import Reply
from tests.conftest import free_port

DATA = Path(__file__).resolve().parents[1] / "data"


def conversation(ids: List[str]) -> List[Tuple[str, str]]:
    """(session, message) pairs: single messages and multi-turn flows."""
    msgs: List[Tuple[str, str]] = []
    rows = load_labelled(DATA / "intents_dev.jsonl")
    for i, (text, _) in enumerate(random.Random(3).sample(rows, 60)):
        msgs.append(("single-%d" % i, text))
    flows = [
        ["I want to cancel my order", ids[3]],
        ["where is my parcel??", "hmm not sure", ids[5]],
        ["I need the invoice", "order " + ids[8]],
        ["refund please", "actually, what are your payment methods?"],
        ["track my order " + ids[11]],
        ["track parcel TRK0000012345"],
        ["cancel order Z999999", "B000000"],
        ["what's the status of my refund for " + ids[20]],
        ["change my order " + ids[30], "thanks, bye"],
        ["I want a refund", "it's " + ids[7]],  # ids[7]: a long numeric order number
        ["hi, need help cancelling purchase #" + ids[15]],
    ]
    for n, flow in enumerate(flows):
        msgs.extend(("flow-%d" % n, text) for text in flow)
    return msgs


def run_all(bot: Bot, msgs: List[Tuple[str, str]], mode: str) -> List[Tuple[Any, ...]]:
    if mode == "sync":
        return [bot.reply(s, t).behaviour() for s, t in msgs]

    async def go() -> List[Tuple[Any, ...]]:
        out = [(await bot.areply(s, t)).behaviour() for s, t in msgs]
        await bot.aclose()
        return out

    return asyncio.run(go())


TOGGLES: Dict[str, List[Any]] = {
    "ir_cache_backend": ["none", "memory", "redis", "tiered"],
    "intent_cache_enabled": [False, True],
    "regex_precompile": [False, True],
    "order_index": ["scan", "hash"],
    "faq_loading": ["eager", "lazy"],
    "concurrency_mode": ["sync", "async"],
    "pooling": [False, True],
    "redis_client": ["redis-py", "pipelined", "coredis", "valkey-glide"],
}


def combos() -> List[Dict[str, Any]]:
    """Baseline, all-optimised, every single toggle flipped, and a seeded sample of the rest."""
    names = list(TOGGLES)
    every = [dict(zip(names, values)) for values in itertools.product(*TOGGLES.values())]
    base = every[0]
    chosen = [base, every[-1]]
    for name in names:
        for value in TOGGLES[name][1:]:
            chosen.append(dict(base, **{name: value}))
    chosen.extend(dict(every[-1], redis_client=c) for c in TOGGLES["redis_client"])
    chosen.extend(random.Random(11).sample(every, 12))
    unique = []
    for c in chosen:
        if c not in unique:
            unique.append(c)
    return unique


@pytest.mark.redis
def test_no_toggle_combination_changes_behaviour(small_config: EngineConfig, carrier_url: str,
                                                 redis_url: str, redis_prefix: str) -> None:
    ids = order_ids(DataSpec.from_config(small_config))
    msgs = conversation(ids)
    reference = None
    for n, combo in enumerate(combos()):
        cfg = replace(small_config, carrier_url=carrier_url, redis_url=redis_url,
                      redis_prefix="%sc%d:" % (redis_prefix, n), faq_batch_size=16,
                      faq_cache_batches=2, **combo)
        bot = Bot(cfg)
        got = run_all(bot, msgs, combo["concurrency_mode"])
        bot.close()
        if reference is None:
            reference = got
            continue
        for (session, text), want, have in zip(msgs, reference, got):
            assert have == want, "combo %s changed the reply to %r (%s)" % (combo, text, session)
    assert reference is not None and len(reference) == len(msgs)


def test_multi_turn_cancel_asks_for_the_order_then_confirms(small_config: EngineConfig) -> None:
    bot = Bot(small_config, carrier=InProcessCarrier())
    oid = order_ids(DataSpec.from_config(small_config))[3]
    first = bot.reply("s", "I want to cancdling my ordedr")
    assert first.intent == "cancel_order" and first.awaiting == "order_id"
    assert "order number" in first.answer
    second = bot.reply("s", oid)
    assert second.intent == "cancel_order" and second.awaiting is None
    assert oid in second.answer and ("order:" + oid) in second.sources
    third = bot.reply("s", oid)  # the flow is over: a bare number is no longer a cancellation
    assert third.intent == "faq"
    bot.close()


def test_long_numeric_order_numbers_work_end_to_end(small_config: EngineConfig) -> None:
    bot = Bot(small_config, carrier=InProcessCarrier())
    ids = order_ids(DataSpec.from_config(small_config))
    long_ids = [i for i in ids if i.isdigit()]
    assert long_ids and all(12 <= len(i) <= 15 for i in long_ids)
    one = bot.reply("n1", "i need help canceling purchase %s" % long_ids[0])
    assert one.intent == "cancel_order" and ("order:" + long_ids[0]) in one.sources
    assert bot.reply("n2", "where's my refund?").awaiting == "order_id"
    two = bot.reply("n2", "it's %s thanks" % long_ids[1])  # bare digits answer "which order?"
    assert two.intent == "track_refund" and ("order:" + long_ids[1]) in two.sources
    assert ("order_id", long_ids[1]) in {(e.type, e.value) for e in two.entities}
    bot.close()


def test_reply_carries_entities_sources_and_timings(small_config: EngineConfig) -> None:
    bot = Bot(small_config, carrier=InProcessCarrier())
    oid = order_ids(DataSpec.from_config(small_config))[0]
    r: Reply = bot.reply("t", "where is my order %s? email me at a.b@example.com" % oid)
    assert r.intent == "track_order"
    assert {(e.type, e.value) for e in r.entities} >= {("order_id", oid),
                                                       ("email", "a.b@example.com")}
    assert r.sources[0] == "order:" + oid
    assert {"classify", "session", "order", "total"} <= set(r.timings)
    assert r.to_dict()["timings"]["total"] >= r.timings["classify"]
    unknown = bot.reply("t2", "cancel order H000000")
    assert "couldn't find" in unknown.answer and unknown.sources == ()
    faq = bot.reply("t3", "how do I clean leather shoes")
    assert faq.intent == "faq" and faq.sources and faq.sources[0].startswith("faq:")
    bot.close()


@pytest.mark.redis
@pytest.mark.parametrize("backend", ["redis", "tiered"])
def test_session_started_on_one_bot_finishes_on_another(
        small_config: EngineConfig, redis_url: str, redis_prefix: str, backend: str) -> None:
    cfg = replace(small_config, ir_cache_backend=backend, redis_url=redis_url,
                  redis_prefix=redis_prefix)
    one, two = Bot(cfg, carrier=InProcessCarrier()), Bot(cfg, carrier=InProcessCarrier())
    oid = order_ids(DataSpec.from_config(cfg))[4]
    assert one.reply("shared", "I'd like a refund").awaiting == "order_id"
    done = two.reply("shared", oid)
    assert done.intent == "get_refund" and oid in done.answer
    assert one.health()["status"] == "ok"
    one.close()
    two.close()


def test_unreachable_redis_degrades_but_answers(small_config: EngineConfig) -> None:
    cfg = replace(small_config, ir_cache_backend="tiered", redis_timeout=0.2,
                  redis_url="redis://127.0.0.1:%d/0" % free_port())
    bot = Bot(cfg, carrier=InProcessCarrier())
    oid = order_ids(DataSpec.from_config(cfg))[6]
    assert bot.reply("d", "cancel my order").awaiting == "order_id"
    assert oid in bot.reply("d", oid).answer  # session kept in memory meanwhile
    health = bot.health()
    assert health["status"] == "degraded" and health["redis"].startswith("unreachable")
    assert asyncio.run(bot.ahealth())["status"] == "degraded"
    stats = bot.cache_stats()["redis"]
    assert stats["connection_failures"] >= 1 and stats["session_fallbacks"] >= 1
    bot.close()
