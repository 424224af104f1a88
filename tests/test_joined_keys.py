"""Swept keys joined with ``+`` and keys with a ``*`` part (DOMAIN §7: targets searched per
echelon): how they expand, their errors, and that a sweep of a joined key runs exactly what
setting every part by ``--set`` runs."""

from __future__ import annotations

import copy
import csv
from pathlib import Path
from typing import Any

import pytest
import yaml

from servicesim.errors import ScenarioError
from servicesim.experiment.optimize import optimize
from servicesim.experiment.params import apply_params, check_disjoint, key_parts
from servicesim.experiment.sweep import sweep
from servicesim.experiment.today import own_params
from servicesim.outputs.charts.common import param_label, param_name
from servicesim.scenario.overrides import with_overrides
from servicesim.scenario.schema import Scenario

NETWORK: dict[str, Any] = yaml.safe_load("""\
name: two-branches
run: {horizon_days: 150, warmup_days: 20, replications: 2, seed: 11}
policy: {type: base_stock, service_target: 0.9}
skus:
  a: {unit_cost: 10, price: 15}
  b: {unit_cost: 4, price: 7}
segments:
  north_shops:
    customers: 10
    order_interval_days: {type: exponential, mean: 2.0}
    reactions: {backorder: 0.5, switch: 0.5}
    location: north
  south_shops:
    customers: 10
    order_interval_days: {type: exponential, mean: 3.0}
    reactions: {backorder: 1.0}
    location: south
supplier: {lead_time_days: 4}
locations:
  dc: {}
  north:
    replenished_from: dc
    lane: {transit_days: 1.0}
  south:
    replenished_from: dc
    lane: {transit_days: 2.0}
    policy: {service_target: 0.95}
""")
"""A DC and two branches with targets derived from the scenario's policy: runs in ms."""

BASE = Scenario.model_validate(NETWORK)
TARGETS = "locations.north.policy.service_target+locations.south.policy.service_target"


@pytest.mark.parametrize(("key", "expected"), [
    ("locations.*.policy.service_target",
     [f"locations.{n}.policy.service_target" for n in ("dc", "north", "south")]),
    ("segments.*.reactions.backorder",
     ["segments.north_shops.reactions.backorder", "segments.south_shops.reactions.backorder"]),
    ("skus.*.unit_cost", ["skus.a.unit_cost", "skus.b.unit_cost"]),
    (f"{TARGETS}+locations.*.policy.service_target",  # repeated parts count once
     [f"locations.{n}.policy.service_target" for n in ("north", "south", "dc")]),
    ("policy.service_target", ["policy.service_target"]),
])
def test_parts_are_expanded_in_the_scenario_order(key: str, expected: list[str]) -> None:
    assert key_parts(BASE, key) == expected


def test_a_star_key_sets_every_location() -> None:
    changed = apply_params(BASE, {"locations.*.policy.service_target": 0.97})
    assert changed.locations is not None
    assert {n: loc.policy.service_target for n, loc in changed.locations.items()} == {
        "dc": 0.97, "north": 0.97, "south": 0.97}


@pytest.mark.parametrize(("key", "where", "words"), [
    ("run.*", "run.*", "run is not a mapping of names"),
    ("*.policy", "*", "the scenario's top level is not a mapping of names"),
    ("locations.north.policy.*", "locations.north.policy.*", "not a mapping of names"),
    (f"{TARGETS}++policy.service_target", None, "an empty part"),
])
def test_a_bad_part_is_named(key: str, where: str | None, words: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        key_parts(BASE, key)
    (problem,) = caught.value.problems
    assert words in problem.message
    assert problem.key_path == (where or key)
    assert key.split("+")[0] in (problem.origin or "")


def test_a_star_over_no_entries_says_so() -> None:
    data = copy.deepcopy(NETWORK)
    del data["locations"]
    for segment in data["segments"].values():
        del segment["location"]
    with pytest.raises(ScenarioError, match="locations has no entries in the scenario"):
        key_parts(Scenario.model_validate(data), "locations.*.policy.service_target")


def test_an_unknown_name_in_one_part_is_the_usual_message() -> None:
    key = "locations.north.policy.service_target+locations.sooth.policy.service_target"
    with pytest.raises(ScenarioError) as caught:
        apply_params(BASE, {key: 0.9})
    (problem,) = caught.value.problems
    assert problem.key_path == "locations.sooth"
    assert "did you mean south?" in problem.message
    assert problem.origin == "--param locations.sooth.policy.service_target=0.9"


def test_two_keys_setting_one_field_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="set by two swept keys") as caught:
        check_disjoint(BASE, ["locations.*.policy.service_target",
                              "locations.dc.policy.service_target"])
    assert caught.value.problems[0].key_path == "locations.dc.policy.service_target"
    with pytest.raises(ScenarioError, match="set by two swept keys"):
        sweep(BASE, ["locations.*.policy.service_target=0.9,0.95",
                     "locations.dc.policy.service_target=0.8"], out_dir=tmp_path)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _figures(row: dict[str, str], keys: list[str]) -> dict[str, str]:
    return {k: v for k, v in row.items() if k not in ("alternative", *keys)}


def test_a_joined_sweep_runs_what_set_runs_bit_for_bit(tmp_path: Path) -> None:
    values = (0.85, 0.97)
    joined = sweep(BASE, [f"{TARGETS}={values[0]},{values[1]}"], workers=1,
                   out_dir=tmp_path / "joined")
    rows = _rows(joined.directory / "runs.csv")
    assert TARGETS in rows[0]  # the column is the key as written
    for alternative, value in enumerate(values):
        set_both = with_overrides(BASE, [f"{part}={value}" for part in TARGETS.split("+")])
        alone = sweep(set_both, [], workers=1, out_dir=tmp_path / f"set{alternative}")
        expected = [_figures(r, []) for r in _rows(alone.directory / "runs.csv")]
        got = [_figures(r, [TARGETS]) for r in rows if r["alternative"] == str(alternative)]
        assert [r.pop("seed", None) for r in got] == [r.pop("seed", None) for r in expected]
        assert got == expected
        assert all(float(r[TARGETS]) == value for r in rows
                   if r["alternative"] == str(alternative))


def test_a_star_sweep_resumes_and_keeps_its_key_as_the_column(tmp_path: Path) -> None:
    key = "locations.*.policy.service_target"
    first = sweep(BASE, [f"{key}=0.9,0.95"], workers=1, out_dir=tmp_path)
    assert first.n_simulations == 4
    again = sweep(BASE, [f"{key}=0.9,0.95"], workers=1, out_dir=tmp_path, resume=True)
    assert again.n_simulations == 0
    # rows compared as text: a location serving no customers has NaN figures (NaN != NaN)
    assert [repr(r) for r in again.runs] == [repr(r) for r in first.runs]
    assert key in _rows(first.directory / "runs.csv")[0]


def test_optimize_searches_a_joined_key(tmp_path: Path) -> None:
    result = optimize(BASE, [f"{TARGETS}=0.8:0.9"], replications=2, max_replications=2,
                      resolution=0.05, workers=1, out_dir=tmp_path)
    assert set(result.best) >= {TARGETS}
    assert result.best[TARGETS] in (0.8, 0.85, 0.9)


def test_today_of_a_joined_key_needs_one_value_for_every_part() -> None:
    assert own_params(BASE, ["locations.north.policy.service_target"]) == {
        "locations.north.policy.service_target": 0.9}  # inherited from the scenario's policy
    assert own_params(BASE, [TARGETS]) == {TARGETS: None}  # north 0.9, south 0.95
    same = apply_params(BASE, {"locations.south.policy.service_target": 0.9})
    assert own_params(same, ["locations.*.policy.service_target"]) == {
        "locations.*.policy.service_target": 0.9}


@pytest.mark.parametrize(("key", "name"), [
    (TARGETS, "service target at north, south"),
    ("locations.*.policy.service_target", "service target at every location"),
    ("locations.dc.policy.service_target", "service target at dc"),
    ("segments.*.reactions.backorder", "backorder share of every segment"),
    ("skus.a.policy.service_target+skus.b.policy.service_target", "service target of a, b"),
    ("locations.dc.policy.service_target+supplier.lead_time_days",
     "service target at dc + lead time"),
])
def test_joined_keys_read_as_words(key: str, name: str) -> None:
    assert param_name(key) == name


def test_a_joined_target_axis_is_in_percent() -> None:
    assert param_label(TARGETS, [0.9, 0.95]) == "Service target at north, south (%)"


def test_report_tables_name_whose_targets_a_joined_key_sets() -> None:
    from servicesim.outputs.formatting import param_label as table_label

    assert table_label(TARGETS) == "Fill-rate target at north, south"
    assert table_label("locations.*.policy.service_target") == "Fill-rate target at every location"
    assert table_label("skus.A.policy.service_target") == "Fill-rate target A"
