"""Every chart is legible whatever the number of alternatives: for results of 3, 21 and 60
alternatives (and compare's chart), no two text elements overlap (titles, axis labels, tick
labels, annotations, legends, the caption), every text lies inside the page, and no legend
covers a data point, line, bar or band.  matplotlib gives every artist's extent on the
canvas once the figure is drawn; that is what is checked."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from matplotlib.collections import Collection
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from servicesim.experiment.params import apply_params
from servicesim.experiment.sweep import sweep
from servicesim.outputs import plots
from servicesim.outputs.charts.common import BACKGROUND, house_style
from sweep_helpers import BASE

SIZES = (3, 21, 60)
SLACK = 1.0  # pixels two boxes may share (antialiased edges touch)


def _scenario() -> Any:
    return apply_params(BASE, {"run.horizon_days": 60, "run.warmup_days": 10,
                               "finance.currency": "EUR"})


def _targets(count: int) -> str:
    low, high = 0.80, 0.995
    return ",".join(f"{low + (high - low) * i / (count - 1):.4f}" for i in range(count))


@pytest.fixture(scope="session")
def result_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Results of 3, 21 and 60 alternatives of a tiny scenario (2 replications, 60 days);
    the 21 carry a today.json in the shape the sweep writes."""
    out = tmp_path_factory.mktemp("layout")
    folders = {}
    for count in SIZES:
        result = sweep(_scenario(), [f"policy.service_target={_targets(count)}"],
                       replications=2, workers=1, out_dir=out / str(count))
        folders[count] = result.directory
    write_today(folders[21], 0.9)
    return folders


def write_today(folder: Path, target: float) -> None:
    """A today.json for ``folder``: today's figures are those of the alternative closest to
    ``target``; the best minus today is taken from the summary means."""
    results = plots.load_results(folder)
    today = min(results.alternatives,
                key=lambda a: abs(a.params["policy.service_target"] - target))
    best = results.best_alternative
    figures = {k: {s: v for s, v in f.items()} for k, f in today.figures.items()}
    gain = {k: {"mean": best.mean(k) - today.mean(k), "ci_low": best.mean(k) - today.mean(k)
                - 0.01, "ci_high": best.mean(k) - today.mean(k) + 0.01, "n": 2,
                "p_value": 0.04} for k in ("roi", "operating_profit", "item_fill_rate")}
    document = {"params": {"policy.service_target": today.params["policy.service_target"]},
                "figures": figures, "best": best.params, "best_minus_today": gain,
                "objective": "roi"}
    (folder / "today.json").write_text(json.dumps(document), encoding="utf-8")


# ----------------------------------------------------------------------------- the checks


def _visible(artist: Any) -> bool:
    while artist is not None:
        if not artist.get_visible():
            return False
        artist = getattr(artist, "axes", None) if artist is not getattr(
            artist, "axes", None) else None
    return True


def _tick_labels(ax: Any) -> Iterator[Text]:
    for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        low, high = min(low, high), max(low, high)
        pad = 1e-9 * (abs(high - low) or 1.0)
        for tick in axis.get_major_ticks():
            if low - pad <= tick.get_loc() <= high + pad:
                for label in (tick.label1, tick.label2):
                    if label.get_visible():
                        yield label


def text_boxes(figure: Any) -> list[tuple[str, Bbox]]:
    """(what, window extent) of every visible, non-empty text of the drawn figure; a legend
    counts as one box."""
    renderer = figure.canvas.get_renderer()
    texts: list[Text] = [t for t in figure.texts]
    boxes: list[tuple[str, Bbox]] = []
    for ax in figure.axes:
        if not ax.get_visible() or not ax.axison:
            texts += [t for t in ax.texts]
        else:
            texts += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label,
                      ax.yaxis.label, *ax.texts, *_tick_labels(ax)]
        for legend in [ax.get_legend(), *[c for c in ax.get_children()
                                          if isinstance(c, Legend)]]:
            if legend is not None and legend.get_visible():
                boxes.append((f"legend {[t.get_text() for t in legend.get_texts()][:2]}",
                              legend.get_window_extent(renderer)))
    boxes += [(f"{type(t).__name__} {t.get_text()!r}", t.get_window_extent(renderer))
              for t in texts if t.get_visible() and t.get_text().strip()]
    unique: dict[int, tuple[str, Bbox]] = {}
    for name, box in boxes:
        unique.setdefault(hash((name, tuple(box.bounds))), (name, box))
    return list(unique.values())


def _overlap(a: Bbox, b: Bbox) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > SLACK
            and min(a.y1, b.y1) - max(a.y0, b.y0) > SLACK)


def text_overlaps(figure: Any) -> list[str]:
    boxes = text_boxes(figure)
    found = []
    for i, (name, box) in enumerate(boxes):
        for other, other_box in boxes[i + 1:]:
            if _overlap(box, other_box):
                found.append(f"{name} overlaps {other}")
    return found


def outside_page(figure: Any) -> list[str]:
    page = figure.bbox
    return [f"{name} leaves the page ({box.bounds} vs {page.bounds})"
            for name, box in text_boxes(figure)
            if box.x0 < page.x0 - SLACK or box.x1 > page.x1 + SLACK
            or box.y0 < page.y0 - SLACK or box.y1 > page.y1 + SLACK]


def _data_paths(ax: Any) -> Iterator[tuple[str, Any, bool]]:
    """(what, path in display coordinates, filled) of every data artist of ``ax``."""
    for artist in ax.get_children():
        if artist.get_gid() == BACKGROUND or not artist.get_visible():
            continue
        if isinstance(artist, Line2D) and len(artist.get_xdata()):
            path = artist.get_transform().transform_path(artist.get_path())
            yield f"line {artist.get_label()!r}", path, False
        elif isinstance(artist, Collection) and not isinstance(artist, Legend):
            transform = artist.get_transform()
            for path in artist.get_paths():
                if len(path.vertices):
                    yield f"{type(artist).__name__} {artist.get_label()!r}", \
                        transform.transform_path(path), True
            offsets = artist.get_offsets()
            if len(offsets) and artist.get_offset_transform() is not None:
                for point in artist.get_offset_transform().transform(offsets):
                    if all(math.isfinite(v) for v in point):
                        yield "marker", _point_path(point), True
        elif isinstance(artist, Patch) and artist is not ax.patch and artist.get_label() != "":
            if artist in ax.spines.values():
                continue
            path = artist.get_transform().transform_path(artist.get_path())
            yield f"patch {artist.get_label()!r}", path, True


def _point_path(point: Any) -> Any:
    from matplotlib.path import Path as MplPath

    x, y = point
    return MplPath([(x - 2, y - 2), (x + 2, y - 2), (x + 2, y + 2), (x - 2, y + 2),
                    (x - 2, y - 2)], closed=True)


def legend_on_data(figure: Any) -> list[str]:
    renderer = figure.canvas.get_renderer()
    found = []
    for ax in figure.axes:
        legend = ax.get_legend()
        if legend is None or not legend.get_visible():
            continue
        box = legend.get_window_extent(renderer)
        for other in figure.axes:
            area = Bbox.intersection(box, other.bbox)  # data is clipped to its axes
            if area is None or area.width <= SLACK or area.height <= SLACK:
                continue
            for name, path, filled in _data_paths(other):
                finite = path.vertices[~(~(path.vertices == path.vertices)).any(axis=1)]
                if not len(finite):
                    continue
                if path.intersects_bbox(area, filled=filled):
                    found.append(f"the legend of {ax.get_ylabel()!r} covers {name}")
    return found


def layout_problems(figure: Any) -> list[str]:
    with house_style():
        figure.canvas.draw()
    return text_overlaps(figure) + outside_page(figure) + legend_on_data(figure)


# ----------------------------------------------------------------------------- the tests


TWO_KEY_GRIDS = {3: (2, 2), 21: (3, 7), 60: (6, 10)}
"""For a chart of two parameters (the heat map): a grid of about the same size."""


@pytest.fixture(scope="session")
def two_key_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Sweeps of two parameters (target × customers), the 21 with today's values."""
    out = tmp_path_factory.mktemp("layout2")
    folders = {}
    for count, (targets, customers) in TWO_KEY_GRIDS.items():
        result = sweep(_scenario(), [f"policy.service_target={_targets(targets)}",
                                     f"segments.s.customers=10:{10 * customers}:10"],
                       replications=2, workers=1, out_dir=out / str(count))
        folders[count] = result.directory
    results = plots.load_results(folders[21])
    today = results.alternatives[len(results.alternatives) // 2]
    document = {"params": today.params, "figures": today.figures, "best": {},
                "best_minus_today": {}, "objective": "roi"}
    (folders[21] / "today.json").write_text(json.dumps(document), encoding="utf-8")
    return folders


@pytest.mark.parametrize("count", SIZES)
@pytest.mark.parametrize("name", list(plots.CHARTS))
def test_no_text_overlaps_and_no_legend_on_data(result_dirs: dict[int, Path],
                                                two_key_dirs: dict[int, Path], count: int,
                                                name: str) -> None:
    results = plots.load_results(result_dirs[count])
    if name not in plots.charts_for(results):  # a chart of two parameters
        results = plots.load_results(two_key_dirs[count])
        assert name in plots.charts_for(results)
    figure = plots.CHARTS[name](results)
    problems = layout_problems(figure)
    assert not problems, "\n".join(problems)


def test_compare_chart_layout(tmp_path: Path) -> None:
    from servicesim.experiment.compare import compare
    from servicesim.outputs.compare_chart import compare_figure
    from servicesim.outputs.results import load_comparison

    scenario = _scenario()
    more = apply_params(scenario, {"policy.service_target": 0.97})
    less = apply_params(scenario, {"policy.service_target": 0.85})
    result = compare([scenario, more, less], ["today", "a higher target", "a lower target"],
                     replications=2, workers=1, out_dir=tmp_path)
    # as run, and as read back from its folder (servicesim plot on a compare folder)
    for comparison in (result, load_comparison(result.directory)):
        figure = compare_figure(comparison)
        problems = layout_problems(figure)
        assert not problems, "\n".join(problems)
        labels = [ax.get_xlabel() for ax in figure.axes]
        assert "Δ, EUR" in labels and not [label for label in labels if "money" in label]


def test_compare_ticks_never_use_scientific_notation() -> None:
    from servicesim.outputs.compare_chart import _tick_formatter

    for unit in ("units", "customers", "days", "money", "fraction"):
        show = _tick_formatter(unit)
        for value in (-1500.0, -1000.0, 250.0, 1000.0, 12_500.0, 2.5e6):
            text = show(value, 0)
            assert "e+" not in text and "e-" not in text, (unit, value, text)
    assert _tick_formatter("units")(-1000.0, 0) == "-1,000"


def test_the_checks_can_fail() -> None:
    """A legend on the data and two texts on one spot are found."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure()
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    ax.plot([0, 1], [0, 1], marker="o", label="data")
    ax.legend(loc="center")
    ax.text(0.5, 0.9, "one")
    ax.text(0.5, 0.9, "two")
    problems = layout_problems(figure)
    assert any("covers" in p for p in problems)
    assert any("'one' overlaps" in p for p in problems)


def test_one_replication_draws_every_chart_without_bands(result_dirs: dict[int, Path],
                                                         tmp_path: Path) -> None:
    """With one replication the intervals are unknown (NaN): no band, no error bar, no
    error."""
    import shutil
    import warnings

    folder = tmp_path / "one"
    shutil.copytree(result_dirs[3], folder)
    (folder / "summary.csv").unlink()
    runs = folder / "runs.csv"
    with runs.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with runs.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r["replication"] == "0")
    results = plots.load_results(folder)
    assert math.isnan(results.alternatives[0].interval("roi")[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure = plots.objective_chart(results)
        for stem in plots.charts_for(results):
            plots.CHARTS[stem](results)
    from matplotlib.collections import PolyCollection

    bands = [c for c in figure.axes[0].collections if isinstance(c, PolyCollection)
             and c.get_gid() != BACKGROUND]
    assert not bands
    caption = figure.texts[-1].get_text().replace("\n", " ")
    assert "One replication per alternative" in caption and "Shaded" not in caption
    assert "no CI" in figure.texts[1].get_text()
