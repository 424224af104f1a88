"""The whole customer-service picture costs little time: the baseline with re-planning,
returns and about one supplier outage a year against the plain baseline (DOMAIN §8, §10, §11).

Both run in this one process, interleaved, on the same seeds: the plain baseline
(``scenarios/baseline.yaml``) and the service scenario, ``scenarios/returns.yaml`` (the
baseline with returns and reverse logistics) with ``policy.replan`` at its defaults (every 30
days from the last 90 days' demand) and a random supplier outage at one a year lasting 10
days on average (the run then also records its daily series and each event's recovery).  With
``--failures`` the segments also get the failure weights of ``scenarios/service_failures.yaml``
(late, damaged and documentation failures drive defection).

It reports the best and median seconds per replication of each, the orders each ran (the
service scenario loses and gains customers differently, so its work differs), and the verdict:
the ratio of the medians of the paired times, service / plain (target: at most 1.3).  A
replication's time includes building the model, as a user's run does.

Run:  python benchmarks/bench_service.py [--repeats 5] [--seeds 4] [--failures]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from servicesim.inputs.scenario_file import load_scenario
from servicesim.model.simulation import simulate
from servicesim.policies.derivation import derive_policies
from servicesim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[1] / "scenarios"
TARGET_RATIO = 1.3
OUTAGE = ("disruptions={supplier_trouble: {kind: supplier_outage, rate_per_year: 1, "
          "duration_days: {type: gamma, mean: 10, std: 5}}}")
FAILURES = ("segments.key_accounts.failure_weights={late: 1, damaged: 1, documentation: 0.5}",
            "segments.retail.failure_weights={late: 0.5, damaged: 1, documentation: 0.25}")


def scenarios(failures: bool) -> tuple[Scenario, Scenario]:
    """The plain baseline and the service scenario."""
    plain = load_scenario(ROOT / "baseline.yaml")
    overrides = ["policy.replan={}", OUTAGE, *(FAILURES if failures else ())]
    service = load_scenario(ROOT / "returns.yaml", overrides=overrides)
    return plain, service


def timed(scenario: Scenario, seed: int) -> tuple[float, float]:
    """Seconds of one replication (the policies derived as a run derives them) and its
    orders."""
    start = time.perf_counter()
    result = simulate(scenario, seed, policies=derive_policies(scenario))
    seconds = time.perf_counter() - start
    return seconds, result.details["orders"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--failures", action="store_true",
                        help="also the failure weights of scenarios/service_failures.yaml")
    args = parser.parse_args(argv)
    plain, service = scenarios(args.failures)
    timed(plain, 0), timed(service, 0)  # warm the imports and caches
    times: dict[str, list[float]] = {"plain": [], "service": []}
    orders: dict[str, list[float]] = {"plain": [], "service": []}
    ratios = []
    for _ in range(args.repeats):
        for seed in range(1, args.seeds + 1):
            pair = {}
            for name, scenario in (("plain", plain), ("service", service)):
                seconds, n = timed(scenario, seed)
                times[name].append(seconds)
                orders[name].append(n)
                pair[name] = seconds
            ratios.append(pair["service"] / pair["plain"])
    for name in ("plain", "service"):
        print(f"{name:8s} best {min(times[name]):.3f} s  median "
              f"{statistics.median(times[name]):.3f} s per replication  "
              f"({statistics.mean(orders[name]):,.0f} orders)")
    ratio = statistics.median(ratios)
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(f"service / plain: median of {len(ratios)} paired ratios {ratio:.2f} "
          f"(best-time ratio {min(times['service']) / min(times['plain']):.2f}); "
          f"target <= {TARGET_RATIO}: {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
