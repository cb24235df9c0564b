"""Micro-benchmark of ``Bot.reply``: all-baseline vs all-optimised, side by side.

Both bots run in this one process, pinned to one CPU, over the same seeded
workload stream (loadtests.workload), in interleaved rounds (A B A B ...), so
that drift of a shared machine shows up as spread, not as an effect. The
carrier is answered in-process: this measures the engine without downstream
calls. Memory is measured separately, eager vs lazy FAQ loading, each in a
fresh subprocess (RSS after start-up and after the messages).

    python -m profiles.bench_engine [--messages 20000] [--rounds 5] [--cpu 1] [--json F]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from engine.bot import Bot
from engine.carrier import InProcessCarrier
from engine.config import EngineConfig
from loadtests.workload import Workload, load_order_ids

OPTIMISED = {"ir_cache_backend": "memory", "intent_cache_enabled": True,
             "regex_precompile": True, "order_index": "hash", "faq_loading": "lazy",
             "pooling": True}


@dataclass(frozen=True)
class Throughput:
    variant: str
    rates: Tuple[float, ...]  # messages/second, one per round

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


def variants(base: EngineConfig) -> Dict[str, EngineConfig]:
    return {"baseline": base, "optimised": replace(base, **OPTIMISED)}  # type: ignore[arg-type]


def workload_texts(cfg: EngineConfig, n: int, seed: int) -> List[Tuple[str, str]]:
    wl = Workload(seed=seed, order_ids=load_order_ids(cfg.seed, cfg.n_orders))
    return [(m.session_id, m.text) for m in wl.messages(n)]


def measure(configs: Dict[str, EngineConfig], messages: Sequence[Tuple[str, str]],
            rounds: int, warmup: int) -> List[Throughput]:
    """Interleaved rounds: every bot answers the same chunk of the stream in turn."""
    bots = {name: Bot(cfg, carrier=InProcessCarrier()) for name, cfg in configs.items()}
    for bot in bots.values():  # warm-up (excluded): caches fill, code paths get hot
        for sid, text in messages[:warmup]:
            bot.reply(sid, text)
    body = messages[warmup:]
    chunk = max(1, len(body) // rounds)
    rates: Dict[str, List[float]] = {name: [] for name in bots}
    for r in range(rounds):
        part = body[r * chunk:(r + 1) * chunk]
        order = list(bots) if r % 2 == 0 else list(reversed(list(bots)))
        for name in order:
            reply = bots[name].reply
            t0 = time.perf_counter()
            for sid, text in part:
                reply(sid, text)
            rates[name].append(len(part) / (time.perf_counter() - t0))
    for bot in bots.values():
        bot.close()
    return [Throughput(name, tuple(v)) for name, v in rates.items()]


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def memory_probe(loading: str, n: int, seed: int) -> Dict[str, float]:
    """Run in a fresh process: RSS before the bot, after start-up, after n messages."""
    before = rss_mb()
    cfg = replace(EngineConfig.from_env(), faq_loading=loading)
    msgs = workload_texts(cfg, n, seed)
    after_workload = rss_mb()
    bot = Bot(cfg, carrier=InProcessCarrier())
    started = rss_mb()
    for sid, text in msgs:
        bot.reply(sid, text)
    done = rss_mb()
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1000.0
    return {"interpreter_mb": before, "bot_startup_mb": started - after_workload,
            "rss_after_startup_mb": started, "rss_after_messages_mb": done, "peak_mb": peak}


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7, help="workload seed")
    ap.add_argument("--cpu", type=int, default=None, help="pin to this CPU")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--memory-probe", choices=["eager", "lazy"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    if args.memory_probe:
        print(json.dumps(memory_probe(args.memory_probe, args.messages, args.seed)))
        return 0
    base = EngineConfig.from_env()
    configs = variants(base)
    print("generating/reading data and the workload...", file=sys.stderr)
    messages = workload_texts(base, args.messages + args.warmup, args.seed)
    results = measure(configs, messages, args.rounds, args.warmup)
    print("\nBot.reply throughput, %d messages in %d interleaved rounds, one CPU%s, "
          "carrier in-process (no downstream calls)" % (args.messages, args.rounds,
                                                         " (cpu %d)" % args.cpu
                                                         if args.cpu is not None else ""))
    print("%-10s %12s %12s %12s" % ("variant", "median msg/s", "min", "max"))
    for t in results:
        print("%-10s %12.0f %12.0f %12.0f" % (t.variant, t.median, min(t.rates), max(t.rates)))
    base_t, opt_t = results[0], results[1]
    ratios = [o / b for o, b in zip(opt_t.rates, base_t.rates)]
    print("optimised/baseline per round: %s (median x%.2f)"
          % (", ".join("%.2f" % r for r in ratios), statistics.median(ratios)))
    memory = {}
    for loading in ("eager", "lazy"):
        cmd = [sys.executable, "-m", "profiles.bench_engine", "--memory-probe", loading,
               "--messages", "5000", "--seed", str(args.seed)]
        if args.cpu is not None:
            cmd += ["--cpu", str(args.cpu)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        memory[loading] = json.loads(out.stdout.strip().splitlines()[-1])
    print("\nRSS by FAQ loading (fresh process each, %d FAQ articles, 5000 messages)"
          % base.n_faq)
    print("%-6s %14s %16s %16s %10s" % ("mode", "bot start-up", "after start-up",
                                         "after messages", "peak"))
    for loading, m in memory.items():
        print("%-6s %11.1f MB %13.1f MB %13.1f MB %7.1f MB" % (
            loading, m["bot_startup_mb"], m["rss_after_startup_mb"],
            m["rss_after_messages_mb"], m["peak_mb"]))
    if args.json:
        args.json.write_text(json.dumps({
            "schema_version": 1, "messages": args.messages, "rounds": args.rounds,
            "cpu": args.cpu, "python": sys.version, "throughput": [asdict(t) for t in results],
            "memory": memory}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
