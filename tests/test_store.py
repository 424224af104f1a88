"""The results store: runs.csv written and read back with typed cells, ids, and the lock
that keeps a second sweep, optimisation or comparison out of a folder being written."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from servicesim.cli import main
from servicesim.experiment.store import (
    FolderLocked,
    ResultsFolder,
    RunsFile,
    content_id,
    read_table,
)
from servicesim.experiment.sweep import plan_sweep, sweep
from servicesim.inputs.scenario_file import load_scenario
from sweep_helpers import data_rows, start, write_tiny


def test_runs_file_writes_sorted_rows_that_read_back_typed(tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    runs = RunsFile(path, ["alternative", "x", "replication", "seed", "roi", "ok"])
    for alternative, replication in ((1, 0), (0, 1), (0, 0)):
        runs.add({"alternative": alternative, "x": {"a": [1, 2]}, "replication": replication,
                  "seed": 7, "roi": math.nan if alternative else 0.1, "ok": True})
    runs.write()
    table = read_table(path)
    assert table is not None and table.columns == ("alternative", "x", "replication", "seed",
                                                   "roi", "ok")
    rows = table.rows()
    assert [(r["alternative"], r["replication"]) for r in rows] == [(0, 0), (0, 1), (1, 0)]
    assert rows[0]["x"] == {"a": [1, 2]} and rows[0]["roi"] == 0.1 and rows[0]["ok"] is True
    assert math.isnan(rows[2]["roi"])
    assert set(table.by_key()) == {(0, 0), (0, 1), (1, 0)}


def test_a_torn_last_line_is_left_out(tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    path.write_text('alternative,replication,label\n0,0,"a"\n0,1,0.2', encoding="utf-8")
    table = read_table(path)
    assert table is not None and table.rows() == [{"alternative": 0, "replication": 0,
                                                   "label": "a"}]
    assert read_table(tmp_path / "missing.csv") is None


def test_content_ids_depend_on_what_is_run_only() -> None:
    first = content_id("sweep", {"b": [1, 2], "a": 0.5})
    assert first == content_id("sweep", {"a": 0.5, "b": [1, 2]})
    assert first.startswith("sweep-") and len(first) == len("sweep-") + 10
    assert first != content_id("sweep", {"a": 0.5, "b": [2, 1]})


def test_a_held_folder_refuses_a_second_writer_at_once(tmp_path: Path) -> None:
    folder = ResultsFolder(tmp_path / "x")
    with folder.lock():
        began = time.monotonic()
        with pytest.raises(FolderLocked, match="another servicesim run") as caught:
            with ResultsFolder(tmp_path / "x" / ".." / "x").lock():
                pass
        assert time.monotonic() - began < 5
        assert str(tmp_path / "x" / ".." / "x") in str(caught.value)
    with folder.lock():  # released: free again
        pass
    assert not (tmp_path / "x").exists()  # the lock file lives outside the results


@pytest.mark.parametrize("command", ["optimize", "compare"])
def test_optimize_and_compare_refuse_a_held_folder(command: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    tiny = write_tiny(tmp_path)
    out = tmp_path / "out"
    if command == "optimize":
        argv = ["optimize", str(tiny), "--bounds", "0.7", "0.9", "--replications", "2",
                "--max-replications", "2", "--id", "held", "--no-plots"]
        folder = out / "tiny" / "held"
    else:
        argv = ["compare", str(tiny), "--set-variant", "b:policy.service_target=0.95",
                "--id", "held"]
        folder = out / "held"
    with ResultsFolder(folder).lock():
        assert main([*argv, "--out", str(out), "--workers", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{folder} is being written by another servicesim run" in err
    assert not folder.exists()  # nothing was written


def test_a_second_sweep_process_is_refused_and_the_first_keeps_its_rows(
        tmp_path: Path) -> None:
    """Two processes write the same folder: the second is refused at once (exit 2), the
    first runs to the end and its rows are whole and belong to its sweep."""
    tiny = write_tiny(tmp_path)
    params = "policy.service_target=0.5:0.99:0.01"
    args = ["sweep", str(tiny), "--param", params, "--set", "run.horizon_days=1200",
            "--out", "out", "--id", "both", "--workers", "1", "--quiet", "--no-plots"]
    runs = tmp_path / "out" / "tiny" / "both" / "runs.csv"
    first = start(args, tmp_path)
    second = None
    try:
        deadline = time.monotonic() + 60
        while data_rows(runs) == 0 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert data_rows(runs) > 0, first.communicate()
        second = start([*args, "--resume"], tmp_path)
        _, err = second.communicate(timeout=60)
        assert second.returncode == 2, err
        assert first.poll() is None  # the first still runs: it held the folder meanwhile
        assert err.startswith(f"servicesim: error: {Path('out', 'tiny', 'both')} is being "
                              "written by another servicesim run")
        _, first_err = first.communicate(timeout=300)
        assert first.returncode == 0, first_err
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()
    scenario = load_scenario(tiny, ["run.horizon_days=1200"])
    plan = plan_sweep(scenario, [params], out_dir=tmp_path / "out", sweep_id="both",
                      resume=True)
    assert len(plan.done) == plan.n_planned == data_rows(runs) == 150  # every row whole
    manifest = json.loads((runs.parent / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "complete" and len(manifest["sessions"]) == 1
    before = runs.read_bytes()
    again = sweep(scenario, [params], out_dir=tmp_path / "out", sweep_id="both", resume=True)
    assert again.n_simulations == 0 and runs.read_bytes() == before


@pytest.fixture
def finished_sweep(tmp_path: Path) -> Path:
    tiny = write_tiny(tmp_path)
    args = ["sweep", str(tiny), "--param", "policy.service_target=0.6,0.9", "--out",
            str(tmp_path / "out"), "--id", "s", "--workers", "1", "--quiet", "--no-plots"]
    assert main(args) == 0
    return tmp_path / "out" / "tiny" / "s"


def test_a_damaged_runs_csv_is_named_with_how_to_repair(
        finished_sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = finished_sweep / "runs.csv"
    runs.write_bytes(runs.read_bytes()[:200] + b"\xff\xfe garbage\n")
    assert main(["report", str(finished_sweep)]) == 2
    err = capsys.readouterr().err
    assert f"{runs} is not UTF-8 text (byte 0xff on line" in err
    assert "restore it from a copy" in err and "unexpected" not in err


def test_a_runs_csv_saved_by_a_spreadsheet(finished_sweep: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Saved as "CSV UTF-8" (a byte-order mark, CRLF line ends) it is read as it is;
    saved in a regional format (semicolons) it is refused, saying how to repair it."""
    runs = finished_sweep / "runs.csv"
    original = runs.read_bytes()
    runs.write_bytes(b"\xef\xbb\xbf" + original.replace(b"\n", b"\r\n"))
    assert main(["report", str(finished_sweep)]) == 0
    capsys.readouterr()
    runs.write_bytes(original.replace(b",", b";"))
    assert main(["report", str(finished_sweep)]) == 2
    err = capsys.readouterr().err
    assert f"{runs} is separated by semicolons" in err and "comma-separated" in err
