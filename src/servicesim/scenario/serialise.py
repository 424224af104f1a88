"""Scenario text: bounded, plain-data YAML parsing (with the line of every key) and YAML dumping.

Only plain YAML data is read (``yaml.SafeLoader``), and the input is bounded before any
object is built: documents that expand (through aliases) to more than :data:`MAX_NODES`
nodes or nest deeper than :data:`MAX_DEPTH` are refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import yaml

from ..errors import NOT_SET, DataPath, Problem, ScenarioError, show_value
from .schema import Scenario

MAX_FILE_BYTES = 5 * 1024 * 1024
"""Largest scenario text read (bytes); a scenario file is refused above it unread."""

MAX_NODES = 200_000
"""Most YAML nodes a document may hold once its aliases are expanded."""

MAX_DEPTH = 50
"""Deepest nesting of mappings and lists a document may have."""

MAX_NUMBER_CHARS = 100
"""Longest number a document may write (characters); longer ones are refused unread."""


# ---------------------------------------------------------------------- reading YAML


class _Mapping(dict):  # type: ignore[type-arg]
    """A mapping as constructed by :class:`_LineLoader`: remembers where its keys were."""

    key_lines: dict[Any, int]
    duplicates: list[tuple[Any, int, int]]


class _TooBig(Exception):
    """The document exceeds :data:`MAX_NODES` or :data:`MAX_DEPTH`."""


class _PlainData(yaml.constructor.SafeConstructor):
    """Builds plain YAML data (mappings, lists, scalars; no Python objects) whose mappings
    record the 1-based line of every key, and refuses numbers and dates that cannot be
    built (a 5,000-digit integer, ``2020-13-45``) with a YAML error instead of a crash."""

    def _number_text(self, node: yaml.ScalarNode, what: str) -> None:
        if len(node.value) > MAX_NUMBER_CHARS:
            raise yaml.constructor.ConstructorError(
                None, None, f"{what} of {len(node.value):,} characters is too long (at most "
                f"{MAX_NUMBER_CHARS}); put it in quotes if it is meant as text",
                node.start_mark)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        self._number_text(node, "a whole number")
        try:
            return int(super().construct_yaml_int(node))
        except (ValueError, IndexError):  # e.g. "!!int abc", "!!int" with no value
            raise self._not_a(node, "whole number") from None

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        self._number_text(node, "a number")
        try:
            return float(super().construct_yaml_float(node))
        except (ValueError, IndexError):
            raise self._not_a(node, "number") from None

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, IndexError, KeyError, AttributeError,
                OverflowError) as exc:  # PyYAML trips on e.g. "!!bool abc", "!!timestamp x"
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {show_value(node.value)} as "
                f"{node.tag.rsplit(':', 1)[-1]} ({type(exc).__name__})",
                node.start_mark) from None

    @staticmethod
    def _not_a(node: yaml.ScalarNode, what: str) -> yaml.constructor.ConstructorError:
        return yaml.constructor.ConstructorError(
            None, None, f"{show_value(node.value)} is not a {what}", node.start_mark)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode,
                                 values: Any = None) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} looks like a date but is not one ({exc}); put "
                "it in quotes if it is meant as text", node.start_mark) from None


def _construct_mapping(loader: _PlainData, node: yaml.MappingNode) -> Iterator[_Mapping]:
    data = _Mapping()
    data.key_lines = {}
    data.duplicates = []
    yield data
    explicit = [k for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"]
    data.update(loader.construct_mapping(node))  # flattens merge keys (<<) first
    for key_node, _ in node.value:
        data.key_lines[loader.construct_object(key_node)] = key_node.start_mark.line + 1
    first: dict[Any, int] = {}
    for key_node in explicit:
        key = loader.construct_object(key_node)
        line = key_node.start_mark.line + 1
        if key in first:
            data.duplicates.append((key, first[key], line))
        else:
            first[key] = line


for _tag, _constructor in (("map", _construct_mapping),
                           ("int", _PlainData.construct_yaml_int),
                           ("float", _PlainData.construct_yaml_float),
                           ("timestamp", _PlainData.construct_yaml_timestamp)):
    _PlainData.add_constructor(f"tag:yaml.org,2002:{_tag}", _constructor)  # type: ignore[type-var]

_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)


class _PureLineLoader(_PlainData, yaml.SafeLoader):
    """The plain-data loader on PyYAML's pure-Python parser (where libyaml is missing)."""


class _FastLineLoader(_PlainData, _FAST_LOADER or yaml.SafeLoader):  # type: ignore[misc]
    """The plain-data loader on libyaml's parser: a 5 MB document in a second, not minutes
    (the pure-Python scanner is quadratic on long scalars)."""


_LineLoader: type[Any] = _FastLineLoader if _FAST_LOADER is not None \
    else _PureLineLoader
"""The loader used: libyaml's parser when PyYAML has it, else pure Python."""


def _measure(text: str, loader: type[Any]) -> None:
    """Refuse (``_TooBig``) a document that, with every alias expanded, has more than
    :data:`MAX_NODES` nodes or nests deeper than :data:`MAX_DEPTH`.

    Reads only the parser's events, so nothing is composed or built, memory stays flat and
    an alias bomb stops after a few events.  An alias counts the size and height its anchor
    had when it closed; an alias inside its own anchor (a cycle) is refused.
    """
    nodes = 0
    opened: list[list[Any]] = []  # [nodes before it, deepest level inside, anchor, token]
    defined: dict[str | None, Any] = {}  # anchor -> (size, height), or the token of an open one
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.AliasEvent):
            found = defined.get(event.anchor)
            if found is not None and not isinstance(found, tuple):
                raise _TooBig(f"the alias *{event.anchor} refers to a mapping or list that "
                              "contains it")
            size, height = found or (1, 0)  # an undefined alias: the composer says so
            reach = len(opened) + height
        elif isinstance(event, yaml.CollectionStartEvent):
            size = 1
            token = object()
            opened.append([nodes, len(opened) + 1, event.anchor, token])
            reach = len(opened)
            if event.anchor is not None:
                defined[event.anchor] = token
        elif isinstance(event, yaml.ScalarEvent):
            size, reach = 1, len(opened)
            if event.anchor is not None:
                defined[event.anchor] = (1, 0)
        elif isinstance(event, yaml.CollectionEndEvent):
            start, deepest, anchor, token = opened.pop()
            if opened:
                opened[-1][1] = max(opened[-1][1], deepest)
            if anchor is not None and defined.get(anchor) is token:
                defined[anchor] = (nodes - start, deepest - len(opened))
            continue
        else:
            continue
        nodes += size
        if opened:
            opened[-1][1] = max(opened[-1][1], reach)
        if nodes > MAX_NODES:
            raise _TooBig(
                f"the document is too large: more than {MAX_NODES:,} YAML nodes once "
                "aliases (*name) are expanded; a scenario needs far fewer"
            )
        if reach > MAX_DEPTH:
            raise _TooBig(f"the document nests deeper than {MAX_DEPTH} levels")


class _Document(NamedTuple):
    data: Any
    lines: dict[DataPath, int]
    duplicates: list[tuple[DataPath, int, int]]


def _char_at(text: str, line: int, column: int) -> str:
    """The character at a 0-based line and column of ``text`` ('' if there is none)."""
    start = 0
    for _ in range(line):
        start = text.find("\n", start) + 1
        if start == 0:
            return ""
    return text[start + column: start + column + 1]


def _parse_yaml(text: str, file: str, origin: str | None = None,
                loader: type[Any] | None = None) -> _Document:
    """Parse one YAML document safely and bounded; errors become a ScenarioError.

    The text is measured first (:func:`_measure`: size once aliases are expanded, depth)
    and only then composed and built, so no bomb reaches memory or pydantic.
    """
    loader = loader or _LineLoader

    def fail(message: str, line: int | None = None) -> ScenarioError:
        return ScenarioError([Problem(file, "", NOT_SET, message, line, origin)])

    if len(text) > MAX_FILE_BYTES:
        raise fail(f"the text is too long ({len(text):,} characters; the limit is "
                   f"{MAX_FILE_BYTES:,})")
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError as exc:  # e.g. undecodable bytes of a command line
        code = ord(text[exc.start])
        byte = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
        raise fail(f"not UTF-8 text ({byte} cannot be decoded)",
                   text[: exc.start].count("\n") + 1) from None
    parsed = None
    try:
        try:
            _measure(text, loader)
            parsed = loader(text)
            root = parsed.get_single_node()
            if root is None:
                return _Document(None, {}, [])
            data = parsed.construct_document(root)
        except RecursionError:
            raise fail(f"the document nests deeper than {MAX_DEPTH} levels") from None
        except _TooBig as exc:
            raise fail(str(exc)) from None
        except yaml.MarkedYAMLError as exc:
            raise fail(*_marked_error(exc, text)) from None
        except yaml.reader.ReaderError as exc:
            raise fail(*_reader_error(exc, text, encoded, loader)) from None
        except yaml.YAMLError as exc:
            raise fail(f"YAML error: {exc}") from None
        except (ValueError, TypeError, OverflowError, IndexError, KeyError) as exc:
            # a value PyYAML cannot build
            raise fail(f"YAML error: cannot read a value ({type(exc).__name__}: "
                       f"{str(exc)[:200]})") from None
    finally:
        if parsed is not None:
            parsed.dispose()
    lines: dict[DataPath, int] = {}
    duplicates: list[tuple[DataPath, int, int]] = []
    return _Document(_plain(data, (), lines, duplicates), lines, duplicates)


def _marked_error(exc: yaml.MarkedYAMLError, text: str) -> tuple[str, int | None]:
    """The message and line of a YAML error that knows where it happened."""
    mark = exc.problem_mark or exc.context_mark
    detail = ", ".join(str(x) for x in (exc.context, exc.problem) if x) or "invalid"
    if "maximum nesting depth" in detail:  # libyaml's own limit (1,000 levels)
        return f"the document nests deeper than {MAX_DEPTH} levels", None
    if "could not determine a constructor" in detail:
        detail += " (only plain YAML data is allowed: mappings, lists, scalars)"
    if "'\\t'" in detail or (mark is not None and
                             _char_at(text, mark.line, mark.column) == "\t"):
        detail += " (YAML does not allow tabs for indentation; use spaces)"
    kind = "YAML syntax error" if isinstance(
        exc, yaml.scanner.ScannerError | yaml.parser.ParserError) else "YAML error"
    if mark is None:
        return f"{kind}: {detail}", None
    return f"{kind} at column {mark.column + 1}: {detail}", mark.line + 1


def _reader_error(exc: yaml.reader.ReaderError, text: str, encoded: bytes,
                  loader: type[Any]) -> tuple[str, int]:
    """The message and line of a character YAML does not accept."""
    # libyaml counts the position in UTF-8 bytes, pure Python in characters
    if issubclass(loader, _PureLineLoader) or _FAST_LOADER is None:
        line = text[: exc.position].count("\n") + 1
    else:
        line = encoded[: exc.position].count(b"\n") + 1
    code = exc.character if isinstance(exc.character, int) else ord(exc.character)
    return (f"unacceptable character U+{code:04X} (a control character) in the YAML text",
            line)



def parse_yaml(text: str, file: str) -> Any:
    """The plain data of one YAML document, read safely and bounded (:func:`_parse_yaml`);
    a ScenarioError names ``file``."""
    return _parse_yaml(text, file).data

def _plain(value: Any, path: DataPath, lines: dict[DataPath, int],
           duplicates: list[tuple[DataPath, int, int]]) -> Any:
    """Plain dicts and lists (aliases copied), collecting key lines and duplicate keys."""
    if isinstance(value, _Mapping):
        out = {}
        for key, item in value.items():
            sub = (*path, key)
            if key in value.key_lines:
                lines[sub] = value.key_lines[key]
            out[key] = _plain(item, sub, lines, duplicates)
        duplicates.extend(((*path, key), first, again) for key, first, again in value.duplicates)
        return out
    if isinstance(value, dict):
        return {k: _plain(v, (*path, k), lines, duplicates) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, (*path, i), lines, duplicates) for i, v in enumerate(value)]
    return value


def dump_scenario(scenario: Scenario) -> str:
    """The scenario as YAML; :func:`load_scenario` reads it back to an equal scenario."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: 3x faster, same text
    return yaml.dump(
        scenario.model_dump(mode="json"), Dumper=dumper, sort_keys=False, allow_unicode=True,
        default_flow_style=False, width=100,
    )
