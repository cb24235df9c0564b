"""``python -m engine``: classify, evaluate, demo, bench.

classify  one message per stdin line -> one JSON object per line (stable interface:
          text, intent, confidence, entities)
evaluate  accuracy and per-intent precision/recall on a labelled JSON-lines file
demo      a scripted multi-turn conversation through the whole bot
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

from .config import ConfigError, EngineConfig
from .datagen import DataSpec, catalogue
from .evaluate import format_evaluation, load_labelled, score
from .nlu import NLU

DEMO = [
    ("s1", "hi there"),
    ("s1", "I want to cancdling my ordedr"),
    ("s1", "{order}"),
    ("s1", "where is my package {order2}?"),
    ("s1", "what's your refund policy?"),
    ("s1", "how do I take care of a leather jacket"),
    ("s1", "thanks, bye"),
]


def _nlu(cfg: EngineConfig) -> NLU:
    return NLU(cfg, catalogue(DataSpec.from_config(cfg)))


def cmd_classify(cfg: EngineConfig, args: argparse.Namespace) -> int:
    nlu = _nlu(cfg)
    out = sys.stdout
    for line in sys.stdin:
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        out.write(json.dumps(nlu.classify(text).to_dict(), ensure_ascii=False) + "\n")
        out.flush()
    return 0


def cmd_evaluate(cfg: EngineConfig, args: argparse.Namespace) -> int:
    nlu = _nlu(cfg)
    rows = load_labelled(Path(args.file))
    ev = score((text, gold, nlu.classify(text).intent) for text, gold in rows)
    if args.json:
        print(json.dumps(ev.to_dict(), indent=2))
    else:
        print("\n".join(format_evaluation(ev, args.errors)))
    if args.min_accuracy is not None and ev.accuracy < args.min_accuracy:
        print("accuracy %.4f is below --min-accuracy %.4f" % (ev.accuracy, args.min_accuracy),
              file=sys.stderr)
        return 1
    return 0


def cmd_demo(cfg: EngineConfig, args: argparse.Namespace) -> int:
    from .bot import Bot
    from .carrier import InProcessCarrier
    from .datagen import order_ids

    carrier = None if args.carrier_url else InProcessCarrier()
    if args.carrier_url:
        cfg = cfg.replace(carrier_url=args.carrier_url)
    print("building the bot (data is generated on first use)...", file=sys.stderr)
    bot = Bot(cfg, carrier=carrier)
    ids = order_ids(DataSpec.from_config(cfg))
    try:
        for session, template in DEMO:
            text = template.format(order=ids[1], order2=ids[7])
            reply = bot.reply(session, text)
            print("> %s" % text)
            print("  [%s %.2f] %s" % (reply.intent, reply.confidence, reply.answer))
    finally:
        bot.close()
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("classify", help="classify stdin lines, JSON lines out")
    ev = sub.add_parser("evaluate", help="accuracy on a labelled JSON-lines file")
    ev.add_argument("file")
    ev.add_argument("--errors", type=int, default=0, help="show the first N errors")
    ev.add_argument("--json", action="store_true", help="JSON instead of a table")
    ev.add_argument("--min-accuracy", type=float, default=None,
                    help="exit 1 when accuracy is below this fraction")
    demo = sub.add_parser("demo", help="a scripted conversation through the whole bot")
    demo.add_argument("--carrier-url", default=None,
                      help="use a running carrier API (default: in-process answers)")
    args = parser.parse_args(argv)
    try:
        cfg = EngineConfig.from_env()
    except ConfigError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    handler = {"classify": cmd_classify, "evaluate": cmd_evaluate, "demo": cmd_demo}
    return handler[args.command](cfg, args)


if __name__ == "__main__":
    sys.exit(main())
