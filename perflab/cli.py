"""The ``perflab`` command: one dispatch table of sub-commands.

Only ``demo`` exists so far; the orchestrator (run, serve, toggles), reports
(report, compare, check) and profiles arrive with their issues, and the
command says so instead of pretending.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Dict, List, Optional

PLANNED = {
    "run": "run a plan of variants and write a report (orchestrator issue)",
    "serve": "start the service for one variant (orchestrator issue)",
    "toggles": "print the toggle catalogue (orchestrator issue)",
    "report": "render a run directory as HTML/Markdown (reports issue)",
    "compare": "compare two runs (reports issue)",
    "check": "check a run against the targets (reports issue)",
    "profile": "profile the engine (profiles issue)",
}


def cmd_demo(args: argparse.Namespace) -> int:
    """A scripted conversation through the engine: the quickest look at what is measured."""
    from engine.__main__ import main as engine_main

    return engine_main(["demo"])


COMMANDS: Dict[str, Callable[[argparse.Namespace], int]] = {"demo": cmd_demo}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perflab", description="Performance lab for the support chatbot.",
        epilog="not built yet: " + ", ".join(sorted(PLANNED)))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("demo", help=cmd_demo.__doc__)
    for name, text in PLANNED.items():
        sub.add_parser(name, help="(not built yet) " + text)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    handler = COMMANDS.get(args.command)
    if handler is None:
        print("perflab %s: not built yet — %s" % (args.command, PLANNED[args.command]),
              file=sys.stderr)
        return 2
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
