"""The live display of a run: one ``rich.progress`` bar over the plan's planned seconds.

The bar's total is the sum of the phases' estimates; each finished piece of
work advances it by what it was planned to take, so the ETA corrects itself by
the pace so far. The description is the current phase; the live field shows
the generator's own events (rate, p95). Without a terminal it prints plain
lines, one per phase, so a CI log stays readable.
"""

from __future__ import annotations

import sys
from typing import Optional

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Display:
    def __init__(self, total_s: float, live: Optional[bool] = None) -> None:
        self.total_s = max(total_s, 1.0)
        self.console = Console(file=sys.stderr)
        self.live = self.console.is_terminal if live is None else live
        self.head = ""
        self._progress: Optional[Progress] = None
        self._task: Optional[TaskID] = None
        if self.live:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                TextColumn("{task.fields[live]}"), console=self.console, transient=False)
            self._progress.start()
            self._task = self._progress.add_task("starting", total=self.total_s, live="")

    def phase(self, head: str) -> None:
        self.head = head
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=head, live="")
        else:
            print(head, file=sys.stderr, flush=True)

    def live_line(self, text: str) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, live=text)

    def advance(self, planned_s: float) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, planned_s)

    def message(self, text: str) -> None:
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
