"""Loading scenarios: good files load; every kind of bad input is reported so a planner can
fix it (file, line, key path, bad value, what is allowed), and hostile input fails fast."""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicesim import errors
from servicesim.errors import NOT_SET, Problem, ScenarioError
from servicesim.inputs import scenario_file
from servicesim.inputs.scenario_file import load_scenario
from servicesim.scenario import validation
from servicesim.scenario.distributions import DISTRIBUTION_TYPES, Constant, Gamma
from servicesim.scenario.overrides import Override, with_overrides
from servicesim.scenario.schema import Scenario, Sku
from servicesim.scenario.serialise import MAX_NODES, dump_scenario
from servicesim.scenario.validation import scenario_from_dict

GOOD = """\
name: retail-demo
description: two SKUs, two segments
run: {horizon_days: 365, warmup_days: 30, replications: 5, seed: 7}
policy: {type: sQ, service_target: 0.95}
skus:
  FAST: {unit_cost: 10, price: 15}
  SLOW:
    unit_cost: 40
    price: 70
    policy: {service_target: 0.9}
segments:
  retail:
    customers: 50
    order_interval_days: {type: exponential, mean: 5}
    reactions: {wait: 0.15, backorder: 0.0, switch: 0.76, defect: 0.09}
  b2b:
    customers: 5
    order_interval_days: {type: gamma, mean: 10, std: 4}
    units_per_line: {type: poisson, mean: 4}
    reactions: {backorder: 0.7, switch: 0.3}
supplier:
  lead_time_days: {type: normal, mean: 7, std: 2}
  cost_per_order: 50
"""

MINIMAL = {"name": "t", "skus": {"A": {}},
           "segments": {"s": {"customers": 5,
                              "order_interval_days": {"type": "exponential", "mean": 1.0}}}}


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path, overrides: tuple[str | Override, ...] = ()) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return info.value


def bad_file(tmp_path: Path, replace: str, by: str, name: str = "scenario.yaml") -> Path:
    """GOOD with one fragment replaced (which must occur exactly once)."""
    assert GOOD.count(replace) == 1
    return write(tmp_path, GOOD.replace(replace, by), name)


def line_of(path: Path, fragment: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if fragment in line)


# ------------------------------------------------------------------------- good input


def test_good_scenario_loads(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, GOOD))
    assert isinstance(scenario, Scenario)
    assert scenario.name == "retail-demo"
    assert list(scenario.skus) == ["FAST", "SLOW"]
    assert scenario.segments["b2b"].reactions.backorder == 0.7
    assert scenario.supplier.lead_time_days.std == 2
    assert scenario.run.horizon_days == 365


def test_minimal_dict_and_path_objects(tmp_path: Path) -> None:
    scenario = scenario_from_dict(MINIMAL)
    assert scenario.skus["A"].unit_cost == 10.0
    path = write(tmp_path, dump_scenario(scenario))
    assert load_scenario(str(path)) == load_scenario(path) == scenario


def test_utf8_bom_and_merge_keys_are_accepted(tmp_path: Path) -> None:
    text = """\ufeffname: merged
skus:
  A: &base {unit_cost: 2, price: 3}
  B: {<<: *base, price: 4}
segments: {s: {customers: 1, order_interval_days: 1}}
"""
    path = tmp_path / "bom.yaml"
    path.write_text(text, encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.skus["B"].unit_cost == 2 and scenario.skus["B"].price == 4
    assert scenario.segments["s"].order_interval_days == Constant(value=1.0)


# ------------------------------------------------------------- bad input: one by one


def test_unknown_key_names_line_path_allowed_keys_and_suggestion(tmp_path: Path) -> None:
    path = bad_file(tmp_path, "FAST: {unit_cost: 10,", "FAST: {untis_cost: 10,")
    error = problems_of(path)
    assert len(error.problems) == 1
    problem = error.problems[0]
    assert problem.key_path == "skus.FAST.untis_cost"
    assert problem.line == line_of(path, "untis_cost")
    text = str(error)
    assert text.startswith(f"{path}:{problem.line}: skus.FAST.untis_cost: unknown key; "
                           "allowed keys here: unit_cost, price, holding_rate_per_year")
    assert "did you mean unit_cost?" in text


def test_unknown_top_level_and_distribution_keys(tmp_path: Path) -> None:
    path = bad_file(tmp_path, "supplier:\n", "suplier: {}\nsupplier:\n")
    path2 = bad_file(tmp_path, "order_interval_days: {type: exponential, mean: 5}",
                     "order_interval_days: {type: exponential, meen: 5}", "other.yaml")
    text = str(problems_of(path))
    assert "suplier: unknown key; allowed keys here: name, description, run" in text
    assert "did you mean supplier?" in text
    text2 = str(problems_of(path2))
    assert "segments.retail.order_interval_days.meen: unknown key; allowed keys here: " \
           "type, mean; did you mean mean?" in text2
    # the hidden 'discrete' field is not advertised as a key
    assert "discrete" not in text2


@pytest.mark.parametrize(("replace", "by", "path", "expected"), [
    ("price: 15}", "price: abc}", "skus.FAST.price", "value abc: expected a number"),
    ("customers: 50", "customers: 2.5", "segments.retail.customers",
     "value 2.5: expected an integer, got a number with a fractional part"),
    ("customers: 50", "customers: many", "segments.retail.customers",
     "value many: expected an integer"),
    ("cost_per_order: 50", "cost_per_order:", "supplier.cost_per_order",
     "value null: expected a number (the value is empty)"),
    ("type: sQ", "type: SQ", "policy.type",
     "value SQ: expected one of sQ, sS, RS, base_stock, RsS; did you mean sQ?"),
    ("cost_per_order: 50", "cost_per_order: [50]", "supplier.cost_per_order",
     "value [50]: expected a number"),
    ("seed: 7}", "seed: 7.5}", "run.seed", "value 7.5: expected an integer"),
    ("lead_time_days: {type: normal, mean: 7, std: 2}", "lead_time_days: soon",
     "supplier.lead_time_days", "value soon: a distribution is a number (a constant) or a "
     "mapping with a type, e.g. {type: exponential, mean: 2.5}; allowed types: constant"),
])
def test_wrong_types_say_what_was_expected(tmp_path: Path, replace: str, by: str, path: str,
                                           expected: str) -> None:
    file = bad_file(tmp_path, replace, by)
    error = problems_of(file)
    assert len(error.problems) == 1, str(error)
    assert str(error).startswith(f"{file}:{line_of(file, by)}: {path}: {expected}")


def test_reactions_not_summing_to_one(tmp_path: Path) -> None:
    path = bad_file(tmp_path, "reactions: {wait: 0.15, backorder: 0.0, switch: 0.76, defect: 0.09}",
                    "reactions: {wait: 0.2, switch: 0.7}")
    error = problems_of(path)
    assert str(error) == (
        f"{path}:{line_of(path, 'wait: 0.2')}: segments.retail.reactions: "
        "value {wait: 0.2, switch: 0.7}: wait + backorder + switch + defect must sum to 1, "
        "got 0.9")


def test_long_values_are_elided(tmp_path: Path) -> None:
    path = bad_file(tmp_path, "reactions: {wait: 0.15, backorder: 0.0, switch: 0.76, defect: 0.09}",
                    "reactions: {wait: 0.2000000001, backorder: 0.1000000001, "
                    "switch: 0.3000000001, defect: 0.3000000001}")
    text = str(problems_of(path))
    assert "value {wait: 0.2000000001, backorder: 0.1000000001, ...}:" in text
    assert "must sum to 1, got 0.9" in text


@pytest.mark.parametrize(("replace", "by", "path", "expected"), [
    ("FAST: {unit_cost: 10,", "FAST: {unit_cost: -10,", "skus.FAST.unit_cost",
     "value -10: must be >= 0 (cannot be negative)"),
    ("cost_per_order: 50", "cost_per_order: -0.5", "supplier.cost_per_order",
     "value -0.5: must be >= 0 (cannot be negative)"),
    ("lead_time_days: {type: normal, mean: 7, std: 2}", "lead_time_days: -3",
     "supplier.lead_time_days", "value -3: a time cannot be negative (got -3)"),
    ("lead_time_days: {type: normal, mean: 7, std: 2}",
     "lead_time_days: {type: uniform, low: -1, high: 3}", "supplier.lead_time_days",
     "value {type: uniform, low: -1, high: 3}: a time cannot be negative (low = -1)"),
    ("warmup_days: 30", "warmup_days: -30", "run.warmup_days",
     "value -30: must be >= 0 (cannot be negative)"),
    ("warmup_days: 30", "warmup_days: 400", "run",
     "must be less than horizon_days (365)"),
])
def test_negative_times_and_costs(tmp_path: Path, replace: str, by: str, path: str,
                                  expected: str) -> None:
    file = bad_file(tmp_path, replace, by)
    error = problems_of(file)
    assert len(error.problems) == 1, str(error)
    (problem,) = error.problems
    assert problem.key_path == path
    assert problem.line == line_of(file, by)
    assert str(error).startswith(f"{file}:{problem.line}: {path}: ")
    assert expected in str(error)


def test_unknown_distribution_type_lists_the_types(tmp_path: Path) -> None:
    path = bad_file(tmp_path, "{type: gamma, mean: 10, std: 4}", "{type: gama, mean: 10, std: 4}")
    error = problems_of(path)
    (problem,) = error.problems
    assert problem.key_path == "segments.b2b.order_interval_days.type"
    assert problem.value == "gama"
    assert problem.line == line_of(path, "type: gama")
    text = str(error)
    assert f"allowed types: {', '.join(DISTRIBUTION_TYPES)}" in text
    assert "did you mean gamma?" in text
    assert "value gama:" in text


def test_distribution_missing_parameter_and_type(tmp_path: Path) -> None:
    path = bad_file(tmp_path, "{type: gamma, mean: 10, std: 4}", "{type: gamma, mean: 10}")
    assert "segments.b2b.order_interval_days.std: missing; a gamma distribution needs " \
           "mean, std" in str(problems_of(path))
    path = bad_file(tmp_path, "{type: gamma, mean: 10, std: 4}", "{mean: 10, std: 4}")
    text = str(problems_of(path))
    assert "segments.b2b.order_interval_days: value {mean: 10, std: 4}: a distribution" in text
    assert "allowed types: constant, exponential" in text


def test_invalid_names_and_yaml_booleans(tmp_path: Path) -> None:
    path = bad_file(tmp_path, "SLOW:\n", "NO:\n")
    text = str(problems_of(path))
    assert f":{line_of(path, 'NO:')}: skus.false: value false: not a valid name" in text
    assert "put the name in quotes" in text
    path = bad_file(tmp_path, "name: retail-demo", "name: retail demo!")
    assert "name: value retail demo!: not a valid name; a name starts with a letter" in \
        str(problems_of(path))


def test_currency_is_an_iso_code(tmp_path: Path) -> None:
    good = write(tmp_path, GOOD + "finance: {currency: USD}\n")
    assert load_scenario(good).finance.currency == "USD"
    assert load_scenario(write(tmp_path, GOOD, "plain.yaml")).finance.currency is None
    path = write(tmp_path, GOOD + "finance: {currency: euro}\n", "bad.yaml")
    (problem,) = problems_of(path).problems
    assert problem.key_path == "finance.currency" and problem.value == "euro"
    assert "not a currency code; use a three-letter ISO 4217 code" in str(problem)


def test_cross_checks_point_at_the_key(tmp_path: Path) -> None:
    path = bad_file(tmp_path, "    customers: 5\n", "    customers: 5\n    sku_weights: {FAST: 1, "
                    "MEDIUM: 2}\n")
    error = problems_of(path)
    (problem,) = error.problems
    assert problem.key_path == "segments.b2b.sku_weights"
    assert problem.line == line_of(path, "sku_weights")
    assert problem.value == {"FAST": 1, "MEDIUM": 2}
    assert "names unknown SKU(s) MEDIUM; known SKUs: FAST, SLOW" in str(error)


def test_duplicate_keys_are_reported(tmp_path: Path) -> None:
    path = bad_file(tmp_path, "  cost_per_order: 50\n", "  cost_per_order: 50\n"
                    "  cost_per_order: 60\n")
    (problem,) = problems_of(path).problems
    first = line_of(path, "cost_per_order: 50")
    assert problem.line == first + 1
    assert problem.key_path == "supplier.cost_per_order"
    assert f"duplicate key (also at line {first})" in str(problem)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("FAST: {unit_cost: 10,", "FAST: {untis_cost: 10,")
    text = text.replace("price: 70", "price: lots")
    text = text.replace("switch: 0.76", "switch: 0.5")
    text = text.replace("{type: gamma,", "{type: gama,")
    text = text.replace("cost_per_order: 50", "cost_per_order: -5")
    path = write(tmp_path, text)
    error = problems_of(path)
    lines = str(error).splitlines()
    assert len(lines) == len(error.problems) == 5
    for fragment, line in zip(["untis_cost", "price: lots", "switch: 0.5", "type: gama",
                               "cost_per_order"], lines, strict=True):
        assert line.startswith(f"{path}:{line_of(path, fragment)}: "), line
    # sorted by line number
    assert [p.line for p in error.problems] == sorted(p.line for p in error.problems)


# ------------------------------------------------------------------ bad files and YAML


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert str(problems_of(path)) == f"{path}: file not found"


def test_directory_and_special_files(tmp_path: Path) -> None:
    assert str(problems_of(tmp_path)) == f"{tmp_path}: is a directory, not a scenario file"
    if Path("/dev/zero").exists():
        assert "not a regular file" in str(problems_of(Path("/dev/zero")))


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: t\ndescription: caf\xe9\n".encode("latin-1"))
    assert str(problems_of(path)) == (
        f"{path}:2: not UTF-8 text (byte 0xe9 cannot be decoded); save the file as UTF-8")


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = bad_file(tmp_path, "    customers: 50\n", "    customers: 50\n   bad: [1, 2\n")
    error = problems_of(path)
    (problem,) = error.problems
    assert problem.line is not None and problem.line >= line_of(path, "bad: [1, 2")
    assert str(error).startswith(f"{path}:{problem.line}: YAML syntax error at column ")


def test_tabs_get_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "name: t\nskus:\n\tA: {}\n")
    assert str(problems_of(path)).startswith(f"{path}:3: YAML syntax error at column 1: ")
    assert "use spaces" in str(problems_of(path))


@pytest.mark.parametrize(("text", "expected"), [
    ("", "the top level must be a mapping of keys (name:, skus:, segments:, ...), but it "
         "is empty"),
    ("# only a comment\n", "but it is empty"),
    ("- a\n- b\n", "but it is a list"),
    ("just text\n", "but it is a single value (just text)"),
    ("a: 1\n---\nb: 2\n", "but found another document"),
    ("name: !!python/object/apply:os.system ['echo hi']\n",
     "only plain YAML data is allowed"),
    ("name: a\x07b\n", "unacceptable character"),
    ("skus: {[1, 2]: {}}\n", "found unhashable key"),
    ("x: *nowhere\n", "found undefined alias"),
])
def test_not_a_scenario_document(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(text, encoding="utf-8")
    message = str(problems_of(path))
    assert message.startswith(str(path))
    assert expected in message


def test_alias_bomb_fails_fast(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    path = write(tmp_path, "\n".join(lines) + "\nname: bomb\n")
    start = time.perf_counter()
    error = problems_of(path)
    assert time.perf_counter() - start < 2.0
    assert str(error) == (f"{path}: the document is too large: more than {MAX_NODES:,} YAML "
                          "nodes once aliases (*name) are expanded; a scenario needs far fewer")


def test_merge_key_bomb_fails_fast(tmp_path: Path) -> None:
    lines = ["m0: &m0 {k0: 1, k1: 1, k2: 1, k3: 1, k4: 1, k5: 1, k6: 1, k7: 1}"]
    lines += [f"m{i}: &m{i} {{<<: [{', '.join([f'*m{i - 1}'] * 10)}]}}" for i in range(1, 8)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    start = time.perf_counter()
    assert "too large" in str(problems_of(path))
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("levels", [51, 100_000])
def test_deep_nesting_fails_fast(tmp_path: Path, levels: int) -> None:
    path = write(tmp_path, "x: " + "[" * levels + "]" * levels + "\n")
    start = time.perf_counter()
    assert str(problems_of(path)) == f"{path}: the document nests deeper than 50 levels"
    assert time.perf_counter() - start < 2.0


def test_deep_alias_nesting_counts(tmp_path: Path) -> None:
    # 30 levels, aliased inside 30 more: deeper than 50 once expanded
    inner = "[" * 30 + "]" * 30
    path = write(tmp_path, f"a: &a {inner}\nb: {'[' * 30}*a{']' * 30}\n")
    assert "nests deeper than 50 levels" in str(problems_of(path))
    # ... whereas 20 + 20 is fine as YAML (and then fails as a scenario, not as a bomb)
    path = write(tmp_path, f"a: &a {'[' * 20}{']' * 20}\nb: {'[' * 20}*a{']' * 20}\n")
    assert "nests deeper" not in str(problems_of(path))


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "x: &a [1, *a]\n")
    assert "the alias *a refers to a mapping or list that contains it" in str(problems_of(path))


def test_file_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, GOOD)
    monkeypatch.setattr(scenario_file, "MAX_FILE_BYTES", 100)
    assert "file is too large" in str(problems_of(path))
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (5 * 1024 * 1024 + 1))
    monkeypatch.undo()
    assert str(problems_of(big)) == f"{big}: file is too large (5.0 MB; the limit is 5 MB)"


# -------------------------------------------------------------------------- overrides


def test_overrides_parse_yaml_values(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    scenario = load_scenario(path, [
        "run.horizon_days=400",
        "segments.retail.reactions={wait: 0.1, switch: 0.9}",
        "policy.service_target=0.99",
        "skus.SLOW.policy.service_target=null",
        "supplier.lead_time_days={type: gamma, mean: 3, std: 1}",
        "outbound.expedite.enabled=true",  # creates outbound: and expedite:
        "segments.b2b.patience_days.mean=5",  # starts from the default exponential
    ])
    assert scenario.run.horizon_days == 400
    assert scenario.segments["retail"].reactions.wait == 0.1
    assert scenario.segments["retail"].reactions.defect == 0.0  # replaced as a whole
    assert scenario.policy.service_target == 0.99
    assert scenario.skus["SLOW"].policy.service_target is None
    assert scenario.supplier.lead_time_days == Gamma(mean=3, std=1)
    assert scenario.outbound.expedite.enabled is True
    assert scenario.segments["b2b"].patience_days.mean == 5
    # the file itself is not changed
    assert load_scenario(path).run.horizon_days == 365


def test_override_sub_key_of_a_distribution(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    scenario = load_scenario(path, ["supplier.lead_time_days.std=3",
                                    Override("run.seed", "99", "--seed")])
    assert scenario.supplier.lead_time_days.std == 3
    assert scenario.supplier.lead_time_days.mean == 7
    assert scenario.run.seed == 99
    path = bad_file(tmp_path, "lead_time_days: {type: normal, mean: 7, std: 2}",
                    "lead_time_days: 4")
    assert load_scenario(path, ["supplier.lead_time_days.value=6"]).supplier.lead_time_days \
        == Constant(value=6)


def test_override_names_with_dots(tmp_path: Path) -> None:
    path = bad_file(tmp_path, "SLOW:\n", "SLOW.2:\n")
    scenario = load_scenario(path, ["skus.SLOW.2.price=99"])
    assert scenario.skus["SLOW.2"].price == 99


def test_override_unknown_key(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    error = problems_of(path, ("skus.FAST.untis_cost=3",))
    assert str(error) == (
        f"{path} (--set skus.FAST.untis_cost=3): skus.FAST.untis_cost: unknown key; "
        f"allowed keys here: {', '.join(validation._model_keys(Sku))}; "
        "did you mean unit_cost?")
    error = problems_of(path, ("skus.MEDIUM.price=3", "run.horizon_days.max=3", "bogus"))
    lines = str(error).splitlines()
    assert len(lines) == 3
    assert lines[0] == (f"{path} (--set skus.MEDIUM.price=3): skus.MEDIUM: no such entry in "
                        "the scenario; existing keys here: FAST, SLOW")
    assert lines[1].endswith("run.horizon_days: is a single value; it has no sub-key 'max'")
    assert "--set expects KEY=VALUE" in lines[2]


def test_override_bad_values(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    error = problems_of(path, ("run.horizon_days=abc", "segments.retail.reactions.wait=0.5"))
    text = str(error)
    assert f"{path} (--set run.horizon_days=abc): run.horizon_days: value abc: expected a " \
           "number" in text
    # the reactions line is in the file, so both the line and the option are named
    line = line_of(path, "reactions: {wait: 0.15")
    assert f"{path}:{line} (--set segments.retail.reactions.wait=0.5): " \
           "segments.retail.reactions: value {wait: 0.5, " in text
    assert "must sum to 1, got 1.35" in text
    error = problems_of(path, (Override("run.replications", "0", "--replications"),))
    assert str(error) == (f"{path} (--replications 0): run.replications: value 0: "
                          "must be >= 1")
    error = problems_of(path, ("run.seed=[1,",))
    assert str(error).startswith(f"{path} (--set run.seed=[1,): run.seed: value '[1,': "
                                 "cannot read the value as YAML")


def test_override_window_check_names_the_option(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    error = problems_of(path, (Override("run.horizon_days", "20", "--horizon-days"),))
    (problem,) = error.problems
    assert problem.origin == "--horizon-days 20"
    assert "warmup_days (30) must be less than horizon_days (20)" in str(error)


# ---------------------------------------------------------------- API and round trips


def test_scenario_from_dict_errors() -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({**MINIMAL, "skus": {"A": {"price": -1}}, "segments": {}},
                           source="api")
    assert str(info.value).splitlines() == [
        "api: skus.A.price: value -1: must be >= 0 (cannot be negative)",
        "api: segments: value {}: must have at least 1 entry",
    ]
    with pytest.raises(ScenarioError, match="but it is a list"):
        scenario_from_dict([1, 2])  # type: ignore[arg-type]


def test_scenario_error_pickles_and_problem_fields(tmp_path: Path) -> None:
    path = bad_file(tmp_path, "price: 15}", "price: abc}")
    error = problems_of(path)
    again = pickle.loads(pickle.dumps(error))
    assert str(again) == str(error)
    assert again.problems[0].value == "abc"
    missing = Problem("f.yaml", "a.b", NOT_SET, "missing; this key is required", 3)
    assert str(missing) == "f.yaml:3: a.b: missing; this key is required"
    assert str(Problem("f.yaml", "a", None, "expected a number")) == \
        "f.yaml: a: value null: expected a number"


def test_dump_load_round_trip(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, GOOD), [
        "segments.retail.units_per_line={type: empirical, values: [1, 2, 5], "
        "probabilities: [0.5, 0.3, 0.2]}",
        "skus.FAST.supplier={lead_time_days: {type: lognormal, mean: 3, std: 1}}",
        "description=caf\u00e9 \u2013 \u03b2",
        "segments.b2b.sku_weights={SLOW: 1}",
    ])
    text = dump_scenario(scenario)
    assert yaml.safe_load(text) == scenario.model_dump(mode="json")
    again = load_scenario(write(tmp_path, text, "dumped.yaml"))
    assert again == scenario
    assert dump_scenario(again) == text


names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,8}", fullmatch=True)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sku_names=st.lists(names, min_size=1, max_size=3, unique=True),
    price=st.floats(0, 1e9, allow_nan=False),
    mean=st.floats(1e-3, 1e3, allow_nan=False),
    wait=st.floats(0, 1, allow_nan=False),
    target=st.floats(0.01, 0.99),
)
def test_round_trip_property(tmp_path: Path, sku_names: list[str], price: float, mean: float,
                             wait: float, target: float) -> None:
    data = {
        "name": "prop",
        "policy": {"service_target": target},
        "skus": {name: {"price": price} for name in sku_names},
        "segments": {"s": {"order_interval_days": {"type": "exponential", "mean": mean},
                           "reactions": {"wait": wait, "switch": 1 - wait}}},
    }
    scenario = scenario_from_dict(data)
    path = write(tmp_path, dump_scenario(scenario), "prop.yaml")
    assert load_scenario(path) == scenario


# The loader never fails with anything but a ScenarioError, whatever the document.
keys = st.sampled_from(["name", "skus", "segments", "run", "policy", "supplier", "type",
                        "mean", "A", "s", "reactions", "wait", "price", "<<", "value", "x"])
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**20),
                    st.floats(allow_nan=True), st.text(max_size=6))
documents = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                     st.dictionaries(keys, inner, max_size=4)),
    max_leaves=20)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=st.dictionaries(keys, documents, max_size=5),
       overrides=st.lists(st.tuples(st.lists(keys, min_size=1, max_size=3), scalars),
                          max_size=2))
def test_loader_only_raises_scenario_error(tmp_path: Path, document: dict, overrides: list
                                           ) -> None:
    path = write(tmp_path, yaml.safe_dump(document), "fuzz.yaml")
    sets = [f"{'.'.join(parts)}={yaml.safe_dump(value, default_flow_style=True).strip()}"
            .removesuffix("\n...") for parts, value in overrides]
    try:
        load_scenario(path, sets)
    except ScenarioError as exc:
        assert str(exc)
        assert all(str(path) in str(p) for p in exc.problems)


def test_whole_scenario_check_names_the_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    error = problems_of(path, ("policy.type=RS",))
    (problem,) = error.problems
    assert problem.key_path == "skus.FAST.policy"
    assert problem.line == line_of(path, "FAST:")  # policy: is not in the file; FAST: is
    assert problem.value is NOT_SET
    assert problem.origin == "with --set policy.type=RS"
    assert str(problem).endswith("merged with policy: type RS needs review_period_days")


def test_a_bare_string_override_is_one_override(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    assert load_scenario(path, "run.seed=3").run.seed == 3  # type: ignore[arg-type]


def test_show_value_elides_long_collections() -> None:
    assert errors.show_value(list(range(10**6))).endswith(", ...]")
    assert errors.show_value("no") == "'no'"  # quoted: YAML would read it as false
    assert errors.show_value({"a": {"b": [1, None]}}) == "{a: {b: [1, null]}}"


# ------------------------------------------------- --set values: the file's reader and rules

@pytest.mark.parametrize(("value", "expected"), [
    (".inf", "value .inf: expected a finite number (not .inf or .nan)"),
    ("1e999", "value 1e999: expected a finite number (not .inf or .nan)"),
    ("1.0e999", "value 1.0e999: expected a finite number (not .inf or .nan)"),
    ("nan", "value nan: expected a finite number (not .inf or .nan)"),
    ("-1", "value -1: must be > 0"),
    ("!!python/object/apply:os.system ['true']", "cannot read the value as YAML: YAML error at "
     "column 1: could not determine a constructor for the tag"),
    ("&a [*a]", "cannot read the value as YAML: the alias *a refers to a mapping or list "
     "that contains it"),
    ("9" * 5000, "cannot read the value as YAML: YAML error at column 1: a whole number of "
     "5,000 characters is too long (at most 100)"),
    ("!!int abc", "cannot read the value as YAML: YAML error at column 1: abc is not a whole "
     "number"),
    ("2020-13-45", "looks like a date but is not one (month must be in 1..12)"),
    ("x" * (10 * 2**20), "cannot read the value as YAML: the text is too long (10,485,760 "
     "characters; the limit is 5,242,880)"),
])
def test_set_values_meet_the_files_rules(tmp_path: Path, value: str, expected: str) -> None:
    path = write(tmp_path, GOOD)
    start = time.perf_counter()
    message = str(problems_of(path, (f"run.horizon_days={value}",)))
    assert time.perf_counter() - start < 5.0
    assert message.startswith(f"{path} (--set run.horizon_days=")
    assert ": run.horizon_days: value " in message
    assert expected in message
    assert len(message) < 1_000  # a 10 MB value is not echoed back


def test_the_same_value_in_the_file_gives_the_same_message(tmp_path: Path) -> None:
    from_set = problems_of(write(tmp_path, GOOD), ("run.horizon_days=.inf",)).problems[0]
    in_file = problems_of(bad_file(tmp_path, "horizon_days: 365", "horizon_days: .inf",
                                   "inf.yaml")).problems[0]
    assert (from_set.key_path, from_set.message) == (in_file.key_path, in_file.message)


def test_problem_messages_are_bounded_and_printable(tmp_path: Path) -> None:
    skus = "".join(f"  S{i}: 1\n" for i in range(200))
    path = write(tmp_path, f"name: t\nskus:\n{skus}segments: {{s: {{}}}}\n")
    error = problems_of(path)
    assert len(error.problems) == 200
    lines = str(error).splitlines()
    assert len(lines) == errors.MAX_PROBLEMS_SHOWN + 1
    assert lines[-1] == "... and 150 more problems (fix the ones above first)"
    odd = write(tmp_path, 'name: t\nskus: {"A\\e[31m": {}}\nsegments: {s: {}}\n', "odd.yaml")
    assert "\x1b" not in str(problems_of(odd)) and '"A\\e[31m"' in str(problems_of(odd))
    named = tmp_path / "a\x1b[31mb.yaml"  # a file name that would colour the terminal
    assert str(problems_of(named)) == f"{tmp_path}/a\\x1b[31mb.yaml: file not found"


# ------------------------------------------------------------- keys a policy does not use

RS_ACCEPTS = ("it accepts review_period_days, order_up_to, first_review_day, service_target, "
              "service_metric, lead_time_demand, critical_level, critical_level_fraction")


def test_a_key_the_policy_does_not_use_is_named_with_what_it_accepts(tmp_path: Path) -> None:
    path = bad_file(tmp_path, "policy: {type: sQ, service_target: 0.95}",
                    "policy: {type: RS, review_period_days: 7, reorder_point: 5}")
    (problem,) = problems_of(path).problems
    assert problem.key_path == "policy.reorder_point"
    assert problem.line == line_of(path, "reorder_point")
    assert problem.value == 5
    assert problem.message == f"RS does not use reorder_point; {RS_ACCEPTS}"


def test_a_sku_override_is_checked_against_the_skus_policy(tmp_path: Path) -> None:
    path = bad_file(tmp_path, "policy: {service_target: 0.9}", "policy: {order_up_to: 9}")
    (problem,) = problems_of(path).problems  # the scenario-wide policy is sQ
    assert problem.key_path == "skus.SLOW.policy.order_up_to"
    assert problem.line == line_of(path, "order_up_to")
    assert problem.message.startswith("sQ does not use order_up_to; it accepts "
                                      "reorder_point, order_quantity, service_target")
    # with its own type, the SKU may use that type's keys (and only those)
    fine = bad_file(tmp_path, "policy: {service_target: 0.9}",
                    "policy: {type: RsS, review_period_days: 7, order_up_to: 9}", "fine.yaml")
    assert load_scenario(fine).sku_policy("SLOW").type == "RsS"
    path = bad_file(tmp_path, "policy: {service_target: 0.9}",
                    "policy: {type: base_stock, review_period_days: 7}", "bad.yaml")
    (problem,) = problems_of(path).problems
    assert problem.key_path == "skus.SLOW.policy.review_period_days"
    assert problem.message.startswith("base_stock does not use review_period_days")


def test_an_override_that_changes_the_type_meets_the_check(tmp_path: Path) -> None:
    path = bad_file(tmp_path, "policy: {type: sQ, service_target: 0.95}",
                    "policy: {type: sQ, service_target: 0.95, order_quantity: 30}")
    (problem,) = problems_of(path, ("policy.type=RS", "policy.review_period_days=7")).problems
    assert problem.key_path == "policy.order_quantity"
    assert problem.message.startswith("RS does not use order_quantity")
    # keys at their defaults say nothing: a scenario written out in full reads back
    scenario = load_scenario(path, ("policy.type=RsS", "policy.review_period_days=7"))
    assert with_overrides(scenario, ["run.seed=4"]).policy == scenario.policy


@pytest.mark.parametrize("policy_type", ["sQ", "sS", "RS", "base_stock", "RsS"])
def test_every_policy_type_reads_back_from_its_full_dump(tmp_path: Path,
                                                         policy_type: str) -> None:
    data = {**MINIMAL, "policy": {"type": policy_type, "review_period_days": 7.0}
            if policy_type in ("RS", "RsS") else {"type": policy_type}}
    scenario = scenario_from_dict(data)
    again = load_scenario(write(tmp_path, dump_scenario(scenario)))
    assert again == scenario
