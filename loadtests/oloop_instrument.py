"""Checks of the target and of the instrument itself.

- ``check_ready(url, timeout)``: does anything answer HTTP at ``url``? One clear
  ``NotReadyError`` line when not, after at most ``timeout`` seconds (any HTTP status
  counts as an answer: the question is whether the server is up, not whether it is
  healthy).
- ``measure_instrument(trivial_url, ...)``: the generator's own floor and ceiling against
  ``python -m loadtests.trivial_server`` (a server with the service's routes and no
  work). It runs the generator as a subprocess in blocks mode (so it can be pinned with
  ``cpus`` exactly like a measuring run): one block at ``light_rate`` with constant
  arrivals (its p50 is the generator's overhead at light load), then one block per rate
  of ``rates``. A rate is *held* when the achieved rate is >= 98% of the scheduled
  one, the run is not flagged saturated and nothing failed. ``ceiling_rps`` is the
  highest held rate; when the trivial server runs out of CPU first (its service time
  climbs) the ceiling is a lower bound of the generator's, which ``limited_by`` says.
  Also ``python -m loadtests.openloop --selfcheck --url URL``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence
from urllib.parse import urlsplit

from loadtests.oloop_events import parse_event

__all__ = ["HELD_RATIO", "NotReadyError", "check_ready", "measure_instrument"]

HELD_RATIO = 0.98
ROOT = Path(__file__).resolve().parents[1]


class NotReadyError(RuntimeError):
    """The target does not answer HTTP."""


def check_ready(url: str, timeout: float = 5.0, path: str = "/healthz") -> Dict[str, Any]:
    """Wait up to ``timeout`` s for an HTTP answer from ``url``; {"status", "elapsed_s"}.

    Raises NotReadyError with one line naming the URL and the last failure."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise NotReadyError(f"not an http:// URL: {url!r}")
    host, port = parts.hostname, parts.port or 80
    start = time.monotonic()
    deadline = start + timeout
    last = "no attempt"
    request = (f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
               "User-Agent: perflab-openloop\r\n\r\n").encode()
    while True:
        left = deadline - time.monotonic()
        try:
            with socket.create_connection((host, port), timeout=max(0.05, min(left, 2.0))) as s:
                s.sendall(request)
                head = s.recv(64)
            if head.startswith(b"HTTP/1.") and head[9:12].isdigit():
                return {"status": int(head[9:12]), "elapsed_s": time.monotonic() - start}
            last = f"not an HTTP answer: {head[:30]!r}"
        except OSError as exc:
            last = exc.strerror or type(exc).__name__
        if time.monotonic() + 0.05 >= deadline:
            raise NotReadyError(f"target {url} does not answer ({last}; tried for "
                                f"{timeout:g} s)")
        time.sleep(0.05)


def measure_instrument(trivial_url: str,
                       rates: Sequence[float] = (5000, 10000, 15000, 20000), *,
                       duration: float = 3.0, warmup: float = 0.5, light_rate: float = 1000,
                       route: str = "POST /api/chat", cpus: Sequence[int] = (),
                       processes: int = 1, python: str = sys.executable, seed: int = 42,
                       out_dir: Optional[str] = None) -> Dict[str, Any]:
    """The generator's p50 at light load and the highest rate it holds (module docstring).

    Returns {"light": {...}, "ceiling_rps": float|None, "probes": [...], ...}; raises
    NotReadyError when the trivial server does not answer, RuntimeError when the
    generator fails."""
    check_ready(trivial_url, 5.0)
    blocks = [{"id": "light", "url": trivial_url, "route": route, "rate": light_rate,
               "duration": duration, "warmup": warmup, "arrival": "constant", "seed": seed}]
    blocks += [{"id": f"r{rate:g}", "url": trivial_url, "route": route, "rate": rate,
                "duration": duration, "warmup": warmup, "arrival": "poisson", "seed": seed}
               for rate in rates]
    with tempfile.TemporaryDirectory(prefix="openloop-selfcheck-") as tmp:
        out = Path(out_dir) if out_dir else Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        spec = out / "blocks.json"
        spec.write_text(json.dumps({"blocks": blocks}))
        argv = [python, "-m", "loadtests.openloop", "--blocks", str(spec), "--out", str(out),
                "--events", "jsonl", "--processes", str(processes)]
        if cpus:
            argv += ["--cpus", ",".join(str(c) for c in cpus)]
        budget = len(blocks) * (duration + warmup + 15.0) + 30.0
        proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True,
                              timeout=budget, check=False)
        events = [e for e in map(parse_event, proc.stderr.splitlines()) if e]
        errs = [e["message"] for e in events if e["event"] == "error"]
        if proc.returncode != 0 or errs:
            raise RuntimeError("generator failed (exit %d): %s" % (
                proc.returncode, errs[-1] if errs else proc.stderr.strip()[-500:]))
        results = {b["id"]: json.loads((out / f"{b['id']}.json").read_text())
                   for b in blocks}
    light = results["light"]
    probes: List[Dict[str, Any]] = []
    ceiling: Optional[float] = None
    for b, rate in zip(blocks[1:], rates):
        d = results[b["id"]]
        ratio = d["achieved_rate"] / d["scheduled_rate"] if d["scheduled_rate"] else 0.0
        held = (ratio >= HELD_RATIO and not d["generator_saturated"]
                and d["counts"]["error_count"] == 0 and d["counts"]["ok"] > 0)
        probes.append({
            "rate": rate, "achieved_rate": round(d["achieved_rate"], 1),
            "achieved_ratio": round(ratio, 4), "held": held,
            "generator_saturated": d["generator_saturated"],
            "saturation_reasons": d["saturation_reasons"],
            "p50_ms": d["latency"]["percentiles_ms"]["p50"],
            "p99_ms": d["latency"]["percentiles_ms"]["p99"],
            "service_p99_ms": d["service_time"]["percentiles_ms"]["p99"],
            "lag_p99_ms": d["generator_lag"]["percentiles_ms"]["p99"],
            "cpu_percent": round(d["cpu_percent"], 1),
            "errors": d["counts"]["errors"]})
        if held and (ceiling is None or rate > ceiling):
            ceiling = float(rate)
    first_fail = next((p for p in probes if not p["held"]), None)
    limited_by = None
    if first_fail is not None:
        limited_by = "generator" if first_fail["generator_saturated"] else "trivial server"
    return {
        "schema_version": 1, "url": trivial_url, "route": route, "cpus": list(cpus),
        "processes": processes, "duration_s": duration,
        "light": {"rate": light_rate, "arrival": "constant",
                  "p50_ms": light["latency"]["percentiles_ms"]["p50"],
                  "p99_ms": light["latency"]["percentiles_ms"]["p99"],
                  "service_p50_ms": light["service_time"]["percentiles_ms"]["p50"],
                  "lag_p50_ms": light["generator_lag"]["percentiles_ms"]["p50"],
                  "cpu_percent": round(light["cpu_percent"], 1),
                  "generator_saturated": light["generator_saturated"]},
        "ceiling_rps": ceiling, "held_ratio": HELD_RATIO, "limited_by": limited_by,
        "probes": probes,
    }
