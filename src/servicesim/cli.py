"""The ``servicesim`` command: a thin layer over the public Python API.

``servicesim run SCENARIO.yaml`` loads a scenario (applying ``--set`` overrides), runs its
replications, prints the derived policies and a summary table, and writes the results;
``servicesim sweep SCENARIO.yaml --param KEY=VALUES ...`` runs every alternative of a grid
under common random numbers (:func:`servicesim.experiment.sweep.sweep`), locally or on Dask;
``servicesim validate FILE...`` checks scenario files and reports every problem at once.

Exit codes: 0 success, 2 bad input (scenario, option or output path, a result file that
cannot be written), 1 unexpected error or a worker that keeps dying, 130 interrupted by
Ctrl-C, 143 by SIGTERM.  Errors go to stderr as ``servicesim: error: ...``, never as a
traceback unless ``--debug`` is given.  Warnings (implausible inputs or figures,
:mod:`servicesim.experiment.advice`) go to stderr as ``servicesim: warning: ...`` and never
change the exit code.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import numbers
import os
import shlex
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

# Only light modules (the standard library and servicesim's ground floor) are imported
# here, so that --version, --help and argument errors answer at once; each command imports
# the schema, SciPy, the model, the executors' back ends and the charts when it runs.
from .errors import ScenarioError
from .experiment.executors import (
    DEFAULT_CONNECT_TIMEOUT,
    ExecutorError,
    signal_number,
    terminate_as_interrupt,
)
from .experiment.guard import MAX_HOURS, check_size, estimate
from .files import OutputError, name_problem
from .kpis import KPI_BY_KEY
from .text import aligned_lines

if TYPE_CHECKING:  # pragma: no cover
    from .experiment.sweep import SweepPlan, SweepResult
    from .scenario.overrides import Override
    from .scenario.schema import Scenario

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
    from ._version import VERSION as __version__

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
                    "summary.json and scenario.yaml to OUT/<scenario name>/<run id>/.",
    )
    _add_scenario_options(run)
    run.add_argument("--out", metavar="DIR", default="results",
                     help="results folder (default: results); files go to "
                          "DIR/<scenario>/<run id>/")
    run.add_argument("--id", metavar="NAME", dest="run_id",
                     help="name of the run's folder (default: run- and a hash of the "
                          "scenario as run, the replications and the seed, so two what-ifs "
                          "never share a folder)")
    run.add_argument("--overwrite", action="store_true",
                     help="replace the results of another run in that folder (without it, "
                          "such a folder is refused)")
    run.add_argument("--json", action="store_true",
                     help="print only the summary as JSON on stdout (messages to stderr)")
    run.add_argument("--quiet", action="store_true", help="print nothing but errors")
    run.set_defaults(handler=_cmd_run)

    sweep = commands.add_parser(
        "sweep", parents=[common],
        help="run every alternative of a parameter grid under common random numbers",
        description="Run every alternative of a grid of scenario values (one --param per "
                    "swept key; several make a full grid), each for the same replications "
                    "(common random numbers), and the scenario as given (today) on the "
                    "same seeds; write runs.csv, summary.csv, manifest.json, scenario.yaml, "
                    "today.csv and today.json to OUT/<scenario name>/<sweep id>/ and end "
                    "with the best alternative against today.",
    )
    _add_scenario_options(sweep)
    sweep.add_argument("--param", metavar="KEY=VALUES", action="append", required=True,
                       dest="params",
                       help="a swept scenario key and its values: a range start:stop:step "
                            "(inclusive), e.g. policy.service_target=0.80:0.99:0.01, or a "
                            "list a,b,c (repeatable: a full grid)")
    _add_output_options(sweep, "sweep")
    sweep.add_argument("--resume", action="store_true",
                       help="continue an interrupted sweep: run only the missing runs")
    _add_executor_options(sweep)
    sweep.add_argument("--quiet", action="store_true",
                       help="print nothing but errors (and no progress bar)")
    _add_no_plots_option(sweep)
    sweep.set_defaults(handler=_cmd_sweep)

    optimize = commands.add_parser(
        "optimize", parents=[common],
        help="find the service level (or other fields) that maximises ROI, with its "
             "uncertainty",
        description="Search 1 to 3 numeric scenario fields for the values that maximise an "
                    "objective: a coarse grid, then more points and replications only near "
                    "the top. Reports the best, its 95 % CI, the values not "
                    "significantly below it and the best against the scenario as given "
                    "(today, on the same seeds), and writes the files to "
                    "OUT/<scenario name>/<run id>/.",
    )
    _add_scenario_options(optimize, replications=False)
    optimize.add_argument("--objective", default="roi",
                          choices=("roi", "operating_profit", "economic_profit"),
                          help="the figure to maximise (default: roi)")
    optimize.add_argument("--param", metavar="KEY", action="append", default=[],
                          dest="keys", help="a searched scenario key (repeatable, up to 3; "
                          "default policy.service_target); each needs --bounds")
    optimize.add_argument("--bounds", metavar=("LOW", "HIGH"), nargs=2, action="append",
                          default=[], help="the range of the --param before it "
                          "(default for policy.service_target: 0.5 0.999)")
    optimize.add_argument("--integer", action="store_true",
                          help="search whole numbers only (every --param)")
    optimize.add_argument("--replications", metavar="N", type=_count,
                          help="replications of every point at first (default 5)")
    optimize.add_argument("--max-replications", metavar="N", type=_count,
                          help="replications a point near the top may get (default 40)")
    optimize.add_argument("--resolution", metavar="STEP", action="append", default=[],
                          type=_positive("a step"),
                          help="the finest step of the search: once for every --param, or "
                               "once per --param in their order (default: the range / 200 "
                               "rounded to 1, 2, 2.5 or 5 x 10^k, never finer than 0.001 for "
                               "a service target; 1 for whole numbers)")
    _add_output_options(optimize, "run")
    optimize.add_argument("--resume", action="store_true",
                          help="continue an interrupted optimisation: reuse its finished runs")
    optimize.add_argument("--overwrite", action="store_true",
                          help="replace the files of another optimisation in the folder "
                               "(without it, such a folder is refused)")
    _add_executor_options(optimize)
    optimize.add_argument("--quiet", action="store_true", help="print nothing but errors")
    _add_no_plots_option(optimize)
    optimize.add_argument("--sensitivity", action="store_true",
                          help="then vary the behavioural inputs around the optimum found "
                               "(see 'servicesim sensitivity'); files in the same folder")
    _add_factor_option(optimize)
    optimize.set_defaults(handler=_cmd_optimize)
    _add_sensitivity_command(commands, common)
    _add_frontier_command(commands, common)
    _add_risk_command(commands, common)
    _add_plot_command(commands, common)
    _add_report_command(commands, common)

    _add_compare_command(commands, common)
    _add_items_commands(commands, common)
    _add_app_command(commands, common)

    validate = commands.add_parser(
        "validate", parents=[common], help="check scenario files and report every problem",
        description="Check scenario files; report every problem in each file at once.",
    )
    validate.add_argument("scenarios", metavar="SCENARIO.yaml", nargs="+")
    validate.set_defaults(handler=_cmd_validate)
    return parser


def _add_scenario_options(parser: argparse.ArgumentParser, replications: bool = True) -> None:
    """SCENARIO.yaml and the options that change it: --replications, --seed, ..., --set."""
    parser.add_argument("scenario", metavar="SCENARIO.yaml")
    if replications:
        parser.add_argument("--replications", metavar="N", dest="run_replications",
                            help="number of replications (overrides run.replications)")
    parser.add_argument("--seed", metavar="S", help="root random seed (overrides run.seed)")
    parser.add_argument("--horizon-days", metavar="D",
                        help="simulated days including warm-up (overrides run.horizon_days)")
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                        dest="overrides",
                        help="change a scenario value, e.g. --set policy.service_target=0.98 "
                             "(repeatable; VALUE is YAML)")
    _add_allow_large_option(parser)


def _add_allow_large_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-large", action="store_true",
                        help="run even if the estimated run time (over "
                             f"{MAX_HOURS:g} hours) or memory is too large")


def _add_output_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--out", metavar="DIR", default="results",
                        help=f"results folder (default: results); files go to "
                             f"DIR/<scenario>/<{what} id>/")
    parser.add_argument("--id", metavar="NAME", dest="run_id",
                        help=f"name of the {what} folder (default: a hash of what is run, so "
                             "the same command finds it again)")


def _count(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") \
            from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _positive(what: str = "a number", most: float = math.inf) -> Callable[[str], float]:
    """An argparse type: a finite number > 0 and <= ``most``; ``what`` names it."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and 0 < value <= most):
            allowed = f"> 0 and at most {most:g}" if math.isfinite(most) else "> 0"
            raise argparse.ArgumentTypeError(f"expected {what} {allowed}, got {text!r}")
        return value

    return parse


MAX_DASK_LOCAL_PER_CORE = 4
"""--dask-local starts at most this many worker processes per core of this machine."""

MAX_SCHEDULER_TIMEOUT = 86_400.0
"""Longest --scheduler-timeout (seconds): a day."""


def _local_workers(text: str) -> int:
    """An argparse type: a number of local worker processes, 1 to 4 per core."""
    value = _count(text)
    most = MAX_DASK_LOCAL_PER_CORE * (os.cpu_count() or 1)
    if value > most:
        raise argparse.ArgumentTypeError(
            f"expected at most {most} worker processes ({MAX_DASK_LOCAL_PER_CORE} per core "
            f"on {os.cpu_count() or 1} cores), got {text!r}; for more, start a Dask "
            "cluster and give its --scheduler")
    return value


def _add_executor_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", metavar="N", type=_count,
                       help="local worker processes (default: all cores; 1 runs serially)")
    where.add_argument("--scheduler", metavar="ADDR",
                       help="run on an existing Dask cluster, e.g. tcp://host:8786")
    where.add_argument("--dask-local", metavar="N", type=_local_workers,
                       help="start a Dask LocalCluster of N worker processes for this run")
    parser.add_argument("--scheduler-timeout", metavar="SECONDS",
                        type=_positive("a number of seconds", MAX_SCHEDULER_TIMEOUT),
                        default=DEFAULT_CONNECT_TIMEOUT,
                        help="give up on a --scheduler that does not answer within this "
                             f"time (default: {DEFAULT_CONNECT_TIMEOUT:g})")


def _load(args: argparse.Namespace) -> Scenario:
    """The scenario file with --replications, --seed, --horizon-days and --set applied."""
    from .inputs.scenario_file import load_scenario
    from .scenario.overrides import Override

    overrides: list[str | Override] = list(args.overrides)
    for option, key, value in (
        ("--replications", "run.replications", getattr(args, "run_replications", None)),
        ("--seed", "run.seed", args.seed),
        ("--horizon-days", "run.horizon_days", args.horizon_days),
    ):
        if value is not None:
            overrides.append(Override(key, value, option))
    return load_scenario(args.scenario, overrides)


def _error(message: str, stream: TextIO | None = None) -> None:
    """Print every line of ``message`` as ``servicesim: error: <line>``."""
    stream = stream or sys.stderr
    for line in message.splitlines() or [""]:
        print(f"{PROG}: error: {line}", file=stream)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _cmd_run(args: argparse.Namespace) -> int:
    from .outputs.tables import (
        format_location_table,
        format_run_header,
        format_segment_table,
        format_summary_table,
        summary_document,
        write_run_outputs,
    )

    scenario = _load(args)
    check_size(scenario, allow_large=args.allow_large, source=args.scenario)
    if args.run_id is not None:  # a bad name is refused before anything runs
        from .experiment.store import check_run_id

        check_run_id(args.run_id)

    from .experiment.replications import run_replications  # the engine is needed only to run

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
                          ("scenario", "replications", "seed", "kpis", "by_location")
                          if key in document}, indent=2,
                         ensure_ascii=False, allow_nan=False), flush=True)
    elif not args.quiet:
        print(format_run_header(result))
        print()
        currency = scenario.finance.currency
        print(format_summary_table(summary, f"{scenario.name}: mean over "
                                   f"{_plural(result.n, 'replication')}", currency=currency))
        print()
        print(format_segment_table(result.breakdown_summary("segment"), currency=currency),
              flush=True)
        if scenario.locations is not None:
            print()
            print(format_location_table(result.breakdown_summary("location"),
                                        currency=currency), flush=True)
        _print_service_history(result)
    paths = write_run_outputs(result, args.out, run_id=args.run_id, overwrite=args.overwrite)
    if not args.quiet:
        folder = os.path.dirname(paths["summary"])
        names = ", ".join(p.name for p in paths.values())
        print(f"\nresults written to {folder}{os.sep} ({names})", file=info)
    if "policy_history" in paths:
        _history_chart(paths["policy_history"].parent, args, info)
    _warn(args, scenario, result)
    return EXIT_OK


def _history_chart(folder: Any, args: argparse.Namespace, info: Any) -> None:
    """Chart 15 of a run that re-planned, beside its files (a failure only warns: the
    results are written)."""
    from .outputs.charts import plot_service_history
    from .outputs.results import PlotError

    try:
        paths = plot_service_history(folder)
    except (PlotError, OSError) as exc:
        _error(f"chart not written: {exc}")
        return
    if not args.quiet:
        print(f"service over time charted in {paths[0]}", file=info, flush=True)


def _print_service_history(result: Any) -> None:
    """A run that re-planned: target, predicted and achieved service per SKU."""
    from .experiment.service_history import has_history, service_by_sku
    from .outputs.service_tables import format_service_by_sku

    if has_history(result):
        print()
        print(format_service_by_sku(service_by_sku(result)), flush=True)


def _values(values: Sequence[Any], shown: int = 6) -> str:
    texts = [json.dumps(v) if isinstance(v, Mapping | list) else str(v) for v in values]
    if len(texts) > shown:
        texts = [*texts[: shown - 2], "...", texts[-1]]
    return ", ".join(texts)


def _sweep_header(plan: SweepPlan, how: str, file: str) -> str:
    run = plan.scenario.run
    lines = [f"scenario      {plan.scenario.name} ({file})",
             f"grid          {_plural(plan.n_alternatives, 'alternative')}"
             + (":" if plan.params else " (no --param: the scenario as it is)")]
    for param in plan.params:
        lines.append(f"  {param.key} = {_values(param.values)}"
                     f" ({_plural(len(param.values), 'value')})")
        if "+" in param.key or "*" in param.key:  # what a joined key moves together
            from .experiment.params import key_parts
            lines.append(f"    sets together: {', '.join(key_parts(plan.scenario, param.key))}")
    lines += [
        f"replications  {plan.replications} per alternative (root seed {plan.seed}): "
        f"{plan.n_planned:,} simulations of {run.horizon_days:g} days "
        f"({run.horizon_days - run.warmup_days:g} measured after warm-up)",
        f"common random numbers: every alternative uses the same {plan.replications} "
        "replication seeds",
    ]
    if plan.done:
        lines.append(f"resuming      {len(plan.done):,} of {plan.n_planned:,} runs already done; "
                     f"{plan.n_planned - len(plan.done):,} to run")
    lines.append(f"running on    {how}")
    lines.append(f"results in    {plan.directory}{os.sep}")
    return "\n".join(lines)


_SWEEP_COLUMNS = (("item_fill_rate", "item fill rate %"), ("roi", "ROI %"),
                  ("operating_profit", "operating profit"),
                  ("avg_inventory_value", "inventory value"))


def _with_ci(key: str, stats: Mapping[str, Any]) -> str:
    """``mean ± half-width`` of the 95 % interval (the unclipped side if it was clipped)."""
    from .outputs.tables import format_value

    values = [stats.get(s) for s in ("mean", "ci_low", "ci_high")]
    numbers_only = [float(x) for x in values
                    if isinstance(x, numbers.Real) and math.isfinite(x)]
    if len(numbers_only) != 3:  # no mean: n/a; a mean of one value: no interval
        shown = format_value(key, values[0])
        return shown if shown == "n/a" else f"{shown} ± n/a"
    mean, low, high = numbers_only
    half = max(mean - low, high - mean)
    if KPI_BY_KEY[key].unit == "money":
        return f"{mean:,.0f} ± {half:,.0f}"
    return f"{format_value(key, mean)} ± {format_value(key, half)}"


def _param_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return json.dumps(value) if isinstance(value, Mapping | list) else str(value)


def _sweep_table(result: SweepResult) -> str:
    """One line per alternative: its values and the key figures with 95 % intervals."""
    keys = [p.key for p in result.plan.params]
    best = result.best("roi")["alternative"] if any(
        isinstance(r["mean"], numbers.Real) and math.isfinite(r["mean"])
        for r in result.summary if r["figure"] == "roi") else None
    currency = result.plan.scenario.finance.currency
    from .experiment.today import plain_key

    header = ["", "alt", *(plain_key(k) if "+" in k else k for k in keys),
              *(f"{label} {currency}" if currency and
                                  KPI_BY_KEY[key].unit == "money" else label
                                  for key, label in _SWEEP_COLUMNS)]
    rows = [header]
    intervals = result.intervals()
    for index, (assignment, _) in enumerate(result.plan.items):
        figures = intervals.get(index, {})
        rows.append(["*" if index == best else "", str(index),
                     *(_param_text(assignment[k]) for k in keys),
                     *(_with_ci(key, figures.get(key, {})) for key, _ in _SWEEP_COLUMNS)])
    lines = aligned_lines(rows, left=2 + len(keys))
    rule = "-" * max(len(line) for line in lines)
    n = result.plan.replications
    title = (f"{result.plan.scenario.name}: "
             + ("mean ± 95 % CI half-width over " if n > 1 else "value of ")
             + f"{_plural(n, 'replication')} per alternative; money over the measured window")
    notes = ["* best mean ROI" if best is not None else "no alternative has a defined ROI"]
    if n == 1:
        from .outputs.tables import ONE_REPLICATION_NOTE

        notes.append(ONE_REPLICATION_NOTE)
    return "\n".join([title, rule, lines[0], rule, *lines[1:], rule, *notes])


def _running(how: str) -> str:
    """``running on 2 local processes``, ``running serially in this process``."""
    return f"running {how}" if how.startswith("serially") else f"running on {how}"


def _resume_command(args: argparse.Namespace, sweep_id: str) -> str:
    argv = list(args.argv)
    if not args.resume:
        argv.append("--resume")
    if args.run_id is None:
        argv += ["--id", sweep_id]
    return shlex.join([PROG, *argv])


def _cmd_sweep(args: argparse.Namespace) -> int:
    scenario = _load(args)
    from .experiment.engine import WorkerDied
    from .experiment.executors import make_executor  # the engine is needed only to run
    from .experiment.store import FolderLocked, has_rows
    from .experiment.sweep import SweepError, SweepInterrupted, plan_sweep, run_sweep

    _check_sweep_size(args, scenario)
    plan = plan_sweep(scenario, args.params, out_dir=args.out, sweep_id=args.run_id,
                      resume=args.resume)
    to_run = len(plan.pending())  # today's missing replications included
    workers = min(args.workers or os.cpu_count() or 1, max(to_run, 1))
    if args.scheduler is None and args.dask_local is None and to_run == 0:
        workers = 1
    try:
        with make_executor(workers=workers, scheduler=args.scheduler,
                           dask_local=args.dask_local,
                           connect_timeout=args.scheduler_timeout) as (executor, how):
            if not args.quiet:
                print(_sweep_header(plan, how, args.scenario), flush=True)
            result = run_sweep(plan, executor=executor, workers=workers,
                               progress=not args.quiet,
                               command=shlex.join([PROG, *args.argv]))
    except SweepInterrupted as stop:
        print(f"\n{PROG}: interrupted: {stop.done:,} of {stop.total:,} runs kept in "
              f"{stop.directory / 'runs.csv'} (manifest status: interrupted)\n"
              f"continue with:\n  {_resume_command(args, plan.sweep_id)}", file=sys.stderr,
              flush=True)
        return 128 + stop.signum
    except (FolderLocked, SweepError) as exc:  # refused before anything was written
        _error(str(exc))
        return EXIT_USAGE
    except (WorkerDied, OutputError) as exc:  # rows finished before are kept: say how to go on
        _error(str(exc))
        if has_rows(plan.folder.runs_path):
            print(f"finished runs are kept in {plan.folder.runs_path}; continue with:\n  "
                  f"{_resume_command(args, plan.sweep_id)}", file=sys.stderr, flush=True)
        return EXIT_FAILURE if isinstance(exc, WorkerDied) else EXIT_USAGE
    if not args.quiet:
        print()
        print(_sweep_table(result))
        earlier = plan.n_planned - result.n_simulations
        print(f"\n{result.n_simulations:,} simulations run"
              + (f" ({earlier:,} from an earlier run)" if earlier else "")
              + f"; results written to {result.directory}{os.sep} "
              "(runs.csv, summary.csv, manifest.json, scenario.yaml, today.csv, today.json)",
              flush=True)
    _plot_after(args, result.directory)
    _warn(args, scenario, result)
    if not args.quiet:  # the decision comes last, after the charts', report's and warnings
        print(f"\n{result.decision()}", flush=True)
    return EXIT_OK


def _check_sweep_size(args: argparse.Namespace, scenario: Scenario) -> None:
    """Refuse a sweep too large to finish before its alternatives are even built."""
    from .experiment.engine import parse_param

    size = math.prod(len(parse_param(text).values) for text in args.params)
    workers = args.workers or args.dask_local or os.cpu_count() or 1
    check_size(scenario, alternatives=size, workers=workers, allow_large=args.allow_large,
               source=args.scenario)


DEFAULT_SEARCH = ("policy.service_target", ("0.5", "0.999"))
"""What ``optimize`` searches without --param: the service target from 50 % to 99.9 %."""


def _search_space(args: argparse.Namespace, scenario: Scenario) -> list[Any]:
    """The optimiser's space from --param KEY --bounds LOW HIGH pairs (and --integer);
    each key and both bounds are checked against the scenario before anything starts."""
    from .experiment.optimize import parse_bound
    from .experiment.params import apply_params

    keys, bounds = list(args.keys), [tuple(b) for b in args.bounds]
    if not keys and len(bounds) <= 1:
        keys = [DEFAULT_SEARCH[0]]
        bounds = bounds or [DEFAULT_SEARCH[1]]
    if len(keys) != len(bounds):
        raise _UsageError(f"every --param needs its --bounds LOW HIGH (got {len(keys)} "
                          f"--param and {len(bounds)} --bounds)")
    space = []
    for key, (low, high) in zip(keys, bounds, strict=True):
        bound = parse_bound(f"{key}={low}:{high}")
        for value in (bound.low, bound.high):
            apply_params(scenario, {bound.key: value})
        space.append(dataclasses.replace(bound, integer=True) if args.integer else bound)
    return space


def _check_optimize_size(args: argparse.Namespace, scenario: Scenario, dimensions: int) -> None:
    """Refuse a search too large to finish.  Its simulations are not known in advance:
    reckon three times the coarse grid at the mean of the first and the largest number of
    replications (the search adds points and replications only near the top)."""
    from .experiment.optimize import COARSE_POINTS, DEFAULT_MAX_REPLICATIONS, DEFAULT_REPLICATIONS

    first = args.replications or DEFAULT_REPLICATIONS
    most = args.max_replications or max(first, DEFAULT_MAX_REPLICATIONS)
    points = 3 * COARSE_POINTS.get(dimensions, 4 ** dimensions)
    workers = args.workers or args.dask_local or os.cpu_count() or 1
    check_size(scenario, replications=math.ceil((first + most) / 2), alternatives=points,
               workers=workers, allow_large=args.allow_large, source=args.scenario)


def _resolution(args: argparse.Namespace) -> float | list[float] | None:
    """--resolution: None (the default step), one step for every parameter, or one each."""
    steps = list(args.resolution)
    return None if not steps else steps[0] if len(steps) == 1 else steps


def _cmd_optimize(args: argparse.Namespace) -> int:
    scenario = _load(args)
    space = _search_space(args, scenario)
    _check_optimize_size(args, scenario, len(space))
    if args.sensitivity and (len(space) != 1 or not 0 < space[0].low < space[0].high < 1):
        raise _UsageError("--sensitivity varies the optimum of one --param between 0 and 1 "
                          "(a service target); for another search run servicesim "
                          "sensitivity with --param, --bounds and --step")
    _factors(args)  # bad factors are refused before anything runs
    from .experiment.engine import WorkerDied
    from .experiment.executors import make_executor  # the engine is needed only to run
    from .experiment.optimize import OptimizeInterrupted, optimize

    try:
        with make_executor(workers=args.workers, scheduler=args.scheduler,
                           dask_local=args.dask_local,
                           connect_timeout=args.scheduler_timeout) as (executor, how):
            if not args.quiet:
                print(f"optimising {args.objective} of {scenario.name} ({args.scenario}) over "
                      + ", ".join(f"{b.key} in [{b.low}, {b.high}]" for b in space)
                      + f"; {_running(how)}", flush=True)
            result = optimize(scenario, space, objective=args.objective,
                              replications=args.replications, resolution=_resolution(args),
                              max_replications=args.max_replications, executor=executor,
                              workers=1 if executor is None else None, out_dir=args.out,
                              run_id=args.run_id, progress=not args.quiet,
                              command=shlex.join([PROG, *args.argv]), resume=args.resume,
                              overwrite=args.overwrite)
    except OptimizeInterrupted as stop:
        where = stop.directory
        print(f"\n{PROG}: interrupted: {stop.done:,} finished runs kept in "
              f"{where / 'runs.csv' if where else '(nowhere)'} (result.json status: "
              f"interrupted)\ncontinue with:\n  "
              f"{_resume_command(args, where.name if where else '')}", file=sys.stderr,
              flush=True)
        return 128 + stop.signum
    except WorkerDied as exc:  # a worker or the Dask scheduler lost: the rounds are kept
        _error(str(exc))
        argv = [*args.argv, *([] if args.resume else ["--resume"])]
        print(f"the finished rounds are kept (result.json status: failed); continue with:\n"
              f"  {shlex.join([PROG, *argv])}", file=sys.stderr, flush=True)
        return EXIT_FAILURE
    if not args.quiet:
        print(result.searched())
        if result.directory is not None:
            print(f"Results in {result.directory}", flush=True)
    if args.sensitivity and result.directory is not None:
        status = _sensitivity_after(args, scenario, space[0].key, result.best[space[0].key],
                                    result.directory)
        if status != EXIT_OK:
            return status
    if result.directory is not None:
        _plot_after(args, result.directory)
    _warn(args, scenario, result)
    if not args.quiet:  # the decision comes last, after the charts', report's and warnings
        print(f"\n{result.decision()}", flush=True)
    return EXIT_OK


# -------------------------------------------------------------------- servicesim frontier


def _add_frontier_command(commands: Any, common: argparse.ArgumentParser) -> None:
    frontier = commands.add_parser(
        "frontier", parents=[common],
        help="choose a service target per SKU (or class) and trace the inventory efficient "
             "frontier",
        description="Choose a service target per SKU (or per ABC class) that maximises the "
                    "objective, or the demand-weighted fill rate within an inventory "
                    "budget; trace the inventory efficient frontier (the best fill rate for "
                    "each inventory investment) and show where today's policies sit against "
                    "it. Every SKU's curve comes from simulations of all SKUs at once at "
                    "each candidate target (common random numbers); the answer is searched "
                    "along the frontier and confirmed by whole-scenario simulations on fresh "
                    "seeds. Writes targets.csv, frontier.csv, frontier.json, runs.csv, the "
                    "charts and the report to OUT/<scenario name>/<run id>/.")
    _add_scenario_options(frontier)
    frontier.add_argument("--objective", default="roi",
                          choices=("roi", "operating_profit", "economic_profit"),
                          help="the figure to maximise (default: roi)")
    frontier.add_argument("--budget", metavar="MONEY", type=_positive("a budget"),
                          help="the most average inventory value at cost the targets may tie "
                               "up; then the demand-weighted fill rate is maximised (or the "
                               "objective, with --maximise objective)")
    frontier.add_argument("--maximise", choices=("fill_rate", "objective"), default=None,
                          help="under --budget: what to maximise (default: fill_rate)")
    frontier.add_argument("--targets", metavar="LOW:HIGH:STEP",
                          help="the candidate targets, a range LOW:HIGH:STEP or a list a,b,c "
                               "(default: 20 from 70 %% to 99.95 %%, denser near 100 %%)")
    frontier.add_argument("--by", choices=("sku", "class"), default="sku",
                          help="one target per SKU (default), or per ABC class")
    frontier.add_argument("--confirm-replications", metavar="N", type=_count,
                          help="replications of each allocation simulated whole (default: "
                               "twice --replications, at least 10)")
    _add_output_options(frontier, "run")
    frontier.add_argument("--resume", action="store_true",
                          help="continue an interrupted run: reuse its finished runs")
    _add_executor_options(frontier)
    frontier.add_argument("--quiet", action="store_true", help="print nothing but errors")
    _add_no_plots_option(frontier)
    frontier.set_defaults(handler=_cmd_frontier)


def _cmd_frontier(args: argparse.Namespace) -> int:
    scenario = _load(args)
    from .experiment.engine import WorkerDied
    from .experiment.executors import make_executor  # the engine is needed only to run
    from .experiment.frontier import (
        FILL,
        FrontierError,
        FrontierInterrupted,
        estimated_simulations,
        frontier,
        parse_targets,
    )
    from .experiment.store import FolderLocked

    targets = parse_targets(args.targets) if args.targets is not None else None
    if args.maximise is not None and args.budget is None:
        raise _UsageError("--maximise chooses what to maximise within a --budget; give one")
    maximise = None if args.maximise is None else (
        FILL if args.maximise == "fill_rate" else args.objective)
    workers = args.workers or args.dask_local or os.cpu_count() or 1
    check_size(scenario, replications=1, workers=workers, allow_large=args.allow_large,
               alternatives=estimated_simulations(scenario, targets, args.confirm_replications),
               source=args.scenario)
    try:
        with make_executor(workers=args.workers, scheduler=args.scheduler,
                           dask_local=args.dask_local,
                           connect_timeout=args.scheduler_timeout) as (executor, how):
            if not args.quiet:
                print(f"choosing a service target per {args.by} of {scenario.name} "
                      f"({args.scenario}) for {args.objective}"
                      + (f" within an inventory budget of {args.budget:,.0f}"
                         if args.budget is not None else "")
                      + f"; {_running(how)}", flush=True)
            result = frontier(scenario, objective=args.objective, budget=args.budget,
                              maximise=maximise, by=args.by, targets=targets,
                              confirm_replications=args.confirm_replications,
                              executor=executor, workers=1 if executor is None else None,
                              out_dir=args.out, run_id=args.run_id, resume=args.resume,
                              progress=not args.quiet,
                              command=shlex.join([PROG, *args.argv]))
    except FrontierInterrupted as stop:
        print(f"\n{PROG}: interrupted: {stop.done:,} finished runs kept in "
              f"{stop.directory / 'runs.csv'} (manifest status: interrupted)\n"
              f"continue with:\n  {_resume_command(args, stop.directory.name)}",
              file=sys.stderr, flush=True)
        return 128 + stop.signum
    except (FolderLocked, FrontierError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    except WorkerDied as exc:
        _error(str(exc))
        argv = [*args.argv, *([] if args.resume else ["--resume"])]
        print(f"the finished runs are kept; continue with:\n  {shlex.join([PROG, *argv])}",
              file=sys.stderr, flush=True)
        return EXIT_FAILURE
    if not args.quiet:
        from .outputs.tables import format_frontier

        print(format_frontier(result.summary, result.targets))
        print(f"\n{result.simulations:,} simulations run; results written to "
              f"{result.directory}{os.sep} (targets.csv, frontier.csv, frontier.json, "
              "runs.csv, item_runs.csv)", flush=True)
    _plot_after(args, result.directory)
    if not args.quiet:
        print(f"\n{result.decision}", flush=True)
    return EXIT_OK


# ------------------------------------------------------------------------ servicesim risk


def _add_risk_command(commands: Any, common: argparse.ArgumentParser) -> None:
    risk = commands.add_parser(
        "risk", parents=[common],
        help="risk analysis: the distribution of ROI and service over random disruptions, "
             "and the time to recover",
        description="Run many replications of a scenario with disruptions (the scenario as "
                    "is and one alternative per value of each --param, all on the same "
                    "replication seeds) and report, per alternative, the distribution of "
                    "ROI, item fill rate and defections (mean, median, 5th and 95th "
                    "percentiles with confidence intervals, the mean of the worst 5 % of "
                    "ROI), the time to recover from each disruption, and the paired "
                    "differences against the scenario as is. Writes runs.csv, events.csv, "
                    "recovery.csv, risk.json, the charts and the report to "
                    "OUT/<scenario name>/<run id>/.")
    _add_scenario_options(risk, replications=False)
    risk.add_argument("--replications", metavar="N", type=_count,
                      help="replications per alternative (default 100: enough for a 5th "
                           "percentile with a confidence interval)")
    risk.add_argument("--param", metavar="KEY=VALUES", action="append", default=[],
                      dest="params",
                      help="an alternative per value, e.g. policy.service_target=0.95,0.99 "
                           "(a list a,b,c or a range start:stop:step; repeatable: a full "
                           "grid)")
    _add_output_options(risk, "run")
    risk.add_argument("--resume", action="store_true",
                      help="continue an interrupted run: reuse its finished runs")
    risk.add_argument("--overwrite", "--force", action="store_true", dest="overwrite",
                      help="replace the runs of another run in the folder (without it, such "
                           "a folder is refused)")
    _add_executor_options(risk)
    risk.add_argument("--quiet", action="store_true", help="print nothing but errors")
    _add_no_plots_option(risk)
    risk.set_defaults(handler=_cmd_risk)


def _cmd_risk(args: argparse.Namespace) -> int:
    scenario = _load(args)
    from .experiment.engine import WorkerDied, parse_param
    from .experiment.executors import make_executor  # the engine is needed only to run
    from .experiment.risk import DEFAULT_REPLICATIONS, RiskError, RiskInterrupted, risk
    from .experiment.store import FolderLocked

    params = [parse_param(text, "--param") for text in args.params]
    alternatives = 1 + (math.prod(len(p.values) for p in params) if params else 0)
    n = args.replications or DEFAULT_REPLICATIONS
    workers = args.workers or args.dask_local or os.cpu_count() or 1
    check_size(scenario, replications=n, alternatives=alternatives, workers=workers,
               allow_large=args.allow_large, source=args.scenario)
    try:
        with make_executor(workers=args.workers, scheduler=args.scheduler,
                           dask_local=args.dask_local,
                           connect_timeout=args.scheduler_timeout) as (executor, how):
            if not args.quiet:
                print(f"risk analysis of {scenario.name} ({args.scenario}): "
                      f"{_plural(alternatives, 'alternative')} × {n} replications with "
                      f"random disruptions (common random numbers); {_running(how)}",
                      flush=True)
            result = risk(scenario, params, replications=n, executor=executor,
                          workers=1 if executor is None else None, out_dir=args.out,
                          run_id=args.run_id, resume=args.resume, overwrite=args.overwrite,
                          progress=not args.quiet, command=shlex.join([PROG, *args.argv]))
    except RiskInterrupted as stop:
        where = stop.directory
        print(f"\n{PROG}: interrupted: {stop.done:,} finished runs kept in "
              f"{where / 'runs.csv' if where else '(nowhere)'} (manifest status: "
              f"interrupted)\ncontinue with:\n  "
              f"{_resume_command(args, where.name if where else '')}", file=sys.stderr,
              flush=True)
        return 128 + stop.signum
    except (FolderLocked, RiskError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    except WorkerDied as exc:
        _error(str(exc))
        argv = [*args.argv, *([] if args.resume else ["--resume"])]
        print(f"the finished runs are kept; continue with:\n  {shlex.join([PROG, *argv])}",
              file=sys.stderr, flush=True)
        return EXIT_FAILURE
    if not args.quiet:
        text = result.report()
        print("\n" + text.rpartition("\n\n")[0])  # the decision comes last, below
        print(f"\n{result.simulations:,} simulations run; results written to "
              f"{result.directory}{os.sep} (runs.csv, events.csv, recovery.csv, risk.json)",
              flush=True)
    _plot_after(args, result.directory)
    if not args.quiet:
        print(f"\n{result.decision}", flush=True)
    return EXIT_OK


# ----------------------------------------------------------------- servicesim sensitivity


def _add_factor_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--factor", metavar="INPUT=LOW,HIGH", action="append", default=[],
                        dest="factors",
                        help="the low and high factor of a behavioural input (repeatable): "
                             "defection (default 0.5,2), reaction_mix (0.5,2), acquisition "
                             "(0.5,1.5); LOW in [0, 1), HIGH in (1, 10]")


def _add_sensitivity_command(commands: Any, common: argparse.ArgumentParser) -> None:
    sens = commands.add_parser(
        "sensitivity", parents=[common],
        help="how the optimum service target and its ROI move with the behavioural inputs",
        description="Vary each uncertain behavioural input low and high (defection increase "
                    "per stockout, the defect share of stockout reactions, acquisition of new "
                    "customers; every segment together, one input at a time) and find the "
                    "optimum of the objective over a grid of targets for each variant, all "
                    "under common random numbers. Writes sensitivity.csv, sensitivity.json "
                    "and charts/08-sensitivity.png to OUT/<scenario name>/<run id>/. Without "
                    "--around or --bounds the optimum is found first (as 'servicesim "
                    "optimize SCENARIO' does).")
    _add_scenario_options(sens, replications=False)
    sens.add_argument("--objective", default="roi",
                      choices=("roi", "operating_profit", "economic_profit"),
                      help="the figure to maximise (default: roi)")
    sens.add_argument("--param", metavar="KEY", default="policy.service_target",
                      help="the decision varied over the grid (default policy.service_target)")
    grid = sens.add_mutually_exclusive_group()
    grid.add_argument("--around", metavar="X", type=float,
                      help="the base optimum: the grid is 1 - m(1 - X) for m = 4, 2.5, 1.6, "
                           "1, 0.63, 0.4, 0.25, rounded to --step")
    grid.add_argument("--bounds", metavar=("LOW", "HIGH"), nargs=2, type=float,
                      help="a grid from LOW to HIGH in steps of --step instead")
    sens.add_argument("--step", metavar="S", type=_positive("a step"),
                      help="resolution of the targets (default 0.001)")
    sens.add_argument("--replications", metavar="N", type=_count, default=10,
                      help="replications of every variant at every target (default 10)")
    _add_factor_option(sens)
    _add_output_options(sens, "sensitivity")
    sens.add_argument("--overwrite", action="store_true",
                      help="replace the files of another sensitivity run in the folder")
    _add_executor_options(sens)
    sens.add_argument("--quiet", action="store_true", help="print nothing but errors")
    _add_no_plots_option(sens)
    sens.set_defaults(handler=_cmd_sensitivity)


def _factors(args: argparse.Namespace) -> dict[str, tuple[float, float]]:
    from .experiment.sensitivity import parse_factor

    problems, factors = [], {}
    for text in args.factors:
        try:
            name, pair = parse_factor(text)
            factors[name] = pair
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ScenarioError(problems)
    return factors


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    scenario = _load(args)
    factors = _factors(args)
    from .experiment.sensitivity import INPUTS, target_grid

    bounds = tuple(args.bounds) if args.bounds else None
    targets = len(target_grid(args.param, args.around or 0.5, bounds, args.step))
    workers = args.workers or args.dask_local or os.cpu_count() or 1
    check_size(scenario, replications=args.replications, alternatives=(1 + 2 * len(INPUTS))
               * targets, workers=workers, allow_large=args.allow_large, source=args.scenario)
    if args.bounds is None and args.around is None:  # the base optimum first
        from .experiment.engine import WorkerDied
        from .experiment.executors import make_executor
        from .experiment.optimize import optimize

        if not args.quiet:
            print(f"finding the optimum of {args.param} first (servicesim optimize "
                  f"{args.scenario} --param {args.param}) ...", flush=True)
        try:
            with make_executor(workers=args.workers, scheduler=args.scheduler,
                               dask_local=args.dask_local,
                               connect_timeout=args.scheduler_timeout) as (executor, _):
                found = optimize(scenario, [f"{args.param}={':'.join(DEFAULT_SEARCH[1])}"],
                                 objective=args.objective, executor=executor,
                                 workers=1 if executor is None else None, out_dir=args.out,
                                 resume=True)
        except WorkerDied as exc:
            _error(str(exc))
            return EXIT_FAILURE
        args.around = found.best[args.param]
        if not args.quiet:
            print(f"base optimum {args.param} = {args.around:g} ({found.directory})",
                  flush=True)
    return _sensitivity_after(args, scenario, args.param, args.around, None, factors)


def _sensitivity_after(args: argparse.Namespace, scenario: Scenario, key: str,
                       around: float | None, directory: Any,
                       factors: Mapping[str, tuple[float, float]] | None = None) -> int:
    """Run the sensitivity (into ``directory``, or its own folder when None), print its
    table and sentence and draw chart 08 unless --no-plots; the exit code."""
    from .experiment.engine import WorkerDied
    from .experiment.executors import make_executor
    from .experiment.sensitivity import (
        DEFAULT_REPLICATIONS,
        SensitivityInterrupted,
        sensitivity,
    )

    factors = _factors(args) if factors is None else factors
    own = args.command == "sensitivity"  # else optimize --sensitivity: the defaults
    bounds = tuple(args.bounds) if own and args.bounds else None
    replications = args.replications if own else DEFAULT_REPLICATIONS
    try:
        with make_executor(workers=args.workers, scheduler=args.scheduler,
                           dask_local=args.dask_local,
                           connect_timeout=args.scheduler_timeout) as (executor, how):
            if not args.quiet:
                print(f"\nsensitivity of the optimum {key} to the behavioural inputs; "
                      f"{_running(how)}", flush=True)
            result = sensitivity(
                scenario, param=key, around=None if bounds else around, bounds=bounds,
                step=args.step if own else None, objective=args.objective, factors=factors,
                replications=replications, executor=executor,
                workers=1 if executor is None else None, out_dir=args.out, directory=directory,
                run_id=args.run_id if directory is None else None,
                overwrite=args.overwrite, progress=not args.quiet,
                command=shlex.join([PROG, *args.argv]))
    except SensitivityInterrupted as stop:
        print(f"\n{PROG}: interrupted: {stop.done:,} of {stop.total:,} sensitivity runs kept "
              f"in {stop.directory}; run the same command again to continue",
              file=sys.stderr, flush=True)
        return 128 + stop.signum
    except WorkerDied as exc:
        _error(f"{exc}; the finished sensitivity runs are kept: run the same command again")
        return EXIT_FAILURE
    if not args.quiet:
        print(result.report(), flush=True)
    if not args.no_plots:
        from .outputs.tornado_chart import SensitivityChartError, write_tornado_chart

        try:
            paths = write_tornado_chart(result.directory)
        except SensitivityChartError as exc:
            _error(f"chart not written: {exc}")
            return EXIT_OK
        if not args.quiet:
            print(f"sensitivity written to {result.directory}{os.sep} (sensitivity.csv, "
                  f"sensitivity.json, charts/{paths['png'].name})", flush=True)
    return EXIT_OK


# ------------------------------------------------------------------------------ plot


def _add_no_plots_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-plots", action="store_true",
                        help="do not write the charts (nor the report) into the results "
                             "folder")


def _add_plot_command(commands: Any, common: argparse.ArgumentParser) -> None:
    plot = commands.add_parser(
        "plot", parents=[common],
        help="draw the charts of a sweep or optimisation (or a comparison's chart)",
        description="Write the trade-off charts of a sweep or optimize results folder "
                    "(PNG at 300 dpi and SVG) into RESULTS_DIR/charts/ (a frontier or risk "
                    "folder: its own charts); on a compare folder, redraw its chart "
                    "(compare.png and compare.svg) into RESULTS_DIR.")
    plot.add_argument("results_dir", metavar="RESULTS_DIR")
    plot.add_argument("--out", metavar="DIR", help="folder for the charts "
                      "(default: RESULTS_DIR/charts; a compare folder: RESULTS_DIR)")
    plot.add_argument("--format", metavar="FORMATS", default="png,svg",
                      help="comma-separated: png, svg, pdf (default: png,svg; a comparison's "
                           "chart is always PNG and SVG)")
    plot.set_defaults(handler=_cmd_plot)


_NEITHER = ("; a compare results folder holds comparison.csv with manifest.json")


def _cmd_plot(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .outputs.results import PlotError, is_compare_folder

    if is_compare_folder(args.results_dir):
        from .outputs.compare_chart import write_compare_chart
        from .outputs.results import load_comparison

        try:
            chart = write_compare_chart(load_comparison(args.results_dir),
                                        directory=args.out)
        except PlotError as exc:
            raise _UsageError(str(exc)) from None
        print(f"compare chart written to {chart['png']} and {chart['svg'].name}", flush=True)
        return EXIT_OK
    from .outputs.plots import plot_all
    from .outputs.tornado_chart import write_tornado_chart

    formats = [f.strip().lower() for f in args.format.split(",") if f.strip()]
    if _is_history_folder(args.results_dir):
        return _plot_history(args.results_dir, args.out, formats)
    sensitivity_only = (Path(args.results_dir) / "sensitivity.json").exists() and \
        not (Path(args.results_dir) / "runs.csv").exists()
    try:
        paths = [] if sensitivity_only else plot_all(args.results_dir, out_dir=args.out,
                                                     formats=formats)
    except PlotError as exc:
        raise _UsageError(_plus_compare(str(exc))) from None
    if (Path(args.results_dir) / "sensitivity.json").exists():  # chart 08
        paths += write_tornado_chart(args.results_dir, args.out, formats).values()
    folder = paths[0].parent if paths else args.out
    print(f"{len(paths)} chart files written to {folder}{os.sep}", flush=True)
    return EXIT_OK


def _is_history_folder(directory: str) -> bool:
    """A ``servicesim run`` folder of a scenario that re-planned (not a sweep's)."""
    from pathlib import Path

    from .outputs.charts.service_over_time import is_history_folder

    return is_history_folder(directory) and not (Path(directory) / "runs.csv").exists()


def _plot_history(directory: str, out: str | None, formats: Sequence[str]) -> int:
    """Chart 15 of a run folder that re-planned."""
    from .outputs.charts import plot_service_history
    from .outputs.results import PlotError

    try:
        paths = plot_service_history(directory, out, formats)
    except PlotError as exc:
        raise _UsageError(str(exc)) from None
    print(f"{len(paths)} chart files written to {paths[0].parent}{os.sep}", flush=True)
    return EXIT_OK


def _plus_compare(message: str) -> str:
    """A "not a results folder" message that also says what a compare folder holds."""
    return message + _NEITHER if "not a sweep or optimisation results folder" in message \
        else message


def _plot_after(args: argparse.Namespace, directory: Any) -> None:
    """The charts of a finished sweep/optimisation, unless --no-plots."""
    if args.no_plots:
        return
    from .outputs.plots import PlotError, plot_all

    try:
        paths = plot_all(directory)
    except PlotError as exc:
        _error(f"charts not written: {exc}")
        return
    if not args.quiet and paths:
        print(f"charts written to {paths[0].parent}{os.sep} (servicesim plot to redraw)",
              flush=True)
    _report_after(args, directory)


# ------------------------------------------------------------------- servicesim report


def _add_report_command(commands: Any, common: argparse.ArgumentParser) -> None:
    report = commands.add_parser(
        "report", parents=[common],
        help="write the HTML report and Excel workbook of results (sweep, optimize, compare, "
             "frontier, risk)",
        description="Write report.html (self-contained and printable: the decision against "
                    "today's policy, charts, one row per alternative with the key figures, "
                    "assumptions in plain words, every figure with its 95 % CI, the "
                    "scenario) and report.xlsx (the same tables, every run with its seed) "
                    "of a sweep, optimize, compare, frontier or risk results folder.")
    report.add_argument("results_dir", metavar="RESULTS_DIR")
    report.add_argument("--out", metavar="DIR", help="folder for the report "
                        "(default: RESULTS_DIR)")
    report.set_defaults(handler=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    from .outputs.report import ReportError, write_report

    try:
        paths = write_report(args.results_dir, out_dir=args.out)
    except ReportError as exc:
        raise _UsageError(_plus_compare(str(exc))) from None
    print(f"report written to {paths['html']} and {paths['xlsx']}", flush=True)
    return EXIT_OK


def _report_after(args: argparse.Namespace, directory: Any, file: TextIO | None = None) -> None:
    """The report of a finished sweep, optimisation or comparison (after its charts, so they
    are reused); ``file`` is where the message goes (stderr when stdout carries JSON)."""
    from .outputs.report import ReportError, write_report

    try:
        paths = write_report(directory)
    except ReportError as exc:
        _error(f"report not written: {exc}")
        return
    if not args.quiet:
        print(f"report written to {paths['html']} and {paths['xlsx'].name}",
              file=file or sys.stdout, flush=True)


# ------------------------------------------------------------------- servicesim compare


def _add_compare_command(commands: Any, common: argparse.ArgumentParser) -> None:
    compare = commands.add_parser(
        "compare", parents=[common],
        help="what-if: compare scenarios (files or --set-variant) under common random "
             "numbers",
        description="Run several scenarios (files, and variants of the first file made with "
                    "--set-variant) for the same replications (common random numbers) and "
                    "report each key figure side by side with its paired difference to the "
                    "first scenario and the 95 % CI of that difference; writes runs.csv, "
                    "comparison.csv, manifest.json and a chart to OUT/<compare id>/.",
    )
    compare.add_argument("scenarios", metavar="SCENARIO.yaml", nargs="+",
                         help="scenario files; the first is the reference")
    compare.add_argument("--set-variant", metavar="LABEL:KEY=VALUE[,KEY=VALUE...]",
                         action="append", default=[], dest="variants",
                         help="a labelled variant of the first file, e.g. \"shorter lead "
                              "time:supplier.lead_time_days.mean=8\" (repeatable)")
    compare.add_argument("--replications", metavar="N", dest="run_replications",
                         help="replications of every scenario (default: the first file's "
                              "run.replications)")
    compare.add_argument("--seed", metavar="S",
                         help="root random seed (default: the first file's run.seed)")
    compare.add_argument("--horizon-days", metavar="D",
                         help="simulated days including warm-up, for every scenario")
    compare.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                         dest="overrides", help="change a value in every scenario "
                         "(repeatable; VALUE is YAML)")
    compare.add_argument("--out", metavar="DIR", default="results",
                         help="results folder (default: results); files go to "
                              "DIR/<compare id>/")
    compare.add_argument("--id", metavar="NAME", dest="run_id",
                         help="name of the comparison folder (default: compare- and a hash "
                              "of what is run)")
    _add_executor_options(compare)
    _add_allow_large_option(compare)
    compare.add_argument("--json", action="store_true",
                         help="print only the comparison table as JSON on stdout")
    compare.add_argument("--quiet", action="store_true", help="print nothing but errors")
    compare.set_defaults(handler=_cmd_compare)


def _compare_inputs(args: argparse.Namespace) -> tuple[list[Scenario], list[str]]:
    """The scenarios (files with the common options applied, then the variants of the
    first file) and their labels; every problem of every input at once."""
    from pathlib import Path

    from .experiment.compare import apply_variant, parse_variant
    from .inputs.scenario_file import load_scenario
    from .scenario.overrides import Override

    common: list[str | Override] = list(args.overrides)
    for option, key, value in (("--replications", "run.replications", args.run_replications),
                               ("--seed", "run.seed", args.seed),
                               ("--horizon-days", "run.horizon_days", args.horizon_days)):
        if value is not None:
            common.append(Override(key, value, option))
    problems: list[Any] = []
    scenarios: list[Scenario] = []
    labels: list[str] = []
    for file in args.scenarios:
        try:
            scenarios.append(load_scenario(file, common))
            labels.append(Path(file).stem)
        except ScenarioError as exc:
            problems.extend(exc.problems)
    variants = []
    for text in args.variants:
        try:
            variants.append(parse_variant(text))
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if scenarios and len(scenarios) == len(args.scenarios):
        for variant in variants:
            try:
                scenarios.append(apply_variant(scenarios[0], variant,
                                               source=args.scenarios[0]))
                labels.append(variant.label)
            except ScenarioError as exc:
                problems.extend(exc.problems)
    if problems:
        raise ScenarioError(problems)
    if len(scenarios) < 2:
        raise _UsageError("compare needs at least two scenarios: several files, or one file "
                          "and --set-variant LABEL:KEY=VALUE")
    if len(set(labels)) != len(labels):  # two files with the same stem: use the paths
        labels = [*args.scenarios, *labels[len(args.scenarios):]]
    return scenarios, labels


def _cmd_compare(args: argparse.Namespace) -> int:
    scenarios, labels = _compare_inputs(args)
    from .experiment.compare import KEY_FIGURES, compare
    from .experiment.executors import make_executor
    from .outputs.compare_chart import write_compare_chart

    n = scenarios[0].run.replications
    tasks = n * len(scenarios)
    workers = min(args.workers or os.cpu_count() or 1, tasks)
    largest = max(range(len(scenarios)), key=lambda i: estimate(scenarios[i], n).hours)
    check_size(scenarios[largest], replications=n, alternatives=len(scenarios),
               workers=args.dask_local or workers, allow_large=args.allow_large,
               source=args.scenarios[min(largest, len(args.scenarios) - 1)])
    info = sys.stderr if args.json else sys.stdout
    with make_executor(workers=workers, scheduler=args.scheduler, dask_local=args.dask_local,
                       connect_timeout=args.scheduler_timeout) as (executor, how):
        if not args.quiet:
            print(f"comparing {len(scenarios)} scenarios against the reference "
                  f"{labels[0]!r}:", file=info)
            for label, scenario in zip(labels, scenarios, strict=True):
                print(f"  {label}  ({scenario.name}, {scenario.run.horizon_days:g} days, "
                      f"{scenario.run.horizon_days - scenario.run.warmup_days:g} measured)",
                      file=info)
            print(f"common random numbers: every scenario meets the same {n} replication "
                  f"seeds (root seed {scenarios[0].run.seed}); {tasks:,} simulations on "
                  f"{how}", file=info, flush=True)
        result = compare(scenarios, labels, executor=executor,
                         workers=1 if executor is None else None, out_dir=args.out,
                         run_id=args.run_id, progress=not args.quiet,
                         command=shlex.join([PROG, *args.argv]))
    if args.json:
        print(json.dumps(result.to_dict(KEY_FIGURES), indent=2, ensure_ascii=False,
                         allow_nan=False), flush=True)
    elif not args.quiet:
        print()
        print(result.report(), flush=True)
    chart = write_compare_chart(result)
    if not args.quiet:
        print(f"\nresults written to {result.directory}{os.sep} (runs.csv, comparison.csv, "
              f"manifest.json, {chart['png'].name}, {chart['svg'].name})", file=info,
              flush=True)
    _report_after(args, result.directory, file=info)
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from .inputs.scenario_file import load_scenario

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
        _warn(args, scenario, None, file)
    return status


def _warn(args: argparse.Namespace, scenario: Scenario, result: Any,
          source: str | None = None) -> None:
    """Print on stderr, as ``servicesim: warning: ...``, what looks implausible in
    ``scenario`` and in the figures of ``result`` (a run's replications, a sweep or an
    optimisation; ``None``: the scenario only).  Warnings never change the exit code;
    ``--quiet`` hides them."""
    if getattr(args, "quiet", False):
        return
    from .experiment import advice

    messages = advice.scenario_warnings(scenario)
    if hasattr(result, "intervals"):  # a sweep: one warning per kind, not per alternative
        intervals = result.intervals()
        items = result.plan.items
        messages += advice.alternatives_warnings(
            scenario, [(items[a][0], intervals[a]) for a in sorted(intervals)],
            scenarios=[items[a][1] for a in sorted(intervals)])
    elif hasattr(result, "evaluations"):  # an optimisation
        keys = [axis["key"] for axis in result.space] or list(result.best)
        messages += advice.alternatives_warnings(
            scenario, advice.alternatives_from_runs(result.runs, keys))
    elif result is not None:  # a run's replications
        figures = dict(result.summary(level=0.95))
        if scenario.locations:  # each location is held to its own target
            figures.update({f"{location}.{name}": interval for location, row in
                            result.breakdown_summary("location", level=0.95).items()
                            for name, interval in row.items()})
        messages += advice.figure_warnings(scenario, figures)
    sys.stdout.flush()
    for message in messages:
        print(f"{PROG}: warning: {source + ': ' if source else ''}{message}",
              file=sys.stderr, flush=True)


_OPTION_NAMES = {"run_id": "--id", "out": "--out", "overrides": "--set", "params": "--param",
                 "variants": "--set-variant", "scenario": "SCENARIO.yaml",
                 "scenarios": "SCENARIO.yaml", "results_dir": "RESULTS_DIR"}


def _check_names(args: argparse.Namespace) -> None:
    """Refuse, before anything runs, an ``--id`` that is not one safe folder name and any
    argument holding a NUL character (no file system accepts one)."""
    run_id = getattr(args, "run_id", None)
    if run_id is not None:
        problem = name_problem(run_id)
        if problem is not None:
            shown = repr(run_id) if len(run_id) <= 80 else repr(run_id[:77]) + "..."
            raise _UsageError(f"--id {shown}: the id names the results folder; {problem}")
    for dest, value in vars(args).items():
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(t, str) and "\0" in t for t in texts):
            option = _OPTION_NAMES.get(dest, "--" + dest.replace("_", "-"))
            raise _UsageError(f"{option}: the value contains a NUL character")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit code.

    Without ``argv`` this is the program, about to end: after Ctrl-C or SIGTERM, further
    ones are ignored until it has ended (see ``terminate_as_interrupt``)."""
    as_program = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
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
        _check_names(args)
        args.argv = argv  # to repeat the command line (manifest, --resume hint)
        with terminate_as_interrupt(for_good=as_program):  # SIGTERM stops as Ctrl-C does
            return int(args.handler(args))
    except (ScenarioError, OutputError, ExecutorError, _UsageError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 128 + signal_number(exc)
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


# ------------------------------------------------------------------------------- app


def _port(text: str) -> int:
    """An argparse type: a TCP port, 1 to 65535."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {text!r}")
    return value


def _add_app_command(commands: Any, common: argparse.ArgumentParser) -> None:
    app = commands.add_parser(
        "app", parents=[common],
        help="the interactive what-if page in a web browser (pip install 'servicesim[app]')",
        description="Serve a local web page: edit the service target, lead time, order "
                    "quantities, reactions and expedite of SCENARIO.yaml (default "
                    "scenarios/baseline.yaml) and see today against the edited scenario, "
                    "paired under common random numbers, with the theory check and a quick "
                    "ROI sweep.  Needs the app extra: pip install 'servicesim[app]'.",
    )
    app.add_argument("scenario", metavar="SCENARIO.yaml", nargs="?",
                     help="the scenario loaded at start (default scenarios/baseline.yaml)")
    app.add_argument("--port", type=_port, default=8050, help="port (default 8050)")
    app.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1: this machine only)")
    app.add_argument("--results-dir", metavar="DIR", default="results",
                     help="the only folder the page reads scenario paths from and writes "
                          "to: uploads, quick sweeps (default: results)")
    app.set_defaults(handler=_cmd_app)


def _cmd_app(args: argparse.Namespace) -> int:
    from .app import AppError, serve  # the framework itself only when serving

    def announce(url: str) -> None:
        print(f"servicesim app: open {url} in a browser (Ctrl-C stops it)", flush=True)
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            print(f"{PROG}: warning: --host {args.host} lets other machines open the page",
                  file=sys.stderr, flush=True)

    try:
        serve(args.scenario, host=args.host, port=args.port, results_dir=args.results_dir,
              announce=announce)
    except AppError as exc:
        raise _UsageError(str(exc)) from None
    return EXIT_OK


# ----------------------------------------------------------------- items and generate


def _add_items_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    generate = commands.add_parser(
        "generate", parents=[common],
        help="write a synthetic item master, demand history and scenario (demos, tests)",
        description="Write items.csv, history.csv and scenario.yaml (which references them) "
                    "to DIR: Pareto revenue (about 20 % of SKUs make 80 %), fast and "
                    "intermittent movers, prices over four orders of magnitude, varied "
                    "lead times, two segments, fixed cost and fixed assets of 15 % of the "
                    "annual revenue each. The same seed writes the same files.",
    )
    generate.add_argument("--skus", metavar="N", type=_count, default=1000,
                          help="number of SKUs (default 1000)")
    generate.add_argument("--days", metavar="D", type=_count, default=730,
                          help="days of history (default 730)")
    generate.add_argument("--seed", metavar="S", type=int, default=7,
                          help="random seed (default 7)")
    generate.add_argument("--lines-per-day", metavar="X", type=_positive(), default=None,
                          help="expected order lines a day in total (default 0.2 per SKU)")
    generate.add_argument("--out", metavar="DIR", required=True,
                          help="folder to write the three files to")
    generate.set_defaults(handler=_cmd_generate)

    items = commands.add_parser(
        "items", parents=[common],
        help="fit a scenario's item master and history and report the fit per SKU",
        description="Load SCENARIO.yaml, fit its items: section (order-line rate and "
                    "units-per-line distribution per SKU, ABC and XYZ classes), print a "
                    "compact report and write the full per-SKU report to "
                    "OUT/<scenario name>/items_fit.csv.",
    )
    items.add_argument("scenario", metavar="SCENARIO.yaml")
    items.add_argument("--out", metavar="DIR", default="results",
                       help="results folder (default: results)")
    items.add_argument("--top", metavar="N", type=_count, default=10,
                       help="SKUs shown in the top-by-revenue table (default 10)")
    items.set_defaults(handler=_cmd_items)


def _cmd_generate(args: argparse.Namespace) -> int:
    from .inputs.generate import generate

    if args.seed < 0:
        raise _UsageError(f"--seed must be >= 0, got {args.seed}")
    try:
        data = generate(skus=args.skus, days=args.days, seed=args.seed, out_dir=args.out,
                        lines_per_day=args.lines_per_day)
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    print(f"wrote {data.items} ({_plural(data.skus, 'SKU')}), {data.history} "
          f"({data.lines:,} order lines over {data.days} days) and {data.scenario}")
    print(f"revenue share of the top 20 % of SKUs: {data.pareto_share:.1%}; SKUs with "
          f"under one order line a week: {data.intermittent_share:.0%}", flush=True)
    if data.finance is not None:
        print(f"finance scaled to the business: revenue {data.finance.annual_revenue:,.0f} a "
              f"year; fixed cost {data.finance.fixed_cost_per_year:,.0f} a year and fixed "
              f"assets {data.finance.fixed_logistics_assets:,.0f} (scenario.yaml says why)",
              flush=True)
    return EXIT_OK


def _cmd_items(args: argparse.Namespace) -> int:
    from .files import atomic_write_text
    from .inputs.items import load_with_fit

    scenario, fit = load_with_fit(args.scenario)
    if fit is None:
        raise _UsageError(f"{args.scenario} has no items: section to fit (or it was "
                          "already expanded, as in a results folder's scenario.yaml)")
    print(fit.summary(top=args.top))
    path = atomic_write_text(os.path.join(args.out, scenario.name, "items_fit.csv"),
                             fit.to_csv())
    print(f"\nper-SKU fit written to {path}", flush=True)
    return EXIT_OK

