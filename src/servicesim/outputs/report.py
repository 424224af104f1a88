"""A client-ready report of a sweep, an optimisation or a comparison: one HTML file and one
Excel workbook.

``write_report("results/baseline/sweep-...")`` reads the folder and writes, into that
folder by default:

- ``report.html`` — one self-contained file (charts embedded as PNG), readable on screen and
  printable on A4 or US letter: the decision in one sentence (the best alternative against
  today's policy when the folder records it, ``today.json``), today against the
  recommendation, where achieved service and target part and why, what drives the answer
  (``sensitivity.json``), the charts, one row per alternative with the key figures, how to
  read it, the assumptions in plain words, and appendices with every figure and the
  scenario as YAML;
- ``report.xlsx`` — the same for Excel (:mod:`servicesim.outputs.workbook`).

A compare folder gets the comparison's report (:mod:`servicesim.outputs.compare_report`), a
frontier folder its own (:mod:`servicesim.outputs.frontier_report`).
The charts are taken from ``<folder>/charts/*.png`` when every chart is there and newer than
``runs.csv`` (as ``sweep`` and ``optimize`` leave them), and drawn otherwise.  Both files are
written atomically.  This module only reads results.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from ..experiment.store import RUNS_FILE
from ..files import atomic_write_bytes, atomic_write_text
from ..kpis import KPI_BY_KEY, KPIS, figure_kpi
from .assumptions import assumption_tables, scenario_yaml
from .charts.network_map import NETWORK_STEM, network_map, network_sentence
from .findings import (
    achieved_key,
    main_key,
    metric_name,
    ordered,
    paired_today,
    service_gap,
    service_metric,
    summary_sentence,
    varying,
)
from .formatting import ci_text, fmt, param_label, param_text, params_text, unit_text
from .html import e, figure, html_table, page, page_yaml, plain_table
from .plots import CHARTS, charts_for, plot_all
from .results import (
    ACHIEVED,
    SENSITIVITY_CHART,
    Alternative,
    PlotError,
    Results,
    Today,
    is_compare_folder,
    load_results,
    read_sensitivity,
)

__all__ = ["ReportError", "summary_sentence", "write_report"]


class ReportError(PlotError):
    """A folder that holds no sweep, optimisation or comparison; the message says why."""


# ----------------------------------------------------------------------------- charts


def _chart_files(results: Results) -> list[Path]:
    """PNG of every chart: the ones in ``charts/`` when complete and up to date, else drawn."""
    folder = results.directory / "charts"
    files = [folder / f"{stem}.png" for stem in charts_for(results)]
    runs_time = (results.directory / RUNS_FILE).stat().st_mtime
    if all(f.is_file() and f.stat().st_mtime >= runs_time for f in files):
        return files
    return [p for p in plot_all(results.directory, out_dir=folder, formats=("png",),
                                objective=results.objective) if p.suffix == ".png"]


def _caption(stem: str) -> str:
    chart = CHARTS.get(stem)
    doc = (chart.__doc__ or "").strip().split("\n\n")[0] if chart else ""
    doc = re.sub(r":\w+:`~?([^`]+)`", lambda m: m.group(1).rsplit(".", 1)[-1], doc)
    return " ".join(doc.replace("``", "").split())


# ----------------------------------------------------------------------------- sections

KEY_COLUMNS = ("operating_profit", "avg_inventory_value", "lost_sales_units", "defections",
               "lost_customer_value")
"""Figures of the key-figures table after the service and objective columns."""


def _header(key: str, currency: str | None) -> str:
    kpi = figure_kpi(key)
    assert kpi is not None, key
    unit = unit_text(key, currency)
    return kpi.label if unit == "%" else f"{kpi.label} ({unit})"


LOCATION_COLUMNS = ("fill_rate", "ready_rate", "avg_customer_wait_days",
                    "planned_lead_time_days", "replenishment_lead_time_days",
                    "internal_fill_rate", "internal_order_wait_days", "avg_inventory_value",
                    "avg_in_transit_value", "avg_echelon_value")
"""Figures of the "By location" table of a network (DOMAIN §7)."""


def location_table(results: Results, today: Today | None, currency: str | None) -> str:
    """A network's "By location" section: for the best alternative (and today's policy when
    the folder records it) each location's customers' fill rate with its 95 % CI, ready
    rate, customer wait, replenishment lead time, the fill rate and wait of the internal
    orders it fills, inventory, in-transit and echelon value; "" for a single location."""
    locations = results.locations
    if not locations:
        return ""
    best = results.best_alternative
    sources: list[tuple[str, Alternative | Today, str]] = [(f"#{best.id} (best)", best,
                                                           "best")]
    if today is not None:
        sources.insert(0, ("today", today, "today"))
    header = ["Policy", "Location"]
    for key in LOCATION_COLUMNS:
        header.append(_header(f"{locations[0]}.{key}", currency))
    rows, classes = [], []
    for name, source, klass in sources:
        for location in locations:
            row = [e(name), e(location)]
            for key in LOCATION_COLUMNS:
                column = f"{location}.{key}"
                mean, ci = _mean_ci(source, column)
                shown = e(mean)
                if key == "fill_rate" and mean != "n/a":
                    shown += f'<span class="ci">{e(ci)}</span>'
                row.append(shown)
            rows.append(row)
            classes.append(klass)
    return ("<h2>By location</h2><p>Each location of the network: the service of the "
            "customers it serves (n/a at a location that serves none), the lead time of its "
            "own replenishment (wait upstream + transit), the internal orders it fills for "
            "the locations below it, and its stock at cost: on hand, in transit to it, and "
            "echelon (its stock and everything below it, less customers' backorders). "
            "Means over the replications.</p>"
            + html_table([e(h) for h in header], rows, row_classes=classes, raw=True,
                         klass="figures",
                         group="Figures by location: customers' fill rate with its 95 % "
                               "confidence interval"))


def _mean_ci(alternative: Alternative | Today, key: str) -> tuple[str, str]:
    mean, low, high = alternative.interval(key) if key in alternative.figures \
        else (math.nan, math.nan, math.nan)
    shown = "item_fill_rate" if key == ACHIEVED else key  # a fill rate, shown as one
    return fmt(shown, mean), ci_text(shown, low, high)


class _Page:
    """What every section of one sweep or optimisation report needs."""

    def __init__(self, results: Results) -> None:
        self.results = results
        self.currency = results.currency
        self.metric = service_metric(results)
        self.today = results.today
        """Today's policy: its row in the tables."""
        self.paired = paired_today(results)
        """today.json when its differences are about this report's best: the decision."""
        self.keys = varying(results) or list(results.keys)
        self.service = achieved_key(self.metric)
        self.objective = results.objective

    def figure_columns(self) -> list[str]:
        columns = [self.service]
        if self.results.service_locations:  # a location's target: its own service beside
            columns.append(ACHIEVED)
        if self.service != "item_fill_rate":
            columns.append("item_fill_rate")
        columns.append(self.objective)
        if self.objective != "roi":
            columns.append("roi")
        return columns + [k for k in KEY_COLUMNS if k not in columns]

    def key_table(self) -> str:
        """One row per alternative, sorted by target; today first; best and not-worse
        marked."""
        r = self.results
        columns = self.figure_columns()
        header = ["Alternative", *(param_label(k, self.metric) for k in self.keys)]
        network = ", all customers" if r.service_locations else ""
        for key in columns:
            if key == ACHIEVED:
                header.append(f"Achieved {r.service_label}")
            elif key == self.service:
                header.append(f"Achieved {metric_name(self.metric)}{network}")
            else:
                header.append(_header(key, self.currency))
            if key == self.objective:
                header.append(f"{KPI_BY_KEY[key].label.split(' (')[0]} 95 % CI")
        header.append("Result")
        rows, classes = [], []
        if self.today is not None:
            rows.append(self._row("today", self.today.params, self.today, columns, "today"))
            classes.append("today")
        nw = set(r.not_worse)
        for a in ordered(r):
            mark = "best" if a.id == r.best else "not worse" if a.id in nw else ""
            rows.append(self._row(f"#{a.id}", a.params, a, columns, mark))
            classes.append({"best": "best", "not worse": "nw"}.get(mark, ""))
        return html_table(header, rows, row_classes=classes, klass="figures",
                          group="Key figures by alternative, sorted by "
                                + (param_label(main_key(r) or "", self.metric).lower()
                                   if main_key(r) else "alternative"))

    def _row(self, name: str, params: dict[str, object], source: Alternative | Today,
             columns: Sequence[str], mark: str) -> list[str]:
        row = [name, *(param_text(k, params.get(k)) for k in self.keys)]
        for key in columns:
            mean, ci = _mean_ci(source, key)
            row.append(mean)
            if key == self.objective:
                row.append(ci)
        return [*row, mark]

    def decision(self) -> str:
        """Today against the recommendation: each key figure, the change and its 95 % CI."""
        today = self.paired
        if today is None:
            return ""
        best = self.results.best_alternative
        figures = [self.service, self.objective, "operating_profit", "revenue",
                   "avg_inventory_value", "capital_employed", "lost_sales_units",
                   "defections", "lost_customer_value", "on_time_rate"]
        figures = list(dict.fromkeys(k for k in figures if k in KPI_BY_KEY))
        rows = [[param_label(k, self.metric), param_text(k, today.params.get(k)),
                 param_text(k, best.params.get(k)), "", ""] for k in self.keys]
        for key in figures:
            diff, low, high = today.change(key)
            rows.append([_header(key, self.currency), fmt(key, today.interval(key)[0]),
                         fmt(key, best.mean(key)), _signed(key, diff),
                         ci_text(key, low, high, signed=True)])
        return ("<h2>Today against the recommendation</h2>"
                + html_table(["Figure", "Today", f"Recommended (#{best.id})",
                              "Change", "Change, 95 % CI"], rows,
                             group="Best alternative minus today's policy, paired over the "
                                   "common replications"))

    def service_note(self) -> str:
        gap = service_gap(self.results)
        if gap is None:
            return ""
        return ("<h2>Target and achieved service</h2><p class=\"note\">"
                + e(" ".join(gap.sentences(self.results))) + "</p>")

    def drivers(self) -> str:
        found = read_sensitivity(self.results.directory)
        if found is None:
            return ""
        sentence, chart = found
        shown = figure(chart, "How the optimum and its ROI move when the uncertain "
                              "behavioural inputs move (common random numbers).") \
            if chart is not None else ""
        return ('<section class="whole"><h2>What drives the answer</h2>'
                f'<p class="summary">{e(sentence)}</p>{shown}</section>')


def _network(results: Results, charts: Sequence[Path]) -> str:
    """The network diagram of the recommended alternative and one sentence on where the
    goods go and where the stock sits (a network's results only)."""
    chart = next((p for p in charts if p.stem == NETWORK_STEM), None)
    if chart is None:
        return ""
    try:
        sentence = network_sentence(network_map(results))
    except PlotError:
        return ""
    caption = ("Supplier, locations and lanes of the recommended alternative: each lane with "
               "the units a year it carries, each location with the units a year it delivers "
               "to its customers, their fill rate and its average inventory value.")
    return ('<section class="whole"><h2>The network</h2><p class="summary">At the '
            f"recommended alternative (#{results.best}), {e(sentence)}</p>"
            f"{figure(chart, caption)}</section>")


SENSITIVITY_STEM = Path(SENSITIVITY_CHART).stem
"""The tornado chart: shown under "What drives the answer" with its sentence."""


def _signed(key: str, value: float) -> str:
    if not (isinstance(value, float) and math.isfinite(value)):
        return "n/a"
    if KPI_BY_KEY[key].unit == "fraction":
        return f"{100 * value:+,.1f} points"
    return fmt(key, value, signed=True)


def _how_to_read(results: Results, currency: str | None, today: bool) -> str:
    objective = KPI_BY_KEY[results.objective].label
    if results.kind == "sweep":
        test = ("one-sided paired t-tests of each alternative against the best on the common "
                f"replications, Holm-corrected at α = {results.alpha:g}")
    else:
        test = (f"the optimiser's paired comparisons with the best (Holm-corrected, "
                f"α = {results.alpha:g})")
    items = [
        f"Each alternative was simulated for up to {results.replications} replications. "
        "<strong>Common random numbers</strong>: replication <em>r</em> of every alternative "
        "uses the same random seed, so every alternative meets the same customers, order "
        "quantities and lead times. Differences between alternatives therefore come from the "
        "alternatives, not from luck.",
        "Every figure is the mean over the replications; the interval beside or below it is "
        "its <strong>95 % confidence interval</strong>: if the whole experiment were repeated "
        "with fresh random numbers, intervals built this way would contain the true long-run "
        "mean 95 times in 100. More replications give narrower intervals.",
        f"The <strong>best</strong> alternative (highlighted in yellow) has the highest mean "
        f"{e(objective)}. Alternatives highlighted in blue are <strong>not significantly "
        f"worse</strong> ({e(test)}): the data cannot tell them apart from the best, so "
        "choose among them on other grounds (risk, simplicity, the client's preference).",
        *(["<strong>Today</strong> (grey) is the scenario's own policy, simulated on the "
           "same replications; the change from today is paired over them."] if today else []),
        "Two overlapping intervals do not mean that two alternatives are equal: under common "
        "random numbers the paired test is much sharper than a comparison of intervals.",
        f"Fractions are shown in %, money in {e(currency or 'the scenario’s currency')} "
        "with thousands separators (M = million); money is summed over the measured window "
        "(after the warm-up), ROI is annualised.",
    ]
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def one_replication_note(replications: int) -> str:
    if replications >= 2:
        return ""
    return ('<p class="note">Each alternative was simulated once (one replication): there '
            "are no confidence intervals (shown as n/a) and no significance tests. Use it for "
            "a quick look; run at least 2, better 10 or more, replications before deciding."
            "</p>")


FIGURE_GROUPS = (
    ("Service", ("item_fill_rate", "line_fill_rate", "order_fill_rate", "cycle_service_level",
                 "ready_rate")),
    ("Delivery", ("perfect_order_rate", "perfect_order_index", "on_time_rate",
                  "order_cycle_time_mean_days", "order_cycle_time_p95_days")),
    ("Stock", ("avg_on_hand_units", "avg_backorder_units", "lost_sales_units",
               "salvage_value")),
    ("Customers lost", ("defections", "defections_stockout", "defections_late",
                        "defections_damaged", "defections_documentation",
                        "lost_customer_value")),
    ("Revenue and costs", ("revenue", "gross_margin", "holding_cost", "ordering_cost",
                           "transport_cost", "backorder_cost")),
    ("Profit and capital", ("operating_profit", "avg_inventory_value", "capital_employed",
                            "roi", "economic_profit")),
    ("Returns", ("return_rate", "units_returned", "units_restocked", "units_scrapped",
                 "refunds", "reverse_logistics_cost")),
)
"""The appendix tables: every figure, five or six to a table so that each fits a page."""


def figure_groups() -> list[tuple[str, tuple[str, ...]]]:
    """:data:`FIGURE_GROUPS` with any figure they miss in a last group."""
    known = {k for _, keys in FIGURE_GROUPS for k in keys}
    groups = [(t, tuple(k for k in keys if k in KPI_BY_KEY)) for t, keys in FIGURE_GROUPS]
    rest = tuple(k.key for k in KPIS if k.key not in known)
    return groups + ([("Other figures", rest)] if rest else [])


def _appendix_figures(view: _Page) -> str:
    r = view.results
    key = main_key(r)
    out = []
    items: list[tuple[str, dict[str, object], Alternative | Today, str]] = []
    if view.today is not None:
        items.append(("today", view.today.params, view.today, "today"))
    nw = set(r.not_worse)
    for a in ordered(r):
        items.append((f"#{a.id}", a.params, a,
                      "best" if a.id == r.best else "nw" if a.id in nw else ""))
    for title, keys in figure_groups():
        header = ["Alternative"] + ([param_label(key, view.metric)] if key else [])
        header += [_header(k, view.currency) for k in keys]
        rows, classes = [], []
        for name, params, source, klass in items:
            row = [e(name)] + ([e(param_text(key, params.get(key)))] if key else [])
            for k in keys:
                mean, ci = _mean_ci(source, k)
                row.append(f'{e(mean)}<span class="ci">{e(ci)}</span>')
            rows.append(row)
            classes.append(klass)
        out.append(html_table([e(h) for h in header], rows, row_classes=classes, raw=True,
                              group=f"{title}: mean and 95 % confidence interval"))
    return "".join(out)


def _assumptions(results: Results) -> tuple[str, str]:
    """The assumption tables and the appendix YAML of the scenario as run."""
    try:
        scenario = results.scenario()
    except PlotError as exc:
        return f"<p>The scenario cannot be read: {e(exc)}</p>", ""
    tables = "".join(plain_table(t) for t in assumption_tables(scenario))
    return tables, scenario_yaml(scenario)


def _html(results: Results, sentence: str, charts: Sequence[Path]) -> str:
    view = _Page(results)
    name = results.scenario_name or results.directory.name
    best = results.best_alternative
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    kind = "sweep" if results.kind == "sweep" else "optimisation"
    drivers = view.drivers()
    network = _network(results, charts)
    shown = [p for p in charts if not (drivers and p.stem == SENSITIVITY_STEM)
             and not (network and p.stem == NETWORK_STEM)]
    figures = "".join(figure(p, _caption(p.stem)) for p in shown)
    tables, yaml_text = _assumptions(results)
    body = f"""<h1>{e(name)}: service level versus ROI</h1>
<p class="meta">Report of the {e(kind)} in <code>{e(results.directory.name)}</code>;
{len(results.alternatives)} alternatives, up to {results.replications} replications each;
objective {e(KPI_BY_KEY[results.objective].label)}; written {e(stamp)}.</p>
<p class="summary" id="summary">{e(sentence)}</p>
<p>Recommended: <strong>#{best.id}</strong> ({e(params_text(best.params, view.metric))}).
Not significantly worse: {e(", ".join(f"#{i}" for i in results.not_worse))}.</p>
{one_replication_note(results.replications)}
{view.decision()}
{view.service_note()}
{drivers}
{network}
<h2>Figures by alternative</h2>
<p class="legend keep"><span style="background:var(--best)">best</span>
<span style="background:var(--nw)">not significantly worse</span>
{'<span style="background:var(--today)">today</span>' if view.today else ""}
Means over the replications; every figure with its confidence interval is in Appendix A.</p>
{view.key_table()}
{location_table(results, view.today, view.currency)}
<h2>Charts</h2>
{figures or "<p>No charts could be drawn.</p>"}
<h2>How to read this report</h2>
{_how_to_read(results, view.currency, view.today is not None)}
<h2>Assumptions</h2>
<p>The base scenario as run; each alternative sets the swept values on top of it.</p>
{tables}
<h2 class="appendix">Appendix A: every figure by alternative</h2>
{_appendix_figures(view)}
<h2 class="appendix">Appendix B: the scenario as run</h2>
<p>The scenario file as simulated (<code>scenario.yaml</code>), without unset fields.</p>
<pre>{e(page_yaml(yaml_text))}</pre>
<footer>servicesim report · {e(results.directory)}</footer>"""
    return page(f"{name}: service level versus ROI", body)


# ----------------------------------------------------------------------------- entry point


def write_report(results_dir: str | Path, out_dir: str | Path | None = None
                 ) -> dict[str, Path]:
    """Write ``report.html`` and ``report.xlsx`` of a sweep, optimisation, compare,
    frontier or risk folder into ``out_dir`` (default: the folder itself); returns
    ``{"html": path, "xlsx": path}``.

    Raises :class:`ReportError` for a folder that holds none of them.
    """
    from .frontier_results import is_frontier_folder
    from .workbook import results_workbook

    if is_frontier_folder(results_dir):
        from .frontier_report import write_frontier_report

        return write_frontier_report(results_dir, out_dir)
    from .risk_results import is_risk_folder

    if is_risk_folder(results_dir):
        from .risk_report import write_risk_report

        return write_risk_report(results_dir, out_dir)

    if is_compare_folder(results_dir):
        from .compare_report import write_compare_report

        try:
            return write_compare_report(results_dir, out_dir)
        except PlotError as exc:
            raise ReportError(str(exc)) from None
    try:
        results = load_results(results_dir)
        folder = Path(out_dir) if out_dir is not None else results.directory
        folder.mkdir(parents=True, exist_ok=True)
        sentence = summary_sentence(results)
        charts = _chart_files(results)
        document = _html(results, sentence, charts)
        workbook = results_workbook(results, sentence)
    except PlotError as exc:
        raise ReportError(str(exc)) from None
    html_path = atomic_write_text(folder / "report.html", document)
    xlsx_path = atomic_write_bytes(folder / "report.xlsx", workbook)
    return {"html": Path(html_path), "xlsx": Path(xlsx_path)}
