"""The what-if page's answer time: a quick what-if on the baseline against a plain
``run_replications`` of the same runs, in the same process.

The case (the page's default): ``scenarios/baseline.yaml`` at 4 replications × 365 days,
the service target moved from 0.95 to 0.90.  The what-if is what the page runs for one
change, through the page's own machinery (:class:`servicesim.app.jobs.Runner` on the warm
process pool of 2 workers): today and the edited scenario under common random numbers
(``compare``), then the theory check's per-SKU replications of the edited scenario — 12
simulations.  The reference is the same 12 simulations as plain ``run_replications`` calls
in this process, one after the other (today, edited, edited again).  The script prints both
wall times, the ratio what-if / plain, the first what-if (the pool forks its workers)
apart from the warm ones, and checks the target of 5 s for a warm what-if on 2 cores.

With ``--repeats N`` the two are interleaved N times and the best time of each is used (other
work on a shared machine only ever adds time).

Run:  python benchmarks/bench_app.py [--repeats 3] [--replications 4] [--horizon-days 365]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from servicesim import load_scenario, run_replications
from servicesim.app.controls import Loaded, apply_controls
from servicesim.app.jobs import DONE, Runner, make_pool, what_if_work

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 5.0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--replications", type=int, default=4)
    parser.add_argument("--horizon-days", type=float, default=365.0)
    args = parser.parse_args(argv)
    loaded = Loaded.of(load_scenario(ROOT / "scenarios" / "baseline.yaml"), "baseline")
    now = dataclasses.replace(loaded.start, target=0.90, horizon_days=args.horizon_days,
                              replications=args.replications)
    edit = apply_controls(loaded, now, workers=2)
    assert edit.ok and edit.today_run is not None and edit.edited_run is not None, edit.errors
    n = args.replications
    pool = make_pool(2)
    runner = Runner(pool)
    whatif_times, plain_times, first = [], [], None
    print(f"baseline, target 0.95 -> 0.90, {n} replications x {args.horizon_days:g} days "
          f"({3 * n} simulations each way)", flush=True)
    try:
        for repeat in range(args.repeats + 1):  # the first what-if forks the pool: apart
            started = time.perf_counter()
            job = runner.start("what-if", what_if_work(edit.today_run, edit.edited_run, n))
            job.wait()
            seconds = time.perf_counter() - started
            if job.state != DONE:
                print(f"the what-if ended {job.state}: {job.error}", file=sys.stderr)
                return 1
            if repeat == 0:
                first = seconds
                continue
            whatif_times.append(seconds)
            started = time.perf_counter()
            for scenario in (edit.today_run, edit.edited_run, edit.edited_run):
                run_replications(scenario, n=n)
            plain_times.append(time.perf_counter() - started)
            print(f"  repeat {repeat}: what-if {seconds:.2f} s, plain "
                  f"{plain_times[-1]:.2f} s", flush=True)
    finally:
        pool.stop()
    best, plain = min(whatif_times), min(plain_times)
    print(f"first what-if (forks the 2 workers): {first:.2f} s")
    print(f"what-if (warm pool of 2):            {best:.2f} s   (target < {TARGET_SECONDS:g} s)")
    print(f"plain run_replications, serial:      {plain:.2f} s")
    print(f"ratio what-if / plain:               {best / plain:.2f}")
    if best >= TARGET_SECONDS:
        print(f"the what-if took {best:.2f} s, over the {TARGET_SECONDS:g} s target",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
