"""servicesim frontier (servicesim.experiment.frontier, DOMAIN §12): targets per SKU, per
class and per stock point of a network; the frontier, the search along it and the
confirmation; files, resume after an interruption, reproducibility, bad input; the
command line."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import servicesim.experiment.frontier_runs as frontier_runs
from servicesim.cli import main
from servicesim.errors import ScenarioError
from servicesim.experiment.frontier import (
    FrontierError,
    FrontierInterrupted,
    allocation_scenario,
    estimated_simulations,
    frontier,
    items_of,
    parse_targets,
)
from servicesim.inputs.scenario_file import load_scenario
from servicesim.policies.derivation import derive_policies
from servicesim.scenario.overrides import with_overrides
from servicesim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
NETWORK = ROOT / "scenarios" / "network.yaml"
TARGETS = (0.85, 0.95, 0.99)
SMALL = {"targets": TARGETS, "replications": 2, "confirm_replications": 3, "seed": 5,
         "workers": 1}


def short(path: Path, days: int = 240, warmup: int = 40, **changes: Any) -> Scenario:
    overrides = [f"run.horizon_days={days}", f"run.warmup_days={warmup}",
                 *(f"{k}={v}" for k, v in changes.items())]
    return with_overrides(load_scenario(path), overrides)


@pytest.fixture(scope="module")
def small_run() -> Any:
    return frontier(short(BASELINE), out_dir=None, **SMALL)


# ------------------------------------------------------------------------------ input


def test_targets_are_read_as_a_range_or_a_list() -> None:
    assert parse_targets("0.90:0.95:0.01") == (0.90, 0.91, 0.92, 0.93, 0.94, 0.95)
    assert parse_targets("0.99, 0.9,0.95") == (0.9, 0.95, 0.99)


@pytest.mark.parametrize(("text", "says"), [
    ("0.9:x:0.01", "must be numbers"),
    ("0.5,1.2", "strictly between 0 and 1"),
    ("0.95", "2 to 100 different targets"),
    ("0.5:0.99:0.001", "at most 100"),
    ("0.99:0.9:0.01", "HIGH ≥ LOW"),
])
def test_bad_targets_are_refused_naming_the_option(text: str, says: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_targets(text)
    message = str(caught.value)
    assert "--targets" in message and says in message


def test_items_are_skus_classes_or_a_networks_customer_facing_stock_points() -> None:
    scenario = load_scenario(BASELINE)
    items = items_of(scenario)
    assert [i.name for i in items] == list(scenario.skus)
    assert all(i.today_target == 0.95 for i in items)
    with pytest.raises(ScenarioError, match="no ABC class"):
        items_of(scenario, "class")
    classed = with_overrides(scenario, [f"skus.{s}.abc_class={c}"
                                        for s, c in zip(scenario.skus, "AAB", strict=True)])
    classes = items_of(classed, "class")
    assert [(c.name, len(c.skus)) for c in classes] == [("A", 2), ("B", 1)]
    network = load_scenario(NETWORK)
    points = items_of(network)
    served = {seg.location for seg in network.segments.values()}
    assert {i.location for i in points} == served and "dc" not in served
    assert all(i.name == f"{i.location}/{i.skus[0]}" for i in points)


def test_skus_with_explicit_parameters_are_refused() -> None:
    scenario = with_overrides(load_scenario(BASELINE), [
        "skus.FAST-BOLT.policy.reorder_point=50",
        "skus.FAST-BOLT.policy.order_quantity=100"])
    with pytest.raises(ScenarioError, match="parameters that a target would not change"):
        items_of(scenario)


def test_an_allocation_sets_each_items_target_and_nothing_else() -> None:
    scenario = load_scenario(BASELINE)
    items = items_of(scenario)
    changed = allocation_scenario(scenario, items, {"SLOW-PUMP": 0.8, "FAST-BOLT": 0.999})
    assert changed.sku_policy("SLOW-PUMP").service_target == 0.8
    assert changed.sku_policy("FAST-BOLT").service_target == 0.999
    assert changed.sku_policy("MID-VALVE") == scenario.sku_policy("MID-VALVE")
    before, after = derive_policies(scenario), derive_policies(changed)
    assert after["SLOW-PUMP"].reorder_point < before["SLOW-PUMP"].reorder_point
    assert after["FAST-BOLT"].reorder_point > before["FAST-BOLT"].reorder_point
    network = load_scenario(NETWORK)
    point = items_of(network)[0]
    moved = allocation_scenario(network, [point], {point.name: 0.9})
    assert moved.location_policy(point.location or "", point.skus[0]).service_target == 0.9


# ----------------------------------------------------------------------------- search


def test_a_run_recommends_a_candidate_target_per_sku_and_confirms_it(small_run: Any) -> None:
    summary = small_run.summary
    assert set(small_run.recommended) == {"FAST-BOLT", "MID-VALVE", "SLOW-PUMP"}
    assert set(small_run.recommended.values()) <= set(TARGETS)
    labels = [row["label"] for row in summary["confirmed"]]
    assert labels[0] == "today" and labels[1].startswith("all at ") and labels[2] == "recommended"
    assert sum(row["best"] for row in summary["confirmed"]) == 1
    assert all(row["not_worse"] for row in summary["confirmed"] if row["best"])
    for row in summary["confirmed"]:
        for key in ("avg_inventory_value", "item_fill_rate", "roi"):
            f = row[key]
            assert f["ci_low"] <= f["mean"] <= f["ci_high"]
    assert summary["moves"]["up"] + summary["moves"]["down"] + summary["moves"]["same"] == 3
    assert small_run.decision.startswith(f"Moving {summary['moves']['up']} SKUs up and "
                                         f"{summary['moves']['down']} down")
    # the simulations: 3 targets x 2, the search along the frontier and 3 confirmed x 3
    assert summary["simulations"] == small_run.simulations
    sized = with_overrides(short(BASELINE), ["run.replications=2"])
    assert small_run.simulations <= estimated_simulations(sized, TARGETS, 3)
    assert summary["naive_simulations"] == 3 * 3 * 2


def test_the_frontier_rises_with_investment_and_today_sits_against_it(small_run: Any) -> None:
    rows = small_run.frontier
    investment = [r["avg_inventory_value"] for r in rows]
    assert investment == sorted(investment) and len(rows) >= 2
    assert rows[-1]["item_fill_rate"] > rows[0]["item_fill_rate"]
    assert rows[0]["mean_target"] == pytest.approx(min(TARGETS))
    assert rows[-1]["mean_target"] == pytest.approx(max(TARGETS))
    for r in rows:
        assert r["item_fill_rate_ci_low"] <= r["item_fill_rate"] <= r["item_fill_rate_ci_high"]
    here = small_run.summary["you_are_here"]
    today = small_run.summary["today"]
    assert here["today_investment"] == today["avg_inventory_value"]["mean"]
    if math.isfinite(here["saving"]):
        assert here["saving"] == pytest.approx(here["today_investment"]
                                               - here["same_fill_investment"])
    # the objective predicted at today's investment, read off the frontier's rows
    xs = [r["avg_inventory_value"] for r in rows]
    assert here["objective_at_same_investment"] == pytest.approx(
        float(np.interp(here["today_investment"], xs, [r["roi"] for r in rows])))


def test_targets_rows_pair_today_with_the_recommendation(small_run: Any) -> None:
    for row in small_run.targets:
        assert row["today_target"] == 0.95
        assert row["recommended_target"] in TARGETS
        assert row["move"] == ("same" if row["recommended_target"] == 0.95 else
                               "up" if row["recommended_target"] > 0.95 else "down")
        assert row["inventory_value_change"] == pytest.approx(
            row["recommended_inventory_value"] - row["today_inventory_value"])
        assert row["units_per_year"] > 0
        low, high = row["inventory_value_change_ci_low"], row["inventory_value_change_ci_high"]
        assert low <= row["inventory_value_change"] <= high


def test_a_run_is_reproducible_serially_and_in_processes(small_run: Any) -> None:
    again = frontier(short(BASELINE), out_dir=None, **{**SMALL, "workers": 2})
    assert again.summary == small_run.summary
    assert again.targets == small_run.targets


def test_a_budget_maximises_the_fill_rate_within_it() -> None:
    scenario = short(BASELINE)
    first = frontier(scenario, out_dir=None, **SMALL)
    today = first.summary["today"]["avg_inventory_value"]["mean"]
    run = frontier(scenario, out_dir=None, budget=0.8 * today, **SMALL)
    assert run.summary["maximise"] == "item_fill_rate" and run.summary["budget"] == 0.8 * today
    spent = run.summary["recommended"]["avg_inventory_value"]["mean"]
    assert ("within the budget" in run.decision) == (spent <= 0.8 * today)
    assert "budget" in run.decision
    planned = run.frontier  # the frontier's own points, measured in the search
    assert planned[0]["avg_inventory_value"] <= 0.8 * today
    with pytest.raises(ScenarioError, match="--budget"):
        frontier(scenario, out_dir=None, budget=1.0, **SMALL)


def test_one_target_per_class() -> None:
    scenario = short(BASELINE)
    classed = with_overrides(scenario, [f"skus.{s}.abc_class={c}"
                                        for s, c in zip(scenario.skus, "AAB", strict=True)])
    run = frontier(classed, by="class", out_dir=None, **SMALL)
    assert [r["class"] for r in run.targets] == ["A", "B"]
    assert set(run.recommended) == {"A", "B"}
    assert run.decision.startswith("Moving ") and " classes up " in run.decision


def test_a_network_gets_a_target_per_sku_at_each_customer_facing_location() -> None:
    network = short(NETWORK, days=120, warmup=20)
    run = frontier(network, out_dir=None, targets=(0.9, 0.99), replications=2,
                   confirm_replications=2, seed=3, workers=2)
    locations = {r["location"] for r in run.targets}
    assert locations == {seg.location for seg in network.segments.values()}
    assert len(run.targets) == sum(len(network.held_skus(loc)) for loc in locations)
    assert {r["recommended_target"] for r in run.targets} <= {0.9, 0.99}
    # the frontier's investment is the network's: the DC's stock (and stock in transit) is
    # added to the branches' own, so today sits against it on the same scale
    branches_today = sum(r["today_inventory_value"] for r in run.targets)
    assert run.frontier[0]["avg_inventory_value"] > branches_today
    assert run.summary["today"]["avg_inventory_value"]["mean"] > branches_today
    assert "SKU–location pairs" in run.decision


# ------------------------------------------------------------------------------ files


def _interrupt_after(monkeypatch: pytest.MonkeyPatch, calls: int) -> None:
    real = frontier_runs.run_items_task
    count = {"n": 0}

    def stopping(task: Any) -> dict[str, Any]:
        count["n"] += 1
        if count["n"] > calls:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(frontier_runs, "run_items_task", stopping)


def test_files_are_written_kept_and_resumed_after_an_interruption(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_run: Any) -> None:
    scenario = short(BASELINE)
    _interrupt_after(monkeypatch, 10)
    with pytest.raises(FrontierInterrupted) as stop:
        frontier(scenario, out_dir=tmp_path, **SMALL)
    folder = stop.value.directory
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["runs"] == 10
    assert not (folder / "targets.csv").exists()
    monkeypatch.undo()
    with pytest.raises(FrontierError, match="--resume"):
        frontier(scenario, out_dir=tmp_path, **SMALL)
    resumed = frontier(scenario, out_dir=tmp_path, resume=True, **SMALL)
    assert resumed.simulations == small_run.simulations - 10
    assert resumed.targets == small_run.targets  # as if never interrupted
    for name in ("targets.csv", "frontier.csv", "frontier.json", "runs.csv", "item_runs.csv",
                 "scenario.yaml", "allocations.json"):
        assert (folder / name).is_file(), name
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "complete" and len(manifest["sessions"]) == 2
    again = frontier(scenario, out_dir=tmp_path, resume=True, **SMALL)
    assert again.simulations == 0 and again.summary["decision"] == resumed.summary["decision"]
    with pytest.raises(FrontierError, match="different run"):
        frontier(scenario, out_dir=tmp_path, resume=True, **{**SMALL, "seed": 6},
                 run_id=folder.name)


# -------------------------------------------------------------------------- the command


def test_the_command_prints_the_decision_and_writes_the_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["frontier", str(BASELINE), "--targets", "0.85,0.95,0.99",
                   "--replications", "2", "--confirm-replications", "3",
                   "--horizon-days", "240", "--out", str(tmp_path), "--workers", "1",
                   "--no-plots", "--id", "f"])
    out = capsys.readouterr().out
    assert status == 0
    assert "Confirmed on fresh seeds" in out and "recommended" in out
    assert out.rstrip().splitlines()[-1].startswith("Moving ")
    assert (tmp_path / "baseline" / "f" / "targets.csv").is_file()


@pytest.mark.parametrize(("argv", "says"), [
    (["--targets", "0.9,1.5"], "--targets"),
    (["--maximise", "fill_rate"], "--budget"),
    (["--budget", "-5"], "--budget"),
])
def test_the_command_refuses_bad_options_clearly(tmp_path: Path, argv: list[str], says: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["frontier", str(BASELINE), "--out", str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert status == 2 and says in err and "Traceback" not in err


def test_stock_point_rows_are_written_as_every_other_row_is(tmp_path: Path) -> None:
    from servicesim.experiment.frontier_runs import (
        ITEM_FIGURES,
        ITEMS,
        Measured,
        RunFiles,
        item_columns,
        read_measured,
    )
    from servicesim.experiment.store import RunsFile

    points = ("plain", "with,comma", 'quote"d', "=formula")
    items = {p: [float(k), 0.1 * k, 1e-17, 123456789.123, 2.5, 0.0, 7.0, 1 / 3]
             for k, p in enumerate(points)}
    files = RunFiles(tmp_path, ["roi"], Measured(points))
    files.add({"alternative": 3, "allocation": "all at 95 %", "phase": "search",
               "replication": 1, "seed": 7, "roi": 0.25, ITEMS: items})
    files.write()
    generic = RunsFile(tmp_path / "generic.csv", item_columns(),
                       key=("alternative", "replication", "stock_point"))
    for p in points:
        generic.add({"alternative": 3, "replication": 1, "stock_point": p,
                     **dict(zip(ITEM_FIGURES, items[p], strict=True))}, write=False)
    generic.write()
    assert (tmp_path / "item_runs.csv").read_text() == (tmp_path / "generic.csv").read_text()
    back = read_measured(tmp_path, points, ["roi"])  # and they read back whole
    assert back.has(3, 1) and back.items[(3, 1)].tolist() == [items[p] for p in points]
