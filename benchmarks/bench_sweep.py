"""Sweep speed: serial against 2 local processes against a Dask LocalCluster of 2 workers.

The case (issue #3): ``scenarios/baseline.yaml``, 20 alternatives
(``policy.service_target=0.80:0.99:0.01``) × 10 replications = 200 simulations, run three
ways in this one process: serially (``workers=1``), on a pool of 2 processes, and on a
Dask ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``.  The script prints
each wall time, the parallel efficiency serial / (2 × parallel) (target >= 85 %), the Dask
time relative to the pool (target within 15 %), and checks that every ``runs.csv`` is
byte-identical.  The Dask sweep is timed without the cluster's start-up and the workers'
import of servicesim, which are printed apart (a cluster is started once and reused); the
pool's start-up is inside its time (its workers are forked with servicesim imported).

With ``--repeats N`` the three are interleaved N times and the best time of each is used
(as in bench_core.py), since other work on a shared machine only ever adds time.  The pool's
efficiency is split into CPU seconds per simulation (serial against in the workers: what the
hardware gives two busy cores) and how busy the workers were (what servicesim's scheduling
gives).

Run:  python benchmarks/bench_sweep.py [--repeats 1] [--replications 10] [--horizon-days D]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from servicesim import load_scenario
from servicesim.experiment.executors import make_executor
from servicesim.experiment.sweep import SweepResult, sweep
from servicesim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[1]
PARAM = "policy.service_target=0.80:0.99:0.01"  # 20 alternatives


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _warm_up() -> None:
    """Import the model in a worker (and linger, so each worker gets one of these)."""
    import servicesim.experiment.engine  # noqa: F401

    time.sleep(0.5)


def timed_sweep(label: str, scenario: Scenario, out: Path,
                **kwargs: object) -> tuple[float, float, SweepResult]:
    """Wall seconds, CPU seconds (this process and finished children) and the result."""
    wall, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    result = sweep(scenario, [PARAM], out_dir=out / label, **kwargs)  # type: ignore[arg-type]
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu + _children_cpu() - children
    print(f"  {label:<26} {wall:8.2f} s  ({result.n_simulations} simulations)", flush=True)
    return wall, cpu, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("--replications", type=int, default=10)
    parser.add_argument("--horizon-days", type=float, default=None)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    overrides = [f"run.replications={args.replications}"]
    if args.horizon_days is not None:
        overrides.append(f"run.horizon_days={args.horizon_days}")
    scenario = load_scenario(args.scenario, overrides)
    print(f"{scenario.name}: 20 alternatives × {args.replications} replications of "
          f"{scenario.run.horizon_days:g} days; {os.cpu_count()} cores; load average "
          f"{os.getloadavg()[0]:.2f} (other work on the machine distorts the figures)",
          flush=True)

    times: dict[str, list[float]] = {"serial": [], "pool": [], "dask": []}
    cpu: dict[str, list[float]] = {"serial": [], "pool": []}
    files = set()
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as folder:
        out = Path(folder)
        start = time.perf_counter()
        with make_executor(dask_local=2) as (executor, how):
            assert executor is not None
            # like the pool's forked workers, let every Dask worker import servicesim first
            for future in [executor.submit(_warm_up) for _ in range(4)]:
                future.result()
            startup = time.perf_counter() - start
            print(f"{how} started (and servicesim imported) in {startup:.2f} s", flush=True)
            for repeat in range(args.repeats):
                print(f"round {repeat + 1} of {args.repeats}", flush=True)
                runs = [
                    ("serial", timed_sweep(f"serial-{repeat}", scenario, out, workers=1)),
                    ("pool", timed_sweep(f"2-processes-{repeat}", scenario, out, workers=2)),
                    ("dask", timed_sweep(f"dask-local-2-{repeat}", scenario, out,
                                         executor=executor)),
                ]
                for name, (wall, seconds, result) in runs:
                    times[name].append(wall)
                    if name in cpu:
                        cpu[name].append(seconds)
                    files.add((result.directory / "runs.csv").read_bytes())

    serial, pool, dask = (min(times[k]) for k in ("serial", "pool", "dask"))
    efficiency, dask_efficiency, ratio = serial / (2 * pool), serial / (2 * dask), dask / pool
    best = times["pool"].index(pool)
    per_sim = cpu["serial"][times["serial"].index(serial)] / cpu["pool"][best]
    busy = cpu["pool"][best] / (2 * pool)
    print()
    print(f"best of {args.repeats}: serial {serial:.2f} s, 2 processes {pool:.2f} s, "
          f"Dask LocalCluster(2) {dask:.2f} s")
    print(f"parallel efficiency, 2 processes   {efficiency:6.1%}  (target >= 85 %) "
          f"{'ok' if efficiency >= 0.85 else 'MISSED'}")
    print(f"  CPU per simulation, serial/pool  {per_sim:6.1%}  (the hardware: two busy cores)")
    print(f"  workers busy                     {busy:6.1%}  (servicesim's scheduling)")
    print(f"parallel efficiency, Dask (2)      {dask_efficiency:6.1%}")
    print(f"Dask time / pool time              {ratio:6.3f}  (target <= 1.15) "
          f"{'ok' if ratio <= 1.15 else 'MISSED'}")
    print(f"Dask incl. cluster start / pool    {(dask + startup) / pool:6.3f}")
    identical = "yes" if len(files) == 1 else "NO"
    print(f"runs.csv identical (every run: serial, pool, Dask): {identical}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0 if len(files) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
