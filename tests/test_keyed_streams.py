"""Common random numbers keyed by names, never by positions (DOMAIN §2, STYLE habit 4).

Listing the SKUs of a scenario (or the rows of an item master) in another order changes no
figure; a change to one SKU leaves another SKU's reaction draws, and so its fill rate, alone;
a new segment leaves the other segments' arrivals alone.

How figures are compared: every figure of a SKU and of a segment is a sum over that SKU's or
segment's own events, so it must be equal to the bit.  The run's totals add the SKUs' figures
up in the scenario's order, so they may differ in the last bits (floating-point summation
order): they are compared to a relative 1e-12.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

import pytest

from servicesim.model.simulation import ReplicationResult, simulate
from servicesim.scenario.schema import Scenario
from test_scale import generated, three_skus  # noqa: F401  (a fixture)

ROOT = Path(__file__).resolve().parents[1]


def reversed_skus(sc: Scenario) -> Scenario:
    data = sc.model_dump()
    data["skus"] = dict(reversed(list(data["skus"].items())))
    return Scenario.model_validate(data)


def assert_same_figures(a: ReplicationResult, b: ReplicationResult) -> None:
    """Per SKU and per segment to the bit; totals up to summation order."""
    assert set(a.by_sku) == set(b.by_sku)
    for name, row in a.by_sku.items():
        assert repr(row) == repr(b.by_sku[name]), name
    assert list(a.by_segment) == list(b.by_segment)
    for name, row in a.by_segment.items():
        assert row == pytest.approx(b.by_segment[name], rel=1e-12, abs=1e-9,
                                    nan_ok=True), name
    for key in (*a.kpis, *a.details):
        x = a.kpis.get(key, a.details.get(key))
        y = b.kpis.get(key, b.details.get(key))
        assert x == pytest.approx(y, rel=1e-12, abs=1e-9, nan_ok=True), key


def short(sc: Scenario, horizon_days: float) -> Scenario:
    run = sc.run.model_copy(update={"horizon_days": horizon_days,
                                    "warmup_days": min(sc.run.warmup_days,
                                                       horizon_days / 4)})
    return sc.model_copy(update={"run": run})


# --------------------------------------------------------------------------- SKU order


def test_listing_the_skus_in_reverse_changes_no_figure() -> None:
    from servicesim.inputs.scenario_file import load_scenario

    sc = short(load_scenario(ROOT / "scenarios" / "baseline.yaml"), 365.0)
    back = reversed_skus(sc)
    assert list(back.skus) == list(reversed(sc.skus))
    for seed in (1, 2):
        assert_same_figures(simulate(sc, seed), simulate(back, seed))


def test_reversing_the_rows_of_an_item_master_changes_no_figure(
        generated: Path, tmp_path: Path) -> None:  # noqa: F811
    from servicesim.inputs.scenario_file import load_scenario

    folder = tmp_path / "reversed"
    shutil.copytree(generated.parent, folder)
    master = folder / "items.csv"
    with master.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    with master.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows([rows[0], *reversed(rows[1:])])
    sc = load_scenario(generated)
    back = load_scenario(folder / generated.name)
    assert list(back.skus) == list(reversed(sc.skus))
    assert_same_figures(simulate(sc, 3), simulate(back, 3))


# --------------------------------------------------------------------------- one SKU's change


MIXED = {"wait": 0.3, "backorder": 0.4, "switch": 0.3}


def mixed(**sku_b: Any) -> Scenario:
    """:func:`test_scale.three_skus` with a mixed reaction mix (no defection: the
    customers stay, so B can reach A only through the random numbers)."""
    data = three_skus(**sku_b).model_dump()
    data["segments"]["s"]["reactions"] = MIXED
    data["segments"]["s"]["patience_days"] = {"type": "exponential", "mean": 2.0}
    return Scenario.model_validate(data)


A_FIGURES = ("item_fill_rate", "line_fill_rate", "units_ordered", "lost_sales_units",
             "backordered_units", "purchase_orders", "avg_on_hand_units",
             "avg_backorder_units", "cycle_service_level", "ready_rate")


@pytest.mark.parametrize("change", [
    pytest.param({"units_per_line": {"type": "poisson", "mean": 6.0}}, id="quantity"),
    pytest.param({"policy": {"order_quantity": 7}}, id="order_quantity"),
    pytest.param({"supplier": {"lead_time_days": {"type": "gamma", "mean": 12.0,
                                                  "std": 4.0}}}, id="lead_time"),
])
def test_a_change_to_one_sku_leaves_another_skus_fill_rate_alone(change: dict) -> None:
    base, changed = simulate(mixed(), 5), simulate(mixed(**change), 5)
    b0, b1 = base.by_sku["B"], changed.by_sku["B"]
    assert b0["lost_sales_units"] != b1["lost_sales_units"]  # B's stockouts did change
    for sku in ("A", "C"):
        for key in A_FIGURES:
            assert repr(changed.by_sku[sku][key]) == repr(base.by_sku[sku][key]), (sku, key)
    assert base.by_sku["A"]["item_fill_rate"] < 1.0  # A meets stockouts of its own


# --------------------------------------------------------------------------- a new segment


def test_adding_a_segment_leaves_the_other_segments_arrivals_alone() -> None:
    """The baseline's segments lose no customers (no defection, no acquisition), so their
    order counts depend only on their arrival streams; a third segment, Poisson too (it
    joins the merged arrival process) or not, changes neither count."""
    from servicesim.inputs.scenario_file import load_scenario

    data = short(load_scenario(ROOT / "scenarios" / "baseline.yaml"), 300.0).model_dump()
    for seg in data["segments"].values():
        seg["reactions"] = MIXED
        seg["acquisition"] = {}
        seg["defect_increase_per_stockout"] = 0.0
    base = simulate(Scenario.model_validate(data), 4)
    for gaps in ({"type": "exponential", "mean": 3.0},
                 {"type": "gamma", "mean": 3.0, "std": 1.0}):
        more = {**data, "segments": {"aaa": {"customers": 30, "order_interval_days": gaps},
                                     **data["segments"]}}
        r = simulate(Scenario.model_validate(more), 4)
        for name in data["segments"]:
            assert r.by_segment[name]["orders"] == base.by_segment[name]["orders"], name


def test_a_segment_draws_the_same_whether_or_not_it_shares_the_merged_arrivals() -> None:
    """A segment of one customer (at first) draws its customer choice for every order,
    alone or merged with another Poisson segment: after acquisitions, the same customers
    order, meet the same stockouts and defect alike (their chance of defecting grows with
    the stockouts each has met), so its figures do not change when a segment buying other
    SKUs is added."""
    solo = {"customers": 1, "sku_weights": {"S": 1.0},
            "order_interval_days": {"type": "exponential", "mean": 1.0},
            "reactions": {"switch": 0.8, "defect": 0.2},
            "defect_increase_per_stockout": 0.3,
            "acquisition": {"customers_per_year": 40.0}}
    data = {"name": "solo", "run": {"horizon_days": 400.0, "warmup_days": 0.0},
            "policy": {"type": "sQ", "service_target": 0.6},
            "skus": {"S": {}, "T": {}},
            "segments": {"solo": solo},
            "supplier": {"lead_time_days": {"type": "uniform", "low": 2.0, "high": 9.0}}}
    alone = simulate(Scenario.model_validate(data), 6)
    other = {"customers": 20, "sku_weights": {"T": 1.0}}
    both = simulate(Scenario.model_validate(
        {**data, "segments": {"other": other, "solo": solo}}), 6)
    assert alone.by_segment["solo"]["defections"] > 3
    assert alone.by_segment["solo"]["customers_acquired"] > 10
    assert repr(both.by_segment["solo"]) == repr(alone.by_segment["solo"])
    assert repr(both.by_sku["S"]) == repr(alone.by_sku["S"])
