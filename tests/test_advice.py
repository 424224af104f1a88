"""Warnings about a scenario and its simulated figures (servicesim.experiment.advice), and
the command line that prints them without ever changing the exit code."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import yaml
from scipy import integrate, stats

from servicesim.cli import main
from servicesim.experiment.advice import (
    alternatives_from_runs,
    alternatives_warnings,
    figure_warnings,
    scenario_warnings,
    service_target,
)
from servicesim.inputs.scenario_file import load_scenario
from servicesim.policies.derivation import sku_demands
from servicesim.scenario.overrides import with_overrides
from servicesim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


@pytest.fixture(scope="module")
def baseline() -> Scenario:
    return load_scenario(BASELINE)


TIGHT_PROMISE = {"service_failures.yaml"}
"""Shipped scenarios whose promise is tighter than transit keeps on purpose: late orders are
what they show (the express-outbound what-if), so the promise warning is their only one."""


def test_the_shipped_scenarios_raise_no_scenario_warning() -> None:
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        warnings = scenario_warnings(load_scenario(path))
        if path.name in TIGHT_PROMISE:
            assert warnings and all("promised_cycle_time_days" in w for w in warnings), \
                path.name
        else:
            assert warnings == [], path.name


def test_a_promise_the_logistics_cannot_keep_is_named(baseline: Scenario) -> None:
    changed = with_overrides(baseline, ["segments.key_accounts.promised_cycle_time_days=3"])
    (warning,) = scenario_warnings(changed)
    assert warning.startswith("segment key_accounts is promised delivery within 3 ")
    assert "a promise of 4 days is kept for 95 %" in warning


def test_a_price_below_unit_cost_names_the_sku_and_both_values(baseline: Scenario) -> None:
    changed = with_overrides(baseline, ["skus.MID-VALVE.price=44.5"])
    (warning,) = scenario_warnings(changed)
    assert warning.startswith("SKU MID-VALVE: price 44.50 EUR is below its unit cost 45.00 EUR")


def test_many_skus_below_cost_are_counted_after_the_first_ten(baseline: Scenario) -> None:
    data = baseline.model_dump()
    data["skus"] = {f"S{i:02d}": {"unit_cost": 10.0, "price": 9.0} for i in range(13)}
    for segment in data["segments"].values():
        segment["sku_weights"] = None
    warnings = scenario_warnings(Scenario.model_validate(data))
    assert len(warnings) == 11
    assert all(w.startswith("SKU S") for w in warnings[:10])
    assert warnings[10].startswith("3 more SKUs (of 13) are priced below their unit cost")


def test_a_promise_the_logistics_cannot_keep_from_stock_is_flagged(
        baseline: Scenario) -> None:
    assert scenario_warnings(baseline) == []  # 4 days: kept for 98 % of orders from stock
    changed = with_overrides(baseline, ["segments.key_accounts.promised_cycle_time_days=3"])
    (warning,) = scenario_warnings(changed)
    assert warning.startswith("segment key_accounts is promised delivery within 3 days, but "
                              "order processing and transit (together 2.33 days on average)")
    assert "a promise of 4 days is kept for 95 % of them " \
           "(segments.key_accounts.promised_cycle_time_days)" in warning
    # P(processing + transit <= 3): exponential processing (mean 0.5) after a triangular
    # transit (1, 1.5, 3), integrated over the transit's density
    transit = stats.triang(c=0.25, loc=1, scale=2)
    kept = integrate.quad(lambda t: transit.pdf(t) * (1 - math.exp(-(3 - t) / 0.5)), 1, 3,
                          points=[1.5])[0]
    shown = float(re.search(r"for only ([\d.]+) %", warning).group(1))  # type: ignore[union-attr]
    assert shown == pytest.approx(100 * kept, abs=0.75)  # 20,000 draws: 0.25-point std error


def test_roi_above_100_percent_a_year(baseline: Scenario) -> None:
    window_years = (baseline.run.horizon_days - baseline.run.warmup_days) / 365
    figures = {"roi": {"mean": 1.534}, "revenue": {"mean": 2e6 * window_years},
               "item_fill_rate": {"mean": 0.95}}
    (warning,) = figure_warnings(baseline, figures)
    assert warning.startswith("ROI above 100 % a year: 153.4 % a year on a revenue of "
                              "2,000,000 EUR a year")
    assert "finance.fixed_cost_per_year (250,000 EUR)" in warning
    assert "finance.fixed_logistics_assets (900,000 EUR)" in warning
    assert figure_warnings(baseline, {**figures, "roi": {"mean": 0.99}}) == []
    assert figure_warnings(baseline, {**figures, "roi": math.nan}) == []


def test_achieved_service_far_from_the_target(baseline: Scenario) -> None:
    assert figure_warnings(baseline, {"item_fill_rate": 0.99}) == []  # 4 points above 95 %
    (above,) = figure_warnings(baseline, {"item_fill_rate": 0.965},
                               params={"policy.service_target": 0.9})
    assert above.startswith("achieved item fill rate more than 5 points above the target: "
                            "96.5 % achieved against a target of 90.0 %")
    assert "customers who defect shrink demand" in above and "DOMAIN" not in above
    (below,) = figure_warnings(baseline, {"item_fill_rate": {"mean": 0.85}})
    assert below.startswith("achieved item fill rate more than 5 points below the target: "
                            "85.0 % achieved against a target of 95.0 %")
    assert "lead-time demand model" in below and "new customers grow demand" in below


def test_the_cycle_service_level_is_compared_when_it_is_the_metric(baseline: Scenario) -> None:
    alpha = with_overrides(baseline, ["policy.service_metric=cycle_service_level"])
    figures = {"item_fill_rate": 0.97, "cycle_service_level": 0.85}
    (warning,) = figure_warnings(alpha, figures)
    assert "achieved cycle service level more than 5 points below" in warning
    assert "85.0 % achieved against a target of 95.0 %" in warning
    assert figure_warnings(baseline, figures) == []  # β: 97 % against 95 %


def test_targets_that_differ_by_sku_are_weighted_by_demand(baseline: Scenario) -> None:
    mixed = with_overrides(baseline, ["skus.SLOW-PUMP.policy.service_target=0.5"])
    demand = sku_demands(mixed)
    units = {name: d.units_per_day for name, d in demand.items()}
    expected = (0.95 * (units["FAST-BOLT"] + units["MID-VALVE"]) + 0.5 * units["SLOW-PUMP"]) \
        / sum(units.values())
    assert service_target(mixed, "fill_rate") == pytest.approx(expected)
    assert 0.5 < expected < 0.95
    assert service_target(baseline, "fill_rate") == 0.95
    assert service_target(baseline, "cycle_service_level") is None  # no SKU uses it
    explicit = with_overrides(baseline, ["policy.service_target=null",
                                         "policy.reorder_point=100"])
    assert figure_warnings(explicit, {"item_fill_rate": 0.5}) == []  # no target to miss


def test_alternatives_are_warned_about_once_per_kind(baseline: Scenario) -> None:
    targets = [round(0.5 + 0.025 * i, 3) for i in range(21)]
    alternatives = [({"policy.service_target": t},
                     {"item_fill_rate": 0.96, "roi": 1.2 if t < 0.55 else 0.6})
                    for t in targets]
    roi, service = alternatives_warnings(baseline, alternatives)
    assert roi.startswith("ROI above 100 % a year in 2 of 21 alternatives "
                          "(policy.service_target = 0.5, 0.525): 120.0 % a year (at "
                          "policy.service_target = 0.5: 120.0 % a year")
    over = [t for t in targets if 0.96 - t > 0.05]
    assert service.startswith(
        f"achieved item fill rate more than 5 points above the target in {len(over)} of 21 "
        "alternatives (policy.service_target = 0.5, 0.525, 0.55, 0.575, ..., 0.9): "
        "from 6.0 to 46.0 points (at policy.service_target = 0.5: 96.0 % achieved against "
        "a target of 50.0 %)")
    assert service.count("Likely reasons") == 1
    assert alternatives_warnings(baseline, alternatives[-3:]) == []


def test_alternatives_from_tidy_runs() -> None:
    runs = [{"alternative": a, "policy.service_target": t, "replication": r,
             "roi": 0.1 * (a + 1) + 0.01 * r, "item_fill_rate": 0.9, "revenue": 10.0,
             "cycle_service_level": math.nan}
            for a, t in enumerate((0.8, 0.9)) for r in range(3)]
    (first, figures), (second, _) = alternatives_from_runs(runs, ["policy.service_target"])
    assert first == {"policy.service_target": 0.8} and second == {"policy.service_target": 0.9}
    assert figures["roi"] == pytest.approx(0.11)
    assert figures["item_fill_rate"] == pytest.approx(0.9)
    assert math.isnan(figures["cycle_service_level"])


# ------------------------------------------------------------------------ the command line


def _short_baseline(tmp_path: Path, horizon_days: float = 200, **changes: object) -> Path:
    data = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))
    data["run"].update(horizon_days=horizon_days, warmup_days=60, replications=2)
    data["policy"].update(changes)
    path = tmp_path / "short.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_run_prints_warnings_on_stderr_and_still_succeeds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _short_baseline(tmp_path, service_target=0.7)
    assert main(["run", str(path), "--out", str(tmp_path / "res")]) == 0
    out, err = capsys.readouterr()
    warnings = [line for line in err.splitlines() if line.startswith("servicesim: warning: ")]
    assert len(warnings) == 1, err
    assert "item fill rate more than 5 points above the target" in warnings[0]
    assert "against a target of 70.0 %" in warnings[0] and "servicesim: warning" not in out
    assert main(["run", str(path), "--out", str(tmp_path / "res"), "--quiet"]) == 0
    assert "servicesim: warning" not in capsys.readouterr().err


def test_sweep_prints_one_warning_per_kind(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = _short_baseline(tmp_path)
    assert main(["sweep", str(path), "--param", "policy.service_target=0.6,0.7,0.99",
                 "--workers", "1", "--out", str(tmp_path / "res"), "--no-plots"]) == 0
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("servicesim: warning: ")]
    assert len(warnings) == 1, err
    assert "above the target in 2 of 3 alternatives (policy.service_target = 0.6, 0.7)" \
        in warnings[0]


def test_validate_prints_scenario_warnings_with_exit_code_0(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))
    data["skus"]["FAST-BOLT"]["price"] = 7.5
    path = tmp_path / "cheap.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"OK {path}")
    assert err == (f"servicesim: warning: {path}: SKU FAST-BOLT: price 7.50 EUR is below its "
                   "unit cost 8.00 EUR: every unit sold loses money\n")


def test_optimize_prints_one_warning_per_kind(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = _short_baseline(tmp_path, horizon_days=100)
    assert main(["optimize", str(path), "--replications", "2", "--max-replications", "2",
                 "--workers", "1", "--out", str(tmp_path / "res"), "--no-plots"]) == 0
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("servicesim: warning: ")]
    assert len(warnings) == 1, err
    assert "item fill rate more than 5 points above the target in " in warnings[0]
    assert "(policy.service_target = 0.5, " in warnings[0]


def test_a_network_location_is_held_to_its_own_target() -> None:
    """In a network the gap is each location's fill rate against that location's target,
    and the warning names the location with the largest gap."""
    sc = Scenario.model_validate({
        "name": "net", "skus": {"a": {}},
        "policy": {"type": "base_stock", "service_target": 0.9},
        "segments": {"n": {"location": "north"}, "s": {"location": "south"}},
        "locations": {"dc": {"policy": {"service_target": 0.5}},
                      "north": {"replenished_from": "dc", "policy": {"service_target": 0.8}},
                      "south": {"replenished_from": "dc"}}})
    # the network-wide fill rate meets the base target; north is 15 points above its own
    figures = {"item_fill_rate": 0.9, "dc.fill_rate": math.nan,
               "north.fill_rate": 0.95, "south.fill_rate": 0.88}
    (warning,) = figure_warnings(sc, figures)
    assert "95.0 % achieved against north's target of 80.0 %" in warning
    assert figure_warnings(sc, {**figures, "north.fill_rate": 0.83}) == []
