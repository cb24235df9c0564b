"""``perflab run``: every variant of a plan against a freshly started service.

For each repeat, the runnable variants run in a shuffled order (seeded and
recorded), so machine drift shows up as spread between repeats rather than as
an effect. Per variant and repeat: start the service (pinned to its CPU(s)),
wait for /healthz, record /api/config, then measure with the open-loop
generator (a subprocess pinned to the other CPU): fixed-rate runs (the first
with a warm-up that is excluded), the orders route, a capacity search, and
the in-process classifier speed. Rows are appended to results.csv as each
measurement ends, so an interrupted run keeps what it measured.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import __version__
from .catalogue import CATALOGUE
from .machine import (
    ROOT,
    Capabilities,
    Pinning,
    ensure_pypy,
    ensure_redis,
    machine_info,
    plan_pinning,
)
from .plan import Plan
from .procs import (
    Child,
    ProcessGroup,
    StartupError,
    StopSignals,
    child_popen_kwargs,
    free_port,
    get_json,
    wait_http,
)
from .results import (
    ROW_COLUMNS,
    SAMPLE_COLUMNS,
    CsvAppender,
    Row,
    RunMeta,
    Sample,
    fail_without_success,
    measurement_mechanism,
)
from .sampler import Sampler
from .variants import Variant, resolve

CHAT = "POST /api/chat"
GENERATOR_CPU_LIMIT = 90.0  # % of one core: above it a failed probe is the generator's
ORDERS = "GET /api/orders/{order_id}"
_PROGRESS = re.compile(r"^\s*([\d.]+)s\s+(warm)?\s*sent\s+(\d+)\s+rate\s+([\d.]+)/s\s+p95\s+"
                       r"(?:([\d.]+) ms|-)")


class Interrupted(Exception):
    """Ctrl-C or SIGTERM reached the orchestrator."""


@dataclass
class Options:
    out_dir: Path = ROOT / "reports" / "runs"
    target: Optional[str] = None  # drive an already-running deployment
    allow_remote: bool = False
    instances: Optional[int] = None  # override the instance count of every variant
    redis_url: str = "redis://127.0.0.1:6379/0"
    report: bool = True
    show: Callable[[str], None] = field(default=lambda s: print(s, file=sys.stderr,
                                                                flush=True))


@dataclass
class Context:
    """One run: its plan, files, children and what it has learned so far."""

    plan: Plan
    options: Options
    run_dir: Path
    meta: RunMeta
    group: ProcessGroup
    rows: CsvAppender
    samples: CsvAppender
    caps: Capabilities
    pinning: Pinning
    t0: float
    display: Display
    carrier_url: str = ""
    carrier: Optional[Child] = None
    generator: Optional[subprocess.Popen] = None
    sample_lock: threading.Lock = field(default_factory=threading.Lock)

    def add_sample(self, s: Sample) -> None:
        with self.sample_lock:
            self.samples.append(s)


# ------------------------------------------------------------------ display
class Display:
    """One live line: phase, live rate and p95, ETA. Plain lines when not a terminal."""

    def __init__(self, total_s: float, live: bool) -> None:
        self.total_s = max(total_s, 1.0)
        self.live = live
        self.start = time.monotonic()
        self.done_s = 0.0  # planned seconds of finished work
        self.head = ""
        self._last_len = 0

    def phase(self, head: str) -> None:
        self.head = head
        self._emit(head, newline=not self.live)

    def live_line(self, text: str) -> None:
        if self.live:
            self._emit("%s | %s" % (self.head, text), newline=False)

    def advance(self, planned_s: float) -> None:
        self.done_s += planned_s

    def eta(self) -> str:
        elapsed = time.monotonic() - self.start
        left = max(0.0, self.total_s - self.done_s)
        if self.done_s > 0:
            left *= elapsed / self.done_s  # correct the estimate by the pace so far
        return "%dm%02ds" % (left // 60, left % 60)

    def _emit(self, text: str, newline: bool) -> None:
        line = "[%3.0f%% ETA %s] %s" % (min(99.0, 100 * self.done_s / self.total_s),
                                       self.eta(), text)
        if newline:
            print(line, file=sys.stderr, flush=True)
        else:
            pad = max(0, self._last_len - len(line))
            sys.stderr.write("\r" + line + " " * pad)
            sys.stderr.flush()
            self._last_len = len(line)

    def message(self, text: str) -> None:
        if self.live and self._last_len:
            sys.stderr.write("\n")
            self._last_len = 0
        print(text, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ the run
def run_plan(plan: Plan, options: Options) -> Path:
    """Run ``plan``; returns the run directory (complete or not)."""
    plan.validate()
    run_id = time.strftime("%Y%m%d-%H%M%S")
    run_dir = options.out_dir / run_id
    n = 1
    while run_dir.exists():
        n += 1
        run_dir = options.out_dir / ("%s-%d" % (run_id, n))
    (run_dir / "histograms").mkdir(parents=True)
    (run_dir / "logs").mkdir()
    meta = RunMeta(run_id=run_dir.name, started_at=time.time(), plan=plan.to_dict(),
                   seed=plan.seed, machine=machine_info(), target=options.target,
                   tool_version=__version__,
                   mechanism=measurement_mechanism(options.target, options.instances))
    meta.claims = {t.name: {"metric": t.claim.metric, "low": t.claim.low,
                            "high": t.claim.high, "text": t.claim.text,
                            "lower_is_better": t.claim.lower_is_better}
                   for t in CATALOGUE if t.claim is not None}
    meta.save(run_dir)
    group = ProcessGroup(run_dir / "logs")
    rows = CsvAppender(run_dir / "results.csv", ROW_COLUMNS)
    samples = CsvAppender(run_dir / "timeseries.csv", SAMPLE_COLUMNS)
    ctx: Optional[Context] = None
    # SIGINT/SIGTERM: the first interrupts, later ones are ignored until clean-up is done
    with StopSignals(options.show) as stops:
        try:
            ctx = _prepare(plan, options, run_dir, meta, group, rows, samples)
            _execute(ctx)
            meta.complete = not meta.failures or all(f.get("kind") == "measurement"
                                                     for f in meta.failures)
        except KeyboardInterrupt:
            meta.interrupted = True
            options.show("\ninterrupted: stopping every process; partial results are kept")
        finally:
            meta.interrupted = meta.interrupted or stops.stopping
            meta.complete = meta.complete and not meta.interrupted
            meta.ended_at = time.time()
            meta.save(run_dir)  # consistent now, whatever clean-up meets
            if ctx is not None:
                _stop_generator_of(ctx)  # the generator first: no spurious errors
            group.stop_all()
            rows.close()
            samples.close()
            meta.ended_at = time.time()
            meta.save(run_dir)
    if options.report:
        _report(run_dir, options.show)
    return run_dir


def _prepare(plan: Plan, options: Options, run_dir: Path, meta: RunMeta, group: ProcessGroup,
             rows: CsvAppender, samples: CsvAppender) -> Context:
    show = options.show
    variants = [resolve(v) for v in plan.variants]
    needs = {n for v in variants for n in v.needs}
    redis_url: Optional[str] = None
    redis_reason = ""
    if "redis" in needs:
        supply = ensure_redis(options.redis_url, group, run_dir / "redis")
        redis_url, redis_reason = supply.url, supply.reason
        if supply.started is not None:
            show("no Redis at %s: started redis-server at %s for this run"
                 % (options.redis_url, supply.url))
    pypy_python: Optional[Path] = None
    pypy_reason = ""
    if "pypy" in needs and options.target is None:
        pypy_python, pypy_reason = ensure_pypy(show)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    caps = Capabilities(redis_url, redis_reason, pypy_python, pypy_reason, cores)
    pinning = plan_pinning(options.instances or 1)
    meta.machine["pinning"] = pinning.to_dict()
    if options.target is None:
        show("preparing data (generated once per size and seed)...")
        _ensure_data(plan)
    for v in variants:
        meta.variants[v.name] = v.to_dict()
    runnable: List[Variant] = []
    for v in variants:
        unmet = caps.unmet(v.needs) if options.target is None else []
        if unmet:
            meta.skipped.append({"variant": v.name, "reason": "; ".join(unmet)})
            show("skipping %s: %s" % (v.name, "; ".join(unmet)))
        else:
            runnable.append(v)
    rng = random.Random(plan.seed)
    for repeat in range(1, plan.repeats + 1):
        order = list(runnable)
        rng.shuffle(order)
        meta.schedule.extend({"variant": v.name, "repeat": repeat} for v in order)
    meta.save(run_dir)
    planned = Plan.estimate_s(replace(plan, variants=tuple(v.name for v in runnable))) \
        if runnable else 1.0
    display = Display(planned, live=sys.stderr.isatty())
    ctx = Context(plan, options, run_dir, meta, group, rows, samples, caps, pinning,
                  time.time(), display)
    return ctx


def _ensure_data(plan: Plan) -> None:
    from engine.config import EngineConfig
    from engine.datagen import ensure_data_for

    ensure_data_for(EngineConfig.from_env(_service_env_base(plan)))


def _service_env_base(plan: Plan) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFLAB_CHILD")}
    env.update(plan.data_env)
    return env


def _execute(ctx: Context) -> None:
    if ctx.options.target is None:
        ctx.carrier_url = _start_carrier(ctx)
    by_name = {name: resolve(name) for name in ctx.meta.variants}
    total = len(ctx.meta.schedule)
    for i, item in enumerate(ctx.meta.schedule, 1):
        variant = by_name[item["variant"]]
        repeat = int(item["repeat"])
        ctx.display.phase("[%d/%d] %s r%d: starting" % (i, total, variant.name, repeat))
        try:
            _run_variant(ctx, variant, repeat, "[%d/%d] %s r%d" % (i, total, variant.name,
                                                                    repeat))
        except StartupError as exc:
            _fail(ctx, variant, repeat, "startup", str(exc))
        except KeyboardInterrupt:
            raise
        except Exception:  # a bug in one variant must not lose the others
            import traceback

            _fail(ctx, variant, repeat, "error", traceback.format_exc())
        ctx.meta.save(ctx.run_dir)
    ctx.display.message("all variants done in %.0fs" % (time.time() - ctx.t0))
    if ctx.plan.profile_messages > 0 and ctx.options.target is None:
        _profile(ctx)


def _start_carrier(ctx: Context) -> str:
    port = free_port()
    env = _service_env_base(ctx.plan)
    child = ctx.group.start("carrier", [sys.executable, "-m", "service.carrier", "--port",
                                        str(port), "--latency", ctx.plan.carrier_latency,
                                        "--seed", str(ctx.plan.seed)], env,
                            cpus=ctx.pinning.generator, cwd=ROOT)
    url = "http://127.0.0.1:%d" % port
    wait_http(url + "/track/TRK0000000001", child, 30, accept=lambda s: s in (200, 404))
    ctx.carrier = child
    return url


def _variant_env(ctx: Context, v: Variant, repeat: int) -> Dict[str, str]:
    env = _service_env_base(ctx.plan)
    env.update(v.env)
    env["CARRIER_URL"] = ctx.carrier_url
    if ctx.caps.redis_url:
        env["REDIS_URL"] = ctx.caps.redis_url
    # a fresh key space per variant and repeat: every measurement starts with a cold cache
    env["REDIS_PREFIX"] = "perflab:%s:%s:r%d:" % (ctx.meta.run_id, v.name, repeat)
    env["DATA_SEED"] = env.get("DATA_SEED", "42")
    if v.interpreter == "pypy":
        env["PYTHONPATH"] = str(ROOT)
    return env


def _start_service(ctx: Context, v: Variant, repeat: int, env: Dict[str, str]
                   ) -> Tuple[Child, str]:
    port = free_port()
    instances = ctx.options.instances or v.instances
    python = str(ctx.caps.pypy_python) if v.interpreter == "pypy" else sys.executable
    name = "service-%s-r%d" % (v.name.replace("+", "plus-").replace("@", "-"), repeat)
    cpus = ctx.pinning.service
    if instances > 1:
        env = dict(env, WEB_CONCURRENCY=str(instances), GUNICORN_BIND="127.0.0.1:%d" % port)
        argv = [python, "-m", "gunicorn", "service.wsgi:app_factory", "-c",
                str(ROOT / "deploy" / "gunicorn.conf.py")]
        cpus = tuple(sorted(os.sched_getaffinity(0)))[:-1] or cpus
    else:
        argv = [python, "-m", "service", "--host", "127.0.0.1", "--port", str(port)]
    child = ctx.group.start(name, argv, env, cpus=cpus, cwd=ROOT)
    url = "http://127.0.0.1:%d" % port
    wait_http(url + "/healthz", child, 120)
    return child, url


def _run_variant(ctx: Context, v: Variant, repeat: int, label: str) -> None:
    plan = ctx.plan
    env = _variant_env(ctx, v, repeat)
    child: Optional[Child] = None
    if ctx.options.target is None:
        child, url = _start_service(ctx, v, repeat, env)
    else:
        url = ctx.options.target
    if repeat == 1 or v.name not in ctx.meta.configs:
        try:
            ctx.meta.configs[v.name] = get_json(url.rstrip("/") + "/api/config")
        except Exception as exc:
            ctx.meta.configs[v.name] = {"error": str(exc)}
    sampler: Optional[Sampler] = None
    if child is not None:
        sampler = Sampler(child.pid, ctx.meta.run_id, v.name, repeat, ctx.t0,
                          ctx.add_sample).start()
    try:
        first = True
        for rate in plan.rates:
            _phase(ctx, sampler, "%s: fixed rate %g/s" % (label, rate), "fixed_rate@%g" % rate)
            row = _open_loop(ctx, v, repeat, url, child, sampler, "fixed_rate", CHAT, rate,
                             plan.duration_s, plan.warmup_s if first else 0.5)
            ctx.display.advance((plan.warmup_s if first else 0.0) + plan.duration_s + 1.0)
            first = False
            if row.status == "failed":
                return
        if plan.orders_rate > 0:
            _phase(ctx, sampler, "%s: orders route" % label, "orders")
            row = _open_loop(ctx, v, repeat, url, child, sampler, "orders", ORDERS,
                             plan.orders_rate, plan.orders_duration_s, 0.5)
            ctx.display.advance(plan.orders_duration_s + 1.0)
            if row.status == "failed":
                return
        if plan.wants_capacity(v.name):
            _phase(ctx, sampler, "%s: capacity search" % label, "capacity")
            if not _capacity(ctx, v, repeat, url, child, sampler, label):
                return
            ctx.display.advance(plan.capacity.budget_s + 1.0)
        if plan.wants_locust(v.name):
            _phase(ctx, sampler, "%s: Locust, %d users" % (label, plan.locust_users),
                   "locust")
            row = _locust(ctx, v, repeat, url, child, sampler)
            ctx.display.advance(plan.locust_duration_s + 4.0)
            if row.status == "failed":
                return
        if plan.classify_messages > 0 and ctx.options.target is None:
            _phase(ctx, sampler, "%s: classifier speed" % label, "classify")
            _classify(ctx, v, repeat, env)
            ctx.display.advance(2.0)
        if child is not None and not child.alive():
            _fail(ctx, v, repeat, "service", _death(child))
    finally:
        ctx.display.advance(3.0)
        _stop_generator_of(ctx)  # before the service, so it never sees the service go
        if sampler is not None:
            sampler.stop()
        if child is not None:
            ctx.group.stop(child)


def _phase(ctx: Context, sampler: Optional[Sampler], head: str, phase: str) -> None:
    ctx.display.phase(head)
    if sampler is not None:
        sampler.phase = phase


def _death(child: Child) -> str:
    return child.exit_note("service")


def _fail(ctx: Context, v: Variant, repeat: int, kind: str, text: str,
          measurement: str = "fixed_rate") -> None:
    ctx.meta.failures.append({"variant": v.name, "repeat": repeat, "kind": kind,
                              "detail": text, "at": time.time()})
    ctx.rows.append(Row(ctx.meta.run_id, v.name, repeat, measurement, "open", CHAT,
                        "failed", interpreter=v.interpreter,
                        instances=ctx.options.instances or v.instances,
                        started_at=time.time(), ended_at=time.time(), failure=text[-2000:]))
    ctx.display.message("FAILED %s r%d (%s): %s" % (v.name, repeat, kind,
                                                    text.splitlines()[0]))


# ------------------------------------------------------------------ generator runs
def _open_loop(ctx: Context, v: Variant, repeat: int, url: str, child: Optional[Child],
               sampler: Optional[Sampler], measurement: str, route: str, rate: float,
               duration: float, warmup: float, write_row: bool = True) -> Row:
    """One open-loop generator run as a pinned subprocess; a Row (written unless told not)."""
    name = "%s-r%d-%s-%g%s" % (v.name.replace("+", "plus-").replace("@", "-"), repeat,
                               measurement, rate, "-%d" % (int(time.time() * 1000) % 100000)
                               if measurement == "capacity" else "")
    raw = ctx.run_dir / "histograms" / (name + ".json")
    argv = [sys.executable, "-m", "loadtests.openloop", "--url", url, "--rate", str(rate),
            "--duration", str(duration), "--warmup", str(warmup), "--arrival",
            ctx.plan.arrival, "--seed", str(ctx.plan.seed * 1000 + repeat), "--route", route,
            "--data-seed", _service_env_base(ctx.plan).get("DATA_SEED", "42"),
            "--json", str(raw)]
    if ctx.options.allow_remote:
        argv.append("--allow-remote")
    env = _service_env_base(ctx.plan)
    started = time.time()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT,
                            **child_popen_kwargs(env, ctx.pinning.generator, signal.SIGKILL))
    ctx.generator = proc
    errors: List[str] = []
    assert proc.stderr is not None
    base = Row(ctx.meta.run_id, v.name, repeat, measurement, "open", route, "ok",
               target_rate=rate, interpreter=v.interpreter,
               instances=ctx.options.instances or v.instances, started_at=started,
               ended_at=started, raw_file=str(raw.relative_to(ctx.run_dir)))
    try:
        for line in proc.stderr:
            m = _PROGRESS.match(line)
            if m:
                ctx.display.live_line("%s %ss sent %s rate %s/s p95 %s ms" % (
                    "warm-up" if m.group(2) else "measuring", m.group(1), m.group(3),
                    m.group(4), m.group(5) or "-"))
            elif line.strip():
                errors.append(line.rstrip())
    except KeyboardInterrupt:
        # stopped mid-measurement: the generator first (SIGINT: it writes what it measured),
        # then the row, marked interrupted, before the service is stopped
        _stop_generator_of(ctx)
        if write_row and raw.exists():
            try:
                d = json.loads(raw.read_text())
                ctx.rows.append(replace(_row_from_openloop(replace(base, ended_at=time.time()),
                                                           d, None), status="interrupted"))
            except (ValueError, KeyError, TypeError):
                pass
        raise
    code = proc.wait()
    ctx.generator = None
    ended = time.time()
    base = replace(base, ended_at=ended)
    if child is not None and not child.alive():
        row = replace(base, status="failed", failure=_death(child))
        ctx.meta.failures.append({"variant": v.name, "repeat": repeat, "kind": "service",
                                  "detail": row.failure, "at": ended})
        ctx.display.message("FAILED %s r%d: %s" % (v.name, repeat,
                                                   row.failure.splitlines()[0]))
        if write_row:
            ctx.rows.append(row)
        return row
    if not raw.exists():
        row = replace(base, status="failed", failure="generator exited with code %d: %s"
                      % (code, " | ".join(errors[-5:])))
        ctx.meta.failures.append({"variant": v.name, "repeat": repeat, "kind": "measurement",
                                  "detail": row.failure, "at": ended})
        if write_row:
            ctx.rows.append(row)
        return row
    data = json.loads(raw.read_text())
    window = sampler.window(data["started_at"], data["started_at"] + data["elapsed_s"]) \
        if sampler is not None else None
    row = _row_from_openloop(base, data, window)
    if write_row:  # capacity probes (write_row=False) are judged by the search itself
        row = fail_without_success(row)
        if row.status == "failed":
            ctx.meta.failures.append({"variant": v.name, "repeat": repeat,
                                      "kind": "all_failed", "detail": row.failure,
                                      "at": ended})
            ctx.display.message("FAILED %s r%d %s: %s" % (v.name, repeat, measurement,
                                                          row.failure))
        ctx.rows.append(row)
    return row


def _locust(ctx: Context, v: Variant, repeat: int, url: str, child: Optional[Child],
            sampler: Optional[Sampler]) -> Row:
    """The closed-loop measurement: Locust's shoppers (loadtests/locustfile.py) with their
    think time, headless, pinned like the open-loop driver; one Row (load_model closed).

    Stats are reset once every user is running, so the ramp is not in the figures."""
    plan = ctx.plan
    name = "%s-r%d" % (v.name.replace("+", "plus-").replace("@", "-"), repeat)
    out = ctx.run_dir / "locust" / name
    out.mkdir(parents=True, exist_ok=True)
    users = plan.locust_users
    argv = [sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests" / "locustfile.py"),
            "--host", url, "--headless", "-u", str(users), "-r", str(users),
            "-t", "%ds" % max(1, round(plan.locust_duration_s)), "--reset-stats",
            "--stop-timeout", "2", "--only-summary", "--exit-code-on-error", "0",
            "--json-file", str(out / "stats"), "--csv", str(out / "stats"),
            "--loglevel", "WARNING"]
    env = _service_env_base(plan)
    env.update({"PYTHONPATH": str(ROOT), "PERFLAB_LOCUST_META": str(out / "meta.json"),
                "PERFLAB_WAIT": plan.locust_wait, "PERFLAB_SEED": str(plan.seed * 1000 + repeat),
                "PERFLAB_DATA_SEED": env.get("DATA_SEED", "42"),
                "PERFLAB_ORDERS_COUNT": env.get("ORDERS_COUNT", "0"),
                "PERFLAB_FAQ_ARTICLES": env.get("FAQ_ARTICLES", "3000")})
    started = time.time()
    with open(out / "locust.log", "w") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                **child_popen_kwargs(env, ctx.pinning.generator,
                                                     signal.SIGKILL))
        ctx.generator = proc
        limit = started + plan.locust_duration_s + 60.0  # bounded even if Locust hangs
        while proc.poll() is None:
            if time.time() > limit:
                _stop_generator(proc)
                break
            ctx.display.live_line("Locust %d users, %.0fs of %.0fs" % (
                users, time.time() - started, plan.locust_duration_s))
            time.sleep(0.5)
        code = proc.wait()
        ctx.generator = None
    ended = time.time()
    base = Row(ctx.meta.run_id, v.name, repeat, "locust", "closed", "Locust mix", "ok",
               target_rate=float(users), interpreter=v.interpreter,
               instances=ctx.options.instances or v.instances, started_at=started,
               ended_at=ended, raw_file=str((out / "stats.json").relative_to(ctx.run_dir)))
    failure, kind = "", ""
    if child is not None and not child.alive():
        failure, kind = _death(child), "service"
    elif not (out / "stats.json").exists():
        tail = (out / "locust.log").read_text(errors="replace").splitlines()[-5:]
        failure = "Locust exited with code %s: %s" % (code, " | ".join(tail))
        kind = "measurement"
    if failure:
        row = replace(base, status="failed", failure=failure)
        ctx.meta.failures.append({"variant": v.name, "repeat": repeat, "kind": kind,
                                  "detail": failure, "at": ended})
        ctx.rows.append(row)
        return row
    entries = json.loads((out / "stats.json").read_text())
    meta_path = out / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    row = fail_without_success(locust_row(base, entries, meta))
    if row.status == "failed":
        ctx.meta.failures.append({"variant": v.name, "repeat": repeat, "kind": "all_failed",
                                  "detail": row.failure, "at": ended})
    window = _locust_window(entries)
    if sampler is not None and window is not None:
        w = sampler.window(*window)
        row = replace(row, rss_peak_mb=w.rss_peak_mb, rss_mean_mb=w.rss_mean_mb,
                      service_cpu_pct=w.cpu_mean_pct)
    ctx.rows.append(row)
    return row


def locust_row(base: Row, entries: List[Dict[str, Any]], meta: Dict[str, Any]) -> Row:
    """A closed-loop Row from Locust's --json-file entries (every route merged) and the
    locustfile's meta (generator CPU and saturation)."""
    requests = sum(int(e["num_requests"]) for e in entries)
    failures = sum(int(e["num_failures"]) for e in entries)
    merged: Dict[float, int] = {}
    for e in entries:
        for bucket, n in e["response_times"].items():
            merged[float(bucket)] = merged.get(float(bucket), 0) + int(n)
    window = _locust_window(entries)
    duration = window[1] - window[0] if window is not None else 0.0
    total_ms = sum(float(e["total_response_time"]) for e in entries)
    cpu = meta.get("cpu_percent")
    return replace(
        base, duration_s=round(duration, 3), requests=requests, ok=requests - failures,
        errors=failures, error_rate=round(failures / requests, 5) if requests else 0.0,
        achieved_rate=round(requests / duration, 3) if duration > 0 else 0.0,
        throughput_rps=round((requests - failures) / duration, 3) if duration > 0 else 0.0,
        p50_ms=_bucket_percentile(merged, 0.50), p90_ms=_bucket_percentile(merged, 0.90),
        p95_ms=_bucket_percentile(merged, 0.95), p99_ms=_bucket_percentile(merged, 0.99),
        max_ms=max(merged) if merged else None,
        mean_ms=round(total_ms / requests, 3) if requests else None,
        generator_cpu_pct=round(float(cpu), 1) if cpu is not None else None,
        generator_saturated=bool(meta.get("generator_saturated", False)),
        saturation_reasons="; ".join(meta.get("saturation_reasons", [])))


def _locust_window(entries: List[Dict[str, Any]]) -> Optional[Tuple[float, float]]:
    """(first start, last request) in unix time over every route, None if unknown or empty."""
    starts = [float(e["start_time"]) for e in entries if e.get("start_time")]
    lasts = [float(e["last_request_timestamp"]) for e in entries
             if e.get("last_request_timestamp")]
    if not starts or not lasts or max(lasts) <= min(starts):
        return None
    return min(starts), max(lasts)


def _bucket_percentile(counts: Dict[float, int], q: float) -> Optional[float]:
    """The bucket holding the q-th response time (Locust keeps buckets, not samples)."""
    total = sum(counts.values())
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for bucket in sorted(counts):
        seen += counts[bucket]
        if seen >= rank:
            return bucket
    return max(counts)


def _row_from_openloop(base: Row, d: Dict[str, Any], window: Any) -> Row:
    lat = d["latency"]
    pct = lat["percentiles_ms"]
    counts = d["counts"]
    completed = int(counts["completed"])
    errs = int(counts.get("error_count", sum(counts["errors"].values())))
    return replace(
        base, status="ok" if d["complete"] else "interrupted",
        achieved_rate=round(float(d["achieved_rate"]), 3),
        throughput_rps=round(float(d["throughput"]), 3), duration_s=round(d["elapsed_s"], 3),
        requests=int(counts["sent"]), ok=int(counts["ok"]), errors=errs,
        error_rate=round(errs / completed, 5) if completed else 0.0,
        errors_by_kind=json.dumps(counts["errors"], sort_keys=True),
        p50_ms=pct.get("p50"), p90_ms=pct.get("p90"), p95_ms=pct.get("p95"),
        p99_ms=pct.get("p99"), p999_ms=pct.get("p99.9"), max_ms=lat["max_ms"],
        mean_ms=lat["mean_ms"],
        rss_peak_mb=window.rss_peak_mb if window else None,
        rss_mean_mb=window.rss_mean_mb if window else None,
        service_cpu_pct=window.cpu_mean_pct if window else None,
        generator_cpu_pct=round(float(d["cpu_percent"]), 1),
        generator_saturated=bool(d["generator_saturated"]),
        saturation_reasons="; ".join(d.get("saturation_reasons", [])))


def _stop_generator_of(ctx: Context) -> None:
    """Stop the running generator (open loop or Locust), if any, and forget it."""
    proc, ctx.generator = ctx.generator, None
    if proc is not None and proc.poll() is None:
        _stop_generator(proc)


def _stop_generator(proc: subprocess.Popen) -> None:
    """SIGINT first: the driver then writes its partial result before exiting."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# ------------------------------------------------------------------ capacity
def _capacity(ctx: Context, v: Variant, repeat: int, url: str, child: Optional[Child],
              sampler: Optional[Sampler], label: str) -> bool:
    """Step up by ``factor`` until a probe fails, then bisect; one Row with capacity_rps.

    A probe passes when P95 and the error rate meet the targets and the generator kept
    up. A failure caused by the generator ends the search with the capacity marked
    generator-limited (a lower bound), never as the service's. Returns False when the
    service died.
    """
    cap = ctx.plan.capacity
    deadline = time.monotonic() + cap.budget_s
    best: Optional[Row] = None
    failed_rate: Optional[float] = None
    limited_by_generator = False
    budget_hit = False
    rate = cap.start_rate
    probes: List[Dict[str, Any]] = []

    def probe(r: float) -> Optional[bool]:
        nonlocal limited_by_generator
        ctx.display.phase("%s: capacity probe %g/s" % (label, r))
        row = _open_loop(ctx, v, repeat, url, child, sampler, "capacity", CHAT, r,
                         cap.probe_s, cap.warmup_s, write_row=False)
        if row.status == "failed":
            ctx.rows.append(replace(row, measurement="capacity"))
            return None
        ok = (row.p95_ms is not None and row.p95_ms <= cap.p95_ms
              and row.error_rate <= cap.max_error_rate)
        # An overloaded service makes the generator lag too (thousands in flight): the
        # failure is the generator's only when its own CPU was maxed out.
        generator_maxed = (row.generator_cpu_pct or 0.0) >= GENERATOR_CPU_LIMIT
        probes.append({"rate": r, "achieved": row.achieved_rate, "p95_ms": row.p95_ms,
                       "error_rate": row.error_rate, "generator_cpu_pct": row.generator_cpu_pct,
                       "service_cpu_pct": row.service_cpu_pct,
                       "saturation": row.saturation_reasons, "pass": ok})
        if not ok and generator_maxed:
            limited_by_generator = True
        if ok:
            nonlocal best
            best = row
        _drain(url)
        return ok

    while rate <= cap.max_rate:
        if time.monotonic() > deadline:
            budget_hit = True
            break
        result = probe(rate)
        if result is None:
            return False
        if not result:
            failed_rate = rate
            break
        rate *= cap.factor
    if failed_rate is not None and best is not None and not limited_by_generator:
        lo, hi = best.target_rate, failed_rate
        for _ in range(cap.bisect_steps):
            if time.monotonic() > deadline:
                budget_hit = True
                break
            mid = round((lo * hi) ** 0.5, 1)
            result = probe(mid)
            if result is None:
                return False
            if result:
                lo = mid
            else:
                hi = mid
                failed_rate = mid
    notes = []
    if limited_by_generator:
        notes.append("generator-limited: the load generator could not go faster; "
                     "capacity is a lower bound")
    if budget_hit:
        notes.append("time budget reached: capacity is a lower bound")
    if failed_rate is None and not budget_hit:
        notes.append("max_rate reached without failing")
    if best is None:
        row = Row(ctx.meta.run_id, v.name, repeat, "capacity", "open", CHAT, "ok",
                  capacity_rps=0.0, interpreter=v.interpreter, capacity_bound="bracketed",
                  capacity_fail_rps=failed_rate,
                  instances=ctx.options.instances or v.instances, started_at=time.time(),
                  ended_at=time.time(),
                  saturation_reasons="; ".join([*notes, "no probe met the targets (first "
                                                "probe %g/s)" % cap.start_rate]),
                  generator_saturated=limited_by_generator)
    else:
        # the rate the service met the targets at: what was sent, if less than asked
        row = replace(best, measurement="capacity",
                      capacity_rps=round(min(best.target_rate, best.achieved_rate), 1),
                      capacity_bound="bracketed" if failed_rate is not None else "lower",
                      capacity_fail_rps=failed_rate,
                      generator_saturated=limited_by_generator,
                      saturation_reasons="; ".join(notes))
    raw = ctx.run_dir / "histograms" / ("%s-r%d-capacity-probes.json"
                                        % (v.name.replace("+", "plus-").replace("@", "-"),
                                           repeat))
    raw.write_text(json.dumps({"probes": probes, "notes": notes,
                               "first_failure_rate": failed_rate}, indent=1))
    ctx.rows.append(replace(row, raw_file=str(raw.relative_to(ctx.run_dir))))
    return child is None or child.alive()


def _drain(url: str, timeout: float = 10.0) -> None:
    """Wait until the service answers /healthz quickly again (backlog of an overload)."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        t = time.perf_counter()
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/healthz", timeout=2) as r:
                r.read()
            if time.perf_counter() - t < 0.05:
                return
        except OSError:
            pass
        time.sleep(0.2)


# ------------------------------------------------------------------ classifier speed
def _classify(ctx: Context, v: Variant, repeat: int, env: Dict[str, str]) -> None:
    python = str(ctx.caps.pypy_python) if v.interpreter == "pypy" else sys.executable
    argv = [python, "-m", "perflab.micro", "--messages", str(ctx.plan.classify_messages)]
    started = time.time()
    data: Optional[Dict[str, Any]] = None
    try:
        out = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=120,
                             **child_popen_kwargs(env, ctx.pinning.service))
        err = (out.stderr or "").strip()[-500:]
        if out.returncode == 0:
            data = json.loads(out.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError) as exc:
        err = str(exc)
    row = Row(ctx.meta.run_id, v.name, repeat, "classify", "in-process", "NLU.classify",
              "ok" if data else "failed", interpreter=v.interpreter, started_at=started,
              ended_at=time.time(), failure="" if data else err)
    if data:
        row = replace(row, classify_rate=round(float(data["classify_rate"]), 1),
                      requests=int(data["messages"]),
                      duration_s=round(float(data["elapsed_s"]), 3))
    ctx.rows.append(row)


def _profile(ctx: Context) -> None:
    """cProfile baseline and optimised (and the memory tool) into RUN_DIR/profiles/, for
    the report's "Where the time goes". A failure here is noted, never fatal."""
    try:
        from profiles.commands import profile_command
    except ImportError as exc:
        ctx.display.message("profiles unavailable: %s" % exc)
        return
    jobs = [("baseline", "cprofile"), ("optimised", "cprofile")]
    if ctx.plan.profile_memory:
        jobs.append(("baseline", "memory"))
    for name, tool in jobs:
        ctx.display.phase("profiling %s (%s, %d messages)" % (name, tool,
                                                             ctx.plan.profile_messages))
        v = resolve(name)
        try:
            profile_command(_variant_env(ctx, v, 0), name, tool, ctx.plan.profile_messages,
                            ctx.run_dir / "profiles" / name)
        except Exception as exc:
            ctx.meta.failures.append({"variant": name, "repeat": 0, "kind": "measurement",
                                      "detail": "profile %s: %s: %s"
                                      % (tool, type(exc).__name__, exc), "at": time.time()})
            ctx.display.message("profiling %s failed: %s" % (name, exc))


def _report(run_dir: Path, show: Callable[[str], None]) -> None:
    try:
        from reports.commands import report_command
    except ImportError as exc:
        show("report generator unavailable (%s); results are in %s" % (exc, run_dir))
        return
    try:
        paths = report_command(run_dir)
    except Exception as exc:  # a report bug must not lose the run
        show("report generation failed: %s: %s (results are in %s)"
             % (type(exc).__name__, exc, run_dir))
        return
    show("report: %s" % getattr(paths, "html", paths))
