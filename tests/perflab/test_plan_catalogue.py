from __future__ import annotations

from pathlib import Path

import pytest

from perflab.catalogue import CATALOGUE, baseline_env, format_catalogue, optimised_env
from perflab.machine import Capabilities
from perflab.plan import FULL, QUICK, load_plan
from perflab.results import ROW_COLUMNS, CsvAppender, Row, RunMeta, read_rows
from perflab.variants import resolve

DESIGN_VARIABLES = {"IR_CACHE_BACKEND", "INTENT_CACHE_ENABLED", "CONCURRENCY_MODE",
                    "ORDER_INDEX", "REGEX_PRECOMPILE", "FAQ_LOADING", "INTERPRETER",
                    "INSTANCES", "GZIP_ENABLED", "RATE_LIMIT_RPS", "LOG_LEVEL", "POOLING",
                    "BATCHING"}


def test_catalogue_covers_every_toggle_of_the_design() -> None:
    variables = {var for t in CATALOGUE for var in t.baseline}
    assert variables >= DESIGN_VARIABLES
    claims = {t.name: t.claim for t in CATALOGUE if t.claim}
    assert claims["redis_cache"].text == "30-40% lower latency"
    assert claims["async"].improvement_range() == (3.0, 5.0)
    assert claims["lazy_faq"].lower_is_better
    lines = format_catalogue()
    assert "redis_cache" in lines[2] and "30-40% lower latency" in "\n".join(lines)


def test_variants_resolve_to_environments() -> None:
    base = resolve("baseline")
    assert base.env == baseline_env() and base.needs == ()
    plus = resolve("+order_index")
    assert {k for k in plus.env if plus.env[k] != base.env[k]} == {"ORDER_INDEX"}
    assert plus.compare_to == "baseline" and plus.toggle == "order_index"
    opt = resolve("optimised")
    assert opt.env == optimised_env() and opt.env["CONCURRENCY_MODE"] == "async"
    assert opt.env["INTERPRETER"] == "cpython"
    loo = resolve("optimised-async")
    assert loo.env["CONCURRENCY_MODE"] == "sync" and loo.compare_to == "optimised"
    aa = resolve("baseline@aa")
    assert aa.kind == "aa" and aa.env == base.env and aa.compare_to == "baseline"
    assert resolve("+redis_cache:tiered").env["IR_CACHE_BACKEND"] == "tiered"
    assert resolve("+instances").needs == ("redis", "cores>=3")
    assert resolve("+instances").compare_to == "+redis_cache"


def test_a_toggle_that_needs_others_is_compared_with_its_twin() -> None:
    # REDIS_CLIENT acts only with a Redis backend in async mode: +redis_client brings
    # those along and is compared with the same variant on redis-py, not with baseline.
    plus = resolve("+redis_client")
    twin = resolve(plus.compare_to or "")
    assert plus.env["REDIS_CLIENT"] == "pipelined" and twin.env["REDIS_CLIENT"] == "redis-py"
    assert {k for k in plus.env if plus.env[k] != twin.env[k]} == {"REDIS_CLIENT"}
    assert (plus.env["IR_CACHE_BACKEND"], plus.env["CONCURRENCY_MODE"]) == ("redis", "async")
    assert plus.needs == ("redis",) and twin.compare_to == "baseline"
    # ...but what it requires never leaks into "optimised" or its leave-one-outs
    assert resolve("optimised-redis_cache").env["IR_CACHE_BACKEND"] == "none"
    assert resolve("optimised-async").env["CONCURRENCY_MODE"] == "sync"
    assert resolve("optimised").env["REDIS_CLIENT"] == "pipelined"
    assert resolve("optimised-redis_client").env["REDIS_CLIENT"] == "redis-py"
    assert plus.compare_to in FULL.variants


@pytest.mark.parametrize("name", ["+nonsense", "fastest", "optimised-nothing",
                                  "+redis_cache:memcached"])
def test_unknown_variants_are_clear_errors(name: str) -> None:
    with pytest.raises(KeyError) as err:
        resolve(name)
    assert "redis_cache" in str(err.value) or "alternative" in str(err.value)


def test_locust_rows_merge_routes_and_read_percentiles_from_buckets() -> None:
    from perflab.closed import locust_row
    from perflab.results import Row

    base = Row("r", "baseline", 1, "locust", "closed", "Locust mix", "ok", target_rate=10)
    entries = [
        {"name": "/api/chat", "num_requests": 90, "num_failures": 2, "start_time": 100.0,
         "last_request_timestamp": 110.0, "total_response_time": 900.0,
         "response_times": {"5.0": 50, "8.0": 40}},
        {"name": "/api/faq/search", "num_requests": 10, "num_failures": 0,
         "start_time": 100.5, "last_request_timestamp": 109.0, "total_response_time": 400.0,
         "response_times": {"40": 9, "300": 1}},
    ]
    meta = {"cpu_percent": 37.25, "generator_saturated": True,
            "saturation_reasons": ["Locust cpu_warning (>90% CPU) in a worker"]}
    row = locust_row(base, entries, meta)
    assert (row.requests, row.errors, row.ok, row.duration_s) == (100, 2, 98, 10.0)
    assert row.error_rate == 0.02 and row.achieved_rate == 10.0 and row.throughput_rps == 9.8
    # 100 samples: 50 at 5 ms, 40 at 8 ms, 9 at 40 ms, 1 at 300 ms
    assert (row.p50_ms, row.p90_ms, row.p95_ms, row.p99_ms, row.max_ms) == (
        5.0, 8.0, 40.0, 40.0, 300.0)
    assert row.mean_ms == 13.0 and row.generator_cpu_pct == 37.2
    assert row.generator_saturated and "worker" in row.saturation_reasons
    empty = locust_row(base, [], {})
    assert empty.requests == 0 and empty.p50_ms is None and empty.throughput_rps == 0.0


def test_builtin_plans_are_valid_and_bounded() -> None:
    for plan in (QUICK, FULL):
        plan.validate()
    assert QUICK.estimate_s() < FULL.estimate_s() <= 30 * 60
    assert "baseline@aa" in QUICK.variants and "optimised" in QUICK.variants
    assert any(v.startswith("optimised-") for v in FULL.variants)


def test_toml_plan_and_its_errors(tmp_path: Path) -> None:
    f = tmp_path / "p.toml"
    f.write_text('variants = ["baseline", "+gzip"]\nrates = [5, 10]\nreference_rate = 10\n'
                 'repeats = 3\n[capacity]\nenabled = false\n')
    plan = load_plan(str(f))
    assert plan.name == "p" and plan.rates == (5.0, 10.0) and plan.repeats == 3
    assert not plan.capacity.enabled and not plan.wants_capacity("baseline")
    f.write_text('variants = ["baseline"]\nrate = 5\n')
    with pytest.raises(ValueError, match="unknown plan keys: rate"):
        load_plan(str(f))
    f.write_text('variants = ["+turbo"]\n')
    with pytest.raises(KeyError, match="turbo"):
        load_plan(str(f))
    f.write_text('variants = ["baseline", "+gzip"]\nlocust_users = 10\n'
                 'locust_for = ["+gzip"]\n')
    plan = load_plan(str(f))
    assert plan.wants_locust("+gzip") and not plan.wants_locust("baseline")
    assert plan.to_dict()["locust_for"] == ["+gzip"]
    f.write_text('variants = ["baseline"]\nlocust_users = 10\nlocust_wait = "sometimes"\n')
    with pytest.raises(ValueError, match="locust_wait"):
        load_plan(str(f))
    f.write_text("variants = [\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_plan(str(f))
    with pytest.raises(ValueError, match="no plan named"):
        load_plan("nope")


def test_capabilities_explain_what_is_missing() -> None:
    caps = Capabilities(None, "no Redis at x", None, "pypy3 is not installed", 2)
    assert caps.unmet(("redis", "pypy", "cores>=3")) == [
        "no Redis at x", "pypy3 is not installed",
        "needs 3 CPUs (one per instance plus one for the load generator); this machine "
        "lets the lab use 2"]
    assert Capabilities("redis://x", "", Path("/p"), "", 4).unmet(("redis", "cores>=3")) == []


def test_rows_round_trip_through_csv(tmp_path: Path) -> None:
    out = CsvAppender(tmp_path / "results.csv", ROW_COLUMNS)
    row = Row("r", "+gzip", 2, "fixed_rate", "open", "POST /api/chat", "ok", target_rate=20,
              p95_ms=12.5, generator_saturated=True, errors_by_kind='{"http_500": 1}')
    out.append(row)
    out.close()
    (back,) = read_rows(tmp_path)
    assert back == row and back.p50_ms is None
    meta = RunMeta("r", 1.0, {"name": "x"}, 3, {"cpu_count": 2})
    meta.save(tmp_path)
    assert RunMeta.load(tmp_path) == meta
