"""Planner scale, engine side: per-SKU quantities, streaming statistics with
bounded memory, the histogram's stated error, the fast paths giving the same figures, and
the generated 1,000-SKU item master on a short horizon."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from servicesim.inputs.generate import generate_dataset
from servicesim.model.histogram import DayHistogram
from servicesim.model.simulation import NetworkModel, ServiceModel, simulate
from servicesim.model.stock import _Stock
from servicesim.policies.derivation import derive_policies
from servicesim.scenario.distributions import integer_moments
from servicesim.scenario.schema import Scenario

# --------------------------------------------------------------------------- helpers


def three_skus(**sku_b: Any) -> Scenario:
    """Three SKUs, one segment, lost sales; SKU B may get its own fields."""
    return Scenario.model_validate({
        "name": "three", "run": {"horizon_days": 300.0, "warmup_days": 30.0},
        "policy": {"type": "sQ", "service_target": 0.9, "order_quantity": 20},
        "skus": {"A": {}, "B": dict(sku_b), "C": {"unit_cost": 4.0, "price": 7.0}},
        "segments": {"s": {"customers": 40,
                           "order_interval_days": {"type": "exponential", "mean": 4.0},
                           "lines_per_order": {"type": "poisson", "mean": 2.0},
                           "units_per_line": {"type": "poisson", "mean": 2.0},
                           "reactions": {"switch": 1.0}}},
        "supplier": {"lead_time_days": {"type": "gamma", "mean": 5.0, "std": 2.0}},
    })


def busy(horizon_days: float) -> Scenario:
    """Every mechanism that keeps state: waits, backorders, defections, a processing queue,
    renewal customers, expediting, two Poisson segments (served by one merged arrival
    process); no acquisitions (the customer base is then fixed)."""
    return Scenario.model_validate({
        "name": "busy", "run": {"horizon_days": horizon_days, "warmup_days": 10.0},
        "policy": {"type": "sQ", "service_target": 0.8},
        "skus": {f"K{i}": {"unit_cost": 1.0 + i, "price": 2.0 + 1.5 * i,
                           **({"units_per_line": {"type": "negative_binomial", "mean": 3.0,
                                                  "std": 2.5}} if i % 2 else {})}
                 for i in range(12)},
        "segments": {
            "s1": {"customers": 200,
                   "order_interval_days": {"type": "exponential", "mean": 10.0},
                   "lines_per_order": {"type": "poisson", "mean": 2.0},
                   "reactions": {"wait": 0.3, "backorder": 0.4, "switch": 0.29,
                                 "defect": 0.01},
                   "patience_days": 1.0},
            "s2": {"customers": 30,
                   "order_interval_days": {"type": "gamma", "mean": 6.0, "std": 3.0},
                   "reactions": {"backorder": 1.0}},
            "s3": {"customers": 50, "priority": 2,
                   "order_interval_days": {"type": "exponential", "mean": 8.0},
                   "reactions": {"backorder": 0.5, "defect": 0.5}},
        },
        "supplier": {"lead_time_days": {"type": "uniform", "low": 2.0, "high": 9.0}},
        "order_processing": {"time_days": {"type": "exponential", "mean": 0.05},
                             "servers": 2},
        "outbound": {"transit_days": {"type": "triangular", "low": 0.5, "mode": 1,
                                      "high": 2},
                     "expedite": {"enabled": True, "transit_days": 0.3}},
        "quality": {"damage_probability": 0.01},
    })


def container_sizes(model: ServiceModel) -> dict[str, int]:
    """The number of items in every container the model holds, by owner and name."""
    sizes: dict[str, int] = {}

    def visit(owner: str, obj: Any) -> None:
        names = getattr(obj, "__slots__", ()) or vars(obj)
        for name in names:
            value = getattr(obj, name, None)
            if isinstance(value, list | dict | deque | set | tuple):
                sizes[f"{owner}.{name}"] = len(value)

    visit("model", model)
    for st in model.stocks:
        visit(f"sku {st.name}", st)
    for seg in model.segments:
        visit(f"segment {seg.name}", seg)
    sizes["env.queue"] = len(model.env._queue)
    return sizes


# --------------------------------------------------------------------------- per-SKU quantity


def test_sku_units_per_line_changes_only_that_sku() -> None:
    """B's own quantity distribution changes B's figures; A and C (lost sales, so no
    reaction can shift their path) see exactly the same demand and stock."""
    base = simulate(three_skus(), 5)
    own = simulate(three_skus(units_per_line={"type": "poisson", "mean": 9.0}), 5)
    for name in ("A", "C"):
        assert own.by_sku[name] == base.by_sku[name]
    b0, b1 = base.by_sku["B"], own.by_sku["B"]
    # about 9 instead of about 2.1 units per line of B: more than three times the units
    assert b1["units_ordered"] > 3.0 * b0["units_ordered"]
    assert b1["purchase_orders"] > b0["purchase_orders"]


def test_lead_time_demand_follows_the_sku_quantity() -> None:
    base = derive_policies(three_skus())
    dist = {"type": "negative_binomial", "mean": 6.0, "std": 4.0}
    own_sc = three_skus(units_per_line=dist)
    own = derive_policies(own_sc)
    assert own["A"] == base["A"] and own["C"] == base["C"]
    mean_q, var_q = integer_moments(own_sc.skus["B"].units_per_line)
    lines_per_day = 40 / 4.0 * integer_moments(own_sc.segments["s"].lines_per_order)[0] / 3
    lead = 5.0
    mu_d = lines_per_day * mean_q
    assert own["B"].demand_per_day == pytest.approx(mu_d)
    assert own["B"].lead_time_demand_mean == pytest.approx(mu_d * lead)
    # σ_L² = E[L]·λ·E[Q²] + μ_d²·Var(L) (compound Poisson over a random lead time)
    var = lead * lines_per_day * (var_q + mean_q**2) + mu_d**2 * 2.0**2
    assert own["B"].lead_time_demand_std == pytest.approx(math.sqrt(var))
    assert own["B"].reorder_point > base["B"].reorder_point


def test_model_draws_the_sku_quantity() -> None:
    """Units per line of a SKU with its own distribution match that distribution's mean
    (the rounded draw, at least 1) within sampling error."""
    dist = {"type": "normal", "mean": 12.0, "std": 3.0}
    sc = three_skus(units_per_line=dist).model_copy(
        update={"run": three_skus().run.model_copy(update={"horizon_days": 2000.0})})
    model = ServiceModel(sc, 3)
    model.run()
    b = next(st for st in model.stocks if st.name == "B")
    mean_q, var_q = integer_moments(sc.skus["B"].units_per_line)
    assert abs(b.units_ordered / b.lines - mean_q) < 4 * math.sqrt(var_q / b.lines)


# --------------------------------------------------------------------------- streaming statistics


def test_day_histogram_error_is_within_its_stated_bound() -> None:
    """Quantiles within max(0.01 day, 1 % of the value) of the exact sample quantiles."""
    rng = np.random.default_rng(17)
    sample = np.concatenate([rng.exponential(0.8, 40_000), rng.lognormal(2.0, 1.2, 40_000),
                             rng.uniform(100.0, 3000.0, 2_000)])
    h = DayHistogram()
    for x in sample.tolist():
        h.add(x)
    size = len(h.counts)
    worst = 0.0
    for q in (0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999):
        exact = float(np.quantile(sample, q, method="inverted_cdf"))
        error = abs(h.quantile(q) - exact)
        assert error <= max(0.01, 0.01 * exact) + 1e-9, (q, exact, h.quantile(q))
        worst = max(worst, error / max(exact, 1.0))
    assert worst > 0.0  # the sample is continuous: binning does lose something
    assert len(h.counts) == size == 11_801 and h.n == sample.size  # fixed memory


def test_day_histogram_adds_a_batch_into_the_bins_of_one_by_one() -> None:
    """``add_many`` (the model folds clean orders' cycle times in batches) puts every
    value in the bin ``add`` would, the bin edges and the overflow bin included."""
    rng = np.random.default_rng(3)
    edges = [0.0, 0.005, 9.99, 9.999999, 10.0, 10.05, 99.99, 100.0, 100.5, 9999.9, 10_000.0,
             12_345.0, 1e9]
    sample = np.concatenate([edges, rng.exponential(3.0, 5_000), rng.uniform(0, 20_000, 500)])
    one, batch = DayHistogram(), DayHistogram()
    for x in sample.tolist():
        one.add(x)
    batch.add_many(sample[:2_000])
    batch.add_many(sample[2_000:])
    assert batch.counts == one.counts and batch.n == sample.size


def test_statistics_keep_a_bounded_size_when_the_horizon_grows() -> None:
    """No container grows with the number of events: after 1,000 days every list, dict,
    queue and heap of the model is about as large as after 100 (open backorders and
    pending events are state, not history)."""
    short, long = ServiceModel(busy(100.0), 2), ServiceModel(busy(1000.0), 2)
    short.run()
    long.run()
    assert long.trace is None
    events = sum(seg.orders for seg in long.segments)
    assert events > 10 * 1000  # a long run: thousands of orders
    a, b = container_sizes(short), container_sizes(long)
    assert a.keys() == b.keys()
    for key, n in b.items():
        assert n <= 2 * a[key] + 60, (key, a[key], n)
    assert sum(b.values()) <= 1.5 * sum(a.values()) + 200


def busy_unqueued(horizon_days: float) -> Scenario:
    """:func:`busy` with unlimited processing, no quality failures and critical-level
    rationing: the configuration whose order placement the merged arrivals inline."""
    sc = busy(horizon_days)
    return Scenario.model_validate({
        **sc.model_dump(),
        "policy": {**sc.policy.model_dump(), "critical_level_fraction": 0.5},
        "order_processing": {"time_days": {"type": "exponential", "mean": 0.05},
                             "servers": None},
        "quality": {"damage_probability": 0.0},
    })


def emptying(horizon_days: float) -> Scenario:
    """Two Poisson segments with acquisitions; in one, every stockout loses the customer and
    there are few customers, so it empties and is revived by acquisitions again and again."""
    return Scenario.model_validate({
        "name": "emptying", "run": {"horizon_days": horizon_days, "warmup_days": 10.0},
        "policy": {"type": "sQ", "service_target": 0.6},
        "skus": {f"K{i}": {"unit_cost": 1.0, "price": 2.0} for i in range(3)},
        "segments": {
            "big": {"customers": 100,
                    "order_interval_days": {"type": "exponential", "mean": 5.0},
                    "reactions": {"switch": 0.9, "defect": 0.1},
                    "acquisition": {"customers_per_year": 200}},
            "fragile": {"customers": 2,
                        "order_interval_days": {"type": "exponential", "mean": 1.0},
                        "reactions": {"defect": 1.0},
                        "acquisition": {"customers_per_year": 60}},
        },
        "supplier": {"lead_time_days": {"type": "uniform", "low": 2.0, "high": 9.0}},
    })


@pytest.mark.parametrize("make", [busy, busy_unqueued, emptying])
def test_fast_paths_give_the_same_figures(monkeypatch: pytest.MonkeyPatch,
                                          make: Callable[[float], Scenario]) -> None:
    """Orders placed without an event-queue round trip (receipts booked in passing, Poisson
    segments merged into one arrival process, a segment leaving it when its customers are
    gone and coming back with the next acquisition) and lines on the fast path of
    ``_place_order`` give the figures of the plain SimPy path, where every line takes the
    full path."""
    fast = simulate(make(200.0), 9, trace=make is emptying)
    if make is emptying:  # the fragile segment did empty and come back, several times
        assert fast.trace is not None
        active, revived = 2, 0
        for _, kind, info in fast.trace:
            if info.get("segment") == "fragile" and kind in ("defect", "acquire"):
                revived += kind == "acquire" and active == 0
                active += 1 if kind == "acquire" else -1
        assert revived >= 3, revived
    monkeypatch.setattr(ServiceModel, "_LOOKAHEAD", False)
    monkeypatch.setattr(_Stock, "fast_lines", False)
    slow = simulate(make(200.0), 9)
    assert fast.kpis.keys() == slow.kpis.keys()
    for key in (*fast.kpis, *fast.details):
        x = fast.kpis.get(key, fast.details.get(key))
        y = slow.kpis.get(key, slow.details.get(key))
        assert x == pytest.approx(y, rel=1e-9, abs=1e-9, nan_ok=True), key


@pytest.mark.parametrize("make", [busy, emptying])
def test_run_records_what_a_traced_run_shows(make: Callable[[float], Scenario]) -> None:
    """The cycle-time histogram and the units short by reaction recorded with a run (what
    charts 6 and 7 read) equal what a traced run of the same seed shows: the model's own
    histogram bin by bin, and the stockout events of the measured window by reaction."""
    sc = make(200.0)
    seed = np.random.SeedSequence(11)
    result = simulate(sc, seed)
    model = ServiceModel(sc, seed, trace=True)
    traced = model.run()
    by_edge: dict[float, int] = {}
    for i, count in enumerate(model.hist.counts):
        if count:
            edge = DayHistogram._bin(i)[1]
            by_edge[edge] = by_edge.get(edge, 0) + int(count)
    short = dict.fromkeys(("wait", "backorder", "switch", "defect"), 0.0)
    for time, kind, info in traced.trace or ():
        if kind == "stockout" and time >= sc.run.warmup_days:
            short[info["reaction"]] += info["short"]
    assert result.cycle_time_counts == by_edge
    assert result.units_short_by_reaction == short
    assert list(result.units_short_by_reaction) == ["wait", "backorder", "switch", "defect"]
    if make is busy:  # every reaction happens in the window
        assert all(v > 0 for v in result.units_short_by_reaction.values())


# --------------------------------------------------------------------------- 1,000 SKUs


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    return Path(generate_dataset(skus=1000, days=60, seed=7, out_dir=out))


def test_generated_1000_skus_run_a_short_horizon(generated: Path) -> None:
    from servicesim.inputs.scenario_file import load_scenario

    sc = load_scenario(generated)
    assert len(sc.skus) == 1000 and len(sc.segments) == 2
    assert sum(sku.units_per_line is not None for sku in sc.skus.values()) > 900
    r = simulate(sc, 7)
    k, d = r.kpis, r.details
    for key in ("item_fill_rate", "line_fill_rate", "order_fill_rate", "ready_rate",
                "on_time_rate", "perfect_order_rate"):
        assert 0.0 <= k[key] <= 1.0, (key, k[key])
    assert d["orders"] > 1000
    assert d["total_units_demanded"] == (
        d["total_units_shipped"] + d["total_units_backordered_open"]
        + d["total_units_lost"] + d["total_units_waiting"])
    assert len(r.by_sku) == 1000 and k["holding_cost"] > 0


def test_garbage_collector_pause_is_undone_and_leaves_a_callers_freeze_alone() -> None:
    """Models are built and run, and policies derived, with the objects that existed before
    frozen out of the collector's sight; afterwards nothing stays frozen, and a caller's
    own freeze (and a collector turned off) is left as it was."""
    import gc

    from servicesim._gc import older_objects_frozen

    assert gc.get_freeze_count() == 0
    with older_objects_frozen():
        assert gc.get_freeze_count() > 0  # the objects that existed are out of sight
        with older_objects_frozen():  # nested (the model derives its policies): no-op
            pass
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
    simulate(emptying(30.0), 1)
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        simulate(emptying(30.0), 1)
        # the caller's freeze, not undone (frozen objects that die leave the count)
        assert 0.9 * frozen < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()
    gc.disable()
    try:
        simulate(emptying(30.0), 1)
        assert not gc.isenabled() and gc.get_freeze_count() == 0
    finally:
        gc.enable()


def test_a_run_leaves_no_cyclic_garbage() -> None:
    """Runs turn the garbage collector off (``servicesim._gc.collector_off``), which is
    sound only while a run drops nothing that reference counting cannot free: checked on
    every shipped scenario and the busy, rationed and emptying ones, with and without a
    trace.  The collector is back on afterwards."""
    import gc

    from servicesim.inputs.scenario_file import load_scenario
    from test_scenarios import SCENARIOS

    cases = [(p.name, load_scenario(p, overrides=["run.horizon_days=200",
                                                   "run.warmup_days=20"]))
             for p in SCENARIOS]
    cases += [(f.__name__, f(200.0)) for f in (busy, busy_unqueued, emptying)]
    for name, sc in cases:
        for trace in (False, True):
            model = (NetworkModel if sc.locations else ServiceModel)(sc, 2, trace=trace)
            gc.collect()
            model.run()
            assert gc.isenabled()
            assert gc.collect() == 0, f"{name} (trace {trace}) left cyclic garbage"
