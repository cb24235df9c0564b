"""In-process classifier speed for one variant: ``python -m perflab.micro --messages N``.

A stand-alone micro-benchmark (pyperf, its JSON) of the variant whose toggles
are in the environment, run with that variant's interpreter (CPython or
PyPy): the classifier itself, where the guide's "faster matching" and
"intent classification > 100 req/s" are about. The lab's own classify phase
does not use it: ``perflab/classify.py`` times every variant in lock-step
(``perflab/lockstep.py`` says why), with this module's ``ClassifyBench``.

Timed with pyperf, so that repetition sits where the variance is (between
processes: hash seeds, memory layout; Kalibera & Jones 2013): ``--processes``
worker processes, each with ``--warmups`` discarded and ``--values`` kept
values, one value being ``loops`` passes over the same seeded message
sequence, ``loops`` calibrated by pyperf so that a value lasts ``--min-time``.
One pass: (with INTENT_CACHE_ENABLED) a fresh classifier warmed on
``--warmup`` messages, untimed, then the ``--messages`` that follow, timed;
so every variant classifies the same messages from the same cache state.
pyperf's JSON goes to ``--json-out``; stdout is one JSON object (pyperf's own
output goes to stderr). Python 3.9-compatible (it runs under PyPy).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

SCHEMA = 2
EXIT_USAGE = 2
# "cpu": this thread's CPU time, so that time-sharing with other processes on a
# shared CPU is not counted (the classifier is single-threaded and CPU-bound: on an
# idle CPU the two agree); "wall": perf_counter, what pyperf uses by default.
CLOCKS: Dict[str, Callable[[], float]] = {"cpu": time.thread_time, "wall": time.perf_counter}


# PyPy's JIT needs ~25,000 classified messages (~10 s here) before the rate levels off
# (650/s in the first pass, ~9,000/s after): its default warm-up is that many messages
PYPY_WARM_MESSAGES = 25000
TOGGLES_KEY = "perflab_toggles"  # pyperf metadata: the engine toggles a worker ran with


def toggles(config: Any) -> str:
    """One line naming every engine toggle's value (recorded by each worker)."""
    return " ".join("%s=%s" % kv for kv in sorted(config.to_dict().items()))


def _positive(kind: Callable[[str], Any], minimum: float) -> Callable[[str], Any]:
    def parse(raw: str) -> Any:
        try:
            value = kind(raw)
        except ValueError:
            raise argparse.ArgumentTypeError("%r is not a number" % raw) from None
        if not value >= minimum or (isinstance(value, float) and math.isinf(value)):
            raise argparse.ArgumentTypeError("%r must be >= %s" % (raw, minimum))
        return value

    return parse


class _Parser(argparse.ArgumentParser):
    """Bad options: one line on stderr and exit code 2, no usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write("%s: error: %s\n" % (self.prog, message))
        sys.exit(EXIT_USAGE)


def workload_options(ap: argparse.ArgumentParser) -> None:
    """What a worker needs to rebuild the same message sequence (passed to every worker)."""
    ap.add_argument("--messages", type=_positive(int, 1), default=2000,
                    help="timed messages per pass (default 2000)")
    ap.add_argument("--warmup", type=_positive(int, 0), default=500,
                    help="untimed messages that warm the intent cache before each pass")
    ap.add_argument("--seed", type=int, default=11, help="workload seed")
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                    help="cpu: thread CPU time (default; robust to a shared CPU), wall: "
                         "perf_counter")


def parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="python -m perflab.micro",
                 description="Classifier speed (messages/s) of this environment's variant, "
                             "timed with pyperf.")
    workload_options(ap)
    ap.add_argument("--processes", type=_positive(int, 2), default=None,
                    help="pyperf worker processes (default 5 on CPython, 2 on PyPy)")
    ap.add_argument("--values", type=_positive(int, 1), default=None,
                    help="values kept per process (default 2 on CPython, 3 on PyPy)")
    ap.add_argument("--warmups", type=_positive(int, 0), default=None,
                    help="values discarded per process (default 1 on CPython; on PyPy "
                         "enough passes for 25,000 messages: its JIT warms slowly)")
    ap.add_argument("--min-time", type=_positive(float, 0.001), default=0.1,
                    help="seconds a value lasts at least (pyperf calibrates the loops)")
    ap.add_argument("--json-out", default=None, metavar="PATH",
                    help="write pyperf's JSON here (must not exist)")
    return ap


def _is_pypy() -> bool:
    return sys.implementation.name == "pypy"


# ------------------------------------------------------------------ the timed function
class ClassifyBench:
    """The same message sequence, classified ``loops`` times; returns the timed seconds."""

    def __init__(self, messages: int, warmup: int, seed: int, clock: str = "cpu") -> None:
        from engine.config import EngineConfig
        from engine.datagen import DataSpec, catalogue
        from engine.nlu import NLU
        from loadtests.workload import Workload, load_order_ids

        self.config = EngineConfig.from_env()
        self._catalogue = catalogue(DataSpec.from_config(self.config))
        self._make = lambda: NLU(self.config, self._catalogue)
        texts = [m.text for m in Workload(seed=seed, order_ids=load_order_ids(
            self.config.seed, self.config.n_orders)).messages(messages + warmup)]
        self.warm = texts[:warmup]
        self.body = texts[warmup:]
        self.nlu = self._make()
        self.last_stats: Optional[Dict[str, int]] = None
        self.clock = CLOCKS[clock]

    def fresh(self) -> Any:
        """The classifier in the state every pass starts from (a warmed intent cache)."""
        if not self.config.intent_cache_enabled:
            return self.nlu  # no state between messages: keep the one instance
        nlu = self._make()
        for text in self.warm:
            nlu.classify(text)
        return nlu

    def __call__(self, loops: int) -> float:
        timed = 0.0
        clock = self.clock
        for _ in range(loops):
            nlu = self.fresh()
            classify = nlu.classify
            before = nlu.stats()
            t0 = clock()
            for text in self.body:
                classify(text)
            timed += clock() - t0
            self.last_stats = stats_delta(nlu.stats(), before)
        return timed


def stats_delta(after: Optional[Dict[str, int]],
           before: Optional[Dict[str, int]]) -> Optional[Dict[str, int]]:
    if after is None or before is None:
        return None
    return {k: after[k] - before.get(k, 0) for k in after}


# ------------------------------------------------------------------ summary
def interval95(means: Sequence[float]) -> Optional[List[float]]:
    """Student-t 95% interval of the mean of per-process means (None below two processes).

    The t quantile is pyperf's own table (the one its ``compare_to`` uses), so the
    lab does not keep a second copy of it here, where numpy/scipy are not available
    (this runs under PyPy).
    """
    if len(means) < 2:
        return None
    try:
        from pyperf._utils import tdist95conf_level
    except ImportError:  # pragma: no cover - a pyperf without the table: no interval
        return None
    centre = statistics.fmean(means)
    half = tdist95conf_level(len(means) - 1) * statistics.stdev(means) / math.sqrt(len(means))
    return [centre - half, centre + half]


def summarise(bench: Any, messages: int, json_path: Optional[str],
              wall_s: float, settings: Dict[str, Any],
              cache_stats: Optional[Dict[str, int]]) -> Dict[str, Any]:
    """The stdout object from pyperf's Benchmark (values: seconds per message)."""
    runs = [run for run in bench.get_runs() if run.values]
    per_process = [[1.0 / v for v in run.values] for run in runs]
    seconds = [statistics.fmean(run.values) for run in runs]
    mean_s = statistics.fmean(seconds)
    total_loops = bench.get_total_loops()  # loops x inner loops (= messages) per value
    loops = total_loops // messages
    n_values = sum(len(run.values) for run in runs)
    timed_messages = n_values * total_loops
    rates = [1.0 / s for s in seconds]
    ci_s = interval95(seconds)
    return {
        "schema": SCHEMA,
        "classify_rate": 1.0 / mean_s,
        "messages": messages,
        "elapsed_s": mean_s * timed_messages,
        "timed_messages": timed_messages,
        "loops": loops,
        "per_process_rate": rates,
        "per_process_values": per_process,
        "stdev_rate": statistics.stdev(rates) if len(rates) > 1 else None,
        "cv": (statistics.stdev(seconds) / mean_s) if len(seconds) > 1 else None,
        # rate interval from the interval of mean seconds/message (1/x flips the ends)
        "classify_rate_ci95": (None if ci_s is None or ci_s[0] <= 0 else
                               [1.0 / ci_s[1], 1.0 / ci_s[0]]),
        "interval_method": "student-t over per-process means (df = processes - 1)",
        "pyperf_json": json_path,
        "pyperf_version": _pyperf_version(),
        "wall_s": wall_s,
        "settings": settings,
        "intent_cache": cache_stats,
        "python": sys.version.split()[0],
        "implementation": sys.implementation.name,
    }


def _pyperf_version() -> str:
    import pyperf

    return str(pyperf.__version__)


# ------------------------------------------------------------------ entry points
def _worker(argv: List[str]) -> int:
    """A pyperf worker: rebuild the bench from the workload options, let pyperf time it."""
    import pyperf

    ap = argparse.ArgumentParser(add_help=False)
    workload_options(ap)
    own, rest = ap.parse_known_args(argv)
    runner = pyperf.Runner(program_args=("-m", "perflab.micro"))
    runner.parse_args(rest)
    bench = ClassifyBench(own.messages, own.warmup, own.seed, own.clock)
    runner.bench_time_func("classify", bench, inner_loops=own.messages,
                           metadata={TOGGLES_KEY: toggles(bench.config)})
    return 0


def _master(args: argparse.Namespace) -> int:
    import pyperf

    from engine.config import EngineConfig

    config = EngineConfig.from_env()  # a bad toggle fails here, once, naming the variable
    cache_on = config.intent_cache_enabled
    if args.json_out and os.path.exists(args.json_out):
        sys.stderr.write("perflab.micro: error: --json-out %s already exists\n" % args.json_out)
        return EXIT_USAGE
    if args.json_out:
        os.makedirs(os.path.dirname(os.path.abspath(args.json_out)), exist_ok=True)
    pypy = _is_pypy()
    settings = {
        "processes": args.processes or (2 if pypy else 5),
        "values": args.values or (3 if pypy else 2),
        "warmups": (args.warmups if args.warmups is not None else
                    math.ceil(PYPY_WARM_MESSAGES / args.messages) if pypy else 1),
        "min_time": args.min_time,
        "warmup_messages": args.warmup,
        "seed": args.seed,
        "clock": args.clock,
    }
    workload = ["--messages", str(args.messages), "--warmup", str(args.warmup),
                "--seed", str(args.seed), "--clock", args.clock]
    runner = pyperf.Runner(values=settings["values"], processes=settings["processes"],
                           warmups=settings["warmups"], min_time=args.min_time,
                           program_args=("-m", "perflab.micro"),
                           add_cmdline_args=lambda cmd, _args: cmd.extend(workload))
    pyperf_args = ["--copy-env",  # workers get the variant's toggles
                   "--quiet"]
    if args.json_out:
        pyperf_args += ["--output", args.json_out]
    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries our one JSON object
        runner.parse_args(pyperf_args)
        bench = runner.bench_time_func("classify", _never_called, inner_loops=args.messages)
    wall = time.perf_counter() - started
    if bench is None:  # pragma: no cover - pyperf ran nothing
        sys.stderr.write("perflab.micro: error: pyperf produced no benchmark\n")
        return 1
    seen = {run.get_metadata().get(TOGGLES_KEY) for run in bench.get_runs() if run.values}
    if seen != {toggles(config)}:  # pyperf cleans worker environments unless told not to
        sys.stderr.write("perflab.micro: error: pyperf workers ran with other toggles than "
                         "this process: %s\n" % sorted(map(str, seen)))
        return 1
    cache = _cache_stats(args) if cache_on else None
    print(json.dumps(summarise(bench, args.messages, args.json_out, wall, settings, cache)))
    return 0


def _never_called(loops: int) -> float:
    raise AssertionError("the master process times nothing; its workers do")


def _cache_stats(args: argparse.Namespace) -> Optional[Dict[str, int]]:
    """Hits/misses of one pass (the same in every pass and process: seeded, fresh cache)."""
    bench = ClassifyBench(args.messages, args.warmup, args.seed, args.clock)
    bench(1)
    return bench.last_stats


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--worker" in argv:
        return _worker(argv)
    from engine.config import ConfigError

    args = parser().parse_args(argv)
    try:
        return _master(args)
    except ConfigError as exc:
        sys.stderr.write("perflab.micro: error: %s\n" % exc)
        return EXIT_USAGE
    except RuntimeError as exc:  # pyperf: "<python> failed with exit code N"
        sys.stderr.write("perflab.micro: error: a pyperf worker failed: %s\n" % exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
