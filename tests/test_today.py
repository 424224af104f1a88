"""Today: sweeps and optimisations also run the scenario as given, on the same seeds as the
alternatives (common random numbers, DOMAIN §6), write today.csv and today.json, resume them
like their other rows, and end their terminal output with the decision against today."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from servicesim import SUMMARY_KEYS
from servicesim.cli import main
from servicesim.experiment import engine
from servicesim.experiment.optimize import Bound, default_step, optimize
from servicesim.experiment.statistics import figure_interval
from servicesim.experiment.sweep import sweep
from servicesim.experiment.today import money, own_params, plain_key
from servicesim.outputs.results import load_results
from servicesim.scenario.schema import Scenario
from sweep_helpers import BASE, TINY, write_tiny

KEY = "policy.service_target"
TARGETS = f"{KEY}=0.7,0.9,0.97"  # BASE's own target is 0.9: alternative 1 is today


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return sweep(BASE, [TARGETS], out_dir=tmp_path_factory.mktemp("sweep"), workers=1)


@pytest.fixture
def simulations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the replications simulated in this process (serial runs only)."""
    calls: list[int] = []
    real = engine.simulate

    def counting(scenario: Scenario, seed: Any) -> Any:
        calls.append(1)
        return real(scenario, seed)

    monkeypatch.setattr(engine, "simulate", counting)
    return calls


# ---------------------------------------------------------------- the rows and the seeds


def test_today_rows_are_the_rows_of_the_alternative_that_is_today(swept: Any) -> None:
    """Replication r of today and of every alternative run from the same seed, so today
    equals, to the bit, the alternative that sets the scenario's own target."""
    folder = swept.directory
    today = read_csv(folder / "today.csv")
    assert list(today[0]) == ["replication", "seed", *SUMMARY_KEYS]
    runs = read_csv(folder / "runs.csv")
    own = [r for r in runs if float(r[KEY]) == 0.9]
    assert len(today) == len(own) == 3
    for mine, theirs in zip(today, own, strict=True):
        assert mine == {k: theirs[k] for k in mine}  # every cell, seed and replication too
    assert repr([[r[k] for k in SUMMARY_KEYS] for r in swept.today.runs]) == repr(
        [[r[k] for k in SUMMARY_KEYS] for r in swept.runs if r["alternative"] == 1])
    document = read_json(folder / "today.json")
    assert document["params"] == {KEY: 0.9} and document["objective"] == "roi"
    assert document["best"] == swept.best("roi")["params"]


def test_the_difference_is_the_mean_of_best_minus_today_on_each_replication(swept: Any
                                                                           ) -> None:
    folder = swept.directory
    document = read_json(folder / "today.json")
    best = swept.best("roi")["alternative"]
    mine = [r for r in swept.today.runs]
    theirs = [r for r in swept.runs if r["alternative"] == best]
    for key in SUMMARY_KEYS:
        d = np.array([b[key] - t[key] for b, t in zip(theirs, mine, strict=True)])
        diff = document["best_minus_today"][key]
        if np.isnan(d).any():
            continue
        assert diff["mean"] == pytest.approx(float(d.mean()), rel=1e-12, abs=1e-12), key
        assert diff["n"] == 3
        if d.std() > 0:
            test = stats.ttest_rel([b[key] for b in theirs], [t[key] for t in mine])
            assert diff["p_value"] == pytest.approx(float(test.pvalue), rel=1e-9), key
            half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / math.sqrt(3)
            assert diff["ci_low"] == pytest.approx(d.mean() - half, rel=1e-9), key
        expected = figure_interval(key, [t[key] for t in mine])
        assert document["figures"][key]["mean"] == pytest.approx(expected["mean"], rel=1e-12)
        assert document["figures"][key]["n"] == expected["n"]
    assert swept.today.best_minus_today["roi"]["mean"] == document["best_minus_today"][
        "roi"]["mean"]


def test_when_the_best_is_today_the_difference_is_exactly_zero(tmp_path: Path) -> None:
    result = sweep(BASE, [f"{KEY}=0.9"], out_dir=tmp_path, workers=1)
    document = read_json(result.directory / "today.json")
    assert document["best"] == document["params"] == {KEY: 0.9}
    finite = [v for v in document["best_minus_today"].values() if v["mean"] is not None]
    assert finite and all(v["mean"] == 0.0 for v in finite)
    assert result.today.best_is_today
    assert "Best: today's own policy (service target 90 %)." in result.decision()
    assert "no change is better than today's policy" in result.decision()


def test_processes_give_the_same_today_as_a_serial_run(swept: Any, tmp_path: Path) -> None:
    pool = sweep(BASE, [TARGETS], out_dir=tmp_path, workers=2)
    for name in ("today.csv", "today.json"):
        assert (pool.directory / name).read_bytes() == (swept.directory / name).read_bytes()


# ---------------------------------------------------------------------------- resume


def test_resume_keeps_a_complete_today_and_completes_a_partial_one(
        tmp_path: Path, simulations: list[int]) -> None:
    first = sweep(BASE, [TARGETS], out_dir=tmp_path, workers=1)
    assert len(simulations) == 9 + 3 and first.today.n_simulations == 3
    files = {n: (first.directory / n).read_bytes() for n in ("today.csv", "today.json")}

    simulations.clear()
    again = sweep(BASE, [TARGETS], out_dir=tmp_path, workers=1, resume=True)
    assert simulations == [] and again.n_simulations == again.today.n_simulations == 0
    assert {n: (again.directory / n).read_bytes() for n in files} == files

    header, one, *_ = files["today.csv"].decode().splitlines(keepends=True)
    (first.directory / "today.csv").write_text(header + one + "1,7,0.5", encoding="utf-8")
    (first.directory / "today.json").unlink()
    simulations.clear()
    completed = sweep(BASE, [TARGETS], out_dir=tmp_path, workers=1, resume=True)
    assert len(simulations) == 2 and completed.today.n_simulations == 2
    assert {n: (first.directory / n).read_bytes() for n in files} == files


def test_an_interrupted_sweep_saves_today_rows_and_the_resume_completes_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while today runs: the finished rows of today are kept in today.csv."""
    from servicesim.experiment.sweep import SweepInterrupted

    whole = sweep(BASE, [TARGETS], out_dir=tmp_path / "whole", workers=1)
    real, seen = engine.simulate, []

    def interrupt_in_today(scenario: Scenario, seed: Any) -> Any:
        seen.append(1)
        if len(seen) == 9 + 2:  # the second replication of today
            raise KeyboardInterrupt
        return real(scenario, seed)

    monkeypatch.setattr(engine, "simulate", interrupt_in_today)
    with pytest.raises(SweepInterrupted):
        sweep(BASE, [TARGETS], out_dir=tmp_path / "cut", workers=1)
    monkeypatch.undo()
    (folder,) = (tmp_path / "cut" / "tiny").iterdir()
    assert len(read_csv(folder / "today.csv")) == 1 and not (folder / "today.json").exists()
    resumed = sweep(BASE, [TARGETS], out_dir=tmp_path / "cut", workers=1, resume=True)
    assert resumed.n_simulations == 0 and resumed.today.n_simulations == 2
    for name in ("runs.csv", "today.csv", "today.json"):
        assert (folder / name).read_bytes() == (whole.directory / name).read_bytes()


# ------------------------------------------------------------------------ optimisation


def small() -> Scenario:
    return Scenario.model_validate({**TINY, "run": {**TINY["run"], "horizon_days": 80},
                                    "finance": {"currency": "EUR",
                                                "fixed_logistics_assets": 20000}})


SEARCH = {"replications": 2, "max_replications": 4, "resolution": 0.02, "seed": 3}


def test_optimize_compares_its_best_point_with_today(tmp_path: Path,
                                                    simulations: list[int]) -> None:
    result = optimize(small(), [f"{KEY}=0.5:0.98"], workers=1, out_dir=tmp_path, **SEARCH)
    folder = result.directory
    document = read_json(folder / "today.json")
    assert document["params"] == {KEY: 0.9} and document["best"] == result.best
    assert document["objective"] == "roi"
    best = next(e for e in result.evaluations if e[KEY] == result.best[KEY])
    today = read_csv(folder / "today.csv")
    assert len(today) == best["n"] == document["figures"]["roi"]["n"]  # as many as the best
    assert {r["seed"] for r in today} == {"3"}
    runs = [r for r in read_csv(folder / "runs.csv")
            if r["alternative"] == str(best["alternative"])]
    diff = [float(b["roi"]) - float(t["roi"]) for b, t in zip(runs, today, strict=True)]
    assert document["best_minus_today"]["roi"]["mean"] == pytest.approx(np.mean(diff),
                                                                        rel=1e-12)
    assert len(simulations) == result.n_simulations + len(today)

    # a resumed search takes every row from the files: a complete today is not run again
    files = {n: (folder / n).read_bytes() for n in ("today.csv", "today.json")}
    simulations.clear()
    again = optimize(small(), [f"{KEY}=0.5:0.98"], workers=1, out_dir=tmp_path, resume=True,
                     **SEARCH)
    assert simulations == [] and again.today.n_simulations == 0
    assert {n: (folder / n).read_bytes() for n in files} == files
    # ... and a partial one is completed
    header, one, *_ = files["today.csv"].decode().splitlines(keepends=True)
    (folder / "today.csv").write_text(header + one, encoding="utf-8")
    simulations.clear()
    completed = optimize(small(), [f"{KEY}=0.5:0.98"], workers=1, out_dir=tmp_path,
                         resume=True, **SEARCH)
    assert len(simulations) == len(today) - 1 == completed.today.n_simulations
    assert {n: (folder / n).read_bytes() for n in files} == files


def test_folders_without_today_files_still_load(swept: Any, tmp_path: Path) -> None:
    import shutil

    old = tmp_path / "old"
    shutil.copytree(swept.directory, old)
    for name in ("today.csv", "today.json"):
        (old / name).unlink()
    results = load_results(old)
    assert results.kind == "sweep" and len(results.alternatives) == 3
    assert results.best == swept.best("roi")["alternative"]


# ------------------------------------------------------------------------ the words


def pct(value: float) -> str:
    return f"{100 * value:,.1f} %"


def test_sweep_prints_the_decision_with_the_numbers_of_today_json(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = write_tiny(tmp_path)
    data = scenario.read_text(encoding="utf-8") + "finance:\n  currency: EUR\n" \
        "  fixed_logistics_assets: 20000\n"
    scenario.write_text(data, encoding="utf-8")
    assert main(["sweep", str(scenario), "--param", TARGETS, "--out", str(tmp_path / "o"),
                 "--id", "s", "--workers", "1", "--no-plots"]) == 0
    out = capsys.readouterr().out
    document = read_json(tmp_path / "o" / "tiny" / "s" / "today.json")
    decision = out[out.index("Decision ("):].splitlines()
    today, best, against, not_worse, simulations = decision[1:]
    roi = document["figures"]["roi"]
    assert today.startswith("Today (service target 90 %): ROI " + pct(roi["mean"]))
    assert f"(95 % CI {100 * roi['ci_low']:,.1f}–{100 * roi['ci_high']:,.1f} %)" in today
    assert "achieved fill rate " + pct(document["figures"]["item_fill_rate"]["mean"]) in today
    assert best.startswith(f"Best: service target {100 * document['best'][KEY]:g} %: ROI ")
    diff = document["best_minus_today"]["roi"]
    assert against.startswith(f"Against today: ROI {100 * diff['mean']:+,.1f} points (95 % CI "
                              f"{100 * diff['ci_low']:+,.1f} to {100 * diff['ci_high']:+,.1f}")
    assert ("significant" in against) and "EUR" in against and "inventory value" in against
    assert not_worse.startswith("Not significantly below the best: target")
    assert "Holm-corrected" in not_worse and "of 3 simulated targets" in not_worse
    assert simulations == "Simulations: 12 (3 alternatives × 3 replications, and 3 of today)."
    assert KEY not in "\n".join(decision) and "(roi)" not in out and "(%)" not in out


def test_optimize_prints_the_decision_with_the_numbers_of_today_json(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = write_tiny(tmp_path)
    assert main(["optimize", str(scenario), "--param", KEY, "--bounds", "0.8", "0.98",
                 "--resolution", "0.02", "--replications", "2", "--max-replications", "4",
                 "--out", str(tmp_path / "o"), "--id", "o", "--workers", "1",
                 "--no-plots"]) == 0
    out = capsys.readouterr().out
    folder = tmp_path / "o" / "tiny" / "o"
    document, result = read_json(folder / "today.json"), read_json(folder / "result.json")
    assert result["space"][0]["resolution"] == 0.02  # the option is respected
    assert "Searched service target from 80 % to 98 % in steps of 2 points" in out
    lines = out.rstrip().splitlines()
    assert lines[-1].startswith(f"Simulations: {result['n_simulations']:,} for the search")
    assert f"a fine grid of the same resolution and replications would take " \
           f"{result['fine_grid_simulations']:,}" in lines[-1]
    roi = document["figures"]["roi"]
    (today,) = [line for line in lines if line.startswith("Today (")]
    assert today.startswith("Today (service target 90 %): ROI " + pct(roi["mean"]))
    best = result["best"][KEY]
    assert document["best"] == result["best"]
    (shown,) = [line for line in lines if line.startswith("Best: ")]
    if best == 0.9:  # the scenario's own target won
        assert shown == "Best: today's own policy (service target 90 %)."
    else:
        assert shown.startswith(f"Best: service target {100 * best:g} %: ROI "
                                + pct(result["best_estimate"]["mean"]))
    (nw,) = [line for line in lines if line.startswith("Not significantly below the best")]
    low, high = (min(p[KEY] for p in result["not_worse"]),
                 max(p[KEY] for p in result["not_worse"]))
    assert f"{100 * low:g} %" in nw and f"{100 * high:g} %" in nw
    assert "Optimised" not in out and "(roi)" not in out and "points simulated" not in out


# ---------------------------------------------------------------- values and units


def test_todays_value_of_a_key_is_null_when_the_scenario_has_several() -> None:
    per_sku = Scenario.model_validate({
        **TINY, "skus": {"A": {"unit_cost": 10, "price": 15},
                         "B": {"unit_cost": 10, "price": 15,
                               "policy": {"service_target": 0.99}}}})
    assert own_params(BASE, [KEY, "supplier.lead_time_days"]) == {
        KEY: 0.9, "supplier.lead_time_days": 7.0}  # a constant distribution: its value
    assert own_params(per_sku, [KEY]) == {KEY: None}
    assert own_params(per_sku, ["skus.B.policy.service_target"]) == {
        "skus.B.policy.service_target": 0.99}
    assert own_params(per_sku, ["skus.A.policy.service_target"]) == {
        "skus.A.policy.service_target": 0.9}  # A has none of its own: the scenario's
    joined = "skus.A.policy.service_target+skus.B.policy.service_target"
    assert own_params(per_sku, [joined]) == {joined: None}
    per_class = Scenario.model_validate({
        **TINY, "skus": {"A": {"unit_cost": 10, "price": 15, "abc_class": "A"}},
        "policy": {"service_target": {"A": 0.97, "default": 0.9}}})
    assert own_params(per_class, [KEY]) == {KEY: None}
    assert own_params(per_class, ["skus.A.policy.service_target"]) == {
        "skus.A.policy.service_target": 0.97}
    assert plain_key(KEY) == "service target"
    assert plain_key(joined) == "service target of SKUs A, B"
    assert plain_key("supplier.lead_time_days") == "supplier.lead_time_days"


def test_money_has_no_cents_from_a_thousand_and_suffixes_when_big() -> None:
    assert money(1_090_000, "EUR") == "1.09 M EUR"
    assert money(456_400, "EUR") == "456 k EUR"
    assert money(21_437.4, None) == "21,437"
    assert money(512.4, "USD") == "512.40 USD"
    assert money(-120_000, "EUR", signed=True) == "−120 k EUR"
    assert money(21_400, "EUR", signed=True) == "+21,400 EUR"


def test_the_default_step_of_a_target_search_is_never_finer_than_a_tenth_of_a_point(
        ) -> None:
    assert default_step(0.9, 0.999) == 0.001  # was 0.0005: range / 200
    assert default_step(0.8, 0.999) == 0.001
    assert default_step(0.5, 0.999) == 0.0025  # coarser ranges keep range / 200
    assert default_step(0.5, 0.6) == 0.001
    assert default_step(2.0, 10.0) == 0.05 and default_step(1000.0, 5000.0) == 20.0
    result = optimize(small(), [Bound(KEY, 0.9, 0.999)], workers=1, out_dir=None,
                      replications=2, max_replications=2, seed=1)
    assert result.space[0]["resolution"] == 0.001
    values = [e[KEY] for e in result.evaluations]
    assert all(re.fullmatch(r"0\.\d{1,3}", repr(v)) for v in values), values


def test_the_decision_in_words_of_a_known_comparison() -> None:
    """Made-up figures, the words a planner reads: today, the best, the difference with
    its interval and verdict, money with the currency, the not-worse range or list."""
    from servicesim.experiment.today import Today, decision_lines

    def figures(roi: float, fill: float, profit: float) -> dict[str, dict[str, float]]:
        return {"roi": {"mean": roi, "ci_low": roi - 0.015, "ci_high": roi + 0.015, "n": 10},
                "item_fill_rate": {"mean": fill, "ci_low": fill, "ci_high": fill, "n": 10},
                "operating_profit": {"mean": profit, "ci_low": profit, "ci_high": profit,
                                     "n": 10}}

    diff = {"roi": {"mean": 0.06, "ci_low": 0.051, "ci_high": 0.069, "n": 10, "p_value": 1e-6},
            "operating_profit": {"mean": 120_000.0, "ci_low": 1.0, "ci_high": 2.0, "n": 10,
                                 "p_value": 0.01},
            "avg_inventory_value": {"mean": 21_400.0, "ci_low": 1.0, "ci_high": 2.0, "n": 10,
                                    "p_value": 0.01}}
    today = Today({KEY: 0.95}, figures(0.626, 0.958, 970_000.0), {KEY: 0.991}, diff, "roi",
                  figures(0.686, 0.993, 1_090_000.0))
    simulated = [{KEY: t} for t in (0.9, 0.95, 0.983, 0.987, 0.991, 0.995, 0.999)]
    lines = decision_lines(today, [KEY], "EUR", simulated[2:6], simulated,
                           "395 for the search", 0.05)
    assert lines == [
        "Decision (ROI, annualised; 95 % confidence intervals over 10 replications on common "
        "random numbers):",
        "Today (service target 95 %): ROI 62.6 % (95 % CI 61.1–64.1 %), achieved fill rate "
        "95.8 %, operating profit 970 k EUR.",
        "Best: service target 99.1 %: ROI 68.6 % (95 % CI 67.1–70.1 %), achieved fill rate "
        "99.3 %, operating profit 1.09 M EUR.",
        "Against today: ROI +6.0 points (95 % CI +5.1 to +6.9, significant); operating profit "
        "+120 k EUR; inventory value +21,400 EUR.",
        "Not significantly below the best: targets 98.3 % to 99.5 % (4 of 7 simulated targets;"
        " paired one-sided t-tests on common random numbers, Holm-corrected, alpha 0.05).",
        "Simulations: 395 for the search.",
    ]
    gap = decision_lines(today, [KEY], None, [simulated[2], simulated[4]], simulated, "x")
    assert "targets 98.3 % to 99.1 % except 98.7 % (2 of 7" in gap[-2]  # 98.7 %: worse
    wide = decision_lines(today, [KEY], None, simulated[:1] + simulated[-1:], simulated, "x")
    assert "targets 90 % to 99.9 %, but 5 simulated targets in that range are significantly " \
           "below (2 of 7" in wide[-2]
    assert "+120 k;" in gap[3] and "EUR" not in "".join(gap)


def test_read_today_gives_back_what_was_written(swept: Any, tmp_path: Path) -> None:
    """Charts and reports read today from the files (read_today: no model import)."""
    from servicesim.experiment.today import read_today

    back = read_today(swept.directory)
    assert back is not None
    assert repr(back.document()) == repr(swept.today.document())  # repr: NaN == NaN
    assert [r["roi"] for r in back.runs] == [r["roi"] for r in swept.today.runs]
    assert read_today(tmp_path) is None  # a folder written before today was recorded


def test_joined_keys_read_in_plain_words() -> None:
    assert plain_key("locations.a.policy.service_target+locations.b.policy.service_target") \
        == "service target at a, b"
    assert plain_key("locations.*.policy.service_target") == "service target at every location"
    assert plain_key("segments.a.reactions.defect+segments.b.reactions.defect") \
        == "segments.{a,b}.reactions.defect"
    mixed = "supplier.lead_time_days+policy.service_target"
    assert plain_key(mixed) == mixed  # no common shape: as written
