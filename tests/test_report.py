"""The HTML report and Excel workbook of a tiny one-SKU sweep and of a comparison, and the
report and plot commands."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from servicesim.cli import main
from servicesim.experiment.sweep import sweep
from servicesim.inputs.scenario_file import load_scenario
from servicesim.kpis import SUMMARY_KEYS
from servicesim.outputs import html, plots
from servicesim.outputs.assumptions import assumption_tables, distribution_text, scenario_yaml
from servicesim.outputs.findings import service_gap
from servicesim.outputs.report import summary_sentence, write_report
from servicesim.outputs.results import load_results
from servicesim.scenario.distributions import Gamma
from servicesim.scenario.schema import Scenario
from servicesim.scenario.serialise import parse_yaml

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
finance: {currency: EUR}
"""


def run_sweep(folder: Path, targets: str, replications: int) -> Path:
    """A sweep of the one-SKU scenario over ``targets`` (comma-separated)."""
    (folder / "one.yaml").write_text(SCENARIO, encoding="utf-8")
    scenario = load_scenario(str(folder / "one.yaml"))
    result = sweep(scenario, [f"policy.service_target={targets}"], replications=replications,
                   workers=1, out_dir=folder / "results")
    return result.directory


def write_today(folder: Path, today_id: int, roi_change: tuple[float, float, float]) -> None:
    """A today.json in the shape sweep and optimize write: alternative ``today_id``'s figures
    as today's, the best's parameters, and given ROI change (mean, low, high)."""
    results = load_results(folder)
    today = results.by_id(today_id)
    best = results.best_alternative
    difference = {k: {"mean": best.mean(k) - today.mean(k), "ci_low": math.nan,
                      "ci_high": math.nan, "n": 3, "p_value": math.nan} for k in SUMMARY_KEYS}
    mean, low, high = roi_change
    difference["roi"] = {"mean": mean, "ci_low": low, "ci_high": high, "n": 3, "p_value": 0.01}
    document = {"params": dict(today.params), "figures": today.figures,
                "best": dict(best.params), "best_minus_today": difference, "objective": "roi"}
    text = json.dumps(document, indent=1).replace("NaN", "null")
    (folder / "today.json").write_text(text, encoding="utf-8")


@pytest.fixture(scope="module", autouse=True)
def charts_embedded_as_drawn() -> Any:
    """Charts embedded without scaling them down: the same page, seconds faster."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(html, "EMBED_WIDTH", 10**6)
        yield


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sweep folder as servicesim writes it now: with today.json and today.csv."""
    return run_sweep(tmp_path_factory.mktemp("report"), "0.8,0.9,0.97", 3)


@pytest.fixture(scope="module")
def sweep_dir(swept: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same sweep without today's files, as an older servicesim wrote it (tests that
    add a today.json of their own start from here)."""
    folder = tmp_path_factory.mktemp("older") / swept.name
    shutil.copytree(swept, folder)
    for name in ("today.json", "today.csv"):
        (folder / name).unlink()
    return folder


def test_a_sweep_report_leads_with_today(swept: Path) -> None:
    today = json.loads((swept / "today.json").read_text(encoding="utf-8"))
    results = load_results(swept)
    sentence = summary_sentence(results)
    before = today["figures"]["roi"]["mean"]
    change = today["best_minus_today"]["roi"]
    assert sentence.startswith("ROI ")
    assert f"from {100 * before:,.1f} % (today, 95.0 % target)" in sentence
    assert f"{100 * change['mean']:+,.1f} points" in sentence
    assert "operating profit" in sentence and " EUR" in sentence
    text = write_report(swept)["html"].read_text(encoding="utf-8")
    assert "Today against the recommendation" in text
    assert f'<p class="summary" id="summary">{sentence}</p>' in text


@pytest.fixture(scope="module")
def written(sweep_dir: Path) -> dict[str, Path]:
    return write_report(sweep_dir)


def _nan(text: str) -> bool:
    """Whether the page (without its embedded images) shows a "nan"."""
    words = re.sub(r'data:image/png;base64,[^"]+', "", text)
    return re.search(r"\bnan\b", words, re.IGNORECASE) is not None


def _table(text: str, title: str) -> str:
    start = text.index(title)
    return text[text.rindex("<table", 0, start):text.index("</table>", start)]


def test_html_holds_every_chart_the_sentence_and_one_row_per_alternative(
        sweep_dir: Path, written: dict[str, Path]) -> None:
    assert written["html"] == sweep_dir / "report.html"
    text = written["html"].read_text(encoding="utf-8")
    charts = sorted((sweep_dir / "charts").glob("*.png"))
    assert len(charts) == len([s for s in plots.CHARTS if s not in plots.ONLY_WHEN])
    assert text.count('src="data:image/png;base64,') == len(charts)
    assert not re.search(r'(src|href)="(https?:)?//', text)  # self-contained
    assert "<title>one-sku" in text and "<h1>one-sku" in text
    sentence = summary_sentence(load_results(sweep_dir))
    assert sentence.startswith("ROI peaks at ") and "95 % CI" in sentence
    assert "Going from " in sentence and "percentage points" in sentence
    assert " EUR of average inventory value" in sentence  # the scenario's currency
    assert f'<p class="summary" id="summary">{sentence}</p>' in text
    table = _table(text, "Key figures by alternative")
    rows = re.findall(r"<tr[^>]*><td>(#\d+|today)</td><td>([\d.]+ %)</td>", table)
    assert rows == [("#0", "80.0 %"), ("#1", "90.0 %"), ("#2", "97.0 %")]  # sorted by target
    best = load_results(sweep_dir).best
    assert re.search(rf'<tr class="best"><td>#{best}</td>', table)
    assert "Operating profit (EUR)" in table and "today" not in table  # no today.json
    assert "Today against the recommendation" not in text
    assert "What drives the answer" not in text
    assert "Customer segments" in text and "gamma, mean 7 d, sd 2 d" in text
    appendix = text[text.index("Appendix B"):]
    assert "name: one-sku" in appendix and "null" not in appendix
    assert "Common random numbers" in text and not _nan(text)


def test_today_leads_the_sentence_and_the_report(sweep_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "with-today"
    shutil.copytree(sweep_dir, folder)
    results = load_results(folder)
    today_id = next(a.id for a in results.alternatives if a.params["policy.service_target"]
                    == 0.9)
    write_today(folder, today_id, (0.05, 0.01, 0.09))
    results = load_results(folder)
    best, today = results.best_alternative, results.by_id(today_id)
    sentence = summary_sentence(results)
    if best.id == today_id:
        assert sentence.startswith("Today's policy (90.0 % target) is already the best")
    else:
        assert sentence.startswith(f"ROI rises from {100 * today.mean('roi'):,.1f} % (today, "
                                   "90.0 % target) to ")
        assert "(+5.0 points, 95 % CI +1.0 to +9.0 points)" in sentence
        assert "operating profit " in sentence and " EUR" in sentence
        assert "average inventory value " in sentence
        assert f"achieved fill rate {100 * today.mean('item_fill_rate'):.1f} % today" in sentence
    text = write_report(folder)["html"].read_text(encoding="utf-8")
    assert f'<p class="summary" id="summary">{sentence}</p>' in text
    table = _table(text, "Key figures by alternative")
    assert re.search(r'<tr class="today"><td>today</td><td>90.0 %</td>', table)
    decision = _table(text, "Best alternative minus today")
    assert "+5.0 points" in decision and "+1.0 to +9.0 points" in decision


def test_without_today_the_sentence_is_the_peak(tmp_path: Path) -> None:
    results = _synthetic([(0.9, 0.20, 1000.0), (0.95, 0.25, 1500.0), (0.97, 0.24, 2000.0),
                          (0.99, 0.21, 4000.0)], tmp_path)
    assert summary_sentence(results) == (
        "ROI peaks at a 95.0 % fill-rate target (achieved fill rate 95.5 %, 95 % CI "
        "95.0–96.0 %; ROI 25.0 %, 95 % CI 24.0–26.0 %); levels from 95.0 % to 97.0 % "
        "are not significantly worse. Going from 95.0 % to 99.0 % adds 2,500 of average "
        "inventory value and lowers ROI by 4.0 percentage points.")


def test_sentence_against_today_in_numbers(tmp_path: Path) -> None:
    results = _synthetic([(0.9, 0.20, 1000.0), (0.95, 0.25, 1500.0), (0.97, 0.24, 2000.0)],
                         tmp_path)
    figures = {k: {"mean": 0.5, "ci_low": 0.4, "ci_high": 0.6, "n": 5} for k in SUMMARY_KEYS}
    figures["roi"] = {"mean": 0.2, "ci_low": 0.19, "ci_high": 0.21, "n": 5}
    figures["item_fill_rate"] = {"mean": 0.93, "ci_low": 0.92, "ci_high": 0.94, "n": 5}
    change = {k: {"mean": 0.0, "ci_low": -1.0, "ci_high": 1.0, "n": 5, "p_value": 0.5}
              for k in SUMMARY_KEYS}
    change["roi"] = {"mean": 0.05, "ci_low": 0.03, "ci_high": 0.07, "n": 5, "p_value": 0.001}
    change["operating_profit"] = {"mean": 312_000.0, "ci_low": 1.0, "ci_high": 2.0, "n": 5,
                                  "p_value": 0.01}
    change["avg_inventory_value"] = {"mean": 1_500_000.0, "ci_low": 1.0, "ci_high": 2.0,
                                     "n": 5, "p_value": 0.01}
    (tmp_path / "today.json").write_text(json.dumps(
        {"params": {"policy.service_target": 0.9}, "figures": figures,
         "best": {"policy.service_target": 0.95}, "best_minus_today": change,
         "objective": "roi"}), encoding="utf-8")
    assert summary_sentence(results, currency="EUR") == (
        "ROI rises from 20.0 % (today, 90.0 % target) to 25.0 % at a 95.0 % fill-rate "
        "target (+5.0 points, 95 % CI +3.0 to +7.0 points); operating profit +312,000 EUR; "
        "average inventory value +1.50 M EUR; achieved fill rate 93.0 % today, 95.5 % at the "
        "optimum. Levels from 95.0 % to 97.0 % are not significantly worse.")


def test_service_gap_is_explained_only_when_large(tmp_path: Path) -> None:
    close = _synthetic([(0.9, 0.2, 1000.0), (0.95, 0.25, 1500.0)], tmp_path)
    assert service_gap(close) is None
    far = _synthetic([(0.8, 0.2, 1000.0), (0.95, 0.25, 1500.0)], tmp_path,
                     achieved={0.8: 0.95})
    gap = service_gap(far)
    assert gap is not None and [(a.id, t) for a, t, _ in gap.rows] == [(0, 0.8)]
    text = " ".join(gap.sentences(far))
    assert "more than 3 percentage points at 1 of 2 alternatives" in text
    assert "Targets of 80.0 % achieve 95.0 %: more than asked" in text
    assert "demand shrinks" in text
    under = service_gap(_synthetic([(0.95, 0.2, 1.0)], tmp_path, achieved={0.95: 0.85}))
    assert under is not None and "achieve only 85.0 %" in " ".join(under.sentences(far))


def test_assumptions_in_plain_words() -> None:
    assert distribution_text(Gamma(mean=10, std=3), "d") == "gamma, mean 10 d, sd 3 d"
    scenario = Scenario.model_validate(parse_yaml(SCENARIO, "one.yaml"))
    tables = {t.title: t for t in assumption_tables(scenario)}
    segment = tables["Customer segments"].rows[0]
    assert segment[:2] == ("shops", "60")
    assert "backorder 50 %" in segment[4] and "leave for good 2 %" in segment[4]
    assert segment[5] == "3 d"
    assert tables["Products (SKUs)"].rows[0][:4] == ("WIDGET", "20 EUR", "28 EUR", "28.6 %")
    text = scenario_yaml(scenario)
    assert "null" not in text and "'" not in text
    assert Scenario.model_validate(parse_yaml(text, "appendix")) == scenario


def test_sensitivity_section_when_the_folder_has_one(sweep_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "with-sensitivity"
    shutil.copytree(sweep_dir, folder)
    sentence = "The optimum stays between 90 % and 97 % unless defection doubles."
    (folder / "sensitivity.json").write_text(json.dumps(
        {"objective": "roi", "param": "policy.service_target", "sentence": sentence,
         "inputs": []}), encoding="utf-8")
    shutil.copy(folder / "charts" / "01-objective.png", folder / "charts" / "08-sensitivity.png")
    text = write_report(folder)["html"].read_text(encoding="utf-8")
    section = text[text.index("<h2>What drives the answer</h2>"):]
    assert section.index(sentence) < section.index('src="data:image/png') < \
        section.index("<h2>", 5)
    assert text.count('src="data:image/png;base64,') == len(
        {*plots.CHARTS, "08-sensitivity"} - set(plots.ONLY_WHEN))


def test_one_replication_shows_na_and_a_note(sweep_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "one-replication"
    shutil.copytree(sweep_dir, folder)
    (folder / "summary.csv").unlink()
    with open(folder / "runs.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    column = rows[0].index("replication")
    with open(folder / "runs.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([rows[0]] + [r for r in rows[1:] if r[column] == "0"])
    charts = folder / "charts"  # drawn by an earlier test of the module, if it ran first
    for chart in charts.iterdir() if charts.is_dir() else ():  # kept current: not redrawn
        os.utime(chart)
    text = write_report(folder)["html"].read_text(encoding="utf-8")
    assert "simulated once (one replication)" in text
    assert "one replication, so no confidence interval" in summary_sentence(load_results(folder))
    assert "n/a" in _table(text, "Key figures by alternative")
    assert not _nan(text)


def test_workbook_formats_order_seeds_and_best_row(sweep_dir: Path,
                                                   written: dict[str, Path]) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.load_workbook(written["xlsx"])
    assert workbook.sheetnames == ["Summary", "Alternatives", "Runs", "Assumptions", "Scenario"]
    summary = workbook["Summary"]
    assert summary["A5"].value == "Summary" and summary["B5"].value.startswith("ROI peaks")
    sheet = workbook["Alternatives"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Alternative", "Fill-rate target", "Result"]
    assert {"ROI (annualised), %", "Operating profit (EUR)", "Item fill rate (β), %",
            "ROI (annualised), 95 % CI low (%)",
            "Operating profit, 95 % CI high (EUR)"} <= set(header)
    assert sheet.freeze_panes == "D2" and sheet.auto_filter.ref == sheet.dimensions
    assert sheet[1][0].font.bold
    targets = [row[1].value for row in sheet.iter_rows(min_row=2)]
    assert targets == sorted(targets) == [0.8, 0.9, 0.97]
    assert sheet.cell(2, 2).number_format == "0.0%"
    assert sheet.cell(2, header.index("Item fill rate (β), %") + 1).number_format == "0.0%"
    assert sheet.cell(2, header.index("Operating profit (EUR)") + 1).number_format == "#,##0"
    best = load_results(sweep_dir).best
    for row in sheet.iter_rows(min_row=2):
        filled = row[0].fill.fgColor.rgb.endswith("FFE9A8")
        assert filled == (row[0].value == best) == (row[2].value == "best")
    runs = workbook["Runs"]
    header = [c.value for c in runs[1]]
    assert header[:4] == ["Alternative", "Fill-rate target", "Replication",
                          "Seed (root/replication)"]
    assert "SeedSequence(S)" in runs["D1"].comment.text
    seeds = [(r[2].value, r[3].value) for r in runs.iter_rows(min_row=2)]
    assert len(seeds) == 3 * 3 and all(s == f"7/{rep}" for rep, s in seeds)
    assert {s for _, s in seeds} == {"7/0", "7/1", "7/2"}  # not the root seed on every row
    assert runs.auto_filter.ref == runs.dimensions
    assert workbook["Scenario"]["A2"].value == "name: one-sku"
    assert workbook["Assumptions"]["A2"].value == "CUSTOMER SEGMENTS"


def test_workbook_today_sheet(sweep_dir: Path, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    folder = tmp_path / "today-book"
    shutil.copytree(sweep_dir, folder)
    write_today(folder, 0, (0.05, 0.01, 0.09))
    workbook = openpyxl.load_workbook(write_report(folder)["xlsx"])
    sheet = workbook["Today vs best"]
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=2)}
    roi = rows["ROI (annualised)"]
    assert [c.value for c in roi[4:7]] == pytest.approx([0.05, 0.01, 0.09])
    assert roi[4].number_format == "0.0%"
    assert rows["Operating profit"][1].value == "EUR"
    assert rows["Operating profit"][2].number_format == "#,##0"


def test_report_command(sweep_dir: Path, written: dict[str, Path], tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(sweep_dir), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "report.html").is_file() and (tmp_path / "report.xlsx").is_file()
    assert "report written to" in capsys.readouterr().out


def test_report_and_plot_commands_on_a_folder_that_is_neither(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err
    for command in ("report", "plot"):
        assert main([command, str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert "not a sweep or optimisation results folder" in err
        assert "compare results folder holds comparison.csv" in err


# ------------------------------------------------------------------------- comparison


@pytest.fixture(scope="module")
def compare_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("compare")
    (folder / "one.yaml").write_text(SCENARIO, encoding="utf-8")
    assert main(["compare", str(folder / "one.yaml"), "--set-variant",
                 "shorter lead time:supplier.lead_time_days.mean=4", "--replications", "3",
                 "--workers", "1", "--out", str(folder), "--id", "cmp", "--quiet"]) == 0
    return folder / "cmp"


def test_compare_report_and_plot(compare_dir: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    (compare_dir / "compare.png").unlink()
    assert main(["plot", str(compare_dir)]) == 0
    assert "compare chart written to" in capsys.readouterr().out
    assert (compare_dir / "compare.png").is_file() and (compare_dir / "compare.svg").is_file()
    assert main(["report", str(compare_dir), "--out", str(tmp_path)]) == 0
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<h1>one: what-if comparison</h1>" in text  # the reference's label
    assert "“shorter lead time” against “one”: ROI " in text
    assert "supplier › lead time days › mean: 7 → 4" in text
    assert text.count('src="data:image/png;base64,') == 1
    assert "Operating profit (EUR)" in _table(text, "Key figures by scenario")
    assert "shorter lead time: change" in _table(text, "Change against one,")
    workbook = openpyxl.load_workbook(tmp_path / "report.xlsx")
    assert workbook.sheetnames == ["Summary", "Scenarios", "Differences", "Runs",
                                   "Assumptions", "Scenario"]
    runs = workbook["Runs"]
    assert [c.value for c in runs[1]][:4] == ["Scenario #", "Scenario", "Replication",
                                              "Seed (root/replication)"]
    assert runs.max_row == 1 + 2 * 3 and runs["D2"].value == "7/0"
    differences = workbook["Differences"]
    labels = {r[0].value: r for r in differences.iter_rows(min_row=2)}
    assert labels["ROI (annualised)"][5].number_format == "0.0%"


# ------------------------------------------------------------------------- synthetic


def _synthetic(points: list[tuple[float, float, float]], tmp_path: Path,
               achieved: dict[float, float] | None = None) -> plots.Results:
    """Results of a sweep of policy.service_target: (target, ROI, inventory value) each;
    the achieved fill rate is the target + 0.5 points unless ``achieved`` says otherwise."""
    alternatives = []
    for i, (target, roi, inventory) in enumerate(points):
        figures: dict[str, dict[str, Any]] = {
            k: {"mean": 0.5, "ci_low": 0.4, "ci_high": 0.6, "n": 5} for k in SUMMARY_KEYS}
        figures["roi"] = {"mean": roi, "ci_low": roi - 0.01, "ci_high": roi + 0.01, "n": 5}
        figures["avg_inventory_value"] = {"mean": inventory, "ci_low": inventory,
                                          "ci_high": inventory, "n": 5}
        fill = (achieved or {}).get(target, target + 0.005)
        figures["item_fill_rate"] = {"mean": fill, "ci_low": fill - 0.005,
                                     "ci_high": fill + 0.005, "n": 5}
        alternatives.append(plots.Alternative(i, {"policy.service_target": target}, figures))
    best = max(alternatives, key=lambda a: a.mean("roi")).id
    return plots.Results(tmp_path, "sweep", "x", ["policy.service_target"], "roi",
                         alternatives, best, [best, *([best + 1] if best + 1 < len(points)
                                                      else [])], [])


def test_sentence_of_an_edge_optimum_and_of_one_alternative(tmp_path: Path) -> None:
    edge = summary_sentence(_synthetic([(0.8, 0.2, 1000.0), (0.9, 0.3, 1500.0)], tmp_path))
    assert edge.startswith("ROI peaks at a 90.0 % fill-rate target")
    assert "The optimum is the highest level tried" in edge
    assert "Going from 90.0 % to 80.0 % frees 500 of average inventory value and lowers ROI " \
           "by 10.0 percentage points." in edge
    one = summary_sentence(_synthetic([(0.8, 0.2, 1000.0)], tmp_path))
    assert one.startswith("Only one alternative was simulated (fill-rate target 80.0 %)")
    assert "nothing to compare" in one


def test_today_of_another_best_keeps_its_row_but_not_the_comparison(sweep_dir: Path,
                                                                   tmp_path: Path) -> None:
    folder = tmp_path / "other-best"
    shutil.copytree(sweep_dir, folder)
    write_today(folder, 0, (0.05, 0.01, 0.09))
    document = json.loads((folder / "today.json").read_text(encoding="utf-8"))
    document["best"] = {"policy.service_target": 0.5}  # not this report's best
    (folder / "today.json").write_text(json.dumps(document), encoding="utf-8")
    results = load_results(folder)
    assert summary_sentence(results).startswith("ROI peaks at ")
    text = write_report(folder)["html"].read_text(encoding="utf-8")
    assert "Today against the recommendation" not in text
    assert '<tr class="today"><td>today</td>' in _table(text, "Key figures by alternative")


def test_many_scattered_not_worse_levels_read_as_a_count(tmp_path: Path) -> None:
    points = [(0.90 + 0.01 * i, 0.20 + (0.05 if i % 2 else 0.0), 1000.0) for i in range(11)]
    results = _synthetic(points, tmp_path)
    odd = [a.id for a in results.alternatives if a.id % 2]
    results.not_worse = odd
    results.best = odd[0]
    assert "; 5 of the 9 levels tried from 91.0 % to 99.0 % are not significantly worse." \
        in summary_sentence(results)
