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
    read_chart_records,
    read_scenario,
    read_table,
)
from ..files import OutputError
from ..kpis import SUMMARY_KEYS

__all__ = ["ALPHA", "Alternative", "PlotError", "RecordedRun", "Results", "load_results"]

TODAY_FILE = "today.json"
"""Today's policy (the scenario's own) against the best, written beside the runs."""
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
    def currency(self) -> str | None:
        """The scenario's ISO 4217 currency code (``finance.currency``), or None when the
        scenario gives none or the folder has no readable ``scenario.yaml``."""
        try:
            code = self.scenario().finance.currency
        except PlotError:
            return None
        return str(code) if code else None

    @property
    def today(self) -> dict[str, Any] | None:
        """Today's policy against the best (``today.json``: ``params``, ``figures``,
        ``best``, ``best_minus_today``, ``objective``), or None when the folder has none.
        A file that is not a JSON object of that shape raises :class:`PlotError`."""
        path = self.directory / TODAY_FILE
        if not path.is_file():
            return None
        document = _read_json(path)
        if not isinstance(document, dict) or not all(
                isinstance(document.get(k), dict) for k in ("params", "figures")):
            raise PlotError(f"{path}: expected a JSON object with the objects params and "
                            "figures (today's parameter values and figures)")
        return document

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


def _figures(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    out = {}
    for key in SUMMARY_KEYS:
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
    for index, rows in groups.items():
        figures = summary.get(index) or _figures(rows)
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
