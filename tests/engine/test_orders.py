"""The order store: same answers under every ORDER_INDEX x POOLING combination, real plans."""

from __future__ import annotations

import shutil
import sqlite3
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

from engine.datagen import DataPaths, DataSpec, customers, ensure_data, missing_order_id, order_ids
from engine.orders import INDEXES, OrderStore, missing_indexes
from engine.types import Order

COMBOS = [("scan", False), ("scan", True), ("hash", False), ("hash", True)]


SPEC = DataSpec(seed=42, n_products=60, n_customers=300, n_orders=2000, n_faq=200)


@pytest.fixture(scope="module")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> DataPaths:
    """Our own small data set (0.1 s): the session's shared one may have gained indexes
    from hash-mode Bot tests, and these tests need the generated file as it is."""
    return ensure_data(tmp_path_factory.mktemp("orders-data"), SPEC)


@pytest.fixture
def db(tmp_path: Path, small_data: DataPaths) -> Path:
    """A private copy per test: hash mode adds indexes to the file."""
    return Path(shutil.copy(small_data.orders_db, tmp_path / "orders.db"))


def _index_names(db: Path) -> set:
    conn = sqlite3.connect(str(db))
    try:
        return {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders'")}
    finally:
        conn.close()


@pytest.mark.parametrize("index,pooling", COMBOS)
def test_get(db: Path, index: str, pooling: bool) -> None:
    spec = SPEC
    ids = order_ids(spec)
    with OrderStore(db, index, pooling) as store:
        order = store.get(ids[1234])
        assert isinstance(order, Order)
        assert order.order_id == ids[1234]
        assert order.items and all(q >= 1 for _s, q in order.items)
        assert store.get(missing_order_id(spec, 0)) is None
        assert store.get("a" + ids[0][1:]) is None  # exact match: callers canonicalise
        assert store.get("") is None


def test_all_combinations_return_identical_results(db: Path) -> None:
    spec = SPEC
    ids = order_ids(spec)[::97] + [missing_order_id(spec, 1)]
    custs = customers(spec)[::13]
    results = []
    for index, pooling in COMBOS:
        with OrderStore(db, index, pooling) as store:
            results.append((
                [store.get(i) for i in ids],
                [store.by_customer(c.customer_id) for c in custs],
                [store.by_email(c.email) for c in custs],
            ))
    assert all(r == results[0] for r in results[1:])
    gets, by_customer, by_email = results[0]
    assert sum(o is not None for o in gets) == len(ids) - 1
    assert by_customer == by_email  # each customer orders with their own email
    assert sum(len(x) for x in by_customer) > len(custs)  # some customers order repeatedly


def test_by_customer_and_email_match_sql(db: Path) -> None:
    spec = SPEC
    conn = sqlite3.connect(str(db))
    cid, count = conn.execute("SELECT customer_id, count(*) c FROM orders GROUP BY 1 "
                              "ORDER BY c DESC, 1 LIMIT 1").fetchone()
    expected = [r[0] for r in conn.execute("SELECT order_id FROM orders WHERE customer_id = ? "
                                           "ORDER BY created_at, rowid", (cid,))]
    conn.close()
    email = {c.customer_id: c.email for c in customers(spec)}[cid]
    assert count > 1
    for index, pooling in COMBOS:
        with OrderStore(db, index, pooling) as store:
            orders = store.by_customer(cid)
            assert [o.order_id for o in orders] == expected
            assert {o.customer_id for o in orders} == {cid}
            assert [o.created_at for o in orders] == sorted(o.created_at for o in orders)
            assert store.by_email(email) == orders
            assert store.by_customer("C999999x") == []
            assert store.by_email("nobody@example.com") == []


def test_scan_leaves_the_file_alone_and_hash_adds_indexes(db: Path) -> None:
    OrderStore(db, "scan").close()
    assert _index_names(db) == set()
    assert missing_indexes(db) == [name for name, _c in INDEXES]
    store = OrderStore(db, "hash")
    assert store.created_indexes
    assert _index_names(db) == {name for name, _c in INDEXES}
    assert missing_indexes(db) == []
    again = OrderStore(db, "hash")
    assert not again.created_indexes
    store.close()
    again.close()


def test_query_plans(db: Path) -> None:
    """hash searches the index; scan scans even though the indexes exist by then."""
    hashed = OrderStore(db, "hash")
    scan = OrderStore(db, "scan")
    for name, column in (("get", "order_id"), ("by_customer", "customer_id"),
                         ("by_email", "email")):
        hash_plan = " ".join(hashed.explain(name))
        scan_plan = " ".join(scan.explain(name))
        assert "SEARCH" in hash_plan and "USING INDEX idx_orders_%s" % column in hash_plan
        assert "SCAN" in scan_plan and "INDEX" not in scan_plan, scan_plan
    hashed.close()
    scan.close()


def test_connections_are_read_only(db: Path) -> None:
    store = OrderStore(db, "hash", pooling=True)
    conn = store._connect()
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("DELETE FROM orders")
    conn.close()
    store.close()


def test_pooling_reuses_one_connection(db: Path) -> None:
    ids = order_ids(SPEC)[:20]
    pooled = OrderStore(db, "scan", pooling=True)
    fresh = OrderStore(db, "scan", pooling=False)
    for i in ids:
        assert pooled.get(i) == fresh.get(i)
    assert pooled.stats()["connections_opened"] == 1
    assert fresh.stats()["connections_opened"] == 20
    assert pooled.stats()["queries"] == fresh.stats()["queries"] == 20
    assert pooled.stats()["rows_returned"] == 20
    pooled.close()
    pooled.close()  # idempotent
    fresh.close()


@pytest.mark.parametrize("pooling", [False, True])
def test_threads_share_a_store(db: Path, pooling: bool) -> None:
    ids = order_ids(SPEC)[:200]
    with OrderStore(db, "hash", pooling) as store:
        expected = [store.get(i) for i in ids]
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(store.get, ids))
    assert got == expected
    assert all(o is not None for o in got)


def _open_hash(path: str) -> bool:
    store = OrderStore(Path(path), "hash")
    store.close()
    return store.created_indexes


def test_processes_creating_indexes_at_once(db: Path) -> None:
    with ProcessPoolExecutor(4) as pool:
        created = list(pool.map(_open_hash, [str(db)] * 4))
    assert any(created)  # whoever came first; the others found them or no-op'd
    assert _index_names(db) == {name for name, _c in INDEXES}


def test_bad_arguments(db: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="index"):
        OrderStore(db, "btree")
    with pytest.raises(FileNotFoundError):
        OrderStore(tmp_path / "missing.db")
