"""The claims table takes the deployment phase's verdicts (reports/render.py)."""

from __future__ import annotations

from typing import Any, Dict

from reports.render import merge_deployment_claims


def _row(toggle: str, verdict: str) -> Dict[str, str]:
    return {"toggle": toggle, "claim": "", "comparison": "", "metric": "", "load_model": "",
            "n": "-", "ratio": "-", "change": "-", "verdict": verdict, "cls": "",
            "note": "skipped"}


def _dep(item: str, verdict: str, ratio: Any = 1.03) -> Dict[str, Any]:
    return {"item": item, "metric": "efficiency_n3", "ratio": ratio, "ci_low": 0.77,
            "ci_high": 1.39, "n": 4, "verdict": verdict, "load_model": "open", "note": "n"}


def test_a_judged_deployment_claim_replaces_a_not_judged_variant_row() -> None:
    rows = merge_deployment_claims([_row("async", "partial"), _row("instances", "not judged")],
                                   [_dep("instances", "partial"), _dep("cdn", "confirmed")])
    by = {r["toggle"]: r for r in rows}
    assert [r["toggle"] for r in rows] == ["async", "instances", "cdn"]
    assert by["instances"]["verdict"] == "partial"
    assert by["instances"]["ratio"] == "1.03 [0.77, 1.39]"
    assert "near-linear" in by["instances"]["claim"] and "60%" in by["cdn"]["claim"]


def test_a_judged_variant_row_is_kept_and_not_judged_adds_only_when_missing() -> None:
    rows = merge_deployment_claims([_row("instances", "confirmed")],
                                   [_dep("instances", "partial"),
                                    _dep("load_balancing", "not judged", ratio="")])
    by = {r["toggle"]: r for r in rows}
    assert by["instances"]["verdict"] == "confirmed"  # the in-plan measurement stands
    assert by["load_balancing"]["verdict"] == "not judged" and by["load_balancing"]["ratio"] == "-"
