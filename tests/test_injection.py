"""Text a user wrote (a description, a label, a parameter value) never becomes a formula in a
spreadsheet: CSV cells that a spreadsheet would read as a formula are neutralised with a
leading apostrophe (OWASP's advice against CSV injection) and read back exactly; workbook
cells hold such text as text."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from servicesim.experiment.compare import compare
from servicesim.experiment.store import parse_cell
from servicesim.files import FORMULA_START, csv_cell
from servicesim.scenario.schema import Scenario
from sweep_helpers import TINY

HOSTILE = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1",
           "'=already quoted", "''=twice", "=HYPERLINK(\"http://x\")"]


def test_hostile_text_is_neutralised_and_read_back() -> None:
    for text in HOSTILE:
        cell = csv_cell(text)
        assert not cell.startswith(FORMULA_START), cell
        assert parse_cell(cell) == text
    assert csv_cell("plain") == "plain" and csv_cell(-2.5) == "-2.5"  # numbers stay numbers


@given(st.text(min_size=1))
def test_any_text_round_trips(text: str) -> None:
    cell = csv_cell(text)
    assert not cell.startswith(FORMULA_START)
    back = parse_cell(cell)
    assert back == text or not isinstance(back, str)  # text that looks like JSON reads as data


def test_a_hostile_label_is_text_in_every_csv_of_a_comparison(tmp_path: Path) -> None:
    base = Scenario.model_validate({**TINY, "run": {**TINY["run"], "replications": 2}})
    other = Scenario.model_validate({**base.model_dump(), "description": HOSTILE[0]})
    result = compare([base, other], ["base", HOSTILE[0]], replications=2, workers=1,
                     out_dir=tmp_path)
    assert result.directory is not None
    for name in ("runs.csv", "comparison.csv"):
        text = (result.directory / name).read_text(encoding="utf-8")
        cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
        assert "'" + HOSTILE[0] in cells, name
        assert not any(c.startswith(FORMULA_START) and not _number(c) for c in cells), name


def test_workbook_cells_that_read_as_formulas_stay_text(tmp_path: Path) -> None:
    from openpyxl import Workbook, load_workbook

    from servicesim.outputs.workbook import add_sheet

    workbook = Workbook()
    add_sheet(workbook, "Runs", ["label", "=header"], [[text, 1.5] for text in HOSTILE])
    path = tmp_path / "book.xlsx"
    workbook.save(path)
    sheet = load_workbook(path)["Runs"]
    values = [row for row in sheet.iter_rows(values_only=True)]
    assert values[0] == ("label", "=header")
    # the workbook's XML keeps a carriage return as a line feed
    assert [v[0] for v in values[1:]] == [t.replace("\r", "\n") for t in HOSTILE]
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
