"""Base-stock (S − 1, S) (DOMAIN §5): every unit demanded is reordered at once, keeping the
inventory position at S."""

from __future__ import annotations

from .base import OrderUpToAtReorderPoint
from .derivation import Derivation, DerivedPolicy, Parameters, fill_rate_sq


class BaseStock(OrderUpToAtReorderPoint):
    """Base-stock.  α: smallest S with P(D_L ≤ S − 1) ≥ α; β: smallest S with
    E[(D_L − S + 1)^+] − E[(D_L − S)^+] ≤ 1 − β (the (s, Q) formula with Q = 1,
    s = S − 1); the reorder point is S − 1.  A given ``reorder_point`` without
    ``order_up_to`` means S = s + 1.  Starts with S on hand."""

    name = "base_stock"
    parameters = ("order_up_to", "reorder_point")

    def derive(self, work: Derivation) -> Parameters:
        cover, policy = work.cover, work.policy
        big_s = policy.order_up_to
        if big_s is None and policy.reorder_point is not None:
            big_s = policy.reorder_point + 1
        work.source["order_up_to"] = "given" if big_s is not None else "derived"
        work.source["reorder_point"] = work.source["order_up_to"]
        if big_s is None and work.no_demand:
            big_s = 0
        elif big_s is None and work.alpha:
            big_s = max(work.normal_quantile() + 1, 0) if work.normal \
                else work.search(lambda x: cover.cdf(x - 1), -1, z=work.alpha_z())
        elif big_s is None:
            big_s = work.search(lambda x: fill_rate_sq(cover, x - 1, 1), -1,
                                z=work.beta_z(1.0 - work.goal()))
        predicted = cover.cdf(big_s - 1) if work.alpha else \
            (1.0 if work.no_demand else fill_rate_sq(cover, big_s - 1, 1))
        return Parameters(big_s - 1, None, big_s, predicted, big_s - work.cover_mean)


    def critical_base(self, policy: DerivedPolicy) -> int | None:
        """S."""
        return policy.order_up_to

    def purchase_orders_expected(self, policy: DerivedPolicy, lines: float,
                                 horizon: float) -> float:
        """One per order line."""
        return lines
