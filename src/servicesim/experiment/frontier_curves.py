"""Every item's curves over the search's common targets, and the objective predicted from
them (DOMAIN §4, §12)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..scenario.schema import Scenario
from .allocation import Path as FrontierPath
from .frontier_items import Item
from .frontier_runs import FIGURE_INDEX as _F
from .frontier_runs import INVESTMENT, Measured


@dataclass(frozen=True)
class Curves:
    """Every item's figures at each step of the search, per replication: ``data[item]``
    has shape (figures, steps, replications), figures :data:`ITEM_FIGURES`; ``totals``
    holds each step's whole-scenario figures per replication."""

    items: tuple[str, ...]
    values: dict[str, tuple[float, ...]]
    """Item → its value (target or level) at each step."""
    data: dict[str, np.ndarray]
    totals: dict[str, np.ndarray]
    margin_short: dict[str, np.ndarray]
    """Item → the gross margin of its units short (units short × unit margin, summed over
    its stock points): array (steps, replications)."""

    def per_replication(self, figure: str) -> dict[str, np.ndarray]:
        """One figure per item: array (steps, replications); ``units_short`` is units
        ordered − units filled at once, ``margin_short`` their gross margin."""
        if figure == "units_short":
            return {i: self.data[i][_F["units_ordered"]] - self.data[i][_F["units_first"]]
                    for i in self.items}
        if figure == "margin_short":
            return self.margin_short
        return {i: self.data[i][_F[figure]] for i in self.items}

    def mean(self, figure: str) -> dict[str, np.ndarray]:
        """One figure per item over the steps, mean over replications."""
        return {i: v.mean(axis=-1) for i, v in self.per_replication(figure).items()}

    @property
    def other_inventory(self) -> float:
        """Inventory value the items' own does not cover (a network's upstream stock and
        stock in transit; 0 for a single location), mean over the common-target runs: added
        to the items' sum, it gives the scenario's average inventory value."""
        if INVESTMENT not in self.totals:
            return 0.0
        return float(self.totals[INVESTMENT].mean() - self.total(INVESTMENT).mean())

    def total(self, figure: str) -> np.ndarray:
        """One figure summed over items at each step (all items at that step)."""
        return sum(self.mean(figure).values())  # type: ignore[return-value]


def curves_from(measured: Measured, items: Sequence[Item], steps: int, replications: int,
                values: Mapping[str, Sequence[float]], figures: Sequence[str],
                margins: Mapping[str, float]) -> Curves:
    """The curves of the search's first ``steps`` alternatives; ``margins``: each stock
    point's gross margin per unit (price − unit cost)."""
    index = {p: k for k, p in enumerate(measured.points)}
    stacked = [measured.stack(j, replications) for j in range(steps)]  # (points, figs, reps)
    data, margin_short = {}, {}
    for item in items:
        rows = [index[p] for p in item.points]
        unit = np.array([margins[p] for p in item.points])[:, None]
        data[item.name] = np.stack([s[rows].sum(axis=0) for s in stacked], axis=1)
        margin_short[item.name] = np.stack([
            (unit * (s[rows, _F["units_ordered"]] - s[rows, _F["units_first"]])).sum(axis=0)
            for s in stacked])
    totals = {name: np.array([measured.figure(j, replications, name) for j in range(steps)])
              for name in figures}
    return Curves(tuple(i.name for i in items), {k: tuple(v) for k, v in values.items()},
                  data, totals, margin_short)


def unit_margins(scenario: Scenario, points: Sequence[str]) -> dict[str, float]:
    """Every stock point's gross margin per unit: its SKU's price − unit cost."""
    skus = scenario.skus
    return {p: skus[p.rpartition("/")[2]].price - skus[p.rpartition("/")[2]].unit_cost
            for p in points}


# -------------------------------------------------------------------------- prediction


@dataclass(frozen=True)
class Prediction:
    """The objective of an allocation predicted from per-item figures (DOMAIN §4, §12).

    Operating profit before holding cost, and capital employed beyond inventory, are each
    fitted over the common-target runs as a curve (a quadratic) in the *margin short*: the
    gross margin of the units demanded but not filled at once from stock, summed over
    items.  A unit short of a dear SKU weighs more than one of a cheap SKU, as a lost sale
    does; the fit measures on the whole scenario what shortage costs beyond that (recovery
    and backorder costs, customers who defect and stop buying every SKU), so it carries the
    coupling between SKUs to first order.  Marginal analysis needs separable values: it
    gets the curve's tangent at the allocation chosen so far, and the choice is repeated at
    the new tangent until it stays (:func:`_choose`).  The prediction only proposes: the
    search along the frontier and the confirmation runs judge allocations whole.
    """

    profit_fit: tuple[float, ...]
    """Polynomial (highest power first) of operating profit before holding cost in the
    margin short."""
    capital_fit: tuple[float, ...]
    """Polynomial of capital employed beyond inventory in the margin short."""
    years: float
    cost_of_capital: float

    @classmethod
    def fit(cls, curves: Curves, years: float, cost_of_capital: float) -> Prediction:
        holding, inventory, short = (curves.total(k) for k in (
            "holding_cost", INVESTMENT, "margin_short"))
        profit = curves.totals["operating_profit"].mean(axis=-1)
        capital = curves.totals["capital_employed"].mean(axis=-1)
        return cls(_poly(short, profit + holding), _poly(short, capital - inventory),
                   years, cost_of_capital)

    def values(self, curves: Curves, short: float
               ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Per item and step, linearised at ``short`` margin short in all: its part of
        operating profit (−holding + the profit curve's slope × its margin short) and of
        capital employed (inventory + the capital curve's slope × its margin short)."""
        a = float(np.polyval(np.polyder(self.profit_fit), short))
        b = float(np.polyval(np.polyder(self.capital_fit), short))
        holding, inventory, shorts = (curves.mean(k) for k in (
            "holding_cost", INVESTMENT, "margin_short"))
        return ({i: a * shorts[i] - holding[i] for i in curves.items},
                {i: inventory[i] + b * shorts[i] for i in curves.items})

    def objective(self, name: str, holding: np.ndarray, inventory: np.ndarray,
                  short: np.ndarray) -> np.ndarray:
        """The objective at total holding cost, inventory value and margin short."""
        profit = np.polyval(self.profit_fit, short) - holding
        employed = inventory + np.polyval(self.capital_fit, short)
        if name == "roi":
            return profit / self.years / employed
        if name == "economic_profit":
            return profit - self.cost_of_capital * employed * self.years
        return profit

    def along(self, name: str, curves: Curves, path: FrontierPath) -> np.ndarray:
        """The objective predicted at every point of ``path``."""
        return self.objective(name, *(path.totals(curves.mean(k)) for k in (
            "holding_cost", INVESTMENT, "margin_short")))


def _poly(x: np.ndarray, y: np.ndarray) -> tuple[float, ...]:
    """Least-squares quadratic (a line with three points or fewer; a constant when x does
    not vary), highest power first."""
    if np.ptp(x) <= 1e-12 * max(1.0, float(np.abs(x).max())):
        return (float(np.mean(y)),)
    degree = 2 if len(x) > 3 else 1
    return tuple(float(c) for c in np.polyfit(x, y, degree))
