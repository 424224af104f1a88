"""The sweep engine: parameter parsing, grids, validated alternatives, identical rows."""

from __future__ import annotations

import pytest

from servicesim.errors import ScenarioError
from servicesim.experiment.engine import alternatives, execute, grid, make_tasks, parse_param
from servicesim.scenario.schema import Scenario

BASE = Scenario.model_validate({
    "name": "eng", "run": {"horizon_days": 120, "warmup_days": 10},
    "skus": {"A": {}}, "policy": {"service_target": 0.9},
    "segments": {"s": {"customers": 10, "order_interval_days": {"type": "exponential",
                                                                  "mean": 1.0},
                       "reactions": {"backorder": 0.5, "switch": 0.5}}},
})


def test_range_is_inclusive_and_exact() -> None:
    p = parse_param("policy.service_target=0.80:0.995:0.005")
    assert p.key == "policy.service_target"
    assert len(p.values) == 40 and p.values[0] == 0.8 and p.values[-1] == 0.995
    assert p.values[3] == 0.815  # no floating-point drift
    assert parse_param("policy.order_up_to=3:9:2").values == (3, 5, 7, 9)


def test_lists_are_yaml_values() -> None:
    assert parse_param("policy.type=sQ, sS").values == ("sQ", "sS")
    assert parse_param("run.horizon_days=100,200").values == (100, 200)


@pytest.mark.parametrize("text, message", [
    ("policy.service_target", "expects KEY=VALUES"),
    ("policy.service_target=", "no values"),
    ("policy.service_target=0.9:0.8:0.01", "range is empty"),
    ("policy.service_target=0.8:0.9:0", "step must be > 0"),
    ("policy.service_target=0.8:x:0.1", "must be numbers"),
    ("policy.service_target=0.8:0.9", "start:stop:step"),
    ("policy.service_target=0.8,,0.9", "empty value"),
])
def test_malformed_params_are_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message) as info:
        parse_param(text)
    assert "--param" in str(info.value)


def test_unknown_keys_and_out_of_bounds_values_are_named() -> None:
    with pytest.raises(ScenarioError) as info:
        alternatives(BASE, [parse_param("policy.service_targt=0.9")])
    assert "policy.service_targt" in str(info.value) and "service_target" in str(info.value)
    with pytest.raises(ScenarioError) as info:
        alternatives(BASE, [parse_param("policy.service_target=0.9:1.1:0.1")])
    text = str(info.value)
    assert "policy.service_target" in text and "1.0" in text and "must be < 1" in text


def test_grid_is_the_full_product() -> None:
    g = grid([parse_param("a=1,2"), parse_param("b=x,y,z")])
    assert g[0] == {"a": 1, "b": "x"} and g[-1] == {"a": 2, "b": "z"} and len(g) == 6
    with pytest.raises(ScenarioError, match="swept twice"):
        grid([parse_param("a=1"), parse_param("a=2")])


def test_rows_identical_serial_and_processes_with_common_seeds() -> None:
    alts = alternatives(BASE, [parse_param("policy.service_target=0.7,0.95")])
    tasks = make_tasks(alts, 3, root_seed=4)
    serial = execute(tasks, workers=1)
    parallel = execute(tasks, workers=2)
    assert repr(serial) == repr(parallel)
    assert [(r["alternative"], r["replication"]) for r in serial] == \
        [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert serial[0]["policy.service_target"] == 0.7
    # common random numbers: replication r of both alternatives uses the same seed, so
    # the better-stocked alternative fills at least as well on each paired replication
    for r in range(3):
        assert serial[3 + r]["item_fill_rate"] >= serial[r]["item_fill_rate"]


def test_linked_keys_move_together() -> None:
    base = BASE.model_dump()
    base["skus"]["B"] = {}
    sc = Scenario.model_validate(base)
    (assignment, alt), = alternatives(
        sc, [parse_param("skus.A.policy.service_target+skus.B.policy.service_target=0.8")])
    assert alt.sku_policy("A").service_target == 0.8 == alt.sku_policy("B").service_target
    assert assignment == {"skus.A.policy.service_target+skus.B.policy.service_target": 0.8}


def test_reaction_mixes_can_be_swept_as_a_yaml_list() -> None:
    p = parse_param("segments.s.reactions=[{backorder: 1}, {switch: 0.5, defect: 0.5}]")
    assert p.values == ({"backorder": 1}, {"switch": 0.5, "defect": 0.5})
    alts = alternatives(BASE, [p])
    assert alts[1][1].segments["s"].reactions.defect == 0.5
    assert alts[0][1].segments["s"].reactions.switch == 0.0  # unset keys take defaults
    with pytest.raises(ScenarioError, match="sum to 1"):
        alternatives(BASE, [parse_param("segments.s.reactions=[{wait: 0.5}]")])


@pytest.mark.parametrize("text", ["run.seed=1,2,3", "run.replications=2:6:2",
                                  "run.seed+policy.service_target=[1, 2]"])
def test_seeds_and_replications_cannot_be_swept(text: str) -> None:
    """Every alternative runs the same replications from the same seeds: sweeping them
    would label rows with values they were not run with, so it is refused."""
    with pytest.raises(ScenarioError, match="cannot differ between alternatives"):
        alternatives(BASE, [parse_param(text)])


@pytest.mark.parametrize("text", ["other seed:run.seed=5",
                                  "more:run.replications=20,policy.service_target=0.9"])
def test_seeds_and_replications_cannot_be_a_variant(text: str) -> None:
    from servicesim.experiment.compare import Variant, apply_variant, parse_variant
    from servicesim.scenario.overrides import Override

    with pytest.raises(ScenarioError, match="run.* cannot differ"):
        parse_variant(text)
    label, _, change = text.partition(":")
    key, _, value = change.split(",")[0].partition("=")
    with pytest.raises(ScenarioError, match="cannot differ between alternatives"):
        apply_variant(BASE, Variant(label, (Override(key, value, "--set-variant"),)))


def test_a_worker_collects_after_long_runs_or_once_it_has_grown(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from servicesim.experiment import engine

    collections: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda: collections.append(1) or 0)
    memory = {"now": 100 * 2**20}
    collector = engine.Collector(resident=lambda: memory["now"])
    assert not collector.after_run(0.1)  # short run, nothing grown: the floor is set
    memory["now"] += engine.COLLECT_AFTER_GROWTH_BYTES - 1
    assert not collector.after_run(0.1)
    memory["now"] += 1  # grown by the limit since the floor
    assert collector.after_run(0.1) and len(collections) == 1
    assert collector.floor == memory["now"]
    assert collector.after_run(engine.COLLECT_AFTER_SECONDS)  # a long run always
    assert len(collections) == 2
    blind = engine.Collector(resident=lambda: None)  # no /proc: long runs only
    assert not blind.after_run(0.1) and blind.after_run(engine.COLLECT_AFTER_SECONDS)
