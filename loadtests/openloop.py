"""Open-loop load generator: a fixed arrival rate that does not hide stalls (CLI + API).

``python -m loadtests.openloop --url http://127.0.0.1:8080 --rate 500 --duration 30``

Requests leave on a seeded schedule (constant or Poisson) whether or not earlier ones
were answered; latency is measured from the *intended* send time (no coordinated
omission). The hot path is a raw HTTP/1.1 client on uvloop (``oloop_engine``):
pre-encoded requests, keep-alive connections opened before the window, a timerfd for
microsecond send times. The generator reports its own lag apart from the time requests
waited for a connection (the server's doing), and flags itself saturated when its CPU,
its lag or its achieved rate says the figures are its limit, not the service's.

Modes (one of):

- single run: ``--url --rate --duration [--warmup --arrival --seed --route ...]``;
- blocks: ``--blocks SPEC.json --out DIR`` runs the blocks of SPEC in order in one process
  (pools kept open per URL, drained between blocks), one result file DIR/<id>.json each;
  a block's ``pause`` keeps the generator idle that long before it starts (the caller
  reads the service between blocks on the ``block_done`` event);
- ``--check-ready --url U``: exit 0 when U answers HTTP, else one line and exit 3;
- ``--selfcheck --url TRIVIAL``: the generator's floor and ceiling (``measure_instrument``).

``--processes N [--cpus 0,1]`` splits the schedule over N pinned worker processes and
merges them exactly. ``--events jsonl`` makes stderr JSON lines only (``oloop_events``;
``parse_event`` reads them) and stdout silent; the default is human output (progress on
stderr, the summary on stdout). SIGINT/SIGTERM: the partial result is written
(``complete: false``), exit 130. The generator dies with its parent (PR_SET_PDEATHSIG).

Exit codes: 0 done, 1 generator failure, 2 bad input, 3 target not ready, 130 stopped.

Library: ``await run_open_loop(OpenLoopConfig(...), progress=cb)``; ``Runner`` for
blocks; ``merge_results``; ``check_ready``; ``measure_instrument``; ``parse_event``.
This module never imports ``locust``; loopback targets only unless ``--allow-remote``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from loadtests.oloop_events import emit, parse_event
from loadtests.oloop_feed import arrival_offsets
from loadtests.oloop_hist import PERCENTILES, HistogramSummary, merge_histograms, new_histogram
from loadtests.oloop_instrument import NotReadyError, check_ready, measure_instrument
from loadtests.oloop_result import (
    MAX_DURATION_S,
    SCHEMA_VERSION,
    Counts,
    OpenLoopConfig,
    OpenLoopResult,
    RemoteTargetError,
    check_loopback,
    format_result,
    merge_results,
    saturation_reasons,
)
from loadtests.oloop_run import Progress, Runner, loop_factory, run_open_loop
from loadtests.oloop_sys import parse_cpus, pin_to, set_parent_death_signal, set_timer_slack

__all__ = [
    "MAX_DURATION_S", "PERCENTILES", "SCHEMA_VERSION", "Counts", "HistogramSummary",
    "NotReadyError", "OpenLoopConfig", "OpenLoopResult", "Progress", "RemoteTargetError",
    "Runner", "arrival_offsets", "check_loopback", "check_ready", "format_result",
    "load_blocks", "loop_factory", "main", "measure_instrument", "merge_histograms",
    "merge_results", "new_histogram", "parse_event", "run_open_loop", "saturation_reasons",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_READY, EXIT_STOPPED = 0, 1, 2, 3, 130
BLOCK_KEYS = frozenset({"id", "url", "route", "rate", "duration", "warmup", "arrival", "seed",
                        "data_seed", "orders_count", "faq_articles", "zipf_s",
                        "session_prefix", "pause",
                        "max_requests", "timeout", "connections"})
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
DEADLINE_MARGIN_S = 10.0  # beyond the blocks' own time, drains and start-ups included


def load_blocks(spec: Mapping[str, Any], defaults: OpenLoopConfig
                ) -> List[Tuple[str, OpenLoopConfig]]:
    """The validated (id, config) blocks of a SPEC document; ValueError names the block."""
    blocks = spec.get("blocks") if isinstance(spec, Mapping) else None
    if not isinstance(blocks, list) or not blocks:
        raise ValueError('blocks spec must be {"blocks": [{...}, ...]} with at least one')
    out: List[Tuple[str, OpenLoopConfig]] = []
    seen = set()
    for i, b in enumerate(blocks):
        if not isinstance(b, Mapping):
            raise ValueError(f"block {i} is not an object")
        bid = b.get("id")
        if not isinstance(bid, str) or not _ID.match(bid):
            raise ValueError(f"block {i}: id must be a file-name-safe string, got {bid!r}")
        if bid in seen:
            raise ValueError(f"block {bid}: duplicate id")
        seen.add(bid)
        unknown = sorted(set(b) - BLOCK_KEYS)
        if unknown:
            raise ValueError(f"block {bid}: unknown keys {', '.join(unknown)}")
        kw = {k: v for k, v in b.items() if k != "id"}
        for k in ("url", "rate", "duration"):
            if k not in kw and not getattr(defaults, k):
                raise ValueError(f"block {bid}: {k} is required")
        try:
            cfg = replace(defaults, **kw)
            cfg = replace(cfg, rate=float(cfg.rate), duration=float(cfg.duration),
                          warmup=float(cfg.warmup), seed=int(cfg.seed),
                          data_seed=int(cfg.data_seed))
            cfg.validate()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"block {bid}: {exc}") from None
        out.append((bid, cfg))
    return out


def _deadline(blocks: Sequence[Tuple[Optional[str], OpenLoopConfig]]) -> float:
    return (sum(c.pause + c.warmup + c.duration + c.timeout + 3.0 for _, c in blocks)
            + DEADLINE_MARGIN_S)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m loadtests.openloop",
        description="Open-loop load at a fixed arrival rate; latency from the intended "
                    "send time (no coordinated omission).")
    p.add_argument("--url", help="base URL, e.g. http://127.0.0.1:8080")
    p.add_argument("--rate", type=float, help="target requests per second (all processes)")
    p.add_argument("--duration", type=float, help=f"measured seconds (<= {MAX_DURATION_S:g})")
    p.add_argument("--warmup", type=float, default=0.0, help="seconds excluded from results")
    p.add_argument("--arrival", choices=("constant", "poisson"), default="constant")
    p.add_argument("--seed", type=int, default=42, help="schedule + message sequence seed")
    p.add_argument("--route", default="POST /api/chat",
                   help="'METHOD /path' (default: POST /api/chat with workload messages)")
    p.add_argument("--connections", type=int, default=1000,
                   help="most keep-alive connections per process")
    p.add_argument("--timeout", type=float, default=10.0, help="per-request timeout, s")
    p.add_argument("--max-requests", type=int, default=None)
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a target that is not on loopback")
    p.add_argument("--zipf-s", type=float, default=1.1)
    p.add_argument("--data-seed", type=int, default=42, help="the service's DATA_SEED")
    p.add_argument("--orders-count", type=int, default=None,
                   help="the service's ORDERS_COUNT (default: the engine's)")
    p.add_argument("--faq-articles", type=int, default=None,
                   help="the route's {order_id} is an article id 1..N, Zipf-popular "
                        "(GET /api/faq/{order_id}: the CDN's static route)")
    p.add_argument("--session-prefix", default="", help="session ids prefix (default ol{seed}-)")
    p.add_argument("--lag-threshold-ms", type=float, default=10.0)
    p.add_argument("--cpu-threshold", type=float, default=90.0)
    p.add_argument("--processes", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--cpus", default="", help="CPUs to pin to, e.g. 0 or 2,3 (one per worker)")
    p.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    p.add_argument("--json", dest="json_file", default=None, help="write the result here")
    p.add_argument("--blocks", default=None, help="blocks mode: SPEC.json (needs --out)")
    p.add_argument("--out", default=None, help="blocks mode: directory for <id>.json")
    p.add_argument("--events", choices=("human", "jsonl"), default="human",
                   help="jsonl: stderr carries JSON event lines only, stdout is silent")
    p.add_argument("--check-ready", action="store_true", help="only check --url answers")
    p.add_argument("--selfcheck", action="store_true",
                   help="measure the generator against the trivial server at --url")
    p.add_argument("--rates", default="5000,10000,15000,20000", help="--selfcheck rates")
    p.add_argument("--quiet", action="store_true", help="no per-second progress lines")
    return p


def _write_json(path: Path, doc: Mapping[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, path)


class _Output:
    """Where the CLI reports: human lines or JSON events."""

    def __init__(self, jsonl: bool, quiet: bool) -> None:
        self.jsonl, self.quiet = jsonl, quiet

    def error(self, message: str) -> None:
        if self.jsonl:
            emit("error", message=message)
        else:
            print(f"error: {message}", file=sys.stderr, flush=True)

    def progress(self, p: Progress) -> None:
        if self.jsonl:
            emit("progress", **{k: v for k, v in p.to_event().items() if k != "event"})
        elif not self.quiet:
            p95 = f"{p.p95_ms:8.2f} ms" if p.p95_ms is not None else "       -   "
            tag = f"[{p.block}] " if p.block else ""
            print(f"{p.t:6.1f}s {'warm' if p.warm else '    '} sent {p.sent:7d}  "
                  f"rate {p.rate:7.1f}/s  p95 {p95}  in flight {p.in_flight}  "
                  f"errors {p.errors} {tag}", file=sys.stderr, flush=True)

    def result(self, r: OpenLoopResult) -> None:
        if not self.jsonl:
            print(format_result(r), flush=True)

    def note(self, text: str) -> None:
        if not self.jsonl:
            print(text, file=sys.stderr, flush=True)


def _config(a: argparse.Namespace, cpus: Tuple[int, ...]) -> OpenLoopConfig:
    return OpenLoopConfig(
        url=a.url or "", rate=a.rate or 0.0, duration=a.duration or 0.0, warmup=a.warmup,
        arrival=a.arrival, seed=a.seed, route=a.route, connections=a.connections,
        timeout=a.timeout, max_requests=a.max_requests, allow_remote=a.allow_remote,
        zipf_s=a.zipf_s, data_seed=a.data_seed, orders_count=a.orders_count,
        faq_articles=a.faq_articles,
        lag_threshold_ms=a.lag_threshold_ms,
        cpu_threshold_pct=a.cpu_threshold, processes=a.processes, cpus=cpus,
        session_prefix=a.session_prefix)


async def _drive(blocks: List[Tuple[Optional[str], OpenLoopConfig]], out: _Output,
                 json_file: Optional[Path], out_dir: Optional[Path], argv: List[str],
                 loop_choice: str) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    reason: Dict[str, str] = {}

    def on_signal(sig: int) -> None:
        reason.setdefault("stop", signal.Signals(sig).name)
        out.note("stopping (partial results kept); Ctrl-C again to abort")
        stop.set()
        for s in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(s)

    for s in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(s, on_signal, s)
    total = _deadline(blocks)

    def overdue() -> None:
        reason.setdefault("stop", "deadline")
        stop.set()

    watchdog = loop.call_later(total, overdue)
    first = blocks[0][1]
    files: List[str] = []
    complete = True
    try:
        async with Runner(first.processes, first.cpus, out.progress, stop,
                          loop_choice) as runner:
            for bid, cfg in blocks:
                if cfg.pause > 0 and not stop.is_set():
                    try:  # idle: the caller reads the service now (a stop cuts it short)
                        await asyncio.wait_for(stop.wait(), cfg.pause)
                    except asyncio.TimeoutError:
                        pass
                if stop.is_set():
                    complete = False
                    break
                result = await runner.run(bid, cfg)
                result = replace(result, meta=dict(result.meta, argv=argv,
                                                   **({"stopped_by": reason["stop"]}
                                                      if "stop" in reason else {})))
                complete = complete and result.complete
                path = (out_dir / f"{bid}.json") if out_dir is not None else json_file
                if path is not None:
                    _write_json(path, result.to_dict())
                    files.append(str(path))
                if bid is not None and out.jsonl:
                    emit("block_done", id=bid, file=str(path), complete=result.complete,
                         generator_saturated=result.generator_saturated)
                out.result(result)
    finally:
        watchdog.cancel()
    code = EXIT_OK if complete and not stop.is_set() else EXIT_STOPPED
    if out.jsonl:
        extra: Dict[str, Any] = {"files": files} if out_dir is not None else {}
        emit("done", file=str(out_dir) if out_dir is not None else
             (str(json_file) if json_file is not None else None), complete=complete,
             exit_code=code, **extra)
    return code


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    a = _parser().parse_args(args)
    out = _Output(a.events == "jsonl", a.quiet)
    set_parent_death_signal(signal.SIGTERM)
    set_timer_slack(1)
    try:
        cpus = tuple(parse_cpus(a.cpus)) if a.cpus else ()
    except ValueError as exc:
        out.error(str(exc))
        return EXIT_USAGE
    if a.check_ready or a.selfcheck:
        if not a.url:
            out.error("--url is required")
            return EXIT_USAGE
        try:
            check_loopback(a.url, a.allow_remote)
            if a.check_ready:
                info = check_ready(a.url, a.timeout if a.timeout != 10.0 else 5.0)
                out.note(f"ready: {a.url} answered HTTP {info['status']}")
                return EXIT_OK
            rates = [float(r) for r in a.rates.split(",") if r.strip()]
            report = measure_instrument(a.url, rates, duration=a.duration or 3.0,
                                        warmup=a.warmup or 0.5, route=a.route, cpus=cpus,
                                        processes=a.processes)
        except NotReadyError as exc:
            out.error(str(exc))
            return EXIT_NOT_READY
        except ValueError as exc:
            out.error(str(exc))
            return EXIT_USAGE
        except (RuntimeError, OSError) as exc:
            out.error(str(exc))
            return EXIT_FAILED
        if a.json_file:
            _write_json(Path(a.json_file), report)
        if not out.jsonl:
            print(json.dumps(report, indent=1))
        return EXIT_OK
    defaults = _config(a, cpus)
    blocks: List[Tuple[Optional[str], OpenLoopConfig]]
    out_dir: Optional[Path] = None
    try:
        if a.blocks:
            if not a.out:
                raise ValueError("--blocks needs --out DIR")
            try:
                spec = json.loads(Path(a.blocks).read_text())
            except (OSError, ValueError) as exc:
                raise ValueError(f"cannot read blocks spec {a.blocks}: {exc}") from None
            blocks = list(load_blocks(spec, defaults))
            out_dir = Path(a.out)
            out_dir.mkdir(parents=True, exist_ok=True)
        else:
            missing = [f"--{k}" for k in ("url", "rate", "duration") if getattr(a, k) is None]
            if missing:
                raise ValueError(f"{', '.join(missing)} required (or --blocks SPEC --out DIR)")
            defaults.validate()
            blocks = [(None, defaults)]
        factory = loop_factory(a.loop)
    except (ValueError, RuntimeError, OSError) as exc:
        out.error(str(exc))
        return EXIT_USAGE
    if cpus:
        pin_to(cpus if a.processes > 1 else cpus[:1])
    signal.alarm(int(_deadline(blocks) + 60))  # last resort if the loop itself wedges
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(_drive(blocks, out, Path(a.json_file) if a.json_file else None,
                                     out_dir, args, a.loop))
    except Exception as exc:  # reported as one line / one event; the exit code says failed
        out.error(f"{type(exc).__name__}: {exc}")
        return EXIT_FAILED
    finally:
        signal.alarm(0)


if __name__ == "__main__":
    sys.exit(main())
