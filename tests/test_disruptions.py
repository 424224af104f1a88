"""Disruptions (DOMAIN §11): the ``disruptions`` of a scenario, their events, what each kind
does to the model, the daily series and the time to recover."""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from servicesim.errors import ScenarioError
from servicesim.inputs.scenario_file import load_scenario
from servicesim.model.disruptions import TimeWarp, closed_until
from servicesim.model.results import DailySeries, DisruptionEvent
from servicesim.model.simulation import simulate
from servicesim.scenario.schema import Scenario
from servicesim.scenario.serialise import dump_scenario
from servicesim.scenario.validation import scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
LEAD_DAYS = 10.0


def one_sku(disruptions: dict[str, Any] | None = None, horizon: float = 365.0,
            reactions: dict[str, float] | None = None, **extra: Any) -> dict[str, Any]:
    """One SKU, unit lines from 300 customers ordering every 15 days on average (20 lines a
    day), constant lead time, (s, Q) with Q = 100, backorders: the plain data."""
    data: dict[str, Any] = {
        "name": "disrupted",
        "run": {"horizon_days": horizon, "warmup_days": 60},
        "supplier": {"lead_time_days": {"type": "constant", "value": LEAD_DAYS}},
        "policy": {"type": "sQ", "service_target": 0.9, "order_quantity": 100},
        "skus": {"A": {"unit_cost": 10, "price": 15}},
        "segments": {"buyers": {
            "customers": 300, "order_interval_days": {"type": "exponential", "mean": 15},
            "reactions": reactions or {"backorder": 1.0, "switch": 0.0},
            "retention_rate_per_year": 0.8}},
        **extra,
    }
    if disruptions is not None:
        data["disruptions"] = disruptions
    return data


def scenario(disruptions: dict[str, Any] | None = None, **kw: Any) -> Scenario:
    return scenario_from_dict(one_sku(disruptions, **kw))


OUTAGE = {"kind": "supplier_outage", "start_day": 100, "duration_days": 30}


# --- off by default ------------------------------------------------------------------------


def test_no_disruptions_is_the_run_without_the_key() -> None:
    base = simulate(scenario(), 3)
    empty = simulate(scenario({}), 3)
    assert base == empty
    assert base.disruptions == [] and base.daily is None


def test_the_dump_has_no_disruptions_key_when_there_are_none() -> None:
    assert "disruptions" not in yaml.safe_load(dump_scenario(scenario({})))
    dumped = yaml.safe_load(dump_scenario(scenario({"out": OUTAGE})))
    assert dumped["disruptions"]["out"]["kind"] == "supplier_outage"
    assert scenario_from_dict(dumped) == scenario({"out": OUTAGE})


def test_asking_for_the_daily_series_changes_no_figure() -> None:
    """The daily series is recorded on the plain order path (not the inlined one): the same
    figures, and its days after the warm-up give the item fill rate exactly."""
    sc = load_scenario(BASELINE, overrides=["run.horizon_days=200"])
    plain, daily = simulate(sc, 7), simulate(sc, 7, daily=True)
    assert plain.kpis == daily.kpis and plain.details == daily.details
    series = daily.daily
    assert series is not None and len(series.units_demanded) == 200
    warm = int(sc.run.warmup_days)
    demanded = series.units_demanded[warm:].sum()
    assert demanded == daily.details["units_demanded"]
    assert 1 - series.units_short[warm:].sum() / demanded == pytest.approx(
        daily.kpis["item_fill_rate"], abs=1e-12)


def test_results_with_disruptions_pickle() -> None:
    result = simulate(scenario({"out": OUTAGE}), 1)
    again = pickle.loads(pickle.dumps(result))
    assert again.disruptions == result.disruptions and again.daily == result.daily
    assert repr(again.kpis) == repr(result.kpis)  # (NaN figures are not equal to themselves)
    assert isinstance(again.daily, DailySeries) and isinstance(again.disruptions[0],
                                                               DisruptionEvent)


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "key", "words"), [
    ({"kind": "supplier_outage"}, "disruptions.x.start_day", "exactly one"),
    ({"kind": "supplier_outage", "start_day": 1, "rate_per_year": 2},
     "disruptions.x.start_day", "exactly one"),
    ({"kind": "supplier_outage", "start_day": 1, "skus": ["NOPE"]}, "disruptions.x.skus",
     "unknown name(s) NOPE; known: A"),
    ({"kind": "demand_surge", "start_day": 1, "factor": 2, "segments": ["nobody"]},
     "disruptions.x.segments", "unknown name(s) nobody"),
    ({"kind": "demand_surge", "start_day": 1}, "disruptions.x.factor", "needs a factor"),
    ({"kind": "capacity_loss", "start_day": 1, "factor": 1.5}, "disruptions.x.factor",
     "0 < factor <= 1"),
    ({"kind": "lane_closure", "start_day": 1, "lane": "a->b"}, "disruptions.x.kind",
     "needs a network"),
    ({"kind": "supplier_outage", "start_day": 1, "factor": 2}, "disruptions.x.factor",
     "not used by a supplier_outage"),
    ({"kind": "supplier_outage", "start_day": -1}, "disruptions.x.start_day", ">= 0"),
    ({"kind": "flood", "start_day": 1}, "disruptions.x.kind", "supplier_outage"),
])
def test_bad_disruptions_are_refused_naming_the_key(spec: dict[str, Any], key: str,
                                                    words: str) -> None:
    extra = {"order_processing": {"time_days": 0.1}}
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(one_sku({"x": spec}, **extra), "file.yaml")
    text = str(err.value)
    assert "file.yaml" in text and key in text and words in text, text


def test_capacity_loss_needs_a_processing_time() -> None:
    with pytest.raises(ScenarioError, match="changes nothing"):
        scenario({"x": {"kind": "capacity_loss", "start_day": 1, "factor": 0.5}})


def test_a_surge_refuses_a_renewal_segment() -> None:
    data = one_sku({"x": {"kind": "demand_surge", "start_day": 1, "factor": 2}})
    data["segments"]["buyers"]["order_interval_days"] = {"type": "constant", "value": 15}
    with pytest.raises(ScenarioError, match="exponential order intervals"):
        scenario_from_dict(data)


# --- the events ----------------------------------------------------------------------------


def test_time_warp_spends_work_at_the_rate_of_each_window() -> None:
    warp = TimeWarp([(10.0, 20.0, 2.0), (15.0, 30.0, 0.5)])
    assert warp.advance(0.0, 4.0) == 4.0  # rate 1 before any window: t + w exactly
    assert warp.advance(8.0, 4.0) == pytest.approx(11.0)  # 2 days at 1, then 1 day at 2
    # 10..15 at 2 (10 units), 15..20 at 1 (5), 20..30 at 0.5 (5), then 1
    assert warp.advance(10.0, 22.0) == pytest.approx(32.0)
    assert closed_until([(1.0, 5.0), (4.0, 9.0)], 2.0) == 9.0
    assert closed_until([(1.0, 5.0)], 5.0) == 5.0


def test_supplier_outage_delays_exactly_the_purchase_orders_placed_in_it() -> None:
    """Constant lead time: a purchase order placed in [100, 130) arrives at 130 + L, any
    other L days after it is placed; before the outage the run is the run without it."""
    plain = simulate(scenario(), 5, trace=True)
    hit = simulate(scenario({"out": OUTAGE}), 5, trace=True)
    assert hit.trace is not None and plain.trace is not None

    def times(trace: list[Any], kind: str) -> list[float]:
        return [t for t, k, _ in trace if k == kind]

    placed, received = times(hit.trace, "purchase"), times(hit.trace, "receipt")
    expected = sorted((130.0 if 100 <= t < 130 else t) + LEAD_DAYS for t in placed)
    assert received == [t for t in expected if t <= 365.0]
    assert any(100 <= t < 130 for t in placed)
    assert [t for t in times(plain.trace, "purchase") if t < 100] == \
        [t for t in placed if t < 100]
    event = hit.disruptions[0]
    assert (event.name, event.kind, event.start_day, event.end_day) == \
        ("out", "supplier_outage", 100.0, 130.0)
    assert hit.details["disruption_events"] == 1 and hit.details["disruption_days"] == 30


def test_an_outage_of_another_sku_changes_nothing() -> None:
    data = one_sku({"out": {**OUTAGE, "skus": ["B"]}})
    data["skus"]["B"] = {"unit_cost": 10, "price": 15}
    data["segments"]["buyers"]["sku_weights"] = {"A": 1, "B": 0}
    plain = one_sku()
    plain["skus"]["B"] = data["skus"]["B"]
    plain["segments"]["buyers"]["sku_weights"] = {"A": 1, "B": 0}
    assert simulate(scenario_from_dict(data), 2).kpis == \
        simulate(scenario_from_dict(plain), 2).kpis


def test_events_start_inside_the_run_and_a_scheduled_one_after_it_is_dropped() -> None:
    late = simulate(scenario({"out": {**OUTAGE, "start_day": 400}}), 1)
    assert late.disruptions == []
    many = simulate(scenario({"r": {"kind": "supplier_outage", "rate_per_year": 20,
                                    "duration_days": {"type": "exponential", "mean": 3}}}), 1)
    assert len(many.disruptions) > 5
    for e in many.disruptions:
        assert 0 <= e.start_day < 365 and e.end_day >= e.start_day
    starts = [e.start_day for e in many.disruptions]
    assert starts == sorted(starts)


def test_recovery_fields_are_consistent() -> None:
    result = simulate(scenario({"out": OUTAGE}), 4)
    (event,) = result.disruptions
    assert result.daily is not None
    rates = result.daily.trailing_fill_rate(7)
    assert event.before_fill_rate is not None and 0 <= event.before_fill_rate <= 1
    assert event.recovered_day is not None and event.time_to_recover_days is not None
    assert event.recovered_day - event.end_day == event.time_to_recover_days >= 0
    k = int(event.recovered_day) - 1
    assert rates[k] >= event.before_fill_rate - 0.01
    # no whole day ending at or after the end of the outage recovered earlier
    first = math.ceil(event.end_day) - 1
    assert all(not rates[d] >= event.before_fill_rate - 0.01 for d in range(first, k))


def test_daily_series_trailing_fill_rate() -> None:
    series = DailySeries(np.array([10.0, 0, 10, 10]), np.array([5.0, 0, 0, 10]))
    rates = series.trailing_fill_rate(2)
    assert rates[0] == 0.5 and rates[1] == 0.5 and rates[2] == 1.0 and rates[3] == 0.5
    empty = DailySeries(np.zeros(2), np.zeros(2)).trailing_fill_rate(7)
    assert np.isnan(empty).all()
