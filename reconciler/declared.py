"""What the manifests declare, validated and canonical: one `Declared` per document, and the
`DesiredState` of a manifests directory (or a target's directories)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from reconciler.errors import Diagnostic, ManifestError
from reconciler.kinds import ALL_KINDS
from reconciler.words import counted

if TYPE_CHECKING:
    from reconciler.foreign import Where

#: Checks the edges' ARN ends against an account and region: (errors, warnings), placed.
EndChecks = Callable[["Where"], tuple[list[Diagnostic], list[Diagnostic]]]


@dataclass(frozen=True, slots=True)
class Declared:
    """One validated manifest, canonical, and where it was declared."""

    name: str
    path: str
    document: int
    spec: dict[str, Any]
    #: Whether the spec spells out its service name (ArtifactName, ContextName, ActionName),
    #: else it defaults to metadata.name: where to point a problem with that name.
    spells_name: bool
    #: The manifest's `kind`.
    kind: str = "Artifact"


@dataclass(frozen=True)
class DesiredState:
    """Everything declared, by kind and metadata.name, and a digest of the files it came from."""

    #: kind -> metadata.name -> Declared, for every kind of ALL_KINDS (empty when none).
    declared: dict[str, dict[str, Declared]]
    digest: str
    files: int = 0
    #: Problems that do not make the manifests invalid (a repeated ArtifactName).
    warnings: tuple[Diagnostic, ...] = ()
    #: When the account and region were not known at loading and an edge has an ARN end: the
    #: check of those ends against them, for when they are (see `against`).
    check_ends: EndChecks | None = None

    def against(self, where: Where) -> DesiredState:
        """The state, with the warnings of its edges' ARN ends in `where`; a ManifestError when
        an end is one the service cannot add there. Checked once: the state returned knows."""
        if self.check_ends is None:
            return self
        errors, warnings = self.check_ends(where)
        everything = sorted({*self.warnings, *warnings})
        if errors:
            raise ManifestError(errors, warnings=everything)
        return replace(self, warnings=tuple(everything), check_ends=None)

    @property
    def artifacts(self) -> dict[str, Declared]:
        return self.declared["Artifact"]

    def specs(self) -> dict[str, dict[str, Any]]:
        """The artifacts: metadata.name -> canonical spec."""
        return {name: declared.spec for name, declared in self.artifacts.items()}

    def by_kind(self) -> dict[str, dict[str, dict[str, Any]]]:
        """kind -> metadata.name -> canonical spec, for every kind of ALL_KINDS."""
        return {
            kind: {name: item.spec for name, item in self.declared[kind].items()}
            for kind in ALL_KINDS
        }

    def named(self, name: str) -> Declared | None:
        """The manifest of any kind with this metadata.name."""
        for items in self.declared.values():
            if name in items:
                return items[name]
        return None

    def counts(self) -> dict[str, int]:
        """How many of each kind are declared (every kind of ALL_KINDS)."""
        return {kind: len(self.declared[kind]) for kind in ALL_KINDS}

    def phrase(self) -> str:
        """What is declared, in words: "9 artifacts", "2 artifacts, 1 context and 3
        associations" (each kind declared; "0 artifacts" when nothing is)."""
        parts = [counted(n, kind.lower()) for kind, n in self.counts().items() if n]
        if len(parts) <= 1:
            return parts[0] if parts else counted(0, "artifact")
        return f"{', '.join(parts[:-1])} and {parts[-1]}"

    def total(self) -> int:
        """How many manifests are declared, of every kind."""
        return sum(self.counts().values())
