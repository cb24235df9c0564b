"""In-process classifier speed for one variant: ``python -m perflab.micro --messages N``.

Run by the orchestrator as a subprocess with the variant's environment and
interpreter (CPython or PyPy), pinned to the service's CPU, so the
REGEX_PRECOMPILE and INTENT_CACHE toggles and the interpreter are measured
where the guide's "faster matching" and "intent classification > 100 req/s"
are about: the classifier itself. Prints one JSON object.
Python 3.9-compatible (it runs under PyPy).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m perflab.micro")
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args(argv)
    from engine.config import EngineConfig
    from engine.datagen import DataSpec, catalogue
    from engine.nlu import NLU
    from loadtests.workload import Workload, load_order_ids

    cfg = EngineConfig.from_env()
    nlu = NLU(cfg, catalogue(DataSpec.from_config(cfg)))
    texts = [m.text for m in Workload(seed=args.seed, order_ids=load_order_ids(
        cfg.seed, cfg.n_orders)).messages(args.messages + args.warmup)]
    for text in texts[:args.warmup]:
        nlu.classify(text)
    body = texts[args.warmup:]
    t0 = time.perf_counter()
    for text in body:
        nlu.classify(text)
    elapsed = time.perf_counter() - t0
    print(json.dumps({"classify_rate": len(body) / elapsed, "messages": len(body),
                      "elapsed_s": elapsed, "intent_cache": nlu.stats(),
                      "python": sys.version.split()[0],
                      "implementation": sys.implementation.name}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
