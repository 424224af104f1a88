"""Reading scenarios: YAML -> validated :class:`~servicesim.scenario.Scenario`.

Bad input fails here, once, with every problem in the file reported together.  Each
problem names the file, the line, the dotted key path, the bad value and what is allowed::

    scenarios/x.yaml:14: segments.retail.reactions: value {wait: 0.2, switch: 0.7}: wait +
    backorder + switch + defect must sum to 1, got 0.9

Only plain YAML data is read (``yaml.SafeLoader``), and the input is bounded before any
object is built: files over :data:`MAX_FILE_BYTES`, documents that expand (through aliases)
to more than :data:`MAX_NODES` nodes or nest deeper than :data:`MAX_DEPTH` are refused.

Overrides (``--set dotted.key=value``) change a loaded document before it is validated; the
dotted path must exist in the schema (or, below ``skus``/``segments``, in the document).
"""

from __future__ import annotations

import difflib
import enum
import os
import re
import stat
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import yaml
from pydantic import BaseModel, ValidationError

from .distributions import DISTRIBUTION_TYPES
from .scenario import Scenario

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "MAX_NUMBER_CHARS",
    "MAX_PROBLEMS_SHOWN",
    "NOT_SET",
    "Override",
    "Problem",
    "ScenarioError",
    "dump_scenario",
    "load_scenario",
    "parse_override",
    "scenario_from_dict",
]

MAX_FILE_BYTES = 5 * 1024 * 1024
"""Largest scenario file read (bytes)."""

MAX_NODES = 200_000
"""Most YAML nodes a document may hold once its aliases are expanded."""

MAX_DEPTH = 50
"""Deepest nesting of mappings and lists a document may have."""

MAX_NUMBER_CHARS = 100
"""Longest number a document may write (characters); longer ones are refused unread."""

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
            mark = exc.problem_mark or exc.context_mark
            detail = ", ".join(str(x) for x in (exc.context, exc.problem) if x) or "invalid"
            if "maximum nesting depth" in detail:  # libyaml's own limit (1,000 levels)
                raise fail(f"the document nests deeper than {MAX_DEPTH} levels") from None
            if "could not determine a constructor" in detail:
                detail += " (only plain YAML data is allowed: mappings, lists, scalars)"
            if "'\\t'" in detail or (mark is not None and
                                     _char_at(text, mark.line, mark.column) == "\t"):
                detail += " (YAML does not allow tabs for indentation; use spaces)"
            kind = "YAML syntax error" if isinstance(
                exc, yaml.scanner.ScannerError | yaml.parser.ParserError) else "YAML error"
            if mark is None:
                raise fail(f"{kind}: {detail}") from None
            raise fail(f"{kind} at column {mark.column + 1}: {detail}", mark.line + 1) from None
        except yaml.reader.ReaderError as exc:
            # libyaml counts the position in UTF-8 bytes, pure Python in characters
            if issubclass(loader, _PureLineLoader) or _FAST_LOADER is None:
                line = text[: exc.position].count("\n") + 1
            else:
                line = encoded[: exc.position].count(b"\n") + 1
            code = exc.character if isinstance(exc.character, int) else ord(exc.character)
            raise fail(f"unacceptable character U+{code:04X} (a control character) in the "
                       "YAML text", line) from None
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


# ------------------------------------------------------------------- walking the schema


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated[...]`` and ``| None`` from a type annotation."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _tagged_members(annotation: Any) -> dict[str, type[BaseModel]] | None:
    """``{type tag: model}`` when ``annotation`` is a union tagged by a ``type`` key."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return None
    members: dict[str, type[BaseModel]] = {}
    for arg in typing.get_args(annotation):
        field = arg.model_fields.get("type") if _is_model(arg) else None
        if field is None or typing.get_origin(field.annotation) is not typing.Literal:
            return None
        for tag in typing.get_args(field.annotation):
            members[tag] = arg
    return members


def _model_keys(model: type[BaseModel]) -> list[str]:
    """The keys a model accepts in YAML (aliases where set; hidden fields left out)."""
    return [f.alias or name for name, f in model.model_fields.items() if not f.exclude]


def _model_field(model: type[BaseModel], key: Key) -> Any:
    """The annotation of the field a YAML key names, or None if there is none."""
    for name, field in model.model_fields.items():
        if key in (name, field.alias) and not field.exclude:
            return field.annotation
    return None


def _field_default(model: type[BaseModel], key: Key) -> Any:
    """The default value of the field a YAML key names (None if none or required)."""
    for name, field in model.model_fields.items():
        if key in (name, field.alias) and not field.is_required():
            return field.get_default(call_default_factory=True)
    return None


def _required_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items() if f.is_required()]


class _Location(NamedTuple):
    path: DataPath  # keys in the document (union tags and "[key]" dropped)
    annotation: Any  # schema type at the location (None when unknown)
    holder: type[BaseModel] | None  # the model whose field is the last key
    is_key: bool  # the error is about a mapping key itself


def _locate(loc: tuple[Key, ...]) -> _Location:
    """Follow a pydantic error location through the schema."""
    annotation: Any = Scenario
    path: list[Key] = []
    holder: type[BaseModel] | None = None
    is_key = False
    for part in loc:
        annotation = _unwrap(annotation)
        members = _tagged_members(annotation)
        if members is not None and part in members:
            annotation = members[str(part)]
            continue
        if part == "[key]":
            is_key = True
            continue
        holder = None
        if _is_model(annotation):
            holder = annotation
            annotation = _model_field(annotation, part)
        elif typing.get_origin(annotation) is dict:
            annotation = typing.get_args(annotation)[1]
        elif typing.get_origin(annotation) is list:
            annotation = typing.get_args(annotation)[0]
        else:
            annotation = None
        path.append(part)
    return _Location(tuple(path), annotation, holder, is_key)


def _dotted(path: Sequence[Key], data: Any = NOT_SET) -> str:
    """``a.b[2].c``: list indices in brackets (when ``data`` shows a list there)."""
    text = ""
    for end, part in enumerate(path):
        if isinstance(part, int) and isinstance(_lookup(data, tuple(path[:end])), list):
            text += f"[{part}]"
        else:
            shown = _flow(part) if not isinstance(part, str) else part
            text += f".{shown}" if text else shown
    return text


def _lookup(data: Any, path: DataPath) -> Any:
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return NOT_SET
    return data


def _line_of(lines: Mapping[DataPath, int], path: DataPath) -> int | None:
    """The line of ``path``, or of its nearest ancestor that is in the file."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


# ------------------------------------------------------------- pydantic errors -> text

_NAME_RULE = ("a name starts with a letter or digit and has only letters, digits, '_', '.' "
              "and '-' (at most 100 characters)")
_DIST_HINT = ("a distribution is a number (a constant) or a mapping with a type, e.g. "
              "{type: exponential, mean: 2.5}")
_EXPECTED = {
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer, got a number with a fractional part",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected text",
    "list_type": "expected a list, e.g. [1, 2, 3]",
    "dict_type": "expected a mapping of key: value pairs",
    "finite_number": "expected a finite number (not .inf or .nan)",
}


def _message(err: Mapping[str, Any], where: _Location) -> str:
    """What is wrong and what is allowed, in a planner's words."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    members = _tagged_members(_unwrap(where.annotation))
    if kind == "extra_forbidden":
        allowed = _model_keys(where.holder) if where.holder else []
        return (f"unknown key; allowed keys here: {', '.join(allowed)}"
                + _suggest(where.path[-1] if where.path else "", allowed))
    if kind == "missing":
        needs = _required_keys(where.holder) if where.holder else []
        if where.holder is not None and "type" in where.holder.model_fields:
            tag = typing.get_args(where.holder.model_fields["type"].annotation)[0]
            article = "an" if str(tag)[:1] in "aeiou" else "a"
            return f"missing; {article} {tag} distribution needs {', '.join(needs)}"
        return "missing; this key is required"
    if kind == "union_tag_invalid":
        return (f"unknown distribution type; allowed types: {', '.join(DISTRIBUTION_TYPES)}"
                + _suggest(ctx.get("tag"), DISTRIBUTION_TYPES))
    if kind == "union_tag_not_found" or (members and kind in (
            "model_attributes_type", "model_type", "dict_type")):
        return f"{_DIST_HINT}; allowed types: {', '.join(DISTRIBUTION_TYPES)}"
    if kind == "model_type" or kind == "model_attributes_type":
        allowed = _model_keys(where.annotation) if _is_model(where.annotation) else []
        return "expected a mapping of key: value pairs" + (
            f" (allowed keys: {', '.join(allowed)})" if allowed else "")
    if where.is_key:
        if isinstance(value, bool):
            return (f"not a valid name; {_NAME_RULE}. YAML reads yes/no/on/off as "
                    "true/false: put the name in quotes")
        return f"not a valid name; {_NAME_RULE}"
    if kind in ("string_pattern_mismatch", "string_too_short", "string_too_long"):
        return f"not a valid name; {_NAME_RULE}"
    if kind in _EXPECTED:
        text = _EXPECTED[kind]
        if value is None:
            text += " (the value is empty)"
        elif kind == "string_type" and isinstance(value, bool):
            text += " (YAML reads yes/no/on/off as true/false: put the word in quotes)"
        return text
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return f"expected one of {', '.join(choices)}" + _suggest(value, choices)
    bounds = {
        "greater_than_equal": (">=", "ge"), "greater_than": (">", "gt"),
        "less_than_equal": ("<=", "le"), "less_than": ("<", "lt"),
    }
    if kind in bounds:
        symbol, name = bounds[kind]
        limit = ctx.get(name)
        text = f"must be {symbol} {limit:g}" if isinstance(limit, int | float) else \
            f"must be {symbol} {limit}"
        if kind == "greater_than_equal" and limit == 0:
            text += " (cannot be negative)"
        return text
    if kind in ("too_short", "too_long"):
        what = "at least" if kind == "too_short" else "at most"
        count = ctx.get("min_length" if kind == "too_short" else "max_length")
        return f"must have {what} {count} entr{'y' if count == 1 else 'ies'}"
    message = str(err.get("msg", kind))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


_PATH_IN_MESSAGE = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.\-]*)\s+(.+)$", re.S)


def _path_in_message(message: str, data: Any) -> tuple[DataPath, str] | None:
    """A document path that a whole-scenario check names at the start of its message."""
    match = _PATH_IN_MESSAGE.match(message)
    if not match or not isinstance(data, dict):
        return None
    parts = match.group(1).split(".")
    if parts[0] not in Scenario.model_fields:
        return None
    path: list[Key] = []
    node: Any = data
    i = 0
    while i < len(parts):
        step = 1
        if isinstance(node, dict):
            # names may contain dots: prefer the longest run of parts that is a key
            for end in range(len(parts), i, -1):
                if ".".join(parts[i:end]) in node:
                    step = end - i
                    break
        key = ".".join(parts[i: i + step])
        path.append(key)
        node = node.get(key, NOT_SET) if isinstance(node, dict) else NOT_SET
        i += step
    rest = match.group(2)
    aside = re.match(r"^\((.+?)\):\s*(.+)$", rest, re.S)  # "(merged with policy): ..."
    return tuple(path), f"{aside.group(1)}: {aside.group(2)}" if aside else rest


class _Applied(NamedTuple):
    path: DataPath
    label: str


def _problems(exc: ValidationError, data: Any, file: str, lines: Mapping[DataPath, int],
              applied: Sequence[_Applied] = ()) -> list[Problem]:
    """Planner-readable problems for every error pydantic collected."""
    problems = []
    for err in exc.errors(include_url=False):
        where = _locate(tuple(err["loc"]))
        path = where.path
        value = err.get("input", NOT_SET)
        message = _message(err, where)
        if err["type"] in ("extra_forbidden", "missing"):
            value = NOT_SET
        elif err["type"] == "union_tag_invalid":
            path = (*path, "type")
            value = (err.get("ctx") or {}).get("tag", value)
        elif not path:  # a whole-scenario check: it may name the key in its message
            found = _path_in_message(message, data)
            if found:
                path, message = found
            value = _lookup(data, path) if path else NOT_SET
        line = _line_of(lines, path)
        origin = None
        if not err["loc"] and applied:
            origin = "with " + "; ".join(label for _, label in applied)
        for applied_path, label in reversed(applied):
            if path[: len(applied_path)] == applied_path:
                origin, line = label, None
                break
            if applied_path[: len(path)] == path:
                origin, line = label, lines.get(path)
                break
        shown = _dotted(path, data)
        if where.is_key and path:
            shown = _dotted((*path[:-1], _flow(value)), data)
        problems.append(Problem(file, shown, value, message, line, origin))
    return problems


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line is None, p.line or 0))


# -------------------------------------------------------------------------- overrides


class Override(NamedTuple):
    """One ``dotted.key=value`` change; ``option`` names where it came from."""

    key: str
    value: str
    option: str = "--set"

    @property
    def label(self) -> str:
        if self.option in ("--set", "--param"):
            return f"{self.option} {self.key}={self.value}"
        return f"{self.option} {self.value}"


def parse_override(text: str, option: str = "--set", file: str = "<override>") -> Override:
    """Split ``dotted.key=value``; a ScenarioError if there is no ``=`` or no key."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ScenarioError([Problem(
            file, "", NOT_SET, f"{option} expects KEY=VALUE (e.g. run.horizon_days=365), "
            f"got {text!r}", None, f"{option} {text}")])
    return Override(key.strip(), value.strip(), option)


def _step_keys(annotation: Any, node: Any) -> tuple[list[str], Any] | None:
    """Keys allowed below a schema type, and how to find the child type (None: a leaf)."""
    annotation = _unwrap(annotation)
    mapping = _dict_member(annotation)
    if mapping is not None and isinstance(node, dict):  # e.g. a per-class service_target
        annotation = mapping
    members = _tagged_members(annotation)
    if members is not None:
        tag = node.get("type") if isinstance(node, dict) else (
            "constant" if isinstance(node, int | float) and not isinstance(node, bool)
            else None)
        if tag in members:
            return _model_keys(members[tag]), members[tag]
        keys = list(dict.fromkeys(k for m in members.values() for k in _model_keys(m)))
        return keys, None
    if _is_model(annotation):
        return _model_keys(annotation), annotation
    if typing.get_origin(annotation) is dict:
        keys = [str(k) for k in node] if isinstance(node, dict) else []
        key_type = _unwrap(typing.get_args(annotation)[0])
        if typing.get_origin(key_type) is typing.Literal:  # fixed labels may be added
            keys += [str(k) for k in typing.get_args(key_type) if str(k) not in keys]
        return keys, annotation
    return None


def _dict_member(annotation: Any) -> Any:
    """The ``dict[...]`` member of a union such as ``float | dict[str, float]``, or None."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return None
    return next((a for a in typing.get_args(annotation) if typing.get_origin(a) is dict),
                None)


def _set_path(data: dict[Any, Any], override: Override, value: Any, file: str) -> \
        Problem | DataPath:
    """Put ``value`` at the override's dotted path in ``data``; a Problem if no such key."""
    parts = override.key.split(".")
    container: Any = data
    annotation: Any = Scenario
    path: list[Key] = []
    i = 0
    while i < len(parts):
        step = _step_keys(annotation, container)
        if step is None or not isinstance(container, dict):
            return Problem(file, _dotted(path), NOT_SET,
                           f"is a single value; it has no sub-key {parts[i]!r}",
                           None, override.label)
        allowed, resolved = step
        is_entries = typing.get_origin(resolved) is dict
        found = None
        for end in range(len(parts), i, -1):  # names may contain dots: longest match first
            candidate = ".".join(parts[i:end])
            if candidate in allowed or candidate in container:
                found = candidate
                break
        if found is None:
            shown = ", ".join(allowed) if allowed else "(none)"
            what = ("no such entry in the scenario; existing keys here" if is_entries
                    else "unknown key; allowed keys here")
            return Problem(file, _dotted([*path, parts[i]]), NOT_SET,
                           f"{what}: {shown}" + _suggest(parts[i], allowed),
                           None, override.label)
        key: Key = found
        if found not in container:  # a key the document spells as a number or a bool
            key = next((k for k in container if str(k) == found), found)
        path.append(key)
        i += found.count(".") + 1
        default = None
        if _is_model(resolved):
            annotation = _model_field(resolved, key)
            default = _field_default(resolved, key)
        elif typing.get_origin(resolved) is dict:
            annotation = typing.get_args(resolved)[1]
        else:
            annotation = None
        if i == len(parts):
            container[key] = value
            break
        child = container.get(key)
        if not isinstance(child, dict):
            # a distribution keeps its type: a bare number is a constant; an absent one
            # starts from the schema default, so ``supplier.lead_time_days.value=3`` works
            is_dist = _tagged_members(_unwrap(annotation)) is not None
            is_number = isinstance(child, int | float) and not isinstance(child, bool)
            if is_dist and is_number:
                child = {"type": "constant", "value": child}
            elif is_dist and child is None and isinstance(default, BaseModel):
                child = default.model_dump(mode="json")
            elif _dict_member(_unwrap(annotation)) is not None and (is_number or child is None):
                # a single value that may also be a mapping (policy.service_target.A=0.98):
                # it becomes the mapping's default
                scalar = child if is_number else default
                child = {} if scalar is None else {"default": scalar}
            else:
                child = {}
            container[key] = child
        container = child
    return tuple(path)


def _apply_overrides(data: dict[Any, Any], overrides: Sequence[str | Override],
                     file: str) -> list[_Applied]:
    """Apply every override in order; a ScenarioError listing each one that is invalid."""
    problems: list[Problem] = []
    applied: list[_Applied] = []
    for item in overrides:
        try:
            override = item if isinstance(item, Override) else parse_override(item, file=file)
        except ScenarioError as exc:
            problems.extend(exc.problems)
            continue
        try:
            value = _parse_yaml(override.value, file, override.label).data
        except ScenarioError as exc:
            detail = exc.problems[0].message
            problems.append(Problem(file, override.key, override.value,
                                    f"cannot read the value as YAML: {detail}", None,
                                    override.label))
            continue
        result = _set_path(data, override, value, file)
        if isinstance(result, Problem):
            problems.append(result)
        else:
            applied.append(_Applied(result, override.label))
    if problems:
        raise ScenarioError(problems)
    return applied


# ------------------------------------------------------------------------- public API


def _validate(data: Any, file: str, lines: Mapping[DataPath, int] | None,
              applied: Sequence[_Applied] = (),
              extra: Sequence[Problem] = ()) -> Scenario:
    """Validate the document; ``lines`` is None when it did not come from a file."""
    problems = list(extra)
    scenario = None
    if not isinstance(data, dict):
        kind = "empty" if data is None else (
            "a list" if isinstance(data, list) else f"a single value ({show_value(data)})")
        problems.append(Problem(
            file, "", NOT_SET, f"the top level must be a mapping of keys (name:, skus:, "
            f"segments:, ...), but it is {kind}", None if data is None or lines is None else 1))
    else:
        try:
            scenario = Scenario.model_validate(data)
        except ValidationError as exc:
            problems.extend(_problems(exc, data, file, lines or {}, applied))
    if problems or scenario is None:
        raise ScenarioError(_sorted(problems))
    return scenario


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


def with_overrides(scenario: Scenario, overrides: Sequence[str | Override],
                   source: str | None = None) -> Scenario:
    """A copy of ``scenario`` with ``dotted.key=value`` overrides applied and validated.

    The same rules and messages as ``--set`` on a file (unknown keys, bad values and values
    out of bounds raise :class:`ScenarioError`); ``source`` names the scenario in messages.
    """
    file = source or f"scenario {scenario.name}"
    data = scenario.model_dump(mode="json")
    applied = _apply_overrides(data, overrides, file)
    return _validate(data, file, None, applied)


def scenario_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> Scenario:
    """Validate a scenario given as plain data; a ScenarioError names ``source``."""
    return _validate(dict(data) if isinstance(data, Mapping) else data, source, None)


def dump_scenario(scenario: Scenario) -> str:
    """The scenario as YAML; :func:`load_scenario` reads it back to an equal scenario."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: 3x faster, same text
    return yaml.dump(
        scenario.model_dump(mode="json"), Dumper=dumper, sort_keys=False, allow_unicode=True,
        default_flow_style=False, width=100,
    )
