from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import ENV_VARS, ConfigError, EngineConfig


def test_defaults_are_the_guides_baseline() -> None:
    cfg = EngineConfig.from_env({})
    assert cfg.ir_cache_backend == "none"
    assert cfg.intent_cache_enabled is False
    assert cfg.regex_precompile is False
    assert cfg.order_index == "scan"
    assert cfg.faq_loading == "eager"
    assert cfg.concurrency_mode == "sync"
    assert cfg.pooling is False


def test_from_env_parses_every_kind_of_value() -> None:
    cfg = EngineConfig.from_env({
        "IR_CACHE_BACKEND": "Tiered", "IR_CACHE_TTL": "12.5", "INTENT_CACHE_ENABLED": "yes",
        "INTENT_CACHE_SIZE": "128", "REGEX_PRECOMPILE": "1", "ORDER_INDEX": "hash",
        "FAQ_LOADING": "lazy", "FAQ_BATCH_SIZE": "32", "CONCURRENCY_MODE": "async",
        "POOLING": "on", "PERFLAB_DATA_DIR": "/tmp/x", "DATA_SEED": "7",
    })
    assert cfg.ir_cache_backend == "tiered"
    assert cfg.ir_cache_ttl == 12.5
    assert cfg.intent_cache_enabled and cfg.intent_cache_size == 128
    assert cfg.regex_precompile and cfg.pooling
    assert (cfg.order_index, cfg.faq_loading, cfg.faq_batch_size) == ("hash", "lazy", 32)
    assert cfg.concurrency_mode == "async"
    assert cfg.data_dir == Path("/tmp/x") and cfg.seed == 7
    assert cfg.uses_redis


@pytest.mark.parametrize("var,value,needle", [
    ("IR_CACHE_BACKEND", "memcached", "none, memory, redis, tiered"),
    ("CONCURRENCY_MODE", "threads", "sync, async"),
    ("ORDER_INDEX", "btree", "scan, hash"),
    ("FAQ_LOADING", "mmap", "eager, lazy"),
    ("POOLING", "maybe", "true"),
    ("INTENT_CACHE_SIZE", "lots", "an integer"),
    ("INTENT_CACHE_SIZE", "0", ">= 1"),
    ("IR_CACHE_TTL", "-1", ">="),
])
def test_bad_values_name_the_variable_and_the_allowed_values(
        var: str, value: str, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        EngineConfig.from_env({var: value})
    assert var in str(err.value)
    assert needle in str(err.value)


def test_env_round_trip() -> None:
    cfg = EngineConfig.from_env({"IR_CACHE_BACKEND": "redis", "POOLING": "1",
                                 "FAQ_LOADING": "lazy"})
    env = cfg.to_env()
    assert set(env) == set(ENV_VARS)
    assert EngineConfig.from_env(env) == cfg
    assert cfg.to_dict()["IR_CACHE_BACKEND"] == "redis"


def test_replace_validates() -> None:
    cfg = EngineConfig()
    assert cfg.replace(order_index="hash").order_index == "hash"
    with pytest.raises(ConfigError):
        cfg.replace(order_index="btree")
