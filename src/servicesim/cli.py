"""The ``servicesim`` command: a thin layer over the public Python API.

``servicesim run SCENARIO.yaml`` loads a scenario (applying ``--set`` overrides), runs its
replications, prints the derived policies and a summary table, and writes the results;
``servicesim validate FILE...`` checks scenario files and reports every problem at once.

Exit codes: 0 success, 2 bad input (scenario, option or output path), 1 unexpected error,
130 interrupted.  Errors go to stderr as ``servicesim: error: ...``, never as a traceback
unless ``--debug`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn, TextIO

from .load import Override, ScenarioError, load_scenario
from .output import (
    OutputError,
    format_run_header,
    format_segment_table,
    format_summary_table,
    summary_document,
    write_run_outputs,
)

PROG = "servicesim"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _UsageError(Exception):
    """A bad command line (raised instead of argparse's exit, so main() decides)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that reports errors as ``servicesim: error: ...`` (exit 2)."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``servicesim`` command."""
    parser = _Parser(
        prog=PROG,
        description="Simulate logistics customer service level against cost and ROI.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an unexpected error")
    common = _Parser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run", parents=[common], help="run a scenario's replications and write the results",
        description="Run the replications of a scenario, print the derived policies and a "
                    "summary with confidence intervals, and write replications.csv, "
                    "summary.json and scenario.yaml to OUT/<scenario name>/.",
    )
    run.add_argument("scenario", metavar="SCENARIO.yaml")
    run.add_argument("--replications", metavar="N",
                     help="number of replications (overrides run.replications)")
    run.add_argument("--seed", metavar="S", help="root random seed (overrides run.seed)")
    run.add_argument("--horizon-days", metavar="D",
                     help="simulated days including warm-up (overrides run.horizon_days)")
    run.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                     dest="overrides",
                     help="change a scenario value, e.g. --set policy.service_target=0.98 "
                          "(repeatable; VALUE is YAML)")
    run.add_argument("--out", metavar="DIR", default="results",
                     help="results folder (default: results); files go to DIR/<scenario>/")
    run.add_argument("--json", action="store_true",
                     help="print only the summary as JSON on stdout (messages to stderr)")
    run.add_argument("--quiet", action="store_true", help="print nothing but errors")
    run.set_defaults(handler=_cmd_run)

    validate = commands.add_parser(
        "validate", parents=[common], help="check scenario files and report every problem",
        description="Check scenario files; report every problem in each file at once.",
    )
    validate.add_argument("scenarios", metavar="SCENARIO.yaml", nargs="+")
    validate.set_defaults(handler=_cmd_validate)
    return parser


def _error(message: str, stream: TextIO | None = None) -> None:
    """Print every line of ``message`` as ``servicesim: error: <line>``."""
    stream = stream or sys.stderr
    for line in message.splitlines() or [""]:
        print(f"{PROG}: error: {line}", file=stream)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _cmd_run(args: argparse.Namespace) -> int:
    overrides: list[str | Override] = list(args.overrides)
    for option, key, value in (
        ("--replications", "run.replications", args.replications),
        ("--seed", "run.seed", args.seed),
        ("--horizon-days", "run.horizon_days", args.horizon_days),
    ):
        if value is not None:
            overrides.append(Override(key, value, option))
    scenario = load_scenario(args.scenario, overrides)

    from .experiment import run_replications  # the engine is needed only to run

    info = sys.stderr if args.json else sys.stdout
    if not args.quiet:
        print(f"running {scenario.name}: {_plural(scenario.run.replications, 'replication')} "
              f"of {scenario.run.horizon_days:g} days ...", file=sys.stderr, flush=True)
    result = run_replications(scenario)
    summary = result.summary(level=0.95)
    # show the results before writing them: a write error must not hide them
    if args.json:
        document = summary_document(result, 0.95, summary)
        print(json.dumps({key: document[key] for key in
                          ("scenario", "replications", "seed", "kpis")}, indent=2,
                         ensure_ascii=False, allow_nan=False), flush=True)
    elif not args.quiet:
        print(format_run_header(result))
        print()
        print(format_summary_table(summary, f"{scenario.name}: mean over "
                                   f"{_plural(result.n, 'replication')}"))
        print()
        print(format_segment_table(result.breakdown_summary("segment")), flush=True)
    paths = write_run_outputs(result, args.out)
    if not args.quiet:
        folder = os.path.dirname(paths["summary"])
        names = ", ".join(p.name for p in paths.values())
        print(f"\nresults written to {folder}{os.sep} ({names})", file=info)
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    status = EXIT_OK
    for file in args.scenarios:
        try:
            scenario = load_scenario(file)
        except ScenarioError as exc:
            _error(str(exc))
            status = EXIT_USAGE
            continue
        print(f"OK {file}: {scenario.name} ({_plural(len(scenario.skus), 'SKU')}, "
              f"{_plural(len(scenario.segments), 'segment')})", flush=True)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help and --version print and stop
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        except _UsageError as exc:
            _error(str(exc))
            return EXIT_USAGE
        debug = bool(args.debug)
        return int(args.handler(args))
    except (ScenarioError, OutputError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `servicesim run x.yaml | head`
        _silence_stdout()
        return EXIT_FAILURE
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if debug:
            traceback.print_exc()
        summary = " ".join(f"{type(exc).__name__}: {exc}".split())
        _error(f"unexpected {summary[:300]} (rerun with --debug for the traceback)")
        return EXIT_FAILURE


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at devnull so the interpreter's flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
