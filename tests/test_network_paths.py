"""A network's fast paths (DOMAIN §7): the Poisson segments of every location share one
arrival process that places orders without an event-queue round trip, and lines take the
fast path; the figures, per location too, are those of the plain SimPy path."""

from __future__ import annotations

import pytest
import yaml

from servicesim.model.simulation import ServiceModel, simulate
from servicesim.model.stock import _Stock
from servicesim.scenario.schema import Scenario
from test_network import NETWORK


def test_fast_paths_of_a_network_give_the_same_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    data = yaml.safe_load(NETWORK)
    data["run"]["horizon_days"] = 800
    # customers at the DC too, and a lost-sales segment: three locations' segments merged
    data["segments"]["walk_in"] = {
        "customers": 3, "order_interval_days": {"type": "exponential", "mean": 2.0},
        "reactions": {"switch": 0.6, "wait": 0.4}, "location": "dc"}
    sc = Scenario.model_validate(data)
    fast = simulate(sc, 4)
    monkeypatch.setattr(ServiceModel, "_LOOKAHEAD", False)
    monkeypatch.setattr(_Stock, "fast_lines", False)
    slow = simulate(sc, 4)
    assert fast.by_location.keys() == slow.by_location.keys() == set(data["locations"])
    for location, row in fast.by_location.items():
        for key, value in row.items():
            assert value == pytest.approx(slow.by_location[location][key], rel=1e-9,
                                          abs=1e-9, nan_ok=True), (location, key)
    for key in (*fast.kpis, *fast.details):
        x = fast.kpis.get(key, fast.details.get(key))
        y = slow.kpis.get(key, slow.details.get(key))
        assert x == pytest.approx(y, rel=1e-9, abs=1e-9, nan_ok=True), key
    assert fast.by_location["dc"]["units_demanded"] > 0  # the DC's customers did order
