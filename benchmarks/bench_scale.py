"""Planner-scale benchmark (issue #5): the generated 1,000-SKU item master, two segments.

In one run it measures and prints:

* order lines simulated in 2 years (one replication, warm-up 0 so every line counts), the
  wall time, µs per order line with and without the set-up (policy derivation for every
  SKU + model construction, also shown on its own), lines per second;
* peak memory (max RSS) of a fresh process simulating 2 and 8 years of the same scenario;
* the ratio of servicesim's µs per order line to the lean SimPy reference model of
  ``bench_core.py`` (µs per order, measured in this run, interleaved).

Targets (PASS/FAIL; exit status 1 on a fail): <= 3 µs per order line including set-up;
peak memory < 1 GB; peak memory for 8 years within 10 % of that for 2.  Times are the
best of ``--repeats``; on a shared machine the ratio to the reference is the steadier
figure (the load average is printed).

The 3 µs were set (issue #5) for machines where, as issue #2 states, the lean reference
takes about 1.3 µs per order; where it is slower or faster the same target reads
3 / 1.3 = 2.31 times the reference, measured in the same run (the project measures speed
targets as ratios).  Each servicesim run is timed between two runs of the reference and
divided by their mean; the verdict is the median of these ratios.  Both verdicts are
printed; the exit status follows the ratio.

The data come from ``servicesim.inputs.generate.generate_dataset`` into a temporary directory
(history of ``--days`` days); loading them (fitting the history) is timed and printed but
is not part of the simulation's wall time.

``--instructions`` also counts the instructions of one servicesim run (set-up included) per
order line and of the lean reference per order with valgrind's callgrind, a figure that no
other load on the machine changes (times on a shared host drift by tens of per cent).

Run:  python benchmarks/bench_scale.py [--skus 1000] [--years 2 --long-years 8] [--repeats 7]
                                       [--instructions]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_core import lean_model  # noqa: E402  (the lean SimPy reference, not a copy)

from servicesim.inputs.generate import generate_dataset  # noqa: E402
from servicesim.inputs.scenario_file import load_scenario  # noqa: E402
from servicesim.model.simulation import NetworkModel, ServiceModel  # noqa: E402
from servicesim.policies.derivation import derive_policies  # noqa: E402
from servicesim.scenario.schema import Scenario  # noqa: E402

US_PER_LINE_TARGET = 3.0
LEAN_US_PER_ORDER_STATED = 1.3
"""The lean reference's µs per order on the machines the targets were set for (issue #2)."""
RATIO_TARGET = US_PER_LINE_TARGET / LEAN_US_PER_ORDER_STATED
MEMORY_TARGET_BYTES = 1 << 30
FLATNESS_TARGET = 0.10
DAYS_PER_YEAR = 365.0


def benchmark_scenario(path: Path, years: float, hold_customers: bool = False) -> Scenario:
    """The generated scenario over ``years`` with no warm-up (every simulated line counts).

    As generated, defections are balanced by acquisitions, so the load stays steady over 8
    years.  ``hold_customers`` turns defections into switches (lost sales) instead, for a
    customer base that cannot change at all.
    """
    sc = load_scenario(path)
    run = sc.run.model_copy(update={"horizon_days": years * DAYS_PER_YEAR,
                                    "warmup_days": 0.0})
    update: dict[str, Any] = {"run": run}
    if hold_customers:
        segments = {}
        for name, seg in sc.segments.items():
            r = seg.reactions
            reactions = r.model_copy(update={"switch": r.switch + r.defect, "defect": 0.0})
            segments[name] = seg.model_copy(update={"reactions": reactions,
                                                    "defect_increase_per_stockout": 0.0})
        update["segments"] = segments
    return sc.model_copy(update=update)


def simulate_timed(sc: Scenario, seed: int) -> dict[str, float]:
    """One replication from scratch: set-up (policies + model) and run timed apart, on the
    model class ``simulate`` picks (a network's internal orders need NetworkModel); also
    the CPU time of this process and the replenishment events (orders and receipts)."""
    model_class = NetworkModel if sc.locations is not None else ServiceModel
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    policies = derive_policies(sc)
    t1 = time.perf_counter()
    model = model_class(sc, seed, policies=policies)
    t2 = time.perf_counter()
    result = model.run()
    t3 = time.perf_counter()
    return {
        "derive_s": t1 - t0, "build_s": t2 - t1, "setup_s": t2 - t0, "run_s": t3 - t2,
        "total_s": t3 - t0, "cpu_s": time.process_time() - cpu0,
        "lines": float(sum(seg.lines_n for seg in model.segments)),
        "orders": float(sum(seg.orders for seg in model.segments)),
        "item_fill_rate": result.kpis["item_fill_rate"],
        "defections": result.kpis["defections"],
        "customers": float(sum(seg.n_customers for seg in model.segments)),
        "internal_events": float(sum(st.pos + st.receipts for st in model.stocks)),
    }


def own_peak_rss_bytes() -> int:
    """This process's own peak resident memory: ``VmHWM`` of ``/proc/self/status`` on Linux.

    Not ``getrusage``'s ``ru_maxrss``: Linux carries that over from the parent through
    fork and exec, so a child started by a benchmark that had grown to 800 MiB reported
    800 MiB whatever it did itself (and 2 and 8 years looked equally "flat")."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def child(path: Path, years: float, seed: int, hold_customers: bool) -> None:
    """Run in a fresh process: simulate and report own peak RSS (bytes) as JSON."""
    sc = benchmark_scenario(path, years, hold_customers)
    figures = simulate_timed(sc, seed)
    print(json.dumps({**figures, "peak_rss_bytes": own_peak_rss_bytes(), "years": years}))


def measure_memory(path: Path, years: float, seed: int, hold_customers: bool
                   ) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path), "--years", str(years),
         "--seed", str(seed)] + (["--hold-customers"] if hold_customers else []),
        check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def count_child(path: Path, years: float, seed: int, hold_customers: bool, what: str
                ) -> None:
    """Run under callgrind with collection off: one warm-up, then collection switched on
    (``callgrind_control``) around one measured run only; report its size as JSON."""
    def measured() -> float:
        if what == "lean":
            orders, _ = lean_model(seed)
            return float(orders)
        return simulate_timed(sc, seed)["lines"]

    sc = benchmark_scenario(path, years, hold_customers) if what != "lean" else None
    measured()
    switch = ["callgrind_control", "-i"]
    subprocess.run([*switch, "on", str(os.getpid())], check=True, capture_output=True)
    size = measured()
    subprocess.run([*switch, "off", str(os.getpid())], check=True, capture_output=True)
    print(json.dumps({"size": size}))


def count_instructions(path: Path, years: float, seed: int, hold_customers: bool,
                       what: str) -> tuple[float, float]:
    """(instructions, lines or orders) of one run of servicesim (set-up included) or of the
    lean reference, counted by valgrind's callgrind: the same on any load."""
    with tempfile.TemporaryDirectory(prefix="servicesim-callgrind-") as tmp:
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no",
             f"--callgrind-out-file={tmp}/callgrind.out", sys.executable, __file__,
             "--count-child", what, str(path), "--years", str(years), "--seed", str(seed)]
            + (["--hold-customers"] if hold_customers else []),
            check=True, capture_output=True, text=True)
    collected = re.search(r"Collected : (\d+)", out.stderr)
    if collected is None:  # pragma: no cover - valgrind changed its report
        raise RuntimeError("no instruction count in valgrind's report:\n" + out.stderr)
    size = json.loads(out.stdout.strip().splitlines()[-1])["size"]
    return float(collected.group(1)), float(size)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=1000, help="SKUs in the item master")
    parser.add_argument("--days", type=int, default=730, help="days of generated history")
    parser.add_argument("--years", type=float, default=2.0, help="simulated years (timed)")
    parser.add_argument("--long-years", type=float, default=8.0,
                        help="simulated years of the memory-flatness run")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs (best is kept)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--hold-customers", action="store_true",
                        help="count defections as switches: a customer base that never "
                             "changes")
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions with valgrind's callgrind (a figure "
                             "no other load on the machine changes; about 3 minutes)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--count-child", nargs=2, metavar=("WHAT", "PATH"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        child(args.child, args.years, args.seed, args.hold_customers)
        return 0
    if args.count_child is not None:
        count_child(Path(args.count_child[1]), args.years, args.seed, args.hold_customers,
                    args.count_child[0])
        return 0
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind (Debian: apt-get install valgrind)")

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="servicesim-bench-") as tmp:
        t0 = time.perf_counter()
        path = Path(generate_dataset(skus=args.skus, days=args.days, seed=args.seed,
                                     out_dir=tmp))
        generated_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        sc = benchmark_scenario(path, args.years, args.hold_customers)
        load_s = time.perf_counter() - t0

        # speed: each servicesim run between two runs of the lean reference; the ratio of
        # each run to the mean of its two neighbours (the machine's speed drifts on a
        # shared host, and pairing cancels most of it), and the best times
        def lean_run(rep: int) -> float:
            t0 = time.perf_counter()
            orders, _ = lean_model(rep)
            return (time.perf_counter() - t0) / orders * 1e6

        runs, lean_us, ratios = [], [lean_run(0)], []
        for rep in range(args.repeats):
            runs.append(simulate_timed(sc, args.seed))
            lean_us.append(lean_run(rep + 1))
            us = runs[-1]["total_s"] / runs[-1]["lines"] * 1e6
            ratios.append(us / ((lean_us[-2] + lean_us[-1]) / 2.0))
        best = min(runs, key=lambda r: r["total_s"])
        lines = best["lines"]
        us_total = best["total_s"] / lines * 1e6
        us_run = best["run_s"] / lines * 1e6
        lean_best = min(lean_us)
        ratio_median = statistics.median(ratios)

        # memory: a fresh process per horizon
        short = measure_memory(path, args.years, args.seed, args.hold_customers)
        long = measure_memory(path, args.long_years, args.seed, args.hold_customers)
        counted = None
        if args.instructions:
            counted = (count_instructions(path, args.years, args.seed, args.hold_customers,
                                          "servicesim"),
                       count_instructions(path, args.years, 0, False, "lean"))
    load_after = os.getloadavg()

    growth = long["peak_rss_bytes"] / short["peak_rss_bytes"] - 1.0
    absolute_ok = us_total <= US_PER_LINE_TARGET
    ratio = us_total / lean_best
    speed_ok = ratio_median <= RATIO_TARGET
    memory_ok = max(short["peak_rss_bytes"], long["peak_rss_bytes"]) < MEMORY_TARGET_BYTES
    flat_ok = abs(growth) <= FLATNESS_TARGET
    mib = 1024.0 * 1024.0
    print(f"servicesim scale benchmark: {len(sc.skus)} SKUs, {len(sc.segments)} segments, "
          f"{args.years:g} simulated years, one replication (seed {args.seed})")
    print(f"  machine load average (1 min) before / after: {load_before[0]:.2f} / "
          f"{load_after[0]:.2f} on {os.cpu_count()} cores")
    print(f"  data: generated in {generated_s:.2f} s, loaded and fitted in {load_s:.2f} s "
          "(not part of the wall time below)")
    print("  customers: " + ("held (defections counted as switches)" if args.hold_customers
                             else "as generated (acquisitions replace defections)")
          + f"; {best['defections']:,.0f} of {best['customers']:,.0f} defected")
    print(f"  order lines simulated   {lines:,.0f}  ({best['orders']:,.0f} orders; "
          f"item fill rate {best['item_fill_rate']:.3f})")
    print(f"  set-up                  {best['setup_s']:.3f} s  (policies for {len(sc.skus)} "
          f"SKUs {best['derive_s']:.3f} s, model {best['build_s']:.3f} s)")
    print(f"  simulation              {best['run_s']:.3f} s  ({us_run:.2f} µs per line)")
    print(f"  wall time               {best['total_s']:.3f} s  (best of {args.repeats})")
    print(f"  µs per order line       {us_total:.2f}  incl. set-up (target <= "
          f"{US_PER_LINE_TARGET:g} on this machine): {verdict(absolute_ok)}")
    print(f"  lines per second        {lines / best['total_s']:,.0f} incl. set-up, "
          f"{lines / best['run_s']:,.0f} simulation only")
    print(f"  lean SimPy reference    {lean_best:.2f} µs per order (bench_core.py)")
    print(f"  ratio servicesim µs/line / reference µs/order: best times {ratio:.2f} incl. "
          f"set-up ({us_run / lean_best:.2f} simulation only); run by run "
          f"{min(ratios):.2f}-{max(ratios):.2f}, median {ratio_median:.2f}")
    print(f"  speed target as a ratio: median {ratio_median:.2f} (target <= "
          f"{US_PER_LINE_TARGET:g} µs / {LEAN_US_PER_ORDER_STATED:g} µs = {RATIO_TARGET:.2f}, "
          f"i.e. {RATIO_TARGET * lean_best:.2f} µs on this machine): {verdict(speed_ok)}")
    if counted is not None:
        (sim_ir, sim_lines), (lean_ir, lean_orders) = counted
        print(f"  instructions (callgrind) {sim_ir / sim_lines:,.0f} per order line incl. "
              f"set-up; lean reference {lean_ir / lean_orders:,.0f} per order; ratio "
              f"{sim_ir / sim_lines / (lean_ir / lean_orders):.2f}")
    print(f"  peak memory {args.years:g} years   {short['peak_rss_bytes'] / mib:,.0f} MiB "
          f"({short['lines']:,.0f} lines)  (target < 1024 MiB): {verdict(memory_ok)}")
    print(f"  peak memory {args.long_years:g} years   {long['peak_rss_bytes'] / mib:,.0f} MiB "
          f"({long['lines']:,.0f} lines)")
    print(f"  {args.long_years:g} years vs {args.years:g} years   {growth:+.1%} "
          f"(target within ±{FLATNESS_TARGET:.0%}): {verdict(flat_ok)}")
    return 0 if speed_ok and memory_ok and flat_ok else 1


if __name__ == "__main__":
    sys.exit(main())
