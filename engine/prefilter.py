"""Which intent rules can match a message at all, from the words the message starts.

Why: the classifier ran every one of its ~150 patterns on every message, although a
message mentions the first words of only a few. Most rules begin, after a word boundary,
with one of a few literal words (``\\b(?:cancel|call off|abort)\\b.*...``); a match must
then start at a token that begins with one of them. ``anchors(pattern)`` reads those
prefixes from the parsed pattern (``sre_parse``), or says ``None`` when it cannot be sure
(the rule then always runs). ``RuleIndex`` maps prefixes to rules, so a message costs a
dict look-up per token prefix instead of a regex search per rule. Exact: a test checks
that scores with and without the index are identical on every labelled message.
Python 3.9-compatible.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Sequence, Set


def _parser_module() -> ModuleType:
    try:  # Python 3.11+
        return importlib.import_module("re._parser")
    except ImportError:  # Python 3.9/3.10, PyPy
        return importlib.import_module("sre_parse")


_sre_parse: Any = _parser_module()

MAX_PREFIX = 8  # prefixes are cut to this length (token prefixes are indexed up to it)
MAX_ANCHORS = 400


def _name(op: Any) -> str:
    return str(getattr(op, "name", op))


def _heads(items: Sequence[Any], anchored: bool) -> Optional[Set[str]]:
    """Literal prefixes one of which every match of ``items`` starts with, at a word start.

    None when unknown (a character class first, an optional element, no word boundary).
    """
    i = 0
    while i < len(items):
        op, av = items[i]
        name = _name(op)
        if name == "AT":
            if _name(av) in ("AT_BOUNDARY", "AT_BEGINNING", "AT_BEGINNING_STRING"):
                anchored = True
            i += 1
            continue
        if name in ("ASSERT", "ASSERT_NOT"):  # look-arounds are zero-width
            i += 1
            continue
        break
    if i >= len(items):
        return None
    op, av = items[i]
    name = _name(op)
    if name == "LITERAL":
        if not anchored:
            return None
        word = ""
        j = i
        while j < len(items) and _name(items[j][0]) == "LITERAL" and len(word) < MAX_PREFIX:
            word += chr(items[j][1])
            j += 1
        return {word}
    if name == "BRANCH":
        out: Set[str] = set()
        for alt in av[1]:
            got = _heads(list(alt), anchored)
            if got is None:
                return None
            out |= got
        return out
    if name == "SUBPATTERN":
        return _heads(list(av[-1]), anchored)
    if name in ("MAX_REPEAT", "MIN_REPEAT") and av[0] >= 1:
        return _heads(list(av[2]), anchored)
    return None


def anchors(pattern: str, flags: int = 0) -> Optional[FrozenSet[str]]:
    """Token prefixes (first word, at most MAX_PREFIX letters) a match must begin with."""
    try:
        parsed = _sre_parse.parse(pattern, flags)
    except Exception:  # an exotic pattern simply always runs
        return None
    heads = _heads(list(parsed), False)
    if not heads:
        return None
    out = set()
    for h in heads:
        first = h.split(" ", 1)[0]
        if not first or not first.strip() or first != h[:len(first)]:
            return None
        out.add(first[:MAX_PREFIX])
    if len(out) > MAX_ANCHORS or "" in out:
        return None
    return frozenset(out)


def token_prefixes(normalized: str) -> Set[str]:
    """Every prefix (up to MAX_PREFIX characters) of every token of the message."""
    out: Set[str] = set()
    add = out.add
    for tok in normalized.split():
        for n in range(1, min(len(tok), MAX_PREFIX) + 1):
            add(tok[:n])
    return out


class RuleIndex:
    """Rule numbers by anchor prefix, plus the rules that must always run."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.by_prefix: Dict[str, List[int]] = {}
        self.always: List[int] = []
        n = 0
        for n, pattern in enumerate(patterns):
            found = anchors(pattern)
            if found is None:
                self.always.append(n)
            else:
                for prefix in found:
                    self.by_prefix.setdefault(prefix, []).append(n)
        self.size = n + 1

    def candidates(self, normalized: str) -> List[int]:
        """The rule numbers that can match ``normalized``, in rule order."""
        by_prefix = self.by_prefix
        picked = set(self.always)
        for p in token_prefixes(normalized):
            hit = by_prefix.get(p)
            if hit is not None:
                picked.update(hit)
        return sorted(picked)
