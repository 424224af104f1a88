"""The optimiser's simulation count against the fine grid (issue #3, DOMAIN §6).

Optimises ``policy.service_target`` of ``scenarios/baseline.yaml`` over [0.80, 0.999] for
ROI and prints the answer (best target, ROI with 95 % CI, the not-worse set), the simulations
it used, and what the fine grid at the same resolution would cost with the same replication
count per point (the most any point got).

Run:  python benchmarks/bench_optimizer.py [--horizon-days 455] [--workers 2] [--seed N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from servicesim.experiment.optimize import optimize
from servicesim.experiment.params import apply_params
from servicesim.inputs.scenario_file import load_scenario

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizon-days", type=float, default=None,
                        help="shorten the run (the warm-up stays); default: the scenario's")
    parser.add_argument("--low", type=float, default=0.80)
    parser.add_argument("--high", type=float, default=0.999)
    parser.add_argument("--resolution", type=float, default=None,
                        help="finest step; default: the range / 200 rounded to a nice step")
    parser.add_argument("--objective", default="roi")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    scenario = load_scenario(BASELINE)
    if args.horizon_days is not None:
        scenario = apply_params(scenario, {"run.horizon_days": args.horizon_days}, "--set")
    start = time.perf_counter()
    result = optimize(scenario, [f"policy.service_target={args.low}:{args.high}"],
                      objective=args.objective, resolution=args.resolution, seed=args.seed,
                      workers=args.workers, out_dir=None)
    seconds = time.perf_counter() - start
    run = scenario.run
    print(f"scenario {scenario.name}: horizon {run.horizon_days:g} days, warm-up "
          f"{run.warmup_days:g} days, root seed {result.seed}")
    print(result.report())
    most = max(e["n"] for e in result.evaluations)
    points = result.fine_grid_simulations // most
    print(f"fine grid: {points} points × {most} replications = "
          f"{result.fine_grid_simulations:,} simulations; optimiser: {result.n_simulations:,} "
          f"({result.fine_grid_simulations / result.n_simulations:.1f}× fewer) over "
          f"{len(result.evaluations)} points in {result.rounds} rounds; {seconds:.1f} s")


if __name__ == "__main__":
    main()
