"""The interface every inventory policy family implements (DOMAIN §5).

A family is a small stateless object: its name, the scenario keys it takes, how it derives
its parameters from a service target, and what the model asks of it — whether it reviews
continuously or every R days, the stock it starts with, the levels the stock point keeps (the
reorder trigger the fast path watches) and the order it places for an inventory position.
The families are listed in :mod:`servicesim.policies.registry`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from .derivation import Derivation, DerivedPolicy, Parameters


class PolicyFamily(ABC):
    """One inventory policy family: (s, Q), (s, S), (R, S), (R, s, S), base-stock."""

    name: ClassVar[str]
    """The ``policy.type`` of a scenario."""
    parameters: ClassVar[tuple[str, ...]]
    """The parameter keys it takes (besides the common ones: service target, metric, ...)."""
    periodic: ClassVar[bool] = False
    """True: it orders only at reviews, every ``review_period_days`` from
    ``first_review_day``; its protection interval is R + L instead of L."""

    @abstractmethod
    def derive(self, work: Derivation) -> Parameters:
        """Its parameters: the given ones, the missing ones derived from the target."""

    @abstractmethod
    def levels(self, policy: DerivedPolicy) -> tuple[int | None, int, int]:
        """(s, Q, S) the stock point keeps.  s: the inventory position at or below which it
        orders at once (None: only reviews order); the fast path keeps the position above
        it.  Q: an order is the smallest multiple of Q lifting the position above s (0: it
        orders up to S).  S: the order-up-to level (0 when there is none)."""

    @abstractmethod
    def order_quantity(self, policy: DerivedPolicy, position: int) -> int:
        """Units ordered for inventory ``position`` when the family looks (at a review, or
        as demand lowers the position); 0: no order."""

    def initial_on_hand(self, policy: DerivedPolicy) -> int:
        """Units on hand at time 0 (before the model clips them at 0): S."""
        assert policy.order_up_to is not None
        return policy.order_up_to

    def critical_base(self, policy: DerivedPolicy) -> int | None:
        """The level ``critical_level_fraction`` is a share of: the reorder point."""
        return policy.reorder_point

    def purchase_orders_expected(self, policy: DerivedPolicy, lines: float,
                                 horizon: float) -> float:
        """Purchase orders expected over ``horizon`` days with ``lines`` order lines (sizes
        the first block of lead-time draws; the draws do not depend on it)."""
        if self.periodic:
            return horizon / (policy.review_period_days or horizon)
        _, quantity, order_up_to = self.levels(policy)
        batch = quantity or order_up_to - (policy.reorder_point or 0)
        return policy.demand_per_day * horizon / max(1, batch or 1)


class OrderUpToAtReorderPoint(PolicyFamily):
    """A family that orders up to S when the inventory position is at or below s: (s, S),
    base-stock (s = S − 1) and, at its reviews, (R, s, S)."""

    def levels(self, policy: DerivedPolicy) -> tuple[int | None, int, int]:
        assert policy.reorder_point is not None and policy.order_up_to is not None
        return policy.reorder_point, 0, policy.order_up_to

    def order_quantity(self, policy: DerivedPolicy, position: int) -> int:
        assert policy.reorder_point is not None and policy.order_up_to is not None
        return policy.order_up_to - position if position <= policy.reorder_point else 0
