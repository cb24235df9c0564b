"""The generator's machine-readable events: one JSON object per line on stderr.

With ``--events jsonl`` the generator writes only these lines to stderr (and nothing to
stdout), so a parent process reads one stream and tells events from anything else on it
(a Python warning, a traceback) with ``parse_event``:

- ``{"event": "progress", "block": id|null, "t": s, "warm": bool, "sent": n, "rate": r,
  "p95_ms": x|null, ...}`` about once a second (also ``completed``, ``errors``,
  ``in_flight``, ``p99_ms``);
- ``{"event": "block_done", "id": ..., "file": ..., "complete": bool,
  "generator_saturated": bool}`` per block in blocks mode;
- ``{"event": "done", "file": path|null, "complete": bool, "exit_code": n}`` at the end
  (in blocks mode ``file`` is the output directory and ``files`` lists the block files);
- ``{"event": "error", "message": ...}`` on failure (bad input, target not ready, a
  crash), followed by the exit.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Dict, Optional, TextIO

__all__ = ["EVENTS", "emit", "parse_event"]

EVENTS = frozenset({"progress", "block_done", "done", "error"})


def emit(event: str, stream: Optional[TextIO] = None, **fields: Any) -> None:
    """Write one event line (flushed at once: the reader is live)."""
    out = stream if stream is not None else sys.stderr
    out.write(json.dumps({"event": event, **fields}, separators=(",", ":")) + "\n")
    out.flush()


def parse_event(line: str) -> Optional[Dict[str, Any]]:
    """The event a line carries, or None for any other line (never raises)."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        doc = json.loads(line)
    except ValueError:
        return None
    if not isinstance(doc, dict) or doc.get("event") not in EVENTS:
        return None
    return doc
