"""Service failures beyond stockouts drive defection (DOMAIN §9).

A segment's ``failure_weights`` make late, damaged and wrongly documented orders count as
service failures.  Each customer keeps a count F = stockouts met + Σ weight × failures of
each kind (the stockouts in ``_Segment.stockouts``, the weighted rest in
:attr:`Failures.load`).  A stockout weighs 1 and draws its reaction as before, its chance
of defection now ``defect + defect_step × F`` (:func:`~servicesim.model.reactions.draw`).
A failure of weight w > 0 makes the customer defect with chance
min(1, w × (defect + defect_step × F)), F before it, and then adds w to F: it counts as w
stockouts would.

The customer experiences an order's failures when its last shipment is delivered: then the
goods show their damage and their documents, and the cycle time is known (late: beyond the
segment's promise).  An order that delivered nothing (all its lines lost) has no delivery to
fail; its stockouts counted already.  An order's failures are drawn in the order of
:data:`CAUSES` (late, damaged, documentation), each with its own uniform from the segment's
own ``failures`` stream, until one makes the customer defect.  Failures delivered after the
horizon are never experienced in the run.

Cost: a segment without weights has ``failures`` None and its orders pay one attribute test
at closing; the model's inlined arrival loop is taken only when no segment has weights.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from ..scenario.distributions import Sampler
from ..scenario.schema import Segment
from .clock import Wakeup
from .streams import stream, uniforms

if TYPE_CHECKING:
    from .customers import _Segment

CAUSES: tuple[str, ...] = ("stockout", "late", "damaged", "documentation")
"""The causes of a defection, in the order the failures of one order are drawn (after the
stockout, which is drawn at order entry)."""
STOCKOUT, LATE, DAMAGED, DOCUMENTATION = range(len(CAUSES))
DEFECTION_KEYS: tuple[str, ...] = tuple(f"defections_{cause}" for cause in CAUSES)
"""The figures of defections by cause (they sum to ``defections``)."""


class Failures:
    """A segment's failure weights, its customers' weighted failures and its stream."""

    __slots__ = ("weights", "load", "u")

    def __init__(self, weights: tuple[float, float, float], customers: int,
                 u: Sampler) -> None:
        self.weights = weights  # late, damaged, documentation
        self.load = [0.0] * customers  # Σ weight × failures other than stockouts
        self.u = u


def build_failures(spec: Segment, root: np.random.SeedSequence, name: str
                   ) -> Failures | None:
    """The failures of segment ``name`` (None when no weight is set: nothing to check);
    their uniforms come from the segment's own ``failures`` stream, so turning them on
    shifts no other stream (common random numbers)."""
    fw = spec.failure_weights
    if not fw.active():
        return None
    return Failures((fw.late, fw.damaged, fw.documentation), spec.customers,
                    uniforms(stream(root, "failures", name)))


class FailuresMixin:
    """Failures experienced at delivery, of
    :class:`~servicesim.model.simulation.ServiceModel`."""

    env: simpy.Environment
    horizon: float
    trace: list[tuple[float, str, dict[str, Any]]] | None
    _log: Callable[..., None]
    _defect: Callable[..., None]

    def _experience(self, seg: _Segment, cust: int, t: float, delivery: float,
                    damaged: bool, doc_error: bool) -> None:
        """An order of ``cust`` placed at ``t`` closed; its last shipment is delivered at
        ``delivery`` (negative: nothing delivered).  Its failures of a kind with a weight
        are experienced then (at once if that time has passed)."""
        if delivery < 0.0:
            return
        fl = seg.failures
        assert fl is not None
        w_late, w_damaged, w_doc = fl.weights
        kinds = []
        if w_late > 0.0 and delivery - t > seg.promise_tol:
            kinds.append((LATE, w_late))
        if damaged and w_damaged > 0.0:
            kinds.append((DAMAGED, w_damaged))
        if doc_error and w_doc > 0.0:
            kinds.append((DOCUMENTATION, w_doc))
        if not kinds:
            return
        now = self.env.now
        at = delivery if delivery > now else now
        if at > self.horizon:
            return  # experienced after the run
        event = Wakeup(self.env, at)
        event.callbacks.append(lambda _event: self._fail(seg, cust, kinds))

    def _fail(self, seg: _Segment, cust: int, kinds: list[tuple[int, float]]) -> None:
        """The customer meets the failures ``kinds`` ((cause, weight), in :data:`CAUSES`
        order): each may make it defect (see the module docstring)."""
        fl = seg.failures
        assert fl is not None
        stockouts, load = seg.stockouts, fl.load
        for cause, weight in kinds:
            met = stockouts[cust]
            if met < 0:
                return  # defected meanwhile
            p = weight * (seg.defect + seg.defect_step * (met + load[cust]))
            load[cust] += weight
            defects = fl.u() < p
            if self.trace is not None:
                self._log(self.env.now, "failure", segment=seg.name, customer=cust,
                          failure=CAUSES[cause], defects=defects)
            if defects:
                self._defect(seg, cust, cause)
                return
