"""The scenario: an immutable, validated description of the business to simulate.

A scenario is data (Ciw's habit): YAML -> :class:`Scenario` -> ``simulate(scenario, seed)``.
Every field is a defaulted keyword with its unit in its name, so a sweep can address any of
them by a dotted path (``policy.service_target``, ``segments.retail.reactions.defect``).
Definitions of the quantities are in ``shared/DOMAIN.md``; section numbers are cited below.

Time is in days throughout; money in the scenario's currency; rates per year are annual.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from ..files import WINDOWS_RESERVED_NAMES
from .distributions import (
    Constant,
    Distribution,
    Exponential,
    check_count,
    coerce_distribution,
    integer_moments,
)

Dist = Annotated[Distribution, BeforeValidator(coerce_distribution)]
MAX_MONEY = 1e15
"""Largest amount of money a scenario field may hold (a quadrillion): prices, costs and
assets above it are typos, and their products with units and days overflow a float."""
Money = Annotated[float, Field(ge=0, le=MAX_MONEY, allow_inf_nan=False)]
Days = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
MIN_REVIEW_PERIOD_DAYS = 0.001
"""Shortest review period R (days, about 1.4 minutes): every review is an event and a cycle
record, so a microsecond period is billions of them; review after every demand is the
continuous-review policies' job (sQ, sS)."""
ReviewPeriod = Annotated[float, Field(ge=MIN_REVIEW_PERIOD_DAYS, allow_inf_nan=False)]
CURRENCY_PATTERN = r"^[A-Z]{3}$"
"""An ISO 4217 currency code: three capital letters."""
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]

def _folder_name(name: str) -> str:
    """A scenario name becomes a results folder: refuse what no file system keeps as is."""
    if ".." in name:
        raise ValueError("a scenario name must not contain '..' (it names a results folder)")
    if name.endswith("."):
        raise ValueError("a scenario name must not end with '.' (Windows drops it)")
    stem = name.split(".")[0]
    if stem.upper() in WINDOWS_RESERVED_NAMES:
        raise ValueError(f"{stem} is a device name on Windows and cannot name a results folder")
    return name


ScenarioName = Annotated[Name, AfterValidator(_folder_name)]

PolicyType = Literal["sQ", "sS", "RS", "base_stock", "RsS"]
"""The policy families (DOMAIN §5); :data:`POLICY_KEYS` says what each takes."""


@dataclass(frozen=True)
class PolicyKeys:
    """What a policy type takes in a scenario's ``policy`` mapping (besides ``type`` and
    :data:`COMMON_POLICY_KEYS`).  The policies layer checks each family against it."""

    accepts: tuple[str, ...]
    """The parameter keys the type uses; any other parameter key is an error."""
    needs: tuple[str, ...] = ()
    """Keys the type always needs."""
    needs_without_target: tuple[str, ...] = ()
    """Keys it needs when ``service_target`` is null (none is derived then)."""
    below: tuple[str, str] | None = None
    """(lower, upper): when both are given, upper must exceed lower."""


COMMON_POLICY_KEYS = ("service_target", "service_metric", "lead_time_demand",
                      "critical_level", "critical_level_fraction")
"""Keys every policy type takes."""

POLICY_KEYS: dict[str, PolicyKeys] = {
    "sQ": PolicyKeys(("reorder_point", "order_quantity"),
                     needs_without_target=("reorder_point", "order_quantity")),
    "sS": PolicyKeys(("reorder_point", "order_up_to", "order_quantity"),
                     needs_without_target=("reorder_point", "order_up_to"),
                     below=("reorder_point", "order_up_to")),
    "RS": PolicyKeys(("review_period_days", "order_up_to", "first_review_day"),
                     needs=("review_period_days",), needs_without_target=("order_up_to",)),
    "base_stock": PolicyKeys(("order_up_to", "reorder_point"),
                             needs_without_target=("order_up_to",)),
    "RsS": PolicyKeys(("review_period_days", "reorder_point", "order_up_to", "order_quantity",
                       "first_review_day"),
                      needs=("review_period_days",),
                      needs_without_target=("reorder_point", "order_up_to"),
                      below=("reorder_point", "order_up_to")),
}
"""Policy type -> the keys it takes (DOMAIN §5)."""
ServiceMetric = Literal["fill_rate", "cycle_service_level"]
LeadTimeDemandModel = Literal["auto", "normal", "poisson", "negative_binomial"]
AbcClass = Literal["A", "B", "C"]
XyzClass = Literal["X", "Y", "Z"]
ClassLabel = Literal[
    "A", "B", "C", "X", "Y", "Z", "AX", "AY", "AZ", "BX", "BY", "BZ", "CX", "CY", "CZ",
    "default",
]
"""Keys of a per-class ``service_target`` mapping: ABC, XYZ, combined ("AX") or default."""
CLASS_LABELS: tuple[str, ...] = typing.get_args(ClassLabel)
Target = Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


ReplanBasis = Literal["observed", "customers"]
"""Where re-planning takes each SKU's demand from (DOMAIN §8)."""
MIN_REPLAN_DAYS = 1.0
"""Shortest re-planning period and window (days): each re-plan derives every SKU again."""


class Replan(_Model):
    """Re-planning (DOMAIN §8): every ``every_days`` (at days ``every_days``,
    2·``every_days``, ... of the run) each SKU's policy parameters are derived again with the
    same target and metric, from the demand of the trailing ``window_days`` (``observed``:
    the order lines and units its customers demanded then, per day; a SKU with fewer than
    ``min_lines`` lines in the window keeps its parameters) or from the customers active at
    that moment (``customers``: their expected demand, as at time 0).  Parameters given
    explicitly in the scenario stay as given.  Scenario-wide; not for networks."""

    every_days: Annotated[float, Field(ge=MIN_REPLAN_DAYS, allow_inf_nan=False)] = 30.0
    window_days: Annotated[float, Field(ge=MIN_REPLAN_DAYS, allow_inf_nan=False)] = 90.0
    basis: ReplanBasis = "observed"
    min_lines: int = Field(default=10, ge=1, le=1_000_000)


class Policy(_Model):
    """Inventory policy of a SKU at the stock point (DOMAIN §5).

    Types: ``sQ`` and ``sS`` (continuous review: when the inventory position is at or below
    s, order Q, or up to S), ``base_stock`` (order what was demanded, up to S), ``RS`` (every
    R days order up to S) and ``RsS`` (every R days, if the position is at or below s, order
    up to S).  A type takes only its own parameters (:data:`POLICY_KEYS`).

    Give the parameters explicitly, or a ``service_target`` (α for ``cycle_service_level``,
    β for ``fill_rate``) from which the reorder point / order-up-to level is derived from the
    lead-time demand the scenario implies.  A parameter given explicitly wins over the
    target; the target derives only the ones left unset.  ``order_quantity`` defaults to the
    EOQ.  Set ``service_target: null`` to require explicit parameters.

    Rationing (differentiated service per segment): when on-hand stock is at or below the
    critical level — ``critical_level`` units, or else ``critical_level_fraction`` of the
    reorder point (of S for RS and base-stock) — only the segments of the best ``priority``
    can take it; the others meet a stockout.
    """

    type: PolicyType = "sQ"
    service_target: Target | dict[ClassLabel, Target] | None = 0.95
    service_metric: ServiceMetric = "fill_rate"
    reorder_point: int | None = Field(default=None, ge=-1_000_000, le=100_000_000)
    order_quantity: int | None = Field(default=None, ge=1, le=100_000_000)
    order_up_to: int | None = Field(default=None, ge=0, le=100_000_000)
    review_period_days: ReviewPeriod | None = None
    first_review_day: Days = 0.0
    lead_time_demand: LeadTimeDemandModel = "auto"
    critical_level: int | None = Field(default=None, ge=0, le=100_000_000)
    critical_level_fraction: Probability = 0.0
    replan: Replan | None = None
    """Re-derive the parameters every period from recent demand (None: derived once, at
    time 0)."""

    @model_serializer(mode="wrap")
    def _without_unset_replan(self, handler: SerializerFunctionWrapHandler) -> Any:
        """Without re-planning the dump has no ``replan`` key, so a scenario written out
        (and the results folders named by its hash) reads as it did before the key
        existed."""
        data = handler(self)
        if self.replan is None and isinstance(data, dict):
            data.pop("replan", None)
        return data

    @field_validator("service_target", mode="before")
    @classmethod
    def _class_targets(cls, v: Any) -> Any:
        if v is not None and not isinstance(v, dict):  # one target: say what a target is,
            return _single_target(v)  # not what the mapping alternative would need
        if isinstance(v, dict):
            bad = [k for k in v if k not in CLASS_LABELS]
            if bad:
                raise ValueError(
                    f"unknown class label(s) {', '.join(map(str, bad))}; a per-class target "
                    f"mapping takes the labels {', '.join(CLASS_LABELS)}, e.g. "
                    "{A: 0.98, B: 0.95, C: 0.9}")
            if not v:
                raise ValueError("a per-class target mapping needs at least one label")
            for key, value in v.items():
                if isinstance(value, bool) or not isinstance(value, int | float) \
                        or not 0 < value < 1 or not math.isfinite(value):
                    raise ValueError(f"the target of class {key} must be a number strictly "
                                     f"between 0 and 1, got {value!r}")
        return v

    def target_for(self, abc: str | None, xyz: str | None) -> float | None:
        """The service target of a SKU of classes ``abc``/``xyz``: the most specific label
        of a per-class mapping wins (combined "AX" > ABC > XYZ > ``default``).

        Raises ``KeyError`` when a mapping has no label that applies."""
        target = self.service_target
        if not isinstance(target, dict):
            return target
        for label in (f"{abc}{xyz}" if abc and xyz else None, abc, xyz, "default"):
            if label is not None and label in target:
                return target[label]  # type: ignore[index]
        raise KeyError(abc, xyz)


class PolicyOverride(_Model):
    """Per-SKU changes to the scenario-wide ``policy``; unset fields inherit."""

    type: PolicyType | None = None
    service_target: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)] | None = None
    service_metric: ServiceMetric | None = None
    reorder_point: int | None = Field(default=None, ge=-1_000_000, le=100_000_000)
    order_quantity: int | None = Field(default=None, ge=1, le=100_000_000)
    order_up_to: int | None = Field(default=None, ge=0, le=100_000_000)
    review_period_days: ReviewPeriod | None = None
    first_review_day: Days | None = None
    lead_time_demand: LeadTimeDemandModel | None = None
    critical_level: int | None = Field(default=None, ge=0, le=100_000_000)
    critical_level_fraction: Probability | None = None


class Supplier(_Model):
    """Replenishment source (DOMAIN §2, replenishment cycle; §4 ordering and inbound cost).

    Lead times are drawn independently per purchase order, so orders may cross.
    """

    lead_time_days: Dist = Field(default_factory=lambda: Constant(value=7.0))
    cost_per_order: Money = 0.0
    inbound_cost_per_shipment: Money = 0.0
    inbound_cost_per_unit: Money = 0.0

    @field_validator("lead_time_days")
    @classmethod
    def _nonneg(cls, v: Any) -> Any:
        return _check_time_dist(v)


SUPPLIER = "supplier"
"""What ``locations.<name>.replenished_from`` says for the external supplier."""


class Lane(_Model):
    """The lane from an upstream location to a location (DOMAIN §7): transit time, cost per
    shipment and per unit, and whether a short replenishment order ships what is on hand
    (``partial``, the rest waits upstream) or waits until it can ship whole (``complete``)."""

    transit_days: Dist = Field(default_factory=lambda: Constant(value=0.0))
    cost_per_shipment: Money = 0.0
    cost_per_unit: Money = 0.0
    shipping: Literal["partial", "complete"] = "partial"


class Location(_Model):
    """A stock point of a network (DOMAIN §7): the SKUs it holds (default all), policy
    overrides there (over the scenario's ``policy`` and the SKU's own), and where it is
    replenished from: the external ``supplier`` or an upstream location through ``lane``."""

    skus: list[Name] | None = None
    policy: PolicyOverride = Field(default_factory=PolicyOverride)
    sku_policies: dict[Name, PolicyOverride] = Field(default_factory=dict)
    replenished_from: Name = SUPPLIER
    lane: Lane | None = None
    priority: int = Field(default=1, ge=1, le=9)
    """The location's rank when its replenishment orders wait for scarce stock upstream
    (1 = served first, the scale of segments' ``priority``); used where the upstream
    location's ``allocation`` is ``priority``."""
    allocation: Literal["fcfs", "priority"] = "fcfs"
    """How stock arriving here fills what waits here (internal orders of downstream locations
    and this location's customers' backorders): first come first served, or the best
    ``priority`` first (a location's ``priority``, a segment's ``priority``; FCFS within a
    priority)."""
    holding_rate_per_year: Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)] | None \
        = None
    """Holding rate of stock here (× unit cost), over the SKU's ``holding_rate_per_year``."""
    holding_cost_per_unit_per_year: Money | None = None
    """Holding cost per unit per year here, over the SKU's values and this location's
    ``holding_rate_per_year``."""

    def annual_holding_cost_per_unit(self, sku: Sku) -> float:
        """Holding cost per unit per year of ``sku`` here (DOMAIN §4): the location's
        absolute cost, else its rate × unit cost, else the SKU's own."""
        if self.holding_cost_per_unit_per_year is not None:
            return self.holding_cost_per_unit_per_year
        if self.holding_rate_per_year is not None:
            return self.holding_rate_per_year * sku.unit_cost
        return sku.annual_holding_cost_per_unit


class ReturnShares(_Model):
    """The chance that a delivered unit comes back, by reason (DOMAIN §10): ``damaged``
    (scrapped, or repaired and restocked: ``reverse_logistics.repair_share``), ``wrong``
    (wrong or mis-documented: restocked) and ``customer`` (the customer's own return:
    restocked after inspection).  One reason at most per unit, so the three sum to at most 1;
    the rest of the units are kept."""

    damaged: Probability = 0.0
    wrong: Probability = 0.0
    customer: Probability = 0.0

    @model_validator(mode="after")
    def _at_most_one(self) -> ReturnShares:
        total = self.damaged + self.wrong + self.customer
        if total > 1.0 + 1e-9:
            raise ValueError(f"damaged + wrong + customer must be at most 1 (a unit comes back "
                             f"for one reason at most), got {total:g}")
        return self


class Returns(ReturnShares):
    """A segment's returns (DOMAIN §10): the return probabilities per delivered unit by
    reason (a SKU's own ``returns`` replaces them for that SKU) and ``delay_days``, the time
    from delivery until a return shipment is back at the stock point that shipped it."""

    delay_days: Dist = Field(default_factory=lambda: Constant(value=7.0))

    @field_validator("delay_days")
    @classmethod
    def _nonneg(cls, v: Any) -> Any:
        return _check_time_dist(v)


class ReverseLogistics(_Model):
    """Handling the units customers send back (DOMAIN §10), the same for every segment: a
    cost per returned unit and per return shipment (the returned units of one delivery,
    which travel back together), the inspection and processing time from arrival back to
    restock or scrap, and the share of damaged units repaired at a cost and restocked (the
    rest is scrapped)."""

    cost_per_unit: Money = 0.0
    cost_per_shipment: Money = 0.0
    processing_days: Dist = Field(default_factory=lambda: Constant(value=0.0))
    repair_share: Probability = 0.0
    repair_cost_per_unit: Money = 0.0

    @field_validator("processing_days")
    @classmethod
    def _nonneg(cls, v: Any) -> Any:
        return _check_time_dist(v)


class Sku(_Model):
    """A stock-keeping unit (DOMAIN §4): unit cost and price; holding excludes capital cost."""

    unit_cost: Money = 10.0
    price: Money = 15.0
    holding_rate_per_year: Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)] = 0.2
    holding_cost_per_unit_per_year: Money | None = None
    policy: PolicyOverride = Field(default_factory=PolicyOverride)
    supplier: Supplier | None = None
    units_per_line: Dist | None = None
    """Units per order line of this SKU (rounded, at least 1); unset: the segment's."""
    abc_class: AbcClass | None = None
    """ABC class by revenue (A: the SKUs making the first 80 % of revenue, by default)."""
    xyz_class: XyzClass | None = None
    """XYZ class by the coefficient of variation of weekly demand (X: steadiest)."""
    initial_on_hand: int | None = Field(default=None, ge=0, le=100_000_000)
    """Units on hand at time 0; unset: the policy's own start (S, or s + Q for (s, Q)).
    Single-location scenarios only."""
    salvage_value_per_unit: Money | None = None
    """Money per unit for the stock left on hand at the horizon, sold off then (DOMAIN §4:
    revenue gains salvage value × units, gross margin (salvage value − unit cost) × units);
    unset: the stock is kept at cost, as inventory (no sale)."""
    returns: ReturnShares | None = None
    """This SKU's return probabilities, in place of those of each segment with ``returns``
    (DOMAIN §10); unset: the segment's."""

    @field_validator("units_per_line")
    @classmethod
    def _count(cls, v: Any) -> Any:
        if v is not None and v.mean <= 0:
            raise ValueError("must have a positive mean (draws are rounded, at least 1)")
        return v if v is None else check_count(v)

    @property
    def annual_holding_cost_per_unit(self) -> float:
        """Holding cost per unit per year (absolute if given, else rate × unit cost)."""
        if self.holding_cost_per_unit_per_year is not None:
            return self.holding_cost_per_unit_per_year
        return self.holding_rate_per_year * self.unit_cost


class Reactions(_Model):
    """Stockout reaction mix {wait, backorder, switch, defect}; must sum to 1 (DOMAIN §2).

    Unset reactions are 0; a segment without ``reactions`` switches (lost sales)."""

    wait: Probability = 0.0
    backorder: Probability = 0.0
    switch: Probability = 0.0
    defect: Probability = 0.0

    @model_validator(mode="after")
    def _sums_to_one(self) -> Reactions:
        total = self.wait + self.backorder + self.switch + self.defect
        if abs(total - 1.0) > 1e-6:
            raise ValueError(
                f"wait + backorder + switch + defect must sum to 1, got {total:g}"
            )
        return self


class Acquisition(_Model):
    """New customers: Poisson arrivals; each defection costs future acquisitions."""

    customers_per_year: Annotated[float, Field(ge=0, le=1e7, allow_inf_nan=False)] = 0.0
    cost_per_customer: Money = 0.0
    lost_acquisitions_per_defection: Annotated[float, Field(ge=0, le=100)] = 0.0


class Fallback(_Model):
    """Lateral supply of a segment (DOMAIN §7): a line short at the segment's own location
    takes what the fallback ``location`` has on hand before the stockout reaction is drawn;
    those units reach the customer ``transit_days`` after the order's own delivery and cost
    one extra shipment (``cost_per_shipment`` + ``cost_per_unit`` × units)."""

    location: Name
    transit_days: Dist = Field(default_factory=lambda: Constant(value=0.0))
    cost_per_shipment: Money = 0.0
    cost_per_unit: Money = 0.0


Weight = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
"""A service failure's weight: how many stockouts it counts as for defection (DOMAIN §9)."""


class FailureWeights(_Model):
    """Service failures beyond stockouts that drive defection (DOMAIN §9), per segment.

    Each customer keeps a count of service failures F = stockouts met + Σ weight × failures
    of each kind.  A stockout weighs 1 and draws its reaction with defection chance
    ``defect + defect_increase_per_stockout × F``.  A delivered order that is ``late`` (cycle
    time beyond the segment's promise), ``damaged`` or has a ``documentation`` error, when
    that kind's weight w is > 0, makes the customer defect with chance
    min(1, w × (defect + defect_increase_per_stockout × F)) and then adds w to F: a failure
    of weight w counts as w stockouts would.  Weights 0 (the default): no effect."""

    late: Weight = 0.0
    damaged: Weight = 0.0
    documentation: Weight = 0.0

    def active(self) -> bool:
        """Whether some failure kind drives defection."""
        return self.late > 0 or self.damaged > 0 or self.documentation > 0


class Segment(_Model):
    """A customer segment (DOMAIN §2, CRM): who orders, what, how often, how they react."""

    customers: int = Field(default=100, ge=0, le=10_000_000)
    order_interval_days: Dist = Field(default_factory=lambda: _exponential(7.0))
    lines_per_order: Dist = Field(default_factory=lambda: Constant(value=1.0))
    units_per_line: Dist = Field(default_factory=lambda: Constant(value=1.0))
    sku_weights: dict[Name, Annotated[float, Field(ge=0, allow_inf_nan=False)]] | None = None
    promised_cycle_time_days: Days = 3.0
    priority: int = Field(default=1, ge=1, le=9)
    reactions: Reactions = Field(default_factory=lambda: Reactions(switch=1.0))
    reaction_per: Literal["line", "order"] = "line"
    """Draw the stockout reaction for every short line (a retail shopper decides item by
    item) or once per order for all its short lines (a B2B buyer; DOMAIN §2)."""
    patience_days: Dist = Field(default_factory=lambda: _exponential(3.0))
    max_waits: int = Field(default=3, ge=0, le=1000)
    defect_increase_per_stockout: Probability = 0.0
    retention_rate_per_year: Probability = 0.8
    acquisition: Acquisition = Field(default_factory=Acquisition)
    payment_terms_days: Days = 0.0
    demand_share: Probability | None = None
    location: Name | None = None
    """The location that serves the segment (required when ``locations`` are declared)."""
    """Share of item demand without a segment in the history (unset: an equal share of
    what the other segments leave); shares sum to 1 across segments."""
    fallback: Fallback | None = None
    """Lateral supply from another location for lines short at ``location`` (off: None)."""
    returns: Returns | None = None
    """Units this segment's customers send back (DOMAIN §10; off: None)."""
    failure_weights: FailureWeights = Field(default_factory=FailureWeights)
    """Late, damaged and wrongly documented orders as service failures (DOMAIN §9; off: 0)."""

    @model_serializer(mode="wrap")
    def _without_unset_failures(self, handler: SerializerFunctionWrapHandler) -> Any:
        """Without failure weights the dump has no ``failure_weights`` key, so a scenario
        written out (and the results folders named by its hash) reads as before the key
        existed."""
        data = handler(self)
        if not self.failure_weights.active() and isinstance(data, dict):
            data.pop("failure_weights", None)
        return data

    @field_validator("order_interval_days", "patience_days")
    @classmethod
    def _nonneg(cls, v: Any) -> Any:
        return _check_time_dist(v)

    @field_validator("order_interval_days")
    @classmethod
    def _positive_mean(cls, v: Any) -> Any:
        if v.mean <= 0:
            raise ValueError("the mean time between orders must be > 0")
        return v

    @field_validator("lines_per_order", "units_per_line")
    @classmethod
    def _count(cls, v: Any) -> Any:
        if v.mean <= 0:
            raise ValueError("must have a positive mean (draws are rounded, at least 1)")
        return check_count(v)


class OrderProcessing(_Model):
    """Order receipt and processing: a FCFS station with ``servers`` (null: unlimited)."""

    time_days: Dist = Field(default_factory=lambda: Constant(value=0.0))
    servers: int | None = Field(default=None, ge=1, le=100_000)
    cost_per_order: Money = 0.0

    @field_validator("time_days")
    @classmethod
    def _nonneg(cls, v: Any) -> Any:
        return _check_time_dist(v)


class Expedite(_Model):
    """Service recovery: ship backordered lines faster and dearer."""

    enabled: bool = False
    transit_days: Dist = Field(default_factory=lambda: Constant(value=1.0))
    cost_per_shipment: Money = 0.0
    cost_per_unit: Money = 0.0

    @field_validator("transit_days")
    @classmethod
    def _nonneg(cls, v: Any) -> Any:
        return _check_time_dist(v)


class Outbound(_Model):
    """Outbound transport to the customer (DOMAIN §2 order-to-cash; §4 transport cost)."""

    transit_days: Dist = Field(default_factory=lambda: Constant(value=0.0))
    cost_per_shipment: Money = 0.0
    cost_per_unit: Money = 0.0
    expedite: Expedite = Field(default_factory=Expedite)

    @field_validator("transit_days")
    @classmethod
    def _nonneg(cls, v: Any) -> Any:
        return _check_time_dist(v)


class Quality(_Model):
    """Order quality (perfect order, DOMAIN §3) and service-recovery cost per failed order."""

    damage_probability: Probability = 0.0
    documentation_error_probability: Probability = 0.0
    recovery_cost_per_failed_order: Money = 0.0


class StockoutCosts(_Model):
    """Costs of unmet demand (DOMAIN §4)."""

    backorder_cost_per_unit: Money = 0.0
    backorder_cost_per_unit_per_day: Money = 0.0
    backorder_cost_per_order: Money = 0.0
    """Charged once for every order with at least one backordered line (DOMAIN §4: Coyle's
    $150 per back-ordered order)."""
    lost_sale_penalty_per_unit: Money = 0.0


class Finance(_Model):
    """Fixed cost, fixed assets and the cost of capital (DOMAIN §4)."""

    fixed_cost_per_year: Money = 0.0
    fixed_logistics_assets: Money = 0.0
    cost_of_capital_rate_per_year: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.1
    clv_discount_rate_per_year: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.1
    days_per_year: Annotated[float, Field(gt=0, le=366)] = 365.0
    currency: Annotated[str, Field(pattern=CURRENCY_PATTERN)] | None = None
    """ISO 4217 code of the scenario's money (``EUR``, ``USD``), shown on every money
    figure, axis and table; ``None`` shows plain numbers."""


class Run(_Model):
    """Run control (DOMAIN §6): measured window = [warmup_days, horizon_days]."""

    horizon_days: Annotated[float, Field(gt=0, le=1e8, allow_inf_nan=False)] = 730.0
    warmup_days: Days = 90.0
    replications: int = Field(default=10, ge=1, le=100_000)
    seed: int = Field(default=12345, ge=0, le=2**63 - 1)

    @model_validator(mode="after")
    def _window(self) -> Run:
        if self.warmup_days >= self.horizon_days:
            raise ValueError(
                f"warmup_days ({self.warmup_days:g}) must be less than "
                f"horizon_days ({self.horizon_days:g})"
            )
        return self


class ItemsSource(_Model):
    """Where the SKUs came from: an item master (and demand history) expanded at load time.

    Provenance only: validation never reads these files.  ``calibrated`` means the
    segments' ``sku_weights`` are lines per day fitted from the item data, and each
    segment's ``order_interval_days`` is derived from them (exponential with mean
    ``customers × E[lines_per_order] / Σ sku_weights``) so that simulated line rates equal
    the data's.
    """

    master: str
    sheet: str | None = None
    history: str | None = None
    abc_thresholds: tuple[Probability, Probability] = (0.8, 0.95)
    """Cumulative revenue shares closing classes A and B."""
    xyz_thresholds: tuple[Annotated[float, Field(gt=0, allow_inf_nan=False)],
                          Annotated[float, Field(gt=0, allow_inf_nan=False)]] = (0.5, 1.0)
    """Coefficients of variation of weekly demand closing classes X and Y."""
    master_sha256: str | None = None
    history_sha256: str | None = None
    calibrated: bool = False
    demand_shares: dict[Name, Probability] | None = None
    """The segments' demand shares the item data were split by when the files were read."""
    classified_with: dict[Literal["abc", "xyz"], tuple[float, float]] | None = None
    """The thresholds the SKUs were classified with when the files were read."""

    @model_validator(mode="after")
    def _ordered(self) -> ItemsSource:
        for name in ("abc_thresholds", "xyz_thresholds"):
            low, high = getattr(self, name)
            if not 0 < low < high:
                raise ValueError(f"{name} must be increasing and above 0, got [{low:g}, "
                                 f"{high:g}]")
        if self.classified_with is not None:
            for name, used in self.classified_with.items():
                now = getattr(self, f"{name}_thresholds")
                if tuple(now) != tuple(used):
                    raise ValueError(
                        f"{name}_thresholds classify the SKUs when the item files are read "
                        f"({list(used)} then); they cannot change afterwards (now "
                        f"{list(now)}): change them in the scenario file")
        return self


MAX_DISRUPTION_EVENTS = 100_000
"""Most random events a disruption may expect over a run (each is drawn at build time)."""
DisruptionKind = Literal["supplier_outage", "lane_closure", "demand_surge", "capacity_loss"]
"""The kinds of disruption (DOMAIN §11)."""


class Disruption(_Model):
    """A disruption (DOMAIN §11): one event starting at ``start_day``, or random events at
    ``rate_per_year`` (a Poisson process over the run; exactly one of the two), each lasting
    a draw of ``duration_days``.  What it does depends on ``kind``:

    ``supplier_outage``: no purchase order ships from the supplier (of ``skus``, default
    all); ``lane_closure``: no internal shipment leaves on ``lane`` (``"FROM->TO"``, a
    network's lane); ``demand_surge``: the order rate of ``segments`` (default all) is
    multiplied by ``factor`` (> 0); ``capacity_loss``: order processing keeps ``factor`` of
    its capacity (0 < factor <= 1)."""

    kind: DisruptionKind
    start_day: Days | None = None
    rate_per_year: Annotated[float, Field(gt=0, le=10_000, allow_inf_nan=False)] | None = None
    duration_days: Dist
    factor: Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)] | None = None
    segments: list[Name] | None = None
    skus: list[Name] | None = None
    lane: str | None = None

    @field_validator("duration_days")
    @classmethod
    def _nonneg(cls, v: Any) -> Any:
        return _check_time_dist(v)


class Scenario(_Model):
    """The whole business: SKUs, customers, stock point, supplier, transport, money, run."""

    name: ScenarioName = "scenario"
    description: str = ""
    run: Run = Field(default_factory=Run)
    policy: Policy = Field(default_factory=Policy)
    skus: dict[Name, Sku] = Field(min_length=1)
    segments: dict[Name, Segment] = Field(min_length=1)
    supplier: Supplier = Field(default_factory=Supplier)
    order_processing: OrderProcessing = Field(default_factory=OrderProcessing)
    outbound: Outbound = Field(default_factory=Outbound)
    quality: Quality = Field(default_factory=Quality)
    stockout_costs: StockoutCosts = Field(default_factory=StockoutCosts)
    finance: Finance = Field(default_factory=Finance)
    items: ItemsSource | None = None
    locations: dict[Name, Location] | None = None
    disruptions: dict[Name, Disruption] = Field(default_factory=dict)
    """Supplier outages, lane closures, demand surges, capacity losses (DOMAIN §11; none:
    off)."""
    reverse_logistics: ReverseLogistics = Field(default_factory=ReverseLogistics)

    @model_serializer(mode="wrap")
    def _without_unset_keys(self, handler: SerializerFunctionWrapHandler) -> Any:
        """Without disruptions the dump has no ``disruptions`` key, and without returns no
        returns or reverse_logistics keys, so a scenario written out (and the results
        folders named by its hash) reads as it did before the keys existed."""
        data = handler(self)
        if isinstance(data, dict):
            if not self.disruptions:
                data.pop("disruptions", None)
            data = _returns_dropped(self, data)
        return data

    @model_validator(mode="after")
    def _cross_checks(self) -> Scenario:
        problems = _network_problems(self) + _disruption_problems(self) \
            + _returns_problems(self)
        if problems:
            raise ValidationError.from_exception_data("Scenario", [
                InitErrorDetails(type=PydanticCustomError("network", message), loc=path,
                                 input=value)
                for path, value, message in problems])
        _check_demand_shares(self.segments)
        for seg_name, seg in self.segments.items():
            if seg.sku_weights is not None:
                unknown = sorted(set(seg.sku_weights) - set(self.skus))
                if unknown:
                    raise ValueError(
                        f"segments.{seg_name}.sku_weights names unknown SKU(s) "
                        f"{', '.join(unknown)}; known SKUs: {', '.join(self.skus)}"
                    )
                if sum(seg.sku_weights.values()) <= 0:
                    raise ValueError(f"segments.{seg_name}.sku_weights must not all be 0")
        if self.items is not None and self.items.calibrated:
            self._check_applied_shares(self.items.demand_shares)
            self._derive_order_intervals()
        per_class = isinstance(self.policy.service_target, dict)
        for sku_name, sku in self.skus.items():
            if per_class and sku.policy.service_target is None:
                try:
                    self.policy.target_for(sku.abc_class, sku.xyz_class)
                except KeyError:
                    labels = ", ".join(map(str, self.policy.service_target))  # type: ignore[arg-type]
                    raise ValueError(
                        f"policy.service_target has no target for SKU {sku_name} (ABC class "
                        f"{sku.abc_class or 'unset'}, XYZ class {sku.xyz_class or 'unset'}); "
                        f"the labels given are {labels}: add default or a label of its "
                        "class") from None
        unused = _unused_key("policy", self.policy, self.policy.type)
        for sku_name, sku in self.skus.items():
            if unused is not None:
                break
            if sku.policy.model_fields_set:
                unused = _unused_key(f"skus.{sku_name}.policy", sku.policy,
                                     sku.policy.type or self.policy.type)
        if unused is not None:
            raise ValueError(unused)
        for sku_name, pol in self.sku_policies().items():
            problem = _policy_problem(pol)
            if problem:
                raise ValueError(f"skus.{sku_name}.policy (merged with policy): {problem}")
        return self

    def _check_applied_shares(self, applied: dict[str, float] | None) -> None:
        """Demand shares act when the item files are read: a later change would do nothing."""
        if applied is None:
            return
        now = demand_shares(self.segments)
        for name, share in now.items():
            if name in applied and abs(applied[name] - share) > 1e-9:
                raise ValueError(
                    f"segments.{name}.demand_share splits the item data when the files are "
                    f"read ({applied[name]:g} then); it cannot change afterwards (now "
                    f"{share:g}): change it in the scenario file")

    def _derive_order_intervals(self) -> None:
        """Calibrated item demand: each segment's order interval gives the data's line rate."""
        for seg_name, seg in list(self.segments.items()):
            lines_per_day = math.fsum((seg.sku_weights or {}).values())  # any SKU order
            if lines_per_day <= 0:
                raise ValueError(f"segments.{seg_name} gets no demand from the item data "
                                 "(all its sku_weights are 0); give it a demand_share > 0 "
                                 "or remove it")
            if seg.customers == 0:
                raise ValueError(f"segments.{seg_name}.customers must be > 0: the item data "
                                 f"gives it {lines_per_day:.4g} order lines per day")
            lines_per_order = integer_moments(seg.lines_per_order, 1)[0]
            mean = seg.customers * lines_per_order / lines_per_day
            self.segments[seg_name] = seg.model_copy(
                update={"order_interval_days": _exponential(mean)})

    def sku_policy(self, sku_name: str) -> Policy:
        """The effective policy of a SKU: the scenario-wide ``policy`` with its overrides,
        and a per-class ``service_target`` resolved to the SKU's own (a float)."""
        override = self._policy_override(self.skus[sku_name])
        if not override:
            return self.policy
        return Policy.model_validate({**self.policy.model_dump(), **override})

    def sku_policies(self) -> dict[str, Policy]:
        """:meth:`sku_policy` of every SKU, in ``skus`` order.  SKUs with the same overrides
        (a class target, say) share one policy: one validation per distinct override
        instead of one per SKU, which matters for item masters of thousands of SKUs."""
        base: dict[str, Any] | None = None
        made: dict[str, Policy] = {}
        policies: dict[str, Policy] = {}
        for name, sku in self.skus.items():
            override = self._policy_override(sku)
            if not override:
                policies[name] = self.policy
                continue
            key = repr(sorted(override.items()))
            policy = made.get(key)
            if policy is None:
                if base is None:
                    base = self.policy.model_dump()
                policy = made[key] = Policy.model_validate({**base, **override})
            policies[name] = policy
        return policies

    def _policy_override(self, sku: Sku) -> dict[str, Any]:
        """The fields a SKU's policy sets, and its class target under a per-class mapping."""
        override = sku.policy.model_dump(exclude_none=True)
        if isinstance(self.policy.service_target, dict) and "service_target" not in override:
            override["service_target"] = self.policy.target_for(sku.abc_class, sku.xyz_class)
        return override

    def location_policy(self, location: str, sku_name: str) -> Policy:
        """The effective policy of a SKU at a location of the network: the SKU's policy
        (:meth:`sku_policy`) with the location's ``policy`` and then its ``sku_policies``
        entry laid over it (the most specific wins; DOMAIN §7)."""
        override = self.location_override(location, sku_name)
        if not override:
            return self.policy
        return Policy.model_validate({**self.policy.model_dump(), **override})

    def location_override(self, location: str, sku_name: str) -> dict[str, Any]:
        """The policy fields set for a SKU at a location (the SKU's own, then the
        location's, then the location's per-SKU entry), over the scenario's ``policy``."""
        assert self.locations is not None
        loc = self.locations[location]
        override = self._policy_override(self.skus[sku_name])
        override.update(loc.policy.model_dump(exclude_none=True))
        own = loc.sku_policies.get(sku_name)
        if own is not None:
            override.update(own.model_dump(exclude_none=True))
        return override

    def held_skus(self, location: str) -> list[str]:
        """The SKUs a location holds, in ``skus`` order."""
        assert self.locations is not None
        held = self.locations[location].skus
        return list(self.skus) if held is None else [s for s in self.skus if s in held]

    def network_order(self) -> list[str]:
        """The locations, every upstream location before those it replenishes."""
        assert self.locations is not None
        locs = self.locations
        depth: dict[str, int] = {}

        def level(name: str) -> int:
            if name not in depth:
                up = locs[name].replenished_from
                depth[name] = 0 if up == SUPPLIER else level(up) + 1
            return depth[name]

        return sorted(locs, key=level)

    def sku_supplier(self, sku_name: str) -> Supplier:
        """The supplier of a SKU (its own, or the scenario-wide one)."""
        return self.skus[sku_name].supplier or self.supplier

    def sku_weights(self, seg_name: str) -> list[float]:
        """Purchase weights of a segment over ``skus`` in order (equal when unset)."""
        weights = self.segments[seg_name].sku_weights
        if weights is None:
            return [1.0] * len(self.skus)
        return [float(weights.get(name, 0.0)) for name in self.skus]


Problems = list[tuple[tuple[str, ...], Any, str]]


def _network_problems(sc: Scenario) -> Problems:
    """Every problem of the locations, lanes and segment locations (DOMAIN §7), each as
    (key path, value, message), so that ``validate`` reports them all at once."""
    locs = sc.locations
    if locs is None:
        return [(("segments", name, "location"), seg.location,
                 "names a location, but the scenario declares no locations: add a "
                 "locations mapping or remove the key")
                for name, seg in sc.segments.items() if seg.location is not None] \
            + _fallback_problems(sc)
    problems: Problems = _fallback_problems(sc)
    for name, sku in sc.skus.items():  # single-location keys (stock at one place)
        if sku.initial_on_hand is not None:
            problems.append((("skus", name, "initial_on_hand"), sku.initial_on_hand,
                             "is for single-location scenarios; in a network each location "
                             "starts with its policy's stock: remove the key"))
        if sku.salvage_value_per_unit is not None:
            problems.append((("skus", name, "salvage_value_per_unit"),
                             sku.salvage_value_per_unit,
                             "is for single-location scenarios (a network's stock at the "
                             "horizon is also in transit and reserved): remove the key"))
    if sc.policy.replan is not None:
        problems.append((("policy", "replan"), sc.policy.replan.model_dump(),
                         "re-planning is not available for a scenario with locations yet: "
                         "remove policy.replan or the locations"))
    known = ", ".join(locs)
    if SUPPLIER in locs:
        problems.append(((("locations", SUPPLIER)), SUPPLIER,
                         f"'{SUPPLIER}' is reserved for the external supplier; name the "
                         "location otherwise"))
    for name, loc in locs.items():
        problems.extend(_location_problems(sc, name, loc))
    problems.extend(_cycle_problems(locs))
    for name, seg in sc.segments.items():
        where = ("segments", name, "location")
        if seg.location is None:
            problems.append((where, None, f"missing; the scenario declares locations, so "
                             f"every segment names the one serving it: {known}"))
        elif seg.location not in locs:
            problems.append((where, seg.location, f"unknown location; known: {known}"))
        else:
            held = set(sc.held_skus(seg.location))
            weights = seg.sku_weights or dict.fromkeys(sc.skus, 1.0)
            missing = [s for s, w in weights.items() if w > 0 and s not in held]
            if missing:
                problems.append((where, seg.location, f"the location does not hold SKU(s) "
                                 f"{', '.join(missing)} that the segment buys; add them to "
                                 f"locations.{seg.location}.skus or set their sku_weights "
                                 "to 0"))
    return problems


def _returns_problems(sc: Scenario) -> Problems:
    """Problems of returns (DOMAIN §10): SKU return probabilities or reverse logistics with
    no segment that returns anything, and returns in a network."""
    returning = [name for name, seg in sc.segments.items() if seg.returns is not None]
    problems: Problems = []
    if not returning:
        for name, sku in sc.skus.items():
            if sku.returns is not None:
                problems.append((("skus", name, "returns"), sku.returns.model_dump(),
                                 "has no effect: no segment has returns; add returns to a "
                                 "segment (segments.<name>.returns) or remove the key"))
        if sc.reverse_logistics != ReverseLogistics():
            problems.append((("reverse_logistics",), sc.reverse_logistics.model_dump(
                exclude_defaults=True), "has no effect: no segment has returns; add returns "
                "to a segment (segments.<name>.returns) or remove the key"))
    elif sc.locations is not None:
        for name in returning:
            problems.append((("segments", name, "returns"), NOT_GIVEN,
                             "returns are not available for a scenario with locations yet: "
                             "remove the returns or the locations"))
    return problems


def _returns_dropped(sc: Scenario, data: dict[str, Any]) -> dict[str, Any]:
    """The dump ``data`` of ``sc`` without the returns keys left at their defaults."""
    if sc.reverse_logistics == ReverseLogistics():
        data.pop("reverse_logistics", None)
    for key, part in (("segments", sc.segments), ("skus", sc.skus)):
        dumped = data.get(key)
        if not isinstance(dumped, dict):
            continue
        for name, spec in part.items():
            entry = dumped.get(name)
            if spec.returns is None and isinstance(entry, dict):
                entry.pop("returns", None)
    return data


def _disruption_problems(sc: Scenario) -> Problems:
    """Every problem of the ``disruptions`` (DOMAIN §11), as (key path, value, message)."""
    problems: Problems = []
    for name, d in sc.disruptions.items():
        base = ("disruptions", name)
        if (d.start_day is None) == (d.rate_per_year is None):
            problems.append(((*base, "start_day"), d.start_day, "give exactly one of "
                             "start_day (one scheduled event) and rate_per_year (random "
                             "events)"))
        elif d.rate_per_year is not None:
            expected = d.rate_per_year * sc.run.horizon_days / sc.finance.days_per_year
            if expected > MAX_DISRUPTION_EVENTS:
                problems.append(((*base, "rate_per_year"), d.rate_per_year, f"gives about "
                                 f"{expected:,.0f} events over the run's "
                                 f"{sc.run.horizon_days:g} days; at most "
                                 f"{MAX_DISRUPTION_EVENTS:,} are allowed"))
        problems.extend(_disruption_kind_problems(sc, base, d))
        allowed = {"demand_surge": ("segments", "factor"), "supplier_outage": ("skus",),
                   "lane_closure": ("lane",), "capacity_loss": ("factor",)}[d.kind]
        for key in ("segments", "skus", "lane", "factor"):
            if getattr(d, key) is not None and key not in allowed:
                problems.append(((*base, key), getattr(d, key), f"is not used by a {d.kind} "
                                 f"(it takes {', '.join(allowed)}): remove the key"))
    return problems


def _disruption_kind_problems(sc: Scenario, base: tuple[str, ...], d: Disruption) -> Problems:
    """Problems of the fields a disruption's kind uses."""
    problems: Problems = []
    if d.kind in ("demand_surge", "capacity_loss") and d.factor is None:
        problems.append(((*base, "factor"), None, f"missing; a {d.kind} needs a factor"))
    if d.kind == "capacity_loss" and d.factor is not None and d.factor > 1:
        problems.append(((*base, "factor"), d.factor, "is the share of capacity left: "
                         "0 < factor <= 1"))
    if d.kind == "capacity_loss":
        t = sc.order_processing.time_days
        if isinstance(t, Constant) and t.value == 0:
            problems.append(((*base, "kind"), d.kind, "order_processing.time_days is 0, so "
                             "a loss of processing capacity changes nothing: give order "
                             "processing a time or remove the disruption"))
    for key, known in (("segments", sc.segments), ("skus", sc.skus)):
        names = getattr(d, key)
        unknown = [n for n in names or () if n not in known]
        if unknown:
            problems.append(((*base, key), names, f"unknown name(s) {', '.join(unknown)}; "
                             f"known: {', '.join(known)}"))
    if d.kind == "lane_closure":
        problems.extend(_lane_problems(sc, base, d.lane))
    return problems


def _lane_problems(sc: Scenario, base: tuple[str, ...], lane: str | None) -> Problems:
    """A lane closure names a lane ``FROM->TO`` of the network."""
    if sc.locations is None:
        return [((*base, "kind"), "lane_closure", "a lane closure needs a network: the "
                 "scenario declares no locations")]
    lanes = [f"{loc.replenished_from}->{name}" for name, loc in sc.locations.items()
             if loc.replenished_from != SUPPLIER]
    if lane is None:
        return [((*base, "lane"), None, f"missing; the lanes are: {', '.join(lanes)}")]
    if lane not in lanes:
        return [((*base, "lane"), lane, f"unknown lane; the lanes are: {', '.join(lanes)} "
                 "(FROM->TO)")]
    return []


def _fallback_problems(sc: Scenario) -> Problems:
    """Problems of the segments' lateral supply (``fallback``): it needs locations, names a
    known location other than the segment's own, and a transit time that is never
    negative."""
    locs = sc.locations
    problems: Problems = []
    for name, seg in sc.segments.items():
        fb = seg.fallback
        if fb is None:
            continue
        where = ("segments", name, "fallback", "location")
        if locs is None:
            problems.append((where, fb.location, "lateral supply comes from another "
                             "location, but the scenario declares no locations: add a "
                             "locations mapping or remove the fallback"))
        elif fb.location not in locs:
            problems.append((where, fb.location, f"unknown location; known: "
                             f"{', '.join(locs)}"))
        elif fb.location == seg.location:
            problems.append((where, fb.location, "the fallback is the segment's own "
                             "location; name another location, or remove the fallback"))
        try:
            _check_time_dist(fb.transit_days)
        except ValueError as exc:
            problems.append((("segments", name, "fallback", "transit_days"),
                             fb.transit_days.mean, str(exc)))
    return problems


def _location_problems(sc: Scenario, name: str, loc: Location) -> Problems:
    """Problems of one location: its SKUs, its upstream, its lane and its policies."""
    locs = sc.locations or {}
    problems: Problems = []
    base = ("locations", name)
    unknown = [s for s in loc.skus or [] if s not in sc.skus]
    if unknown:
        problems.append(((*base, "skus"), loc.skus, f"unknown SKU(s) {', '.join(unknown)}; "
                         f"known SKUs: {', '.join(sc.skus)}"))
    for sku in loc.sku_policies:
        if sku not in sc.skus or (loc.skus is not None and sku not in loc.skus):
            problems.append(((*base, "sku_policies", sku), sku,
                             "names a SKU the location does not hold"))
    up = loc.replenished_from
    if up != SUPPLIER and up not in locs:
        problems.append(((*base, "replenished_from"), up, f"unknown; allowed: {SUPPLIER} "
                         f"(the external supplier) or a location: {', '.join(locs)}"))
    elif up == name:
        problems.append(((*base, "replenished_from"), up,
                         "a location cannot replenish itself"))
    elif up != SUPPLIER:
        upstream = locs[up].skus
        if upstream is not None:
            lacking = [s for s in (loc.skus or sc.skus) if s in sc.skus and s not in upstream]
            if lacking:
                problems.append(((*base, "skus"), loc.skus or "all SKUs",
                                 f"SKU(s) {', '.join(lacking)} are not held upstream at {up} "
                                 f"(locations.{up}.skus), so nothing can replenish them here"))
    if up == SUPPLIER and loc.lane is not None:
        problems.append(((*base, "lane"), NOT_GIVEN, "a lane joins an upstream location; "
                         "from the supplier, the supplier block gives lead time and costs: "
                         "remove the lane or set replenished_from to a location"))
    if loc.lane is not None:
        try:
            _check_time_dist(loc.lane.transit_days)
        except ValueError as exc:
            problems.append(((*base, "lane", "transit_days"), loc.lane.transit_days.mean,
                             str(exc)))
    for sku in sc.held_skus(name) if not unknown else []:
        problem = _policy_problem(sc.location_policy(name, sku))
        if problem:
            problems.append(((*base, "policy"), sku, f"SKU {sku} (merged with policy and "
                             f"skus.{sku}.policy): {problem}"))
            break
    return problems


NOT_GIVEN = "(given)"
"""The value shown for a key whose presence is the problem."""


def _cycle_problems(locs: dict[str, Location]) -> Problems:
    """A lane cycle: following ``replenished_from`` from a location comes back to it."""
    problems: Problems = []
    reported: set[str] = set()
    for start in locs:
        path = [start]
        node = locs[start].replenished_from
        while node in locs and node not in path:
            path.append(node)
            node = locs[node].replenished_from
        if node == start and len(path) > 1 and start not in reported:
            reported.update(path)
            chain = " <- ".join([*path, start])
            problems.append((("locations", start, "replenished_from"),
                             locs[start].replenished_from,
                             f"a lane cycle ({chain}: each replenished from the next); every "
                             f"chain of replenished_from must end at {SUPPLIER}"))
    return problems


def _exponential(mean: float) -> Exponential:
    return Exponential.model_validate({"type": "exponential", "mean": mean})


_TARGET = TypeAdapter(Target)


def _single_target(value: Any) -> float:
    """A service target given as one number, or a ValueError saying what is allowed."""
    try:
        if isinstance(value, bool):  # YAML reads yes/no/true/false as booleans
            raise ValueError
        return float(_TARGET.validate_python(value))
    except ValidationError as exc:
        kind = exc.errors()[0]["type"]
    except ValueError:
        kind = "bool"
    if kind == "greater_than":
        raise ValueError("must be > 0 (a service target is a share between 0 and 1)")
    if kind == "less_than":
        raise ValueError("must be < 1 (a service target is a share between 0 and 1; "
                         "0.95 means 95 %)")
    if kind == "finite_number":
        raise ValueError("expected a finite number (not .inf or .nan)")
    raise ValueError("expected a number between 0 and 1, or a mapping of class labels to "
                     "targets, e.g. {A: 0.98, B: 0.95, default: 0.9}")


def _check_demand_shares(segments: dict[str, Segment]) -> None:
    """Given shares lie in [0, 1] and sum to 1; unset ones split what is left equally."""
    given = {n: s.demand_share for n, s in segments.items() if s.demand_share is not None}
    total = sum(v for v in given.values() if v is not None)
    if len(given) == len(segments) and abs(total - 1) > 1e-6:
        raise ValueError(f"segments: the demand_share values must sum to 1, got {total:g} "
                         f"({', '.join(f'{n}: {v:g}' for n, v in given.items() if v is not None)})")
    if total > 1 + 1e-6:
        raise ValueError(f"segments: the demand_share values given sum to {total:g}, above 1")


def demand_shares(segments: dict[str, Segment]) -> dict[str, float]:
    """Each segment's share of item demand that the history does not assign to a segment."""
    given = {n: s.demand_share for n, s in segments.items() if s.demand_share is not None}
    rest = [n for n in segments if n not in given]
    left = max(0.0, 1.0 - sum(v for v in given.values() if v is not None))
    return {n: given[n] if n in given else left / len(rest) for n in segments}  # type: ignore[misc]


def _check_time_dist(dist: Any) -> Any:
    if isinstance(dist, Constant) and dist.value < 0:
        raise ValueError(f"a time cannot be negative (got {dist.value:g})")
    low = getattr(dist, "low", 0.0)
    if low is not None and low < 0:
        raise ValueError(f"a time cannot be negative (low = {low:g})")
    values = getattr(dist, "values", None)
    if values is not None and min(values) < 0:
        raise ValueError("a time cannot be negative (a value in the table is below 0)")
    if not math.isfinite(dist.mean) or dist.mean < 0:
        raise ValueError(f"a time needs a finite, non-negative mean (got {dist.mean})")
    return dist


def _policy_problem(p: Policy) -> str | None:
    """What is missing or inconsistent in an effective policy, or None (:data:`POLICY_KEYS`)."""
    keys = POLICY_KEYS[p.type]
    missing = [k for k in keys.needs if getattr(p, k) is None]
    if missing:
        return f"type {p.type} needs {' and '.join(missing)}"
    if p.service_target is None and any(getattr(p, k) is None
                                        for k in keys.needs_without_target):
        return (f"type {p.type} needs {' and '.join(keys.needs_without_target)}, "
                "or a service_target")
    if keys.below is not None:
        lower, upper = (getattr(p, k) for k in keys.below)
        if lower is not None and upper is not None and upper <= lower:
            return f"{keys.below[1]} ({upper}) must exceed {keys.below[0]} ({lower})"
    return None


def _unused_key(path: str, policy: Policy | PolicyOverride, policy_type: str) -> str | None:
    """A message naming the first key of ``policy`` that ``policy_type`` does not use, or
    None (``path``: where the mapping is in the document).  A key at its default (null,
    ``first_review_day`` 0) says nothing, so a scenario written out in full reads back."""
    accepts = POLICY_KEYS[policy_type].accepts
    for key, field in type(policy).model_fields.items():
        if key in accepts or key in ("type", "replan") or key in COMMON_POLICY_KEYS:
            continue
        if getattr(policy, key) == field.get_default():
            continue
        return (f"{path}.{key} {policy_type} does not use {key}; it accepts "
                f"{', '.join((*accepts, *COMMON_POLICY_KEYS))}")
    return None
