"""The charts, report and workbook of a frontier folder (DOMAIN §12), on synthetic folders
written as ``servicesim frontier`` writes them (``frontier_helpers``)."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import matplotlib
import openpyxl
import pytest
from PIL import Image

from frontier_helpers import write_frontier_folder
from servicesim.cli import main
from servicesim.outputs.charts import house_style
from servicesim.outputs.charts.frontier import BUDGET_GID, frontier_chart
from servicesim.outputs.charts.targets import targets_chart
from servicesim.outputs.frontier_report import MOST_MOVES, biggest_moves, here_sentence
from servicesim.outputs.frontier_results import is_frontier_folder, load_frontier
from servicesim.outputs.plots import PlotError, plot_all
from servicesim.outputs.report import ReportError, write_report
from test_chart_layout import layout_problems


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_frontier_folder(tmp_path_factory.mktemp("frontier") / "frontier-0123456789",
                                 items=60)


@pytest.fixture(scope="module")
def report(folder: Path) -> dict[str, Path]:
    return write_report(folder)


def _texts(figure) -> str:
    parts = [t.get_text() for t in figure.texts]
    for ax in figure.axes:
        parts += [ax.get_xlabel(), ax.get_ylabel(), *(t.get_text() for t in ax.texts)]
        parts += [t.get_text() for t in ax.get_xticklabels()]
        legend = ax.get_legend()
        if legend is not None:
            parts += [t.get_text() for t in legend.get_texts()]
    return "\n".join(parts)


# ----------------------------------------------------------------------------- charts


def test_a_frontier_folder_is_told_apart(folder: Path, tmp_path: Path) -> None:
    assert is_frontier_folder(folder)
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "sweep"}), encoding="utf-8")
    assert not is_frontier_folder(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "frontier"}), encoding="utf-8")
    assert is_frontier_folder(tmp_path)  # a run still going: no frontier.json yet


def test_plot_all_writes_both_charts_as_slide_sized_pngs(folder: Path, report: dict) -> None:
    with house_style():
        width, height = (round(300 * x) for x in matplotlib.rcParams["figure.figsize"])
    paths = sorted((folder / "charts").glob("*.png"))  # drawn by the report
    assert [p.stem for p in paths] == ["11-frontier", "12-targets"]
    for path in paths:
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert abs(image.width - width) <= 1 and abs(image.height - height) <= 1


def test_the_frontier_chart_marks_today_the_options_and_the_distance(folder: Path) -> None:
    results = load_frontier(folder)
    figure = frontier_chart(results)
    ax = figure.axes[0]
    text = _texts(figure).replace("\u00a0", " ")  # "95 %" is kept whole on the page
    for label in ("today", "recommended", "all at 95 %", "efficient frontier",
                  results.text("decision"), "same fill for", "points of fill"):
        assert label in text
    saving = results.you_are_here("saving")
    assert f"{saving / 1e3:.3g} k EUR less" in text
    arrows = [t for t in ax.texts if t.get_gid() == "you-are-here"]
    assert len(arrows) == 2
    # the y range is where the points are, not 0–100 %
    low, high = ax.get_ylim()
    points = [results.today, results.recommended, results.best_common, *results.confirmed]
    assert all(low < p.fill.mean < high for p in points)
    assert high - low < 0.2
    assert not any(line.get_gid() == BUDGET_GID for line in ax.get_lines())


def test_a_budget_draws_its_line(tmp_path: Path) -> None:
    results = load_frontier(write_frontier_folder(tmp_path / "f", items=20, budget=True))
    ax = frontier_chart(results).axes[0]
    lines = [line for line in ax.get_lines() if line.get_gid() == BUDGET_GID]
    assert len(lines) == 1
    assert list(lines[0].get_xdata()) == [results.budget, results.budget]
    low, high = ax.get_xlim()
    assert low < results.budget < high
    assert "budget" in _texts(ax.figure)


def test_the_targets_chart_shows_every_sku_and_today(folder: Path) -> None:
    results = load_frontier(folder)
    figure = targets_chart(results)
    ax = figure.axes[0]
    assert ax.get_xscale() == "log"
    sizes = [len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_offsets")]
    assert sizes.count(len(results.targets)) >= 2  # today's rings, the recommended dots
    text = _texts(figure)
    assert "today's target" in text and "recommended target" in text
    assert "Unit cost (EUR)" in "\n".join(a.get_ylabel() for a in figure.axes)
    moves = results.moves()
    assert f"{moves['up']} SKUs up, {moves['down']} down" in text
    legend = ax.get_legend()
    assert legend.get_bbox_to_anchor().y0 >= ax.get_window_extent().y1 - 1  # above the plot


def test_thousands_of_skus_get_small_faint_markers(tmp_path: Path) -> None:
    few = targets_chart(load_frontier(write_frontier_folder(tmp_path / "few", items=30)))
    many = targets_chart(load_frontier(write_frontier_folder(tmp_path / "many",
                                                             items=1200)))

    def dots(figure):
        return next(c for c in figure.axes[0].collections if c.get_label() ==
                    "recommended target")

    assert dots(many).get_sizes()[0] < dots(few).get_sizes()[0]
    assert dots(many).get_alpha() < dots(few).get_alpha() <= 1


def test_a_class_folder_draws_a_chart_per_class(tmp_path: Path) -> None:
    folder = write_frontier_folder(tmp_path / "f", items=50, by_class=True)
    paths = plot_all(folder, formats=("png",))
    assert [p.name for p in paths] == ["11-frontier.png", "12-targets.png"]
    figure = targets_chart(load_frontier(folder))
    ticks = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert [t.split("\n")[0] for t in ticks] == ["class A", "class B", "class C"]


# ----------------------------------------------------------------------------- report


def test_the_report_leads_with_the_decision_and_marks_the_rows(folder: Path,
                                                               report: dict) -> None:
    results = load_frontier(folder)
    text = report["html"].read_text(encoding="utf-8")
    assert html.escape(results.text("decision")) in text
    assert html.escape(here_sentence(results)) in text
    assert "less inventory" in here_sentence(results)
    for klass, label in (("today", "today"), ("best", "recommended"), ("nw", "frontier 14")):
        assert f'<tr class="{klass}"><td>{label}</td>' in text
    assert "<td>all at 95 %</td>" in text
    assert text.count("<img ") == 2
    assert html.escape(results.text("method")) in text
    assert f"{results.count('naive_simulations'):,}" in text


def test_the_report_lists_the_biggest_moves_each_way(tmp_path: Path) -> None:
    results = load_frontier(write_frontier_folder(tmp_path / "f", items=200))
    ups, downs = biggest_moves(results)
    assert 0 < len(ups) <= MOST_MOVES and 0 < len(downs) <= MOST_MOVES
    changes = [r["inventory_value_change"] for r in results.targets]
    assert ups[0]["inventory_value_change"] == max(changes)
    assert downs[0]["inventory_value_change"] == min(changes)
    assert all(a["inventory_value_change"] >= b["inventory_value_change"]
               for a, b in zip(ups, ups[1:], strict=False))


def test_the_workbook_has_every_item(folder: Path, report: dict) -> None:
    book = openpyxl.load_workbook(report["xlsx"])
    assert {"Summary", "Confirmed", "Targets", "By class", "Frontier", "Runs",
            "Assumptions", "Scenario"} <= set(book.sheetnames)
    results = load_frontier(folder)
    targets = book["Targets"]
    assert targets.max_row == len(results.targets) + 1
    assert sorted(targets.cell(r, 1).value for r in range(2, targets.max_row + 1)) == \
        sorted(r["sku"] for r in results.targets)
    header = [c.value for c in targets[1]]
    column = header.index("Target recommended") + 1
    assert targets.cell(2, column).number_format == "0.0%"
    confirmed = book["Confirmed"]
    best = next(r for r in range(2, confirmed.max_row + 1)
                if confirmed.cell(r, 3).value == "best")
    assert confirmed.cell(best, 1).fill.fgColor.rgb.endswith("FFE9A8")
    assert book["Frontier"].max_row == len(results.frontier) + 1
    assert targets.page_setup.orientation == "landscape"


def test_a_network_folder_shows_the_locations(tmp_path: Path) -> None:
    folder = write_frontier_folder(tmp_path / "f", items=24, locations=True)
    text = write_report(folder)["html"].read_text(encoding="utf-8")
    assert "<th>Location</th>" in text and "<td>north</td>" in text


def test_the_plot_and_report_commands_read_a_frontier_folder(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture
                                                             ) -> None:
    folder = write_frontier_folder(tmp_path / "f", items=12)
    assert main(["plot", str(folder), "--format", "png"]) == 0
    assert "2 chart files written" in capsys.readouterr().out
    assert main(["report", str(folder), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "report.html").is_file()


# ----------------------------------------------------------------------------- errors


def test_a_missing_summary_is_named(tmp_path: Path) -> None:
    folder = write_frontier_folder(tmp_path / "f", items=10)
    (folder / "frontier.json").unlink()
    with pytest.raises(PlotError, match=r"frontier\.json is missing.*status: complete"):
        plot_all(folder)
    with pytest.raises(ReportError, match=r"frontier\.json is missing"):
        write_report(folder)


@pytest.mark.parametrize(("broken", "message"), [
    ("{not json", r"frontier\.json is not valid JSON"),
    ('{"objective": "roi", "recommended": {}, "decision": "x"}',
     r"frontier\.json: 'today' is missing"),
    ('{"objective": "speed"}', r"'objective' is 'speed'; one of roi"),
])
def test_a_broken_summary_is_named(tmp_path: Path, broken: str, message: str) -> None:
    folder = write_frontier_folder(tmp_path / "f", items=10)
    (folder / "frontier.json").write_text(broken, encoding="utf-8")
    with pytest.raises(ReportError, match=message):
        write_report(folder)


def test_a_broken_figure_and_a_missing_column_are_named(tmp_path: Path) -> None:
    folder = write_frontier_folder(tmp_path / "f", items=10)
    document = json.loads((folder / "frontier.json").read_text(encoding="utf-8"))
    document["today"]["item_fill_rate"] = {"mean": "high"}
    (folder / "frontier.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(PlotError, match=r"'today\.item_fill_rate\.mean' is 'high'"):
        load_frontier(folder)
    folder = write_frontier_folder(tmp_path / "g", items=10)
    lines = (folder / "targets.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].replace("recommended_target", "target")
    (folder / "targets.csv").write_text("\n".join([header, *lines[1:]]) + "\n",
                                        encoding="utf-8")
    with pytest.raises(PlotError, match=r"targets\.csv lacks the column\(s\) "
                                        "recommended_target"):
        load_frontier(folder)


def test_sku_names_stay_names(tmp_path: Path) -> None:
    folder = write_frontier_folder(tmp_path / "f", items=10)
    lines = (folder / "targets.csv").read_text(encoding="utf-8").splitlines()
    lines[1] = "007" + lines[1][len("SKU0001"):]
    (folder / "targets.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert load_frontier(folder).targets[0]["sku"] == "007"
    assert math.isfinite(load_frontier(folder).today.fill.mean)


# ----------------------------------------------------------------------------- layout


@pytest.mark.parametrize(("items", "options"), [
    (12, {}), (400, {"budget": True}), (2000, {}), (30, {"by_class": True}),
    (40, {"locations": True})])
def test_no_text_overlaps_and_no_legend_on_data(tmp_path: Path, items: int,
                                                options: dict) -> None:
    results = load_frontier(write_frontier_folder(tmp_path / "f", items=items, **options))
    for chart in (frontier_chart, targets_chart):
        problems = layout_problems(chart(results))
        assert not problems, f"{chart.__name__}:\n" + "\n".join(problems)


def test_a_lean_summary_in_money_still_reports(tmp_path: Path) -> None:
    """Profit as the objective, no best common target, no confirmed runs, no distance to the
    frontier, one replication (null CI bounds): the report says what it knows."""
    folder = write_frontier_folder(tmp_path / "f", items=15)
    document = json.loads((folder / "frontier.json").read_text(encoding="utf-8"))
    document.update(objective="operating_profit", maximise="operating_profit",
                    best_common=None, confirmed=[], confirm_replications=1)
    del document["you_are_here"]
    for name, profit in (("today", 1.5e6), ("recommended", 1.62e6)):
        document[name]["operating_profit"] = {"mean": profit, "ci_low": None, "ci_high": None}
        document[name]["item_fill_rate"]["ci_low"] = None
    (folder / "frontier.json").write_text(json.dumps(document), encoding="utf-8")
    text = write_report(folder)["html"].read_text(encoding="utf-8")
    assert "<th>Operating profit (EUR)</th>" in text
    assert "1,620,000" in text and "n/a" in text
    assert "same fill rate" not in text and "one replication" in text
    figure = frontier_chart(load_frontier(folder))
    assert not [t for t in figure.axes[0].texts if t.get_gid() == "you-are-here"]
    assert "all at 95 %" not in _texts(figure)
