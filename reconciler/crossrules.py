"""The rules that span documents, checked over everything a target declares on every run (the
manifest cache answers for single files only): unique names, one artifact per Source, the ends of
every edge, one edge per pair of ends, the service's quotas.

Each problem is at a document and a path inside it; the loader places it in the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Set
from itertools import islice
from typing import Any

from reconciler.declared import Declared
from reconciler.foreign import Finding, Where, finding, regionless
from reconciler.kinds import ALL_KINDS, ENTITY_KINDS
from reconciler.kinds.association import EXPERIMENT_RESOURCES, is_arn, resource_of
from reconciler.kinds.manifests import MANIFEST_KINDS
from reconciler.problems import Loc, Problem
from reconciler.words import with_article

NAME_LOC: Loc = ("metadata", "name")
ENDS = ("Source", "Destination")


def check_across(
    declared: Iterable[Declared], invalid: Set[str] = frozenset(), where: Where | None = None
) -> tuple[dict[str, dict[str, Declared]], list[Problem]]:
    """Everything declared by kind and metadata.name (the first of a repeated name), and every
    rule broken across documents. `invalid` holds the names of documents that did not validate
    (reported already): an edge naming one is not said to name nothing. `where`: the account
    and region the manifests are applied to, when known (a target of reconciler.yaml)."""
    breaches: list[Problem] = []
    by_name: dict[str, Declared] = {}
    by_kind: dict[str, dict[str, Declared]] = {kind: {} for kind in ALL_KINDS}
    for item in declared:
        first = by_name.setdefault(item.name, item)
        if first is not item:
            breaches.append(_duplicate_name(item, first))
            continue
        by_kind[item.kind][item.name] = item
    breaches += _artifact_rules(by_kind["Artifact"].values())
    for kind in ENTITY_KINDS.values():
        if kind.addressed_by == "name":  # the service's names are unique: ours must be too
            breaches += _unique_service_names(kind.kind, by_kind[kind.kind].values())
    breaches += _edge_rules(by_kind, invalid)
    if where is not None:
        breaches += foreign_ends(by_kind["Association"].values(), where)
    breaches += _quotas(by_kind)
    return by_kind, breaches


def _duplicate_name(item: Declared, first: Declared) -> Problem:
    what = f"duplicate metadata.name '{item.name}'"
    if first.kind != item.kind:
        what += f" (the name of {with_article(first.kind)}; names are unique across all kinds)"
    return Problem(
        item.path,
        item.document,
        NAME_LOC,
        what + "; first declared at {related}",
        related=(first.path, first.document, NAME_LOC),
    )


# --- artifacts ------------------------------------------------------------------------------------


def _artifact_rules(artifacts: Iterable[Declared]) -> list[Problem]:
    """A second use of a whole Source (an error: the service keeps one artifact per Source), or
    of an ArtifactName (a warning: the service does not enforce it)."""
    breaches: list[Problem] = []
    by_source: dict[tuple[Any, ...], Declared] = {}
    by_artifact_name: dict[str, Declared] = {}
    for item in artifacts:
        first = by_source.setdefault(_source_key(item.spec["Source"]), item)
        if first is not item:
            loc: Loc = ("spec", "Source", "SourceUri")
            breaches.append(
                Problem(
                    item.path,
                    item.document,
                    loc,
                    f"duplicate Source: SourceUri '{item.spec['Source']['SourceUri']}' with the "
                    "same SourceTypes is first declared at {related}; the service keeps one "
                    "artifact per source, so give each its own SourceUri or SourceTypes",
                    related=(first.path, first.document, loc),
                )
            )
        first = by_artifact_name.setdefault(item.spec["ArtifactName"], item)
        if first is not item:
            breaches.append(
                Problem(
                    item.path,
                    item.document,
                    _service_name_loc(item, "ArtifactName"),
                    f"ArtifactName '{item.spec['ArtifactName']}' is also the name of "
                    f"'{first.name}' at {{related}}; the service allows it, but the two are hard "
                    "to tell apart there",
                    related=(first.path, first.document, _service_name_loc(first, "ArtifactName")),
                    warning=True,
                )
            )
    return breaches


def _source_key(source: dict[str, Any]) -> tuple[Any, ...]:
    """The service keeps one artifact per whole Source: its URI and its (canonical, sorted)
    SourceTypes."""
    types = tuple((t["SourceIdType"], t["Value"]) for t in source.get("SourceTypes", ()))
    return (source["SourceUri"], types)


def _service_name_loc(item: Declared, field: str) -> Loc:
    """Where a service name is written: its field, or metadata.name that it defaults to."""
    return ("spec", field) if item.spells_name else NAME_LOC


# --- contexts and actions -------------------------------------------------------------------------


def _unique_service_names(kind: str, items: Iterable[Declared]) -> list[Problem]:
    """Contexts and actions are named uniquely per account and region: a second one with a name
    would fail to create, or, worse, find the first and adopt it."""
    field = ENTITY_KINDS[kind].name_field
    breaches: list[Problem] = []
    by_service_name: dict[str, Declared] = {}
    for item in items:
        first = by_service_name.setdefault(item.spec[field], item)
        if first is not item:
            breaches.append(
                Problem(
                    item.path,
                    item.document,
                    _service_name_loc(item, field),
                    f"{field} '{item.spec[field]}' is also the {field} of '{first.name}' at "
                    f"{{related}}; the service names {kind.lower()}s uniquely in an account and "
                    f"region, so give each its own {field}",
                    related=(first.path, first.document, _service_name_loc(first, field)),
                )
            )
    return breaches


# --- associations ---------------------------------------------------------------------------------


def _edge_rules(by_kind: dict[str, dict[str, Declared]], invalid: Set[str]) -> list[Problem]:
    edges = by_kind["Association"]
    if not edges:
        return []  # nothing to build for 60,000 artifacts and no edge
    entities = {name for kind in ENTITY_KINDS for name in by_kind[kind]}
    by_arn_id = _named_on_the_service(by_kind)
    problems: list[Problem] = []
    by_ends: dict[tuple[str, str], Declared] = {}
    for item in edges.values():
        for end in ENDS:
            undeclared = _undeclared_end(item, end, entities, edges)
            if undeclared is not None and item.spec[end] not in invalid:
                problems.append(undeclared)
            problems.extend(_declared_by_arn(item, end, by_arn_id))
            problems.extend(_end_problem(item, end, regionless))
        problems.extend(_pair_problems(item))
        first = by_ends.setdefault((item.spec["Source"], item.spec["Destination"]), item)
        if first is not item:
            problems.append(_duplicate_edge(item, first))
    return problems


def _pair_problems(item: Declared) -> list[Problem]:
    source, destination = item.spec["Source"], item.spec["Destination"]
    problems = []
    if _both_experiment_entities(source, destination):
        problems.append(
            Problem(
                item.path,
                item.document,
                ("spec",),
                "an association cannot join two experiment entities (experiments and trial "
                "components); the service refuses it",
            )
        )
    if source == destination:
        problems.append(
            Problem(
                item.path,
                item.document,
                ("spec", "Destination"),
                f"an edge from '{source}' to itself; the service documents no rule against it, "
                "but it says nothing about lineage: remove it",
                warning=True,
            )
        )
    return problems


def _duplicate_edge(item: Declared, first: Declared) -> Problem:
    return Problem(
        item.path,
        item.document,
        ("spec", "Source"),
        f"duplicate edge from '{item.spec['Source']}' to '{item.spec['Destination']}': the "
        f"Association '{first.name}' at {{related}} joins the same two; the service keeps one "
        "edge per pair of ends whatever its type, so keep one of them",
        related=(first.path, first.document, ("spec", "Source")),
    )


def foreign_ends(edges: Iterable[Declared], where: Where) -> list[Problem]:
    """The ends written as ARNs of another partition, account or region than `where`: errors
    where the service cannot add the edge, warnings where it may not (foreign.py)."""
    return [
        problem
        for item in edges
        for end in ENDS
        for problem in _end_problem(item, end, lambda arn: finding(arn, where))
    ]


def _end_problem(item: Declared, end: str, check: Callable[[str], Finding | None]) -> list[Problem]:
    reference = item.spec[end]
    found = check(reference) if is_arn(reference) else None
    if found is None:
        return []
    return [
        Problem(
            item.path,
            item.document,
            ("spec", end),
            f"{end} {found.text}",
            warning=not found.error,
        )
    ]


def _named_on_the_service(
    by_kind: dict[str, dict[str, Declared]],
) -> dict[tuple[str, str], Declared]:
    """Declared contexts and actions by what their ARN ends with (`context/NAME`): the
    service addresses them by name."""
    found: dict[tuple[str, str], Declared] = {}
    for kind in ENTITY_KINDS.values():
        if kind.addressed_by == "name":
            for item in by_kind[kind.kind].values():
                found.setdefault((kind.arn_resource, item.spec[kind.name_field]), item)
    return found


def _declared_by_arn(
    item: Declared, end: str, by_arn_id: dict[tuple[str, str], Declared]
) -> list[Problem]:
    """A warning for an ARN end that names a context or an action declared here: written as an
    ARN, the edge does not follow it (it may be added before the entity exists, and is not
    replaced with it)."""
    reference = item.spec[end]
    if not is_arn(reference):
        return []
    resource, _, name = reference.split(":", 5)[-1].partition("/")
    declared = by_arn_id.get((resource, name))
    if declared is None:
        return []
    return [
        Problem(
            item.path,
            item.document,
            ("spec", end),
            f"{end} is the ARN of the {resource} '{name}' that '{declared.name}' declares at "
            f"{{related}}; write '{declared.name}' instead, so that the edge is added after it "
            "and follows it when it is replaced",
            related=(declared.path, declared.document, NAME_LOC),
            warning=True,
        )
    ]


def _undeclared_end(
    item: Declared, end: str, entities: set[str], edges: dict[str, Declared]
) -> Problem | None:
    """A problem with an end that names a manifest: it must name a declared entity."""
    reference = item.spec[end]
    if is_arn(reference) or reference in entities:
        return None
    if reference in edges:
        message = (
            f"{end} '{reference}' is an Association; an edge joins entities (an Artifact, a "
            "Context or an Action), not edges"
        )
    else:
        import difflib  # loaded only for a hint: a valid run never needs it

        hint = difflib.get_close_matches(reference, sorted(entities), n=1, cutoff=0.6)
        message = f"{end} '{reference}' is not declared"
        if hint:
            message += f"; did you mean '{hint[0]}'?"
        else:
            message += (
                f"; declare an Artifact, a Context or an Action named '{reference}', or give "
                "the ARN of an entity reconciler does not manage"
            )
    return Problem(item.path, item.document, ("spec", end), message)


def _both_experiment_entities(source: str, destination: str) -> bool:
    ends = (source, destination)
    return all(is_arn(end) and resource_of(end) in EXPERIMENT_RESOURCES for end in ends)


# --- quotas ---------------------------------------------------------------------------------------


def _quotas(by_kind: dict[str, dict[str, Declared]]) -> list[Problem]:
    """A target is one account and region: declaring more of a kind than the service allows
    there cannot apply. A warning, at the first one too many: the quotas are the documented
    defaults, and an account may hold a raised one."""
    breaches: list[Problem] = []
    for kind, items in by_kind.items():
        quota = MANIFEST_KINDS[kind].quota
        if len(items) <= quota:
            continue
        first_beyond = next(islice(items.values(), quota, None))
        breaches.append(
            Problem(
                first_beyond.path,
                first_beyond.document,
                NAME_LOC,
                f"{kind} number {quota + 1:,} of {len(items):,}: the service allows {quota:,} "
                f"{kind.lower()}s per account and region (its default quota), so apply will "
                "stop at the quota unless the account's was raised",
                warning=True,
            )
        )
    return breaches
