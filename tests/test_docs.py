"""The documentation covers every scenario key, every reported figure and every command option
(executable docs); the README stays a short front page with the quick start CI runs."""

from __future__ import annotations

import argparse
import types
import typing
from pathlib import Path

from pydantic import BaseModel

from servicesim.cli import build_parser
from servicesim.kpis import SUMMARY_KEYS
from servicesim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = ROOT / "docs"


def _page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


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


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("servicesim's parser has no subcommands")


def test_every_scenario_key_is_documented() -> None:
    page = _page("scenario-format.md")
    missing = [p for p in schema_paths(Scenario) if f"`{p}`" not in page]
    assert not missing, f"docs/scenario-format.md does not document: {missing}"


def test_every_figure_is_documented() -> None:
    page = _page("results.md")
    missing = [k for k in SUMMARY_KEYS if f"`{k}`" not in page]
    assert not missing, f"docs/results.md does not define: {missing}"


def test_every_command_is_in_the_readme_and_the_commands_page() -> None:
    commands = _page("commands.md")
    for name in _subcommands():
        assert f"`servicesim {name}" in README, f"README.md's command table lacks {name}"
        assert f"\n## {name}\n" in commands, f"docs/commands.md has no section for {name}"


def _section(page: str, heading: str) -> str:
    """The text under ``## heading`` up to the next ``## `` heading (empty if none)."""
    start = page.find(f"\n## {heading}\n")
    if start < 0:
        return ""
    end = page.find("\n## ", start + 1)
    return page[start:end if end >= 0 else len(page)]


def test_every_option_is_documented() -> None:
    """Each option is named in its command's section, among the shared options or in the
    page's introduction (options every command takes, such as ``--debug``)."""
    commands = _page("commands.md")
    shared = (commands[:commands.index("\n## ")]
              + _section(commands, "Options shared by the simulating commands"))
    missing = [f"{name} {option}"
               for name, sub in _subcommands().items()
               for action in sub._actions for option in action.option_strings
               if option.startswith("--") and option != "--help"
               and f"{option}" not in _section(commands, name) + shared]
    assert not missing, f"docs/commands.md does not mention: {missing}"


def test_quick_start_commands_are_in_readme() -> None:
    assert "python3 tasks.py run" in README and "python3 tasks.py test" in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 tasks.py test" in ci


def test_readme_is_short() -> None:
    lines = README.count("\n")
    assert lines < 250, f"README.md has {lines} lines; the rest belongs in docs/"
