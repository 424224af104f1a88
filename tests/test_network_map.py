"""Chart 10, the network diagram (DOMAIN §7): legible from 2 to 21 locations and 3 levels
(no text on another, everything on the page, upstream left of downstream), built from a
results folder's ``<location>.<figure>`` columns with annual figures, drawn by ``plot_all``
for network results only, and shown in the report under "The network"."""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path
from typing import Any

import pytest
from matplotlib.patches import FancyBboxPatch

from servicesim.experiment.sweep import sweep
from servicesim.inputs.scenario_file import load_scenario
from servicesim.outputs import charts, html, plots, report
from servicesim.outputs.charts.common import house_style
from servicesim.outputs.charts.network_map import (
    FIGURES,
    NETWORK_STEM,
    NetworkMap,
    NetworkNode,
    network_figure,
    network_map,
    network_sentence,
)
from servicesim.outputs.report import write_report
from servicesim.outputs.results import PlotError, load_results
from sweep_helpers import BASE
from test_chart_layout import layout_problems

NETWORK = """\
name: tiny-network
run: {horizon_days: 120, warmup_days: 20, replications: 2, seed: 5}
policy: {type: base_stock, service_target: 0.9}
skus:
  a: {unit_cost: 10, price: 15}
  b: {unit_cost: 50, price: 70}
segments:
  town:
    customers: 30
    order_interval_days: {type: exponential, mean: 3}
    reactions: {backorder: 0.5, switch: 0.5}
    location: north
  village:
    customers: 10
    order_interval_days: {type: exponential, mean: 6}
    reactions: {backorder: 1.0}
    sku_weights: {a: 1}
    location: south
supplier: {lead_time_days: 5}
locations:
  dc: {}
  north:
    replenished_from: dc
    lane: {transit_days: 1, cost_per_shipment: 20}
  south:
    replenished_from: dc
    skus: [a]
    lane: {transit_days: 2}
finance: {currency: EUR}
"""
WINDOW = 100  # horizon − warm-up of NETWORK


def _node(name: str, upstream: str | None, segments: tuple[str, ...] = (),
          size: float = 1.0) -> NetworkNode:
    serving = bool(segments)
    return NetworkNode(name, upstream, 48_211 * size if serving else 0.0, 52_000 * size,
                       0.971 if serving else math.nan, math.nan if serving else 0.962,
                       168_000 * size, segments)


def synthetic(count: int) -> NetworkMap:
    """A network of ``count`` locations: a DC and branches, or (21) DC → 4 regional → 16
    stores, one regional serving walk-in customers, stores with one or two segments."""
    nodes = [_node("dc", None)]
    if count == 21:
        for r in range(4):
            nodes.append(_node(f"regional_{r}", "dc", ("walk_in",) if r == 0 else ()))
            for s in range(4):
                segs = (f"retail_{r}{s}", f"trade_{r}{s}") if s % 2 else (f"retail_{r}{s}",)
                nodes.append(_node(f"store_{r}_{s}", f"regional_{r}", segs, 0.2))
    else:
        nodes += [_node(f"branch_{i}", "dc", (f"customers_{i}", "key_accounts")[:1 + i % 2],
                        1 + i) for i in range(count - 1)]
    assert len(nodes) == count
    return NetworkMap(tuple(nodes), f"synthetic: {count} locations", "EUR",
                      caption="Arrows: units a year on each lane. " * 6)


def _boxes(figure: Any) -> list[Any]:
    ax = figure.axes[0]
    return [p.get_window_extent() for p in ax.patches if isinstance(p, FancyBboxPatch)]


@pytest.mark.parametrize("count", [2, 5, 21])
def test_the_diagram_is_legible_from_2_to_21_locations(count: int, tmp_path: Path) -> None:
    network = synthetic(count)
    figure = network_figure(network)
    problems = layout_problems(figure)
    assert not problems, "\n".join(problems)
    boxes = _boxes(figure)
    assert len(boxes) == count + 1  # the supplier too
    for i, box in enumerate(boxes):
        for other in boxes[i + 1:]:
            assert not box.overlaps(other)
    texts = [t.get_text() for t in figure.axes[0].texts]
    lanes = [t for t in texts if t.endswith("units/yr")]
    assert len(lanes) == count  # one label per lane, the supplier's included
    for node in network.nodes:
        assert node.name in texts
        for segment in node.segments:
            assert any(segment in t for t in texts)
    with house_style():
        figure.savefig(tmp_path / f"network-{count}.png", dpi=60)


def test_upstream_sits_left_of_downstream_and_levels_align() -> None:
    network = synthetic(21)
    figure = network_figure(network)
    ax = figure.axes[0]
    left = {t.get_text(): t.get_window_extent().x0 for t in ax.texts}
    assert left["Supplier"] < left["dc"] < left["regional_0"] < left["store_0_0"]
    assert left["regional_0"] == left["regional_3"] and left["store_0_0"] == left["store_3_3"]
    tops = [t.get_window_extent().y0 for t in ax.texts if t.get_text().startswith("store_")]
    assert len(set(round(y, 3) for y in tops)) == 16  # every store on a row of its own


def test_box_figures_and_the_sentence() -> None:
    network = synthetic(5)
    figure = network_figure(network)
    texts = " ".join(t.get_text() for t in figure.axes[0].texts)
    assert "internal fill rate 96.2 %" in texts  # the DC serves no customers
    assert "96,422 units/yr delivered" in texts and "fill rate 97.1 %" in texts
    assert "inventory 168 k EUR" in texts and "inventory 336 k EUR" in texts
    widths = sorted(a.arrow_patch.get_linewidth() for a in figure.axes[0].texts
                    if getattr(a, "arrow_patch", None) is not None)
    received = sorted(n.units_received_per_year for n in network.nodes)  # one lane each
    largest = received[-1]
    assert widths == pytest.approx([1.2 + 5.0 * r / largest for r in received])  # thicker: more
    sentence = network_sentence(network)
    delivered = sum(n.units_delivered_per_year for n in network.nodes if n.segments)
    assert f"the 4 locations serving customers deliver {delivered:,.0f} units a year" \
        in sentence
    assert "fill rate of 97.1 %" in sentence
    assert "sits at branch_3" in sentence and "(672 k EUR of 1.85 M EUR)" in sentence


def test_no_location_is_a_clear_error() -> None:
    with pytest.raises(PlotError, match="at least one location"):
        network_figure(NetworkMap(()))


# ------------------------------------------------------------------------- from a folder


@pytest.fixture(scope="module")
def network_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-alternative sweep of a tiny network whose runs.csv carries per-location
    columns ``<location>.<figure>``: value = 1000 × (location number + 1) + replication for
    counts, fill rates 0.9 + replication / 100 (NaN at the DC), inventory 100 × that."""
    folder = tmp_path_factory.mktemp("network")
    (folder / "network.yaml").write_text(NETWORK, encoding="utf-8")
    scenario = load_scenario(str(folder / "network.yaml"))
    result = sweep(scenario, ["locations.dc.policy.service_target=0.7,0.95"], replications=2,
                   workers=1, out_dir=folder / "results")
    runs = result.directory / "runs.csv"
    with runs.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = list(rows[0])
    for number, location in enumerate(("dc", "north", "south")):
        for figure in FIGURES:
            columns.append(f"{location}.{figure}")
            for row in rows:
                rep = int(row["replication"])
                count = 1000.0 * (number + 1) + rep
                value = {"units_delivered": 0.0 if location == "dc" else count,
                         "units_received": count,
                         "fill_rate": math.nan if location == "dc" else 0.9 + rep / 100,
                         "internal_fill_rate": 0.8 + rep / 100 if location == "dc"
                         else math.nan,
                         "avg_inventory_value": 100 * count}[figure]
                row[f"{location}.{figure}"] = "nan" if math.isnan(value) else repr(value)
    with runs.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return result.directory


def test_network_map_reads_the_best_alternative_annualised(network_dir: Path) -> None:
    results = load_results(network_dir)
    network = network_map(results)
    per_year = 365.0 / WINDOW
    nodes = {n.name: n for n in network.nodes}
    assert [n.name for n in network.nodes] == ["dc", "north", "south"]
    assert nodes["dc"].upstream is None and nodes["south"].upstream == "dc"
    assert nodes["north"].segments == ("town",) and nodes["dc"].segments == ()
    # the mean of replications 0 and 1, annualised
    assert nodes["north"].units_delivered_per_year == pytest.approx(2000.5 * per_year)
    assert nodes["south"].units_received_per_year == pytest.approx(3000.5 * per_year)
    assert nodes["north"].fill_rate == pytest.approx(0.905)
    assert nodes["dc"].internal_fill_rate == pytest.approx(0.805)
    assert math.isnan(nodes["dc"].fill_rate)
    assert nodes["dc"].avg_inventory_value == pytest.approx(100_050.0)  # not annualised
    assert network.currency == "EUR" and f"#{results.best}" in network.title
    assert "the 100 days after the warm-up; units per year" in network.caption


@pytest.fixture()
def one_chart(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Charts 1 to 7 cut to chart 1, so that plot_all and the report draw fast."""
    first = dict(list(plots.CHARTS.items())[:1])
    monkeypatch.setattr(charts, "CHARTS", first)
    monkeypatch.setattr(report, "CHARTS", first)
    monkeypatch.setattr(html, "EMBED_WIDTH", 10**6)  # embedded as drawn
    return first


def test_plot_all_draws_the_network_for_network_results_only(
        network_dir: Path, tmp_path: Path, one_chart: dict[str, Any]) -> None:
    written = plots.plot_all(network_dir, out_dir=tmp_path / "network")
    assert {p.name for p in written} == {f"{stem}.{fmt}" for fmt in ("png", "svg")
                                         for stem in (*one_chart, NETWORK_STEM)}
    single_dir = sweep(BASE, ["policy.service_target=0.8,0.9"], replications=2, workers=1,
                       out_dir=tmp_path / "single-results").directory
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a single stock point: no chart 10, no warning
        single = plots.plot_all(single_dir, out_dir=tmp_path / "single", formats=("png",))
    assert [p.stem for p in single] == list(one_chart)


def test_a_folder_without_location_columns_says_so(network_dir: Path, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "older"
    shutil.copytree(network_dir, folder)
    runs = folder / "runs.csv"
    with runs.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    kept = [c for c in rows[0] if "." not in c]
    with runs.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=kept, extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(PlotError, match="no per-location columns .*dc.units_delivered"):
        network_map(load_results(folder))


def test_the_report_has_a_network_section(network_dir: Path, tmp_path: Path,
                                          one_chart: dict[str, Any]) -> None:
    text = write_report(network_dir, tmp_path)["html"].read_text(encoding="utf-8")
    section = text[text.index("<h2>The network</h2>"):]
    section = section[:section.index("</section>")]
    assert "At the recommended alternative (#" in section
    assert "the 2 locations serving customers deliver" in section
    assert section.count('src="data:image/png;base64,') == 1
    shown = text[text.index("<h2>Charts</h2>"):]
    assert shown.count('src="data:image/png;base64,') == len(one_chart)
