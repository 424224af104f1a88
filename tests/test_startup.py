"""Start-up stays light: what ``servicesim --version``, ``--help``, ``validate`` and
``import servicesim`` import, checked by module name in a fresh interpreter (deterministic,
not timed; benchmarks/bench_startup.py times them), and the lazy package API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import servicesim
from servicesim.cli import build_parser

SOURCES = Path(servicesim.__file__).resolve().parents[1]
ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"

HEAVY = ("scipy", "simpy", "matplotlib", "pandas", "dask", "distributed", "openpyxl")
"""Packages whose import alone takes from a tenth of a second to seconds."""

NOT_FOR_VALIDATE = ("simpy", "matplotlib", "dask", "distributed", "openpyxl", "scipy.stats")
"""What checking a scenario needs none of (scipy.stats alone takes most of the 1 s that
validate may take; a distribution imports it only when its quantiles are asked for)."""

_IMPORTED = re.compile(r"^import time:\s+\d+\s+\|\s+\d+\s+\|\s*(\S+)\s*$")


def imported_modules(*arguments: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """The modules a fresh ``python -X importtime ARGUMENTS`` imports (from its import-time
    log on stderr) and the finished process."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCES), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-X", "importtime", *arguments], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    names = {m.group(1) for line in proc.stderr.splitlines() if (m := _IMPORTED.match(line))}
    assert "servicesim" in names, proc.stderr[-2000:]  # the log was read
    return names, proc


def loaded(names: set[str], packages: tuple[str, ...]) -> list[str]:
    """The modules of ``names`` that are one of ``packages`` or inside one."""
    return sorted(n for n in names if any(n == p or n.startswith(p + ".") for p in packages))


@pytest.mark.parametrize("arguments", [("-m", "servicesim", "--version"),
                                       ("-m", "servicesim", "--help"),
                                       ("-m", "servicesim", "run", "--help"),
                                       ("-m", "servicesim", "risk", "--help"),
                                       ("-c", "import servicesim")],
                         ids=["--version", "--help", "run --help", "risk --help",
                              "import servicesim"])
def test_version_help_and_import_stay_light(arguments: tuple[str, ...]) -> None:
    names, proc = imported_modules(*arguments)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert loaded(names, HEAVY) == []
    assert loaded(names, ("servicesim.model", "servicesim.policies", "servicesim.scenario",
                          "servicesim.outputs", "servicesim.inputs")) == []


def test_version_prints_the_version() -> None:
    _, proc = imported_modules("-m", "servicesim", "--version")
    assert proc.stdout.strip() == f"servicesim {servicesim.__version__}"


def test_help_lists_every_command() -> None:
    _, proc = imported_modules("-m", "servicesim", "--help")
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert commands is not None and {"run", "sweep", "optimize", "compare", "validate",
                                     "plot", "report", "generate", "items", "risk"} <= set(commands)
    listed = {line.split()[0] for line in proc.stdout.splitlines()
              if line.startswith("    ") and line.split()}
    assert set(commands) <= listed, proc.stdout


def test_validate_loads_no_model_charts_or_cluster() -> None:
    names, proc = imported_modules("-m", "servicesim", "validate", str(BASELINE))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("OK ")
    assert loaded(names, NOT_FOR_VALIDATE) == []
    assert loaded(names, ("servicesim.model", "servicesim.outputs")) == []


def test_package_names_are_imported_on_first_use() -> None:
    import importlib

    homes = servicesim._MODULE_OF
    assert set(servicesim.__all__) == {*homes, "__version__"}
    for name, module in homes.items():
        value = getattr(servicesim, name)
        assert value is getattr(importlib.import_module(module, "servicesim"), name), name
    assert set(servicesim.__all__) <= set(dir(servicesim))
    from servicesim import simulate
    from servicesim.model.simulation import simulate as home

    assert simulate is home
    with pytest.raises(AttributeError, match="no attribute 'simulat'"):
        servicesim.simulat  # noqa: B018 - the lookup is what is tested
    with pytest.raises(ImportError):
        from servicesim import simulat  # noqa: F401
