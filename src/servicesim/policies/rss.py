"""Periodic review (R, s, S) (DOMAIN §5): every R days, if the inventory position is at or
below s, order up to S — the ERP "min-max with a review cycle"."""

from __future__ import annotations

from .derivation import Derivation, DerivedPolicy, Parameters
from .ss import SS


class RsS(SS):
    """(R, s, S).  Derived as (s, S) over the protection interval R + L: s given, or the
    smallest s meeting the target (α: P(D_{R+L} ≤ s) ≥ α; β: E[(D_{R+L} − s)^+] −
    E[(D_{R+L} − S)^+] ≤ (1 − β)·(S − s)), S given or s + Q (``order_quantity`` or the EOQ).
    The formulas leave out the undershoot of s at a review, so the predicted service is
    somewhat optimistic for slow reviews of fast movers.  Starts with S on hand; reviews at
    ``first_review_day`` + kR."""

    name = "RsS"
    parameters = ("review_period_days", "reorder_point", "order_up_to", "order_quantity",
                  "first_review_day")
    periodic = True

    def derive(self, work: Derivation) -> Parameters:
        found = super().derive(work)
        work.source["review_period_days"] = "given"
        return found

    def levels(self, policy: DerivedPolicy) -> tuple[int | None, int, int]:
        assert policy.order_up_to is not None
        return None, 0, policy.order_up_to
