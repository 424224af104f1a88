"""The clock: what the model needs of SimPy's internals, in one module.

The model places most orders without a round trip through SimPy's event queue (the
look-ahead): when the next order comes strictly before every event in the queue, nothing
else can happen in between, so the arrival process moves the clock to it and places the
order at once.  What that needs of SimPy lives here:

* :class:`Receipt` and :class:`Wakeup`, events scheduled straight onto ``env._queue`` (as
  SimPy's own ``Timeout`` does) so that receipts can be recognised at the head of the queue;
* :meth:`ClockMixin._catch_up`, which books receipts due first *in passing*, in queue order,
  as SimPy would process them;
* :func:`event_queue`, the handle on SimPy's event heap the arrival loops look ahead in.

One exception: the arrival loops (:mod:`servicesim.model.customers`) test
``queue[0][0] > t`` and set ``env._now`` themselves, marked "look-ahead (see clock)": they
run once per order, and a Python call costs about 430 instructions under callgrind, some
2 % of the 1,000-SKU benchmark run if taken per order.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import simpy

if TYPE_CHECKING:
    from .stock import _Stock

_NORMAL = simpy.events.NORMAL


class Receipt(simpy.Event):
    """A purchase order arriving at the stock point after its lead time.

    A timeout with its payload in plain attributes (scheduled directly, as SimPy's own
    ``Timeout`` does), so the arrival processes can recognise receipts at the head of the
    event queue and book them in passing (:meth:`ClockMixin._catch_up`).
    """

    def __init__(self, env: simpy.Environment, delay: float, stock: _Stock, qty: int,
                 callback: Callable[[simpy.Event], None], at: float | None = None) -> None:
        self.env = env
        self.callbacks = [callback]
        self.stock = stock
        self.qty = qty
        self._value = None
        self._ok = True
        when = env._now + delay if at is None else at  # ``at``: an absolute time instead
        heapq.heappush(env._queue, (when, _NORMAL, next(env._eid), self))


class Restock(Receipt):
    """Returned units put back on hand at the absolute time ``at`` (DOMAIN §10), booked in
    passing like a receipt (:meth:`ClockMixin._catch_up` tells the two apart by their exact
    type), so that the arrival processes need not stop for them."""

    def __init__(self, env: simpy.Environment, at: float, stock: _Stock, qty: int,
                 callback: Callable[[simpy.Event], None]) -> None:
        super().__init__(env, at - env._now, stock, qty, callback, at=at)


class Wakeup(simpy.Event):
    """An event at the absolute time ``at`` (a timeout without the rounding of
    ``now + (at − now)``), for the merged arrival process."""

    def __init__(self, env: simpy.Environment, at: float) -> None:
        self.env = env
        self.callbacks = []
        self._value = None
        self._ok = True
        heapq.heappush(env._queue, (at, _NORMAL, next(env._eid), self))


def event_queue(env: simpy.Environment) -> list[tuple[float, int, int, Any]]:
    """SimPy's event heap of (time, priority, id, event); its head is the next event."""
    return env._queue


class ClockMixin:
    """Receipts booked in passing for :class:`~servicesim.model.simulation.ServiceModel`."""

    env: simpy.Environment
    _receive: Callable[[_Stock, int], None]
    _restock_units: Callable[[_Stock, int], None]

    def _catch_up(self, t: float) -> bool:
        """Book the receipts (and restocks of returned units) due at or before ``t`` that
        head the event queue, in queue order, as SimPy would process them; True when nothing
        else is due by ``t`` either, so an order at ``t`` can be placed at once (the
        look-ahead)."""
        env = self.env
        queue = env._queue
        while queue:
            head = queue[0]
            if head[0] > t:
                return True
            event = head[3]
            kind = type(event)
            if kind is not Receipt and kind is not Restock:
                return False
            heapq.heappop(queue)
            env._now = head[0]
            event.callbacks = None  # type: ignore[assignment]  # processed (SimPy's mark)
            if kind is Receipt:
                self._receive(event.stock, event.qty)
            else:
                self._restock_units(event.stock, event.qty)
        return True

    def _on_receipt(self, event: simpy.Event) -> None:
        """A receipt processed by SimPy itself (it headed no look-ahead)."""
        assert isinstance(event, Receipt)
        self._receive(event.stock, event.qty)
