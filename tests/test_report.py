"""The HTML report and Excel workbook of a tiny one-SKU sweep, and the report command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from servicesim.cli import main
from servicesim.experiment.sweep import sweep
from servicesim.inputs.scenario_file import load_scenario
from servicesim.kpis import KPIS
from servicesim.outputs import plots
from servicesim.outputs.report import summary_sentence, write_report

SCENARIO = """\
name: one-sku
run: {horizon_days: 150, warmup_days: 30, replications: 3, seed: 7}
policy: {type: sQ, service_metric: fill_rate, service_target: 0.95}
skus:
  WIDGET: {unit_cost: 20.0, price: 28.0, holding_rate_per_year: 0.25,
           policy: {order_quantity: 150}}
segments:
  shops:
    customers: 60
    order_interval_days: {type: exponential, mean: 5}
    lines_per_order: {type: poisson, mean: 1}
    units_per_line: {type: poisson, mean: 3}
    sku_weights: {WIDGET: 1}
    promised_cycle_time_days: 3
    reactions: {wait: 0.1, backorder: 0.5, switch: 0.38, defect: 0.02}
supplier:
  lead_time_days: {type: gamma, mean: 7, std: 2}
"""


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    (folder / "one.yaml").write_text(SCENARIO, encoding="utf-8")
    scenario = load_scenario(str(folder / "one.yaml"))
    result = sweep(scenario, ["policy.service_target=0.8,0.9,0.97"], replications=3,
                   workers=1, out_dir=folder / "results")
    return result.directory


@pytest.fixture(scope="module")
def written(sweep_dir: Path) -> dict[str, Path]:
    return write_report(sweep_dir)


def test_html_holds_every_chart_the_sentence_and_the_table(sweep_dir: Path,
                                                          written: dict[str, Path]) -> None:
    assert written["html"] == sweep_dir / "report.html"
    text = written["html"].read_text(encoding="utf-8")
    charts = sorted((sweep_dir / "charts").glob("*.png"))
    assert len(charts) == len(plots.CHARTS)
    assert text.count('src="data:image/png;base64,') == len(charts)
    assert not re.search(r'(src|href)="(https?:)?//', text)  # self-contained
    assert "<title>one-sku" in text and "<h1>one-sku" in text
    sentence = summary_sentence(plots.load_results(sweep_dir))
    assert sentence.startswith("ROI peaks at ") and "95 % CI" in sentence
    assert "Going from " in sentence and "percentage points" in sentence
    assert f'<p class="summary" id="summary">{sentence}</p>' in text
    table = text[text.index('<table class="figures">'):text.index("</table>")]
    assert table.count("<tr>") == 1 + len(KPIS)
    for kpi in KPIS:
        assert kpi.label in table
    assert "name: one-sku" in text  # the scenario in a <pre>
    assert "Common random numbers" in text


def test_workbook_has_the_sheets_and_headers(written: dict[str, Path]) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.load_workbook(written["xlsx"])
    assert workbook.sheetnames == ["Summary", "Alternatives", "Runs", "Scenario"]
    summary = workbook["Summary"]
    assert [c.value for c in summary[1]] == ["Item", "Value"]
    assert summary["A5"].value == "Summary" and summary["B5"].value.startswith("ROI peaks")
    alternatives = workbook["Alternatives"]
    header = [c.value for c in alternatives[1]]
    assert header[:4] == ["alternative", "policy.service_target", "best", "not_worse"]
    assert {"roi mean", "roi ci_low", "roi ci_high", "item_fill_rate mean"} <= set(header)
    assert alternatives.max_row == 1 + 3 and alternatives.freeze_panes == "A2"
    assert alternatives[1][0].font.bold
    column = header.index("item_fill_rate mean") + 1
    assert alternatives.cell(2, column).number_format == "0.00%"
    column = header.index("avg_inventory_value mean") + 1
    assert alternatives.cell(2, column).number_format == "#,##0"
    runs = workbook["Runs"]
    assert [c.value for c in runs[1]][:3] == ["alternative", "policy.service_target",
                                              "replication"]
    assert runs.max_row == 1 + 3 * 3
    assert workbook["Scenario"]["A2"].value == "name: one-sku"


def test_report_command(sweep_dir: Path, written: dict[str, Path], tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(sweep_dir), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "report.html").is_file() and (tmp_path / "report.xlsx").is_file()
    assert "report written to" in capsys.readouterr().out


def test_report_command_bad_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 2
    assert "not a sweep or optimisation results folder" in capsys.readouterr().err


def _synthetic(points: list[tuple[float, float, float]], tmp_path: Path) -> plots.Results:
    """Results of a sweep of policy.service_target: (target, ROI, inventory value) each."""
    from servicesim.kpis import SUMMARY_KEYS

    alternatives = []
    for i, (target, roi, inventory) in enumerate(points):
        figures = {k: {"mean": 0.5, "ci_low": 0.4, "ci_high": 0.6, "n": 5}
                   for k in SUMMARY_KEYS}
        figures["roi"] = {"mean": roi, "ci_low": roi - 0.01, "ci_high": roi + 0.01, "n": 5}
        figures["avg_inventory_value"] = {"mean": inventory, "ci_low": inventory,
                                          "ci_high": inventory, "n": 5}
        figures["item_fill_rate"] = {"mean": target + 0.005, "ci_low": target,
                                     "ci_high": target + 0.01, "n": 5}
        alternatives.append(plots.Alternative(i, {"policy.service_target": target}, figures))
    best = max(alternatives, key=lambda a: a.mean("roi")).id
    return plots.Results(tmp_path, "sweep", "x", ["policy.service_target"], "roi",
                         alternatives, best, [best, *([best + 1] if best + 1 < len(points)
                                                      else [])], [])


def test_sentence_of_an_inner_optimum(tmp_path: Path) -> None:
    results = _synthetic([(0.9, 0.20, 1000.0), (0.95, 0.25, 1500.0), (0.97, 0.24, 2000.0),
                          (0.99, 0.21, 4000.0)], tmp_path)
    assert summary_sentence(results) == (
        "ROI peaks at a 95.0 % fill-rate target (achieved fill rate 95.5 %, 95 % CI "
        "95.0–96.0 %; ROI 25.0 %, 95 % CI 24.0–26.0 %); levels from 95.0 % to 97.0 % are not "
        "significantly worse. Going from 95.0 % to 99.0 % adds 2,500 of average inventory "
        "value and lowers ROI by 4.0 percentage points.")


def test_sentence_of_an_edge_optimum_and_of_one_alternative(tmp_path: Path) -> None:
    edge = summary_sentence(_synthetic([(0.8, 0.2, 1000.0), (0.9, 0.3, 1500.0)], tmp_path))
    assert edge.startswith("ROI peaks at a 90.0 % fill-rate target")
    assert "The optimum is the highest level tried" in edge
    assert "Going from 90.0 % to 80.0 % frees 500 of average inventory value and lowers ROI " \
           "by 10.0 percentage points." in edge
    one = summary_sentence(_synthetic([(0.8, 0.2, 1000.0)], tmp_path))
    assert one.startswith("Only one alternative was simulated (policy.service_target = 80.0 %)")
    assert "nothing to compare" in one
