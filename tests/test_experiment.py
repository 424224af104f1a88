"""Replications: seeds, tidy rows, confidence intervals, identical results in processes."""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from scipy import stats

from servicesim.experiment.replications import run_replications
from servicesim.experiment.seeds import replication_seeds
from servicesim.experiment.statistics import confidence_interval
from servicesim.kpis import SUMMARY_KEYS
from servicesim.model.simulation import simulate
from servicesim.scenario.schema import Scenario

SCENARIO = Scenario.model_validate({
    "name": "exp", "run": {"horizon_days": 150, "warmup_days": 15, "seed": 99},
    "skus": {"A": {}, "B": {"unit_cost": 30, "price": 45}},
    "segments": {"s": {"customers": 20, "order_interval_days": {"type": "exponential",
                                                                  "mean": 2.0},
                       "reactions": {"backorder": 0.5, "switch": 0.4, "defect": 0.1}}},
    "policy": {"service_target": 0.9},
    "finance": {"fixed_logistics_assets": 1000.0},
})


def test_confidence_interval_matches_student_t() -> None:
    x = [1.0, 2.0, 4.0, 3.0, 5.0]
    ci = confidence_interval(x, 0.95)
    half = stats.t.ppf(0.975, 4) * np.std(x, ddof=1) / math.sqrt(5)
    assert ci["mean"] == pytest.approx(3.0)
    assert ci["ci_high"] - ci["mean"] == pytest.approx(half)
    assert ci["n"] == 5


def test_confidence_interval_skips_nan_and_handles_tiny_samples() -> None:
    assert confidence_interval([math.nan, 2.0, 4.0])["n"] == 2
    one = confidence_interval([3.0])
    assert one["mean"] == 3.0 and math.isnan(one["ci_low"])
    assert confidence_interval([])["n"] == 0


def test_replications_rows_and_summary() -> None:
    reps = run_replications(SCENARIO, n=4)
    rows = reps.rows()
    assert len(rows) == 4 and [r["replication"] for r in rows] == [0, 1, 2, 3]
    assert all(r["seed"] == 99 for r in rows)  # the scenario's seed is the default
    assert set(SUMMARY_KEYS) <= set(rows[0])
    summary = reps.summary()
    assert list(summary) == list(SUMMARY_KEYS)
    fill = [r["item_fill_rate"] for r in rows]
    assert summary["item_fill_rate"]["mean"] == pytest.approx(np.mean(fill))
    assert summary["item_fill_rate"]["ci_low"] <= np.mean(fill) <= \
        summary["item_fill_rate"]["ci_high"]
    assert len({r["item_fill_rate"] for r in rows}) > 1  # replications differ
    segs = reps.breakdown_summary("segment")
    assert segs["s"]["orders"]["mean"] > 0


def test_a_replication_can_be_rerun_alone() -> None:
    reps = run_replications(SCENARIO, n=3, seed=5)
    again = simulate(SCENARIO, replication_seeds(5, 3)[2])
    assert again.kpis == reps.results[2].kpis


def test_processes_give_identical_results() -> None:
    seeds = replication_seeds(11, 4)
    serial = [simulate(SCENARIO, s).kpis for s in seeds]
    with ProcessPoolExecutor(max_workers=2) as pool:
        parallel = [r.kpis for r in pool.map(simulate, [SCENARIO] * 4, seeds)]
    assert repr(serial) == repr(parallel)


def test_common_random_numbers_across_alternatives() -> None:
    """Changing the service target leaves the demand stream untouched until stockouts
    differ: with backorders only (no one leaves), both alternatives see identical demand."""
    base = SCENARIO.model_dump()
    base["segments"]["s"]["reactions"] = {"backorder": 1.0, "switch": 0.0}
    low = Scenario.model_validate({**base, "policy": {"service_target": 0.7}})
    high = Scenario.model_validate({**base, "policy": {"service_target": 0.99}})
    a, b = simulate(low, 3), simulate(high, 3)
    assert a.details["total_units_demanded"] == b.details["total_units_demanded"]
    assert b.kpis["item_fill_rate"] > a.kpis["item_fill_rate"]


def test_only_probabilities_have_their_interval_clipped() -> None:
    """A fill rate's interval is clipped to [0, 1]; ROI's (a % that can be negative or above
    100 %) and a location's units are not."""
    from servicesim.experiment.statistics import figure_interval

    roi = figure_interval("roi", [-0.5, -0.2, -0.45])
    assert roi["ci_low"] < -0.5 and roi["ci_high"] > -0.2
    assert figure_interval("roi", [1.5, 1.2, 1.7])["ci_high"] > 1.7
    assert figure_interval("item_fill_rate", [0.99, 0.999, 1.0])["ci_high"] == 1.0
    assert figure_interval("dc.internal_fill_rate", [0.99, 0.999, 1.0])["ci_high"] == 1.0
    assert figure_interval("dc.avg_on_hand_units", [0.0, 0.1, 0.0])["ci_low"] < 0
