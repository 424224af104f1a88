"""What-if comparison: common random numbers pair the scenarios' replications, known
directions come out significant, the files and the chart are written, and the
``servicesim compare`` command works end to end and refuses bad input with exit code 2."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from servicesim import SUMMARY_KEYS, __version__
from servicesim.cli import main
from servicesim.errors import ScenarioError
from servicesim.experiment.compare import (
    KEY_FIGURES,
    TABLE_COLUMNS,
    apply_variant,
    compare,
    paired_difference,
    parse_variant,
)
from servicesim.outputs.compare_chart import write_compare_chart
from servicesim.scenario.schema import Scenario
from sweep_helpers import TINY as SWEEP_TINY

# the sweep tests' tiny scenario, with its own replications, seed and target
TINY: dict[str, Any] = {
    **SWEEP_TINY,
    "run": {**SWEEP_TINY["run"], "replications": 4, "seed": 3},
    "policy": {"service_target": 0.8},
}
BASE = Scenario.model_validate(TINY)


@pytest.fixture
def tiny_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY, sort_keys=False), encoding="utf-8")
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def error_lines(err: str) -> list[str]:
    lines = err.splitlines()
    assert lines and all(line.startswith("servicesim: error: ") for line in lines), err
    assert "Traceback" not in err
    return lines


# ------------------------------------------------------------------------ statistics


def test_identical_scenarios_differ_by_exactly_zero() -> None:
    result = compare([BASE, BASE], ["a", "b"], workers=1, out_dir=None)
    assert len(result.runs) == 2 * 4
    for key in SUMMARY_KEYS:
        d = result.difference(key, "b")
        if math.isnan(result.row(key, "a")["mean"]):
            continue
        assert d["diff"] == 0.0 and d["diff_ci_low"] == 0.0 and d["diff_ci_high"] == 0.0
        assert d["p_value"] == 1.0 and d["n_pairs"] == 4
    # replication r of both used the same seed: the rows are identical figure by figure
    a = [r for r in result.runs if r["label"] == "a"]
    b = [r for r in result.runs if r["label"] == "b"]
    assert [{k: r[k] for k in SUMMARY_KEYS} for r in a] == \
        [{k: r[k] for k in SUMMARY_KEYS} for r in b]
    assert "*" not in result.report().split("\n", 5)[-1].split("* the interval")[0]


def test_more_safety_stock_raises_the_fill_rate_significantly() -> None:
    more = apply_variant(BASE, "more stock:policy.service_target=0.97")
    result = compare([BASE, more], ["base", "more stock"], workers=1, out_dir=None)
    d = result.difference("item_fill_rate", "more stock")
    assert d["diff"] > 0 and d["diff_ci_low"] > 0, d
    assert d["p_value"] < 0.05
    inventory = result.difference("avg_inventory_value", "more stock")
    assert inventory["diff_ci_low"] > 0
    line = next(x for x in result.report().splitlines() if x.startswith("Item fill rate"))
    assert line.rstrip().endswith("*")


def test_paired_difference_matches_a_paired_t_test() -> None:
    from scipy import stats

    a, b = [1.0, 2.0, 3.0, 4.5], [1.5, 2.1, 3.9, 4.6]
    d = paired_difference(a, b)
    assert d["diff"] == pytest.approx(0.4)
    assert d["p_value"] == pytest.approx(stats.ttest_rel(b, a).pvalue)
    assert d["diff_ci_low"] < d["diff"] < d["diff_ci_high"]
    nan = paired_difference([1.0, math.nan, 3.0], [2.0, 5.0, 4.0])
    assert nan["n_pairs"] == 2 and nan["diff"] == 1.0


# ------------------------------------------------------------------------- variants


def test_parse_variant_keeps_yaml_mappings_whole() -> None:
    v = parse_variant("mix: segments.s.reactions={switch: 0.4, backorder: 0.6},"
                      "policy.service_target=0.9")
    assert v.label == "mix"
    assert [(o.key, o.value) for o in v.overrides] == [
        ("segments.s.reactions", "{switch: 0.4, backorder: 0.6}"),
        ("policy.service_target", "0.9")]
    changed = apply_variant(BASE, v)
    assert changed.segments["s"].reactions.switch == 0.4
    assert changed.policy.service_target == 0.9


@pytest.mark.parametrize(("text", "expected"), [
    ("policy.service_target=0.9", "no label before ':'"),
    (":policy.service_target=0.9", "the label before ':' is empty"),
    ("x:policy.service_target", "is not key=value"),
    ("x:a=1,,b=2", "is not key=value"),
])
def test_malformed_variants(text: str, expected: str) -> None:
    with pytest.raises(ScenarioError, match=expected):
        parse_variant(text)


def test_unknown_key_in_a_variant_names_the_variant() -> None:
    with pytest.raises(ScenarioError) as caught:
        apply_variant(BASE, "oops:policy.servce_target=0.9", source="tiny.yaml")
    text = str(caught.value)
    assert "tiny.yaml (--set-variant oops:policy.servce_target=0.9)" in text
    assert "servce_target" in text and "service_target" in text  # the suggestion


def test_labels_must_differ() -> None:
    with pytest.raises(ScenarioError, match="labels must differ"):
        compare([BASE, BASE], out_dir=None, workers=1)


# ---------------------------------------------------------------------------- files


def test_files_are_written_and_parse(tmp_path: Path) -> None:
    slow = apply_variant(BASE, "slow supplier:supplier.lead_time_days=12")
    result = compare([BASE, slow], ["base", "slow supplier"], replications=3, seed=9,
                     workers=1, out_dir=tmp_path, command="servicesim compare test")
    folder = result.directory
    assert folder is not None and folder.parent == tmp_path
    assert folder.name.startswith("compare-")
    runs = read_csv(folder / "runs.csv")
    assert list(runs[0]) == ["scenario", "label", "replication", "seed", *SUMMARY_KEYS]
    assert [(r["label"], r["replication"]) for r in runs] == [
        (label, str(r)) for label in ("base", "slow supplier") for r in range(3)]
    assert {r["seed"] for r in runs} == {"9"}
    table = read_csv(folder / "comparison.csv")
    assert list(table[0]) == list(TABLE_COLUMNS)
    assert len(table) == 2 * len(SUMMARY_KEYS)
    ref = next(r for r in table if r["figure"] == "roi" and r["label"] == "base")
    assert ref["diff"] == "" and float(ref["mean"]) == pytest.approx(
        result.row("roi", "base")["mean"])
    alt = next(r for r in table if r["figure"] == "roi" and r["label"] == "slow supplier")
    assert float(alt["diff"]) == pytest.approx(result.difference("roi", "slow supplier")
                                               ["diff"])
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["labels"] == ["base", "slow supplier"]
    assert manifest["replications"] == 3 and manifest["seed"] == 9
    assert manifest["command"] == "servicesim compare test"
    assert manifest["servicesim_version"] == __version__
    assert manifest["scenarios"][1]["supplier"]["lead_time_days"]["value"] == 12
    assert manifest["scenarios"][0]["run"]["replications"] == 3
    assert manifest["started"] <= manifest["finished"]
    # the same comparison again finds and reuses its folder; another one may not
    again = compare([BASE, slow], ["base", "slow supplier"], replications=3, seed=9,
                    workers=1, out_dir=tmp_path)
    assert again.directory == folder and again.runs == result.runs
    from servicesim.files import OutputError

    with pytest.raises(OutputError, match="another comparison"):
        compare([BASE, slow], ["base", "other"], replications=3, seed=9, workers=1,
                out_dir=tmp_path, run_id=folder.name)
    frames = result.to_frames()
    assert frames[0].shape[0] == 6 and frames[1].shape[0] == 2 * len(SUMMARY_KEYS)


def test_chart_files(tmp_path: Path) -> None:
    more = apply_variant(BASE, "more stock:policy.service_target=0.97")
    result = compare([BASE, more], ["base", "more stock"], replications=3, workers=1,
                     out_dir=None)
    paths = write_compare_chart(result, tmp_path)
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = paths["svg"].read_text(encoding="utf-8")
    assert "<svg" in svg and "more stock" in svg and "Item fill rate" in svg


# ------------------------------------------------------------------------------ CLI


def test_cli_end_to_end_with_variants(tiny_file: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = main(["compare", str(tiny_file), "--set-variant",
                 "more stock:policy.service_target=0.97",
                 "--set-variant", "loyal:segments.s.reactions={backorder: 1.0}",
                 "--replications", "3", "--horizon-days", "100", "--workers", "1",
                 "--out", str(out), "--id", "what-if"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    text = captured.out
    assert "common random numbers: every scenario meets the same 3 replication seeds" in text
    for label in ("reference: tiny", "more stock", "loyal"):
        assert label in text
    for figure in ("Item fill rate", "Order fill rate", "On-time rate", "Order cycle time",
                   "Lost sales", "Defections", "Revenue", "Operating profit",
                   "Average inventory value", "ROI", "Economic profit"):
        assert figure in text
    folder = out / "what-if"
    assert f"results written to {folder}" in text
    assert sorted(p.name for p in folder.iterdir()) == [
        "compare.png", "compare.svg", "comparison.csv", "manifest.json", "report.html",
        "report.xlsx", "runs.csv"]
    assert f"report written to {folder / 'report.html'} and report.xlsx" in text
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["labels"] == ["tiny", "more stock", "loyal"]
    assert manifest["scenarios"][0]["run"]["horizon_days"] == 100
    assert manifest["command"].startswith("servicesim compare ")


def test_cli_json_and_set_for_all(tiny_file: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.yaml"
    data = {**TINY, "name": "other", "policy": {"service_target": 0.95}}
    other.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    code = main(["compare", str(tiny_file), str(other), "--set", "run.warmup_days=10",
                 "--replications", "2", "--workers", "1", "--json", "--out",
                 str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    document = json.loads(captured.out)
    assert document["labels"] == ["tiny", "other"] and document["replications"] == 2
    assert list(document["figures"]) == list(KEY_FIGURES)
    assert set(document["figures"]["roi"]["other"]) >= {"mean", "diff", "diff_ci_low",
                                                        "diff_ci_high", "p_value"}
    assert "diff" not in document["figures"]["roi"]["tiny"]
    assert "common random numbers" in captured.err


@pytest.mark.parametrize(("extra", "expected"), [
    (["--set-variant", "oops:policy.servce_target=0.9"],
     "(--set-variant oops:policy.servce_target=0.9): policy.servce_target: unknown key"),
    (["--set-variant", "policy.service_target=0.9"], "no label before ':'"),
    (["--set-variant", "x:policy.service_target"], "is not key=value"),
    (["--set-variant", "x:policy.service_target=2"], "policy.service_target: value 2"),
    ([], "compare needs at least two scenarios"),
    (["--set-variant", "a:policy.service_target=0.9", "--set-variant",
      "a:policy.service_target=0.8"], "labels must differ"),
    (["--id", "../x", "--set-variant", "a:policy.service_target=0.9"], "--id '../x'"),
    (["--set-variant", "a:run.seed=1"], "run.seed cannot differ between alternatives"),
])
def test_cli_bad_input_exits_2(tiny_file: Path, tmp_path: Path, extra: list[str],
                               expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["compare", str(tiny_file), *extra, "--out", str(tmp_path), "--workers",
                 "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in "\n".join(error_lines(err))


def test_cli_missing_file_exits_2(tiny_file: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.yaml"
    code = main(["compare", str(tiny_file), str(missing), "--out", str(tmp_path)])
    assert code == 2
    assert f"{missing}: file not found" in "\n".join(error_lines(capsys.readouterr().err))
