"""The results of ``servicesim risk`` as the charts and the report read them (DOMAIN §11).

:func:`load_risk` reads a risk folder — ``risk.json`` (the summary: every alternative's
distributions, recovery and trailing fill rate around the events, the paired differences
and the decision), ``runs.csv`` (one row per alternative × replication) and ``events.csv``
(one row per event) — into :class:`RiskResults`.  It reads files only; it never runs the
model.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ScenarioError
from ..experiment.store import is_kind_folder, read_scenario, read_table
from ..files import OutputError
from .formatting import params_text
from .results import PlotError

__all__ = ["RISK_FILE", "RiskResults", "display_label", "is_risk_folder", "load_risk"]

RISK_FILE = "risk.json"
RUNS_FILE, EVENTS_FILE = "runs.csv", "events.csv"
FIGURES = ("roi", "item_fill_rate", "defections")


def _number(value: Any) -> float:
    return float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) \
        else math.nan


@dataclass
class RiskResults:
    """A risk folder, read: the summary, the runs and the events."""

    directory: Path
    document: dict[str, Any] = field(repr=False)
    runs: list[dict[str, Any]] = field(repr=False)
    events: list[dict[str, Any]] = field(repr=False)
    _scenario: Any = field(default=None, repr=False)

    @property
    def scenario_name(self) -> str:
        return str(self.document.get("scenario") or self.directory.parent.name)

    @property
    def alternatives(self) -> list[dict[str, Any]]:
        return list(self.document["alternatives"])

    @property
    def labels(self) -> list[str]:
        return [str(a["label"]) for a in self.alternatives]

    @property
    def differences(self) -> list[dict[str, Any]]:
        return list(self.document.get("differences") or [])

    @property
    def currency(self) -> str | None:
        code = self.document.get("currency")
        return code if isinstance(code, str) and code else None

    def count(self, key: str) -> int | None:
        value = self.document.get(key)
        return int(value) if isinstance(value, numbers.Integral) else None

    def text(self, key: str) -> str:
        value = self.document.get(key)
        return " ".join(value.split()) if isinstance(value, str) else ""

    def values(self, alternative: int, key: str) -> list[float]:
        """One figure over the replications of an alternative (``runs.csv``)."""
        return [_number(r.get(key)) for r in self.runs if r.get("alternative") == alternative]

    def scenario(self) -> Any:
        """The scenario as run (``scenario.yaml``); a PlotError when it cannot be read."""
        if self._scenario is None:
            try:
                self._scenario = read_scenario(self.directory)
            except (OutputError, ScenarioError) as exc:
                raise PlotError(str(exc)) from None
        return self._scenario


def display_label(alternative: Mapping[str, Any]) -> str:
    """An alternative in plain words: "as is" for the scenario as given, else its
    parameters ("fill-rate target 99.0 %")."""
    params = alternative.get("params")
    if not isinstance(params, Mapping) or not params:
        return str(alternative.get("label", ""))
    return params_text(dict(params))


def is_risk_folder(directory: str | Path) -> bool:
    """Whether a folder holds the results of ``servicesim risk``: a ``risk.json``, or
    a manifest of kind ``risk`` (a run still going, interrupted or failed)."""
    return is_kind_folder(directory, RISK_FILE, "risk")


def load_risk(directory: str | Path) -> RiskResults:
    """Read a risk folder; a :class:`PlotError` names the file, the key and what is
    expected when one is missing or broken."""
    folder = Path(directory)
    if not folder.is_dir():
        raise PlotError(f"{folder}: no such folder (expected the results folder of "
                        "servicesim risk)")
    document = _summary(folder)
    runs = _rows(folder / RUNS_FILE, ("alternative", "replication", *FIGURES))
    events = _rows(folder / EVENTS_FILE, ("alternative", "replication", "name", "kind"),
                   allow_empty=True)
    for event in events:  # names stay text whatever they look like
        event["name"], event["kind"] = str(event.get("name")), str(event.get("kind"))
    return RiskResults(folder, document, runs, events)


def _summary(folder: Path) -> dict[str, Any]:
    path = folder / RISK_FILE
    if not path.is_file():
        raise PlotError(f"{path} is missing: the risk analysis has not finished"
                        + (f" (manifest status: {status})" if (status := _status(folder))
                           else "") + "; run servicesim risk again (with --resume)")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PlotError(f"cannot read {path}: {exc}") from None
    except ValueError as exc:
        raise PlotError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise PlotError(f"{path}: expected a JSON object, found {type(document).__name__}")
    alternatives = document.get("alternatives")
    if not isinstance(alternatives, list) or not alternatives:
        raise PlotError(f"{path}: 'alternatives' is missing or empty (expected one object "
                        "per alternative)")
    for i, alternative in enumerate(alternatives):
        _check_alternative(path, i, alternative)
    if not isinstance(document.get("decision"), str):
        raise PlotError(f"{path}: 'decision' is missing (expected the answer in one "
                        "sentence)")
    return document


def _check_alternative(path: Path, index: int, alternative: Any) -> None:
    where = f"{path}: 'alternatives[{index}]'"
    if not isinstance(alternative, Mapping) or not isinstance(alternative.get("label"), str):
        raise PlotError(f"{where} needs a 'label'")
    figures = alternative.get("figures")
    for key in FIGURES:
        cell = figures.get(key) if isinstance(figures, Mapping) else None
        mean = cell.get("mean") if isinstance(cell, Mapping) else None
        if not isinstance(mean, Mapping):
            raise PlotError(f"{where}.figures.{key}.mean is missing (expected "
                            "{value, ci_low, ci_high})")
    for key in ("recovery", "curve"):
        if not isinstance(alternative.get(key), Mapping):
            raise PlotError(f"{where}.{key} is missing")


def _status(folder: Path) -> str:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return str(manifest.get("status", "")) if isinstance(manifest, dict) else ""


def _rows(path: Path, columns: tuple[str, ...], allow_empty: bool = False
          ) -> list[dict[str, Any]]:
    try:
        table = read_table(path)
    except OutputError as exc:
        raise PlotError(str(exc)) from None
    if table is None:
        if allow_empty and path.is_file():
            return []
        raise PlotError(f"{path} is missing or empty (servicesim risk writes it with "
                        f"{RISK_FILE})")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise PlotError(f"{path} lacks the column(s) {', '.join(missing)}")
    return table.rows()
