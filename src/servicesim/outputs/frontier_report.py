"""The report of ``servicesim frontier`` (DOMAIN §12): ``report.html`` and ``report.xlsx``
in the frontier folder, in the form of the sweep report — the decision in one sentence and
how far today sits from the efficient frontier, today against the best common target and the
recommendation with their paired differences, the two charts, the targets that move most,
the method, the assumptions and the scenario as run.  It reads files only."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..files import atomic_write_bytes, atomic_write_text
from ..kpis import KPI_BY_KEY
from .assumptions import assumption_tables, scenario_yaml
from .charts import FRONTIER_CHARTS, plot_frontier
from .charts.common import money_text
from .formatting import ci_text, finite, fmt, unit_text
from .frontier_results import (
    FRONTIER_FILE,
    FrontierPoint,
    FrontierResults,
    Interval,
    load_frontier,
)
from .html import e, figure, html_table, page, page_yaml, plain_table
from .report import ReportError, one_replication_note
from .results import PlotError

__all__ = ["MOST_MOVES", "frontier_workbook", "here_sentence", "write_frontier_report"]

MOST_MOVES = 30
"""The HTML lists this many of the largest inventory changes in each direction."""

CAPTIONS = {
    "11-frontier": "The best demand-weighted fill rate for each inventory investment (the "
                   "line, with its 95 % band); today, the best common target and the "
                   "recommendation as simulated together on fresh seeds, and the arrows from "
                   "today to the frontier.",
    "12-targets": "The recommended target of each item against today's: service goes where "
                  "it is cheap to buy (fast, cheap SKUs), not where it is dear.",
}


# ----------------------------------------------------------------------------- words


def _money(value: float, currency: str | None) -> str:
    return f"{money_text(value)} {currency}".rstrip() if currency else money_text(value)


def here_sentence(results: FrontierResults) -> str:
    """Where today sits against the frontier, in plain words: "The same fill rate for
    1.2 M EUR less inventory, or 2.1 points more fill for the same."""
    currency = results.currency
    today = results.today
    saving = results.you_are_here("saving")
    gain = results.you_are_here("fill_gain")
    parts = []
    if finite(saving) and saving > 0:
        parts.append(f"the same fill rate ({fmt('item_fill_rate', today.fill.mean)}) for "
                     f"{_money(saving, currency)} less inventory")
    if finite(gain) and gain > 0:
        parts.append(f"{100 * gain:.1f} points more fill "
                     f"({fmt('item_fill_rate', results.you_are_here('same_investment_fill'))})"
                     f" for the same investment ({_money(today.inventory.mean, currency)})")
    if not parts and not (finite(saving) or finite(gain)):
        return ""  # the summary does not say where today sits
    if not parts:
        return "Today's allocation sits on the efficient frontier: no allocation of targets " \
               "gives more fill for the same inventory."
    return ("Today sits inside the efficient frontier: the best allocation of targets gives "
            + ", or ".join(parts) + "." + _objective_there(results))


def _objective_there(results: FrontierResults) -> str:
    """The objective the prediction expects at the frontier's two points against today's,
    when the summary gives it: the most fill for the money need not earn the most."""
    at_fill = results.you_are_here("objective_at_same_fill")
    at_inventory = results.you_are_here("objective_at_same_investment")
    objective = results.objective
    today = results.today.objective.mean
    if not (finite(at_fill) and finite(at_inventory)):
        return ""
    label = KPI_BY_KEY[objective].label.split(" (")[0]
    against = f", against {fmt(objective, today)} today" if finite(today) else ""
    return (f" The prediction puts {label} at {fmt(objective, at_fill)} and "
            f"{fmt(objective, at_inventory)} there{against}: the fill rate counts every unit "
            "alike, so the frontier favours cheap, fast SKUs, while the recommendation "
            "weighs what each earns.")


def maximised_words(results: FrontierResults) -> str:
    """What the search maximised, inside a sentence: "ROI (annualised)", "the
    demand-weighted item fill rate"."""
    if results.maximise == "item_fill_rate":
        return "the demand-weighted item fill rate"
    label = KPI_BY_KEY[results.maximise].label
    return label if label[1:2].isupper() else label[:1].lower() + label[1:]


def _point_name(point: FrontierPoint) -> str:
    """A confirmed run's name: "today", "all at 95 %" for a common target, its label."""
    if point.kind == "common":
        words = point.label.split()
        if point.target is not None:
            return f"all at {100 * point.target:.4g} %"
        if len(words) == 2 and words[0] == "common":
            try:
                return f"all at {100 * float(words[1]):.4g} %"
            except ValueError:
                pass
    return point.label


def _mark(point: FrontierPoint) -> str:
    if point.kind == "today":
        return "today"
    return "best" if point.best else "not worse" if point.not_worse else ""


def _key_points(results: FrontierResults) -> list[FrontierPoint]:
    """The confirmed runs, or without them the summary's today, best common target and
    recommendation."""
    if results.confirmed:
        return results.confirmed
    common = results.best_common
    return [results.today, *([common] if common is not None else []), results.recommended]


def _with_ci(key: str, interval: Interval) -> str:
    return (f"{e(fmt(key, interval.mean))}<span class=\"ci\">"
            f"{e(ci_text(key, interval.low, interval.high))}</span>")


def _change(key: str, value: float) -> str:
    if not finite(value):
        return "n/a"
    if KPI_BY_KEY[key].unit == "fraction":
        return f"{100 * value:+,.1f} points"
    return fmt(key, value, signed=True)


def _header(key: str, currency: str | None) -> str:
    unit = unit_text(key, currency)
    return KPI_BY_KEY[key].label if unit == "%" else f"{KPI_BY_KEY[key].label} ({unit})"


# ----------------------------------------------------------------------------- sections


def _key_table(results: FrontierResults) -> str:
    """Today, the best common target, the recommendation and the other confirmed runs:
    inventory, fill rate and objective with their CIs, the paired change against today."""
    objective, diff_key = results.objective, results.difference_key
    currency = results.currency
    header = ["Allocation", _header("avg_inventory_value", currency),
              "Demand-weighted item fill rate (β)", _header(objective, currency),
              f"Change in {KPI_BY_KEY[diff_key].label.split(' (')[0]} vs today", "95 % CI",
              "p", "Result"]
    rows, classes = [], []
    for point in _key_points(results):
        difference = point.difference
        today = point.kind == "today"
        p = difference.get("p", math.nan)
        rows.append([e(_point_name(point)), _with_ci("avg_inventory_value", point.inventory),
                     _with_ci("item_fill_rate", point.fill),
                     _with_ci(objective, point.objective),
                     "—" if today else e(_change(diff_key, difference.get("mean", math.nan))),
                     "—" if today else e(ci_text(diff_key, difference.get("ci_low", math.nan),
                                                 difference.get("ci_high", math.nan),
                                                 signed=True)),
                     "—" if today or not finite(p) else f"{p:.4f}" if p >= 0.0001
                     else "< 0.0001", e(_mark(point))])
        classes.append({"today": "today", "best": "best", "not worse": "nw"}
                       .get(_mark(point), ""))
    n = results.count("confirm_replications")
    group = ("Allocations simulated together on fresh seeds" + (f", {n} replications each"
                                                                 if n else "")
             + ": means with their 95 % confidence intervals; changes paired with today")
    return html_table(header, rows, row_classes=classes, klass="figures", raw=True,
                      group=group)


def _charts(results: FrontierResults) -> list[Path]:
    """The PNG charts in ``charts/`` when both are there and newer than frontier.json, else
    drawn into it."""
    folder = results.directory / "charts"
    files = [folder / f"{stem}.png" for stem in FRONTIER_CHARTS]
    written = (results.directory / FRONTIER_FILE).stat().st_mtime
    if all(f.is_file() and f.stat().st_mtime >= written for f in files):
        return files
    return [p for p in plot_frontier(results.directory, folder, ("png",))
            if p.suffix == ".png"]


def _item_columns(results: FrontierResults) -> list[str]:
    columns = [results.item_column]
    if results.has_locations:
        columns.append("location")
    if results.item_column != "class" and "abc_class" in results.targets[0]:
        columns.append("abc_class")
    return columns


ITEM_HEADERS = {"sku": "SKU", "class": "Class", "location": "Location",
                "abc_class": "ABC class"}


def _moves_table(rows: Sequence[dict[str, Any]], results: FrontierResults, title: str) -> str:
    currency = results.currency
    header = [ITEM_HEADERS[c] for c in _item_columns(results)] + [
        "Demand (units a year)", f"Unit cost ({currency or 'money'})", "Target today",
        "Target recommended", "Fill rate today", "Fill rate recommended",
        f"Inventory today ({currency or 'money'})",
        f"Inventory recommended ({currency or 'money'})",
        f"Change in inventory ({currency or 'money'})"]
    body = []
    for row in rows:
        cells = [e(row.get(c, "")) for c in _item_columns(results)]
        cells += [e(_plain(row.get("units_per_year"), 0)), e(_plain(row.get("unit_cost"), 2)),
                  e(_target(row.get("today_target"))),
                  e(_target(row.get("recommended_target"))),
                  _row_ci(row, "today_fill_rate"), _row_ci(row, "recommended_fill_rate"),
                  e(fmt("avg_inventory_value", row.get("today_inventory_value"))),
                  e(fmt("avg_inventory_value", row.get("recommended_inventory_value"))),
                  _row_change(row)]
        body.append(cells)
    return html_table(header, body, raw=True, klass="figures", group=title)


def _plain(value: Any, decimals: int) -> str:
    return f"{float(value):,.{decimals}f}" if finite(value) else "n/a"


def _target(value: Any) -> str:
    return f"{100 * float(value):.4g} %" if finite(value) else "n/a"


def _row_ci(row: dict[str, Any], key: str) -> str:
    interval = Interval(*(float(row[k]) if finite(row.get(k)) else math.nan
                          for k in (key, f"{key}_ci_low", f"{key}_ci_high")))
    return _with_ci("item_fill_rate", interval)


def _row_change(row: dict[str, Any]) -> str:
    key = "avg_inventory_value"
    change = row.get("inventory_value_change")
    low, high = row.get("inventory_value_change_ci_low"), row.get("inventory_value_change_ci_high")
    shown = e(fmt(key, change, signed=True))
    if finite(low) and finite(high):
        shown += f'<span class="ci">{e(ci_text(key, float(low), float(high), signed=True))}' \
                 "</span>"
    return shown


def _change_of(row: dict[str, Any]) -> float:
    value = row.get("inventory_value_change")
    return float(value) if finite(value) else 0.0


def biggest_moves(results: FrontierResults, most: int = MOST_MOVES
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``most`` largest increases of inventory value and the ``most`` largest
    decreases, each largest first."""
    ups = sorted((r for r in results.targets if _change_of(r) > 0), key=_change_of,
                 reverse=True)
    downs = sorted((r for r in results.targets if _change_of(r) < 0), key=_change_of)
    return ups[:most], downs[:most]


def class_moves(results: FrontierResults) -> list[list[Any]]:
    """Per ABC class: items, moved up, down, unchanged, inventory today and recommended and
    the change (one row per class, unclassified items last)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in results.targets:
        label = row.get("abc_class") or row.get("class") or "unclassified"
        groups.setdefault(str(label), []).append(row)
    out = []
    for label in sorted(groups, key=lambda x: (x == "unclassified", x)):
        rows = groups[label]
        today = sum(float(r["today_inventory_value"]) for r in rows
                    if finite(r.get("today_inventory_value")))
        recommended = sum(float(r["recommended_inventory_value"]) for r in rows
                          if finite(r.get("recommended_inventory_value")))
        out.append([label, len(rows), *(sum(r.get("move") == m for r in rows)
                                         for m in ("up", "down", "same")),
                    today, recommended, recommended - today])
    return out


def _class_table(results: FrontierResults) -> str:
    currency = results.currency or "money"
    items = "SKUs" if results.item_column == "sku" else "Items"
    header = ["ABC class", items, "Target up", "Target down", "Unchanged",
              f"Inventory today ({currency})", f"Inventory recommended ({currency})",
              f"Change ({currency})"]
    rows = [[label, f"{n:,}", f"{up:,}", f"{down:,}", f"{same:,}",
             fmt("avg_inventory_value", today), fmt("avg_inventory_value", recommended),
             fmt("avg_inventory_value", change, signed=True)]
            for label, n, up, down, same, today, recommended, change in class_moves(results)]
    return html_table(header, rows, klass="figures",
                      group="Targets moved by ABC class; average inventory value at unit cost")


def _targets_section(results: FrontierResults) -> str:
    ups, downs = biggest_moves(results)
    kind = "SKU" if results.item_column == "sku" else "class"
    out = [_class_table(results)]
    if ups:
        out.append(_moves_table(ups, results, f"The {len(ups)} largest increases in inventory "
                                f"(by {kind}), largest first"))
    if downs:
        out.append(_moves_table(downs, results, f"The {len(downs)} largest decreases in "
                                f"inventory (by {kind}), largest first"))
    return "".join(out)


def _method(results: FrontierResults) -> str:
    simulations, naive = results.count("simulations"), results.count("naive_simulations")
    runs = ""
    if simulations and naive:
        runs = (f"<p>The search used <strong>{simulations:,}</strong> whole-assortment "
                f"simulations, where a grid of every candidate target of every item would "
                f"need {naive:,}"
                + (f" ({naive / simulations:,.0f} times as many)" if naive >= 2 * simulations
                   else "") + ".</p>")
    targets = results.document.get("targets")
    grid = ""
    if isinstance(targets, list) and targets and all(finite(t) for t in targets):
        grid = (f"<p>Candidate targets per item: {len(targets)}, from "
                f"{_target(min(targets))} to {_target(max(targets))}. Service metric: "
                f"{e(str(results.document.get('service_metric', 'fill_rate')).replace('_', ' '))}"
                ".</p>")
    return f"<p>{e(results.text('method'))}</p>{runs}{grid}"


def _how_to_read(results: FrontierResults) -> str:
    currency = results.currency
    items = [
        "The <strong>efficient frontier</strong> is, for each average inventory value, the "
        "best demand-weighted item fill rate any allocation of targets reaches. Below it, "
        "the same service costs more inventory than it must.",
        "<strong>Confirmed</strong> allocations were simulated together on fresh random "
        "numbers, replication <em>r</em> with the same seed for every allocation (common "
        "random numbers), so the change against today is paired and its 95 % confidence "
        "interval is narrow.",
        "The <strong>best</strong> allocation (yellow) has the highest mean of "
        f"{e(maximised_words(results))}; blue: not significantly worse; grey: "
        "today, the scenario's own targets.",
        f"Fractions in %, changes of fractions in percentage points, money in "
        f"{e(currency or 'the scenario’s currency')} (k = thousand, M = million); "
        "inventory is the average inventory value at unit cost; ROI is annualised.",
    ]
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _assumptions(results: FrontierResults) -> tuple[str, str, Any]:
    """The assumption tables, the appendix YAML and the scenario (None when unreadable)."""
    try:
        scenario = results.scenario()
    except PlotError as exc:
        return f"<p>The scenario cannot be read: {e(exc)}</p>", "", None
    return ("".join(plain_table(t) for t in assumption_tables(scenario)),
            scenario_yaml(scenario), scenario)


def _meta(results: FrontierResults) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    maximised = maximised_words(results)
    budget = (f" within an inventory budget of {_money(results.budget, results.currency)}"
              if results.budget is not None else "")
    items = results.count("items") or len(results.targets)
    kind = _nouns(results)[1]
    reps, confirm = results.count("replications"), results.count("confirm_replications")
    runs = (f"; {reps} replications per search step, {confirm} to confirm" if reps and confirm
            else "")
    return (f'<p class="meta">Report of the frontier run in '
            f"<code>{e(results.directory.name)}</code>: a target for each of {items:,} "
            f"{kind}, maximising {e(maximised)}{e(budget)}{e(runs)}; root seed "
            f"{e(results.document.get('seed'))}; written {e(stamp)}.</p>")


def _html(results: FrontierResults, charts: Sequence[Path]) -> str:
    name = results.scenario_name
    per = "SKU" if results.by == "sku" else "class"
    tables, yaml_text, _ = _assumptions(results)
    shown = "".join(figure(p, CAPTIONS.get(p.stem, "")) for p in charts)
    body = f"""<h1>{e(name)}: a service target per {per} and the efficient frontier</h1>
{_meta(results)}
<div class="summary" id="summary"><p>{e(results.text("decision"))}</p>
{f"<p>{e(here)}</p>" if (here := here_sentence(results)) else ""}</div>
{one_replication_note(results.count("confirm_replications") or 0)}
<h2>Today, the best common target and the recommendation</h2>
<p class="legend keep"><span style="background:var(--best)">best</span>
<span style="background:var(--nw)">not significantly worse</span>
<span style="background:var(--today)">today</span></p>
{_key_table(results)}
<h2>Charts</h2>
{shown or "<p>No charts could be drawn.</p>"}
<h2>The targets that move</h2>
<p>{e(_moves_sentence(results))}</p>
{_targets_section(results)}
<p>Every {e(per)} with its figures is in the workbook's Targets sheet
(<code>report.xlsx</code>) and in <code>targets.csv</code>.</p>
<h2>Method</h2>
{_method(results)}
<h2>How to read this report</h2>
{_how_to_read(results)}
<h2>Assumptions</h2>
<p>The scenario as run; the recommendation changes only the service target of each
{e(per)}.</p>
{tables}
<h2 class="appendix">Appendix: the scenario as run</h2>
<p>The scenario file as simulated (<code>scenario.yaml</code>), without unset fields.</p>
<pre>{e(page_yaml(yaml_text) or "(the scenario cannot be read)")}</pre>
<footer>servicesim report · {e(results.directory)}</footer>"""
    return page(f"{name}: service targets and the efficient frontier", body)


def _nouns(results: FrontierResults) -> tuple[str, str]:
    """What one item is, one and many: a SKU, a SKU at a location, or a class."""
    if results.item_column != "sku":
        return "class", "classes"
    return ("SKU–location pair", "SKU–location pairs") if results.has_locations \
        else ("SKU", "SKUs")


def _moves_sentence(results: FrontierResults) -> str:
    moves = results.moves()
    kind = _nouns(results)
    return (f"{moves['up']:,} {kind[moves['up'] != 1]} move to a higher target, "
            f"{moves['down']:,} to a lower one and {moves['same']:,} keep today's. The tables "
            f"list the largest changes of average inventory value in each direction (at most "
            f"{MOST_MOVES}), with each fill rate's 95 % confidence interval.")


# ----------------------------------------------------------------------------- workbook

TARGET_HEADERS = {
    "sku": ("SKU", None), "class": ("Class", None), "location": ("Location", None),
    "abc_class": ("ABC class", None), "units_per_year": ("Demand (units a year)", "#,##0"),
    "unit_cost": ("Unit cost ({c})", "#,##0.00"), "today_target": ("Target today", "0.0%"),
    "today_fill_rate": ("Fill rate today", "0.0%"),
    "today_fill_rate_ci_low": ("Fill rate today, 95 % CI low", "0.0%"),
    "today_fill_rate_ci_high": ("Fill rate today, 95 % CI high", "0.0%"),
    "recommended_target": ("Target recommended", "0.0%"),
    "recommended_fill_rate": ("Fill rate recommended", "0.0%"),
    "recommended_fill_rate_ci_low": ("Fill rate recommended, 95 % CI low", "0.0%"),
    "recommended_fill_rate_ci_high": ("Fill rate recommended, 95 % CI high", "0.0%"),
    "today_inventory_value": ("Inventory value today ({c})", "#,##0"),
    "recommended_inventory_value": ("Inventory value recommended ({c})", "#,##0"),
    "inventory_value_change": ("Change in inventory value ({c})", "#,##0"),
    "inventory_value_change_ci_low": ("Change in inventory value, 95 % CI low ({c})", "#,##0"),
    "inventory_value_change_ci_high": ("Change in inventory value, 95 % CI high ({c})",
                                       "#,##0"),
    "move": ("Move", None),
}
"""The columns of ``targets.csv`` in the workbook: header (``{c}`` the currency), format."""

FRONTIER_HEADERS = {
    "point": ("Point", None), "avg_inventory_value": ("Average inventory value ({c})", "#,##0"),
    "item_fill_rate": ("Demand-weighted item fill rate", "0.00%"),
    "item_fill_rate_ci_low": ("Fill rate, 95 % CI low", "0.00%"),
    "item_fill_rate_ci_high": ("Fill rate, 95 % CI high", "0.00%"),
    "mean_target": ("Demand-weighted mean target", "0.0%"),
}


def _table_sheet(title: str, rows: Sequence[dict[str, Any]], known: dict[str, Any],
                 currency: str | None, extra: dict[str, tuple[str, str | None]] | None = None
                 ) -> Any:
    """A sheet of CSV rows: known columns with readable headers and formats, others as
    they are."""
    from .workbook import Sheet

    labels = {**known, **(extra or {})}
    columns = list(rows[0]) if rows else []
    header = [labels[c][0].format(c=currency or "money") if c in labels else c
              for c in columns]
    formats = [labels[c][1] if c in labels else None for c in columns]
    return Sheet(title, header, [[r.get(c) for c in columns] for r in rows], formats,
                 widths=[max(12, min(len(h) + 2, 22)) for h in header])


def _summary_sheet(results: FrontierResults) -> Any:
    from .workbook import Sheet

    currency = results.currency
    today, best = results.today, results.recommended
    moves = results.moves()
    c = currency or "money"
    rows: list[list[Any]] = [
        ["Scenario", results.scenario_name], ["Results folder", str(results.directory)],
        ["Decision", results.text("decision")], ["Against the frontier", here_sentence(results)],
        ["Objective", KPI_BY_KEY[results.objective].label],
        ["Maximised", KPI_BY_KEY[results.maximise].label],
        [f"Inventory budget ({c})", results.budget if results.budget is not None else "none"],
        ["Targets per", "SKU" if results.by == "sku" else "class"],
        ["Items given a target", results.count("items") or len(results.targets)],
        ["Moved up / down / unchanged", f"{moves['up']} / {moves['down']} / {moves['same']}"],
        [f"Inventory today ({c})", today.inventory.mean],
        [f"Inventory recommended ({c})", best.inventory.mean],
        ["Fill rate today", today.fill.mean], ["Fill rate recommended", best.fill.mean],
        [f"{KPI_BY_KEY[results.objective].label} today", today.objective.mean],
        [f"{KPI_BY_KEY[results.objective].label} recommended", best.objective.mean],
        ["Replications (search)", results.count("replications")],
        ["Replications (confirmation)", results.count("confirm_replications")],
        ["Simulations", results.count("simulations")],
        ["Simulations of a naive grid", results.count("naive_simulations")],
        ["Root seed", results.document.get("seed")], ["Currency", currency or "not stated"],
        ["Method", results.text("method")],
    ]
    sheet = Sheet("Summary", ["Item", "Value"], rows, widths=[34, 110], table=False)
    money = "#,##0"
    objective = "0.0%" if KPI_BY_KEY[results.objective].unit == "fraction" else money
    for i, (label, _) in enumerate(rows):
        if label.startswith("Inventory"):
            sheet.cell_formats[(i, 1)] = money
        elif label.startswith("Fill rate"):
            sheet.cell_formats[(i, 1)] = "0.0%"
        elif label.startswith(KPI_BY_KEY[results.objective].label):
            sheet.cell_formats[(i, 1)] = objective
    return sheet


def _confirmed_sheet(results: FrontierResults) -> Any:
    from .workbook import BEST_FILL, NOT_WORSE_FILL, TODAY_FILL, Sheet, header_text

    currency, objective, diff_key = results.currency, results.objective, results.difference_key
    header = ["Allocation", "Kind", "Result"]
    formats: list[str | None] = [None, None, None]
    for key in ("avg_inventory_value", "item_fill_rate", objective):
        header += [header_text(key, currency), header_text(key, currency, ", 95 % CI low"),
                   header_text(key, currency, ", 95 % CI high")]
        formats += [_format(key)] * 3
    name = KPI_BY_KEY[diff_key].label
    header += [f"Change in {name} vs today", "Change, 95 % CI low", "Change, 95 % CI high",
               "p-value"]
    formats += [_format(diff_key)] * 3 + ["0.0000"]
    rows, fills = [], {}
    for i, point in enumerate(_key_points(results)):
        d = point.difference
        rows.append([_point_name(point), point.kind, _mark(point), *point.inventory,
                     *point.fill, *point.objective,
                     *(d.get(k) for k in ("mean", "ci_low", "ci_high", "p"))])
        fill = {"today": TODAY_FILL, "best": BEST_FILL, "not worse": NOT_WORSE_FILL}.get(
            _mark(point))
        if fill:
            fills[i] = fill
    return Sheet("Confirmed", header, rows, formats, fills,
                 widths=[22, 10, 11] + [16] * (len(header) - 3), freeze="D2")


def _format(key: str) -> str | None:
    from .workbook import number_format

    return number_format(key)


def _class_sheet(results: FrontierResults) -> Any:
    from .workbook import Sheet

    c = results.currency or "money"
    return Sheet("By class", ["ABC class", "Items", "Target up", "Target down", "Unchanged",
                              f"Inventory today ({c})", f"Inventory recommended ({c})",
                              f"Change ({c})"], class_moves(results),
                 [None, "#,##0", "#,##0", "#,##0", "#,##0", "#,##0", "#,##0", "#,##0"],
                 widths=[12, 10, 11, 11, 11, 20, 22, 16])


def _runs_sheet(results: FrontierResults) -> Any:
    """Every whole-scenario run (``runs.csv``), when the folder has it readable."""
    from ..experiment.store import RUNS_FILE, read_table
    from ..files import OutputError
    from .workbook import runs_sheet

    try:
        table = read_table(results.directory / RUNS_FILE)
    except OutputError:
        return None
    rows = table.rows() if table is not None else []
    if not rows or "replication" not in rows[0]:
        return None
    first = [(k, h) for k, h in (("alternative", "Alternative"), ("allocation", "Allocation"),
                                 ("phase", "Phase")) if k in rows[0]]
    return runs_sheet(rows, first, results.currency,
                      lambda r: (str(r.get("phase")), int(r.get("alternative") or 0),
                                 int(r["replication"])))


def frontier_workbook(results: FrontierResults) -> bytes:
    """``report.xlsx`` of a frontier folder: Summary, Confirmed, Targets (every item),
    By class, Frontier, Runs (with ``runs.csv``), Assumptions and Scenario."""
    from .workbook import assumptions_sheet, write_workbook, yaml_sheet

    currency = results.currency
    objective = (KPI_BY_KEY[results.objective].label + (" ({c})" if KPI_BY_KEY[
        results.objective].unit == "money" else ""), _format(results.objective))
    sheets = [_summary_sheet(results), _confirmed_sheet(results),
              _table_sheet("Targets", results.targets, TARGET_HEADERS, currency),
              _class_sheet(results),
              _table_sheet("Frontier", results.frontier, FRONTIER_HEADERS, currency,
                           {results.objective: objective}),
              _runs_sheet(results)]
    _, yaml_text, scenario = _assumptions(results)
    if scenario is not None:
        sheets += [assumptions_sheet(assumption_tables(scenario)), yaml_sheet(yaml_text)]
    return write_workbook([s for s in sheets if s is not None])


# ----------------------------------------------------------------------------- entry point


def write_frontier_report(directory: str | Path, out_dir: str | Path | None = None
                          ) -> dict[str, Path]:
    """Write ``report.html`` and ``report.xlsx`` of a frontier folder (DOMAIN §12) into
    ``out_dir`` (default: the folder); returns ``{"html": path, "xlsx": path}``.  Raises
    :class:`~servicesim.outputs.report.ReportError` naming the file when the folder is
    incomplete or broken."""
    try:
        results = load_frontier(directory)
        folder = Path(out_dir) if out_dir is not None else results.directory
        folder.mkdir(parents=True, exist_ok=True)
        document = _html(results, _charts(results))
        workbook = frontier_workbook(results)
    except PlotError as exc:
        raise ReportError(str(exc)) from None
    html_path = atomic_write_text(folder / "report.html", document)
    xlsx_path = atomic_write_bytes(folder / "report.xlsx", workbook)
    return {"html": Path(html_path), "xlsx": Path(xlsx_path)}
