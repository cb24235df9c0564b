from __future__ import annotations

import pytest

from engine.intents import VOCABULARY
from engine.text import Normalizer, SpellCorrector, osa_distance, tokenize


@pytest.fixture(scope="module")
def corrector() -> SpellCorrector:
    return SpellCorrector(VOCABULARY)


@pytest.mark.parametrize("typo,word", [
    ("cancdling", "canceling"), ("ordedr", "order"), ("refnud", "refund"),
    ("pasword", "password"), ("invocie", "invoice"), ("delivry", "delivery"),
    ("trak", "track"), ("adress", "adress"), ("adresss", "adress"),
])
def test_customer_typos_are_corrected(corrector: SpellCorrector, typo: str, word: str) -> None:
    # "cancdling" is one substitution from "canceling", two from "cancelling"
    assert corrector.correct(typo) == word


@pytest.mark.parametrize("word", ["older", "rack", "send", "stop", "list", "bill", "yoga"])
def test_ordinary_words_are_left_alone(corrector: SpellCorrector, word: str) -> None:
    assert corrector.correct(word) == word


def test_memo_returns_the_same_answer(corrector: SpellCorrector) -> None:
    first = corrector.correct("refnud")
    assert corrector.correct("refnud") == first == "refund"


def test_osa_distance() -> None:
    assert osa_distance("order", "order") == 0
    assert osa_distance("ordre", "order") == 1  # adjacent swap counts once
    assert osa_distance("ordedr", "order") == 1
    assert osa_distance("kitten", "sitting") == 3
    assert osa_distance("abc", "xyz123", limit=2) == 3  # early exit reports limit + 1


def test_tokenize_keeps_apostrophes_and_lowercases() -> None:
    assert tokenize("I DON'T want it — ORDER #B123!") == ["i", "don't", "want", "it", "order",
                                                          "b123"]


def test_placeholders_replace_entity_spans(corrector: SpellCorrector) -> None:
    norm = Normalizer(corrector)
    text = "when will B204518 arrive"
    assert norm.normalize_with_placeholders(text, [(10, 17, "ordernum")]) == \
        "when will ordernum arrive"
