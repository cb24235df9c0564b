"""A synthetic run directory with KNOWN effects, written through perflab.results.

Every variant's figures are the baseline's times known multipliers, with
seeded multiplicative noise per value and a drift shared by all variants of a
repeat (as a shared machine gives). Expected verdicts (default specs):

- ``+redis_cache``          p50 x0.65            -> confirmed (claim 0.60..0.70)
- ``+async``                capacity x1.5        -> not confirmed (claim 3..5); repeat 3's
                                                   capacity row generator-saturated
- ``+lazy_faq``             rss x0.9             -> not confirmed (claim <= 0.40)
- ``+regex_precompile``     classify x0.85       -> worse
- ``+order_index``          order p50 x1.0       -> not confirmed: no measurable effect
                                                   (baseline's draws, shuffled; the
                                                   interval holds 1 and excludes x0.5)
- ``+pypy``                 capacity x[1.8..2.2] -> partial (claim 2..3); rss x2.2 (FAIL)
- ``+redis_cache:tiered``   every fixed-rate row generator-saturated -> not judged
- ``+instances``            skipped               -> not judged
- ``optimised-redis_cache`` optimised/it p50 0.8  -> not confirmed
- ``baseline@aa``           baseline's draws, shuffled -> no measurable effect on every metric
- ``+gzip``                 a failed fixed-rate row in repeat 2 (no claim)
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from perflab.catalogue import CATALOGUE
from perflab.results import ROW_COLUMNS, SAMPLE_COLUMNS, CsvAppender, Row, RunMeta, Sample
from perflab.variants import resolve

RATES = (20.0, 50.0, 100.0)
REFERENCE = 50.0
BASE = {"p50_ms": 40.0, "p90_ms": 90.0, "p95_ms": 150.0, "p99_ms": 600.0, "p999_ms": 900.0,
        "max_ms": 1200.0, "mean_ms": 55.0, "rss": 300.0, "cpu": 45.0, "capacity": 50.0,
        "classify": 1500.0, "order_p50": 5.0, "error_rate": 0.005}
LOAD_SCALE = {20.0: 0.8, 50.0: 1.0, 100.0: 3.0}  # latency multiplier per arrival rate
LATENCY = ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms", "mean_ms")

SPECS: Dict[str, Dict[str, Any]] = {
    "baseline": {},
    "baseline@aa": {"shuffle": True},
    "+redis_cache": {"latency": 0.65, "rss": 1.05},
    "+redis_cache:tiered": {"latency": 0.6, "saturate_fixed": True},
    "+async": {"capacity": 1.5, "saturate_capacity_repeat": 3},
    "+lazy_faq": {"rss": 0.9},
    "+regex_precompile": {"classify": 0.85},
    "+order_index": {"order": 1.0, "shuffle": True},
    "+pypy": {"capacity_by_repeat": [1.8, 2.2, 1.9, 2.1, 2.0], "rss": 2.2},
    "+gzip": {"latency": 1.05, "fail_repeat": 2},
    "optimised": {"latency": 0.5, "capacity": 1.6, "rss": 0.85},
    "optimised-redis_cache": {"latency": 0.625, "capacity": 1.55, "rss": 0.8},
}
SKIPPED = {"+instances": "needs cores>=3: this machine has 2 CPUs"}

EXPECTED_CLAIMS = {
    "+redis_cache": "confirmed", "+async": "not confirmed", "+lazy_faq": "not confirmed",
    "+regex_precompile": "worse", "+order_index": "not confirmed", "+pypy": "partial",
    "+redis_cache:tiered": "not judged", "+instances": "not judged",
    "optimised-redis_cache": "not confirmed",
}


class _Noise:
    """Seeded multiplicative noise; 'shuffled' variants reuse the baseline's draws rotated
    by one repeat, so they differ from it only by chance (an honest A/A)."""

    def __init__(self, seed: int, repeats: int, sigma: float) -> None:
        self.rng = random.Random(seed)
        self.sigma = sigma
        self.repeats = repeats
        self.drift = {k: math.exp(self.rng.gauss(0, 0.04)) for k in range(1, repeats + 1)}
        self.cache: Dict[Any, float] = {}

    def __call__(self, variant: str, repeat: int, key: str, shuffle: bool = False) -> float:
        if shuffle:
            variant, repeat = "baseline", repeat % self.repeats + 1
        k = (variant, repeat, key)
        if k not in self.cache:
            self.cache[k] = math.exp(self.rng.gauss(0, self.sigma))
        return self.cache[k]


def _row(run_id: str, variant: str, repeat: int, **kw: Any) -> Row:
    return Row(run_id=run_id, variant=variant, repeat=repeat, **kw)


def make_run(root: Path, repeats: int = 5, seed: int = 7, sigma: float = 0.015,
             specs: Optional[Mapping[str, Mapping[str, Any]]] = None,
             skipped: Optional[Mapping[str, str]] = None,
             regress: Optional[Mapping[str, float]] = None, run_id: str = "fake-run",
             locust: bool = True) -> Path:
    """Write run.json, results.csv and timeseries.csv under ``root``; return it.

    ``regress``: variant -> factor on every latency figure (an injected regression).
    """
    specs = dict(SPECS if specs is None else specs)
    skipped = dict(SKIPPED if skipped is None else skipped)
    regress = dict(regress or {})
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    noise = _Noise(seed, repeats, sigma)
    names = list(specs)
    schedule = [{"variant": v, "repeat": k} for k in range(1, repeats + 1) for v in names]
    meta = RunMeta(
        run_id=run_id, started_at=1_700_000_000.0, seed=seed,
        plan={"name": "fake", "rates": list(RATES), "reference_rate": REFERENCE,
              "duration_s": 10, "repeats": repeats, "warmup_s": 2},
        machine={"cpu_count": 2, "cpu_model": "Synthetic CPU", "mem_gb": 8,
                 "python": "3.11.7", "platform": "Linux-x86_64", "git_commit": "abc1234def",
                 "packages": {"aiohttp": "3.9.5", "locust": "2.43.4"}},
        ended_at=1_700_000_600.0, complete=True, schedule=schedule,
        skipped=[{"variant": v, "reason": r} for v, r in skipped.items()],
        variants={v: resolve(v).to_dict() for v in list(names) + list(skipped)},
        claims={t.name: asdict(t.claim) for t in CATALOGUE if t.claim is not None})
    meta.save(root)
    rows = CsvAppender(root / "results.csv", ROW_COLUMNS)
    samples = CsvAppender(root / "timeseries.csv", SAMPLE_COLUMNS)
    t = 0.0
    for item in schedule:
        v, k = str(item["variant"]), int(item["repeat"])
        spec = specs[v]
        sh = bool(spec.get("shuffle"))
        drift = noise.drift[k]
        lat = float(spec.get("latency", 1.0)) * regress.get(v, 1.0)
        cap = BASE["capacity"] * drift ** -1 * noise(v, k, "capacity", sh)
        if "capacity_by_repeat" in spec:
            base_cap = BASE["capacity"] * drift ** -1 * noise("baseline", k, "capacity")
            cap = base_cap * spec["capacity_by_repeat"][(k - 1) % len(spec["capacity_by_repeat"])]
        else:
            cap *= float(spec.get("capacity", 1.0))
        rss = BASE["rss"] * float(spec.get("rss", 1.0)) * noise(v, k, "rss", sh)
        cpu = BASE["cpu"] * drift * noise(v, k, "cpu", sh)
        common = {"instances": 1, "interpreter": "pypy" if "pypy" in v else "cpython",
                  "started_at": 1_700_000_000.0 + t, "ended_at": 1_700_000_010.0 + t}
        for rate in RATES:
            failed = spec.get("fail_repeat") == k and rate == REFERENCE
            sat = bool(spec.get("saturate_fixed"))
            thr = rate * 0.995 if rate <= cap else cap + (rate - cap) * 0.76
            lat_vals = {c: BASE[c] * LOAD_SCALE[rate] * lat * drift * noise(v, k, c + str(rate), sh)
                        for c in LATENCY}
            if failed:
                rows.append(_row(run_id, v, k, measurement="fixed_rate", load_model="open",
                                 route="POST /api/chat", status="failed", target_rate=rate,
                                 failure="service exited with code 1\nTraceback ...\n"
                                         "OSError: [Errno 98] address already in use",
                                 **common))
                continue
            requests = int(rate * 10)
            errors = round(requests * BASE["error_rate"])
            rows.append(_row(
                run_id, v, k, measurement="fixed_rate", load_model="open",
                route="POST /api/chat", status="ok", target_rate=rate,
                achieved_rate=rate * (0.9 if sat else 0.999), throughput_rps=thr,
                duration_s=10.0, requests=requests, ok=requests - errors, errors=errors,
                error_rate=errors / requests, errors_by_kind='{"http_503": %d}' % errors,
                rss_peak_mb=rss, rss_mean_mb=rss * 0.95, service_cpu_pct=cpu,
                generator_cpu_pct=95.0 if sat else 40.0, generator_saturated=sat,
                saturation_reasons="generator CPU 95% of one core (>= 90%)" if sat else "",
                raw_file="histograms/%s-%d-fixed-%g.json" % (v, k, rate),
                **lat_vals, **common))
        cap_sat = spec.get("saturate_capacity_repeat") == k
        rows.append(_row(
            run_id, v, k, measurement="capacity", load_model="open", route="POST /api/chat",
            status="ok", target_rate=cap, achieved_rate=cap, throughput_rps=cap * 0.99,
            duration_s=10.0, requests=int(cap * 10), ok=int(cap * 10), p50_ms=60.0,
            p95_ms=190.0, p99_ms=450.0, rss_peak_mb=rss * 1.02, service_cpu_pct=cpu * 1.3,
            capacity_rps=cap, generator_saturated=cap_sat,
            saturation_reasons="achieved rate below 95% of target" if cap_sat else "",
            **common))
        rows.append(_row(  # the overload block the throughput claims are judged on
            run_id, v, k, measurement="peak", load_model="open", route="POST /api/chat",
            status="ok", target_rate=cap * 1.3, achieved_rate=cap * 1.3,
            throughput_rps=cap * 1.1, duration_s=1.0, requests=int(cap * 1.3),
            ok=int(cap * 1.3), p50_ms=300.0, p95_ms=600.0, rss_peak_mb=rss * 1.1,
            service_cpu_pct=99.0, generator_saturated=cap_sat, block=1,
            saturation_reasons="generator CPU 95%" if cap_sat else "", **common))
        order = BASE["order_p50"] * float(spec.get("order", 1.0)) * drift * noise(v, k, "order",
                                                                                    sh)
        rows.append(_row(
            run_id, v, k, measurement="orders", load_model="open",
            route="GET /api/orders/{id}", status="ok", target_rate=REFERENCE,
            achieved_rate=REFERENCE, throughput_rps=REFERENCE, duration_s=10.0,
            requests=500, ok=500, p50_ms=order, p95_ms=order * 3, p99_ms=order * 5,
            rss_peak_mb=rss, service_cpu_pct=cpu * 0.5, **common))
        classify = BASE["classify"] * float(spec.get("classify", 1.0)) / drift * noise(
            v, k, "classify", sh)
        rows.append(_row(run_id, v, k, measurement="classify", load_model="in-process",
                         route="intent classifier", status="ok", duration_s=5.0,
                         classify_rate=classify, interpreter=common["interpreter"]))
        if locust and v == "baseline" and k == 1:
            rows.append(_row(run_id, v, k, measurement="locust", load_model="closed",
                             route="POST /api/chat", status="ok", target_rate=50,
                             achieved_rate=41.0, throughput_rps=41.0, duration_s=10.0,
                             requests=410, ok=410, p50_ms=35.0, p95_ms=120.0, p99_ms=200.0,
                             rss_peak_mb=rss, service_cpu_pct=cpu, **common))
        for i in range(12):
            samples.append(Sample(run_id, v, k, "warmup" if i < 2 else "fixed_rate@50",
                                  t + i, rss * (1 - 0.15 * math.exp(-i)),
                                  cpu * (0.6 if i < 2 else 1.0) * noise(v, k, "cpu%d" % i),
                                  40.0))
        t += 40.0
    rows.close()
    samples.close()
    return root


def expected_claims() -> Dict[str, str]:
    return dict(EXPECTED_CLAIMS)

