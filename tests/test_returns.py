"""Returns and reverse logistics (DOMAIN §10): off by default, exact counts and money on tiny
constant cases, scrap against restock, the statistics of the return draws, the receipt's
path for restocked units, and bad input named by key."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from servicesim.errors import ScenarioError
from servicesim.inputs.scenario_file import load_scenario
from servicesim.model.simulation import ServiceModel, simulate
from servicesim.model.stock import _Stock
from servicesim.scenario.schema import Scenario
from servicesim.scenario.serialise import dump_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
BASELINE, RETURNS = SCENARIOS / "baseline.yaml", SCENARIOS / "returns.yaml"
NEW_KPIS = ("return_rate", "units_returned", "units_restocked", "units_scrapped", "refunds",
            "reverse_logistics_cost")


def constant(returns: dict[str, Any], reverse: dict[str, Any] | None = None,
             **changes: Any) -> Scenario:
    """One customer orders 3 units of A every day (days 1, 2, ...); 100 on hand, never
    reordered; no processing, transit 1 day: deliveries on days 2, 3, ...; horizon 10.2."""
    doc: dict[str, Any] = {
        "name": "returns-tiny",
        "run": {"horizon_days": 10.2, "warmup_days": 0.0},
        "policy": {"type": "sQ", "reorder_point": 0, "order_quantity": 10,
                   "service_target": None},
        "skus": {"A": {"unit_cost": 10.0, "price": 15.0, "initial_on_hand": 100}},
        "segments": {"c": {"customers": 1,
                           "order_interval_days": {"type": "constant", "value": 1.0},
                           "units_per_line": 3,
                           "reactions": {"backorder": 1.0},
                           "returns": {"delay_days": 2.0, **returns}}},
        "outbound": {"transit_days": 1.0},
        "reverse_logistics": {"processing_days": 0.5, **(reverse or {})},
    }
    doc.update(changes)
    return Scenario.model_validate(doc)


# ------------------------------------------------------------------------ off by default


def test_off_by_default_the_dump_and_every_figure_are_unchanged() -> None:
    """No returns keys: no new keys in the dump; returns on at probability 0 (the plain order
    path instead of the inlined one, the hooks asked) moves no figure of the run."""
    off = load_scenario(BASELINE)
    text = dump_scenario(off)
    assert "returns" not in text and "reverse_logistics" not in text
    zero = load_scenario(BASELINE, ["segments.retail.returns={customer: 0}",
                                    "segments.key_accounts.returns={wrong: 0}"])
    a, b = simulate(off, 5), simulate(zero, 5)
    assert repr(a.kpis) == repr(b.kpis)
    for name, row in a.by_sku.items():
        assert {k: b.by_sku[name][k] for k in row} == pytest.approx(row, nan_ok=True)
    assert [a.kpis[k] for k in NEW_KPIS] == [0.0] * 6


def test_an_inlined_run_without_quality_draws_is_unchanged_by_zero_returns() -> None:
    """The merged arrivals' inlined loop (no processing queue, quality draws or trace) and
    the plain path it falls back to when returns are on give the same figures."""
    base = load_scenario(BASELINE, ["quality.damage_probability=0",
                                    "quality.documentation_error_probability=0",
                                    "run.horizon_days=400"])
    zero = base.model_copy(update={"segments": {
        name: seg.model_copy(update={"returns": load_scenario(
            BASELINE, ["segments.retail.returns={customer: 0}"]).segments["retail"].returns})
        for name, seg in base.segments.items()}})
    a, b = simulate(base, 3), simulate(zero, 3)
    for key, value in a.kpis.items():
        assert b.kpis[key] == pytest.approx(value, rel=1e-12, nan_ok=True), key


# ------------------------------------------------------------------- exact tiny cases


def test_every_unit_comes_back_exact_counts_money_and_stock() -> None:
    """Probability 1 of customer returns, constant times: deliveries on days 2..10 (27
    units), back on days 4..10 (7 shipments, 21 units, refunded), restocked half a day
    later on days 4.5..9.5 (18 units); 3 units in processing and 6 still coming back at the
    horizon."""
    sc = constant({"customer": 1.0}, {"cost_per_unit": 1.0, "cost_per_shipment": 4.0})
    model = ServiceModel(sc, 1)
    r = model.run()
    k, d = r.kpis, r.details
    assert d["units_delivered"] == 27
    assert (k["units_returned"], k["units_restocked"], k["units_scrapped"]) == (21, 18, 0)
    assert k["return_rate"] == 21 / 27
    assert k["refunds"] == 21 * 15.0
    assert k["revenue"] == 27 * 15.0 - 21 * 15.0
    assert k["gross_margin"] == 27 * 5.0 - 21 * 15.0 + 18 * 10.0  # restocked cost is back
    assert k["reverse_logistics_cost"] == 21 * 1.0 + 7 * 4.0
    assert d["return_shipments"] == 7 and d["units_returned_customer"] == 21
    assert (d["total_units_delivered_returnable"], d["total_units_kept"],
            d["total_units_returned"], d["total_units_coming_back"]) == (27, 0, 21, 6)
    assert (d["total_units_restocked"], d["total_units_scrapped"],
            d["total_units_in_processing"]) == (18, 0, 3)
    # 10 orders of 3 leave, 18 units come back on hand (restocks at 4.5, 5.5, ..., 9.5)
    (st,) = model.stocks
    assert st.on_hand == 100 - 30 + 18 and st.on_order == 0 and st.pos == 0
    h = 10.2
    area = 100 * h - sum(3 * (h - t) for t in range(1, 11)) \
        + sum(3 * (h - (t + 0.5)) for t in range(4, 10))
    assert k["avg_on_hand_units"] == pytest.approx(area / h, rel=1e-12)
    assert r.by_sku["A"]["units_returned"] == 21 and r.by_sku["A"]["refunds"] == 315.0
    seg = r.by_segment["c"]
    assert seg["units_returned"] == 21 and seg["reverse_logistics_cost"] == 49.0
    assert seg["revenue"] == 90.0 and seg["return_rate"] == 21 / 27


def test_the_logistics_cost_and_profit_carry_the_reverse_cost() -> None:
    plain = simulate(constant({"customer": 1.0}), 1)
    costly = simulate(constant({"customer": 1.0}, {"cost_per_unit": 1.0,
                                                    "cost_per_shipment": 4.0}), 1)
    assert costly.details["logistics_cost"] - plain.details["logistics_cost"] == 49.0
    assert plain.kpis["operating_profit"] - costly.kpis["operating_profit"] == \
        pytest.approx(49.0)


def test_damaged_units_are_scrapped_or_repaired_and_restocked() -> None:
    scrapped = ServiceModel(constant({"damaged": 1.0}), 1)
    k = scrapped.run().kpis
    assert (k["units_returned"], k["units_restocked"], k["units_scrapped"]) == (21, 0, 18)
    assert k["gross_margin"] == 27 * 5.0 - 21 * 15.0  # a scrapped unit's cost is lost
    assert scrapped.stocks[0].on_hand == 100 - 30
    repaired = ServiceModel(constant({"damaged": 1.0}, {"repair_share": 1.0,
                                                        "repair_cost_per_unit": 2.0}), 1)
    r = repaired.run()
    assert (r.kpis["units_restocked"], r.kpis["units_scrapped"]) == (18, 0)
    assert r.details["units_repaired"] == 18 and r.details["repair_cost"] == 36.0
    assert r.kpis["reverse_logistics_cost"] == 36.0
    assert repaired.stocks[0].on_hand == 100 - 30 + 18


def test_wrong_units_are_restocked() -> None:
    k = simulate(constant({"wrong": 1.0}), 1).kpis
    assert (k["units_restocked"], k["units_scrapped"]) == (18, 0)


def test_restocked_units_fill_backorders_first() -> None:
    """With 3 units on hand and no replenishment, the second order onwards is backordered;
    the first order's units, back and restocked on day 4.5, ship to the oldest backorder."""
    sc = constant({"customer": 1.0}, skus={"A": {"unit_cost": 10.0, "price": 15.0,
                                                 "initial_on_hand": 3}},
                  policy={"type": "sQ", "reorder_point": -1000, "order_quantity": 1,
                          "service_target": None})
    r = simulate(sc, 1, trace=True)
    assert r.trace is not None
    events = [(t, kind) for t, kind, _ in r.trace if kind in ("restock", "ship_extra")]
    assert events[:2] == [(4.5, "restock"), (4.5, "ship_extra")]
    d = r.details
    assert d["total_units_demanded"] == d["total_units_shipped"] \
        + d["total_units_backordered_open"] + d["total_units_lost"] + d["total_units_waiting"]
    assert d["total_units_delivered_returnable"] == d["total_units_kept"] \
        + d["total_units_returned"] + d["total_units_coming_back"]


def test_a_restock_is_no_replenishment_cycle() -> None:
    """Restocked units leave the cycle counts (receipts) and the units on order alone."""
    r = simulate(constant({"customer": 1.0}), 1)
    assert math.isnan(r.kpis["cycle_service_level"])  # no purchase order was ever received
    assert r.details["avg_on_order_units"] == 0.0


# ---------------------------------------------------------------------------- statistics


def test_return_rate_matches_the_probabilities() -> None:
    """Many units, no delay: units back ÷ units delivered and each reason's share lie within
    4 standard errors of the configured probabilities; a SKU with its own probabilities
    returns at its own rate."""
    sc = Scenario.model_validate({
        "name": "returns-rate", "run": {"horizon_days": 400.0, "warmup_days": 0.0},
        "policy": {"type": "sQ", "service_target": 0.99},
        "skus": {"A": {}, "B": {"returns": {"customer": 0.3}}},
        "segments": {"c": {"customers": 200, "units_per_line": 2,
                           "order_interval_days": {"type": "exponential", "mean": 2.0},
                           "returns": {"damaged": 0.02, "wrong": 0.03, "customer": 0.05,
                                       "delay_days": 0.0}}},
    })
    r = simulate(sc, 7)
    for sku, p in (("A", 0.10), ("B", 0.30)):
        row = r.by_sku[sku]
        n = row["units_delivered"]
        assert n > 10_000
        assert abs(row["return_rate"] - p) < 4 * math.sqrt(p * (1 - p) / n), (sku, row)
    n_a = r.by_sku["A"]["units_delivered"]
    d = r.details
    for reason, p in (("damaged", 0.02), ("wrong", 0.03)):  # only A comes back so
        assert abs(d[f"units_returned_{reason}"] / n_a - p) < 4 * math.sqrt(p * (1 - p) / n_a)


def test_fast_paths_give_the_same_figures_with_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Look-ahead and fast lines on, or every order through the event queue and every line
    on the full path: the same figures with returns and restocks."""
    sc = load_scenario(RETURNS, ["run.horizon_days=300"])
    fast = simulate(sc, 4)
    monkeypatch.setattr(ServiceModel, "_LOOKAHEAD", False)
    monkeypatch.setattr(_Stock, "fast_lines", False)
    slow = simulate(sc, 4)
    for key in (*fast.kpis, *fast.details):
        x = fast.kpis.get(key, fast.details.get(key))
        y = slow.kpis.get(key, slow.details.get(key))
        assert x == pytest.approx(y, rel=1e-9, abs=1e-9, nan_ok=True), key


def test_returns_of_one_sku_do_not_move_with_another_skus_returns() -> None:
    """Common random numbers: each SKU's return draws come from its own stream, so another
    SKU's return probability leaves its returns alone (ample stock: the deliveries are the
    same)."""

    def run(b_share: float) -> dict[str, dict[str, float]]:
        sc = Scenario.model_validate({
            "name": "returns-crn", "run": {"horizon_days": 200.0, "warmup_days": 0.0},
            "policy": {"type": "sQ", "reorder_point": 0, "order_quantity": 10,
                       "service_target": None},
            "skus": {"A": {"initial_on_hand": 100_000},
                     "B": {"initial_on_hand": 100_000, "returns": {"customer": b_share}}},
            "segments": {"c": {"customers": 50, "units_per_line": 2,
                               "returns": {"customer": 0.1, "damaged": 0.05}}},
        })
        return simulate(sc, 3).by_sku

    a, b = run(0.05), run(0.4)
    assert b["B"]["units_returned"] > 2 * a["B"]["units_returned"]
    assert a["A"]["units_delivered"] == b["A"]["units_delivered"]
    for key in ("units_returned", "units_restocked", "units_scrapped"):
        assert a["A"][key] == b["A"][key], key


def test_the_shipped_returns_scenario_runs_and_conserves_units() -> None:
    r = simulate(load_scenario(RETURNS, ["run.horizon_days=200"]), 1)
    d, k = r.details, r.kpis
    assert 0.0 < k["return_rate"] < 0.2 and k["units_scrapped"] > 0
    assert d["total_units_delivered_returnable"] == d["total_units_kept"] \
        + d["total_units_returned"] + d["total_units_coming_back"]
    assert d["total_units_returned"] == d["total_units_restocked"] \
        + d["total_units_scrapped"] + d["total_units_in_processing"]
    assert k["refunds"] == pytest.approx(sum(row["refunds"] for row in r.by_sku.values()))
    assert k["reverse_logistics_cost"] == pytest.approx(
        sum(row["reverse_logistics_cost"] for row in r.by_segment.values()))
    assert np.isclose(k["revenue"], sum(row["revenue"] for row in r.by_sku.values()))


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(("overrides", "path", "message"), [
    (["segments.retail.returns={customer: 0.7, wrong: 0.5}"], "segments.retail.returns",
     "damaged + wrong + customer must be at most 1 (a unit comes back for one reason at "
     "most), got 1.2"),
    (["segments.retail.returns={customer: 1.5}"], "segments.retail.returns.customer",
     "value 1.5: must be <= 1"),
    (["segments.retail.returns={delay_days: -2}"], "segments.retail.returns.delay_days",
     "a time cannot be negative"),
    (["segments.retail.returns={}", "reverse_logistics.processing_days=-1"],
     "reverse_logistics.processing_days", "a time cannot be negative"),
    (["segments.retail.returns={}", "reverse_logistics.repair_share=2"],
     "reverse_logistics.repair_share", "value 2: must be <= 1"),
    (["skus.FAST-BOLT.returns={customer: 0.1}"], "skus.FAST-BOLT.returns",
     "has no effect: no segment has returns"),
    (["reverse_logistics.cost_per_unit=3"], "reverse_logistics",
     "has no effect: no segment has returns"),
    (["segments.retail.returns={refund: 0.1}"], "segments.retail.returns.refund", "unknown"),
])
def test_bad_returns_name_the_key_the_value_and_what_is_allowed(
        overrides: list[str], path: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(BASELINE, overrides)
    text = str(caught.value)
    assert f"{path}: " in text and message in text, text
    assert "baseline.yaml" in text


def test_a_network_refuses_returns() -> None:
    with pytest.raises(ScenarioError, match="segments.metro_trade.returns: .*not available "
                                            "for a scenario with locations"):
        load_scenario(SCENARIOS / "network.yaml", ["segments.metro_trade.returns={}"])


def test_the_dump_of_a_scenario_with_returns_reads_back() -> None:
    sc = load_scenario(RETURNS)
    text = dump_scenario(sc)
    assert "reverse_logistics:" in text and "returns:" in text
    assert Scenario.model_validate(yaml.safe_load(text)) == sc


def test_over_service_advice_names_restocked_returns() -> None:
    from servicesim.experiment.advice import _over_service_reason
    assert "restocked returns" in _over_service_reason(load_scenario(RETURNS))
    assert "restocked returns" not in _over_service_reason(load_scenario(BASELINE))


def test_returns_with_disruptions_and_failure_weights() -> None:
    """Returns beside a supplier outage, a demand surge, a capacity loss and failure
    weights: every unit is still accounted for."""
    sc = load_scenario(RETURNS, [
        "run.horizon_days=300",
        "disruptions={strike: {kind: supplier_outage, start_day: 120, duration_days: 21}, "
        "peak: {kind: demand_surge, start_day: 150, duration_days: 20, factor: 1.6}, "
        "slow: {kind: capacity_loss, start_day: 200, duration_days: 10, factor: 0.5}}",
        "order_processing.servers=2",
        "segments.retail.failure_weights={late: 0.5, damaged: 1, documentation: 0.25}"])
    r = simulate(sc, 6)
    d = r.details
    assert d["total_units_demanded"] == d["total_units_shipped"] \
        + d["total_units_backordered_open"] + d["total_units_lost"] + d["total_units_waiting"]
    assert d["total_units_delivered_returnable"] == d["total_units_kept"] \
        + d["total_units_returned"] + d["total_units_coming_back"]
    assert d["total_units_returned"] == d["total_units_restocked"] \
        + d["total_units_scrapped"] + d["total_units_in_processing"]
    assert r.kpis["units_returned"] > 0 and r.daily is not None
