"""The results of ``servicesim frontier`` as the charts and the report read them (DOMAIN §12).

:func:`load_frontier` reads a frontier folder — ``frontier.json`` (the summary: today, the
best common target, the recommendation, the confirmed runs, the decision), ``frontier.csv``
(the efficient frontier, one row per point) and ``targets.csv`` (one row per SKU or class) —
into :class:`FrontierResults`.  It reads files only; it never runs the model or the search.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..errors import ScenarioError
from ..experiment.store import is_kind_folder, read_scenario, read_table
from ..files import OutputError, restored
from ..kpis import KPI_BY_KEY
from .results import PlotError

__all__ = ["FRONTIER_FILE", "FRONTIER_TABLE", "TARGETS_FILE", "FrontierPoint",
           "FrontierResults", "Interval", "is_frontier_folder", "load_frontier"]

FRONTIER_FILE = "frontier.json"
FRONTIER_TABLE = "frontier.csv"
TARGETS_FILE = "targets.csv"

OBJECTIVES = ("roi", "operating_profit", "economic_profit")
FRONTIER_COLUMNS = ("avg_inventory_value", "item_fill_rate")
TARGET_COLUMNS = ("units_per_year", "unit_cost", "today_target", "recommended_target",
                  "inventory_value_change", "move")
MOVES = ("up", "down", "same")
NAME_COLUMNS = ("sku", "class", "location", "abc_class", "move")
"""Columns of ``targets.csv`` read as text, whatever they look like."""


class Interval(NamedTuple):
    """A mean and its 95 % confidence interval (NaN bounds: one replication)."""

    mean: float
    low: float
    high: float

    @property
    def known(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)


NO_INTERVAL = Interval(math.nan, math.nan, math.nan)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) \
        else math.nan


def _interval(value: Any) -> Interval:
    if isinstance(value, Mapping):
        return Interval(_number(value.get("mean")), _number(value.get("ci_low")),
                        _number(value.get("ci_high")))
    return Interval(_number(value), math.nan, math.nan)


@dataclass(frozen=True)
class FrontierPoint:
    """One allocation of targets: today, the best common target, the recommendation or a
    confirmed run — its inventory value, fill rate and objective with their 95 % CIs."""

    label: str
    kind: str
    """``today``, ``common`` or ``frontier``."""
    inventory: Interval
    fill: Interval
    objective: Interval
    difference: Mapping[str, float] = field(default_factory=dict)
    """The objective minus today's, paired: ``mean``, ``ci_low``, ``ci_high``, ``p``."""
    best: bool = False
    not_worse: bool = False
    target: float | None = None
    """The common target (``best_common``), else None."""

    @classmethod
    def read(cls, data: Mapping[str, Any], objective: str, label: str, kind: str
             ) -> FrontierPoint:
        target = data.get("target")
        difference = data.get("difference_vs_today")
        return cls(str(data.get("label", label)), str(data.get("kind", kind)),
                   _interval(data.get("avg_inventory_value")),
                   _interval(data.get("item_fill_rate")), _interval(data.get(objective)),
                   {k: _number(v) for k, v in difference.items()}
                   if isinstance(difference, Mapping) else {},
                   bool(data.get("best", False)), bool(data.get("not_worse", False)),
                   float(target) if isinstance(target, numbers.Real) else None)


@dataclass
class FrontierResults:
    """A frontier folder, read: the summary, the frontier and the targets."""

    directory: Path
    document: dict[str, Any] = field(repr=False)
    frontier: list[dict[str, Any]] = field(repr=False)
    """``frontier.csv``: one row per point, increasing investment."""
    targets: list[dict[str, Any]] = field(repr=False)
    """``targets.csv``: one row per SKU (and location) or class."""
    _scenario: Any = field(default=None, repr=False)

    # --------------------------------------------------------------- the summary's keys

    @property
    def scenario_name(self) -> str:
        return str(self.document.get("scenario") or self.directory.parent.name)

    @property
    def objective(self) -> str:
        return str(self.document["objective"])

    @property
    def maximise(self) -> str:
        """What the search maximised: the objective, or ``item_fill_rate`` under a budget."""
        return str(self.document.get("maximise") or self.objective)

    @property
    def budget(self) -> float | None:
        value = _number(self.document.get("budget"))
        return value if math.isfinite(value) else None

    @property
    def by(self) -> str:
        return "class" if self.document.get("by") == "class" else "sku"

    @property
    def item_column(self) -> str:
        """The column naming an item in ``targets.csv``: ``sku`` or ``class``."""
        return "class" if self.targets and "class" in self.targets[0] else "sku"

    @property
    def has_locations(self) -> bool:
        return bool(self.targets) and "location" in self.targets[0]

    @property
    def currency(self) -> str | None:
        code = self.document.get("currency")
        if isinstance(code, str) and code:
            return code
        try:
            return self.scenario().finance.currency
        except PlotError:
            return None

    def count(self, key: str) -> int | None:
        value = self.document.get(key)
        return int(value) if isinstance(value, numbers.Integral) else None

    def text(self, key: str) -> str:
        value = self.document.get(key)
        return " ".join(value.split()) if isinstance(value, str) else ""

    @property
    def objective_label(self) -> str:
        return KPI_BY_KEY[self.objective].label

    # --------------------------------------------------------------- the points

    def point(self, name: str) -> FrontierPoint | None:
        """``today``, ``recommended`` or ``best_common`` (None when the summary lacks it)."""
        data = self.document.get(name)
        if not isinstance(data, Mapping):
            return None
        kind = {"today": "today", "best_common": "common"}.get(name, "frontier")
        label = "all at " + _pct(data["target"]) if name == "best_common" and \
            isinstance(data.get("target"), numbers.Real) else name
        return FrontierPoint.read(data, self.objective, label, kind)

    @property
    def today(self) -> FrontierPoint:
        point = self.point("today")
        assert point is not None  # load_frontier checked it
        return point

    @property
    def recommended(self) -> FrontierPoint:
        point = self.point("recommended")
        assert point is not None
        return point

    @property
    def best_common(self) -> FrontierPoint | None:
        return self.point("best_common")

    @property
    def confirmed(self) -> list[FrontierPoint]:
        """The whole-scenario runs on fresh seeds: today first, then common targets, then
        frontier allocations (the order of the file within each kind)."""
        rows = [FrontierPoint.read(c, self.objective, f"#{i}", "frontier")
                for i, c in enumerate(self.document.get("confirmed") or [])
                if isinstance(c, Mapping)]
        order = {"today": 0, "common": 1, "frontier": 2}
        return sorted(rows, key=lambda p: order.get(p.kind, 3))

    @property
    def difference_key(self) -> str:
        """The figure of ``difference_vs_today``: its ``figure`` key, else the objective."""
        for point in self.document.get("confirmed") or []:
            figure = point.get("difference_vs_today", {}).get("figure") \
                if isinstance(point, Mapping) and isinstance(
                    point.get("difference_vs_today"), Mapping) else None
            if figure in KPI_BY_KEY:
                return str(figure)
        return self.objective

    def you_are_here(self, key: str) -> float:
        data = self.document.get("you_are_here")
        return _number(data.get(key)) if isinstance(data, Mapping) else math.nan

    def moves(self) -> dict[str, int]:
        """SKUs (or classes) moved up, down and left alone: the summary's, else counted."""
        data = self.document.get("moves")
        if isinstance(data, Mapping) and all(isinstance(data.get(m), int) for m in MOVES):
            return {m: int(data[m]) for m in MOVES}
        return {m: sum(1 for r in self.targets if r.get("move") == m) for m in MOVES}

    # --------------------------------------------------------------- the scenario

    def scenario(self) -> Any:
        """The scenario as run (``scenario.yaml``); a PlotError when it cannot be read."""
        if self._scenario is None:
            try:
                self._scenario = read_scenario(self.directory)
            except (OutputError, ScenarioError) as exc:
                raise PlotError(str(exc)) from None
        return self._scenario


def _pct(value: float) -> str:
    return f"{100 * float(value):.4g} %"


def column(rows: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
    """One column of ``targets.csv`` or ``frontier.csv`` as floats (NaN where empty)."""
    return np.array([float(r[key]) if isinstance(r.get(key), int | float) else math.nan
                     for r in rows], dtype=float)


def is_frontier_folder(directory: str | Path) -> bool:
    """Whether a folder holds the results of ``servicesim frontier``: a ``frontier.json``, or
    a manifest of kind ``frontier`` (a run still going, interrupted or failed)."""
    return is_kind_folder(directory, FRONTIER_FILE, "frontier")


def load_frontier(directory: str | Path) -> FrontierResults:
    """Read a frontier folder; a :class:`PlotError` names the file, the key and what is
    expected when one is missing or broken."""
    folder = Path(directory)
    if not folder.is_dir():
        raise PlotError(f"{folder}: no such folder (expected the results folder of "
                        "servicesim frontier)")
    document = _summary(folder)
    frontier = _rows(folder / FRONTIER_TABLE, FRONTIER_COLUMNS)
    targets = _rows(folder / TARGETS_FILE, TARGET_COLUMNS, NAME_COLUMNS)
    if not any(c in targets[0] for c in ("sku", "class")):
        raise PlotError(f"{folder / TARGETS_FILE} lacks the column sku (or class, for "
                        "targets per class)")
    frontier.sort(key=lambda r: _number(r["avg_inventory_value"]))
    return FrontierResults(folder, document, frontier, targets)


def _summary(folder: Path) -> dict[str, Any]:
    path = folder / FRONTIER_FILE
    if not path.is_file():
        status = _status(folder)
        raise PlotError(f"{path} is missing: the frontier run has not finished"
                        + (f" (manifest status: {status})" if status else "")
                        + "; run servicesim frontier again, or wait for it to complete")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PlotError(f"cannot read {path}: {exc}") from None
    except ValueError as exc:
        raise PlotError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise PlotError(f"{path}: expected a JSON object with 'objective', 'today', "
                        f"'recommended' and 'decision', found {type(document).__name__}")
    objective = document.get("objective")
    if objective not in OBJECTIVES:
        raise PlotError(f"{path}: 'objective' is {objective!r}; one of "
                        f"{', '.join(OBJECTIVES)}")
    for key in ("today", "recommended"):
        _check_point(path, document.get(key), key, objective)
    if document.get("best_common") is not None:
        _check_point(path, document["best_common"], "best_common", objective)
    for i, point in enumerate(document.get("confirmed") or []):
        _check_point(path, point, f"confirmed[{i}]", objective)
    if not isinstance(document.get("decision"), str):
        raise PlotError(f"{path}: 'decision' is missing (expected the decision in one "
                        "sentence)")
    return document


def _check_point(path: Path, point: Any, key: str, objective: str) -> None:
    if not isinstance(point, Mapping):
        raise PlotError(f"{path}: '{key}' is {'missing' if point is None else repr(point)} "
                        "(expected an object with avg_inventory_value, item_fill_rate and "
                        f"{objective}, each {{mean, ci_low, ci_high}})")
    for figure in ("avg_inventory_value", "item_fill_rate"):
        value = point.get(figure)
        mean = value.get("mean") if isinstance(value, Mapping) else None
        if not isinstance(mean, numbers.Real) or isinstance(mean, bool):
            raise PlotError(f"{path}: '{key}.{figure}.mean' is {mean!r}; expected a number "
                            "(each figure is {mean, ci_low, ci_high})")


def _status(folder: Path) -> str:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return str(manifest.get("status", "")) if isinstance(manifest, dict) else ""


def _rows(path: Path, columns: Sequence[str], names: Sequence[str] = ()
          ) -> list[dict[str, Any]]:
    """The rows of a CSV file with typed cells, the ``names`` columns as text ("007" stays
    a name, never the number 7); a PlotError when it lacks ``columns`` or rows."""
    try:
        table = read_table(path)
    except OutputError as exc:
        raise PlotError(str(exc)) from None
    if table is None:
        raise PlotError(f"{path} is missing or empty (servicesim frontier writes it with "
                        f"{FRONTIER_FILE})")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise PlotError(f"{path} lacks the column(s) {', '.join(missing)}")
    rows = table.rows()
    width = len(table.columns)
    raw = [cells for cells in table.lines if len(cells) == width]
    for row, cells in zip(rows, raw, strict=True):
        for index, column in enumerate(table.columns):
            if column in names:
                row[column] = restored(cells[index])
    if not rows:
        raise PlotError(f"{path} holds no rows")
    return rows
