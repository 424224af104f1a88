"""Inventory policy parameters derived from a service target (DOMAIN §5).

A scenario gives, per SKU, a policy type and either its parameters or a service target:
α (``cycle_service_level``) or β (``fill_rate``).  This module turns the demand the
scenario implies into the distribution of demand over the protection interval (the lead
time L, or R + L for periodic review) and picks the smallest integer reorder point s /
order-up-to level S that meets the target.  A parameter given explicitly wins; the target
derives only the missing ones.  Every result carries the formula's own prediction of the
service at the chosen parameters, so a report can put target, predicted and simulated
service side by side (DOMAIN §5: "always report target and achieved side by side").

Lead-time demand D over a protection interval T (T = L for continuous review, R + L for
periodic review), with μ_d, σ_d² the mean and variance of units demanded per day::

    E[D] = μ_d·E[T]          Var[D] = E[T]·σ_d² + μ_d²·Var(L)

It is modelled as Poisson, negative binomial (fitted by moments) or normal.  The discrete
models are evaluated exactly (DOMAIN §5: "use the discrete distribution, not the normal,
where it matters"): F from the regularised incomplete gamma / beta functions and the loss
E[(D − x)^+] = Σ_{k ≥ x} P(D > k) in its closed form μ·P(D* ≥ x) − x·P(D > x), where D* is
the size-biased count (Poisson(μ) again; NB(n + 1, p) for NB(n, p)).  Each value costs
O(1) whatever the mean, so an integer search over means from 10⁻² to 10⁵ and beyond takes
a few milliseconds.  With F(x) = P(D ≤ x):

* (s, Q), (s, S): α = F_L(s);  β = 1 − [E(D_L − s)^+ − E(D_L − s − Q)^+] / Q
  (Hadley–Whitin expected shortage per cycle; exact for unit-size Poisson demand with
  backorders, where it equals (1/Q)·Σ_{y=s+1}^{s+Q} F_L(y − 1)).  For (s, S), Q = S − s.
  With the normal model and Q ≫ σ_L this is DOMAIN §5's σ_L·G(z) = (1 − β)·Q.
* base-stock (S − 1, S): α = F_L(S − 1); β = 1 − [E(D_L − S + 1)^+ − E(D_L − S)^+]
  (the (s, Q) formula with Q = 1, s = S − 1; both equal F_L(S − 1) for discrete demand).
* (R, S): α = F_{R+L}(S);  β = 1 − [E(D_{R+L} − S)^+ − E(D_L − S)^+] / (μ_d·R).
* (R, s, S): the (s, S) formulas over the protection interval R + L (the undershoot of s at
  a review left out).

Each family (one module beside this one, :mod:`servicesim.policies.registry`) states its own
rule and calls the shared machinery here: the demand models, their losses, the integer
search, the EOQ, and :class:`Derivation`, one SKU's work in progress.

All the parameters are integers: the search returns the smallest integer that meets the
target, so the normal model rounds up.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
from scipy import special, stats
from scipy.special import cython_special

from .._gc import older_objects_frozen
from ..scenario.distributions import integer_moments
from ..scenario.schema import Policy, Scenario

_REL_TOL = 1e-9
"""Relative tolerance of "variance equals mean" (the Poisson case of ``auto``)."""

NO_LIMIT = 10**15
"""A search bound far beyond any reachable parameter."""


# ---------------------------------------------------------------------------------------
# Small public helpers


def normal_loss(z: float) -> float:
    """Standard normal loss G(z) = φ(z) − z·(1 − Φ(z)) = E[(Z − z)^+] for Z ~ N(0, 1)."""
    z = float(z)
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    upper = 0.5 * math.erfc(z / math.sqrt(2.0))  # 1 − Φ(z), accurate in the upper tail
    return max(pdf - z * upper, 0.0)


def erlang_b(servers: int, load: float) -> float:
    """Erlang-B blocking probability B(c, a) for ``servers`` c and offered ``load`` a.

    Recursion B(0) = 1, B(n) = a·B(n−1) / (n + a·B(n−1)).  In a lost-sales base-stock
    system with Poisson demand, S = c and a = λ·E[L], the fill rate is 1 − B(S, a).
    """
    if servers < 0 or int(servers) != servers:
        raise ValueError(f"servers must be a non-negative integer (got {servers})")
    if load < 0 or not math.isfinite(load):
        raise ValueError(f"load must be finite and >= 0 (got {load})")
    blocking = 1.0
    for n in range(1, int(servers) + 1):
        blocking = load * blocking / (n + load * blocking)
    return blocking


MAX_ORDER_QUANTITY = 100_000_000
"""Largest order quantity the EOQ gives (the schema's bound on ``order_quantity``)."""


def economic_order_quantity(scenario: Scenario, sku_name: str, units_per_day: float) -> int:
    """EOQ (units) = max(1, round(√(2·K·D / h))), rounded half up.

    K = ``cost_per_order`` + ``inbound_cost_per_shipment`` of the SKU's supplier (money per
    order), D = ``units_per_day`` × ``finance.days_per_year`` (units per year),
    h = holding cost per unit per year + cost-of-capital rate × unit cost (money per unit per
    year).  With K = 0 the EOQ would be 0: Q = max(1, round(μ_d)), about one day of demand.
    With h = 0 the EOQ would be infinite: Q = max(1, round(D)), one year of demand.
    """
    sku = scenario.skus[sku_name]
    supplier = scenario.sku_supplier(sku_name)
    fixed_cost = supplier.cost_per_order + supplier.inbound_cost_per_shipment
    units_per_year = units_per_day * scenario.finance.days_per_year
    holding = (sku.annual_holding_cost_per_unit
               + scenario.finance.cost_of_capital_rate_per_year * sku.unit_cost)
    if fixed_cost <= 0:
        quantity = units_per_day
    elif holding <= 0:
        quantity = units_per_year
    else:
        quantity = math.sqrt(2.0 * fixed_cost * units_per_year / holding)
    if not math.isfinite(quantity):  # overflowed: beyond any order quantity allowed
        return MAX_ORDER_QUANTITY
    return int(min(max(1, math.floor(quantity + 0.5)), MAX_ORDER_QUANTITY))


# ---------------------------------------------------------------------------------------
# Demand implied by the scenario


@dataclass(frozen=True)
class SkuDemand:
    """Demand the scenario implies for one SKU (per day, over all segments)."""

    lines_per_day: float
    """Order lines per day (a Poisson superposition over segments)."""
    units_per_day: float
    """Mean units demanded per day, μ_d."""
    units_var_per_day: float
    """Variance of units demanded per day, σ_d² (compound Poisson: Σ lines rate × E[Q²])."""
    unit_size_one: bool
    """Every line is exactly one unit (lead-time demand is then Poisson if L is constant)."""


def _quantity_moments(dist: Any) -> tuple[float, float, bool]:
    """E[Q], E[Q²] of the rounded quantity per line (at least 1), and whether Q ≡ 1."""
    mean, var = integer_moments(dist, 1)
    return mean, var + mean * mean, mean - 1.0 <= 1e-12


def sku_demands(scenario: Scenario,
                customers: Mapping[str, float] | None = None) -> dict[str, SkuDemand]:
    """Demand per SKU, in ``scenario.skus`` order, from each segment's ``customers`` (or
    from ``customers[segment]`` where given: the customer base at a later moment).

    Per segment: orders/day = customers / E[order interval]; the lines of SKU k per day =
    orders/day × E[lines per order] × w_k / Σw; units/day = lines/day × E[Q]; the variance
    per day = lines/day × E[Q²] (compound Poisson).  Q is the SKU's own ``units_per_line``
    where it has one, else the segment's.  E[lines] and the moments of Q are those of the
    rounded draws (at least 1) the model makes (:func:`integer_moments`).

    Assumptions: the customer base is the one given (the initial one, or ``customers``;
    later defections and acquisitions are ignored); the superposed orders of many customers
    are Poisson; the lines of one SKU do not cluster within an order.
    """
    names = list(scenario.skus)
    n_sku = len(names)
    lines = np.zeros(n_sku)
    units = np.zeros(n_sku)
    second_moment = np.zeros(n_sku)
    unit_size_one = np.ones(n_sku, dtype=bool)
    # SKUs with their own quantity distribution (the same whatever the segment)
    own = np.zeros(n_sku, dtype=bool)
    own_mean, own_square = np.zeros(n_sku), np.zeros(n_sku)
    own_one = np.ones(n_sku, dtype=bool)
    for i, sku in enumerate(scenario.skus.values()):
        if sku.units_per_line is not None:
            own[i] = True
            own_mean[i], own_square[i], own_one[i] = _quantity_moments(sku.units_per_line)
    for seg_name, seg in scenario.segments.items():
        n_customers = seg.customers if customers is None else customers.get(seg_name, 0)
        if n_customers == 0:
            continue
        orders_per_day = n_customers / seg.order_interval_days.mean
        lines_per_order, _ = integer_moments(seg.lines_per_order, 1)
        mean_q, square_q, one = _quantity_moments(seg.units_per_line)
        weights = np.asarray(scenario.sku_weights(seg_name), dtype=float)
        # fsum: exact, so the same whatever the order the SKUs are listed in
        rates = orders_per_day * lines_per_order * weights / math.fsum(weights.tolist())
        lines += rates
        units += rates * np.where(own, own_mean, mean_q)
        second_moment += rates * np.where(own, own_square, square_q)
        unit_size_one &= (rates == 0) | np.where(own, own_one, one)
    return {
        name: SkuDemand(
            lines_per_day=float(lines[i]),
            units_per_day=float(units[i]),
            units_var_per_day=float(second_moment[i]),
            unit_size_one=bool(unit_size_one[i]),
        )
        for i, name in enumerate(names)
    }


# ---------------------------------------------------------------------------------------
# Lead-time demand distributions


class _Demand(Protocol):
    """Demand over a protection interval: F(x) = P(D ≤ x) and the loss E[(D − x)^+]."""

    def cdf(self, x: int) -> float: ...

    def loss(self, x: int) -> float: ...


class _PointMassAtZero:
    """No demand: D = 0."""

    def cdf(self, x: int) -> float:
        return 1.0 if x >= 0 else 0.0

    def loss(self, x: int) -> float:
        return float(max(-x, 0))


class _PoissonDemand:
    """Poisson(μ).  Loss in closed form: E[(D − x)^+] = μ·P(D ≥ x) − x·P(D > x).

    (From k·p(k) = μ·p(k − 1); exact, O(1) per value whatever the mean.)
    """

    def __init__(self, mean: float) -> None:
        self.mean = mean
        self._losses: dict[int, float] = {}  # the search and the prediction share values

    def cdf(self, x: int) -> float:
        return cython_special.pdtr(float(x), self.mean) if x >= 0 else 0.0

    def loss(self, x: int) -> float:
        if x <= 0:
            return self.mean - x
        value = self._losses.get(x)
        if value is None:  # P(D ≥ x), P(D > x)
            above = cython_special.pdtrc(x - 1.0, self.mean)
            beyond = cython_special.pdtrc(float(x), self.mean)
            value = self._losses[x] = max(self.mean * above - x * beyond, 0.0)
        return value


class _NegativeBinomialDemand:
    """Negative binomial with mean μ and variance σ² > μ: n = μ²/(σ² − μ), p = μ/σ².

    Loss in closed form: E[(D − x)^+] = μ·P(D' ≥ x) − x·P(D > x) with D' ~ NB(n + 1, p)
    (from k·p_n(k) = μ·p_{n+1}(k − 1)).
    """

    def __init__(self, mean: float, var: float) -> None:
        self.mean = mean
        self._losses: dict[int, float] = {}  # the search and the prediction share values
        self._n = mean * mean / (var - mean)
        self._p = mean / var
        self._q = (var - mean) / var  # 1 − p without cancellation

    def cdf(self, x: int) -> float:
        return cython_special.betainc(self._n, x + 1.0, self._p) if x >= 0 else 0.0

    def loss(self, x: int) -> float:
        if x <= 0:
            return self.mean - x
        value = self._losses.get(x)
        if value is None:  # P(D' ≥ x) = I_q(x, n + 1), P(D > x) = I_q(x + 1, n), q = 1 − p
            above = cython_special.betainc(float(x), self._n + 1, self._q)
            beyond = cython_special.betainc(x + 1.0, self._n, self._q)
            value = self._losses[x] = max(self.mean * above - x * beyond, 0.0)
        return value


class _NormalDemand:
    """Normal(μ, σ); σ = 0 is the point mass at μ."""

    def __init__(self, mean: float, std: float) -> None:
        self.mean, self.std = mean, std

    def cdf(self, x: int) -> float:
        if self.std == 0:
            return 1.0 if x >= self.mean else 0.0
        return 0.5 * math.erfc(-(x - self.mean) / (self.std * math.sqrt(2.0)))

    def loss(self, x: int) -> float:
        if self.std == 0:
            return max(self.mean - x, 0.0)
        return self.std * normal_loss((x - self.mean) / self.std)


def _lead_time_demand(mean: float, var: float, requested: str,
                      notes: list[str], label: str) -> tuple[_Demand, str]:
    """The demand model over an interval with moments (``mean``, ``var``) and its name.

    ``auto``: Poisson when var = mean (relative 1e-9), negative binomial when var > mean,
    normal otherwise.  ``poisson`` ignores the variance; ``negative_binomial`` needs
    var > mean and falls back to Poisson (with a note) otherwise.
    """
    equal = abs(var - mean) <= _REL_TOL * max(mean, 1e-300)
    model = requested
    if requested == "auto":
        model = "poisson" if equal else ("negative_binomial" if var > mean else "normal")
    elif requested == "negative_binomial" and (equal or var <= mean):
        notes.append(f"{label}: variance {var:.6g} <= mean {mean:.6g}, "
                     "negative binomial impossible; used Poisson")
        model = "poisson"
    elif requested == "poisson" and not equal:
        notes.append(f"{label}: Poisson forced, variance {var:.6g} replaced by the mean")
    if model == "normal":
        return _NormalDemand(mean, math.sqrt(max(var, 0.0))), model
    if mean <= 0:
        return _PointMassAtZero(), model
    if model == "poisson":
        return _PoissonDemand(mean), model
    return _NegativeBinomialDemand(mean, var), model


# ---------------------------------------------------------------------------------------
# Service formulas and the search


def _loss_inverse(excess: float) -> float | None:
    """z with G(z) = ``excess`` (G the standard normal loss); None when ``excess`` <= 0.

    Newton's method from the left of the root (G is convex and decreasing, G(z) >= −z), a
    few iterations; a starting point for the integer search, not a result.
    """
    if not excess > 0 or not math.isfinite(excess):
        return None
    z = -excess - 1.0
    for _ in range(40):
        upper = 0.5 * math.erfc(z / math.sqrt(2.0))  # 1 − Φ(z) = −G'(z)
        if upper < 1e-300:
            break
        step = (normal_loss(z) - excess) / upper
        z += step
        if abs(step) < 1e-3:
            break
    return z


def _smallest(ok: Callable[[int], bool], start: int, floor: int, ceiling: int) -> int:
    """Smallest integer x in (floor, ceiling] with ok(x), for ok monotone (False, then True).

    Galloping search from ``start``, then bisection: O(log range) evaluations.  ``floor`` is
    taken as failing; ``ceiling`` is returned if nothing up to it succeeds.
    """
    x = min(max(start, floor + 1), ceiling)
    step = 1
    if ok(x):
        hi, lo = x, floor
        while hi - step > floor:
            if not ok(hi - step):
                lo = hi - step
                break
            hi -= step
            step *= 2
    else:
        lo = x
        while True:
            if lo >= ceiling:
                return ceiling
            candidate = min(lo + step, ceiling)
            if ok(candidate):
                hi = candidate
                break
            lo = candidate
            step *= 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


def fill_rate_sq(demand: _Demand, reorder_point: int, quantity: int) -> float:
    """β of (s, Q): 1 − [E(D_L − s)^+ − E(D_L − s − Q)^+] / Q."""
    shortage = demand.loss(reorder_point) - demand.loss(reorder_point + quantity)
    return 1.0 - shortage / quantity


def fill_rate_rs(cover: _Demand, lead: _Demand, order_up_to: int, review_demand: float) -> float:
    """β of (R, S): 1 − [E(D_{R+L} − S)^+ − E(D_L − S)^+] / (μ_d·R)."""
    shortage = cover.loss(order_up_to) - lead.loss(order_up_to)
    return 1.0 - shortage / review_demand


# ---------------------------------------------------------------------------------------
# The derived policy


@dataclass(frozen=True)
class DerivedPolicy:
    """The policy of one SKU with its parameters, where they came from, and the theory.

    ``source`` maps each parameter of the type to ``"given"`` (in the scenario),
    ``"derived"`` (from the service target) or ``"eoq"`` (economic order quantity).
    Demand figures are in units; times in days.
    """

    sku: str
    type: str
    reorder_point: int | None
    """s: order when the inventory position is <= s (base-stock: S − 1; None for (R, S))."""
    order_quantity: int | None
    """Q ((s, Q) only; (s, S) and (R, s, S) order up to S)."""
    order_up_to: int | None
    """S ((s, S), (R, S), (R, s, S), base-stock)."""
    review_period_days: float | None
    """R (the periodic families (R, S) and (R, s, S))."""
    first_review_day: float
    service_metric: str | None
    service_target: float | None
    source: dict[str, str]
    lead_time_demand_model: str
    """``poisson``, ``negative_binomial`` or ``normal``: the model actually used."""
    demand_per_day: float
    """μ_d."""
    lead_time_days_mean: float
    """E[L]."""
    lead_time_demand_mean: float
    """Mean demand over the protection interval (L, or R + L for a periodic family)."""
    lead_time_demand_std: float
    safety_stock: float
    """s (S for (R, S) and base-stock) minus the mean demand over the protection interval."""
    predicted_service: float | None
    """The formula's α or β (``service_metric``) at the chosen integer parameters."""
    notes: tuple[str, ...] = field(default=())
    """Fallbacks and caveats met while deriving (empty when none)."""

    def as_dict(self) -> dict[str, Any]:
        """A flat, JSON-friendly record (``source_<parameter>`` keys, notes joined by '; ')."""
        record = asdict(self)
        source = record.pop("source")
        record["notes"] = "; ".join(self.notes)
        record.update({f"source_{key}": value for key, value in source.items()})
        return record


def can_lose_demand(scenario: Scenario, sku_name: str) -> bool:
    """Whether a stockout of ``sku_name`` can lose demand: some segment that buys it reacts
    other than by backordering (switch, defect, or wait and give up).  Lost demand never
    enters the inventory position, so a reorder point below 0 would never reorder."""
    for segment in scenario.segments.values():
        if segment.reactions.backorder >= 1.0:
            continue
        weights = segment.sku_weights
        if weights is None or weights.get(sku_name, 0.0) > 0.0:
            return True
    return False


class Derivation:
    """One SKU's derivation in progress (DOMAIN §5): the demand over its protection interval
    (L, or R + L for a family that reviews every R days), its target, and the searches the
    families share.  A family's :meth:`~servicesim.policies.base.PolicyFamily.derive` reads
    it and records where each parameter came from (``source``) and any ``notes``."""

    def __init__(self, scenario: Scenario, sku_name: str, demand: SkuDemand, policy: Policy,
                 periodic: bool) -> None:
        self.scenario, self.sku_name, self.policy = scenario, sku_name, policy
        # the effective policy of one SKU: a per-class target is already resolved to its float
        service_target = policy.service_target
        if isinstance(service_target, dict):  # pragma: no cover - sku_policy resolves classes
            raise TypeError(f"skus.{sku_name}: per-class service_target was not resolved")
        self.service_target: float | None = service_target
        self.lead_time = lead_time = scenario.sku_supplier(sku_name).lead_time_days
        self.mu_d = mu_d = demand.units_per_day
        self.var_d = var_d = demand.units_var_per_day
        self.notes: list[str] = []
        self.review: float | None = policy.review_period_days if periodic else None
        """R (days) of a periodic family, else None."""
        cover_days = lead_time.mean + (self.review or 0.0)
        self.cover_mean = mu_d * cover_days
        self.cover_var = cover_days * var_d + mu_d**2 * lead_time.variance
        self.cover, self.model = _lead_time_demand(
            self.cover_mean, self.cover_var, policy.lead_time_demand, self.notes,
            "demand over R + L" if self.review else "lead-time demand")
        """Demand over the protection interval and the name of its model."""
        self.alpha = policy.service_metric == "cycle_service_level"
        self.no_demand = mu_d <= 0
        self.normal = isinstance(self.cover, _NormalDemand)
        self.source: dict[str, str] = {}

    def lead_demand(self) -> _Demand:
        """Demand over the lead time L alone (a periodic family's second interval)."""
        lead_mean = self.mu_d * self.lead_time.mean
        lead_var = self.lead_time.mean * self.var_d + self.mu_d**2 * self.lead_time.variance
        lead, _ = _lead_time_demand(lead_mean, lead_var, self.policy.lead_time_demand,
                                    self.notes, "lead-time demand")
        return lead

    def order_quantity(self) -> tuple[int, str]:
        """Q: ``order_quantity`` (``"given"``) or the EOQ (``"eoq"``)."""
        if self.policy.order_quantity is not None:
            return self.policy.order_quantity, "given"
        return economic_order_quantity(self.scenario, self.sku_name, self.mu_d), "eoq"

    def can_lose_demand(self) -> bool:
        """:func:`can_lose_demand` of this SKU."""
        return can_lose_demand(self.scenario, self.sku_name)

    def goal(self) -> float:
        """The service target (an error when a parameter is missing and there is none)."""
        if self.service_target is None:  # the schema forbids this; keep the message clear
            raise ValueError(f"skus.{self.sku_name}.policy: a parameter is missing and "
                             "service_target is null")
        return self.service_target

    def search(self, service: Callable[[int], float], floor: int, ceiling: int = NO_LIMIT,
               z: float | None = None) -> int:
        """The smallest parameter in (floor, ceiling] whose ``service`` meets the target.

        The search starts at ⌈μ + z·σ⌉ (``z`` from the normal approximation, where one is
        given), else at ⌊μ⌋; the result does not depend on the start, only the number of
        evaluations does (a few instead of a dozen or two)."""
        target = self.goal()
        std = math.sqrt(max(self.cover_var, 0.0))
        start = math.floor(self.cover_mean)
        if z is not None and math.isfinite(z) and abs(z * std) < 1e12:
            start = math.ceil(self.cover_mean + z * std)
        return _smallest(lambda x: service(x) >= target, start, floor, ceiling)

    def alpha_z(self) -> float:
        """z = Φ⁻¹(α) (a starting point of the search)."""
        return float(special.ndtri(self.goal()))

    def beta_z(self, shortage_allowed: float) -> float | None:
        """z with σ·G(z) = allowed shortage per cycle (a starting point of the search)."""
        std = math.sqrt(max(self.cover_var, 0.0))
        return _loss_inverse(shortage_allowed / std) if std > 0 else None

    def normal_quantile(self) -> int:
        """⌈μ + Φ⁻¹(α)·σ⌉: the normal α rule."""
        return math.ceil(self.cover_mean
                         + float(stats.norm.ppf(self.goal())) * math.sqrt(self.cover_var))


@dataclass(frozen=True)
class Parameters:
    """What a family derives: its parameters (None where the family has none), the
    formula's service at them (α or β) and the safety stock (units)."""

    reorder_point: int | None
    order_quantity: int | None
    order_up_to: int | None
    predicted_service: float
    safety_stock: float


def derive_policy(scenario: Scenario, sku_name: str,
                  demand: SkuDemand | None = None, policy: Policy | None = None
                  ) -> DerivedPolicy:
    """The policy of ``sku_name`` with its missing parameters derived (DOMAIN §5).

    Each family's ``derive`` states its rule (:mod:`servicesim.policies`), with D_L the
    demand over the protection interval and the smallest integer meeting the target.  The
    normal model uses z = Φ⁻¹(α) (s = ⌈μ + z·σ⌉) and the loss function G; order-up-to
    levels are at least 0.  Where demand can be lost (:func:`can_lose_demand`), a derived
    reorder point is at least 0: the formulas assume backorders, which let the inventory
    position fall below 0; lost sales do not, and s < 0 would never reorder.  A SKU without
    demand gets s = 0 and S = 0 (S = Q for ``sS`` and ``RsS``) and a predicted service of 1
    (nothing is demanded, nothing is short).  ``demand`` defaults to :func:`sku_demands` of
    the scenario, ``policy`` to the SKU's effective policy (:meth:`Scenario.sku_policy`).
    """
    from .registry import policy_family  # the families build on this module

    if demand is None:
        demand = sku_demands(scenario)[sku_name]
    if policy is None:
        policy = scenario.sku_policy(sku_name)
    family = policy_family(policy.type)
    work = Derivation(scenario, sku_name, demand, policy, family.periodic)
    found = family.derive(work)
    return DerivedPolicy(
        sku=sku_name,
        type=policy.type,
        reorder_point=found.reorder_point,
        order_quantity=found.order_quantity,
        order_up_to=found.order_up_to,
        review_period_days=work.review,
        first_review_day=policy.first_review_day,
        service_metric=policy.service_metric,
        service_target=work.service_target,
        source=work.source,
        lead_time_demand_model=work.model,
        demand_per_day=work.mu_d,
        lead_time_days_mean=work.lead_time.mean,
        lead_time_demand_mean=work.cover_mean,
        lead_time_demand_std=math.sqrt(max(work.cover_var, 0.0)),
        safety_stock=float(found.safety_stock),
        predicted_service=min(max(float(found.predicted_service), 0.0), 1.0),
        notes=tuple(work.notes),
    )


def derive_policies(scenario: Scenario) -> dict[str, DerivedPolicy]:
    """:func:`derive_policy` for every SKU, in ``scenario.skus`` order; for a network
    (``locations``), every (location, SKU) keyed ``location/sku``
    (:func:`servicesim.policies.network.derive_network_policies`)."""
    if scenario.locations is not None:
        from .network import derive_network_policies  # network builds on this module

        return derive_network_policies(scenario)
    with older_objects_frozen():
        demands = sku_demands(scenario)
        return {name: derive_policy(scenario, name, demands[name], policy)
                for name, policy in scenario.sku_policies().items()}
