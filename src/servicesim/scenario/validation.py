"""Validation of scenario data with planner-readable problems: every pydantic error becomes a
:class:`~servicesim.errors.Problem` naming the key path, the line, the value and what is allowed::

    scenarios/x.yaml:14: segments.retail.reactions: value {wait: 0.2, switch: 0.7}: wait +
    backorder + switch + defect must sum to 1, got 0.9
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel, ValidationError

from ..errors import NOT_SET, DataPath, Key, Problem, ScenarioError, _flow, _suggest, show_value
from .distributions import DISTRIBUTION_TYPES
from .schema import CURRENCY_PATTERN, Scenario

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
    return _shape_message(err, where) or _value_message(err, where)


def _shape_message(err: Mapping[str, Any], where: _Location) -> str | None:
    """The message of a key that is unknown or missing, or of a mapping or distribution of
    the wrong shape; None for any other error."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
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
    return None


def _value_message(err: Mapping[str, Any], where: _Location) -> str:
    """The message of a bad value: a name, a type, a choice, a bound or a length."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if where.is_key:
        if isinstance(value, bool):
            return (f"not a valid name; {_NAME_RULE}. YAML reads yes/no/on/off as "
                    "true/false: put the name in quotes")
        return f"not a valid name; {_NAME_RULE}"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == CURRENCY_PATTERN:
        return "not a currency code; use a three-letter ISO 4217 code such as EUR or USD"
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


def scenario_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> Scenario:
    """Validate a scenario given as plain data; a ScenarioError names ``source``."""
    return _validate(dict(data) if isinstance(data, Mapping) else data, source, None)
