"""The ceiling for wrk comparisons: a trivial aiohttp JSON handler, no engine.

    taskset -c 0 python deploy/bench/trivial_app.py --port 8300 [--loop uvloop]
Reads and parses the POSTed JSON like the service does, then answers a constant.
``--loop uvloop`` gives the ceiling on the same event loop as the optimised service
(EVENT_LOOP=uvloop); the default is stock aiohttp on asyncio's loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from aiohttp import web


async def echo(request: web.Request) -> web.Response:
    data = json.loads(await request.read())
    return web.json_response({"session_id": data.get("session_id"), "answer": "ok"})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post("/api/chat", echo)
    loop = None
    if args.loop == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
        asyncio.set_event_loop(loop)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None, loop=loop)


if __name__ == "__main__":
    main()
