"""Property-based requests (schemathesis) from /openapi.json against a real process.

Asserts what the issue asks: no 5xx, and every response conforms to the document
(documented status, content type and schema).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from .svc_helpers import SMALL_DATA, ServiceProc

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def api_process(data_dir: Path, carrier_url: str,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProc]:
    env = dict(os.environ, **SMALL_DATA)
    env.update({"PERFLAB_DATA_DIR": str(data_dir), "CARRIER_URL": carrier_url,
                "BATCHING": "1", "CONCURRENCY_MODE": "async", "IR_CACHE_BACKEND": "memory",
                "INTENT_CACHE_ENABLED": "1", "LOG_LEVEL": "WARNING", "ACCESS_LOG": "0"})
    proc = ServiceProc(env, tmp_path_factory.mktemp("openapi"), "openapi-service")
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def api_schema(api_process: ServiceProc) -> Any:
    return schemathesis.openapi.from_url(api_process.url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True)
def test_api_conforms_to_openapi(case: Any, api_process: ServiceProc) -> None:
    case.call_and_validate(base_url=api_process.url, checks=CHECKS)
