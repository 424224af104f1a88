"""Item masters and demand history: from a planner's spreadsheets to a scenario's SKUs.

A scenario may have an ``items:`` section instead of (or besides) typing SKUs::

    items:
      master: data/items.csv        # CSV or .xlsx (optional sheet:)
      history: data/history.csv     # optional: dated order lines
      abc_thresholds: [0.8, 0.95]   # cumulative revenue share closing A and B
      xyz_thresholds: [0.5, 1.0]    # CV of weekly demand closing X and Y

:func:`expand_items` (called by :func:`servicesim.inputs.scenario_file.load_scenario` before
validation)
reads the files, reports every bad row at once, fits each SKU's order-line rate and its
units-per-line distribution, classifies SKUs ABC (revenue) and XYZ (variability of weekly
demand), and writes the result into the document's ``skus`` and ``segments``.  The fit is
kept in an :class:`ItemsFit` (``servicesim items`` prints it and writes ``items_fit.csv``).

Units per line.  The model draws ``max(1, round(X))`` (:func:`~servicesim.scenario.distributions.
integer_moments`), so parameters are fitted by moment matching on that draw: the simulated
quantities have the data's mean and variance, not X.  The distribution is chosen by
dispersion (rules in :func:`fit_quantities`).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import gc
import hashlib
import io
import itertools
import math
import os
import re
import stat
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize, special

from ..errors import NOT_SET, Problem, ScenarioError
from ..policies.registry import FAMILIES
from ..scenario.distributions import MAX_COUNT, integer_moments

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")  # scenario.Name's rule

__all__ = [
    "HISTORY_COLUMNS",
    "MASTER_COLUMNS",
    "ItemsFit",
    "QuantityFit",
    "abc_classes",
    "expand_items",
    "fit_quantities",
    "load_with_fit",
    "read_history",
    "read_master",
    "xyz_classes",
]

MASTER_COLUMNS: dict[str, str] = {
    "sku": "the SKU's name (required, unique; letters, digits, '_', '.', '-')",
    "unit_cost": "a cost per unit >= 0 (required)",
    "price": "a price per unit >= 0 (required)",
    "holding_rate_per_year": "a holding cost per year as a share of unit cost, 0 to 10",
    "lead_time_mean_days": "the SKU's mean supplier lead time in days, >= 0",
    "lead_time_std_days": "its standard deviation in days, >= 0 (0 or blank: constant)",
    "policy_type": f"{', '.join(list(FAMILIES)[:-1])} or {list(FAMILIES)[-1]}",
    "service_target": "the SKU's own service target, strictly between 0 and 1",
    "reorder_point": "a whole number (s)",
    "order_quantity": "a whole number >= 1 (Q)",
    "order_up_to": "a whole number >= 0 (S)",
    "review_period_days": "a review period in days, > 0 (R, for RS and RsS)",
    "lines_per_day": "order lines per day, >= 0 (used when the history has none for the SKU)",
    "units_per_line_mean": f"the mean units per line, 1 to {MAX_COUNT:,} (with lines_per_day)",
    "units_per_line_std": f"their standard deviation, 0 to {MAX_COUNT:,} (blank: Poisson)",
    "abc_class": "A, B or C (overrides the computed class)",
    "xyz_class": "X, Y or Z (overrides the computed class)",
}
"""Item master columns (a header row; case and surrounding blanks do not matter)."""

HISTORY_COLUMNS: dict[str, str] = {
    "date": "the order line's date, yyyy-mm-dd (a time after it is ignored)",
    "sku": "a SKU of the item master",
    "quantity": f"units ordered, a whole number from 1 to {MAX_COUNT:,}",
    "segment": "optional: a segment of the scenario (blank: split by demand_share)",
    "customer": "optional: the customer (kept for reference, not used by the fit)",
}
"""Demand history columns: one row per order line."""

REQUIRED_MASTER = ("sku", "unit_cost", "price")
REQUIRED_HISTORY = ("date", "sku", "quantity")
SECTION_KEYS = ("master", "sheet", "history", "abc_thresholds", "xyz_thresholds")
SIGNIFICANCE = 0.05
"""Level of the dispersion test that picks negative binomial or normal over Poisson."""
LARGE_MEAN = 20.0
"""From this mean units per line (with CV <= 0.5) a normal describes the quantity well."""
MAX_TABLE_BYTES = 200 * 1024 * 1024
"""Largest item master or history file read."""
MAX_CELLS = 10_000_000
"""Most cells (rows × columns) of a table read.  Parsed, a cell costs about 100 bytes of
memory (a string in a row list, then in a column), against 2 to 20 bytes in the file:
the cells, not the bytes, bound the memory (10 million cells, about 1 GB: a history of
two million order lines of five columns)."""
MAX_COLUMNS = 1_000
"""Most columns of a table read (its header row); the item master uses about a dozen."""
MAX_XLSX_UNPACKED_BYTES = 500 * 1024 * 1024
"""Largest total of the uncompressed parts of an Excel workbook: the sheet XML is where the
cells are (a 270 KB workbook can unpack to gigabytes)."""

# ------------------------------------------------------------------------- reading tables


@dataclass
class Table:
    """A file's header (lower-cased names) and rows (cell values, row 1 = header)."""

    file: str
    header: list[str]
    rows: list[tuple[int, list[Any]]]  # (row number as a spreadsheet shows it, cells)
    sha256: str
    decimal_comma: bool = False
    """Numbers are written 1,5 (a CSV separated by semicolons, as European Excel saves)."""


def _fail(file: str, message: str) -> ScenarioError:
    return ScenarioError([Problem(file, "", NOT_SET, message)])


def read_table(path: str | os.PathLike[str], sheet: str | None = None,
               shown: str | None = None) -> Table:
    """A CSV (UTF-8, with or without BOM) or Excel (.xlsx) table; ``shown`` names it in
    messages.  Blank rows are skipped (their numbers are kept)."""
    file = shown or os.fspath(path)
    try:
        raw = _read_regular_file(path, file)
    except FileNotFoundError:
        raise _fail(file, "file not found") from None
    except IsADirectoryError:
        raise _fail(file, "is a directory, not a table") from None
    except OSError as exc:
        raise _fail(file, f"cannot read the file: {exc.strerror or exc}") from None
    digest = hashlib.sha256(raw).hexdigest()
    if os.fspath(path).lower().endswith((".xlsx", ".xlsm")):
        header, rows = _read_excel(raw, file, sheet)
    else:
        if sheet is not None:
            raise _fail(file, "sheet: applies to Excel files (.xlsx) only")
        if os.fspath(path).lower().endswith(".xls"):
            raise _fail(file, "an old Excel workbook (.xls) is not read; save it as .xlsx "
                              "or as CSV UTF-8")
        header, rows, delimiter = _read_csv(raw, file)
        return Table(file, header, rows, digest, decimal_comma=delimiter == ";")
    return Table(file, header, rows, digest)


def _read_regular_file(path: str | os.PathLike[str], file: str) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_TABLE_BYTES`.  A device
    (``/dev/zero``), a FIFO or a socket is refused before it is opened for reading: it could
    stream for ever or block; the read stops one byte past the limit (a file growing
    meanwhile)."""
    status = os.stat(path)
    if stat.S_ISDIR(status.st_mode):
        raise IsADirectoryError(path)
    if not stat.S_ISREG(status.st_mode):
        kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(status.st_mode) else
                "a device" if stat.S_ISCHR(status.st_mode) or stat.S_ISBLK(status.st_mode)
                else "a socket" if stat.S_ISSOCK(status.st_mode) else "not a file")
        raise _fail(file, f"is {kind}, not a regular file; an item master or history must "
                          "be a CSV or .xlsx file on disk")
    too_large = f"file is too large (the limit is {MAX_TABLE_BYTES // 2**20} MB)"
    if status.st_size > MAX_TABLE_BYTES:
        raise _fail(file, f"file is too large ({status.st_size / 2**20:.0f} MB; the limit "
                          f"is {MAX_TABLE_BYTES // 2**20} MB)")
    with open(path, "rb") as stream:
        raw = stream.read(MAX_TABLE_BYTES + 1)
    if len(raw) > MAX_TABLE_BYTES:
        raise _fail(file, too_large)
    return raw


def _too_many_cells(file: str, cells: int, rows: int) -> ScenarioError:
    return _fail(file, f"too many cells to read: at least {cells:,} in {rows:,} rows; the "
                       f"limit is {MAX_CELLS:,} cells (rows × columns); split the file or "
                       "drop columns servicesim does not read")


def _too_many_columns(file: str, columns: int) -> ScenarioError:
    return _fail(file, f"too many columns: {columns:,} in the header row; the limit is "
                       f"{MAX_COLUMNS:,}")


def _read_csv(raw: bytes, file: str) -> tuple[list[str], list[tuple[int, list[Any]]], str]:
    """Header, rows and the delimiter: a comma, or the semicolon (or tab) of a header that
    has no comma (what Excel writes where the decimal separator is a comma)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError([Problem(
            file, "", NOT_SET, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be "
            "decoded); save the file as CSV UTF-8", line)]) from None
    first = text.split("\n", 1)[0]
    delimiter = ","
    if "," not in first:
        delimiter = ";" if ";" in first else "\t" if "\t" in first else ","
    if first.count(delimiter) + 1 > MAX_COLUMNS:
        raise _too_many_columns(file, first.count(delimiter) + 1)
    lines = text.count("\n") + 1
    cells = lines + text.count(delimiter)  # quoted delimiters aside: counted before parsing
    if cells > MAX_CELLS:
        raise _too_many_cells(file, cells, lines)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise _fail(file, f"not a readable CSV file: {exc}") from None
    if not records or not any(c.strip() for c in records[0]):
        raise _fail(file, "empty file: expected a header row with the column names")
    header = [c.strip().lower() for c in records[0]]
    rows = [(i + 1, r) for i, r in enumerate(records)
            if i and r and (r[0].strip() or any(c.strip() for c in r))]
    return header, rows, delimiter


def _read_excel(raw: bytes, file: str, sheet: str | None
                ) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    import openpyxl  # a dependency already (report.xlsx); imported only when needed

    _check_unpacked_size(raw, file)
    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds
        raise _fail(file, f"not a readable Excel workbook (.xlsx): {exc}") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise _fail(file, f"no sheet {sheet!r}; sheets: {', '.join(book.sheetnames)}")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        records, cells = [], 0
        for values in ws.iter_rows(values_only=True):
            if not records and len(values) > MAX_COLUMNS:
                raise _too_many_columns(file, len(values))
            cells += len(values)
            if cells > MAX_CELLS:
                raise _too_many_cells(file, cells, len(records) + 1)
            records.append(list(values))
    finally:
        book.close()
    if not records or not any(_blank(c) is False for c in records[0]):
        raise _fail(file, "empty sheet: expected a header row with the column names")
    header = ["" if c is None else str(c).strip().lower() for c in records[0]]
    rows = [(i + 1, r) for i, r in enumerate(records)
            if i and any(_blank(c) is False for c in r)]
    return header, rows


def _check_unpacked_size(raw: bytes, file: str) -> None:
    """Refuse a workbook whose parts unpack to more than :data:`MAX_XLSX_UNPACKED_BYTES`, as
    its zip directory declares them, before openpyxl unpacks anything (a zip bomb).  Not a
    zip file at all is left to openpyxl's message."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise _fail(file, f"the workbook unpacks to {unpacked / 2**20:,.0f} MB, over the "
                          f"{MAX_XLSX_UNPACKED_BYTES // 2**20} MB read (a {len(raw) / 2**10:,.0f}"
                          " KB file); save the sheet alone, or as CSV UTF-8")


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


# ------------------------------------------------------------------------ cell parsing


class _Cells:
    """Reads named cells of one table, collecting a Problem for every bad one."""

    def __init__(self, table: Table, known: Sequence[str], required: Sequence[str]) -> None:
        self.table = table
        self.problems: list[Problem] = []
        self.index: dict[str, int] = {}
        for i, name in enumerate(table.header):
            if name in known:
                if name in self.index:
                    self.problems.append(Problem(
                        table.file, f"row 1, column {name}", NOT_SET,
                        f"duplicate column (columns {_letter(self.index[name])} and "
                        f"{_letter(i)}); keep one"))
                else:
                    self.index[name] = i
        self.ignored = [h for h in table.header if h and h not in known]
        missing = [c for c in required if c not in self.index]
        if missing:
            self.problems.append(Problem(
                table.file, "row 1 (header)", NOT_SET,
                f"missing required column(s) {', '.join(missing)}; the header has "
                f"{', '.join(h for h in table.header if h) or '(nothing)'}"))

    def raw(self, cells: Sequence[Any], name: str) -> Any:
        i = self.index.get(name)
        if i is None or i >= len(cells) or _blank(cells[i]):
            return None
        value = cells[i]
        return value.strip() if isinstance(value, str) else value

    def bad(self, row: int, name: str, value: Any, allowed: str) -> None:
        self.problems.append(Problem(self.table.file, f"row {row}, column {name}", value,
                                     allowed))

    def number(self, cells: Sequence[Any], row: int, name: str, low: float = 0.0,
               high: float = math.inf, low_open: bool = False, high_open: bool = False,
               allowed: str = "") -> float | None:
        value = self.raw(cells, name)
        if value is None:
            return None
        if self.table.decimal_comma and isinstance(value, str):
            value = value.replace(",", ".")
        number = _to_float(value)
        if number is None or not low <= number <= high or (low_open and number == low) \
                or (high_open and number == high):
            self.bad(row, name, value if number is None else number,
                     allowed or f"expected {MASTER_COLUMNS.get(name, 'a number')}")
            return None
        return number

    def integer(self, cells: Sequence[Any], row: int, name: str, low: int) -> int | None:
        value = self.raw(cells, name)
        if value is None:
            return None
        number = _to_float(value)
        if number is None or not number.is_integer() or number < low or number > 1e8:
            self.bad(row, name, value if number is None else number,
                     f"expected {MASTER_COLUMNS[name]}")
            return None
        return int(number)


def _name(cell: Any) -> str:
    """A name from a cell: an Excel number 10023.0 is the name "10023"."""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def _letter(index: int) -> str:
    text = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        text = chr(65 + rest) + text
    return text


def _to_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value)
        if "_" in text:  # float() would read 1_000; a spreadsheet would not
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    return number if math.isfinite(number) else None


# ------------------------------------------------------------------------- item master


@dataclass
class MasterRow:
    """One SKU of the item master (None: the cell was blank)."""

    sku: str
    row: int
    fields: dict[str, Any]


def read_master(table: Table) -> tuple[dict[str, MasterRow], list[str], list[Problem]]:
    """The item master's SKUs in file order, ignored columns, and every problem found."""
    cells = _Cells(table, list(MASTER_COLUMNS), REQUIRED_MASTER)
    result: dict[str, MasterRow] = {}
    if not table.rows:
        cells.problems.append(Problem(table.file, "", NOT_SET,
                                      "no data rows under the header: the item master "
                                      "needs one row per SKU"))
    if any(c in REQUIRED_MASTER and c not in cells.index for c in REQUIRED_MASTER):
        return result, cells.ignored, cells.problems
    first_row: dict[str, int] = {}
    for row, values in table.rows:
        sku = _master_sku(cells, values, row, first_row)
        got: dict[str, Any] = {}
        _master_money_and_lead_time(cells, values, row, got)
        _master_policy(cells, values, row, got)
        _master_demand(cells, values, row, got)
        _master_classes(cells, values, row, got)
        if sku is not None:
            result[sku] = MasterRow(sku, row, got)
    return result, cells.ignored, cells.problems


def _master_sku(cells: _Cells, values: Sequence[Any], row: int,
                first_row: dict[str, int]) -> str | None:
    """The row's SKU name, or None (with the problem noted) if missing, bad or repeated."""
    sku = cells.raw(values, "sku")
    sku = None if sku is None else _name(sku)
    if sku is None:
        cells.bad(row, "sku", NOT_SET, "missing: every row needs a SKU name")
    elif len(sku) > 100 or not _NAME_RE.match(sku):
        cells.bad(row, "sku", sku, "not a valid SKU name: letters, digits, '_', '.' and "
                                   "'-', starting with a letter or digit (at most 100)")
        sku = None
    elif sku in first_row:
        cells.bad(row, "sku", sku, f"duplicate SKU (also in row {first_row[sku]}); "
                                   "each SKU must appear once")
        sku = None
    else:
        first_row[sku] = row
    return sku


def _master_money_and_lead_time(cells: _Cells, values: Sequence[Any], row: int,
                                got: dict[str, Any]) -> None:
    """Unit cost, price, holding rate and the lead time of one master row into ``got``."""
    for name in ("unit_cost", "price"):
        if cells.raw(values, name) is None:
            cells.bad(row, name, NOT_SET, f"missing; expected {MASTER_COLUMNS[name]}")
        got[name] = cells.number(values, row, name)
    got["holding_rate_per_year"] = cells.number(values, row, "holding_rate_per_year",
                                                high=10)
    got["lead_time_mean_days"] = cells.number(values, row, "lead_time_mean_days")
    got["lead_time_std_days"] = cells.number(values, row, "lead_time_std_days")
    if got["lead_time_std_days"] and got["lead_time_mean_days"] is None:
        cells.bad(row, "lead_time_std_days", cells.raw(values, "lead_time_std_days"),
                  "needs lead_time_mean_days in the same row")
    if got["lead_time_mean_days"] == 0 and got["lead_time_std_days"]:
        cells.bad(row, "lead_time_std_days", cells.raw(values, "lead_time_std_days"),
                  "must be 0 or blank when the mean lead time is 0")


def _master_policy(cells: _Cells, values: Sequence[Any], row: int,
                   got: dict[str, Any]) -> None:
    """The policy columns of one master row (type, target, parameters) into ``got``."""
    policy_type = cells.raw(values, "policy_type")
    if policy_type is not None and str(policy_type) not in FAMILIES:
        cells.bad(row, "policy_type", policy_type,
                  f"expected {MASTER_COLUMNS['policy_type']}")
        policy_type = None
    got["policy_type"] = None if policy_type is None else str(policy_type)
    got["service_target"] = cells.number(values, row, "service_target", 0, 1, True, True)
    got["reorder_point"] = cells.integer(values, row, "reorder_point", -1_000_000)
    got["order_quantity"] = cells.integer(values, row, "order_quantity", 1)
    got["order_up_to"] = cells.integer(values, row, "order_up_to", 0)
    got["review_period_days"] = cells.number(values, row, "review_period_days",
                                             low_open=True)


def _master_demand(cells: _Cells, values: Sequence[Any], row: int,
                   got: dict[str, Any]) -> None:
    """The demand columns of one master row (lines a day, units per line) into ``got``;
    each needs the other in the same row."""
    got["lines_per_day"] = cells.number(values, row, "lines_per_day")
    got["units_per_line_mean"] = cells.number(values, row, "units_per_line_mean", low=1,
                                              high=MAX_COUNT)
    got["units_per_line_std"] = cells.number(values, row, "units_per_line_std",
                                             high=MAX_COUNT)
    if got["lines_per_day"] and got["units_per_line_mean"] is None \
            and cells.raw(values, "units_per_line_mean") is None:
        cells.bad(row, "units_per_line_mean", NOT_SET,
                  "missing: lines_per_day needs units_per_line_mean in the same row")
    if got["units_per_line_mean"] is not None and got["lines_per_day"] is None \
            and cells.raw(values, "lines_per_day") is None:
        cells.bad(row, "lines_per_day", NOT_SET,
                  "missing: units_per_line_mean needs lines_per_day in the same row")
    if got["units_per_line_mean"] is None and got["units_per_line_std"] is not None:
        cells.bad(row, "units_per_line_std", got["units_per_line_std"],
                  "needs units_per_line_mean in the same row")
    elif got["units_per_line_mean"] == 1 and got["units_per_line_std"]:
        cells.bad(row, "units_per_line_std", got["units_per_line_std"],
                  "must be 0 or blank: with a mean of 1 unit every line is 1 unit")


def _master_classes(cells: _Cells, values: Sequence[Any], row: int,
                    got: dict[str, Any]) -> None:
    """The ABC and XYZ labels a master row gives (optional) into ``got``."""
    for name, allowed in (("abc_class", "ABC"), ("xyz_class", "XYZ")):
        label = cells.raw(values, name)
        if label is not None and (str(label).upper() not in allowed
                                  or len(str(label)) != 1):
            cells.bad(row, name, label, f"expected {MASTER_COLUMNS[name]}")
            label = None
        got[name] = None if label is None else str(label).upper()


# ------------------------------------------------------------------------------ history


@dataclass
class History:
    """Order lines as arrays (one entry per line) and the period they cover."""

    sku: np.ndarray  # index into the master's SKUs
    day: np.ndarray  # days since ``first``
    quantity: np.ndarray
    segment: np.ndarray  # index into ``segments``; -1: no segment given
    segments: list[str]
    first: dt.date
    span_days: int  # first to last date, inclusive
    sha256: str


def _parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if len(text) > 10 and text[10] in "T ":
        text = text[:10]
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def read_history(table: Table, skus: Mapping[str, int],
                 segments: Sequence[str]) -> tuple[History | None, list[str], list[Problem]]:
    """Order lines of the history, ignored columns, and every problem found.

    ``skus`` maps the item master's SKU names to their index; ``segments`` are the
    scenario's segment names (a history segment outside them is a problem).  Columns are
    parsed whole (fast); only a column with a bad cell is looked at cell by cell."""
    cells = _Cells(table, list(HISTORY_COLUMNS), REQUIRED_HISTORY)
    if not table.rows:
        cells.problems.append(Problem(table.file, "", NOT_SET,
                                      "no data rows under the header: a demand history "
                                      "needs one row per order line"))
    if cells.problems:
        return None, cells.ignored, cells.problems
    row_numbers = [r for r, _ in table.rows]
    columns = list(itertools.zip_longest(*(v for _, v in table.rows)))
    blank = (None,) * len(row_numbers)  # a header column no row reaches
    raw = {name: columns[i] if i < len(columns) else blank for name, i in cells.index.items()}
    parsed = _HistoryColumns(
        ordinals=_date_ordinals(raw["date"]),
        sku=[skus.get(x) for x in raw["sku"]],  # type: ignore[arg-type]
        quantity=_quantities(raw["quantity"]),
        segment=[-1] * len(row_numbers))
    unknown_segments: dict[str, list[int]] = {}
    if "segment" in raw:
        parsed.segment = _segment_indices(raw["segment"], segments, row_numbers,
                                          unknown_segments)
    unknown_skus = _check_history_rows(cells, raw, parsed, skus, row_numbers)
    problems = cells.problems
    for name, rows in unknown_skus.items():
        problems.append(Problem(table.file, f"row {rows[0]}, column sku", name,
                                f"not in the item master ({_rows_text(rows)}); every SKU "
                                "of the history needs a row in the item master"))
    for name, rows in unknown_segments.items():
        problems.append(Problem(table.file, f"row {rows[0]}, column segment", name,
                                f"not a segment of the scenario ({_rows_text(rows)}); "
                                f"segments: {', '.join(segments) or '(none)'}"))
    if problems:
        return None, cells.ignored, problems
    day_arr = np.asarray(parsed.ordinals, dtype=np.int64)
    first = int(day_arr.min())
    span = int(day_arr.max()) - first + 1
    return History(np.asarray(parsed.sku, dtype=np.int64), day_arr - first,
                   np.asarray(parsed.quantity, dtype=np.int64),
                   np.asarray(parsed.segment, dtype=np.int64),
                   list(segments), dt.date.fromordinal(first), span, table.sha256), \
        cells.ignored, problems


@dataclass
class _HistoryColumns:
    """The parsed columns of a history, one entry per row; None (or -2 for a segment)
    marks a cell that could not be read."""

    ordinals: list[int | None]
    sku: list[int | None]
    quantity: list[int | None]
    segment: list[int]


def _date_ordinals(date_col: Sequence[Any]) -> list[int | None]:
    """Each date cell as a day ordinal (None: not a date); few distinct values in a history,
    so each is parsed once."""
    parsed: dict[Any, int | None] = {}
    for raw in set(date_col):
        when = None if _blank(raw) else _parse_date(raw)
        parsed[raw] = None if when is None else when.toordinal()
    return [parsed[raw] for raw in date_col]


def _quantities(qty_col: Sequence[Any]) -> list[int | None]:
    """Each quantity cell as a whole number from 1 to :data:`MAX_COUNT` (None: not one; a
    larger line would make the fitted quantity distribution, summed point by point, cost
    gigabytes): the whole column at once, cell by cell only if that fails."""
    try:
        if not all(type(q) is str for q in qty_col):  # numbers (Excel): numpy would truncate
            raise TypeError
        array = np.asarray(qty_col, dtype=np.int64)
        return array.tolist() if bool(((array >= 1) & (array <= MAX_COUNT)).all()) else \
            [q if 1 <= q <= MAX_COUNT else None for q in array.tolist()]
    except (ValueError, TypeError, OverflowError):
        return [_quantity(q) for q in qty_col]


def _segment_indices(seg_col: Sequence[Any], segments: Sequence[str],
                     row_numbers: Sequence[int],
                     unknown: dict[str, list[int]]) -> list[int]:
    """Each segment cell as the index of a scenario segment (-1: blank, -2: unknown; the
    unknown names and their rows are collected in ``unknown``)."""
    seg_index = {name: i for i, name in enumerate(segments)}
    quick: dict[Any, int] = {**seg_index, "": -1, None: -1}
    seg_idx = [quick.get(raw, -2) for raw in seg_col]
    for j in (j for j, found in enumerate(seg_idx) if found == -2):
        raw = seg_col[j]
        if _blank(raw):
            seg_idx[j] = -1
            continue
        found = seg_index.get(str(raw).strip())
        if found is None:
            unknown.setdefault(str(raw).strip(), []).append(row_numbers[j])
            found = -2
        seg_idx[j] = found
    return seg_idx


def _check_history_rows(cells: _Cells, raw: Mapping[str, Sequence[Any]],
                        parsed: _HistoryColumns, skus: Mapping[str, int],
                        row_numbers: Sequence[int]) -> dict[str, list[int]]:
    """Note a problem for every bad date and quantity; look again at SKUs the quick lookup
    missed (names with spaces or numbers); return the SKUs not in the master with their
    rows."""
    unknown_skus: dict[str, list[int]] = {}
    bad = [j for j in range(len(row_numbers)) if parsed.ordinals[j] is None
           or parsed.sku[j] is None or parsed.quantity[j] is None or parsed.segment[j] == -2]
    for j in bad:
        row = row_numbers[j]
        if parsed.ordinals[j] is None:
            value = raw["date"][j]
            cells.bad(row, "date", NOT_SET if _blank(value) else value,
                      "not a date; expected yyyy-mm-dd, e.g. 2025-03-31 (ISO 8601; a time "
                      "after the date is ignored)")
        if parsed.sku[j] is None:
            name = raw["sku"][j]
            if _blank(name):
                cells.bad(row, "sku", NOT_SET, "missing: every order line needs a SKU")
            else:
                parsed.sku[j] = skus.get(_name(name))
                if parsed.sku[j] is None:
                    unknown_skus.setdefault(_name(name), []).append(row)
        if parsed.quantity[j] is None:
            value = raw["quantity"][j]
            cells.bad(row, "quantity", NOT_SET if _blank(value) else value,
                      f"expected a whole number of units from 1 to {MAX_COUNT:,} (returns "
                      "and zero lines do not belong in a demand history; a larger line is "
                      "more than one order line's draw may cost)")
    return unknown_skus


def _quantity(raw: Any) -> int | None:
    """A whole number from 1 to :data:`MAX_COUNT` from a cell ("3", "3.0", 3, 3.0), else None."""
    if _blank(raw):
        return None
    number = _to_float(raw.strip() if isinstance(raw, str) else raw)
    if number is None or not 1 <= number <= MAX_COUNT or not number.is_integer():
        return None
    return int(number)


def _rows_text(rows: Sequence[int]) -> str:
    if len(rows) == 1:
        return f"row {rows[0]}"
    shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
    return f"{len(rows)} rows: {shown}"


# ------------------------------------------------------------------ units per line: fit


@dataclass
class QuantityFit:
    """The units-per-line distribution fitted to one SKU's order lines.

    ``model`` is ``poisson``, ``negative_binomial``, ``normal`` or ``constant`` (or
    ``none``: no lines); ``param_mean``/``param_std`` are the scenario distribution's
    parameters (of X, before ``max(1, round(X))``), with delta-method 95 % CIs;
    ``model_mean``/``model_variance`` are the moments of what the model draws."""

    model: str
    reason: str
    n: int = 0
    mean: float = math.nan
    variance: float = math.nan
    mean_ci: tuple[float, float] = (math.nan, math.nan)
    variance_ci: tuple[float, float] = (math.nan, math.nan)
    param_mean: float = math.nan
    param_std: float = math.nan
    param_mean_ci: tuple[float, float] = (math.nan, math.nan)
    param_std_ci: tuple[float, float] = (math.nan, math.nan)
    model_mean: float = math.nan
    model_variance: float = math.nan
    dispersion_ratio: float = math.nan
    dispersion_p_value: float = math.nan
    gof_p_value: float = math.nan

    def distribution(self) -> dict[str, Any] | None:
        """The scenario distribution (YAML form), or None without lines."""
        if self.model == "constant":
            return {"type": "constant", "value": self.param_mean}
        if self.model == "poisson":
            return {"type": "poisson", "mean": self.param_mean}
        if self.model in ("negative_binomial", "normal"):
            return {"type": self.model, "mean": self.param_mean, "std": self.param_std}
        return None


def _poisson_drawn(lam: float) -> tuple[float, float]:
    """Mean and variance of max(1, X), X ~ Poisson(lam): E = lam + p0."""
    p0 = math.exp(-lam)
    return lam + p0, lam + p0 * (1 - 2 * lam - p0)


def _poisson_for_mean(m: float) -> float:
    """The lam with E[max(1, X)] = m (m > 1): lam + exp(-lam) = m, by Newton from above."""
    lam = m
    for _ in range(100):
        step = (lam + math.exp(-lam) - m) / (1 - math.exp(-lam))
        lam -= step
        if abs(step) < 1e-12 * max(1.0, lam):
            break
    return max(lam, 0.0)


def _nb_drawn(mu: float, var: float) -> tuple[float, float]:
    """Mean and variance of max(1, X), X negative binomial with mean mu, variance var."""
    r = mu * mu / (var - mu)
    p0 = math.exp(r * math.log(mu / var))
    return mu + p0, var + p0 * (1 - 2 * mu - p0)


def _normal_drawn(mu: float, sd: float) -> tuple[float, float]:
    """Mean and variance of max(1, round(X)), X ~ Normal(mu, sd)."""
    if sd <= 1e-9:
        value = max(1.0, float(np.rint(mu)))
        return value, 0.0
    top = max(2, int(math.ceil(mu + 12 * sd)) + 1)
    k = np.arange(1, top + 1, dtype=float)
    upper = special.ndtr((k + 0.5 - mu) / sd)
    upper[-1] = 1.0
    probs = np.diff(np.concatenate(([0.0], upper)))
    mean = float(k @ probs)
    return mean, float(((k - mean) ** 2) @ probs)


def _solve2(drawn: Any, start: tuple[float, float], target: tuple[float, float],
            to_params: Any) -> tuple[float, float] | None:
    m, v = target

    def residual(z: np.ndarray) -> list[float]:
        try:
            em, ev = drawn(*to_params(z))
        except (OverflowError, ValueError, ZeroDivisionError):
            return [1e6, 1e6]
        return [(em - m) / m, (ev - v) / max(v, 1e-9)]

    result = optimize.root(residual, np.asarray(start), method="hybr")
    if not np.all(np.isfinite(result.x)) or max(map(abs, residual(result.x))) > 1e-7:
        return None
    return to_params(result.x)


def _nb_params(m: float, v: float) -> tuple[float, float] | None:
    """(mu, variance) of X with max(1, X) having mean m and variance v, or None."""

    def to_params(z: np.ndarray) -> tuple[float, float]:
        mu = math.exp(min(z[0], 700))
        return mu, mu + math.exp(min(z[1], 700))

    start = (math.log(max(m - 0.3, 0.05)), math.log(max(v - m, 0.05 * m) + 1e-9))
    found = _solve2(_nb_drawn, start, (m, v), to_params)
    if found is not None:
        return found

    def nb(mu: float, shape: float) -> tuple[float, float]:  # by mean and shape r
        p0 = math.exp(-shape * math.log1p(mu / shape))
        return mu + p0, mu + mu * mu / shape + p0 * (1 - 2 * mu - p0)

    located = _nested(nb, (1e-12, m), (math.log(1e-6), math.log(1e5)), m, v, shrinks=True)
    return None if located is None else (located[0], located[0] + located[0]**2 / located[1])


def _normal_params(m: float, v: float) -> tuple[float, float] | None:
    """(mu, sd) of X with max(1, round(X)) having mean m and variance v, or None."""

    def to_params(z: np.ndarray) -> tuple[float, float]:
        return float(z[0]), math.exp(min(z[1], 700))

    start = (m, 0.5 * math.log(max(v - 1 / 12, v / 2, 1e-6)))
    found = _solve2(_normal_drawn, start, (m, v), to_params)
    if found is not None:
        return found
    spread = math.sqrt(v) + 1
    return _nested(_normal_drawn, (m - 30 * spread - 10, m + 30 * spread + 10),
                   (math.log(1e-4), math.log(10 * spread)), m, v, shrinks=False)


def _nested(drawn: Any, location: tuple[float, float], log_spread: tuple[float, float],
            m: float, v: float, shrinks: bool) -> tuple[float, float] | None:
    """A slower, sure solve when the joint one fails: for each spread parameter s, the
    location whose draw has mean ``m`` (the drawn mean rises with the location); then the
    s whose draw has variance ``v`` (the variance moves one way with s: it falls as s
    grows when ``shrinks``).  ``(location, s)`` or None when v is out of reach."""

    def located(s: float) -> float:
        return float(optimize.brentq(lambda x: drawn(x, s)[0] - m, *location, xtol=1e-13,
                                     rtol=1e-12))

    def gap(log_s: float) -> float:
        s = math.exp(log_s)
        return drawn(located(s), s)[1] - v

    try:
        low, high = gap(log_spread[0]), gap(log_spread[1])
        if low * high > 0:
            return None
        log_s = float(optimize.brentq(gap, *log_spread, xtol=1e-12, rtol=1e-12))
        s = math.exp(log_s)
        x = located(s)
    except (ValueError, OverflowError, ZeroDivisionError, RuntimeError):
        return None
    em, ev = drawn(x, s)
    if abs(em - m) > 1e-7 * m or abs(ev - v) > 1e-6 * max(v, 1e-9):
        return None
    del shrinks  # documents the direction; brentq needs only the sign change
    return x, s


def _params(model: str, m: float, v: float) -> tuple[float, float] | None:
    """Parameters (mean, std) of the scenario distribution matching drawn moments."""
    if model == "poisson":
        return _poisson_for_mean(m), math.nan
    if model == "negative_binomial":
        found = _nb_params(m, v)
        return None if found is None else (found[0], math.sqrt(found[1]))
    found = _normal_params(m, v)
    return found


def _chi2_gof(values: np.ndarray, support: np.ndarray, probs: np.ndarray,
              n_params: int) -> float:
    """Chi-square goodness-of-fit p-value, bins pooled from the top until expected >= 5."""
    n = len(values)
    top = int(support[-1])
    observed = np.bincount(np.minimum(values, top), minlength=top + 1)[int(support[0]):]
    expected = probs * n
    obs_bins: list[float] = []
    exp_bins: list[float] = []
    o_acc = e_acc = 0.0
    for o, e in zip(observed[::-1], expected[::-1], strict=False):
        o_acc += o
        e_acc += e
        if e_acc >= 5:
            obs_bins.append(o_acc)
            exp_bins.append(e_acc)
            o_acc = e_acc = 0.0
    if exp_bins:
        obs_bins[-1] += o_acc
        exp_bins[-1] += e_acc
    dof = len(exp_bins) - 1 - n_params
    if dof < 1:
        return math.nan
    o_arr, e_arr = np.asarray(obs_bins), np.asarray(exp_bins)
    return float(special.chdtrc(dof, float(((o_arr - e_arr) ** 2 / e_arr).sum())))


def _p(p_value: float) -> str:
    return f"p = {p_value:.2g}" if p_value >= 1e-4 else "p < 0.0001"


def choose_model(n: int, m: float, v: float) -> tuple[str, str, float, float]:
    """Which distribution describes units per line of mean ``m`` and variance ``v`` over
    ``n`` lines, why, the dispersion ratio and the dispersion test's p-value.

    Rules, in order: all lines alike (v = 0) -> constant; one line -> Poisson (too few to
    judge dispersion); compare v with the variance of a Poisson draw of the same mean
    (ratio D, test statistic (n - 1)·D ~ χ²(n - 1)): significantly under-dispersed
    (p < 0.05) -> normal (Poisson and negative binomial cannot be narrower than Poisson);
    mean >= 20 with CV <= 0.5 -> normal (the normal approximation holds); significantly
    over-dispersed -> negative binomial; otherwise Poisson.
    """
    if n == 0:
        return "none", "no order lines", math.nan, math.nan
    if m == 1:
        return "constant", "every line was for 1 unit", math.nan, math.nan
    if n == 1:
        return "poisson", "one line only: too few to judge dispersion, Poisson assumed", \
            math.nan, math.nan
    if v == 0:
        return "constant", f"every line was for {m:g} units", math.nan, math.nan
    poisson_var = _poisson_drawn(_poisson_for_mean(m))[1]
    ratio = v / poisson_var
    statistic = (n - 1) * ratio
    p_over = float(special.chdtrc(n - 1, statistic))
    p_under = float(special.chdtr(n - 1, statistic))
    said = (f"variance {v:.3g} is {ratio:.2f}x that of a Poisson draw of mean {m:.3g}")
    if p_under < SIGNIFICANCE:
        return "normal", f"{said}: under-dispersed (test {_p(p_under)}), narrower than " \
            "Poisson or negative binomial can be", ratio, p_under
    if m >= LARGE_MEAN and math.sqrt(v) / m <= 0.5:
        return "normal", f"large mean ({m:.3g}) with CV {math.sqrt(v) / m:.2f} <= 0.5: " \
            "the normal approximation holds", ratio, min(p_over, p_under) * 2
    if p_over < SIGNIFICANCE:
        return "negative_binomial", f"{said}: over-dispersed (test {_p(p_over)})", \
            ratio, p_over
    return "poisson", f"{said}: consistent with Poisson (test " \
        f"{_p(2 * min(p_over, p_under))})", ratio, 2 * min(p_over, p_under)


def fit_quantities(values: np.ndarray | Sequence[int], report: bool = True) -> QuantityFit:
    """Fit the units-per-line distribution to one SKU's order-line quantities (>= 1).

    The model is chosen by :func:`choose_model`; its parameters are solved so that what
    the simulation draws, ``max(1, round(X))``, has the data's mean and variance
    (only the mean for Poisson, which has one parameter).  CIs are 95 %: the data's mean
    (t), variance (asymptotic, from the fourth moment) and the parameters (delta method);
    with ``report=False`` the CIs and the goodness of fit are skipped (loading is faster).
    """
    q = np.asarray(values, dtype=float)
    n = len(q)
    if n == 0:
        return QuantityFit("none", "no order lines")
    m = float(q.mean())
    v = float(q.var(ddof=1)) if n > 1 else 0.0
    model, reason, ratio, p_value = choose_model(n, m, v)
    fit = QuantityFit(model, reason, n, m, v, dispersion_ratio=ratio,
                      dispersion_p_value=p_value)
    if model == "constant":
        fit.param_mean, fit.param_std = m, 0.0
        fit.model_mean, fit.model_variance = m, 0.0
        fit.mean_ci = fit.param_mean_ci = (m, m)
        fit.variance_ci = (0.0, 0.0)
        return fit
    dev = q - m
    mu3 = float((dev**3).mean())
    mu4 = float((dev**4).mean())
    var_of_var = max((mu4 - v * v) / n, 0.0)
    se_m = math.sqrt(v / n)
    t = float(special.stdtrit(max(n - 1, 1), 0.975))
    fit.mean_ci = (m - t * se_m, m + t * se_m)
    fit.variance_ci = (max(0.0, v - 1.96 * math.sqrt(var_of_var)),
                       v + 1.96 * math.sqrt(var_of_var))
    params = _params(model, m, v)
    if params is None:  # no exact match (e.g. extreme skew): fall back to the raw moments
        fallback = "negative_binomial" if v > m else "normal"
        params = (m, math.sqrt(v))
        fit.reason += (f"; no {model.replace('_', ' ')} draw matches both moments exactly, "
                       f"so the {fallback.replace('_', ' ')} takes the data's raw moments")
        fit.model = model = fallback
    fit.param_mean, fit.param_std = params
    support, probs = drawn_pmf(model, fit.param_mean, fit.param_std)
    fit.model_mean = float(support @ probs)
    fit.model_variance = float(((support - fit.model_mean) ** 2) @ probs)
    if not report:
        return fit
    fit.gof_p_value = _chi2_gof(q.astype(np.int64), support, probs,
                                1 if model == "poisson" else 2)
    # delta method: parameters as a function of the data's (mean, variance)
    cov = np.array([[v / n, mu3 / n], [mu3 / n, var_of_var]])
    jac = np.full((2, 2), math.nan)
    for j, (dm, dv) in enumerate(((max(1e-4 * m, 1e-6), 0.0), (0.0, max(1e-4 * v, 1e-6)))):
        bumped = _params(model, m + dm, v + dv) if m + dm > 1 else None
        if bumped is not None:
            jac[0, j] = (bumped[0] - params[0]) / (dm or dv)
            jac[1, j] = (bumped[1] - params[1]) / (dm or dv)
    if model == "poisson":
        jac[:, 1] = 0.0
        jac[1, :] = 0.0
    if np.all(np.isfinite(jac)):
        sd = np.sqrt(np.maximum(np.diag(jac @ cov @ jac.T), 0.0))
        fit.param_mean_ci = (params[0] - 1.96 * sd[0], params[0] + 1.96 * sd[0])
        if model != "poisson":
            fit.param_std_ci = (params[1] - 1.96 * sd[1], params[1] + 1.96 * sd[1])
    return fit


@functools.cache
def _dist_adapter() -> Any:
    from pydantic import TypeAdapter

    from ..scenario.schema import Dist

    return TypeAdapter(Dist)


def _dist_object(fit: QuantityFit) -> Any:
    return _dist_adapter().validate_python(fit.distribution())


def drawn_pmf(model: str, mean: float, std: float) -> tuple[np.ndarray, np.ndarray]:
    """Support and probabilities of ``max(1, round(X))`` for the fitted X (the same as
    :func:`~servicesim.scenario.distributions.integer_pmf`, without building scipy objects)."""
    if model == "constant":
        return np.array([max(1, round(mean))]), np.array([1.0])
    if model == "normal":
        top = max(2, int(math.ceil(mean + 12 * std)) + 1)
        k = np.arange(1, top + 1)
        upper = special.ndtr((k + 0.5 - mean) / std) if std > 0 else \
            (k + 0.5 > mean).astype(float)
        upper[-1] = 1.0
        return k, np.diff(np.concatenate(([0.0], upper)))
    if model == "poisson":
        top = max(2, int(mean + 12 * math.sqrt(mean) + 10))
        k = np.arange(0, top + 1)
        probs = np.exp(k * math.log(mean) - mean - special.gammaln(k + 1)) if mean > 0 \
            else (k == 0).astype(float)
    else:
        var = std * std
        r, p = mean * mean / (var - mean), mean / var
        top = max(2, int(mean + 14 * std + 10))
        k = np.arange(0, top + 1)
        probs = np.exp(special.gammaln(k + r) - special.gammaln(r) - special.gammaln(k + 1)
                       + r * math.log(p) + k * math.log1p(-p))
    probs[1] += probs[0]
    probs = probs[1:] / probs[1:].sum()
    return k[1:], probs


def quantity_fit_from_moments(mean: float, std: float | None) -> QuantityFit:
    """Units per line from the item master's columns (mean and std of the drawn quantity):
    the same rules as :func:`choose_model` with the data taken as exact."""
    if std is None or mean == 1:
        model = "constant" if mean == 1 else "poisson"
        reason = "item master columns: mean only, Poisson assumed" if model == "poisson" \
            else "item master columns: 1 unit per line"
    elif std == 0:
        model, reason = "constant", "item master columns: std 0"
    else:
        v = std * std
        poisson_var = _poisson_drawn(_poisson_for_mean(mean))[1]
        if mean >= LARGE_MEAN and std / mean <= 0.5:
            model, reason = "normal", "item master columns: large mean, CV <= 0.5"
        elif v < poisson_var * 0.999:
            model, reason = "normal", "item master columns: narrower than Poisson"
        elif v > poisson_var * 1.001:
            model, reason = "negative_binomial", "item master columns: wider than Poisson"
        else:
            model, reason = "poisson", "item master columns: variance of a Poisson draw"
    fit = QuantityFit(model, reason, 0, mean, 0.0 if std is None else std * std)
    if model == "constant":
        fit.param_mean, fit.param_std = round(mean), 0.0
    else:
        params = _params(model, mean, fit.variance) if model != "poisson" else \
            (_poisson_for_mean(mean), math.nan)
        if params is None:
            model = "negative_binomial" if fit.variance > mean else "normal"
            fit.model, params = model, (mean, math.sqrt(fit.variance))
            fit.reason += "; no exact moment match, raw moments used"
        fit.param_mean, fit.param_std = params
    fit.model_mean, fit.model_variance = integer_moments(_dist_object(fit), 1)
    return fit


# ------------------------------------------------------------------------ ABC and XYZ


def abc_classes(revenue: Mapping[str, float], thresholds: tuple[float, float] = (0.8, 0.95)
                ) -> dict[str, str]:
    """ABC classes by revenue: rank SKUs by revenue (ties by name); a SKU is A while the
    revenue share of the SKUs ranked above it is below ``thresholds[0]`` (so the SKU that
    crosses 80 % is still A), B likewise below ``thresholds[1]``, else C.  SKUs without
    revenue are C."""
    total = math.fsum(revenue.values())  # exact: the same in any row order
    ranked = sorted(revenue, key=lambda k: (-revenue[k], k))
    classes: dict[str, str] = {}
    before = 0.0
    for sku in ranked:
        share = before / total if total > 0 else 1.0
        if revenue[sku] <= 0:
            classes[sku] = "C"
        elif share < thresholds[0] - 1e-12:
            classes[sku] = "A"
        elif share < thresholds[1] - 1e-12:
            classes[sku] = "B"
        else:
            classes[sku] = "C"
        before += revenue[sku]
    return classes


def xyz_class(cv: float, thresholds: tuple[float, float] = (0.5, 1.0)) -> str:
    """X when the CV of weekly demand is at most ``thresholds[0]``, Y up to the second,
    else Z (also for no demand: an undefined CV)."""
    if not math.isfinite(cv):
        return "Z"
    return "X" if cv <= thresholds[0] else "Y" if cv <= thresholds[1] else "Z"


def weekly_cv(weekly: np.ndarray) -> np.ndarray:
    """CV (sample std / mean) of each row of a SKUs x weeks demand matrix (inf: no demand)."""
    mean = weekly.mean(axis=1)
    std = weekly.std(axis=1, ddof=1) if weekly.shape[1] > 1 else np.zeros(len(weekly))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mean > 0, std / mean, np.inf)


def xyz_classes(weekly: Mapping[str, Sequence[float]],
                thresholds: tuple[float, float] = (0.5, 1.0)) -> dict[str, str]:
    """XYZ classes of weekly demand series (see :func:`xyz_class`)."""
    return {k: xyz_class(float(weekly_cv(np.asarray([v], dtype=float))[0]), thresholds)
            for k, v in weekly.items()}


# ---------------------------------------------------------------------------- the fit


@dataclass
class ItemsFit:
    """The per-SKU report of an item master (and history) and what was ignored."""

    master: str
    history: str | None
    span_days: int | None
    rows: list[dict[str, Any]] = field(default_factory=list)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)

    COLUMNS = (
        "sku", "demand_source", "lines", "lines_per_day", "lines_per_day_ci_low",
        "lines_per_day_ci_high", "mean", "mean_ci_low", "mean_ci_high", "variance",
        "variance_ci_low", "variance_ci_high", "model", "param_mean", "param_mean_ci_low",
        "param_mean_ci_high", "param_std", "param_std_ci_low", "param_std_ci_high",
        "model_mean", "model_variance", "dispersion_ratio", "dispersion_p_value",
        "gof_p_value", "reason", "annual_revenue", "revenue_share", "abc_class",
        "abc_source", "weekly_cv", "xyz_class", "xyz_source",
    )

    @property
    def no_demand(self) -> list[str]:
        return [r["sku"] for r in self.rows if r["demand_source"] == "none"]

    def to_csv(self) -> str:
        """The full per-SKU report as CSV text (one row per SKU)."""
        from ..files import csv_text

        return csv_text([{k: r.get(k) for k in self.COLUMNS} for r in self.rows],
                        list(self.COLUMNS))

    def summary(self, top: int = 10) -> str:
        """A compact text report: counts by model and class, SKUs without demand, ignored
        columns, and the top SKUs by revenue."""
        n = len(self.rows)
        lines = [f"item master {self.master}: {n} SKUs"
                 + (f"; history {self.history}: {self.span_days} days, "
                    f"{sum(r['lines'] for r in self.rows):,} order lines"
                    if self.history else "; no history (demand from the item master)")]
        counts: dict[str, int] = {}
        for r in self.rows:
            counts[r["model"]] = counts.get(r["model"], 0) + 1
        lines.append("units per line: " + ", ".join(
            f"{model.replace('_', ' ')} {count}" for model, count in sorted(
                counts.items(), key=lambda kv: -kv[1])))
        total = sum(r["annual_revenue"] for r in self.rows) or 1.0
        head = "class   SKUs  revenue share " + "  ".join(f"{x:>5}" for x in "XYZ")
        lines.append(head)
        for abc in "ABC":
            members = [r for r in self.rows if r["abc_class"] == abc]
            share = sum(r["annual_revenue"] for r in members) / total
            by_xyz = "  ".join(f"{sum(r['xyz_class'] == x for r in members):>5}"
                               for x in "XYZ")
            lines.append(f"{abc:<5} {len(members):>6}  {share:>12.1%}  {by_xyz}")
        if self.no_demand:
            shown = ", ".join(self.no_demand[:8]) + (", ..." if len(self.no_demand) > 8
                                                     else "")
            count = len(self.no_demand)
            lines.append(f"{count} SKU{'' if count == 1 else 's'} without demand (kept, never "
                         f"ordered): {shown}")
        for file, columns in self.ignored_columns.items():
            if columns:
                lines.append(f"ignored columns of {file}: {', '.join(columns)}")
        lines.append(f"top {min(top, n)} SKUs by revenue:")
        lines.append(f"  {'sku':<16} {'ABC':>3}{'XYZ':>4} {'lines/day':>10} {'mean':>7} "
                     f"{'var':>8}  model              gof p  reason")
        ranked = sorted(self.rows, key=lambda r: -r["annual_revenue"])[:top]
        for r in ranked:
            gof = r["gof_p_value"]
            lines.append(
                f"  {r['sku']:<16} {r['abc_class']:>3}{r['xyz_class']:>4} "
                f"{r['lines_per_day']:>10.4g} {_g(r['mean']):>7} {_g(r['variance']):>8}  "
                f"{r['model']:<17} {'' if not math.isfinite(gof) else f'{gof:.2f}':>6}  "
                f"{r['reason']}")
        return "\n".join(lines)


def _g(value: float) -> str:
    return "" if not math.isfinite(value) else f"{value:.3g}"


def _rate_ci(count: int, days: int) -> tuple[float, float]:
    """Exact (Garwood) 95 % CI of a Poisson rate: ``count`` lines in ``days``."""
    low = 0.0 if count == 0 else float(special.chdtri(2 * count, 0.975)) / 2
    high = float(special.chdtri(2 * count + 2, 0.025)) / 2
    return low / days, high / days


# ---------------------------------------------------------------------- the expansion


def _section_problems(section: dict[str, Any], file: str, line: int | None) -> list[Problem]:
    problems = []
    for key in section:
        if key not in SECTION_KEYS:
            problems.append(Problem(file, f"items.{key}", NOT_SET,
                                    f"unknown key; allowed keys here: {', '.join(SECTION_KEYS)}",
                                    line))
    for key in ("master", "history", "sheet"):
        value = section.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(Problem(file, f"items.{key}", value, "expected a file path", line))
    if not isinstance(section.get("master"), str):
        problems.append(Problem(file, "items.master", NOT_SET,
                                "missing; the path of the item master (CSV or .xlsx)", line))
    return problems


def expand_items(data: dict[str, Any], file: str,
                 lines: Mapping[tuple[Any, ...], int] | None = None, report: bool = True
                 ) -> tuple[dict[str, Any], ItemsFit | None]:
    """Expand a document's ``items:`` section into ``skus`` and segment calibration.

    Paths are relative to the scenario ``file``.  SKUs listed under ``skus:`` override the
    item master's fields (deep merge).  A section that carries file hashes is provenance of
    an already expanded scenario (e.g. ``scenario.yaml`` in results): it is left alone.
    ``report=False`` skips the fit's CIs and goodness of fit (what loading needs is kept).
    Raises :class:`~servicesim.errors.ScenarioError` listing every problem.
    """
    section = data.get("items")
    if not isinstance(section, dict) or "master_sha256" in section:
        return data, None
    line = (lines or {}).get(("items",))
    problems = _section_problems(section, file, line)
    if problems:
        raise ScenarioError(problems)
    from ..scenario.schema import ItemsSource

    try:  # the thresholds, before any file is read
        source = ItemsSource.model_validate(section)
    except Exception as exc:  # noqa: BLE001 - pydantic ValidationError
        from pydantic import ValidationError

        if not isinstance(exc, ValidationError):
            raise
        raise ScenarioError([
            Problem(file, "items." + ".".join(map(str, e["loc"])) if e["loc"] else "items",
                    e.get("input", NOT_SET), e["msg"].removeprefix("Value error, "), line)
            for e in exc.errors(include_url=False)]) from None
    base = Path(file).parent
    segments_doc = data.get("segments")
    segment_names = [str(s) for s in segments_doc] if isinstance(segments_doc, dict) else []

    with _collector_paused():  # many small lists: the cyclic GC would triple the time
        master_table = read_table(base / source.master, source.sheet,
                                  _shown(file, source.master))
        master, ignored_master, problems = read_master(master_table)
        history = None
        ignored_history: list[str] = []
        if source.history is not None and (master or not problems):
            try:
                history_table = read_table(base / source.history, None,
                                           _shown(file, source.history))
            except ScenarioError as exc:
                problems.extend(exc.problems)
            else:
                history, ignored_history, more = read_history(
                    history_table, {k: i for i, k in enumerate(master)}, segment_names)
                problems.extend(more)
                del history_table.rows[:]  # the arrays hold what is needed
    if problems:
        raise ScenarioError(problems)
    fit, per_segment = _fit(master, history, source, report, master_table.file,
                            history_table.file if history is not None else None,
                            data.get("segments"))
    fit.ignored_columns = {master_table.file: ignored_master}
    if history is not None:
        fit.ignored_columns[history_table.file] = ignored_history
    out = _write_document(data, file, lines or {}, master, fit, per_segment, source,
                          master_table.sha256, history.sha256 if history else None)
    return out, fit


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (reading builds ~10^5 lists that hold no cycles)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _shown(file: str, relative: str) -> str:
    return os.path.normpath(os.path.join(os.path.dirname(file), relative))


def _fit(master: Mapping[str, MasterRow], history: History | None, source: Any, report: bool,
         master_file: str, history_file: str | None, segments_doc: Any
         ) -> tuple[ItemsFit, dict[str, dict[str, float]]]:
    """Every SKU's demand (from the history, else the master's demand columns, else none),
    its ABC and XYZ classes, and each segment's order-line rate per SKU."""
    names = list(master)
    fit = ItemsFit(master_file, history_file, history.span_days if history else None)
    segments = [str(s) for s in segments_doc] if isinstance(segments_doc, dict) else []
    shares = _shares(segments_doc)
    per_segment: dict[str, dict[str, float]] = {g: {} for g in segments}
    lines = _HistoryBySku(history, len(names), len(segments)) if history is not None else None
    revenue: dict[str, float] = {}
    for i, sku in enumerate(names):
        row = master[sku].fields
        record: dict[str, Any] = {"sku": sku}
        if lines is not None and lines.counts[i] > 0:
            demand = lines.fit_sku(i, row, report, record)
            for g, name in enumerate(segments):
                lam = (lines.seg_counts[i, g] + shares.get(name, 0.0)
                       * lines.seg_counts[i, -1]) / lines.span_days
                if lam > 0:
                    per_segment[name][sku] = lam
        elif row["lines_per_day"] and row["units_per_line_mean"]:
            demand = _master_demand_fit(row, record)
            for name in segments:
                if shares.get(name, 0.0) > 0:
                    per_segment[name][sku] = demand.rate * shares[name]
        else:
            demand = _no_demand(row, record)
        revenue[sku] = (row["price"] or 0.0) * demand.annual_units
        record.update(_quantity_columns(demand.qfit), annual_revenue=revenue[sku],
                      weekly_cv=demand.cv, xyz_source=demand.cv_note,
                      distribution=demand.qfit.distribution())
        fit.rows.append(record)
    _classify(fit, master, revenue, source)
    return fit, per_segment


@dataclass
class _SkuDemand:
    """One SKU's fitted demand: line rate, units-per-line fit, annual units, weekly CV."""

    rate: float
    qfit: QuantityFit
    annual_units: float
    cv: float
    cv_note: str


class _HistoryBySku:
    """A history's lines grouped by SKU: counts, quantities, weekly totals and segments."""

    def __init__(self, history: History, n_sku: int, n_segments: int) -> None:
        order = np.argsort(history.sku, kind="stable")
        self.span_days = history.span_days
        self.counts = np.bincount(history.sku, minlength=n_sku)
        self.bounds = np.concatenate(([0], np.cumsum(self.counts)))
        self.quantities = history.quantity[order]
        n_weeks = history.span_days // 7
        self.weekly_cvs = None
        if n_weeks >= 2:
            keep = history.day < n_weeks * 7
            weekly = np.zeros((n_sku, n_weeks))
            np.add.at(weekly, (history.sku[keep], history.day[keep] // 7),
                      history.quantity[keep])
            self.weekly_cvs = weekly_cv(weekly)
        self.seg_counts = np.zeros((n_sku, n_segments + 1))  # last column: no segment
        np.add.at(self.seg_counts, (history.sku, history.segment), 1.0)

    def fit_sku(self, i: int, row: Mapping[str, Any], report: bool,
                record: dict[str, Any]) -> _SkuDemand:
        """SKU ``i``'s demand fitted from its lines; the rate's columns go into ``record``."""
        q = self.quantities[self.bounds[i]: self.bounds[i + 1]]
        count = int(self.counts[i])
        qfit = fit_quantities(q, report)
        rate = self.counts[i] / self.span_days
        low, high = _rate_ci(count, self.span_days)
        record.update(demand_source="history", lines=count, lines_per_day=rate,
                      lines_per_day_ci_low=low, lines_per_day_ci_high=high)
        if self.weekly_cvs is not None:
            cv, cv_note = float(self.weekly_cvs[i]), "history"
        else:
            cv, cv_note = _implied_cv(rate, qfit), "implied (history under 2 weeks)"
        if row["lines_per_day"] is not None:
            qfit.reason += "; the item master's demand columns are ignored: history present"
        annual_units = float(q.sum()) * 365.0 / self.span_days
        return _SkuDemand(rate, qfit, annual_units, cv, cv_note)


def _master_demand_fit(row: Mapping[str, Any], record: dict[str, Any]) -> _SkuDemand:
    """A SKU's demand from the item master's demand columns (no history)."""
    rate = row["lines_per_day"]
    qfit = quantity_fit_from_moments(row["units_per_line_mean"], row["units_per_line_std"])
    record.update(demand_source="master", lines=0, lines_per_day=rate,
                  lines_per_day_ci_low=math.nan, lines_per_day_ci_high=math.nan)
    return _SkuDemand(rate, qfit, rate * 365.0 * qfit.model_mean, _implied_cv(rate, qfit),
                      "implied by the demand columns")


def _no_demand(row: Mapping[str, Any], record: dict[str, Any]) -> _SkuDemand:
    """A SKU with neither history nor demand columns: kept, with zero demand."""
    qfit = QuantityFit("none", "no demand: no history and no demand columns; kept "
                               "with zero demand")
    if row["lines_per_day"] == 0:
        qfit.reason = "lines_per_day is 0: kept with zero demand"
    record.update(demand_source="none", lines=0, lines_per_day=0.0,
                  lines_per_day_ci_low=math.nan, lines_per_day_ci_high=math.nan)
    return _SkuDemand(0.0, qfit, 0.0, math.inf, "no demand")


def _quantity_columns(qfit: QuantityFit) -> dict[str, Any]:
    """The units-per-line fit as the columns of a fit row."""
    return dict(
        mean=qfit.mean, mean_ci_low=qfit.mean_ci[0], mean_ci_high=qfit.mean_ci[1],
        variance=qfit.variance, variance_ci_low=qfit.variance_ci[0],
        variance_ci_high=qfit.variance_ci[1], model=qfit.model,
        param_mean=qfit.param_mean, param_mean_ci_low=qfit.param_mean_ci[0],
        param_mean_ci_high=qfit.param_mean_ci[1], param_std=qfit.param_std,
        param_std_ci_low=qfit.param_std_ci[0], param_std_ci_high=qfit.param_std_ci[1],
        model_mean=qfit.model_mean, model_variance=qfit.model_variance,
        dispersion_ratio=qfit.dispersion_ratio,
        dispersion_p_value=qfit.dispersion_p_value, gof_p_value=qfit.gof_p_value,
        reason=qfit.reason)


def _classify(fit: ItemsFit, master: Mapping[str, MasterRow], revenue: Mapping[str, float],
              source: Any) -> None:
    """Revenue shares and the ABC and XYZ classes of every fit row (the master's own labels
    win over the computed ones)."""
    abc = abc_classes(revenue, source.abc_thresholds)
    total = math.fsum(revenue.values())  # exact: the same in any row order
    for record in fit.rows:
        row = master[record["sku"]].fields
        record["revenue_share"] = record["annual_revenue"] / total if total > 0 else 0.0
        record["abc_class"], record["abc_source"] = (row["abc_class"], "item master") \
            if row["abc_class"] else (abc[record["sku"]], "revenue")
        if row["xyz_class"]:
            record["xyz_class"], record["xyz_source"] = row["xyz_class"], "item master"
        else:
            record["xyz_class"] = xyz_class(record["weekly_cv"], source.xyz_thresholds)


def _implied_cv(rate: float, qfit: QuantityFit) -> float:
    """CV of weekly demand of compound-Poisson lines: sqrt(E[q²] / (7·rate)) / E[q]."""
    if rate <= 0 or not math.isfinite(qfit.model_mean):
        return math.inf
    second = qfit.model_variance + qfit.model_mean**2
    return math.sqrt(second / (7 * rate)) / qfit.model_mean


def _shares(segments_doc: Any) -> dict[str, float]:
    """Demand shares from the raw document (the schema checks them again)."""
    if not isinstance(segments_doc, dict):
        return {}
    given: dict[str, float] = {}
    for name, seg in segments_doc.items():
        share = seg.get("demand_share") if isinstance(seg, dict) else None
        if isinstance(share, int | float) and not isinstance(share, bool):
            given[str(name)] = float(share)
    rest = [str(n) for n in segments_doc if str(n) not in given]
    left = max(0.0, 1.0 - sum(given.values()))
    return {str(n): given.get(str(n), left / len(rest) if rest else 0.0)
            for n in segments_doc}


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict) and \
                not ("type" in value and key in ("units_per_line", "lead_time_days")):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _write_document(data: dict[str, Any], file: str, lines: Mapping[tuple[Any, ...], int],
                    master: Mapping[str, MasterRow], fit: ItemsFit,
                    per_segment: dict[str, dict[str, float]], source: Any,
                    master_sha: str, history_sha: str | None) -> dict[str, Any]:
    """The scenario document with the item data written in: a SKU per master row (with the
    scenario's ``skus:`` changes on top), segments calibrated to the fitted demand, and an
    ``items`` record of what was read; a ScenarioError listing every conflict."""
    problems: list[Problem] = []
    supplier_given = data.get("supplier")
    supplier_doc: dict[str, Any] = supplier_given if isinstance(supplier_given, dict) else {}
    skus = {record["sku"]: _sku_document(master[record["sku"]].fields, record, supplier_doc)
            for record in fit.rows}
    _apply_sku_changes(skus, data.get("skus"), file, lines, fit, problems)
    calibrated = any(per_segment.get(g) for g in per_segment)
    segments = data.get("segments")
    if calibrated and isinstance(segments, dict):
        segments = _calibrated_segments(segments, per_segment, file, lines, problems)
    if problems:
        raise ScenarioError(problems)
    out = {k: v for k, v in data.items() if k not in ("items", "skus", "segments")}
    out["skus"] = skus
    if segments is not None:
        out["segments"] = segments
    out["items"] = {**source.model_dump(mode="json"), "master_sha256": master_sha,
                    "history_sha256": history_sha, "calibrated": calibrated,
                    "demand_shares": _shares(data.get("segments")) if calibrated else None,
                    "classified_with": {"abc": list(source.abc_thresholds),
                                        "xyz": list(source.xyz_thresholds)}}
    return out


def _sku_document(row: Mapping[str, Any], record: Mapping[str, Any],
                  supplier_doc: Mapping[str, Any]) -> dict[str, Any]:
    """A scenario ``skus:`` entry from a master row and its fit record."""
    sku: dict[str, Any] = {"unit_cost": row["unit_cost"], "price": row["price"]}
    if row["holding_rate_per_year"] is not None:
        sku["holding_rate_per_year"] = row["holding_rate_per_year"]
    if row["lead_time_mean_days"] is not None:
        mean, std = row["lead_time_mean_days"], row["lead_time_std_days"] or 0.0
        lead = {"type": "gamma", "mean": mean, "std": std} if std > 0 and mean > 0 \
            else {"type": "constant", "value": mean}
        sku["supplier"] = {**supplier_doc, "lead_time_days": lead}
    policy = {key: row[column] for key, column in (
        ("type", "policy_type"), ("service_target", "service_target"),
        ("reorder_point", "reorder_point"), ("order_quantity", "order_quantity"),
        ("order_up_to", "order_up_to"), ("review_period_days", "review_period_days"))
        if row[column] is not None}
    if policy:
        sku["policy"] = policy
    if record["distribution"] is not None:
        sku["units_per_line"] = record["distribution"]
    sku["abc_class"] = record["abc_class"]
    sku["xyz_class"] = record["xyz_class"]
    return sku


def _apply_sku_changes(skus: dict[str, Any], given: Any, file: str,
                       lines: Mapping[tuple[Any, ...], int], fit: ItemsFit,
                       problems: list[Problem]) -> None:
    """The scenario's own ``skus:`` entries change fields of the master's SKUs; a SKU the
    master does not have is a problem."""
    if not isinstance(given, dict):
        return
    for name, override in given.items():
        if str(name) not in skus:
            problems.append(Problem(file, f"skus.{name}", NOT_SET,
                                    f"not in the item master {fit.master}; with items:, "
                                    "skus: only changes fields of the master's SKUs",
                                    lines.get(("skus", name))))
        elif isinstance(override, dict):
            skus[str(name)] = _merge(skus[str(name)], override)
        else:
            skus[str(name)] = override  # the schema reports it


def _calibrated_segments(segments: dict[Any, Any], per_segment: dict[str, dict[str, float]],
                         file: str, lines: Mapping[tuple[Any, ...], int],
                         problems: list[Problem]) -> dict[Any, Any]:
    """Segments whose SKU weights are the fitted lines per day of each SKU; a segment that
    gives its own weights or order interval, or that gets no demand, is a problem."""
    new_segments = {}
    for name, seg in segments.items():
        if isinstance(seg, dict):
            for key in ("order_interval_days", "sku_weights"):
                if key in seg:
                    problems.append(Problem(
                        file, f"segments.{name}.{key}", NOT_SET,
                        "must not be given with item demand: it is derived from the "
                        "item data (sku_weights = lines per day of each SKU; order "
                        "interval = customers x E[lines per order] / lines per day)",
                        lines.get(("segments", name, key))))
            seg = {**seg, "sku_weights": per_segment.get(str(name), {})}
        if not per_segment.get(str(name)):
            problems.append(Problem(
                file, f"segments.{name}", NOT_SET,
                "no demand of the item data falls to this segment (no history line "
                "names it and its demand_share is 0); remove the segment or give it "
                "demand", lines.get(("segments", name))))
        new_segments[name] = seg
    return new_segments


def load_with_fit(path: str | os.PathLike[str]) -> tuple[Any, ItemsFit | None]:
    """Load a scenario file and return it with the fit of its ``items:`` (None without);
    the same checks and messages as :func:`~servicesim.inputs.scenario_file.load_scenario`."""
    from ..scenario.serialise import _Document, _parse_yaml
    from ..scenario.validation import _dotted, _validate
    from .scenario_file import _read_text

    file = os.fspath(path)
    doc: _Document = _parse_yaml(_read_text(file), file)
    duplicates = [Problem(file, _dotted(key_path), NOT_SET,
                          f"duplicate key (also at line {first}); remove one of them", line)
                  for key_path, first, line in doc.duplicates]
    data = doc.data
    fit = None
    if isinstance(data, dict):
        data, fit = expand_items(data, file, doc.lines)
    return _validate(data, file, doc.lines, (), duplicates), fit
