"""The report's instrument section: can this run's figures be trusted, and how finely?

Three checks, each read from the run itself:

- **The generator**, against a trivial server in the same run (run.json
  ``instrument``): its latency floor at light load and the highest rate it held.
  A peak offered above that ceiling is generator-limited and never judged.
- **The A/A noise floor**: two identical variants in separate processes,
  measured exactly like every comparison. Each metric's half-width is the
  smallest effect the run can tell apart; ``AA_FLOORS`` is what a decisive
  run must reach.
- **Calibration**: variants that inject a known cost (``perflab.catalogue``
  ``KnownEffect``). The measured difference's 95% interval must hold the truth;
  otherwise the lab is wrong, not the toggle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from perflab.catalogue import BY_NAME

from .analysis import Analysis
from .metrics import METRIC_SPECS, metric_sample
from .stats import NestedMean, nested_difference

# The A/A half-widths a decisive run reaches (fraction of the ratio), per metric
AA_FLOORS: Dict[str, float] = {"p50_ms": 0.05, "p95_ms": 0.15, "capacity_rps": 0.15,
                               "peak_rps": 0.15, "order_p50_ms": 0.10, "rss_peak_mb": 0.03,
                               "classify_rate": 0.03}


@dataclass(frozen=True)
class Calibration:
    variant: str
    reference: str
    metric: str
    truth: float
    tolerance: float
    unit: str
    measured: Optional[NestedMean]
    recovered: Optional[bool]  # None: no interval
    truth_source: str = "nominal"  # or how the realised upper end was measured
    truth_upper: Optional[float] = None  # the truth is [truth, truth_upper] when set

    @property
    def verdict(self) -> str:
        if self.recovered is None:
            return "insufficient data"
        return "recovered" if self.recovered else "NOT recovered: the lab is off"


def calibrations(a: Analysis) -> List[Calibration]:
    """Every calibration variant of the run against its reference."""
    run = a.run
    out: List[Calibration] = []
    for name in run.variant_names(include_aa=False):
        info = run.variant_info(name)
        t = BY_NAME.get(str(info.get("toggle") or ""))
        known = getattr(t, "known", None) if t is not None else None
        if known is None or name in run.skipped:
            continue
        ref = str(info.get("compare_to") or "baseline")
        measured: Optional[NestedMean] = None
        if known.metric in METRIC_SPECS:
            x = metric_sample(run, name, known.metric)
            y = metric_sample(run, ref, known.metric)
            measured = nested_difference(x.blocks, y.blocks)
        upper, source = realised_truth(run.meta.realised.get(name) or {}, known)
        rec = (known.recovered(measured.low, measured.high, upper)
               if measured is not None else None)
        out.append(Calibration(name, ref, known.metric, known.truth, known.tolerance,
                               known.unit, measured, rec, source, upper))
    return out


def realised_truth(per_repeat: Dict[str, Dict[str, float]], known: Any
                   ) -> Tuple[Optional[float], str]:
    """(upper end of the truth, where it comes from): the mean of the amounts the service
    realised over every repeat (a KnownEffect with ``realised``, in ms), else None."""
    count = sum(float(r.get("count", 0)) for r in per_repeat.values())
    if not getattr(known, "realised", "") or count <= 0:
        return None, "nominal"
    mean = 1000.0 * sum(float(r.get("sum_s", 0.0)) for r in per_repeat.values()) / count
    return mean, ("between the nominal %+g %s and the mean realised by the service, "
                  "%+.3g %s over %d requests (its timer's overshoot and the wait for the "
                  "loop, part of which other requests gain)"
                  % (known.truth, known.unit, mean, known.unit, count))


def aa_floors(a: Analysis) -> List[Dict[str, Any]]:
    """Per A/A metric: the half-width measured, the floor it should reach, and a sentence."""
    out = []
    for metric, half in sorted(a.noise_halfwidth.items()):
        floor = AA_FLOORS.get(metric)
        out.append({
            "metric": metric, "halfwidth": half, "floor": floor,
            "within": None if floor is None else half <= floor,
            "meaning": ("two identical services differed by up to %.1f%% on %s: smaller "
                        "effects cannot be told apart here" % (100 * half, metric))})
    return out


def generator_lines(a: Analysis) -> List[str]:
    i = a.run.meta.instrument or {}
    if not i:
        return ["The generator was not measured against a trivial server in this run: its "
                "floor and ceiling are unknown."]
    lines = []
    if i.get("floor_p50_ms") is not None:
        lines.append("Generator floor: p50 %.3f ms at %g req/s (constant arrivals) against "
                     "a trivial server, measured in this run: no latency below it is the "
                     "service's." % (float(i["floor_p50_ms"]), float(i["floor_rate"] or 0)))
    if i.get("ceiling_rps") is not None:
        lines.append("Generator ceiling: it held %g req/s (>= 98%% of the schedule, not "
                     "saturated)%s; a peak offered above it is marked generator-limited and "
                     "not judged." % (float(i["ceiling_rps"]),
                                      " — the most it was asked for" if i.get("ceiling_note")
                                      else ""))
    else:
        lines.append("Generator ceiling: it held none of the rates tried (%s)." % ", ".join(
            "%g" % float(p.get("rate", 0)) for p in i.get("probes", [])))
    return lines


def instrument_view(a: Analysis) -> Dict[str, Any]:
    cal = []
    for c in calibrations(a):
        m = c.measured
        cal.append({
            "variant": c.variant, "reference": c.reference, "metric": c.metric,
            "truth": ("%+g %s" % (c.truth, c.unit) if c.truth_upper is None else
                      "%+g to %+.3g %s" % (c.truth, max(c.truth, c.truth_upper), c.unit)),
            "truth_source": c.truth_source,
            "measured": _difference(m, c.unit),
            "n": 0 if m is None else m.n, "verdict": c.verdict,
            "method": "" if m is None else m.describe()})
    return {"generator": generator_lines(a), "floors": aa_floors(a), "calibration": cal}


def _difference(m: Optional[NestedMean], unit: str) -> str:
    if m is None:
        return "-"
    if m.low is None or m.high is None:
        return "%+.3g %s (no interval)" % (m.mean, unit)
    return "%+.3g %s [%+.3g, %+.3g]" % (m.mean, unit, m.low, m.high)


def format_markdown(a: Analysis) -> List[str]:
    v = instrument_view(a)
    out = ["## The instrument", ""]
    out += ["- " + line for line in v["generator"]]
    out.append("")
    if v["floors"]:
        out += ["| A/A metric | half-width | floor | within | what it means |",
                "|---|---|---|---|---|"]
        for f in v["floors"]:
            out.append("| %s | ±%.1f%% | %s | %s | %s |" % (
                f["metric"], 100 * f["halfwidth"],
                "-" if f["floor"] is None else "±%g%%" % (100 * f["floor"]),
                "-" if f["within"] is None else ("yes" if f["within"] else "**no**"),
                f["meaning"]))
        out.append("")
    else:
        out += ["No A/A pair in this plan: the noise floor is unknown.", ""]
    if v["calibration"]:
        out += ["Known effects injected into the service (calibration): the measured "
                "difference's 95% interval must hold the truth.", "",
                "| variant | vs | metric | truth | measured [95% CI] | n | verdict |",
                "|---|---|---|---|---|---|---|"]
        for c in v["calibration"]:
            out.append("| %s | %s | %s | %s | %s | %d | %s |" % (
                c["variant"], c["reference"], c["metric"], c["truth"], c["measured"], c["n"],
                c["verdict"]))
        out += [""] + ["- truth of %s: %s" % (c["variant"], c["truth_source"])
                       for c in v["calibration"] if c["truth_source"] != "nominal"]
        out.append("")
    else:
        out += ["No calibration variant in this plan.", ""]
    return out
