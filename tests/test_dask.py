"""Dask: a worker lost mid-sweep is survived with every row exactly once,
a run that keeps killing its workers is given up with a clear error, and a 1000-SKU scenario
swept over 5 targets x 4 replications, a small network (DOMAIN §7) swept over its DC's
levels and a frontier search (DOMAIN §12) on a LocalCluster equal the process pool row for
row.

One LocalCluster of two single-threaded worker processes serves the whole module (its
start-up costs seconds).  The unreachable scheduler is tested in ``test_executors.py``.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import dask
import pytest

from servicesim.experiment.engine import (
    Task,
    WorkerDied,
    alternatives,
    execute,
    make_tasks,
    parse_param,
    run_task,
)
from servicesim.inputs.generate import generate_dataset
from servicesim.inputs.scenario_file import load_scenario
from servicesim.scenario.schema import Scenario
from sweep_helpers import BASE

distributed = pytest.importorskip("distributed")

ALLOWED_FAILURES = 1
"""Worker deaths a task may cause before the scheduler gives up on it (Dask's default is 3;
fewer keeps the give-up test short, and one loss is still survived)."""


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
    client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def wait_for_workers(client: Any, count: int, timeout: float = 60) -> None:
    """Until ``count`` workers are connected (a killed one is restarted by its nanny)."""
    deadline = time.monotonic() + timeout
    while len(client.scheduler_info(n_workers=-1)["workers"]) < count:
        assert time.monotonic() < deadline, "the cluster did not get its workers back"
        time.sleep(0.05)


def keys(rows: list[dict[str, Any]]) -> list[tuple[int, int]]:
    return [(r["alternative"], r["replication"]) for r in rows]


def test_a_worker_lost_mid_sweep_is_survived(client: Any) -> None:
    wait_for_workers(client, 2)
    tasks = make_tasks(alternatives(BASE, [parse_param("policy.service_target=0.5:0.95:0.05")]),
                       3, root_seed=7)
    seen: list[tuple[int, int]] = []
    killed: list[int] = []

    def on_row(row: dict[str, Any]) -> None:
        seen.append((row["alternative"], row["replication"]))
        if len(seen) == 3:  # runs are in flight: kill the worker process busy with one
            busy = [address for address, running in client.processing().items() if running]
            pids = client.run(os.getpid, workers=busy[:1] or None)
            pid = next(iter(pids.values()))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    rows = execute(tasks, client.get_executor(pure=False), on_row=on_row)
    assert len(killed) == 1
    with pytest.raises(ProcessLookupError):
        os.kill(killed[0], 0)  # the worker process is gone
    assert sorted(seen) == keys(rows) == [(t.alternative, t.replication) for t in tasks]
    assert repr(rows) == repr(execute(tasks, workers=2))  # the process pool's rows


def test_a_run_that_keeps_killing_dask_workers_is_given_up(client: Any) -> None:
    wait_for_workers(client, 2)
    tasks = make_tasks(alternatives(BASE, [parse_param("policy.service_target=0.7,0.9")]),
                       2, root_seed=7)

    def kill_on_1_1(task: Task) -> dict[str, Any]:  # a closure: Dask ships it by value
        if (task.alternative, task.replication) == (1, 1):
            os.kill(os.getpid(), signal.SIGKILL)
        return run_task(task)

    seen: list[dict[str, Any]] = []
    with pytest.raises(WorkerDied) as info:
        execute(tasks, client.get_executor(pure=False), on_row=seen.append, run=kill_on_1_1)
    message = str(info.value)
    assert message.startswith("alternative 1 (policy.service_target=0.9), replication 1: the "
                              "worker process running it died (Dask gave up on it: ")
    assert "--resume" in message
    assert sorted(keys(seen)) == [(0, 0), (0, 1), (1, 0)]  # every other row, once


def test_a_1000_sku_scenario_on_dask_equals_the_process_pool(
        client: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Issue #5: 5 service targets x 4 replications of the generated 1000-SKU scenario give
    the same rows on the Dask cluster as on a local process pool (rows, not the files: a
    sweep's files are written from its rows, see test_executors.py)."""
    wait_for_workers(client, 2)
    data = tmp_path_factory.mktemp("generated")
    scenario = load_scenario(generate_dataset(skus=1000, days=120, seed=3, out_dir=data),
                             ["run.horizon_days=60", "run.warmup_days=20"])
    assert len(scenario.skus) == 1000
    targets = parse_param("policy.service_target=0.85,0.9,0.95,0.975,0.99")
    tasks = make_tasks(alternatives(scenario, [targets]), 4, root_seed=3)
    on_dask = execute(tasks, client.get_executor(pure=False))
    on_pool = execute(tasks, workers=2)
    assert keys(on_dask) == [(a, r) for a in range(5) for r in range(4)]
    assert repr(on_dask) == repr(on_pool)
    fill = {(r["alternative"], r["replication"]): r["item_fill_rate"] for r in on_dask}
    # common random numbers: on every replication, 99 % fills at least as well as 85 %
    assert all(fill[4, r] >= fill[0, r] for r in range(4))


SMALL_NETWORK = {
    "name": "small-network",
    "run": {"horizon_days": 400, "warmup_days": 50, "replications": 1, "seed": 5},
    "policy": {"type": "base_stock", "order_up_to": 4, "service_target": None},
    "skus": {"a": {}, "b": {}},
    "supplier": {"lead_time_days": 5},
    "segments": {
        "north": {"customers": 5, "order_interval_days": {"type": "exponential", "mean": 3},
                  "reactions": {"backorder": 0.7, "switch": 0.3}, "location": "north"},
        "south": {"customers": 5, "order_interval_days": {"type": "exponential", "mean": 4},
                  "reactions": {"wait": 0.5, "switch": 0.5}, "location": "south"},
    },
    "locations": {
        "dc": {"policy": {"order_up_to": 10}},
        "north": {"replenished_from": "dc",
                  "lane": {"transit_days": {"type": "uniform", "low": 0.5, "high": 1.5},
                           "cost_per_shipment": 20}},
        "south": {"replenished_from": "dc", "lane": {"transit_days": 1, "shipping": "complete"},
                  "policy": {"type": "sQ", "reorder_point": 2, "order_quantity": 5}},
    },
}
"""A DC replenishing two branches (one partial, one ship-complete lane), both with
customers."""


def test_a_small_network_on_dask_equals_the_process_pool(client: Any) -> None:
    """A network swept over its DC's base-stock level x 2 replications gives the same rows
    on the Dask cluster as on a local process pool."""
    wait_for_workers(client, 2)
    scenario = Scenario.model_validate(SMALL_NETWORK)
    levels = parse_param("locations.dc.policy.order_up_to=2,6,12")
    tasks = make_tasks(alternatives(scenario, [levels]), 2, root_seed=11)
    on_dask = execute(tasks, client.get_executor(pure=False))
    on_pool = execute(tasks, workers=2)
    assert keys(on_dask) == [(a, r) for a in range(3) for r in range(2)]
    assert repr(on_dask) == repr(on_pool)
    # the swept level reaches the model: a DC holding more makes the branches' customers
    # wait less for its stock (common random numbers, every replication)
    fill = {(r["alternative"], r["replication"]): r["item_fill_rate"] for r in on_dask}
    assert all(fill[2, r] > fill[0, r] for r in range(2))


def test_a_frontier_run_on_dask_equals_the_process_pool(client: Any) -> None:
    """A frontier search (targets per SKU, DOMAIN §12) on the Dask cluster gives the same
    summary, targets and frontier as on a local process pool: every run is reproducible
    from (scenario, seed) wherever it runs."""
    from servicesim.experiment.frontier import frontier
    from servicesim.scenario.overrides import with_overrides

    wait_for_workers(client, 2)
    baseline = os.path.join(os.path.dirname(__file__), "..", "scenarios", "baseline.yaml")
    scenario = with_overrides(load_scenario(baseline),
                              ["run.horizon_days=200", "run.warmup_days=30"])
    settings = {"targets": (0.85, 0.95, 0.99), "replications": 2,
                "confirm_replications": 3, "seed": 5, "out_dir": None}
    on_dask = frontier(scenario, executor=client.get_executor(pure=False), **settings)
    on_pool = frontier(scenario, workers=2, **settings)
    assert on_dask.summary == on_pool.summary
    assert on_dask.targets == on_pool.targets and on_dask.frontier == on_pool.frontier
