"""The results of a sweep or an optimisation as the charts and the report read them.

:func:`load_results` reads a results folder (``runs.csv`` with ``manifest.json`` and
``summary.csv``, or with ``result.json``) into :class:`Results`: the figures of every
alternative with their 95 % confidence intervals, the best alternative and those not
significantly worse, and what replication 0 recorded for the charts
(``chart_records.json``).  It reads files only; it never runs the model.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ScenarioError
from ..experiment.params import apply_params
from ..experiment.statistics import figure_interval, holm, paired_comparison
from ..experiment.store import (
    CHARTS_FILE,
    RUNS_FILE,
    SCENARIO_FILE,
    ComparisonTable,
    read_chart_records,
    read_scenario,
    read_table,
)
from ..files import OutputError
from ..kpis import (
    ACHIEVED,
    SUMMARY_KEYS,
    achieved_service,
    location_words,
    target_locations,
)

__all__ = ["ACHIEVED", "ALPHA", "Alternative", "ComparisonResults", "PlotError",
           "RecordedRun", "Results", "Today", "achieved_service", "figure_keys",
           "is_compare_folder", "load_comparison", "load_results", "read_sensitivity",
           "read_today", "target_locations"]

ALPHA = 0.05
"""Level of the Holm-corrected paired tests that make a sweep's not-worse set."""


class PlotError(ValueError):
    """A folder that holds no sweep or optimisation results; the message says why."""


@dataclass(frozen=True)
class Alternative:
    """One simulated alternative: its number, parameter values and every figure's
    ``{"mean", "ci_low", "ci_high", "n"}`` (95 % Student-t, probabilities clipped)."""

    id: int
    params: dict[str, Any]
    figures: dict[str, dict[str, float]] = field(repr=False)

    def mean(self, key: str) -> float:
        return float(self.figures[key]["mean"])

    def interval(self, key: str) -> tuple[float, float, float]:
        f = self.figures[key]
        return float(f["mean"]), float(f["ci_low"]), float(f["ci_high"])


@dataclass(frozen=True)
class RecordedRun:
    """What replication 0 of an alternative recorded for the charts beyond its figures
    (``chart_records.json`` of the results folder)."""

    cycle_time_counts: np.ndarray
    """Orders closed in the window in each non-empty bin of the cycle-time histogram."""
    cycle_time_edges: np.ndarray
    """Upper edge (days) of each of those bins, increasing."""
    short_units: dict[str, float]
    """Units short at a stockout in the window, by the reaction drawn."""
    units_demanded: float
    units_delivered: float
    gross_margin: float
    defections: float

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> RecordedRun:
        pairs = sorted((float(edge), int(count)) for edge, count in record["cycle_time_counts"])
        return cls(np.asarray([c for _, c in pairs], dtype=float),
                   np.asarray([e for e, _ in pairs], dtype=float),
                   {str(k): float(v) for k, v in record["units_short_by_reaction"].items()},
                   float(record["units_demanded"]), float(record["units_delivered"]),
                   float(record["gross_margin"]), float(record["defections"]))


@dataclass
class Results:
    """A sweep's or an optimisation's results, as the charts need them."""

    directory: Path
    kind: str
    """``"sweep"`` or ``"optimize"``."""
    scenario_name: str
    keys: list[str]
    """The swept or searched parameters (dotted scenario keys)."""
    objective: str
    alternatives: list[Alternative]
    best: int
    """The alternative with the highest mean objective."""
    not_worse: list[int]
    """Alternatives whose objective is not significantly below the best's (best included)."""
    runs: list[dict[str, Any]] = field(repr=False)
    seed: int | None = None
    replications: int = 0
    alpha: float = ALPHA
    _records: dict[int, dict[str, Any]] | None = field(default=None, repr=False)
    _scenario: Any = field(default=None, repr=False)

    def by_id(self, alternative: int) -> Alternative:
        return next(a for a in self.alternatives if a.id == alternative)

    @property
    def service_locations(self) -> tuple[str, ...]:
        """The locations whose service target is swept (:func:`target_locations` of the
        first such key), () when none is."""
        return next((found for found in map(target_locations, self.keys) if found), ())

    @property
    def service_key(self) -> str:
        """The achieved service charts set against the target: the item fill rate β, or
        for a swept location target those locations' fill rate (:data:`ACHIEVED`)."""
        return ACHIEVED if self.service_locations else "item_fill_rate"

    @property
    def service_axis(self) -> str:
        """A short axis label of :attr:`service_key`: "Achieved β", "β at branch_a", or for
        several locations "β at swept" (the legend names them)."""
        locations = self.service_locations
        if not locations:
            return "Achieved β"
        if "*" in locations:
            return "β at every location"
        return f"β at {locations[0]}" if len(locations) == 1 else "β at swept"

    @property
    def service_label(self) -> str:
        """What :attr:`service_key` is, for an axis or a legend."""
        locations = self.service_locations
        return achieved_label(locations) if locations else "item fill rate β"

    @property
    def best_alternative(self) -> Alternative:
        return self.by_id(self.best)

    @property
    def scenario_file(self) -> Path:
        return self.directory / SCENARIO_FILE

    def scenario(self, alternative: Alternative | None = None) -> Any:
        """The scenario as run (``scenario.yaml``), with ``alternative``'s values set."""
        if self._scenario is None:
            try:
                self._scenario = read_scenario(self.directory)
            except (OutputError, ScenarioError) as exc:
                raise PlotError(str(exc)) from None
        base = self._scenario
        return base if alternative is None else apply_params(base, alternative.params)

    @property
    def today(self) -> Today | None:
        """The scenario's own policy beside the best (``today.json``), or None; with a
        swept location target, its achieved service (:data:`ACHIEVED`) from ``today.csv``."""
        today = read_today(self.directory)
        if today is None:
            return None
        rows = _read_csv(self.directory / "today.csv")
        if rows and len(figure_keys(rows)) > len(SUMMARY_KEYS):  # a network's locations
            today.figures.update({k: v for k, v in _figures(rows).items()
                                  if k not in today.figures})
        if self.service_locations:
            values = [achieved_service(r, self.service_locations) for r in rows]
            ci = figure_interval("item_fill_rate", values or [math.nan], 0.95)
            today.figures[ACHIEVED] = {s: float(ci[s]) for s in ("mean", "ci_low", "ci_high")}
        return today

    @property
    def locations(self) -> list[str]:
        """The locations of a network in network order (upstream first), [] for a single
        location or a scenario that cannot be read."""
        try:
            scenario = self.scenario()
        except PlotError:
            return []
        return scenario.network_order() if scenario.locations is not None else []

    @property
    def currency(self) -> str | None:
        """``finance.currency`` of the scenario as run (None when unset or unreadable)."""
        try:
            return self.scenario().finance.currency
        except PlotError:
            return None

    def recorded(self, alternatives: Sequence[Alternative]) -> dict[int, RecordedRun]:
        """What replication 0 of each alternative recorded for the charts (the cycle-time
        histogram, the units short by reaction); a PlotError when the folder lacks it."""
        if self._records is None:
            try:
                self._records = read_chart_records(self.directory)
            except OutputError as exc:
                raise PlotError(str(exc)) from None
        missing = [a.id for a in alternatives if a.id not in self._records]
        if missing:
            raise PlotError(
                f"{self.directory / CHARTS_FILE} has no record of replication 0 of "
                f"alternative(s) {', '.join(map(str, missing))} (results written by an "
                "older servicesim, or replication 0 was not run); run them again with a "
                "new --id to draw this chart")
        return {a.id: RecordedRun.from_record(self._records[a.id]) for a in alternatives}


def _read_csv(path: Path) -> list[dict[str, Any]]:
    """The rows of a result table with typed cells (the results store's reader)."""
    try:
        table = read_table(path)
    except OutputError as exc:
        raise PlotError(str(exc)) from None
    return table.rows() if table is not None else []


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise PlotError(f"{path} is not valid JSON: {exc}") from None


def achieved_label(locations: Sequence[str]) -> str:
    """Whose fill rate :func:`achieved_service` is, for an axis label."""
    return "fill rate at " + location_words(locations)


def figure_keys(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The figure columns of runs rows: the summary figures and, in a network, the
    ``<location>.<figure>`` columns written after them."""
    columns = list(rows[0]) if rows else []
    last = SUMMARY_KEYS[-1]
    extra = columns[columns.index(last) + 1:] if last in columns else []
    return [*SUMMARY_KEYS, *extra]


def _figures(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    out = {}
    for key in figure_keys(rows):
        values = [float(r[key]) if r.get(key) is not None else math.nan for r in rows]
        ci = figure_interval(key, values, 0.95)
        out[key] = {s: float(ci[s]) for s in ("mean", "ci_low", "ci_high", "n")}
    return out


def _by_alternative(runs: Sequence[Mapping[str, Any]]) -> dict[int, list[Mapping[str, Any]]]:
    groups: dict[int, list[Mapping[str, Any]]] = {}
    for row in sorted(runs, key=lambda r: (int(r["alternative"]), int(r["replication"]))):
        groups.setdefault(int(row["alternative"]), []).append(row)
    return groups


def _not_worse(groups: Mapping[int, Sequence[Mapping[str, Any]]], objective: str,
               alpha: float) -> tuple[int, list[int]]:
    """The best alternative (highest mean objective) and those not significantly worse:
    one-sided paired t-tests against the best on common replications, Holm-corrected —
    :func:`servicesim.experiment.statistics.paired_comparison` and
    :func:`~servicesim.experiment.statistics.holm`."""
    values = {i: [float(r[objective]) for r in rows] for i, rows in groups.items()}

    def mean(i: int) -> float:
        finite = [v for v in values[i] if not math.isnan(v)]
        return sum(finite) / len(finite) if finite else -math.inf

    best = max(values, key=lambda i: (mean(i), -i))
    others = [i for i in values if i != best]
    adjusted = holm([paired_comparison(values[best], values[i])["p_value"] for i in others])
    return best, sorted([best, *(i for i, p in zip(others, adjusted, strict=True)
                                 if p > alpha)])


def load_results(results_dir: str | Path, objective: str | None = None) -> Results:
    """Read a sweep folder (runs.csv, manifest.json, summary.csv when complete) or an
    optimisation folder (runs.csv, evaluations.csv, result.json).

    Figures per alternative are the 95 % intervals of ``summary.csv`` when it is there, and
    otherwise computed the same way from ``runs.csv`` (an interrupted sweep).  The best point
    and the not-worse set are the optimiser's; for a sweep, the best is the highest mean
    ``objective`` (default ``roi``) and the not-worse set comes from one-sided paired t-tests
    against it on common replications, Holm-corrected at α = 0.05.  Raises
    :class:`PlotError` for a folder that holds neither.
    """
    directory = Path(results_dir)
    if not directory.is_dir():
        raise PlotError(f"{directory}: no such folder (expected the results folder of a "
                        "sweep or an optimisation)")
    if is_compare_folder(directory):
        raise PlotError(f"{directory}: a compare results folder, not a sweep or "
                        "optimisation (servicesim plot and report read it as a comparison)")
    runs_file = directory / RUNS_FILE
    manifest, result = directory / "manifest.json", directory / "result.json"
    if not runs_file.is_file() or not (manifest.is_file() or result.is_file()):
        raise PlotError(f"{directory}: not a sweep or optimisation results folder (expected "
                        "runs.csv with manifest.json or result.json)")
    runs = _read_csv(runs_file)
    if not runs:
        raise PlotError(f"{runs_file} holds no runs yet: nothing to plot")
    missing = [k for k in SUMMARY_KEYS if k not in runs[0]]
    if missing:
        raise PlotError(f"{runs_file} lacks the columns {', '.join(missing)}")
    groups = _by_alternative(runs)
    if result.is_file():
        document = _read_json(result)
        keys = [s["key"] for s in document.get("space", [])] or list(document.get("best", {}))
        objective = objective or document.get("objective", "roi")
        name = str(document.get("scenario", ""))
        seed = document.get("seed")
        alpha = float(document.get("alpha", ALPHA))
        kind = "optimize"
        summary: dict[int, dict[str, dict[str, float]]] = {}
    else:
        document = _read_json(manifest)
        keys = [p["key"] for p in document.get("params", [])]
        objective = objective or "roi"
        name = str(document.get("scenario_name", ""))
        seed = document.get("seed")
        alpha = ALPHA
        kind = "sweep"
        summary = _read_summary(directory / "summary.csv")
    if objective not in SUMMARY_KEYS:
        raise PlotError(f"unknown objective {objective!r}; one of {', '.join(SUMMARY_KEYS)}")
    alternatives = []
    locations = next((found for found in map(target_locations, keys) if found), ())
    for index, rows in groups.items():
        figures = summary.get(index) or _figures(rows)
        if locations:  # what a swept location target achieved (charts 1, 3, 5)
            ci = figure_interval("item_fill_rate",
                                 [achieved_service(r, locations) for r in rows], 0.95)
            figures[ACHIEVED] = {s: float(ci[s]) for s in ("mean", "ci_low", "ci_high", "n")}
        alternatives.append(Alternative(index, {k: rows[0].get(k) for k in keys}, figures))
    if kind == "optimize" and objective == document.get("objective"):
        best_params = document.get("best", {})
        nw_params = document.get("not_worse", [])
        best = next((a.id for a in alternatives if _same(a.params, best_params)), None)
        not_worse = [a.id for a in alternatives if any(_same(a.params, p) for p in nw_params)]
        if best is None:
            best, not_worse = _not_worse(groups, objective, alpha)
    else:
        best, not_worse = _not_worse(groups, objective, alpha)
    return Results(directory, kind, name, keys, objective, alternatives, best, not_worse, runs,
                   int(seed) if isinstance(seed, numbers.Integral) else None,
                   max(len(g) for g in groups.values()), alpha)


def _same(params: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    return all(_equal(params.get(k), v) for k, v in other.items())


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, numbers.Real) and isinstance(b, numbers.Real):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)
    return bool(a == b)


def _read_summary(path: Path) -> dict[int, dict[str, dict[str, float]]]:
    if not path.is_file():
        return {}
    out: dict[int, dict[str, dict[str, float]]] = {}
    for row in _read_csv(path):
        out.setdefault(int(row["alternative"]), {})[str(row["figure"])] = {
            s: float(row[s]) if row[s] is not None else math.nan
            for s in ("mean", "ci_low", "ci_high", "n")}
    if any(set(SUMMARY_KEYS) - set(f) for f in out.values()):
        return {}
    return out


# ------------------------------------------------------------------- today, sensitivity

TODAY_FILE = "today.json"
SENSITIVITY_FILE = "sensitivity.json"
SENSITIVITY_CHART = "08-sensitivity.png"


@dataclass(frozen=True)
class Today:
    """The scenario's own policy ("today") beside the best alternative (``today.json``).

    ``figures`` are today's ``{"mean", "ci_low", "ci_high", "n"}`` per figure;
    ``difference`` is best − today per figure, paired over common replications, with
    ``{"mean", "ci_low", "ci_high", "n", "p_value"}``."""

    params: dict[str, Any]
    figures: dict[str, dict[str, float]]
    best: dict[str, Any]
    difference: dict[str, dict[str, float]]
    objective: str

    def interval(self, key: str) -> tuple[float, float, float]:
        f = self.figures.get(key, {})
        return (_number(f.get("mean")), _number(f.get("ci_low")), _number(f.get("ci_high")))

    def change(self, key: str) -> tuple[float, float, float]:
        """best − today: mean and 95 % interval (NaN where unknown)."""
        d = self.difference.get(key, {})
        return (_number(d.get("mean")), _number(d.get("ci_low")), _number(d.get("ci_high")))


def _number(value: Any) -> float:
    return float(value) if isinstance(value, numbers.Real) else math.nan


def read_today(directory: str | Path) -> Today | None:
    """Today's policy beside the best (``today.json`` of a sweep or optimisation folder);
    None when the folder has none (written by an older servicesim)."""
    path = Path(directory) / TODAY_FILE
    if not path.is_file():
        return None
    document = _read_json(path)
    try:
        return Today(dict(document.get("params") or {}), dict(document["figures"]),
                     dict(document.get("best") or {}),
                     dict(document.get("best_minus_today") or {}),
                     str(document.get("objective", "roi")))
    except (KeyError, TypeError, ValueError) as exc:
        raise PlotError(f"{path}: not a today.json as servicesim writes it (expected "
                        f"'params', 'figures', 'best', 'best_minus_today'; {exc!r})") from None


def read_sensitivity(directory: str | Path) -> tuple[str, Path | None] | None:
    """The sensitivity finding of a folder: its plain-language sentence and the tornado
    chart (``charts/08-sensitivity.png`` when present); None without ``sensitivity.json``."""
    path = Path(directory) / SENSITIVITY_FILE
    if not path.is_file():
        return None
    sentence = _read_json(path).get("sentence")
    if not isinstance(sentence, str) or not sentence.strip():
        raise PlotError(f"{path}: 'sentence' is missing or empty (expected the sensitivity "
                        "finding in plain words)")
    chart = Path(directory) / "charts" / SENSITIVITY_CHART
    return sentence.strip(), chart if chart.is_file() else None


# --------------------------------------------------------------------------- compare

COMPARE_TABLE_FILE = "comparison.csv"


def is_compare_folder(directory: str | Path) -> bool:
    """Whether a folder holds a what-if comparison (``comparison.csv`` and a manifest
    with labels), as :func:`servicesim.experiment.compare.compare` writes it."""
    folder = Path(directory)
    return (folder / COMPARE_TABLE_FILE).is_file() and (folder / "manifest.json").is_file()


@dataclass
class ComparisonResults(ComparisonTable):
    """A what-if comparison read back from its folder: what the compare chart and report
    need (the shape of :class:`servicesim.experiment.compare.Comparison`)."""

    directory: Path
    labels: tuple[str, ...]
    replications: int
    seed: int | None
    table: list[dict[str, Any]] = field(repr=False)
    runs: list[dict[str, Any]] = field(repr=False)
    manifest: dict[str, Any] = field(repr=False)

    def scenarios(self) -> list[Any]:
        """The scenarios as run (validated from the manifest), in the order of ``labels``."""
        from ..scenario.schema import Scenario

        try:
            return [Scenario.model_validate(s) for s in self.manifest["scenarios"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise PlotError(f"{self.directory / 'manifest.json'}: the scenarios as run "
                            f"cannot be read ({type(exc).__name__})") from None


def load_comparison(results_dir: str | Path) -> ComparisonResults:
    """Read a compare folder (``manifest.json``, ``comparison.csv``, ``runs.csv``); a
    PlotError names the file and what is missing."""
    directory = Path(results_dir)
    if not is_compare_folder(directory):
        raise PlotError(f"{directory}: not a compare results folder (expected "
                        f"{COMPARE_TABLE_FILE} with manifest.json)")
    manifest = _read_json(directory / "manifest.json")
    labels = manifest.get("labels")
    if not isinstance(labels, list) or len(labels) < 2:
        raise PlotError(f"{directory / 'manifest.json'}: 'labels' must list the compared "
                        "scenarios (at least two)")
    table = _read_csv(directory / COMPARE_TABLE_FILE)
    runs = _read_csv(directory / RUNS_FILE) if (directory / RUNS_FILE).is_file() else []
    missing = sorted({k for k in SUMMARY_KEYS}
                     - {str(r.get("figure")) for r in table})
    if missing:
        raise PlotError(f"{directory / COMPARE_TABLE_FILE} lacks the figures "
                        f"{', '.join(missing)}")
    seed = manifest.get("seed")
    return ComparisonResults(directory, tuple(str(x) for x in labels),
                             int(manifest.get("replications") or 0),
                             int(seed) if isinstance(seed, numbers.Integral) else None,
                             table, runs, manifest)
