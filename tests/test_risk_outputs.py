"""``servicesim risk`` end to end on the shipped disruption scenario (DOMAIN §11), on a short
horizon and few replications: its files agree with each other, its charts and report are
written, an interrupted run resumes to the same answer, a folder of another run is refused,
bad options are named, and serial, process-pool and Dask runs give the same summary."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

import servicesim
from servicesim.cli import main
from servicesim.errors import ScenarioError
from servicesim.experiment import risk as risk_module
from servicesim.experiment.risk import RiskError, RiskInterrupted, risk
from servicesim.experiment.risk_runs import run_risk_task
from servicesim.experiment.risk_text import points
from servicesim.files import jsonable
from servicesim.inputs.scenario_file import load_scenario
from servicesim.outputs.report import write_report
from servicesim.outputs.risk_results import is_risk_folder, load_risk

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "disruption.yaml"
BASELINE = ROOT / "scenarios" / "baseline.yaml"
HORIZON, REPS = "400", 6
PARAM = "policy.service_target=0.99"


def short_scenario() -> Any:
    return load_scenario(SCENARIO, [f"run.horizon_days={HORIZON}", "run.warmup_days=30"])


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run of the command: the scenario as is and a 99 % target, serially."""
    out = tmp_path_factory.mktemp("risk")
    status = main(["risk", str(SCENARIO), "--horizon-days", HORIZON, "--set",
                   "run.warmup_days=30", "--replications", str(REPS), "--param", PARAM,
                   "--workers", "1", "--out", str(out), "--id", "r", "--quiet"])
    assert status == 0
    return out / "disruption" / "r"


def test_files_agree_with_each_other(folder: Path) -> None:
    summary = json.loads((folder / "risk.json").read_text(encoding="utf-8"))
    runs, events = rows(folder / "runs.csv"), rows(folder / "events.csv")
    curves = rows(folder / "recovery.csv")
    assert len(runs) == 2 * REPS
    assert sum(int(r["events"]) for r in runs) == len(events) == len(curves)
    for name in ("strike", "peak_season"):  # scheduled: in every replication
        assert sum(e["name"] == name for e in events) == 2 * REPS
    for number, alternative in enumerate(summary["alternatives"]):
        mine = [e for e in events if int(e["alternative"]) == number]
        assert alternative["recovery"]["events"] == len(mine)
        recovered = [float(e["time_to_recover_days"]) for e in mine if e["recovered"] == "True"]
        assert alternative["recovery"]["recovered"] == len(recovered)
        roi = [float(r["roi"]) for r in runs if int(r["alternative"]) == number]
        assert alternative["figures"]["roi"]["mean"]["value"] == pytest.approx(
            sum(roi) / len(roi))
        assert alternative["figures"]["roi"]["worst_5"]["value"] == min(roi)  # 1 of 6
    # common random numbers: the same events in every alternative (the target changes
    # neither when disruptions come nor how long they last)
    first = [(e["replication"], e["name"], e["start_day"], e["end_day"]) for e in events
             if e["alternative"] == "0"]
    assert first == [(e["replication"], e["name"], e["start_day"], e["end_day"])
                     for e in events if e["alternative"] == "1"]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "risk" and manifest["status"] == "complete"
    assert manifest["runs"] == 2 * REPS
    assert (folder / "scenario.yaml").is_file() and is_risk_folder(folder)


def test_decision_is_computed_from_the_differences(folder: Path) -> None:
    summary = json.loads((folder / "risk.json").read_text(encoding="utf-8"))
    (difference,) = summary["differences"]
    mean = difference["roi"]["mean"]["value"]
    tail = difference["roi"]["worst_5"]["value"]
    decision = summary["decision"]
    assert decision.startswith("Against the scenario as is")
    assert "A 99 % service target" in decision
    assert f"{'costs' if mean < 0 else 'adds'} {points(abs(mean))} ROI points" in decision
    assert f"{'saves' if tail > 0 else 'loses'} {points(abs(tail))} in the worst 5 %" \
        in decision
    assert float(points(abs(mean))) == pytest.approx(100 * abs(mean), abs=0.05)


def test_charts_and_report_are_written(folder: Path) -> None:
    for stem in ("13-risk-distribution", "14-risk-recovery"):
        for suffix in ("png", "svg"):
            assert (folder / "charts" / f"{stem}.{suffix}").stat().st_size > 0
    html = (folder / "report.html").read_text(encoding="utf-8")
    summary = json.loads((folder / "risk.json").read_text(encoding="utf-8"))
    assert summary["decision"].split(":")[0] in html
    for heading in ("Distribution of ROI", "Paired differences", "Time to recover",
                    "Disruptions"):
        assert heading in html
    import openpyxl

    book = openpyxl.load_workbook(folder / "report.xlsx", read_only=True)
    assert {"Summary", "Distribution", "Differences", "Recovery", "Events",
            "Runs"} <= set(book.sheetnames)
    paths = write_report(folder, folder / "again")
    assert paths["html"].is_file()


def test_plot_command_redraws_the_charts(folder: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plot", str(folder), "--out", str(tmp_path), "--format", "png"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["13-risk-distribution.png",
                                                          "14-risk-recovery.png"]
    assert len(load_risk(folder).events) == len(rows(folder / "events.csv"))


def _summary(directory: Path) -> dict[str, Any]:
    return json.loads((directory / "risk.json").read_text(encoding="utf-8"))


def test_resume_after_an_interruption_gives_the_same_answer(
        folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = short_scenario()
    seen: list[int] = []

    def interrupted(task: Any) -> dict[str, Any]:
        seen.append(1)
        if len(seen) == 5:
            raise KeyboardInterrupt
        return run_risk_task(task)

    monkeypatch.setattr(risk_module, "run_risk_task", interrupted)
    with pytest.raises(RiskInterrupted) as stop:
        risk(scenario, [PARAM], replications=REPS, workers=1, out_dir=tmp_path, run_id="r")
    assert stop.value.done == 4
    manifest = json.loads((tmp_path / "disruption" / "r" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["runs"] == 4
    monkeypatch.setattr(risk_module, "run_risk_task", run_risk_task)
    result = risk(scenario, [PARAM], replications=REPS, workers=1, out_dir=tmp_path,
                  run_id="r", resume=True)
    assert result.simulations == 2 * REPS - 4
    assert _summary(tmp_path / "disruption" / "r") == _summary(folder)
    for name in ("runs.csv", "events.csv", "recovery.csv"):
        assert (tmp_path / "disruption" / "r" / name).read_text() == (folder / name).read_text()


def test_a_folder_of_another_run_is_refused_without_resume_or_overwrite(
        folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = folder.parent.parent
    argv = ["risk", str(SCENARIO), "--horizon-days", HORIZON, "--set", "run.warmup_days=30",
            "--replications", "3", "--workers", "1", "--out", str(out), "--id", "r",
            "--quiet", "--no-plots"]
    assert main(argv) == 2
    assert "--resume" in capsys.readouterr().err
    assert main([*argv, "--resume"]) == 2  # another run: resume refuses it too
    assert "different run" in capsys.readouterr().err
    before = _summary(folder)
    with pytest.raises(RiskError, match="--overwrite"):
        risk(short_scenario(), replications=3, workers=1, out_dir=out, run_id="r")
    assert _summary(folder) == before  # nothing was touched


def test_overwrite_replaces_another_run(tmp_path: Path) -> None:
    """--force (or --overwrite) replaces the runs of another run in the folder."""
    scenario = short_scenario()
    first = risk(scenario, replications=2, workers=1, out_dir=tmp_path, run_id="x")
    assert main(["risk", str(SCENARIO), "--horizon-days", HORIZON, "--set",
                 "run.warmup_days=30", "--replications", "3", "--workers", "1", "--out",
                 str(tmp_path), "--id", "x", "--quiet", "--no-plots", "--force"]) == 0
    assert len(rows(first.directory / "runs.csv")) == 3
    assert _summary(first.directory)["replications"] == 3


@pytest.mark.parametrize(("param", "named"), [("no.such.key=1,2", "no.such.key"),
                                              ("policy.service_target", "--param"),
                                              ("policy.service_target=1.5", "--param")])
def test_a_bad_param_names_the_option(param: str, named: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["risk", str(SCENARIO), "--param", param, "--replications", "2",
                   "--out", str(tmp_path), "--workers", "1"])
    err = capsys.readouterr().err
    assert status == 2 and named in err and "--param" in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_a_scenario_without_disruptions_is_refused() -> None:
    with pytest.raises(ScenarioError, match="disruptions"):
        risk(load_scenario(BASELINE), replications=2, out_dir=None)
    with pytest.raises(ScenarioError, match="--replications"):
        risk(short_scenario(), replications=1, out_dir=None)


def test_serial_and_process_pool_give_the_same_summary(folder: Path) -> None:
    pooled = risk(short_scenario(), [PARAM], replications=REPS, workers=2, out_dir=None)
    assert jsonable(pooled.summary) == _summary(folder)
    assert servicesim.risk is risk


@pytest.mark.slow
def test_dask_gives_the_same_summary(folder: Path) -> None:
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster, set_as_default=False)
    try:
        result = risk(short_scenario(), [PARAM], replications=REPS,
                      executor=client.get_executor(pure=False), out_dir=None)
    finally:
        client.close()
        cluster.close()
    assert jsonable(result.summary) == _summary(folder)


def test_terminal_output_ends_with_the_decision(folder: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["risk", str(SCENARIO), "--horizon-days", HORIZON, "--set",
                   "run.warmup_days=30", "--replications", "3", "--workers", "1",
                   "--out", str(tmp_path), "--no-plots"])
    out = capsys.readouterr().out
    assert status == 0
    decision = _summary(next((tmp_path / "disruption").iterdir()))["decision"]
    assert out.rstrip().endswith(decision)
    assert "as is:" in out and "ROI (annualised)" in out and "worst 5 % mean" in out


@pytest.mark.slow
def test_the_printed_report_is_a_few_whole_pages(folder: Path, tmp_path: Path) -> None:
    """Printed by Chromium, the report of two alternatives fits a handful of pages and
    carries the decision and every table."""
    import shutil
    import subprocess

    pypdf = pytest.importorskip("pypdf")
    browser = next((p for p in map(shutil.which, ("chromium", "chromium-browser",
                                                   "google-chrome")) if p), None)
    if browser is None:
        pytest.skip("no Chromium or Chrome on this machine")
    pdf = tmp_path / "report.pdf"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--print-to-pdf={pdf}",
                    "--no-pdf-header-footer", (folder / "report.html").as_uri()],
                   capture_output=True, timeout=180, check=False)
    pages = [p.extract_text() or "" for p in pypdf.PdfReader(pdf).pages]
    assert 3 <= len(pages) <= 12
    text = " ".join(" ".join(pages).split())
    for heading in ("Distribution of ROI", "Paired differences", "Time to recover",
                    "Disruptions", "the scenario as run"):
        assert heading in text
