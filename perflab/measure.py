"""Running the open-loop generator and turning what it writes into result rows.

The generator is a child process pinned to the generator's CPU, started
through the run's ``ProcessGroup`` (parent-death signal, child mark). It
reports through files and JSON-lines events, never through human text. A
measurement whose every request failed is a failed measurement, never a row
of zero latencies: percentiles come from successful responses only.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from loadtests.oloop_events import parse_event

from .design import Block
from .machine import ROOT
from .procs import Child, ProcessGroup
from .results import Row
from .sampler import Window


def generator_flags(data_seed: str, orders_count: Optional[str],
                    allow_remote: bool = False) -> List[str]:
    """The flags every generator call of a run shares."""
    flags = ["--data-seed", data_seed, "--events", "jsonl"]
    if orders_count:
        flags += ["--orders-count", orders_count]
    if allow_remote:
        flags.append("--allow-remote")
    return flags


def openloop_argv(url: str, route: str, rate: float, duration: float, warmup: float,
                  arrival: str, seed: int, out: Path, flags: Sequence[str]) -> List[str]:
    """One open-loop run (``python -m loadtests.openloop``) writing its result to ``out``."""
    return [sys.executable, "-m", "loadtests.openloop", "--url", url, "--rate", "%g" % rate,
            "--duration", "%g" % duration, "--warmup", "%g" % warmup, "--arrival", arrival,
            "--seed", str(seed), "--route", route, "--json", str(out), *flags]


def blocks_argv(spec: Path, out_dir: Path, flags: Sequence[str]) -> List[str]:
    """Many blocks in one generator process (pools kept open, drained between blocks)."""
    return [sys.executable, "-m", "loadtests.openloop", "--blocks", str(spec), "--out",
            str(out_dir), *flags]


def run_block_spec(group: ProcessGroup, name: str, blocks: Sequence[Dict[str, Any]],
                   spec: Path, out_dir: Path, flags: Sequence[str], env: Dict[str, str],
                   cpus: Sequence[int], on_block: Callable[[str, Path], Any]) -> int:
    """Blocks (``openloop`` block objects, each with an ``id``) in one generator process;
    ``on_block(id, result file)`` as each ends (its ``block_done`` event); the exit code."""
    spec.parent.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec.write_text(json.dumps({"blocks": list(blocks)}, indent=1))

    def on_line(line: str) -> None:
        ev = parse_event(line)
        if ev is not None and ev.get("event") == "block_done" and ev.get("id"):
            on_block(str(ev["id"]), Path(ev["file"]) if ev.get("file")
                     else out_dir / ("%s.json" % ev["id"]))

    limit = sum(float(b.get("pause", 0)) + float(b.get("warmup", 0)) + float(b["duration"])
                + 3.0 for b in blocks) + 30.0
    return run_generator(group, name, blocks_argv(spec, out_dir, flags), env, cpus, limit,
                         on_line)


def run_generator(group: ProcessGroup, name: str, argv: Sequence[str], env: Dict[str, str],
                  cpus: Sequence[int], limit_s: float,
                  on_line: Callable[[str], Any] = lambda s: None,
                  register: Callable[[Optional[Child]], None] = lambda c: None) -> int:
    """Run one generator child to its end (bounded by ``limit_s``); its exit code.

    The generator dies by SIGKILL with the orchestrator (nobody is left to read it).

    ``register`` is told the child while it runs (so a stop can reach the generator
    before the service) and None once it has ended."""
    child = group.start(name, argv, env, cpus=cpus, cwd=ROOT, death_signal=signal.SIGKILL)
    register(child)
    deadline = time.monotonic() + limit_s
    pos = 0
    try:
        try:
            while child.alive():
                pos = _follow(child.log_path, pos, on_line)
                if time.monotonic() > deadline:
                    group.stop(child, grace=3.0)  # SIGTERM: it writes its partial result
                    break
                time.sleep(0.1)
        except KeyboardInterrupt:
            # stopped: the generator goes first (SIGTERM: its partial result is written and
            # read below), so the measurement in progress is kept, not lost to the service
            group.stop(child, grace=3.0)
            _follow(child.log_path, pos, on_line)
            raise
        _follow(child.log_path, pos, on_line)
        code = child.proc.wait()
    finally:
        register(None)
        if child in group.children:
            group.children.remove(child)
    return int(code)


def _follow(path: Path, pos: int, on_line: Callable[[str], None]) -> int:
    try:
        with open(path, "rb") as fh:
            fh.seek(pos)
            data = fh.read()
    except OSError:
        return pos
    end = data.rfind(b"\n") + 1
    for line in data[:end].decode("utf-8", "replace").splitlines():
        on_line(line)
    return pos + end


def row_from_result(base: Row, d: Dict[str, Any], window: Optional[Window]) -> Row:
    """A Row from one open-loop result; failed when no request succeeded."""
    lat = d["latency"]
    pct = lat.get("percentiles_ms") or {}
    counts = d["counts"]
    completed = int(counts.get("completed", 0))
    ok = int(counts.get("ok", 0))
    errs = int(counts.get("error_count", sum(counts.get("errors", {}).values())))
    status = "ok" if d.get("complete", True) else "interrupted"
    failure = ""
    if ok == 0:
        status = "failed"
        kinds = ", ".join("%s %d" % kv for kv in sorted(counts.get("errors", {}).items()))
        failure = "no request succeeded (%d sent%s)" % (int(counts.get("sent", 0)),
                                                        ": " + kinds if kinds else "")

    def p(key: str) -> Optional[float]:
        return None if ok == 0 else pct.get(key)

    return replace(
        base, status=status, failure=failure,
        achieved_rate=round(float(d["achieved_rate"]), 3),
        throughput_rps=round(float(d["throughput"]), 3), duration_s=round(d["elapsed_s"], 3),
        requests=int(counts["sent"]), ok=ok, errors=errs,
        error_rate=round(errs / completed, 5) if completed else 0.0,
        errors_by_kind=json.dumps(counts.get("errors", {}), sort_keys=True),
        p50_ms=p("p50"), p90_ms=p("p90"), p95_ms=p("p95"), p99_ms=p("p99"),
        p999_ms=p("p99.9"), max_ms=lat.get("max_ms") if ok else None,
        mean_ms=lat.get("mean_ms") if ok else None,
        rss_peak_mb=window.rss_peak_mb if window else None,
        rss_mean_mb=window.rss_mean_mb if window else None,
        service_cpu_pct=window.cpu_mean_pct if window else None,
        cpu_ms_per_request=(round(1000.0 * window.cpu_s / ok, 4)
                            if window and window.cpu_s is not None and ok else None),
        generator_cpu_pct=round(float(d.get("cpu_percent", 0.0)), 1),
        generator_saturated=bool(d.get("generator_saturated", False)),
        saturation_reasons="; ".join(d.get("saturation_reasons", [])))


def block_row(run_id: str, b: Block, interpreter: str, instances: int) -> Row:
    """The Row a block's result fills in."""
    return Row(run_id, b.variant, b.repeat, b.measurement, "open", b.route, "ok",
               target_rate=b.rate, interpreter=interpreter, instances=instances,
               started_at=time.time(), block=b.block)


def peak_row(row: Row, d: Dict[str, Any], ceiling: Optional[float]) -> Row:
    """An overload block's served rate: successful responses from the window's start to
    the last one (its backlog is answered after the schedule ends). Offered above the
    generator's measured ceiling, the figure is the generator's, not the service's."""
    row = replace(row, throughput_rps=round(float(d.get("served_rate") or 0.0), 3))
    if ceiling is not None and row.target_rate > ceiling:
        row = replace(row, generator_saturated=True, saturation_reasons="; ".join(filter(None, [
            row.saturation_reasons, "offered %g/s is above the generator's ceiling %g/s "
            "measured in this run" % (row.target_rate, ceiling)])))
    return row
