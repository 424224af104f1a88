"""Faults: dead pool workers, SIGTERM and Ctrl-C, a full disk and an unwritable
results folder lose no finished row, leave no half-written file, and what is resumed equals
what runs without a fault, byte for byte.

A second Ctrl-C right after the first neither hangs nor leaks, and pool workers end when
their main process is killed.  Every fault here is injected on purpose and counted
(``FAULTS``); the SIGKILL and SIGINT of a CLI sweep are in ``test_sweeping.py``, the Dask
faults in ``test_dask.py``.
"""

from __future__ import annotations

import errno
import json
import os
import queue
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from servicesim import files as output
from servicesim.cli import main
from servicesim.experiment import engine
from servicesim.experiment import sweep as sweeping
from servicesim.experiment.engine import (
    MAX_ATTEMPTS,
    Task,
    WorkerDied,
    alternatives,
    execute,
    make_tasks,
    parse_param,
    run_task,
)
from servicesim.experiment.executors import (
    ProcessPool,
    Terminated,
    ignoring_interrupts,
    signal_number,
    terminate_as_interrupt,
)
from servicesim.experiment.sweep import sweep
from servicesim.files import OutputError
from servicesim.scenario.schema import Scenario
from sweep_helpers import BASE, data_rows, group_gone, start, write_tiny

PARAM = "policy.service_target=0.5:0.695:0.005"  # 40 alternatives x 3: about 1 s on 2 cores
RUNS = 40 * 3
FEW = "policy.service_target=0.5:0.95:0.05"  # 10 alternatives x 3


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny(tmp_path_factory.mktemp("scenario"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """runs.csv of the PARAM sweep without any fault (a plain 2-process pool)."""
    result = sweep(BASE, [PARAM], workers=2, out_dir=tmp_path_factory.mktemp("reference"))
    return (result.directory / "runs.csv").read_bytes()


def few_tasks(replications: int = 3) -> list[Task]:
    return make_tasks(alternatives(BASE, [parse_param(FEW)]), replications, root_seed=7)


def seen_keys(rows: list[dict[str, Any]]) -> list[tuple[int, int]]:
    return [(r["alternative"], r["replication"]) for r in rows]


def temp_files(folder: Path) -> list[str]:
    """Leftovers of atomic writes (``.<name>.<random>.tmp``)."""
    return sorted(p.name for p in folder.rglob("*.tmp"))


def snapshot(folder: Path) -> dict[str, bytes]:
    """The result files under ``folder`` and their bytes (temporary files aside)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix != ".tmp"}


# ------------------------------------------------------------- tasks that kill workers
# Module-level (picklable): a forked pool worker runs them instead of run_task.


def die_first_time(marker_dir: str, victims: frozenset[tuple[int, int]], task: Task
                   ) -> dict[str, Any]:
    """Kill this worker process the first time a victim task runs (marker file: the first
    attempt only), then run it normally."""
    key = (task.alternative, task.replication)
    if key in victims:
        try:
            (Path(marker_dir) / f"died-{key[0]}-{key[1]}").open("x").close()
        except FileExistsError:
            pass
        else:
            if key[1] % 2:
                os._exit(3)  # an abrupt exit
            os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer does
    return run_task(task)


def always_die(victim: tuple[int, int], log: str, task: Task) -> dict[str, Any]:
    """Kill this worker every time ``victim`` runs (logging each attempt)."""
    if (task.alternative, task.replication) == victim:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write("attempt\n")
        os.kill(os.getpid(), signal.SIGKILL)
    return run_task(task)


class KillingPool(ProcessPool):
    """A process pool that SIGKILLs one of its own workers at the ``at``-th submission,
    while runs are in flight (the test "kills a pool pid")."""

    def __init__(self, workers: int, at: int) -> None:
        super().__init__(workers)
        self.at, self.submitted, self.killed = at, 0, 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        future = super().submit(fn, *args, **kwargs)
        self.submitted += 1
        if self.submitted == self.at:
            os.kill(self.pids()[0], signal.SIGKILL)
            self.killed += 1
        return future


# ------------------------------------------------------------------ dead pool workers


def test_workers_killed_on_a_first_attempt_are_replaced_and_rows_equal_serial(
        tmp_path: Path) -> None:
    tasks = few_tasks()
    victims = frozenset({(1, 0), (4, 1), (8, 2)})  # SIGKILL, os._exit, SIGKILL
    seen: list[tuple[int, int]] = []
    with ProcessPool(2) as pool:
        rows = execute(tasks, pool, on_row=lambda r: seen.append((r["alternative"],
                                                                   r["replication"])),
                       run=partial(die_first_time, str(tmp_path), victims))
        restarts = pool.restarts
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "died-1-0", "died-4-1", "died-8-2"]  # every fault was injected
    assert 1 <= restarts <= len(victims)  # two victims may share one broken pool
    assert sorted(seen) == [(t.alternative, t.replication) for t in tasks]  # once each
    assert repr(rows) == repr(execute(tasks, workers=1))  # same seeds, identical figures


def test_a_callers_process_pool_that_breaks_is_replaced(tmp_path: Path) -> None:
    """A plain ProcessPoolExecutor passed in: once broken, a new pool finishes the runs."""
    tasks = few_tasks(replications=2)
    with ProcessPoolExecutor(max_workers=2) as callers:
        rows = execute(tasks, callers,
                       run=partial(die_first_time, str(tmp_path), frozenset({(3, 0)})))
    assert [p.name for p in tmp_path.iterdir()] == ["died-3-0"]
    assert seen_keys(rows) == [(t.alternative, t.replication) for t in tasks]
    assert repr(rows) == repr(execute(tasks, workers=1))


def test_a_run_that_always_kills_its_worker_is_given_up_after_bounded_attempts(
        tmp_path: Path) -> None:
    tasks = few_tasks(replications=2)[:8]
    log = tmp_path / "attempts.log"
    seen: list[tuple[int, int]] = []
    start = time.monotonic()
    with ProcessPool(2) as pool, pytest.raises(WorkerDied) as info:
        execute(tasks, pool, on_row=lambda r: seen.append((r["alternative"],
                                                           r["replication"])),
                run=partial(always_die, (2, 1), str(log)))
    assert time.monotonic() - start < 30
    message = str(info.value)
    assert message.startswith("alternative 2 (policy.service_target=0.6), replication 1: "
                              f"the worker process running it died {MAX_ATTEMPTS} times")
    assert "rows are kept" in message and "--resume" in message
    assert info.value.task is not None and info.value.task.alternative == 2
    # once among others (not charged), then MAX_ATTEMPTS times alone (charged): bounded
    assert log.read_text(encoding="utf-8").count("attempt") == MAX_ATTEMPTS + 1
    assert pool.restarts == MAX_ATTEMPTS + 1
    assert sorted(seen) == [(t.alternative, t.replication) for t in tasks
                            if (t.alternative, t.replication) != (2, 1)]  # the rest, once


def test_a_pool_worker_killed_mid_sweep_loses_no_row(tmp_path: Path,
                                                     reference: bytes) -> None:
    pool = KillingPool(2, at=40)
    with pool:
        result = sweep(BASE, [PARAM], executor=pool, out_dir=tmp_path)
    assert pool.killed == 1 and pool.restarts >= 1
    runs = result.directory / "runs.csv"
    assert runs.read_bytes() == reference
    assert data_rows(runs) == RUNS
    manifest = json.loads((result.directory / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "complete" and manifest["n_simulations"] == RUNS


def simulate_or_die(scenario: Scenario, seed: Any) -> Any:
    """engine.simulate for a forked pool: alternative 0.6 always kills its worker."""
    if scenario.policy.service_target == 0.6:
        os.kill(os.getpid(), signal.SIGKILL)
    return REAL_SIMULATE(scenario, seed)


REAL_SIMULATE = engine.simulate


def test_a_sweep_whose_run_keeps_killing_workers_fails_clearly_keeping_the_rest(
        tiny_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(engine, "simulate", simulate_or_die)  # forked workers inherit it
    args = ["sweep", str(tiny_file), "--param", FEW, "--out", str(tmp_path), "--quiet",
            "--workers", "2", "--no-plots", "--id", "s"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("servicesim: error: alternative 2 (policy.service_target=0.6), "
                          "replication ")
    assert f"died {MAX_ATTEMPTS} times" in err and "Traceback" not in err
    folder = tmp_path / "tiny" / "s"
    assert f"finished runs are kept in {folder / 'runs.csv'}; continue with:" in err
    assert data_rows(folder / "runs.csv") == 27  # every run but the three of 0.6
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "failed" and manifest["n_simulations"] == 27


def simulate_or_die_above(scenario: Scenario, seed: Any) -> Any:
    """engine.simulate for a forked pool: a target above 0.8 always kills its worker."""
    if scenario.policy.service_target > 0.8:
        os.kill(os.getpid(), signal.SIGKILL)
    return REAL_SIMULATE(scenario, seed)


def test_an_optimisation_whose_run_keeps_killing_workers_says_how_to_resume(
        tiny_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(engine, "simulate", simulate_or_die_above)
    args = ["optimize", str(tiny_file), "--param", "policy.service_target", "--bounds", "0.5",
            "0.9", "--replications", "2", "--out", str(tmp_path), "--quiet", "--workers", "2",
            "--no-plots", "--id", "o"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert f"died {MAX_ATTEMPTS} times" in err and "Traceback" not in err
    assert "continue with:\n  servicesim optimize " in err and err.rstrip().endswith(
        "--resume")
    document = json.loads((tmp_path / "tiny" / "o" / "result.json").read_text(encoding="utf-8"))
    assert document["status"] == "failed"


# ------------------------------------------------------------------- SIGTERM, Ctrl-C


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; any still running at the end are killed (with their group)."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until(condition: Callable[[], bool], process: subprocess.Popen[str],
               timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, "the command ended before the fault was injected"
        assert time.monotonic() < deadline, "timed out waiting for the command"
        time.sleep(0.02)


def test_sigterm_stops_a_sweep_keeps_its_rows_and_the_resume_equals_a_full_run(
        tiny_file: Path, tmp_path: Path, reference: bytes,
        processes: list[subprocess.Popen[str]]) -> None:
    args = ["sweep", str(tiny_file), "--param", PARAM, "--out", str(tmp_path), "--quiet",
            "--workers", "2", "--no-plots"]
    process = start(args, tmp_path)
    processes.append(process)
    found: list[Path] = []

    def has_rows() -> bool:
        found[:] = list(tmp_path.glob("tiny/*/runs.csv"))
        return bool(found) and data_rows(found[0]) > 0

    wait_until(has_rows, process)
    sent = time.monotonic()
    os.kill(process.pid, signal.SIGTERM)  # `kill PID`: the main process only
    _, err = process.communicate(timeout=30)
    assert time.monotonic() - sent < 10, "the sweep took too long to stop"
    assert process.returncode == 143, err
    assert "Traceback" not in err and "interrupted" in err
    assert group_gone(process.pid), "pool workers outlived the sweep"
    runs = found[0]
    assert not temp_files(runs.parent)
    kept = data_rows(runs)
    manifest = json.loads((runs.parent / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "interrupted" and manifest["n_simulations"] == kept
    assert 0 < kept < RUNS
    assert reference.startswith(runs.read_bytes()[:40])  # the same header
    kept_lines = set(runs.read_bytes().splitlines())
    assert kept_lines <= set(reference.splitlines())  # every kept row is a finished row

    command = err.strip().splitlines()[-1].strip()
    assert command.startswith("servicesim sweep ") and command.endswith(
        f"--resume --id {runs.parent.name}")
    assert main(shlex.split(command)[1:]) == 0
    assert runs.read_bytes() == reference
    manifest = json.loads((runs.parent / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "complete"
    assert [s["status"] for s in manifest["sessions"]] == ["interrupted", "complete"]
    assert manifest["sessions"][-1]["n_simulations"] == RUNS - kept


def test_sigterm_is_an_interrupt_and_saving_ignores_a_second_signal() -> None:
    before = signal.getsignal(signal.SIGTERM)
    # what the runner started with: Python's handler, or SIG_IGN in a background job
    before_int = signal.getsignal(signal.SIGINT)
    with pytest.raises(Terminated) as info, terminate_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # not reached: the handler raises at once
    assert isinstance(info.value, KeyboardInterrupt) and signal_number(info.value) == 15
    assert signal_number(KeyboardInterrupt()) == 2
    assert signal.getsignal(signal.SIGTERM) is before
    with terminate_as_interrupt(), ignoring_interrupts():
        os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C while results are saved
        os.kill(os.getpid(), signal.SIGTERM)
        saved = True
    assert saved and signal.getsignal(signal.SIGINT) is before_int


def test_only_the_first_interrupt_interrupts_and_a_checkpoint_defers_it() -> None:
    before_int = signal.getsignal(signal.SIGINT)
    with terminate_as_interrupt():
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # not reached
        os.kill(os.getpid(), signal.SIGINT)  # the second Ctrl-C, while stopping: ignored
        os.kill(os.getpid(), signal.SIGTERM)
        stopped = True
    assert stopped and signal.getsignal(signal.SIGINT) is before_int
    saved = False
    with pytest.raises(KeyboardInterrupt), terminate_as_interrupt():
        with ignoring_interrupts(defer=True):
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C during a checkpoint
            saved = True
        pytest.fail("the deferred Ctrl-C was dropped")
    assert saved


class LineReader(threading.Thread):
    """Reads a pipe line by line into a queue (so a test can wait for a line)."""

    def __init__(self, stream: Any) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.lines: queue.Queue[str] = queue.Queue()
        self.text: list[str] = []

    def run(self) -> None:
        for line in self.stream:
            self.text.append(line)
            self.lines.put(line)

    def wait_for(self, prefix: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            if line.startswith(prefix):
                return line


def stop_optimize(tiny_file: Path, tmp_path: Path, processes: list[subprocess.Popen[str]],
                  out: str, line: str, sig: int
                  ) -> tuple[list[str], subprocess.Popen[str], LineReader]:
    """Start ``servicesim optimize`` on the tiny scenario (results in ``tmp_path / out``),
    send ``sig`` to its process group once ``line`` is on stderr, and wait for it to end."""
    args = ["optimize", str(tiny_file), "--replications", "2", "--max-replications", "16",
            "--out", str(tmp_path / out), "--workers", "2", "--no-plots"]
    process = start(args, tmp_path)
    processes.append(process)
    reader = LineReader(process.stderr)
    reader.start()
    reader.wait_for(line)
    os.killpg(process.pid, sig)
    process.wait(timeout=30)
    reader.join(timeout=10)
    return args, process, reader


def search_again_whole(args: list[str], folder: Path, tmp_path: Path
                       ) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """Run the search of ``args`` uninterrupted into ``tmp_path / "whole"``; assert the
    resumed ``folder`` holds the same rows and evaluations; return the whole search's
    folder and both result documents (resumed, fresh)."""
    assert main([*args[:args.index("--out")], "--out", str(tmp_path / "whole"), "--workers",
                 "2", "--no-plots", "--quiet"]) == 0
    (whole,) = (tmp_path / "whole" / "tiny").iterdir()
    for name in ("runs.csv", "evaluations.csv", "chart_records.json"):
        assert (folder / name).read_bytes() == (whole / name).read_bytes(), name
    resumed = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    fresh = json.loads((whole / "result.json").read_text(encoding="utf-8"))
    assert resumed["status"] == "complete" and resumed["best"] == fresh["best"]
    return whole, resumed, fresh


def test_ctrl_c_stops_optimize_keeping_its_runs_and_resume_gives_the_same_result(
        tiny_file: Path, tmp_path: Path, processes: list[subprocess.Popen[str]]) -> None:
    # a terminal's Ctrl-C: SIGINT to the whole group
    args, process, reader = stop_optimize(tiny_file, tmp_path, processes, "stopped",
                                          "optimize: round 1:", signal.SIGINT)
    err = "".join(reader.text)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted:" in err
    assert group_gone(process.pid), "pool workers outlived the optimisation"
    (folder,) = (tmp_path / "stopped" / "tiny").iterdir()
    document = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    assert document["status"] == "interrupted" and document["objective"] == "roi"
    kept = data_rows(folder / "runs.csv")
    assert kept == document["n_simulations"] >= 18  # at least the first round's 9 x 2
    assert not temp_files(folder)

    command = err.strip().splitlines()[-1].strip()
    assert command.startswith("servicesim optimize ") and "--resume" in command
    assert main([*shlex.split(command)[1:], "--quiet"]) == 0
    whole, resumed, fresh = search_again_whole(args, folder, tmp_path)
    assert whole.name == folder.name  # the same search, the same content id
    assert resumed["not_worse"] == fresh["not_worse"]
    assert resumed["n_simulations"] == fresh["n_simulations"] > kept


def test_a_killed_optimize_keeps_its_finished_rounds_and_resumes_to_the_same_result(
        tiny_file: Path, tmp_path: Path, processes: list[subprocess.Popen[str]]) -> None:
    """SIGKILL leaves no time to save anything: the rows saved after each round are what
    --resume continues from, and it ends where an uninterrupted search ends."""
    # "round 2:" is printed after round 2's rows were saved
    args, process, _ = stop_optimize(tiny_file, tmp_path, processes, "killed",
                                     "optimize: round 2:", signal.SIGKILL)
    assert group_gone(process.pid)
    (folder,) = (tmp_path / "killed" / "tiny").iterdir()
    document = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    assert document["status"] == "running" and document["rounds"] >= 2
    kept = data_rows(folder / "runs.csv")
    assert kept == document["n_simulations"] >= 18  # at least the first round's 9 x 2
    assert not temp_files(folder)

    assert main([*args, "--resume", "--quiet"]) == 0
    _, resumed, fresh = search_again_whole(args, folder, tmp_path)
    assert resumed["n_simulations"] == fresh["n_simulations"] > kept


# ------------------------------------------------ a second Ctrl-C, an orphaned worker

LONG = "policy.service_target=0.5:0.995:0.001"  # 496 alternatives x 3: far from done when hit


def command_with_rows(command: str, tiny_file: Path, tmp_path: Path,
                      processes: list[subprocess.Popen[str]], *extra: str
                      ) -> tuple[subprocess.Popen[str], Path]:
    """Start ``servicesim sweep`` or ``optimize`` on the tiny scenario (the default process
    pool unless ``extra`` says otherwise); return it and its folder once runs.csv has rows."""
    what = (["--param", LONG] if command == "sweep"
            else ["--replications", "2", "--max-replications", "64"])
    process = start([command, str(tiny_file), *what, "--out", str(tmp_path), "--quiet",
                     "--no-plots", *extra], tmp_path)
    processes.append(process)
    found: list[Path] = []

    def has_rows() -> bool:
        found[:] = list(tmp_path.glob("tiny/*/runs.csv"))
        return bool(found) and data_rows(found[0]) > 0

    wait_until(has_rows, process)
    return process, found[0].parent


@pytest.mark.parametrize("gap", [0.02, 0.1, 0.25])
@pytest.mark.parametrize("command", ["sweep", "optimize"])
def test_a_second_ctrl_c_soon_after_the_first_neither_hangs_nor_leaks(
        command: str, gap: float, tiny_file: Path, tmp_path: Path,
        processes: list[subprocess.Popen[str]]) -> None:
    """The second Ctrl-C lands while the first one's rows are saved and the pool is stopped
    (or while the interpreter joins the pool's thread at exit): it is ignored."""
    process, folder = command_with_rows(command, tiny_file, tmp_path, processes)
    os.killpg(process.pid, signal.SIGINT)
    time.sleep(gap)  # the gap between two key presses, not a wait for a result
    os.killpg(process.pid, signal.SIGINT)
    sent = time.monotonic()
    try:
        _, err = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{command} hung after a second Ctrl-C")
    assert time.monotonic() - sent < 30, "took too long to stop"
    assert process.returncode == 130, err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert "interrupted:" in err and "--resume" in err.strip().splitlines()[-1]
    assert group_gone(process.pid), "worker processes outlived the command"
    document = json.loads((folder / ("manifest.json" if command == "sweep"
                                     else "result.json")).read_text(encoding="utf-8"))
    kept = data_rows(folder / "runs.csv")
    assert document["status"] == "interrupted" and document["n_simulations"] == kept > 0
    assert (folder / "runs.csv").read_bytes().endswith(b"\n") and not temp_files(folder)


def children(pid: int) -> list[int]:
    """Process ids of the children of ``pid`` (Linux)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="ascii")
    return [int(child) for child in text.split()]


def running(pid: int) -> bool:
    """Whether ``pid`` is a process that has not ended (a zombie has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


@pytest.mark.skipif(not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists(),
                    reason="needs Linux's /proc/PID/task/PID/children")
def test_pool_workers_end_when_the_main_process_is_killed(
        tiny_file: Path, tmp_path: Path, processes: list[subprocess.Popen[str]]) -> None:
    process, _ = command_with_rows("sweep", tiny_file, tmp_path, processes, "--workers", "2")
    workers = children(process.pid)
    assert len(workers) >= 2 and all(running(pid) for pid in workers)
    try:
        os.kill(process.pid, signal.SIGKILL)  # the main process only, as the OOM killer does
        process.wait(timeout=30)  # not communicate(): orphans would hold its pipes open
        deadline = time.monotonic() + 30
        while any(running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in workers if running(pid)], "orphaned workers kept running"
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


# ------------------------------------------------------------- full disk, no permission


def full_disk_after(good_writes: int, folder: Path) -> tuple[Callable[[int, bytes], None],
                                                             dict[str, Any]]:
    """A stand-in for output._write_temp: the first ``good_writes`` writes succeed, later
    ones write half their data and fail with ENOSPC (as a filling disk does).  At the first
    failure it records the files of ``folder`` as they were."""
    real = output._write_temp
    state: dict[str, Any] = {"calls": 0, "failures": 0, "before": None}

    def write(fd: int, data: bytes) -> None:
        state["calls"] += 1
        if state["calls"] <= good_writes:
            real(fd, data)
            return
        if state["before"] is None:
            state["before"] = snapshot(folder) if folder.exists() else {}
        state["failures"] += 1
        try:
            os.write(fd, data[: len(data) // 2])
        finally:
            os.close(fd)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    return write, state


def test_a_disk_that_fills_mid_sweep_keeps_what_was_written_and_resume_completes(
        tiny_file: Path, tmp_path: Path, reference: bytes, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sweep", str(tiny_file), "--param", PARAM, "--out", str(tmp_path), "--quiet",
            "--workers", "2", "--no-plots"]
    monkeypatch.setattr(sweeping, "_FLUSH_SECONDS", 0.0)  # runs.csv rewritten at every row
    # scenario.yaml, runs.csv (header), manifest.json, then the first row: its chart
    # record (replication 0 has one, written before its row) and runs.csv, or runs.csv
    # alone and then the next record or rows (the order the two workers finish in decides);
    # the disk is full after five writes, with one or two rows kept
    write, state = full_disk_after(5, tmp_path)
    monkeypatch.setattr(output, "_write_temp", write)
    assert main(args) == 2
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert state["failures"] >= 1 and "Traceback" not in err
    (folder,) = (tmp_path / "tiny").iterdir()
    runs = folder / "runs.csv"
    written = err.removeprefix("servicesim: error: cannot write ").split(":")[0]
    assert written in (str(runs), str(folder / "chart_records.json")), err
    assert ": No space left on device\n" in err
    assert f"continue with:\n  servicesim sweep {tiny_file}" in err
    assert not temp_files(tmp_path)
    assert snapshot(tmp_path) == state["before"]  # nothing written after the disk filled
    header, *rows = runs.read_bytes().splitlines()  # as written before the disk filled
    assert 1 <= len(rows) <= 2 and reference.startswith(header)
    assert set(rows) <= set(reference.splitlines()[1:])
    # every kept row of a replication 0 has its chart record (written before the row)
    kept = {r.split(b",")[0].decode() for r in rows if r.split(b",")[2] == b"0"}
    if kept:
        records = json.loads((folder / "chart_records.json").read_text(encoding="utf-8"))
        assert kept <= set(records["alternatives"])

    assert main([*args, "--resume"]) == 0  # space again
    assert runs.read_bytes() == reference
    # a record whose write failed is made again: every alternative's replication 0 has one
    records = json.loads((folder / "chart_records.json").read_text(encoding="utf-8"))
    alternatives = {line.split(b",")[0] for line in reference.splitlines()[1:]}
    assert sorted(records["alternatives"]) == sorted(a.decode() for a in alternatives)


def test_a_full_disk_leaves_the_earlier_results_of_a_run_byte_identical(
        tiny_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    args = ["run", str(tiny_file), "--out", str(tmp_path), "--quiet", "--id", "same"]
    assert main([*args, "--set", "run.seed=1"]) == 0
    before = snapshot(tmp_path)
    assert set(before) == {f"tiny/same/{name}" for name in
                           ("replications.csv", "summary.json", "scenario.yaml")}
    write, state = full_disk_after(0, tmp_path)
    monkeypatch.setattr(output, "_write_temp", write)
    assert main([*args, "--set", "run.seed=2", "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert state["failures"] == 1  # the first file failed; nothing else was tried
    assert err.startswith(f"servicesim: error: cannot write {tmp_path / 'tiny'}")
    assert err.rstrip().endswith("No space left on device") and "Traceback" not in err
    assert snapshot(tmp_path) == before and not temp_files(tmp_path)


def test_an_unwritable_results_folder_is_named_simulated(
        tiny_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The permission error as the operating system raises it (works as root too)."""
    def refuse(*args: Any, dir: str | None = None, **kwargs: Any) -> Any:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), dir)

    monkeypatch.setattr(output.tempfile, "mkstemp", refuse)
    assert main(["sweep", str(tiny_file), "--param", FEW, "--out", str(tmp_path),
                 "--quiet", "--workers", "1", "--no-plots"]) == 2
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert err.startswith(f"servicesim: error: cannot write {tmp_path / 'tiny'}")
    assert "scenario.yaml: Permission denied" in err and "Traceback" not in err
    assert "continue with" not in err  # no rows: nothing to resume
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a 0o500 folder anyway; "
                                             "test_an_unwritable_results_folder_is_named_"
                                             "simulated covers the same error")
def test_an_unwritable_results_folder_is_named(tiny_file: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sweep", str(tiny_file), "--param", FEW, "--out", str(tmp_path), "--quiet",
            "--workers", "1", "--no-plots", "--id", "s"]
    assert main(args) == 0
    folder = tmp_path / "tiny" / "s"
    before = snapshot(folder)
    folder.chmod(0o500)
    try:
        assert main([*args, "--resume"]) == 2
    finally:
        folder.chmod(0o700)
    err = capsys.readouterr().err
    assert err.startswith(f"servicesim: error: cannot write {folder}")
    assert "Permission denied" in err and "Traceback" not in err
    assert snapshot(folder) == before and not temp_files(folder)


@pytest.mark.parametrize("command", ["sweep", "optimize"])
def test_a_disk_with_room_only_for_small_files_leaves_the_status_failed(
        command: str, tiny_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """When runs.csv can no longer be written (the disk filled) but a small file still fits,
    the manifest says ``failed``, not ``running``, and the command exits 2 naming the file."""
    from servicesim import files

    real, written = files.atomic_write_bytes, {"runs": 0}

    def write(path: Any, data: bytes) -> Path:
        if Path(path).name == "runs.csv":
            written["runs"] += 1
            if written["runs"] > 2:
                raise OutputError(f"cannot write {path}: No space left on device")
        return real(path, data)

    monkeypatch.setattr(files, "atomic_write_bytes", write)
    args = {"sweep": ["sweep", str(tiny_file), "--param", PARAM, "--workers", "1"],
            "optimize": ["optimize", str(tiny_file), "--replications", "2",
                         "--max-replications", "4", "--workers", "1"]}[command]
    assert main([*args, "--out", str(tmp_path), "--quiet", "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert "runs.csv: No space left on device" in err and "Traceback" not in err
    (folder,) = (tmp_path / "tiny").iterdir()
    manifest = folder / ("manifest.json" if command == "sweep" else "result.json")
    assert json.loads(manifest.read_text(encoding="utf-8"))["status"] == "failed"
