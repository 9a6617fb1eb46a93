"""Associations of a replaced artifact: taken off before it is deleted, put back on its successor.

They are journaled (then kept in the lockfile's `detached`) before the first is removed, so a
replace that fails or is killed between the delete and the create loses none of them: the next
apply puts them back once the new artifact exists.
"""

from __future__ import annotations

from typing import Any

from reconciler.lockfile import Detached, Entry


def edge(summary: dict[str, Any]) -> dict[str, str]:
    """An association as it must be recreated: its ends and its type."""
    out = {"SourceArn": summary["SourceArn"], "DestinationArn": summary["DestinationArn"]}
    if summary.get("AssociationType"):
        out["AssociationType"] = summary["AssociationType"]
    return out


def reattach_requests(
    name: str, detached: dict[str, Detached], entries: dict[str, Entry]
) -> list[dict[str, str]] | None:
    """The AddAssociation requests that put `name`'s associations back, with every replaced
    end mapped to its successor's ARN; None while a successor (its own, or the other end's when
    that was replaced too) does not exist yet."""
    successors: dict[str, str | None] = {}
    for owner, record in detached.items():
        current = entries.get(owner)
        for arn in record.arns:
            successors[arn] = current.arn if current is not None else None
    requests: list[dict[str, str]] = []
    for association in detached[name].associations:
        request = dict(association)
        for end in ("SourceArn", "DestinationArn"):
            if association[end] in successors:
                successor = successors[association[end]]
                if successor is None:
                    return None
                request[end] = successor
        requests.append(request)
    return requests
