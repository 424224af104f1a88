"""Disruptions (DOMAIN §11): supplier outages, lane closures, demand surges, capacity losses.

The events of a run are drawn when the model is built, each disruption from its own streams
keyed by its name (common random numbers, STYLE habit 4): ``disruption`` for the start times
of random events (a Poisson process at ``rate_per_year``), ``disruption_duration`` for the
durations, so that changing how long events last never moves when they start.  An event
starting at or after the horizon is dropped (a scheduled one too).

What each kind does, through hooks bound at build time only when a scenario has that kind
(a run without disruptions pays nothing, per order or per line):

* ``supplier_outage``: a purchase order *ships* when the supplier dispatches it, which is
  when it is placed, its lead time running from then.  During an outage nothing ships: a
  purchase order placed in ``[start, end)`` ships at ``end`` and then takes its lead time
  (the same lead-time draw it would have had).  Orders shipped before the outage arrive as
  drawn.  It applies to stock points replenished from the supplier (in a network, not to
  internal orders).
* ``lane_closure``: an internal shipment due to leave on the lane in ``[start, end)`` leaves
  at ``end`` (its units are allocated upstream and wait there); then its transit time.
* ``demand_surge``: the order rate of each segment named is multiplied by ``factor`` during
  the event, by a time change: the segment's unit-exponential draw for the next order is
  *work* at the rate ``factor(t) × active customers / mean interval``
  (:class:`TimeWarp`), so the draws are those of the run without the surge (common random
  numbers).  A surged Poisson segment runs its own arrival process instead of joining the
  merged one (the figures are the same either way).  A renewal (non-Poisson) segment is
  surged by the same time change of each customer's clock: the drawn gap to a customer's
  next order is spent at the rate ``factor`` while the surge lasts (so a constant gap of 14
  days becomes 7 inside a surge of 2).
* ``capacity_loss``: order processing keeps ``factor`` of its capacity.  Processing times
  are stretched, not servers removed: an order's processing work (its drawn time) is done
  at the rate ``factor`` while the event lasts and 1 outside it, from the moment it starts
  (:class:`TimeWarp`).  This works the same with a server count and with unlimited servers,
  keeps every draw, and needs no rounding of servers (``factor`` 0.5 of 1 server is
  meaningful, as is 0.9 of 3).

Overlapping events of one kind multiply their factors (surges, capacity) or chain their
closures (an outage ending inside another lasts until the other ends).
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from ..scenario.schema import Disruption, Scenario
from .clock import Wakeup
from .network import NetworkMixin
from .results import DailySeries, DisruptionEvent, ReplicationResult
from .streams import stream

if TYPE_CHECKING:
    from .customers import _Segment
    from .stock import _Stock

BEFORE_DAYS = 28
"""Whole days before an event whose item fill rate is its level before the event."""
RECOVERY_WINDOW_DAYS = 7
"""Days of the trailing fill rate that must be back near the level before (DOMAIN §11)."""
RECOVERY_TOLERANCE = 0.01
IMPACT_DAYS = 30
"""Days after an event's end within which its lowest fill rate is looked for: a supplier
outage hurts once the purchase orders it delayed are missed, up to a lead time after it ends."""
"""How close (1 point of fill rate) the trailing fill rate must come back."""


@dataclass(frozen=True)
class Window:
    """One event of a disruption: ``[start, end)`` in days of the run."""

    name: str
    kind: str
    start: float
    end: float
    spec: Disruption


def draw_windows(sc: Scenario, root: np.random.SeedSequence) -> list[Window]:
    """The events of every disruption of ``sc`` over the run, in order of start."""
    horizon = float(sc.run.horizon_days)
    out: list[Window] = []
    for name, d in sc.disruptions.items():
        durations = d.duration_days.sampler(stream(root, "disruption_duration", name), first=16)
        if d.start_day is not None:
            starts = [float(d.start_day)]
        else:
            assert d.rate_per_year is not None
            rng = stream(root, "disruption", name)
            mean_gap = sc.finance.days_per_year / d.rate_per_year
            starts, t = [], 0.0
            while True:
                t += float(rng.exponential(mean_gap))
                if t >= horizon:
                    break
                starts.append(t)
        for start in starts:
            duration = float(durations())
            if start < horizon:
                out.append(Window(name, d.kind, start, start + duration, d))
    out.sort(key=lambda w: (w.start, w.name))
    return out


class TimeWarp:
    """A piecewise-constant rate ``r(t)`` (the product of the factors of the windows
    covering ``t``, 1 elsewhere) and the time at which work done at that rate is complete:
    :meth:`advance` ``(t, w)`` is the ``u`` with ``∫_t^u r = w``.  At rate 1 it returns
    ``t + w`` exactly (a run whose windows are still to come is unchanged)."""

    __slots__ = ("points", "rates")

    def __init__(self, windows: list[tuple[float, float, float]]) -> None:
        points = sorted({0.0} | {s for s, _, _ in windows} | {e for _, e, _ in windows})
        self.points = points
        self.rates = [math.prod(f for s, e, f in windows if s <= p < e) for p in points]

    def advance(self, t: float, work: float) -> float:
        points, rates = self.points, self.rates
        i = bisect.bisect_right(points, t) - 1
        while True:
            rate = rates[i] if i >= 0 else 1.0
            nxt = points[i + 1] if i + 1 < len(points) else math.inf
            if rate == 1.0 and t + work <= nxt:
                return t + work
            if rate * (nxt - t) >= work:
                return t + work / rate
            work -= rate * (nxt - t)
            t = nxt
            i += 1


def closed_until(windows: list[tuple[float, float]], t: float) -> float:
    """The first time at or after ``t`` outside every ``[start, end)`` of ``windows``
    (sorted by start): an outage or closure in force at ``t`` lasts to its end, and to the
    end of any other that is in force then."""
    moved = True
    while moved:
        moved = False
        for start, end in windows:
            if start <= t < end:
                t = end
                moved = True
    return t


def delay_lead_times(st: _Stock, windows: list[tuple[float, float]],
                     env: simpy.Environment) -> None:
    """Make ``st``'s purchase orders ship after the supplier outages of ``windows``: the
    lead time of a purchase order placed at ``now`` becomes the wait to the end of the
    outage plus its own draw.  ``st.lead_time`` is made on its first draw
    (:func:`~servicesim.model.streams.on_first_use`), which puts the plain sampler in its
    place: the wrapper puts itself back around it."""
    first = st.lead_time

    def wait() -> float:
        now = env._now
        return closed_until(windows, now) - now

    def first_draw() -> float:
        lead_time = first()
        sampler = st.lead_time  # the plain sampler, now in place

        def delayed() -> float:
            return sampler() + wait()  # type: ignore[no-any-return]

        st.lead_time = delayed
        return lead_time + wait()  # type: ignore[no-any-return]

    st.lead_time = first_draw


def _trough(rates: np.ndarray, first: int, last: int) -> int:
    """The day of the lowest trailing fill rate in days ``first .. last − 1`` (days without
    demand left out; ``first`` when there is none)."""
    window = rates[first:max(first, min(last, len(rates)))]
    if window.size == 0 or np.isnan(window).all():
        return first
    return first + int(np.nanargmin(window))


def recovery(name: str, kind: str, start: float, end: float, rates: np.ndarray,
             daily: DailySeries, horizon: float) -> DisruptionEvent:
    """The event's record with its recovery (DOMAIN §11; defined on
    :class:`~servicesim.model.results.DisruptionEvent`); ``rates`` is the daily series'
    trailing 7-day fill rate."""
    day = int(start)
    first = max(0, day - BEFORE_DAYS)
    demanded = float(daily.units_demanded[first:day].sum())
    before = None if demanded <= 0 else \
        1.0 - float(daily.units_short[first:day].sum()) / demanded
    recovered = None
    if before is not None:
        level = before - RECOVERY_TOLERANCE - 1e-12
        k = max(0, math.ceil(end) - 1, _trough(rates, day, math.ceil(end) + IMPACT_DAYS))
        while k + 1 <= horizon and k < len(rates):
            if rates[k] >= level:  # NaN (no demand) is never recovered
                recovered = float(k + 1)
                break
            k += 1
    return DisruptionEvent(name, kind, start, end, recovered, before,
                           None if recovered is None else recovered - end)


class DisruptionsMixin:
    """The disruptions of :class:`~servicesim.model.simulation.ServiceModel`: the events,
    the hooks bound at build time, the daily series and the events' records."""

    env: simpy.Environment
    scenario: Scenario
    root: np.random.SeedSequence
    horizon: float
    segments: list[_Segment]
    stocks: list[_Stock]
    servers: list[float] | None
    proc_time: Callable[[], float]
    proc_n: int
    proc_waited: int
    proc_wait_sum: float
    proc_sojourn_sum: float
    proc_busy: float
    network: bool
    _LOOKAHEAD: bool
    _place_order: Callable[[_Segment, int, float], None]

    def _build_disruptions(self, sc: Scenario, daily: bool) -> None:
        """Draw the events and bind the hooks of the kinds the scenario has; record the
        daily series when there are disruptions or ``daily`` asks for it.  ``disrupted``
        is True when orders take the hooked path (the merged arrivals then do not inline
        the order)."""
        self.windows = draw_windows(sc, self.root) if sc.disruptions else []
        self.surges: dict[int, TimeWarp] = {}
        self.capacity: TimeWarp | None = None
        self.daily_on = daily or bool(sc.disruptions)
        by_kind: dict[str, list[Window]] = {}
        for w in self.windows:
            by_kind.setdefault(w.kind, []).append(w)
        for seg in self.segments:
            chosen = [(w.start, w.end, w.spec.factor or 1.0)
                      for w in by_kind.get("demand_surge", ())
                      if w.spec.segments is None or seg.name in w.spec.segments]
            if chosen:
                self.surges[seg.index] = TimeWarp(chosen)
                if not seg.poisson:
                    self._renewal_customer = (  # type: ignore[method-assign]
                        self._surged_renewal_customer)
        if "capacity_loss" in by_kind:
            self.capacity = TimeWarp([(w.start, w.end, w.spec.factor or 1.0)
                                      for w in by_kind["capacity_loss"]])
            self._process = self._process_disrupted  # type: ignore[method-assign]
        self._bind_outages(by_kind.get("supplier_outage", []))
        if "lane_closure" in by_kind:
            self.lane_windows: dict[str, list[tuple[float, float]]] = {}
            for w in by_kind["lane_closure"]:
                assert w.spec.lane is not None
                self.lane_windows.setdefault(w.spec.lane, []).append((w.start, w.end))
            self._ship = self._ship_after_closure  # type: ignore[method-assign]
        if self.daily_on:
            days = max(1, math.ceil(self.horizon))
            self.day_units = [0] * days
            self.day_short = [0] * days
            self.day_booked, self.day_totals = 0, (0, 0)
            self.env.process(self._daily_counts(days))
        self.disrupted = self.capacity is not None

    def _bind_outages(self, windows: list[Window]) -> None:
        """Supplier outages: each supplier-replenished stock point of an SKU named gets
        its purchase orders delayed (:func:`delay_lead_times`)."""
        if not windows:
            return
        for st in self.stocks:
            if st.upstream is not None:  # replenished from a location: not the supplier
                continue
            mine = [(w.start, w.end) for w in windows
                    if w.spec.skus is None or st.name in w.spec.skus]
            if mine:
                delay_lead_times(st, mine, self.env)

    def _surged_arrivals(self, seg: _Segment) -> Any:
        """The arrivals of a Poisson segment under a demand surge: as
        :meth:`~servicesim.model.customers.CustomersMixin._arrivals`, the gap's
        unit-exponential draw spent at the surged rate (:class:`TimeWarp`)."""
        env = self.env
        warp = self.surges[seg.index]
        gap, pick, mean = seg.interval, seg.pick, seg.mean_interval
        active = seg.active
        place = self._place_order
        while True:
            while not active:
                seg.wake = env.event()
                yield seg.wake
            before = env._now
            t = warp.advance(before, gap() * mean / len(active))
            yield Wakeup(env, t)
            n = len(active)
            if n:
                place(seg, active[int(pick() * n)] if n > 1 else active[0], env._now)

    def _surged_renewal_arrivals(self, seg: _Segment) -> Any:
        """The initial customers of a renewal (non-Poisson) segment under a demand surge:
        as :meth:`~servicesim.model.customers.CustomersMixin._renewal_arrivals`, each
        customer's drawn gap spent at the surged rate (:class:`TimeWarp`): the customer's
        clock runs ``factor`` times faster while the surge lasts."""
        env = self.env
        warp = self.surges[seg.index]
        heap = seg.heap
        gap = seg.interval
        for c in range(seg.n_customers):
            heap.append((warp.advance(0.0, gap()), c))
        heapq.heapify(heap)
        stockouts = seg.stockouts
        while heap:
            t, c = heap[0]
            yield Wakeup(env, t)
            heapq.heappop(heap)
            if stockouts[c] >= 0:  # -1 marks a defected customer
                now = env._now
                self._place_order(seg, c, now)
                heapq.heappush(heap, (warp.advance(now, gap()), c))

    def _surged_renewal_customer(self, seg: _Segment, c: int) -> Any:
        """An acquired customer of a renewal segment (bound in place of
        :meth:`~servicesim.model.customers.CustomersMixin._renewal_customer` when a
        renewal segment has a surge): its gaps spent at the surged rate, if any."""
        env, gap, stockouts = self.env, seg.interval, seg.stockouts
        warp = self.surges.get(seg.index)
        while True:
            if warp is None:
                yield env.timeout(gap())
            else:
                yield Wakeup(env, warp.advance(env._now, gap()))
            if stockouts[c] < 0:
                return
            self._place_order(seg, c, env.now)

    def _run_totals(self) -> tuple[int, int]:
        """Customers' units ordered and units short at the first attempt since time 0 (the
        window's counters and what the warm-up's reset carried)."""
        units = short = 0
        for seg in self.segments:
            units += seg.units
            short += seg.units_short
        carried = self.tot_units_before
        return carried + units, carried - self.tot_first_before + short

    def _daily_counts(self, days: int) -> Any:
        """At the end of every day, book the units ordered and short since the day before:
        one event a day instead of work per order.  An order books its units when it is
        placed, so a day holds the orders placed in it.  The run stops at the horizon before
        an event due then, so :meth:`_book_day` books the last day when it finishes."""
        env = self.env
        for day in range(days - 1):
            yield env.timeout(day + 1 - env.now)
            self._book_day()

    def _book_day(self) -> None:
        """The next day's units ordered and short: the run's totals now less those booked."""
        units, short = self._run_totals()
        before_units, before_short = self.day_totals
        day = self.day_booked
        self.day_units[day] = units - before_units
        self.day_short[day] = short - before_short
        self.day_booked, self.day_totals = day + 1, (units, short)

    def _process_disrupted(self, now: float) -> float:
        """Order processing under capacity losses: as
        :meth:`~servicesim.model.fulfilment.FulfilmentMixin._process`, the drawn time being
        work done at the capacity left (:class:`TimeWarp`) from the start of processing."""
        service = self.proc_time()
        warp = self.capacity
        assert warp is not None
        servers = self.servers
        if servers is None:
            return warp.advance(now, service)
        start = heapq.heappop(servers)
        if start < now:
            start = now
        done = warp.advance(start, service)
        heapq.heappush(servers, done)
        self.proc_n += 1
        wait = start - now
        if wait > 0.0:
            self.proc_waited += 1
            self.proc_wait_sum += wait
        self.proc_sojourn_sum += done - now
        self.proc_busy += done - start
        return done

    def _ship_after_closure(self, st: _Stock, units: int, ordered: float, now: float) -> None:
        """An internal shipment on a closed lane leaves when the closure ends."""
        up = st.upstream
        assert up is not None
        windows = self.lane_windows.get(f"{up.location}->{st.location}")
        depart = now if windows is None else closed_until(windows, now)
        if depart == now:
            NetworkMixin._ship(self, st, units, ordered, now)  # type: ignore[arg-type]
            return

        def leave(_: Any) -> None:
            NetworkMixin._ship(self, st, units, ordered, self.env.now)  # type: ignore[arg-type]

        Wakeup(self.env, depart).callbacks.append(leave)

    def _finish_disruptions(self, result: ReplicationResult) -> None:
        """Put the daily series, the events' records and their figures on ``result``."""
        if not self.daily_on:
            return
        if self.day_booked < len(self.day_units):  # the last day (see _daily_counts)
            self._book_day()
        daily = DailySeries(np.array(self.day_units, dtype=float),
                            np.array(self.day_short, dtype=float))
        result.daily = daily
        if not self.scenario.disruptions:  # only asked for the daily series
            return
        rates = daily.trailing_fill_rate(RECOVERY_WINDOW_DAYS)
        result.disruptions = [recovery(w.name, w.kind, w.start, w.end, rates, daily,
                                       self.horizon) for w in self.windows]
        # in every run of a scenario with disruptions (0 when no random event came), so
        # that its replications have the same figures
        result.details["disruption_events"] = float(len(self.windows))
        result.details["disruption_days"] = float(sum(
            min(w.end, self.horizon) - w.start for w in self.windows))
