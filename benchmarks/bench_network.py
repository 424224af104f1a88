"""Network speed and memory benchmark: 1 DC + 20 branches, 200 SKUs everywhere, 2 segments
per branch, 2 simulated years (DOMAIN §7).

The network is built from the single stock point of ``bench_scale.py`` at 200 SKUs (the
generated item master, its two segments, sQ policies at the ABC class targets, no warm-up):
every branch serves a copy of its two segments (the same customers, demand and mix) from
its own stock of all 200 SKUs, replenished over a lane from the DC, which holds all 200 and
is replenished from the supplier (the SKUs' own lead times).  So every branch sees the
single stock point's lines per SKU, and the network 20 times its lines.  A lane costs what
the single point's replenishment costs (the supplier's cost per order and per shipment), so
a branch orders in the single point's quantities; the internal events per line are printed
for both.

The reference is the single stock point of ``bench_scale.py`` generated at the network's
size: one location holding 200 × 21 = 4,200 SKUs (as many stock points as the network, about
as many lines and as much state), so that the ratio measures what the network's machinery
(internal orders, shipments, receipts, lanes) adds per line.  A branch-sized single point
(200 SKUs, 1/20 of the lines) is measured too and printed for scale: its state stays in the
processor's cache, so its µs per line are lower whatever the model (on 2026-12-07 the
network ran 1.24 × its instructions per line but 2 × its time).

In one run it measures and prints:

* µs per customer order line of the network (set-up, customers' lines and every internal
  event: internal orders, shipments, receipts at the branches and at the DC) against the
  same-size single stock point's µs per line (measured as ``bench_scale.simulate_timed``
  does, with the model class ``simulate`` picks), the two interleaved run by run; the
  verdict is the median of the paired ratios (each network run divided by the mean of the
  single-point runs before and after it); the same ratio in CPU time is printed beside it,
  and the ratio to the branch-sized point;
* with ``--instructions``, instructions per line (set-up included) of one run of each,
  counted by valgrind's callgrind, which no other load on the machine changes;
* peak memory (max RSS) of fresh processes simulating the network for 2 and 8 years;
* a sweep of the network over 10 DC service targets × 4 replications on a Dask
  ``LocalCluster`` of 2 workers and on a pool of 2 processes: rows equal, and both times
  (on a shorter horizon, ``--sweep-years``).

Targets (PASS/FAIL; exit status 1 on a fail): network µs per line at most 1.5 × the
same-size single stock point's; peak memory < 1 GB; 8 years within 10 % of 2; Dask rows
equal the pool's.

Run:  python benchmarks/bench_network.py [--branches 20] [--skus 200] [--years 2]
          [--long-years 8] [--repeats 5] [--sweep-years 0.25] [--policy sQ|base_stock]
          [--no-sweep] [--instructions]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scale import (  # noqa: E402  (the single stock point and its timer)
    benchmark_scenario,
    own_peak_rss_bytes,
    simulate_timed,
)

from servicesim.inputs.generate import generate_dataset  # noqa: E402
from servicesim.scenario.schema import Scenario  # noqa: E402

RATIO_TARGET = 1.5
MEMORY_TARGET_BYTES = 1 << 30
FLATNESS_TARGET = 0.10
DC = "dc"
SWEEP_PARAM = "locations.dc.policy.service_target=0.80:0.98:0.02"  # 10 alternatives
SWEEP_REPLICATIONS = 4


def branch_name(b: int) -> str:
    return f"branch_{b + 1:02d}"


def network_scenario(single: Scenario, branches: int, policy: str = "sQ") -> Scenario:
    """The network of ``branches`` branches, each serving a copy of ``single``'s segments,
    replenished from one DC (built as a data dict and validated like a scenario file).

    Lanes DC → branch: transit triangular(0.5, 1, 2) days, partial shipping, and the
    single point's cost of a replenishment (the supplier's cost per order and per shipment,
    per unit its inbound cost per unit), so that a branch orders in the quantities the
    single point does.  ``policy`` ``base_stock`` replaces the sQ policies by base stock at
    the same targets (an internal order for every line that sells)."""
    supplier = single.supplier
    lane = {"transit_days": {"type": "triangular", "low": 0.5, "mode": 1.0, "high": 2.0},
            "cost_per_shipment": supplier.cost_per_order + supplier.inbound_cost_per_shipment,
            "cost_per_unit": supplier.inbound_cost_per_unit}
    data: dict[str, Any] = single.model_dump(exclude_none=True)
    data.pop("items", None)  # the SKUs and segments are already fitted
    data["name"] = f"network_{branches}_branches_{len(single.skus)}_skus"
    if policy != "sQ":
        data["policy"]["type"] = policy
    segments: dict[str, Any] = {}
    locations: dict[str, Any] = {DC: {}}
    for b in range(branches):
        location = branch_name(b)
        locations[location] = {"replenished_from": DC, "lane": lane}
        for name, segment in data["segments"].items():
            segments[f"{location}_{name}"] = {**segment, "location": location}
    data["segments"] = segments
    data["locations"] = locations
    return Scenario.model_validate(data)


def scenarios(path: Path, years: float, branches: int, policy: str
              ) -> tuple[Scenario, Scenario]:
    """(single stock point, network) over ``years``, no warm-up."""
    single = benchmark_scenario(path, years)
    if policy != "sQ":
        single = single.model_copy(update={
            "policy": single.policy.model_copy(update={"type": policy})})
    return single, network_scenario(single, branches, policy)


def child(path: Path, years: float, seed: int, branches: int, policy: str) -> None:
    """Run in a fresh process: simulate the network, report own peak RSS (bytes) as JSON."""
    _, network = scenarios(path, years, branches, policy)
    figures = simulate_timed(network, seed)
    print(json.dumps({**figures, "peak_rss_bytes": own_peak_rss_bytes(), "years": years}))


def measure_memory(path: Path, years: float, seed: int, branches: int, policy: str
                   ) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path), "--years", str(years),
         "--seed", str(seed), "--branches", str(branches), "--policy", policy],
        check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def count_child(what: str, path: Path, years: float, seed: int, branches: int, policy: str
                ) -> None:
    """Run under callgrind with collection off: a 10-day warm-up run (imports, caches), then
    collection switched on around one measured run (set-up included); report its lines."""
    single, network = scenarios(path, years, branches, policy)
    sc = network if what == "network" else single
    simulate_timed(sc.model_copy(update={"run": sc.run.model_copy(
        update={"horizon_days": 10.0})}), seed)
    switch = ["callgrind_control", "-i"]
    subprocess.run([*switch, "on", str(os.getpid())], check=True, capture_output=True)
    lines = simulate_timed(sc, seed)["lines"]
    subprocess.run([*switch, "off", str(os.getpid())], check=True, capture_output=True)
    print(json.dumps({"lines": lines}))


def count_instructions(what: str, path: Path, years: float, seed: int, branches: int,
                       policy: str) -> float:
    """Instructions per line of one run of the network or of the single point (set-up
    included), counted by valgrind's callgrind: the same on any load."""
    with tempfile.TemporaryDirectory(prefix="servicesim-callgrind-") as tmp:
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no",
             f"--callgrind-out-file={tmp}/callgrind.out", sys.executable, __file__,
             "--count-child", what, str(path), "--years", str(years), "--seed", str(seed),
             "--branches", str(branches), "--policy", policy],
            check=True, capture_output=True, text=True)
    collected = re.search(r"Collected : (\d+)", out.stderr)
    if collected is None:  # pragma: no cover - valgrind changed its report
        raise RuntimeError("no instruction count in valgrind's report:\n" + out.stderr)
    lines = json.loads(out.stdout.strip().splitlines()[-1])["lines"]
    return float(collected.group(1)) / lines


def measure_speed(single: Scenario, network: Scenario, seed: int, repeats: int
                  ) -> dict[str, Any]:
    """Network runs interleaved with single-point runs; µs per line of each and the paired
    ratios (a network run over the mean of its two single-point neighbours)."""
    def us(figures: dict[str, float], key: str = "total_s") -> float:
        return figures[key] / figures["lines"] * 1e6

    singles = [simulate_timed(single, seed)]
    networks, ratios, cpu_ratios = [], [], []
    for _ in range(repeats):
        networks.append(simulate_timed(network, seed))
        singles.append(simulate_timed(single, seed))
        ratios.append(us(networks[-1]) / ((us(singles[-2]) + us(singles[-1])) / 2.0))
        cpu_ratios.append(us(networks[-1], "cpu_s")
                          / ((us(singles[-2], "cpu_s") + us(singles[-1], "cpu_s")) / 2.0))
    best_single = min(singles, key=lambda r: r["total_s"])
    best_network = min(networks, key=lambda r: r["total_s"])
    return {"single": best_single, "network": best_network, "single_us": us(best_single),
            "network_us": us(best_network), "ratios": ratios,
            "ratio_median": statistics.median(ratios),
            "cpu_ratio_median": statistics.median(cpu_ratios)}


def _warm_up() -> None:
    """Import the model in a worker (and linger, so each worker gets one of these)."""
    import servicesim.experiment.engine  # noqa: F401

    time.sleep(0.5)


def measure_sweep(network: Scenario, seed: int) -> dict[str, Any]:
    """The network swept over the DC's service target × replications on a Dask
    LocalCluster of 2 workers and on a pool of 2 processes: rows and times."""
    from servicesim.experiment.engine import alternatives, execute, make_tasks, parse_param
    from servicesim.experiment.executors import make_executor

    tasks = make_tasks(alternatives(network, [parse_param(SWEEP_PARAM)]), SWEEP_REPLICATIONS,
                       root_seed=seed)
    start = time.perf_counter()
    with make_executor(dask_local=2) as (executor, how):
        assert executor is not None
        for future in [executor.submit(_warm_up) for _ in range(4)]:
            future.result()
        startup = time.perf_counter() - start
        t0 = time.perf_counter()
        on_dask = execute(tasks, executor)
        dask_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    on_pool = execute(tasks, workers=2)
    pool_s = time.perf_counter() - t0
    keys = [(r["alternative"], r["replication"]) for r in on_dask]
    return {"how": how, "tasks": len(tasks), "startup_s": startup, "dask_s": dask_s,
            "pool_s": pool_s, "equal": repr(on_dask) == repr(on_pool),
            "complete": sorted(keys) == [(t.alternative, t.replication) for t in tasks]}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(args: argparse.Namespace, single: Scenario, network: Scenario,
           speed: dict[str, Any], short: dict[str, Any], long: dict[str, Any],
           swept: dict[str, Any] | None, counted: tuple[float, ...] | None,
           load: tuple[float, float], small: dict[str, Any]) -> bool:
    """Print the figures with a verdict per target; True when every target is met."""
    mib = 1024.0 * 1024.0
    s, n = speed["single"], speed["network"]
    speed_ok = speed["ratio_median"] <= RATIO_TARGET
    peak = max(short["peak_rss_bytes"], long["peak_rss_bytes"])
    memory_ok = peak < MEMORY_TARGET_BYTES
    growth = long["peak_rss_bytes"] / short["peak_rss_bytes"] - 1.0
    flat_ok = abs(growth) <= FLATNESS_TARGET
    internal = n["lines"] / s["lines"]
    print(f"servicesim network benchmark: 1 DC + {args.branches} branches, "
          f"{len(network.skus)} SKUs at every location, {len(network.segments)} segments, "
          f"{args.years:g} simulated years, policy {args.policy}, seed {args.seed}")
    print(f"  machine load average (1 min) before / after: {load[0]:.2f} / {load[1]:.2f} on "
          f"{os.cpu_count()} cores")
    print(f"  same-size single point  {s['lines']:,.0f} lines ({len(single.skus)} SKUs, "
          f"{len(single.segments)} segments; item fill rate {s['item_fill_rate']:.3f})")
    print(f"  network                 {n['lines']:,.0f} customer lines ({internal:.1f} × the "
          f"single point; item fill rate {n['item_fill_rate']:.3f})")
    print(f"  same-size single point  {s['total_s']:.3f} s  ({speed['single_us']:.2f} µs per "
          f"line incl. set-up {s['setup_s']:.3f} s)")
    print(f"  network                 {n['total_s']:.3f} s  ({speed['network_us']:.2f} µs per "
          f"line incl. set-up {n['setup_s']:.3f} s: policies {n['derive_s']:.3f} s, model "
          f"{n['build_s']:.3f} s)")
    print(f"  ratio network / single  best times {speed['network_us'] / speed['single_us']:.2f};"
          f" run by run {min(speed['ratios']):.2f}-{max(speed['ratios']):.2f}, median "
          f"{speed['ratio_median']:.2f} (target <= {RATIO_TARGET:g}): {verdict(speed_ok)}")
    print(f"    the same in CPU time of this process (median of the pairs): "
          f"{speed['cpu_ratio_median']:.2f}")
    b = small["single"]
    print(f"  for scale: a branch-sized single point ({b['lines']:,.0f} lines, "
          f"{small['single_us']:.2f} µs per line incl. set-up): network / it, median "
          f"{small['ratio_median']:.2f}; the difference to the same-size point is the cache "
          "(a small point's state stays in it), not the network's events")
    print(f"  internal events per line: network {n['internal_events'] / n['lines']:.3f}, "
          f"single point {s['internal_events'] / s['lines']:.3f} (replenishment orders and "
          f"receipts; the network's include internal orders, shipments and the DC's)")
    if counted is not None:
        print(f"  instructions (callgrind) per line incl. set-up: single {counted[0]:,.0f}, "
              f"network {counted[1]:,.0f}, ratio {counted[1] / counted[0]:.2f}")
    print(f"  peak memory {args.years:g} years   {short['peak_rss_bytes'] / mib:,.0f} MiB "
          f"({short['lines']:,.0f} lines)  (target < 1024 MiB): {verdict(memory_ok)}")
    print(f"  peak memory {args.long_years:g} years   {long['peak_rss_bytes'] / mib:,.0f} MiB "
          f"({long['lines']:,.0f} lines)")
    print(f"  {args.long_years:g} years vs {args.years:g} years   {growth:+.1%} "
          f"(target within ±{FLATNESS_TARGET:.0%}): {verdict(flat_ok)}")
    sweep_ok = True
    if swept is not None:
        sweep_ok = swept["equal"] and swept["complete"]
        print(f"  sweep {SWEEP_PARAM.split('=')[0]} × {SWEEP_REPLICATIONS} replications "
              f"({swept['tasks']} simulations of {args.sweep_years:g} years)")
        print(f"    {swept['how']}: {swept['dask_s']:.1f} s (cluster start "
              f"{swept['startup_s']:.1f} s apart); pool of 2 processes: "
              f"{swept['pool_s']:.1f} s; Dask / pool {swept['dask_s'] / swept['pool_s']:.2f}")
        print(f"    rows equal row for row: {verdict(sweep_ok)}")
    return speed_ok and memory_ok and flat_ok and sweep_ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, default=20)
    parser.add_argument("--skus", type=int, default=200, help="SKUs (at every location)")
    parser.add_argument("--days", type=int, default=730, help="days of generated history")
    parser.add_argument("--years", type=float, default=2.0, help="simulated years (timed)")
    parser.add_argument("--long-years", type=float, default=8.0,
                        help="simulated years of the memory-flatness run")
    parser.add_argument("--repeats", type=int, default=5, help="timed network runs")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--policy", choices=("sQ", "base_stock"), default="sQ",
                        help="the policy family everywhere (targets as generated)")
    parser.add_argument("--sweep-years", type=float, default=0.25,
                        help="simulated years of each run of the Dask/pool sweep")
    parser.add_argument("--no-sweep", action="store_true", help="skip the Dask/pool sweep")
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions per line of the network and of the "
                             "single point with valgrind's callgrind (a figure no other "
                             "load changes; 10 minutes or more)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--count-child", nargs=2, metavar=("WHAT", "PATH"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        child(args.child, args.years, args.seed, args.branches, args.policy)
        return 0
    if args.count_child is not None:
        count_child(args.count_child[0], Path(args.count_child[1]), args.years, args.seed,
                    args.branches, args.policy)
        return 0
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind (Debian: apt-get install valgrind)")

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="servicesim-bench-network-") as tmp:
        path = Path(generate_dataset(skus=args.skus, days=args.days, seed=args.seed,
                                     out_dir=tmp))
        single, network = scenarios(path, args.years, args.branches, args.policy)
        # the same-size single stock point: one location holding as many SKUs as the
        # network has stock points, so with about as many lines and as much state
        big_path = Path(generate_dataset(skus=args.skus * (args.branches + 1),
                                         days=args.days, seed=args.seed,
                                         out_dir=Path(tmp) / "same-size"))
        same_size = scenarios(big_path, args.years, args.branches, args.policy)[0]
        speed = measure_speed(same_size, network, args.seed, args.repeats)
        small = measure_speed(single, network, args.seed, args.repeats)
        short = measure_memory(path, args.years, args.seed, args.branches, args.policy)
        long = measure_memory(path, args.long_years, args.seed, args.branches, args.policy)
        counted = None
        if args.instructions:
            counted = tuple(count_instructions(what, path, args.years, args.seed,
                                               args.branches, args.policy)
                            for what in ("single", "network"))
        swept = None
        if not args.no_sweep:
            swept = measure_sweep(scenarios(path, args.sweep_years, args.branches,
                                            args.policy)[1], args.seed)
    ok = report(args, same_size, network, speed, short, long, swept, counted,
                (load_before[0], os.getloadavg()[0]), small)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
