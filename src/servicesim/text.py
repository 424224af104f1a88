"""Plain-text tables for people: columns as wide as their widest cell, two spaces apart."""

from __future__ import annotations

from collections.abc import Sequence


def column_widths(rows: Sequence[Sequence[str]]) -> list[int]:
    """The width of each column: its longest cell (every row has the same number of cells)."""
    return [max(len(cell) for cell in column) for column in zip(*rows, strict=True)]


def aligned_line(cells: Sequence[str], widths: Sequence[int], left: int = 1,
                 strip: bool = True) -> str:
    """One line of a table: the first ``left`` cells padded on the right (text), the others
    on the left (numbers), two spaces apart; trailing blanks removed with ``strip``."""
    line = "  ".join(cell.ljust(width) if i < left else cell.rjust(width)
                     for i, (cell, width) in enumerate(zip(cells, widths, strict=True)))
    return line.rstrip() if strip else line


def aligned_lines(rows: Sequence[Sequence[str]], left: int = 1, strip: bool = True
                  ) -> list[str]:
    """Every row as an :func:`aligned_line`, with the columns as wide as their widest cell."""
    widths = column_widths(rows)
    return [aligned_line(row, widths, left, strip) for row in rows]


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, an ellipsis marking a cut."""
    return text if len(text) <= width else text[: width - 1] + "…"
