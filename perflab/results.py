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
import hashlib
import json
import os
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

SCHEMA_VERSION = 1

MEASUREMENTS = ("fixed_rate", "capacity", "orders", "locust", "classify")
LOAD_MODELS = ("open", "closed", "in-process")
PERCENTILE_COLUMNS = ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms", "mean_ms")


class ResultsError(ValueError):
    """A run directory's file cannot be read: the message names the file, line and column."""


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
    def from_csv(cls, d: Mapping[str, Optional[str]]) -> Row:
        values: Dict[str, Any] = {}
        for f in fields(cls):
            raw = d.get(f.name) or ""
            try:
                values[f.name] = _parse(f.type, raw, f.default)
            except ValueError:
                raise ValueError("column %s: %r is not a valid %s" % (f.name, raw[:40], f.type)
                                 ) from None
        return cls(**values)


def _parse(kind: Any, raw: str, default: Any) -> Any:
    kind = str(kind)
    if kind == "str":
        return raw
    if raw == "":
        if default is MISSING:
            raise ValueError("a required %s value is empty" % kind)
        return default
    if kind == "int":
        return int(float(raw))
    if kind == "bool":
        return raw.strip().lower() in ("1", "true", "yes")
    return float(raw)  # float and Optional[float]


def fail_without_success(row: Row) -> Row:
    """A measurement in which no request succeeded is a failed measurement, never a row of
    zero latencies: its percentiles become None (no data) and its status ``failed``.

    Capacity probes are judged by the search itself (a probe with no success fails the
    targets) and do not pass through here.
    """
    if (row.status != "ok" or row.ok > 0 or row.load_model == "in-process"
            or row.measurement == "capacity"):
        return row
    kinds = row.errors_by_kind if row.errors_by_kind not in ("", "{}") else "no response"
    why = ("no request succeeded: %d sent, %d errors %s" % (row.requests, row.errors, kinds)
           if row.requests else "no request was sent")
    nulls: Dict[str, Any] = {c: None for c in PERCENTILE_COLUMNS}
    return Row(**{**asdict(row), **nulls, "status": "failed", "throughput_rps": 0.0,
                  "failure": why})


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
    def from_csv(cls, d: Mapping[str, Optional[str]]) -> Sample:
        def get(k: str) -> str:
            v = d.get(k)
            if v is None or v == "":
                raise ValueError("column %s is empty" % k)
            return v

        gen = d.get("generator_cpu_pct") or ""
        return cls(get("run_id"), get("variant"), int(get("repeat")), get("phase"),
                   float(get("t")), float(get("rss_mb")), float(get("cpu_pct")),
                   float(gen) if gen else None)


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
    tool_version: str = ""  # perflab.__version__ of the run
    # how figures were produced: generator, closed-loop tool, local or external target,
    # instance override (see measurement_mechanism)
    mechanism: Dict[str, Any] = field(default_factory=dict)
    # calibration truths as the service realised them: variant -> repeat -> {sum_s, count}
    # (the /metrics summary a KnownEffect names, read at the end of each repeat)
    realised: Dict[str, Dict[str, Dict[str, float]]] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["compat_id"] = self.compat_id  # recorded for other tools; recomputed on load
        return d

    @property
    def compat_parts(self) -> Dict[str, str]:
        """Short hashes of what makes figures comparable: tool version, the plan's
        measurement settings, the machine kind and the measurement mechanism."""
        return compat_parts(self.tool_version, self.plan, self.machine,
                            self.mechanism or measurement_mechanism(self.target, None))

    @property
    def compat_id(self) -> str:
        """pyperformance's idea: runs with different ids must not be compared."""
        return _digest(self.compat_parts)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunMeta:
        if not isinstance(d, Mapping):
            raise ResultsError("run.json: not a JSON object")
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
        path = Path(run_dir) / "run.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ResultsError("%s: not valid JSON (%s): the file is damaged" % (path, exc)
                               ) from None
        try:
            return cls.from_dict(data)
        except TypeError as exc:
            raise ResultsError("%s: unexpected content (%s)" % (path, exc)) from None


# Plan keys that choose *what* is measured or how often, not *how*: two runs that differ
# only in these measure each variant the same way.
PLAN_SELECTION_KEYS = frozenset(["name", "variants", "capacity_for", "locust_for", "repeats",
                                 "profile_messages", "profile_memory"])
MACHINE_KIND_KEYS = ("cpu_model", "cpu_count", "mem_gb", "implementation", "python_minor")


def measurement_mechanism(target: Optional[str], instances: Optional[int]) -> Dict[str, Any]:
    """How a run's figures are produced (beside the plan): which generators, against a
    service the lab started or an external target, and any instance-count override."""
    return {"open_loop": "loadtests.openloop", "closed_loop": "locust",
            "target": "external" if target else "local", "instances": instances}


def machine_kind(machine: Mapping[str, Any]) -> Dict[str, Any]:
    """The machine facts that change figures (not its hostname, load or git commit)."""
    py = str(machine.get("python") or "")
    kind = {k: machine.get(k) for k in MACHINE_KIND_KEYS if k != "python_minor"}
    kind["python_minor"] = ".".join(py.split(".")[:2]) or None
    return kind


def plan_settings(plan: Mapping[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in plan.items() if k not in PLAN_SELECTION_KEYS}


def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def compat_parts(tool_version: str, plan: Mapping[str, Any], machine: Mapping[str, Any],
                 mechanism: Mapping[str, Any]) -> Dict[str, str]:
    return {"tool": tool_version or "unrecorded", "plan": _digest(plan_settings(plan)),
            "machine": _digest(machine_kind(machine)), "mechanism": _digest(dict(mechanism))}


def compat_differences(a: RunMeta, b: RunMeta) -> List[str]:
    """What differs between two runs' set-ups, one phrase each ([] when compatible)."""
    out: List[str] = []
    if a.compat_parts["tool"] != b.compat_parts["tool"]:
        out.append("perflab version %s vs %s" % (a.tool_version or "unrecorded",
                                                 b.tool_version or "unrecorded"))
    pa, pb = plan_settings(a.plan), plan_settings(b.plan)
    out += ["plan %s %r vs %r" % (k, pa.get(k), pb.get(k)) for k in sorted(set(pa) | set(pb))
            if pa.get(k) != pb.get(k)]
    ma, mb = machine_kind(a.machine), machine_kind(b.machine)
    out += ["machine %s %r vs %r" % (k, ma.get(k), mb.get(k)) for k in MACHINE_KIND_KEYS
            if ma.get(k) != mb.get(k)]
    ea = a.mechanism or measurement_mechanism(a.target, None)
    eb = b.mechanism or measurement_mechanism(b.target, None)
    out += ["mechanism %s %r vs %r" % (k, ea.get(k), eb.get(k))
            for k in sorted(set(ea) | set(eb)) if ea.get(k) != eb.get(k)]
    return out


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
    """Every row of results.csv; ResultsError (naming the line) on any damage."""
    return load_rows(run_dir, allow_truncated=False)[0]


def load_rows(run_dir: Path, allow_truncated: bool = True) -> Tuple[List[Row], List[str]]:
    """results.csv's rows and what was wrong with the file: a last line cut off mid-row
    (a crash while writing) is dropped and reported when ``allow_truncated``; any other
    damage raises ResultsError."""
    return _read(Path(run_dir) / "results.csv", Row.from_csv, allow_truncated)


def read_samples(run_dir: Path) -> List[Sample]:
    return _read(Path(run_dir) / "timeseries.csv", Sample.from_csv, True)[0]


def _read(path: Path, parse: Callable[[Mapping[str, Optional[str]]], Any],
          allow_truncated: bool) -> Tuple[List[Any], List[str]]:
    if not path.exists():
        return [], []
    out: List[Any] = []
    problems: List[str] = []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            text = fh.read()
    except UnicodeDecodeError:
        raise ResultsError("%s: not UTF-8 text: the file is damaged" % path) from None
    lines = text.splitlines(keepends=True)
    reader = csv.DictReader(lines)
    records: List[Tuple[int, Dict[str, Optional[str]]]] = []
    try:
        for d in reader:
            records.append((reader.line_num, d))
    except csv.Error as exc:  # e.g. the file ends inside a quoted field
        where = "%s line %d" % (path.name, reader.line_num)
        if not allow_truncated:
            raise ResultsError("%s: %s: the file is cut off or damaged" % (where, exc)
                               ) from None
        problems.append("%s is cut off (%s): the rest of the file was ignored" % (where, exc))
    header = reader.fieldnames or []
    cut = bool(records) and not problems and not text.endswith("\n")
    for i, (line, d) in enumerate(records):
        where = "%s line %d" % (path.name, line)
        got = len([v for k, v in d.items() if k is not None and v is not None])
        if cut and i == len(records) - 1:  # every row written ends with a line break
            if not allow_truncated:
                raise ResultsError("%s is cut off (%d of %d columns): the run stopped while "
                                   "writing it" % (where, got, len(header)))
            problems.append("%s is cut off (%d of %d columns) and was ignored"
                            % (where, got, len(header)))
            continue
        if None in d or None in d.values():
            raise ResultsError("%s has %d columns, the header %d: the file is damaged"
                               % (where, got + len(d.get(None) or ()), len(header)))  # type: ignore[call-overload]
        try:
            out.append(parse(d))
        except (ValueError, TypeError) as exc:
            raise ResultsError("%s: %s" % (where, exc)) from None
    return out, problems
