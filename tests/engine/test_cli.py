"""``python -m engine``: the classify interface is public, so its shape is pinned here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str = "", env_extra: Optional[Dict[str, str]] = None
        ) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "engine", *args], input=stdin, text=True,
                          capture_output=True, cwd=ROOT, env=env, timeout=120)


def test_classify_writes_one_json_object_per_line() -> None:
    proc = run("classify", stdin="where is my order B204518?\n\nhello\nrefund me 12,50 €\n")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["text"] for r in rows] == ["where is my order B204518?", "hello",
                                         "refund me 12,50 €"]
    assert [r["intent"] for r in rows] == ["track_order", "greeting", "get_refund"]
    for r in rows:
        assert set(r) >= {"text", "intent", "confidence", "entities"}
        assert 0 < r["confidence"] <= 1
    assert {"type": "order_id", "value": "B204518", "text": "B204518", "start": 18,
            "end": 25} in rows[0]["entities"]
    assert rows[2]["entities"][0]["value"] == "12.50 EUR"


def test_evaluate_prints_accuracy_and_per_intent_table(tmp_path: Path) -> None:
    f = tmp_path / "mini.jsonl"
    f.write_text('{"text": "hello there", "intent": "greeting"}\n'
                 '{"text": "cancel my order", "intent": "cancel_order"}\n'
                 '{"text": "cancel my order please", "intent": "track_order"}\n')
    proc = run("evaluate", str(f), "--errors", "5")
    assert proc.returncode == 0, proc.stderr
    assert "accuracy: 66.67% (3 messages)" in proc.stdout
    assert "cancel_order" in proc.stdout and "precision" in proc.stdout
    strict = run("evaluate", str(f), "--min-accuracy", "0.9")
    assert strict.returncode == 1


def test_evaluate_reports_the_share_of_faq_fallbacks_per_intent(tmp_path: Path) -> None:
    f = tmp_path / "fallbacks.jsonl"
    f.write_text('{"text": "cancel my order", "intent": "cancel_order"}\n'
                 '{"text": "zzqx blorp", "intent": "cancel_order"}\n'
                 '{"text": "is the lamp waterproof", "intent": "faq"}\n')
    proc = run("evaluate", str(f))
    assert proc.returncode == 0, proc.stderr
    assert "fell back to faq: 50.00% of the messages with an intent" in proc.stdout
    row = next(line for line in proc.stdout.splitlines() if line.startswith("cancel_order"))
    assert row.split()[-1] == "50.0%"
    js = json.loads(run("evaluate", str(f), "--json").stdout)
    assert js["fallback"] == 0.5
    assert {s["intent"]: s["fallback"] for s in js["per_intent"]}["cancel_order"] == 0.5


def test_bad_toggle_is_a_clear_error() -> None:
    proc = run("classify", stdin="hi\n", env_extra={"ORDER_INDEX": "btree"})
    assert proc.returncode == 2
    assert "ORDER_INDEX" in proc.stderr and "scan, hash" in proc.stderr
