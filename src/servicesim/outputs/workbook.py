"""The Excel workbook of a sweep, an optimisation or a comparison (``report.xlsx``).

Every sheet has readable headers (the figure's name and unit, the currency of
``finance.currency`` on money), percent and money number formats, a frozen header row and
an autofilter; alternatives are sorted by target with the best row highlighted.  The seed of
a replication is written ``S/r``: replication *r* of root seed *S* runs on child *r* of
``numpy.random.SeedSequence(S)``, that is ``SeedSequence(S, spawn_key=(r,))`` (DOMAIN §6).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..kpis import KPI_BY_KEY, KPIS, LOCATION_FIGURES, LOCATION_KPI_BY_KEY, figure_kpi
from .assumptions import Table, assumption_tables, scenario_yaml
from .findings import achieved_key, ordered, service_metric
from .formatting import param_label, unit_text
from .results import PlotError, Results, figure_keys

__all__ = ["SEED_NOTE", "Sheet", "add_sheet", "number_format", "results_workbook", "seed_text",
           "write_workbook"]

SEED_NOTE = ("S/r: replication r of root seed S, run on child r of "
             "numpy.random.SeedSequence(S) = SeedSequence(S, spawn_key=(r,)); the same r "
             "gives every alternative the same random numbers (common random numbers).")

BEST_FILL, NOT_WORSE_FILL, TODAY_FILL = "FFE9A8", "E3F1FA", "ECECEC"


def seed_text(root: Any, replication: Any) -> str | None:
    """The seed of one replication as ``"S/r"`` (see :data:`SEED_NOTE`)."""
    if root is None or replication is None:
        return None
    return f"{int(root)}/{int(replication)}"


def number_format(key: str, currency: str | None = None) -> str | None:
    """The Excel number format of a figure (a summary figure or a location's
    ``<location>.<figure>``): percent, money (whole), days, units."""
    kpi = figure_kpi(key)
    kind = kpi.unit if kpi is not None else ""
    if kind == "fraction":
        return "0.0%"
    if kind == "money":
        return "#,##0"
    if kind == "money/unit":
        return "#,##0.00"
    if kind == "days":
        return "0.00"
    if kind in ("units", "customers"):
        return "#,##0.0"
    return None


def header_text(key: str, currency: str | None, suffix: str = "") -> str:
    label = KPI_BY_KEY[key].label + suffix
    unit = unit_text(key, currency)
    return f"{label}, {unit}" if label.endswith(")") else f"{label} ({unit})"


@dataclass
class Sheet:
    """One sheet: header, rows, per-column number formats, per-row fills, header notes."""

    title: str
    header: list[str]
    rows: list[list[Any]]
    formats: list[str | None] = field(default_factory=list)
    fills: dict[int, str] = field(default_factory=dict)
    """0-based row index → fill colour (hex)."""
    notes: dict[int, str] = field(default_factory=dict)
    """0-based column → a note on its header cell."""
    widths: list[float] = field(default_factory=list)
    cell_formats: dict[tuple[int, int], str] = field(default_factory=dict)
    """(0-based row, 0-based column) → number format, for sheets whose rows differ in unit."""
    freeze: str = "B2"
    table: bool = True
    """A data table (autofilter, frozen header); False for text sheets."""


def _excel_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _add(workbook: Any, spec: Sheet) -> Any:
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(spec.title)
    sheet.append(list(spec.header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.fill = PatternFill("solid", fgColor="F0F2F5")
    for column, note in spec.notes.items():
        sheet.cell(1, column + 1).comment = Comment(note, "servicesim", width=320, height=120)
    for row in spec.rows:
        sheet.append([_excel_value(v) for v in row])
    for cells in sheet.iter_rows():
        for cell in cells:
            if cell.data_type == "f":  # text that reads as a formula stays text
                cell.data_type = "s"
    for (row, column), fmt in spec.cell_formats.items():
        sheet.cell(row + 2, column + 1).number_format = fmt
    for index, colour in spec.fills.items():
        for cell in sheet[index + 2]:
            cell.fill = PatternFill("solid", fgColor=colour)
    for column, name in enumerate(spec.header, start=1):
        letter = get_column_letter(column)
        fmt = spec.formats[column - 1] if column - 1 < len(spec.formats) else None
        if fmt:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
                cell.number_format = fmt
        width = spec.widths[column - 1] if column - 1 < len(spec.widths) else None
        if width is None:
            longest = max([min(len(str(name)), 24)]
                          + [len(str(r[column - 1])) for r in spec.rows[:200]
                             if column - 1 < len(r) and not isinstance(r[column - 1], float)],
                          default=8)
            width = min(max(11, longest + 2), 60)
        sheet.column_dimensions[letter].width = width
    if not spec.table:  # text sheets: wrap long text in its column, rows tall enough
        for index, cells in enumerate(sheet.iter_rows(min_row=2), start=2):
            lines = 1
            for cell in cells:
                cell.alignment = Alignment(wrap_text=True, vertical="top", horizontal="left")
                width = sheet.column_dimensions[cell.column_letter].width or 10
                if isinstance(cell.value, str):
                    lines = max(lines, math.ceil(len(cell.value) / max(width - 2, 1)))
            if lines > 1:  # spreadsheet programs do not all grow a row for wrapped text
                sheet.row_dimensions[index].height = 15 * lines
    _print_setup(sheet, wide=len(spec.header) > 8)
    if spec.table:
        sheet.freeze_panes = spec.freeze
        if spec.rows:
            sheet.auto_filter.ref = sheet.dimensions
        sheet.row_dimensions[1].height = 48
    return sheet


def _print_setup(sheet: Any, wide: bool) -> None:
    """Printed: landscape for wide sheets, narrow sheets fitted to the page width, the
    header row repeated on every page."""
    sheet.page_setup.orientation = "landscape" if wide else "portrait"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    if not wide:
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.print_title_rows = "1:1"


def add_sheet(workbook: Any, title: str, header: Sequence[str], rows: Sequence[Sequence[Any]],
              formats: Sequence[str | None] = (), widths: Sequence[float] = ()) -> Any:
    """One data sheet in an openpyxl ``workbook`` (bold frozen header, autofilter, number
    formats per column; text that reads as a formula stays text); the sheet."""
    return _add(workbook, Sheet(title, list(header), [list(r) for r in rows], list(formats),
                                widths=list(widths)))


def write_workbook(sheets: Sequence[Sheet]) -> bytes:
    """The sheets as an .xlsx file's bytes."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for spec in sheets:
        _add(workbook, spec)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ----------------------------------------------------------------------- shared sheets


def assumptions_sheet(tables: Sequence[Table]) -> Sheet:
    """The assumption tables one under another (title, header, rows, a blank row)."""
    rows: list[list[Any]] = []
    for table in tables:
        rows += [[table.title.upper()], list(table.header), *map(list, table.rows), []]
    width = max((len(t.header) for t in tables), default=2)
    return Sheet("Assumptions", ["Assumptions in plain words"] + [""] * (width - 1), rows,
                 widths=[26] + [30] * (width - 1), table=False)


def yaml_sheet(text: str) -> Sheet:
    return Sheet("Scenario", ["scenario as run (YAML, unset fields left out)"],
                 [[line] for line in text.splitlines()], widths=[110], table=False)


def runs_sheet(runs: Sequence[Mapping[str, Any]], first: Sequence[tuple[str, str]],
               currency: str | None, order: Any, extra: Sequence[str] = ()) -> Sheet:
    """One row per run: ``first`` columns (key, header), replication, seed ``S/r``, every
    figure, then the ``extra`` figure columns (a network's ``<location>.<figure>``);
    sorted by ``order``."""
    header = [h for _, h in first] + ["Replication", "Seed (root/replication)"]
    formats: list[str | None] = [None] * len(header)
    header += [header_text(k.key, currency) for k in KPIS]
    formats += [number_format(k.key) for k in KPIS]
    for column in extra:
        location, _, key = column.rpartition(".")
        label, unit = LOCATION_KPI_BY_KEY[key].label, unit_text(column, currency)
        header.append(f"{location}: {label}" + ("" if unit == "%" else f" ({unit})"))
        formats.append(number_format(column))
    rows = []
    for run in sorted(runs, key=order):
        rows.append([run.get(k) for k, _ in first]
                    + [run.get("replication"), seed_text(run.get("seed"), run.get("replication"))]
                    + [run.get(k.key) for k in KPIS] + [run.get(k) for k in extra])
    return Sheet("Runs", header, rows, formats, notes={len(first) + 1: SEED_NOTE},
                 freeze=f"{chr(ord('A') + len(first) + 2)}2")


# ----------------------------------------------------------------- sweep / optimisation


def _summary_sheet(results: Results, sentence: str, currency: str | None) -> Sheet:
    best = results.best_alternative
    objective = results.objective
    metric = service_metric(results)
    service = achieved_key(metric)
    o_mean, o_low, o_high = best.interval(objective)
    rows: list[list[Any]] = [
        ["Scenario", results.scenario_name], ["Results folder", str(results.directory)],
        ["Kind", results.kind], ["Summary", sentence],
        ["Objective", KPI_BY_KEY[objective].label],
        ["Recommended alternative", best.id],
        *([f"Recommended {param_label(k, metric).lower()}", v] for k, v in best.params.items()),
        [f"{KPI_BY_KEY[objective].label}, mean", o_mean],
        [f"{KPI_BY_KEY[objective].label}, 95 % CI low", o_low],
        [f"{KPI_BY_KEY[objective].label}, 95 % CI high", o_high],
        [header_text(service, currency, ", achieved"), best.mean(service)],
        [header_text("operating_profit", currency), best.mean("operating_profit")],
        [header_text("avg_inventory_value", currency), best.mean("avg_inventory_value")],
        ["Not significantly worse", ", ".join(str(i) for i in results.not_worse)],
        ["Alternatives", len(results.alternatives)],
        ["Replications (up to)", results.replications],
        ["Root seed", results.seed], ["Currency", currency or "not stated"],
    ]
    sheet = Sheet("Summary", ["Item", "Value"], rows, widths=[40, 100], table=False)
    formats = {f"{KPI_BY_KEY[objective].label}, mean": number_format(objective),
               f"{KPI_BY_KEY[objective].label}, 95 % CI low": number_format(objective),
               f"{KPI_BY_KEY[objective].label}, 95 % CI high": number_format(objective),
               header_text(service, currency, ", achieved"): "0.0%",
               header_text("operating_profit", currency): "#,##0",
               header_text("avg_inventory_value", currency): "#,##0"}
    for i, row in enumerate(rows):
        fmt = formats.get(str(row[0]))
        if fmt:
            sheet.cell_formats[(i, 1)] = fmt
        elif str(row[0]).startswith("Recommended ") and "target" in str(row[0]):
            sheet.cell_formats[(i, 1)] = "0.0%"
    return sheet


def _today_sheet(results: Results, currency: str | None) -> Sheet | None:
    today = results.today
    if today is None:
        return None
    best = results.best_alternative
    keys = [k.key for k in KPIS if k.key in today.figures]
    rows = []
    for key in keys:
        diff = today.difference.get(key, {})
        rows.append([KPI_BY_KEY[key].label, unit_text(key, currency), today.interval(key)[0],
                     best.mean(key), *today.change(key), diff.get("p_value")])
    sheet = Sheet("Today vs best", ["Figure", "Unit", "Today", f"Recommended (#{best.id})",
                                    "Change (best − today)", "Change, 95 % CI low",
                                    "Change, 95 % CI high", "p-value"], rows,
                  widths=[34, 10, 16, 18, 18, 18, 18, 10], freeze="C2")
    for i, key in enumerate(keys):
        for column in range(2, 7):
            fmt = number_format(key)
            if fmt:
                sheet.cell_formats[(i, column)] = fmt
        sheet.cell_formats[(i, 7)] = "0.0000"
    sheet.notes = {2: "Today: the scenario's own policy "
                      + json.dumps(today.params, ensure_ascii=False)}
    return sheet


def _alternatives_sheet(results: Results, currency: str | None) -> Sheet:
    metric = service_metric(results)
    keys = list(results.keys)
    header = ["Alternative", *(param_label(k, metric) for k in keys), "Result"]
    formats: list[str | None] = [None] * len(header)
    for kpi in KPIS:
        header += [header_text(kpi.key, currency),
                   header_text(kpi.key, currency, ", 95 % CI low"),
                   header_text(kpi.key, currency, ", 95 % CI high")]
        formats += [number_format(kpi.key)] * 3
    rows, fills = [], {}
    nw = set(results.not_worse)
    for i, a in enumerate(ordered(results)):
        mark = "best" if a.id == results.best else "not worse" if a.id in nw else ""
        row: list[Any] = [a.id, *(a.params.get(k) for k in keys), mark]
        for kpi in KPIS:
            row += list(a.interval(kpi.key))
        rows.append(row)
        if mark:
            fills[i] = BEST_FILL if mark == "best" else NOT_WORSE_FILL
    for column, key in enumerate(keys, start=1):
        if "service_target" in key or key.rsplit(".", 1)[-1].endswith(("rate", "fraction")):
            formats[column] = "0.0%"
    return Sheet("Alternatives", header, rows, formats, fills,
                 freeze=f"{chr(ord('A') + len(keys) + 2)}2",
                 widths=[12] + [16] * len(keys) + [11] + [16] * (3 * len(KPIS)))


def _location_sheet(results: Results, currency: str | None) -> Sheet | None:
    """A network's "By location" sheet (DOMAIN §7): one row per alternative (today first
    when recorded) and location, every figure of the location (means over replications)
    and its customers' fill rate with the 95 % CI; None for a single location."""
    locations = results.locations
    if not locations:
        return None
    metric = service_metric(results)
    keys = list(results.keys)
    header = ["Alternative", *(param_label(k, metric) for k in keys), "Result", "Location"]
    formats: list[str | None] = [None] * len(header)
    for key in LOCATION_FIGURES:
        label, unit = LOCATION_KPI_BY_KEY[key].label, unit_text(f"_.{key}", currency)
        header.append(label if unit == "%" else f"{label} ({unit})")
        formats.append(number_format(f"_.{key}"))
        if key == "fill_rate":
            header += [f"{label}, 95 % CI low", f"{label}, 95 % CI high"]
            formats += ["0.0%", "0.0%"]
    sources: list[tuple[Any, dict[str, Any], Any, str]] = []
    today = results.today
    if today is not None:
        sources.append(("today", today.params, today, "today"))
    nw = set(results.not_worse)
    for a in ordered(results):
        sources.append((a.id, a.params, a,
                        "best" if a.id == results.best else "not worse" if a.id in nw else ""))
    rows, fills = [], {}
    for ident, params, source, mark in sources:
        for location in locations:
            row: list[Any] = [ident, *(params.get(k) for k in keys), mark, location]
            for key in LOCATION_FIGURES:
                column = f"{location}.{key}"
                known = column in source.figures
                mean, low, high = source.interval(column) if known else (None,) * 3
                row += [mean, low, high] if key == "fill_rate" else [mean]
            if mark:
                fills[len(rows)] = {"best": BEST_FILL, "not worse": NOT_WORSE_FILL,
                                    "today": TODAY_FILL}[mark]
            rows.append(row)
    for column, key in enumerate(keys, start=1):
        if "service_target" in key:
            formats[column] = "0.0%"
    return Sheet("By location", header, rows, formats, fills,
                 freeze=f"{chr(ord('A') + len(keys) + 3)}2",
                 widths=[12] + [16] * len(keys) + [11, 14] + [16] * (len(header) - len(keys)
                                                                     - 3))


def results_workbook(results: Results, sentence: str) -> bytes:
    """``report.xlsx`` of a sweep or optimisation: Summary, Today vs best (with
    ``today.json``), Alternatives, By location (a network), Runs, Assumptions and
    Scenario."""
    currency = results.currency
    metric = service_metric(results)
    order_of = {a.id: i for i, a in enumerate(ordered(results))}
    first = [("alternative", "Alternative")] + [(k, param_label(k, metric))
                                                 for k in results.keys]
    extra = [k for k in figure_keys(results.runs)[len(KPIS):] if figure_kpi(k) is not None]
    runs = runs_sheet(results.runs, first, currency,
                      lambda r: (order_of.get(int(r["alternative"]), 0), int(r["replication"])),
                      extra)
    for column, key in enumerate(results.keys, start=1):
        if "service_target" in key:
            runs.formats[column] = "0.0%"
    sheets = [_summary_sheet(results, sentence, currency), _today_sheet(results, currency),
              _alternatives_sheet(results, currency), _location_sheet(results, currency),
              runs]
    try:
        scenario = results.scenario()
        sheets += [assumptions_sheet(assumption_tables(scenario)),
                   yaml_sheet(scenario_yaml(scenario))]
    except PlotError:
        pass  # a folder without its scenario.yaml: the figures alone
    return write_workbook([s for s in sheets if s is not None])
