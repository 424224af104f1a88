"""Executors: serial, process pool and Dask LocalCluster give byte-identical rows; an
unreachable Dask scheduler fails fast and clearly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from servicesim.cli import main
from servicesim.experiment.executors import ExecutorError, make_executor
from servicesim.experiment.sweep import sweep
from servicesim.scenario.schema import Scenario

TINY = {
    "name": "tiny",
    "run": {"horizon_days": 90, "warmup_days": 10, "replications": 3, "seed": 5},
    "skus": {"A": {"unit_cost": 10, "price": 15}, "B": {"unit_cost": 40, "price": 50}},
    "policy": {"service_target": 0.9},
    "segments": {"s": {"customers": 15,
                       "order_interval_days": {"type": "exponential", "mean": 1.0},
                       "reactions": {"backorder": 0.4, "switch": 0.5, "defect": 0.1}}},
}
BASE = Scenario.model_validate(TINY)
PARAMS = ["policy.service_target=0.7:0.95:0.05", "supplier.lead_time_days=3,8"]
UNREACHABLE = "tcp://127.0.0.1:1"  # loopback, a port nothing listens on


def test_serial_processes_and_dask_give_identical_files(tmp_path: Path) -> None:
    files = {}
    with make_executor(workers=1) as (executor, how):
        assert executor is None and how == "serially in this process"
        serial = sweep(BASE, PARAMS, executor=executor, workers=1, out_dir=tmp_path / "serial")
    with make_executor(workers=2) as (executor, how):
        assert how == "2 local processes"
        pool = sweep(BASE, PARAMS, executor=executor, out_dir=tmp_path / "pool")
    with make_executor(dask_local=2) as (executor, how):
        assert how == "Dask LocalCluster of 2 worker processes"
        dask = sweep(BASE, PARAMS, executor=executor, out_dir=tmp_path / "dask")
    for name, result in (("serial", serial), ("pool", pool), ("dask", dask)):
        assert result.n_simulations == 12 * 3
        files[name] = {f: (result.directory / f).read_bytes()
                       for f in ("runs.csv", "summary.csv")}
    assert files["serial"] == files["pool"] == files["dask"]
    assert repr(serial.runs) == repr(pool.runs) == repr(dask.runs)


def test_an_unreachable_scheduler_fails_within_the_timeout() -> None:
    start = time.monotonic()
    with pytest.raises(ExecutorError) as info:
        with make_executor(scheduler=UNREACHABLE, connect_timeout=2):
            pytest.fail("connected to nothing")
    assert time.monotonic() - start < 15
    assert UNREACHABLE in str(info.value) and "2 s" in str(info.value)


def test_cli_unreachable_scheduler_exits_2(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(TINY), encoding="utf-8")
    start = time.monotonic()
    assert main(["sweep", str(scenario), "--param", "policy.service_target=0.9",
                 "--out", str(tmp_path), "--scheduler", UNREACHABLE,
                 "--scheduler-timeout", "2"]) == 2
    assert time.monotonic() - start < 15
    err = capsys.readouterr().err
    assert err.startswith("servicesim: error: --scheduler tcp://127.0.0.1:1: ")
    assert "Traceback" not in err and "scheduler is running" in err


@pytest.mark.parametrize("kwargs, message", [
    ({"workers": 0}, "--workers"),
    ({"scheduler": UNREACHABLE, "dask_local": 2}, "not both"),
    ({"dask_local": 0}, "--dask-local"),
    ({"scheduler": " "}, "needs an address"),
])
def test_bad_executor_requests(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ExecutorError, match=message):
        with make_executor(**kwargs):  # type: ignore[arg-type]
            pass


def test_importing_servicesim_does_not_import_dask() -> None:
    import subprocess
    import sys

    code = ("import sys, servicesim; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('dask', 'distributed', 'tqdm', 'pandas')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
