"""The README documents every scenario key and every reported figure (executable docs)."""

from __future__ import annotations

import types
import typing
from pathlib import Path

from pydantic import BaseModel

from servicesim.kpis import SUMMARY_KEYS
from servicesim.scenario.schema import Scenario

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _models(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(annotation) for m in _models(a)]
    return []


def schema_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted key paths of the scenario schema; dict entries appear as ``<NAME>``."""
    paths = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        paths.append(path)
        annotation = field.annotation
        if typing.get_origin(annotation) is dict:
            value = typing.get_args(annotation)[1]
            for sub in _models(value):
                paths += schema_paths(sub, f"{path}.<NAME>.")
        elif name not in ("policy", "supplier") or not prefix.startswith("skus"):
            for sub in _models(annotation):
                if sub.__module__ == "servicesim.scenario.schema":
                    paths += schema_paths(sub, f"{path}.")
    return paths


def test_every_scenario_key_is_documented() -> None:
    missing = [p for p in schema_paths(Scenario) if f"`{p}`" not in README]
    assert not missing, f"README.md does not document: {missing}"


def test_every_figure_is_documented() -> None:
    missing = [k for k in SUMMARY_KEYS if f"`{k}`" not in README]
    assert not missing, f"README.md does not define: {missing}"


def test_quick_start_commands_are_in_readme() -> None:
    assert "python3 tasks.py run" in README and "python3 tasks.py test" in README
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "python3 tasks.py test" in ci
