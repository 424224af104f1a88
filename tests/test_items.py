"""Item masters, demand history, the units-per-line fit, ABC/XYZ and per-class targets."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicesim.errors import ScenarioError
from servicesim.experiment.engine import alternatives, parse_param
from servicesim.inputs.items import abc_classes, fit_quantities, load_with_fit, xyz_classes
from servicesim.inputs.scenario_file import load_scenario
from servicesim.policies.derivation import derive_policies, sku_demands
from servicesim.scenario.distributions import integer_moments
from servicesim.scenario.overrides import with_overrides
from servicesim.scenario.serialise import dump_scenario
from servicesim.scenario.validation import scenario_from_dict

MASTER = """\
sku,unit_cost,price,holding_rate_per_year,lead_time_mean_days,lead_time_std_days,colour
BOLT,1.5,2.0,0.25,7,2,grey
VALVE,40,55,,10,0,red
PUMP,600,800,0.3,,,blue
IDLE,5,9,,,,
"""

SCENARIO = """\
name: items_test
items:
  master: items.csv
  history: history.csv
run: {horizon_days: 60, warmup_days: 10, replications: 2, seed: 1}
policy:
  service_target: {A: 0.98, B: 0.95, default: 0.9}
supplier: {cost_per_order: 50, lead_time_days: 5}
segments:
  key_accounts:
    customers: 10
    lines_per_order: {type: poisson, mean: 3}
  retail:
    customers: 100
"""


def history_rows() -> list[str]:
    """40 days: BOLT daily (key accounts and retail), VALVE every 4th day, PUMP twice."""
    rows = ["date,sku,quantity,segment,customer"]
    for day in range(40):
        date = f"2025-01-{day + 1:02d}" if day < 31 else f"2025-02-{day - 30:02d}"
        rows.append(f"{date},BOLT,{10 + day % 5},key_accounts,K1")
        rows.append(f"{date},BOLT,{1 + day % 3},retail,R{day}")
        if day % 4 == 0:
            rows.append(f"{date},VALVE,{1 + day % 2},,K2")
    rows.append("2025-01-03,PUMP,1,key_accounts,K1")
    rows.append("2025-01-20,PUMP,1,retail,R7")
    return rows


def write(tmp_path: Path, scenario: str = SCENARIO, master: str = MASTER,
          history: str | None = None) -> Path:
    (tmp_path / "items.csv").write_text(master, encoding="utf-8")
    text = "\n".join(history_rows()) + "\n" if history is None else history
    (tmp_path / "history.csv").write_text(text, encoding="utf-8")
    path = tmp_path / "scenario.yaml"
    path.write_text(scenario, encoding="utf-8")
    return path


def problems_of(path: Path, overrides: tuple[str, ...] = ()) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return [str(p) for p in info.value.problems]


# ------------------------------------------------------------------------------ loading


def test_item_master_and_history_expand_into_skus_and_calibrated_segments(
        tmp_path: Path) -> None:
    scenario, fit = load_with_fit(write(tmp_path))
    assert list(scenario.skus) == ["BOLT", "VALVE", "PUMP", "IDLE"]
    bolt = scenario.skus["BOLT"]
    assert (bolt.unit_cost, bolt.price, bolt.holding_rate_per_year) == (1.5, 2.0, 0.25)
    assert bolt.supplier is not None and bolt.supplier.cost_per_order == 50  # scenario's
    assert bolt.supplier.lead_time_days.type == "gamma"
    assert (bolt.supplier.lead_time_days.mean, bolt.supplier.lead_time_days.std) == (7, 2)
    valve = scenario.skus["VALVE"]
    assert valve.supplier is not None and valve.supplier.lead_time_days.type == "constant"
    assert scenario.skus["PUMP"].supplier is None  # no lead time columns: the scenario's
    assert scenario.skus["IDLE"].units_per_line is None
    # line rates per segment: BOLT 40 lines in 40 days in each segment; VALVE has no
    # segment, so it is split equally
    span = 40
    ka = scenario.segments["key_accounts"].sku_weights or {}
    retail = scenario.segments["retail"].sku_weights or {}
    assert ka["BOLT"] == pytest.approx(40 / span) and retail["BOLT"] == pytest.approx(40 / span)
    assert ka["VALVE"] == pytest.approx(5 / span) == retail["VALVE"]
    assert "IDLE" not in ka and "IDLE" not in retail
    # order interval: customers x E[lines per order] / lines per day
    lines_per_order = integer_moments(scenario.segments["key_accounts"].lines_per_order)[0]
    assert scenario.segments["key_accounts"].order_interval_days.mean == pytest.approx(
        10 * lines_per_order / sum(ka.values()))
    assert scenario.segments["retail"].order_interval_days.mean == pytest.approx(
        100 * 1 / sum(retail.values()))
    # the policy derivation sees the data's demand: lines per day x E[units per line]
    demands = sku_demands(scenario)
    rows = {r["sku"]: r for r in fit.rows} if fit else {}
    for sku in ("BOLT", "VALVE", "PUMP"):
        assert demands[sku].lines_per_day == pytest.approx(rows[sku]["lines_per_day"])
        assert demands[sku].units_per_day == pytest.approx(
            rows[sku]["lines_per_day"] * rows[sku]["model_mean"], rel=1e-6)
        assert rows[sku]["model_mean"] == pytest.approx(rows[sku]["mean"], rel=1e-6)
    assert rows["IDLE"]["demand_source"] == "none" and fit is not None
    assert fit.no_demand == ["IDLE"]
    assert fit.ignored_columns[str(tmp_path / "items.csv")] == ["colour"]
    assert scenario.items is not None and scenario.items.calibrated
    assert len(scenario.items.master_sha256 or "") == 64


def test_yaml_skus_override_the_item_master(tmp_path: Path) -> None:
    text = SCENARIO + "skus:\n  PUMP: {price: 900, policy: {order_quantity: 3}}\n"
    scenario = load_scenario(write(tmp_path, text))
    pump = scenario.skus["PUMP"]
    assert pump.price == 900 and pump.unit_cost == 600 and pump.policy.order_quantity == 3
    assert pump.abc_class is not None  # the master's other fields stay
    text = SCENARIO + "skus:\n  GHOST: {price: 1}\n"
    (message,) = problems_of(write(tmp_path, text))
    assert "skus.GHOST" in message and "not in the item master" in message


def test_expanded_scenario_dumps_and_loads_without_the_files(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path))
    other = tmp_path / "elsewhere"
    other.mkdir()
    copy = other / "scenario.yaml"
    copy.write_text(dump_scenario(scenario), encoding="utf-8")
    assert load_scenario(copy) == scenario


def test_overrides_on_a_loaded_scenario_keep_the_line_rates(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path))
    more = with_overrides(scenario, ["segments.retail.customers=200",
                                     "skus.BOLT.price=3"])
    assert more.skus["BOLT"].price == 3
    assert more.segments["retail"].order_interval_days.mean == pytest.approx(
        2 * scenario.segments["retail"].order_interval_days.mean)
    assert more.segments["retail"].sku_weights == scenario.segments["retail"].sku_weights


def test_utf8_bom_and_excel_master(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    path = write(tmp_path, master="\ufeff" + MASTER)
    assert list(load_scenario(path).skus) == ["BOLT", "VALVE", "PUMP", "IDLE"]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Items"
    for line in MASTER.splitlines():
        sheet.append([_cell(c) for c in line.split(",")])
    book.save(tmp_path / "items.xlsx")
    text = SCENARIO.replace("master: items.csv", "master: items.xlsx\n  sheet: Items")
    from_excel = load_scenario(write(tmp_path, text))
    assert from_excel.skus == load_scenario(path).skus
    text = SCENARIO.replace("master: items.csv", "master: items.xlsx\n  sheet: Nope")
    (message,) = problems_of(write(tmp_path, text))
    assert "items.xlsx" in message and "no sheet 'Nope'" in message and "Items" in message


def test_semicolon_csv_with_decimal_commas(tmp_path: Path) -> None:
    master = MASTER.replace(",", ";").replace("1.5;2.0;0.25", "1,5;2,0;0,25")
    scenario = load_scenario(write(tmp_path, master=master))
    bolt = scenario.skus["BOLT"]
    assert (bolt.unit_cost, bolt.price, bolt.holding_rate_per_year) == (1.5, 2.0, 0.25)
    (tmp_path / "items.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    text = SCENARIO.replace("master: items.csv", "master: items.xls")
    (message,) = problems_of(write(tmp_path, text))
    assert "items.xls" in message and "save it as .xlsx" in message


def _cell(text: str) -> Any:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text


# ----------------------------------------------------------------------------- bad rows


def test_every_bad_master_row_is_reported_with_file_row_and_column(tmp_path: Path) -> None:
    master = (
        "sku,unit_cost,price,service_target,order_quantity,abc_class\n"
        "BOLT,-1.5,2.0,,,\n"          # row 2: negative cost
        "VALVE,40,cheap,,,\n"         # row 3: not a number
        "BOLT,1,2,,,\n"               # row 4: duplicate
        "bad name!,1,2,,,\n"          # row 5: not a valid name
        "PUMP,600,800,1.5,2.5,Q\n"    # row 6: target, quantity and class out of range
        ",1,2,,,\n"                   # row 7: no SKU
    )
    found = problems_of(write(tmp_path, master=master))
    file = str(tmp_path / "items.csv")
    expected = [
        ("row 2, column unit_cost", "-1.5"), ("row 3, column price", "cheap"),
        ("row 4, column sku", "duplicate SKU (also in row 2)"),
        ("row 5, column sku", "not a valid SKU name"),
        ("row 6, column service_target", "1.5"), ("row 6, column order_quantity", "2.5"),
        ("row 6, column abc_class", "A, B or C"), ("row 7, column sku", "missing"),
    ]
    for where, what in expected:
        assert any(p.startswith(f"{file}: {where}") and what in p for p in found), \
            (where, found)
    assert len(found) == len(expected)


def test_missing_columns_and_empty_files(tmp_path: Path) -> None:
    (message,) = problems_of(write(tmp_path, master="sku,price\nA,1\n"))
    assert "row 1 (header)" in message and "missing required column(s) unit_cost" in message
    (message,) = problems_of(write(tmp_path, master=""))
    assert "items.csv" in message and "empty file" in message
    found = problems_of(write(tmp_path, history="date,sku,quantity\n"))
    assert any("history.csv" in p and "no data rows" in p for p in found)


def test_every_bad_history_row_is_reported(tmp_path: Path) -> None:
    history = (
        "date,sku,quantity,segment\n"
        "2025-01-01,BOLT,3,retail\n"
        "01/02/2025,BOLT,3,retail\n"     # row 3: not ISO
        "2025-01-03,BOLT,-2,retail\n"    # row 4: negative
        "2025-01-04,BOLT,1.5,retail\n"   # row 5: fractional
        "2025-01-05,GHOST,1,retail\n"    # row 6: not in the master
        "2025-01-06,BOLT,1,wholesale\n"  # row 7: not a segment
        "2025-02-30,VALVE,1,\n"          # row 8: no such day
    )
    found = problems_of(write(tmp_path, history=history))
    file = str(tmp_path / "history.csv")
    for where, what in [("row 3, column date", "yyyy-mm-dd"),
                        ("row 4, column quantity", "whole number"),
                        ("row 5, column quantity", "whole number"),
                        ("row 6, column sku", "not in the item master"),
                        ("row 7, column segment", "not a segment of the scenario"),
                        ("row 8, column date", "not a date")]:
        assert any(p.startswith(f"{file}: {where}") and what in p for p in found), \
            (where, found)
    assert len(found) == 6


def test_explicit_order_interval_with_item_demand_is_refused(tmp_path: Path) -> None:
    text = SCENARIO.replace("    customers: 100\n",
                            "    customers: 100\n    order_interval_days: 3\n")
    (message,) = problems_of(write(tmp_path, text))
    assert "segments.retail.order_interval_days" in message and "derived" in message


def test_demand_shares_split_lines_without_a_segment(tmp_path: Path) -> None:
    text = SCENARIO.replace("    customers: 100\n", "    customers: 100\n"
                            "    demand_share: 0.75\n")
    scenario = load_scenario(write(tmp_path, text))
    retail = scenario.segments["retail"].sku_weights or {}
    ka = scenario.segments["key_accounts"].sku_weights or {}
    assert retail["VALVE"] == pytest.approx(0.75 * 10 / 40)
    assert ka["VALVE"] == pytest.approx(0.25 * 10 / 40)
    text = SCENARIO.replace("    customers: 100\n", "    customers: 100\n"
                            "    demand_share: 0.7\n").replace(
        "    customers: 10\n", "    customers: 10\n    demand_share: 0.7\n")
    found = problems_of(write(tmp_path, text))
    assert any("demand_share" in p and "sum" in p for p in found)


# --------------------------------------------------------------------------------- fit


def _draws(kind: str, seed: int, n: int) -> tuple[np.ndarray, dict[str, float]]:
    rng = np.random.default_rng(seed)
    if kind == "poisson":
        x, truth = rng.poisson(3.0, n).astype(float), {"mean": 3.0}
    elif kind == "negative_binomial":
        mean, std = 6.0, 5.0
        var = std * std
        x = rng.negative_binomial(mean**2 / (var - mean), mean / var, n).astype(float)
        truth = {"mean": mean, "std": std}
    else:
        x, truth = rng.normal(40.0, 4.0, n), {"mean": 40.0, "std": 4.0}
    return np.maximum(1, np.rint(x)).astype(np.int64), truth


@pytest.mark.parametrize("kind", ["poisson", "negative_binomial", "normal"])
def test_fit_recovers_known_parameters_within_its_ci(kind: str) -> None:
    quantities, truth = _draws(kind, seed=11, n=4000)
    fit = fit_quantities(quantities)
    assert fit.model == kind, fit.reason
    low, high = fit.param_mean_ci
    assert low <= truth["mean"] <= high, (fit.param_mean_ci, truth)
    if "std" in truth:
        low, high = fit.param_std_ci
        assert low <= truth["std"] <= high, (fit.param_std_ci, truth)
    # what the model draws has the data's moments (moment matching on max(1, round(X)))
    dist = {"type": kind, "mean": fit.param_mean}
    if kind != "poisson":
        dist["std"] = fit.param_std
    from pydantic import TypeAdapter

    from servicesim.scenario.schema import Dist

    drawn_mean, drawn_var = integer_moments(TypeAdapter(Dist).validate_python(dist))
    assert drawn_mean == pytest.approx(quantities.mean(), rel=1e-6)
    if kind != "poisson":
        assert drawn_var == pytest.approx(quantities.var(ddof=1), rel=1e-5)
    # the truth's drawn moments lie inside the data's CIs
    true_dist = TypeAdapter(Dist).validate_python({"type": kind, **truth})
    true_mean, true_var = integer_moments(true_dist)
    assert fit.mean_ci[0] <= true_mean <= fit.mean_ci[1]
    assert fit.variance_ci[0] <= true_var <= fit.variance_ci[1]
    assert 0.01 < fit.gof_p_value <= 1


def test_fit_degenerate_cases() -> None:
    assert fit_quantities([]).model == "none"
    same = fit_quantities([4, 4, 4])
    assert (same.model, same.param_mean) == ("constant", 4.0)
    one = fit_quantities([3])
    assert one.model == "poisson" and "too few" in one.reason
    assert one.model_mean == pytest.approx(3.0)


# ------------------------------------------------------------------------ ABC and XYZ


def test_abc_on_a_known_table() -> None:
    revenue = {"a": 500.0, "b": 250.0, "c": 100.0, "d": 60.0, "e": 40.0, "f": 30.0,
               "g": 20.0, "h": 0.0}
    # cumulative share before each: a 0, b .5, c .75, d .85, e .91, f .95, g .98
    assert abc_classes(revenue, (0.8, 0.95)) == {
        "a": "A", "b": "A", "c": "A", "d": "B", "e": "B", "f": "C", "g": "C", "h": "C"}
    assert abc_classes({"x": 0.0, "y": 0.0}) == {"x": "C", "y": "C"}


def test_xyz_on_known_series() -> None:
    series = {
        "steady": [10, 10, 10, 10],           # CV 0
        "wobbly": [10, 12, 8, 14, 6],          # CV 0.316
        "lumpy": [0, 20, 0, 20],               # CV 1.155
        "middle": [5, 15, 5, 15],              # CV 0.577
        "never": [0, 0, 0, 0],
    }
    assert xyz_classes(series, (0.5, 1.0)) == {
        "steady": "X", "wobbly": "X", "lumpy": "Z", "middle": "Y", "never": "Z"}


# --------------------------------------------------------------- per-class service targets


def _classed(target: Any) -> dict[str, Any]:
    skus = {f"{abc}{xyz}": {"abc_class": abc, "xyz_class": xyz, "policy": {}}
            for abc in "ABC" for xyz in "XZ"}
    skus["OWN"] = {"abc_class": "A", "policy": {"service_target": 0.6}}
    return {"skus": skus, "segments": {"s": {}}, "policy": {"service_target": target}}


def test_class_targets_resolve_most_specific_first() -> None:
    scenario = scenario_from_dict(_classed(
        {"AX": 0.99, "A": 0.97, "Z": 0.8, "default": 0.9}))
    got = {k: scenario.sku_policy(k).service_target for k in scenario.skus}
    assert got == {"AX": 0.99, "AZ": 0.97, "BX": 0.9, "BZ": 0.8, "CX": 0.9, "CZ": 0.8,
                   "OWN": 0.6}
    assert all(isinstance(v, float) for v in got.values())
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(_classed({"A": 0.97}))
    assert "no target for SKU BX" in str(info.value)
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(_classed({"A": 0.97, "Q": 0.5, "default": 0.9}))
    assert "unknown class label(s) Q" in str(info.value)
    with pytest.raises(ScenarioError) as info:  # one number: what a target is, no union noise
        scenario_from_dict(_classed(2))
    assert str(info.value).endswith("policy.service_target: value 2: must be < 1 (a service "
                                    "target is a share between 0 and 1; 0.95 means 95 %)")


def test_sweep_over_a_class_target_changes_only_that_class(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path), ["policy.service_target=0.9"])  # a scalar
    classes = {k: s.abc_class for k, s in scenario.skus.items()}
    assert "A" in classes.values() and set(classes.values()) - {"A"}
    alts = alternatives(scenario, [parse_param("policy.service_target.A=0.8:0.99:0.01")])
    assert len(alts) == 20
    (_, low), (_, high) = alts[0], alts[-1]
    assert low.policy.service_target == {"default": 0.9, "A": 0.8}
    assert high.policy.service_target == {"default": 0.9, "A": 0.99}
    low_pol, high_pol = derive_policies(low), derive_policies(high)
    for sku, abc in classes.items():
        if scenario.skus[sku].units_per_line is None:
            continue  # no demand: nothing to derive from
        if abc == "A":
            assert high_pol[sku].reorder_point > low_pol[sku].reorder_point, sku
            assert (low_pol[sku].service_target, high_pol[sku].service_target) == (0.8, 0.99)
        else:
            assert high_pol[sku].reorder_point == low_pol[sku].reorder_point, sku
            assert high_pol[sku].service_target == 0.9


def test_dotted_class_target_through_set(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path), ["policy.service_target.C=0.85"])
    assert scenario.policy.service_target == {"A": 0.98, "B": 0.95, "default": 0.9, "C": 0.85}
    found = problems_of(write(tmp_path), ("policy.service_target.Q=0.85",))
    assert any("policy.service_target.Q" in p for p in found)


def test_demand_from_the_item_master_columns(tmp_path: Path) -> None:
    master = (
        "sku,unit_cost,price,lines_per_day,units_per_line_mean,units_per_line_std\n"
        "STEADY,1,2,4,3,0\n"      # every line 3 units: constant
        "PLAIN,1,2,0.5,2.5,\n"    # mean only: Poisson
        "LUMPY,1,2,0.2,6,9\n"     # wider than Poisson: negative binomial
        "NONE,1,2,,,\n"           # no demand
    )
    text = SCENARIO.replace("  history: history.csv\n", "").replace(
        "    customers: 100\n", "    customers: 100\n    demand_share: 0.25\n")
    path = write(tmp_path, text, master=master)
    scenario, fit = load_with_fit(path)
    assert fit is not None
    rows = {r["sku"]: r for r in fit.rows}
    assert [rows[k]["model"] for k in ("STEADY", "PLAIN", "LUMPY", "NONE")] == [
        "constant", "poisson", "negative_binomial", "none"]
    for sku, mean in (("STEADY", 3), ("PLAIN", 2.5), ("LUMPY", 6)):
        assert rows[sku]["model_mean"] == pytest.approx(mean, rel=1e-6)
        assert rows[sku]["demand_source"] == "master"
        assert rows[sku]["xyz_source"] == "implied by the demand columns"
    assert rows["LUMPY"]["model_variance"] == pytest.approx(81, rel=1e-5)
    retail = scenario.segments["retail"].sku_weights or {}
    ka = scenario.segments["key_accounts"].sku_weights or {}
    assert retail == pytest.approx({"STEADY": 1.0, "PLAIN": 0.125, "LUMPY": 0.05})
    assert ka == pytest.approx({"STEADY": 3.0, "PLAIN": 0.375, "LUMPY": 0.15})
    # ABC by expected annual revenue: STEADY 4 x 3 x 2 x 365 dominates
    assert scenario.skus["STEADY"].abc_class == "A" and scenario.skus["NONE"].abc_class == "C"
    half = master.replace("NONE,1,2,,,", "NONE,1,2,0.5,,").replace("PLAIN,1,2,0.5,2.5,",
                                                                    "PLAIN,1,2,,2.5,")
    found = problems_of(write(tmp_path, text, master=half))
    assert len(found) == 2
    assert "row 5, column units_per_line_mean" in found[0] + found[1]
    assert "row 3, column lines_per_day" in found[0] + found[1]


def test_excel_history_with_dates_and_numbers(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    import datetime as dt

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["date", "sku", "quantity", "segment"])
    for day in range(1, 29):
        sheet.append([dt.datetime(2025, 3, day), "BOLT", 2 + day % 3, "retail"])
    sheet.append([dt.datetime(2025, 3, 29), "VALVE", 1.5, "retail"])  # row 30
    book.save(tmp_path / "history.xlsx")
    text = SCENARIO.replace("history: history.csv", "history: history.xlsx")
    (message,) = problems_of(write(tmp_path, text))
    assert "history.xlsx: row 30, column quantity: value 1.5" in message
    sheet.delete_rows(30)
    book.save(tmp_path / "history.xlsx")
    (message,) = problems_of(write(tmp_path, text))
    assert "segments.key_accounts" in message and "no demand of the item data" in message
    sheet.append([dt.datetime(2025, 3, 28), 10023.0, 7, "key_accounts"])  # a numeric SKU
    book.save(tmp_path / "history.xlsx")
    scenario = load_scenario(write(tmp_path, text, master=MASTER + "10023,1,2\n"))
    assert (scenario.segments["retail"].sku_weights or {}) == pytest.approx({"BOLT": 1.0})
    assert scenario.segments["key_accounts"].sku_weights == pytest.approx({"10023": 1 / 28})


def test_demand_share_cannot_change_after_the_split(tmp_path: Path) -> None:
    path = write(tmp_path)
    scenario = load_scenario(path)
    assert scenario.items is not None
    assert scenario.items.demand_shares == {"key_accounts": 0.5, "retail": 0.5}
    for attempt in (lambda: load_scenario(path, ["segments.retail.demand_share=0.3",
                                                 "segments.key_accounts.demand_share=0.7"]),
                    lambda: with_overrides(scenario, ["segments.retail.demand_share=0.3",
                                                      "segments.key_accounts.demand_share=0.7"])):
        with pytest.raises(ScenarioError) as info:
            attempt()
        text = str(info.value)
        assert "segments.key_accounts.demand_share: value 0.7: splits the item data when " \
            "the files are read (0.5 then)" in text

    with pytest.raises(ScenarioError) as info:
        with_overrides(scenario, ["items.abc_thresholds=[0.7, 0.9]"])
    assert "abc_thresholds classify the SKUs when the item files are read ([0.8, 0.95] " \
        "then)" in str(info.value)


def test_simulated_demand_matches_the_fitted_data(tmp_path: Path) -> None:
    """Order lines generated per segment (customers, order interval, lines per order, SKU
    weights) give each SKU the data's line rate: simulated units demanded per day match
    Σ_k λ_k·E[Q_k] of the fit (99 % CI over 12 replications; no customer churn)."""
    from scipy import stats

    from servicesim.experiment.seeds import replication_seeds
    from servicesim.model.simulation import simulate

    text = SCENARIO.replace("horizon_days: 60, warmup_days: 10",
                            "horizon_days: 410, warmup_days: 10")
    for customers in ("    customers: 10\n", "    customers: 100\n"):
        text = text.replace(customers, customers + "    retention_rate_per_year: 1\n")
    scenario, fit = load_with_fit(write(tmp_path, text))
    assert fit is not None
    expected = sum(r["lines_per_day"] * r["model_mean"] for r in fit.rows
                   if r["demand_source"] != "none")
    per_day = np.array([simulate(scenario, seed).details["units_demanded"] / 400
                        for seed in replication_seeds(7, 12)])
    half = stats.t.ppf(0.995, len(per_day) - 1) * per_day.std(ddof=1) / math.sqrt(len(per_day))
    assert abs(per_day.mean() - expected) <= half, (per_day.mean(), expected, half)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(st.integers(1, 400), min_size=1, max_size=80))
def test_any_quantities_fit_to_a_valid_distribution_with_the_data_mean(
        quantities: list[int]) -> None:
    """Whatever the order lines, the fit yields a scenario distribution whose draw has the
    data's mean (and variance, for two-parameter models)."""
    from servicesim.scenario.schema import Sku

    fit = fit_quantities(quantities)
    sku = Sku(units_per_line=fit.distribution())  # validates as a SKU's units_per_line
    assert sku.units_per_line is not None
    drawn_mean, drawn_var = integer_moments(sku.units_per_line)
    data = np.asarray(quantities, dtype=float)
    assert drawn_mean == pytest.approx(data.mean(), rel=1e-6)
    if fit.model in ("negative_binomial", "normal"):
        assert drawn_var == pytest.approx(data.var(ddof=1), rel=1e-4, abs=1e-6)
    assert fit.reason


def test_the_items_report_loader_reports_duplicate_keys_like_load_scenario(
        tmp_path: Path) -> None:
    path = write(tmp_path, SCENARIO + "name: again\n")
    with pytest.raises(ScenarioError) as info:
        load_with_fit(path)
    assert "name: duplicate key (also at line 1)" in str(info.value)
    assert [str(p) for p in info.value.problems] == problems_of(path)


@pytest.mark.parametrize("quantity", ["10000000", "100000000", "1e300"])
def test_a_history_line_of_millions_of_units_is_refused_without_gigabytes(
        tmp_path: Path, quantity: str) -> None:
    """One line of 10^7 units made the fitted quantity distribution span 10^7 points (2.4
    GB to validate; 10^8: MemoryError): the line is refused, naming file, row and column."""
    import resource
    import time

    rows = history_rows()
    rows.append(f"2025-01-21,PUMP,{quantity},retail,R8")
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    found = problems_of(write(tmp_path, history="\n".join(rows) + "\n"))
    assert time.perf_counter() - start < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KB
    assert len(found) == 1, found
    assert f"history.csv: row {len(rows)}, column quantity: value " in found[0]
    assert "from 1 to 1,000,000" in found[0]


def test_a_master_mean_quantity_over_the_count_ceiling_is_refused(tmp_path: Path) -> None:
    master = ("sku,unit_cost,price,lines_per_day,units_per_line_mean,units_per_line_std\n"
              "BOLT,1.5,2.0,3,100000000,5\n")
    found = problems_of(write(tmp_path, master=master, history="date,sku,quantity\n"
                              "2025-01-01,BOLT,1\n"))
    assert any("items.csv: row 2, column units_per_line_mean: value 1" in p and "1,000,000" in p
               for p in found), found


# ------------------------------------------------------------------ files read with limits


def _refused_fast(path: Path) -> str:
    import time

    start = time.perf_counter()
    found = problems_of(path)
    assert time.perf_counter() - start < 2
    return "\n".join(found)


def test_a_device_as_the_item_master_is_refused_before_reading(tmp_path: Path) -> None:
    path = write(tmp_path, scenario=SCENARIO.replace("master: items.csv",
                                                     "master: /dev/zero"))
    assert "/dev/zero: is a device, not a regular file" in _refused_fast(path)


def test_a_fifo_as_the_history_is_refused_without_hanging(tmp_path: Path) -> None:
    path = write(tmp_path)
    (tmp_path / "history.csv").unlink()
    os.mkfifo(tmp_path / "history.csv")
    assert "history.csv: is a FIFO (named pipe), not a regular file" in _refused_fast(path)


def test_cells_are_counted_before_a_csv_is_parsed(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from servicesim.inputs import items

    monkeypatch.setattr(items, "MAX_CELLS", 300)
    message = _refused_fast(write(tmp_path))
    assert "history.csv: too many cells to read: at least 466 in 94 rows" in message
    assert "the limit is 300 cells (rows × columns)" in message
    monkeypatch.setattr(items, "MAX_CELLS", 1000)
    assert load_scenario(write(tmp_path)).skus


def test_an_xlsx_zip_bomb_is_refused_from_its_zip_directory(tmp_path: Path) -> None:
    """A workbook whose sheet unpacks to 600 MB from a file of about 600 KB."""
    import zipfile

    bomb = tmp_path / "items.xlsx"
    row = b'<row><c t="inlineStr"><is><t>' + b"x" * 1000 + b"</t></is></c></row>"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            for _ in range(600 * 1024 * 1024 // len(row) + 1):
                sheet.write(row)
    assert bomb.stat().st_size < 2_000_000
    path = write(tmp_path, scenario=SCENARIO.replace("master: items.csv",
                                                     "master: items.xlsx"))
    message = _refused_fast(path)
    assert "items.xlsx: the workbook unpacks to 600 MB, over the 500 MB read" in message


def test_cells_of_an_excel_sheet_are_bounded(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import openpyxl

    from servicesim.inputs import items

    book = openpyxl.Workbook()
    for line in MASTER.splitlines():
        book.active.append(line.split(","))
    book.save(tmp_path / "items.xlsx")
    monkeypatch.setattr(items, "MAX_CELLS", 20)
    path = write(tmp_path, scenario=SCENARIO.replace("master: items.csv",
                                                     "master: items.xlsx"))
    assert "items.xlsx: too many cells to read: at least 21 in 3 rows" in _refused_fast(path)
