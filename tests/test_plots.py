"""Charts of a tiny sweep: content of each chart, files written, the plot command."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.collections as mcoll
import pytest

from servicesim.cli import main
from servicesim.experiment.params import apply_params
from servicesim.experiment.sweep import sweep
from servicesim.inputs.scenario_file import load_scenario
from servicesim.outputs import plots

ROOT = Path(__file__).resolve().parents[1]
TARGETS = (0.8, 0.9, 0.97)


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scenario = apply_params(load_scenario(str(ROOT / "scenarios" / "baseline.yaml")),
                            {"run.horizon_days": 120, "run.warmup_days": 20})
    result = sweep(scenario, ["policy.service_target=" + ",".join(map(str, TARGETS))],
                   replications=3, workers=1, out_dir=tmp_path_factory.mktemp("sweep"))
    return result.directory


@pytest.fixture(scope="module")
def results(sweep_dir: Path) -> plots.Results:
    return plots.load_results(sweep_dir)


def _title(ax) -> str:
    """The chart's title: the first text of its figure (the header band)."""
    return ax.figure.texts[0].get_text()


def _texts(figure) -> str:
    parts = [t.get_text() for t in figure.texts]
    for ax in figure.axes:
        parts += [_title(ax), ax.get_xlabel(), ax.get_ylabel()]
        parts += [t.get_text() for t in ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            parts += [t.get_text() for t in legend.get_texts()]
    return "\n".join(parts)


def test_load_results_of_a_sweep(results: plots.Results) -> None:
    assert results.kind == "sweep"
    assert results.scenario_name == "baseline"
    assert results.keys == ["policy.service_target"]
    assert results.objective == "roi"
    assert [a.params["policy.service_target"] for a in results.alternatives] == list(TARGETS)
    best = max(results.alternatives, key=lambda a: a.mean("roi"))
    assert results.best == best.id
    assert results.best in results.not_worse
    for a in results.alternatives:
        mean, low, high = a.interval("item_fill_rate")
        assert 0 <= low <= mean <= high <= 1


def test_objective_chart(results: plots.Results) -> None:
    figure = plots.objective_chart(results)
    ax = figure.axes[0]
    bands = [c for c in ax.collections if isinstance(c, mcoll.PolyCollection)]
    assert bands, "no confidence band (fill_between)"
    best_x = results.best_alternative.params["policy.service_target"]
    stars = [line for line in ax.get_lines() if line.get_marker() == "*"]
    assert stars and stars[0].get_xdata()[0] == pytest.approx(best_x)
    assert "%" in ax.get_ylabel() and "%" in figure.axes[-1].get_xlabel()
    assert "baseline" in _title(ax)
    assert "Optimum" in _texts(figure)
    achieved = figure.axes[1]  # the achieved fill rate beneath, one point per alternative
    assert "β" in achieved.get_ylabel()
    points = [line for line in achieved.get_lines() if len(line.get_xdata()) == len(TARGETS)]
    assert points and list(points[0].get_xdata()) == pytest.approx(list(TARGETS))
    # the sweep simulated today (the baseline's own 95 % target): one marker there
    today = json.loads((results.directory / "today.json").read_text(encoding="utf-8"))
    (mark,) = [line for line in ax.get_lines() if line.get_marker() == "D"]
    assert mark.get_xdata()[0] == pytest.approx(today["params"]["policy.service_target"])
    assert mark.get_ydata()[0] == pytest.approx(today["figures"]["roi"]["mean"])


def test_without_today_json_nothing_is_marked(sweep_dir: Path, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "older"
    shutil.copytree(sweep_dir, folder)
    for name in ("today.json", "today.csv"):
        (folder / name).unlink()
    for chart in (plots.objective_chart, plots.tradeoff_chart):
        figure = chart(plots.load_results(folder))
        assert not [line for axes in figure.axes for line in axes.get_lines()
                    if line.get_marker() == "D"]


def test_today_is_marked_and_its_gain_stated(sweep_dir: Path, tmp_path: Path) -> None:
    """With a today.json (the shape the sweep writes), charts 1 and 3 mark today's point at
    today's target and figures, and chart 1's caption gives the best minus today."""
    import shutil

    folder = tmp_path / "today"
    shutil.copytree(sweep_dir, folder)
    today = plots.load_results(folder).alternatives[1]
    gain = {"roi": {"mean": 0.031, "ci_low": 0.012, "ci_high": 0.05, "n": 3,
                    "p_value": 0.01}}
    (folder / "today.json").write_text(json.dumps({
        "params": {"policy.service_target": 0.9}, "figures": today.figures,
        "best": {"policy.service_target": 0.97}, "best_minus_today": gain,
        "objective": "roi"}), encoding="utf-8")
    results = plots.load_results(folder)
    figure = plots.objective_chart(results)
    marks = [line for line in figure.axes[0].get_lines() if line.get_marker() == "D"]
    assert len(marks) == 1
    assert marks[0].get_xdata()[0] == pytest.approx(0.9)
    assert marks[0].get_ydata()[0] == pytest.approx(today.mean("roi"))
    assert "Best minus today: annualised ROI +3.1 points (95 % CI +1.2 to +5.0 points)" \
        in _texts(figure).replace("\n", " ").replace("\u00a0", " ")
    figure = plots.tradeoff_chart(results)
    profit = [line for line in figure.axes[1].get_lines() if line.get_marker() == "D"]
    assert profit and profit[0].get_ydata()[0] == pytest.approx(today.mean("operating_profit"))


def test_tick_labels_are_exact_and_labels_plain() -> None:
    from servicesim.outputs.charts.common import exact_formatter, param_label

    money = exact_formatter("money")
    assert money.format_ticks([1e6, 1.25e6, 1.5e6, 1.75e6, 2e6]) == [
        "1.00 M", "1.25 M", "1.50 M", "1.75 M", "2.00 M"]
    assert money.format_ticks([0, 50e3, 100e3]) == ["0", "50 k", "100 k"]
    percent = exact_formatter("percent")
    assert percent.format_ticks([0.95, 0.975, 1.0]) == ["95.0 %", "97.5 %", "100.0 %"]
    assert param_label("policy.service_target", [0.9]) == "Service target (%)"
    assert param_label("supplier.lead_time_days.mean", [3]) == "Lead time mean (days)"
    assert param_label("skus.BOLT.order_quantity", [40]) == "Order quantity of BOLT"


ONE_KEY = [stem for stem in plots.CHARTS if stem not in plots.ONLY_WHEN]
"""The charts of a folder of one swept parameter (the heat map needs two:
tests/test_heatmap.py)."""


@pytest.mark.parametrize("name", ONE_KEY)
def test_every_chart_names_the_scenario_and_labels_units(results: plots.Results,
                                                         name: str) -> None:
    figure = plots.CHARTS[name](results)
    ax = figure.axes[0]
    assert "baseline" in _title(ax)
    lowest = figure.axes[-1]
    for label in (lowest.get_xlabel(), ax.get_ylabel()):
        assert any(u in label for u in ("%", "days", "EUR")), label
        assert "(money)" not in label and "policy." not in label
    assert ax.get_lines() or ax.patches or ax.collections


def test_cost_breakdown_stacks_five_kinds(results: plots.Results) -> None:
    figure = plots.cost_breakdown_chart(results)
    labels = " ".join(_texts(figure).split())  # a long legend entry wraps onto two lines
    for kind in ("Holding", "Ordering", "Transport", "Backorder", "Lost margin"):
        assert kind in labels
    assert "Value of customers lost" in labels and "not in the cost total" in labels
    # five stacked kinds and, beside them, the value of the customers lost
    assert len(figure.axes[0].patches) == 6 * len(results.alternatives)


def test_tradeoff_and_service_charts(results: plots.Results) -> None:
    text = _texts(plots.tradeoff_chart(results))
    assert "Revenue" in text and "Total cost" in text and "Operating profit" in text
    figure = plots.service_chart(results)
    line = figure.axes[0].get_lines()[0]
    x, y = line.get_xdata(), line.get_ydata()
    assert list(x) == pytest.approx(list(y))  # the 45° line
    assert "achieved = target" in _texts(figure)


def test_cycle_time_chart_shows_ecdf_and_promises(results: plots.Results) -> None:
    figure = plots.cycle_time_chart(results)
    ax = figure.axes[0]
    steps = [line for line in ax.get_lines() if len(line.get_xdata()) > 10]
    assert 1 <= len(steps) <= 3
    for line in steps:
        assert line.get_ydata()[-1] == pytest.approx(1.0)
    promises = {s.promised_cycle_time_days for s in results.scenario().segments.values()}
    for days in promises:
        assert f"promise {days:g} d" in _texts(figure)


def test_unmet_demand_chart_splits_by_reaction(results: plots.Results) -> None:
    text = _texts(plots.unmet_demand_chart(results))
    for word in ("Backordered", "Switched", "Defected", "replication 0"):
        assert word in text


def test_plot_all_writes_png_and_svg(sweep_dir: Path, tmp_path: Path) -> None:
    paths = plots.plot_all(sweep_dir, out_dir=tmp_path)
    assert len(paths) == 2 * len(ONE_KEY)
    for path in paths:
        assert path.is_file() and path.stat().st_size > 1000
    png = next(p for p in paths if p.suffix == ".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = next(p for p in paths if p.suffix == ".svg")
    assert "<svg" in svg.read_text(encoding="utf-8")[:2000]


def test_single_alternative_and_categorical_param(tmp_path: Path) -> None:
    scenario = apply_params(load_scenario(str(ROOT / "scenarios" / "baseline.yaml")),
                            {"run.horizon_days": 60, "run.warmup_days": 10})
    result = sweep(scenario, ["policy.type=sQ,sS"], replications=2, workers=1,
                   out_dir=tmp_path)
    loaded = plots.load_results(result.directory)
    for stem in plots.charts_for(loaded):
        plots.CHARTS[stem](loaded)
    one = sweep(scenario, ["policy.service_target=0.9"], replications=2, workers=1,
                out_dir=tmp_path / "one")
    paths = plots.plot_all(one.directory, formats=["png"])
    assert len(paths) == len(ONE_KEY)


def test_style_is_a_context_not_global(results: plots.Results) -> None:
    import matplotlib

    before = dict(matplotlib.rcParams)
    plots.objective_chart(results)
    assert dict(matplotlib.rcParams) == before
    assert plots.STYLE_FILE.is_file()


def test_plot_command(sweep_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["plot", str(sweep_dir), "--out", str(tmp_path), "--format", "svg"]) == 0
    assert len(list(tmp_path.glob("*.svg"))) == len(ONE_KEY)
    assert str(tmp_path) in capsys.readouterr().out


def test_plot_command_bad_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["plot", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["plot", str(tmp_path / "empty")]) == 2
    assert "not a sweep or optimisation results folder" in capsys.readouterr().err


def test_load_results_of_an_optimisation(tmp_path: Path) -> None:
    from servicesim.experiment.optimize import optimize

    scenario = apply_params(load_scenario(str(ROOT / "scenarios" / "baseline.yaml")),
                            {"run.horizon_days": 60, "run.warmup_days": 10})
    result = optimize(scenario, ["policy.service_target=0.8:0.98"], replications=2,
                      max_replications=2, resolution=0.045, workers=1, out_dir=tmp_path)
    loaded = plots.load_results(result.directory)
    assert loaded.kind == "optimize"
    assert loaded.best_alternative.params == result.best
    assert len(loaded.not_worse) == len(result.not_worse)
    document = json.loads((result.directory / "result.json").read_text())
    assert document["objective"] == loaded.objective
    figure = plots.objective_chart(loaded)
    assert _title(figure.axes[0]).startswith("baseline")


def test_chart_records_are_replication_0s_own(sweep_dir: Path, results: plots.Results) -> None:
    """The records charts 6 and 7 read are those a plain run of replication 0 of each
    alternative gives (same seed, same scenario): the charts need not run the model."""
    from servicesim.experiment.engine import chart_record
    from servicesim.experiment.seeds import replication_seeds
    from servicesim.experiment.store import read_chart_records
    from servicesim.model.simulation import simulate

    records = read_chart_records(sweep_dir)
    assert sorted(records) == [a.id for a in results.alternatives]
    seed = replication_seeds(int(results.seed), 1)[0]
    for a in results.alternatives:
        again = json.loads(json.dumps(chart_record(simulate(results.scenario(a), seed))))
        assert records[a.id] == again
        assert sum(c for _, c in again["cycle_time_counts"]) > 0


def test_a_folder_without_chart_records_draws_the_other_charts(
        sweep_dir: Path, tmp_path: Path) -> None:
    """Results written before runs recorded chart data: charts 6 and 7 are skipped with a
    warning naming the missing file; the other charts are drawn (chart 2 without the lost
    margin)."""
    import shutil

    old = tmp_path / "old"
    shutil.copytree(sweep_dir, old)
    (old / "chart_records.json").unlink()
    with pytest.warns(UserWarning, match="chart_records.json") as caught:
        written = plots.plot_all(old, formats=["png"])
    skipped = {str(w.message).split()[1] for w in caught}
    assert skipped == {"06-cycle-time", "07-unmet-demand"}
    assert len(written) == len(ONE_KEY) - 2
    assert "Lost margin left out" in _texts(plots.cost_breakdown_chart(plots.load_results(old)))


def test_resume_records_what_a_folder_lacks(sweep_dir: Path, tmp_path: Path) -> None:
    """Resuming a folder without chart records (an older servicesim, or a failed write)
    simulates replication 0 of each alternative again: the same rows, and the records the
    charts need."""
    import shutil

    out = tmp_path / "out"
    old = out / "baseline" / sweep_dir.name
    shutil.copytree(sweep_dir, old)
    (old / "chart_records.json").unlink()
    before = (old / "runs.csv").read_bytes()
    scenario = apply_params(load_scenario(str(ROOT / "scenarios" / "baseline.yaml")),
                            {"run.horizon_days": 120, "run.warmup_days": 20})
    again = sweep(scenario, ["policy.service_target=" + ",".join(map(str, TARGETS))],
                  replications=3, workers=1, out_dir=out, sweep_id=sweep_dir.name,
                  resume=True)
    assert again.n_simulations == len(TARGETS)  # replication 0 of each alternative
    assert (old / "runs.csv").read_bytes() == before
    assert (old / "chart_records.json").read_bytes() == \
        (sweep_dir / "chart_records.json").read_bytes()


def test_a_full_disk_while_plotting_leaves_no_partial_chart(
        sweep_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    """Charts are written atomically: a disk that fills while plotting leaves the charts
    written before whole and no partial file, and the command exits 2 naming the chart."""
    import errno
    import os

    from servicesim import files

    real, calls = files._write_temp, {"n": 0}

    def write(fd: int, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] <= 3:
            real(fd, data)
            return
        try:
            os.write(fd, data[: len(data) // 2])
        finally:
            os.close(fd)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files, "_write_temp", write)
    out = tmp_path / "charts"
    assert main(["plot", str(sweep_dir), "--out", str(out), "--format", "png"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"servicesim: error: cannot write {out / '04-'}"), err
    assert "No space left on device" in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == [
        "01-objective.png", "02-cost-breakdown.png", "03-revenue-cost-profit.png"]
    for path in out.iterdir():
        assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 10_000


def test_a_malformed_today_file_is_named(sweep_dir: Path, tmp_path: Path) -> None:
    """A today.json that is not today's figures: the charts that mark today are skipped
    with a warning naming the file; the others are drawn."""
    import shutil

    folder = tmp_path / "bad"
    shutil.copytree(sweep_dir, folder)
    (folder / "today.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.warns(UserWarning, match="today.json: not a today.json") as caught:
        written = plots.plot_all(folder, formats=["png"])
    assert {str(w.message).split()[1] for w in caught} == {"01-objective",
                                                           "03-revenue-cost-profit"}
    assert len(written) == len(ONE_KEY) - 2


def test_money_labels_without_a_currency() -> None:
    """A scenario without finance.currency: money axes carry no unit, never "(money)"."""
    from servicesim.outputs.charts.common import figure_axis_label

    assert figure_axis_label("operating_profit", None) == "Operating profit"
    assert figure_axis_label("operating_profit", "CHF") == "Operating profit (CHF)"
    assert figure_axis_label("roi", None) == "Annualised ROI (%)"
    assert figure_axis_label("item_fill_rate", None) == "Item fill rate β (%)"
