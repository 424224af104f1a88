"""Result files: atomic writes that never leave half a file, tidy CSV at full precision,
a summary.json of the documented shape, and tables people can read."""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from servicesim import files as output
from servicesim.files import OutputError, atomic_write_text, safe_folder_name
from servicesim.inputs.scenario_file import load_scenario
from servicesim.kpis import SUMMARY_KEYS
from servicesim.outputs.tables import (
    format_policy,
    format_run_header,
    format_summary_table,
    format_value,
    write_run_outputs,
)
from servicesim.scenario.schema import Scenario
from servicesim.scenario.validation import scenario_from_dict

MINIMAL = {"name": "t", "skus": {"A": {}},
           "segments": {"s": {"customers": 5,
                              "order_interval_days": {"type": "exponential", "mean": 1.0}}}}


@dataclass
class FakeReplicationSet:
    """The attributes of ``servicesim.experiment.replications.ReplicationSet`` the writers use."""

    scenario: Scenario
    seed: int = 42
    values: list[dict[str, float]] = field(default_factory=list)
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def window_days(self) -> float:
        return self.scenario.run.horizon_days - self.scenario.run.warmup_days

    def rows(self) -> list[dict[str, Any]]:
        return [{"scenario": self.scenario.name, "replication": i, "seed": self.seed, **v}
                for i, v in enumerate(self.values)]

    def summary(self, level: float = 0.95) -> dict[str, dict[str, float]]:
        out = {}
        for key in SUMMARY_KEYS:
            xs = [v[key] for v in self.values]
            mean = sum(xs) / len(xs)
            out[key] = {"mean": mean, "ci_low": mean - 1, "ci_high": mean + 1, "std": 1.0,
                        "n": len(xs)}
        return out

    def details_summary(self, level: float = 0.95) -> dict[str, dict[str, float]]:
        return {"window_days": {"mean": self.window_days, "ci_low": math.nan,
                                "ci_high": math.nan, "std": 0.0, "n": self.n}}

    def breakdown_summary(self, by: str, level: float = 0.95
                          ) -> dict[str, dict[str, dict[str, float]]]:
        names = self.scenario.skus if by == "sku" else self.scenario.segments
        return {name: {"orders": {"mean": 1.0, "ci_low": 0.5, "ci_high": 1.5, "std": 0.1,
                                  "n": self.n}} for name in names}


def fake(n: int = 3) -> FakeReplicationSet:
    values = [{key: (i + 1) / 3 + j for j, key in enumerate(SUMMARY_KEYS)} for i in range(n)]
    values[0]["cycle_service_level"] = math.nan
    return FakeReplicationSet(
        scenario=scenario_from_dict(MINIMAL), values=values,
        policies={"A": {"type": "sQ", "reorder_point": 12, "order_quantity": 40,
                        "service_metric": "fill_rate", "service_target": 0.95,
                        "predicted_service": 0.9512, "source_reorder_point": "derived",
                        "notes": ""}})


# ----------------------------------------------------------------------- atomic writes


def test_atomic_write_creates_folders_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "file.txt"
    assert atomic_write_text(target, "one") == target
    atomic_write_text(target, "two \u03b2")
    assert target.read_text(encoding="utf-8") == "two \u03b2"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.txt"]  # no temp left


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    target = tmp_path / "summary.json"
    target.write_text("old", encoding="utf-8")

    def no_space(*args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output.os, "replace", no_space)
    with pytest.raises(OutputError) as info:
        atomic_write_text(target, "new")
    assert str(info.value) == f"cannot write {target}: No space left on device"
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_unwritable_targets_raise_output_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match=r"cannot write .*file.*inner\.txt"):
        atomic_write_text(blocker / "inner.txt", "x")  # parent is a file
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(OutputError, match="cannot write"):
        atomic_write_text(folder, "x")  # target is a folder


def test_existing_file_mode_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("x", encoding="utf-8")
    os.chmod(target, 0o640)
    atomic_write_text(target, "y")
    assert target.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("name", ["..", "a/b", "a\\b", "", ".", "a..b"])
def test_unsafe_folder_names(name: str) -> None:
    with pytest.raises(ValueError):
        safe_folder_name(name)
    assert safe_folder_name("retail-2.v1") == "retail-2.v1"


# ------------------------------------------------------------------------- run outputs


def test_write_run_outputs(tmp_path: Path) -> None:
    rs = fake(4)
    paths = write_run_outputs(rs, tmp_path / "results")
    (folder,) = (tmp_path / "results" / "t").iterdir()
    assert folder.name.startswith("run-")
    assert paths == {"scenario": folder / "scenario.yaml",
                     "replications": folder / "replications.csv",
                     "summary": folder / "summary.json"}
    with open(paths["replications"], newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    assert list(rows[0]) == ["scenario", "replication", "seed", *SUMMARY_KEYS]
    for row, values in zip(rows, rs.values, strict=True):
        for key in SUMMARY_KEYS:  # full precision: the text reads back to the same float
            assert float(row[key]) == values[key] or (
                math.isnan(values[key]) and row[key] == "nan")
    assert rows[2]["replication"] == "2" and rows[2]["seed"] == "42"

    summary = json.loads(paths["summary"].read_text(encoding="utf-8"))
    assert list(summary)[:4] == ["scenario", "replications", "seed", "kpis"]
    assert summary["scenario"] == "t" and summary["replications"] == 4
    assert summary["seed"] == 42
    assert list(summary["kpis"]) == list(SUMMARY_KEYS)
    assert all(set(v) == {"mean", "ci_low", "ci_high"} for v in summary["kpis"].values())
    assert summary["kpis"]["cycle_service_level"]["mean"] is None  # NaN -> null, valid JSON
    assert summary["policies"]["A"]["reorder_point"] == 12
    assert summary["window_days"] == 640.0
    assert summary["servicesim_version"]

    assert load_scenario(paths["scenario"]) == rs.scenario


def test_write_run_outputs_reports_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "results"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(OutputError, match="cannot write .*results"):
        write_run_outputs(fake(), blocker)


# ----------------------------------------------------------------------------- display


def test_format_value_by_unit() -> None:
    assert format_value("item_fill_rate", 0.97531) == "97.53"
    assert format_value("revenue", 1234567.891) == "1,234,568"  # no cents from 1,000
    assert format_value("revenue", -999.994) == "-999.99"
    assert format_value("order_cycle_time_mean_days", 2.3456) == "2.35"
    assert format_value("roi", -0.5) == "-50.00"
    assert format_value("roi", math.nan) == "n/a"
    assert format_value("lost_sales_units", None) == "n/a"


def test_format_summary_table() -> None:
    summary = {
        "item_fill_rate": {"mean": 0.9753, "ci_low": 0.971, "ci_high": 0.97961},
        "revenue": {"mean": 1234567.0, "ci_low": 1200000.0, "ci_high": 1269134.5},
        "order_cycle_time_mean_days": {"mean": 2.5, "ci_low": 2.25, "ci_high": 2.75},
        "cycle_service_level": {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan},
    }
    table = format_summary_table(summary, "Baseline")
    lines = table.splitlines()
    assert lines[0] == "Baseline"
    assert "95 % CI" in lines[2]
    fill = next(line for line in lines if line.startswith("Item fill rate (β)"))
    assert fill.split() == ["Item", "fill", "rate", "(β)", "%", "97.53", "97.10", "–", "97.96"]
    revenue = next(line for line in lines if line.startswith("Revenue"))
    assert "1,234,567" in revenue and "1,200,000 – 1,269,134" in revenue
    assert "2.50" in next(line for line in lines if "cycle time" in line)
    assert "n/a" in next(line for line in lines if line.startswith("Cycle service"))
    # rows follow SUMMARY_KEYS order and all rows have the same width
    body = lines[4:]
    assert [line.split("  ")[0] for line in body][:2] == ["Item fill rate (β)",
                                                          "Cycle service level (α)"]
    assert len({len(line) for line in body}) == 1


def test_format_policy_and_header() -> None:
    rs = fake()
    line = format_policy(rs.policies["A"])
    assert line.startswith("sQ  s=12 (derived)  Q=40  target β 95.00 %  predicted β 95.12 %")
    header = format_run_header(rs)
    assert "replications  3 (root seed 42)" in header
    assert "640 days measured" in header
    assert header.splitlines()[-1].startswith("  A  sQ  s=12")
