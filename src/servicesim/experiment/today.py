"""Today: the scenario's own policy, simulated beside the alternatives (DOMAIN §1, §6).

A sweep or an optimisation answers "which policy is best?"; a planner asks "how much better
than what we do today?".  *Today* is the scenario exactly as given (no ``--param`` value
set), run for the same replications as the best alternative and from the same seeds —
replication *r* uses child *r* of ``SeedSequence(root)`` — so the best and today meet the
same customers, quantities and lead times and their difference is paired (common random
numbers).  Its files in the results folder:

- ``today.csv``: one row per replication: ``replication``, ``seed`` (the root seed), every
  figure of :data:`~servicesim.kpis.SUMMARY_KEYS` (cells as in ``runs.csv``);
- ``today.json``: ``params`` (today's value of each swept or searched key, ``null`` where
  the scenario has no single value, e.g. targets that differ per SKU), ``figures`` (mean and
  95 % interval of each figure), ``best`` (the alternative compared), ``best_minus_today``
  (the paired difference of each figure with its 95 % interval and two-sided p-value) and
  ``objective``.

This module reads and checks an earlier ``today.csv`` (resume), sums up the rows, writes and
reads the files (:func:`read_today`) and words the decision for people
(:func:`decision_lines`).  It never imports the model, so charts and reports may use it;
today's tasks are made by :func:`servicesim.experiment.sweep.today_tasks`.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..files import OutputError, csv_cell, jsonable
from ..kpis import (
    ACHIEVED,
    KPI_BY_KEY,
    SUMMARY_KEYS,
    achieved_service,
    location_words,
    target_locations,
)
from ..scenario.schema import Scenario
from .params import key_parts
from .statistics import figure_interval, holm, paired_comparison
from .store import ResultsFolder, figure_columns, read_table, runs_text

__all__ = ["ALPHA", "TODAY", "TODAY_COLUMNS", "TODAY_CSV", "TODAY_JSON", "Today",
           "today_columns",
           "decision_lines", "difference_text", "figure_text", "money", "not_worse_ids",
           "own_params", "param_text", "plain_key", "short_label", "step_text",
           "read_today", "read_today_rows", "remove_today", "summarise_today", "write_today",
           "write_today_rows"]

TODAY_CSV, TODAY_JSON = "today.csv", "today.json"
TODAY = -1
"""The alternative number of today's tasks and rows (never a grid point's number)."""
TODAY_COLUMNS: tuple[str, ...] = ("replication", "seed", *SUMMARY_KEYS)
"""The columns of ``today.csv`` of a single location (:func:`today_columns`)."""


def today_columns(scenario: Scenario) -> tuple[str, ...]:
    """The columns of ``today.csv``: replication, seed and the figure columns of
    ``runs.csv`` (a network's ``<location>.<figure>`` too:
    :func:`~servicesim.experiment.store.figure_columns`)."""
    return ("replication", "seed", *figure_columns(scenario))
STATS = ("mean", "ci_low", "ci_high", "n")
LEVEL = 0.95
ALPHA = 0.05
"""Level of the two-sided test that calls a difference from today significant."""


@dataclass(frozen=True)
class Today:
    """Today's policy and how the best alternative compares with it (``today.json``)."""

    params: dict[str, Any]
    """Today's value of each swept or searched key (None: not one value in the scenario)."""
    figures: dict[str, dict[str, float]]
    """Each figure's ``{"mean", "ci_low", "ci_high", "n"}`` (95 %, probabilities clipped)."""
    best: dict[str, Any]
    """The alternative compared with today: its value of each key ({} if there is none)."""
    best_minus_today: dict[str, dict[str, float]]
    """Each figure's paired difference best − today: ``{"mean", "ci_low", "ci_high", "n",
    "p_value"}`` (two-sided; replications on common seeds)."""
    objective: str = "roi"
    best_figures: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)
    """The best alternative's figures, computed as :attr:`figures` (not in today.json)."""
    runs: list[dict[str, Any]] = field(default_factory=list, repr=False)
    """Today's rows, one per replication (as in today.csv)."""
    n_simulations: int = 0
    """Replications of today simulated by this call (the others came from today.csv)."""

    def document(self) -> dict[str, Any]:
        """The content of ``today.json``."""
        return {"params": self.params, "figures": self.figures, "best": self.best,
                "best_minus_today": self.best_minus_today, "objective": self.objective}

    @property
    def best_is_today(self) -> bool:
        """Whether the best alternative sets every key to today's value."""
        return bool(self.best) and all(_same(self.params.get(k), v)
                                       for k, v in self.best.items())


# ------------------------------------------------------------------------- today's values


def _lookup(data: Any, path: Sequence[str]) -> Any:
    for part in path:
        if not isinstance(data, Mapping) or part not in data:
            return None
        data = data[part]
    return data


def _own_value(scenario: Scenario, dumped: Mapping[str, Any], key: str) -> Any:
    """The scenario's value at one dotted key; None when it has none or several (a target
    per ABC class, or SKUs whose own policy sets the key to another value)."""
    path = key.split(".")
    value = _lookup(dumped, path)
    if len(path) == 4 and path[0] == "skus" and path[2] == "policy" and value is None \
            and path[1] in scenario.skus:  # a SKU without its own: the policy it inherits
        value = scenario.sku_policy(path[1]).model_dump(mode="json").get(path[3])
    if len(path) == 4 and path[0] == "locations" and path[2] == "policy" \
            and scenario.locations and path[1] in scenario.locations:
        # the policy the location's SKUs have there (its own, a per-SKU entry or the one
        # they inherit): one value only when they all agree
        held = [scenario.location_policy(path[1], sku).model_dump(mode="json").get(path[3])
                for sku in scenario.held_skus(path[1])]
        value = held[0] if held and all(_same(v, held[0]) for v in held) else None
    if path[0] == "policy" and len(path) == 2:
        for sku in dumped.get("skus", {}).values():
            own = _lookup(sku, ["policy", path[1]])
            if own is not None and not _same(own, value):
                return None
    if isinstance(value, Mapping) and path[-1] == "service_target":
        return None  # a target per class: not one value
    if isinstance(value, Mapping) and value.get("type") == "constant" and "value" in value:
        return value["value"]  # a constant distribution is its value (``lead_time_days=7``)
    return value


def own_params(scenario: Scenario, keys: Iterable[str]) -> dict[str, Any]:
    """Today's value of each key: what the scenario as given sets (keys joined by ``+``
    have a value only when every part has the same one)."""
    dumped = scenario.model_dump(mode="json")
    out: dict[str, Any] = {}
    for key in keys:
        values = [_own_value(scenario, dumped, part) for part in key_parts(scenario, key)]
        out[key] = values[0] if all(_same(v, values[0]) for v in values) else None
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, numbers.Real) and isinstance(b, numbers.Real) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-15)
    return bool(a == b)


# -------------------------------------------------------------------------- tasks, rows


def _cells(row: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    return [csv_cell(row.get(column)) for column in columns]


def read_today_rows(directory: str | Path, root_seed: int, replications: int | None = None,
                    columns: Sequence[str] = TODAY_COLUMNS) -> dict[int, dict[str, Any]]:
    """The valid rows of an earlier ``today.csv`` by replication ({} when there is none).

    A row is kept only when its seed is ``root_seed``, its replication is below
    ``replications`` (when given) and it writes back to exactly the same cells; anything
    else (a torn or foreign line, other ``columns`` than :func:`today_columns`) is simulated
    again.
    """
    table = read_table(Path(directory) / TODAY_CSV)
    if table is None or table.columns != tuple(columns):
        return {}
    rows: dict[int, dict[str, Any]] = {}
    for cells in table.lines:
        if len(cells) != len(columns):
            continue
        try:
            replication, seed = int(cells[0]), int(cells[1])
            figures = [float(c) for c in cells[2:]]
        except ValueError:
            continue
        if seed != root_seed or replication < 0 or (
                replications is not None and replication >= replications):
            continue
        row = {"alternative": TODAY, "replication": replication, "seed": seed,
               **dict(zip(columns[2:], figures, strict=True))}
        if _cells(row, columns) == list(cells):
            rows.setdefault(replication, row)
    return rows


def _interval(key: str, values: Sequence[float]) -> dict[str, float]:
    ci = figure_interval(key, values, LEVEL)
    return {s: ci[s] for s in STATS}


def _values(rows: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    out = []
    for row in rows:
        value = row.get(key)
        out.append(float(value) if isinstance(value, numbers.Real) else math.nan)
    return out


def summarise_today(params: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
                    best: Mapping[str, Any] | None, best_rows: Sequence[Mapping[str, Any]],
                    objective: str = "roi", n_simulations: int = 0) -> Today:
    """Today's figures and the paired difference best − today of every figure.

    ``rows`` and ``best_rows`` are one row per replication; replication *r* of each shares
    a seed, so the difference is taken per replication on the replications both have
    (:func:`~servicesim.experiment.statistics.paired_comparison`, two-sided).
    """
    ordered = sorted(rows, key=lambda r: int(r["replication"]))
    theirs = sorted(best_rows, key=lambda r: int(r["replication"]))
    mine_by, theirs_by = ({int(r["replication"]): r for r in group}
                          for group in (ordered, theirs))
    common = sorted(set(mine_by) & set(theirs_by))
    keys = list(SUMMARY_KEYS)
    locations = next((found for found in map(target_locations, params) if found), ())
    if locations:  # a swept location target: those locations' own achieved fill rate
        ordered = [{**r, ACHIEVED: achieved_service(r, locations)} for r in ordered]
        theirs = [{**r, ACHIEVED: achieved_service(r, locations)} for r in theirs]
        mine_by, theirs_by = ({int(r["replication"]): r for r in group}
                              for group in (ordered, theirs))
        keys.append(ACHIEVED)
    figures = {key: _interval(key, _values(ordered, key)) for key in keys}
    best_figures = {key: _interval(key, _values(theirs, key)) for key in keys}
    differences: dict[str, dict[str, float]] = {}
    if best is not None and common:
        for key in keys:
            test = paired_comparison(_values([theirs_by[r] for r in common], key),
                                     _values([mine_by[r] for r in common], key), LEVEL,
                                     alternative="two-sided")
            differences[key] = {"mean": test["diff"], "ci_low": test["diff_ci_low"],
                                "ci_high": test["diff_ci_high"], "n": test["n_common"],
                                "p_value": test["p_value"]}
    return Today(dict(params), figures, dict(best or {}), differences, objective,
                 best_figures, [dict(r) for r in ordered], n_simulations)


def write_today(folder: ResultsFolder, today: Today,
                columns: Sequence[str] = TODAY_COLUMNS) -> None:
    """``today.csv`` (its rows, written as ``runs.csv`` is, with ``columns``:
    :func:`today_columns`) and then ``today.json``, each atomically."""
    write_today_rows(folder, today.runs, columns)
    folder.write_text(TODAY_JSON, json.dumps(jsonable(today.document()), indent=2,
                                             ensure_ascii=False, allow_nan=False) + "\n")


def write_today_rows(folder: ResultsFolder, rows: Iterable[Mapping[str, Any]],
                     columns: Sequence[str] = TODAY_COLUMNS) -> None:
    """``today.csv`` alone, atomically: ``rows`` sorted by replication (an interrupted run
    keeps the rows it has, so that a resumed one completes them); ``columns``:
    :func:`today_columns`."""
    ordered = sorted(rows, key=lambda r: int(r["replication"]))
    folder.write_text(TODAY_CSV, runs_text(ordered, columns))


def read_today(directory: str | Path) -> Today | None:
    """Today of a results folder (``today.json`` and the rows of ``today.csv``), or None
    when it has none (a folder written before today was recorded, or a run not finished);
    an unreadable file raises :class:`~servicesim.files.OutputError` naming it."""
    path = Path(directory) / TODAY_JSON
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise OutputError(f"cannot read {path}: {exc}") from None
    try:
        table = read_table(Path(directory) / TODAY_CSV)
        runs = table.rows() if table is not None else []
        return Today(dict(document["params"]), _numbers(document["figures"]),
                     dict(document["best"]), _numbers(document["best_minus_today"]),
                     str(document.get("objective", "roi")), runs=runs)
    except (KeyError, TypeError, AttributeError) as exc:
        raise OutputError(f"cannot read {path}: missing or malformed {exc}") from None


def _numbers(figures: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Figures as read from JSON: a null (an undefined statistic) back to NaN."""
    return {key: {s: math.nan if v is None else v for s, v in stats.items()}
            for key, stats in figures.items()}


def remove_today(directory: Path, csv_too: bool) -> None:
    """Remove ``today.json`` (stale until the run ends) and, with ``csv_too``, ``today.csv``
    (rows of a run that is not continued)."""
    names = (TODAY_JSON, TODAY_CSV) if csv_too else (TODAY_JSON,)
    for name in names:
        try:
            (directory / name).unlink(missing_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot remove {directory / name}: "
                              f"{exc.strerror or exc}") from None


def not_worse_ids(values: Mapping[int, Sequence[float]], best: int,
                  alpha: float = ALPHA) -> list[int]:
    """The alternatives whose objective is not significantly below ``best``'s: one-sided
    paired t-tests on common replications, Holm-corrected (DOMAIN §6); ``best`` included."""
    others = [i for i in values if i != best]
    adjusted = holm([paired_comparison(values[best], values[i])["p_value"] for i in others])
    return sorted([best, *(i for i, p in zip(others, adjusted, strict=True) if p > alpha)])


# ---------------------------------------------------------------------------- words


def _is_target(key: str) -> bool:
    return all(part.strip().split(".")[-1] == "service_target" for part in key.split("+"))


def plain_key(key: str) -> str:
    """A key in plain words: ``service target`` (``of SKU A``, ``of SKUs A, B``) for a
    service target, else the dotted key itself."""
    if not _is_target(key):
        return key
    skus = []
    for part in key.split("+"):
        path = part.strip().split(".")
        if len(path) == 4 and path[0] == "skus" and path[2] == "policy":
            skus.append(path[1])
        elif path != ["policy", "service_target"]:
            return key
    if not skus:
        return "service target"
    return f"service target of SKU{'s' if len(skus) > 1 else ''} {', '.join(skus)}"


def _trimmed(number: float, decimals: int) -> str:
    text = f"{number:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def param_text(key: str, value: Any) -> str:
    """A parameter value for people: targets in % (``99.1 %``), numbers short."""
    if value is None:  # differs per class, SKU or location (or between joined keys)
        where = "location" if key.startswith("locations.") or "+locations." in key \
            else "class or SKU"
        return f"not one value (per {where})"
    if _is_target(key) and isinstance(value, numbers.Real):
        return f"{_trimmed(100 * float(value), 2)} %"
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, Mapping | list):
        return json.dumps(value)
    return str(value)


def step_text(key: str, step: Any) -> str:
    """A step of a parameter for people: targets in percentage points (``0.1 points``)."""
    if _is_target(key) and isinstance(step, numbers.Real):
        shown = _trimmed(100 * float(step), 4)
        return f"{shown} point{'' if shown == '1' else 's'}"
    return param_text(key, step)


def money(value: float, currency: str | None, signed: bool = False) -> str:
    """Money for people: ``1.09 M EUR``, ``456 k EUR``, ``21,437 EUR``, ``512.40 EUR``
    (no cents from 1,000 on); without a currency, the number alone."""
    if not math.isfinite(value):
        return "n/a"
    sign = ("+" if value >= 0 else "−") if signed else ("−" if value < 0 else "")
    size = abs(value)
    if size >= 1e6:
        text = f"{size / 1e6:,.2f} M"
    elif size >= 1e5:
        text = f"{size / 1e3:,.0f} k"
    elif size >= 1e3:
        text = f"{size:,.0f}"
    else:
        text = f"{size:,.2f}"
    return f"{sign}{text}" + (f" {currency}" if currency else "")


def short_label(key: str) -> str:
    """A figure's label without its qualifier in parentheses: ``ROI``, ``Item fill rate``."""
    kpi = KPI_BY_KEY.get(key)
    return (kpi.label.split(" (")[0] if kpi else key).strip()


def figure_text(key: str, value: float, currency: str | None) -> str:
    """One figure for people: fractions in % (one decimal), money as :func:`money`."""
    if not isinstance(value, numbers.Real) or not math.isfinite(value):
        return "n/a"
    unit = KPI_BY_KEY[key].unit if key in KPI_BY_KEY else ""
    if unit == "fraction":
        return f"{100 * value:,.1f} %"
    if unit in ("money", "money/unit"):
        return money(value, currency)
    if unit == "days":
        return f"{value:.2f} days"
    return f"{value:,.1f} {unit}".rstrip()


def difference_text(key: str, value: float, currency: str | None) -> str:
    """A difference for people: fractions in points (``+6.0 points``), money signed."""
    if not isinstance(value, numbers.Real) or not math.isfinite(value):
        return "n/a"
    unit = KPI_BY_KEY[key].unit if key in KPI_BY_KEY else ""
    if unit == "fraction":
        return f"{100 * value:+,.1f} points"
    if unit in ("money", "money/unit"):
        return money(value, currency, signed=True)
    return f"{value:+,.2f} {unit}".rstrip()


def _with_interval(key: str, stats: Mapping[str, float], currency: str | None) -> str:
    text = figure_text(key, stats.get("mean", math.nan), currency)
    low, high = stats.get("ci_low", math.nan), stats.get("ci_high", math.nan)
    if not all(isinstance(x, numbers.Real) and math.isfinite(x) for x in (low, high)):
        return f"{text} (no interval: one replication)"
    if KPI_BY_KEY.get(key) and KPI_BY_KEY[key].unit == "fraction":
        return f"{text} (95 % CI {100 * low:,.1f}–{100 * high:,.1f} %)"
    return f"{text} (95 % CI {figure_text(key, low, currency)} to " \
           f"{figure_text(key, high, currency)})"


def _setting(keys: Sequence[str], params: Mapping[str, Any]) -> str:
    return ", ".join(f"{plain_key(k)} {param_text(k, params.get(k))}" for k in keys)


def _headline(objective: str, figures: Mapping[str, Mapping[str, float]],
              currency: str | None, locations: Sequence[str] = ()) -> str:
    """The objective with its interval, the achieved fill rate (of all customers, then of
    ``locations``' customers when their target is searched) and the operating profit."""
    parts = [f"{short_label(objective)} {_with_interval(objective, figures[objective], currency)}"]
    extra = [("item_fill_rate", "achieved fill rate"), ("operating_profit", "operating profit")]
    for key, label in extra:
        if key != objective and key in figures:
            text = f"{label} {figure_text(key, figures[key]['mean'], currency)}"
            if key == "item_fill_rate" and locations and ACHIEVED in figures:
                own = figure_text(key, figures[ACHIEVED]["mean"], currency)
                text += f" ({own} at {location_words(locations)})"
            parts.append(text)
    return ", ".join(parts)


def _against(today: Today, currency: str | None, alpha: float) -> str:
    objective = today.objective
    diff = today.best_minus_today.get(objective)
    if diff is None:
        return "Against today: no comparison (no alternative has a defined objective)."
    if today.best_is_today:
        return "Against today: no change is better than today's policy."
    low, high, p = diff["ci_low"], diff["ci_high"], diff["p_value"]
    verdict = "significant" if isinstance(p, numbers.Real) and p < alpha else \
        "not significant"
    if all(isinstance(x, numbers.Real) and math.isfinite(x) for x in (low, high)):
        shown = f"(95 % CI {_bound(objective, low, currency)} to " \
                f"{_bound(objective, high, currency)}, {verdict})"
    else:
        shown = "(no interval: one replication)"
    parts = [f"{short_label(objective)} {difference_text(objective, diff['mean'], currency)}"
             f" {shown}"]
    for key, label in (("roi", "ROI"), ("operating_profit", "operating profit"),
                       ("avg_inventory_value", "inventory value")):
        if key != objective and key in today.best_minus_today:
            parts.append(f"{label} "
                         f"{difference_text(key, today.best_minus_today[key]['mean'], currency)}")
    return "Against today: " + "; ".join(parts) + "."


def _bound(key: str, value: float, currency: str | None) -> str:
    """One end of a difference's interval: points without the word, money signed."""
    return difference_text(key, value, currency).removesuffix(" points")


def _listed(key: str, values: Sequence[Any], most: int = 8) -> str:
    shown = [param_text(key, v) for v in values[:most]]
    more = f" and {len(values) - most} more" if len(values) > most else ""
    return ", ".join(shown) + more


def _set_text(keys: Sequence[str], points: Sequence[Mapping[str, Any]],
              simulated: Sequence[Mapping[str, Any]], alpha: float) -> str:
    """The not-worse set: the range of its numbers (naming the simulated values inside it
    that are significantly below the best), else its values; with the tests that made it."""
    tests = (f"paired one-sided t-tests on common random numbers, Holm-corrected, "
             f"alpha {alpha:g}")
    if len(keys) == 1:
        key = keys[0]
        noun = "targets" if _is_target(key) else f"values of {plain_key(key)}"
        values = sorted((p[key] for p in points), key=_order)
        every = sorted((p[key] for p in simulated), key=_order)
        ends = [v for v in every if _order(values[0]) <= _order(v) <= _order(values[-1])]
        if len(values) == 1:
            listed = f"{noun.removesuffix('s') if noun == 'targets' else noun} " \
                     f"{param_text(key, values[0])}"
        elif all(isinstance(v, numbers.Real) for v in values):
            listed = f"{noun} {param_text(key, values[0])} to {param_text(key, values[-1])}"
            inside = {_order(v) for v in values}
            outside = [v for v in ends if _order(v) not in inside]
            if 0 < len(outside) <= 3:
                listed += " except " + " and ".join(param_text(key, v) for v in outside)
            elif outside:
                listed += (f", but {len(outside)} simulated {noun.split(' ')[0]} in that "
                           "range are significantly below")
        else:
            listed = f"{noun} {_listed(key, values)}"
        return (f"Not significantly below the best: {listed} ({len(values)} of "
                f"{len(simulated)} simulated {noun.split(' ')[0]}; {tests}).")
    shown = "; ".join("(" + _setting(keys, p) + ")" for p in points[:6])
    more = f"; and {len(points) - 6} more" if len(points) > 6 else ""
    return (f"Not significantly below the best: {len(points)} of {len(simulated)} simulated "
            f"points: {shown}{more} ({tests}).")


def _order(value: Any) -> tuple[int, Any]:
    """Numbers by value, anything else (a policy type, a mapping) by its text, after them."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return (0, float(value))
    return (1, json.dumps(value, sort_keys=True, default=str))


def decision_lines(today: Today, keys: Sequence[str], currency: str | None,
                   not_worse: Sequence[Mapping[str, Any]],
                   simulated: Sequence[Mapping[str, Any]], simulations: str,
                   alpha: float = ALPHA) -> list[str]:
    """The decision in plain words: today, the best, the difference, the points
    ``not_worse`` among those ``simulated`` (each a ``{key: value}``) and what it took
    (``simulations``: the last line's text)."""
    objective = today.objective
    n = today.figures.get(objective, {}).get("n", 0)
    locations = next((found for found in map(target_locations, keys) if found), ())
    lines = [f"Decision ({short_label(objective)}{_qualifier(objective)}; 95 % confidence "
             f"intervals over {n:g} replications on common random numbers):"]
    lines.append(f"Today ({_setting(keys, today.params)}): "
                 f"{_headline(objective, today.figures, currency, locations)}.")
    if today.best_is_today:
        lines.append(f"Best: today's own policy ({_setting(keys, today.best)}).")
    elif today.best:
        lines.append(f"Best: {_setting(keys, today.best)}: "
                     f"{_headline(objective, today.best_figures, currency, locations)}.")
    lines.append(_against(today, currency, alpha))
    if not_worse:
        lines.append(_set_text(keys, not_worse, simulated, alpha))
    lines.append(f"Simulations: {simulations}.")
    return lines


def _qualifier(key: str) -> str:
    """The part of a figure's label in parentheses, as ``, annualised`` (or nothing)."""
    kpi = KPI_BY_KEY.get(key)
    if kpi is None or " (" not in kpi.label:
        return ""
    return ", " + kpi.label.split(" (", 1)[1].rstrip(")")
