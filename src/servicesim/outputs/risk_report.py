"""The report of ``servicesim risk`` (DOMAIN §11): ``report.html`` and ``report.xlsx`` in the
risk folder — the answer in one sentence, the distribution of ROI, fill rate and defections
per alternative with their intervals, the paired differences against the scenario as is,
the time to recover, the two charts, the method, the disruptions and assumptions and the
scenario as run.  It reads files only."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..files import atomic_write_bytes, atomic_write_text
from ..kpis import KPI_BY_KEY
from .assumptions import Table, assumption_tables, distribution_text, number, scenario_yaml
from .charts import RISK_CHARTS, plot_risk
from .formatting import finite, fmt
from .html import e, figure, html_table, page, page_yaml, plain_table
from .report import ReportError
from .results import PlotError
from .risk_results import RISK_FILE, RiskResults, display_label, load_risk

__all__ = ["risk_workbook", "write_risk_report"]

CAPTIONS = {
    "13-risk-distribution": "ROI over the replications of each alternative, every one with "
                            "its own random disruptions (the same for every alternative): "
                            "box = middle half, whiskers = 5th to 95th percentile; the mean, "
                            "the 5th percentile and the mean of the worst 5 % marked.",
    "14-risk-recovery": "The trailing 7-day item fill rate around a disruption, aligned on "
                        "each event's start: the mean over events and the band holding 90 % "
                        "of them; the events' mean duration shaded.",
}
STATISTICS = (("mean", "Mean"), ("median", "Median"), ("p5", "5th percentile"),
              ("p95", "95th percentile"), ("worst_5", "Mean of the worst 5 %"))


# ----------------------------------------------------------------------------- cells


def _cell(key: str, cell: Mapping[str, Any] | None) -> str:
    """A figure with its interval beneath (escaped HTML)."""
    if not isinstance(cell, Mapping):
        return ""
    low, high = cell.get("ci_low"), cell.get("ci_high")
    interval = (f"{fmt(key, low)} to {fmt(key, high)}" if finite(low) and finite(high)
                else "CI n/a")
    return f"{e(fmt(key, cell.get('value')))}<span class=\"ci\">{e(interval)}</span>"


def _points(value: Any) -> str:
    return f"{100 * float(value):+.2f}" if finite(value) else "n/a"


def _difference_cell(cell: Mapping[str, Any]) -> str:
    low, high = cell.get("ci_low"), cell.get("ci_high")
    interval = f"{_points(low)} to {_points(high)}" if finite(low) and finite(high) \
        else "CI n/a"
    mark = " *" if finite(low) and finite(high) and (low > 0 or high < 0) else ""
    return f"{e(_points(cell.get('value')))}{mark}<span class=\"ci\">{e(interval)}</span>"


def _days(value: Any) -> str:
    return f"{float(value):.1f}" if finite(value) else "n/a"


# ----------------------------------------------------------------------------- sections


def _distribution_table(results: RiskResults) -> str:
    header = ["Alternative", "Figure", *(name for _, name in STATISTICS)]
    rows = []
    for alternative in results.alternatives:
        for key, cell in alternative["figures"].items():
            label = KPI_BY_KEY[key].label if key in KPI_BY_KEY else key
            rows.append([e(display_label(alternative)), e(label),
                         *(_cell(key, cell.get(stat)) for stat, _ in STATISTICS)])
    n = results.count("replications")
    return html_table(header, rows, raw=True, klass="figures", group=(
        f"Over {n} replications per alternative; 95 % intervals beneath each figure (means: "
        "Student-t; percentiles: order statistics; worst 5 %: bootstrap)"))


def _differences_table(results: RiskResults) -> str:
    if not results.differences:
        return ""
    header = ["Alternative", "Δ mean ROI (points)", "Δ 5th percentile (points)",
              "Δ mean of the worst 5 % (points)", "p (mean)"]
    by_label = {a["label"]: a for a in results.alternatives}
    rows = []
    for difference in results.differences:
        roi = difference["roi"]
        p = roi["mean"].get("p_value")
        rows.append([e(display_label(by_label.get(difference["label"], difference))),
                     *(_difference_cell(roi[k]) for k in ("mean", "p5", "worst_5")),
                     f"{p:.4f}" if finite(p) and p >= 0.0001 else
                     ("< 0.0001" if finite(p) else "n/a")])
    return ("<h2>Paired differences against the scenario as is</h2>"
            + html_table(header, rows, raw=True, klass="figures", group=(
                "ROI of the alternative minus the scenario as is, replication by "
                "replication (common random numbers); * the 95 % interval excludes 0")))


def _recovery_table(results: RiskResults) -> str:
    header = ["Alternative", "Events", "Per replication", "Mean duration (days)",
              "Time to recover: mean (days)", "Median (days)", "95th percentile (days)",
              "Not recovered by the horizon", "Events by kind"]
    rows = []
    for alternative in results.alternatives:
        recovery = alternative["recovery"]
        share = recovery.get("not_recovered_share")
        kinds = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in
                          sorted((alternative.get("events_by_kind") or {}).items()))
        rows.append([display_label(alternative), f"{recovery.get('events', 0):,}",
                     f"{alternative.get('events_per_replication', math.nan):.2f}",
                     _days(alternative.get("mean_duration_days")), _days(recovery.get("mean")),
                     _days(recovery.get("median")), _days(recovery.get("p95")),
                     f"{100 * share:.1f} %" if finite(share) else "n/a", kinds or "none"])
    return html_table(header, rows, klass="figures", group=(
        "Time to recover (DOMAIN §11): days from the end of an event until the trailing "
        "7-day item fill rate is back within 1 point of its level before the event, once "
        "its worst point (up to 30 days after the end) has passed; over the events that "
        "recovered by the horizon"))


def _charts(results: RiskResults) -> list[Path]:
    """The PNG charts in ``charts/`` when both are there and newer than risk.json, else
    drawn into it."""
    folder = results.directory / "charts"
    files = [folder / f"{stem}.png" for stem in RISK_CHARTS]
    written = (results.directory / RISK_FILE).stat().st_mtime
    if all(f.is_file() and f.stat().st_mtime >= written for f in files):
        return files
    return [p for p in plot_risk(results.directory, folder, ("png",)) if p.suffix == ".png"]


def disruption_table(scenario: Any) -> Table:
    """The scenario's disruptions in plain words: what, when, how long, how strong."""
    rows = []
    for name, d in scenario.disruptions.items():
        when = (f"once, on day {number(d.start_day)}" if d.start_day is not None
                else f"at random, {number(d.rate_per_year)} a year on average")
        scope = (f"lane {d.lane}" if d.lane else "SKUs " + ", ".join(d.skus) if d.skus
                 else "segments " + ", ".join(d.segments) if d.segments else "all")
        factor = "" if d.factor is None else number(d.factor)
        rows.append((name, d.kind.replace("_", " "), when,
                     distribution_text(d.duration_days, "days"), factor, scope))
    return Table("Disruptions", ("Disruption", "Kind", "When", "Duration", "Factor", "Applies to"),
                 tuple(rows), "A demand surge multiplies the order rate by its factor; a "
                 "capacity loss keeps that share of order processing capacity.")


def _assumptions(results: RiskResults) -> tuple[str, str, Any]:
    try:
        scenario = results.scenario()
    except PlotError as exc:
        return f"<p>The scenario cannot be read: {e(exc)}</p>", "", None
    tables = [disruption_table(scenario), *assumption_tables(scenario)]
    return "".join(plain_table(t) for t in tables), scenario_yaml(scenario), scenario


def _how_to_read(results: RiskResults) -> str:
    items = [
        "Every alternative ran the <strong>same replications</strong>: replication <em>r</em> "
        "meets the same disruptions, customers and lead times in each (common random "
        "numbers), so differences are paired and sharper than the alternatives' own spread.",
        "The <strong>5th percentile</strong> of ROI is the level 95 % of replications beat; "
        "the <strong>mean of the worst 5 %</strong> (expected shortfall) is the average of the "
        "replications below it: what a bad year looks like.",
        "<strong>Time to recover</strong> counts from the end of an event, not its start.",
        "Fractions in %, differences of fractions in percentage points; ROI is annualised; "
        "defections are customers lost for good over the measured window.",
    ]
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _meta(results: RiskResults) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    n = results.count("replications")
    return (f'<p class="meta">Report of the risk analysis in '
            f"<code>{e(results.directory.name)}</code>: {len(results.alternatives)} "
            f"alternative{'s' if len(results.alternatives) != 1 else ''}, {n} replications "
            f"each with random disruptions; root seed {e(results.document.get('seed'))}; "
            f"written {e(stamp)}.</p>")


def _html(results: RiskResults, charts: Sequence[Path]) -> str:
    name = results.scenario_name
    tables, yaml_text, _ = _assumptions(results)
    shown = "".join(figure(p, CAPTIONS.get(p.stem, "")) for p in charts)
    body = f"""<h1>{e(name)}: risk under random disruptions</h1>
{_meta(results)}
<div class="summary" id="summary"><p>{e(results.text("decision"))}</p></div>
<h2>Distribution of ROI, fill rate and defections</h2>
{_distribution_table(results)}
{_differences_table(results)}
<h2>Time to recover</h2>
{_recovery_table(results)}
<h2>Charts</h2>
{shown or "<p>No charts could be drawn.</p>"}
<h2>Method</h2>
<p>{e(results.text("method"))}</p>
<h2>How to read this report</h2>
{_how_to_read(results)}
<h2>Assumptions</h2>
{tables}
<h2 class="appendix">Appendix: the scenario as run</h2>
<p>The scenario file as simulated (<code>scenario.yaml</code>), without unset fields.</p>
<pre>{e(page_yaml(yaml_text) or "(the scenario cannot be read)")}</pre>
<footer>servicesim report · {e(results.directory)}</footer>"""
    return page(f"{name}: risk under random disruptions", body)


# ----------------------------------------------------------------------------- workbook


def _summary_sheet(results: RiskResults) -> Any:
    from .workbook import Sheet

    rows = [["Scenario", results.scenario_name], ["Results folder", str(results.directory)],
            ["Decision", results.text("decision")],
            ["Alternatives", ", ".join(display_label(a) for a in results.alternatives)],
            ["Replications per alternative", results.count("replications")],
            ["Root seed", results.document.get("seed")],
            ["Bootstrap seed", results.document.get("bootstrap_seed")],
            ["Method", results.text("method")]]
    return Sheet("Summary", ["Item", "Value"], rows, widths=[30, 110], table=False)


def _distribution_sheet(results: RiskResults) -> Any:
    from .workbook import Sheet, number_format

    header = ["Alternative", "Figure"]
    for _, name in STATISTICS:
        header += [name, f"{name}, 95 % CI low", f"{name}, 95 % CI high"]
    rows, cell_formats = [], {}
    for alternative in results.alternatives:
        for key, cell in alternative["figures"].items():
            row: list[Any] = [display_label(alternative), KPI_BY_KEY[key].label]
            for stat, _ in STATISTICS:
                part = cell.get(stat) or {}
                row += [part.get("value"), part.get("ci_low"), part.get("ci_high")]
            for column in range(2, len(header)):
                cell_formats[(len(rows), column)] = number_format(key) or "#,##0.0"
            rows.append(row)
    return Sheet("Distribution", header, rows, widths=[26, 22] + [14] * (len(header) - 2),
                 cell_formats=cell_formats, freeze="C2")


def _differences_sheet(results: RiskResults) -> Any:
    from .workbook import Sheet

    if not results.differences:
        return None
    header = ["Alternative", "Against"]
    for name in ("Δ mean ROI", "Δ 5th percentile of ROI", "Δ mean of the worst 5 % of ROI"):
        header += [name, f"{name}, 95 % CI low", f"{name}, 95 % CI high"]
    header.append("p-value (mean)")
    rows = []
    for d in results.differences:
        roi = d["roi"]
        row: list[Any] = [d["label"], d["against"]]
        for k in ("mean", "p5", "worst_5"):
            row += [roi[k].get("value"), roi[k].get("ci_low"), roi[k].get("ci_high")]
        rows.append(row + [roi["mean"].get("p_value")])
    return Sheet("Differences", header, rows, ["@", "@"] + ["0.00%"] * 9 + ["0.0000"],
                 widths=[26, 12] + [16] * 10)


def _recovery_sheet(results: RiskResults) -> Any:
    from .workbook import Sheet

    header = ["Alternative", "Events", "Events per replication", "Mean duration (days)",
              "Time to recover, mean (days)", "median (days)", "95th percentile (days)",
              "Not recovered by the horizon"]
    rows = [[display_label(a), a["recovery"].get("events"), a.get("events_per_replication"),
             a.get("mean_duration_days"), a["recovery"].get("mean"), a["recovery"].get("median"),
             a["recovery"].get("p95"), a["recovery"].get("not_recovered_share")]
            for a in results.alternatives]
    return Sheet("Recovery", header, rows,
                 [None, "#,##0", "0.00", "0.0", "0.0", "0.0", "0.0", "0.0%"],
                 widths=[26] + [16] * 7)


def _events_sheet(results: RiskResults) -> Any:
    from .workbook import Sheet

    if not results.events:
        return None
    columns = list(results.events[0])
    return Sheet("Events", columns, [[r.get(c) for c in columns] for r in results.events],
                 widths=[max(11, min(len(c) + 2, 20)) for c in columns], freeze="D2")


def _runs_sheet(results: RiskResults) -> Any:
    from .workbook import runs_sheet

    first = [("alternative", "Alternative"), ("label", "Label"), ("events", "Events"),
             ("recovered_events", "Events recovered"),
             ("recovery_days_mean", "Time to recover, mean (days)")]
    return runs_sheet(results.runs, first, results.currency,
                      lambda r: (int(r.get("alternative") or 0), int(r["replication"])))


def risk_workbook(results: RiskResults) -> bytes:
    """``report.xlsx`` of a risk folder: Summary, Distribution, Differences (with
    alternatives), Recovery, Events, Runs, Assumptions and Scenario."""
    from .workbook import assumptions_sheet, write_workbook, yaml_sheet

    sheets = [_summary_sheet(results), _distribution_sheet(results),
              _differences_sheet(results), _recovery_sheet(results), _events_sheet(results),
              _runs_sheet(results)]
    _, yaml_text, scenario = _assumptions(results)
    if scenario is not None:
        sheets += [assumptions_sheet([disruption_table(scenario),
                                      *assumption_tables(scenario)]), yaml_sheet(yaml_text)]
    return write_workbook([s for s in sheets if s is not None])


# ----------------------------------------------------------------------------- entry point


def write_risk_report(directory: str | Path, out_dir: str | Path | None = None
                      ) -> dict[str, Path]:
    """Write ``report.html`` and ``report.xlsx`` of a risk folder (DOMAIN §11) into
    ``out_dir`` (default: the folder); returns ``{"html": path, "xlsx": path}``.  Raises
    :class:`~servicesim.outputs.report.ReportError` naming the file when the folder is
    incomplete or broken."""
    try:
        results = load_risk(directory)
        folder = Path(out_dir) if out_dir is not None else results.directory
        folder.mkdir(parents=True, exist_ok=True)
        document = _html(results, _charts(results))
        workbook = risk_workbook(results)
    except PlotError as exc:
        raise ReportError(str(exc)) from None
    html_path = atomic_write_text(folder / "report.html", document)
    xlsx_path = atomic_write_bytes(folder / "report.xlsx", workbook)
    return {"html": Path(html_path), "xlsx": Path(xlsx_path)}
