"""``perflab serve``: one variant's service (and its carrier, and Redis if needed) until Ctrl-C.

For manual exploration, e.g. with Locust's web UI:
``locust -f loadtests/locustfile.py --host <printed URL>``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

from . import exitcodes
from .machine import ROOT, ensure_pypy, ensure_redis
from .procs import ProcessGroup, StartupError, free_port, port_problem, wait_http
from .variants import resolve


class ServeError(RuntimeError):
    """Why ``perflab serve`` cannot serve: one line for the user, and its exit code."""

    def __init__(self, message: str, code: int = exitcodes.USAGE) -> None:
        super().__init__(message)
        self.code = code


def serve(variant_name: str, port: Optional[int], redis_url: str,
          carrier_latency: str = "lognormal:15:0.5",
          show: Callable[[str], None] = lambda s: print(s, flush=True)) -> int:
    """Start everything the variant needs, print the URL, stop it all on Ctrl-C.

    Raises KeyError for an unknown variant and ServeError for a busy port or a process
    that does not start (with its last log lines)."""
    v = resolve(variant_name)
    if port is not None:
        busy = port_problem("127.0.0.1", port)
        if busy is not None:
            raise ServeError("--port %d: %s" % (port, busy))
    logs = Path(tempfile.mkdtemp(prefix="perflab-serve-"))
    group = ProcessGroup(logs)
    try:
        env = dict(os.environ)
        env.update(v.env)
        if "redis" in v.needs:
            supply = ensure_redis(redis_url, group, logs / "redis")
            if supply.url is None:
                show("error: %s needs Redis: %s" % (v.name, supply.reason))
                return 2
            env["REDIS_URL"] = supply.url
            if supply.started is not None:
                show("started redis-server at %s" % supply.url)
        python = sys.executable
        if v.interpreter == "pypy":
            pypy, why = ensure_pypy(show)
            if pypy is None:
                show("error: %s needs PyPy: %s" % (v.name, why))
                return 2
            python = str(pypy)
            env["PYTHONPATH"] = str(ROOT)
        cport = free_port()
        carrier = group.start("carrier", [sys.executable, "-m", "service.carrier", "--port",
                                          str(cport), "--latency", carrier_latency], env,
                              cwd=ROOT)
        wait_http("http://127.0.0.1:%d/track/TRK0000000001" % cport, carrier, 30,
                  accept=lambda s: s in (200, 404))
        env["CARRIER_URL"] = "http://127.0.0.1:%d" % cport
        sport = port or free_port()
        show("starting %s (logs in %s)..." % (v.name, logs))
        service = group.start("service", [python, "-m", "service", "--host", "127.0.0.1",
                                          "--port", str(sport)], env, cwd=ROOT)
        url = "http://127.0.0.1:%d" % sport
        wait_http(url + "/healthz", service, 120)
        show("%s is serving at %s  (Ctrl-C to stop)" % (v.name, url))
        show("  locust -f loadtests/locustfile.py --host %s" % url)
        while service.alive() and carrier.alive():
            time.sleep(0.5)
        show("a process exited: %s" % " | ".join(service.last_lines(5)))
        return 1
    except StartupError as exc:
        raise ServeError(str(exc), exitcodes.START_FAILED) from None
    except KeyboardInterrupt:
        show("\nstopping")
        return 0
    finally:
        group.stop_all()
