"""The lock-step classifier benchmark: worker, coordinator and the run's classify phase.

The order tests drive in-memory links (what the coordinator sends and when);
the rest use real worker processes through a ``ProcessGroup``, as a run does.
No timing thresholds: only what the workers did, in which order, and how it
was recorded.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List, Optional, Tuple

import pytest

from perflab.classify import classify_all, pass_rates, worker_argv
from perflab.lockstep import PROTOCOL
from perflab.lockstep_coord import Limits, Link, PipeLink, round_order, run_lockstep
from perflab.machine import ROOT
from perflab.plan import QUICK
from perflab.procs import ProcessGroup
from perflab.results import Row, RunMeta
from perflab.stack import Stack
from perflab.variants import resolve
from reports.data import RunData
from reports.metrics import metric_sample
from reports.stats import nested_ratio


# ------------------------------------------------------------------ the order (in memory)
class FakeLink:
    """A worker in memory: every command and reply goes into one shared log."""

    def __init__(self, name: str, log: List[Tuple[str, str, str]], chunks: int,
                 toggles: str = "T") -> None:
        self.name, self.log, self.chunks, self.toggles = name, log, chunks, toggles
        self.pending: List[str] = []
        self.closed = self.aborted = False

    def send(self, command: str) -> None:
        self.log.append(("send", self.name, command))
        self.pending.append(command)

    def receive(self, timeout_s: float) -> Dict[str, Any]:
        cmd = self.pending.pop(0) if self.pending else "hello"
        self.log.append(("reply", self.name, cmd))
        if cmd == "hello":
            return {"ready": True, "protocol": PROTOCOL, "toggles": self.toggles,
                    "chunks": self.chunks}
        if cmd.startswith("c "):
            return {"k": int(cmd[2:]), "n": 5, "t": 0.001, "w": 0.001, "s": 0.0}
        return {"pass": True} if cmd == "pass" else {"end": True, "intent_cache": None}

    def abort(self) -> None:
        self.aborted = True

    def close(self) -> None:
        self.closed = True


def test_round_order_rotates_a_seeded_shuffle() -> None:
    names = ["a", "b", "c", "d"]
    for p in (1, 2, 3):
        rounds = [round_order(names, p, k, seed=5) for k in range(8)]
        assert all(sorted(r) == names for r in rounds)
        # every variant takes every place equally often in a pass (8 chunks, 4 variants)
        for place in range(4):
            assert sorted(r[place] for r in rounds) == sorted(names * 2)
        assert rounds[1] == rounds[0][1:] + rounds[0][:1]
    assert round_order(names, 1, 0, 5) == round_order(names, 1, 0, 5)  # seeded
    assert len({tuple(round_order(names, p, 0, 5)) for p in range(1, 9)}) > 1  # per pass


def test_one_worker_at_a_time_in_the_round_order() -> None:
    log: List[Tuple[str, str, str]] = []
    names = ["base", "aa", "regex"]
    links: Dict[str, Link] = {n: FakeLink(n, log, chunks=4) for n in names}
    seen: List[Tuple[int, List[str]]] = []
    out = run_lockstep(links, {n: "T" for n in names}, passes=3, chunks=4, seed=9,
                       on_pass=lambda p, done: seen.append((p, sorted(done))))
    assert all(o.ok and len(o.passes) == 3 for o in out.values())
    assert seen == [(p, sorted(names)) for p in (1, 2, 3)]
    chunk_sends = [(i, e) for i, e in enumerate(log) if e[0] == "send" and e[2][0] == "c"]
    for i, (_, name, cmd) in chunk_sends:  # the reply comes before anything else is sent
        assert log[i + 1] == ("reply", name, cmd)
    order = [e[1] for _, e in chunk_sends]
    expected = [n for p in (1, 2, 3) for k in range(4) for n in round_order(names, p, k, 9)]
    assert order == expected
    for o in out.values():  # positions recorded, chunks 0..3 per pass
        assert [c.k for c in o.passes[0].chunks] == [0, 1, 2, 3]
        assert {c.position for p in o.passes for c in p.chunks} <= {0, 1, 2}
    assert all(isinstance(lk, FakeLink) and lk.closed for lk in links.values())


def test_a_toggles_mismatch_fails_that_variant_only() -> None:
    log: List[Tuple[str, str, str]] = []
    links: Dict[str, Link] = {"a": FakeLink("a", log, 2), "b": FakeLink("b", log, 2, "X")}
    failures: List[str] = []
    out = run_lockstep(links, {"a": "T", "b": "T"}, passes=2, chunks=2, seed=1,
                       on_failure=lambda o: failures.append(o.name))
    assert out["a"].ok and len(out["a"].passes) == 2
    assert not out["b"].ok and out["b"].passes == [] and failures == ["b"]
    assert "other toggles" in out["b"].failure and "\n" not in out["b"].failure
    assert isinstance(links["b"], FakeLink) and links["b"].aborted
    assert not any(e[1] == "b" and e[0] == "send" for e in log)  # never driven


# ------------------------------------------------------------------ real processes
FAKE_WORKER = r"""
import json, sys, time
mode, at = sys.argv[1], int(sys.argv[2])
def say(o):
    sys.stdout.write(json.dumps(o) + "\n"); sys.stdout.flush()
say({"ready": True, "protocol": %d, "toggles": "fake", "chunks": 2})
n = 0
for line in sys.stdin:
    cmd = line.split()
    if cmd[0] == "c":
        n += 1
        if n == at and mode == "die":
            sys.stderr.write("fake worker: giving up at chunk %%s\n" %% cmd[1]); sys.exit(3)
        if n == at and mode == "hang":
            time.sleep(120)
        say({"k": int(cmd[1]), "n": 30, "t": 0.001, "w": 0.001, "s": time.monotonic()})
    elif cmd[0] == "pass":
        say({"pass": True})
    elif cmd[0] == "end":
        say({"end": True, "intent_cache": None})
    elif cmd[0] == "quit":
        break
""" % PROTOCOL


def _env(**extra: str) -> Dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), **extra)


def _real(group: ProcessGroup, name: str, messages: int = 60, python: str = sys.executable,
          env: Optional[Dict[str, str]] = None, extra: Tuple[str, ...] = ()) -> PipeLink:
    argv = [*worker_argv(python, messages), "--warmup", "10", *extra]
    return PipeLink(name, group.start(name, argv, env or _env(), cwd=ROOT, pipes=True), group)


def _fake(group: ProcessGroup, name: str, mode: str, at: int) -> PipeLink:
    argv = [sys.executable, "-c", FAKE_WORKER, mode, str(at)]
    return PipeLink(name, group.start(name, argv, _env(), cwd=ROOT, pipes=True), group)


def _toggles(**env: str) -> str:
    from engine.config import EngineConfig
    from perflab.micro import toggles

    return toggles(EngineConfig.from_env(_env(**env)))


@pytest.mark.parametrize("mode, why", [("die", "exited with code 3"), ("hang", "hung")])
def test_a_dead_or_hung_worker_fails_alone(group: ProcessGroup, mode: str, why: str) -> None:
    links: Dict[str, Link] = {"real": _real(group, "real"), "bad": _fake(group, "bad", mode, 3)}
    out = run_lockstep(links, {"real": _toggles(), "bad": "fake"}, passes=3, chunks=2, seed=3,
                       limits=Limits(chunk_s=1.0))
    assert out["real"].ok and [p.index for p in out["real"].passes] == [1, 2, 3]
    bad = out["bad"]
    assert not bad.ok and why in bad.failure and "\n" not in bad.failure
    assert bad.failed_pass == 2 and [p.index for p in bad.passes] == [1]  # kept pass 1
    assert "pass 2, chunk" in bad.failure
    assert all(not c.alive() for c in group.children)  # stopped, the hung one too


def test_real_workers_alternate_and_prove_their_toggles(group: ProcessGroup) -> None:
    links: Dict[str, Link] = {
        "plain": _real(group, "plain"),
        "cached": _real(group, "cached", env=_env(INTENT_CACHE_ENABLED="1")),
        "wrong": _real(group, "wrong", env=_env(REGEX_PRECOMPILE="1")),
    }
    expected = {"plain": _toggles(), "cached": _toggles(INTENT_CACHE_ENABLED="1"),
                "wrong": _toggles()}  # told baseline, started with precompiled regexes
    out = run_lockstep(links, expected, passes=2, chunks=2, seed=4)
    assert not out["wrong"].ok and "REGEX_PRECOMPILE=True" in out["wrong"].failure
    assert out["plain"].ok and out["cached"].ok
    assert out["cached"].passes[0].intent_cache is not None
    assert out["plain"].passes[0].intent_cache is None
    spans = sorted((c.start, c.start + c.wall_s, name) for name in ("plain", "cached")
                   for p in out[name].passes for c in p.chunks)
    assert len(spans) == 2 * 2 * 2
    for (_, end, _), (start, _, _) in zip(spans, spans[1:]):
        assert end <= start  # no two chunks ran at once
    assert all(p.messages == 60 for o in out.values() for p in o.passes)


# ------------------------------------------------------------------ the run's phase
def _ctx(tmp_path: Path, group: ProcessGroup, messages: int, passes: int,
         base_env: Optional[Dict[str, str]] = None) -> SimpleNamespace:
    rows: List[Row] = []
    failures: List[Tuple[str, int, str, str]] = []
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    return SimpleNamespace(
        plan=replace(QUICK, classify_messages=messages, classify_passes=passes),
        run_dir=run_dir, meta=SimpleNamespace(run_id="t1"), base_env=base_env or _env(),
        stack=Stack(group, tmp_path, lambda s: None),
        pinning=SimpleNamespace(service=sorted(os.sched_getaffinity(0))[:1]),
        display=SimpleNamespace(phase=lambda s: None), rows=rows, failures=failures,
        add_row=rows.append, fail=lambda *a: failures.append(a))


@pytest.mark.slow
def test_classify_all_rows_pair_by_process_set_and_pass(tmp_path: Path,
                                                        group: ProcessGroup) -> None:
    ctx = _ctx(tmp_path, group, messages=60, passes=3)
    variants = [resolve("baseline"), resolve("+regex_precompile")]
    for repeat in (1, 2):
        classify_all(ctx, variants, repeat)  # type: ignore[arg-type]
    assert ctx.failures == [] and all(r.status == "ok" for r in ctx.rows)
    keys = {(r.variant, r.repeat, r.block) for r in ctx.rows}
    assert keys == {(v.name, s, p) for v in variants for s in (1, 2) for p in (1, 2, 3)}
    assert len(ctx.rows) == len(keys)
    for r in ctx.rows:
        assert r.measurement == "classify" and r.load_model == "in-process"
        assert r.requests == 60 and r.classify_rate and r.classify_rate > 0
    for repeat in (1, 2):  # every row's rate re-derives from the raw chunks
        raw = json.loads((ctx.run_dir / "micro" / ("lockstep-r%d.json" % repeat)).read_text())
        assert raw["schema"] == 1 and raw["settings"]["chunks"] == 2
        rates = pass_rates(raw)
        for r in (r for r in ctx.rows if r.repeat == repeat):
            assert r.raw_file == "micro/lockstep-r%d.json" % repeat
            assert r.classify_rate == pytest.approx(rates[r.variant][r.block], abs=0.06)
        assert "REGEX_PRECOMPILE=True" in raw["variants"]["+regex_precompile"]["ready"][
            "toggles"]
    assert all(not c.alive() for c in group.children)
    # the report reads them keyed by (process set, pass) and pairs them
    meta = RunMeta("t1", 0.0, {}, 1, {})
    run = RunData(ctx.run_dir, meta, tuple(ctx.rows), ())
    a = metric_sample(run, "+regex_precompile", "classify_rate")
    b = metric_sample(run, "baseline", "classify_rate")
    assert set(a.blocks) == set(b.blocks) == {(s, p) for s in (1, 2) for p in (1, 2, 3)}
    ratio = nested_ratio(a.blocks, b.blocks)
    assert ratio is not None and ratio.n == 6 and ratio.has_interval


def test_classify_all_bad_toggle_is_one_failed_row(tmp_path: Path,
                                                   group: ProcessGroup) -> None:
    ctx = _ctx(tmp_path, group, messages=60, passes=1,
               base_env=_env(INTENT_CACHE_SIZE="lots"))
    classify_all(ctx, [resolve("baseline")], 1)  # type: ignore[arg-type]
    assert [(r.variant, r.status, r.block) for r in ctx.rows] == [("baseline", "failed", 0)]
    assert "INTENT_CACHE_SIZE" in ctx.rows[0].failure and "\n" not in ctx.rows[0].failure
    assert [f[:3] for f in ctx.failures] == [("baseline", 1, "measurement")]
    assert group.children == []  # nothing was started


def test_interrupted_phase_leaves_no_worker(tmp_path: Path, group: ProcessGroup) -> None:
    ctx = _ctx(tmp_path, group, messages=60, passes=5)

    def stop(row: Row) -> None:
        ctx.rows.append(row)
        raise KeyboardInterrupt

    ctx.add_row = stop
    with pytest.raises(KeyboardInterrupt):
        classify_all(ctx, [resolve("baseline"), resolve("baseline@aa")], 1)  # type: ignore
    assert ctx.rows and all(not c.alive() for c in group.children)
    raw = json.loads((ctx.run_dir / "micro" / "lockstep-r1.json").read_text())
    assert set(raw["variants"]) == {"baseline", "baseline@aa"}


@pytest.mark.slow
def test_worker_runs_under_pypy(group: ProcessGroup, pypy_python: Path) -> None:
    """The worker is Python 3.9 code without numpy or pyperf: PyPy drives it too."""
    links: Dict[str, Link] = {
        "cpython": _real(group, "cpython"),
        "pypy": _real(group, "pypy", python=str(pypy_python), extra=("--warm-passes", "1"))}
    out = run_lockstep(links, {"cpython": _toggles(), "pypy": _toggles()}, passes=2,
                       chunks=2, seed=2)
    assert all(o.ok and len(o.passes) == 2 for o in out.values()), out
    assert out["pypy"].ready["implementation"] == "pypy"
