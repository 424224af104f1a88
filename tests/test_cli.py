"""The ``servicesim`` command: exit codes, messages on stderr without tracebacks, and the
files and JSON a run produces (end to end with the real engine on a tiny scenario)."""

from __future__ import annotations

import csv
import json
import math
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
from servicesim.kpis import KPI_BY_KEY, SUMMARY_KEYS
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


# ------------------------------------------------- one replication, money in the tables


def table_rows(out: str, first: str) -> list[str]:
    """The lines of the table whose header line starts with ``first``, up to its rule."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first)) + 2
    end = next(i for i in range(start, len(lines)) if set(lines[i]) <= {"-"})
    return lines[start:end]


def test_run_one_replication_shows_no_interval(tiny: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """One replication is a quick look: means, every interval n/a and a note saying why;
    replications.csv has its one row and summary.json null bounds."""
    assert main(["run", str(tiny), "--replications", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "replications  1 (root seed 11)" in out and "mean over 1 replication\n" in out
    rows = table_rows(out, "figure")
    assert len(rows) == len(SUMMARY_KEYS)
    assert all(row.endswith("  n/a") and "–" not in row for row in rows)
    fill = next(row for row in rows if row.startswith("Item fill rate (β)"))
    assert fill.split()[-2] != "n/a"  # the mean is shown
    lines = out.splitlines()
    note = lines.index("one replication: no confidence intervals; use 2 or more to see the "
                       "noise")
    assert set(lines[note - 1]) == {"-"} and lines[note - 2] == rows[-1]

    folder = run_folder(tmp_path / "tiny")
    with open(folder / "replications.csv", newline="", encoding="utf-8") as handle:
        (row,) = list(csv.DictReader(handle))
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["replications"] == 1
    for key, stats in summary["kpis"].items():
        assert stats["ci_low"] is None and stats["ci_high"] is None, key
    assert summary["kpis"]["revenue"]["mean"] == float(row["revenue"])


def test_two_replications_have_intervals_and_no_note(tiny: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    assert main(["run", str(tiny), "--replications", "2", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    fill = next(row for row in table_rows(out, "figure") if row.startswith("Item fill"))
    assert "–" in fill
    assert "one replication" not in out


def test_run_replications_api_with_one(tiny: Path) -> None:
    from servicesim import run_replications

    result = run_replications(load_scenario(tiny), n=1)
    assert result.n == 1 and len(result.rows()) == 1
    roi = result.summary()["roi"]
    assert roi["n"] == 1 and roi["mean"] == result.results[0].kpis["roi"]
    assert math.isnan(roi["ci_low"]) and math.isnan(roi["ci_high"])
    with pytest.raises(ValueError, match="at least 1"):
        run_replications(load_scenario(tiny), n=0)


def test_sweep_one_replication(tiny: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    """A one-replication sweep: `mean ± n/a`, the note, and summary.csv's empty intervals
    written as nan and read back as NaN by the store and by the chart reader."""
    from servicesim.experiment.store import read_table
    from servicesim.outputs.results import load_results

    assert main(["sweep", str(tiny), "--replications", "1", "--param",
                 "policy.service_target=0.8,0.95", "--workers", "1", "--no-plots",
                 "--out", str(tmp_path), "--id", "quick"]) == 0
    out = capsys.readouterr().out
    assert "value of 1 replication per alternative" in out
    rows = table_rows(out, "   alt")
    assert len(rows) == 2 and all(row.count("± n/a") == 4 for row in rows)
    lines = out.splitlines()
    assert lines[lines.index("* best mean ROI") + 1] == (
        "one replication: no confidence intervals; use 2 or more to see the noise")
    folder = tmp_path / "tiny" / "quick"
    table = read_table(folder / "summary.csv")
    assert table is not None
    summary = table.rows()
    assert len(summary) == 2 * len(SUMMARY_KEYS)
    text = (folder / "summary.csv").read_text(encoding="utf-8").splitlines()
    assert text[1].split(",")[-4:] == ["nan", "nan", "nan", "1"]  # ci_low, ci_high, std, n
    for row in summary:
        assert row["n"] == 1 and math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])
    results = load_results(folder)
    assert len(results.alternatives) == 2
    for alternative in results.alternatives:
        roi = alternative.figures["roi"]
        assert math.isfinite(roi["mean"]) and math.isnan(roi["ci_low"]), roi


def test_paired_commands_refuse_one_replication(tiny: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """optimize and compare test differences on paired replications: one is refused, before
    anything runs, with a message that says why."""
    out_dir = tmp_path / "out"
    assert main(["optimize", str(tiny), "--replications", "1", "--out", str(out_dir)]) == 2
    (line,) = error_lines(capsys.readouterr().err)
    assert line == "--replications: value 1: at least 2 replications per point (a paired " \
                   "test needs 2)"
    assert main(["compare", str(tiny), "--set-variant", "dear:skus.A.price=30",
                 "--replications", "1", "--workers", "1", "--out", str(out_dir)]) == 2
    (line,) = error_lines(capsys.readouterr().err)
    assert line == ("compare: run.replications: value 1: compare needs at least 2 "
                    "replications: it reports each difference with the confidence interval "
                    "of a paired t-test, which one replication cannot give (one replication "
                    "is for a quick look with servicesim run or sweep)")
    assert not out_dir.exists()  # nothing written


def test_run_tables_show_the_currency_and_no_cents_from_1000(
        tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Money rows carry the scenario's currency as their unit, whole units from 1,000 up
    (thousands separators), cents below; the segment table heads its money columns with
    it; without a currency the unit reads `money`.  The files keep full precision."""
    argv = ["run", str(tiny), "--replications", "2", "--out", str(tmp_path)]
    assert main([*argv, "--set", "finance.currency=EUR"]) == 0
    out = capsys.readouterr().out
    rows = {row[:35].strip(): row[35:].split() for row in table_rows(out, "figure")}
    money = [key for key in SUMMARY_KEYS if KPI_BY_KEY[key].unit == "money"]
    for key in money:
        unit, mean = rows[KPI_BY_KEY[key].label][:2]
        assert unit == "EUR", key
        number = float(mean.replace(",", ""))
        if abs(number) >= 1000:
            assert "." not in mean and "," in mean, (key, mean)
        else:
            assert len(mean.split(".")[-1]) == 2, (key, mean)
    assert rows["Revenue"][0] == "EUR" and float(rows["Revenue"][1].replace(",", "")) >= 1000
    assert rows["Item fill rate (β)"][0] == "%"
    header = next(line for line in out.splitlines() if line.startswith("segment"))
    assert "revenue EUR" in header and "cost to serve EUR" in header
    assert "orders EUR" not in header
    folder = next(p for p in (tmp_path / "tiny").iterdir())
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert any(summary["kpis"][key]["mean"] % 1 for key in money)  # cents kept in the file

    assert main([*argv, "--set", "finance.currency=null", "--overwrite"]) == 0
    out = capsys.readouterr().out
    rows = {row[:35].strip(): row[35:].split() for row in table_rows(out, "figure")}
    assert rows["Revenue"][0] == "money" and "EUR" not in out
