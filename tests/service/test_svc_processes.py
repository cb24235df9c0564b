"""Real processes: python -m service, gunicorn workers, nginx in front, Redis killed mid-run.

Loopback only; no assertion depends on timing. Redis-backed tests skip when the
shared Redis (REDIS_URL) is not reachable; the Redis-kill test starts its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from engine.config import EngineConfig
from engine.datagen import DataSpec, sample_order_id
from perflab.scrape import scrape

from .svc_helpers import (
    REDIS_URL,
    REPO,
    SMALL_DATA,
    Proc,
    ServiceProc,
    delete_prefix,
    free_port,
    redis_available,
    wait_http,
    which,
)

MESSAGES = ["hello", "I want to cancel my order", "how do I get a refund?",
            "where is my parcel", "what payment methods do you accept", "thanks, bye"]

needs_redis = pytest.mark.skipif(not redis_available(), reason="no Redis at REDIS_URL")


def http(method: str, url: str, body: Optional[Dict[str, Any]] = None,
         headers: Optional[Dict[str, str]] = None) -> Tuple[int, Dict[str, str], bytes]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=dict(
        headers or {}, **({"Content-Type": "application/json"} if data else {})))
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def chat(base: str, session: str, message: str) -> Tuple[int, Dict[str, Any]]:
    status, _, raw = http("POST", base + "/api/chat", {"session_id": session, "message": message})
    return status, json.loads(raw)


def known_order(env: Dict[str, str]) -> str:
    return sample_order_id(DataSpec.from_config(EngineConfig.from_env(env)), 5)


def test_process_prints_toggles_and_reports_config(base_env: Dict[str, str],
                                                   log_dir: Path) -> None:
    env = dict(base_env, GZIP_ENABLED="1", EVENT_LOOP="uvloop", JSON_LIB="orjson",
               CONCURRENCY_MODE="async", POOLING="1")
    svc = ServiceProc(env, log_dir)
    try:
        status, _, raw = http("GET", svc.url + "/api/config")
        config = json.loads(raw)
        assert status == 200 and config["pid"] == svc.pid
        assert config["service"]["EVENT_LOOP"] == "uvloop"
        assert "uvloop" in config["event_loop_class"].lower()
        assert config["engine"]["CONCURRENCY_MODE"] == "async"
        for m in MESSAGES:
            assert chat(svc.url, "p", m)[0] == 200
    finally:
        rc = svc.stop()
    out = svc.stdout()
    assert "GZIP_ENABLED=True" in out and "JSON_LIB=orjson" in out and "POOLING=True" in out
    assert rc == 0  # SIGTERM is a clean shutdown (cleanup_ctx ran)


@pytest.mark.parametrize("mode,backend,client", [("sync", "redis", "redis-py"),
                                                 ("async", "tiered", "redis-py"),
                                                 ("async", "tiered", "pipelined"),
                                                 ("async", "tiered", "coredis"),
                                                 ("async", "tiered", "valkey-glide")])
def test_redis_blocked_then_killed_while_serving(base_env: Dict[str, str], log_dir: Path,
                                                 mode: str, backend: str, client: str) -> None:
    redis_server = which("redis-server")
    if redis_server is None:
        pytest.skip("redis-server not installed")
    port = free_port()
    redis = Proc([redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                  "--appendonly", "no"], dict(os.environ), log_dir, "redis")
    env = dict(base_env, IR_CACHE_BACKEND=backend, CONCURRENCY_MODE=mode, REDIS_CLIENT=client,
               REDIS_URL=f"redis://127.0.0.1:{port}/0", REDIS_TIMEOUT="0.1")
    svc: Optional[ServiceProc] = None
    statuses: List[int] = []
    try:
        import redis as redis_lib

        probe = redis_lib.Redis(port=port, socket_timeout=1)
        for _ in range(100):
            try:
                probe.ping()
                break
            except redis_lib.ConnectionError:
                time.sleep(0.05)
        svc = ServiceProc(env, log_dir)
        oid = known_order(env)
        assert json.loads(http("GET", svc.url + "/healthz")[2])["status"] == "ok"

        def burst(tag: str) -> None:
            for i, m in enumerate(MESSAGES + [oid, f"where is my order {oid}"]):
                statuses.append(chat(svc.url, f"{tag}-{i % 2}", m)[0])
            statuses.append(http("GET", f"{svc.url}/api/orders/{oid}")[0])
            statuses.append(http("GET", f"{svc.url}/api/faq/search?q=refund")[0])

        burst("up")
        os.kill(redis.pid, signal.SIGSTOP)  # Redis hangs: every call must time out, not hang
        burst("stopped")
        health = json.loads(http("GET", svc.url + "/healthz")[2])
        assert health["status"] == "degraded", health
        os.kill(redis.pid, signal.SIGKILL)  # Redis gone: connection refused
        burst("killed")
        status, _, raw = http("GET", svc.url + "/healthz")
        assert status == 200 and json.loads(raw)["status"] == "degraded"
        metrics = http("GET", svc.url + "/metrics")
        assert metrics[0] == 200
    finally:
        if svc is not None:
            svc.stop()
        redis.stop()
    assert statuses and all(s == 200 for s in statuses), statuses


@pytest.fixture(scope="module")
def instance_pair(data_dir: Path, carrier_url: str,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[List[ServiceProc]]:
    """Two ``python -m service`` processes sharing the real Redis (IR_CACHE_BACKEND=redis)."""
    if not redis_available():
        pytest.skip("no Redis at REDIS_URL")
    prefix = f"perflab-test-{uuid.uuid4().hex[:12]}:"
    env = dict(os.environ, **SMALL_DATA)
    env.update({"PERFLAB_DATA_DIR": str(data_dir), "CARRIER_URL": carrier_url,
                "REDIS_URL": REDIS_URL, "REDIS_PREFIX": prefix, "IR_CACHE_BACKEND": "redis",
                "CONCURRENCY_MODE": "async", "LOG_LEVEL": "WARNING", "ACCESS_LOG": "0"})
    logs = tmp_path_factory.mktemp("pair")
    procs: List[ServiceProc] = []
    try:
        procs.append(ServiceProc(env, logs, "instance-1"))
        procs.append(ServiceProc(env, logs, "instance-2"))
        yield procs
    finally:
        for p in procs:
            p.stop()
        delete_prefix(REDIS_URL, prefix)


def test_session_started_on_one_instance_finishes_on_another(
        instance_pair: List[ServiceProc], data_dir: Path) -> None:
    one, two = instance_pair
    oid = known_order(dict(SMALL_DATA, PERFLAB_DATA_DIR=str(data_dir)))
    session = f"x-{uuid.uuid4().hex[:8]}"
    status, first = chat(one.url, session, "I want to cancel my order")
    assert status == 200 and first["awaiting"] == "order_id"
    status, second = chat(two.url, session, oid)
    assert status == 200 and second["intent"] == "cancel_order"
    assert f"order:{oid}" in second["sources"] and second["awaiting"] is None


def render_nginx(prefix: Path, listen: str, upstreams: List[str], cache: bool = True) -> Path:
    conf = prefix / "nginx.conf"
    args = [sys.executable, str(REPO / "deploy" / "render_nginx.py"), "--listen", listen,
            "-o", str(conf)]
    for u in upstreams:
        args += ["--upstream", u]
    if not cache:
        args.append("--no-faq-cache")
    subprocess.run(args, check=True, timeout=30)
    return conf


def nginx_prefix() -> Path:
    # nginx workers drop to 'nobody' when started as root: the prefix must be traversable.
    path = Path(tempfile.mkdtemp(prefix="perflab-nginx-"))
    path.chmod(0o755)
    return path


@pytest.mark.parametrize("cache", [True, False])
def test_nginx_config_is_valid(cache: bool) -> None:
    nginx = which("nginx")
    if nginx is None:
        pytest.skip("nginx not installed")
    prefix = nginx_prefix()
    conf = render_nginx(prefix, f"127.0.0.1:{free_port()}", ["127.0.0.1:1", "127.0.0.1:2"],
                        cache)
    assert "${" not in conf.read_text()
    result = subprocess.run([nginx, "-t", "-p", f"{prefix}/", "-c", str(conf), "-e", "stderr"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_in_front_of_two_instances(instance_pair: List[ServiceProc],
                                         data_dir: Path) -> None:
    nginx = which("nginx")
    if nginx is None:
        pytest.skip("nginx not installed")
    prefix = nginx_prefix()
    port = free_port()
    conf = render_nginx(prefix, f"127.0.0.1:{port}",
                        [f"127.0.0.1:{p.port}" for p in instance_pair])
    proc = Proc([nginx, "-p", f"{prefix}/", "-c", str(conf), "-e", "stderr"],
                dict(os.environ), prefix, "nginx")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/healthz", 30, proc.popen)
        pids = {json.loads(http("GET", base + "/api/config")[2])["pid"] for _ in range(4)}
        assert pids == {p.pid for p in instance_pair}  # round-robin over both
        # a dialogue through the balancer: turns land on different instances
        oid = known_order(dict(SMALL_DATA, PERFLAB_DATA_DIR=str(data_dir)))
        session = f"lb-{uuid.uuid4().hex[:8]}"
        assert chat(base, session, "I want to cancel my order")[1]["awaiting"] == "order_id"
        status, reply = chat(base, session, oid)
        assert status == 200 and f"order:{oid}" in reply["sources"]
        # the "CDN": the second GET of an article is served by nginx's cache
        first = http("GET", base + "/api/faq/3")
        second = http("GET", base + "/api/faq/3")
        assert first[0] == second[0] == 200 and first[2] == second[2]
        assert first[1]["X-Cache-Status"] == "MISS" and second[1]["X-Cache-Status"] == "HIT"
        assert second[1]["ETag"] == first[1]["ETag"]
        status, _, raw = http("POST", base + "/api/chat", {"pad": "x" * 2_000_000})
        assert status == 413 and json.loads(raw)["error"] == "payload_too_large"
    finally:
        proc.stop()


def test_gunicorn_with_two_aiohttp_workers(base_env: Dict[str, str], log_dir: Path) -> None:
    import psutil  # gunicorn and psutil are dependencies: this test runs, never skips
    port = free_port()
    env = dict(base_env, GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2",
               CONCURRENCY_MODE="async")
    proc = Proc([sys.executable, "-m", "gunicorn", "service.wsgi:app_factory", "-c",
                 "deploy/gunicorn.conf.py"], env, log_dir, "gunicorn")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/healthz", 60, proc.popen)
        for _ in range(100):  # both workers booted (each builds its own Bot)
            if len(psutil.Process(proc.pid).children()) == 2:
                break
            time.sleep(0.1)
        workers = {c.pid for c in psutil.Process(proc.pid).children()}
        assert len(workers) == 2
        seen = set()
        for i in range(12):
            assert chat(base, f"g-{i}", MESSAGES[i % len(MESSAGES)])[0] == 200
            seen.add(json.loads(http("GET", base + "/api/config")[2])["pid"])
        assert seen <= workers
        assert "perflab service (gunicorn, 2 workers" in proc.stdout()
        # prometheus_client's multiprocess mode: one scrape (reaching one worker) counts
        # every worker's requests; go on until both workers have answered, so that the
        # check means something
        sent = 12
        while len(seen) < 2 and sent < 200:
            assert chat(base, f"g-{sent}", MESSAGES[sent % len(MESSAGES)])[0] == 200
            seen.add(json.loads(http("GET", base + "/api/config")[2])["pid"])
            sent += 1
        assert len(seen) == 2
        assert scrape(base).requests.get(("/api/chat", "POST", "200")) == sent
    finally:
        proc.stop()
