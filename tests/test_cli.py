"""The ``servicesim`` command: exit codes, messages on stderr without tracebacks, and the
files and JSON a run produces (end to end with the real engine on a tiny scenario)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml

from servicesim import __version__
from servicesim.cli import main
from servicesim.inputs.scenario_file import load_scenario
from servicesim.kpis import SUMMARY_KEYS
from servicesim.scenario.schema import Sku
from servicesim.scenario.validation import _model_keys

TINY = {
    "name": "tiny",
    "run": {"horizon_days": 60, "warmup_days": 10, "replications": 3, "seed": 11},
    "skus": {"A": {"unit_cost": 10, "price": 15}},
    "segments": {"s": {"customers": 20,
                       "order_interval_days": {"type": "exponential", "mean": 2.0}}},
}

BAD = """\
name: bad
skus:
  A: {untis_cost: 3, price: abc}
segments:
  s:
    customers: 5
    order_interval_days: {type: expo, mean: 1}
    reactions: {wait: 0.2, switch: 0.7}
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    return path


def error_lines(err: str) -> list[str]:
    lines = err.splitlines()
    assert lines, "expected a message on stderr"
    assert all(line.startswith("servicesim: error: ") for line in lines), err
    assert "Traceback" not in err
    return [line.removeprefix("servicesim: error: ") for line in lines]


# ------------------------------------------------------------------------ validate


def test_validate_ok(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tiny)]) == 0
    out, err = capsys.readouterr()
    assert out == f"OK {tiny}: tiny (1 SKU, 1 segment)\n"
    assert err == ""


def test_validate_reports_every_problem(tiny: Path, bad: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    missing = tiny.parent / "missing.yaml"
    assert main(["validate", str(bad), str(tiny), str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == f"OK {tiny}: tiny (1 SKU, 1 segment)\n"
    lines = error_lines(err)
    lines[:2] = sorted(lines[:2], reverse=True)  # both on line 3: any order
    assert lines == [
        f"{bad}:3: skus.A.untis_cost: unknown key; allowed keys here: "
        f"{', '.join(_model_keys(Sku))}; did you mean unit_cost?",
        f"{bad}:3: skus.A.price: value abc: expected a number",
        f"{bad}:7: segments.s.order_interval_days.type: value expo: unknown distribution "
        "type; allowed types: constant, exponential, uniform, triangular, normal, "
        "normal_rounded, lognormal, gamma, poisson, negative_binomial, empirical; "
        "did you mean exponential?",
        f"{bad}:8: segments.s.reactions: value {{wait: 0.2, switch: 0.7}}: wait + backorder "
        "+ switch + defect must sum to 1, got 0.9",
        f"{missing}: file not found",
    ]


# ----------------------------------------------------------------- options and errors


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"servicesim {__version__}"


@pytest.mark.parametrize("argv", [
    [],
    ["frobnicate"],
    ["run"],
    ["run", "x.yaml", "--bogus"],
    ["validate"],
])
def test_bad_command_lines(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(error_lines(err)) == 1


def test_run_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    assert error_lines(capsys.readouterr().err) == [f"{tmp_path / 'nope.yaml'}: file not found"]


def test_run_bad_overrides(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", str(tiny), "--set", "skus.A.untis_cost=3", "--set", "run.seed"]
    assert main(argv) == 2
    lines = error_lines(capsys.readouterr().err)
    assert lines[0].startswith(f"{tiny} (--set skus.A.untis_cost=3): skus.A.untis_cost: "
                               "unknown key; allowed keys here: unit_cost,")
    assert "--set expects KEY=VALUE" in lines[1]
    assert main(["run", str(tiny), "--replications", "one", "--seed", "-1"]) == 2
    assert error_lines(capsys.readouterr().err) == [
        f"{tiny} (--replications one): run.replications: value one: expected an integer",
        f"{tiny} (--seed -1): run.seed: value -1: must be >= 0 (cannot be negative)",
    ]
    assert main(["run", str(tiny), "--horizon-days", "5"]) == 2
    (line,) = error_lines(capsys.readouterr().err)
    assert line.startswith(f"{tiny}:2 (--horizon-days 5): run: ")
    assert line.endswith("warmup_days (10) must be less than horizon_days (5)")


def run_folder(parent: Path) -> Path:
    """The one run folder (``run-<hash>`` or the ``--id``) under ``parent``."""
    (folder,) = [p for p in parent.iterdir() if p.is_dir()]
    return folder


def test_what_ifs_of_one_scenario_never_share_a_folder(
        tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two --set what-ifs write two folders; the same run again finds its own folder (the
    same files); --id names the folder; a bad --id is refused before anything runs."""
    base = ["run", str(tiny), "--out", str(tmp_path), "--quiet", "--replications", "2"]
    assert main([*base, "--set", "skus.A.price=30"]) == 0
    assert main([*base, "--set", "skus.A.price=40"]) == 0
    folders = sorted(p for p in (tmp_path / "tiny").iterdir())
    assert len(folders) == 2
    prices = {load_scenario(f / "scenario.yaml").skus["A"].price for f in folders}
    assert prices == {30, 40}
    before = {f: (f / "summary.json").read_text(encoding="utf-8") for f in folders}
    assert main([*base, "--set", "skus.A.price=30"]) == 0  # the same run: the same folder
    assert sorted((tmp_path / "tiny").iterdir()) == folders
    assert {f: (f / "summary.json").read_text(encoding="utf-8") for f in folders} == before
    assert main([*base, "--id", "lead-time-test"]) == 0
    assert (tmp_path / "tiny" / "lead-time-test" / "summary.json").exists()
    capsys.readouterr()
    assert main([*base, "--id", "../escape"]) == 2
    (line,) = error_lines(capsys.readouterr().err)
    assert line.startswith("--id '../escape': ")
    assert not (tmp_path / "escape").exists()


def fake_engine(monkeypatch: pytest.MonkeyPatch, run: Any) -> None:
    """Stand in for servicesim.experiment.replications (whether or not the real one exists)."""
    module = types.ModuleType("servicesim.experiment.replications")
    module.run_replications = run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "servicesim.experiment.replications", module)


def test_unexpected_error_is_one_line(tiny: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    def broken(scenario: Any, n: Any = None, seed: Any = None) -> Any:
        raise RuntimeError("engine\nexploded")

    fake_engine(monkeypatch, broken)
    assert main(["run", str(tiny), "--quiet"]) == 1
    lines = error_lines(capsys.readouterr().err)
    assert lines == ["unexpected RuntimeError: engine exploded "
                     "(rerun with --debug for the traceback)"]
    assert main(["--debug", "run", str(tiny), "--quiet"]) == 1
    assert "Traceback" in capsys.readouterr().err
    assert main(["run", str(tiny), "--quiet", "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_interrupt_exits_130(tiny: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(scenario: Any, n: Any = None, seed: Any = None) -> Any:
        raise KeyboardInterrupt

    fake_engine(monkeypatch, interrupted)
    assert main(["run", str(tiny)]) == 130
    err = capsys.readouterr().err
    assert "servicesim: interrupted" in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [
    ["validate", "{bad}"],
    ["run", "{bad}"],
    ["run", "{missing}"],
    ["run", "{bad}", "--set", "nonsense"],
    ["frobnicate"],
])
def test_subprocess_exit_code_and_no_traceback(tmp_path: Path, bad: Path,
                                               argv: list[str]) -> None:
    args = [a.format(bad=bad, missing=tmp_path / "missing.yaml") for a in argv]
    proc = subprocess.run([sys.executable, "-m", "servicesim", *args], capture_output=True,
                          text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("servicesim: error: ")
    assert "Traceback" not in proc.stderr


# ----------------------------------------------------------------- run, end to end



def test_run_end_to_end(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                        ) -> None:
    out_dir = tmp_path / "out"
    assert main(["run", str(tiny), "--out", str(out_dir)]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert "scenario      tiny" in out
    assert "replications  3 (root seed 11)" in out
    assert "Item fill rate (β)" in out and "95 % CI" in out
    folder = run_folder(out_dir / "tiny")
    assert folder.name.startswith("run-")
    assert f"results written to {folder}" in out

    with open(folder / "replications.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3
    assert list(rows[0])[:3] == ["scenario", "replication", "seed"]
    assert set(SUMMARY_KEYS) <= set(rows[0])
    assert [r["replication"] for r in rows] == ["0", "1", "2"]
    assert all(r["scenario"] == "tiny" and r["seed"] == "11" for r in rows)

    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["scenario"] == "tiny"
    assert summary["replications"] == 3
    assert summary["seed"] == 11
    assert summary["window_days"] == 50
    assert set(summary["kpis"]) == set(SUMMARY_KEYS)
    for stats in summary["kpis"].values():
        assert set(stats) == {"mean", "ci_low", "ci_high"}
    fill = summary["kpis"]["item_fill_rate"]
    assert 0 <= fill["mean"] <= 1 and fill["ci_low"] <= fill["mean"] <= fill["ci_high"]
    assert set(summary["policies"]) == {"A"}
    assert summary["servicesim_version"] == __version__
    means = [float(r["revenue"]) for r in rows]
    assert summary["kpis"]["revenue"]["mean"] == pytest.approx(sum(means) / 3)

    assert load_scenario(folder / "scenario.yaml") == load_scenario(tiny)


def test_run_json_and_overrides(tiny: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "out"
    argv = ["run", str(tiny), "--out", str(out_dir), "--json", "--replications", "2",
            "--seed", "5", "--set", "run.horizon_days=80", "--set", "skus.A.price=30"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    document = json.loads(out)  # stdout is only the JSON
    assert list(document) == ["scenario", "replications", "seed", "kpis"]
    assert document["replications"] == 2 and document["seed"] == 5
    assert set(document["kpis"]) == set(SUMMARY_KEYS)
    assert "results written to" in err

    folder = run_folder(out_dir / "tiny")
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["window_days"] == 70  # the override reached the run
    assert summary["kpis"] == document["kpis"]
    rows = list(csv.DictReader(open(folder / "replications.csv", encoding="utf-8")))
    assert len(rows) == 2
    ran = load_scenario(folder / "scenario.yaml")
    assert ran.skus["A"].price == 30 and ran.run.horizon_days == 80

    # the same run without the price override earns less revenue per unit delivered
    assert main(["run", str(tiny), "--out", str(tmp_path / "base"), "--json",
                 "--replications", "2", "--seed", "5", "--set", "run.horizon_days=80"]) == 0
    base = json.loads(capsys.readouterr().out)
    assert document["kpis"]["revenue"]["mean"] > base["kpis"]["revenue"]["mean"]


def test_run_quiet_and_unwritable_output(tiny: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tiny), "--quiet", "--out", str(tmp_path / "q")]) == 0
    assert capsys.readouterr() == ("", "")
    assert (run_folder(tmp_path / "q" / "tiny") / "summary.json").exists()

    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder", encoding="utf-8")
    assert main(["run", str(tiny), "--out", str(blocker)]) == 2
    out, err = capsys.readouterr()
    assert "Item fill rate" in out  # the results were shown before the write failed
    (line,) = error_lines(err.split("...\n", 1)[-1])
    assert line.startswith(f"cannot write {blocker}")


def test_python_dash_m_run(tiny: Path, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "servicesim", "run", str(tiny), "--json",
                           "--replications", "2"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["replications"] == 2
    assert (run_folder(tmp_path / "results" / "tiny") / "replications.csv").exists()


def test_optimize_default_search(tiny: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["optimize", str(tiny), "--replications", "2", "--max-replications", "4",
                 "--workers", "1", "--out", str(tmp_path), "--id", "opt", "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "policy.service_target in [0.5, 0.999]" in out and "serially" in out
    assert "Best: policy.service_target = " in out and "Simulations used:" in out
    document = json.loads((tmp_path / "tiny" / "opt" / "result.json").read_text("utf-8"))
    assert document["objective"] == "roi"


@pytest.mark.parametrize("argv, message", [
    (["--param", "policy.service_target"], "needs its --bounds"),
    (["--param", "policy.service_targt", "--bounds", "0.5", "0.9"], "did you mean"),
    (["--bounds", "0.5", "1.5"], "must be < 1"),
    (["--objective", "revenue"], "invalid choice"),
])
def test_optimize_bad_search_exits_2(tiny: Path, tmp_path: Path, argv: list[str],
                                     message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["optimize", str(tiny), "--out", str(tmp_path), *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and message in err
    error_lines(err)
