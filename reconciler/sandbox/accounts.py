"""Several accounts in one sandbox: which account a request's access key belongs to, and STS
AssumeRole handing out keys for a role's account.

An access key id of the form `AKIA` or `ASIA`, twelve digits, four letters or digits (20
characters, as AWS's) belongs to the account those digits name; every other key belongs to the
first account served. Real keys never look like this (they use base-32 letters and the digits 2
to 7 only), so any credentials still work, and a test reaches a second account with a static key
from `access_key_for(account)` or with a role assumed through STS.
"""

from __future__ import annotations

import re
import secrets
import string
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reconciler.sandbox.service import ServiceError

ACCESS_KEY = re.compile(r"(?:AKIA|ASIA)(?P<account>[0-9]{12})[A-Z0-9]{4}")
ACCOUNT_ID = re.compile(r"[0-9]{12}")
#: IAM's role ARN: an optional path, then a name of up to 64 characters.
ROLE_ARN = re.compile(
    r"arn:aws:iam::(?P<account>[0-9]{12}):role/(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]{1,64})"
)
SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")
MIN_DURATION, MAX_DURATION, DEFAULT_DURATION = 900, 43_200, 3_600


def access_key_for(account: str) -> str:
    """A static access key id the sandbox takes as belonging to `account`."""
    return f"AKIA{account}TEST"


@dataclass(frozen=True)
class Identity:
    """What STS GetCallerIdentity answers for a key."""

    account: str
    arn: str
    user_id: str


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime
    identity: Identity


class Accounts:
    """The accounts a sandbox serves (the first takes the keys that name none), and the sessions
    AssumeRole handed out. Thread-safe."""

    def __init__(self, accounts: tuple[str, ...]) -> None:
        if not accounts:
            raise ValueError("a sandbox serves at least one account")
        for account in accounts:
            if not ACCOUNT_ID.fullmatch(account):
                raise ValueError(f"{account!r} is not a 12-digit AWS account id")
        self.served = tuple(dict.fromkeys(accounts))
        self.default = self.served[0]
        self._sessions: dict[str, Identity] = {}
        self._lock = threading.Lock()

    def account_of(self, access_key: str) -> str:
        """The account a key belongs to; a ServiceError (403) for a key naming an account this
        sandbox does not serve."""
        match = ACCESS_KEY.fullmatch(access_key)
        if match is None:
            return self.default
        account = match.group("account")
        if account not in self.served:
            raise ServiceError(
                "UnrecognizedClientException",
                f"The security token included in the request is invalid: the access key names "
                f"account {account}, which this sandbox does not serve (it serves "
                f"{', '.join(self.served)}).",
                403,
            )
        return account

    def identity(self, access_key: str) -> Identity:
        with self._lock:
            session = self._sessions.get(access_key)
        if session is not None:
            return session
        account = self.account_of(access_key)
        return Identity(account, f"arn:aws:iam::{account}:user/sandbox", "AIDASANDBOXSANDBOX01")

    def assume_role(
        self, role_arn: str, session_name: str, duration: int | None, now: datetime | None = None
    ) -> Credentials:
        """New credentials for the role's account; any caller may assume any role of a served
        account (the sandbox keeps no trust policies)."""
        role = ROLE_ARN.fullmatch(role_arn)
        if role is None:
            raise ServiceError("ValidationError", f"{role_arn[:200]!r} is not a valid role ARN.")
        if not SESSION_NAME.fullmatch(session_name):
            raise ServiceError(
                "ValidationError",
                "RoleSessionName must be 2 to 64 letters, digits and the characters _+=,.@-.",
            )
        seconds = DEFAULT_DURATION if duration is None else duration
        if not MIN_DURATION <= seconds <= MAX_DURATION:
            raise ServiceError(
                "ValidationError",
                f"DurationSeconds must be between {MIN_DURATION} and {MAX_DURATION}.",
            )
        account = role.group("account")
        if account not in self.served:
            raise ServiceError(
                "AccessDenied",
                f"Not authorized to perform sts:AssumeRole on resource {role_arn}: this sandbox "
                f"does not serve account {account}.",
                403,
            )
        alphabet = string.ascii_uppercase + string.digits
        key = "ASIA" + account + "".join(secrets.choice(alphabet) for _ in range(4))
        role_id = "AROA" + "".join(secrets.choice(alphabet) for _ in range(17))
        identity = Identity(
            account,
            f"arn:aws:sts::{account}:assumed-role/{role.group('name')}/{session_name}",
            f"{role_id}:{session_name}",
        )
        with self._lock:
            self._sessions[key] = identity
        issued = (now or datetime.now(UTC)).replace(microsecond=0)
        return Credentials(
            key,
            secrets.token_urlsafe(30),
            secrets.token_urlsafe(90),
            issued + timedelta(seconds=seconds),
            identity,
        )
