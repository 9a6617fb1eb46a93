"""Which property keys are sensitive: the `sensitive_properties` pattern, matched by RE2.

Read with reconciler.yaml by every command; redact.py hides what it matches in what is shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import re2

DEFAULT_PATTERN = "secret|password|token|credential"


class PatternError(ValueError):
    """A sensitive_properties pattern that RE2 cannot compile (the reason, in one phrase)."""


def _options() -> re2.Options:
    import re2

    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # RE2 would also print the error to stderr
    return options


class KeyPattern:
    """The sensitive_properties pattern, matched by RE2 (Google's linear-time engine): a pull
    request can change reconciler.yaml, and a backtracking engine takes centuries on (a+)+$ and a
    long key. The answer is remembered per key (plans repeat the same few keys over thousands of
    artifacts). Compiled when first needed: a run that shows no property never loads RE2."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled: re2._Regexp | None = None
        self._known: dict[str, bool] = {}

    def compiled(self) -> re2._Regexp:
        """Raises PatternError when RE2 cannot compile the pattern."""
        if self._compiled is None:
            import re2

            try:
                self._compiled = re2.compile(self.pattern, _options())
            except re2.error as exc:
                raise PatternError(_reason(exc)) from None
        return self._compiled

    def search(self, key: str) -> bool:
        found = self._known.get(key)
        if found is None:
            found = self.compiled().search(key) is not None
            self._known[key] = found
        return found


def _reason(exc: re2.error) -> str:
    detail = exc.args[0] if exc.args else "not a regular expression"
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    return str(detail)


def compile_pattern(pattern: str) -> KeyPattern:
    """Raises PatternError when RE2 cannot compile the pattern (not a regular expression, or one
    that needs backtracking: backreferences, lookaround)."""
    checked = KeyPattern(pattern)
    checked.compiled()
    return checked
