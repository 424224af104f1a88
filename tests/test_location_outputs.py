"""A network's figures per location in every output (DOMAIN §7): runs.csv and summary.csv
columns ``<location>.<figure>``, resume, ``run --json`` and the terminal table, the achieved
service of a swept location target, the report's and the workbook's "By location"."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from servicesim.cli import main
from servicesim.experiment.compare import compare
from servicesim.experiment.replications import run_replications
from servicesim.experiment.store import figure_columns
from servicesim.experiment.sweep import sweep
from servicesim.kpis import LOCATION_FIGURES, SUMMARY_KEYS, is_probability, location_columns
from servicesim.outputs.findings import service_gap
from servicesim.outputs.results import (
    ACHIEVED,
    achieved_service,
    load_results,
    target_locations,
)
from servicesim.outputs.tables import summary_document
from servicesim.scenario.schema import Scenario
from sweep_helpers import BASE
from test_network import NETWORK

TARGETED = yaml.safe_load(NETWORK)
"""The three-level network of test_network with service targets instead of levels."""
TARGETED["policy"] = {"type": "base_stock", "service_target": 0.9}
TARGETED["run"].update(horizon_days=300, replications=2)
TARGETED["skus"] = {"a": {"unit_cost": 20.0, "price": 30.0},
                    "b": {"unit_cost": 10.0, "price": 16.0}}
for _location in TARGETED["locations"].values():
    _location["policy"] = {}
NET = Scenario.model_validate(TARGETED)
ORDER = NET.network_order()
KEY = "locations.store_n.policy.service_target"


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


# ------------------------------------------------------- achieved service of a target


def row(**cells: float) -> dict[str, Any]:
    return {key.replace("__", "."): value for key, value in cells.items()}


def test_target_locations_of_swept_keys() -> None:
    assert target_locations(KEY) == ("store_n",)
    assert target_locations("locations.a.policy.service_target+locations.b.policy."
                            "service_target") == ("a", "b")
    assert target_locations("policy.service_target") == ()
    assert target_locations("locations.a.policy.service_target+policy.service_target") == ()
    assert target_locations("locations.a.policy.order_up_to") == ()
    assert target_locations(None) == ()


def test_achieved_service_weighs_customers_and_a_dcs_internal_orders() -> None:
    runs = row(north__fill_rate=0.9, north__units_demanded=300.0,
               south__fill_rate=0.6, south__units_demanded=100.0,
               dc__fill_rate=math.nan, dc__units_demanded=0.0,
               dc__internal_fill_rate=0.5, dc__internal_units_ordered=400.0)
    assert achieved_service(runs, ["north"]) == pytest.approx(0.9)
    # demand-weighted over the named locations: (0.9·300 + 0.6·100) / 400
    assert achieved_service(runs, ["north", "south"]) == pytest.approx(0.825)
    # a DC serving no customers: the fill rate of the orders of the locations below it
    assert achieved_service(runs, ["dc"]) == pytest.approx(0.5)
    assert achieved_service(runs, ["dc", "south"]) == pytest.approx(
        (0.5 * 400 + 0.6 * 100) / 500)
    assert math.isnan(achieved_service(runs, ["elsewhere"]))
    assert math.isnan(achieved_service(row(x__units_demanded=0.0,
                                           x__internal_units_ordered=0.0), ["x"]))


# --------------------------------------------------------------------------- run


def test_single_location_outputs_have_no_location_columns() -> None:
    assert figure_columns(BASE) == SUMMARY_KEYS
    assert "by_location" not in summary_document(run_replications(BASE, 2))
    assert is_probability("store_n.fill_rate") and is_probability("item_fill_rate")
    assert not is_probability("store_n.units_demanded")
    assert not is_probability("policy.fill_rate_extra")


def test_run_json_table_and_replications_csv(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump(TARGETED, sort_keys=False), encoding="utf-8")
    assert main(["run", str(path), "--json", "--out", str(tmp_path / "out"), "--quiet"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert list(document["by_location"]) == ORDER
    for location, figures in document["by_location"].items():
        assert list(figures) == list(LOCATION_FIGURES)
        assert set(figures["fill_rate"]) >= {"mean", "ci_low", "ci_high"}
        if location.startswith("store"):
            assert 0 <= figures["fill_rate"]["ci_low"] <= figures["fill_rate"]["mean"] \
                <= figures["fill_rate"]["ci_high"] <= 1
    assert document["by_location"]["dc"]["fill_rate"]["mean"] is None  # serves no customers
    replications = next((tmp_path / "out").rglob("replications.csv"))
    header, rows = read_csv(replications)
    assert header[3:] == [*SUMMARY_KEYS, *location_columns(ORDER)] and len(rows) == 2
    assert main(["run", str(path), "--out", str(tmp_path / "out2")]) == 0
    table = capsys.readouterr().out
    assert "per location" in table
    lines = [line for line in table.splitlines() if line.startswith(("dc ", "store_n "))]
    assert len(lines) == 2 and "n/a" in lines[0]  # the DC's customers' fill rate


# ------------------------------------------------------------------------ sweep


@pytest.fixture(scope="module")
def network_sweep(tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("sweeps")
    return sweep(NET, [f"{KEY}=0.8,0.97"], out_dir=out, workers=1)


def test_runs_summary_and_today_carry_location_columns(network_sweep: Any) -> None:
    folder = network_sweep.directory
    header, runs = read_csv(folder / "runs.csv")
    assert header == ["alternative", KEY, "replication", "seed", *SUMMARY_KEYS,
                      *location_columns(ORDER)]
    assert len(runs) == 4
    today_header, today = read_csv(folder / "today.csv")
    assert today_header == ["replication", "seed", *SUMMARY_KEYS, *location_columns(ORDER)]
    _, summary = read_csv(folder / "summary.csv")
    figures = [r["figure"] for r in summary if r["alternative"] == "0"]
    assert figures == [*SUMMARY_KEYS, *location_columns(ORDER)]
    for line in summary:
        if line["figure"] == "store_n.units_delivered":
            values = [float(r["store_n.units_delivered"]) for r in runs
                      if r["alternative"] == line["alternative"]]
            assert float(line["mean"]) == pytest.approx(sum(values) / len(values))
    # a higher target at store_n serves store_n's customers better, the others alike
    fill = {r["alternative"]: float(r["mean"]) for r in summary
            if r["figure"] == "store_n.fill_rate"}
    assert fill["1"] > fill["0"]


def test_a_network_sweep_resumes_to_the_same_files(network_sweep: Any) -> None:
    folder = network_sweep.directory
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix == ".csv"}
    again = sweep(NET, [f"{KEY}=0.8,0.97"], out_dir=folder.parent.parent, workers=1,
                  resume=True)
    assert again.directory == folder and again.n_simulations == 0
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix == ".csv"} == before


def test_the_results_set_a_location_target_against_its_service(network_sweep: Any) -> None:
    results = load_results(network_sweep.directory)
    assert results.service_locations == ("store_n",) and results.service_key == ACHIEVED
    for alternative in results.alternatives:
        rows = [r for r in results.runs if r["alternative"] == alternative.id]
        expected = sum(achieved_service(r, ["store_n"]) for r in rows) / len(rows)
        assert alternative.mean(ACHIEVED) == pytest.approx(expected)
        assert alternative.mean(ACHIEVED) == pytest.approx(alternative.mean("store_n.fill_rate"))
    today = results.today
    assert today is not None and math.isfinite(today.interval(ACHIEVED)[0])
    assert results.locations == ORDER
    # the gap between target and achieved service is that of the swept location
    gap = service_gap(results)
    assert gap is not None  # base stock of a few units cannot hit a target of 80 % closely
    for alternative, target, achieved in gap.rows:
        assert target == alternative.params[KEY]
        assert achieved == alternative.mean(ACHIEVED)
        assert "fill rate at store_n" in gap.sentences(results)[0]


def test_compare_runs_carry_the_networks_columns(tmp_path: Path) -> None:
    result = compare([NET, BASE], labels=["network", "single"], out_dir=tmp_path, workers=1)
    header, runs = read_csv(Path(result.directory) / "runs.csv")
    assert header == ["scenario", "label", "replication", "seed", *SUMMARY_KEYS,
                      *location_columns(ORDER)]
    single = [r for r in runs if r["label"] == "single"]
    assert single and all(r["dc.fill_rate"] == "" for r in single)
    assert all(r["store_n.units_demanded"] != "" for r in runs if r["label"] == "network")


@pytest.mark.slow
def test_the_report_and_workbook_show_each_location(network_sweep: Any,
                                                    tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from servicesim.outputs.report import write_report

    paths = write_report(network_sweep.directory, tmp_path)
    text = paths["html"].read_text(encoding="utf-8")
    section = text[text.index("<h2>By location</h2>"):text.index("<h2>Charts</h2>")]
    assert section.count("<tr class=\"today\">") == len(ORDER)
    assert section.count("<tr class=\"best\">") == len(ORDER)
    assert "Echelon value" in section and 'class="table-wrap whole"' in section
    book = load_workbook(paths["xlsx"])
    sheet = book["By location"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["Alternative", header[1], "Result", "Location"]
    column = header.index("Fill rate of its customers (β)") + 1
    assert sheet.cell(2, column).number_format == "0.0%"
    assert sheet.max_row == 1 + (len(network_sweep.plan.items) + 1) * len(ORDER)
    locations = [sheet.cell(r, 4).value for r in range(2, 2 + len(ORDER))]
    assert locations == ORDER
    runs = book["Runs"]
    assert any(str(c.value).startswith("store_n: Fill rate") for c in runs[1])
