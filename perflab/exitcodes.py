"""Exit codes of every perflab command: one definition, read by the CLI, the gates and the docs.

CI scripts branch on these, so each outcome a gate can reach has its own code
and none of them is 0 unless the run was judged and passed.
"""

from __future__ import annotations

from typing import Dict

OK = 0
REGRESSION = 1  # compare: a metric regressed significantly beyond the tolerance
INCOMPLETE_RUN = 1  # run: finished, but a measurement failed (results kept)
USAGE = 2  # bad input: arguments, plan, targets file, run directory, port; compare: the
#            runs cannot be compared (nothing comparable, or different set-ups)
UNJUDGEABLE = 3  # check: the run is incomplete, interrupted, has a failed measurement or a
#                  variant without data for a target: it cannot pass (--allow-incomplete)
TARGET_DOWN = 4  # run --target: the target does not answer its readiness check
START_FAILED = 5  # serve: a process the variant needs did not start
THRESHOLDS = 99  # check: a target was missed (k6's code for failed thresholds)
INTERRUPTED = 130  # Ctrl-C / SIGTERM (128 + SIGINT, as shells report it)

DESCRIPTIONS: Dict[str, Dict[int, str]] = {
    "run": {OK: "complete: every planned measurement finished",
            INCOMPLETE_RUN: "finished, but a measurement failed (see the report)",
            USAGE: "bad input (plan, option, target URL)",
            TARGET_DOWN: "--target does not answer GET /healthz",
            INTERRUPTED: "interrupted (Ctrl-C or SIGTERM); partial results kept"},
    "check": {OK: "every target judged and met on a complete run",
              USAGE: "bad input (run directory, targets file, variant)",
              UNJUDGEABLE: "the run cannot pass: incomplete, interrupted, a failed "
                           "measurement, or a variant without data for a target",
              THRESHOLDS: "a target was missed"},
    "compare": {OK: "no significant regression",
                REGRESSION: "a significant regression beyond the tolerance",
                USAGE: "bad input, nothing comparable on a side, or the two runs were "
                       "made under different set-ups (compatibility id)"},
    "serve": {USAGE: "bad input (unknown variant, port busy or out of range)",
              START_FAILED: "a process did not start (its last log lines are shown)"},
}


def epilog(command: str) -> str:
    """The exit-code table for ``command``'s --help."""
    lines = ["exit codes:"]
    lines += ["  %3d  %s" % (code, text) for code, text in DESCRIPTIONS[command].items()]
    return "\n".join(lines)
