"""The deployment answers of a run: scaling, load balancing, the CDN, the checklist, and
capacity planning, from the files their phases wrote (scaling.json, cdn.json,
checklist.json). Pure functions over the run directory; absent files are absent
sections, said once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

from .cdn import cdn_effect, format_cdn
from .checklist import format_checklist, statements
from .data import RunData
from .planning_inputs import format_scaling_plan
from .scaling import balance_table, format_scaling, scaling_table


def _load(run_dir: Path) -> Dict[str, Any]:
    from perflab.cdn import load_cdn
    from perflab.checklist import ChecklistResult
    from perflab.scaling import load_scaling

    out: Dict[str, Any] = {}
    for name, loader in (("scaling", load_scaling), ("cdn", load_cdn)):
        path = run_dir / ("%s.json" % name)
        if path.exists():
            try:
                out[name] = loader(path)
            except (ValueError, KeyError, TypeError) as exc:
                out[name + "_error"] = "%s: %s" % (path.name, exc)
    path = run_dir / "checklist.json"
    if path.exists():
        import json

        try:
            out["checklist"] = ChecklistResult.from_dict(json.loads(path.read_text()))
        except (ValueError, KeyError, TypeError) as exc:
            out["checklist_error"] = "%s: %s" % (path.name, exc)
    return out


def claim_rows(run: RunData) -> List[Dict[str, Any]]:
    """summary.csv rows (section claim) for instances, load_balancing and cdn, when their
    phases ran; 'not judged' with the reason when not."""
    got = _load(run.run_dir)
    rows: List[Dict[str, Any]] = []

    def row(item: str, metric: str, ratio: Optional[Any], lo: Optional[float],
            hi: Optional[float], n: int, verdict: str, note: str) -> Dict[str, Any]:
        return {"section": "claim", "variant": "+" + item, "compare_to": "", "item": item,
                "metric": metric, "value": "", "unit": "", "ratio": _num(ratio),
                "ci_low": _num(lo), "ci_high": _num(hi), "n": n, "verdict": verdict,
                "load_model": "open", "note": note}

    s = got.get("scaling")
    if s is not None and s.blocks:
        table = [r for r in scaling_table(s) if r.instances > 1]
        top = table[-1] if table else None
        e = top.efficiency if top is not None else None
        rows.append(row("instances", "efficiency_n%d" % (top.instances if top else 0),
                        e.estimate if e else None, e.low if e else None,
                        e.high if e else None, e.n if e else 0,
                        top.verdict if top else "not judged",
                        top.note if top else "no N > 1 measured"))
        bal = balance_table(s)
        b = bal[-1] if bal else None
        sp = b.spread if b is not None else None
        rows.append(row("load_balancing", "max_min_share", sp.mean if sp else None,
                        sp.low if sp else None, sp.high if sp else None,
                        len(b.shares) if b else 0, b.verdict if b else "not judged",
                        b.note if b else "no per-instance counts"))
    else:
        why = (getattr(s, "skipped", "") or "the deployment phase did not run (full plan, "
               "or deployment = true in a plan)") if s is None or not s.blocks else ""
        for item in ("instances", "load_balancing"):
            rows.append(row(item, "", None, None, None, 0, "not judged", why))
    c = got.get("cdn")
    if c is not None and not getattr(c, "skipped", ""):
        v = cdn_effect(c)
        r = v.ratio
        hit = ("; cache primed, hit ratio %.1f%% in the measured window" % (100 * v.hit_ratio)
               if v.hit_ratio is not None else "")
        rows.append(row("cdn", v.metric, r.estimate if r else None, r.low if r else None,
                        r.high if r else None, r.n if r else 0, v.verdict, v.note + hit))
    else:
        rows.append(row("cdn", "p50_ms", None, None, None, 0, "not judged",
                        getattr(c, "skipped", "") or "the CDN phase did not run"))
    return rows


def checklist_rows(run: RunData) -> List[Dict[str, Any]]:
    """summary.csv rows (section checklist): measured effects without a claim."""
    got = _load(run.run_dir)
    ck = got.get("checklist")
    if ck is None:
        return []
    out = []
    for st in statements(ck):
        r = st.ratio
        out.append({"section": "checklist", "variant": "", "compare_to": "",
                    "item": st.item, "metric": "", "value": "", "unit": "",
                    "ratio": _num(r.estimate if r else None),
                    "ci_low": _num(r.low if r else None),
                    "ci_high": _num(r.high if r else None), "n": r.n if r else 0,
                    "verdict": st.verdict,
                    "load_model": "open", "note": "no claim: the measured effect; " + st.note})
    return out


def format_markdown(run: RunData) -> List[str]:
    got = _load(run.run_dir)
    out = ["## Deployment: scaling, load balancing, CDN, checklist, capacity planning", ""]
    if not any(k in got for k in ("scaling", "cdn", "checklist")):
        out += ["Not measured in this run: the deployment and checklist phases run in the "
                "full plan (or with deployment = true / checklist = true).", ""]
        return out
    for key in ("scaling_error", "cdn_error", "checklist_error"):
        if key in got:
            out += ["> **Warning:** %s" % got[key], ""]
    s = got.get("scaling")
    if s is not None:
        out += [*format_scaling(s), ""]
        if s.blocks:
            out += [*format_scaling_plan(s, run), ""]
    if "cdn" in got:
        out += [*format_cdn(got["cdn"]), ""]
    if "checklist" in got:
        out += [*format_checklist(got["checklist"]), ""]
    return out


def _num(x: Any) -> str:
    if x is None:
        return ""
    try:
        return "%.6g" % float(x)
    except (TypeError, ValueError):
        return ""

