"""Formatters: an Analysis as HTML, Markdown and tidy CSV rows. They return text; only
``commands`` writes files."""

from __future__ import annotations

import base64
import math
from typing import Any, Dict, List, Mapping, Optional, Sequence

import jinja2

from perflab.catalogue import BALANCE_CLAIM_TEXT, BY_NAME, CDN_CLAIM, METRICS

from .analysis import Analysis
from .deployment import checklist_rows, claim_rows
from .deployment import format_markdown as format_deployment_markdown
from .instrument import calibrations, instrument_view
from .instrument import format_markdown as format_instrument_markdown
from .metrics import LOAD_MODEL_NOTE, METRIC_SPECS
from .stats import Ratio
from .targets import TargetResult, format_value
from .timing import format_markdown as format_time_markdown
from .timing import where_time_goes
from .verdicts import Judged

PLOT_TITLES = {
    "claims": "The guide's claims: claimed range (band) vs measured 95% interval (bar)",
    "latency_percentiles": "Latency percentiles per variant at the reference rate "
                           "(geometric mean over repeats, 95% interval)",
    "latency_vs_throughput": "Latency vs load (fixed rates and capacity probes) with the SLO "
                             "lines; drawn for variants with two or more rates",
    "capacity": "Capacity per variant (95% interval clipped at 0)",
    "resources": "RSS and CPU over time",
}
CSV_COLUMNS = ["section", "variant", "compare_to", "item", "metric", "value", "unit", "ratio",
               "ci_low", "ci_high", "n", "verdict", "load_model", "note"]


# --------------------------------------------------------------------------- small formatters
def machine_line(a: Analysis) -> str:
    """The machine in a few words."""
    m = a.run.meta.machine or {}
    parts = []
    if m.get("cpu_count"):
        parts.append("%s x %s" % (m.get("cpu_count"), m.get("cpu_model") or "CPU"))
    if m.get("mem_gb"):
        parts.append("%s GB" % _g(m["mem_gb"]))
    if m.get("python"):
        parts.append("Python %s" % m["python"])
    if m.get("platform"):
        parts.append(str(m["platform"]))
    if m.get("git_commit"):
        parts.append("git %s" % str(m["git_commit"])[:10])
    return ", ".join(parts) or "machine not recorded"


def plan_line(a: Analysis) -> str:
    """The plan in a few words."""
    p = a.run.plan
    rates = p.get("rates") or []
    parts = ["plan %s" % p.get("name", "?")]
    if rates:
        parts.append("rates %s req/s" % "/".join(_g(r) for r in rates))
    parts.append("reference %s req/s" % _g(a.run.reference_rate))
    if p.get("duration_s") is not None:
        parts.append("%ss per measurement" % _g(p["duration_s"]))
    parts.append("%d repeats" % a.run.repeats())
    if p.get("warmup_s") is not None:
        parts.append("warm-up %ss" % _g(p["warmup_s"]))
    parts.append("seed %s" % a.run.meta.seed)
    pacing = a.run.meta.machine.get("pacing") or {}
    for route in ("chat", "orders"):
        fit = pacing.get(route) or {}
        if fit.get("rate") is not None and fit.get("rate") != fit.get("plan"):
            parts.append("%s rate fitted to this machine: %s/s instead of %s/s (%s)" % (
                route, _g(fit["rate"]), _g(fit["plan"]), fit.get("why", "")))
    state = a.run.state
    parts.append(state.kind if state.kind != "incomplete" or not state.failed_rows
                 else "incomplete with failures")
    return ", ".join(parts)


def _g(x: Any) -> str:
    if x is None:
        return "?"
    if isinstance(x, float) and x.is_integer():
        return "%d" % x
    return "%g" % x if isinstance(x, (int, float)) else str(x)


def format_ratio(r: Optional[Ratio]) -> str:
    """``0.65 [0.62, 0.68]``; one repeat says the interval is unavailable."""
    if r is None:
        return "-"
    if not r.has_interval:
        return "%#.3g (interval unavailable: %d repeat)" % (r.estimate, r.n)
    return "%#.3g [%#.3g, %#.3g]" % (r.estimate, r.low or 0.0, r.high or 0.0)


def format_change(r: Optional[Ratio]) -> str:
    """The ratio as a change: ``-35% [-38%, -32%]``."""
    if r is None:
        return "-"

    def pct(x: Optional[float]) -> str:
        return "?" if x is None or not math.isfinite(x) else "%+.1f%%" % (100 * (x - 1))

    if not r.has_interval:
        return pct(r.estimate)
    return "%s [%s, %s]" % (pct(r.estimate), pct(r.low), pct(r.high))


def claim_range_text(j: Judged) -> str:
    if j.claim is None:
        return "-"
    return "%s (ratio %g..%g)" % (j.claim.text, j.claim.low, j.claim.high)


def floor_sentence(metric: str, half: float, n: Optional[int] = None) -> str:
    """What an A/A floor means for the reader, in one sentence."""
    text = ("%s: two identical services differed by up to %s: smaller effects cannot be "
            "told apart here" % (metric, _pct(half)))
    if half >= 1.0:
        text += (" (the interval is wider than the figure itself%s: more repeats narrow it)"
                 % (", with %d repeats" % n if n else ""))
    return text + "."


def _pct(x: float) -> str:
    return "%.0f%%" % (100 * x) if x >= 0.1 else "%.1f%%" % (100 * x)


def noise_text(a: Analysis) -> str:
    """The noise floor from the A/A pair(s), with what it means."""
    half = a.noise_halfwidth
    if not a.noise:
        return ("No A/A pair in this plan: the noise floor is unknown, so small effects "
                "cannot be told from drift.")
    if not half:
        return "A/A pair present, but with too few repeats for an interval."
    pairs = sorted({j.effect.label for j in a.noise})
    return "Noise floor from the A/A pair (%s): %s" % (
        "; ".join(pairs), " ".join(floor_sentence(m, h, a.run.repeats())
                                   for m, h in half.items()))


def figures_note(a: Analysis) -> List[str]:
    """Which load model produced which figure, repeats, interval method."""
    run = a.run
    n_rep = run.repeats()
    models = sorted({j.effect.load_model for j in a.claims if j.effect.load_model != "-"})
    lines = [
        "Load model: latency (p50/p95/p99, order p50) from open-loop runs at a fixed arrival "
        "rate (%s req/s for POST /api/chat), timed from the intended send time, so a stalled "
        "server is not hidden; peak throughput from open-loop blocks above capacity (the "
        "served rate); capacity, where the plan searches it, from an open-loop search; "
        "memory from the service's RSS samples; classification speed in-process (lock-step "
        "worker processes, one per variant, alternating chunk by chunk). Closed-loop "
        "(Locust) latency is not tail latency and is never used for a verdict."
        % _g(run.reference_rate),
        "Load models in the claims table: %s." % (
            ", ".join(LOAD_MODEL_NOTE.get(m, m) for m in models) or "none"),
        "Repeats: %d planned, each a fresh process per variant, measured in interleaved "
        "blocks that share their arrival schedule and messages across variants; n is the "
        "number of paired values. Interval: 95%%, over the paired log ratios: a t interval "
        "over the process means when the processes differ more than their blocks explain "
        "(F test), else the signed-rank interval over the pooled blocks; across runs, an "
        "unpaired bootstrap. One value gives no interval (insufficient data)." % n_rep,
        noise_text(a),
    ]
    return lines


# --------------------------------------------------------------------------- view model
def _target_cell(t: TargetResult) -> Dict[str, str]:
    title = "%s: %s (%s, n=%d)%s" % (t.target.name, t.target.label, t.load_model, t.n,
                                      (" - " + t.note) if t.note else "")
    return {"text": t.cell, "cls": t.status.lower().replace("/", ""), "title": title}


def targets_view(a: Analysis) -> Dict[str, Any]:
    """Variants x targets, for both renderers."""
    header = [{"name": t.name, "expr": t.label} for t in a.targets]
    rows = []
    for v in a.run.variant_names(include_aa=False):
        cells = [_target_cell(t) for t in a.targets_for(v)]
        rows.append({"variant": v, "cells": cells,
                     "failed": sum(1 for t in a.targets_for(v) if t.status == "FAIL")})
    return {"header": header, "rows": rows}


def _judged_row(j: Judged) -> Dict[str, str]:
    r = j.effect.ratio
    return {"toggle": j.toggle or "-", "claim": claim_range_text(j),
            "comparison": j.effect.label, "metric": j.effect.metric,
            "load_model": LOAD_MODEL_NOTE.get(j.effect.load_model, j.effect.load_model),
            "n": str(r.n) if r is not None else "-", "ratio": format_ratio(r),
            "change": format_change(r), "verdict": j.verdict,
            "cls": j.verdict.replace(" ", "-"),
            "note": "; ".join(dict.fromkeys(x for x in (j.note, *j.effect.notes) if x))}


_DEPLOYMENT_CLAIMS = {  # toggle -> (the guide's words, what is compared)
    "instances": (BY_NAME["instances"].claim.text if BY_NAME["instances"].claim else "",
                  "deployment phase: N = 1, 2, 3 behind nginx, equal CPU budgets"),
    "load_balancing": (BALANCE_CLAIM_TEXT,
                       "deployment phase: request shares from each instance's /metrics"),
    "cdn": (CDN_CLAIM.text, "deployment phase: nginx proxy_cache on vs off"),
}


def merge_deployment_claims(rows: List[Dict[str, str]], deployment: Sequence[Mapping[str, Any]]
                            ) -> List[Dict[str, str]]:
    """The claims table with the deployment phase's verdicts (instances, load balancing,
    CDN): a judged one replaces the row of an in-plan variant that was not judged (the
    +instances variant needs 3 CPUs), so the table and summary.csv say the same."""
    out = list(rows)
    for d in deployment:
        item = str(d["item"])
        same = [i for i, r in enumerate(out) if r["toggle"] == item]
        if same and (d["verdict"] == "not judged"
                     or any(out[i]["verdict"] != "not judged" for i in same)):
            continue
        claim, comparison = _DEPLOYMENT_CLAIMS.get(item, ("", "deployment phase"))
        ratio = "-"
        if d.get("ratio") not in ("", None):
            ratio = "%.3g" % float(d["ratio"])
            if d.get("ci_low") not in ("", None) and d.get("ci_high") not in ("", None):
                ratio += " [%.3g, %.3g]" % (float(d["ci_low"]), float(d["ci_high"]))
        row = {"toggle": item, "claim": claim, "comparison": comparison,
               "metric": str(d.get("metric") or "-"),
               "load_model": LOAD_MODEL_NOTE.get(str(d.get("load_model")), "open loop"),
               "n": str(d.get("n") or "-"), "ratio": ratio, "change": "-",
               "verdict": str(d["verdict"]), "cls": str(d["verdict"]).replace(" ", "-"),
               "note": str(d.get("note") or "")}
        out = [r for i, r in enumerate(out) if i not in same] + [row]
    return out


def _noise_row(j: Judged, repeats: int) -> Dict[str, str]:
    """An A/A row, its note led by what the floor means."""
    row = _judged_row(j)
    r = j.effect.ratio
    if r is not None and r.has_interval:
        assert r.low is not None and r.high is not None
        sentence = floor_sentence(j.effect.metric, max(abs(1 - r.low), abs(r.high - 1)),
                                  r.n or repeats)
        row["note"] = "; ".join(x for x in (sentence, row["note"]) if x)
    return row


def view(a: Analysis) -> Dict[str, Any]:
    """Everything the templates show, as strings."""
    run = a.run
    return {
        "run_id": run.meta.run_id,
        "machine": machine_line(a),
        "plan": plan_line(a),
        "warnings": a.warnings,
        "targets": targets_view(a),
        "targets_note": ("Latency, errors and CPU: open-loop fixed-rate runs at %s req/s "
                         "(median over repeats); capacity and peak: open-loop search and the "
                         "highest throughput seen; RSS: highest peak per instance (rows with a "
                         "saturated generator included: memory is the service's own). "
                         "LIMITED: only generator-limited figures; N/A: not measured; hover "
                         "a cell for details."
                         % _g(run.reference_rate)),
        "claims": merge_deployment_claims([_judged_row(j) for j in a.claims],
                                          claim_rows(run)),
        "instrument": instrument_view(a),
        "figures_note": figures_note(a),
        "noise": [_noise_row(j, a.run.repeats()) for j in a.noise],
        "effects": [_judged_row(j) for j in a.effects],
        "skipped": [{"variant": k, "reason": v} for k, v in run.skipped.items()],
        "failed": [{"variant": r.variant, "repeat": r.repeat, "measurement": r.measurement,
                    "rate": _g(r.target_rate), "status": r.status,
                    "failure": r.failure or "(no failure text)"} for r in a.failed_rows],
        "run_failures": [str(f) for f in run.meta.failures],
        "saturated": [{"variant": r.variant, "repeat": r.repeat, "measurement": r.measurement,
                       "rate": _g(r.target_rate), "achieved": "%.1f" % r.achieved_rate,
                       "gen_cpu": ("%.0f%%" % r.generator_cpu_pct
                                   if r.generator_cpu_pct is not None else "-"),
                       "reasons": r.saturation_reasons or "-"} for r in a.saturated_rows],
        "closed": [{"variant": r.variant, "repeat": r.repeat,
                    "users": _g(r.target_rate), "rps": "%.1f" % r.throughput_rps,
                    "p50": format_value(r.p50_ms, "ms") if r.p50_ms is not None else "-",
                    "p95": format_value(r.p95_ms, "ms") if r.p95_ms is not None else "-",
                    "errors": "%.2f%%" % (100 * r.error_rate)}
                   for r in run.rows if r.load_model == "closed"],
        "target_defs": [{"name": t.name, "expr": t.label, "note": t.note} for t in a.targets],
        "metric_defs": [{"metric": k, "text": v} for k, v in METRICS.items()],
        "packages": sorted((run.meta.machine or {}).get("packages", {}).items())
        if isinstance((run.meta.machine or {}).get("packages"), dict) else [],
    }


# --------------------------------------------------------------------------- HTML
_ENV = jinja2.Environment(loader=jinja2.PackageLoader("reports", "templates"),
                          autoescape=jinja2.select_autoescape(["html", "j2"]),
                          trim_blocks=True, lstrip_blocks=True,
                          undefined=jinja2.StrictUndefined)


def format_html(a: Analysis, images: Mapping[str, bytes]) -> str:
    """The self-contained HTML report; ``images`` are PNG bytes by plot name, embedded as
    base64 data URIs."""
    plots = [{"name": name, "title": PLOT_TITLES.get(name, name),
              "src": "data:image/png;base64," + base64.b64encode(png).decode("ascii")}
             for name, png in images.items()]
    return _ENV.get_template("report.html.j2").render(
        v=view(a), plots=plots, time=where_time_goes(a.run.run_dir))


# --------------------------------------------------------------------------- Markdown
def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    def cell(x: str) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(cell(h) for h in header) + " |",
           "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return out


_MD_HEADERS = {"ratio": "ratio [95% CI]", "rps": "req/s"}


def _md_dicts(items: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> List[str]:
    """A Markdown table of view rows (dicts), then a blank line."""
    return [*_md_table([_MD_HEADERS.get(k, k) for k in keys],
                       [[str(c[k]) for k in keys] for c in items]), ""]


def format_markdown(a: Analysis, plot_files: Sequence[str] = ()) -> str:
    """The report as Markdown tables (for pull requests)."""
    v = view(a)
    out = ["# perflab report: %s" % v["run_id"], "",
           "**Machine:** %s  " % v["machine"], "**Plan:** %s" % v["plan"], ""]
    for w in v["warnings"]:
        out += ["> **Warning:** %s" % w, ""]
    out += ["## Targets", "", v["targets_note"], ""]
    header = ["variant"] + ["%s (%s)" % (h["name"], h["expr"]) for h in v["targets"]["header"]]
    rows = [[r["variant"]] + [("**%s**" % c["text"]) if c["cls"] == "fail" else c["text"]
                              for c in r["cells"]] for r in v["targets"]["rows"]]
    out += [*_md_table(header, rows), "", "## The guide's claims", ""]
    out += [line for line in v["figures_note"]] + [""]
    out += _md_table(["toggle", "guide's claim", "comparison", "metric", "load model", "n",
                      "ratio [95% CI]", "change", "verdict", "note"],
                     [[c["toggle"], c["claim"], c["comparison"], c["metric"],
                       c["load_model"], c["n"], c["ratio"], c["change"],
                       "**%s**" % c["verdict"], c["note"]] for c in v["claims"]])
    out += ["", *format_instrument_markdown(a), *format_deployment_markdown(a.run)]
    if plot_files:
        out += ["", "## Plots", ""]
        out += ["![%s](%s)" % (PLOT_TITLES.get(_stem(p), _stem(p)), p) for p in plot_files]
    out += ["", *format_time_markdown(where_time_goes(a.run.run_dir))]
    out += ["## Details", "", "### Noise floor (A/A)", "", noise_text(a), ""]
    if v["noise"]:
        out += _md_dicts(v["noise"], ("comparison", "metric", "n", "ratio", "verdict", "note"))
    out += ["### Skipped variants", ""]
    out += (["- `%s`: %s" % (s["variant"], s["reason"]) for s in v["skipped"]]
            or ["None."]) + [""]
    out += ["### Failed measurements", ""]
    out += (["- `%s` repeat %s, %s at %s: %s" % (f["variant"], f["repeat"], f["measurement"],
                                                f["rate"], f["failure"].splitlines()[0]
                                                if f["failure"] else "")
             for f in v["failed"]] or ["None."]) + [""]
    out += ["### Generator saturation", ""]
    out += (["- `%s` repeat %s, %s at %s req/s (achieved %s): %s" % (
        s["variant"], s["repeat"], s["measurement"], s["rate"], s["achieved"], s["reasons"])
        for s in v["saturated"]] or ["None: every figure is the service's."]) + [""]
    if v["effects"]:
        out += ["### Every measured effect (not judged against claims)", ""]
        out += _md_dicts(v["effects"], ("comparison", "metric", "n", "ratio", "change",
                                        "verdict"))
    if v["closed"]:
        out += ["### Closed loop (Locust): throughput under a fixed number of users; its "
                "latency is not tail latency", ""]
        out += _md_dicts(v["closed"], ("variant", "repeat", "users", "rps", "p50", "p95",
                                       "errors"))
    return "\n".join(out).rstrip() + "\n"


def _stem(path: str) -> str:
    return path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


# --------------------------------------------------------------------------- CSV
def summary_rows(a: Analysis) -> List[Dict[str, Any]]:
    """Tidy rows: one per target x variant and one per judged effect."""
    out: List[Dict[str, Any]] = []
    for t in a.target_results:
        out.append({"section": "target", "variant": t.variant, "compare_to": "",
                    "item": t.target.name, "metric": t.target.metric,
                    "value": _csv_num(t.value), "unit": t.target.unit, "ratio": "",
                    "ci_low": "", "ci_high": "", "n": t.n, "verdict": t.status,
                    "load_model": t.load_model,
                    "note": "; ".join(x for x in (t.target.label, t.note) if x)})
    for section, items in (("claim", a.claims), ("aa", a.noise), ("effect", a.effects)):
        for j in items:
            r = j.effect.ratio
            unit = METRIC_SPECS[j.effect.metric].unit if j.effect.metric in METRIC_SPECS \
                else ""
            out.append({"section": section, "variant": j.effect.numerator,
                        "compare_to": j.effect.denominator, "item": j.toggle or "",
                        "metric": j.effect.metric, "value": "", "unit": unit,
                        "ratio": _csv_num(r.estimate if r else None),
                        "ci_low": _csv_num(r.low if r else None),
                        "ci_high": _csv_num(r.high if r else None),
                        "n": r.n if r else 0, "verdict": j.verdict,
                        "load_model": j.effect.load_model,
                        "note": "; ".join([j.note, *j.effect.notes])})
    # the deployment claims (instances, load balancing, CDN) from their own phases: a
    # verdict there replaces the "+instances" variant's (skipped where cores are few)
    for d in claim_rows(a.run):
        same = [i for i, r in enumerate(out) if r["section"] == "claim"
                and r["item"] == d["item"]]
        if same and d["verdict"] == "not judged":
            continue
        out = [r for i, r in enumerate(out) if i not in same] + [d]
    out += checklist_rows(a.run)
    for c in calibrations(a):
        m = c.measured
        out.append({"section": "calibration", "variant": c.variant, "compare_to": c.reference,
                    "item": c.variant.lstrip("+"), "metric": c.metric,
                    "value": _csv_num(m.mean if m else None), "unit": c.unit, "ratio": "",
                    "ci_low": _csv_num(m.low if m else None),
                    "ci_high": _csv_num(m.high if m else None), "n": m.n if m else 0,
                    "verdict": c.verdict, "load_model": "open",
                    "note": "truth %s%s (tolerance %g; %s)" % (
                        "%+g" % c.truth, "" if c.truth_upper is None else
                        " to %+.4g" % max(c.truth, c.truth_upper), c.tolerance,
                        c.truth_source)})
    return out


def _csv_num(x: Optional[float]) -> str:
    return "" if x is None else "%.6g" % x
