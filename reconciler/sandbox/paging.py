"""Keyset pagination with tokens the sandbox can check: a token names its list and holds the sort
key of the last item returned, so a forged one (or one of another list) is refused, as the
service refuses tokens it did not give, instead of failing deep inside a comparison."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from reconciler.sandbox.errors import ServiceError, validation_error

#: The types of a sort key's parts, so that a token's key compares with the items' keys.
KeyTypes = tuple[type, ...]


def _bad_token() -> ServiceError:
    return validation_error("Invalid pagination token: NextToken is not one this API gave.")


def encode_token(operation: str, after: list[Any] | None, nonce: int) -> str:
    document = {"o": operation, "a": after, "n": nonce}
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()


def _fits(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, kind)


def decode_token(token: str, operation: str, types: KeyTypes) -> list[Any] | None:
    """The sort key a token continues after (None: from the start). Anything else, be it from
    another list or made up, is a ValidationException, as the service answers."""
    try:
        document = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (binascii.Error, ValueError, RecursionError):
        raise _bad_token() from None
    if not isinstance(document, dict) or set(document) != {"o", "a", "n"}:
        raise _bad_token()
    after = document["a"]
    if document["o"] != operation or not isinstance(document["n"], int):
        raise _bad_token()
    if after is None:
        return None
    if (
        not isinstance(after, list)
        or len(after) != len(types)
        or not all(_fits(v, t) for v, t in zip(after, types, strict=True))
    ):
        raise _bad_token()
    return after


@dataclass(frozen=True)
class PageRequest:
    """How a list call pages: its name (tokens are not interchangeable), the sort key of its
    items and the key's types, the order, and the default page size."""

    operation: str
    sort_key: Callable[[Any], list[Any]]
    types: KeyTypes
    descending: bool
    default: int


def page(
    items: Iterable[Any], how: PageRequest, params: dict[str, Any], nonce: int, empty: bool
) -> tuple[list[Any], str | None]:
    """Keyset pagination: a token holds the sort key of the last item returned. `empty` answers
    an empty page with a token that continues where this one would have started, as the service
    sometimes does."""
    token = params.get("NextToken")
    after = decode_token(token, how.operation, how.types) if token else None
    if empty:
        return [], encode_token(how.operation, after, nonce)
    key = how.sort_key
    ordered = sorted(items, key=key, reverse=how.descending)
    if after is not None:
        ordered = [i for i in ordered if (key(i) < after if how.descending else key(i) > after)]
    limit = params.get("MaxResults") or how.default
    shown = ordered[:limit]
    if len(ordered) <= limit:
        return shown, None
    return shown, encode_token(how.operation, key(shown[-1]), nonce)
