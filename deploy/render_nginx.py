#!/usr/bin/env python3
"""Render deploy/nginx.conf.template for local runs and tests (stdlib only).

    python deploy/render_nginx.py --listen 127.0.0.1:8080 \
        --upstream 127.0.0.1:8001 --upstream 127.0.0.1:8002 [--no-faq-cache] -o DIR/nginx.conf

Only ``${NGINX_*}`` placeholders are replaced (nginx's own ``$variables`` stay), the
same contract as the official image's envsubst step used by docker-compose.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional

TEMPLATE = Path(__file__).with_name("nginx.conf.template")
PLACEHOLDER = re.compile(r"\$\{(NGINX_[A-Z_]+)\}")


def render(template: str, values: Dict[str, str]) -> str:
    """Fill every ${NGINX_*} placeholder; a missing value is an error, not a blank."""
    missing = sorted(set(PLACEHOLDER.findall(template)) - set(values))
    if missing:
        raise KeyError("no value for " + ", ".join(missing))
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def values_for(listen: str, upstreams: List[str], workers: str = "1",
               faq_cache: bool = True, access_log: str = "off") -> Dict[str, str]:
    """Placeholder values; ``access_log`` is nginx's access_log argument ("off", or
    "logs/access.log perflab" for the lab's format with the cache status)."""
    servers = " ".join(f"server {u} max_fails=0;" for u in upstreams)
    return {"NGINX_LISTEN": listen, "NGINX_UPSTREAMS": servers, "NGINX_WORKERS": workers,
            "NGINX_FAQ_CACHE": "faq" if faq_cache else "off", "NGINX_ACCESS_LOG": access_log}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", default="127.0.0.1:8080")
    parser.add_argument("--upstream", action="append", required=True,
                        help="host:port of one service instance (repeat)")
    parser.add_argument("--workers", default="1", help="worker_processes (a number or auto)")
    parser.add_argument("--no-faq-cache", action="store_true",
                        help="turn the proxy_cache for GET /api/faq/{id} off")
    parser.add_argument("--access-log", default="off",
                        help="nginx access_log argument, e.g. 'logs/access.log perflab'")
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("-o", "--output", type=Path, help="write here (default stdout)")
    args = parser.parse_args(argv)
    text = render(args.template.read_text(),
                  values_for(args.listen, args.upstream, args.workers, not args.no_faq_cache,
                             args.access_log))
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
