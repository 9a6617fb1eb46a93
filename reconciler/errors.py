"""Errors and diagnostics shared by every stage."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Location:
    """A 1-based position in a file."""

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem found in the user's input, with where it is."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class ReconcilerError(Exception):
    """A problem the user can fix; the CLI prints its message and exits 1, without a traceback."""


class ManifestError(ReconcilerError):
    """Manifests that did not validate. Carries every diagnostic of the run."""

    def __init__(
        self,
        diagnostics: list[Diagnostic],
        what: str = "the manifests",
        warnings: list[Diagnostic] | None = None,
    ) -> None:
        self.diagnostics = sorted(diagnostics)
        self.what = what
        #: Found along the way; they alone would not have failed the run.
        self.warnings = sorted(warnings or [])
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class LockfileError(ReconcilerError):
    """The lockfile could not be read or is not one this version understands."""
