"""The service client: boto3 with our own retry policy, and the API's shapes mapped to ours.

botocore's retries are turned off: a retried CreateArtifact whose first response was lost could
create a second artifact, and throttling has to be counted. Calls go through `Lineage.call`,
which retries what is safe to retry and says plainly when an outcome is unknown.
"""

from __future__ import annotations

import os
import random
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, overload

import botocore.exceptions

from reconciler import requests
from reconciler.errors import ReconcilerError
from reconciler.kinds import ARTIFACT, EntityKind
from reconciler.kinds.artifact import canonical_source
from reconciler.lockfile import Target
from reconciler.outcomes import CallStats
from reconciler.textsafe import quoted

THROTTLING_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)
#: Calls that change nothing, or that can be repeated with the same effect.
IDEMPOTENT = frozenset(
    {
        "describe_artifact",
        "describe_context",
        "describe_action",
        "list_artifacts",
        "list_contexts",
        "list_actions",
        "list_tags",
        "list_associations",
        "query_lineage",
        "update_artifact",
        "update_context",
        "update_action",
        "add_tags",
        "delete_tags",
        # Repeating these answers ResourceNotFound, which the caller takes as done.
        "delete_artifact",
        "delete_context",
        "delete_action",
        "delete_association",
    }
)


#: How the tagging API says an ARN is unknown: ResourceNotFound, or (the tagging API is shared
#: by every SageMaker resource and checks ARNs generically) ValidationException.
UNKNOWN_RESOURCE_CODES = frozenset({"ResourceNotFound", "ValidationException"})


class OutcomeUnknown(Exception):
    """A write whose effect cannot be known from the answer (lost response, timeout, 5xx)."""

    def __init__(self, operation: str, cause: Exception, answered: bool) -> None:
        super().__init__(f"{operation}: {cause}")
        self.cause = cause
        #: True when the service answered (a 5xx); False when nothing came back at all.
        self.answered = answered


class ServiceCallError(ReconcilerError):
    """A call the service refused for good (or after every retry)."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        super().__init__(f"{operation} failed: {code}: {message}")
        self.code = code
        self.service_message = message


#: How the service says a Create<Kind> or AddAssociation met what exists (a taken name, the same
#: two ends): a ValidationException whose message says so (the SDK's own reading of it).
ALREADY_EXISTS = "already exists"


def already_exists(exc: ServiceCallError) -> bool:
    return exc.code == "ValidationException" and ALREADY_EXISTS in exc.service_message


@dataclass(frozen=True)
class RetryPolicy:
    max_throttle_retries: int = 25
    max_error_retries: int = 5
    base_delay: float = 0.05
    max_delay: float = 2.0

    def delay(self, attempt: int) -> float:
        """Full jitter: a random wait up to an exponentially growing ceiling."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


class Pacer:
    """Client-side pacing shared by every worker: once the service throttles, send at just under
    the rate it allows instead of retrying into it (additive increase, multiplicative decrease,
    as TCP does). Until the first throttle it does not slow anything down."""

    DECREASE = 0.85
    #: Throttles arrive in bursts (every worker at once); one burst lowers the rate once.
    CALM = 1.0
    MINIMUM = 0.5

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.rate: float | None = None
        self._next = 0.0
        self._decreased = float("-inf")
        self._recent: list[float] = []

    def wait(self) -> None:
        with self._lock:
            if self.rate is None:
                return
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + 1.0 / self.rate
        if slot > now:
            time.sleep(slot - now)

    def succeeded(self) -> None:
        with self._lock:
            now = self._clock()
            if self.rate is None:
                self._recent = [t for t in self._recent if t > now - 1.0] + [now]
            else:
                self.rate += 1.0 / self.rate  # about one more call a second, every second

    def throttled(self) -> None:
        with self._lock:
            now = self._clock()
            if now - self._decreased < self.CALM:
                return
            self._decreased = now
            observed = float(len([t for t in self._recent if t > now - 1.0])) or 1.0
            base = self.rate if self.rate is not None else observed
            self.rate = max(self.MINIMUM, base * self.DECREASE)


@dataclass(frozen=True)
class Connection:
    """How to reach AWS: the standard chain, with the usual overrides."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    max_connections: int = 10
    #: A role to assume (STS AssumeRole) from the credentials found; a target's `role`.
    role: str | None = None
    #: The STS session name when assuming `role`.
    session_name: str = "reconciler"


def _classify(exc: Exception) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in THROTTLING_CODES:
            return "throttled"
        if status >= 500:
            return "server-error"
        return "refused"
    if isinstance(
        exc, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError)
    ):
        return "not-sent"
    if isinstance(exc, (botocore.exceptions.HTTPClientError, botocore.exceptions.ConnectionError)):
        return "no-answer"
    return "other"


#: How long a write waits for reads to show it: the service is eventually consistent (its SDK's
#: own tests poll ListTags for up to 30 s after AddTags).
SETTLE_TIMEOUT = 30.0
T = TypeVar("T")


class Lineage:
    """The SageMaker lineage API, as reconciler uses it."""

    def __init__(self, client: Any, target: Target, policy: RetryPolicy | None = None) -> None:
        self.client = client
        self.target = target
        self.policy = policy or RetryPolicy()
        self.stats = CallStats()
        self.pacer = Pacer()
        self.settle_timeout = SETTLE_TIMEOUT

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """Call with retries: throttling always; errors only where repeating is harmless.

        A write that is not idempotent raises OutcomeUnknown instead of being repeated.
        """
        method: Callable[..., dict[str, Any]] = getattr(self.client, operation)
        throttles = errors = 0
        while True:
            self.pacer.wait()
            self.stats.count(operation)
            try:
                response = method(**params)
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
                kind = _classify(exc)
                if kind == "throttled" and throttles < self.policy.max_throttle_retries:
                    self.stats.throttle()
                    self.pacer.throttled()
                    throttles += 1
                    time.sleep(self.policy.delay(throttles))
                    continue
                retryable = kind == "not-sent" or (
                    kind in ("server-error", "no-answer") and operation in IDEMPOTENT
                )
                if retryable and errors < self.policy.max_error_retries:
                    self.stats.error()
                    errors += 1
                    time.sleep(self.policy.delay(errors + 2))
                    continue
                if kind in ("server-error", "no-answer"):
                    raise OutcomeUnknown(operation, exc, answered=kind == "server-error") from exc
                raise _refused(operation, exc) from exc
            self.pacer.succeeded()
            return response

    # --- writes that wait until reads show them ---------------------------------------------------
    #
    # Reads may show the state from before a write for a while. A write that returned only once
    # reads show it lets apply record what the service will show (LastModifiedTime above all),
    # and lets the next apply, audit or plan --refresh, run right after, read its result rather
    # than what it replaced. If reads never show it (someone else wrote too), the caller carries
    # on after settle_timeout: the write itself succeeded.

    def _settle(self, read: Callable[[], T], shows: Callable[[T], bool]) -> T:
        deadline = time.monotonic() + self.settle_timeout
        delay = 0.05
        while True:
            value = read()
            if shows(value) or time.monotonic() >= deadline:
                return value
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 1.0)

    def describe_showing(self, arn: str, update: dict[str, Any]) -> dict[str, Any] | None:
        """DescribeArtifact, once it shows an UpdateArtifact request made before."""
        return self._settle(lambda: self.describe(arn), lambda d: requests.shows_update(d, update))

    def add_tags(self, arn: str, tags: list[dict[str, str]]) -> None:
        self.call("add_tags", ResourceArn=arn, Tags=tags)
        self._settle(
            lambda: self.tags(arn),
            lambda live: live is None or all(live.get(t["Key"]) == t["Value"] for t in tags),
        )

    def delete_tags(self, arn: str, keys: list[str]) -> None:
        self.call("delete_tags", ResourceArn=arn, TagKeys=keys)
        self._settle(lambda: self.tags(arn), lambda live: live is None or not set(keys) & set(live))

    def delete_artifact(self, arn: str) -> None:
        """DeleteArtifact (ResourceNotFound raises ServiceCallError), until reads show it gone."""
        self.call("delete_artifact", ArtifactArn=arn)
        self._settle(lambda: self.describe(arn), lambda described: described is None)

    # --- every entity kind, and the edges between them ------------------------------------------

    def create(self, kind: EntityKind, request: Mapping[str, Any]) -> str:
        """Create<Kind>; the new entity's ARN. Never repeated after an unknown outcome: that
        raises OutcomeUnknown, and the caller looks for what it may have made."""
        response = self.call(kind.operations.create, **request)
        return str(response[kind.arn_field])

    def update(
        self,
        kind: EntityKind,
        arn: str,
        spec: Mapping[str, Any],
        request: Mapping[str, Any],
        since: str | None = None,
    ) -> dict[str, Any] | None:
        """Update<Kind> (`spec`, as recorded, gives the name contexts and actions are addressed
        by); then its Describe answer once reads show the update (None if it is gone). `since`:
        its LastModifiedTime before the update, when known (see `requests.shows_update`)."""
        self.call(kind.operations.update, **kind.address(arn, dict(spec)), **request)
        return self._settle(
            lambda: self.describe(kind, arn), lambda d: requests.shows_update(d, request, since)
        )

    def delete(self, kind: EntityKind, arn: str, spec: Mapping[str, Any]) -> bool:
        """Delete<Kind>, until reads show it gone; False if it did not exist."""
        try:
            self.call(kind.operations.delete, **kind.address(arn, dict(spec)))
        except ServiceCallError as exc:
            if exc.code == "ResourceNotFound":
                return False
            raise
        self._settle(lambda: self.describe(kind, arn), lambda described: described is None)
        return True

    def add_association(self, request: Mapping[str, str]) -> None:
        """AddAssociation. An edge between the same ends raises ServiceCallError (see
        `already_exists`); an unknown outcome raises OutcomeUnknown (read it back with
        `association`)."""
        self.call("add_association", **request)

    def delete_association(self, source_arn: str, destination_arn: str) -> bool:
        """DeleteAssociation; False if there was no such edge."""
        try:
            self.call("delete_association", SourceArn=source_arn, DestinationArn=destination_arn)
        except ServiceCallError as exc:
            if exc.code == "ResourceNotFound":
                return False
            raise
        return True

    # --- reads ---------------------------------------------------------------------------------

    @overload
    def describe(self, kind: str, /) -> dict[str, Any] | None: ...

    @overload
    def describe(self, kind: EntityKind, arn: str, /) -> dict[str, Any] | None: ...

    def describe(self, kind: EntityKind | str, arn: str | None = None, /) -> dict[str, Any] | None:
        """Describe<Kind> of the entity at `arn`, or None if it does not exist. With the ARN
        alone, an artifact's. Every kind's Describe takes the ARN (contexts and actions: in
        place of the name)."""
        if isinstance(kind, str):
            return self.describe(ARTIFACT, kind)
        assert arn is not None
        parameter = kind.arn_field if kind.addressed_by == "arn" else kind.name_field
        return self._described(kind, {parameter: arn})

    def _described(self, kind: EntityKind, address: dict[str, str]) -> dict[str, Any] | None:
        try:
            return self.call(kind.operations.describe, **address)
        except ServiceCallError as exc:
            if exc.code == "ResourceNotFound":
                return None
            raise

    def find_by_name(self, kind: EntityKind, name: str) -> dict[str, Any] | None:
        """The context or action with this name (names are unique per account and region, so
        this is one Describe), or None. Reads may lag a create by a while."""
        if kind.addressed_by != "name":
            raise ValueError(f"{kind.kind} names are not unique; find one by its Source instead")
        return self._described(kind, {kind.name_field: name})

    def tags(self, arn: str) -> dict[str, str] | None:
        """Every tag of an entity of any kind, or None if it does not exist."""
        try:
            pages = list(self._page_lists("list_tags", "Tags", ResourceArn=arn, MaxResults=100))
        except ServiceCallError as exc:
            if exc.code in UNKNOWN_RESOURCE_CODES:
                return None
            raise
        return {t["Key"]: t["Value"] for page in pages for t in page}

    def list_pages(self, **filters: Any) -> Iterator[list[dict[str, Any]]]:
        """ListArtifacts, 100 a page, one page at a time (the caller may stop early)."""
        return self._page_lists("list_artifacts", "ArtifactSummaries", **filters, MaxResults=100)

    def list_all(self, **filters: Any) -> list[dict[str, Any]]:
        return [summary for page in self.list_pages(**filters) for summary in page]

    def artifacts_with_source(self, source: dict[str, Any]) -> list[dict[str, Any]]:
        """The artifacts with this whole Source (SourceUri and SourceTypes): the service keeps
        one artifact per Source, and several may share a SourceUri."""
        wanted = canonical_source(source)
        return [
            summary
            for summary in self.list_all(SourceUri=source["SourceUri"])
            if canonical_source(summary["Source"]) == wanted
        ]

    def associations(self, arn: str) -> list[dict[str, Any]]:
        """Every association of the artifact, both directions."""
        edges: dict[tuple[str, str], dict[str, Any]] = {}
        for direction in ("SourceArn", "DestinationArn"):
            pages = self._page_lists(
                "list_associations", "AssociationSummaries", MaxResults=100, **{direction: arn}
            )
            for edge in (edge for page in pages for edge in page):
                edges[(edge["SourceArn"], edge["DestinationArn"])] = edge
        return list(edges.values())

    def association_pages(self, **filters: Any) -> Iterator[list[dict[str, Any]]]:
        """ListAssociations with these filters (SourceArn, DestinationArn, SourceType,
        AssociationType, CreatedAfter...), 100 a page, one page at a time."""
        return self._page_lists(
            "list_associations", "AssociationSummaries", **filters, MaxResults=100
        )

    def association(self, source_arn: str, destination_arn: str) -> dict[str, Any] | None:
        """The edge between these two ends (the service keys edges on them), or None."""
        for page in self.association_pages(SourceArn=source_arn, DestinationArn=destination_arn):
            for summary in page:
                if (summary["SourceArn"], summary["DestinationArn"]) == (
                    source_arn,
                    destination_arn,
                ):
                    return summary
        return None

    def entity_pages(self, kind: EntityKind, **filters: Any) -> Iterator[list[dict[str, Any]]]:
        """List<Kind>s, 100 a page, one page at a time (the caller may stop early)."""
        return self._page_lists(
            kind.operations.list, kind.operations.summaries, **filters, MaxResults=100
        )

    def _page_lists(
        self, operation: str, key: str, **params: Any
    ) -> Iterator[list[dict[str, Any]]]:
        """Follow NextToken, one page's items at a time."""
        token: str | None = None
        while True:
            page = self.call(operation, **params, **({"NextToken": token} if token else {}))
            yield page.get(key, [])
            token = page.get("NextToken")
            if not token:
                return


def _refused(operation: str, exc: Exception) -> ServiceCallError:
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        return ServiceCallError(
            operation, error.get("Code", "Unknown"), error.get("Message", str(exc))
        )
    return ServiceCallError(operation, type(exc).__name__, str(exc))


#: The variables botocore reads an endpoint from, for the two services reconciler calls.
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER", "AWS_ENDPOINT_URL_STS")


def endpoint_problem(url: str) -> str | None:
    """Why `url` cannot be an endpoint (botocore only says "Invalid endpoint"), or None."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return (
            f"{quoted(url)} is not an http(s) URL; write it with its scheme, "
            f"e.g. http://{url.split('://')[-1] or 'localhost:8080'}"
        )
    return None


def check_endpoints(connection: Connection) -> None:
    """Refuse a malformed --endpoint-url or AWS_ENDPOINT_URL* before botocore trips on it."""
    named = [("--endpoint-url", connection.endpoint_url)]
    named += [(variable, os.environ.get(variable)) for variable in ENDPOINT_VARIABLES]
    for source, url in named:
        problem = endpoint_problem(url) if url else None
        if problem is not None:
            raise ReconcilerError(f"{source}: {problem}")


def connect(connection: Connection, default_region: str | None = None) -> Lineage:
    """A client for the target, with the account read from STS. Raises ReconcilerError.

    `default_region` (the lockfile's) applies when neither the flags, the environment nor the
    profile set one."""
    # Imported here: boto3 takes a tenth of a second to load, which validate and an offline plan
    # (a pre-commit hook, say) should not pay.
    import boto3
    from botocore.config import Config

    # AWS_REGION is what most tools and CI set; botocore itself reads AWS_DEFAULT_REGION.
    check_endpoints(connection)
    region_name = connection.region or os.environ.get("AWS_REGION") or None
    try:
        session = boto3.Session(profile_name=connection.profile, region_name=region_name)
    except botocore.exceptions.ProfileNotFound as exc:
        raise ReconcilerError(f"{exc}; check --profile or AWS_PROFILE") from None
    region = session.region_name or default_region
    if not region:
        raise ReconcilerError(
            "no AWS region is set; pass --region, set AWS_REGION, or give the profile a region"
        )
    config = Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=connection.max_connections,
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra="reconciler",
    )
    try:
        if connection.role is not None:
            session = _assume_role(session, connection, config, region)
        sagemaker = session.client(
            "sagemaker", region_name=region, endpoint_url=connection.endpoint_url, config=config
        )
        sts = session.client(
            "sts", region_name=region, endpoint_url=connection.endpoint_url, config=config
        )
        account = sts.get_caller_identity()["Account"]
    except botocore.exceptions.NoCredentialsError:
        raise ReconcilerError(
            "no AWS credentials found; configure them (environment, profile, SSO or a role) "
            "or pass --profile"
        ) from None
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise ReconcilerError(
            f"cannot identify the AWS account (STS GetCallerIdentity: {exc})"
        ) from None
    return Lineage(sagemaker, Target(account, region))


def _assume_role(session: Any, connection: Connection, config: Any, region: str) -> Any:
    """A session holding the role's credentials; the session itself when it already is that role
    (a CI job that assumed it through OIDC, say)."""
    import boto3

    role = connection.role
    assert role is not None
    sts = session.client(
        "sts", region_name=region, endpoint_url=connection.endpoint_url, config=config
    )
    account, name = role.split(":")[4], role.rsplit("/", 1)[-1]
    caller = sts.get_caller_identity()["Arn"].split(":", 5)
    if caller[4:5] == [account] and caller[5].startswith(f"assumed-role/{name}/"):
        return session
    try:
        credentials = sts.assume_role(RoleArn=role, RoleSessionName=connection.session_name)[
            "Credentials"
        ]
    except botocore.exceptions.ClientError as exc:
        raise ReconcilerError(
            f"cannot assume the role {role} ({exc}); check that its trust policy lets these "
            "credentials assume it"
        ) from None
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


# --- between the API's shapes and ours -----------------------------------------------------------


def create_request(spec: dict[str, Any], name: str, lineage: str) -> dict[str, Any]:
    """The CreateArtifact request for a canonical spec (requests.create_request for any kind)."""
    return requests.create_request(ARTIFACT, spec, name, lineage)


def live_spec(described: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    """An artifact's canonical spec as the service holds it (requests.live_spec_of for any
    kind)."""
    return requests.live_spec_of(ARTIFACT, described, tags)


def timestamp_text(value: Any) -> str | None:
    """LastModifiedTime as ISO 8601, as the lockfile records it."""
    return value.isoformat() if hasattr(value, "isoformat") else None
