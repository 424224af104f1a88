"""Service failures beyond stockouts drive defection (DOMAIN §9, model/failures.py): weights
0 change nothing, a failure of weight w defects with chance min(1, w × (defect + step × F)),
defections by cause add up, and bad weights are refused with a clear message."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicesim.errors import ScenarioError
from servicesim.inputs.scenario_file import load_scenario
from servicesim.model.failures import CAUSES, DAMAGED, DEFECTION_KEYS, LATE
from servicesim.model.reactions import draw
from servicesim.model.simulation import ServiceModel, simulate
from servicesim.outputs.assumptions import assumption_tables
from servicesim.scenario.overrides import with_overrides
from servicesim.scenario.schema import Scenario
from servicesim.scenario.serialise import dump_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
FAILURES = ROOT / "scenarios" / "service_failures.yaml"
NETWORK = ROOT / "scenarios" / "network.yaml"
PROMISE = 3.0
LATE_TRANSIT = {"type": "empirical", "values": [1.0, 5.0], "probabilities": [0.8, 0.2]}
"""Transit of 1 day, or 5 days (late against a 3-day promise) for one order in five."""


def shop(*, weights: dict[str, float] | None = None, defect: float = 0.05, step: float = 0.0,
         promise: float = PROMISE, plenty: bool = True, customers: int = 200,
         horizon_days: float = 300.0, quality: dict[str, float] | None = None,
         acquisition: dict[str, float] | None = None) -> Scenario:
    """One SKU and one segment; ``plenty``: an order quantity no demand exhausts (no
    stockout ever), else a low fill-rate target (frequent stockouts)."""
    policy = {"type": "sQ", "service_target": 0.95, "order_quantity": 10**7} if plenty \
        else {"type": "sQ", "service_target": 0.6}
    segment: dict[str, Any] = {
        "customers": customers, "order_interval_days": {"type": "exponential", "mean": 5.0},
        "reactions": {"switch": 1.0 - defect, "defect": defect},
        "defect_increase_per_stockout": step, "promised_cycle_time_days": promise,
        "acquisition": acquisition or {}}
    if weights is not None:
        segment["failure_weights"] = weights
    return Scenario.model_validate({
        "name": "failures", "run": {"horizon_days": horizon_days, "warmup_days": 0.0},
        "policy": policy, "skus": {"A": {"unit_cost": 5.0, "price": 8.0}},
        "segments": {"shop": segment},
        "supplier": {"lead_time_days": 4.0},
        "outbound": {"transit_days": LATE_TRANSIT},
        "quality": quality or {},
    })


def short(path: Path, days: float = 150.0, overrides: tuple[str, ...] = ()) -> Scenario:
    full = load_scenario(path)
    return load_scenario(path, overrides=[f"run.horizon_days={full.run.warmup_days + days}",
                                          *overrides])


def failure_events(trace: Any) -> list[tuple[float, dict[str, Any]]]:
    return [(t, info) for t, kind, info in trace if kind == "failure"]


def assert_causes_add_up(figures: dict[str, float]) -> None:
    parts = [figures[key] for key in DEFECTION_KEYS]
    assert all(part >= 0 for part in parts)
    assert sum(parts) == figures["defections"]


# --------------------------------------------------------------------------- defaults


def test_zero_weights_are_the_run_without_the_key() -> None:
    plain = short(BASELINE)
    zero = short(BASELINE, overrides=(
        "segments.retail.failure_weights={late: 0, damaged: 0, documentation: 0}",))
    a, b = simulate(plain, 3), simulate(zero, 3)
    assert a.kpis == b.kpis and a.details == b.details and a.by_segment == b.by_segment
    # the dump (and the results folders named by its hash) has no key without weights ...
    assert "failure_weights" not in dump_scenario(zero)
    assert dump_scenario(zero) == dump_scenario(plain)
    # ... and keeps it with one
    on = with_overrides(plain, ["segments.retail.failure_weights.late=0.5"])
    dumped = yaml.safe_load(dump_scenario(on))["segments"]
    assert dumped["retail"]["failure_weights"] == {"late": 0.5, "damaged": 0.0,
                                                   "documentation": 0.0}
    assert "failure_weights" not in dumped["key_accounts"]


def test_no_weights_no_defections_beyond_stockouts() -> None:
    """Without weights, every defection is at a stockout; with plenty of stock there is
    none, even with late, damaged and wrongly documented orders."""
    r = simulate(shop(quality={"damage_probability": 0.1,
                               "documentation_error_probability": 0.1}), 1)
    assert r.kpis["on_time_rate"] < 0.9 and r.details["damage_free_rate"] < 0.95
    assert r.kpis["defections"] == 0
    baseline = simulate(short(BASELINE), 2).kpis
    assert baseline["defections"] > 0
    assert baseline["defections_stockout"] == baseline["defections"]


# --------------------------------------------------------------------------- the effect


def test_weights_raise_defections() -> None:
    seeds = range(4)
    on = sum(simulate(short(FAILURES, 300.0), s).kpis["defections"] for s in seeds)
    off = sum(simulate(short(FAILURES, 300.0, (
        "segments.key_accounts.failure_weights={late: 0, damaged: 0, documentation: 0}",
        "segments.retail.failure_weights={late: 0, damaged: 0, documentation: 0}")), s
                       ).kpis["defections"] for s in seeds)
    assert on > off * 1.5


def test_nothing_late_no_late_defections() -> None:
    """With a promise no delivery misses, a late weight makes nobody defect (and nothing is
    even drawn for lateness); damaged orders still do."""
    sc = shop(weights={"late": 5.0, "damaged": 1.0}, promise=1e6,
              quality={"damage_probability": 0.05})
    r = simulate(sc, 4, trace=True)
    assert r.kpis["on_time_rate"] == 1.0
    assert r.kpis["defections_late"] == 0
    assert r.kpis["defections_damaged"] > 0
    kinds = {info["failure"] for _, info in failure_events(r.trace)}
    assert kinds == {"damaged"}


def test_no_defection_chance_nobody_defects() -> None:
    """defect 0 and no increase per stockout: failures of any weight drive nobody away."""
    sc = shop(weights={"late": 100.0, "damaged": 100.0, "documentation": 100.0},
              defect=0.0, step=0.0, plenty=False,
              quality={"damage_probability": 0.2, "documentation_error_probability": 0.2})
    r = simulate(sc, 5, trace=True)
    assert r.kpis["lost_sales_units"] > 0  # stockouts happened
    assert len(failure_events(r.trace)) > 100  # failures were met and drawn
    assert r.kpis["defections"] == 0


def test_certain_defection_at_the_first_late_delivery() -> None:
    """defect 1 and a late weight 1: each customer defects exactly when its first late order
    is delivered (when that is within the horizon), and for no other reason."""
    sc = shop(weights={"late": 1.0}, defect=1.0, customers=300, horizon_days=200.0)
    r = simulate(sc, 6, trace=True)
    assert r.trace is not None
    first_late: dict[int, float] = {}
    for t, kind, info in r.trace:
        if kind == "order" and info["delivery"] - t > PROMISE + 1e-9:
            c = info["customer"]
            first_late[c] = min(first_late.get(c, math.inf), info["delivery"])
    expected = {(t, c) for c, t in first_late.items() if t <= 200.0}
    defected = {(t, info["customer"]) for t, kind, info in r.trace if kind == "defect"}
    assert defected == expected
    assert r.kpis["defections_late"] == r.kpis["defections"] == len(expected) > 100
    assert r.kpis["lost_sales_units"] == 0


@pytest.mark.parametrize(("weight", "step"), [(0.5, 0.0), (2.0, 0.0), (1.5, 0.004)])
def test_defection_chance_is_weight_times_the_stockout_chance(weight: float,
                                                               step: float) -> None:
    """Each late delivery defects with chance p = min(1, w × (defect + step × F)), F the
    customer's weighted failures before it (no stockouts here): the late defections match
    Σ p over the failures met within 4 standard deviations (a binomial sum)."""
    defect = 0.04
    sc = shop(weights={"late": weight}, defect=defect, step=step, customers=400)
    mean = variance = 0.0
    defections = 0
    for seed in (7, 8):
        r = simulate(sc, seed, trace=True)
        met: dict[int, float] = defaultdict(float)
        for _, info in failure_events(r.trace):
            p = min(1.0, weight * (defect + step * met[info["customer"]]))
            met[info["customer"]] += weight
            mean += p
            variance += p * (1.0 - p)
        defections += int(r.kpis["defections_late"])
        assert r.kpis["defections"] == r.kpis["defections_late"]
    assert mean > 100
    assert abs(defections - mean) < 4.0 * math.sqrt(variance), (defections, mean)


# --------------------------------------------------------------------------- the draws


class _Stub:
    """What :func:`draw` and :meth:`ServiceModel._fail` read of a segment or stock point."""

    def __init__(self, **attributes: Any) -> None:
        self.__dict__.update(attributes)


def test_a_stockout_counts_the_weighted_failures_met_before() -> None:
    """F = 2 stockouts + 1.5 weighted failures: p = 0.1 + 0.1 × 3.5 = 0.45."""
    load = _Stub(load=[1.5])

    def reaction(u: float) -> str:
        seg = _Stub(stockouts=[2], failures=load, defect=0.1, defect_step=0.1,
                    cum_other=(), last_other="switch")
        return draw(seg, _Stub(react_u=lambda: u), 0, False)  # type: ignore[arg-type]

    assert reaction(0.4499) == "defect"
    assert reaction(0.4501) == "switch"


@pytest.mark.parametrize(("u", "defects"), [(0.2499, True), (0.2501, False)])
def test_a_failure_defects_with_its_weighted_chance(u: float, defects: bool) -> None:
    """One stockout and 0.5 weighted failures met: a late delivery of weight 2 defects with
    chance 2 × (0.05 + 0.05 × 1.5) = 0.25 from the first uniform; then F grows by 2 and the
    damaged failure of the same order draws with 1 × (0.05 + 0.05 × 3.5) = 0.225."""
    sc = shop(weights={"late": 2.0, "damaged": 1.0}, defect=0.05, step=0.05)
    model = ServiceModel(sc, 1)
    seg = model.segments[0]
    assert seg.failures is not None
    seg.stockouts[0], seg.failures.load[0] = 1, 0.5
    draws = iter([u, 0.9])  # late: u against 0.25; damaged: 0.9 against 0.225
    seg.failures.u = lambda: next(draws)
    model._fail(seg, 0, [(LATE, 2.0), (DAMAGED, 1.0)])
    assert seg.defected_by[LATE] == int(defects)
    assert seg.stockouts[0] == (-1 if defects else 1)
    if not defects:
        assert seg.failures.load[0] == 0.5 + 2.0 + 1.0  # both met, neither defected


# --------------------------------------------------------------------------- the figures


def test_causes_add_up_in_the_summary_per_segment_and_per_location() -> None:
    r = simulate(short(FAILURES, 300.0), 1)
    assert_causes_add_up(r.kpis)
    assert all(r.kpis[key] > 0 for key in ("defections_stockout", "defections_late",
                                           "defections_damaged"))
    for row in r.by_segment.values():
        assert_causes_add_up(row)
    assert sum(row["defections_late"] for row in r.by_segment.values()) \
        == r.kpis["defections_late"]
    network = short(NETWORK, 200.0)
    weights = "{late: 1, damaged: 2, documentation: 1}"
    network = with_overrides(network, [f"segments.{name}.failure_weights={weights}"
                                       for name in network.segments])
    rn = simulate(network, 2)
    assert_causes_add_up(rn.kpis)
    assert rn.kpis["defections_late"] > 0
    for row in rn.by_location.values():
        assert_causes_add_up(row)
    assert sum(row["defections"] for row in rn.by_location.values()) == rn.kpis["defections"]


def test_the_look_ahead_gives_the_same_figures_with_failures(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Failures experienced at delivery are events in SimPy's queue: placing orders without
    a queue round trip (the look-ahead) still gives the figures of the plain path."""
    sc = short(FAILURES, 200.0)
    fast = simulate(sc, 9)
    monkeypatch.setattr(ServiceModel, "_LOOKAHEAD", False)
    slow = simulate(sc, 9)
    assert fast.kpis == pytest.approx(slow.kpis, rel=1e-9, abs=1e-9, nan_ok=True)
    assert fast.kpis["defections_late"] > 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(late=st.sampled_from([0.0, 0.5, 3.0]), damaged=st.sampled_from([0.0, 1.0, 20.0]),
       documentation=st.sampled_from([0.0, 0.25, 100.0]), step=st.sampled_from([0.0, 0.1]),
       seed=st.integers(0, 10_000))
def test_defections_by_cause_add_up_and_stay_within_bounds(
        late: float, damaged: float, documentation: float, step: float, seed: int) -> None:
    """Whatever the weights: the causes add up to the defections, a kind without weight
    drives nobody away, nobody defects twice (defections ≤ customers ever active), and the
    same seed gives the same figures."""
    weights = {"late": late, "damaged": damaged, "documentation": documentation}
    sc = shop(weights=weights, step=step, plenty=False, customers=60, horizon_days=120.0,
              quality={"damage_probability": 0.05, "documentation_error_probability": 0.05},
              acquisition={"customers_per_year": 100.0})
    r = simulate(sc, seed)
    k = r.kpis
    assert_causes_add_up(k)
    for cause, weight in zip(CAUSES[1:], (late, damaged, documentation), strict=True):
        if weight == 0:
            assert k[f"defections_{cause}"] == 0
    assert k["defections"] <= 60 + r.details["customers_acquired"]
    assert simulate(sc, seed).kpis == pytest.approx(k, nan_ok=True)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("value", "expected"), [
    ("{late: -1}", "value -1: must be >= 0"),
    ("{late: 101}", "value 101: must be <= 100"),
    ("{late: .nan}", "value .nan: expected a finite number"),
    ("{lateness: 1}", "unknown key; allowed keys here: late, damaged, documentation"),
    ("{damaged: lots}", "value lots: expected a number"),
    ("3", "value 3"),
])
def test_bad_weights_are_refused_with_the_file_key_value_and_what_is_allowed(
        tmp_path: Path, value: str, expected: str) -> None:
    text = BASELINE.read_text(encoding="utf-8")
    anchor = "    defect_increase_per_stockout: 0.02\n"
    assert text.count(anchor) == 1
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace(anchor, anchor + f"    failure_weights: {value}\n"),
                    encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}:")
    assert "segments.retail.failure_weights" in message
    assert expected in message, message


def test_the_report_states_the_weights_in_its_assumptions() -> None:
    def retention(path: Path) -> list[str]:
        (segments, *_) = assumption_tables(load_scenario(path))
        return [row[6] for row in segments.rows]

    assert all("counted as stockouts" not in text for text in retention(BASELINE))
    key_accounts, retail = retention(FAILURES)
    assert key_accounts.endswith("counted as stockouts for defection: a late order 1, "
                                 "a damaged order 1, a documentation error 0.5")
    assert retail.endswith("a late order 0.5, a damaged order 1, a documentation error 0.25")
