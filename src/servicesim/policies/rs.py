"""Periodic review (R, S) (DOMAIN §5): every R days, order up to S."""

from __future__ import annotations

from .base import PolicyFamily
from .derivation import Derivation, DerivedPolicy, Parameters, fill_rate_rs


class RS(PolicyFamily):
    """(R, S), over the protection interval R + L.  α: smallest S with P(D_{R+L} ≤ S) ≥ α;
    β: smallest S with E[(D_{R+L} − S)^+] − E[(D_L − S)^+] ≤ (1 − β)·μ_d·R.  Every review
    orders (a zero order still marks the cycle).  Starts with S on hand."""

    name = "RS"
    parameters = ("review_period_days", "order_up_to", "first_review_day")
    periodic = True

    def derive(self, work: Derivation) -> Parameters:
        assert work.review is not None
        cover, lead = work.cover, work.lead_demand()
        review_demand = work.mu_d * work.review
        big_s = work.policy.order_up_to
        work.source["order_up_to"] = "given" if big_s is not None else "derived"
        work.source["review_period_days"] = "given"
        if big_s is None and work.no_demand:
            big_s = 0
        elif big_s is None and work.alpha:
            big_s = max(work.normal_quantile(), 0) if work.normal \
                else work.search(cover.cdf, -1, z=work.alpha_z())
        elif big_s is None:
            big_s = work.search(lambda x: fill_rate_rs(cover, lead, x, review_demand), -1,
                                z=work.beta_z((1.0 - work.goal()) * review_demand))
        predicted = cover.cdf(big_s) if work.alpha else \
            (1.0 if work.no_demand else fill_rate_rs(cover, lead, big_s, review_demand))
        return Parameters(None, None, big_s, predicted, big_s - work.cover_mean)

    def levels(self, policy: DerivedPolicy) -> tuple[int | None, int, int]:
        assert policy.order_up_to is not None
        return None, 0, policy.order_up_to

    def order_quantity(self, policy: DerivedPolicy, position: int) -> int:
        assert policy.order_up_to is not None
        return max(0, policy.order_up_to - position)

    def critical_base(self, policy: DerivedPolicy) -> int | None:
        """S (there is no reorder point)."""
        return policy.order_up_to
