"""Regex matchers: the REGEX_PRECOMPILE toggle lives here and nowhere else.

Baseline ("Current"): each call passes the pattern *string* to ``re.search``,
as most hand-written bots do. That is not a strawman: ``re`` keeps its own
cache of compiled patterns (512 entries in CPython 3.11), so the per-call cost
is a cache look-up, not a compilation, as long as the bot has fewer patterns
than the cache holds. Optimised: patterns compiled once at start-up.
"""

from __future__ import annotations

import re
from typing import Callable, Iterator, List, Match, Optional, Pattern


class Matcher:
    """One regular expression, matched either per call or precompiled."""

    __slots__ = ("_compiled", "finditer", "flags", "pattern", "search")

    def __init__(self, pattern: str, flags: int = 0, precompile: bool = False) -> None:
        self.pattern = pattern
        self.flags = flags
        self._compiled: Optional[Pattern[str]] = None
        self.search: Callable[[str], Optional[Match[str]]]
        self.finditer: Callable[[str], Iterator[Match[str]]]
        re.compile(pattern, flags)  # fail fast on a bad pattern in both modes
        if precompile:
            compiled = re.compile(pattern, flags)
            self._compiled = compiled
            self.search = compiled.search
            self.finditer = compiled.finditer
        else:
            self.search = self._search_per_call
            self.finditer = self._finditer_per_call

    def _search_per_call(self, text: str) -> Optional[Match[str]]:
        return re.search(self.pattern, text, self.flags)

    def _finditer_per_call(self, text: str) -> Iterator[Match[str]]:
        return re.finditer(self.pattern, text, self.flags)

    @property
    def precompiled(self) -> bool:
        return self._compiled is not None


def count_patterns(matchers: List[Matcher]) -> int:
    """Distinct (pattern, flags) pairs: compare with re's cache size (``re._MAXCACHE``)."""
    return len({(m.pattern, m.flags) for m in matchers})
