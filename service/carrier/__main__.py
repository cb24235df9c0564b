"""``python -m service.carrier --port N``: run the fake carrier tracking API.

Flags override CARRIER_LATENCY (e.g. ``lognormal:15:0.5``), CARRIER_ERROR_RATE
and CARRIER_SEED; a bad value exits with status 2 and names the setting.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from aiohttp import web

from service.carrier import (
    CarrierConfig,
    CarrierConfigError,
    LatencySpec,
    create_carrier_app,
    parse_rate,
    parse_seed,
)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.carrier", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--latency", help="fixed:MS | uniform:LO:HI | lognormal:MEDIAN:SIGMA")
    parser.add_argument("--error-rate", help="share of requests answered 503 (0..1)")
    parser.add_argument("--seed", help="RNG seed for latency and errors")
    args = parser.parse_args(argv)
    try:
        config = CarrierConfig.from_env()
        if args.latency is not None:
            config = CarrierConfig(LatencySpec.parse(args.latency, "--latency"),
                                   config.error_rate, config.seed)
        if args.error_rate is not None:
            config = CarrierConfig(config.latency, parse_rate(args.error_rate, "--error-rate"),
                                   config.seed)
        if args.seed is not None:
            config = CarrierConfig(config.latency, config.error_rate,
                                   parse_seed(args.seed, "--seed"))
    except CarrierConfigError as exc:
        print(f"python -m service.carrier: configuration error: {exc}", file=sys.stderr)
        return 2
    print(f"perflab carrier: latency={config.latency} error_rate={config.error_rate:g} "
          f"seed={config.seed}", flush=True)

    def announce(_msg: str) -> None:
        print(f"perflab carrier ready on http://{args.host}:{args.port}", flush=True)

    web.run_app(create_carrier_app(config), host=args.host, port=args.port, access_log=None,
                print=announce)
    return 0


if __name__ == "__main__":
    sys.exit(main())
