"""Bad input to a real ``python -m service``: one line and an exit code, JSON errors, no
traceback in the log.

aiohttp's parser refuses request lines over 8190 bytes with a plain-text 400 and an
ERROR traceback; the service answers in its own JSON shape instead (service.server).
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from .svc_helpers import REPO, ServiceProc

pytestmark = pytest.mark.slow


def _get(port: int, path: str, headers: Dict[str, str] | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type", ""), resp.read()
    finally:
        conn.close()


def test_over_long_url_and_header_get_json_and_no_traceback(base_env: Dict[str, str],
                                                            log_dir: Path) -> None:
    svc = ServiceProc(base_env, log_dir)
    try:
        for size, status in ((9000, 414), (70000, 414)):
            code, ctype, body = _get(svc.port, "/api/faq/" + "1" * size)
            assert (code, ctype) == (status, "application/json"), body[:200]
            err = json.loads(body)
            assert err["error"] == "uri_too_long" and "bytes" in err["detail"]
        code, ctype, body = _get(svc.port, "/healthz", {"X-Big": "a" * 9000})
        assert (code, ctype) == (431, "application/json")
        assert json.loads(body)["error"] == "headers_too_large"
        # a request line the parser cannot read at all: the same JSON shape
        with socket.create_connection(("127.0.0.1", svc.port), timeout=15) as s:
            s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            raw = s.recv(65536)
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.") and b" 400 " in head.split(b"\r\n")[0]
        assert b"Content-Type: application/json" in head
        assert json.loads(body)["error"] == "bad_request"
        assert _get(svc.port, "/healthz")[0] == 200  # still serving
    finally:
        svc.stop()
    log = svc.stderr()
    assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
    assert "refused a request" in log


def test_a_busy_port_is_one_line_and_exit_3(base_env: Dict[str, str], log_dir: Path) -> None:
    svc = ServiceProc(base_env, log_dir)
    try:
        out = subprocess.run([sys.executable, "-m", "service", "--port", str(svc.port)],
                             env=base_env, cwd=REPO, capture_output=True, text=True,
                             timeout=120)
    finally:
        svc.stop()
    assert out.returncode == 3
    assert out.stderr.strip().splitlines()[-1] == (
        "python -m service: cannot listen on 127.0.0.1:%d: address already in use" % svc.port)
    assert "Traceback" not in out.stderr


def test_a_port_out_of_range_is_exit_2(base_env: Dict[str, str]) -> None:
    out = subprocess.run([sys.executable, "-m", "service", "--port", "99999"], env=base_env,
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1] == (
        "python -m service: error: argument --port: a TCP port is 0..65535, got 99999")
