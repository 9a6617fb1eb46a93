"""reconciler.yaml: optional settings at the repository root, overridden by command-line flags."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from reconciler.diagnostics import describe_validation_errors, display_path, place_in_text
from reconciler.errors import Diagnostic, Location, ManifestError, ReconcilerError
from reconciler.placement import refuse_lockfile_among_manifests, refuse_lockfile_link_outside
from reconciler.sensitive import DEFAULT_PATTERN, KeyPattern, PatternError, compile_pattern
from reconciler.targets import TargetContext, TargetSpec, check_targets, contexts, select
from reconciler.yamlio import YamlSyntaxError, load_documents

CONFIG_NAME = "reconciler.yaml"
DEFAULT_MANIFESTS = "manifests"
DEFAULT_LOCKFILE = "artifacts.lock.json"


class ConfigFile(BaseModel):
    """The keys reconciler.yaml may hold. Relative paths are relative to the file's directory."""

    # Built when first used: only a repository with reconciler.yaml needs it.
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)

    manifests: str = DEFAULT_MANIFESTS
    lockfile: str = DEFAULT_LOCKFILE
    #: Properties whose key matches (a regular expression, any case) are shown as (sensitive).
    sensitive_properties: str = DEFAULT_PATTERN
    #: Several accounts and regions, each with its own manifests and lockfile (see targets.py).
    targets: dict[str, TargetSpec] | None = None

    @model_validator(mode="before")
    @classmethod
    def _targets_own_their_paths(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("targets") is not None:
            shared = [key for key in ("manifests", "lockfile") if key in data]
            if shared:
                error = PydanticCustomError(
                    "value_error",
                    "with targets, each target names its own manifests and lockfile; move this "
                    "into the targets",
                )
                raise ValidationError.from_exception_data(
                    cls.__name__,
                    [InitErrorDetails(type=error, loc=(key,), input=data[key]) for key in shared],
                )
        return data

    @field_validator("targets")
    @classmethod
    def _targets(cls, targets: dict[str, TargetSpec] | None) -> dict[str, TargetSpec] | None:
        return None if targets is None else check_targets(targets)

    @field_validator("sensitive_properties")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            compile_pattern(pattern)
        except PatternError as exc:
            raise ValueError(
                f"{pattern!r} is not a pattern reconciler can match ({exc}); it must be a regular "
                "expression in RE2 syntax, which matches in linear time and so has no "
                "backreferences or lookaround"
            ) from None
        return pattern


@dataclass(frozen=True)
class Settings:
    manifests: Path
    lockfile: Path
    config_path: Path | None = None
    sensitive: KeyPattern = field(default_factory=lambda: KeyPattern(DEFAULT_PATTERN))
    #: The target these settings are for, when reconciler.yaml declares targets.
    target: TargetContext | None = None
    #: Keep validated manifest files in .reconciler/cache/ beside the lockfile (--no-cache: off).
    cache: bool = True


def find_config(start: Path) -> Path | None:
    """reconciler.yaml in `start` or its parents, stopping at the repository root (.git)."""
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate
        if (directory / ".git").exists():
            return None
    return None


def find_repository_root(start: Path) -> Path | None:
    """The nearest of `start` and its parents that holds .git, if any."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def read_config(path: Path) -> ConfigFile:
    shown = display_path(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _config_error([Diagnostic(Location(shown, 1, 1), "invalid UTF-8")]) from None
    try:
        documents = load_documents(text)
    except YamlSyntaxError as exc:
        raise _config_error([Diagnostic(Location(shown, exc.line, exc.col), exc.message)]) from None
    if len(documents) > 1:
        raise _config_error([Diagnostic(Location(shown, 1, 1), "expected a single YAML document")])
    document = documents[0] if documents else None
    if document is None:
        return ConfigFile()
    if not isinstance(document, dict):
        raise _config_error(
            [Diagnostic(Location(shown, 1, 1), "reconciler.yaml must be a mapping of settings")]
        )
    try:
        return ConfigFile.model_validate(document)
    except ValidationError as exc:
        problems = describe_validation_errors(shown, 0, exc.errors(), ConfigFile)
        diagnostics = [place_in_text(shown, text, problem) for problem in problems]
        raise _config_error(diagnostics) from None


def _config_error(diagnostics: list[Diagnostic]) -> ManifestError:
    return ManifestError(diagnostics, what=CONFIG_NAME)


def resolve_settings(
    manifests: str | None, lockfile: str | None, cwd: Path | None = None
) -> Settings:
    """Flags win over reconciler.yaml, which wins over the defaults."""
    cwd = cwd or Path.cwd()
    config_path = find_config(cwd)
    if config_path is None:
        root = find_repository_root(cwd)
        config = ConfigFile.model_construct()  # the defaults: nothing to validate
        base = Path(".") if root is None else _relative_or_absolute(root, cwd)
    else:
        config = read_config(config_path)
        base = _relative_or_absolute(config_path.parent, cwd)
        _refuse_paths_outside(config_path, config)
    settings = Settings(
        manifests=Path(manifests) if manifests is not None else base / config.manifests,
        lockfile=Path(lockfile) if lockfile is not None else base / config.lockfile,
        config_path=config_path,
        sensitive=KeyPattern(config.sensitive_properties),  # checked by ConfigFile
    )
    refuse_lockfile_among_manifests(settings.lockfile, [settings.manifests])
    if lockfile is None:
        root = find_repository_root(cwd) or (config_path.parent if config_path else None)
        refuse_lockfile_link_outside(settings.lockfile, root)
    return settings


def _refuse_paths_outside(config_path: Path, config: ConfigFile) -> None:
    """A pull request can change reconciler.yaml: its paths may not lead out of the repository
    (to the files of the machine that runs the plan). Flags are the operator's, and free."""
    root = (find_repository_root(config_path.parent) or config_path.parent).resolve()
    for key, value in (("manifests", config.manifests), ("lockfile", config.lockfile)):
        if not (config_path.parent / value).resolve().is_relative_to(root):
            raise ReconcilerError(
                f"{display_path(config_path)}: '{key}' leads outside the repository "
                f"({(config_path.parent / value).resolve()}); keep the manifests and the "
                f"lockfile inside it, or pass --{key} to use another place"
            )


def _relative_or_absolute(directory: Path, cwd: Path) -> Path:
    try:
        relative = cwd.resolve().relative_to(directory.resolve())
    except ValueError:
        return directory
    return Path(*([".."] * len(relative.parts))) if relative.parts else Path(".")


def resolve_targets(
    names: tuple[str, ...],
    manifests: str | None = None,
    lockfile: str | None = None,
    cwd: Path | None = None,
) -> list[Settings]:
    """The settings of every target selected by `names` (all when empty); without targets in
    reconciler.yaml, the one implicit target, exactly as resolve_settings gives it."""
    cwd = cwd or Path.cwd()
    config_path = find_config(cwd)
    config = read_config(config_path) if config_path is not None else None
    if config is None or config.targets is None:
        if names:
            raise ReconcilerError(
                "--target needs targets declared in reconciler.yaml; without them there is one "
                "target: drop --target"
            )
        return [resolve_settings(manifests, lockfile, cwd)]
    assert config_path is not None
    if manifests is not None or lockfile is not None:
        raise ReconcilerError(
            "--manifests and --lockfile cannot be used when reconciler.yaml declares targets: "
            "each target has its own; choose targets with --target"
        )
    base = _relative_or_absolute(config_path.parent, cwd)
    sensitive = KeyPattern(config.sensitive_properties)  # checked by ConfigFile
    chosen = select(contexts(config.targets, base), names)
    root = find_repository_root(config_path.parent) or config_path.parent
    for target in chosen:
        refuse_lockfile_among_manifests(target.lockfile, target.manifests)
        refuse_lockfile_link_outside(target.lockfile, root)
    return [
        Settings(
            manifests=target.manifests[0],
            lockfile=target.lockfile,
            config_path=config_path,
            sensitive=sensitive,
            target=target,
        )
        for target in chosen
    ]
