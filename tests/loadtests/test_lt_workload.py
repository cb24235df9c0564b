"""The seeded workload: determinism, mix, Zipf repetition, multi-turn flows, order ids."""

from __future__ import annotations

import ast
import collections
import json
import re
from pathlib import Path

import pytest

from engine.types import FAQ_INTENT, INTENTS
from loadtests import workload as wl
from loadtests.workload import ORDER_INTENTS, Workload, is_order_id

ROOT = Path(__file__).resolve().parents[2]
ORDER_RE = re.compile(r"\b[a-hA-H]\d{6}\b")


def test_same_seed_same_stream_other_seed_differs():
    a = Workload(seed=7).messages(3000)
    b = Workload(seed=7).messages(3000)
    c = Workload(seed=8).messages(3000)
    assert a == b
    assert [m.text for m in a] != [m.text for m in c]
    conv_a = [c.turns for c, _ in zip(Workload(seed=7).conversations(), range(500))]
    conv_b = [c.turns for c, _ in zip(Workload(seed=7).conversations(), range(500))]
    assert conv_a == conv_b


def test_conversations_iterator_restarts_and_session_ids_are_unique():
    w = Workload(seed=3)
    first = [c for c, _ in zip(w.conversations(), range(2000))]
    again = [c for c, _ in zip(w.conversations(), range(2000))]
    assert first == again
    assert len({c.session_id for c in first}) == len(first)
    for c in first:
        assert all(m.session_id == c.session_id for m in c.messages)
        assert [m.turn for m in c.messages] == list(range(1, len(c.messages) + 1))


def test_labels_are_engine_labels_and_pool_is_a_few_thousand():
    w = Workload()
    labels = set(INTENTS) | {FAQ_INTENT}
    assert set(w.mix) <= labels
    assert all(m.expected_intent in labels for m in w.messages(5000))
    assert 2000 <= w.distinct_messages <= 6000


def test_mix_proportions_follow_the_configuration():
    w = Workload(seed=11, mix={"track_order": 3, "greeting": 1, FAQ_INTENT: 1})
    convs = [c for c, _ in zip(w.conversations(), range(5000))]
    share = collections.Counter(c.intent for c in convs)
    assert set(share) == {"track_order", "greeting", FAQ_INTENT}
    assert share["track_order"] / 5000 == pytest.approx(0.6, abs=0.05)
    assert share["greeting"] / 5000 == pytest.approx(0.2, abs=0.05)


def test_default_mix_is_dominated_by_orders_and_refunds():
    convs = [c for c, _ in zip(Workload(seed=5).conversations(), range(6000))]
    share = collections.Counter(c.intent for c in convs)
    top = [label for label, _ in share.most_common(4)]
    assert top[0] == "track_order"
    assert {"get_refund", FAQ_INTENT} & set(top)
    total = sum(wl.DEFAULT_MIX.values())
    for label, weight in wl.DEFAULT_MIX.items():
        if weight / total >= 0.05:  # generous: +-40% relative for the big labels
            assert share[label] / 6000 == pytest.approx(weight / total, rel=0.4), label


def test_unknown_labels_and_bad_shares_are_refused():
    with pytest.raises(ValueError, match="unknown labels"):
        Workload(mix={"not_an_intent": 1})
    with pytest.raises(ValueError):
        Workload(unknown_order_share=1.5)


def _repetition(s: float) -> float:
    w = Workload(seed=2, zipf_s=s, mix={FAQ_INTENT: 1, "greeting": 1, "delivery_period": 1})
    texts = [m.text for m in w.messages(5000)]
    return 1.0 - len(set(texts)) / len(texts)


def test_zipf_repetition_increases_with_the_exponent():
    low, mid, high = _repetition(0.3), _repetition(1.1), _repetition(1.8)
    assert low < mid < high
    top = collections.Counter(m.text for m in Workload(seed=2, zipf_s=1.8).messages(5000))
    assert top.most_common(1)[0][1] > 5000 * 0.02


def test_multi_turn_flows_are_well_formed():
    w = Workload(seed=4, multi_turn_share=0.5)
    convs = [c for c, _ in zip(w.conversations(), range(4000))]
    multi = [c for c in convs if c.multi_turn]
    single_order = [c for c in convs if c.intent in ORDER_INTENTS and not c.multi_turn]
    assert multi and single_order
    for c in multi:
        first, second = c.messages[0], c.messages[1]
        assert c.intent in ORDER_INTENTS
        assert first.awaits_order and first.order_id is None
        assert not ORDER_RE.search(first.text)
        assert second.expected_intent == c.intent and is_order_id(second.order_id or "")
        assert (second.order_id or "").lower() in second.text.lower()
        assert len(second.text) <= 30  # just the number, maybe with a word or two
        for extra in c.messages[2:]:
            assert extra.expected_intent in ("thanks", "goodbye")
    for c in single_order:
        m = c.messages[0]
        assert m.order_id and m.order_id.lower() in m.text.lower()
    # order numbers are written in several ways
    variants = {("#" in m.text, m.order_id in m.text) for c in convs for m in c.messages
                if m.order_id}
    assert len(variants) >= 3


def test_interleaved_stream_keeps_each_session_in_order():
    msgs = Workload(seed=9, interleave=16).messages(4000)
    last = {}
    for i, m in enumerate(msgs):
        if m.session_id in last:
            j, turn = last[m.session_id]
            assert m.turn == turn + 1
            assert i - j == 16  # the bot's reply normally comes back before the next turn
        else:
            assert m.turn == 1
        last[m.session_id] = (i, m.turn)


def test_order_ids_are_injected_and_a_small_share_is_unknown():
    known = ["A000001", "B000002", "C000003", "H999999"]
    w = Workload(seed=6, order_ids=known, unknown_order_share=0.05)
    ids = [m.order_id for m in w.messages(20000) if m.order_id]
    assert len(ids) > 1000
    unknown = [i for i in ids if i not in known]
    assert all(is_order_id(i) for i in ids)
    assert 0.02 < len(unknown) / len(ids) < 0.09
    assert Workload(seed=6, order_ids=known, unknown_order_share=0.0).messages(2000)
    none_unknown = [m.order_id for m in Workload(seed=6, order_ids=known,
                                                  unknown_order_share=0.0).messages(5000)
                    if m.order_id and m.order_id not in known]
    assert none_unknown == []


def test_default_ids_and_loaded_ids_have_the_canonical_format():
    ids = wl.synthetic_order_ids(500, seed=1)
    assert len(set(ids)) == 500 and all(is_order_id(i) for i in ids)
    assert wl.synthetic_order_ids(500, seed=1) == ids
    loaded = wl.load_order_ids(seed=42, n_orders=1000)
    missing = wl.load_unknown_order_ids(seed=42, n_orders=1000, count=50)
    assert loaded and all(is_order_id(i) for i in loaded)
    assert missing and not set(missing) & set(loaded)
    try:
        from engine import datagen
    except ImportError:
        return
    assert loaded == datagen.order_ids(datagen.DataSpec(seed=42, n_orders=1000))


def test_faq_queries_and_order_lookups():
    w = Workload(seed=1)
    queries = [w.next_faq_query() for _ in range(500)]
    assert all(queries) and len(set(queries)) > 5
    looked = [w.next_order_id() for _ in range(2000)]
    assert any(not known for _, known in looked) and all(is_order_id(i) for i, _ in looked)


def test_workload_and_shapes_parse_as_python_3_9():
    for name in ("workload.py", "shapes.py"):
        src = (ROOT / "loadtests" / name).read_text()
        ast.parse(src, feature_version=(3, 9))
        assert "from __future__ import annotations" in src
        assert "import locust" not in src and "from locust" not in src


def _eval_texts(path: Path) -> set:
    texts = set()
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            for key in ("text", "message", "utterance", "query"):
                if isinstance(row.get(key), str):
                    texts.add(row[key].strip().lower())
    return texts


def test_no_verbatim_overlap_with_the_engine_evaluation_set():
    path = ROOT / "tests" / "data" / "intents_test.jsonl"
    if not path.exists():
        pytest.skip("tests/data/intents_test.jsonl does not exist (yet)")
    theirs = _eval_texts(path)
    w = Workload(seed=42)
    ours = {m.text.strip().lower() for m in w.messages(20000)}
    for label in w.mix:
        ours.update(t.strip().lower() for t in w.pool(label))
    overlap = sorted(ours & theirs)
    # single-word small talk ("hi", "thanks", "bye") cannot be avoided; sentences can
    assert [t for t in overlap if len(t.split()) > 2] == []
