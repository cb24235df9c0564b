from __future__ import annotations

from typing import List, Tuple

import pytest

from engine.entities import EntityExtractor
from engine.types import Product

CATALOGUE = [Product("SKU-10432", "Aurora Wireless Headphones", "audio", 5999),
             Product("SKU-20001", "Zen Yoga Mat", "fitness", 2999)]


@pytest.fixture(params=[False, True], ids=["per-call", "precompiled"])
def extractor(request: pytest.FixtureRequest) -> EntityExtractor:
    return EntityExtractor(CATALOGUE, precompile=request.param)


def values(extractor: EntityExtractor, text: str) -> List[Tuple[str, str]]:
    return [(e.type, e.value) for e in extractor.extract(text)]


@pytest.mark.parametrize("text", ["B204518", "order #b204518", "B-204518", "order no. B 204518",
                                  "#B204518.", "it's b204 518"])
def test_order_number_formats(extractor: EntityExtractor, text: str) -> None:
    assert ("order_id", "B204518") in values(extractor, text)


def test_not_an_order_number(extractor: EntityExtractor) -> None:
    assert values(extractor, "call 0151 1732779 or use code Z123456 or X1234567") == []


@pytest.mark.parametrize("text", ["order 100234567891", "purchase #100234567891",
                                  "my order number: 100234567891 hasn't come",
                                  "cancel #100234567891 please", "100234567891",
                                  "ORDER NO. 100234567891", " #100234567891. "])
def test_long_numeric_order_numbers(extractor: EntityExtractor, text: str) -> None:
    assert values(extractor, text) == [("order_id", "100234567891")]


@pytest.mark.parametrize("text", ["call me on 004915112345678", "order 12345678901",
                                  "order 1234567890123456", "card 4111111111111111",
                                  "the number is 100234567891"])
def test_digit_runs_that_are_not_order_numbers(extractor: EntityExtractor, text: str) -> None:
    assert [v for v in values(extractor, text) if v[0] == "order_id"] == []


def test_a_long_number_answers_which_order(extractor: EntityExtractor) -> None:
    found = extractor.order_in_answer("it's 100234567891, thanks")
    assert found is not None and (found.value, found.start) == ("100234567891", 5)
    assert extractor.order_in_answer("it's 12345678901") is None


def test_tracking_email_money(extractor: EntityExtractor) -> None:
    got = values(extractor, "parcel TRK4820193746, mail jane.doe@example.com, paid $45.99 "
                            "and 12,50 € and 30 EUR and £7")
    assert ("tracking_id", "TRK4820193746") in got
    assert ("email", "jane.doe@example.com") in got
    assert ("money", "45.99 USD") in got
    assert ("money", "12.50 EUR") in got
    assert ("money", "30.00 EUR") in got
    assert ("money", "7.00 GBP") in got


@pytest.mark.parametrize("text,value", [
    ("on 2026-10-14", "2026-10-14"), ("on 12/10/2026", "2026-10-12"),
    ("on 10/25/2026", "2026-10-25"), ("on March 3", "--03-03"), ("3rd of March 2026",
                                                                  "2026-03-03"),
    ("last Tuesday", "relative:last tuesday"), ("yesterday", "relative:yesterday"),
])
def test_dates(extractor: EntityExtractor, text: str, value: str) -> None:
    assert ("date", value) in values(extractor, text)


def test_products_by_name_generic_noun_and_sku(extractor: EntityExtractor) -> None:
    got = values(extractor, "my aurora wireless headphones and a yoga mat, also SKU-55555")
    assert ("product", "SKU-10432") in got  # full catalogue name -> its SKU
    assert ("product", "yoga mat") in got
    assert ("product", "SKU-55555") in got


def test_offsets_point_at_the_text(extractor: EntityExtractor) -> None:
    text = "hi, order B204518 please"
    (entity,) = extractor.extract(text)
    assert text[entity.start:entity.end] == "B204518"
    assert entity.text == "B204518"
