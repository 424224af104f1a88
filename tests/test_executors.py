"""Executors: serial, process pool and Dask LocalCluster give byte-identical rows; an
unreachable, silent, malformed or workerless Dask scheduler fails fast and clearly, and one
killed mid-sweep is reported with the command that resumes."""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import suppress
from pathlib import Path
from typing import Any

import distributed
import pytest
import yaml

from servicesim.cli import main
from servicesim.experiment.engine import (
    ExecutorLost,
    WorkerDied,
    alternatives,
    execute,
    make_tasks,
    parse_param,
)
from servicesim.experiment.executors import ExecutorError, make_executor
from servicesim.experiment.sweep import sweep
from servicesim.scenario.schema import Scenario
from sweep_helpers import data_rows, start, write_tiny

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
    code = ("import sys, servicesim; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('dask', 'distributed', 'tqdm', 'pandas')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


# ------------------------------------------------- schedulers that do not or no longer answer


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers on them."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        with suppress(OSError):
            while True:
                held.append(listener.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        for connection in held:
            connection.close()


def test_cli_a_scheduler_that_accepts_and_never_answers_exits_2_within_the_timeout(
        tmp_path: Path, silent_port: int) -> None:
    scenario = write_tiny(tmp_path)
    address = f"tcp://127.0.0.1:{silent_port}"
    process = start(["sweep", str(scenario), "--param", "policy.service_target=0.9",
                     "--out", str(tmp_path), "--scheduler", address,
                     "--scheduler-timeout", "2"], tmp_path)
    began = time.monotonic()
    try:
        _, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail("waited for ever on a scheduler that never answers")
    assert time.monotonic() - began < 2 + 60  # the timeout, start-up, a loaded machine
    assert process.returncode == 2, err
    assert err.startswith(f"servicesim: error: --scheduler {address}: no Dask scheduler "
                          "answered (waited at most 2 s): nothing answered within 2 s")
    assert "Traceback" not in err and "Exception ignored" not in err


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:99999", "tcp://127.0.0.1:0",
                                     "127.0.0.1", "http://127.0.0.1:8786"])
def test_a_bad_scheduler_address_is_refused_at_once_and_quietly(
        address: str, monkeypatch: pytest.MonkeyPatch) -> None:
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    began = time.monotonic()
    with pytest.raises(ExecutorError, match="not a Dask scheduler address"):
        with make_executor(scheduler=address, connect_timeout=30):
            pytest.fail("connected to a bad address")
    gc.collect()
    assert time.monotonic() - began < 10  # at once, not after the timeout
    assert not unraisable  # a half-made Client complaining as it is collected


def test_a_scheduler_without_workers_times_out_with_a_message() -> None:
    cluster = distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None)
    try:
        began = time.monotonic()
        with pytest.raises(ExecutorError, match="has no workers .waited 2 s.; start some"):
            with make_executor(scheduler=cluster.scheduler_address, connect_timeout=2):
                pytest.fail("a cluster without workers cannot run anything")
        assert time.monotonic() - began < 2 + 45
    finally:
        cluster.close()


class CancellingExecutor(Executor):
    """Cancels every run, as a Dask client does when its scheduler goes away."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.cancel()
        future.set_running_or_notify_cancel()  # as an executor does with a cancelled run
        return future


def test_runs_cancelled_by_the_executor_are_an_executor_lost() -> None:
    tasks = make_tasks(alternatives(BASE, [parse_param("policy.service_target=0.8,0.9")]),
                       2, root_seed=5)
    with pytest.raises(ExecutorLost, match="scheduler stopped or the connection to it was "
                                           "lost") as info:
        execute(tasks, CancellingExecutor())
    assert isinstance(info.value, WorkerDied) and "--resume" in str(info.value)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_cli_a_scheduler_killed_mid_sweep_says_so_and_how_to_resume(tmp_path: Path) -> None:
    scenario = write_tiny(tmp_path)
    address = f"tcp://127.0.0.1:{free_port()}"
    cluster = [subprocess.Popen([sys.executable, "-m", *command], cwd=tmp_path,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
               for command in (["distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                "--port", address.rpartition(":")[2], "--no-dashboard"],
                               ["distributed.cli.dask_worker", address, "--nthreads", "1",
                                "--no-dashboard"])]
    sweeping = start(["sweep", str(scenario), "--param", "policy.service_target=0.5:0.995:0.001",
                      "--out", str(tmp_path), "--quiet", "--no-plots", "--scheduler", address,
                      "--scheduler-timeout", "60"], tmp_path)
    try:
        deadline = time.monotonic() + 120
        runs: list[Path] = []
        while not (runs and data_rows(runs[0]) > 0):
            assert sweeping.poll() is None, sweeping.communicate()
            assert time.monotonic() < deadline, "the sweep wrote no rows in time"
            time.sleep(0.05)
            runs = list(tmp_path.glob("tiny/*/runs.csv"))
        cluster[0].kill()  # the scheduler
        try:
            _, err = sweeping.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail("the sweep hung after its scheduler was killed")
    finally:
        for process in [sweeping, *cluster]:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert sweeping.returncode == 1, err
    assert "CancelledError" not in err and "Traceback" not in err, err
    assert err.startswith("servicesim: error: the executor cancelled alternative ")
    assert "the Dask scheduler stopped or the connection to it was lost" in err
    resume = err.strip().splitlines()[-1].strip()
    assert resume.startswith("servicesim sweep ") and "--resume --id " in resume
    manifest = json.loads((runs[0].parent / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "failed" and manifest["n_simulations"] == data_rows(runs[0])
