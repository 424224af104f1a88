"""Fuzzing the scenario reader: hostile documents load or fail with a ScenarioError.

Every generated document -- a shipped scenario mutated key by key, random YAML made of
anchors, aliases, tags and merge keys, raw bytes in odd encodings, alias bombs, hostile
``--set`` values and command lines -- must either load to a :class:`Scenario` or raise a
:class:`ScenarioError` whose message names the file and is printable, within a bounded time
and memory: never another exception, a hang or runaway memory.  The command line must
answer the same documents with exit code 0 or 2 and no traceback.

Loading only (nothing is simulated), derandomised so CI is stable.  ``CASES`` counts the
cases run; ``test_zz_fuzz_case_count`` checks and prints the total.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import re
import resource
import shutil
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicesim.cli import main
from servicesim.errors import ScenarioError
from servicesim.inputs.scenario_file import load_scenario
from servicesim.scenario.schema import Scenario

SCENARIO_DIR = Path(__file__).parent.parent / "scenarios"
ALL_SCENARIOS = sorted(SCENARIO_DIR.glob("*.yaml"))
ALL_DOCS = {p: yaml.safe_load(p.read_text(encoding="utf-8")) for p in ALL_SCENARIOS}
# scenarios with an item master (items:) take a fifth of a second to load: fuzzed apart
SCENARIOS = [p for p in ALL_SCENARIOS if "items" not in ALL_DOCS[p]]
ITEM_SCENARIOS = [p for p in ALL_SCENARIOS if "items" in ALL_DOCS[p]]
SEED_TEXTS = [p.read_text(encoding="utf-8") for p in SCENARIOS]
SEED_DOCS = [ALL_DOCS[p] for p in SCENARIOS]
SMALL = min(SCENARIOS, key=lambda p: p.stat().st_size)

SECONDS_PER_CASE = 10.0  # generous: the machine is shared; a hang takes minutes
CASES: Counter[str] = Counter()
EXPECTED = {"items": 20, "large": 40, "mutated": 1000, "yaml_text": 1800, "bytes": 700,
            "bombs": 40, "set_values": 400, "cli_documents": 150, "cli_argv": 150,
            "item_files": 200, "special_files": 6, "options": 200}

FUZZ = settings(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.large_base_example])
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch folder with a copy of the scenarios' data (item masters, histories)."""
    path = tmp_path_factory.mktemp("fuzz")
    if (SCENARIO_DIR / "data").is_dir():
        shutil.copytree(SCENARIO_DIR / "data", path / "data")
    return path


def check_load(path: Path, overrides: tuple[str, ...] = ()) -> Scenario | ScenarioError:
    """Load ``path``: a Scenario or a readable ScenarioError naming the file, quickly."""
    start = time.perf_counter()
    try:
        result: Scenario | ScenarioError = load_scenario(path, overrides)
    except ScenarioError as exc:
        result = exc
        text = str(exc)
        assert exc.problems, "a ScenarioError lists its problems"
        # each problem names the scenario file or a file it references (an item master)
        files = {p.file for p in exc.problems}
        assert all(f == str(path) or Path(f).parent.is_relative_to(path.parent)
                   for f in files), files
        assert text.startswith(tuple(files)), text[:300]
        assert not CONTROL.search(text), repr(text[:300])
        assert len(text) < 200_000
        assert "Traceback" not in text
    assert time.perf_counter() - start < SECONDS_PER_CASE
    if isinstance(result, Scenario):
        assert result.skus and result.segments
    return result


# ----------------------------------------------------------------- mutated documents

HOSTILE_SCALARS = st.sampled_from([
    math.inf, -math.inf, math.nan, 1e308, -1e308, 5e-324, 0, -1, -0.5, 10**30, -(10**30),
    2**63, 2**64, 10**99, "", "yes", "no", "null", "~", "1e999", ".inf", "-.nan", "0x10",
    "1_000", "12:30:00", "2020-13-45", "../../etc/passwd", "/abs/path", "CON", "a\tb",
    "é", "x" * 101, True, False, None])


def _nest(depth: int, leaf: Any) -> Any:
    for level in range(depth):
        leaf = [leaf] if level % 2 else {"k": leaf}
    return leaf


HOSTILE_VALUES = st.one_of(
    HOSTILE_SCALARS,
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.text(max_size=20),
    st.lists(st.one_of(st.integers(-5, 5), st.floats(-2, 2), st.text(max_size=3)), max_size=5),
    st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=4)),
                    max_size=4),
    st.builds(_nest, st.integers(5, 80), HOSTILE_SCALARS),  # deep nesting
)
LARGE_VALUES = st.one_of(  # fuzzed apart, in fewer cases: each takes a while to load
    st.builds(lambda n: list(range(n)), st.integers(1_000, 20_000)),  # a huge list
    st.builds(lambda n: {f"S{i}": {} for i in range(n)}, st.integers(100, 2_000)),
    st.builds(lambda n: "x" * n, st.integers(10_000, 2_000_000)),  # a long string
)

def mutations(values: st.SearchStrategy[Any], most: int = 4) -> st.SearchStrategy[Any]:
    return st.lists(st.tuples(
        st.sampled_from(["delete", "rename", "replace", "replace", "wrap", "as_text",
                         "as_dict"]),
        st.integers(min_value=0, max_value=10**6), values,
        st.one_of(st.text(max_size=12), st.integers(-3, 3), st.none(), st.booleans())),
        min_size=1, max_size=most)


MUTATIONS = mutations(HOSTILE_VALUES)


def dump(doc: Any, **options: Any) -> str:
    """YAML text of ``doc`` (libyaml's emitter where there is one: megabytes in a blink)."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(doc, Dumper=dumper, **options)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node[:50]):
            found += _paths(value, (*path, index))
    return found


def mutate(doc: Any, mutations: list[tuple[str, int, Any, Any]]) -> Any:
    """Apply each mutation at a node of ``doc`` chosen by index (the root included)."""
    for kind, index, value, name in mutations:
        paths = _paths(doc)
        path = paths[index % len(paths)]
        if not path:  # the root
            doc = value if kind == "replace" else [doc] if kind == "wrap" else doc
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        if kind == "delete":
            del parent[key]
        elif kind == "rename" and isinstance(parent, dict):
            parent[name] = parent.pop(key)
        elif kind == "replace":
            parent[key] = value
        elif kind == "wrap":
            parent[key] = [parent[key]]
        elif kind == "as_text":
            parent[key] = str(parent[key])[:1000]
        elif kind == "as_dict":
            parent[key] = {"value": parent[key]}
    return doc


@settings(FUZZ, max_examples=EXPECTED["mutated"])
@given(seed=st.sampled_from(range(len(SEED_DOCS))), mutations=MUTATIONS,
       flow=st.booleans())
def test_mutated_scenarios_load_or_fail_cleanly(folder: Path, seed: int,
                                                 mutations: list[Any], flow: bool) -> None:
    CASES["mutated"] += 1
    doc = mutate(copy.deepcopy(SEED_DOCS[seed]), mutations)
    path = folder / "mutated.yaml"
    path.write_text(dump(doc, default_flow_style=flow, allow_unicode=True),
                    encoding="utf-8")
    check_load(path)


@pytest.mark.skipif(not ITEM_SCENARIOS, reason="no scenario with an items: section")
@settings(FUZZ, max_examples=EXPECTED["items"])
@given(seed=st.sampled_from(range(max(len(ITEM_SCENARIOS), 1))), mutations=MUTATIONS)
def test_item_master_sections_load_or_fail_cleanly(folder: Path, seed: int,
                                                   mutations: list[Any]) -> None:
    """The items: section (an item master and history referenced by path), mutated."""
    CASES["items"] += 1
    doc = copy.deepcopy(ALL_DOCS[ITEM_SCENARIOS[seed]])
    doc["items"] = mutate(doc["items"], mutations)
    path = folder / "items.yaml"
    path.write_text(dump(doc, allow_unicode=True), encoding="utf-8")
    check_load(path)


@settings(FUZZ, max_examples=EXPECTED["large"])
@given(seed=st.sampled_from(range(len(SEED_DOCS))),
       mutations=mutations(LARGE_VALUES, most=1))
def test_large_values_load_or_fail_cleanly(folder: Path, seed: int,
                                           mutations: list[Any]) -> None:
    """Huge lists, thousands of SKUs and megabyte strings anywhere in a scenario."""
    CASES["large"] += 1
    path = folder / "large.yaml"
    path.write_text(dump(mutate(copy.deepcopy(SEED_DOCS[seed]), mutations)),
                    encoding="utf-8")
    check_load(path)


# ------------------------------------------------------------------ random YAML text

TOKENS = [
    "a", "b", "name", "skus", "segments", "run", "horizon_days", "policy", ":", ": ", " ",
    "\n", "\n  ", "\n    ", "- ", "[", "]", "{", "}", ", ", "&a ", "&b ", "*a", "*b",
    "<<: ", "<<: *a", "!!python/object:os.system ", "!!python/object/apply:os.system ['x'] ",
    "!!python/name:builtins.eval ", "!!binary ", "!!set ", "!!omap ", "!!pairs ", "!!str ",
    "!!int ", "!!float ", "!!timestamp ", "!!map ", "!!seq ", "!custom ", "!<tag:x> ", "? ",
    "|\n  ", ">\n  ", "'", '"', "# c", "---\n", "...\n", "%YAML 1.1\n", "%TAG !e! tag:e,2000:\n",
    "1", "-1", "0.5", ".inf", "-.inf", ".nan", "1e999", "1.0e999", "0x1F", "0o17", "0b101",
    "1:20:30", "2020-01-01", "2020-13-45", "2001-12-14t21:59:43.10-05:00", "~", "null",
    "true", "no", "\t", "\x00", "\x07", "\x85", "\u2028", "\ufeff", "é", "\U0001F600",
    "9" * 150, "1" + ":0" * 60, "x" * 300,
]


@settings(FUZZ, max_examples=EXPECTED["yaml_text"])
@given(tokens=st.lists(st.sampled_from(TOKENS), max_size=60),
       prefix=st.sampled_from(["", SEED_TEXTS[0], "name: x\nskus: {A: {}}\nsegments: {s: {}}\n"]))
def test_random_yaml_text_loads_or_fails_cleanly(folder: Path, tokens: list[str],
                                                 prefix: str) -> None:
    CASES["yaml_text"] += 1
    path = folder / "tokens.yaml"
    path.write_text(prefix + "".join(tokens), encoding="utf-8", errors="surrogatepass")
    check_load(path)


# ------------------------------------------------------------- bytes and encodings

def _encoded(text: str, encoding: str) -> bytes:
    return text.replace("baseline", "bäseline é").encode(encoding, errors="replace")


BYTES = st.one_of(
    st.binary(max_size=2_000),
    st.builds(_encoded, st.sampled_from(SEED_TEXTS),
              st.sampled_from(["latin-1", "utf-16", "utf-16-le", "utf-16-be", "utf-32",
                               "cp1252", "utf-8-sig", "utf-8"])),
)


@settings(FUZZ, max_examples=EXPECTED["bytes"])
@given(data=BYTES, splices=st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=1,
                                                                        max_size=8)),
                                    max_size=3),
       cut=st.one_of(st.none(), st.floats(0, 1)))
def test_bytes_and_encodings_load_or_fail_cleanly(folder: Path, data: bytes,
                                                  splices: list[tuple[float, bytes]],
                                                  cut: float | None) -> None:
    CASES["bytes"] += 1
    for where, piece in splices:  # NUL and other bytes anywhere
        at = int(where * len(data))
        data = data[:at] + piece + data[at:]
    if cut is not None:
        data = data[: int(cut * len(data))]
    path = folder / "bytes.yaml"
    path.write_bytes(data)
    result = check_load(path)
    if isinstance(result, ScenarioError) and data.startswith((b"\xff\xfe", b"\xfe\xff")):
        assert "UTF-8" in str(result)


# ------------------------------------------------------------------------ alias bombs

@settings(FUZZ, max_examples=EXPECTED["bombs"])
@given(width=st.integers(2, 30), levels=st.integers(2, 14),
       style=st.sampled_from(["list", "map", "merge"]),
       where=st.sampled_from(["top", "description", "sku", "distribution"]))
def test_alias_bombs_are_bounded_before_anything_is_built(
        folder: Path, width: int, levels: int, style: str, where: str) -> None:
    CASES["bombs"] += 1
    if style == "list":
        lines = [f"b0: &b0 [{', '.join(['lol'] * width)}]"]
        lines += [f"b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * width)}]" for i in range(1, levels)]
    elif style == "map":
        lines = [f"b0: &b0 {{{', '.join(f'k{j}: lol' for j in range(width))}}}"]
        lines += [f"b{i}: &b{i} {{{', '.join(f'k{j}: *b{i - 1}' for j in range(width))}}}"
                  for i in range(1, levels)]
    else:  # merge keys: each level merges the one below under new keys
        lines = [f"b0: &b0 {{{', '.join(f'k{j}: 1' for j in range(width))}}}"]
        lines += [f"b{i}: &b{i} {{<<: *b{i - 1}, "
                  f"{', '.join(f'l{i}x{j}: *b{i - 1}' for j in range(width))}}}"
                  for i in range(1, levels)]
    last = f"*b{levels - 1}"
    body = "\n".join(lines)
    document = {
        "top": f"{body}\nname: bomb\n",
        "description": "anchors:\n" + "".join(f"  {line}\n" for line in lines)
                       + f"description: {last}\n",
        "sku": "x:\n" + "".join(f"  {line}\n" for line in lines)
               + f"skus: {{A: {{policy: {last}}}}}\nsegments: {{s: {{}}}}\n",
        "distribution": "x:\n" + "".join(f"  {line}\n" for line in lines)
                        + f"skus: {{A: {{}}}}\nsegments: {{s: {{units_per_line: {last}}}}}\n",
    }[where]
    path = folder / "bomb.yaml"
    path.write_text(document, encoding="utf-8")
    tracemalloc.start()
    try:
        start = time.perf_counter()
        result = check_load(path)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(result, ScenarioError)
    assert elapsed < 5.0
    assert peak < 150e6, f"{peak / 1e6:.0f} MB"
    expanded = width ** levels  # at least this many nodes once every alias is expanded
    if expanded > 10**6:
        assert "too large" in str(result) or "nests deeper" in str(result), str(result)


def test_an_alias_bomb_never_reaches_the_composer(monkeypatch: pytest.MonkeyPatch,
                                                  folder: Path) -> None:
    """The bound acts on the parser's events: a bomb is refused before one node is built."""
    from servicesim.scenario import serialise as load

    built = []
    monkeypatch.setattr(load._LineLoader, "get_single_node",
                        lambda self: built.append(1), raising=True)
    lines = ["b0: &b0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = folder / "composer.yaml"
    path.write_text("\n".join(lines), encoding="utf-8")
    assert "too large" in str(check_load(path))
    assert built == []


def test_the_pure_python_parser_is_bounded_too() -> None:
    """Where PyYAML lacks libyaml, the same events come from its Python parser."""
    from servicesim.scenario import serialise as load

    lines = ["b0: &b0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 10)}]" for i in range(1, 9)]
    start = time.perf_counter()
    with pytest.raises(ScenarioError, match="too large"):
        load._parse_yaml("\n".join(lines), "bomb.yaml", loader=load._PureLineLoader)
    with pytest.raises(ScenarioError, match="nests deeper than 50"):
        load._parse_yaml("[" * 5000 + "]" * 5000, "deep.yaml", loader=load._PureLineLoader)
    assert load._parse_yaml("a: &x {k: 1}\nb: {<<: *x, m: 2}", "ok.yaml",
                            loader=load._PureLineLoader).data == {
        "a": {"k": 1}, "b": {"k": 1, "m": 2}}
    assert time.perf_counter() - start < 5.0


# ----------------------------------------------------------------------- --set values

SET_KEYS = st.sampled_from([
    "run.horizon_days", "run.replications", "run.seed", "name", "description", "policy",
    "policy.service_target", "skus", "segments", "supplier.lead_time_days",
    "supplier.lead_time_days.mean", "run", "finance.days_per_year", "nope", "run.nope.x", ""])
SET_VALUES = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=12).map("".join),
    st.sampled_from([".inf", "-.inf", ".nan", "nan", "1e999", "-1", "0", "1" * 120,
                     "&a [*a]", "&a {x: *a}", "!!python/object/apply:os.system ['true']",
                     "{<<: [1]}", "[" * 60 + "]" * 60]),
    st.text(max_size=40),
    st.builds(lambda n: "x" * n, st.integers(100_000, 6 * 2**20)),
)


@settings(FUZZ, max_examples=EXPECTED["set_values"])
@given(key=SET_KEYS, value=SET_VALUES)
def test_set_values_load_or_fail_like_the_file(key: str, value: str) -> None:
    CASES["set_values"] += 1
    result = check_load(SMALL, (f"{key}={value}",))
    if isinstance(result, ScenarioError) and key and "=" not in key:
        assert "--set" in str(result)


# ----------------------------------------------------------------------- the CLI


def run_cli(argv: list[str]) -> tuple[int, str]:
    err, out = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(argv)
    assert time.perf_counter() - start < SECONDS_PER_CASE
    return code, err.getvalue()


@settings(FUZZ, max_examples=EXPECTED["cli_documents"])
@given(seed=st.sampled_from(range(len(SEED_DOCS))), mutations=MUTATIONS,
       command=st.sampled_from(["validate", "run", "sweep", "optimize", "compare"]))
def test_cli_answers_hostile_documents_with_exit_2(folder: Path, seed: int,
                                                   mutations: list[Any], command: str) -> None:
    CASES["cli_documents"] += 1
    path = folder / "cli.yaml"
    path.write_text(dump(mutate(copy.deepcopy(SEED_DOCS[seed]), mutations)),
                    encoding="utf-8")
    loaded = check_load(path)
    if isinstance(loaded, Scenario) and command != "validate":
        command = "validate"  # a valid scenario would be simulated: loading is the point
    argv = {"validate": ["validate", str(path)],
            "run": ["run", str(path), "--out", str(folder / "out")],
            "sweep": ["sweep", str(path), "--param", "policy.service_target=0.9,0.95",
                      "--out", str(folder / "out"), "--workers", "1"],
            "optimize": ["optimize", str(path), "--out", str(folder / "out"), "--workers",
                         "1"],
            "compare": ["compare", str(path), "--set-variant",
                        "b:policy.service_target=0.9", "--out",
                        str(folder / "out"), "--workers", "1"]}[command]
    code, err = run_cli(argv)
    assert code == (0 if isinstance(loaded, Scenario) else 2), err
    assert "Traceback" not in err
    if code == 2:
        assert err.startswith("servicesim: error: ")


ARGV_TOKENS = st.sampled_from([
    "run", "sweep", "optimize", "compare", "validate", "plot", "report", "--set", "--param",
    "--id", "--out", "--seed", "--replications", "--horizon-days", "--workers", "--bounds",
    "--scheduler-timeout", "--format", "--set-variant", "--json", "--quiet", "--resume",
    "--allow-large", "x=1", "run.horizon_days=.inf", "policy.service_target=0:1:0",
    "../../x", "/", "CON", "a\x00b", "-1", "0", "nan", "1e999", "abc", "", "missing.yaml",
    "policy.service_target", "png,exe", "\udce9"])


@settings(FUZZ, max_examples=EXPECTED["cli_argv"])
@given(argv=st.lists(ARGV_TOKENS, max_size=8))
def test_cli_answers_hostile_command_lines_with_exit_2(argv: list[str]) -> None:
    CASES["cli_argv"] += 1
    code, err = run_cli(argv)
    assert code in (0, 2), err
    assert "Traceback" not in err


# ------------------------------------------------------------------- item files

ITEM_SCENARIO = """\
name: fuzz_items
items: {master: items.csv, history: history.csv}
run: {horizon_days: 60, warmup_days: 10, replications: 2}
segments: {retail: {customers: 20}, trade: {customers: 5}}
"""
MASTER_HEADER = ["sku", "unit_cost", "price", "holding_rate_per_year", "lead_time_mean_days",
                 "lead_time_std_days", "lines_per_day", "units_per_line_mean",
                 "units_per_line_std", "abc_class", "xyz_class", "order_quantity"]
HISTORY_HEADER = ["date", "sku", "quantity", "segment", "customer"]
HOSTILE_CELLS = st.one_of(
    st.sampled_from(["", " ", "0", "-1", "1e308", "-1e308", "1e999", "nan", "inf", "1,5",
                     "1e7", "10000000", "1000001", "99999999999999999999", "2025-02-30",
                     "9999-12-31", "0001-01-01", "=cmd|' /C calc'!A0", '"', '""', "\x00",
                     "A" * 10_000, "BOLT", "retail", "trade", "X", "Z", "0.5", "3"]),
    st.integers(-10**12, 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=20))


def _good_item_rows() -> tuple[list[list[str]], list[list[str]]]:
    master = [["BOLT", "1.5", "2", "0.25", "7", "2", "", "", "", "", "", ""],
              ["PUMP", "600", "800", "0.3", "", "", "0.5", "1", "", "", "", ""]]
    history = [[f"2025-01-{day:02d}", "BOLT", str(1 + day % 4),
                "retail" if day % 3 else "trade", f"C{day % 5}"] for day in range(1, 29)]
    return master, history


def _csv(header: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    def cell(value: str) -> str:
        if any(c in value for c in (delimiter, '"', "\n", "\r")):
            return '"' + value.replace('"', '""') + '"'
        return value
    return "\n".join(delimiter.join(map(cell, row)) for row in [header, *rows]) + "\n"


@settings(FUZZ, max_examples=EXPECTED["item_files"])
@given(master_edits=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 14), HOSTILE_CELLS),
                             max_size=6),
       history_edits=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 6), HOSTILE_CELLS),
                              max_size=6),
       extra_columns=st.integers(0, 3), delimiter=st.sampled_from([",", ";", "\t"]),
       excel=st.booleans())
def test_item_files_load_or_fail_cleanly(folder: Path, master_edits: list[Any],
                                         history_edits: list[Any], extra_columns: int,
                                         delimiter: str, excel: bool) -> None:
    """Hostile cells, rows and columns in an item master and a demand history: the
    scenario loads or fails naming the file, row and column, within the time budget."""
    CASES["item_files"] += 1
    master, history = _good_item_rows()
    for table, edits, width in ((master, master_edits, len(MASTER_HEADER)),
                                (history, history_edits, len(HISTORY_HEADER))):
        for row, column, value in edits:
            while len(table) <= min(row, len(table)):
                table.append([""] * width)
            cells = table[min(row, len(table) - 1)]
            cells.extend([""] * (column + 1 - len(cells)))
            cells[column] = value.replace("\x00", "")
    extra = [f"extra{i}" for i in range(extra_columns)]
    case = folder / "item_files"
    case.mkdir(exist_ok=True)
    master_name = "items.xlsx" if excel else "items.csv"
    if excel:
        import openpyxl

        book = openpyxl.Workbook()
        for row in [MASTER_HEADER + extra, *master]:
            book.active.append([CONTROL.sub("", cell) for cell in row])
        book.save(case / master_name)
    else:
        (case / master_name).write_text(_csv(MASTER_HEADER + extra, master, delimiter),
                                        encoding="utf-8", errors="surrogatepass")
    (case / "history.csv").write_text(_csv(HISTORY_HEADER, history, delimiter),
                                      encoding="utf-8", errors="surrogatepass")
    path = case / "scenario.yaml"
    path.write_text(ITEM_SCENARIO.replace("items.csv", master_name), encoding="utf-8")
    check_load(path)


def _special_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """Files that are not regular files, or unpack to far more than their size."""
    import os
    import zipfile

    case = folder / "special"
    case.mkdir(exist_ok=True)
    fifo = case / "fifo.csv"
    if not fifo.exists():
        os.mkfifo(fifo)
    link = case / "zero.csv"
    if not link.exists():
        link.symlink_to("/dev/zero")
    (case / "folder.csv").mkdir(exist_ok=True)
    bomb = case / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            block = b"<row><c><v>1</v></c></row>" * 40_000
            for _ in range(600 * 2**20 // len(block) + 1):
                sheet.write(block)
    wide = case / "wide.csv"
    wide.write_text("sku" + ",x" * 2_000_000 + "\n", encoding="utf-8")
    return {"/dev/zero": (Path("/dev/zero"), "is a device, not a regular file"),
            "fifo": (fifo, "is a FIFO (named pipe), not a regular file"),
            "symlink to /dev/zero": (link, "is a device, not a regular file"),
            "directory": (case / "folder.csv", "is a directory, not a table"),
            "xlsx zip bomb": (bomb, "the workbook unpacks to 600 MB"),
            "two million columns": (wide, "too many columns: 2,000,001 in the header row")}


def test_special_item_files_are_refused_before_reading(folder: Path) -> None:
    for name, (target, expected) in _special_files(folder).items():
        CASES["special_files"] += 1
        path = folder / "special" / "scenario.yaml"
        path.write_text(ITEM_SCENARIO.replace("items.csv", str(target)), encoding="utf-8")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        with pytest.raises(ScenarioError) as caught:
            load_scenario(path)
        assert time.perf_counter() - start < 2, name
        assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 300_000, name
        message = str(caught.value)
        assert message.startswith(str(target)) and "Traceback" not in message, message[:300]
        if expected:
            assert expected in message, (name, message[:300])


# ----------------------------------------------------------------------------- options

OPTION_VALUES = st.sampled_from([
    "0", "1", "2", "8", "9", "1000", "-1", "1e308", "1e999", "nan", "inf", "-inf", "0.5",
    "86400", "86401", "1e-300", "abc", "", "10**6", "3.0"])
RANGES = st.sampled_from([
    "0:1:1e-300", "0:1:0", "0:1:-0.1", "1:0:0.1", "0:1e400:1", "0:1e30:1e-20",
    "0.5:0.99:1e-9", "0.5:0.99:0.0000001", "0.9:0.9:1e-300", "1e-300:3e-300:1e-300",
    "nan:1:0.1", "0:inf:1", "0.5:0.99:0.01", "0:1", "a:b:c", "0:1:1e-9"])


@settings(FUZZ, max_examples=EXPECTED["options"])
@given(option=st.sampled_from(["--dask-local", "--scheduler-timeout", "--workers",
                               "--replications", "--horizon-days", "--seed", "--param"]),
       value=OPTION_VALUES, span=RANGES,
       command=st.sampled_from(["sweep", "optimize", "compare", "run"]))
def test_option_values_are_bounded_or_refused(folder: Path, option: str, value: str,
                                              span: str, command: str) -> None:
    """Every option value is refused with exit 2 and a short message, or passes to the size
    guard, which refuses the 10^8-day horizon given last: nothing is simulated."""
    CASES["options"] += 1
    if option in ("--dask-local", "--scheduler-timeout", "--workers", "--param") \
            and command == "run":
        command = "sweep"
    if option == "--param" and command != "sweep":
        command = "sweep"
    argv = [command, str(SCENARIO_DIR / "baseline.yaml")]
    if command == "sweep":
        argv += ["--param", f"policy.service_target={span}" if option == "--param"
                 else "policy.service_target=0.9,0.95"]
    if command == "compare":
        argv += ["--set-variant", "b:run.warmup_days=5"]
    if option != "--param":
        argv += [option, value]
    code, err = run_cli([*argv, "--horizon-days", "1e8", "--out", str(folder / "out")])
    assert code == 2, err
    assert err.startswith("servicesim: error: ") and "Traceback" not in err, err
    assert len(err) < 2_000 and max(map(len, re.findall(r"\d+", err)), default=0) < 20, err


# ------------------------------------------------------------------------- the count


def test_zz_fuzz_case_count(capsys: pytest.CaptureFixture[str],
                            record_property: Any) -> None:
    """Every fuzz test that ran ran its full budget; prints the total for the record."""
    ran = {name: count for name, count in CASES.items() if count}
    if not ran:
        pytest.skip("no fuzz test ran in this session")
    for name, count in ran.items():
        assert count >= EXPECTED[name], f"{name}: {count} of {EXPECTED[name]} cases"
    total = sum(ran.values())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    record_property("fuzz_cases", total)
    with capsys.disabled():
        print(f"\nfuzz: {total:,} cases run ({', '.join(f'{k} {v}' for k, v in ran.items())}); "
              f"peak memory of the test process {peak_mb:,.0f} MB")
    if set(ran) == set(EXPECTED):
        assert total >= 4_400
    assert peak_mb < 2_000
