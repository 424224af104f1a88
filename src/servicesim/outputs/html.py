"""The building blocks of the HTML reports: the page (style for screen and print), tables
whose header repeats on every printed page, embedded charts and the assumption tables."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .assumptions import Table

__all__ = ["CSS", "e", "figure", "html_table", "page", "plain_table"]

CSS = """
:root { --ink: #1d2430; --muted: #5a6372; --line: #d9dee5; --accent: #0072B2;
        --best: #ffe9a8; --nw: #e3f1fa; --today: #ececec; }
* { box-sizing: border-box; }
body { font: 15px/1.5 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: var(--ink); max-width: 1180px; margin: 2rem auto; padding: 0 1.25rem; }
h1 { font-size: 1.9rem; margin: 0 0 .2rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; border-bottom: 2px solid var(--line);
     padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
.meta { color: var(--muted); margin: 0 0 1.2rem; }
.summary { font-size: 1.12rem; background: #f3f7fb; border-left: 5px solid var(--accent);
           padding: .9rem 1.1rem; margin: 1rem 0; }
.note { background: #fff8e6; border-left: 5px solid #E69F00; padding: .7rem 1rem; }
figure { margin: 1.2rem 0 2rem; break-inside: avoid; page-break-inside: avoid; }
figure img { width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: .9em; }
.table-wrap { overflow-x: auto; margin: .4rem 0 1.2rem; }
.table-wrap.whole, section.whole { break-inside: avoid; page-break-inside: avoid; }
table { border-collapse: collapse; font-size: .85rem; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: .3em .55em; text-align: right;
         vertical-align: top; }
td { white-space: nowrap; }
th { font-weight: 600; background: #f5f6f8; }
th:first-child, td:first-child, .text td, .text th { text-align: left; }
.text td { white-space: normal; }
thead tr.group th { background: #e8ebef; text-align: left; font-size: 1.05em; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
tr.best td { background: var(--best); font-weight: 600; }
tr.nw td { background: var(--nw); }
tr.today td { background: var(--today); }
.ci { display: block; color: var(--muted); font-size: .85em; }
.unit { color: var(--muted); font-weight: normal; }
pre { background: #f7f7f9; border: 1px solid var(--line); padding: .8rem; overflow-x: auto;
      font-size: .82rem; }
.legend span { display: inline-block; padding: 0 .5rem; margin-right: .6rem; }
footer { color: var(--muted); font-size: .8rem; margin-top: 3rem; }
@page { margin: 14mm 12mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  h1 { font-size: 17pt; }
  h2 { font-size: 13pt; break-after: avoid; page-break-after: avoid; }
  h2, h3, .legend, .keep { break-after: avoid; page-break-after: avoid; }
  .table-wrap { overflow: visible; }
  table { font-size: 7.5pt; width: 100%; }
  th, td { padding: .25em .4em; }
  .text td { font-size: 7.5pt; }
  pre { white-space: pre-wrap; font-size: 7pt; }
  figure img { max-height: 11cm; width: auto; max-width: 100%; }
  .appendix { break-before: page; page-break-before: always; }
  a { color: inherit; text-decoration: none; }
}
"""


def e(text: Any) -> str:
    """Text escaped for HTML."""
    return html.escape(str(text), quote=True)


WHOLE_ROWS = 36
"""Tables of at most this many rows are kept on one printed page; longer ones break
between rows and repeat their header."""


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]], *,
               group: str | None = None, row_classes: Sequence[str] | None = None,
               klass: str = "", raw: bool = False) -> str:
    """A table whose ``<thead>`` (with ``group`` as a title row) repeats on every printed
    page; cells are escaped unless ``raw`` (then the caller escaped them)."""
    cell = (lambda x: x) if raw else e
    head = ""
    if group:
        head += f'<tr class="group"><th colspan="{len(header)}">{e(group)}</th></tr>'
    head += "<tr>" + "".join(f"<th>{cell(h)}</th>" for h in header) + "</tr>"
    body = []
    for i, row in enumerate(rows):
        k = row_classes[i] if row_classes else ""
        body.append((f'<tr class="{k}">' if k else "<tr>")
                    + "".join(f"<td>{cell(c)}</td>" for c in row) + "</tr>")
    whole = " whole" if len(rows) <= WHOLE_ROWS else ""
    return (f'<div class="table-wrap{whole}"><table class="{e(klass)}"><thead>{head}</thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


PAGE_ROWS = 40
"""An assumption table in a printed report shows at most this many rows (a 1,000-SKU item
master would fill 40 pages); the workbook's Assumptions sheet has them all."""

PAGE_YAML_LINES = 250
"""The scenario's YAML in a printed report's appendix is cut after this many lines; the
results folder's ``scenario.yaml`` and the workbook's Scenario sheet have it whole."""


def plain_table(table: Table) -> str:
    """One assumption table (text cells, left-aligned, wrapping); a long one shows its
    first :data:`PAGE_ROWS` rows and says where the rest is."""
    rows = table.rows
    notes = [table.note] if table.note else []
    if len(rows) > PAGE_ROWS:
        notes.append(f"The first {PAGE_ROWS} of {len(rows):,} rows; the workbook's "
                     "Assumptions sheet has every one.")
        rows = rows[:PAGE_ROWS]
    note = "".join(f"<p>{e(n)}</p>" for n in notes)
    return (f"<h3>{e(table.title)}</h3>" + note
            + html_table(table.header, rows, klass="text"))


def page_yaml(text: str) -> str:
    """The scenario's YAML for a printed appendix, cut after :data:`PAGE_YAML_LINES` lines
    with a line saying where the whole file is."""
    lines = text.splitlines()
    if len(lines) <= PAGE_YAML_LINES:
        return text
    return "\n".join(lines[:PAGE_YAML_LINES]) + (
        f"\n# ... {len(lines) - PAGE_YAML_LINES:,} more lines: the whole file is scenario.yaml "
        "in the results folder and the workbook's Scenario sheet\n")


EMBED_WIDTH = 1800
"""Embedded charts are scaled down to this width in pixels (the 300 dpi files stay)."""


def _embedded_png(path: Path) -> bytes:
    """The chart's PNG, scaled down for the page (about 240 dpi on A4) and reduced to 256
    colours (about a tenth of the bytes) when Pillow, which matplotlib requires, can do it;
    the file as it is otherwise."""
    data = path.read_bytes()
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            if image.width <= EMBED_WIDTH:
                return data
            height = round(image.height * EMBED_WIDTH / image.width)
            small = image.convert("RGB").resize((EMBED_WIDTH, height), Image.Resampling.LANCZOS)
            small = small.quantize(256, method=Image.Quantize.MEDIANCUT)  # flat chart colours
            buffer = io.BytesIO()
            small.save(buffer, format="PNG", optimize=True)
            return buffer.getvalue()
    except Exception:  # noqa: BLE001 - an unreadable image is embedded unchanged
        return data


def figure(path: Path, caption: str) -> str:
    """A chart embedded as a base64 PNG with its caption."""
    data = base64.b64encode(_embedded_png(path)).decode("ascii")
    return (f'<figure><img alt="{e(path.stem)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{e(caption)}</figcaption></figure>")


def page(title: str, body: str) -> str:
    """A complete, self-contained HTML document."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title>
<style>{CSS}</style>
</head>
<body>
{body}
</body>
</html>
"""
