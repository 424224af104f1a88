"""What the page shows, as rows of text: the key figures of today and the edited scenario
with their 95 % intervals and the paired difference (DOMAIN §3, §4, §6), and the theory
check per SKU (DOMAIN §5).  Framework-free, so that tests read them without a browser."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..experiment.compare import Comparison
from ..experiment.statistics import excludes_zero
from ..kpis import KPI_BY_KEY
from ..outputs.formatting import change_text, ci_text, fmt, unit_text
from .jobs import TheoryRow

PAGE_FIGURES = ("roi", "item_fill_rate", "cycle_service_level", "on_time_rate",
                "perfect_order_rate", "defections", "avg_inventory_value", "operating_profit",
                "economic_profit")
"""The figures of the page's table, in its order."""

METRIC_SYMBOL = {"fill_rate": "β (item fill rate)", "cycle_service_level":
                 "α (cycle service level)"}


@dataclass(frozen=True)
class FigureRow:
    """One figure: label, unit, today's and the edited mean and CI, the paired difference
    and its CI, and the difference's sign where its CI excludes 0 (+1, -1; else 0)."""

    key: str
    label: str
    unit: str
    today: str
    today_ci: str
    edited: str
    edited_ci: str
    change: str
    change_ci: str
    significant: int


def figure_rows(comparison: Comparison, figures: Sequence[str] = PAGE_FIGURES
                ) -> list[FigureRow]:
    """The table rows of a comparison of ``today`` (reference) and ``edited``."""
    currency = comparison.scenarios[0].finance.currency
    reference, other = comparison.labels[0], comparison.labels[1]
    out = []
    for key in figures:
        base, edit = comparison.row(key, reference), comparison.row(key, other)
        low, high = edit["diff_ci_low"], edit["diff_ci_high"]
        sign = 0
        if excludes_zero(low, high):
            sign = 1 if edit["diff"] > 0 else -1
        out.append(FigureRow(
            key, KPI_BY_KEY[key].label, unit_text(key, currency),
            fmt(key, base["mean"]), ci_text(key, base["ci_low"], base["ci_high"]),
            fmt(key, edit["mean"]), ci_text(key, edit["ci_low"], edit["ci_high"]),
            change_text(key, edit["diff"]) if edit["diff"] is not None else "n/a",
            ci_text(key, low, high, signed=True) if low is not None else "n/a", sign))
    return out


@dataclass(frozen=True)
class TheoryText:
    """One SKU of the theory check in words."""

    sku: str
    metric: str
    target: str
    predicted: str
    simulated: str
    simulated_ci: str
    gap: str
    within: bool
    """Whether the predicted value lies inside the simulated 95 % interval."""


def _pct(value: float | None, decimals: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{100 * value:.{decimals}f} %"


def theory_texts(rows: Sequence[TheoryRow]) -> list[TheoryText]:
    """The theory check's rows in words: target, predicted and simulated service (α or β)."""
    out = []
    for row in rows:
        mean, low, high = (row.simulated.get(k, math.nan) for k in ("mean", "ci_low",
                                                                       "ci_high"))
        predicted = row.predicted
        gap = "n/a" if predicted is None or not math.isfinite(mean) else \
            f"{100 * (mean - predicted):+.1f} points"
        within = predicted is not None and math.isfinite(low) and math.isfinite(high) and \
            low <= predicted <= high
        ci = f"{100 * low:.1f}–{100 * high:.1f} %" if math.isfinite(low) and \
            math.isfinite(high) else "n/a"
        out.append(TheoryText(row.sku, METRIC_SYMBOL.get(row.metric, row.metric),
                              _pct(row.target), _pct(predicted), _pct(mean), ci, gap, within))
    return out


THEORY_NOTE = (
    "The formula sets each SKU's reorder point (or order-up-to level) to the smallest one "
    "whose predicted service, from the lead-time demand distribution, meets the target. "
    "The simulation measures the same service with what the formula leaves out — customers "
    "who wait, switch or leave, lumpy order lines, orders that cross — so the two differ; "
    "a gap outside the 95 % interval is the formula's approximation, not chance.")
"""The two lines beside the theory table (DOMAIN §5)."""
