"""``python -m service --host 127.0.0.1 --port N``: one instance, toggles from the environment.

Prints the effective toggle set at start-up; an unknown toggle value prints a
message naming the variable and its allowed values and exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from aiohttp import web

from service.app import create_app
from service.config import ConfigError, ServiceConfig
from service.runtime import check_runnable, configure_logging, new_event_loop


def main(argv: Optional[List[str]] = None) -> int:
    """Parse flags, read the config once, run until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default loopback)")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    parser.add_argument("--print-config", action="store_true",
                        help="print the effective toggles and exit")
    args = parser.parse_args(argv)
    try:
        config = ServiceConfig.from_env()
        check_runnable(config)
    except ConfigError as exc:
        print(f"python -m service: configuration error: {exc}", file=sys.stderr)
        return 2
    print(f"perflab service pid={os.getpid()}, effective toggles:")
    for line in config.describe().splitlines():
        print("  " + line)
    sys.stdout.flush()
    if args.print_config:
        return 0
    configure_logging(config)
    loop = new_event_loop(config)

    def announce(_msg: str) -> None:
        print(f"perflab service ready on http://{args.host}:{args.port}", flush=True)

    web.run_app(create_app(config), host=args.host, port=args.port, access_log=None,
                print=announce, loop=loop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
