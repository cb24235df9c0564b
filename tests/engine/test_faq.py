"""FAQ retrieval: BM25 finds the right article, eager and lazy agree, lazy stays bounded."""

from __future__ import annotations

import random
import shutil
import sqlite3
from pathlib import Path

import pytest

from engine import faq
from engine.datagen import FAQ_SCHEMA, DataPaths, DataSpec, ensure_data
from engine.faq import STOPWORDS, FaqIndex, snippet, stem, tokenize
from engine.types import Article

SPEC = DataSpec(seed=42, n_products=60, n_customers=300, n_orders=2000, n_faq=200)


@pytest.fixture(scope="module")
def small_data(data_dir: Path) -> DataPaths:
    """The session's small data set (tests/conftest.py: data_dir, same sizes as SMALL)."""
    return ensure_data(data_dir, SPEC)


@pytest.fixture(scope="module")
def eager(small_data: DataPaths) -> FaqIndex:
    return FaqIndex(small_data.faq_db, "eager")


@pytest.fixture(scope="module")
def lazy(small_data: DataPaths) -> FaqIndex:
    return FaqIndex(small_data.faq_db, "lazy", batch_size=16, cache_batches=3)


def _make_db(path: Path, rows: list) -> Path:
    conn = sqlite3.connect(str(path))
    conn.executescript(FAQ_SCHEMA)
    with conn:
        conn.executemany("INSERT INTO articles VALUES (?,?,?,?,?)", rows)
    conn.close()
    return path


def test_tokenize_stems_and_drops_stopwords() -> None:
    assert tokenize("Returning items") == tokenize("return item") == ["return", "item"]
    assert tokenize("How do I RETURN my item?") == ["return", "item"]
    assert stem("batteries") == stem("battery")
    assert stem("shipped") == stem("shipping") == stem("ships") == "ship"
    assert stem("charging") == stem("charged") == stem("charge") == stem("charges")
    assert stem("cancelled") == stem("cancel")
    assert stem("addresses") == stem("address")
    assert tokenize("order-number A123456, e-mail") == ["order", "number", "a123456", "e", "mail"]
    assert tokenize("how do I the a and") == []
    assert "order" not in STOPWORDS and "return" not in STOPWORDS


def test_search_finds_the_article_of_a_title(eager: FaqIndex) -> None:
    term_sets = [set(tokenize(t)) for t in eager.titles]
    # titles whose words are not all contained in another title (those are ambiguous)
    unambiguous = [i for i, ts in enumerate(term_sets)
                   if not any(j != i and ts <= other for j, other in enumerate(term_sets))]
    assert len(unambiguous) > 150
    top1 = 0
    for i in unambiguous:
        hits = eager.search(eager.titles[i], 3)
        assert eager._ids[i] in [h.article_id for h in hits], eager.titles[i]
        top1 += hits[0].article_id == eager._ids[i]
    assert top1 >= 0.95 * len(unambiguous)


def test_search_paraphrases_land_in_the_right_category(eager: FaqIndex) -> None:
    queries = {
        "I forgot my password and the reset link expired": "passwords",
        "my refund has still not arrived on my statement": "refunds",
        "check the balance of a gift card": "gift_cards",
        "can I still cancel, is there a fee": "cancellations",
        "when do loyalty points expire": "loyalty",
        "my promo code is not working": "discounts",
        "unsubscribe from the newsletter emails": "newsletter",
    }
    for query, category in queries.items():
        hits = eager.search(query, 3)
        assert hits, query
        article = eager.get(hits[0].article_id)
        assert article is not None and article.category == category, (query, hits)


def test_search_results_are_ranked_and_sized(eager: FaqIndex) -> None:
    hits = eager.search("return running shoes refund", 10)
    assert len(hits) == 10
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(h.title == eager.get(h.article_id).title for h in hits)  # type: ignore[union-attr]
    assert eager.search("return running shoes refund", 2) == hits[:2]
    # every article containing the term, and only those, when k is large
    assert len(eager.search("returning", 1000)) == len(eager._postings["return"][0]) < 200


def test_queries_without_known_terms_return_nothing(eager: FaqIndex) -> None:
    assert eager.search("how do I the and of") == []  # stopwords only
    assert eager.search("") == []
    assert eager.search("xylophonequux zzzz") == []
    assert eager.search("refund", k=0) == []


def test_ties_go_to_the_lower_article_id(tmp_path: Path) -> None:
    body = "Refunds are issued to the original payment method within five days."
    rows = [(i, "Refund timing", body, "refunds", '["refunds"]') for i in (7, 3, 11, 5)]
    rows.append((20, "Shipping costs", "Shipping is free over 50 EUR.", "shipping", "[]"))
    db = _make_db(tmp_path / "faq.db", rows)
    for loading in ("eager", "lazy"):
        idx = FaqIndex(db, loading)
        hits = idx.search("refund timing", 3)
        assert [h.article_id for h in hits] == [3, 5, 7]
        assert hits[0].score == hits[1].score == hits[2].score > 0
        idx.close()


@pytest.mark.parametrize("lookup_cost", [faq._LOOKUP_COST, 0])
def test_pruned_search_equals_exhaustive_bm25(eager: FaqIndex, monkeypatch,
                                              lookup_cost: int) -> None:
    # cost 0: take the pruned look-up path whenever the bound allows it, so it is exercised
    monkeypatch.setattr(faq, "_LOOKUP_COST", lookup_cost)
    rng = random.Random(5)
    words = sorted({w for t in eager.titles for w in t.lower().rstrip("?").split()})
    for n in range(300):
        query = (" ".join(rng.sample(words, rng.randint(1, 9))) if n % 2
                 else eager.titles[rng.randrange(len(eager.titles))])
        for k in (1, 3, 10):
            assert eager.search(query, k) == eager.search_exhaustive(query, k), (query, k)


def test_eager_and_lazy_agree(eager: FaqIndex, lazy: FaqIndex) -> None:
    assert lazy.titles == eager.titles
    assert lazy.idf == eager.idf
    for query in ["how do I return an item bought with a gift card", "parcel delivered late",
                  "vat invoice company", "smartwatch battery drains", "refund paypal"]:
        assert lazy.search(query, 5) == eager.search(query, 5)
    for article_id in list(range(0, 203)) + [10**6]:
        assert lazy.get(article_id) == eager.get(article_id)
    article = eager.get(17)
    assert article is not None and len(article.body.split()) >= 150 and article.tags


def test_lazy_keeps_no_bodies_and_a_bounded_lru(small_data: DataPaths) -> None:
    idx = FaqIndex(small_data.faq_db, "lazy", batch_size=10, cache_batches=2)
    stats = idx.stats()
    assert stats["articles_in_memory"] == 0 and stats["batches_in_memory"] == 0
    assert not idx._articles
    for article_id in range(1, 201):
        assert idx.get(article_id) is not None
        stats = idx.stats()
        assert stats["batches_in_memory"] <= 2 and stats["articles_in_memory"] <= 20
    # ids 1..200 in batches of 10 ids (id // 10): 21 distinct batches, each loaded once
    assert stats["batch_misses"] == stats["batches_loaded"] == 21
    assert stats["batch_hits"] == 200 - 21
    # LRU: touch batch 1, load batch 5, touch batch 1 again (a hit), load batch 9 -> 5 evicted
    idx.get(15)
    idx.get(55)
    before = idx.stats()
    idx.get(12)
    assert idx.stats()["batch_hits"] == before["batch_hits"] + 1
    idx.get(95)
    idx.get(51)
    assert idx.stats()["batch_misses"] == before["batch_misses"] + 2
    # an unknown id costs no query
    loaded = idx.stats()["batches_loaded"]
    assert idx.get(5000) is None and idx.stats()["batches_loaded"] == loaded
    idx.close()


@pytest.mark.parametrize("pooling", [True, False])
def test_lazy_survives_without_a_pooled_connection(small_data: DataPaths, tmp_path: Path,
                                                   pooling: bool) -> None:
    db = Path(shutil.copy(small_data.faq_db, tmp_path / "faq.db"))
    idx = FaqIndex(db, "lazy", batch_size=8, cache_batches=1, pooling=pooling)
    assert (idx._conn is not None) == pooling
    first = idx.get(3)
    assert first is not None and first.article_id == 3
    assert idx.get(100) is not None
    idx.close()
    idx.close()


def test_eager_stats(eager: FaqIndex) -> None:
    stats = eager.stats()
    assert stats["articles"] == stats["articles_in_memory"] == 200
    assert stats["terms"] > 300 and stats["postings"] > 200 * 50
    assert "batch_hits" not in stats  # eager has no batch cache (Bot.cache_stats relies on it)


def test_snippet_picks_the_relevant_sentence() -> None:
    body = ("This article answers a common question about refunds.\n\n"
            "Banks usually need three to five working days to show a refund. "
            "Gift cards are valid for three years. "
            "Refunds to PayPal are often faster, typically within 24 hours.\n\n"
            "Thank you for shopping with us.")
    article = Article(1, "Refund timing", body, "refunds")
    text = snippet(article, "paypal refund", max_chars=240)
    # the best sentence leads, other matching ones follow in body order, the rest is left out
    assert text == ("Refunds to PayPal are often faster, typically within 24 hours. "
                    "This article answers a common question about refunds. "
                    "Banks usually need three to five working days to show a refund.")
    assert snippet(article, "paypal refund") == text  # deterministic
    assert snippet(article, "paypal refund", max_chars=70) == (
        "Refunds to PayPal are often faster, typically within 24 hours.")
    # no match: the opening sentences, contiguous, while they fit
    assert snippet(article, "xylophone", 120) == (
        "This article answers a common question about refunds. "
        "Banks usually need three to five working days to show a refund.")
    # an over-long sentence is cut at a word boundary
    cut = snippet(article, "banks working days", max_chars=30)
    assert len(cut) <= 30 and cut.endswith("…") and cut.startswith("Banks usually")
    assert snippet(Article(2, "t", "", "c"), "anything") == ""


def test_snippet_with_idf_weights_prefers_rare_terms(eager: FaqIndex) -> None:
    article = Article(1, "t", "Your order is here. Klarna payments are split.", "payments")
    assert snippet(article, "order klarna", 40) == "Your order is here."
    assert eager.snippet(article, "order klarna", 40) == "Klarna payments are split."


def test_bad_arguments(small_data: DataPaths, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="loading"):
        FaqIndex(small_data.faq_db, "mmap")
    with pytest.raises(ValueError):
        FaqIndex(small_data.faq_db, "lazy", batch_size=0)
    with pytest.raises(FileNotFoundError):
        FaqIndex(tmp_path / "nope.db")
