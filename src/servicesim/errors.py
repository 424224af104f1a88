"""Problems with user input, and the exception that lists them.

A problem names the file, the line, the dotted key path, the bad value and what is allowed;
:class:`ScenarioError` carries every problem found at once.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

MAX_PROBLEMS_SHOWN = 50
"""Problems a :class:`ScenarioError` message lists (``problems`` keeps all of them)."""

Key = str | int
DataPath = tuple[Key, ...]


class _NotSet(enum.Enum):
    """Marker for "no value to show" (a missing key), distinct from a YAML ``null``."""

    NOT_SET = "NOT_SET"

    def __repr__(self) -> str:
        return "NOT_SET"


NOT_SET: Any = _NotSet.NOT_SET
"""The ``value`` of a :class:`Problem` that has no value to show."""


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where it is, what was found, what is allowed.

    ``line`` is 1-based (None when unknown or when the value came from an override);
    ``origin`` names the command-line option that supplied the value, e.g.
    ``--set run.horizon_days=abc``.
    """

    file: str
    key_path: str
    value: Any
    message: str
    line: int | None = None
    origin: str | None = None

    def __str__(self) -> str:
        file = _printable(self.file, 300)
        where = file if self.line is None else f"{file}:{self.line}"
        if self.origin:
            where += f" ({_printable(self.origin, 300)})"
        parts = [where]
        if self.key_path:
            parts.append(_printable(self.key_path, 300))
        if self.value is not NOT_SET:
            parts.append(f"value {show_value(self.value)}")
        parts.append(_printable(self.message, 2000, keep_newlines=True))
        return ": ".join(parts)


class ScenarioError(Exception):
    """A scenario could not be loaded; ``problems`` lists everything found wrong."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(list(problems))
        self.problems: list[Problem] = list(problems)

    def __str__(self) -> str:
        shown = [str(p) for p in self.problems[:MAX_PROBLEMS_SHOWN]]
        more = len(self.problems) - len(shown)
        if more > 0:
            shown.append(f"... and {more:,} more problem{'s' if more > 1 else ''} "
                         "(fix the ones above first)")
        return "\n".join(shown)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _printable(text: str, limit: int, keep_newlines: bool = False) -> str:
    """``text`` safe to print on a terminal: control characters escaped, length bounded."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if keep_newlines and char == "\n":
            return char
        return repr(char)[1:-1] if char != "\t" else "\\t"

    return _CONTROL.sub(escape, text)


def show_value(value: Any, limit: int = 60) -> str:
    """A short YAML-flow rendering of ``value`` for a message (long collections elided)."""
    if isinstance(value, Mapping | list | tuple):
        is_mapping = isinstance(value, Mapping)
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        parts: list[str] = []
        length = 2
        for key, item in items:
            part = show_value(item, limit // 2)
            if is_mapping:
                part = f"{show_value(key, limit // 2)}: {part}"
            if parts and length + len(part) > limit:
                parts.append("...")
                break
            parts.append(part)
            length += len(part) + 2
        text = ", ".join(parts)
        return f"{{{text}}}" if is_mapping else f"[{text}]"
    if isinstance(value, str | bytes) and len(value) > 2 * limit:
        value = value[: 2 * limit]  # the rest would be cut anyway: never dump megabytes
    elif isinstance(value, set | frozenset) and len(value) > limit:
        return f"(a set of {len(value):,} values)"
    text = _flow(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _flow(value: Any) -> str:
    try:
        text = yaml.safe_dump(
            value, default_flow_style=True, width=1_000_000, allow_unicode=True,
            sort_keys=False,
        )
    except yaml.YAMLError:
        return repr(value)
    text = text.strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    elif text == "...":
        text = ""
    return text.replace("\n", " ")


def _suggest(word: Any, choices: Sequence[str]) -> str:
    """``"; did you mean X?"`` for a near miss among ``choices``, else ``""``."""
    if not isinstance(word, str):
        return ""
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    if not close and len(word) >= 3:  # an abbreviation: "expo" for "exponential"
        close = [c for c in lowered if c.startswith(word.lower())][:1]
    return f"; did you mean {lowered[close[0]]}?" if close else ""
