"""``python -m service --host 127.0.0.1 --port N``: one instance, toggles from the environment.

Prints the effective toggle set at start-up; an unknown toggle value or a bad
option prints one line naming it and exits with status 2; an address that
cannot be bound (port in use) exits with status 3.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from service import server
from service.app import create_app
from service.config import ConfigError, ServiceConfig
from service.jsonlib import get_codec
from service.runtime import check_runnable, configure_logging, new_event_loop

EXIT_CONFIG = 2  # bad option or configuration
EXIT_LISTEN = 3  # the address cannot be bound (in use, not allowed)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a TCP port is 0..65535, got {value}")
    return value


def main(argv: Optional[List[str]] = None) -> int:
    """Parse flags, read the config once, run until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default loopback)")
    parser.add_argument("--port", type=_port, default=8080,
                        help="TCP port, 0..65535 (default 8080)")
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

    def announce() -> None:
        print(f"perflab service ready on http://{args.host}:{args.port}", flush=True)

    try:
        server.run(create_app(config), get_codec(config.json_lib), args.host, args.port,
                   announce, loop)
    except OSError as exc:
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        print(f"python -m service: cannot listen on {args.host}:{args.port}: {why.lower()}",
              file=sys.stderr)
        return EXIT_LISTEN
    return 0


if __name__ == "__main__":
    sys.exit(main())
