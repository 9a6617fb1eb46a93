"""The sandbox on the wire: AWS JSON 1.1 for SageMaker and the query protocol for STS, on one
endpoint, with the faults real networks have (latency, throttling, server errors, lost responses).
"""

from __future__ import annotations

import json
import random
import re
import signal
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import botocore.session
import click
from botocore.model import ServiceModel, StructureShape

from reconciler import fsio
from reconciler.errors import ReconcilerError
from reconciler.sandbox import preload, validation
from reconciler.sandbox.accounts import Accounts
from reconciler.sandbox.errors import ServiceError
from reconciler.sandbox.lineage import (
    DEFAULT_ACTION_QUOTA,
    DEFAULT_CONTEXT_QUOTA,
    Entity,
    account_of,
)
from reconciler.sandbox.service import (
    DEFAULT_ACCOUNT,
    DEFAULT_ARTIFACT_QUOTA,
    DEFAULT_ASSOCIATION_QUOTA,
    LIST_OPERATIONS,
    WRITE_OPERATIONS,
    Artifact,
    LineageService,
    nothing_shared,
)

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "SageMaker."
CREDENTIAL_SCOPE = re.compile(
    r"Credential=(?P<key>[^/,\s]+)/\d{8}/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)/aws4_request"
)
STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
#: The largest request body read; the service's own requests are a few kilobytes.
MAX_BODY = 16 * 1024 * 1024
MAX_LINE = 8192
DEFAULT_IDLE_TIMEOUT = 60.0
CONTENT_LENGTH = re.compile(r"[0-9]{1,12}")
CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,8}")
STS_ACTIONS = frozenset({"GetCallerIdentity", "AssumeRole"})


@cache
def sagemaker_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("sagemaker")


@dataclass(frozen=True)
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 0
    state: Path | None = None
    #: The account of every access key that names none (see accounts.py).
    account: str = DEFAULT_ACCOUNT
    #: More accounts served, reached by keys that name them or by roles assumed through STS.
    more_accounts: tuple[str, ...] = ()
    latency_ms: float = 0.0
    rate_limit: float | None = None
    error_rate: float = 0.0
    lost_response_rate: float = 0.0
    list_lag_ms: float = 0.0
    #: Updates, tag changes and deletes show in reads only this long after they happen.
    write_lag_ms: float = 0.0
    #: Fraction of list calls answered with an empty page and a NextToken.
    empty_page_rate: float = 0.0
    #: Deleting an entity (of any kind) with associations: "refuse" or "cascade".
    delete_associated: str = "refuse"
    #: UpdateContext/UpdateAction with Description "": "clear", "store" or "ignore" it.
    empty_description: str = "clear"
    #: The Status CreateAction gives an action created without one; None: it has none.
    default_action_status: str | None = None
    #: AddAssociation with an end in another region than the request's (undocumented):
    #: "refuse" (ResourceNotFound) or "accept" (when the entity is held).
    cross_region_associations: str = "refuse"
    #: (owner, consumer): the owner account shares its lineage with the consumer (an AWS RAM
    #: share of its lineage group), so the consumer may add edges to the owner's entities.
    lineage_shares: tuple[tuple[str, str], ...] = ()
    #: Entities callers may make per account and region (SageMaker's own do not count).
    artifact_quota: int = DEFAULT_ARTIFACT_QUOTA
    context_quota: int = DEFAULT_CONTEXT_QUOTA
    action_quota: int = DEFAULT_ACTION_QUOTA
    association_quota: int = DEFAULT_ASSOCIATION_QUOTA
    #: A YAML or JSON list of entities SageMaker made, held from the start (see preload.py).
    preload: Path | None = None
    seed: int | None = None
    #: Seconds a connection may sit idle (or stall inside a request) before it is closed.
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT

    @property
    def accounts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.account, *self.more_accounts)))

    def state_for(self, account: str) -> Path | None:
        """The state file of one account: --state itself for the first, beside it for others."""
        if self.state is None or account == self.account:
            return self.state
        return self.state.with_name(f"{self.state.stem}.{account}{self.state.suffix}")


class Faults:
    """Seeded fault injection and a token-bucket rate limit, shared by every request thread."""

    def __init__(self, config: SandboxConfig) -> None:
        self._config = config
        self._random = random.Random(config.seed)
        self._lock = threading.Lock()
        rate = config.rate_limit
        self._capacity = max(1.0, rate) if rate else 0.0
        self._tokens = self._capacity
        self._refilled = time.monotonic()
        self.throttled = 0
        self.server_errors = 0
        self.lost_responses = 0
        self.empty_pages = 0

    def admit(self) -> bool:
        """Take a token; False when the bucket is empty (the request is throttled)."""
        rate = self._config.rate_limit
        if not rate:
            return True
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._capacity, self._tokens + (now - self._refilled) * rate)
            self._refilled = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            self.throttled += 1
            return False

    def fail_now(self) -> bool:
        return self._draw(self._config.error_rate, "server_errors")

    def lose_response(self) -> bool:
        return self._draw(self._config.lost_response_rate, "lost_responses")

    def empty_page(self) -> bool:
        return self._draw(self._config.empty_page_rate, "empty_pages")

    def _draw(self, rate: float, counter: str) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            hit = self._random.random() < rate
            if hit:
                setattr(self, counter, getattr(self, counter) + 1)
            return hit


class BadFraming(Exception):
    """A request whose body cannot be delimited: answered, then the connection is closed, since
    where the next request would start is unknown."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return  # a client that went away (killed, timed out) is the client's business
        super().handle_error(request, client_address)

    def __init__(
        self, config: SandboxConfig, accounts: Accounts, services: dict[str, LineageService]
    ) -> None:
        self.config = config
        self.accounts = accounts
        self.services = services
        #: The first account's service, which also counts the requests of every account.
        self.service = services[accounts.default]
        self.faults = Faults(config)
        super().__init__((config.host, config.port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm the second waits for the
    # client's delayed ACK of the first (40 ms a request on Linux).
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return "reconciler-sandbox"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: a sandbox under load would drown its terminal

    def do_GET(self) -> None:
        if self._body_or_answered() is None:
            return
        if self.path.rstrip("/") == "/_sandbox/stats":
            self._send(200, "application/json", json.dumps(stats(self.server)).encode())
        else:
            self._send(200, "text/plain", b"reconciler sandbox: SageMaker lineage API and STS\n")

    def setup(self) -> None:
        super().setup()
        # StreamRequestHandler's `timeout` is a class attribute; this server's knob is per server.
        self.connection.settimeout(self.server.config.idle_timeout)

    def _body_or_answered(self) -> bytes | None:
        """The request body, read whole (even where none is expected, so that it is never
        taken for the next request); None once a body that cannot be delimited is answered."""
        try:
            return self._read_body()
        except BadFraming as exc:
            self.close_connection = True
            self._json_error(ServiceError("BadRequest", exc.message, exc.status), close=True)
            return None

    def do_POST(self) -> None:
        body = self._body_or_answered()
        if body is None:
            return
        target = self.headers.get("X-Amz-Target")
        scope = CREDENTIAL_SCOPE.search(self.headers.get("Authorization") or "")
        if target is None:
            self._query_protocol(body, scope)
            return
        operation = target.removeprefix(TARGET_PREFIX)
        known = target.startswith(TARGET_PREFIX) and operation in sagemaker_model().operation_names
        if known:
            self.server.service.count(operation)
        if scope is None or not (self.headers.get("Authorization") or "").startswith(
            "AWS4-HMAC-SHA256"
        ):
            self._json_error(
                ServiceError(
                    "MissingAuthenticationTokenException", "Missing Authentication Token", 403
                )
            )
            return
        if self.server.config.latency_ms:
            time.sleep(self.server.config.latency_ms / 1000)
        if not known:
            self._json_error(
                ServiceError("UnknownOperationException", f"Unknown operation {target[:200]}")
            )
            return
        if not self.server.faults.admit():
            self._json_error(ServiceError("ThrottlingException", "Rate exceeded"))
            return
        if self.server.faults.fail_now():
            self._json_error(
                ServiceError(
                    "InternalFailure", "We encountered an internal error. Please try again.", 500
                )
            )
            return
        try:
            service = self.server.services[self.server.accounts.account_of(scope.group("key"))]
            empty = operation in LIST_OPERATIONS and self.server.faults.empty_page()
            result = self._sagemaker(service, operation, body, scope.group("region"), empty)
        except ServiceError as exc:
            self._json_error(exc)
            return
        except Exception:  # a sandbox bug: still an answer, never a dropped connection
            print(f"reconciler sandbox: internal error in {operation}:", file=sys.stderr)
            traceback.print_exc()
            self._json_error(
                ServiceError("InternalFailure", "The sandbox failed on this request.", 500)
            )
            return
        if operation in WRITE_OPERATIONS and self.server.faults.lose_response():
            self.close_connection = True  # the write happened; the client never hears of it
            return
        self._send(200, JSON_CONTENT_TYPE, json.dumps(result).encode())

    # --- framing -------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        """The request body, by Content-Length or chunked; BadFraming when it cannot be told
        where it ends. A client that goes away mid-body raises ConnectionError."""
        coding = self.headers.get_all("Transfer-Encoding")
        lengths = self.headers.get_all("Content-Length")
        if coding:
            if lengths:
                raise BadFraming(400, "Content-Length and Transfer-Encoding cannot both be sent.")
            if [c.strip().lower() for c in coding] != ["chunked"]:
                raise BadFraming(501, "Only the chunked transfer coding is supported.")
            return self._read_chunked()
        if not lengths:
            return b""
        if len(set(lengths)) > 1 or not CONTENT_LENGTH.fullmatch(lengths[0].strip()):
            raise BadFraming(400, "Content-Length must be one non-negative decimal number.")
        length = int(lengths[0])
        if length > MAX_BODY:
            raise BadFraming(413, f"The request body is larger than {MAX_BODY} bytes.")
        return self._read_exactly(length)

    def _read_exactly(self, length: int) -> bytes:
        data = self.rfile.read(length)
        if len(data) < length:
            raise ConnectionAbortedError("the client went away inside a request body")
        return data

    def _read_line(self) -> bytes:
        line = self.rfile.readline(MAX_LINE + 1)
        if not line:
            raise ConnectionAbortedError("the client went away inside a request body")
        if len(line) > MAX_LINE or not line.endswith(b"\r\n"):
            raise BadFraming(400, "A chunked body line is too long or not terminated by CRLF.")
        return line[:-2]

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            size_text = self._read_line().split(b";", 1)[0].strip()
            if not CHUNK_SIZE.fullmatch(size_text):
                raise BadFraming(400, "A chunk size is not a hexadecimal number.")
            size = int(size_text, 16)
            if size == 0:
                break
            if len(body) + size > MAX_BODY:
                raise BadFraming(413, f"The request body is larger than {MAX_BODY} bytes.")
            body += self._read_exactly(size)
            if self._read_exactly(2) != b"\r\n":
                raise BadFraming(400, "A chunk is not followed by CRLF.")
        for _ in range(64):  # trailer fields, then the empty line
            if not self._read_line():
                return bytes(body)
        raise BadFraming(400, "Too many trailer fields after the chunked body.")

    def _sagemaker(
        self,
        service: LineageService,
        operation: str,
        body: bytes,
        region: str,
        empty_page: bool,
    ) -> dict[str, Any]:
        try:
            params = json.loads(body or b"{}")
        except (ValueError, RecursionError):
            raise ServiceError(
                "SerializationException", "The request body is not valid JSON."
            ) from None
        shape = sagemaker_model().operation_model(operation).input_shape
        assert isinstance(shape, StructureShape)
        try:
            errors = validation.validate(shape, params)
        except validation.SerializationError as exc:
            raise ServiceError("SerializationException", str(exc)) from None
        if errors:
            raise ServiceError("ValidationException", validation.message(errors))
        return service.call(operation, params, region, empty_page=empty_page)

    def _query_protocol(self, body: bytes, scope: re.Match[str] | None) -> None:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        action = form.get("Action", "")
        if action in STS_ACTIONS:
            self.server.service.count(f"sts:{action}")
        if scope is None:
            self._xml_error(
                403, "MissingAuthenticationToken", "Request is missing Authentication Token"
            )
            return
        if action not in STS_ACTIONS:
            self._xml_error(
                400,
                "InvalidAction",
                f"Could not find operation {action[:200]} for version {form.get('Version')}",
            )
            return
        try:
            if action == "AssumeRole":
                result = self._assume_role(form)
            else:
                result = self._caller_identity(scope.group("key"))
        except ServiceError as exc:
            # STS's query protocol names a key it does not know InvalidClientTokenId.
            code = "InvalidClientTokenId" if exc.code == "UnrecognizedClientException" else exc.code
            self._xml_error(exc.status, code, exc.message)
            return
        xml = (
            f'<{action}Response xmlns="{STS_NAMESPACE}"><{action}Result>{result}</{action}Result>'
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            f"</{action}Response>"
        )
        self._send(200, "text/xml", xml.encode())

    def _caller_identity(self, access_key: str) -> str:
        identity = self.server.accounts.identity(access_key)
        return (
            f"<Arn>{escape(identity.arn)}</Arn><UserId>{escape(identity.user_id)}</UserId>"
            f"<Account>{identity.account}</Account>"
        )

    def _assume_role(self, form: dict[str, str]) -> str:
        duration = form.get("DurationSeconds")
        if duration is not None and not duration.isdigit():
            raise ServiceError("ValidationError", "DurationSeconds must be a number of seconds.")
        issued = self.server.accounts.assume_role(
            form.get("RoleArn", ""),
            form.get("RoleSessionName", ""),
            int(duration) if duration is not None else None,
        )
        expiration = issued.expiration.strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            f"<Credentials><AccessKeyId>{issued.access_key_id}</AccessKeyId>"
            f"<SecretAccessKey>{escape(issued.secret_access_key)}</SecretAccessKey>"
            f"<SessionToken>{escape(issued.session_token)}</SessionToken>"
            f"<Expiration>{expiration}</Expiration></Credentials>"
            f"<AssumedRoleUser><AssumedRoleId>{escape(issued.identity.user_id)}</AssumedRoleId>"
            f"<Arn>{escape(issued.identity.arn)}</Arn></AssumedRoleUser>"
        )

    def _xml_error(self, status: int, code: str, message: str) -> None:
        xml = (
            f'<ErrorResponse xmlns="{STS_NAMESPACE}"><Error><Type>Sender</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        )
        self._send(status, "text/xml", xml.encode())

    def _json_error(self, error: ServiceError, close: bool = False) -> None:
        body = json.dumps({"__type": error.code, "message": error.message}).encode()
        self._send(error.status, JSON_CONTENT_TYPE, body, close=close)

    def _send(self, status: int, content_type: str, body: bytes, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


def stats(server: _Server) -> dict[str, Any]:
    faults = server.faults
    return {
        "requests": server.service.counters(),
        "throttled": faults.throttled,
        "server_errors": faults.server_errors,
        "lost_responses": faults.lost_responses,
        "empty_pages": faults.empty_pages,
    }


class Sandbox:
    """A sandbox serving on loopback from a background thread: for tests, benchmarks and scripts.

    with Sandbox(SandboxConfig(latency_ms=50)) as sandbox:
        client = boto3.client("sagemaker", endpoint_url=sandbox.url, region_name="eu-west-1")
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.accounts = Accounts(self.config.accounts)
        #: One service (and state) per account; each keeps its regions apart.
        self.services = {
            account: LineageService(
                account=account,
                artifact_quota=self.config.artifact_quota,
                context_quota=self.config.context_quota,
                action_quota=self.config.action_quota,
                association_quota=self.config.association_quota,
                list_lag=self.config.list_lag_ms / 1000,
                write_lag=self.config.write_lag_ms / 1000,
                delete_associated=self.config.delete_associated,
                empty_description=self.config.empty_description,
                default_action_status=self.config.default_action_status,
                cross_region_associations=self.config.cross_region_associations,
                state_path=self.config.state_for(account),
            )
            for account in self.accounts.served
        }
        for service in self.services.values():
            service.shared = self._shared
        #: The first account's service (the one keys that name no account reach).
        self.service = self.services[self.accounts.default]
        if self.config.preload is not None:
            self._preload(self.config.preload)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def _shared(self, caller: str, arn: str) -> Artifact | Entity | None:
        """Another account's entity, as its lineage shares let `caller` see it."""
        owner = account_of(arn)
        if (owner, caller) not in self.config.lineage_shares or owner not in self.services:
            return nothing_shared(caller, arn)
        return self.services[owner].held(arn)

    def _preload(self, path: Path) -> None:
        by_account = preload.load(path, self.accounts.default)
        for account in by_account:
            if account not in self.services:
                raise preload.PreloadError(
                    f"--preload {path} holds entities of account {account}, which this sandbox "
                    f"does not serve (it serves {', '.join(self.accounts.served)})"
                )
        for account, entities in by_account.items():
            self.services[account].preload(entities)

    def start(self) -> Sandbox:
        self._server = _Server(self.config, self.accounts, self.services)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="sandbox",
        )
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}"

    def stats(self) -> dict[str, Any]:
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        return stats(self._server)

    def counters(self) -> dict[str, int]:
        return self.service.counters()

    def reset_counters(self) -> None:
        self.service.reset_counters()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        for service in self.services.values():
            service.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_until_signalled(config: SandboxConfig, url_file: Path | None) -> None:
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        server = Sandbox(config).start()
    except ValueError as exc:  # an unreadable --state file
        raise ReconcilerError(str(exc)) from None
    except OSError as exc:
        raise ReconcilerError(
            f"cannot listen on {config.host}:{config.port} ({exc.strerror}); "
            "choose another --port, or 0 for a free one"
        ) from None
    try:
        if url_file is not None:
            fsio.write_atomic(url_file, (server.url + "\n").encode())
        click.echo(server.url)
        click.echo(f"reconciler sandbox serving on {server.url}; Ctrl-C to stop", err=True)
        while not stopping.wait(0.2):
            pass
    finally:
        server.stop()
    click.echo("reconciler sandbox stopped", err=True)
