"""reconciler.yaml: optional settings at the repository root, overridden by command-line flags.

The file is validated by configfile.py (pydantic and the YAML parser), and what it validates to is
kept in the cache beside it (`.reconciler/cache/config.json`, keyed by the file's bytes, like the
manifest cache), so that a run on an unchanged repository loads neither.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.cache import read_entries, tool_key, write_entries
from reconciler.errors import ReconcilerError
from reconciler.placement import refuse_lockfile_among_manifests, refuse_lockfile_link_outside
from reconciler.problems import display_path
from reconciler.sensitive import DEFAULT_PATTERN, KeyPattern

if TYPE_CHECKING:
    from reconciler.targets import TargetContext

CONFIG_NAME = "reconciler.yaml"
DEFAULT_MANIFESTS = "manifests"
DEFAULT_LOCKFILE = "artifacts.lock.json"


#: The modules whose code decides what reconciler.yaml validates to.
_DECIDING_MODULES = (
    "config.py",
    "configfile.py",
    "targets.py",
    "sensitive.py",
    "yamlio.py",
    "cache.py",
)
#: Besides the libraries that parse and validate: RE2 decides whether sensitive_properties is a
#: pattern it can match (found where it is installed, not imported: a run that shows no
#: property never loads it).
_DECIDING_LIBRARIES = ("re2",)


@dataclass(frozen=True)
class Config:
    """reconciler.yaml's settings, validated. Paths are as written: relative to the file."""

    manifests: str = DEFAULT_MANIFESTS
    lockfile: str = DEFAULT_LOCKFILE
    #: Properties whose key matches (a regular expression, any case) are shown as (sensitive).
    sensitive_properties: str = DEFAULT_PATTERN
    #: Several accounts and regions (see targets.py); their paths relative to the file too.
    targets: tuple[TargetContext, ...] | None = None


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


def read_config(path: Path, *, cache: bool = True) -> Config:
    """reconciler.yaml validated: from the cache beside it when it holds these bytes, else by
    configfile.py (which loads pydantic and the YAML parser), and then kept there."""
    _refuse_link_outside(path)
    data = path.read_bytes()
    store = path.parent / ".reconciler" / "cache" / "config.json"
    key = tool_key(_DECIDING_MODULES, kinds=False, libraries=_DECIDING_LIBRARIES) if cache else None
    file_hash = hashlib.sha256(data).hexdigest()
    if key is not None:
        cached = config_from_json(read_entries(store, key).get(file_hash))
        if cached is not None:
            return cached
    from reconciler.configfile import read_config_file

    config = read_config_file(path, data)
    if key is not None:
        write_entries(store, key, {file_hash: config_to_json(config)})
    return config


def _refuse_link_outside(path: Path) -> None:
    """A pull request can commit reconciler.yaml as a symbolic link: followed within the
    repository, not out of it (the plan would read, and quote the keys of, a file of the machine
    that runs it)."""
    if not path.is_symlink():
        return
    try:
        target = path.resolve()
    except (OSError, RuntimeError):  # a loop: not a file, so never found
        return
    if not target.is_relative_to((find_repository_root(path.parent) or path.parent).resolve()):
        shown = (Path(display_path(path.parent)) / path.name).as_posix()
        raise ReconcilerError(
            f"{shown} is a symbolic link to {target}, outside the repository; put {path.name} "
            "itself in the repository"
        )


def config_to_json(config: Config) -> dict[str, Any]:
    targets = None
    if config.targets is not None:
        targets = [
            {
                "name": target.name,
                "account": target.account,
                "region": target.region,
                "manifests": [path.as_posix() for path in target.manifests],
                "lockfile": target.lockfile.as_posix(),
                "profile": target.profile,
                "role": target.role,
                "audit_role": target.audit_role,
                "vars": dict(target.vars or {}),
            }
            for target in config.targets
        ]
    return {
        "manifests": config.manifests,
        "lockfile": config.lockfile,
        "sensitive_properties": config.sensitive_properties,
        "targets": targets,
    }


def config_from_json(raw: Any) -> Config | None:
    """The settings `config_to_json` wrote, or None for anything else: the cache is never
    trusted, so every value is checked for its type (the file's own rules were checked when it
    was written, for the same bytes)."""
    from reconciler.targets import TargetContext

    if not (isinstance(raw, dict) and raw.keys() == _CONFIG_KEYS):
        return None
    if not all(isinstance(raw[key], str) for key in _CONFIG_KEYS - {"targets"}):
        return None
    targets = raw["targets"]
    if targets is not None:
        if not (isinstance(targets, list) and targets and all(map(_is_target, targets))):
            return None
        targets = tuple(
            TargetContext(
                name=target["name"],
                account=target["account"],
                region=target["region"],
                manifests=tuple(map(Path, target["manifests"])),
                lockfile=Path(target["lockfile"]),
                profile=target["profile"],
                role=target["role"],
                audit_role=target["audit_role"],
                vars=target["vars"],
            )
            for target in targets
        )
    return Config(raw["manifests"], raw["lockfile"], raw["sensitive_properties"], targets)


_CONFIG_KEYS = {"manifests", "lockfile", "sensitive_properties", "targets"}
_TARGET_STRINGS = ("name", "account", "region", "lockfile")
_TARGET_OPTIONAL = ("profile", "role", "audit_role")


def _is_target(raw: Any) -> bool:
    return (
        isinstance(raw, dict)
        and raw.keys() == {*_TARGET_STRINGS, *_TARGET_OPTIONAL, "manifests", "vars"}
        and all(isinstance(raw[key], str) for key in _TARGET_STRINGS)
        and all(raw[key] is None or isinstance(raw[key], str) for key in _TARGET_OPTIONAL)
        and isinstance(raw["manifests"], list)
        and bool(raw["manifests"])
        and all(isinstance(path, str) for path in raw["manifests"])
        and isinstance(raw["vars"], dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in raw["vars"].items())
    )


def resolve_settings(
    manifests: str | None,
    lockfile: str | None,
    cwd: Path | None = None,
    *,
    cache: bool = True,
) -> Settings:
    """Flags win over reconciler.yaml, which wins over the defaults."""
    cwd = cwd or Path.cwd()
    config_path = find_config(cwd)
    config = read_config(config_path, cache=cache) if config_path is not None else None
    return _the_one_target(manifests, lockfile, cwd, config_path, config, cache=cache)


def _the_one_target(
    manifests: str | None,
    lockfile: str | None,
    cwd: Path,
    config_path: Path | None,
    config: Config | None,
    *,
    cache: bool,
) -> Settings:
    """The settings of the one implicit target (no `targets` in reconciler.yaml, or no file)."""
    if config_path is None or config is None:
        config = Config()
        root = find_repository_root(cwd)
        base = Path(".") if root is None else _relative_or_absolute(root, cwd)
    else:
        base = _relative_or_absolute(config_path.parent, cwd)
        _refuse_paths_outside(config_path, config)
    settings = Settings(
        manifests=Path(manifests) if manifests is not None else base / config.manifests,
        lockfile=Path(lockfile) if lockfile is not None else base / config.lockfile,
        config_path=config_path,
        sensitive=KeyPattern(config.sensitive_properties),  # checked by ConfigFile
        cache=cache,
    )
    refuse_lockfile_among_manifests(settings.lockfile, [settings.manifests])
    if lockfile is None:
        root = find_repository_root(cwd) or (config_path.parent if config_path else None)
        refuse_lockfile_link_outside(settings.lockfile, root)
    return settings


def _refuse_paths_outside(config_path: Path, config: Config) -> None:
    """A pull request can change reconciler.yaml: its paths, and its targets', may not lead out
    of the repository (to the files of the machine that runs the plan). Flags are the operator's,
    and free."""
    root = (find_repository_root(config_path.parent) or config_path.parent).resolve()
    shown = display_path(config_path)
    for key, value in (("manifests", config.manifests), ("lockfile", config.lockfile)):
        outside = _outside(root, config_path.parent / value)
        if outside is not None:
            raise ReconcilerError(
                f"{shown}: '{key}' leads outside the repository ({outside}); keep the manifests "
                f"and the lockfile inside it, or pass --{key} to use another place"
            )
    for target in config.targets or ():
        paths = [*(("manifests", path) for path in target.manifests), ("lockfile", target.lockfile)]
        for key, path in paths:
            if key == "lockfile" and (config_path.parent / path).is_symlink():
                continue  # refuse_lockfile_link_outside names the link, when the target is chosen
            outside = _outside(root, config_path.parent / path)
            if outside is not None:
                raise ReconcilerError(
                    f"{shown}: target '{target.name}': '{key}' leads outside the repository "
                    f"({outside}); keep the target's manifests and lockfile inside it"
                )


def _outside(root: Path, path: Path) -> Path | None:
    """Where `path` leads, links followed, when that is out of `root` (not a loop of links:
    what reads the path says so)."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return None
    return None if resolved.is_relative_to(root) else resolved


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
    *,
    cache: bool = True,
) -> list[Settings]:
    """The settings of every target selected by `names` (all when empty); without targets in
    reconciler.yaml, the one implicit target, exactly as resolve_settings gives it. `cache`:
    whether validated files are kept in, and read from, .reconciler/cache/ (--no-cache)."""
    cwd = cwd or Path.cwd()
    config_path = find_config(cwd)
    config = read_config(config_path, cache=cache) if config_path is not None else None
    if config is None or config.targets is None:
        if names:
            raise ReconcilerError(
                "--target needs targets declared in reconciler.yaml; without them there is one "
                "target: drop --target"
            )
        return [_the_one_target(manifests, lockfile, cwd, config_path, config, cache=cache)]
    assert config_path is not None
    if manifests is not None or lockfile is not None:
        raise ReconcilerError(
            "--manifests and --lockfile cannot be used when reconciler.yaml declares targets: "
            "each target has its own; choose targets with --target"
        )
    _refuse_paths_outside(config_path, config)
    base = _relative_or_absolute(config_path.parent, cwd)
    sensitive = KeyPattern(config.sensitive_properties)  # checked by ConfigFile
    from reconciler.targets import rebased, select  # only a file with targets needs them

    chosen = select([rebased(target, base) for target in config.targets], names)
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
            cache=cache,
        )
        for target in chosen
    ]
