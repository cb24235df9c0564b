"""The result store: what a run directory holds, as data with a schema version.

A run directory (default ``reports/runs/<timestamp>/``):

- ``run.json``        RunMeta: machine, versions, plan, seed, schedule, skipped
                      variants with reasons, failures, complete/incomplete.
- ``results.csv``     one tidy Row per variant x repeat x measurement, appended as
                      each measurement finishes (so a crash keeps what was measured).
- ``timeseries.csv``  Sample rows: service RSS/CPU and generator CPU over time.
- ``histograms/``     the generator's raw results (open-loop JSON with encoded
                      HdrHistograms), one file per measurement, named in Row.raw_file.

Readers use ``read_rows``/``read_samples``/``RunMeta.load``; reports never
import the orchestrator.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

SCHEMA_VERSION = 1

MEASUREMENTS = ("fixed_rate", "capacity", "orders", "locust", "classify")
LOAD_MODELS = ("open", "closed", "in-process")


@dataclass(frozen=True)
class Row:
    """One measurement of one variant in one repeat (a line of results.csv)."""

    run_id: str
    variant: str
    repeat: int  # 1-based: the process (a fresh service per repeat)
    measurement: str  # fixed_rate | capacity | orders | locust | classify
    load_model: str  # open (fixed arrival rate) | closed (Locust users) | in-process
    route: str  # e.g. "POST /api/chat"
    status: str  # ok | failed | interrupted
    target_rate: float = 0.0  # requests/s asked for (open loop); users for closed loop
    achieved_rate: float = 0.0  # requests/s sent
    throughput_rps: float = 0.0  # successful responses/s
    duration_s: float = 0.0
    requests: int = 0
    ok: int = 0
    errors: int = 0
    error_rate: float = 0.0
    errors_by_kind: str = "{}"  # JSON object, e.g. {"http_503": 3, "timeout": 1}
    p50_ms: Optional[float] = None
    p90_ms: Optional[float] = None
    p95_ms: Optional[float] = None
    p99_ms: Optional[float] = None
    p999_ms: Optional[float] = None
    max_ms: Optional[float] = None
    mean_ms: Optional[float] = None
    rss_peak_mb: Optional[float] = None
    rss_mean_mb: Optional[float] = None
    service_cpu_pct: Optional[float] = None  # % of one core, mean over the window
    cpu_ms_per_request: Optional[float] = None  # service CPU per successful response
    generator_cpu_pct: Optional[float] = None
    generator_saturated: bool = False  # figure limited by the load generator
    saturation_reasons: str = ""
    capacity_rps: Optional[float] = None  # capacity search result (measurement=capacity)
    # "bracketed": a probe above capacity_rps failed the targets (capacity lies between);
    # "lower": no probe failed before the budget or max rate ran out: a lower bound only
    capacity_bound: str = ""
    capacity_fail_rps: Optional[float] = None  # the lowest failing probe rate
    classify_rate: Optional[float] = None  # messages/s (measurement=classify)
    instances: int = 1
    interpreter: str = "cpython"
    started_at: float = 0.0  # unix time
    ended_at: float = 0.0
    raw_file: str = ""  # relative path under the run directory
    failure: str = ""  # exit code and last log lines when status=failed
    # 1-based block inside the repeat's process (0: the measurement is not in blocks);
    # blocks of the same (repeat, block) share their arrival schedule and messages
    block: int = 0

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_csv(cls, d: Mapping[str, str]) -> Row:
        values: Dict[str, Any] = {}
        for f in fields(cls):
            raw = d.get(f.name, "")
            values[f.name] = _parse(f.type, raw, f.default)
        return cls(**values)


def _parse(kind: Any, raw: str, default: Any) -> Any:
    kind = str(kind)
    if kind == "str":
        return raw
    if raw == "":
        if default is MISSING:
            raise ValueError("results.csv: a required %s value is empty" % kind)
        return default
    if kind == "int":
        return int(float(raw))
    if kind == "bool":
        return raw.strip().lower() in ("1", "true", "yes")
    return float(raw)  # float and Optional[float]


ROW_COLUMNS: List[str] = [f.name for f in fields(Row)]


@dataclass(frozen=True)
class Sample:
    """One resource sample (a line of timeseries.csv)."""

    run_id: str
    variant: str
    repeat: int
    phase: str  # startup | warmup | fixed_rate@R | capacity@R | orders | locust | idle
    t: float  # seconds since the run started
    rss_mb: float  # service (all its processes)
    cpu_pct: float  # service, % of one core
    generator_cpu_pct: Optional[float] = None

    @classmethod
    def from_csv(cls, d: Mapping[str, str]) -> Sample:
        gen = d.get("generator_cpu_pct", "")
        return cls(d["run_id"], d["variant"], int(d["repeat"]), d["phase"], float(d["t"]),
                   float(d["rss_mb"]), float(d["cpu_pct"]), float(gen) if gen else None)


SAMPLE_COLUMNS: List[str] = [f.name for f in fields(Sample)]


@dataclass
class RunMeta:
    """run.json: everything the run was given and how it ended."""

    run_id: str
    started_at: float
    plan: Dict[str, Any]
    seed: int
    machine: Dict[str, Any]
    ended_at: Optional[float] = None
    complete: bool = False
    interrupted: bool = False
    schedule: List[Dict[str, Any]] = field(default_factory=list)  # [{variant, repeat}] order
    skipped: List[Dict[str, str]] = field(default_factory=list)  # [{variant, reason}]
    failures: List[Dict[str, Any]] = field(default_factory=list)
    variants: Dict[str, Dict[str, Any]] = field(default_factory=dict)  # name -> Variant.to_dict
    # toggle name -> {metric, low, high, text, lower_is_better} (from the catalogue)
    claims: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    configs: Dict[str, Any] = field(default_factory=dict)  # variant -> /api/config as recorded
    target: Optional[str] = None  # external target URL when --target was used
    # the generator's floor and ceiling against a trivial server, measured in this run
    instrument: Dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunMeta:
        if int(d.get("schema_version", 0)) != SCHEMA_VERSION:
            raise ValueError("run.json schema_version %r, expected %d"
                             % (d.get("schema_version"), SCHEMA_VERSION))
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def save(self, run_dir: Path) -> None:
        """Write run.json atomically (a crash mid-write keeps the previous one)."""
        tmp = run_dir / "run.json.tmp"
        tmp.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True))
        os.replace(tmp, run_dir / "run.json")

    @classmethod
    def load(cls, run_dir: Path) -> RunMeta:
        return cls.from_dict(json.loads((Path(run_dir) / "run.json").read_text()))


class CsvAppender:
    """Appends dataclass rows to a CSV, header first, flushed after every row."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.path = path
        self.columns = list(columns)
        new = not path.exists() or path.stat().st_size == 0
        self._fh = open(path, "a", newline="", encoding="utf-8")  # noqa: SIM115 - kept open
        self._writer = csv.DictWriter(self._fh, fieldnames=self.columns)
        if new:
            self._writer.writeheader()
            self._fh.flush()

    def append(self, row: Any) -> None:
        d = asdict(row)
        self._writer.writerow({k: ("" if d[k] is None else d[k]) for k in self.columns})
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


def read_rows(run_dir: Path) -> List[Row]:
    return list(_read(Path(run_dir) / "results.csv", Row.from_csv))


def read_samples(run_dir: Path) -> List[Sample]:
    return list(_read(Path(run_dir) / "timeseries.csv", Sample.from_csv))


def _read(path: Path, parse: Any) -> Iterator[Any]:
    if not path.exists():
        return iter(())
    with open(path, newline="", encoding="utf-8") as fh:
        return iter([parse(d) for d in csv.DictReader(fh)])
