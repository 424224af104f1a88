"""Names that become file or folder names cannot leave the chosen results folder."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest

from servicesim.cli import main
from servicesim.errors import ScenarioError
from servicesim.experiment.sweep import plan_sweep
from servicesim.files import OutputError, name_problem, safe_child
from servicesim.inputs.scenario_file import load_scenario

BASELINE = Path(__file__).parent.parent / "scenarios" / "baseline.yaml"

HOSTILE_NAMES = ["../x", "..", ".", "a/../../b", "/etc", "/abs/path", "C:\\x", "a\\b", "a/b",
                 "", " lead", "trail ", "dot.", "a..b", "CON", "con", "nul.txt", "COM1",
                 "lpt9.csv", "AUX", "a\x00b", "a\nb", "a\x1bb", "x" * 101, "-x", "_x",
                 "é", "a b", "a:b", "a*b", "a?b"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_are_refused(name: str, tmp_path: Path) -> None:
    assert name_problem(name) is not None
    with pytest.raises(OutputError) as caught:
        safe_child(tmp_path, name, "--id")
    message = str(caught.value)
    assert message.startswith(f"--id {name!r}"[:20])
    assert "\x00" not in message and "\n" not in message


@pytest.mark.parametrize("name", ["baseline", "sweep-1", "a.b_c", "2026-11-25", "CONSOLE",
                                  "com10", "x" * 100])
def test_ordinary_names_pass(name: str, tmp_path: Path) -> None:
    assert name_problem(name) is None
    assert safe_child(tmp_path, name) == tmp_path / name


def test_a_symbolic_link_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    results, elsewhere = tmp_path / "results", tmp_path / "elsewhere"
    results.mkdir()
    elsewhere.mkdir()
    (results / "escape").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(OutputError, match="leads outside"):
        safe_child(results, "escape", "--id")
    # the folder itself may be anything the user chooses, a link or an absolute path
    (tmp_path / "link").symlink_to(results, target_is_directory=True)
    assert safe_child(tmp_path / "link", "ok") == tmp_path / "link" / "ok"


@pytest.mark.parametrize(("value", "expected"), [
    ("../evil", "not a valid name"), ("/etc/x", "not a valid name"),
    ("a..b", "must not contain '..'"), ("dot.", "must not end with '.'"),
    ("CON", "CON is a device name on Windows"), ("nul.v2", "nul is a device name"),
    ("'a\\x00b'", "not a valid name"), ("' x'", "not a valid name"),
])
def test_scenario_names_that_cannot_be_folders_are_refused(value: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(BASELINE, [f"name={value}"])
    message = str(caught.value)
    assert message.startswith(f"{BASELINE} (--set name=") and ": name: value " in message
    assert expected in message


def test_sweep_ids_are_checked_by_the_python_api_too(tmp_path: Path) -> None:
    scenario = load_scenario(BASELINE)
    for bad in ("../x", "CON", "a/b", "dot."):
        with pytest.raises(OutputError, match=r"^--id .*a sweep id names a folder"):
            plan_sweep(scenario, ["policy.service_target=0.9"], out_dir=tmp_path, sweep_id=bad)
    plan = plan_sweep(scenario, ["policy.service_target=0.9"], out_dir=tmp_path, sweep_id="ok")
    assert plan.directory == tmp_path / "baseline" / "ok"


def run_cli(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, err.getvalue()


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("command", [
    ["sweep", str(BASELINE), "--param", "policy.service_target=0.9,0.95", "--workers", "1"],
    ["optimize", str(BASELINE), "--workers", "1"],
    ["compare", str(BASELINE), "--set-variant", "b:run.seed=1", "--workers", "1"],
], ids=["sweep", "optimize", "compare"])
@pytest.mark.parametrize("run_id", ["../../escape", "/tmp/abs", "CON", "a\x00b", "dot.",
                                    "x" * 101])
def test_cli_ids_cannot_leave_the_results_folder(command: list[str], run_id: str,
                                                 tmp_path: Path) -> None:
    out = tmp_path / "deep" / "results"
    before = tree(tmp_path)
    code, err = run_cli([*command, "--out", str(out), "--id", run_id])
    assert code == 2, err
    assert err.startswith("servicesim: error: --id ")
    assert "the id names the results folder" in err or "NUL" in err
    assert "Traceback" not in err
    assert tree(tmp_path) == before  # nothing written anywhere


@pytest.mark.parametrize(("argv", "option"), [
    (["run", str(BASELINE), "--out", "res\x00ults"], "--out"),
    (["run", "scen\x00.yaml"], "SCENARIO.yaml"),
    (["validate", "a\x00.yaml"], "SCENARIO.yaml"),
    (["plot", "res\x00"], "RESULTS_DIR"),
    (["report", "x", "--out", "o\x00"], "--out"),
    (["run", str(BASELINE), "--set", "name=a\x00"], "--set"),
])
def test_nul_characters_are_refused_by_option(argv: list[str], option: str) -> None:
    code, err = run_cli(argv)
    assert code == 2
    assert err == f"servicesim: error: {option}: the value contains a NUL character\n"


def test_a_nul_in_a_file_name_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError, match="contains a NUL character"):
        load_scenario("a\x00.yaml")


def test_an_absolute_out_folder_is_the_users_choice(tmp_path: Path) -> None:
    out = tmp_path / "chosen"
    code, err = run_cli(["run", str(BASELINE), "--horizon-days", "120", "--replications", "2",
                         "--out", str(out.resolve()), "--quiet"])
    assert code == 0, err
    (run,) = (out / "baseline").iterdir()
    folder = os.path.join("baseline", run.name)
    assert tree(out) == ["baseline", folder, *(os.path.join(folder, f) for f in
                                               ("replications.csv", "scenario.yaml",
                                                "summary.json"))]
