"""Reading scenario files: YAML file -> validated :class:`~servicesim.scenario.schema.Scenario`.

Bad input fails here, once, with every problem in the file reported together; a file over
:data:`MAX_FILE_BYTES` or not a regular file is refused before it is read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

from ..errors import NOT_SET, Problem, ScenarioError
from ..scenario.overrides import Override, _apply_overrides
from ..scenario.schema import Scenario
from ..scenario.serialise import MAX_FILE_BYTES, _parse_yaml
from ..scenario.validation import _Applied, _dotted, _validate


def _read_text(file: str) -> str:
    """The text of a scenario file, or a ScenarioError saying why it cannot be read."""

    def fail(message: str, line: int | None = None) -> ScenarioError:
        return ScenarioError([Problem(file, "", NOT_SET, message, line)])

    try:
        info = os.stat(file)
    except FileNotFoundError:
        raise fail("file not found") from None
    except OSError as exc:
        raise fail(f"cannot read the file: {exc.strerror or exc}") from None
    except ValueError:  # a NUL character in the name
        raise fail("not a valid file name (it contains a NUL character)") from None
    if stat.S_ISDIR(info.st_mode):
        raise fail("is a directory, not a scenario file")
    if not stat.S_ISREG(info.st_mode):
        raise fail("is not a regular file")
    limit_mb = MAX_FILE_BYTES / 2**20
    if info.st_size > MAX_FILE_BYTES:
        raise fail(f"file is too large ({info.st_size / 2**20:.1f} MB; the limit is "
                   f"{limit_mb:g} MB)")
    try:
        with open(file, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise fail(f"cannot read the file: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise fail(f"file is too large (the limit is {limit_mb:g} MB)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise fail(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be decoded); "
                   "save the file as UTF-8", line) from None


def load_scenario(path: str | os.PathLike[str],
                  overrides: Sequence[str | Override] = ()) -> Scenario:
    """Read a YAML scenario file, apply ``--set``-style overrides, and validate it.

    ``overrides`` are ``"dotted.key=value"`` strings (the value is YAML, e.g.
    ``"segments.retail.reactions={wait: 0.1, switch: 0.9}"``) or :class:`Override`\\ s.
    Raises :class:`ScenarioError` listing every problem found.
    """
    file = os.fspath(path)
    if isinstance(overrides, str):  # one override given bare, not in a list
        overrides = [overrides]
    doc = _parse_yaml(_read_text(file), file)
    duplicates = [
        Problem(file, _dotted(key_path), NOT_SET,
                f"duplicate key (also at line {first}); remove one of them", line)
        for key_path, first, line in doc.duplicates
    ]
    data = doc.data
    if isinstance(data, dict) and isinstance(data.get("items"), dict):
        from .items import expand_items  # reads the item master and history, fits demand

        data = expand_items(data, file, doc.lines, report=False)[0]
    applied: list[_Applied] = []
    if overrides and isinstance(data, dict):
        applied = _apply_overrides(data, overrides, file)
    return _validate(data, file, doc.lines, applied, duplicates)
