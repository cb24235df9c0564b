"""The release gate behind ``perflab check``: pure functions over a loaded run.

It fails closed. A run that was interrupted, has no end time, has a failed
measurement, a scheduled variant x repeat without rows, a damaged results.csv,
or a checked variant without data for a target it plans to measure cannot
pass: exit UNJUDGEABLE (3), distinct from a missed target (THRESHOLDS, 99).
``allow_incomplete`` judges what is there instead; a missed target is then 99.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from perflab import exitcodes

from .data import RunData
from .targets import FAIL, NOT_PLANNED, PASS, Target, TargetResult, evaluate


def format_check(results: Sequence[TargetResult]) -> List[str]:
    """One line per target: ``  FAIL  P99  p99 < 500 ms: 612 ms (open, 5 repeats)``."""
    lines = []
    for t in results:
        value = t.cell.split(" ", 1)[1] if t.value is not None else (t.note or "-")
        note = ": %s" % t.note if t.value is not None and t.note else ""
        lines.append("  %-7s %-10s %-26s %s (%s, %d repeat%s)%s" % (
            t.status, t.target.name, t.target.label, value, t.load_model, t.n,
            "" if t.n == 1 else "s", note))
    return lines


def unjudged(results: Sequence[TargetResult]) -> List[TargetResult]:
    """Targets the plan measures for the variant but that got no PASS/FAIL figure."""
    return [r for r in results if r.status not in (PASS, FAIL) and r.note != NOT_PLANNED]


def run_blockers(run: RunData, variants: Sequence[str]) -> List[str]:
    """Why the run cannot pass for ``variants``: run-wide damage always counts; failed or
    unmeasured measurements count for the checked variants (and failures naming none)."""
    state = run.state
    chosen = set(variants)
    out: List[str] = []
    if run.meta.interrupted:
        out.append("the run was interrupted (Ctrl-C or SIGTERM)")
    if run.meta.ended_at is None and not run.meta.interrupted:
        out.append("run.json has no end time: the run is still going or perflab was killed")
    out += list(run.problems)
    failed = sorted({"%s %s r%d" % (r.variant, r.measurement, r.repeat)
                     for r in state.failed_rows if r.variant in chosen})
    if failed:
        out.append("failed or cut-short measurement(s): %s" % ", ".join(failed))
    rowless = [f for f in run.meta.failures
               if (f.get("variant") in chosen or not f.get("variant"))
               and not any(r.variant == f.get("variant") and r.repeat == f.get("repeat")
                           for r in state.failed_rows)]
    if rowless:
        out.append("failure(s) recorded in run.json: %s" % "; ".join(
            "%s r%s %s: %s" % (f.get("variant", "-"), f.get("repeat", "-"), f.get("kind", "-"),
                               str(f.get("detail", "")).splitlines()[0][:120]
                               if f.get("detail") else "") for f in rowless))
    never = ["%s r%d" % u for u in state.unmeasured if u[0] in chosen]
    if never:
        out.append("never measured: %s" % ", ".join(never))
    return out


def check_run(run: RunData, variant: Optional[str], targets: Sequence[Target],
              allow_incomplete: bool = False) -> Tuple[List[str], int]:
    """Lines to print and the exit code (see the module doc and perflab.exitcodes)."""
    names = run.variant_names(include_aa=True)
    if variant is not None and variant not in names:
        return ["perflab check: no variant %r in %s (has: %s)"
                % (variant, run.run_dir, ", ".join(names) or "none")], exitcodes.USAGE
    chosen = [variant] if variant is not None else [
        n for n in run.variant_names(include_aa=False) if n not in run.skipped]
    lines = ["perflab check %s: %d target(s), reference rate %s req/s, run %s"
             % (run.meta.run_id, len(targets), run.reference_rate, run.state.kind)]
    missed: List[str] = []
    gaps: List[str] = []
    judged = 0
    for name in chosen:
        if name in run.skipped:
            lines.append("%s: skipped (%s): nothing to check" % (name, run.skipped[name]))
            gaps.append("%s was skipped" % name)
            continue
        results = evaluate(run, name, targets)
        fails = [r for r in results if r.status == FAIL]
        holes = unjudged(results)
        judged += sum(1 for r in results if r.status in (PASS, FAIL))
        lines.append("%s: %s" % (name, "FAIL (%d missed)" % len(fails) if fails else
                                 "no data for %d target(s)" % len(holes) if holes else
                                 "ok" if any(r.status == PASS for r in results) else
                                 "nothing judged"))
        lines += format_check(results)
        missed += ["%s %s" % (name, r.target.label) for r in fails]
        gaps += ["%s %s: %s" % (name, r.target.name, (r.note or r.status.lower()))
                 for r in holes]
    blockers = run_blockers(run, chosen)
    if missed:
        lines.append("missed: " + "; ".join(missed))
    if (blockers or gaps) and not allow_incomplete:
        lines += ["not judged: " + g for g in gaps]
        lines += ["run: " + b for b in blockers]
        lines.append("cannot pass: the run is not a complete record of %s (exit %d; "
                     "--allow-incomplete judges what is there)"
                     % ("the checked variant" if variant else "its variants",
                        exitcodes.UNJUDGEABLE))
        return lines, exitcodes.UNJUDGEABLE
    if blockers or gaps:
        lines.append("--allow-incomplete: judging what is there despite: %s"
                     % "; ".join(blockers + gaps))
    if missed:
        return lines, exitcodes.THRESHOLDS
    if judged == 0:
        lines.append("no target could be judged (no usable figures): not a pass")
        return lines, exitcodes.UNJUDGEABLE
    lines.append("every judged target met")
    return lines, exitcodes.OK
