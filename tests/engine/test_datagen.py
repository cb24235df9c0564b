"""Generated data: deterministic, well-formed, cached on disk and published atomically."""

from __future__ import annotations

import json
import re
import sqlite3
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pytest

from engine import datagen
from engine.config import EngineConfig
from engine.datagen import (
    ORDER_STATUSES,
    REFERENCE_DATE,
    DataPaths,
    DataSpec,
    catalogue,
    customers,
    ensure_data,
    load_catalogue,
    missing_order_id,
    order_ids,
    sample_order_id,
)
from engine.types import ORDER_ID_PATTERN

SPEC = DataSpec(seed=7, n_products=60, n_customers=300, n_orders=2000, n_faq=200)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> DataPaths:
    return ensure_data(tmp_path_factory.mktemp("gen"), SPEC)


def _rows(db: Path, sql: str) -> list:
    conn = sqlite3.connect(str(db))
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_spec_from_config_and_folder_name() -> None:
    cfg = EngineConfig(seed=3, n_products=11, n_customers=12, n_orders=13, n_faq=14)
    spec = DataSpec.from_config(cfg)
    assert spec == DataSpec(3, 11, 12, 13, 14)
    assert spec.dirname == "v%d-s3-p11-c12-o13-f14" % datagen.DATA_VERSION
    assert DataSpec.from_config(EngineConfig()) == DataSpec(42, 400, 8000, 40000, 3000)


def test_spec_rejects_impossible_sizes() -> None:
    with pytest.raises(ValueError, match="n_products"):
        DataSpec(n_products=0)
    with pytest.raises(ValueError, match="n_products"):
        DataSpec(n_products=100000)  # SKUs have five digits


def test_files_and_schema(data: DataPaths) -> None:
    assert data.root.name == SPEC.dirname
    assert (data.root / datagen.MARKER).is_file()
    tables = {r[0] for r in _rows(data.orders_db, "SELECT name FROM sqlite_master "
                                                  "WHERE type = 'table'")}
    assert tables == {"products", "customers", "orders"}
    # ORDER_INDEX=hash adds indexes; the generated table has none (not even a primary key)
    assert _rows(data.orders_db, "SELECT name FROM sqlite_master WHERE type = 'index' "
                                 "AND tbl_name = 'orders'") == []
    assert _rows(data.orders_db, "SELECT count(*) FROM orders") == [(2000,)]
    assert _rows(data.orders_db, "SELECT count(*) FROM customers") == [(300,)]
    assert _rows(data.orders_db, "SELECT count(*) FROM products") == [(60,)]
    cols = [r[1] for r in _rows(data.faq_db, "PRAGMA table_info(articles)")]
    assert cols == ["article_id", "title", "body", "category", "tags"]
    assert _rows(data.faq_db, "SELECT min(article_id), max(article_id), count(*) "
                              "FROM articles") == [(1, 200, 200)]
    assert not [p for p in data.root.parent.iterdir() if ".tmp-" in p.name]


def test_second_call_only_checks_the_marker(data: DataPaths, monkeypatch) -> None:
    def boom(*args: object) -> None:
        raise AssertionError("regenerated although the data is complete")

    monkeypatch.setattr(datagen, "_write_orders_db", boom)
    monkeypatch.setattr(datagen, "_write_faq_db", boom)
    again = ensure_data(data.root.parent, SPEC)
    assert again == data


def test_same_spec_gives_identical_files_and_seed_matters(tmp_path: Path,
                                                         data: DataPaths) -> None:
    twin = ensure_data(tmp_path / "a", SPEC)
    for name in ("orders.db", "faq.db", "catalogue.json"):
        assert (twin.root / name).read_bytes() == (data.root / name).read_bytes(), name
    other = ensure_data(tmp_path / "b", DataSpec(8, 60, 300, 2000, 200))
    assert other.root.name != twin.root.name
    assert (other.root / "orders.db").read_bytes() != (twin.root / "orders.db").read_bytes()
    assert order_ids(DataSpec(8, 60, 300, 2000, 200)) != order_ids(SPEC)


def test_incomplete_folder_is_replaced(tmp_path: Path) -> None:
    broken = tmp_path / SPEC.dirname
    broken.mkdir(parents=True)
    (broken / "orders.db").write_bytes(b"half written")
    paths = ensure_data(tmp_path, SPEC)
    assert paths.root == broken
    assert _rows(paths.orders_db, "SELECT count(*) FROM orders") == [(2000,)]


def test_losing_a_publish_race_keeps_the_winner(tmp_path: Path, monkeypatch) -> None:
    winner = ensure_data(tmp_path, SPEC)
    before = (winner.root / datagen.MARKER).read_bytes()
    # pretend the marker check happened before the winner published
    real_is_file = Path.is_file
    calls = {"n": 0}

    def is_file_once_false(self: Path) -> bool:
        if self.name == datagen.MARKER and calls["n"] == 0:
            calls["n"] += 1
            return False
        return real_is_file(self)

    monkeypatch.setattr(Path, "is_file", is_file_once_false)
    loser = ensure_data(tmp_path, SPEC)
    assert calls["n"] == 1
    assert loser.root == winner.root
    assert (winner.root / datagen.MARKER).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [SPEC.dirname]


def _generate(args: tuple) -> str:
    root, spec = args
    return str(ensure_data(Path(root), spec).root)


def test_processes_racing_share_one_folder(tmp_path: Path) -> None:
    spec = DataSpec(seed=9, n_products=30, n_customers=100, n_orders=500, n_faq=50)
    with ProcessPoolExecutor(4) as pool:
        roots = list(pool.map(_generate, [(str(tmp_path), spec)] * 4))
    assert set(roots) == {str(tmp_path / spec.dirname)}
    assert sorted(p.name for p in tmp_path.iterdir()) == [spec.dirname]
    assert _rows(tmp_path / spec.dirname / "orders.db", "SELECT count(*) FROM orders") == [(500,)]


def test_catalogue(data: DataPaths) -> None:
    products = catalogue(SPEC)
    assert load_catalogue(data) == products == catalogue(SPEC)
    assert len(products) == 60
    assert all(re.fullmatch(r"SKU-\d{5}", p.sku) for p in products)
    assert len({p.sku for p in products}) == len({p.name for p in products}) == 60
    assert all(p.price_cents > 0 for p in products)
    assert all(p.name.split()[0] in datagen.BRANDS for p in products)
    assert _rows(data.orders_db, "SELECT sku, name, category, price_cents FROM products") == [
        (p.sku, p.name, p.category, p.price_cents) for p in products]


def test_default_catalogue_has_the_nouns_customers_use() -> None:
    products = catalogue(DataSpec())
    assert len(products) == 400
    assert len({p.category for p in products}) == 12
    names = " | ".join(p.name for p in products)
    for noun in ("Wireless Headphones", "Running Shoes", "Coffee Maker", "Yoga Mat",
                 "Smartwatch", "Backpack", "Desk Lamp", "Blender", "Jacket", "Phone Case"):
        assert noun in names, noun


def test_order_ids_match_the_database_without_opening_it(data: DataPaths) -> None:
    ids = order_ids(SPEC)
    assert [r[0] for r in _rows(data.orders_db, "SELECT order_id FROM orders ORDER BY rowid")] \
        == ids
    assert len(set(ids)) == len(ids) == 2000
    assert all(re.fullmatch(ORDER_ID_PATTERN, i) for i in ids)
    assert sum(i.isdigit() for i in ids) == len(ids) // 4  # every 4th: a long numeric id
    assert sample_order_id(SPEC, 5) == ids[5]
    assert sample_order_id(SPEC, 2005) == ids[5]
    missing = {missing_order_id(SPEC, i) for i in range(50)}
    assert not missing & set(ids)
    assert all(re.fullmatch(ORDER_ID_PATTERN, i) for i in missing)
    assert any(i.isdigit() for i in missing) and not all(i.isdigit() for i in missing)
    assert missing_order_id(SPEC, 3) == missing_order_id(SPEC, 3)


def test_customers(data: DataPaths) -> None:
    custs = customers(SPEC)
    assert len({c.customer_id for c in custs}) == len({c.email for c in custs}) == 300
    assert all(re.fullmatch(r"C\d{6}", c.customer_id) for c in custs)
    for c in custs:
        assert re.fullmatch(r"%s\.%s\d{1,3}@example\.com" % (c.first_name.lower(),
                                                              c.last_name.lower()), c.email)
    assert _rows(data.orders_db, "SELECT customer_id, email FROM customers") == [
        (c.customer_id, c.email) for c in custs]


def test_orders_are_consistent(data: DataPaths) -> None:
    prices = {p.sku: p.price_cents for p in catalogue(SPEC)}
    emails = {c.customer_id: c.email for c in customers(SPEC)}
    earliest = REFERENCE_DATE - timedelta(days=datagen.HISTORY_DAYS)
    rows = _rows(data.orders_db, "SELECT customer_id, email, status, total_cents, currency, "
                                 "created_at, items, tracking_id, carrier, shipping_address "
                                 "FROM orders")
    tracking = set()
    for cid, email, status, total, currency, created, items, trk, carrier, address in rows:
        assert emails[cid] == email
        assert status in ORDER_STATUSES
        lines = json.loads(items)
        assert 1 <= len(lines) <= 4 and len({s for s, _q in lines}) == len(lines)
        assert total == sum(prices[s] * q for s, q in lines)
        assert currency == "EUR"
        assert earliest <= date.fromisoformat(created) <= REFERENCE_DATE
        if status in ("shipped", "delivered", "returned"):
            assert re.fullmatch(r"TRK\d{10}", trk) and carrier in datagen.CARRIERS
            tracking.add(trk)
        else:
            assert trk is None and carrier is None
        assert re.search(r"\d", address) and address.rsplit(", ", 1)[1] in datagen.COUNTRIES
    assert len(tracking) == sum(1 for r in rows if r[7] is not None)  # tracking ids unique
    dates = [r[0] for r in _rows(data.orders_db, "SELECT created_at FROM orders ORDER BY rowid")]
    assert dates == sorted(dates)  # inserted in chronological order


def test_faq_corpus(data: DataPaths) -> None:
    rows = _rows(data.faq_db, "SELECT title, body, category, tags FROM articles")
    titles = [r[0] for r in rows]
    assert len(set(titles)) == len(titles)
    assert len({r[1] for r in rows}) == len(rows)
    assert {r[2] for r in rows} <= {t.slug for t in datagen.TOPICS}
    assert len({r[2] for r in rows}) >= 18  # 200 articles over 20 categories
    for title, body, category, tags in rows:
        assert 150 <= len(body.split()) <= 400, title
        assert body.count("\n\n") >= 2  # several paragraphs
        assert "{" not in title + body  # every template slot filled
        assert json.loads(tags)[0] == category
    # bodies are compositions, not one template repeated
    sentences = [s for r in rows for s in r[1].split(". ")]
    assert len(set(sentences)) > 400


def test_default_size(tmp_path: Path) -> None:
    """One run at the default sizes (a couple of seconds): the counts and the status mix."""
    spec = DataSpec.from_config(EngineConfig())
    paths = ensure_data(tmp_path, spec)
    assert _rows(paths.orders_db, "SELECT count(*), count(DISTINCT order_id) FROM orders") \
        == [(40000, 40000)]
    mix = dict(_rows(paths.orders_db, "SELECT status, count(*) FROM orders GROUP BY status"))
    assert set(mix) == set(ORDER_STATUSES)
    assert max(mix, key=mix.__getitem__) == "delivered"
    assert 0.6 < mix["delivered"] / 40000 < 0.9
    assert mix["shipped"] + mix["processing"] + mix["pending"] > 1000  # some orders in flight
    assert _rows(paths.faq_db, "SELECT count(*) FROM articles") == [(3000,)]
    assert len(load_catalogue(paths)) == 400
