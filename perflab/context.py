"""The one run context, passed explicitly to every phase: no globals."""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, List, Optional

from .machine import ROOT, Capabilities, Pinning
from .plan import Plan
from .procs import Child
from .progress import Display
from .results import CsvAppender, Row, RunMeta, Sample
from .stack import Stack
from .variants import Variant

if TYPE_CHECKING:
    from .phases import Phase


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
    """One run: its plan, files, processes and what it has learned so far."""

    plan: Plan
    options: Options
    run_dir: Path
    meta: RunMeta
    stack: Stack
    rows: CsvAppender
    samples: CsvAppender
    caps: Capabilities
    pinning: Pinning
    t0: float
    display: Display
    base_env: Dict[str, str]
    generator: Optional[Child] = None  # the generator running now: stopped first on a stop
    peak_rates: Dict[str, float] = field(default_factory=dict)  # variant -> overload rate
    instrument_ceiling: Optional[float] = None  # req/s the generator held (this run)
    runnable: List[Variant] = field(default_factory=list)
    phases: List[Phase] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_sample(self, s: Sample) -> None:
        with self._lock:
            self.samples.append(s)

    def add_row(self, r: Row) -> None:
        with self._lock:
            self.rows.append(r)

    def set_generator(self, child: Optional[Child]) -> None:
        self.generator = child

    @property
    def data_seed(self) -> str:
        return self.base_env.get("DATA_SEED", "42")

    @property
    def gen_flags(self) -> List[str]:
        """The flags every generator call of this run shares (data set, events, remote)."""
        from .measure import generator_flags

        return generator_flags(self.data_seed, self.base_env.get("ORDERS_COUNT"),
                               self.options.allow_remote)

    def fail(self, variant: str, repeat: int, kind: str, text: str) -> None:
        """Record a failure in run.json and say it once on the console."""
        import time

        self.meta.failures.append({"variant": variant, "repeat": repeat, "kind": kind,
                                   "detail": text, "at": time.time()})
        self.display.message("FAILED %s r%d (%s): %s" % (variant, repeat, kind,
                                                         text.splitlines()[0] if text
                                                         else "no detail"))
