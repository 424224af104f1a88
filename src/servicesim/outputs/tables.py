"""Text tables and the files of a single run (``replications.csv``, ``summary.json``,
``scenario.yaml``).
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from .._version import VERSION
from ..experiment.store import check_run_id, content_id
from ..files import OutputError, atomic_write_text, csv_text, jsonable, safe_folder_name
from ..kpis import KPI_BY_KEY, SUMMARY_KEYS
from ..scenario.schema import Scenario
from ..scenario.serialise import dump_scenario
from ..text import aligned_lines
from .service_tables import history_texts

ID_COLUMNS = ("scenario", "replication", "seed")
"""The first columns of ``replications.csv``; the figures of SUMMARY_KEYS follow."""


class ReplicationSetLike(Protocol):
    """What the writers need from ``servicesim.experiment.replications.ReplicationSet``."""

    @property
    def scenario(self) -> Scenario: ...

    @property
    def seed(self) -> int: ...

    @property
    def n(self) -> int: ...

    @property
    def policies(self) -> Mapping[str, Mapping[str, Any]]: ...

    @property
    def window_days(self) -> float: ...

    def rows(self) -> list[dict[str, Any]]: ...

    def summary(self, level: float = 0.95) -> dict[str, dict[str, Any]]: ...

    def details_summary(self, level: float = 0.95) -> dict[str, dict[str, Any]]: ...

    def breakdown_summary(self, by: str, level: float = 0.95
                          ) -> dict[str, dict[str, dict[str, Any]]]: ...


def replications_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """Tidy CSV text: ``scenario, replication, seed``, every SUMMARY_KEY, then any extras."""
    return csv_text(rows, [*ID_COLUMNS, *SUMMARY_KEYS])


def _kpi_block(summary: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    order = [k for k in SUMMARY_KEYS if k in summary] + [k for k in summary
                                                          if k not in KPI_BY_KEY]
    return {key: {stat: jsonable(summary[key].get(stat))
                  for stat in ("mean", "ci_low", "ci_high")} for key in order}


def summary_document(replication_set: ReplicationSetLike, level: float = 0.95,
                     summary: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The content of ``summary.json`` (pass ``summary`` to reuse one already computed); a
    network's has ``by_location`` too: {location: {figure: {mean, ci_low, ci_high, ...}}}
    (DOMAIN §7)."""
    if summary is None:
        summary = replication_set.summary(level=level)
    document = {
        "scenario": replication_set.scenario.name,
        "replications": int(replication_set.n),
        "seed": int(replication_set.seed),
        "kpis": _kpi_block(summary),
        "confidence_level": level,
        "policies": jsonable(dict(replication_set.policies)),
        "window_days": jsonable(replication_set.window_days),
        "servicesim_version": VERSION,
        "by_sku": jsonable(replication_set.breakdown_summary("sku", level)),
        "by_segment": jsonable(replication_set.breakdown_summary("segment", level)),
        "details": jsonable(replication_set.details_summary(level)),
    }
    if replication_set.scenario.locations is not None:
        document["by_location"] = jsonable(replication_set.breakdown_summary("location", level))
    return document


def default_run_id(replication_set: ReplicationSetLike) -> str:
    """The default id of a run's folder: ``run-`` and a hash of the scenario as run (every
    ``--set`` applied), the replications and the root seed, so that two what-ifs never
    share a folder and the same run finds its own again."""
    return content_id("run", {"scenario": replication_set.scenario.model_dump(mode="json"),
                              "replications": int(replication_set.n),
                              "seed": int(replication_set.seed)})


def write_run_outputs(replication_set: ReplicationSetLike, out_dir: str | os.PathLike[str],
                      level: float = 0.95, run_id: str | None = None,
                      overwrite: bool = False) -> dict[str, Path]:
    """Write ``replications.csv``, ``summary.json`` and ``scenario.yaml`` of a run.

    They go to ``out_dir/<scenario name>/<run id>/`` (:func:`default_run_id` unless
    ``run_id`` is given); returns ``{"replications": path, "summary": path,
    "scenario": path}``.  Everything is rendered before anything is written, and
    ``summary.json`` is written last.  A folder that holds another run (another scenario,
    seed or number of replications) is refused with :class:`~servicesim.files.OutputError`
    unless ``overwrite``; the same run again rewrites the same files.
    """
    scenario = replication_set.scenario
    try:
        folder = Path(out_dir) / safe_folder_name(scenario.name)
    except ValueError as exc:
        raise OutputError(str(exc)) from None
    folder /= check_run_id(run_id) if run_id is not None else default_run_id(replication_set)
    scenario_text = dump_scenario(scenario)
    if not overwrite:
        _refuse_another_run(folder, scenario_text, replication_set)
    texts = {
        "scenario": ("scenario.yaml", scenario_text),
        "replications": ("replications.csv", replications_csv(replication_set.rows())),
        "summary": ("summary.json", json.dumps(
            summary_document(replication_set, level), indent=2, ensure_ascii=False,
            allow_nan=False) + "\n"),
    }
    # a run that re-planned: its policies over time and its service per SKU (summary last)
    texts = {**{k: v for k, v in texts.items() if k != "summary"},
             **history_texts(replication_set, level), "summary": texts["summary"]}
    return {key: atomic_write_text(folder / name, text) for key, (name, text) in texts.items()}



def _refuse_another_run(folder: Path, scenario_text: str,
                        replication_set: ReplicationSetLike) -> None:
    """An OutputError if ``folder`` holds the results of a run other than this one."""
    try:
        raw = (folder / "summary.json").read_bytes()
    except OSError:
        return  # no results there (or none readable): writing will say what is wrong
    try:
        summary = json.loads(raw.decode("utf-8"))
        same = (folder / "scenario.yaml").read_text(encoding="utf-8") == scenario_text \
            and summary.get("seed") == int(replication_set.seed) \
            and summary.get("replications") == int(replication_set.n)
    except (OSError, ValueError, AttributeError):
        same = False
    if not same:
        raise OutputError(f"{folder} holds the results of another run; choose another --id "
                          "(or leave it out: each run gets its own folder), or --overwrite "
                          "to replace them")

# --------------------------------------------------------------------------- display

_UNIT_SHOWN = {"fraction": "%"}

ONE_REPLICATION_NOTE = ("one replication: no confidence intervals; use 2 or more to see "
                        "the noise")
"""Said under a table of means over one replication, whose intervals are all n/a."""

CENTS_BELOW = 1_000.0
"""Money of at least this magnitude is shown in whole units (the cents are noise there)."""


def unit_shown(unit: str, currency: str | None = None) -> str:
    """A figure's unit as tables show it: ``%`` for fractions, the ISO currency code (or
    ``money`` without one) for money, ``EUR/unit`` for money per unit."""
    if unit.startswith("money"):
        return (currency or "money") + unit.removeprefix("money")
    return _UNIT_SHOWN.get(unit, unit)


def format_money(value: float) -> str:
    """Money with thousands separators, with cents only below :data:`CENTS_BELOW`."""
    number = float(value)
    return f"{number:,.0f}" if abs(number) >= CENTS_BELOW else f"{number:,.2f}"


def format_value(key: str, value: Any) -> str:
    """One figure for people: fractions as %, money with thousands separators (and cents
    only below 1,000); the unit goes in a column or header (:func:`unit_shown`)."""
    if value is None or not isinstance(value, numbers.Real) or not math.isfinite(value):
        return "n/a"
    unit = KPI_BY_KEY[key].unit if key in KPI_BY_KEY else ""
    number = float(value)
    if unit == "fraction":
        return f"{100 * number:.2f}"
    if unit in ("money", "money/unit"):
        return format_money(number)
    if unit == "days":
        return f"{number:.2f}"
    if unit in ("units", "customers"):
        return f"{number:,.1f}"
    return f"{number:.4g}"


_SEGMENT_COLUMNS = (
    ("orders", "orders", "{:,.0f}"),
    ("item_fill_rate", "fill rate %", "{:.2%}"),
    ("on_time_rate", "on time %", "{:.2%}"),
    ("defections", "defections", "{:,.1f}"),
    ("revenue", "revenue", "{:,.0f}"),
    ("cost_to_serve", "cost to serve", "{:,.0f}"),
    ("profit_contribution", "profit contribution", "{:,.0f}"),
)
_SEGMENT_MONEY = frozenset({"revenue", "cost_to_serve", "profit_contribution"})


def format_segment_table(breakdown: Mapping[str, Mapping[str, Mapping[str, Any]]],
                         currency: str | None = None) -> str:
    """Per-segment means (the CRM view): orders, service, defections, cost to serve, profit
    (DOMAIN §4); money columns are headed with ``currency`` when there is one."""
    return _breakdown_table(breakdown, "segment", _SEGMENT_COLUMNS, _SEGMENT_MONEY, currency,
                            "per segment (means; money over the measured window)")


def _breakdown_table(breakdown: Mapping[str, Mapping[str, Mapping[str, Any]]], first: str,
                     columns: Sequence[tuple[str, str, str]], money: frozenset[str],
                     currency: str | None, title: str) -> str:
    """Means of a breakdown, a row per name and a column per ``(key, label, format)``;
    money columns headed with ``currency``; n/a where a mean is missing or not finite."""
    header = [first] + [f"{label} {currency}" if currency and key in money else label
                        for key, label, _ in columns]
    rows = [header]
    for name, figures in breakdown.items():
        row = [name]
        for key, _, fmt in columns:
            mean = figures.get(key, {}).get("mean")
            ok = isinstance(mean, numbers.Real) and math.isfinite(mean)
            row.append(fmt.format(mean).replace("%", "") if ok else "n/a")
        rows.append(row)
    lines = aligned_lines(rows, left=1, strip=False)
    rule = "-" * len(lines[0])
    return "\n".join([title, rule, lines[0], rule, *lines[1:]])


_LOCATION_COLUMNS = (
    ("fill_rate", "fill rate %", "{:.2%}"),
    ("ready_rate", "ready %", "{:.2%}"),
    ("avg_customer_wait_days", "wait days", "{:.2f}"),
    ("planned_lead_time_days", "planned lead days", "{:.2f}"),
    ("replenishment_lead_time_days", "lead time days", "{:.2f}"),
    ("internal_fill_rate", "int. fill %", "{:.2%}"),
    ("internal_order_wait_days", "int. wait days", "{:.2f}"),
    ("avg_inventory_value", "inventory", "{:,.0f}"),
    ("avg_in_transit_value", "in transit", "{:,.0f}"),
    ("avg_echelon_value", "echelon", "{:,.0f}"),
)
_LOCATION_MONEY = frozenset({"avg_inventory_value", "avg_in_transit_value",
                             "avg_echelon_value"})


def format_location_table(breakdown: Mapping[str, Mapping[str, Mapping[str, Any]]],
                          currency: str | None = None) -> str:
    """Per-location means of a network (DOMAIN §7): its customers' fill rate, ready rate and
    wait, its replenishment lead time, the fill rate and wait of the internal orders it
    fills, inventory, in-transit and echelon value at cost (headed with ``currency``); n/a
    where a location has no such flow (a DC without customers has no fill rate)."""
    return _breakdown_table(breakdown, "location", _LOCATION_COLUMNS, _LOCATION_MONEY,
                            currency, "per location (means; values at cost, time averages)")


def format_summary_table(summary: Mapping[str, Mapping[str, Any]], title: str,
                         level: float = 0.95, currency: str | None = None) -> str:
    """An aligned plain-text table: figure, unit (money in ``currency``), mean and the
    confidence interval (DOMAIN §6); an interval that does not exist reads ``n/a``, and a
    table of one replication says so under it."""
    keys = [k for k in SUMMARY_KEYS if k in summary] + [k for k in summary
                                                        if k not in KPI_BY_KEY]
    rows = []
    for key in keys:
        stats = summary[key]
        kpi = KPI_BY_KEY.get(key)
        rows.append((
            kpi.label if kpi else key,
            unit_shown(kpi.unit, currency) if kpi else "",
            format_value(key, stats.get("mean")),
            format_value(key, stats.get("ci_low")),
            format_value(key, stats.get("ci_high")),
        ))
    ci_head = f"{100 * level:g} % CI"
    label_w = max([len("figure")] + [len(r[0]) for r in rows])
    unit_w = max([len("unit")] + [len(r[1]) for r in rows])
    mean_w = max([len("mean")] + [len(r[2]) for r in rows])
    low_w = max([1] + [len(r[3]) for r in rows])
    high_w = max([1] + [len(r[4]) for r in rows])
    ci_w = max(len(ci_head), low_w + 3 + high_w)
    header = f"{'figure':<{label_w}}  {'unit':<{unit_w}}  {'mean':>{mean_w}}  {ci_head:>{ci_w}}"
    lines = [title, "-" * len(header), header, "-" * len(header)]
    for label, unit, mean, low, high in rows:
        ci = "n/a" if low == high == "n/a" else f"{low:>{low_w}} – {high:>{high_w}}"
        lines.append(f"{label:<{label_w}}  {unit:<{unit_w}}  {mean:>{mean_w}}  {ci:>{ci_w}}")
    if _one_replication(summary.values()):
        lines += ["-" * len(header), ONE_REPLICATION_NOTE]
    return "\n".join(lines)


def _one_replication(figures: Iterable[Mapping[str, Any]]) -> bool:
    """Whether the figures come from one replication: none has more than one value."""
    counts = [s["n"] for s in figures if isinstance(s.get("n"), numbers.Real)]
    return bool(counts) and max(counts) == 1


_PARAMETERS = (("reorder_point", "s"), ("order_quantity", "Q"), ("order_up_to", "S"),
               ("review_period_days", "R"))
_METRIC_SYMBOL = {"fill_rate": "β", "cycle_service_level": "α"}


def _number(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else f"{number:.4g}"


def _percent(value: Any) -> str:
    if value is None or not isinstance(value, numbers.Real) or not math.isfinite(value):
        return "n/a"
    return f"{100 * float(value):.2f} %"


def format_policy(policy: Mapping[str, Any]) -> str:
    """One derived SKU policy on one line: type, s/Q/S/R (and where each came from), the
    service target and the service the formula predicts, safety stock, lead-time demand."""
    parts = [str(policy.get("type", "?"))]
    for key, symbol in _PARAMETERS:
        value = policy.get(key)
        if value is None:
            continue
        source = policy.get(f"source_{key}")
        parts.append(f"{symbol}={_number(value)}" + (f" ({source})" if source else ""))
    symbol = _METRIC_SYMBOL.get(str(policy.get("service_metric")), "service")
    if policy.get("service_target") is not None:
        parts.append(f"target {symbol} {_percent(policy['service_target'])}")
    if policy.get("predicted_service") is not None:
        parts.append(f"predicted {symbol} {_percent(policy['predicted_service'])}")
    if policy.get("safety_stock") is not None:
        parts.append(f"safety stock {_number(policy['safety_stock'])}")
    mean, std = policy.get("lead_time_demand_mean"), policy.get("lead_time_demand_std")
    if mean is not None and std is not None:
        model = policy.get("lead_time_demand_model")
        parts.append(f"lead-time demand {float(mean):.4g} ± {float(std):.3g}"
                     + (f" ({model})" if model else ""))
    text = "  ".join(parts)
    if policy.get("notes"):
        text += f"\n    note: {policy['notes']}"
    return text


def format_run_header(replication_set: ReplicationSetLike) -> str:
    """Scenario, replications and seed, measured window, and the policy of each SKU."""
    scenario = replication_set.scenario
    run = scenario.run
    lines = [
        f"scenario      {scenario.name}",
        f"replications  {replication_set.n} (root seed {replication_set.seed})",
        f"window        days {run.warmup_days:g} to {run.horizon_days:g} "
        f"({float(replication_set.window_days):g} days measured after warm-up)",
    ]
    policies = replication_set.policies
    if policies:
        lines.append("policies")
        width = max(len(str(sku)) for sku in policies)
        for sku, policy in policies.items():
            lines.append(f"  {str(sku):<{width}}  {format_policy(policy)}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ frontier


def _target(value: Any) -> str:
    """A service target as set: ``99.95 %``, ``95 %`` (every digit the candidate has)."""
    return f"{100 * float(value):.4g} %" if isinstance(value, numbers.Real) else "n/a"


def _objective_there(summary: Mapping[str, Any]) -> list[str]:
    """The objective the prediction expects at the frontier's two points against today's:
    the most fill for the money need not earn the most."""
    from .formatting import fmt

    here, objective = summary["you_are_here"], summary["objective"]
    at_fill, at_inventory = (here.get(k) for k in ("objective_at_same_fill",
                                                   "objective_at_same_investment"))
    if not all(isinstance(v, numbers.Real) and math.isfinite(v)
               for v in (at_fill, at_inventory)):
        return []
    label = KPI_BY_KEY[objective].label.split(" (")[0]
    currency = summary.get("currency")
    today = summary["today"][objective]["mean"]
    return [f"{label} predicted at those two points: {fmt(objective, at_fill, currency)} and "
            f"{fmt(objective, at_inventory, currency)}, against "
            f"{fmt(objective, today, currency)} today: the fill rate counts every unit alike, "
            "so the frontier favours cheap, fast SKUs, while the recommendation weighs what "
            "each earns."]


def format_frontier(summary: Mapping[str, Any], targets: Sequence[Mapping[str, Any]],
                    moves: int = 10) -> str:
    """The terminal view of a frontier run (DOMAIN §12): the confirmed alternatives with
    their CIs, where today sits against the frontier, and the largest moves."""
    from .formatting import change_text, ci_text, fmt, money

    currency, objective = summary.get("currency"), summary["objective"]
    keys = list(dict.fromkeys(("avg_inventory_value", "item_fill_rate", objective,
                               summary["maximise"])))
    rows = [["", *(KPI_BY_KEY[k].label.split(" (")[0] for k in keys), "vs today"]]
    for row in summary["confirmed"]:
        cells = [row["label"] + (" (best)" if row["best"] else "")]
        for key in keys:
            f = row[key]
            cells.append(f"{fmt(key, f['mean'], currency, with_unit=True, compact=True)} "
                         f"({ci_text(key, f['ci_low'], f['ci_high'])})")
        d = row["difference_vs_today"]
        cells.append("" if row["kind"] == "today" else
                     f"{change_text(d['figure'], d['mean'], currency)} (p = {d['p']:.3g})")
        rows.append(cells)
    lines = ["", "Confirmed on fresh seeds (95 % CI):", *aligned_lines(rows)]
    here = summary["you_are_here"]
    if math.isfinite(here.get("saving") or math.nan):
        lines += ["", f"You are here: the efficient frontier reaches today's fill rate "
                      f"({fmt('item_fill_rate', here['today_fill_rate'])}) with "
                      f"{money(here['same_fill_investment'], currency, compact=True)} of "
                      f"inventory ({money(here['saving'], currency, compact=True)} less than "
                      f"today's {money(here['today_investment'], currency, compact=True)})"
                      + (f", or {fmt('item_fill_rate', here['same_investment_fill'])} fill "
                         "with today's inventory "
                         f"({change_text('item_fill_rate', here['fill_gain'])})"
                         if math.isfinite(here.get("fill_gain") or math.nan) else "") + "."]
        lines += _objective_there(summary)
    name = "class" if summary["by"] == "class" else "sku"
    moved = sorted((t for t in targets if t["move"] != "same"),
                   key=lambda t: -abs(t["inventory_value_change"] or 0))[:moves]
    if moved:
        table = [[name.upper() if name == "sku" else "Class", "Target today", "Recommended",
                  "Fill rate today", "Fill rate then", "Inventory change"]]
        for t in moved:
            label = t[name] + (f" at {t['location']}" if t.get("location") else "")
            table.append([label, _target(t["today_target"]), _target(t["recommended_target"]),
                          fmt("item_fill_rate", t["today_fill_rate"]),
                          fmt("item_fill_rate", t["recommended_fill_rate"]),
                          money(t["inventory_value_change"], currency, signed=True)])
        lines += ["", f"The {len(moved)} largest moves (targets.csv has every "
                      f"{'SKU' if name == 'sku' else 'class'}):", *aligned_lines(table)]
    lines += ["", f"{summary['simulations']:,} simulations against "
                  f"{summary['naive_simulations']:,} for a per-item grid of "
                  f"{len(summary['targets'])} targets."]
    return "\n".join(lines)
