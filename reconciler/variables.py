"""${...} in manifests of targets: `${vars.NAME}`, `${target.name}`, `${target.account}` and
`${target.region}`, in string values only (never in keys). `$${` writes a literal `${`.

Only manifests read for a target declared in reconciler.yaml are substituted; without targets,
manifests are read exactly as written.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

#: `$${` (an escaped, literal `${`), or `${` and what follows up to the next `}`, if any.
PLACEHOLDER = re.compile(r"\$\$\{|\$\{([^}]*)(\}?)")
MARK = "${"
TARGET_FIELDS = ("name", "account", "region")

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]


def _unknown(name: str, values: Mapping[str, str]) -> str:
    message = f"unknown variable ${{{name}}}"
    if name.startswith("vars."):
        defined = sorted(key.removeprefix("vars.") for key in values if key.startswith("vars."))
        close = difflib.get_close_matches(name, [f"vars.{d}" for d in defined], n=1)
        if close:
            return message + f" (did you mean ${{{close[0]}}}?)"
        if defined:
            return message + f"; the target's vars are: {', '.join(defined)}"
        return message + "; the target declares no vars (add them under 'vars' in reconciler.yaml)"
    close = difflib.get_close_matches(name, [f"target.{f}" for f in TARGET_FIELDS], n=1)
    if close:
        return message + f" (did you mean ${{{close[0]}}}?)"
    return (
        message + "; use ${vars.NAME}, ${target.name}, ${target.account} or ${target.region} "
        "(write $${ for a literal ${)"
    )


def substitute_text(text: str, values: Mapping[str, str]) -> tuple[str, list[str]]:
    """`text` with its placeholders replaced, and a message for each that cannot be."""
    problems: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, closed = match.group(1), match.group(2)
        if not closed:
            problems.append(
                "'${' is not closed by '}'; write ${vars.NAME}, or $${ for a literal ${"
            )
            return match.group(0)
        value = values.get(name.strip())
        if value is None:
            problems.append(_unknown(name.strip(), values))
            return match.group(0)
        return value

    return PLACEHOLDER.sub(replace, text), problems


def substitute(document: Any, values: Mapping[str, str]) -> tuple[Any, list[Problem]]:
    """The document with placeholders in its string values replaced (a copy where anything
    changed; the document itself is left alone), and the problems found, by place."""
    problems: list[Problem] = []
    return _walk(document, (), values, problems), problems


def _walk(node: Any, loc: Loc, values: Mapping[str, str], problems: list[Problem]) -> Any:
    if isinstance(node, str):
        if "$" not in node:
            return node
        text, messages = substitute_text(node, values)
        problems.extend((loc, message) for message in messages)
        return text
    if isinstance(node, dict):
        changed = {key: _walk(value, (*loc, key), values, problems) for key, value in node.items()}
        same = all(changed[key] is value for key, value in node.items())
        return node if same else changed
    if isinstance(node, list):
        items = [_walk(item, (*loc, index), values, problems) for index, item in enumerate(node)]
        return node if all(a is b for a, b in zip(items, node, strict=True)) else items
    return node
