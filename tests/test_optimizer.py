"""The adaptive optimiser (DOMAIN §1, §6): it finds the analytic optima of the validation
cases A2 and E3, reports the set of levels not significantly below the best, costs fewer
simulations than the fine grid, writes parseable files, is deterministic, and refuses bad
input clearly."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import validation as v
from servicesim.errors import ScenarioError
from servicesim.experiment import optimize as optimizer
from servicesim.experiment.engine import Task
from servicesim.experiment.optimize import Bound, nice_step, optimize, parse_bound
from servicesim.experiment.statistics import holm, paired_comparison
from servicesim.experiment.today import own_params
from servicesim.inputs.scenario_file import load_scenario
from servicesim.scenario.schema import Scenario

A2 = "A2_basestock_backorder_cost_optimal_S"
E3 = "E3_lostsales_basestock_uniformL_profit_max"
KEY = "policy.order_up_to"


def case_scenario(case_id: str, horizon_days: float) -> Scenario:
    """A validation case as a scenario at a short horizon; price and unit cost 0 when the
    case has no margin, so operating profit is minus the case's cost over the window."""
    data = v.scenario_data(v.CASES[case_id], "quick", order_up_to=0)
    sku = data["skus"][v.SKU]
    sku.setdefault("price", 0.0)
    sku.setdefault("unit_cost", 0.0)
    data["run"]["horizon_days"] = horizon_days
    return Scenario.model_validate(data)


def tiny() -> Scenario:
    """One SKU, twenty customers, a short horizon: ROI has an interior optimum in the target."""
    return Scenario.model_validate({
        "name": "tiny", "run": {"horizon_days": 200, "warmup_days": 20},
        "skus": {"A": {"unit_cost": 10.0, "price": 15.0, "holding_rate_per_year": 0.3}},
        "policy": {"type": "sQ", "service_target": 0.9, "order_quantity": 20},
        "segments": {"s": {"customers": 20,
                           "order_interval_days": {"type": "exponential", "mean": 2.0},
                           "reactions": {"switch": 0.9, "defect": 0.1}}},
        "supplier": {"lead_time_days": {"type": "gamma", "mean": 5, "std": 2}},
        "finance": {"cost_of_capital_rate_per_year": 0.5, "fixed_logistics_assets": 5000},
    })


TINY = {"objective": "roi", "resolution": 0.01, "replications": 4, "max_replications": 16,
        "seed": 1}


# ----------------------------------------------------------------- the analytic optima


@pytest.mark.parametrize(("case_id", "high", "horizon_days"), [
    pytest.param(A2, 20, 2000.0, id="A2"),
    pytest.param(E3, 10, 1500.0, id="E3"),
])
def test_finds_the_analytic_optimum(case_id: str, high: int, horizon_days: float) -> None:
    """Cost-optimal base stock with backorders (A2: S* = 6) and profit-maximising base stock
    with lost sales (E3: S* = 3), posed as a search over the base-stock level.  The margins
    (cases.json: C(5) − C(6) = 0.34, C(7) − C(6) = 0.17 per day; P(3) − P(2) = 0.32,
    P(3) − P(4) = 0.35 per week) are many standard errors at these horizons under common
    random numbers: 25 seeds each gave S* every time."""
    case = v.CASES[case_id]
    result = optimize(case_scenario(case_id, horizon_days), [f"{KEY}=0:{high}"],
                      objective="operating_profit", seed=v.SEEDS["quick"], workers=2,
                      out_dir=None)
    optimum = case["expected"]["optimal_S"]
    assert result.best == {KEY: optimum}, result.report()
    assert {KEY: optimum} in result.not_worse
    assert result.n_simulations < result.fine_grid_simulations
    assert result.fine_grid_simulations == (high + 1) * max(e["n"] for e in result.evaluations)
    # the neighbours of S* were simulated and are significantly worse
    rows = {e[KEY]: e for e in result.evaluations}
    for level in (optimum - 1, optimum + 1):
        assert not rows[level]["not_worse"] and rows[level]["p_holm"] <= 0.05


def test_integer_fields_are_searched_on_whole_numbers() -> None:
    result = optimize(case_scenario(E3, 300.0), [Bound(KEY, 0.0, 10.0)],
                      objective="operating_profit", seed=3, workers=1, out_dir=None,
                      max_replications=5)
    assert result.space[0]["integer"] and result.space[0]["resolution"] == 1
    assert all(isinstance(e[KEY], int) for e in result.evaluations)


# ----------------------------------------------------------------- a continuous level


@pytest.fixture(scope="module")
def continuous(tmp_path_factory: pytest.TempPathFactory) -> optimizer.OptimizeResult:
    out = tmp_path_factory.mktemp("results")
    return optimize(tiny(), ["policy.service_target=0.5:0.99"], workers=2, out_dir=out,
                    command="servicesim optimize tiny.yaml", **TINY)


def test_continuous_not_worse_set_is_an_interval_around_the_best(
        continuous: optimizer.OptimizeResult) -> None:
    result = continuous
    key = "policy.service_target"
    assert result.best in result.not_worse
    levels = sorted(e[key] for e in result.evaluations)
    inside = sorted(p[key] for p in result.not_worse)
    # every simulated level between the smallest and largest not-worse level is not worse
    assert [x for x in levels if inside[0] <= x <= inside[-1]] == inside
    assert 0.5 < inside[0] and inside[-1] < 0.99 and inside[-1] - inside[0] <= 0.1
    # the stopping rule: the best's neighbours at the resolution were simulated, and every
    # undecided point has the maximum replications
    best = result.best[key]
    assert any(math.isclose(x, best - 0.01) for x in levels)
    assert any(math.isclose(x, best + 0.01) for x in levels)
    assert all(e["n"] == TINY["max_replications"] for e in result.evaluations
               if e["not_worse"])
    assert result.n_simulations == len(result.runs) == sum(e["n"] for e in result.evaluations)
    assert result.n_simulations < result.fine_grid_simulations == 50 * 16


def test_report_states_the_numbers(continuous: optimizer.OptimizeResult) -> None:
    """What was searched, then the decision: today, the best with its interval, the
    difference, the not-worse range and the simulations, in plain words."""
    text = continuous.report()
    est = continuous.best_estimate
    lines = text.splitlines()
    assert lines[0] == ("Searched service target from 50 % to 99 % in steps of 1 point "
                        "(50 values) for the highest ROI (annualised) of scenario 'tiny'.")
    best = continuous.best["policy.service_target"]
    (shown,) = [line for line in lines if line.startswith("Best: ")]
    assert shown.startswith(f"Best: service target {100 * best:g} %: ROI "
                            f"{100 * est['mean']:,.1f} % (95 % CI {100 * est['ci_low']:,.1f}–"
                            f"{100 * est['ci_high']:,.1f} %), achieved fill rate ")
    assert "operating profit" in shown
    assert f"over {est['n']} replications" in text
    assert lines[-1] == (f"Simulations: {continuous.n_simulations:,} for the search "
                         f"({len(continuous.evaluations)} points, {continuous.rounds} rounds) "
                         f"and {est['n']} of today; a fine grid of the same resolution and "
                         f"replications would take {continuous.fine_grid_simulations:,}.")
    inside = sorted(p["policy.service_target"] for p in continuous.not_worse)
    (nw,) = [line for line in lines if line.startswith("Not significantly below the best")]
    assert f"{100 * inside[0]:g} %" in nw and f"{100 * inside[-1]:g} %" in nw
    assert "Holm" in text and "common random numbers" in text
    assert "policy.service_target" not in text and "(roi)" not in text


def test_files_are_written_and_parseable(continuous: optimizer.OptimizeResult) -> None:
    folder = continuous.directory
    assert folder is not None and folder.parent.name == "tiny"
    assert folder.name.startswith("optimize-")
    assert sorted(p.name for p in folder.iterdir()) == [
        "chart_records.json", "evaluations.csv", "result.json", "runs.csv", "scenario.yaml",
        "today.csv", "today.json"]
    with open(folder / "runs.csv", newline="", encoding="utf-8") as handle:
        runs = list(csv.DictReader(handle))
    assert len(runs) == continuous.n_simulations
    assert {"alternative", "policy.service_target", "replication", "seed", "roi"} <= set(runs[0])
    assert [float(r["roi"]) for r in runs] == [r["roi"] for r in continuous.runs]
    with open(folder / "evaluations.csv", newline="", encoding="utf-8") as handle:
        evaluations = list(csv.DictReader(handle))
    assert len(evaluations) == len(continuous.evaluations)
    assert sum(r["not_worse"] == "True" for r in evaluations) == len(continuous.not_worse)
    document = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    assert document["best"] == continuous.best
    assert document["not_worse"] == continuous.not_worse
    assert document["n_simulations"] == continuous.n_simulations
    assert document["fine_grid_simulations"] == continuous.fine_grid_simulations
    assert document["objective"] == "roi" and document["seed"] == 1
    assert document["command"] == "servicesim optimize tiny.yaml"
    assert document["best_estimate"]["mean"] == pytest.approx(continuous.best_estimate["mean"])
    assert document["space"][0]["key"] == "policy.service_target"
    assert document["started"] <= document["finished"] and document["servicesim_version"]
    assert load_scenario(folder / "scenario.yaml") == tiny()
    assert not list(folder.glob(".*.tmp"))


def test_same_seed_same_evaluations_serial_or_in_processes(
        continuous: optimizer.OptimizeResult) -> None:
    """Every decision depends only on the rows, and the rows only on (point, replication)."""
    serial = optimize(tiny(), ["policy.service_target=0.5:0.99"], workers=1, out_dir=None,
                      **TINY)
    assert serial.evaluations == continuous.evaluations
    assert serial.runs == continuous.runs


# ------------------------------------------------------- the search on a known surface


def fake_execute(surface: Any, noise_sd: float, keys: Sequence[str]) -> Any:
    """An ``engine.execute`` stand-in: objective = surface(params) + a common shock per
    replication (common random numbers) + a little independent noise, all seeded.  Today's
    tasks (no params) take the scenario's own values of ``keys``."""

    def execute(tasks: Sequence[Task], executor: Any = None, workers: Any = None,
                on_row: Any = None, on_chart: Any = None) -> list[dict[str, Any]]:
        rows = []
        for t in tasks:
            params = dict(t.params) or own_params(t.scenario, keys)
            common = np.random.default_rng([t.root_seed, t.replication]).normal(0.0, 1.0)
            key = [round(1000 * x) for x in params.values()]
            own = np.random.default_rng([t.root_seed, t.replication, *key]).normal(0, noise_sd)
            rows.append({"alternative": t.alternative, **params, "replication": t.replication,
                         "seed": t.root_seed, "roi": surface(**params) + common + own})
        return sorted(rows, key=lambda r: (r["alternative"], r["replication"]))

    return execute


def test_two_parameters_reach_the_peak(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 2-D concave surface with its peak on the lattice: the peak is found with far fewer
    evaluations than the fine grid."""
    def surface(**p: float) -> float:
        x, y = p["skus.A.holding_rate_per_year"], p["finance.cost_of_capital_rate_per_year"]
        return -((x - 0.3) ** 2) - 2 * (y - 0.7) ** 2

    monkeypatch.setattr(optimizer, "execute", fake_execute(
        surface, 0.002, ["skus.A.holding_rate_per_year", "finance.cost_of_capital_rate_per_year"]))
    result = optimize(tiny(), ["skus.A.holding_rate_per_year=0:1",
                               "finance.cost_of_capital_rate_per_year=0:1"],
                      resolution=0.05, seed=7, out_dir=None)
    assert result.best == {"skus.A.holding_rate_per_year": 0.3,
                           "finance.cost_of_capital_rate_per_year": 0.7}
    assert len(result.not_worse) == 1
    assert result.n_simulations * 4 < result.fine_grid_simulations == 21 * 21 * max(
        e["n"] for e in result.evaluations)


def test_a_plateau_gives_a_wide_not_worse_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flat on [0.4, 0.6], falling outside: the not-worse set spans most of the plateau and
    nothing far outside it (DOMAIN §6: the uncertainty of the best level)."""
    def surface(**p: float) -> float:
        return -max(0.0, abs(p["policy.service_target"] - 0.5) - 0.1)

    monkeypatch.setattr(optimizer, "execute", fake_execute(surface, 0.01,
                                                           ["policy.service_target"]))
    result = optimize(tiny(), [Bound("policy.service_target", 0.01, 0.99)], resolution=0.01,
                      seed=11, out_dir=None)
    inside = [p["policy.service_target"] for p in result.not_worse]
    assert 0.4 <= result.best["policy.service_target"] <= 0.6
    assert min(inside) <= 0.45 and max(inside) >= 0.55
    assert all(0.37 <= x <= 0.63 for x in inside)
    assert result.n_simulations < result.fine_grid_simulations


# ----------------------------------------------------------------- statistics helpers


def test_holm_matches_the_step_down_rule() -> None:
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([]) == []
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_paired_comparison_uses_common_replications() -> None:
    best = [10.0, 12.0, 11.0, 13.0, 50.0]
    other = [9.0, 11.5, 10.0, 12.0]  # four replications: the fifth of best is not paired
    out = paired_comparison(best, other)
    assert out["n_common"] == 4 and out["diff"] == pytest.approx(0.875)
    assert 0 < out["p_value"] < 0.01
    assert paired_comparison([1.0, 2.0], [1.0, 2.0])["p_value"] == 1.0  # identical: not worse
    assert paired_comparison([2.0, 3.0], [1.0, 2.0])["p_value"] == 0.0  # always 1 below
    assert paired_comparison([1.0], [0.0])["p_value"] == 1.0  # one pair: undecided


def test_nice_steps() -> None:
    assert nice_step(0.199 / 200) == 0.001
    assert nice_step(0.49 / 200) == 0.0025
    assert nice_step(3.0) == 2.5 and nice_step(40.0) == 50.0


def test_parse_bound() -> None:
    assert parse_bound("policy.order_up_to=0:20") == Bound("policy.order_up_to", 0, 20)
    b = parse_bound(" policy.service_target = 0.80 : 0.999 ")
    assert b == Bound("policy.service_target", 0.8, 0.999)


# ----------------------------------------------------------------- bad input


@pytest.mark.parametrize(("space", "kwargs", "expected"), [
    (["policy.service_targt=0.8:0.99"], {}, ["policy.service_targt", "service_target"]),
    (["policy.service_target=0.99:0.8"], {}, ["policy.service_target", "must be below"]),
    (["policy.service_target=0.9:0.9"], {}, ["must be below"]),
    (["policy.service_target=0.5:1.2"], {}, ["policy.service_target", "1.2", "must be < 1"]),
    (["policy.order_quantity=-3:5"], {}, ["policy.order_quantity", "-3"]),
    (["policy.service_target=0.8:0.99"], {"objective": "rio"},
     ["--objective", "rio", "unknown objective", "did you mean roi"]),
    (["policy.service_target=0.5:0.9", "skus.A.holding_rate_per_year=0:1",
      "finance.cost_of_capital_rate_per_year=0:1", "run.warmup_days=0:10"], {},
     ["1 to 3 parameters", "got 4"]),
    ([], {}, ["1 to 3 parameters", "got 0"]),
    (["policy.service_target=0.5:0.9", "policy.service_target=0.6:0.7"], {},
     ["searched twice"]),
    (["policy.service_target=0.8:0.99"], {"replications": 1}, ["--replications", "at least 2"]),
    (["policy.service_target=0.8:0.99"], {"replications": 10, "max_replications": 5},
     ["--max-replications", ">= replications (10)"]),
    (["policy.service_target=0.8:0.99"], {"resolution": 0}, ["--resolution", "must be > 0"]),
    (["policy.service_target=0.8:0.99"], {"resolution": [0.01, 0.1]},
     ["one resolution per parameter"]),
    (["policy.service_target"], {}, ["expects KEY=LOW:HIGH"]),
    (["policy.service_target=0.8"], {}, ["LOW:HIGH"]),
    (["policy.service_target=a:b"], {}, ["must be numbers"]),
    (["policy.service_target=0.8:inf"], {}, ["finite"]),
    ([Bound("policy.order_up_to", 0.2, 0.8, integer=True)], {}, ["two whole numbers"]),
])
def test_bad_input_is_refused_clearly(space: list[Any], kwargs: dict[str, Any],
                                      expected: list[str], tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        optimize(tiny(), space, out_dir=tmp_path, workers=1, **kwargs)
    text = str(info.value)
    for part in expected:
        assert part in text, text
    assert not list(tmp_path.iterdir())  # nothing simulated, nothing written


def test_another_optimisation_in_the_folder_is_refused_unless_overwrite(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same --id for a different search is refused, naming --resume and --overwrite, and
    leaves the folder as it was; --overwrite replaces it."""
    from servicesim.cli import main
    from sweep_helpers import write_tiny

    tiny_file = write_tiny(tmp_path)
    base = ["optimize", str(tiny_file), "--replications", "2", "--max-replications", "2",
            "--workers", "1", "--out", str(tmp_path / "out"), "--id", "same", "--quiet",
            "--no-plots", "--param", "policy.service_target"]
    assert main([*base, "--bounds", "0.5", "0.9"]) == 0
    folder = tmp_path / "out" / "tiny" / "same"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    capsys.readouterr()
    assert main([*base, "--bounds", "0.6", "0.95"]) == 2
    err = capsys.readouterr().err
    assert "holds another optimisation" in err and "--resume" in err and "--overwrite" in err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert main([*base, "--bounds", "0.6", "0.95", "--overwrite"]) == 0
    result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    assert result["content_id"] != json.loads(before["result.json"])["content_id"]
    with open(folder / "evaluations.csv", newline="", encoding="utf-8") as handle:
        targets = [float(r["policy.service_target"]) for r in csv.DictReader(handle)]
    assert min(targets) >= 0.6
