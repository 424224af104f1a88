"""Continuous review (s, Q) (DOMAIN §5): when the inventory position is at or below s, order
the smallest multiple of Q that lifts it above s."""

from __future__ import annotations

from .base import PolicyFamily
from .derivation import NO_LIMIT, Derivation, DerivedPolicy, Parameters, fill_rate_sq


def derive_reorder_point(work: Derivation, quantity: int, order_up_to: int | None) -> int:
    """The smallest reorder point s meeting the target for cycles of ``quantity`` units, or
    of S − s with ``order_up_to`` S given (then s < S), with D the demand over the protection
    interval.  α: smallest s with P(D ≤ s) ≥ α.  β: smallest s with expected shortage per
    cycle E[(D − s)^+] − E[(D − s − Q)^+] ≤ (1 − β)·Q.  Where demand can be lost, s ≥ 0."""
    cover, goal = work.cover, work.goal
    q, top = quantity, order_up_to

    def fill(x: int) -> float:
        """β at s = x: cycles of Q, or of S − x when S is given."""
        return fill_rate_sq(cover, x, q if top is None else top - x)

    # s > −Q − 1 (where β = 0); with S given, s < S and Q = S − s
    floor, ceiling = (-q - 1, NO_LIMIT) if top is None else (-NO_LIMIT, top - 1)
    lost = work.can_lose_demand()
    if lost:  # the position never falls below 0: s < 0 would never reorder
        floor = max(floor, -1)
    if work.alpha:
        s = min(work.normal_quantile(), ceiling) if work.normal \
            else work.search(cover.cdf, -1, ceiling, work.alpha_z())
        if lost and s < 0 <= ceiling:
            s = 0
    else:
        s = work.search(fill, floor, ceiling,
                        work.beta_z((1.0 - goal()) * q) if top is None else None)
    if lost and s == 0 and (cover.cdf(-1) if work.alpha else fill(-1)) >= goal():
        work.notes.append("reorder point raised to 0: demand that is not backordered is "
                          "lost, so the inventory position never falls below 0")
    if top is not None and s == ceiling \
            and (cover.cdf(s) if work.alpha else fill(s)) < goal():
        work.notes.append(f"target not reachable below order_up_to {top}; "
                          f"reorder point capped at {ceiling}")
    return s


def cycle_service(work: Derivation, reorder_point: int, quantity: int) -> float:
    """The formula's service of cycles of ``quantity`` units from ``reorder_point``:
    α = F(s), β = 1 − [E(D − s)^+ − E(D − s − Q)^+] / Q (Hadley–Whitin)."""
    if work.alpha:
        return work.cover.cdf(reorder_point)
    return 1.0 if work.no_demand else fill_rate_sq(work.cover, reorder_point, quantity)


class SQ(PolicyFamily):
    """(s, Q).  Q = ``order_quantity`` or the EOQ; s given or derived
    (:func:`derive_reorder_point`).  Starts with s + Q on hand."""

    name = "sQ"
    parameters = ("reorder_point", "order_quantity")

    def derive(self, work: Derivation) -> Parameters:
        quantity, quantity_source = work.order_quantity()
        s = work.policy.reorder_point
        work.source["reorder_point"] = "given" if s is not None else "derived"
        if s is None and work.no_demand:
            s = 0
        elif s is None:
            s = derive_reorder_point(work, quantity, None)
        work.source["order_quantity"] = quantity_source
        return Parameters(s, quantity, None, cycle_service(work, s, quantity),
                          s - work.cover_mean)

    def levels(self, policy: DerivedPolicy) -> tuple[int | None, int, int]:
        assert policy.reorder_point is not None and policy.order_quantity is not None
        return policy.reorder_point, policy.order_quantity, 0

    def order_quantity(self, policy: DerivedPolicy, position: int) -> int:
        s, quantity, _ = self.levels(policy)
        assert s is not None
        return ((s - position) // quantity + 1) * quantity if position <= s else 0

    def initial_on_hand(self, policy: DerivedPolicy) -> int:
        """s + Q."""
        s, quantity, _ = self.levels(policy)
        assert s is not None
        return s + quantity
