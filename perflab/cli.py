"""The ``perflab`` command: one dispatch table of sub-commands.

Commands return an exit code; only this module prints or parses arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional

from . import exitcodes
from .machine import ROOT


def _error(command: str, message: object, code: int = exitcodes.USAGE) -> int:
    """One clear line on stderr, and the exit code."""
    print("perflab %s: %s" % (command, message), file=sys.stderr)
    return code


def _message(exc: BaseException) -> str:
    return str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)


def cmd_run(args: argparse.Namespace) -> int:
    """Run a plan (quick by default) and write a report."""
    from dataclasses import replace

    from .plan import load_plan
    from .procs import target_problem
    from .runner import Options, run_plan

    try:
        plan = load_plan(args.plan)
        if args.variants:
            plan = replace(plan, variants=tuple(v.strip() for v in args.variants.split(",")))
        if args.repeats is not None:
            plan = replace(plan, repeats=args.repeats)
        plan.validate()
    except (ValueError, KeyError, TypeError) as exc:
        return _error("run", _message(exc))
    if args.target:
        from loadtests.openloop import check_loopback

        try:
            check_loopback(args.target, args.allow_remote)
        except ValueError as exc:  # RemoteTargetError included
            return _error("run", "--target: %s" % exc)
        problem = target_problem(args.target)
        if problem is not None:
            return _error("run", "--target %s does not answer: %s" % (args.target, problem),
                          exitcodes.TARGET_DOWN)
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
        return exitcodes.INTERRUPTED
    # fail closed: any recorded failure (a generator crash included) is not a clean run
    return exitcodes.OK if meta.complete and not meta.failures else exitcodes.INCOMPLETE_RUN


def cmd_serve(args: argparse.Namespace) -> int:
    """Start one variant's service for manual exploration (Ctrl-C stops everything)."""
    from .serve import ServeError, serve

    try:
        return serve(args.variant, args.port,
                     os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    except KeyError as exc:
        return _error("serve", _message(exc))
    except ServeError as exc:
        return _error("serve", exc, exc.code)


def cmd_toggles(args: argparse.Namespace) -> int:
    """Print the toggle catalogue with the guide's claims."""
    from .catalogue import format_catalogue

    print("\n".join(format_catalogue()))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Render a run directory as HTML, Markdown, CSV and PNG plots."""
    from reports.commands import report_command

    try:
        paths = report_command(Path(args.run_dir), Path(args.targets) if args.targets else None)
    except (FileNotFoundError, ValueError) as exc:
        return _error("report", exc)
    print("report: %s" % getattr(paths, "html", paths))
    return exitcodes.OK


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare two runs; exit 1 when a metric regressed beyond the tolerance."""
    from reports.commands import compare_command

    lines, code = compare_command(Path(args.old), Path(args.new), args.tolerance,
                                  args.allow_mismatch)
    print("\n".join(lines))
    return code


def cmd_check(args: argparse.Namespace) -> int:
    """Check a run against the targets; exit 99 when a target is missed (as k6 does)."""
    from reports.commands import check_command

    lines, code = check_command(Path(args.run_dir), args.variant,
                                Path(args.targets) if args.targets else None,
                                args.allow_incomplete)
    print("\n".join(lines))
    return code


def cmd_profile(args: argparse.Namespace) -> int:
    """Profile the engine for one variant (cProfile, line_profiler, memory, py-spy)."""
    from profiles.commands import profile_command

    from .variants import resolve

    try:
        v = resolve(args.variant)
    except KeyError as exc:
        return _error("profile", _message(exc))
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


def _at_least(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError("%r is not a whole number" % text) from None
        if value < low:
            raise argparse.ArgumentTypeError("must be >= %d, got %d" % (low, value))
        return value

    return parse


def _port(text: str) -> int:
    value = _at_least(1)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError("a TCP port is 1..65535, got %d" % value)
    return value


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number" % text) from None
    if not 0 <= value < 10:
        raise argparse.ArgumentTypeError("must be in [0, 10), got %g" % value)
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="perflab",
                                     description="Performance lab for the support chatbot.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, fn: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=fn.__doc__, description=fn.__doc__,
                              epilog=exitcodes.epilog(name) if name in exitcodes.DESCRIPTIONS
                              else None, formatter_class=argparse.RawDescriptionHelpFormatter)

    p = add("run", cmd_run)
    p.add_argument("--plan", default="quick", help="quick (default), full, or a TOML file")
    p.add_argument("--variants", help="comma-separated variants instead of the plan's")
    p.add_argument("--repeats", type=int, help="override the plan's repeats (>= 1)")
    p.add_argument("--out", default=str(ROOT / "reports" / "runs"),
                   help="where run directories go (default reports/runs)")
    p.add_argument("--target", help="drive an already-running deployment at this URL "
                   "(it must answer GET /healthz first)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a --target that is not on loopback")
    p.add_argument("--instances", type=_at_least(1),
                   help="service processes per variant (gunicorn), >= 1")
    p.add_argument("--no-report", action="store_true", help="skip the report at the end")
    p = add("serve", cmd_serve)
    p.add_argument("--variant", default="baseline")
    p.add_argument("--port", type=_port)
    add("toggles", cmd_toggles)
    p = add("report", cmd_report)
    p.add_argument("run_dir")
    p.add_argument("--targets", help="a targets TOML (default reports/targets.toml)")
    p = add("compare", cmd_compare)
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--tolerance", type=_tolerance, default=0.10,
                   help="a regression must exceed this fraction (default 0.10)")
    p.add_argument("--allow-mismatch", action="store_true",
                   help="compare runs made under different set-ups (printed as warnings)")
    p = add("check", cmd_check)
    p.add_argument("run_dir")
    p.add_argument("--variant")
    p.add_argument("--targets")
    p.add_argument("--allow-incomplete", action="store_true",
                   help="judge what an incomplete, interrupted or partly failed run has, "
                   "instead of exiting 3")
    p = add("profile", cmd_profile)
    p.add_argument("--variant", default="baseline")
    p.add_argument("--tool", choices=("cprofile", "line", "memory", "pyspy"),
                   default="cprofile")
    p.add_argument("--messages", type=_at_least(1), default=5000)
    p.add_argument("--out")
    p.add_argument("--functions", help="module:qualname,... for --tool line")
    add("demo", cmd_demo)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return exitcodes.OK
    try:
        code = COMMANDS[args.command](args)
    except KeyboardInterrupt:  # outside a run's own handling (e.g. while rendering)
        print("\nperflab %s: interrupted" % args.command, file=sys.stderr)
        code = exitcodes.INTERRUPTED
    if code == exitcodes.INTERRUPTED:
        # results are saved; one more Ctrl-C on the way out must not turn exit 130 into
        # a death by SIGINT
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return code


if __name__ == "__main__":
    sys.exit(main())
