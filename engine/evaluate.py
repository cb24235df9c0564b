"""Accuracy and per-intent precision/recall of the classifier on a labelled file.

Also, per intent, the share of its messages that fell back to ``faq`` (low confidence:
no rule or concept scored): those are answered from the help centre, which is a softer
miss than a wrong intent, so it is reported apart.

Pure functions over (gold, predicted) pairs; the command prints the table.
Python 3.9-compatible.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

from .types import FAQ_INTENT


@dataclass(frozen=True)
class IntentScore:
    intent: str
    precision: float
    recall: float
    support: int
    fallback: float  # share of this intent's messages classified as ``faq``


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    total: int
    per_intent: Tuple[IntentScore, ...]
    errors: Tuple[Tuple[str, str, str], ...]  # (text, gold, predicted)
    fallback: float = 0.0  # share of non-faq messages that fell back to ``faq``

    def to_dict(self) -> Dict[str, object]:
        return {"accuracy": self.accuracy, "total": self.total, "fallback": self.fallback,
                "per_intent": [s.__dict__ for s in self.per_intent],
                "errors": [list(e) for e in self.errors]}


def load_labelled(path: Path) -> List[Tuple[str, str]]:
    """(text, intent) pairs from a JSON-lines file of {"text", "intent"} objects."""
    out: List[Tuple[str, str]] = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                out.append((str(row["text"]), str(row["intent"])))
            except (ValueError, KeyError) as exc:
                raise ValueError("%s:%d: not a {text, intent} object (%s)" % (path, n, exc)
                                 ) from None
    return out


def score(rows: Iterable[Tuple[str, str, str]]) -> Evaluation:
    """Evaluation of (text, gold, predicted) triples."""
    rows = list(rows)
    labels = sorted({g for _, g, _ in rows} | {p for _, _, p in rows})
    per: List[IntentScore] = []
    for label in labels:
        tp = sum(1 for _, g, p in rows if g == label and p == label)
        fp = sum(1 for _, g, p in rows if g != label and p == label)
        fn = sum(1 for _, g, p in rows if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        fell = sum(1 for _, g, p in rows if g == label and p == FAQ_INTENT
                   and label != FAQ_INTENT)
        fallback = fell / (tp + fn) if tp + fn else 0.0
        per.append(IntentScore(label, round(precision, 4), round(recall, 4), tp + fn,
                               round(fallback, 4)))
    correct = sum(1 for _, g, p in rows if g == p)
    accuracy = correct / len(rows) if rows else 0.0
    errors = tuple((t, g, p) for t, g, p in rows if g != p)
    fell = sum(1 for _, g, p in rows if g != FAQ_INTENT and p == FAQ_INTENT)
    intents = sum(1 for _, g, _ in rows if g != FAQ_INTENT)
    return Evaluation(round(accuracy, 4), len(rows), tuple(per), errors,
                      round(fell / intents, 4) if intents else 0.0)


def format_evaluation(ev: Evaluation, show_errors: int = 0) -> List[str]:
    lines = ["accuracy: %.2f%% (%d messages)" % (ev.accuracy * 100, ev.total),
             "fell back to faq: %.2f%% of the messages with an intent" % (ev.fallback * 100),
             "",
             "%-26s %9s %7s %8s %9s" % ("intent", "precision", "recall", "support",
                                        "fallback")]
    for s in ev.per_intent:
        fallback = "-" if s.intent == FAQ_INTENT else "%.1f%%" % (s.fallback * 100)
        lines.append("%-26s %9.3f %7.3f %8d %9s" % (s.intent, s.precision, s.recall,
                                                     s.support, fallback))
    if show_errors:
        lines.append("")
        lines.append("first %d errors (gold -> predicted):" % min(show_errors, len(ev.errors)))
        for text, gold, pred in ev.errors[:show_errors]:
            lines.append("  %-22s -> %-22s %s" % (gold, pred, text))
    return lines
