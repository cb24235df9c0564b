"""The order store: read-only look-ups in the generated SQLite orders DB.

Two toggles of the performance guide are real code paths here:

* ``ORDER_INDEX``: ``scan`` reads the table sequentially (``NOT INDEXED``, so
  indexes left behind by an earlier ``hash`` run are ignored); ``hash`` makes
  sure B-tree indexes on order_id, customer_id and email exist and lets SQLite
  search them. (SQLite has no hash indexes; a B-tree search is what "indexed by
  order_id" means for it.)
* ``POOLING``: off opens a connection per call (connect, query, close: the
  guide's "Current"); on keeps one connection open for the store's life.

The baseline is what a team ships before optimising: the same SQL with
``LIMIT 1`` for a single order, so a scan stops at the first match (on average
halfway through the table) rather than reading to the end. That favours the
baseline, so a measured speed-up of the index is a conservative one.

Python 3.9-compatible on purpose (the PyPy toggle runs this code).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from engine.config import ORDER_INDEXES
from engine.types import Order

COLUMNS = ("order_id, customer_id, email, status, total_cents, currency, created_at, items, "
           "tracking_id, carrier, shipping_address")

INDEXES: Tuple[Tuple[str, str], ...] = (
    ("idx_orders_order_id", "order_id"),
    ("idx_orders_customer_id", "customer_id"),
    ("idx_orders_email", "email"),
)

# (scan, hash) SQL per query; identical except for NOT INDEXED
_QUERIES: Dict[str, Tuple[str, str]] = {
    name: ("SELECT %s FROM orders NOT INDEXED WHERE %s" % (COLUMNS, where),
           "SELECT %s FROM orders WHERE %s" % (COLUMNS, where))
    for name, where in (
        ("get", "order_id = ? LIMIT 1"),
        ("by_customer", "customer_id = ? ORDER BY created_at, rowid"),
        ("by_email", "email = ? ORDER BY created_at, rowid"),
    )
}

LOCK_TIMEOUT_S = 30.0  # how long index creation waits for another process's write lock


def _row_to_order(row: Sequence[Any]) -> Order:
    items = tuple((str(sku), int(qty)) for sku, qty in json.loads(row[7]))
    return Order(row[0], row[1], row[2], row[3], int(row[4]), row[5], row[6], items,
                 row[8], row[9], row[10])


def _ro_uri(db_path: Path) -> str:
    return Path(db_path).resolve().as_uri() + "?mode=ro"


def ensure_indexes(db_path: Path, timeout: float = LOCK_TIMEOUT_S) -> bool:
    """Create the order indexes if missing; True if this call created any.

    Several service processes may start at once: SQLite's busy timeout makes the
    others wait for the writer, ``IF NOT EXISTS`` makes their statements no-ops,
    and a residual "database is locked" is retried until ``timeout``.
    """
    if not missing_indexes(db_path):
        return False  # no write lock needed (the file may even be read-only)
    deadline = time.monotonic() + timeout
    while True:
        conn = sqlite3.connect(str(db_path), timeout=timeout)
        try:
            with conn:
                for name, column in INDEXES:
                    conn.execute("CREATE INDEX IF NOT EXISTS %s ON orders(%s)" % (name, column))
            return True
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
        finally:
            conn.close()


def missing_indexes(db_path: Path) -> List[str]:
    """Names of the order indexes that do not exist yet."""
    conn = sqlite3.connect(_ro_uri(db_path), uri=True)
    try:
        present = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders'")}
    finally:
        conn.close()
    return [name for name, _column in INDEXES if name not in present]


class OrderStore:
    """Order look-ups by id, customer and email over the SQLite orders DB (read-only)."""

    def __init__(self, db_path: Path, index: str = "scan", pooling: bool = False) -> None:
        if index not in ORDER_INDEXES:
            raise ValueError("index=%r; allowed: %s" % (index, ", ".join(ORDER_INDEXES)))
        self.db_path = Path(db_path)
        if not self.db_path.is_file():
            raise FileNotFoundError(str(self.db_path))
        self.index = index
        self.pooling = pooling
        self.created_indexes = ensure_indexes(self.db_path) if index == "hash" else False
        self._uri = _ro_uri(self.db_path)
        self._sql = {name: pair[1 if index == "hash" else 0] for name, pair in _QUERIES.items()}
        # one connection serialises its statements anyway (SQLite's serialized mode);
        # the lock keeps Python-side use of the shared connection safe across threads
        self._lock = threading.Lock()
        self._conn: Optional[sqlite3.Connection] = (
            self._connect(check_same_thread=False) if pooling else None)
        self.queries = 0
        self.connections_opened = 1 if pooling else 0
        self.rows_returned = 0

    def _connect(self, check_same_thread: bool = True) -> sqlite3.Connection:
        return sqlite3.connect(self._uri, uri=True, check_same_thread=check_same_thread)

    def _query(self, name: str, arg: str) -> List[Any]:
        sql = self._sql[name]
        if self._conn is not None:
            with self._lock:
                self.queries += 1
                rows = self._conn.execute(sql, (arg,)).fetchall()
                self.rows_returned += len(rows)
                return rows
        conn = self._connect()
        try:
            rows = conn.execute(sql, (arg,)).fetchall()
        finally:
            conn.close()
        with self._lock:
            self.queries += 1
            self.connections_opened += 1
            self.rows_returned += len(rows)
        return rows

    def get(self, order_id: str) -> Optional[Order]:
        """The order with this canonical id ("B204518"), or None."""
        rows = self._query("get", order_id)
        return _row_to_order(rows[0]) if rows else None

    def by_customer(self, customer_id: str) -> List[Order]:
        """A customer's orders, oldest first."""
        return [_row_to_order(r) for r in self._query("by_customer", customer_id)]

    def by_email(self, email: str) -> List[Order]:
        """Orders placed with this email address (exact match), oldest first."""
        return [_row_to_order(r) for r in self._query("by_email", email)]

    def explain(self, name: str) -> List[str]:
        """SQLite's query plan for one of the queries (get, by_customer, by_email); for tests."""
        conn = self._connect()
        try:
            rows = conn.execute("EXPLAIN QUERY PLAN " + self._sql[name], ("",)).fetchall()
        finally:
            conn.close()
        return [str(r[-1]) for r in rows]

    def stats(self) -> Dict[str, Any]:
        """Counters for /metrics and the report: queries, connections opened, rows returned."""
        return {"index": self.index, "pooling": self.pooling, "queries": self.queries,
                "connections_opened": self.connections_opened,
                "rows_returned": self.rows_returned, "created_indexes": self.created_indexes}

    def close(self) -> None:
        """Close the pooled connection (if any); safe to call twice."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> OrderStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
