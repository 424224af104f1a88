"""Core-simulator speed against a lean hand-written SimPy model of the same system.

Reference case (issue #2): one SKU, unit-size Poisson customer orders at 20/day, continuous
review (s, S) = (120, 220), constant lead time 5 days, lost sales, 3,650 days.

Both models run in this one process, interleaved, several times; the script reports the best
time of each, microseconds per order, and the ratio servicesim / lean (target: <= 2.0).  It
also checks that both give the same item fill rate within noise (a Welch t-test over
independent seeds), so the speed comparison is of two models of the same system.

Run:  python benchmarks/bench_core.py [--repeats 5] [--seeds 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import simpy
from scipy import stats

from servicesim.model.simulation import simulate
from servicesim.scenario.schema import Scenario

RATE_PER_DAY = 20.0
REORDER_POINT, ORDER_UP_TO = 120, 220
LEAD_TIME_DAYS = 5.0
HORIZON_DAYS = 3650.0


def reference_scenario() -> Scenario:
    """The reference case as a servicesim scenario."""
    return Scenario.model_validate({
        "name": "bench-core-reference",
        "run": {"horizon_days": HORIZON_DAYS, "warmup_days": 0.0},
        "policy": {"type": "sS", "reorder_point": REORDER_POINT,
                   "order_up_to": ORDER_UP_TO, "service_target": None},
        "skus": {"ITEM": {"unit_cost": 10.0, "price": 15.0}},
        "segments": {"all": {
            "customers": 1,
            "order_interval_days": {"type": "exponential", "mean": 1.0 / RATE_PER_DAY},
            "reactions": {"switch": 1.0},
        }},
        "supplier": {"lead_time_days": LEAD_TIME_DAYS},
    })


def lean_model(seed: int) -> tuple[int, int]:
    """A lean hand-written SimPy model: one generator for all customers, plain counters.

    Returns (orders, orders filled from stock)."""
    env = simpy.Environment()
    rng = np.random.default_rng(seed)
    state = {"on_hand": ORDER_UP_TO, "on_order": 0}
    counts = [0, 0]

    def delivery(qty: int):  # type: ignore[no-untyped-def]
        yield env.timeout(LEAD_TIME_DAYS)
        state["on_hand"] += qty
        state["on_order"] -= qty

    def customers():  # type: ignore[no-untyped-def]
        mean_gap = 1.0 / RATE_PER_DAY
        while True:
            yield env.timeout(rng.exponential(mean_gap))
            counts[0] += 1
            if state["on_hand"] > 0:
                state["on_hand"] -= 1
                counts[1] += 1
                position = state["on_hand"] + state["on_order"]
                if position <= REORDER_POINT:
                    qty = ORDER_UP_TO - position
                    state["on_order"] += qty
                    env.process(delivery(qty))

    env.process(customers())
    env.run(until=HORIZON_DAYS)
    return counts[0], counts[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each model")
    parser.add_argument("--seeds", type=int, default=8, help="seeds for the fill-rate check")
    args = parser.parse_args(argv)
    scenario = reference_scenario()

    # same system? item fill rate over independent seeds, both models
    lean_fill, sim_fill = [], []
    for seed in range(args.seeds):
        n, filled = lean_model(1000 + seed)
        lean_fill.append(filled / n)
        sim_fill.append(simulate(scenario, 1000 + seed).kpis["item_fill_rate"])
    t_stat, p_value = stats.ttest_ind(sim_fill, lean_fill, equal_var=False)
    same = p_value > 0.001

    # speed: interleaved, best of N
    lean_times, sim_times, orders = [], [], 0
    for rep in range(args.repeats):
        t0 = time.perf_counter()
        orders, _ = lean_model(rep)
        lean_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        simulate(scenario, rep)
        sim_times.append(time.perf_counter() - t0)
    lean_best, sim_best = min(lean_times), min(sim_times)
    ratio = sim_best / lean_best

    print("servicesim core benchmark: 1 SKU, Poisson 20/day, (s,S)=(120,220), L=5 d, "
          "lost sales, 3,650 days")
    print(f"  item fill rate  lean {statistics.mean(lean_fill):.5f}   servicesim "
          f"{statistics.mean(sim_fill):.5f}   Welch p = {p_value:.3f} "
          f"({'same within noise' if same else 'DIFFERENT'})")
    print(f"  lean SimPy      {lean_best:.3f} s  ({lean_best / orders * 1e6:.2f} µs/order)")
    print(f"  servicesim      {sim_best:.3f} s  ({sim_best / orders * 1e6:.2f} µs/order)")
    print(f"  ratio servicesim / lean = {ratio:.2f}  (target <= 2.00: "
          f"{'met' if ratio <= 2.0 else 'NOT met'})")
    return 0 if same and ratio <= 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
