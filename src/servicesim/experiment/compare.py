"""What-if comparison: several scenarios under common random numbers, paired differences.

``compare([baseline, shorter_lead_time], ["baseline", "shorter lead time"])`` runs every
scenario for the same replications — replication *r* of every scenario uses child *r* of
``SeedSequence(seed)``, so all of them meet the same customers, quantities and lead times
(common random numbers, DOMAIN §6).  The first scenario is the *reference*; for every other
one and every figure the comparison reports the **paired difference** (scenario − reference)
over the common replications, its 95 % paired-t interval and two-sided p-value.  Because the
luck of the draw is shared, these differences are far sharper than the scenarios' own
intervals suggest.

Files go to ``<out_dir>/<compare id>/``: ``runs.csv`` (one row per scenario × replication),
``comparison.csv`` (one row per figure × scenario), ``manifest.json`` (labels, scenarios as
run, seed, replications, command, version, times); the command adds the chart
``compare.png``/``compare.svg`` (:func:`servicesim.outputs.compare_chart.write_compare_chart`).

Variants of one file are written ``LABEL:key=value[,key=value...]``
(:func:`parse_variant`), the same dotted keys as ``--set``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import VERSION
from ..errors import NOT_SET, Problem, ScenarioError
from ..files import (
    OutputError,
    csv_text,
    jsonable,
    safe_folder_name,
)
from ..kpis import KEY_FIGURES, KPI_BY_KEY, SUMMARY_KEYS
from ..scenario.overrides import Override, with_overrides
from ..scenario.schema import Scenario
from ..text import aligned_line, clip, column_widths
from .engine import execute, make_tasks, refuse_experiment_keys
from .executors import make_executor
from .params import apply_params
from .statistics import excludes_zero, figure_interval, paired_comparison
from .store import (
    RUNS_FILE,
    ComparisonTable,
    ResultsFolder,
    check_run_id,
    content_id,
    figure_columns,
)
from .sweep import progress_bar

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = [
    "CONFIDENCE_LEVEL",
    "KEY_FIGURES",
    "Comparison",
    "Variant",
    "apply_variant",
    "compare",
    "default_compare_id",
    "paired_difference",
    "parse_variant",
]

CONFIDENCE_LEVEL = 0.95

TABLE_FILE, MANIFEST_FILE = "comparison.csv", "manifest.json"
TABLE_COLUMNS = ("figure", "scenario", "label", "mean", "ci_low", "ci_high", "std", "n",
                 "diff", "diff_ci_low", "diff_ci_high", "p_value", "n_pairs")
"""The columns of ``comparison.csv``; the ``diff`` columns are empty for the reference."""

MAX_LABEL = 80


# --------------------------------------------------------------------------- variants


@dataclass(frozen=True)
class Variant:
    """A labelled set of changes to a scenario: ``LABEL:key=value,key=value``."""

    label: str
    overrides: tuple[Override, ...]


def _split_top_level(text: str) -> list[str]:
    """Split at commas outside ``{}``, ``[]`` and quotes (so YAML mappings stay whole)."""
    parts, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth = max(depth - 1, 0)
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def parse_variant(text: str, option: str = "--set-variant") -> Variant:
    """Parse ``LABEL:key=value[,key=value...]`` (values are YAML; a mapping value such as
    ``{wait: 0.1, switch: 0.9}`` may contain commas).

    Raises :class:`ScenarioError` naming the option and what is wrong; whether the keys
    exist and the values are allowed is checked when the variant is applied.
    """
    usage = (f"{option} expects LABEL:key=value[,key=value...], e.g. "
             "\"shorter lead time:supplier.lead_time_days.mean=8\"")

    def bad(message: str) -> ScenarioError:
        return ScenarioError([Problem(f"{option} {text}", "", NOT_SET, message)])

    label, sep, changes = text.partition(":")
    label = label.strip()
    if not sep or "=" in label:
        raise bad(f"no label before ':'; {usage}")
    if not label:
        raise bad(f"the label before ':' is empty; {usage}")
    if len(label) > MAX_LABEL or not label.isprintable():
        raise bad(f"a label is at most {MAX_LABEL} printable characters")
    overrides = []
    for part in _split_top_level(changes):
        key, eq, value = part.partition("=")
        if not eq or not key.strip() or not value.strip():
            shown = part.strip() or "(nothing)"
            raise bad(f"{shown!r} is not key=value; {usage}")
        overrides.append(Override(key.strip(), value.strip(), option))
    refuse_experiment_keys({o.key: o.value for o in overrides}, f"{option} {label}")
    return Variant(label, tuple(overrides))


def apply_variant(scenario: Scenario, variant: Variant | str,
                  source: str | None = None) -> Scenario:
    """The scenario with the variant's changes applied and validated (a ScenarioError names
    the variant, the key, the value and what is allowed)."""
    if isinstance(variant, str):
        variant = parse_variant(variant)
    refuse_experiment_keys({o.key: o.value for o in variant.overrides},
                           f"--set-variant {variant.label}")
    origins = {}
    overrides = []
    for o in variant.overrides:
        plain = Override(o.key, o.value)  # applied as --set, reported as the variant
        overrides.append(plain)
        origins[plain.label] = f"{o.option} {variant.label}:{o.key}={o.value}"
    try:
        return with_overrides(scenario, overrides, source=source)
    except ScenarioError as exc:
        raise ScenarioError([dataclasses.replace(p, origin=origins.get(p.origin or "", p.origin))
                             for p in exc.problems]) from None


# ------------------------------------------------------------------------- statistics


def paired_difference(reference: Sequence[float], other: Sequence[float],
                      level: float = CONFIDENCE_LEVEL) -> dict[str, float]:
    """Mean of ``other − reference`` over replications defined in both, its paired-t
    interval and two-sided p-value (H0: no difference), as the columns of
    ``comparison.csv``: :func:`~servicesim.experiment.statistics.paired_comparison`.

    A difference with no spread (identical scenarios) has a zero-width interval and p = 1
    when it is 0, p = 0 otherwise.
    """
    test = paired_comparison(other, reference, level, alternative="two-sided")
    return {"diff": test["diff"], "diff_ci_low": test["diff_ci_low"],
            "diff_ci_high": test["diff_ci_high"], "p_value": test["p_value"],
            "n_pairs": test["n_common"]}


def _significant(row: Mapping[str, Any]) -> bool:
    """Whether the 95 % interval of a row's paired difference excludes 0."""
    return excludes_zero(row.get("diff_ci_low"), row.get("diff_ci_high"))


# ---------------------------------------------------------------------------- result


@dataclass(frozen=True)
class Comparison(ComparisonTable):
    """Scenarios run under common random numbers: tidy runs and the comparison table."""

    labels: tuple[str, ...]
    scenarios: tuple[Scenario, ...] = field(repr=False)
    replications: int
    seed: int
    runs: list[dict[str, Any]] = field(repr=False)
    """One row per scenario × replication: scenario (index), label, replication, seed
    (the root seed) and every figure."""
    table: list[dict[str, Any]] = field(repr=False)
    """One row per figure × scenario (:data:`TABLE_COLUMNS`): mean and 95 % CI, and for
    every scenario after the first the paired difference to the first."""
    compare_id: str = ""
    directory: Path | None = None

    def difference(self, figure: str, label: str) -> dict[str, float]:
        """``{"diff", "diff_ci_low", "diff_ci_high", "p_value", "n_pairs"}`` of ``label``
        against the reference."""
        row = self.row(figure, label)
        return {k: row[k] for k in ("diff", "diff_ci_low", "diff_ci_high", "p_value",
                                    "n_pairs")}

    def report(self, figures: Sequence[str] = KEY_FIGURES) -> str:
        """An aligned text table: per figure the reference mean, and per alternative its
        mean and Δ ± the half-width of its 95 % paired CI, ``*`` where the CI excludes 0."""
        return format_comparison(self, figures)

    def to_dict(self, figures: Sequence[str] | None = None) -> dict[str, Any]:
        """The comparison as JSON-ready data (non-finite numbers as ``None``)."""
        keys = list(figures) if figures is not None else list(SUMMARY_KEYS)
        table: dict[str, dict[str, dict[str, Any]]] = {}
        for row in self.table:
            if row["figure"] in keys:
                entry = {k: jsonable(row[k]) for k in TABLE_COLUMNS
                         if k not in ("figure", "label", "scenario")}
                if row["scenario"] == 0:
                    entry = {k: v for k, v in entry.items()
                             if k not in ("diff", "diff_ci_low", "diff_ci_high", "p_value",
                                          "n_pairs")}
                table.setdefault(row["figure"], {})[row["label"]] = entry
        return {"reference": self.reference, "labels": list(self.labels),
                "replications": self.replications, "seed": self.seed,
                "confidence_level": CONFIDENCE_LEVEL, "common_random_numbers": True,
                "figures": table,
                "directory": str(self.directory) if self.directory is not None else None}

    def to_frames(self) -> tuple[pandas.DataFrame, pandas.DataFrame]:
        """``(runs, table)`` as pandas DataFrames (``pip install 'servicesim[pandas]'``)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("Comparison.to_frames needs pandas: "
                              "pip install 'servicesim[pandas]'") from None
        runs = pd.DataFrame(self.runs, columns=_run_columns(self.scenarios))
        table = pd.DataFrame(self.table, columns=list(TABLE_COLUMNS))
        return runs, table


# --------------------------------------------------------------------------- running


def _check_labels(scenarios: Sequence[Scenario], labels: Sequence[str] | None) -> list[str]:
    if labels is None:
        labels = [s.name for s in scenarios]
    labels = [str(label).strip() for label in labels]
    problems = []
    if len(labels) != len(scenarios):
        problems.append(Problem("labels", "", NOT_SET, f"{len(labels)} labels for "
                                f"{len(scenarios)} scenarios; give one label per scenario"))
    for label in labels:
        if not label or len(label) > MAX_LABEL or not label.isprintable():
            problems.append(Problem("labels", "", label, f"a label is 1 to {MAX_LABEL} "
                                    "printable characters"))
    repeated = sorted({x for x in labels if labels.count(x) > 1})
    if repeated:
        problems.append(Problem("labels", "", NOT_SET, "labels must differ; repeated: "
                                + ", ".join(repr(x) for x in repeated)
                                + " (give labels, or use --set-variant LABEL:...)"))
    if problems:
        raise ScenarioError(problems)
    return labels


def default_compare_id(scenarios: Sequence[Scenario], labels: Sequence[str],
                       replications: int, seed: int) -> str:
    """``compare-`` and 10 hex digits of a SHA-256 over everything that decides the rows."""
    return content_id("compare", _identity(scenarios, labels, replications, seed))


def _identity(scenarios: Sequence[Scenario], labels: Sequence[str], replications: int,
              seed: int) -> dict[str, Any]:
    return {"labels": list(labels), "replications": replications, "seed": seed,
            "scenarios": [jsonable(s.model_dump(mode="json")) for s in scenarios]}


def _figure_columns(scenarios: Sequence[Scenario]) -> list[str]:
    """Every summary figure, then the ``<location>.<figure>`` columns of the networks among
    ``scenarios`` (:func:`~servicesim.experiment.store.figure_columns`), each once, in the
    order met; a scenario without a location's columns leaves their cells empty."""
    return list(dict.fromkeys(c for s in scenarios for c in figure_columns(s)))


def _run_columns(scenarios: Sequence[Scenario]) -> list[str]:
    return ["scenario", "label", "replication", "seed", *_figure_columns(scenarios)]


def _table(labels: Sequence[str], runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    by_scenario: dict[int, list[Mapping[str, Any]]] = {}
    for run in runs:
        by_scenario.setdefault(int(run["scenario"]), []).append(run)
    out = []
    for key in SUMMARY_KEYS:
        reference = [float(r[key]) for r in by_scenario.get(0, [])]
        for index, label in enumerate(labels):
            values = [float(r[key]) for r in by_scenario.get(index, [])]
            ci = figure_interval(key, values, CONFIDENCE_LEVEL)
            row: dict[str, Any] = {"figure": key, "scenario": index, "label": label,
                                   **{s: ci[s] for s in ("mean", "ci_low", "ci_high", "std",
                                                         "n")}}
            if index == 0:
                row.update(diff=None, diff_ci_low=None, diff_ci_high=None, p_value=None,
                           n_pairs=None)
            else:
                row.update(paired_difference(reference, values))
            out.append(row)
    return out


def compare(
    scenarios: Sequence[Scenario],
    labels: Sequence[str] | None = None,
    *,
    replications: int | None = None,
    seed: int | None = None,
    executor: Executor | None = None,
    workers: int | None = None,
    out_dir: str | os.PathLike[str] | None = "results",
    run_id: str | None = None,
    progress: bool = False,
    command: str | None = None,
) -> Comparison:
    """Run ``scenarios`` under common random numbers and compare them with the first.

    ``labels`` name the scenarios (default: their names; they must differ).
    ``replications`` and ``seed`` default to the first scenario's ``run`` block; every
    scenario is run with them (and its manifest entry says so).  Simulations run on
    ``executor`` (any ``concurrent.futures.Executor``) or ``workers`` local processes
    (default all cores, ``1`` serially).  With ``out_dir`` the files go to
    ``out_dir/<run_id>/`` (default id: ``compare-`` and a hash of what is run).  Bad input
    raises :class:`ScenarioError` (or :class:`OutputError` for a bad id or folder).
    """
    started = datetime.now(UTC)
    scenarios = list(scenarios)
    if not scenarios:
        raise ScenarioError([Problem("compare", "", NOT_SET, "no scenarios to compare")])
    for s in scenarios:
        if not isinstance(s, Scenario):
            raise TypeError(f"scenarios must be servicesim.Scenario objects, got {s!r}")
    names = _check_labels(scenarios, labels)
    reference = scenarios[0].run
    n = int(reference.replications if replications is None else replications)
    root = int(reference.seed if seed is None else seed)
    if (replications is not None and not isinstance(replications, numbers.Integral)) or n < 2:
        given = replications is not None
        raise ScenarioError([Problem(
            "--replications" if given else "compare", "" if given else "run.replications",
            replications if given else n,
            "compare needs at least 2 replications: it reports each difference with the "
            "confidence interval of a paired t-test, which one replication cannot give "
            "(one replication is for a quick look with servicesim run or sweep)")])
    # every scenario as run: the common replications and seed written into it
    as_run = [apply_params(s, {"run.replications": n, "run.seed": root}, option="compare")
              for s in scenarios]
    store = None
    compare_id = ""
    if out_dir is not None:
        compare_id = check_run_id(run_id) if run_id is not None else \
            default_compare_id(as_run, names, n, root)
        store = ResultsFolder(Path(out_dir) / compare_id, MANIFEST_FILE)
    with store.lock() if store is not None else nullcontext():
        if store is not None:
            _check_folder(store, _identity(as_run, names, n, root))
        result = _run(as_run, names, n, root, compare_id, store, executor, workers, progress)
        if store is not None:
            _write(result, store, command, started)
    return result


def _run(as_run: Sequence[Scenario], names: Sequence[str], n: int, root: int,
         compare_id: str, store: ResultsFolder | None, executor: Executor | None,
         workers: int | None, progress: bool) -> Comparison:
    """Simulate every scenario for the common replications; the comparison (not written)."""
    tasks = make_tasks([({}, s) for s in as_run], n, root)
    with progress_bar(progress, len(tasks), 0, "compare") as advance:
        local = min(workers or os.cpu_count() or 1, max(len(tasks), 1))
        if executor is not None or local == 1:
            rows = execute(tasks, executor, workers=1, on_row=lambda _r: advance())
        else:
            with make_executor(workers=local) as (pool, _):
                rows = execute(tasks, pool, workers=1, on_row=lambda _r: advance())
    runs = [{"scenario": r["alternative"], "label": names[r["alternative"]],
             "replication": r["replication"], "seed": r["seed"],
             **{k: r[k] for k in _figure_columns(as_run) if k in r}} for r in rows]
    return Comparison(tuple(names), tuple(as_run), n, root, runs, _table(names, runs),
                      compare_id, None if store is None else store.directory)


# ------------------------------------------------------------------------------ files


def _check_folder(store: ResultsFolder, identity: Mapping[str, Any]) -> None:
    """A folder may be reused only by the same comparison (the same rows again)."""
    try:
        safe_folder_name(store.directory.name)
    except ValueError as exc:
        raise OutputError(str(exc)) from None
    found = store.read_manifest()
    if found is None:
        if store.runs_path.exists():
            raise OutputError(f"{store.directory} holds {RUNS_FILE} of something else; choose "
                              "another --id or --out")
        return
    if {k: found.get(k) for k in identity} != jsonable(dict(identity)):
        raise OutputError(f"{store.directory} holds another comparison; choose another --id "
                          "or --out")


def _write(result: Comparison, store: ResultsFolder, command: str | None,
           started: datetime) -> None:
    """runs.csv, comparison.csv, then manifest.json — each atomically."""

    identity = _identity(result.scenarios, result.labels, result.replications, result.seed)
    document = {
        "compare_id": result.compare_id,
        "reference": result.reference,
        **identity,
        "common_random_numbers": (
            f"every scenario uses the same {result.replications} replication seeds: "
            "replication r runs with child r of numpy.random.SeedSequence(seed), so all "
            "scenarios meet the same customers, quantities and lead times"),
        "differences": "scenario − reference per replication; mean, 95 % paired-t interval "
                       "and two-sided p-value over the replications defined in both",
        "confidence_level": CONFIDENCE_LEVEL,
        "n_simulations": len(result.runs),
        "files": {"runs": RUNS_FILE, "comparison": TABLE_FILE},
        "command": command,
        "servicesim_version": VERSION,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    store.write_runs(result.runs, _run_columns(result.scenarios))
    store.write_text(TABLE_FILE, csv_text(result.table, TABLE_COLUMNS, extend=False))
    store.write_manifest(document)


# ---------------------------------------------------------------------------- display

_UNIT = {"fraction": "%", "money": "money", "days": "days", "units": "units",
         "customers": "customers", "money/unit": "money/unit"}


def _fmt(key: str, value: Any, signed: bool = False) -> str:
    """A figure for people: fractions in % (differences in percentage points), money whole."""
    if value is None or not isinstance(value, numbers.Real) or not math.isfinite(value):
        return "n/a"
    unit = KPI_BY_KEY[key].unit if key in KPI_BY_KEY else ""
    sign = "+" if signed else ""
    number = float(value)
    if unit == "fraction":
        text = f"{100 * number:{sign}.2f}"
    elif unit == "money":
        text = f"{number:{sign},.0f}"
    elif unit in ("days", "money/unit"):
        text = f"{number:{sign}.2f}"
    elif unit in ("units", "customers"):
        text = f"{number:{sign},.1f}"
    else:
        text = f"{number:{sign}.4g}"
    return "+0" + text[2:] if signed and text.startswith("-0") and float(
        text.replace(",", "")) == 0 else text


def _delta_text(key: str, row: Mapping[str, Any]) -> str:
    diff, low, high = row.get("diff"), row.get("diff_ci_low"), row.get("diff_ci_high")
    if diff is None or not math.isfinite(diff):
        return "n/a"
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return _fmt(key, diff, signed=True)
    half = max(diff - low, high - diff)
    shown, spread = _fmt(key, diff, signed=True), _fmt(key, half)
    if half > 0 and float(spread.replace(",", "")) == 0:  # too small for the usual decimals
        scale = 100.0 if key in KPI_BY_KEY and KPI_BY_KEY[key].unit == "fraction" else 1.0
        shown, spread = f"{scale * diff:+.2g}", f"{scale * half:.2g}"
    return f"{shown} ± {spread}" + \
        (" *" if _significant(row) else "  ")


def format_comparison(result: Comparison, figures: Sequence[str] = KEY_FIGURES) -> str:
    """The comparison table for people (see :meth:`Comparison.report`)."""
    keys = [k for k in figures if k in KPI_BY_KEY]
    alternatives = list(range(1, len(result.labels)))
    currency = result.scenarios[0].finance.currency  # the reference's money
    body = []
    for key in keys:
        kpi = KPI_BY_KEY[key]
        unit = currency if kpi.unit == "money" and currency else _UNIT[kpi.unit]
        cells = [kpi.label, unit, _fmt(key, result.row(key, result.reference)["mean"])]
        for index in alternatives:
            row = result.row(key, result.labels[index])
            cells += [_fmt(key, row["mean"]), _delta_text(key, row)]
        body.append(cells)
    head2 = ["figure", "unit", "mean"]
    for _ in alternatives:
        head2 += ["mean", "Δ ± 95 % CI"]
    widths = column_widths([head2, *body])
    # group headers: the reference above its mean, each alternative above its two columns
    limit = 40
    groups = [(2, 3, "reference: " + result.reference)] + [
        (3 + 2 * i, 5 + 2 * i, result.labels[index]) for i, index in enumerate(alternatives)]
    for start, stop, title in groups:
        span = sum(widths[start:stop]) + 2 * (stop - start - 1)
        title = clip(title, max(span, limit))
        if len(title) > span:
            widths[stop - 1] += len(title) - span

    top = " " * (sum(widths[:2]) + 4)
    for start, stop, title in groups:
        span = sum(widths[start:stop]) + 2 * (stop - start - 1)
        top += clip(title, max(span, limit)).rjust(span) + "  "
    lines = [aligned_line(cells, widths, left=2) for cells in body]
    header = aligned_line(head2, widths, left=2)
    rule = "-" * max(len(header), *(len(x) for x in lines), len(top.rstrip()))
    title = (f"What-if comparison against {result.reference!r}: mean over "
             f"{result.replications} replications (common random numbers, root seed "
             f"{result.seed}); money over the measured window"
             + (f", in {currency}" if currency else ""))
    notes = [f"Δ = scenario − reference, paired over the {result.replications} common "
             "replications, ± the half-width of its 95 % paired-t interval",
             "  (Δ of % figures in percentage points); * the interval of Δ excludes 0"]
    return "\n".join([title, rule, top.rstrip(), header, rule, *lines, rule, *notes])
