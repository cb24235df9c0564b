"""``perflab serve``: one variant's service (and its carrier, and Redis if needed) until Ctrl-C.

For manual exploration, e.g. with Locust's web UI:
``locust -f loadtests/locustfile.py --host <printed URL>``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

from . import exitcodes
from .procs import ProcessGroup, StartupError, port_problem
from .stack import Stack, base_env
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
    stack = Stack(ProcessGroup(logs), logs, show, redis_url)
    try:
        if "redis" in v.needs:
            supply = stack.redis()
            if supply.url is None:
                show("error: %s needs Redis: %s" % (v.name, supply.reason))
                return 2
        if v.interpreter == "pypy" and stack.pypy()[0] is None:
            show("error: %s needs PyPy: %s" % (v.name, stack.pypy()[1]))
            return 2
        env = base_env()
        stack.start_carrier(env, carrier_latency, 1)
        show("starting %s (logs in %s)..." % (v.name, logs))
        service, url = stack.start_service(v, stack.service_env(env, v, "perflab:serve:"),
                                           "service", port=port)
        show("%s is serving at %s  (Ctrl-C to stop)" % (v.name, url))
        show("  locust -f loadtests/locustfile.py --host %s" % url)
        carrier = stack.carrier
        while service.alive() and (carrier is None or carrier.alive()):
            time.sleep(0.5)
        show("a process exited: %s" % (" | ".join(service.last_lines(5)) or "no log lines"))
        return 1
    except StartupError as exc:
        raise ServeError(str(exc), exitcodes.START_FAILED) from None
    except KeyboardInterrupt:
        show("\nstopping")
        return 0
    finally:
        stack.close()
