"""The service's one configuration object, built once from the environment.

``ServiceConfig.from_env()`` reads the service's own toggles and embeds
``EngineConfig.from_env()``, so a process has exactly one place where
``os.environ`` is read. Defaults are the guide's "Current" (baseline).
Python 3.9-compatible (the PyPy toggle runs this code).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from engine.config import FALSE, ConfigError, EngineConfig, choice, integer, parse_bool

EVENT_LOOPS = ("asyncio", "uvloop")
JSON_LIBS = ("stdlib", "orjson")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

__all__ = ["EVENT_LOOPS", "JSON_LIBS", "LOG_LEVELS", "SERVICE_ENV_VARS", "ConfigError",
           "ServiceConfig"]


_RATE_ALLOWED = "off, 0 or a positive number of requests per second"


def _off_or_number(var: str, raw: str, allowed: str) -> float:
    """``off``/``0`` is 0.0, else a finite number >= 0; a bad value names ``allowed``."""
    value = raw.strip().lower()
    if value in FALSE:
        return 0.0
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{var}={raw!r} is not valid; allowed values: {allowed}") from None
    if number < 0 or math.isnan(number) or math.isinf(number):
        raise ConfigError(f"{var}={raw!r} is not valid; allowed values: {allowed}")
    return number


def _rate(var: str, raw: str) -> float:
    """RATE_LIMIT_RPS: ``off``/``0`` disables the limiter, else a positive number."""
    return _off_or_number(var, raw, _RATE_ALLOWED)


def _amount(var: str, raw: str) -> float:
    """A calibration amount (INJECT_*): a number >= 0; 0 or off = no injection."""
    return _off_or_number(var, raw, "a number >= 0 (0 or off = no injection)")


def _seconds(var: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(
            f"{var}={raw!r} is not valid; allowed values: a number of seconds > 0") from None
    if not value > 0 or math.isinf(value):
        raise ConfigError(f"{var}={raw!r} is not valid; allowed values: a number of seconds > 0")
    return value


# field name -> (environment variable, parser)
_ENV: Dict[str, Tuple[str, Callable[[str, str], Any]]] = {
    "gzip_enabled": ("GZIP_ENABLED", parse_bool),
    "rate_limit_rps": ("RATE_LIMIT_RPS", _rate),
    "rate_limit_burst": ("RATE_LIMIT_BURST", integer(0)),
    "log_level": ("LOG_LEVEL", choice(LOG_LEVELS, upper=True)),
    "access_log": ("ACCESS_LOG", parse_bool),
    "batching": ("BATCHING", parse_bool),
    "event_loop": ("EVENT_LOOP", choice(EVENT_LOOPS)),
    "json_lib": ("JSON_LIB", choice(JSON_LIBS)),
    "max_body_bytes": ("MAX_BODY_BYTES", integer(256)),
    "max_message_chars": ("MAX_MESSAGE_CHARS", integer(1)),
    "max_batch_messages": ("MAX_BATCH_MESSAGES", integer(1)),
    "loop_lag_interval": ("LOOP_LAG_INTERVAL", _seconds),
    "inject_latency_ms": ("INJECT_LATENCY_MS", _amount),
    "inject_cpu_ms": ("INJECT_CPU_MS", _amount),
    "inject_rss_mb": ("INJECT_RSS_MB", _amount),
    # prometheus_client's own variable (it reads it too, at import): gunicorn's workers
    # share their metrics through files in this folder
    "metrics_multiproc_dir": ("PROMETHEUS_MULTIPROC_DIR", lambda var, raw: raw.strip()),
}

SERVICE_ENV_VARS: Tuple[str, ...] = tuple(var for var, _ in _ENV.values())


@dataclass(frozen=True)
class ServiceConfig:
    """Service toggles plus the engine's config; defaults are the baseline ("Current")."""

    engine: EngineConfig = field(default_factory=EngineConfig)
    gzip_enabled: bool = False  # GZIP_ENABLED
    rate_limit_rps: float = 0.0  # RATE_LIMIT_RPS: 0 = limiter off
    rate_limit_burst: int = 0  # RATE_LIMIT_BURST: 0 = max(1, ceil(rps))
    log_level: str = "DEBUG"  # LOG_LEVEL
    access_log: bool = True  # ACCESS_LOG
    batching: bool = False  # BATCHING: POST /api/chat/batch answers 404 when off
    event_loop: str = "asyncio"  # EVENT_LOOP: asyncio|uvloop
    json_lib: str = "stdlib"  # JSON_LIB: stdlib|orjson
    max_body_bytes: int = 64 * 1024  # MAX_BODY_BYTES: larger bodies get 413
    max_message_chars: int = 2000  # MAX_MESSAGE_CHARS: longer messages get 400
    max_batch_messages: int = 50  # MAX_BATCH_MESSAGES: longer batches get 400
    loop_lag_interval: float = 0.1  # LOOP_LAG_INTERVAL seconds between lag probes
    # known-effect calibration (service/inject.py; not in the guide): what the lab must
    # recover. Per request, except internal paths: awaited sleep of INJECT_LATENCY_MS,
    # busy thread CPU of INJECT_CPU_MS; INJECT_RSS_MB megabytes (10^6 B) held from start-up
    inject_latency_ms: float = 0.0
    inject_cpu_ms: float = 0.0
    inject_rss_mb: float = 0.0
    metrics_multiproc_dir: str = ""  # PROMETHEUS_MULTIPROC_DIR: "" = one process's metrics

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> ServiceConfig:
        """Read every toggle once; a bad value raises ConfigError naming the variable."""
        env = os.environ if environ is None else environ
        values: Dict[str, Any] = {"engine": EngineConfig.from_env(env)}
        for name, (var, parse) in _ENV.items():
            raw = env.get(var)
            if raw is not None and raw.strip() != "":
                values[name] = parse(var, raw)
        return cls(**values)

    @property
    def injecting(self) -> bool:
        """Whether any known-effect injection is on (else service/inject.py installs nothing)."""
        return self.inject_latency_ms > 0 or self.inject_cpu_ms > 0 or self.inject_rss_mb > 0

    @property
    def rate_limit_enabled(self) -> bool:
        return self.rate_limit_rps > 0

    @property
    def effective_burst(self) -> int:
        """Bucket capacity: RATE_LIMIT_BURST, or one second's worth of tokens."""
        if self.rate_limit_burst > 0:
            return self.rate_limit_burst
        return max(1, math.ceil(self.rate_limit_rps))

    def to_dict(self) -> Dict[str, Any]:
        """The service's own toggles keyed by environment variable (for /api/config)."""
        out: Dict[str, Any] = {}
        for name, (var, _parse) in _ENV.items():
            out[var] = getattr(self, name)
        out["RATE_LIMIT_BURST"] = self.effective_burst if self.rate_limit_enabled else 0
        return out

    def to_env(self) -> Dict[str, str]:
        """Environment variables reproducing this config (engine's included)."""
        out = self.engine.to_env()
        for name, (var, _parse) in _ENV.items():
            value = getattr(self, name)
            out[var] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return out

    def describe(self) -> str:
        """The effective toggle set, one ``VAR=value`` per line (printed at start-up)."""
        merged: Dict[str, Any] = dict(self.engine.to_dict())
        merged.update(self.to_dict())
        return "\n".join(f"{k}={merged[k]}" for k in sorted(merged))
