"""Chart 9, the heat map of the objective over two parameters (DOMAIN §7: where the stock
pays): which folders get it, that every cell and point shows its own alternative, the
markers (optimum, not-worse set, today), its layout, and the report and plot wiring."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.collections import LineCollection, PathCollection, QuadMesh

from servicesim.experiment.optimize import optimize
from servicesim.experiment.params import apply_params
from servicesim.experiment.sweep import sweep
from servicesim.outputs import plots
from servicesim.outputs.charts.common import figure_axis_label
from servicesim.outputs.charts.heatmap import heat_map_applies, heat_map_chart
from servicesim.outputs.report import write_report
from servicesim.outputs.results import PlotError
from sweep_helpers import BASE
from test_chart_layout import layout_problems

TARGETS = (0.8, 0.9, 0.95)
CUSTOMERS = (10, 20)


def _scenario() -> Any:
    return apply_params(BASE, {"run.horizon_days": 60, "run.warmup_days": 10,
                               "finance.currency": "EUR"})


@pytest.fixture(scope="module")
def grid_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sweep of 3 targets × 2 customer counts, with today's values."""
    out = tmp_path_factory.mktemp("grid")
    result = sweep(_scenario(), [f"policy.service_target={','.join(map(str, TARGETS))}",
                                 f"segments.s.customers={','.join(map(str, CUSTOMERS))}"],
                   replications=3, workers=1, out_dir=out)
    return result.directory


@pytest.fixture(scope="module")
def search_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("search")
    result = optimize(_scenario(), ["policy.service_target=0.8:0.95",
                                    "segments.s.customers=10:40"],
                      replications=2, max_replications=4, resolution=[0.05, 10], workers=1,
                      out_dir=out)
    return result.directory


@pytest.fixture(scope="module")
def one_key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("one")
    return sweep(_scenario(), ["policy.service_target=0.8,0.9"], replications=2, workers=1,
                 out_dir=out).directory


def test_only_folders_of_two_numeric_parameters_get_it(grid_dir: Path, search_dir: Path,
                                                       one_key_dir: Path) -> None:
    assert heat_map_applies(plots.load_results(grid_dir))
    assert heat_map_applies(plots.load_results(search_dir))
    one = plots.load_results(one_key_dir)
    assert not heat_map_applies(one)
    assert "09-heat-map" not in plots.charts_for(one)
    with pytest.raises(PlotError, match="exactly two swept or searched parameters"):
        heat_map_chart(one)


def test_a_parameter_with_one_value_or_no_number_gets_none(tmp_path: Path) -> None:
    flat = sweep(_scenario(), ["policy.service_target=0.8,0.9", "segments.s.customers=20"],
                 replications=1, workers=1, out_dir=tmp_path / "flat")
    assert not heat_map_applies(plots.load_results(flat.directory))
    words = sweep(_scenario(), ["policy.service_target=0.8,0.9",
                                "policy.service_metric=fill_rate,cycle_service_level"],
                  replications=1, workers=1, out_dir=tmp_path / "words")
    assert not heat_map_applies(plots.load_results(words.directory))


def _mesh(figure: Any) -> QuadMesh:
    (mesh,) = [c for c in figure.axes[0].collections if isinstance(c, QuadMesh)]
    return mesh


def test_every_cell_is_its_alternatives_mean_objective(grid_dir: Path) -> None:
    results = plots.load_results(grid_dir)
    figure = heat_map_chart(results)
    cells = np.ma.filled(_mesh(figure).get_array(), np.nan).reshape(len(CUSTOMERS),
                                                                     len(TARGETS))
    for a in results.alternatives:
        row = CUSTOMERS.index(a.params["segments.s.customers"])
        column = TARGETS.index(a.params["policy.service_target"])
        assert cells[row, column] == a.mean("roi")
    labels = {(round(t.xy[1]), round(t.xy[0])): t.get_text() for t in figure.axes[0].texts}
    assert len(labels) == len(results.alternatives)
    for (row, column), text in labels.items():  # each cell's value, in %, as rounded
        decimals = len(text.partition(".")[2])
        shown = float(text.replace(",", ""))
        assert abs(shown - 100 * cells[row, column]) <= 0.5 * 10.0 ** -decimals


def test_the_optimum_is_starred_and_the_axes_and_bar_are_in_words(grid_dir: Path) -> None:
    results = plots.load_results(grid_dir)
    figure = heat_map_chart(results)
    ax = figure.axes[0]
    (star,) = [line for line in ax.lines if line.get_label() == "optimum"]
    best = results.best_alternative
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (  # a grid's cells: value indices
        TARGETS.index(best.params["policy.service_target"]),
        CUSTOMERS.index(best.params["segments.s.customers"]))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["80 %", "90 %", "95 %"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["10", "20"]
    assert ax.get_xlabel() == "Service target (%)"
    assert ax.get_ylabel() == "Customers of s"
    assert figure.axes[1].get_ylabel() == figure_axis_label("roi", "EUR") == "Annualised ROI (%)"
    assert "Optimum at service target" in figure.texts[1].get_text()


def test_the_not_worse_cells_are_outlined(grid_dir: Path) -> None:
    results = plots.load_results(grid_dir)
    ax = heat_map_chart(results).axes[0]
    outlines = [c for c in ax.collections if isinstance(c, LineCollection)
                and not isinstance(c, QuadMesh)]
    if len(results.not_worse) < 2:
        assert not outlines
        return
    (outline,) = outlines
    x_edges = np.arange(len(TARGETS) + 1) - 0.5
    y_edges = np.arange(len(CUSTOMERS) + 1) - 0.5
    inside = set()
    for a in results.alternatives:
        if a.id in results.not_worse:
            inside.add((CUSTOMERS.index(a.params["segments.s.customers"]),
                        TARGETS.index(a.params["policy.service_target"])))
    # every segment of the outline is a side between a chosen cell and one that is not
    for segment in outline.get_segments():
        (x0, y0), (x1, y1) = segment
        if y0 == y1:  # a horizontal side: the cells below and above it
            j = int(np.searchsorted(x_edges, (x0 + x1) / 2)) - 1
            i = int(np.searchsorted(y_edges, y0))
            assert ((i - 1, j) in inside) != ((i, j) in inside)
        else:
            i = int(np.searchsorted(y_edges, (y0 + y1) / 2)) - 1
            j = int(np.searchsorted(x_edges, x0))
            assert ((i, j - 1) in inside) != ((i, j) in inside)


def test_today_is_marked_where_the_scenario_sits(grid_dir: Path, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "today"
    shutil.copytree(grid_dir, folder)
    document = json.loads((folder / "today.json").read_text(encoding="utf-8"))
    document["params"] = {"policy.service_target": 0.85, "segments.s.customers": 20}
    (folder / "today.json").write_text(json.dumps(document), encoding="utf-8")
    figure = heat_map_chart(plots.load_results(folder))
    (today,) = [line for line in figure.axes[0].lines if line.get_label() == "today"]
    assert (today.get_xdata()[0], today.get_ydata()[0]) == pytest.approx((0.5, 1))  # 80-90 %
    assert "Diamond: today" in figure.texts[-1].get_text()
    for unknown in (None, 0.99):  # no value, or off the grid
        document["params"] = {"policy.service_target": unknown, "segments.s.customers": 20}
        (folder / "today.json").write_text(json.dumps(document), encoding="utf-8")
        figure = heat_map_chart(plots.load_results(folder))
        assert not [line for line in figure.axes[0].lines if line.get_label() == "today"]


def test_a_search_shows_its_points_sized_by_replications(search_dir: Path) -> None:
    results = plots.load_results(search_dir)
    figure = heat_map_chart(results)
    ax = figure.axes[0]
    (dots,) = [c for c in ax.collections if isinstance(c, PathCollection)
               and len(c.get_offsets()) == len(results.alternatives)
               and c.get_array() is not None]
    by_point = {(float(x), float(y)): (float(colour), float(size)) for (x, y), colour, size
                in zip(dots.get_offsets(), dots.get_array(), dots.get_sizes(), strict=True)}
    for a in results.alternatives:
        colour, _ = by_point[(a.params["policy.service_target"],
                              a.params["segments.s.customers"])]
        assert colour == a.mean("roi")
    pairs = sorted((a.figures["roi"]["n"], by_point[(a.params["policy.service_target"],
                    a.params["segments.s.customers"])][1]) for a in results.alternatives)
    assert all(s1 <= s2 for (_, s1), (_, s2) in zip(pairs, pairs[1:], strict=False))
    assert "Each point is one the optimiser evaluated" in figure.texts[-1].get_text()


@pytest.mark.parametrize("folder", ["grid_dir", "search_dir"])
def test_layout(folder: str, request: pytest.FixtureRequest) -> None:
    figure = heat_map_chart(plots.load_results(request.getfixturevalue(folder)))
    problems = layout_problems(figure)
    assert not problems, "\n".join(problems)


@pytest.fixture
def two_charts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only charts 1 and 9, so that drawing at 300 dpi stays quick."""
    import servicesim.outputs.charts as charts

    monkeypatch.setattr(charts, "CHARTS", {stem: charts.CHARTS[stem]
                                           for stem in ("01-objective", "09-heat-map")})


@pytest.mark.usefixtures("two_charts")
def test_plot_and_report_draw_it_only_where_it_applies(grid_dir: Path, one_key_dir: Path,
                                                       tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "chart skipped" warning for a one-key folder
        one = plots.plot_all(one_key_dir, formats=["png"])
    assert [p.name for p in one] == ["01-objective.png"]
    two = plots.plot_all(grid_dir, formats=["png"])
    assert [p.name for p in two] == ["01-objective.png", "09-heat-map.png"]
    html = write_report(grid_dir)["html"].read_text(encoding="utf-8")
    assert 'alt="09-heat-map"' in html
    assert "Chart 9: the objective over the two swept or searched parameters" in html
    # a one-key folder's charts are complete without a heat map: the report reuses them
    stamps = {p: p.stat().st_mtime_ns for p in (one_key_dir / "charts").iterdir()}
    html = write_report(one_key_dir)["html"].read_text(encoding="utf-8")
    assert {p: p.stat().st_mtime_ns for p in (one_key_dir / "charts").iterdir()} == stamps
    assert 'alt="01-objective"' in html and "09-heat-map" not in html
