"""The ``perflab`` command: one dispatch table of sub-commands.

Commands return an exit code; only this module prints or parses arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional

from .machine import ROOT


def cmd_run(args: argparse.Namespace) -> int:
    """Run a plan (quick by default) and write a report."""
    from .plan import load_plan
    from .runner import Options, run_plan

    try:
        plan = load_plan(args.plan)
    except (ValueError, KeyError) as exc:
        print("error: %s" % exc.args[0] if exc.args else exc, file=sys.stderr)
        return 2
    if args.variants:
        from dataclasses import replace

        plan = replace(plan, variants=tuple(args.variants.split(",")))
    if args.repeats:
        from dataclasses import replace

        plan = replace(plan, repeats=args.repeats)
    try:
        plan.validate()
    except (ValueError, KeyError) as exc:
        print("error: %s" % (exc.args[0] if exc.args else exc), file=sys.stderr)
        return 2
    if args.target:
        from loadtests.openloop import RemoteTargetError, check_loopback

        try:
            check_loopback(args.target, args.allow_remote)
        except RemoteTargetError as exc:
            print("error: %s" % exc, file=sys.stderr)
            return 2
    options = Options(out_dir=Path(args.out), target=args.target,
                      allow_remote=args.allow_remote, instances=args.instances,
                      redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                      report=not args.no_report)
    print("plan %s: %d variants x %d repeats, about %.0f s (estimate)"
          % (plan.name, len(plan.variants), plan.repeats, plan.estimate_s()), file=sys.stderr)
    run_dir = run_plan(plan, options)
    from .results import RunMeta

    meta = RunMeta.load(run_dir)
    print("run directory: %s" % run_dir)
    report = run_dir / "report.html"
    if report.exists():
        print("report: %s" % report)
    if meta.interrupted:
        return 130
    return 0 if meta.complete else 1


def cmd_serve(args: argparse.Namespace) -> int:
    """Start one variant's service for manual exploration (Ctrl-C stops everything)."""
    from .serve import serve

    try:
        return serve(args.variant, args.port,
                     os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    except KeyError as exc:
        print("error: %s" % exc.args[0], file=sys.stderr)
        return 2


def cmd_toggles(args: argparse.Namespace) -> int:
    """Print the toggle catalogue with the guide's claims."""
    from .catalogue import format_catalogue

    print("\n".join(format_catalogue()))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Render a run directory as HTML, Markdown, CSV and PNG plots."""
    from reports.commands import report_command

    paths = report_command(Path(args.run_dir), Path(args.targets) if args.targets else None)
    print("report: %s" % getattr(paths, "html", paths))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare two runs; exit 1 when a metric regressed beyond the tolerance."""
    from reports.commands import compare_command

    lines, code = compare_command(Path(args.old), Path(args.new), args.tolerance)
    print("\n".join(lines))
    return code


def cmd_check(args: argparse.Namespace) -> int:
    """Check a run against the targets; exit 99 when a target is missed (as k6 does)."""
    from reports.commands import check_command

    lines, code = check_command(Path(args.run_dir), args.variant,
                                Path(args.targets) if args.targets else None)
    print("\n".join(lines))
    return code


def cmd_profile(args: argparse.Namespace) -> int:
    """Profile the engine for one variant (cProfile, line_profiler, memory, py-spy)."""
    from profiles.commands import profile_command

    from .variants import resolve

    try:
        v = resolve(args.variant)
    except KeyError as exc:
        print("error: %s" % exc.args[0], file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else ROOT / "profiles" / "out" / v.name
    env = dict(os.environ)  # data settings (PERFLAB_DATA_DIR, sizes) from the shell
    env.update(v.env)
    result = profile_command(env, v.name, args.tool, args.messages, out,
                             args.functions.split(",") if args.functions else None,
                             progress=lambda s: print(s, file=sys.stderr, flush=True))
    print(getattr(result, "summary", result))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """A scripted conversation through the engine: the quickest look at what is measured."""
    from engine.__main__ import main as engine_main

    return engine_main(["demo"])


COMMANDS: Dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run, "serve": cmd_serve, "toggles": cmd_toggles, "report": cmd_report,
    "compare": cmd_compare, "check": cmd_check, "profile": cmd_profile, "demo": cmd_demo,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="perflab",
                                     description="Performance lab for the support chatbot.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("run", help=cmd_run.__doc__)
    p.add_argument("--plan", default="quick", help="quick (default), full, or a TOML file")
    p.add_argument("--variants", help="comma-separated variants instead of the plan's")
    p.add_argument("--repeats", type=int, help="override the plan's repeats")
    p.add_argument("--out", default=str(ROOT / "reports" / "runs"),
                   help="where run directories go (default reports/runs)")
    p.add_argument("--target", help="drive an already-running deployment at this URL")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a --target that is not on loopback")
    p.add_argument("--instances", type=int, help="service processes per variant (gunicorn)")
    p.add_argument("--no-report", action="store_true", help="skip the report at the end")
    p = sub.add_parser("serve", help=cmd_serve.__doc__)
    p.add_argument("--variant", default="baseline")
    p.add_argument("--port", type=int)
    sub.add_parser("toggles", help=cmd_toggles.__doc__)
    p = sub.add_parser("report", help=cmd_report.__doc__)
    p.add_argument("run_dir")
    p.add_argument("--targets", help="a targets TOML (default reports/targets.toml)")
    p = sub.add_parser("compare", help=cmd_compare.__doc__)
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--tolerance", type=float, default=0.10)
    p = sub.add_parser("check", help=cmd_check.__doc__)
    p.add_argument("run_dir")
    p.add_argument("--variant")
    p.add_argument("--targets")
    p = sub.add_parser("profile", help=cmd_profile.__doc__)
    p.add_argument("--variant", default="baseline")
    p.add_argument("--tool", choices=("cprofile", "line", "memory", "pyspy"),
                   default="cprofile")
    p.add_argument("--messages", type=int, default=5000)
    p.add_argument("--out")
    p.add_argument("--functions", help="module:qualname,... for --tool line")
    sub.add_parser("demo", help=cmd_demo.__doc__)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
