"""Sensitivity of the optimum to the behavioural inputs: the variants, common random numbers,
the optimum and its not-worse range, resume, sensitivity.json, chart 08 and the command."""

from __future__ import annotations

import copy
import csv
import itertools
import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from servicesim import SUMMARY_KEYS
from servicesim.cli import main
from servicesim.errors import ScenarioError
from servicesim.experiment.sensitivity import (
    SENSITIVITY_FILE,
    SensitivityError,
    default_targets,
    optimum,
    parse_factor,
    sensitivity,
    sentence,
    variants,
)
from servicesim.experiment.statistics import holm, paired_comparison
from servicesim.experiment.sweep import sweep
from servicesim.outputs.tornado_chart import tornado_chart, write_tornado_chart
from servicesim.scenario.schema import Scenario
from sweep_helpers import TINY

SMALL: dict[str, Any] = copy.deepcopy(TINY)
SMALL["segments"] = {
    "trade": {**TINY["segments"]["s"],
              "reactions": {"backorder": 0.4, "switch": 0.5, "defect": 0.1},
              "defect_increase_per_stockout": 0.05,
              "acquisition": {"customers_per_year": 10}},
    "shop": {**TINY["segments"]["s"], "customers": 10,
             "reactions": {"wait": 0.3, "switch": 0.05, "defect": 0.65},
             "defect_increase_per_stockout": 0.1},
}
"""TINY with two segments whose behavioural inputs can all be varied."""
SCENARIO = Scenario.model_validate(SMALL)
BOUNDS, STEP, REPLICATIONS = (0.85, 0.95), 0.05, 3


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One sensitivity run of SMALL, serially (3 targets × 7 variants × 3 replications)."""
    out = tmp_path_factory.mktemp("sens")
    return sensitivity(SCENARIO, bounds=BOUNDS, step=STEP, replications=REPLICATIONS,
                       workers=1, out_dir=out, factors={"reaction_mix": (0.5, 1.5)})


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# ------------------------------------------------------------------------ the variants


def test_reaction_mix_variants_sum_to_one_and_scale_defect() -> None:
    made, skipped = variants(SCENARIO, {"reaction_mix": (0.5, 1.5)})
    assert skipped == []
    by_name = {v.name: v for v in made}
    assert set(by_name) == {"base", "defection x0.5", "defection x2", "reaction_mix x0.5",
                            "reaction_mix x1.5", "acquisition x0.5", "acquisition x1.5"}
    for name, factor in (("reaction_mix x0.5", 0.5), ("reaction_mix x1.5", 1.5)):
        for segment, base in SCENARIO.segments.items():
            mix = by_name[name].scenario.segments[segment].reactions
            assert mix.wait + mix.backorder + mix.switch + mix.defect == pytest.approx(1)
            assert mix.defect == pytest.approx(base.reactions.defect * factor)
    # trade: the difference comes from switch alone
    trade = by_name["reaction_mix x1.5"].scenario.segments["trade"].reactions
    assert (trade.backorder, trade.switch) == pytest.approx((0.4, 0.45))
    # shop: switch (0.05) cannot give 0.325; the rest comes from wait, which is all there is
    shop = by_name["reaction_mix x1.5"].scenario.segments["shop"].reactions
    assert (shop.switch, shop.wait, shop.defect) == pytest.approx((0.0, 0.025, 0.975))
    defection = by_name["defection x2"].scenario.segments
    assert defection["shop"].defect_increase_per_stockout == pytest.approx(0.2)
    acquisition = by_name["acquisition x1.5"].scenario.segments
    assert acquisition["trade"].acquisition.customers_per_year == pytest.approx(15)


def test_a_mix_that_cannot_hold_the_factor_is_refused_naming_the_key() -> None:
    with pytest.raises(ScenarioError) as caught:
        variants(SCENARIO)  # reaction_mix x2: the shop's defect would be 1.3
    text = str(caught.value)
    assert "--factor" in text and "segments.shop.reactions.defect" in text
    assert "trade" not in text  # the trade segment can hold it


def test_inputs_without_anything_to_vary_are_skipped() -> None:
    made, skipped = variants(Scenario.model_validate(TINY))
    assert [v.name for v in made] == ["base"]
    assert {s["input"] for s in skipped} == {"defection", "reaction_mix", "acquisition"}


@pytest.mark.parametrize("text", ["defection=0.5", "defection=1,2", "defection=0.5,1",
                                  "defection=-0.1,2", "defection=0.5,11", "churn=0.5,2",
                                  "defection", "defection=a,b", "acquisition=0.5,nan"])
def test_bad_factors_are_refused_with_the_allowed_range(text: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_factor(text)
    message = str(caught.value)
    assert "--factor" in message
    assert "[0, 1)" in message or "one of defection, reaction_mix, acquisition" in message


def test_parse_factor_reads_low_and_high() -> None:
    assert parse_factor("acquisition=0.25,3") == ("acquisition", (0.25, 3.0))


def test_default_targets_are_geometric_in_the_shortfall() -> None:
    assert default_targets(0.991) == [0.964, 0.978, 0.986, 0.991, 0.994, 0.996, 0.998]
    assert max(default_targets(0.999)) == 0.999  # never 1
    with pytest.raises(ScenarioError, match="strictly between 0 and 1"):
        default_targets(1.5)


# ---------------------------------------------------------------------- the optimum


def test_optimum_and_not_worse_range_as_documented() -> None:
    targets = [0.8, 0.85, 0.9, 0.95]
    values = [[0.10, 0.12, 0.11, 0.13, 0.09],   # clearly below the best
              [0.50, 0.61, 0.55, 0.40, 0.52],   # noisy: not significantly below
              [0.52, 0.60, 0.56, 0.45, 0.53],   # the best (highest mean)
              [0.30, 0.31, 0.33, 0.29, 0.30]]   # clearly below
    found = optimum(targets, values, alpha=0.05)
    assert found["optimum"] == 0.9
    others = [0, 1, 3]
    tests = [paired_comparison(values[2], values[i]) for i in others]
    adjusted = holm([t["p_value"] for t in tests])
    expected = [targets[2]] + [targets[i] for i, p in zip(others, adjusted, strict=True)
                               if p > 0.05]
    assert found["not_worse"] == [min(expected), max(expected)] == [0.85, 0.9]
    assert found["objective"]["mean"] == pytest.approx(sum(values[2]) / 5)
    assert found["objective"]["ci_low"] < found["objective"]["mean"] \
        < found["objective"]["ci_high"]
    assert [e["not_worse"] for e in found["evaluations"]] == [False, True, True, False]


def test_a_tie_goes_to_the_lower_target() -> None:
    found = optimum([0.9, 0.95], [[0.5, 0.6], [0.5, 0.6]], alpha=0.05)
    assert found["optimum"] == 0.9


# ------------------------------------------------------------- runs, CRN and resume


def test_base_rows_equal_a_plain_sweep_bit_for_bit(done: Any, tmp_path: Path) -> None:
    plain = sweep(SCENARIO, [f"policy.service_target={BOUNDS[0]}:{BOUNDS[1]}:{STEP}"],
                  replications=REPLICATIONS, out_dir=tmp_path, workers=1)
    swept = read_rows(plain.directory / "runs.csv")
    rows = read_rows(done.directory / SENSITIVITY_FILE)
    base = [r for r in rows if r["variant"] == "base"]
    assert len(base) == len(swept) == 3 * REPLICATIONS
    for ours, theirs in zip(base, swept, strict=True):
        assert {k: ours[k] for k in ("policy.service_target", "replication", "seed",
                                     *SUMMARY_KEYS)} == \
            {k: theirs[k] for k in ("policy.service_target", "replication", "seed",
                                    *SUMMARY_KEYS)}


def test_every_variant_meets_the_same_seeds(done: Any) -> None:
    rows = read_rows(done.directory / SENSITIVITY_FILE)
    assert len(rows) == 7 * 3 * REPLICATIONS
    by_variant: dict[str, list[tuple[str, str, str]]] = {}
    for row in rows:
        by_variant.setdefault(row["variant"], []).append(
            (row["policy.service_target"], row["replication"], row["seed"]))
    cells = list(by_variant.values())
    assert all(c == cells[0] for c in cells)
    # the variants change something: their figures differ from the base's
    figures = {v: [r["roi"] for r in rows if r["variant"] == v] for v in by_variant}
    assert all(figures[v] != figures["base"] for v in figures if v != "base")


def test_resume_runs_only_what_is_missing(done: Any, tmp_path: Path) -> None:
    folder = tmp_path / "again"
    kwargs: dict[str, Any] = {"bounds": BOUNDS, "step": STEP, "replications": REPLICATIONS,
                              "workers": 1, "factors": {"reaction_mix": (0.5, 1.5)},
                              "directory": folder}
    first = sensitivity(SCENARIO, **kwargs)
    complete = (folder / SENSITIVITY_FILE).read_bytes()
    assert first.n_simulations == 63
    assert sensitivity(SCENARIO, **kwargs).n_simulations == 0
    lines = complete.decode().splitlines(keepends=True)
    (folder / SENSITIVITY_FILE).write_text("".join(lines[:-10]), encoding="utf-8")
    assert sensitivity(SCENARIO, **kwargs).n_simulations == 10
    assert (folder / SENSITIVITY_FILE).read_bytes() == complete
    assert complete == (done.directory / SENSITIVITY_FILE).read_bytes()


def test_ctrl_c_keeps_the_rows_and_the_same_call_continues(
        done: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from servicesim.experiment import sensitivity as module

    real = module.execute

    def five_then_ctrl_c(tasks: Any, *args: Any, **kwargs: Any) -> Any:
        real(list(tasks)[:5], *args, **kwargs)
        raise KeyboardInterrupt

    kwargs: dict[str, Any] = {"bounds": BOUNDS, "step": STEP, "replications": REPLICATIONS,
                              "workers": 1, "factors": {"reaction_mix": (0.5, 1.5)},
                              "directory": tmp_path}
    monkeypatch.setattr(module, "execute", five_then_ctrl_c)
    with pytest.raises(module.SensitivityInterrupted) as caught:
        sensitivity(SCENARIO, **kwargs)
    assert (caught.value.done, caught.value.total) == (5, 63)
    manifest = json.loads((tmp_path / "sensitivity-manifest.json").read_text("utf-8"))
    assert manifest["status"] == "interrupted"
    assert len(read_rows(tmp_path / SENSITIVITY_FILE)) == 5
    assert not (tmp_path / "sensitivity.json").exists()
    monkeypatch.setattr(module, "execute", real)
    assert sensitivity(SCENARIO, **kwargs).n_simulations == 58
    assert (tmp_path / SENSITIVITY_FILE).read_bytes() == \
        (done.directory / SENSITIVITY_FILE).read_bytes()


def test_another_run_in_the_folder_is_refused_unless_overwrite(done: Any) -> None:
    other: dict[str, Any] = {"bounds": BOUNDS, "step": STEP, "replications": 2,
                             "workers": 1, "factors": {"reaction_mix": (0.25, 1.5)}}
    with pytest.raises(SensitivityError, match="another sensitivity run"):
        sensitivity(SCENARIO, directory=done.directory, **other)
    copy_dir = done.directory.parent / "copy"
    copy_dir.mkdir()
    (copy_dir / SENSITIVITY_FILE).write_bytes((done.directory / SENSITIVITY_FILE).read_bytes())
    with pytest.raises(SensitivityError, match="without sensitivity-manifest.json"):
        sensitivity(SCENARIO, directory=copy_dir, **other)
    replaced = sensitivity(SCENARIO, directory=copy_dir, overwrite=True, **other)
    assert replaced.n_simulations == 7 * 3 * 2
    assert len(read_rows(copy_dir / SENSITIVITY_FILE)) == 7 * 3 * 2


# ------------------------------------------------------------------- sensitivity.json


def test_sensitivity_json_matches_the_contract(done: Any) -> None:
    document = json.loads((done.directory / "sensitivity.json").read_text(encoding="utf-8"))
    assert document["objective"] == "roi"
    assert document["param"] == "policy.service_target"
    assert isinstance(document["sentence"], str) and document["sentence"].endswith(".")

    def check(found: dict[str, Any]) -> None:
        assert found["optimum"] in (0.85, 0.9, 0.95)
        low, high = found["not_worse"]
        assert low <= found["optimum"] <= high
        estimate = found["objective"]
        assert set(estimate) >= {"mean", "ci_low", "ci_high", "n"}
        assert estimate["n"] == REPLICATIONS
        assert estimate["ci_low"] <= estimate["mean"] <= estimate["ci_high"]

    check(document["base"])
    assert [e["id"] for e in document["inputs"]] == ["defection", "reaction_mix",
                                                     "acquisition"]
    for entry in document["inputs"]:
        assert isinstance(entry["name"], str) and entry["keys"]
        assert all(k.startswith("segments.") for k in entry["keys"])
        for side in ("low", "high"):
            check(entry[side])
            assert isinstance(entry[side]["factor"], float)
    assert document["inputs"][1]["low"]["factor"] == 0.5
    assert document["inputs"][1]["high"]["factor"] == 1.5


def _document(base: float, low: float, high: float) -> dict[str, Any]:
    def found(x: float, roi: float) -> dict[str, Any]:
        return {"optimum": x, "not_worse": [x, x], "factor": 1.0,
                "objective": {"mean": roi, "ci_low": roi, "ci_high": roi, "n": 5}}

    return {"param": "policy.service_target", "objective": "roi", "currency": "EUR",
            "base": {"optimum": base, "not_worse": [0.985, 0.993],
                     "objective": {"mean": 0.686, "ci_low": 0.67, "ci_high": 0.70, "n": 5}},
            "inputs": [{"name": "Defection increase per stockout",
                        "low": {**found(low, 0.74), "factor": 0.5},
                        "high": {**found(high, 0.61), "factor": 2.0}},
                       {"name": "Acquisition of new customers",
                        "low": {**found(0.99, 0.68), "factor": 0.5},
                        "high": {**found(0.99, 0.69), "factor": 1.5}}]}


def test_the_sentence_says_where_the_optimum_stays_and_what_moves_roi_most() -> None:
    text = sentence(_document(0.991, 0.986, 0.993))
    assert text.startswith("The best service target stays between 98.6 % and 99.3 % for "
                           "every input varied")
    assert "moves most with the defection increase per stockout (61.0 % at x2 to 74.0 % " \
           "at x0.5; base 68.6 %)" in text


def test_the_sentence_says_unless_when_an_optimum_leaves_the_base_range() -> None:
    text = sentence(_document(0.991, 0.986, 0.997))
    assert "unless the defection increase per stockout is doubled (best target 99.7 %)" \
        in text
    assert "between 98.6 % and 99.1 %" in text


# ---------------------------------------------------------------------------- chart 08


def _texts(figure: Any) -> list[Any]:
    """Every piece of text drawn: titles, labels, tick labels, annotations, legend, caption."""
    from matplotlib.text import Text

    shown = []
    for ax in figure.axes:
        shown += [ax.title, ax._left_title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            shown += [tick.label1 for tick in axis.get_major_ticks()
                      if min(low, high) <= tick.get_loc() <= max(low, high)]
    for legend in figure.legends:
        shown += legend.get_texts()
    shown += [t for t in figure.texts if isinstance(t, Text)]
    if figure._suptitle is not None:
        shown.append(figure._suptitle)
    unique = {id(t): t for t in shown}  # the suptitle is one of the figure's texts too
    return [t for t in unique.values() if t.get_visible() and t.get_text().strip()]


def test_chart_is_written_and_no_text_overlaps(done: Any) -> None:
    paths = write_tornado_chart(done.directory)
    assert paths["png"].name == "08-sensitivity.png"
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths["svg"].stat().st_size > 0
    document = json.loads((done.directory / "sensitivity.json").read_text(encoding="utf-8"))
    wide = _document(0.991, 0.986, 0.996)  # ranges as on the baseline: ticks near 100 %
    wide["inputs"][0]["low"]["not_worse"] = [0.978, 0.994]
    wide["inputs"][0]["high"]["not_worse"] = [0.986, 0.998]
    for doc in (document, {**_document(0.991, 0.986, 0.997), "targets": [0.97, 0.999],
                           "scenario": "baseline", "replications": 10, "alpha": 0.05},
                {**wide, "targets": [0.964, 0.998], "scenario": "baseline"}):
        figure = tornado_chart(doc)
        renderer = figure.canvas.get_renderer()
        figure.draw(renderer)
        boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in _texts(figure)]
        page = figure.bbox
        for text, box in boxes:
            assert page.x0 - 1 <= box.x0 and box.x1 <= page.x1 + 1, f"{text!r} cut off"
        clashes = [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2)
                   if box_a.padded(2).overlaps(box_b.padded(2))]  # touching counts too
        assert clashes == []
        assert any("x0.5 / x2" in t for t, _ in boxes)


# ---------------------------------------------------------------------------- the CLI


@pytest.fixture(scope="module")
def small_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL, sort_keys=False), encoding="utf-8")
    return path


def test_cli_sensitivity_prints_the_sentence_and_draws_chart_08(
        small_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sensitivity", str(small_file), "--bounds", "0.85", "0.95", "--step", "0.05",
                 "--replications", "2", "--workers", "1", "--out", str(tmp_path),
                 "--factor", "reaction_mix=0.5,1.5", "--id", "sens", "--horizon-days", "60"])
    out = capsys.readouterr().out
    assert code == 0
    assert "The best service target" in out
    chart = tmp_path / "tiny" / "sens" / "charts" / "08-sensitivity.png"
    assert chart.exists()
    chart.unlink()  # servicesim plot redraws it from the files
    assert main(["plot", str(tmp_path / "tiny" / "sens"), "--format", "png"]) == 0
    assert chart.exists()
    assert main(["plot", str(tmp_path / "tiny" / "sens"), "--format", "gif"]) == 2
    assert "use png, svg or pdf" in capsys.readouterr().err


@pytest.mark.parametrize("factor", ["defection=2,3", "reaction_mix=0.5,2", "nothing=1,2"])
def test_cli_bad_factors_exit_2_naming_the_option(small_file: Path, tmp_path: Path,
                                                  factor: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sensitivity", str(small_file), "--around", "0.9", "--workers", "1",
                 "--out", str(tmp_path), "--factor", factor])
    err = capsys.readouterr().err
    assert code == 2
    assert "--factor" in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # refused before anything was written


@pytest.mark.slow  # an optimisation, then 490 simulations: about 10 s on one core
def test_cli_optimize_with_sensitivity_writes_into_the_optimize_folder(
        small_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["optimize", str(small_file), "--param", "policy.service_target", "--bounds",
                 "0.8", "0.95", "--replications", "2", "--max-replications", "4", "--workers", "1",
                 "--horizon-days", "60",
                 "--out", str(tmp_path), "--sensitivity", "--factor", "reaction_mix=0.5,1.5",
                 "--quiet", "--no-plots"])
    assert code == 0, capsys.readouterr().err
    (folder,) = (tmp_path / "tiny").glob("optimize-*")
    document = json.loads((folder / "sensitivity.json").read_text(encoding="utf-8"))
    best = json.loads((folder / "result.json").read_text(encoding="utf-8"))["best"]
    assert best["policy.service_target"] in document["targets"]
    assert math.isfinite(document["base"]["objective"]["mean"])
    assert (folder / "runs.csv").exists() and (folder / SENSITIVITY_FILE).exists()


def test_cli_optimize_sensitivity_refuses_a_search_it_cannot_vary_around(
        small_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["optimize", str(small_file), "--param", "policy.order_quantity", "--bounds",
                 "1", "100", "--sensitivity", "--out", str(tmp_path)])
    assert code == 2
    assert "--sensitivity" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.mark.slow  # starts a Dask LocalCluster: a few seconds
def test_dask_gives_the_rows_of_a_serial_run(done: Any, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    from servicesim.experiment.executors import make_executor

    with make_executor(dask_local=2) as (executor, _):
        result = sensitivity(SCENARIO, bounds=BOUNDS, step=STEP, replications=REPLICATIONS,
                             executor=executor, factors={"reaction_mix": (0.5, 1.5)},
                             directory=tmp_path)
    assert result.n_simulations == 63
    assert (tmp_path / SENSITIVITY_FILE).read_bytes() == \
        (done.directory / SENSITIVITY_FILE).read_bytes()
