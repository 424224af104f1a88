"""The synthetic item master and history, and the generate / items commands."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from servicesim.cli import main
from servicesim.experiment.advice import figure_warnings, scenario_warnings
from servicesim.experiment.replications import run_replications
from servicesim.inputs.generate import (
    FIXED_ASSETS_SHARE,
    FIXED_COST_SHARE,
    generate,
    generate_dataset,
    pareto_share,
    scaled_finance,
)
from servicesim.inputs.items import load_with_fit
from servicesim.scenario.overrides import with_overrides


def test_pareto_share_of_a_known_table() -> None:
    revenue = np.array([80.0, 5, 5, 5, 5, 0, 0, 0, 0, 0])
    assert pareto_share(revenue) == pytest.approx(85 / 100)  # top 2 of 10
    assert pareto_share(np.zeros(3)) == 0.0


def test_generated_data_is_realistic(tmp_path: Path) -> None:
    data = generate(skus=400, days=365, seed=5, out_dir=tmp_path)
    with open(data.items, newline="", encoding="utf-8") as handle:
        items = list(csv.DictReader(handle))
    with open(data.history, newline="", encoding="utf-8") as handle:
        history = list(csv.DictReader(handle))
    assert len(items) == 400 and len(history) == data.lines > 0
    price = {r["sku"]: float(r["price"]) for r in items}
    assert max(price.values()) / min(price.values()) > 1000  # orders of magnitude
    assert all(float(r["unit_cost"]) < float(r["price"]) for r in items)
    revenue: dict[str, float] = {}
    lines: dict[str, int] = {}
    for row in history:
        revenue[row["sku"]] = revenue.get(row["sku"], 0.0) + int(row["quantity"]) \
            * price[row["sku"]]
        lines[row["sku"]] = lines.get(row["sku"], 0) + 1
    measured = pareto_share(np.array([revenue.get(k, 0.0) for k in price]))
    assert measured == pytest.approx(data.pareto_share)
    assert 0.7 <= measured <= 0.9  # about 20 % of SKUs make 80 % of revenue
    per_week = np.array([lines.get(k, 0) for k in price]) / (365 / 7)
    assert (per_week >= 7).sum() >= 4  # fast movers: a line a day or more
    assert 0.2 <= (per_week < 1).mean() <= 0.9  # and intermittent ones
    assert {r["segment"] for r in history} == {"key_accounts", "retail"}
    lead = [float(r["lead_time_mean_days"]) for r in items]
    assert min(lead) <= 5 and max(lead) >= 30


def test_same_seed_same_files(tmp_path: Path) -> None:
    first = generate(skus=30, days=60, seed=3, out_dir=tmp_path / "a")
    again = generate(skus=30, days=60, seed=3, out_dir=tmp_path / "b")
    other = generate(skus=30, days=60, seed=4, out_dir=tmp_path / "c")
    for name in ("items.csv", "history.csv", "scenario.yaml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (first.lines, first.pareto_share) == (again.lines, again.pareto_share)
    assert first.history.read_bytes() != other.history.read_bytes()
    assert generate_dataset(skus=30, days=60, seed=3, out_dir=tmp_path / "d") == \
        tmp_path / "d" / "scenario.yaml"


def test_generate_validate_and_items_through_the_cli(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "gen"
    assert main(["generate", "--skus", "60", "--days", "120", "--seed", "2",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "items.csv (60 SKUs)" in text and "revenue share of the top 20 % of SKUs" in text
    assert main(["validate", str(out / "scenario.yaml")]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["items", str(out / "scenario.yaml"), "--out", str(tmp_path / "res")]) == 0
    text = capsys.readouterr().out
    assert "units per line:" in text and "top 10 SKUs by revenue" in text
    report = tmp_path / "res" / "generated_60_skus" / "items_fit.csv"
    with open(report, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 60
    assert {r["model"] for r in rows} <= {"poisson", "negative_binomial", "normal",
                                          "constant", "none"}
    assert all(r["reason"] for r in rows) and {r["abc_class"] for r in rows} == set("ABC")
    # bad input: exit 2 with the file, row and column, never a traceback
    (out / "history.csv").write_text("date,sku,quantity\n2025-13-01,SKU-00001,1\n",
                                     encoding="utf-8")
    assert main(["items", str(out / "scenario.yaml"), "--out", str(tmp_path / "res")]) == 2
    error = capsys.readouterr().err
    assert "history.csv: row 2, column date: value '2025-13-01': not a date" in error
    assert "Traceback" not in error


def test_the_generated_1000_sku_scenario_loads(tmp_path: Path) -> None:
    path = generate_dataset(skus=1000, days=730, seed=7, out_dir=tmp_path)
    scenario, fit = load_with_fit(path)
    assert len(scenario.skus) == 1000 and fit is not None
    assert {s.abc_class for s in scenario.skus.values()} == set("ABC")
    share_a = sum(r["revenue_share"] for r in fit.rows if r["abc_class"] == "A")
    assert 0.8 <= share_a < 0.85
    changed = with_overrides(scenario, ["policy.service_target.A=0.99"])
    assert changed.policy.service_target == {"A": 0.99, "B": 0.95, "C": 0.9}


@pytest.mark.parametrize(("args", "words"), [
    (["--skus", "100000"], "at most 99,999 SKUs"),
    (["--skus", "90000", "--days", "36500"], "at most 5,000,000 are generated"),
])
def test_generate_refuses_what_would_exhaust_memory(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
        words: str) -> None:
    out = tmp_path / "gen"
    assert main(["generate", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert not out.exists()  # refused before anything is written


def test_finance_scales_with_the_business_it_generates(tmp_path: Path) -> None:
    small = generate(skus=40, days=120, seed=2, out_dir=tmp_path / "small")
    large = generate(skus=400, days=120, seed=2, out_dir=tmp_path / "large")
    for data in (small, large):
        assert data.finance is not None
        with open(data.items, newline="", encoding="utf-8") as handle:
            items = {r["sku"]: r for r in csv.DictReader(handle)}
        with open(data.history, newline="", encoding="utf-8") as handle:
            sold = [(items[r["sku"]], int(r["quantity"])) for r in csv.DictReader(handle)]
        per_year = 365 / data.days
        revenue = sum(float(i["price"]) * q for i, q in sold) * per_year
        cost = sum(float(i["unit_cost"]) * q for i, q in sold) * per_year
        assert data.finance.annual_revenue == pytest.approx(revenue)
        assert data.finance.annual_cost_of_goods == pytest.approx(cost)
        finance = load_with_fit(data.scenario)[0].finance
        assert finance.fixed_cost_per_year == data.finance.fixed_cost_per_year
        assert finance.fixed_logistics_assets == data.finance.fixed_logistics_assets
        assert abs(finance.fixed_cost_per_year - FIXED_COST_SHARE * revenue) <= 500
        assert abs(finance.fixed_logistics_assets - FIXED_ASSETS_SHARE * revenue) <= 500
        text = data.scenario.read_text(encoding="utf-8")
        assert "Finance scaled with the business" in text and "NAW benchmarks" in text
    assert large.finance.fixed_cost_per_year > 5 * small.finance.fixed_cost_per_year
    assert scaled_finance(100.0, 60.0).fixed_cost_per_year == 1000  # never below 1,000


def test_a_generated_business_earns_a_plausible_roi(tmp_path: Path) -> None:
    """At its own policy a generated scenario earns a distributor's ROI (here 10-60 % a
    year, the simulated mean over two short replications), so it raises no ROI warning;
    with the baseline's fixed figures copied onto it, it earned over 100 %."""
    data = generate(skus=300, days=365, seed=3, out_dir=tmp_path)
    scenario = load_with_fit(data.scenario)[0]
    summary = run_replications(scenario, 2).summary()
    assert 0.10 <= summary["roi"]["mean"] <= 0.60
    assert not [w for w in figure_warnings(scenario, summary) if w.startswith("ROI")]
    copied = with_overrides(scenario, ["finance.fixed_cost_per_year=250000",
                                       "finance.fixed_logistics_assets=900000"])
    roi = run_replications(copied, 2).summary()["roi"]["mean"]
    assert roi > 1.0
    assert [w for w in figure_warnings(copied, {"roi": roi}) if w.startswith("ROI above 100")]


def test_generated_promises_can_be_kept_from_stock(tmp_path: Path) -> None:
    data = generate(skus=30, days=60, seed=3, out_dir=tmp_path)
    scenario = load_with_fit(data.scenario)[0]
    assert {s.promised_cycle_time_days for s in scenario.segments.values()} == {4.0}
    assert scenario_warnings(scenario) == []
