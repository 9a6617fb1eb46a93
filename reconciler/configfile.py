"""reconciler.yaml read and validated: its pydantic models (the file's keys, and each target's).

Loaded only when the file exists (config.py): a repository without it needs neither pydantic nor
the YAML parser to start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from reconciler.config import CONFIG_NAME, DEFAULT_LOCKFILE, DEFAULT_MANIFESTS, Config
from reconciler.diagnostics import describe_validation_errors
from reconciler.errors import Diagnostic, Location, ManifestError
from reconciler.placing import place_in_text
from reconciler.problems import display_path
from reconciler.sensitive import DEFAULT_PATTERN, PatternError, compile_pattern
from reconciler.targets import ACCOUNT, NAME, REGION, ROLE_ARN, VARIABLE_NAME, TargetContext
from reconciler.textsafe import quoted
from reconciler.yamlio import YamlSyntaxError, load_documents


class TargetSpec(BaseModel):
    """One entry of reconciler.yaml `targets`. Paths are relative to reconciler.yaml."""

    # Built when first used: only a repository with reconciler.yaml needs it.
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)

    account: str
    region: str
    lockfile: Annotated[str, Field(min_length=1)]
    #: Directories of manifests, read recursively, in order (a common one and its own, say).
    manifests: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    #: An AWS profile to take credentials from (else the standard chain).
    profile: Annotated[str, Field(min_length=1)] | None = None
    #: A role to assume with STS AssumeRole (from the profile's, or the chain's, credentials).
    role: str | None = None
    #: A read-only role for what only reads the account (`audit --live`, `plan --refresh`):
    #: assumed instead of `role` there, so a daily audit never holds write permissions.
    audit_role: str | None = None
    #: Values for ${vars.NAME} in the manifests' string values.
    vars: dict[str, str] = Field(default_factory=dict)

    @field_validator("account")
    @classmethod
    def _account(cls, account: str) -> str:
        if not ACCOUNT.fullmatch(account):
            raise ValueError(f"must be a 12-digit AWS account id, not {quoted(account)}")
        return account

    @field_validator("region")
    @classmethod
    def _region(cls, region: str) -> str:
        if not REGION.fullmatch(region):
            raise ValueError(f"must be an AWS region such as eu-west-1, not {quoted(region)}")
        return region

    @field_validator("role", "audit_role")
    @classmethod
    def _role(cls, role: str | None) -> str | None:
        if role is not None and not ROLE_ARN.fullmatch(role):
            raise ValueError(
                f"must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME), not {quoted(role)}"
            )
        return role

    @field_validator("vars")
    @classmethod
    def _variable_names(cls, variables: dict[str, str]) -> dict[str, str]:
        for name in variables:
            if not VARIABLE_NAME.fullmatch(name):
                raise ValueError(
                    f"variable name {quoted(name)} must be letters, digits, '_' and '-', "
                    "starting with a letter or '_'"
                )
        return variables

    @model_validator(mode="after")
    def _credentials(self) -> TargetSpec:
        for field, role in (("role", self.role), ("audit_role", self.audit_role)):
            if self.profile is not None and role is not None:
                raise ValueError(
                    f"give 'profile' or '{field}', not both (a role is assumed from the "
                    "standard chain's credentials, or from --profile)"
                )
            match = ROLE_ARN.fullmatch(role) if role is not None else None
            if match is not None and match.group("account") != self.account:
                raise ValueError(
                    f"the role {role} is in account {match.group('account')}, not the "
                    f"target's account {self.account}"
                )
        return self


def check_targets(targets: dict[str, TargetSpec]) -> dict[str, TargetSpec]:
    """Rules across targets: names, at least one target, one lockfile each."""
    if not targets:
        raise ValueError("declare at least one target, or remove 'targets'")
    for name in targets:
        if not NAME.fullmatch(name):
            raise ValueError(
                f"target name {quoted(name)} must be 1-63 letters, digits and the characters "
                "_ . -, starting with a letter or digit"
            )
    owners: dict[str, str] = {}
    for name, spec in targets.items():
        first = owners.setdefault(Path(spec.lockfile).as_posix(), name)
        if first != name:
            raise ValueError(
                f"targets '{first}' and '{name}' share the lockfile {spec.lockfile}; give each "
                "target its own"
            )
    return targets


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
                f"{quoted(pattern)} is not a pattern reconciler can match ({exc}); it must be a "
                "regular expression in RE2 syntax, which matches in linear time and so has no "
                "backreferences or lookaround"
            ) from None
        return pattern


def read_config_file(path: Path, data: bytes) -> Config:
    """The settings of reconciler.yaml (read from `path` as `data`); ManifestError with every
    problem, placed, when it is not valid."""
    return _settings(_validated(display_path(path), data))


def _settings(file: ConfigFile) -> Config:
    targets = None
    if file.targets is not None:
        targets = tuple(
            TargetContext(
                name=name,
                account=spec.account,
                region=spec.region,
                manifests=tuple(map(Path, spec.manifests)),
                lockfile=Path(spec.lockfile),
                profile=spec.profile,
                role=spec.role,
                audit_role=spec.audit_role,
                vars=dict(spec.vars),
            )
            for name, spec in file.targets.items()
        )
    return Config(file.manifests, file.lockfile, file.sensitive_properties, targets)


def _validated(shown: str, data: bytes) -> ConfigFile:
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
