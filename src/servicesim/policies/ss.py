"""Continuous review (s, S) (DOMAIN §5): when the inventory position is at or below s, order
up to S."""

from __future__ import annotations

from .base import OrderUpToAtReorderPoint
from .derivation import Derivation, Parameters
from .sq import cycle_service, derive_reorder_point


class SS(OrderUpToAtReorderPoint):
    """(s, S).  Without either parameter, s as for (s, Q) and S = s + Q (Q =
    ``order_quantity`` or the EOQ); with s given, S = s + Q; with S given, s is derived with
    Q = S − s and capped at S − 1.  Starts with S on hand."""

    name = "sS"
    parameters = ("reorder_point", "order_up_to", "order_quantity")

    def derive(self, work: Derivation) -> Parameters:
        quantity, quantity_source = work.order_quantity()
        s, big_s = work.policy.reorder_point, work.policy.order_up_to
        work.source["reorder_point"] = "given" if s is not None else "derived"
        work.source["order_up_to"] = "given" if big_s is not None else "derived"
        if s is None and work.no_demand:
            s = 0
        elif s is None:
            s = derive_reorder_point(work, quantity, big_s)
        if big_s is None:
            big_s = s + quantity
            if quantity_source == "eoq":
                work.notes.append(f"order_up_to = reorder point + EOQ ({quantity})")
        return Parameters(s, None, big_s, cycle_service(work, s, big_s - s),
                          s - work.cover_mean)
