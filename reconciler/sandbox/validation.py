"""Request validation driven by botocore's bundled service model, as the service does it.

botocore checks only required members, types and minimums before sending; the service checks
the rest (maximums, patterns, enums, list and map sizes) and answers ValidationException. The
rules are read from the model at run time, so they follow botocore when it changes.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

import regex
from botocore.model import ListShape, MapShape, Shape, StructureShape


class SerializationError(Exception):
    """A value of the wrong JSON type: the service answers SerializationException."""


#: What Java's `.` matches (without DOTALL): anything but a line terminator.
JAVA_DOT = r"[^\n\r\u0085\u2028\u2029]"


@cache
def _compiled(pattern: str) -> Any:
    # The service's patterns are Java regular expressions matched in full; the `regex` module
    # knows the \p{L}-style classes they use, but its `.` stops only at LF.
    return regex.compile(java_dots(pattern), flags=regex.VERSION1)


def java_dots(pattern: str) -> str:
    """`pattern` with every `.` outside a character class spelt as Java means it."""
    out: list[str] = []
    depth = 0  # inside [...] (VERSION1 allows nested classes, as Java does)
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
        out.append(JAVA_DOT if char == "." and not depth else char)
        index += 1
    return "".join(out)


def validate(shape: StructureShape, value: Any) -> list[str]:
    """Constraint violations of `value` against `shape`, in the service's words."""
    errors: list[str] = []
    if not isinstance(value, dict):
        raise SerializationError("Start of structure or map found where not expected.")
    _structure(shape, value, "", errors)
    return errors


def message(errors: list[str]) -> str:
    count = len(errors)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(errors)


def _path(prefix: str, name: str) -> str:
    member = name[:1].lower() + name[1:]
    return f"{prefix}.{member}" if prefix else member


def _structure(
    shape: StructureShape, value: dict[str, Any], prefix: str, errors: list[str]
) -> None:
    for name in shape.required_members:
        if value.get(name) is None:
            errors.append(
                f"Value null at '{_path(prefix, name)}' failed to satisfy constraint: "
                "Member must not be null"
            )
    for name, member_value in value.items():
        member = shape.members.get(name)
        if member is None or member_value is None:
            continue  # the service ignores members it does not know
        _value(member, member_value, _path(prefix, name), errors)


def _value(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise SerializationError(f"Expected an object at '{path}'.")
        assert isinstance(shape, StructureShape)
        _structure(shape, value, path, errors)
    elif kind == "list":
        if not isinstance(value, list):
            raise SerializationError(f"Expected a list at '{path}'.")
        assert isinstance(shape, ListShape)
        _size(shape, len(value), value, path, errors)
        for index, item in enumerate(value, start=1):
            _value(shape.member, item, f"{path}.{index}.member", errors)
    elif kind == "map":
        if not isinstance(value, dict):
            raise SerializationError(f"Expected an object at '{path}'.")
        assert isinstance(shape, MapShape)
        _size(shape, len(value), value, path, errors)
        for key, item in value.items():
            _map_entry(shape, key, item, path, errors)
    elif kind == "string":
        if not isinstance(value, str):
            raise SerializationError(f"Expected a string at '{path}'.")
        _string(shape, value, path, errors)
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SerializationError(f"Expected an integer at '{path}'.")
        _range(shape, value, path, errors)
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise SerializationError(f"Expected a boolean at '{path}'.")
    elif kind == "timestamp" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise SerializationError(f"Expected a timestamp (epoch seconds) at '{path}'.")


def _map_entry(shape: MapShape, key: Any, item: Any, path: str, errors: list[str]) -> None:
    inner: list[str] = []
    _value(shape.key, key, path, inner)
    if inner:
        errors.append(
            f"Value at '{path}' failed to satisfy constraint: Map keys must satisfy "
            f"constraint: [{_constraints(inner)}]"
        )
    inner = []
    if item is None:
        inner.append("Member must not be null")
    else:
        _value(shape.value, item, path, inner)
    if inner:
        errors.append(
            f"Value at '{path}' failed to satisfy constraint: Map value must satisfy "
            f"constraint: [{_constraints(inner)}]"
        )


def _violation(value: Any, path: str, constraint: str) -> str:
    """One constraint failure, in the service's words."""
    return f"Value '{value}' at '{path}' failed to satisfy constraint: {constraint}"


def _constraints(errors: list[str]) -> str:
    return ", ".join(e.split("failed to satisfy constraint: ", 1)[-1] for e in errors)


def _size(shape: Shape, size: int, value: Any, path: str, errors: list[str]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    shown = _shown(value)
    if high is not None and size > high:
        errors.append(
            _violation(shown, path, f"Member must have length less than or equal to {high}")
        )
    if low is not None and size < low:
        errors.append(
            _violation(shown, path, f"Member must have length greater than or equal to {low}")
        )


def _string(shape: Shape, value: str, path: str, errors: list[str]) -> None:
    _size(shape, len(value), value, path, errors)
    enum: list[str] = getattr(shape, "enum", [])
    if enum and value not in enum:
        errors.append(
            _violation(value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]")
        )
    pattern = shape.metadata.get("pattern")
    if pattern is not None and _compiled(pattern).fullmatch(value) is None:
        errors.append(
            _violation(value, path, f"Member must satisfy regular expression pattern: {pattern}")
        )


def _range(shape: Shape, value: int, path: str, errors: list[str]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if high is not None and value > high:
        errors.append(
            _violation(value, path, f"Member must have value less than or equal to {high}")
        )
    if low is not None and value < low:
        errors.append(
            _violation(value, path, f"Member must have value greater than or equal to {low}")
        )


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return str(value)


def conforms(shape: Shape, value: Any, path: str = "") -> list[str]:
    """Where an output `value` strays from `shape`: unknown members or wrong types (for tests)."""
    problems: list[str] = []
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        if not isinstance(value, dict):
            return [f"{path or 'output'}: expected an object"]
        for name, item in value.items():
            if name not in shape.members:
                problems.append(f"{path}.{name}: not in the output shape {shape.name}")
            else:
                problems.extend(conforms(shape.members[name], item, f"{path}.{name}"))
    elif kind == "list":
        assert isinstance(shape, ListShape)
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        for index, item in enumerate(value):
            problems.extend(conforms(shape.member, item, f"{path}[{index}]"))
    elif kind == "map":
        assert isinstance(shape, MapShape)
        if not isinstance(value, dict):
            return [f"{path}: expected an object"]
        for key, item in value.items():
            problems.extend(conforms(shape.value, item, f"{path}.{key}"))
    elif kind == "timestamp":
        if not isinstance(value, (int, float, dt.datetime)) or isinstance(value, bool):
            problems.append(f"{path}: expected a timestamp")
    else:
        errors: list[str] = []
        try:
            _value(shape, value, path, errors)
        except SerializationError as exc:
            errors.append(str(exc))
        problems.extend(f"{path}: {e}" for e in errors)
    return problems
