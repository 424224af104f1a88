"""Refusing runs too large to finish: the order lines, hours and memory a run will take.

A scenario can be valid and still hopeless to run: ten million customers, a horizon of a
thousand years, a million SKUs.  :func:`estimate` predicts, from the scenario alone and
before anything is simulated, the order lines a run generates (horizon × order-line
arrival rate × replications × alternatives), the hours it takes and the memory it needs;
:func:`check_size` refuses (:class:`SizeError`) a run over :data:`MAX_HOURS` or over the
memory limit, saying what it estimated and how to override it (``--allow-large`` on the
command line, ``allow_large=True`` here).

The cost figures were measured on this project's engine (a shared 2-core Linux container,
Python 3.11, 2 to 8 segments of 800 customers, 10 to 20,000 SKUs, 30 to 1,200 days):

- :data:`SECONDS_PER_LINE`: wall time per order line on one core (measured 4.9 to 6.4 µs);
- :data:`SECONDS_PER_SKU`: set-up time per SKU and simulation (the derived policies;
  measured 55 to 120 µs);
- :data:`BASE_BYTES`: a worker process before the first SKU (measured 110 MB);
- :data:`BYTES_PER_SKU` and :data:`BYTES_PER_SKU_SEGMENT`: what a worker process adds per
  SKU (measured 2.9 KB) and per SKU × segment (measured about 20 bytes); memory does not
  grow with the horizon (1,000 SKUs: the same peak for 120 and 1,200 days);
- :data:`BYTES_PER_SKU_ALTERNATIVE`: the validated scenario of each alternative, kept by
  the parent process (measured 1.6 KB per SKU);
- :data:`BYTES_PER_CUSTOMER`: what a worker process adds per customer (measured 170 bytes
  on a short horizon, 390 bytes for 10 million customers over the default horizon);
- periodic review (RS, RsS): every review is an event that costs about as much as an
  order line (:data:`SECONDS_PER_REVIEW`, measured 4.6 µs) and keeps a cycle record
  (:data:`BYTES_PER_REVIEW`, measured about 100 bytes), so a review period of a
  microsecond is days of work and gigabytes of memory;
- waiting customers (DOMAIN §2, stockout reactions) come back up to ``max_waits`` times
  after a patience delay: every retry is an event that costs about an order line.  A
  short patience makes a stocked-out waiting line cost up to ``max_waits`` events.

The estimate is rough (within a factor of about 2): it is a guard against days and
terabytes, not a schedule.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import NOT_SET, Problem, ScenarioError

if TYPE_CHECKING:  # the CLI reads MAX_HOURS for its --help without loading the schema
    from ..scenario.schema import Scenario

__all__ = [
    "MAX_HOURS",
    "SizeError",
    "SizeEstimate",
    "check_size",
    "estimate",
    "memory_limit_bytes",
]

SECONDS_PER_LINE = 6e-6
"""Wall time per simulated order line on one core (measured 4.9-6.4 µs)."""

SECONDS_PER_SKU = 120e-6
"""Set-up time per SKU and simulation (deriving its policy; measured 55-120 µs)."""

BASE_BYTES = 120e6
"""Memory of a worker process before the first SKU (measured 110 MB)."""

BYTES_PER_SKU = 3e3
"""Memory per SKU in a worker process (measured 2.9 KB)."""

BYTES_PER_SKU_SEGMENT = 100.0
"""Memory per SKU and segment in a worker process (measured about 20 bytes)."""

BYTES_PER_SKU_ALTERNATIVE = 2e3
"""Memory per SKU of each alternative's scenario, in the parent (measured 1.6 KB)."""

BYTES_PER_CUSTOMER = 400.0
"""Memory per customer in a worker process (measured 170-390 bytes)."""

SECONDS_PER_REVIEW = 6e-6
"""Wall time per periodic review of one SKU on one core (measured 4.6 µs)."""

BYTES_PER_REVIEW = 100.0
"""Memory per periodic review of one SKU in a simulation (measured about 100 bytes)."""

SHORT_SHARE_WITHOUT_TARGET = 0.5
"""Share of lines assumed to meet a stockout when the policy has no service target."""

MAX_HOURS = 24.0
"""Longest estimated wall time allowed without ``allow_large`` (hours: fine; days: not)."""

DEFAULT_MEMORY_LIMIT = 8 * 2**30
"""The memory limit where the machine's memory cannot be read (bytes)."""


def memory_limit_bytes() -> float:
    """The memory a run may take: 80 % of this machine's physical memory (else 8 GiB)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return float(DEFAULT_MEMORY_LIMIT)
    return 0.8 * total if total > 0 else float(DEFAULT_MEMORY_LIMIT)


@dataclass(frozen=True)
class SizeEstimate:
    """What a run will take, estimated before it starts.

    ``lines`` counts order lines over all simulations (replications × alternatives);
    ``hours`` is wall time on ``workers`` processes; ``memory_bytes`` is the peak of all
    worker processes together and the alternatives' scenarios.
    """

    lines: float
    lines_per_day: float
    horizon_days: float
    simulations: int
    workers: int
    skus: int
    segments: int
    hours: float
    memory_bytes: float
    customers: float = 0.0
    reviews: float = 0.0
    retries: float = 0.0

    @property
    def memory_gb(self) -> float:
        return self.memory_bytes / 1e9

    def __str__(self) -> str:
        events = "".join(f", {_count(count)} {what}" for count, what in (
            (self.reviews, "periodic reviews"), (self.retries, "waiting retries"))
            if count >= 1)
        customers = f", {_count(self.customers)} customers" \
            if self.customers * BYTES_PER_CUSTOMER >= 0.1e9 else ""  # when they weigh
        return (f"about {_count(self.lines)} order lines ({_count(self.lines_per_day)} a day "
                f"× {self.horizon_days:,.0f} days × {self.simulations:,} simulations)"
                f"{events}, {_duration(self.hours)} on {_plural(self.workers, 'core')} and "
                f"{self.memory_gb:,.1f} GB of memory ({_plural(self.skus, 'SKU')} × "
                f"{_plural(self.segments, 'segment')}{customers})")


def _count(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if value >= 1e9:
        return f"{value / 1e9:,.1f} billion"
    if value >= 1e6:
        return f"{value / 1e6:,.1f} million"
    return f"{value:,.0f}"


def _duration(hours: float) -> str:
    if not math.isfinite(hours):
        return "forever"
    if hours >= 48:
        return f"{hours / 24:,.1f} days"
    if hours >= 1:
        return f"{hours:,.1f} hours"
    if hours * 60 >= 1:
        return f"{hours * 60:,.1f} minutes"
    return f"{hours * 3600:,.1f} seconds"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def _mean_customers(start: float, acquired_per_year: float, retention_per_year: float,
                    years: float) -> float:
    """Customers on average over ``years``: ``start`` plus ``acquired_per_year`` new ones,
    each staying with the yearly probability ``retention_per_year`` (an exponential loss
    at rate c = -ln(retention): N(t) = N* + (N0 - N*) e^(-ct) with N* = acquired / c)."""
    churn = -math.log(retention_per_year) if retention_per_year > 0 else math.inf
    if years <= 0:
        return start
    if churn * years < 1e-9:  # (almost) nobody leaves: a straight line
        return start + 0.5 * acquired_per_year * years
    steady = acquired_per_year / churn
    return steady + (start - steady) * -math.expm1(-churn * years) / (churn * years)


def _lines_per_day(scenario: Scenario) -> float:
    """Expected order lines a day over the horizon: each segment's average customers
    (:func:`_mean_customers`) / mean order interval × mean lines per order (drawn as
    ``max(1, round(X))``)."""
    from ..scenario.distributions import integer_moments  # SciPy: only when estimating

    years = scenario.run.horizon_days / scenario.finance.days_per_year
    total = 0.0
    for segment in scenario.segments.values():
        customers = _mean_customers(segment.customers, segment.acquisition.customers_per_year,
                                    segment.retention_rate_per_year, years)
        interval = segment.order_interval_days.mean
        lines = integer_moments(segment.lines_per_order, 1)[0]
        total += customers / interval * lines if interval > 0 else math.inf
    return total


def _customers(scenario: Scenario) -> float:
    """Customers a simulation creates: those at the start and every one acquired over the
    horizon (a customer who leaves keeps its record)."""
    years = scenario.run.horizon_days / scenario.finance.days_per_year
    return float(sum(segment.customers + segment.acquisition.customers_per_year * years
                     for segment in scenario.segments.values()))


def _reviews(scenario: Scenario) -> float:
    """Periodic reviews of one simulation: horizon / R for every RS or RsS SKU (DOMAIN §5)."""
    default = scenario.policy
    total = 0.0
    for sku in scenario.skus.values():
        kind = sku.policy.type or default.type
        if kind not in ("RS", "RsS"):
            continue
        period = sku.policy.review_period_days or default.review_period_days
        if period:
            total += scenario.run.horizon_days / period + 1
    return total


def _short_share(scenario: Scenario) -> float:
    """Share of lines expected to meet a stockout: 1 - the lowest service target (β or α as
    an approximation), else :data:`SHORT_SHARE_WITHOUT_TARGET`."""
    target = scenario.policy.service_target
    targets = list(target.values()) if isinstance(target, dict) else [target]
    targets += [sku.policy.service_target for sku in scenario.skus.values()]
    known = [t for t in targets if t is not None]
    return 1.0 - min(known) if known else SHORT_SHARE_WITHOUT_TARGET


def _retries_per_line(scenario: Scenario) -> float:
    """Waiting retries per order line: the wait share of each segment's lines × the share
    that meets a stockout × retries per waiting line, ``max_waits`` at most and about the
    mean lead time over the mean patience (a waiting customer comes back until the
    replenishment arrives), weighted by the segments' lines."""
    short = _short_share(scenario)
    lead = max([scenario.supplier.lead_time_days.mean]
               + [sku.supplier.lead_time_days.mean for sku in scenario.skus.values()
                  if sku.supplier is not None])
    weighted = total = 0.0
    for segment in scenario.segments.values():
        orders = segment.customers / segment.order_interval_days.mean
        total += orders
        if segment.reactions.wait <= 0 or segment.max_waits <= 0:
            continue
        patience = segment.patience_days.mean
        returns = segment.max_waits if patience <= 0 else min(
            float(segment.max_waits), max(1.0, lead / patience))
        weighted += orders * segment.reactions.wait * short * returns
    return weighted / total if total > 0 else 0.0


def estimate(scenario: Scenario, replications: int | None = None, alternatives: int = 1,
             workers: int = 1) -> SizeEstimate:
    """The order lines, wall hours and memory of ``replications`` (default
    ``scenario.run.replications``) × ``alternatives`` simulations of ``scenario`` on
    ``workers`` processes."""
    n = scenario.run.replications if replications is None else int(replications)
    simulations = max(n, 1) * max(int(alternatives), 1)
    workers = max(1, min(int(workers), simulations))
    per_day = _lines_per_day(scenario)
    lines = per_day * scenario.run.horizon_days * simulations
    skus, segments = len(scenario.skus), len(scenario.segments)
    customers, reviews = _customers(scenario), _reviews(scenario)
    retries = lines * _retries_per_line(scenario)
    per_process = (BASE_BYTES + skus * (BYTES_PER_SKU + segments * BYTES_PER_SKU_SEGMENT)
                   + customers * BYTES_PER_CUSTOMER + reviews * BYTES_PER_REVIEW)
    plans = skus * BYTES_PER_SKU_ALTERNATIVE * max(int(alternatives), 1)
    seconds = ((lines + retries) * SECONDS_PER_LINE + simulations * skus * SECONDS_PER_SKU
               + simulations * reviews * SECONDS_PER_REVIEW)
    return SizeEstimate(
        lines=lines, lines_per_day=per_day, horizon_days=scenario.run.horizon_days,
        simulations=simulations, workers=workers, skus=skus, segments=segments,
        hours=seconds / 3600 / workers, memory_bytes=per_process * workers + plans,
        customers=customers, reviews=reviews * simulations, retries=retries)


class SizeError(ScenarioError):
    """A run too large to finish (see :func:`check_size`); ``estimate`` says how large."""

    def __init__(self, problems: list[Problem], size: SizeEstimate) -> None:
        super().__init__(problems)
        self.estimate = size


def check_size(scenario: Scenario, replications: int | None = None, alternatives: int = 1,
               workers: int = 1, *, allow_large: bool = False, source: str | None = None,
               max_hours: float = MAX_HOURS, max_memory_bytes: float | None = None,
               option: str = "--allow-large") -> SizeEstimate:
    """The :func:`estimate`, or :class:`SizeError` if it exceeds ``max_hours`` of wall
    time or ``max_memory_bytes`` (default :func:`memory_limit_bytes`), unless
    ``allow_large``.  ``source`` names the scenario in the message (default its name);
    ``option`` is how the caller overrides the check."""
    size = estimate(scenario, replications, alternatives, workers)
    limit = memory_limit_bytes() if max_memory_bytes is None else float(max_memory_bytes)
    over = []
    if not size.hours <= max_hours:
        over.append(f"more than the {_duration(max_hours)} allowed")
    if not size.memory_bytes <= limit:
        over.append(f"more than the {limit / 1e9:,.1f} GB of memory allowed")
    if over and not allow_large:
        message = (f"this run is too large: {size}; that is {' and '.join(over)}. Shorten "
                   "run.horizon_days, lower the replications, customers or alternatives, or "
                   f"run it anyway with {option}")
        raise SizeError([Problem(source or f"scenario {scenario.name}", "", NOT_SET, message)],
                        size)
    return size
