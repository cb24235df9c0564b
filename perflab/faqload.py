"""``python -m perflab.faqload``: the open-loop driver on GET /api/faq/{id}, Zipf-popular ids.

The static route the guide's CDN claim is about. Same driver as every other open-loop
figure (``loadtests.openloop.run_open_loop``: intended-time latency, HdrHistograms,
self-watching), fed with article ids instead of order numbers: its templated route
takes each request's id from the workload's ``next_order_id``, so the workload here
holds article ids, repeated in proportion to a Zipf popularity (a few articles are read
often, most rarely, as on a help centre), none unknown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
from dataclasses import replace
from typing import List, Optional, Sequence

from loadtests.openloop import OpenLoopConfig, format_result, run_open_loop
from loadtests.workload import Workload, zipf_sampler

ROUTE = "GET /api/faq/{order_id}"  # the driver's template name; the ids are article ids
DRAWS = 20000  # ids in the popularity table: the most popular article appears most


def article_ids(articles: int, zipf_s: float, seed: int) -> List[str]:
    """Article ids 1..articles drawn with Zipf popularity (rank 1 most popular)."""
    rng = random.Random(seed * 7 + 3)
    draw = zipf_sampler(articles, zipf_s, rng)
    order = list(range(1, articles + 1))
    rng.shuffle(order)  # popularity is not id order
    return [str(order[draw()]) for _ in range(DRAWS)]


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m perflab.faqload", description=__doc__)
    p.add_argument("--url", required=True)
    p.add_argument("--rate", type=float, required=True)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--warmup", type=float, default=0.0)
    p.add_argument("--arrival", choices=("constant", "poisson"), default="poisson")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--articles", type=int, default=3000, help="the service's FAQ_ARTICLES")
    p.add_argument("--zipf-s", type=float, default=1.1)
    p.add_argument("--json", dest="json_file", required=True)
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    if a.articles < 1:
        print("error: --articles must be >= 1", file=sys.stderr)
        return 2
    cfg = OpenLoopConfig(url=a.url, rate=a.rate, duration=a.duration, warmup=a.warmup,
                         arrival=a.arrival, seed=a.seed, route=ROUTE)
    try:
        cfg.validate()
    except ValueError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    workload = Workload(seed=a.seed, order_ids=article_ids(a.articles, a.zipf_s, a.seed),
                        unknown_order_share=0.0, unknown_ids=["0"], pool_size=10)
    result = asyncio.run(run_open_loop(cfg, workload=workload))
    result = replace(result, meta=dict(result.meta, argv=list(sys.argv), articles=a.articles,
                                       zipf_s=a.zipf_s))
    tmp = a.json_file + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(result.to_dict(), fh, indent=1)
    os.replace(tmp, a.json_file)
    if not a.quiet:
        print(format_result(result))
    return 0 if result.complete else 130


if __name__ == "__main__":
    sys.exit(main())
