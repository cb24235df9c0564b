"""The engine's one configuration object, built once from the environment.

Every optimisation of the performance guide is a field here. Nothing else in
``engine/`` reads ``os.environ``: the config is passed explicitly, so a test or
the lab can build any toggle combination without touching the process
environment.

Python 3.9-compatible on purpose (the PyPy toggle runs this code).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

CACHE_BACKENDS = ("none", "memory", "redis", "tiered")
CONCURRENCY_MODES = ("sync", "async")
ORDER_INDEXES = ("scan", "hash")
FAQ_LOADINGS = ("eager", "lazy")
REDIS_CLIENTS = ("redis-py", "pipelined", "coredis", "valkey-glide")

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


class ConfigError(ValueError):
    """A toggle or setting has a value the engine does not accept."""


def default_data_dir() -> Path:
    """Where generated data (orders DB, FAQ corpus) is cached between runs."""
    return Path.home() / ".cache" / "perflab" / "data"


def choice(allowed: Tuple[str, ...], upper: bool = False) -> Callable[[str, str], str]:
    """A parser accepting one of ``allowed`` (case-insensitive; normalised to lower case,
    or upper case with ``upper``)."""

    def parse(var: str, raw: str) -> str:
        value = raw.strip().upper() if upper else raw.strip().lower()
        if value not in allowed:
            raise ConfigError(_invalid(var, raw, ", ".join(allowed)))
        return value

    return parse


def parse_bool(var: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ConfigError(_invalid(var, raw, ", ".join(TRUE + FALSE)))


def integer(minimum: int) -> Callable[[str, str], int]:
    def parse(var: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigError(_invalid(var, raw, "an integer >= %d" % minimum)) from None
        if value < minimum:
            raise ConfigError(_invalid(var, raw, "an integer >= %d" % minimum))
        return value

    return parse


def number(minimum: float) -> Callable[[str, str], float]:
    def parse(var: str, raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise ConfigError(_invalid(var, raw, "a number >= %s" % minimum)) from None
        if value < minimum or value != value:
            raise ConfigError(_invalid(var, raw, "a number >= %s" % minimum))
        return value

    return parse


def _invalid(var: str, raw: str, allowed: str) -> str:
    return "%s=%r is not valid; allowed values: %s" % (var, raw, allowed)


def _str(var: str, raw: str) -> str:
    return raw.strip()


def _path(var: str, raw: str) -> Path:
    return Path(raw.strip()).expanduser()


@dataclass(frozen=True)
class EngineConfig:
    """Toggles and sizes of the engine. Defaults are the guide's "Current" (baseline)."""

    # --- the guide's optimisations (baseline values by default) ---
    ir_cache_backend: str = "none"  # IR_CACHE_BACKEND: none|memory|redis|tiered
    ir_cache_ttl: float = 300.0  # IR_CACHE_TTL seconds
    ir_cache_size: int = 10000  # IR_CACHE_SIZE: entries in the in-process layer
    intent_cache_enabled: bool = False  # INTENT_CACHE_ENABLED
    intent_cache_size: int = 4096  # INTENT_CACHE_SIZE
    regex_precompile: bool = False  # REGEX_PRECOMPILE
    order_index: str = "scan"  # ORDER_INDEX: scan|hash
    faq_loading: str = "eager"  # FAQ_LOADING: eager|lazy
    faq_batch_size: int = 64  # FAQ_BATCH_SIZE: articles per lazily loaded batch
    faq_cache_batches: int = 16  # FAQ_CACHE_BATCHES: bound of the lazy batch cache
    concurrency_mode: str = "sync"  # CONCURRENCY_MODE: sync|async
    pooling: bool = False  # POOLING: shared Redis/SQLite/HTTP connections
    # REDIS_CLIENT: redis-py|pipelined|coredis|valkey-glide, the async mode's Redis client
    # (not in the guide; the sync mode always uses redis-py's blocking client)
    redis_client: str = "redis-py"
    # --- data ---
    data_dir: Path = field(default_factory=default_data_dir)  # PERFLAB_DATA_DIR
    seed: int = 42  # DATA_SEED
    n_products: int = 400  # PRODUCTS_COUNT
    n_customers: int = 8000  # CUSTOMERS_COUNT
    n_orders: int = 40000  # ORDERS_COUNT
    n_faq: int = 3000  # FAQ_ARTICLES
    # --- dependencies ---
    redis_url: str = "redis://127.0.0.1:6379/0"  # REDIS_URL
    redis_prefix: str = "perflab:"  # REDIS_PREFIX: namespaces every key
    redis_timeout: float = 0.25  # REDIS_TIMEOUT seconds (socket and connect)
    carrier_url: str = "http://127.0.0.1:8081"  # CARRIER_URL
    carrier_timeout: float = 2.0  # CARRIER_TIMEOUT seconds
    session_ttl: float = 1800.0  # SESSION_TTL seconds

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> EngineConfig:
        """Build the config from environment variables; unknown values raise ConfigError."""
        env = os.environ if environ is None else environ
        values: Dict[str, Any] = {}
        for name, (var, parse) in _ENV.items():
            raw = env.get(var)
            if raw is not None and raw.strip() != "":
                values[name] = parse(var, raw)
        return cls(**values)

    def replace(self, **changes: Any) -> EngineConfig:
        """A copy with some fields changed, validated like from_env."""
        merged = asdict(self)
        merged.update(changes)
        cfg = EngineConfig(**merged)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Check choice fields (from_env validates while parsing; direct construction does not)."""
        for name, (var, parse) in _ENV.items():
            value = getattr(self, name)
            if isinstance(value, str) and parse in _CHOICE_PARSERS:
                parse(var, value)

    def to_env(self) -> Dict[str, str]:
        """The environment variables that reproduce this config (for subprocesses)."""
        out: Dict[str, str] = {}
        for name, (var, _parse) in _ENV.items():
            value = getattr(self, name)
            if isinstance(value, bool):
                out[var] = "1" if value else "0"
            else:
                out[var] = str(value)
        return out

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready view, keyed by environment variable (what /api/config reports)."""
        out: Dict[str, Any] = {}
        for name, (var, _parse) in _ENV.items():
            value = getattr(self, name)
            out[var] = str(value) if isinstance(value, Path) else value
        return out

    @property
    def uses_redis(self) -> bool:
        return self.ir_cache_backend in ("redis", "tiered")


_CHOICE_PARSERS: List[Callable[[str, str], str]] = []  # parsers of closed value sets

_ENV: Dict[str, Tuple[str, Callable[[str, str], Any]]] = {}


def _register() -> None:
    backend = choice(CACHE_BACKENDS)
    mode = choice(CONCURRENCY_MODES)
    index = choice(ORDER_INDEXES)
    loading = choice(FAQ_LOADINGS)
    client = choice(REDIS_CLIENTS)
    _CHOICE_PARSERS.extend([backend, mode, index, loading, client])
    table = {
        "ir_cache_backend": ("IR_CACHE_BACKEND", backend),
        "ir_cache_ttl": ("IR_CACHE_TTL", number(0.001)),
        "ir_cache_size": ("IR_CACHE_SIZE", integer(1)),
        "intent_cache_enabled": ("INTENT_CACHE_ENABLED", parse_bool),
        "intent_cache_size": ("INTENT_CACHE_SIZE", integer(1)),
        "regex_precompile": ("REGEX_PRECOMPILE", parse_bool),
        "order_index": ("ORDER_INDEX", index),
        "faq_loading": ("FAQ_LOADING", loading),
        "faq_batch_size": ("FAQ_BATCH_SIZE", integer(1)),
        "faq_cache_batches": ("FAQ_CACHE_BATCHES", integer(1)),
        "concurrency_mode": ("CONCURRENCY_MODE", mode),
        "pooling": ("POOLING", parse_bool),
        "redis_client": ("REDIS_CLIENT", client),
        "data_dir": ("PERFLAB_DATA_DIR", _path),
        "seed": ("DATA_SEED", integer(0)),
        "n_products": ("PRODUCTS_COUNT", integer(10)),
        "n_customers": ("CUSTOMERS_COUNT", integer(10)),
        "n_orders": ("ORDERS_COUNT", integer(10)),
        "n_faq": ("FAQ_ARTICLES", integer(10)),
        "redis_url": ("REDIS_URL", _str),
        "redis_prefix": ("REDIS_PREFIX", _str),
        "redis_timeout": ("REDIS_TIMEOUT", number(0.001)),
        "carrier_url": ("CARRIER_URL", _str),
        "carrier_timeout": ("CARRIER_TIMEOUT", number(0.001)),
        "session_ttl": ("SESSION_TTL", number(1.0)),
    }
    names = {f.name for f in fields(EngineConfig)}
    assert set(table) == names, names ^ set(table)
    _ENV.update(table)


_register()

ENV_VARS: Tuple[str, ...] = tuple(var for var, _ in _ENV.values())
