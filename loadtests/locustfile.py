"""Locust scenarios for the support chatbot (closed-loop load).

    locust -f loadtests/locustfile.py --host http://127.0.0.1:8080            # web UI
    locust -f loadtests/locustfile.py --host ... --headless -u 50 -r 10 -t 60s --json-file out
    locust -f loadtests/locustfile.py --host ... --processes 2                  # more cores

Users (FastHttpUser; weights from env):

- ``Shopper`` (PERFLAB_WEIGHT_SHOPPER, 6): whole conversations from ``loadtests.workload``
  with one session_id, e.g. "cancel my order" -> "#B204518" -> "thanks";
- ``FaqBrowser`` (PERFLAB_WEIGHT_FAQ, 2): GET /api/faq/search?q=..., then GET /api/faq/{id}
  of a result, revalidating with If-None-Match when it saw the article's ETag before;
- ``OrderTracker`` (PERFLAB_WEIGHT_ORDERS, 2): POST /api/chat tracking messages with an
  order number and GET /api/orders/{order_id} (404 expected for the ~5% unknown ids).

A weight of 0 removes the class. Wait time: PERFLAB_WAIT = ``between:0.5,2`` (default),
``constant:1``, ``pacing:2`` (constant_pacing) or ``none``. Workload: PERFLAB_SEED,
PERFLAB_ZIPF_S, PERFLAB_DATA_SEED, PERFLAB_ORDERS_COUNT and PERFLAB_FAQ_ARTICLES (the
service's DATA_SEED, ORDERS_COUNT and FAQ_ARTICLES, so referenced orders and articles
exist). Load shape: PERFLAB_SHAPE=step|spike|soak (see
``loadtests/shapes.py``); unset, no shape class is defined and -u/-r/-t or the UI drive it.

Failures: a non-2xx reply (except 304 on revalidation and 404 for unknown order ids), or a
chat reply that is not JSON with a string "intent".

Histogram: Locust buckets response times to ~2 significant digits with a 1 ms floor. This
file replaces ``locust.stats.bucket_response_time`` (Locust >= 2.43.4) with a finer one:
0.1 ms below 100 ms, 1 ms below 1 s, 10 ms below 10 s, 100 ms above. It is assigned at
import, so in every process that loads this file (master, workers, --processes children).
Percentiles in --json output keep the fractions; the CSV and console print them as ints.

Generator CPU: with PERFLAB_LOCUST_META=/path.json the master (or the local runner) writes,
at test stop, its own CPU use over the test (psutil), the workers' last reported CPU, and
``generator_saturated`` (true when Locust fired a cpu_warning, >90% CPU, in any process).

Only Locust loads this file: importing locust monkey-patches the process with gevent.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

import locust.stats
import psutil
from locust import FastHttpUser, LoadTestShape, between, constant, constant_pacing, events, task
from locust.runners import MasterRunner, WorkerRunner

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from loadtests.shapes import shape_from_env  # noqa: E402
from loadtests.workload import Workload, load_order_ids, load_unknown_order_ids  # noqa: E402

ENV = os.environ


# --------------------------------------------------------------------------- histogram
def fine_bucket_response_time(response_time):
    """Finer than Locust's ~2 significant digits: keys are ms (float below 100 ms)."""
    if response_time < 100:
        return round(response_time, 1)
    if response_time < 1000:
        return round(response_time)
    if response_time < 10000:
        return int(round(response_time, -1))
    return int(round(response_time, -2))


locust.stats.bucket_response_time = fine_bucket_response_time


# --------------------------------------------------------------------------- settings
def _env_int(name, default):
    raw = ENV.get(name, "").strip()
    return int(raw) if raw else default


def _env_float(name, default):
    raw = ENV.get(name, "").strip()
    return float(raw) if raw else default


def _wait_time():
    spec = ENV.get("PERFLAB_WAIT", "between:0.5,2").strip().lower()
    kind, _, args = spec.partition(":")
    nums = [float(x) for x in args.split(",") if x.strip()]
    if kind == "between" and len(nums) == 2:
        return between(nums[0], nums[1])
    if kind == "constant" and len(nums) == 1:
        return constant(nums[0])
    if kind in ("pacing", "constant_pacing") and len(nums) == 1:
        return constant_pacing(nums[0])
    if kind in ("none", "0", ""):
        return constant(0)
    raise ValueError(f"PERFLAB_WAIT={spec!r}: use between:A,B | constant:S | pacing:S | none")


WAIT_TIME = _wait_time()
_workload = None


def workload():
    """One Workload per process (users are greenlets: no locking needed)."""
    global _workload
    if _workload is None:
        data_seed = _env_int("PERFLAB_DATA_SEED", 42)
        n_orders = _env_int("PERFLAB_ORDERS_COUNT", 0) or None
        _workload = Workload(
            seed=_env_int("PERFLAB_SEED", 42) + os.getpid() % 1000,
            zipf_s=_env_float("PERFLAB_ZIPF_S", 1.1),
            order_ids=load_order_ids(data_seed, n_orders),
            unknown_ids=load_unknown_order_ids(data_seed, n_orders),
            session_prefix=f"lc{os.getpid()}-")
    return _workload


def check_chat(resp):
    """Mark a POST /api/chat reply failed unless 2xx JSON with a string "intent"."""
    if not 200 <= (resp.status_code or 0) < 300:
        resp.failure(f"HTTP {resp.status_code}")
        return None
    try:
        doc = resp.json()
    except Exception:
        resp.failure("reply is not JSON")
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("intent"), str):
        resp.failure('reply has no "intent"')
        return None
    resp.success()
    return doc


# --------------------------------------------------------------------------- users
class Shopper(FastHttpUser):
    """Holds whole conversations (same session_id), waiting between turns."""

    weight = _env_int("PERFLAB_WEIGHT_SHOPPER", 6)
    abstract = weight <= 0
    wait_time = WAIT_TIME

    def on_start(self):
        self.conversations = workload().conversations()

    @task
    def converse(self):
        conv = next(self.conversations)
        for i, msg in enumerate(conv.messages):
            if i:
                self.wait()
            with self.client.post("/api/chat", json=msg.to_json(), name="/api/chat",
                                  catch_response=True) as resp:
                if check_chat(resp) is None:
                    return  # the rest of this conversation makes no sense


class FaqBrowser(FastHttpUser):
    """Searches the help centre and reads articles, revalidating cached ones."""

    weight = _env_int("PERFLAB_WEIGHT_FAQ", 2)
    abstract = weight <= 0
    wait_time = WAIT_TIME

    def on_start(self):
        self.rng = random.Random(id(self))
        self.seen_ids = []
        self.etags = {}

    @task(3)
    def search(self):
        q = workload().next_faq_query()
        with self.client.get("/api/faq/search", params={"q": q}, name="/api/faq/search",
                             catch_response=True) as resp:
            if not 200 <= (resp.status_code or 0) < 300:
                resp.failure(f"HTTP {resp.status_code}")
                return
            try:
                doc = resp.json()
            except Exception:
                resp.failure("reply is not JSON")
                return
            resp.success()
        hits = doc.get("results", doc.get("hits", [])) if isinstance(doc, dict) else doc
        for hit in hits if isinstance(hits, list) else []:
            aid = hit.get("article_id", hit.get("id")) if isinstance(hit, dict) else None
            if aid is not None and aid not in self.seen_ids:
                self.seen_ids.append(aid)
        del self.seen_ids[:-200]

    @task(2)
    def article(self):
        aid = self.rng.choice(self.seen_ids) if self.seen_ids else self.rng.randint(
            1, _env_int("PERFLAB_FAQ_ARTICLES", 3000))
        headers = {"If-None-Match": self.etags[aid]} if aid in self.etags else {}
        with self.client.get(f"/api/faq/{aid}", headers=headers, name="/api/faq/{id}",
                             catch_response=True) as resp:
            status = resp.status_code or 0
            if status == 304 and headers:
                resp.success()
            elif 200 <= status < 300:
                etag = resp.headers.get("ETag")
                if etag:
                    self.etags[aid] = etag
                resp.success()
            else:
                resp.failure(f"HTTP {status}")


class OrderTracker(FastHttpUser):
    """Asks where orders are, in chat and through the order API."""

    weight = _env_int("PERFLAB_WEIGHT_ORDERS", 2)
    abstract = weight <= 0
    wait_time = WAIT_TIME

    def on_start(self):
        self.rng = random.Random(id(self))
        self.session = f"lt{os.getpid()}-{id(self):x}"
        self.phrasings = workload().pool("track_order", with_order=True)

    @task(2)
    def chat(self):
        oid, _known = workload().next_order_id()
        ref = oid if self.rng.random() < 0.7 else "#" + oid
        text = self.phrasings[min(int(self.rng.paretovariate(1.2)) - 1,
                                  len(self.phrasings) - 1)].replace("{order}", ref)
        with self.client.post("/api/chat", json={"session_id": self.session, "message": text},
                              name="/api/chat", catch_response=True) as resp:
            check_chat(resp)

    @task(1)
    def order(self):
        oid, known = workload().next_order_id()
        with self.client.get(f"/api/orders/{oid}", name="/api/orders/{order_id}",
                             catch_response=True) as resp:
            status = resp.status_code or 0
            if 200 <= status < 300 or (status == 404 and not known):
                resp.success()
            else:
                resp.failure(f"HTTP {status}" + (" for a known order" if known else ""))


# --------------------------------------------------------------------------- load shape
_SHAPE = shape_from_env(ENV)
if _SHAPE is not None:

    class PerflabShape(LoadTestShape):
        """The PERFLAB_SHAPE plan (bounded duration)."""

        shape = _SHAPE

        def tick(self):
            return self.shape.tick(self.get_run_time())


# --------------------------------------------------------------------------- generator CPU
_meta_state = {"cpu_warning": False, "max_cpu_warning": 0.0, "t0": None, "cpu0": None,
               "max_users": 0, "max_worker_cpu": {}}
CPU_SATURATED_PCT = 90.0  # Locust's own cpu_warning threshold


@events.spawning_complete.add_listener
def _on_spawning_complete(user_count, **_kw):
    _meta_state["max_users"] = max(_meta_state["max_users"], int(user_count))


@events.cpu_warning.add_listener
def _on_cpu_warning(environment, cpu_usage, **_kw):
    _meta_state["cpu_warning"] = True
    _meta_state["max_cpu_warning"] = max(_meta_state["max_cpu_warning"], float(cpu_usage))


def _own_cpu():
    """(user s, system s, wall s, percent of one core) of this process since test start."""
    t0, cpu0 = _meta_state["t0"], _meta_state["cpu0"]
    if t0 is None or cpu0 is None:
        return None
    t = psutil.Process().cpu_times()
    wall = time.perf_counter() - t0
    user, system = t.user - cpu0[0], t.system - cpu0[1]
    return user, system, wall, (100.0 * (user + system) / wall if wall > 0 else None)


@events.report_to_master.add_listener
def _on_report_to_master(client_id, data, **_kw):
    # worker: attach our CPU use since test start to each stats report (every ~3 s)
    own = _own_cpu()
    if own is not None:
        data["perflab_cpu"] = {"user_s": own[0], "system_s": own[1], "wall_s": own[2],
                               "cpu_percent": own[3]}


@events.worker_report.add_listener
def _on_worker_report(client_id, data, **_kw):
    # master: keep each worker's latest CPU figure (Locust's heartbeat CPU is sampled
    # every 10 s and reads 0 at first, useless for short runs)
    cpu = data.get("perflab_cpu")
    if cpu:
        _meta_state["max_worker_cpu"][client_id] = cpu


@events.test_start.add_listener
def _on_test_start(environment, **_kw):
    t = psutil.Process().cpu_times()
    _meta_state["t0"] = time.perf_counter()
    _meta_state["cpu0"] = (t.user, t.system)


@events.test_stop.add_listener
def _on_test_stop(environment, **_kw):
    path = ENV.get("PERFLAB_LOCUST_META", "").strip()
    runner = environment.runner
    if not path or isinstance(runner, WorkerRunner):
        return
    user, system, wall, cpu_pct = _own_cpu() or (None, None, None, None)
    workers = []
    worker_warning = False
    if isinstance(runner, MasterRunner):
        worker_warning = bool(getattr(runner, "worker_cpu_warning_emitted", False))
        for node in runner.clients.values():
            own = _meta_state["max_worker_cpu"].get(node.id) or {}
            workers.append({"id": node.id, "cpu_percent": own.get("cpu_percent"),
                            "cpu_user_s": own.get("user_s"), "cpu_system_s": own.get("system_s"),
                            "locust_cpu_usage": node.cpu_usage,
                            "cpu_warning_emitted": bool(node.cpu_warning_emitted)})
            worker_warning = worker_warning or bool(node.cpu_warning_emitted)
    master_warning = _meta_state["cpu_warning"] or bool(
        getattr(runner, "cpu_warning_emitted", False))
    # Locust samples CPU every 10 s and its first sample reads 0, so cpu_warning cannot
    # fire in the first ~20 s: judge by our own measurement over the test too.
    reasons = []
    if cpu_pct is not None and cpu_pct >= CPU_SATURATED_PCT:
        reasons.append(f"generator CPU {cpu_pct:.0f}% of one core over the test")
    if master_warning:
        reasons.append("Locust cpu_warning (>90% CPU) in the master/local runner")
    if worker_warning:
        reasons.append("Locust cpu_warning (>90% CPU) in a worker")
    for w in workers:
        if (w["cpu_percent"] or 0) >= CPU_SATURATED_PCT:
            reasons.append(f"worker {w['id']} CPU {w['cpu_percent']:.0f}% of one core")
    meta = {
        "schema_version": 1,
        "kind": "locust_meta",
        "load_model": "closed",
        "runner": type(runner).__name__,
        "pid": os.getpid(),
        "wall_s": wall,
        "cpu_user_s": user,
        "cpu_system_s": system,
        "cpu_percent": cpu_pct,
        "current_cpu_usage": getattr(runner, "current_cpu_usage", None),
        "cpu_warning": master_warning,
        "max_cpu_warning": _meta_state["max_cpu_warning"],
        "workers": workers,
        "worker_cpu_warning": worker_warning,
        "generator_saturated": bool(reasons),
        "saturation_reasons": reasons,
        "max_users": _meta_state["max_users"],
        "shape": _SHAPE.describe() if _SHAPE is not None else None,
        "fine_buckets": locust.stats.bucket_response_time is fine_bucket_response_time,
        "locust": getattr(locust, "__version__", "unknown"),
        "wait": ENV.get("PERFLAB_WAIT", "between:0.5,2"),
        "weights": {"Shopper": Shopper.weight, "FaqBrowser": FaqBrowser.weight,
                    "OrderTracker": OrderTracker.weight},
    }
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(meta, fh, indent=1)
    os.replace(tmp, path)
