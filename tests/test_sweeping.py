"""Sweeps: the files, resume after a kill or Ctrl-C (byte-identical rows), folder checks and
the ``servicesim sweep`` command's output and errors."""

from __future__ import annotations

import csv
import json
import math
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

from servicesim import SUMMARY_KEYS, __version__
from servicesim.cli import main
from servicesim.errors import ScenarioError
from servicesim.experiment.statistics import confidence_interval
from servicesim.experiment.sweep import SweepError, plan_sweep, sweep
from servicesim.inputs.scenario_file import load_scenario
from sweep_helpers import BASE, data_rows, group_gone, start, write_tiny

MANY = "policy.service_target=0.5:0.945:0.005"  # 90 alternatives: a few seconds of work
MANY_RUNS = 90 * 3


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny(tmp_path_factory.mktemp("scenario"))


@pytest.fixture(scope="module")
def reference(tiny_file: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """runs.csv of the MANY sweep run without interruption."""
    out = tmp_path_factory.mktemp("reference")
    assert main(["sweep", str(tiny_file), "--param", MANY, "--out", str(out), "--quiet",
                 "--workers", "2", "--no-plots"]) == 0
    (runs,) = out.glob("tiny/*/runs.csv")
    return runs.read_bytes()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# ------------------------------------------------------------------------- the files


def test_files_summary_and_manifest(tmp_path: Path) -> None:
    result = sweep(BASE, ["policy.service_target=0.7,0.95"], out_dir=tmp_path, workers=1,
                   command="test")
    folder = result.directory
    assert folder.parent == tmp_path / "tiny" and folder.name.startswith("sweep-")
    assert sorted(p.name for p in folder.iterdir()) == [
        "chart_records.json", "manifest.json", "runs.csv", "scenario.yaml", "summary.csv"]

    runs = read_csv(folder / "runs.csv")
    assert list(runs[0]) == ["alternative", "policy.service_target", "replication", "seed",
                             *SUMMARY_KEYS]
    assert [(r["alternative"], r["replication"]) for r in runs] == [
        (str(a), str(r)) for a in range(2) for r in range(3)]
    assert {r["seed"] for r in runs} == {"7"}
    assert result.n_simulations == 6 and len(result.runs) == 6

    summary = read_csv(folder / "summary.csv")
    assert list(summary[0]) == ["alternative", "policy.service_target", "figure", "mean",
                                "ci_low", "ci_high", "std", "n"]
    assert len(summary) == 2 * len(SUMMARY_KEYS)
    for row in summary:
        values = [float(r[row["figure"]]) for r in runs if r["alternative"] == row["alternative"]]
        expected = confidence_interval(values)
        assert float(row["mean"]) == pytest.approx(expected["mean"], rel=1e-12, nan_ok=True)
        assert int(row["n"]) == expected["n"]
        if row["figure"] == "item_fill_rate":
            assert 0.0 <= float(row["ci_low"]) <= float(row["ci_high"]) <= 1.0

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "complete" and manifest["scenario_name"] == "tiny"
    assert manifest["params"] == [{"key": "policy.service_target", "values": [0.7, 0.95]}]
    assert manifest["replications"] == 3 and manifest["seed"] == 7
    assert manifest["servicesim_version"] == __version__ and manifest["command"] == "test"
    assert manifest["n_simulations"] == 6 and manifest["n_simulations_planned"] == 6
    assert "same 3 replication seeds" in manifest["common_random_numbers"]
    assert manifest["started"].endswith("+00:00") and manifest["ended"]
    assert manifest["scenario"] == BASE.model_dump(mode="json")
    assert load_scenario(folder / "scenario.yaml") == BASE

    best = result.best("roi")
    rois = [r["mean"] for r in result.summary if r["figure"] == "roi"]
    assert best["mean"] == max(rois) and set(best["params"]) == {"policy.service_target"}
    runs_frame, summary_frame = result.to_frames()
    assert runs_frame.shape == (6, len(runs[0])) and len(summary_frame) == len(summary)


def test_replications_and_seed_arguments_change_the_scenario_as_run(tmp_path: Path) -> None:
    result = sweep(BASE, [], replications=2, seed=99, out_dir=tmp_path, workers=1)
    assert result.plan.scenario.run.replications == 2 and result.plan.scenario.run.seed == 99
    assert {r["seed"] for r in result.runs} == {99} and len(result.runs) == 2
    with pytest.raises(ScenarioError, match="--replications"):
        plan_sweep(BASE, [], replications=0, out_dir=tmp_path)


def test_existing_rows_need_resume_and_resume_runs_nothing_new(tmp_path: Path) -> None:
    first = sweep(BASE, ["policy.service_target=0.7,0.95"], out_dir=tmp_path, workers=1)
    before = {p.name: p.read_bytes() for p in first.directory.iterdir() if p.suffix == ".csv"}
    with pytest.raises(SweepError, match="--resume"):
        sweep(BASE, ["policy.service_target=0.7,0.95"], out_dir=tmp_path, workers=1)
    again = sweep(BASE, ["policy.service_target=0.7,0.95"], out_dir=tmp_path, workers=1,
                  resume=True)
    assert again.directory == first.directory and again.n_simulations == 0
    assert {p.name: p.read_bytes() for p in again.directory.iterdir()
            if p.suffix == ".csv"} == before
    manifest = json.loads((again.directory / "manifest.json").read_text(encoding="utf-8"))
    assert [s["n_simulations"] for s in manifest["sessions"]] == [6, 0]


def test_resume_refuses_a_different_sweep(tmp_path: Path) -> None:
    sweep(BASE, ["policy.service_target=0.7,0.95"], out_dir=tmp_path, workers=1, sweep_id="x")
    other = BASE.model_copy(update={"description": "changed"})
    with pytest.raises(SweepError, match=r"different sweep.*scenario \(description\)"):
        sweep(other, ["policy.service_target=0.7,0.95"], out_dir=tmp_path, sweep_id="x",
              resume=True)
    with pytest.raises(SweepError, match="replications"):
        sweep(BASE, ["policy.service_target=0.7,0.95"], replications=4, out_dir=tmp_path,
              sweep_id="x", resume=True)
    with pytest.raises(SweepError, match="already holds runs"):  # not one row matches
        sweep(BASE, ["policy.service_target=0.6,0.8"], out_dir=tmp_path, sweep_id="x")
    with pytest.raises(SweepError, match="params"):
        sweep(BASE, ["policy.service_target=0.6,0.8"], out_dir=tmp_path, sweep_id="x",
              resume=True)


def test_resume_ignores_torn_and_foreign_lines(tmp_path: Path) -> None:
    params = ["policy.service_target=0.6,0.8,0.9"]
    full = sweep(BASE, params, out_dir=tmp_path / "full", workers=1)
    expected = (full.directory / "runs.csv").read_bytes()
    part = sweep(BASE, params, out_dir=tmp_path / "part", workers=1)
    runs = part.directory / "runs.csv"
    lines = expected.decode().splitlines(keepends=True)
    damaged = lines[:3] + [lines[3].replace("0.6,", "0.7,")]  # a row of another grid
    damaged += lines[5:7] + [lines[7][:40]]  # and a torn last line
    runs.write_text("".join(damaged), encoding="utf-8")
    resumed = sweep(BASE, params, out_dir=tmp_path / "part", workers=1, resume=True)
    assert runs.read_bytes() == expected
    assert resumed.n_simulations == 9 - 4
    assert repr(resumed.runs) == repr(full.runs)  # typed rows too (repr: NaN == NaN)


@pytest.mark.parametrize("bad", ["../up", "a/b", "", ".hidden", "a..b", "x" * 101])
def test_bad_sweep_ids_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(SweepError, match="sweep id"):
        plan_sweep(BASE, [], out_dir=tmp_path, sweep_id=bad)


def test_the_default_id_depends_on_what_is_run_only(tmp_path: Path) -> None:
    a = plan_sweep(BASE, ["policy.service_target=0.7,0.9"], out_dir=tmp_path)
    b = plan_sweep(BASE, ["policy.service_target=0.7, 0.9"], out_dir=tmp_path / "elsewhere")
    c = plan_sweep(BASE, ["policy.service_target=0.7,0.91"], out_dir=tmp_path)
    d = plan_sweep(BASE, ["policy.service_target=0.7,0.9"], seed=8, out_dir=tmp_path)
    assert a.sweep_id == b.sweep_id
    assert len({a.sweep_id, c.sweep_id, d.sweep_id}) == 3


# --------------------------------------------------------------------- kill, Ctrl-C


def wait_for_rows(process: subprocess.Popen[str], out: Path, timeout: float = 60) -> Path:
    """The runs.csv of ``out`` once it holds rows (while the sweep is still running)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(out.glob("tiny/*/runs.csv"))
        if found and data_rows(found[0]) > 0:
            return found[0]
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError("the sweep wrote no rows in time")


def test_resume_after_sigkill_gives_identical_rows(tiny_file: Path, tmp_path: Path,
                                                   reference: bytes) -> None:
    args = ["sweep", str(tiny_file), "--param", MANY, "--out", str(tmp_path), "--quiet",
            "--workers", "2", "--no-plots"]
    process = start(args, tmp_path)
    runs = wait_for_rows(process, tmp_path)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()
    assert group_gone(process.pid)
    kept = data_rows(runs)
    assert 0 < kept < MANY_RUNS
    assert runs.read_bytes().startswith(b"alternative,") and runs.read_bytes().endswith(b"\n")
    manifest = json.loads((runs.parent / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "running"  # killed: nothing could mark it

    assert main(args) == 2  # the folder holds rows: --resume or another --id
    assert main([*args, "--resume"]) == 0
    assert runs.read_bytes() == reference
    manifest = json.loads((runs.parent / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "complete" and manifest["n_simulations"] == MANY_RUNS
    assert manifest["sessions"][-1]["n_simulations"] == MANY_RUNS - kept


def test_ctrl_c_keeps_rows_and_prints_the_resume_command(tiny_file: Path, tmp_path: Path,
                                                        reference: bytes) -> None:
    args = ["sweep", str(tiny_file), "--param", MANY, "--out", str(tmp_path), "--quiet",
            "--workers", "2", "--no-plots"]
    process = start(args, tmp_path)
    runs = wait_for_rows(process, tmp_path)
    os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole group
    try:
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert group_gone(process.pid), "worker processes outlived the sweep"
    manifest = json.loads((runs.parent / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "interrupted"
    kept = data_rows(runs)
    assert 0 < kept < MANY_RUNS and manifest["n_simulations"] == kept

    command = err.strip().splitlines()[-1].strip()
    assert command.startswith("servicesim sweep ") and "--resume" in command
    assert f"--id {runs.parent.name}" in command
    assert main(shlex.split(command)[1:]) == 0
    assert runs.read_bytes() == reference


# ------------------------------------------------------------------------------ CLI


def test_cli_prints_the_plan_and_a_table(tiny_file: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", str(tiny_file), "--param", "policy.service_target=0.7,0.95",
                 "--param", "supplier.lead_time_days=3,6", "--replications", "2",
                 "--out", str(tmp_path), "--id", "demo", "--workers", "1",
                 "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "grid          4 alternatives:" in out
    assert "policy.service_target = 0.7, 0.95 (2 values)" in out
    assert "common random numbers: every alternative uses the same 2 replication seeds" in out
    assert "running on    serially in this process" in out
    assert "item fill rate %" in out and "ROI %" in out and "operating profit" in out
    assert "inventory value" in out and "* best mean ROI" in out
    assert sum(line.startswith("*") for line in out.splitlines()) == 2  # the row and the note
    assert f"{tmp_path / 'tiny' / 'demo'}" in out
    runs = read_csv(tmp_path / "tiny" / "demo" / "runs.csv")
    assert len(runs) == 8 and runs[-1]["supplier.lead_time_days"] == "6"


@pytest.mark.parametrize("param, named", [
    ("policy.service_targt=0.9", ["policy.service_targt", "did you mean service_target"]),
    ("policy.service_target=0.99:0.9:0.01", ["policy.service_target", "range is empty"]),
    ("policy.service_target=0.9:1.2:0.1", ["policy.service_target", "1.0", "must be < 1"]),
    ("policy.service_target=-0.5,0.9", ["policy.service_target", "-0.5", "must be > 0"]),
    ("policy.service_target", ["expects KEY=VALUES"]),
    ("policy.service_target=0.8:x:0.1", ["must be numbers"]),
])
def test_bad_params_exit_2_with_a_clear_message(tiny_file: Path, tmp_path: Path, param: str,
                                                named: list[str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", str(tiny_file), "--param", param, "--out", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert all(line.startswith("servicesim: error: ") for line in captured.err.splitlines())
    for text in named:
        assert text in captured.err, captured.err
    assert not (tmp_path / "tiny").exists()


@pytest.mark.parametrize("argv, message", [
    (["--workers", "0"], "--workers"),
    (["--workers", "2", "--dask-local", "2"], "not allowed with"),
    (["--scheduler-timeout", "0"], "--scheduler-timeout"),
    (["--id", "../x"], "--id '../x'"),
    ([], None),
])
def test_bad_options_exit_2(tiny_file: Path, tmp_path: Path, argv: list[str],
                            message: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    params = ["--param", "policy.service_target=0.9"] if message else []
    assert main(["sweep", str(tiny_file), *params, "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("servicesim: error: ")
    assert (message or "--param") in err


def test_summary_nan_free_means_and_clipped_probabilities(tmp_path: Path) -> None:
    result = sweep(BASE, ["policy.service_target=0.99"], out_dir=tmp_path, workers=1)
    for row in result.summary:
        assert row["n"] == 3
        assert not math.isnan(row["mean"]), row["figure"]
