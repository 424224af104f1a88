"""The one folder the page may read and write: scenario files typed as paths, uploads, and
the quick sweeps' folders all stay inside it.

A typed path is resolved (symbolic links and ``..`` followed) and refused if it ends
outside the folder; an upload is refused above the loader's size limit before anything is
written, then saved inside the folder and read by the YAML loader itself (the same size
guard, safe YAML and messages as a file on the command line).  A scenario that reads
other files (an ``items:`` section naming an item master and a history) is refused here:
those paths could lead outside the folder.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

from ..errors import NOT_SET, Problem, ScenarioError
from ..files import atomic_write_bytes
from ..inputs.scenario_file import load_scenario
from ..scenario.schema import Scenario
from ..scenario.serialise import MAX_FILE_BYTES, parse_yaml

UPLOADS = "app-uploads"
"""The sub-folder of the results folder that uploaded scenario files are saved in."""

MAX_NAME = 80
"""Longest file name kept of an upload (characters)."""


def _refuse(file: str, message: str) -> ScenarioError:
    return ScenarioError([Problem(file, "", NOT_SET, message)])


def confined(folder: str | os.PathLike[str], typed: str) -> Path:
    """``typed`` (relative to ``folder``, or absolute) resolved; a ScenarioError naming it
    when it is empty or resolves outside ``folder``."""
    root = Path(folder).resolve()
    text = typed.strip()
    if not text or "\x00" in text:
        raise _refuse(typed or "(empty path)", "give the path of a scenario file inside "
                      f"the results folder {root}")
    path = Path(text).expanduser()
    resolved = (path if path.is_absolute() else root / path).resolve()
    if not resolved.is_relative_to(root):
        raise _refuse(text, f"is outside the results folder {root}; the page reads and "
                      "writes only inside it (upload the file instead)")
    return resolved


def _self_contained(path: Path, shown: str) -> None:
    """Refuse a scenario with an ``items:`` section (it reads other files)."""
    try:
        data = parse_yaml(path.read_text(encoding="utf-8-sig"), shown)
    except (OSError, UnicodeDecodeError):
        return  # the loader says what is wrong with the file
    if isinstance(data, dict) and "items" in data:
        raise ScenarioError([Problem(
            shown, "items", NOT_SET, "this page loads only self-contained scenarios; an "
            "items: section reads an item master and history from other files. Run it from "
            "the command line, or load the scenario.yaml of its results folder (expanded)")])


def _renamed(exc: ScenarioError, path: Path, shown: str) -> ScenarioError:
    """The error with the saved file's path replaced by the name the user knows."""
    return ScenarioError([dataclasses.replace(p, file=shown) if p.file == str(path) else p
                          for p in exc.problems])


def load_confined(folder: str | os.PathLike[str], typed: str) -> Scenario:
    """The scenario at ``typed`` inside ``folder`` (:func:`confined`), read by
    :func:`~servicesim.inputs.scenario_file.load_scenario`."""
    path = confined(folder, typed)
    if path.is_file() and path.stat().st_size <= MAX_FILE_BYTES:
        _self_contained(path, typed)
    return load_scenario(path)


def upload_name(name: str) -> str:
    """A safe file name for an upload: its last part, other characters as ``_``, ending in
    ``.yaml``."""
    base = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name.replace("\\", "/")).name)[:MAX_NAME]
    base = base.lstrip(".") or "scenario"
    return base if base.endswith((".yaml", ".yml")) else base + ".yaml"


def load_upload(folder: str | os.PathLike[str], name: str, data: bytes) -> tuple[Scenario, Path]:
    """Save an uploaded scenario inside ``folder`` (``app-uploads/``) and load it; the
    scenario and where it was saved.  A ScenarioError names the upload by ``name``."""
    shown = f"upload {name}"
    if len(data) > MAX_FILE_BYTES:
        raise _refuse(shown, f"file is too large ({len(data) / 2**20:.1f} MB; the limit is "
                      f"{MAX_FILE_BYTES / 2**20:g} MB)")
    path = Path(folder).resolve() / UPLOADS / upload_name(name)
    atomic_write_bytes(path, data)
    try:
        _self_contained(path, shown)
        return load_scenario(path), path
    except ScenarioError as exc:
        raise _renamed(exc, path, shown) from None
