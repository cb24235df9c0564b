"""The ``pyspy`` tool: sample the real service under open-loop load, write a flame graph.

The in-process tools see the engine alone; this one sees what a request costs in
the running service (aiohttp, middlewares, JSON, logging, the carrier call), by
sampling it from outside with py-spy, so the service runs unmodified and at
nearly full speed. Steps: start the carrier and the service (variant env +
CARRIER_URL) on free loopback ports, wait for GET /healthz, then run
``py-spy record --pid`` and ``python -m loadtests.openloop`` side by side.
Every process started here is stopped on the way out, on errors and Ctrl-C too.

py-spy is optional: without it the tool says how to install it and returns a
result marked skipped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from perflab.procs import free_port

from .context import REPO_ROOT, ProfileContext, delete_redis_prefix, write_json

INSTALL_HINT = "py-spy is not installed: `pip install py-spy` to use --tool pyspy"
DEFAULT_RATE = 100.0  # requests/s: well below capacity, so the profile is of work, not queues
MIN_DURATION_S = 3.0
MAX_DURATION_S = 300.0
READY_TIMEOUT_S = 180.0  # first start may generate the data set


def pyspy_path() -> Optional[str]:
    """The py-spy executable, or None when it is not installed."""
    found = shutil.which("py-spy")
    if found:
        return found
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.is_file() else None


def service_env(ctx: ProfileContext, carrier_url: str) -> Dict[str, str]:
    """The service's environment: this one without engine variables, then the variant.

    Engine variables already in this shell are dropped so the service sees exactly the
    configuration the in-process tools profile (``config.to_env()``), plus the
    service-level toggles of the variant (JSON_LIB, LOG_LEVEL, ...).
    """
    from engine.config import ENV_VARS

    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env.update(ctx.env)
    env.update(ctx.config.to_env())
    env["CARRIER_URL"] = carrier_url
    parts = [str(REPO_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


@contextlib.contextmanager
def started(cmd: List[str], env: Dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A child in its own process group, stopped (TERM, then KILL) however we leave."""
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, cwd=str(REPO_ROOT), env=env, stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield proc
        finally:
            stop(proc)


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Terminate a child started by :func:`started` and its process group."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(grace)


def wait_healthy(url: str, proc: subprocess.Popen, log: Path,
                 timeout: float = READY_TIMEOUT_S) -> None:
    """Poll GET url until 200; fail early if the process died, naming its log."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError("%r exited with %s before answering %s; log:\n%s"
                               % (proc.args, proc.returncode, url, _tail(log)))
        try:
            with urllib.request.urlopen(url, timeout=2.0) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("%s did not answer 200 within %.0f s; log:\n%s"
                               % (url, timeout, _tail(log)))
        time.sleep(0.2)


def _tail(path: Path, n: int = 3000) -> str:
    try:
        return path.read_bytes()[-n:].decode("utf-8", "replace")
    except OSError:
        return "(no log)"


def run(ctx: ProfileContext, rate: float = DEFAULT_RATE) -> Dict[str, Any]:
    """Sample the service for ``messages / rate`` seconds under that arrival rate."""
    exe = pyspy_path()
    json_file = ctx.path("pyspy.json")
    if exe is None:
        ctx.progress(INSTALL_HINT)
        write_json(json_file, {"tool": "pyspy", **ctx.metadata(), "skipped": True,
                               "reason": INSTALL_HINT})
        return {"paths": (json_file,), "summary": INSTALL_HINT, "skipped": True}
    duration = min(MAX_DURATION_S, max(MIN_DURATION_S, ctx.messages / rate))
    svg = ctx.path("pyspy.svg")
    logs = {name: ctx.path("pyspy_%s.log" % name)
            for name in ("carrier", "service", "openloop", "pyspy")}
    load_json = ctx.path("pyspy_openloop.json")
    carrier_port, service_port = free_port(), free_port()
    carrier_url = "http://127.0.0.1:%d" % carrier_port
    service_url = "http://127.0.0.1:%d" % service_port
    py = sys.executable
    env = service_env(ctx, carrier_url)
    try:
        with contextlib.ExitStack() as stack:
            ctx.progress("pyspy: starting the carrier and the service (%s)" % ctx.variant_name)
            carrier = stack.enter_context(started(
                [py, "-m", "service.carrier", "--port", str(carrier_port)], env,
                logs["carrier"]))
            service = stack.enter_context(started(
                [py, "-m", "service", "--host", "127.0.0.1", "--port", str(service_port)],
                env, logs["service"]))
            wait_healthy(carrier_url + "/healthz", carrier, logs["carrier"])
            wait_healthy(service_url + "/healthz", service, logs["service"])
            ctx.progress("pyspy: sampling pid %d for %.0f s at %.0f requests/s"
                         % (service.pid, duration, rate))
            spy = stack.enter_context(started(
                [exe, "record", "-o", str(svg), "--pid", str(service.pid), "--duration",
                 "%d" % max(1, round(duration)), "--format", "flamegraph"], env, logs["pyspy"]))
            load = stack.enter_context(started(
                [py, "-m", "loadtests.openloop", "--url", service_url, "--rate", "%g" % rate,
                 "--duration", "%g" % duration, "--quiet", "--json", str(load_json),
                 "--data-seed", str(ctx.config.seed)], env, logs["openloop"]))
            deadline = time.monotonic() + duration + 60.0
            for proc in (load, spy):
                proc.wait(max(1.0, deadline - time.monotonic()))
            spy_rc = spy.returncode
            load_rc = load.returncode
    finally:
        if ctx.config.uses_redis:
            delete_redis_prefix(ctx.config.redis_url, ctx.config.redis_prefix)
    if spy_rc != 0 or not svg.is_file():
        reason = "py-spy record failed (exit %s): %s" % (spy_rc, _tail(logs["pyspy"], 800))
        ctx.note(reason)
        write_json(json_file, {"tool": "pyspy", **ctx.metadata(), "skipped": True,
                               "reason": reason})
        return {"paths": (json_file, logs["pyspy"]), "summary": reason, "skipped": True}
    write_json(json_file, {
        "tool": "pyspy", **ctx.metadata(), "skipped": False, "rate_rps": rate,
        "duration_s": duration, "openloop_exit": load_rc,
        "files": {"flamegraph": svg.name, "openloop": load_json.name,
                  "logs": {k: v.name for k, v in logs.items()}}})
    summary = ("py-spy flame graph of the %s service under %.0f requests/s for %.0f s: %s"
               % (ctx.variant_name, rate, duration, svg))
    if load_rc != 0:
        summary += "\n  note: the load driver exited with %s (see %s)" % (load_rc,
                                                                         logs["openloop"].name)
    return {"paths": (svg, json_file, load_json), "summary": summary}
