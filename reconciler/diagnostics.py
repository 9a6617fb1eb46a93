"""pydantic's errors in a manifest (or in reconciler.yaml) as problems in plain words, with
did-you-mean hints.

Problems are found on the fast path (no positions) and placed afterwards by placing.py, composing
only the files that have one.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from reconciler import limits
from reconciler.kinds.association import REFERENCE_PATTERN, is_arn
from reconciler.kinds.context import CONTEXT_NAME_PATTERN
from reconciler.kinds.manifests import MANIFEST_KINDS
from reconciler.models import Manifest
from reconciler.problems import Loc, Problem, close_match, kind_of
from reconciler.textsafe import quoted
from reconciler.words import with_article

# --- turning pydantic errors into messages -------------------------------------------------------

_PATTERN_MEANING = {
    limits.NAME_PATTERN: (
        "must be letters, digits and hyphens, starting and ending with a letter or digit"
    ),
    limits.TAG_PATTERN: "may hold only letters, digits, spaces and the characters _ . : / = + - @",
    limits.SINGLE_LINE_PATTERN: "must be a single line",
    CONTEXT_NAME_PATTERN: (
        "must be letters, digits, hyphens and underscores, starting and ending with a letter or "
        "digit"
    ),
}


def _reference_meaning(value: Any) -> str:
    """What an Association end must be, for the value given."""
    if isinstance(value, str) and is_arn(value):
        return (
            "must be an ARN AddAssociation accepts: arn:aws:sagemaker:REGION:ACCOUNT:TYPE/ID, "
            "where TYPE is artifact, context, action, experiment or experiment-trial-component"
        )
    return (
        "must be the metadata.name of a declared Artifact, Context or Action (letters, digits "
        "and hyphens) or an ARN"
    )


def describe_validation_errors(
    shown: str, index: int, errors: list[ErrorDetails], root: type[BaseModel] = Manifest
) -> list[Problem]:
    """Problems for pydantic's errors, minus a "missing X" that a misspelt X already explains."""
    misspelt: set[Loc] = set()
    for error in errors:
        if error["type"] == "extra_forbidden":
            loc = tuple(error["loc"])
            hint = _field_hint(loc, root)
            if hint is not None:
                misspelt.add((*loc[:-1], hint))
    return [
        describe_validation_error(shown, index, error, root)
        for error in errors
        if not (error["type"] == "missing" and tuple(error["loc"]) in misspelt)
    ]


def describe_validation_error(
    shown: str, index: int, error: ErrorDetails, root: type[BaseModel] = Manifest
) -> Problem:
    """A pydantic error as a problem with a plain-words message, not yet placed in the file."""
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    where = _dotted(loc)
    ctx = error.get("ctx", {})
    value = error.get("input")
    if kind == "extra_forbidden":
        return Problem(shown, index, loc, _unknown_field(loc, root), at_key=True)
    if kind == "missing":
        parent = _dotted(loc[:-1]) or "the manifest"
        return Problem(shown, index, loc[:-1], f"{parent}: missing required field '{loc[-1]}'")
    if kind == "string_type" and loc and loc[-1] == "[key]":
        return Problem(
            shown,
            index,
            loc,
            f"{_dotted(loc[:-2])}: keys must be strings; quote the key",
        )
    if kind == "string_type" and isinstance(value, (list, dict)):
        if root is MANIFEST_KINDS["Association"].model and loc[:1] == ("spec",):
            return Problem(shown, index, loc, _end_not_a_string(where, value))
        return Problem(shown, index, loc, _not_a_string(where, loc, value))
    if kind == "string_type":
        return Problem(
            shown,
            index,
            loc,
            f"{where} must be a string, not {kind_of(value)}; quote it",
            quote_hint=True,
        )
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        given = kind_of(value) if isinstance(value, (list, dict)) else quoted(value)
        message = f"{where} must be {expected}, not {given}"
        hint = close_match(
            str(value),
            [e.strip("'\" ") for e in expected.replace(" or ", ",").split(",")],
        )
        if hint:
            message += f" (did you mean '{hint}'?)"
        return Problem(shown, index, loc, message)
    if kind == "string_too_long":
        return Problem(
            shown,
            index,
            loc,
            f"{where} is {len(value)} characters long; the limit is {ctx['max_length']}",
        )
    if kind == "string_too_short":
        return Problem(shown, index, loc, f"{where} must not be empty")
    if kind == "too_long":
        return Problem(shown, index, loc, _too_many(loc, ctx, value))
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        if pattern == REFERENCE_PATTERN:
            meaning = _reference_meaning(value)
        else:
            meaning = _PATTERN_MEANING.get(pattern, f"must match {pattern}")
        return Problem(shown, index, loc, f"{where} {meaning}; got {quoted(value)}")
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return Problem(shown, index, loc, f"{where} must be a mapping, not {kind_of(value)}")
    if kind == "list_type":
        return Problem(shown, index, loc, f"{where} must be a list, not {kind_of(value)}")
    if kind == "value_error":
        message = str(ctx.get("error", error["msg"]))
        return Problem(shown, index, loc, f"{where}: {message}")
    return Problem(shown, index, loc, f"{where}: {error['msg']}")


def _not_a_string(where: str, loc: Loc, value: list[Any] | dict[str, Any]) -> str:
    """Quoting fits a scalar; a list or a mapping has to be written another way."""
    message = f"{where} must be a string, not {kind_of(value)}; "
    if isinstance(value, dict):
        return message + "write it as one string, or as several properties"
    items = [str(item) for item in value if not isinstance(item, (list, dict))]
    joined = ", ".join(items)
    example = f'{loc[-1] if loc else "key"}: "{joined}"'
    if len(items) != len(value) or not items or not _fits_a_hint(joined, example):
        return message + "write the items as one string"
    return message + f"write the items as one string: {example}"


def _end_not_a_string(where: str, value: list[Any] | dict[str, Any]) -> str:
    return (
        f"{where} must be a string, not {kind_of(value)}: one end, the metadata.name of a "
        "declared Artifact, Context or Action, or an ARN (an Association is one edge: declare one "
        "for each pair of ends)"
    )


def _fits_a_hint(joined: str, example: str) -> bool:
    """Whether the example can be shown as is: short, one line, nothing to escape."""
    plain = '"' not in joined and "\\" not in joined
    return plain and len(example) <= 80 and example.isprintable()


def _too_many(loc: Loc, ctx: dict[str, Any], value: Any) -> str:
    count = len(value) if hasattr(value, "__len__") else ctx.get("actual_length")
    if loc[-1] == "Tags":
        return (
            f"spec.Tags has {count} tags; the limit is {limits.TAGS_MAX} "
            "(the service allows 50, two of which are the ownership tags "
            f"'{limits.OWNERSHIP_TAG_KEY}' and '{limits.LINEAGE_TAG_KEY}')"
        )
    return f"{_dotted(loc)} has {count} entries; the limit is {ctx['max_length']}"


def _unknown_field(loc: Loc, root: type[BaseModel]) -> str:
    name = str(loc[-1])
    allowed = _allowed_fields(loc[:-1], root)
    message = f"unknown field '{name}'"
    parent = _dotted(loc[:-1])
    if parent:
        message += f" in {parent}"
    elsewhere = _field_of_other_kinds(loc, root)
    if elsewhere is not None:
        this, owners, same_role = elsewhere
        named = " and ".join(with_article(owner) for owner in owners)
        verb = "has" if len(owners) == 1 else "have"
        message += f": {with_article(this)} has no {name} ({named} {verb})"
        return message + (f"; did you mean '{same_role}'?" if same_role else "")
    hint = close_match(name, allowed)
    if hint:
        return message + f" (did you mean '{hint}'?)"
    if allowed:
        return message + f"; expected one of: {', '.join(allowed)}"
    return message


def _field_hint(loc: Loc, root: type[BaseModel]) -> str | None:
    """The field an unknown one at `loc` most likely meant, if any."""
    elsewhere = _field_of_other_kinds(loc, root)
    if elsewhere is not None:
        return elsewhere[2]  # not a close spelling: `Status` in a Context is not `Tags`
    return close_match(str(loc[-1]), _allowed_fields(loc[:-1], root))


def _field_of_other_kinds(
    loc: Loc, root: type[BaseModel]
) -> tuple[str, list[str], str | None] | None:
    """For an unknown field of a spec that the spec of another kind has: this kind, the kinds
    that have it, and this kind's field of the same role (for ArtifactType in a Context,
    ContextType)."""
    this = next((kind for kind, table in MANIFEST_KINDS.items() if table.model is root), None)
    if this is None or len(loc) != 2 or loc[0] != "spec":
        return None
    name = str(loc[1])
    owners = [
        kind
        for kind, table in MANIFEST_KINDS.items()
        if kind != this and name in _allowed_fields(("spec",), table.model)
    ]
    if not owners:
        return None
    own = _allowed_fields(("spec",), root)
    same_role = next(
        (
            name.replace(owner, this, 1)
            for owner in owners
            if name.startswith(owner) and name.replace(owner, this, 1) in own
        ),
        None,
    )
    return this, owners, same_role


def _allowed_fields(loc: Loc, root: type[BaseModel]) -> list[str]:
    """Field names of the model at `loc`, walking the fields of `root`."""
    model: type[BaseModel] | None = root
    keyed = False  # the field just entered is a mapping of models: the next part is its key
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int) or keyed:
            keyed = False
            continue
        info = model.model_fields.get(str(part))
        model = _model_in(info.annotation) if info is not None else None
        keyed = info is not None and _is_mapping(info.annotation)
    return list(model.model_fields) if model is not None else []


def _is_mapping(annotation: Any) -> bool:
    if getattr(annotation, "__origin__", None) is dict:
        return True
    return any(_is_mapping(arg) for arg in getattr(annotation, "__args__", ()))


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            continue
        else:
            out += ("." if out else "") + str(part)
    return out
