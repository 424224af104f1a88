"""The size guard: runs that would take days or exhaust memory are refused before they start,
with the estimate and the option that overrides it; planners' normal work is not."""

from __future__ import annotations

import contextlib
import io
import math
import re
import time
from pathlib import Path
from typing import Any

import pytest

from servicesim.cli import main
from servicesim.errors import ScenarioError
from servicesim.experiment import guard
from servicesim.experiment.guard import SizeError, check_size, estimate
from servicesim.inputs.generate import generate_dataset
from servicesim.inputs.scenario_file import load_scenario
from servicesim.scenario.validation import scenario_from_dict

SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios").glob("*.yaml"))
BASELINE = Path(__file__).parent.parent / "scenarios" / "baseline.yaml"


def exact(customers: int = 100, acquired: float = 0.0, retention: float = 1.0,
          horizon: float = 365.0, skus: int = 1) -> dict[str, object]:
    """A scenario whose order lines are known by hand: constant 10-day order intervals and
    2 lines per order, so 100 customers make 20 lines a day."""
    return {
        "name": "exact",
        "run": {"horizon_days": horizon, "warmup_days": 0, "replications": 3},
        "skus": {f"S{i}": {} for i in range(skus)},
        "segments": {"s": {"customers": customers, "order_interval_days": 10,
                           "lines_per_order": 2, "retention_rate_per_year": retention,
                           "acquisition": {"customers_per_year": acquired}}},
    }


def test_lines_match_a_hand_count() -> None:
    size = estimate(scenario_from_dict(exact()), alternatives=4, workers=2)
    assert size.lines_per_day == pytest.approx(20.0)
    assert size.simulations == 12
    assert size.lines == pytest.approx(20 * 365 * 12)
    assert size.workers == 2 and size.skus == 1 and size.segments == 1
    # 50 new customers a year, nobody leaves: 125 on average over the year
    grown = estimate(scenario_from_dict(exact(acquired=50)), replications=1)
    assert grown.lines_per_day == pytest.approx(125 / 10 * 2)
    # half leave each year: the customers fall from 100 towards 50 / ln 2 = 72
    churned = estimate(scenario_from_dict(exact(acquired=50, retention=0.5)), replications=1)
    assert 50 / math.log(2) / 10 * 2 < churned.lines_per_day < 20


def test_time_and_memory_scale_as_they_should() -> None:
    one = estimate(scenario_from_dict(exact(skus=10)), workers=1)
    two = estimate(scenario_from_dict(exact(skus=10)), workers=2)
    assert two.hours == pytest.approx(one.hours / 2)
    assert two.memory_bytes > one.memory_bytes  # every worker holds the scenario
    longer = estimate(scenario_from_dict(exact(skus=10, horizon=730)))
    assert longer.lines == pytest.approx(2 * one.lines)
    assert longer.memory_bytes == pytest.approx(one.memory_bytes)  # flat in the horizon
    wider = estimate(scenario_from_dict(exact(skus=1000)))
    assert wider.memory_bytes > one.memory_bytes + 1000 * guard.BYTES_PER_SKU * 0.9
    # workers beyond the simulations are idle
    assert estimate(scenario_from_dict(exact()), replications=2, workers=64).workers == 2


def test_the_estimate_reads_well() -> None:
    text = str(estimate(scenario_from_dict(exact()), alternatives=4, workers=2))
    assert text.startswith("about 87,600 order lines (20 a day × 365 days × 12 simulations)")
    assert "on 2 cores" in text and "GB of memory (1 SKU × 1 segment)" in text


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenarios_and_a_planners_sweep_pass(path: Path) -> None:
    scenario = load_scenario(path)
    check_size(scenario)
    for years in (2, 8):  # a 20 x 10 grid of 10 replications on a 2-core laptop
        longer = scenario.model_copy(update={"run": scenario.run.model_copy(
            update={"horizon_days": 365.0 * years})})
        check_size(longer, replications=10, alternatives=200, workers=2)


def test_a_generated_1000_sku_item_master_passes(tmp_path: Path) -> None:
    path = generate_dataset(skus=1000, days=730, seed=7, out_dir=tmp_path)
    scenario = load_scenario(path)
    assert len(scenario.skus) == 1000
    for years in (2, 8):
        longer = scenario.model_copy(update={"run": scenario.run.model_copy(
            update={"horizon_days": 365.0 * years})})
        size = check_size(longer, replications=10, alternatives=200, workers=2)
        assert size.hours < guard.MAX_HOURS and size.memory_gb < 4


def test_days_of_running_are_refused_with_the_estimate_and_the_override() -> None:
    scenario = load_scenario(BASELINE, ["run.horizon_days=1e8"])
    with pytest.raises(SizeError) as caught:
        check_size(scenario, source=str(BASELINE))
    message = str(caught.value)
    assert message.startswith(f"{BASELINE}: this run is too large: about ")
    assert "billion order lines" in message and " days on 1 core" in message, message
    assert f"more than the {guard.MAX_HOURS:g}.0 hours allowed" in message
    assert message.endswith("or run it anyway with --allow-large")
    assert caught.value.estimate.hours > guard.MAX_HOURS
    assert check_size(scenario, allow_large=True).hours > guard.MAX_HOURS


def test_memory_over_the_limit_is_refused() -> None:
    scenario = scenario_from_dict(exact(skus=2000))
    with pytest.raises(SizeError, match=r"more than the 0\.1 GB of memory allowed"):
        check_size(scenario, max_memory_bytes=1e8, option="allow_large=True")
    assert guard.memory_limit_bytes() > 1e8


def run_cli(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, err.getvalue()


@pytest.mark.parametrize("argv", [
    ["run", str(BASELINE), "--horizon-days", "5e7"],
    ["sweep", str(BASELINE), "--param", "policy.service_target=0.5:0.99:0.00001",
     "--horizon-days", "20000", "--workers", "2"],
    ["optimize", str(BASELINE), "--horizon-days", "5e6", "--workers", "2"],
    ["compare", str(BASELINE), "--set-variant", "b:policy.service_target=0.9",
     "--horizon-days", "1e8",
     "--workers", "2"],
], ids=["run", "sweep", "optimize", "compare"])
def test_cli_refuses_before_simulating(argv: list[str], tmp_path: Path) -> None:
    start = time.perf_counter()
    code, err = run_cli([*argv, "--out", str(tmp_path)])
    assert code == 2
    assert err.startswith(f"servicesim: error: {BASELINE}: this run is too large: about ")
    assert "--allow-large" in err and "Traceback" not in err
    assert time.perf_counter() - start < 20  # refused up front: nothing was simulated
    assert not any(tmp_path.iterdir())


def test_allow_large_lets_the_run_start(monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    import servicesim.experiment.replications

    class Started(Exception):
        pass

    def started(*args: object, **kwargs: object) -> None:
        raise Started

    monkeypatch.setattr(servicesim.experiment.replications, "run_replications", started)
    argv = ["run", str(BASELINE), "--horizon-days", "5e7", "--out", str(tmp_path)]
    code, err = run_cli([*argv, "--allow-large"])
    assert code == 1 and "unexpected Started" in err  # it reached the simulation
    assert run_cli(argv)[0] == 2


def test_periodic_reviews_count_in_time_and_memory() -> None:
    """Every review of an RS SKU is an event and a cycle record (about an order line's work
    and 100 bytes): a short review period is refused although it adds no order lines."""
    def reviewed(period: float) -> Any:
        return scenario_from_dict({**exact(horizon=100_000, skus=3),
                                   "policy": {"type": "RS", "review_period_days": period}})

    weekly, often = reviewed(7), reviewed(0.001)
    assert estimate(often).lines == estimate(weekly).lines
    assert estimate(often).reviews == pytest.approx(3 * 3 * 1e8, rel=1e-3)
    assert estimate(often).hours > 100 * estimate(weekly).hours
    assert estimate(often).memory_bytes > 1e10
    start = time.perf_counter()
    with pytest.raises(SizeError, match="900.0 million periodic reviews") as caught:
        check_size(often, source=str(BASELINE), max_memory_bytes=16e9)
    assert "--allow-large" in str(caught.value)
    assert time.perf_counter() - start < 2


def test_a_microsecond_review_period_is_refused_by_the_schema() -> None:
    with pytest.raises(ScenarioError, match=r"policy\.review_period_days.*0\.001"):
        scenario_from_dict({**exact(), "policy": {"type": "RS", "review_period_days": 1e-6}})


def test_customers_count_in_the_memory_estimate() -> None:
    few = estimate(scenario_from_dict(exact(customers=100)))
    many = estimate(scenario_from_dict(exact(customers=10_000_000)))
    assert many.memory_bytes - few.memory_bytes == pytest.approx(
        (10_000_000 - 100) * guard.BYTES_PER_CUSTOMER)
    assert many.memory_gb > 3.9  # measured: 3.9 GB for ten million customers
    with pytest.raises(SizeError, match="10.0 million customers"):
        check_size(scenario_from_dict(exact(customers=10_000_000)), workers=4,
                   max_memory_bytes=8e9)
    grown = estimate(scenario_from_dict(exact(customers=100, acquired=1000, horizon=730)))
    assert grown.customers == pytest.approx(100 + 2000)


def test_waiting_retries_count_in_the_time_estimate() -> None:
    """A waiting customer of almost no patience comes back max_waits times at once."""
    def waiting(max_waits: int, patience: float) -> Any:
        return load_scenario(BASELINE, [
            "segments.retail.reactions={wait: 1}", f"segments.retail.max_waits={max_waits}",
            f"segments.retail.patience_days={{type: exponential, mean: {patience!r}}}",
            "segments.key_accounts.reactions={wait: 1}",
            f"segments.key_accounts.max_waits={max_waits}",
            f"segments.key_accounts.patience_days={{type: exponential, mean: {patience!r}}}"])
    patient, impatient = waiting(3, 3.0), waiting(1000, 1.0e-9)
    assert estimate(patient).retries < estimate(patient).lines
    assert estimate(impatient).retries >= 40 * estimate(impatient).lines
    assert estimate(impatient).hours > 30 * estimate(patient).hours
    assert "waiting retries" in str(estimate(impatient))


@pytest.mark.parametrize(("argv", "expected"), [
    (["--dask-local", "1000"], "argument --dask-local: expected at most "),
    (["--scheduler-timeout", "1e308"],
     "argument --scheduler-timeout: expected a number of seconds > 0 and at most 86400, "
     "got '1e308'"),
    (["--param", "policy.service_target=0:1:1e-300"],
     "policy.service_target: value 0:1:1e-300: the step 1e-300 is finer than the range "
     "resolves: the smallest step allowed is 1e-09"),
    (["--param", "policy.service_target=0:1e30:1e-20"], "the step 1e-20 is finer"),
    (["--param", "policy.service_target=0:1e300:1e292"],
     "the range has 100,000,001 values; at most 100,000 are allowed"),
    (["--param", "policy.service_target=0:1e400:1"], "numbers a float can hold"),
], ids=["dask-local", "scheduler-timeout", "tiny-step", "relative-step", "huge-count",
        "overflow"])
def test_options_are_bounded_to_sane_ranges(argv: list[str], expected: str,
                                            tmp_path: Path) -> None:
    start = time.perf_counter()
    code, err = run_cli(["sweep", str(BASELINE), *(["--param", "policy.service_target=0.9"]
                                                    if "--param" not in argv else []),
                         *argv, "--out", str(tmp_path)])
    assert code == 2 and expected in err, err
    assert time.perf_counter() - start < 5 and "Traceback" not in err
    assert max(map(len, re.findall(r"\d+", err))) < 20  # no 300-digit numbers
