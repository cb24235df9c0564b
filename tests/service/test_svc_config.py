"""ServiceConfig: one object from the environment, clear errors, exit status 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from service.config import SERVICE_ENV_VARS, ConfigError, ServiceConfig

from .svc_helpers import REPO


def test_defaults_are_the_baseline() -> None:
    cfg = ServiceConfig.from_env({})
    assert (cfg.gzip_enabled, cfg.rate_limit_enabled, cfg.log_level, cfg.access_log,
            cfg.batching, cfg.event_loop, cfg.json_lib) == (
        False, False, "DEBUG", True, False, "asyncio", "stdlib")
    assert cfg.engine.concurrency_mode == "sync"


def test_optimised_values_parse() -> None:
    cfg = ServiceConfig.from_env({
        "GZIP_ENABLED": "on", "RATE_LIMIT_RPS": "50", "RATE_LIMIT_BURST": "10",
        "LOG_LEVEL": "warning", "ACCESS_LOG": "0", "BATCHING": "yes", "EVENT_LOOP": "uvloop",
        "JSON_LIB": "orjson", "CONCURRENCY_MODE": "async", "MAX_BODY_BYTES": "4096"})
    assert cfg.gzip_enabled and cfg.batching and not cfg.access_log
    assert (cfg.rate_limit_rps, cfg.effective_burst, cfg.log_level) == (50.0, 10, "WARNING")
    assert (cfg.event_loop, cfg.json_lib, cfg.max_body_bytes) == ("uvloop", "orjson", 4096)
    assert cfg.engine.concurrency_mode == "async"


def test_burst_defaults_to_one_second_of_tokens() -> None:
    assert ServiceConfig.from_env({"RATE_LIMIT_RPS": "2.5"}).effective_burst == 3
    assert ServiceConfig.from_env({"RATE_LIMIT_RPS": "off"}).rate_limit_enabled is False


@pytest.mark.parametrize("var,value,allowed", [
    ("GZIP_ENABLED", "maybe", "on"),
    ("EVENT_LOOP", "trio", "asyncio, uvloop"),
    ("JSON_LIB", "ujson", "stdlib, orjson"),
    ("LOG_LEVEL", "loud", "DEBUG"),
    ("RATE_LIMIT_RPS", "fast", "positive number"),
    ("MAX_BODY_BYTES", "-1", "integer"),
    ("IR_CACHE_BACKEND", "memcached", "none, memory, redis, tiered"),
])
def test_bad_values_name_the_variable_and_allowed_values(var: str, value: str,
                                                         allowed: str) -> None:
    with pytest.raises(ConfigError) as info:
        ServiceConfig.from_env({var: value})
    assert var in str(info.value) and allowed in str(info.value)


def test_to_dict_is_keyed_by_variable() -> None:
    d = ServiceConfig.from_env({}).to_dict()
    assert set(d) == set(SERVICE_ENV_VARS)
    env = ServiceConfig.from_env({"BATCHING": "1"}).to_env()
    assert ServiceConfig.from_env(env) == ServiceConfig.from_env({"BATCHING": "1"})


def test_cli_exits_2_on_unknown_toggle() -> None:
    proc = subprocess.run([sys.executable, "-m", "service", "--port", "1"], cwd=str(REPO),
                          env={"PATH": "/usr/bin:/bin", "EVENT_LOOP": "tornado"},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "EVENT_LOOP" in proc.stderr and "asyncio, uvloop" in proc.stderr


def test_cli_prints_effective_toggles() -> None:
    proc = subprocess.run([sys.executable, "-m", "service", "--print-config"], cwd=str(REPO),
                          env={"PATH": "/usr/bin:/bin", "GZIP_ENABLED": "1",
                               "CONCURRENCY_MODE": "async"},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "GZIP_ENABLED=True" in proc.stdout and "CONCURRENCY_MODE=async" in proc.stdout
    assert "EVENT_LOOP=asyncio" in proc.stdout


@pytest.mark.parametrize("var", ["INJECT_LATENCY_MS", "INJECT_CPU_MS", "INJECT_RSS_MB"])
@pytest.mark.parametrize("value", ["-1", "fast", "nan", "inf"])
def test_bad_injection_amounts_name_the_variable(var: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        ServiceConfig.from_env({var: value})
    assert var in str(info.value) and "a number >= 0" in str(info.value)


def test_injections_are_off_by_default_and_read_once() -> None:
    assert not ServiceConfig.from_env({}).injecting
    cfg = ServiceConfig.from_env({"INJECT_LATENCY_MS": "1.5", "INJECT_CPU_MS": "off",
                                  "INJECT_RSS_MB": "20"})
    assert (cfg.inject_latency_ms, cfg.inject_cpu_ms, cfg.inject_rss_mb) == (1.5, 0.0, 20.0)
    assert cfg.injecting
    assert cfg.to_dict()["INJECT_LATENCY_MS"] == 1.5
    assert ServiceConfig.from_env(cfg.to_env()) == cfg
