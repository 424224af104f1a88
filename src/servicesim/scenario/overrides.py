"""Dotted-path overrides (``--set dotted.key=value``): change a scenario document before it is
validated; the path must exist in the schema (or, below ``skus``/``segments``, in the document).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel

from ..errors import NOT_SET, DataPath, Key, Problem, ScenarioError, _suggest
from .schema import Scenario
from .serialise import _parse_yaml
from .validation import (
    _Applied,
    _dotted,
    _field_default,
    _is_model,
    _model_field,
    _model_keys,
    _tagged_members,
    _unwrap,
    _validate,
)

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
            child = _start_mapping(child, annotation, default)
            container[key] = child
        container = child
    return tuple(path)


def _start_mapping(child: Any, annotation: Any, default: Any) -> dict[Any, Any]:
    """The mapping an override descends into where the document has a single value or
    nothing: a distribution keeps its type (a bare number is a constant; an absent one
    starts from the schema default, so ``supplier.lead_time_days.value=3`` works); a single
    value that may also be a mapping (``policy.service_target.A=0.98``) becomes the
    mapping's default."""
    is_dist = _tagged_members(_unwrap(annotation)) is not None
    is_number = isinstance(child, int | float) and not isinstance(child, bool)
    if is_dist and is_number:
        return {"type": "constant", "value": child}
    if is_dist and child is None and isinstance(default, BaseModel):
        return default.model_dump(mode="json")
    if _dict_member(_unwrap(annotation)) is not None and (is_number or child is None):
        scalar = child if is_number else default
        return {} if scalar is None else {"default": scalar}
    return {}


WILDCARD = "*"
"""A key part that stands for every name of a mapping (``locations.*.policy.service_target``)."""


def expand_key(scenario: Scenario, key: str, option: str = "--param",
               source: str | None = None) -> list[str]:
    """The dotted keys that ``key`` names, in order: parts joined by ``+`` each, and a ``*``
    part replaced by every name of the mapping at that point, in the scenario's order
    (``locations.*.policy.service_target`` → one key per location; DOMAIN §7).

    A part that is empty, or a ``*`` below something that is not a mapping of names (or an
    empty one), raises :class:`ScenarioError` naming the option, the part and what is
    allowed; whether the expanded keys exist is checked where they are applied.
    """
    file = source or f"scenario {scenario.name}"
    data = scenario.model_dump(mode="json")
    out: list[str] = []
    problems: list[Problem] = []
    for part in (p.strip() for p in key.split("+")):
        if not part or "" in part.split("."):
            problems.append(Problem(file, key, NOT_SET, "an empty part: join dotted keys with "
                                    "a single + (e.g. locations.north.policy.service_target"
                                    "+locations.south.policy.service_target)", None,
                                    f"{option} {key}"))
            continue
        result = _expand_part(part.split("."), data, Scenario, [], option, file)
        if isinstance(result, Problem):
            problems.append(result)
        else:
            out.extend(k for k in result if k not in out)
    if problems:
        raise ScenarioError(problems)
    return out


def _expand_part(parts: list[str], node: Any, annotation: Any, path: list[str], option: str,
                 file: str) -> list[str] | Problem:
    """The keys one ``+``-free part names below ``node`` (a document mapping, or None)."""
    if WILDCARD not in parts:
        return [".".join([*path, *parts])]
    step = None if annotation is None else _step_keys(annotation,
                                                      node if isinstance(node, dict) else {})
    if parts[0] == WILDCARD:
        resolved = step[1] if step is not None else None
        names = [str(k) for k in node] if isinstance(node, dict) else []
        if typing.get_origin(resolved) is not dict or not names:
            where = _dotted(path) or "the scenario's top level"
            what = (f"{where} has no entries in the scenario" if typing.get_origin(resolved)
                    is dict else f"{where} is not a mapping of names (locations, segments, "
                    "skus, ...)")
            return Problem(file, _dotted([*path, WILDCARD]), NOT_SET,
                           f"* stands for every name of a mapping; {what}", None,
                           f"{option} {'.'.join([*path, *parts])}")
        child_type = typing.get_args(resolved)[1]
        out: list[str] = []
        for name in names:
            result = _expand_part(parts[1:], node[_key_of(node, name)], child_type,
                                  [*path, name], option, file)
            if isinstance(result, Problem):
                return result
            out.extend(result)
        return out
    if step is None:  # a single value below: applying the key gives the usual message
        return [".".join([*path, *parts])]
    allowed, resolved = step
    container = node if isinstance(node, dict) else {}
    end = next((e for e in range(parts.index(WILDCARD), 0, -1)
                if ".".join(parts[:e]) in allowed or ".".join(parts[:e]) in container), None)
    if end is None:  # an unknown name: applying the key gives the usual message
        return [".".join([*path, *parts])]
    name = ".".join(parts[:end])
    if _is_model(resolved):
        child_type = _model_field(resolved, name)
    elif typing.get_origin(resolved) is dict:
        child_type = typing.get_args(resolved)[1]
    else:
        child_type = None
    child = container.get(_key_of(container, name)) if container else None
    return _expand_part(parts[end:], child, child_type, [*path, name], option, file)


def _key_of(mapping: dict[Any, Any], name: str) -> Any:
    """The document's own key for ``name`` (a key the document spells as a number)."""
    return name if name in mapping else next((k for k in mapping if str(k) == name), name)


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
