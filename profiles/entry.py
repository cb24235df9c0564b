"""A plain entry point for the stock profilers: build a Bot from the environment, reply.

The guide profiles with the tools' own command lines; this module is the target
they need (toggles from the environment, like the service; carrier in-process):

    python -m cProfile -o out.prof -m profiles.entry --messages 2000
    python -m memory_profiler profiles/entry.py --messages 2000
    kernprof -l -v profiles/entry.py --messages 2000

Under kernprof and memory_profiler a ``profile`` decorator is injected into
builtins; :func:`build_bot` and :func:`reply_all` carry it, so their lines are
reported. Under kernprof (line_profiler) the engine's hot functions are added
too, since a driver's lines only say "the loop took the time". Elsewhere
``profile`` is a no-op. The message count is ``--messages`` (or
PROFILE_MESSAGES), default 2000.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, List, Mapping, Optional, Tuple

if __package__ in (None, ""):  # run as a file (memory_profiler, kernprof): repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.bot import Bot
from engine.carrier import InProcessCarrier
from engine.config import EngineConfig

try:
    profile  # type: ignore[used-before-def]  # noqa: B018 - injected by kernprof/memory_profiler
except NameError:
    def profile(func: Callable[..., Any]) -> Callable[..., Any]:
        """No profiler injected: leave the function as it is."""
        return func

DEFAULT_MESSAGES = 2000
WORKLOAD_SEED = 7  # the stream profiles.commands uses

# Engine functions added to kernprof's line profile (module, qualname).
HOT_FUNCTIONS: Tuple[Tuple[str, str], ...] = (
    ("engine.intents", "IntentClassifier.scores"),
    ("engine.entities", "EntityExtractor.extract"),
    ("engine.orders", "OrderStore._query"),
    ("engine.faq", "FaqIndex.search"),
)


@profile
def build_bot(environ: Mapping[str, str]) -> Bot:
    """The engine as the service builds it, with the carrier answered in-process."""
    config = EngineConfig.from_env(environ)
    bot = Bot(config, carrier=InProcessCarrier())
    return bot


def messages_for(bot: Bot, n: int) -> List[Tuple[str, str]]:
    """The first ``n`` messages of the seeded workload, order ids matching the data."""
    from loadtests.workload import Workload, load_order_ids

    cfg = bot.config
    wl = Workload(WORKLOAD_SEED, order_ids=load_order_ids(cfg.seed, cfg.n_orders))
    return [(m.session_id, m.text) for m in wl.messages(n)]


@profile
def reply_all(bot: Bot, messages: List[Tuple[str, str]]) -> int:
    """Answer every message; the loop the profilers time."""
    answered = 0
    for session_id, text in messages:
        bot.reply(session_id, text)
        answered += 1
    return answered


def add_engine_functions(profiler: Any) -> List[str]:
    """Under kernprof, line-profile the engine's hot functions too; their names.

    Only line_profiler's profiler is extended: memory_profiler's traces every line
    with an RSS read, which would make the hot loops take minutes.
    """
    import importlib

    if not type(profiler).__module__.startswith("line_profiler") or not hasattr(
            profiler, "add_function"):
        return []
    added: List[str] = []
    for module_name, qualname in HOT_FUNCTIONS:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        profiler.add_function(obj)
        added.append("%s:%s" % (module_name, qualname))
    return added


def main(argv: Optional[List[str]] = None, environ: Optional[Mapping[str, str]] = None) -> int:
    """Build the bot from the environment and answer N workload messages."""
    ap = argparse.ArgumentParser(prog="profiles.entry", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    env = os.environ if environ is None else environ
    ap.add_argument("--messages", type=int,
                    default=int(env.get("PROFILE_MESSAGES", DEFAULT_MESSAGES)))
    args = ap.parse_args(argv)
    added = add_engine_functions(profile)
    t0 = time.perf_counter()
    bot = build_bot(env)
    started = time.perf_counter()
    try:
        msgs = messages_for(bot, args.messages)
        t1 = time.perf_counter()
        n = reply_all(bot, msgs)
        done = time.perf_counter()
    finally:
        bot.close()
    print("profiles.entry: start-up %.2f s, %d messages in %.2f s (%.2f ms/message)%s"
          % (started - t0, n, done - t1, 1000.0 * (done - t1) / max(n, 1),
             "; line-profiled: " + ", ".join(added) if added else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
