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
from hypothesis import given, settings
from hypothesis import strategies as st

from servicesim.errors import ScenarioError
from servicesim.inputs.scenario_file import load_scenario
from servicesim.model.disruptions import TimeWarp, closed_until
from servicesim.model.results import DailySeries, DisruptionEvent
from servicesim.model.simulation import ServiceModel, simulate
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
    ({"kind": "supplier_outage", "rate_per_year": 10_000}, "disruptions.x.rate_per_year",
     "at most 100,000"),
])
def test_bad_disruptions_are_refused_naming_the_key(spec: dict[str, Any], key: str,
                                                    words: str) -> None:
    extra = {"order_processing": {"time_days": 0.1}, "run": {"horizon_days": 1e7}}
    spec = {"duration_days": 3, **spec}
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(one_sku({"x": spec}, **extra), "file.yaml")
    text = str(err.value)
    assert "file.yaml" in text and key in text and words in text, text


def test_capacity_loss_needs_a_processing_time() -> None:
    with pytest.raises(ScenarioError, match="changes nothing"):
        scenario({"x": {"kind": "capacity_loss", "start_day": 1, "factor": 0.5,
                        "duration_days": 2}})


def test_a_disruption_needs_a_duration() -> None:
    with pytest.raises(ScenarioError, match=r"disruptions.x.duration_days"):
        scenario({"x": {"kind": "supplier_outage", "start_day": 1}})


@pytest.mark.parametrize("acquired", [False, True])
def test_a_surge_runs_a_renewal_customers_clock_faster(acquired: bool) -> None:
    """One customer ordering every 14 days (constant); a surge of 2 over [100, 130): the
    gap from day 98 spends 2 days at rate 1 and 12 at rate 2 (day 106), then 7-day gaps
    until day 127, whose gap spends 3 days at rate 2 (6 of 14) and 8 at rate 1 (day 138).
    An acquired customer (``acquired``) is surged the same way."""
    data = one_sku({"x": {"kind": "demand_surge", "start_day": 100, "duration_days": 30,
                          "factor": 2}}, horizon=170.0)
    buyers = data["segments"]["buyers"]
    buyers["order_interval_days"] = {"type": "constant", "value": 14}
    buyers["customers"] = 1
    if acquired:  # no initial customer: one acquired at time 0 orders instead
        buyers["customers"] = 0
    model = ServiceModel(scenario_from_dict(data), 1, trace=True)
    if acquired:
        model._acquire(model.segments[0])
    result = model.run()
    assert result.trace is not None
    times = [t for t, _ in orders(result.trace)]
    assert times == pytest.approx([14.0 * k for k in range(1, 8)]
                                  + [106, 113, 120, 127, 138, 152, 166], abs=1e-9)


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
    assert received == [t for t in expected if t < 365.0]
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
    # no whole day ending at or after the end of the outage, and at or after its worst
    # day, recovered earlier
    start, end = int(event.start_day), math.ceil(event.end_day)
    window = rates[start:end + 30]
    worst = start + int(np.nanargmin(window))
    assert rates[worst] < event.before_fill_rate - 0.01  # the outage was felt
    first = max(end - 1, worst)
    assert k >= worst
    assert all(not rates[d] >= event.before_fill_rate - 0.01 for d in range(first, k))


def test_daily_series_trailing_fill_rate() -> None:
    series = DailySeries(np.array([10.0, 0, 10, 10]), np.array([5.0, 0, 0, 10]))
    rates = series.trailing_fill_rate(2)
    assert rates[0] == 0.5 and rates[1] == 0.5 and rates[2] == 1.0 and rates[3] == 0.5
    empty = DailySeries(np.zeros(2), np.zeros(2)).trailing_fill_rate(7)
    assert np.isnan(empty).all()


def orders(trace: list[Any]) -> list[tuple[float, float]]:
    """(time, end of processing) of every order of a trace."""
    return [(t, info["processed"]) for t, kind, info in trace if kind == "order"]


def test_demand_surge_is_a_time_change_of_the_same_draws() -> None:
    """A surge of factor 2 over [100, 130): the k-th order comes at Λ⁻¹(T_k), T_k its time
    without the surge and Λ the integrated rate (1 outside, 2 inside): the same before
    100, twice as dense inside (work 100..160 is spent by 130), 30 days earlier after it."""
    surge = {"kind": "demand_surge", "start_day": 100, "duration_days": 30, "factor": 2}
    plain = simulate(scenario(), 9, trace=True)
    hit = simulate(scenario({"rush": surge}), 9, trace=True)
    assert plain.trace is not None and hit.trace is not None
    before = [t for t, _ in orders(plain.trace)]
    after = [t for t, _ in orders(hit.trace)]

    def warped(t: float) -> float:
        return t if t < 100 else 100 + (t - 100) / 2 if t < 160 else t - 30

    expected = [warped(t) for t in before]  # the plain run's orders: up to 335 here
    assert len(after) > len(expected)
    assert after[: len(expected)] == pytest.approx(expected, abs=1e-9)
    inside = sum(100 <= t < 130 for t in after)
    assert inside == sum(100 <= t < 160 for t in before)
    assert hit.disruptions[0].kind == "demand_surge"


def test_a_surge_doubles_the_orders_in_its_window_in_expectation() -> None:
    """20 orders a day at rate 1; a surge of 2 over 10 days: 400 expected, over 30
    replications the mean count is within 4 standard errors (Poisson counts)."""
    surge = {"kind": "demand_surge", "start_day": 50, "duration_days": 10, "factor": 2}
    sc = scenario({"rush": surge}, horizon=80.0)
    counts = []
    for seed in range(30):
        trace = simulate(sc, seed, trace=True).trace
        assert trace is not None
        counts.append(sum(50 <= t < 60 for t, _ in orders(trace)))
    expected = 2 * 20 * 10
    assert abs(np.mean(counts) - expected) < 4 * math.sqrt(expected / len(counts))


def test_a_surge_of_one_segment_leaves_the_other_alone() -> None:
    data = one_sku({"rush": {"kind": "demand_surge", "start_day": 100, "duration_days": 30,
                             "factor": 3, "segments": ["buyers"]}})
    data["segments"]["others"] = dict(data["segments"]["buyers"])
    plain = one_sku()
    plain["segments"]["others"] = dict(plain["segments"]["buyers"])
    hit = simulate(scenario_from_dict(data), 2)
    ref = simulate(scenario_from_dict(plain), 2)
    assert hit.by_segment["others"]["orders"] == ref.by_segment["others"]["orders"]
    assert hit.by_segment["buyers"]["orders"] > ref.by_segment["buyers"]["orders"]


@pytest.mark.parametrize("servers", [None, 1])
def test_capacity_loss_stretches_processing_in_the_event(servers: int | None) -> None:
    """Processing 0.1 day; half the capacity over [100, 130): an order entering (unlimited
    servers) or starting (one server) then takes 0.2 day, one straddling the end the work
    left at rate 1; before the event the run is the run without it."""
    proc = {"time_days": 0.1, "servers": servers}
    loss = {"kind": "capacity_loss", "start_day": 100, "duration_days": 30, "factor": 0.5}
    plain = simulate(scenario(order_processing=proc), 4, trace=True)
    hit = simulate(scenario({"strike": loss}, order_processing=proc), 4, trace=True)
    assert plain.trace is not None and hit.trace is not None
    assert [o for o in orders(hit.trace) if o[1] < 100] == \
        [o for o in orders(plain.trace) if o[1] < 100]
    if servers is None:
        for t, done in orders(hit.trace):
            work = 0.1 if t >= 130 or t < 99.9 else None
            if 100 <= t <= 129.8:
                assert done - t == pytest.approx(0.2, abs=1e-9)
            elif work is not None:
                assert done - t == pytest.approx(work, abs=1e-9)
            elif 129.8 < t < 130:
                assert done == pytest.approx(130 + (0.1 - (130 - t) / 2), abs=1e-9)
    else:
        assert hit.details["processing_wait_mean_days"] > \
            plain.details["processing_wait_mean_days"]
    assert hit.kpis["order_cycle_time_mean_days"] > plain.kpis["order_cycle_time_mean_days"]


TINY_NETWORK = """\
name: tiny
run: {horizon_days: 60, warmup_days: 10, replications: 1, seed: 1}
policy: {type: base_stock, order_up_to: 0, service_target: null}
skus:
  a: {unit_cost: 10.0}
segments:
  shop:
    customers: 1
    order_interval_days: {type: constant, value: 1.0}
    reactions: {backorder: 1.0}
    location: store
supplier: {lead_time_days: 2}
locations:
  dc:
    policy: {order_up_to: 3}
  store:
    replenished_from: dc
    lane: {transit_days: 0.5}
    policy: {order_up_to: 2}
"""


def test_lane_closure_holds_internal_shipments_until_it_ends() -> None:
    """One unit a day ordered by the store from the dc (base stock, stock enough): the
    internal orders of days 21..25 wait for the lane to open at 25.25 and reach the store
    half a day later; the others ship the day they are placed."""
    data = yaml.safe_load(TINY_NETWORK)
    plain = simulate(scenario_from_dict(data), 1, trace=True)
    data["disruptions"] = {"flood": {"kind": "lane_closure", "lane": "dc->store",
                                     "start_day": 20.25, "duration_days": 5}}
    hit = simulate(scenario_from_dict(data), 1, trace=True)
    assert hit.trace is not None and plain.trace is not None
    internal = [t for t, kind, _ in hit.trace if kind == "internal_order"]
    shipped = [t for t, kind, _ in hit.trace if kind == "ship"]
    assert shipped == [closed_until([(20.25, 25.25)], t) for t in internal]
    assert shipped.count(25.25) == 5
    store = [t for t, kind, info in hit.trace
             if kind == "receipt" and info["location"] == "store"]
    assert store == [t + 0.5 for t in shipped if t + 0.5 < 60]
    assert hit.by_location["store"]["avg_backorder_units"] > \
        plain.by_location["store"]["avg_backorder_units"]


def test_lane_closure_refuses_an_unknown_lane() -> None:
    data = yaml.safe_load(TINY_NETWORK)
    data["disruptions"] = {"flood": {"kind": "lane_closure", "lane": "store->dc",
                                     "start_day": 1, "duration_days": 2}}
    with pytest.raises(ScenarioError, match=r"unknown lane; the lanes are: dc->store"):
        scenario_from_dict(data)


def test_random_events_come_at_the_rate_per_year() -> None:
    """Poisson events: over 400 replications the mean count is rate × horizon / year
    within 4 standard errors, and their durations are the distribution's."""
    from servicesim.model.disruptions import draw_windows

    sc = scenario({"r": {"kind": "supplier_outage", "rate_per_year": 3,
                         "duration_days": {"type": "exponential", "mean": 5}}}, horizon=730.0)
    counts, durations = [], []
    for seed in range(400):
        windows = draw_windows(sc, np.random.SeedSequence(seed))
        counts.append(len(windows))
        durations += [w.end - w.start for w in windows]
    expected = 3 * 730 / 365
    assert abs(np.mean(counts) - expected) < 4 * math.sqrt(expected / 400)
    assert abs(np.mean(durations) - 5) < 4 * 5 / math.sqrt(len(durations))


def test_disruptions_run_with_replanning() -> None:
    sc = scenario({"out": OUTAGE, "rush": {"kind": "demand_surge", "rate_per_year": 4,
                                            "duration_days": 5, "factor": 1.5}},
                  policy={"type": "sQ", "service_target": 0.9, "order_quantity": 100,
                          "replan": {"every_days": 30, "window_days": 60}})
    result = simulate(sc, 3)
    assert result.policy_history and result.disruptions
    assert 0 < result.kpis["item_fill_rate"] <= 1


# --- properties (Hypothesis) ---------------------------------------------------------------


def crn_scenario(outage: dict[str, Any] | None, horizon: float, lead: dict[str, Any],
                 target: float) -> Scenario:
    data = one_sku({"out": outage} if outage else None, horizon=horizon)
    data["run"]["warmup_days"] = 20
    data["supplier"]["lead_time_days"] = lead
    data["policy"]["service_target"] = target
    data["segments"]["buyers"]["units_per_line"] = {"type": "poisson", "mean": 2}
    return scenario_from_dict(data)


leads = st.sampled_from([{"type": "constant", "value": 7},
                         {"type": "uniform", "low": 3, "high": 12},
                         {"type": "exponential", "mean": 8}])


@settings(max_examples=20, deadline=None)
@given(start=st.floats(0, 150), duration=st.floats(0, 60), lead=leads,
       target=st.floats(0.7, 0.99), seed=st.integers(0, 2**32))
def test_a_supplier_outage_never_raises_the_fill_rate(start: float, duration: float,
                                                      lead: dict[str, Any], target: float,
                                                      seed: int) -> None:
    """Under common random numbers a supplier outage never raises the item fill rate, nor
    lowers a day's units short, in this setting (backorders only, (s, Q), no
    acquisitions): every short line is backordered, so the customers, their orders and
    lines are the same with or without the outage, and so is the inventory position;
    (s, Q) orders when the position reaches s, so the purchase orders and their lead-time
    draws are the same.  An outage only moves receipts later: net inventory is
    never higher, on hand (= max(net inventory, 0), backorders filled first) never higher,
    each line's units short at the first attempt never fewer."""
    outage = {"kind": "supplier_outage", "start_day": start, "duration_days": duration}
    plain = simulate(crn_scenario(None, 180.0, lead, target), seed, daily=True)
    hit = simulate(crn_scenario(outage, 180.0, lead, target), seed)
    assert hit.kpis["item_fill_rate"] <= plain.kpis["item_fill_rate"]
    assert plain.daily is not None and hit.daily is not None
    assert np.array_equal(hit.daily.units_demanded, plain.daily.units_demanded)
    assert (hit.daily.units_short >= plain.daily.units_short).all()


@settings(max_examples=20, deadline=None)
@given(start=st.floats(20, 120), short=st.floats(0, 30), extra=st.floats(0, 30),
       lead=leads, seed=st.integers(0, 2**32))
def test_a_longer_outage_never_recovers_earlier(start: float, short: float, extra: float,
                                               lead: dict[str, Any], seed: int) -> None:
    """The day of recovery (not the time to recover, which counts from a later end) of an
    outage starting at the same time never comes earlier when it lasts longer: each day's
    units short are never fewer (the setting and reason of the property above), so the trailing fill
    rate is never higher, the level before the event is the same, and the days that may
    count as recovered start later."""
    runs = [simulate(crn_scenario({"kind": "supplier_outage", "start_day": start,
                                   "duration_days": d}, 240.0, lead, 0.9), seed)
            for d in (short, short + extra)]
    first, longer = (r.disruptions[0] for r in runs)
    assert first.before_fill_rate == longer.before_fill_rate
    if longer.recovered_day is not None:
        assert first.recovered_day is not None
        assert first.recovered_day <= longer.recovered_day
    for e in (first, longer):
        assert 0 <= e.start_day < 240 and e.end_day >= e.start_day
        assert (e.recovered_day is None) == (e.time_to_recover_days is None)
        if e.recovered_day is not None:
            assert e.recovered_day >= e.end_day
            assert e.time_to_recover_days == e.recovered_day - e.end_day


def test_a_run_without_random_events_still_has_the_figures() -> None:
    rare = scenario({"r": {"kind": "supplier_outage", "rate_per_year": 1e-6,
                           "duration_days": 5}})
    result = simulate(rare, 1)
    assert result.disruptions == []
    assert result.details["disruption_events"] == 0 == result.details["disruption_days"]


def test_disruption_fields_are_sweepable_dotted_keys() -> None:
    path = ROOT / "scenarios" / "disruption.yaml"
    sc = load_scenario(path, overrides=["disruptions.strike.duration_days=30",
                                        "disruptions.peak_season.factor=2.5",
                                        "disruptions.supplier_trouble.rate_per_year=3"])
    assert sc.disruptions["strike"].duration_days.mean == 30
    assert sc.disruptions["peak_season"].factor == 2.5
    assert sc.disruptions["supplier_trouble"].rate_per_year == 3
    with pytest.raises(ScenarioError, match="disruptions.peak_season.factor"):
        load_scenario(path, overrides=["disruptions.peak_season.factor=-1"])


def test_a_supplier_outage_in_a_network_delays_the_supplier_orders_only() -> None:
    """In the tiny network the dc buys from the supplier (lead time 2): its purchase orders
    placed in [20.25, 25.25) arrive at 27.25; the store's internal orders are not delayed
    at the supplier (they ship from the dc's stock as before the dc runs short)."""
    data = yaml.safe_load(TINY_NETWORK)
    data["disruptions"] = {"strike": {"kind": "supplier_outage", "start_day": 20.25,
                                      "duration_days": 5}}
    hit = simulate(scenario_from_dict(data), 1, trace=True)
    assert hit.trace is not None
    placed = [t for t, kind, _ in hit.trace if kind == "purchase"]
    dc = [t for t, kind, info in hit.trace if kind == "receipt" and info["location"] == "dc"]
    assert dc == sorted(t for t in (closed_until([(20.25, 25.25)], p) + 2 for p in placed)
                        if t < 60)  # (the run stops before events at its horizon)
    assert sum(20.25 <= t < 25.25 for t in placed) == 5
