"""The ceiling for wrk comparisons: a trivial aiohttp JSON handler, no engine.

    taskset -c 0 python deploy/bench/trivial_app.py --port 8300
Reads and parses the POSTed JSON like the service does, then answers a constant.
"""

from __future__ import annotations

import argparse
import json

from aiohttp import web


async def echo(request: web.Request) -> web.Response:
    data = json.loads(await request.read())
    return web.json_response({"session_id": data.get("session_id"), "answer": "ok"})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8300)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post("/api/chat", echo)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
