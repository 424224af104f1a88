"""The frontier on SKUs coupled through customers (DOMAIN §12): customers who order several
SKUs at once and defect after stockouts.

Ten SKUs from fast and cheap to slow and dear, sold to the baseline's two segments (key
accounts order about 2.5 lines, retail 1–3; both defect after stockouts, more so after
repeated ones), one simulated year after a 90-day warm-up.  The frontier runs with fixed
seeds; its recommendation is judged on fresh seeds against the best common target, and
the coupling is checked against the same scenario with defection switched off.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from servicesim import load_scenario
from servicesim.experiment.frontier import (
    FrontierResult,
    allocation_scenario,
    frontier,
    items_of,
)
from servicesim.experiment.replications import run_replications
from servicesim.experiment.statistics import paired_comparison
from servicesim.scenario.schema import Scenario
from servicesim.scenario.validation import scenario_from_dict

BASELINE = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"
SKUS = {  # name: (share of lines, unit cost); price = 1.3 × unit cost
    "A1": (20.0, 6.0), "A2": (12.0, 25.0), "A3": (8.0, 70.0), "B1": (5.0, 9.0),
    "B2": (3.0, 150.0), "B3": (2.0, 40.0), "C1": (1.2, 400.0), "C2": (0.8, 18.0),
    "C3": (0.5, 900.0), "C4": (0.3, 120.0),
}
SEED, CHECK_SEED = 11, 12
"""The frontier's seed (its search, refine and confirmation seeds are named from it), and
the root seed of the fresh check.  Tried offline with (11, 12), (21, 22), (31, 32) and
(20261207, 990001) at 30 check pairs: the recommendation led the best common target by
+0.87, +1.18, +0.54 and +0.35 ROI points (one-sided p of it being below: 0.96 to 1.00);
the first pair is kept, near the middle."""
SEARCH_REPLICATIONS, CONFIRM_REPLICATIONS = 4, 10
CHECK_REPLICATIONS = 50
"""Fresh paired replications of the recommendation and the best common target: the
difference's 95 % CI is about ±0.45 ROI points wide, against differences of 0.3 to 1.2."""
ALPHA = 0.05


def coupled(defection: bool = True) -> Scenario:
    """The coupled assortment; ``defection=False`` turns every defection into a switch
    (a lost sale of that line only) and stops stockouts raising the chance of one."""
    data = json.loads(load_scenario(BASELINE).model_dump_json())
    data["name"] = "coupled" if defection else "coupled-no-defection"
    data["run"].update(horizon_days=455.0, warmup_days=90.0)
    data["skus"] = {name: {"unit_cost": cost, "price": round(1.3 * cost, 2),
                           "holding_rate_per_year": 0.25}
                    for name, (_share, cost) in SKUS.items()}
    for segment in data["segments"].values():
        segment["sku_weights"] = {name: share for name, (share, _cost) in SKUS.items()}
        if not defection:
            reactions = segment["reactions"]
            reactions["switch"] += reactions["defect"]
            reactions["defect"] = 0.0
            segment["defect_increase_per_stockout"] = 0.0
    return scenario_from_dict(data, "coupled assortment")


@pytest.fixture(scope="module")
def frontier_of(tmp_path_factory: pytest.TempPathFactory
                ) -> Callable[[bool], tuple[Scenario, FrontierResult]]:
    """The frontier of the coupled scenario with or without defection, run once each."""
    made: dict[bool, tuple[Scenario, FrontierResult]] = {}

    def run(defection: bool) -> tuple[Scenario, FrontierResult]:
        if defection not in made:
            scenario = coupled(defection)
            result = frontier(scenario, replications=SEARCH_REPLICATIONS,
                              confirm_replications=CONFIRM_REPLICATIONS, seed=SEED,
                              workers=1, out_dir=tmp_path_factory.mktemp("frontier"))
            made[defection] = scenario, result
        return made[defection]

    return run


def _roi(scenario: Scenario, targets: dict[str, float]) -> np.ndarray:
    """ROI of ``scenario`` with these targets per SKU over the fresh check replications."""
    allocated = allocation_scenario(scenario, items_of(scenario), targets)
    runs = run_replications(allocated, CHECK_REPLICATIONS, CHECK_SEED)
    return np.array([r.kpis["roi"] for r in runs.results])


@pytest.mark.slow
def test_the_recommendation_is_not_significantly_below_the_best_common_target(
        frontier_of: Callable[[bool], tuple[Scenario, FrontierResult]]) -> None:
    """Per-SKU targets chosen on separable curves must not lose to one target for all
    once the SKUs are coupled: rerun on fresh seeds (common random numbers between the
    two), the recommended allocation's ROI is not significantly below the best common
    target's (one-sided paired t at 5 %)."""
    scenario, result = frontier_of(True)
    common = result.summary["best_common"]["target"]
    recommended = _roi(scenario, result.recommended)
    best_common = _roi(scenario, {sku: common for sku in scenario.skus})
    below = paired_comparison(best_common, recommended, alternative="greater")
    above = paired_comparison(recommended, best_common, alternative="two-sided")
    figures = (f"recommended − all at {100 * common:g} %: {100 * above['diff']:+.2f} ROI "
               f"points (95 % CI {100 * above['diff_ci_low']:+.2f} to "
               f"{100 * above['diff_ci_high']:+.2f}), one-sided p (recommended below) "
               f"{below['p_value']:.3f} over {below['n_common']} pairs; ROI recommended "
               f"{100 * recommended.mean():.2f} %, best common {100 * best_common.mean():.2f} %")
    print(figures)
    assert below["n_common"] == CHECK_REPLICATIONS
    assert below["p_value"] >= ALPHA, figures


def _margin_short_per_run(scenario: Scenario, directory: Path) -> list[float]:
    """The margin short (Σ over SKUs of (price − unit cost) × units not filled at once)
    of every common-target search run of a frontier folder."""
    allocations = json.loads((directory / "allocations.json").read_text(encoding="utf-8"))
    common = {int(k) for k, v in allocations.items()
              if v["phase"] == "search" and v["label"].startswith("all at")}
    margin = {s: sku.price - sku.unit_cost for s, sku in scenario.skus.items()}
    short: dict[tuple[int, int], float] = {}
    with (directory / "item_runs.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            key = (int(row["alternative"]), int(row["replication"]))
            if key[0] in common:
                units = float(row["units_ordered"]) - float(row["units_first"])
                short[key] = short.get(key, 0.0) + margin[row["stock_point"]] * units
    return list(short.values())


def _fitted(result: FrontierResult) -> np.poly1d:
    fit: Any = result.summary["prediction"]["profit_before_holding_in_margin_short"]
    return np.poly1d(fit)


@pytest.mark.slow
def test_defection_makes_a_unit_short_cost_more_in_the_fitted_prediction(
        frontier_of: Callable[[bool], tuple[Scenario, FrontierResult]]) -> None:
    """The prediction fits operating profit before holding cost as a curve in the margin
    short (the margin of the units not filled at once).  Without defection a stockout
    costs its line (a switch) or a backorder's recovery; with defection the same stockout
    can also cost the customer: every later order for every SKU, and the acquisitions
    word of mouth brings.  So by the model, over the same range of margin short, the
    fitted profit falls faster with defection on; the prediction that proposes the
    allocations sees the coupling only through this slope.  Compared as the fitted
    curves' mean slopes over the range of margin short both scenarios' common-target runs
    cover."""
    slopes, ranges = {}, {}
    for defection in (False, True):
        scenario, result = frontier_of(defection)
        assert result.directory is not None
        shorts = _margin_short_per_run(scenario, result.directory)
        ranges[defection] = (min(shorts), max(shorts))
    low = max(r[0] for r in ranges.values())
    high = min(r[1] for r in ranges.values())
    assert high > low, f"the common-target runs' margin short do not overlap: {ranges}"
    for defection in (False, True):
        fit = _fitted(frontier_of(defection)[1])
        slopes[defection] = (fit(high) - fit(low)) / (high - low)
    print(f"profit before holding per unit of margin short over {low:,.0f} to {high:,.0f}: "
          f"{slopes[False]:.2f} without defection, {slopes[True]:.2f} with")
    # a unit short costs: a lost line's margin, a backorder's recovery (a backordered unit
    # is sold later, so less than its margin without defection)
    assert slopes[False] < 0, slopes
    assert slopes[True] < slopes[False], slopes
