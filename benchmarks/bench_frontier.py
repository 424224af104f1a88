"""Frontier benchmark: a service target per SKU for the generated 1,000-SKU item master.

It generates the data (``servicesim.inputs.generate``, two segments, the horizon as
generated), loads the scenario, times one whole simulation of it, and runs
``servicesim.experiment.frontier.frontier`` with its defaults on ``--workers`` local
processes, writing its folder into a temporary directory as the command does.  Then the
same for ``scenarios/baseline.yaml`` (3 SKUs).  For each scenario it prints and writes to
``benchmarks/results/frontier[-quick]-<date>.json``:

* the wall time of the frontier run, and in "simulation-equivalents": the wall time over
  the time of one simulation measured in the same run (in this process, the mean of one
  before and one after the frontier; the workers run ``--workers`` of them at once);
* its CPU time (this process and its workers), also in simulations' CPU: a figure other
  load on the machine hardly moves, which with the simulations used shows the overhead;
* the simulations used, the naive per-SKU grid at the same resolution (targets × SKUs ×
  replications) and their ratio;
* peak memory: this process's own (``VmHWM``) and the largest sum of resident memory of
  this process and its workers, sampled every 0.2 s while the frontier runs;
* the decision: ROI of today, of the best common target and of the recommendation on the
  confirmation runs (95 % CIs), and the paired difference recommended − best common (the
  confirmation runs share seeds: common random numbers), read back from ``runs.csv``.

Targets (issue; PASS/FAIL, exit status 1 on a fail), for the 1,000-SKU scenario: the
frontier completes in at most 15 minutes on 2 cores, and uses at most 1 % of the
simulations of the naive grid.  ``--quick`` (200 SKUs, one year, 2 replications) checks
the machinery in about a minute; its figures are not held to the targets.  The load
average is printed: on a shared host the wall time is the figure other work moves, the
simulation-equivalents the steadier one.

Run:  python benchmarks/bench_frontier.py [--quick] [--skus 1000] [--days 730]
                                          [--workers 2] [--replications N] [--no-baseline]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scale import own_peak_rss_bytes, simulate_timed  # noqa: E402

from servicesim.experiment.frontier import frontier  # noqa: E402
from servicesim.experiment.statistics import paired_comparison  # noqa: E402
from servicesim.experiment.store import read_table  # noqa: E402
from servicesim.files import atomic_write_text, jsonable  # noqa: E402
from servicesim.inputs.generate import generate_dataset  # noqa: E402
from servicesim.inputs.scenario_file import load_scenario  # noqa: E402
from servicesim.scenario.schema import Scenario  # noqa: E402

WALL_TARGET_S = 15 * 60.0
SIMULATION_SHARE_TARGET = 0.01
ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
RESULTS = Path(__file__).resolve().parent / "results"
QUICK = {"skus": 200, "days": 365, "replications": 2}


# ---------------------------------------------------------------------------- memory


def _status_kib(pid: int | str, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (Linux ``/proc/<pid>/task/*/children``)."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as listing:
                found += [int(p) for p in listing.read().split()]
    except OSError:
        pass
    return found


class MemorySampler:
    """The largest resident memory of this process plus its workers (and their
    children), sampled every ``interval`` seconds in a thread; and the largest own peak
    (``VmHWM``) any worker reported while it lived."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval, self.total_kib, self.worker_kib = interval, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.wait(self.interval):
            pids, todo = [], _children(me)
            while todo:
                pid = todo.pop()
                pids.append(pid)
                todo += _children(pid)
            total = _status_kib(me, "VmRSS:") + sum(_status_kib(p, "VmRSS:") for p in pids)
            self.total_kib = max(self.total_kib, total)
            self.worker_kib = max([self.worker_kib, *(_status_kib(p, "VmHWM:") for p in pids)])


def _children_cpu_s() -> float:
    """CPU seconds of this process's finished children (the frontier's workers end with
    each of its phases)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------- figures


def _ci(figure: dict[str, Any]) -> dict[str, float | None]:
    return {k: figure[k] for k in ("mean", "ci_low", "ci_high")}


def paired_vs_common(directory: Path, objective: str) -> dict[str, Any]:
    """The paired difference recommended − best common target of ``objective`` on the
    confirmation runs of a frontier folder (they share seeds replication by replication)."""
    table = read_table(directory / "runs.csv")
    if table is None:
        raise RuntimeError(f"{directory} has no runs.csv")
    summary = json.loads((directory / "frontier.json").read_text(encoding="utf-8"))
    common = next(r["label"] for r in summary["confirmed"] if r["kind"] == "common")
    series: dict[str, dict[int, float]] = {"recommended": {}, common: {}}
    for row in table.rows():
        if row["phase"] == "confirm" and row["allocation"] in series:
            series[row["allocation"]][int(row["replication"])] = float(row[objective])
    reps = sorted(set(series["recommended"]) & set(series[common]))
    diff = paired_comparison([series["recommended"][r] for r in reps],
                             [series[common][r] for r in reps], alternative="greater")
    return {"best_common": common, "pairs": diff["n_common"], "mean": diff["diff"],
            "ci_low": diff["diff_ci_low"], "ci_high": diff["diff_ci_high"],
            "p_one_sided": diff["p_value"]}


def measure(name: str, scenario: Scenario, workers: int, replications: int | None,
            seed: int) -> dict[str, Any]:
    """Time one simulation of ``scenario``, then its frontier with the defaults."""
    before = simulate_timed(scenario, seed)
    with tempfile.TemporaryDirectory(prefix="servicesim-frontier-") as out, \
            MemorySampler() as memory:
        cpu0, children0 = time.process_time(), _children_cpu_s()
        t0 = time.perf_counter()
        result = frontier(scenario, workers=workers, replications=replications,
                          out_dir=out)
        wall = time.perf_counter() - t0
        cpu, children = time.process_time() - cpu0, _children_cpu_s() - children0
        directory = result.directory
        assert directory is not None
        summary = result.summary
        vs_common = paired_vs_common(directory, summary["objective"])
    after = simulate_timed(scenario, seed)
    one_s = (before["total_s"] + after["total_s"]) / 2
    one_cpu_s = (before["cpu_s"] + after["cpu_s"]) / 2
    objective = summary["objective"]
    return {
        "name": name, "skus": len(scenario.skus), "items": summary["items"],
        "horizon_days": scenario.run.horizon_days, "warmup_days": scenario.run.warmup_days,
        "workers": workers, "replications": summary["replications"],
        "confirm_replications": summary["confirm_replications"],
        "targets": len(summary["targets"]), "objective": objective,
        "one_simulation_s": one_s, "one_simulation_s_before_after": [before["total_s"],
                                                                     after["total_s"]],
        "one_simulation_cpu_s": one_cpu_s, "one_simulation_lines": before["lines"],
        "wall_s": wall, "simulation_equivalents": wall / one_s,
        "cpu_main_s": cpu, "cpu_workers_s": children,
        "cpu_simulation_equivalents": (cpu + children) / one_cpu_s,
        "simulations": summary["simulations"],
        "naive_simulations": summary["naive_simulations"],
        "simulation_share": summary["simulations"] / summary["naive_simulations"],
        "peak_rss_main_bytes": own_peak_rss_bytes(),
        "peak_rss_worker_bytes": memory.worker_kib * 1024,
        "peak_rss_total_bytes": memory.total_kib * 1024,
        "today": _ci(summary["today"][objective]),
        "best_common": {"target": summary["best_common"]["target"],
                        **_ci(summary["best_common"][objective])},
        "recommended": _ci(summary["recommended"][objective]),
        "recommended_minus_best_common": vs_common,
        "moves": summary["moves"], "decision": summary["decision"],
    }


# ---------------------------------------------------------------------------- report


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _pct(figure: dict[str, Any]) -> str:
    low, high = figure["ci_low"], figure["ci_high"]
    ci = "" if low is None else f"  (95 % CI {100 * low:.2f} to {100 * high:.2f})"
    return f"{100 * figure['mean']:.2f} %{ci}"


def report(m: dict[str, Any]) -> None:
    mib = 1024.0 * 1024.0
    print(f"\n{m['name']}: {m['skus']:,} SKUs, {m['horizon_days']:g} days "
          f"({m['warmup_days']:g} warm-up), {m['targets']} targets, {m['replications']} "
          f"replications per step, {m['confirm_replications']} per confirmed allocation, "
          f"{m['workers']} workers")
    rows = [
        ("one simulation", f"{m['one_simulation_s']:.2f} s  (mean of one before and one "
                           "after the frontier: "
                           + " / ".join(f"{t:.2f}" for t in m["one_simulation_s_before_after"])
                           + f" s; {m['one_simulation_lines']:,.0f} order lines)"),
        ("frontier wall time", f"{m['wall_s']:.1f} s = {m['wall_s'] / 60:.1f} min "
                               f"= {m['simulation_equivalents']:.0f} simulation-equivalents"),
        ("frontier CPU time", f"{m['cpu_main_s'] + m['cpu_workers_s']:.1f} s (main "
                              f"{m['cpu_main_s']:.1f} s, workers {m['cpu_workers_s']:.1f} s) "
                              f"= {m['cpu_simulation_equivalents']:.0f} simulations' CPU"),
        ("simulations used", f"{m['simulations']:,}"),
        ("naive per-SKU grid", f"{m['naive_simulations']:,}  (targets × SKUs × "
                               "replications)"),
        ("share of the grid", f"{100 * m['simulation_share']:.3f} %"),
        ("peak memory", f"{m['peak_rss_total_bytes'] / mib:,.0f} MiB in all (sampled); "
                        f"main {m['peak_rss_main_bytes'] / mib:,.0f} MiB, largest worker "
                        f"{m['peak_rss_worker_bytes'] / mib:,.0f} MiB"),
        (f"{m['objective']} today", _pct(m["today"])),
        (f"{m['objective']} all at {100 * m['best_common']['target']:g} %",
         _pct(m["best_common"])),
        (f"{m['objective']} recommended", _pct(m["recommended"])),
    ]
    d = m["recommended_minus_best_common"]
    rows.append(("recommended − best common",
                 f"{100 * d['mean']:+.2f} points (95 % CI {100 * d['ci_low']:+.2f} to "
                 f"{100 * d['ci_high']:+.2f}; one-sided p {d['p_one_sided']:.3g}, "
                 f"{d['pairs']} pairs)"))
    rows.append(("moves", ", ".join(f"{v} {k}" for k, v in m["moves"].items())))
    for label, text in rows:
        print(f"  {label:<28}{text}")
    print(f"  decision: {m['decision']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK['skus']} SKUs, {QUICK['days']} days, "
                             f"{QUICK['replications']} replications (about a minute)")
    parser.add_argument("--skus", type=int, help="SKUs in the item master (default 1000)")
    parser.add_argument("--days", type=int,
                        help="days of generated history, and so the horizon (default 730)")
    parser.add_argument("--replications", type=int,
                        help="replications per search step (default the scenario's)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated data")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip scenarios/baseline.yaml")
    parser.add_argument("--out", type=Path, help="JSON file of the figures (default "
                                                 "benchmarks/results/frontier-<date>.json)")
    args = parser.parse_args(argv)
    skus = args.skus or (QUICK["skus"] if args.quick else 1000)
    days = args.days or (QUICK["days"] if args.quick else 730)
    reps = args.replications or (QUICK["replications"] if args.quick else None)

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="servicesim-bench-") as tmp:
        t0 = time.perf_counter()
        path = Path(generate_dataset(skus=skus, days=days, seed=args.seed, out_dir=tmp))
        generated_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        generated = load_scenario(path)
        load_s = time.perf_counter() - t0
        print(f"servicesim frontier benchmark: data for {skus:,} SKUs over {days} days "
              f"generated in {generated_s:.1f} s, loaded and fitted in {load_s:.1f} s "
              "(not part of the wall times)")
        measured = [measure(f"generated {skus} SKUs", generated, args.workers, reps,
                            generated.run.seed)]
    if not args.no_baseline:
        baseline = load_scenario(BASELINE)
        measured.append(measure("baseline", baseline, args.workers, reps,
                                baseline.run.seed))
    load_after = os.getloadavg()
    print(f"machine load average (1 min) before / after: {load_before[0]:.2f} / "
          f"{load_after[0]:.2f} on {os.cpu_count()} cores")
    for m in measured:
        report(m)

    big = measured[0]
    time_ok = big["wall_s"] <= WALL_TARGET_S
    share_ok = big["simulation_share"] <= SIMULATION_SHARE_TARGET
    print()
    if args.quick or skus != 1000:
        print(f"  (--quick or not 1,000 SKUs: the targets are judged on the full run only; "
              f"here {big['wall_s'] / 60:.1f} min, {100 * big['simulation_share']:.3f} % "
              "of the grid)")
    else:
        print(f"  wall time {big['wall_s'] / 60:.1f} min on {args.workers} workers "
              f"(target <= {WALL_TARGET_S / 60:g} min): {verdict(time_ok)}")
        print(f"  simulations {big['simulations']:,} = {100 * big['simulation_share']:.3f} % "
              f"of the naive grid (target <= {100 * SIMULATION_SHARE_TARGET:g} %): "
              f"{verdict(share_ok)}")

    stamp = datetime.now(UTC)
    out = args.out or RESULTS / (f"frontier{'-quick' if args.quick else ''}-"
                                 f"{stamp:%Y-%m-%d}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(jsonable({
        "benchmark": "frontier", "when": stamp.isoformat(timespec="seconds"),
        "quick": args.quick, "cores": os.cpu_count(),
        "load_average_before": load_before[0], "load_average_after": load_after[0],
        "generated_s": generated_s, "load_s": load_s,
        "targets": {"wall_s_max": WALL_TARGET_S, "simulation_share_max":
                    SIMULATION_SHARE_TARGET, "wall_ok": time_ok, "share_ok": share_ok},
        "runs": measured}), indent=1, allow_nan=False) + "\n")
    print(f"  figures written to {out}")
    judged = not args.quick and skus == 1000
    return 0 if not judged or (time_ok and share_ok) else 1


if __name__ == "__main__":
    sys.exit(main())
